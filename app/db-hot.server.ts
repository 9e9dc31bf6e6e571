/**
 * The hot paths' one way to the database, reads and writes: prepared SQL on the driver itself.
 * Hot paths are the ones that run per webhook, per storefront page view or per pixel batch: the
 * inbox's intake and claims, the worker's batched apply, segment membership, the storefront's
 * decision and exposures, pixel intake, rate limits. Everything else (the admin, the backfill and
 * reconciliation, the CLI, the schema and its migrations) uses the one Prisma client.
 *
 * Why not Prisma here: measured on this machine (SQLite), a Prisma `findUnique` by primary key costs
 * about 1 ms of CPU (its query compiler runs per call), `$queryRaw` about 0.17 ms, a prepared
 * better-sqlite3 statement 5 µs. A webhook applied through Prisma's query builder took about ten
 * such calls; a storefront decision three to nine.
 *
 * SQL is written once with quoted identifiers and `?` placeholders (PostgreSQL's `$1..$n` are made
 * here). A `Date` parameter is bound as SQLite keeps DateTime (integer milliseconds,
 * db.server.ts) or as a timestamp on PostgreSQL, a boolean as 0/1 on SQLite. Values come back as
 * the driver has them: read them with `date()`, `bool()` and `int()`.
 *
 * SQLite: reads outside a transaction use a `query_only` connection (in WAL mode it sees every
 * committed write). Writes (`run` outside a transaction, and every `transaction`) use Prisma's
 * own connection, under Prisma's transaction mutex: one writer connection per process, so a hot
 * write never waits on Prisma's file lock (better-sqlite3 would wait synchronously, blocking the
 * very event loop Prisma needs to finish) and Prisma never waits on ours.
 *
 * PostgreSQL: one `pg.Pool` per role, separate from Prisma's pool and from each other, so that
 * intake never waits for a connection behind the apply workers, nor the storefront's reads behind
 * either. Each distinct statement is named, so every connection parses and plans it once.
 */
import Database from "better-sqlite3";
import pg from "pg";
import type { PrismaClient } from "@prisma/client";
import type { SqlDriverAdapter, Transaction } from "@prisma/driver-adapter-utils";
import { dialectOf, sqlitePath, type Dialect } from "./db-url";

export interface HotQueries {
  readonly dialect: Dialect;
  /** The rows a statement returns. */
  rows<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** A statement with no rows to read; the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Inside a transaction, PostgreSQL: a transaction-level advisory lock on each key (held until
   * commit or rollback), taken in hash order so that two transactions locking overlapping keys
   * wait for each other rather than deadlock. As the transaction's first statement it goes with
   * its BEGIN, in one round trip. SQLite: nothing (the one writer serializes every transaction).
   *
   * `then`: statements to run once the locks are held, in the same round trip (on PostgreSQL their
   * parameters are written into their text: keep them simple to plan); the rows of each are
   * returned, in order.
   */
  lock(keys: readonly string[], ...then: Statement[]): Promise<unknown[][]>;
  /**
   * Inside a transaction: its last statement, and the commit. PostgreSQL sends the two in one round
   * trip (the statement's parameters written into its text); nothing may run on `tx` after it.
   * Its rows are returned once both are done.
   */
  commitWith<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface TransactionOptions {
  /**
   * PostgreSQL: plan the transaction's prepared statements once, generically, not again for each
   * execution's values (`SET LOCAL plan_cache_mode = force_generic_plan`, sent with its BEGIN). For
   * a statement that is costly to plan and whose best plan does not depend on the values, such as
   * the membership pass's one-statement read (JSON sub-selects by shop and customer ids): measured
   * 1.45 → 0.68 ms a pass at p50. SQLite: nothing.
   */
  genericPlans?: boolean;
}

/** A statement and its parameters. */
export interface Statement {
  sql: string;
  params?: readonly unknown[];
}

/**
 * A statement with its `?` parameters written in as PostgreSQL literals, for the simple protocol
 * (which takes several statements in one message, and no parameters). Each value is quoted by
 * `quote` (the driver's escapeLiteral) and typed by its place, as a bound parameter is: a Date as
 * ISO 8601 in UTC, an array as an array literal.
 */
export function inlined(sql: string, params: readonly unknown[], quote: (text: string) => string): string {
  let at = 0;
  const text = sql.replace(/\?/g, () => {
    if (at >= params.length) throw new Error(`too few parameters for the statement: ${sql.slice(0, 80)}`);
    return literal(params[at++], quote);
  });
  if (at !== params.length) throw new Error(`too many parameters for the statement: ${sql.slice(0, 80)}`);
  return text;
}

function literal(value: unknown, quote: (text: string) => string): string {
  if (value === null || value === undefined) return "NULL";
  if (Array.isArray(value)) return quote(`{${value.map(arrayElement).join(",")}}`);
  return quote(scalarText(value));
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  return `"${scalarText(value).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function scalarText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return String(value);
  throw new Error(`a ${typeof value} cannot be written into a statement`);
}

/**
 * The advisory locks of `lock()` in one statement: each distinct key hashed, the locks taken in
 * hash order. `keys` is a SQL expression for a text[] (a bound parameter or a literal); Prisma
 * transactions that lock use it too.
 */
export function advisoryLocksSql(keys: string): string {
  return `SELECT count(pg_advisory_xact_lock(h))::int AS held FROM (
     SELECT DISTINCT hashtext(k) AS h FROM unnest(${keys}::text[]) AS k ORDER BY 1 OFFSET 0
   ) AS keys`;
}

export interface Hot extends HotQueries {
  /** Everything `fn` runs on `tx` commits together, or nothing does (it rolls back if `fn` throws). */
  transaction<R>(fn: (tx: HotQueries) => Promise<R>, options?: TransactionOptions): Promise<R>;
  close(): Promise<void>;
}

/**
 * Which pool a PostgreSQL hot path draws on: `read` (the storefront, segment facts), `intake`
 * (webhooks and pixel batches being acknowledged), `apply` (the inbox workers). On SQLite every
 * role shares the one writer and the one reader.
 */
export type HotRole = "read" | "intake" | "apply";

const POOL_SIZE: Record<HotRole, number> = { read: 5, intake: 4, apply: 4 };

const hots = new Map<string, Hot>();
const urls = new WeakMap<PrismaClient, string>();
const writers = new WeakMap<PrismaClient, () => Promise<SqlDriverAdapter>>();

/** Called by createPrismaClient: which database a client talks to. */
export function rememberUrl(db: PrismaClient, url: string): void {
  urls.set(db, url);
}

/** Called by createPrismaClient on SQLite: how to reach the driver adapter holding its connection. */
export function rememberSqliteWriter(db: PrismaClient, adapter: () => Promise<SqlDriverAdapter>): void {
  writers.set(db, adapter);
}

/** The database URL this Prisma client was made for. */
export function urlOf(db: PrismaClient): string {
  return urls.get(db) ?? process.env.DATABASE_URL ?? "file:./dev.sqlite";
}

/** The hot-path access for the database this Prisma client uses (one per database and role). */
export function hotFor(db: PrismaClient, role: HotRole = "read"): Hot {
  const url = urlOf(db);
  const sqlite = dialectOf(url) === "sqlite";
  const key = sqlite ? url : `${role} ${url}`;
  let hot = hots.get(key);
  if (!hot) {
    hot = sqlite ? sqliteHot(url, db) : postgresHot(url, role);
    hots.set(key, hot);
  }
  return hot;
}

/** `lock` and `commitWith` outside a transaction: refused (a lock would be let go at once). */
const OUTSIDE_A_TRANSACTION: Pick<HotQueries, "lock" | "commitWith"> = {
  async lock() {
    throw new Error("advisory locks are taken inside a transaction");
  },
  async commitWith() {
    throw new Error("commitWith ends a transaction: call it inside one");
  },
};

/** Closes every hot connection and pool (tests and scripts, before exit). */
export async function closeHot(): Promise<void> {
  const open = [...hots.values()];
  hots.clear();
  await Promise.all(open.map((h) => h.close()));
}

/** Prepared statements per connection (a long IN list makes one per length: bounded). */
const MAX_PREPARED = 500;

function sqliteParams(params: readonly unknown[]): unknown[] {
  return params.map((value) =>
    value instanceof Date ? value.getTime() : typeof value === "boolean" ? (value ? 1 : 0) : value,
  );
}

/** Statements on one better-sqlite3 connection, each prepared once. */
export function sqliteQueries(connection: () => Database.Database): HotQueries {
  const statements = new Map<string, Database.Statement>();
  let preparedOn: Database.Database | null = null;
  const statement = (sql: string) => {
    const db = connection();
    // Prisma may reconnect (a new connection after $disconnect): statements belong to the old one.
    if (preparedOn !== db) {
      statements.clear();
      preparedOn = db;
    }
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      // Prisma's connection reads integers as BigInt; the hot paths read numbers.
      if (s.reader) s.safeIntegers(false);
      if (statements.size >= MAX_PREPARED) statements.clear();
      statements.set(sql, s);
    }
    return s;
  };
  return {
    dialect: "sqlite",
    async rows<T>(sql: string, params: readonly unknown[] = []) {
      const s = statement(sql);
      if (!s.reader) {
        s.run(...sqliteParams(params));
        return [];
      }
      return s.all(...sqliteParams(params)) as T[];
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return statement(sql).run(...sqliteParams(params)).changes;
    },
    async lock(_keys: readonly string[], ...then: Statement[]) {
      const results: unknown[][] = [];
      for (const statement of then) results.push(await this.rows(statement.sql, statement.params));
      return results;
    },
    async commitWith<T>(sql: string, params: readonly unknown[] = []) {
      // The caller's transaction commits as it returns.
      return this.rows<T>(sql, params);
    },
  };
}

function sqliteHot(url: string, prisma: PrismaClient): Hot {
  const reader = new Database(sqlitePath(url), { fileMustExist: true, timeout: 10_000 });
  reader.pragma("query_only = true");
  const reads = sqliteQueries(() => reader);

  let adapter: SqlDriverAdapter | null = null;
  const writerAdapter = async (): Promise<SqlDriverAdapter> => {
    const get = writers.get(prisma);
    if (!get) throw new Error("this Prisma client was not made by createPrismaClient: no SQLite writer");
    adapter = await get();
    return adapter;
  };
  const connectionOf = (a: SqlDriverAdapter) => (a as unknown as { client: Database.Database }).client;
  const writes = sqliteQueries(() => {
    if (!adapter) throw new Error("the SQLite writer is not connected");
    return connectionOf(adapter);
  });

  async function transaction<R>(fn: (tx: HotQueries) => Promise<R>): Promise<R> {
    const a = await writerAdapter();
    // Prisma's own transaction start: takes its mutex and runs BEGIN on its connection.
    const tx: Transaction = await a.startTransaction();
    const connection = connectionOf(a);
    try {
      const result = await fn(writes);
      connection.prepare("COMMIT").run();
      await tx.commit();
      return result;
    } catch (error) {
      try {
        if (connection.inTransaction) connection.prepare("ROLLBACK").run();
      } finally {
        await tx.rollback();
      }
      throw error;
    }
  }

  return {
    dialect: "sqlite",
    rows: reads.rows,
    run: (sql, params) => transaction((tx) => tx.run(sql, params)),
    ...OUTSIDE_A_TRANSACTION,
    transaction,
    async close() {
      reader.close();
    },
  };
}

function postgresHot(url: string, role: HotRole): Hot {
  // Prisma's timestamp(3) columns hold UTC without a zone: read them as UTC, whatever the
  // process's time zone (pg's default would read them as local time).
  const types = {
    getTypeParser: ((oid: number, format?: string) =>
      oid === 1114
        ? (text: string) => new Date(`${text.replace(" ", "T")}Z`)
        : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
  };
  const workers = Number(process.env.SLICE_WORKERS ?? 1) || 1;
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE[role] + (role === "apply" ? workers : 0),
    idleTimeoutMillis: 10_000,
    allowExitOnIdle: true,
    types,
    application_name: `slice-${role}`,
  });
  // An idle connection the server ends (a restart, a failover, pg_terminate_backend) is reported
  // as an 'error' event on the pool: unhandled, it would crash the process. The pool drops that
  // connection and opens another on the next query.
  pool.on("error", (error) => console.error(`database ${role} pool: idle connection lost:`, error.message));
  const statements = new Map<string, { name: string; text: string }>();
  const config = (sql: string, params: readonly unknown[]): pg.QueryConfig => {
    let statement = statements.get(sql);
    if (!statement) {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      // IN lists make a statement per length: past a bound, the rest run unnamed (parsed each time).
      statement = {
        name: statements.size < MAX_PREPARED ? `slice_${role}_${statements.size}` : "",
        text,
      };
      statements.set(sql, statement);
    }
    // A Date goes as ISO 8601 in UTC: pg's default sends local time with an offset, which a
    // `timestamp` column (Prisma's, without a zone) ignores, so a process not running in UTC would
    // store wrong times and a lease would never equal itself.
    const values = params.map((value) => (value instanceof Date ? value.toISOString() : value));
    return statement.name ? { ...statement, values } : { text: statement.text, values };
  };
  const direct: HotQueries = {
    dialect: "postgres",
    async rows<T>(sql: string, params: readonly unknown[] = []) {
      return (await pool.query(config(sql, params))).rows as T[];
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return (await pool.query(config(sql, params))).rowCount ?? 0;
    },
    ...OUTSIDE_A_TRANSACTION,
  };
  return {
    ...direct,
    async transaction<R>(fn: (tx: HotQueries) => Promise<R>, options: TransactionOptions = {}): Promise<R> {
      const opening = options.genericPlans
        ? ["BEGIN", "SET LOCAL plan_cache_mode = force_generic_plan"]
        : ["BEGIN"];
      const client = await pool.connect();
      let broken: Error | undefined;
      // A checked-out connection has no listener of the pool's: one the server ends between two
      // statements (a restart, pg_terminate_backend) would emit an unhandled 'error' and end the
      // process. Kept here; the next statement fails and the transaction rolls back.
      const lost = (error: Error) => (broken = error);
      client.on("error", lost);
      // BEGIN is sent with the transaction's first statement: with a lock() as one simple query,
      // otherwise on its own just before it. A transaction that ran nothing sends nothing.
      let begun: Promise<unknown> | null = null;
      let committed = false;
      const begin = () => {
        if (committed) throw new Error("this transaction was committed by commitWith: nothing may follow it");
        return (begun ??= client.query(opening.join("; ")));
      };
      const quote = (text: string) => client.escapeLiteral(text);
      /** Several statements in one simple query (no parameters): each one's rows. */
      const simple = async (statements: string[]): Promise<unknown[][]> => {
        const results = (await client.query(statements.join("; "))) as unknown as
          pg.QueryResult | pg.QueryResult[];
        return (Array.isArray(results) ? results : [results]).map((r) => r.rows as unknown[]);
      };
      const tx: HotQueries = {
        dialect: "postgres",
        async rows<T>(sql: string, params: readonly unknown[] = []) {
          await begin();
          return (await client.query(config(sql, params))).rows as T[];
        },
        async run(sql: string, params: readonly unknown[] = []) {
          await begin();
          return (await client.query(config(sql, params))).rowCount ?? 0;
        },
        async lock(keys: readonly string[], ...then: Statement[]) {
          const distinct = [...new Set(keys)];
          const statements = [
            ...(distinct.length ? [advisoryLocksSql(`ARRAY[${distinct.map(quote).join(", ")}]`)] : []),
            ...then.map((t) => inlined(t.sql, t.params ?? [], quote)),
          ];
          // The rows of the `then` statements: the last ones of the message.
          const theirs = (results: unknown[][]) => results.slice(results.length - then.length);
          if (!begun && statements.length) {
            const started = simple([...opening, ...statements]);
            begun = started;
            return theirs(await started);
          }
          await begin();
          return statements.length ? theirs(await simple(statements)) : [];
        },
        async commitWith<T>(sql: string, params: readonly unknown[] = []) {
          await begin();
          committed = true;
          const [rows] = await simple([inlined(sql, params, quote), "COMMIT"]);
          return rows as T[];
        },
      };
      try {
        const result = await fn(tx);
        if (begun && !committed) await client.query("COMMIT");
        return result;
      } catch (error) {
        if (begun) await client.query("ROLLBACK").catch((e: Error) => (broken = e));
        throw error;
      } finally {
        client.removeListener("error", lost);
        // A connection lost, or whose rollback failed, is in an unknown state: the pool drops it.
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** A DateTime column's value as a Date (SQLite keeps integer milliseconds). */
export function date(value: unknown): Date {
  return value instanceof Date ? value : new Date(Number(value));
}

export function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : date(value);
}

/** A Boolean column's value (SQLite keeps 0/1). */
export function bool(value: unknown): boolean {
  return value === true || value === 1 || value === 1n;
}

/** An integer column's value (PostgreSQL's COUNT and BIGINT come as text, SQLite may give BigInt). */
export function int(value: unknown): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/** `?, ?, ?` for an IN list of n values. */
export function marks(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

/** Runs a query once per chunk of a long IN list (databases cap bound values), rows joined. */
export async function inChunks<T>(
  q: HotQueries,
  values: readonly string[],
  query: (chunk: readonly string[]) => { sql: string; params: readonly unknown[] },
  size = 500,
): Promise<T[]> {
  const parts: Promise<T[]>[] = [];
  for (let i = 0; i < values.length; i += size) {
    const { sql, params } = query(values.slice(i, i + size));
    parts.push(q.rows<T>(sql, params));
  }
  return (await Promise.all(parts)).flat();
}

/** Rows per multi-row INSERT: well under SQLite's (32,766) and PostgreSQL's (65,535) bound values. */
const ROWS_PER_INSERT = 400;

/**
 * Multi-row INSERTs of `columns`, ROWS_PER_INSERT rows (fewer for wide rows) at a time, each
 * followed by `tail` (an ON CONFLICT clause); the rows they changed.
 */
export async function insertMany(
  q: HotQueries,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  tail = "",
): Promise<number> {
  const row = `(${columns.map(() => "?").join(", ")})`;
  const per = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(30_000 / columns.length)));
  let changed = 0;
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    changed += await q.run(
      `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES ${Array.from(
        { length: part.length },
        () => row,
      ).join(", ")}${tail}`,
      part.flat(),
    );
  }
  return changed;
}
