/**
 * The one Prisma client. SQLite (embedded default) or PostgreSQL, chosen by DATABASE_URL.
 * Both go through Prisma's JS query engine with a driver adapter: nothing is downloaded.
 */
import { PrismaClient } from "@prisma/client";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { createRequire } from "node:module";
import path from "node:path";
import { dialectOf, sqlitePath, type Dialect } from "./db-url";
import type { SqlDriverAdapter } from "@prisma/driver-adapter-utils";
import { rememberSqliteWriter, rememberUrl } from "./db-hot.server";
import { takeTurns } from "./sqlite-turns.server";
import type BetterSqlite from "better-sqlite3";

export type { Dialect };
export type Db = PrismaClient;

/** The PostgreSQL client is generated beside its schema (Prisma fixes the provider per client). */
function loadPgClient(): typeof PrismaClient {
  const require = createRequire(path.join(process.cwd(), "package.json"));
  return (
    require(path.join(process.cwd(), "prisma/postgres/generated")) as { PrismaClient: typeof PrismaClient }
  ).PrismaClient;
}

/**
 * Prisma's SQLite adapter factory, keeping the adapter (and so the connection) it made. Where the
 * server runs its background work on a thread of its own (server.ts sets `sliceWriteTurns` in
 * both threads), the connection takes write turns with the other thread's (sqlite-turns.server.ts);
 * the HTTP thread's connection then leaves WAL checkpoints to the background thread's checkpoint
 * thread (app/sqlite-checkpoint.server.ts), which may ask only that one connection to rewind.
 */
class SharedSqliteAdapter extends PrismaBetterSQLite3 {
  connected: SqlDriverAdapter | null = null;
  override async connect(): Promise<SqlDriverAdapter> {
    const adapter = await super.connect();
    const turns = globalThis.sliceWriteTurns;
    if (turns) {
      const connection = (adapter as unknown as { client: BetterSqlite.Database }).client;
      takeTurns(connection, turns);
      if (turns.role === "first") connection.pragma("wal_autocheckpoint = 0");
    }
    this.connected = adapter;
    return adapter;
  }
}

const dialects = new WeakMap<PrismaClient, Dialect>();

/** Which database a client talks to, for the few raw statements that differ between the two. */
export function dialectOfClient(db: PrismaClient): Dialect {
  return dialects.get(db) ?? dialectOf(process.env.DATABASE_URL ?? "file:./dev.sqlite");
}

export function createPrismaClient(url: string): PrismaClient {
  const dialect = dialectOf(url);
  let client: PrismaClient;
  if (dialect === "sqlite") {
    // DateTime as integer milliseconds: compact, and compared and subtracted directly in SQL.
    const adapter = new SharedSqliteAdapter(
      { url: `file:${sqlitePath(url)}`, timeout: 10_000 },
      { timestampFormat: "unixepoch-ms" },
    );
    client = new PrismaClient({ adapter });
    const prisma = client;
    // The hot paths write on this same connection (db-hot.server.ts): one writer per process.
    rememberSqliteWriter(
      client,
      async () => adapter.connected ?? (await prisma.$connect(), adapter.connected!),
    );
    // WAL (set by the migrator, persistent) with synchronous=NORMAL: a commit survives the app
    // crashing, and the database never corrupts; only an OS crash can lose the last commits.
    void client.$executeRawUnsafe("PRAGMA synchronous = NORMAL").catch(() => {});
  } else {
    const PgClient = loadPgClient();
    client = new PgClient({
      adapter: new PrismaPg({ connectionString: url, max: 10, idleTimeoutMillis: 10_000 }),
    });
  }
  dialects.set(client, dialect);
  rememberUrl(client, url);
  return client;
}

/**
 * Refreshes the planner's statistics after a bulk change (a backfill, a reconciliation). Without
 * them SQLite's planner guesses, and walked all of a shop's customers through a date index for
 * every segment query (measured on 1M customers: the segment SELECTs ran 1.81× their
 * hand-written equivalents before, 1.11× after). A full ANALYZE: a sampled one did not fix the
 * plan. About 8 s on a 3.5 GB database. PostgreSQL's autovacuum keeps statistics too; an explicit
 * ANALYZE there is cheap.
 */
export async function refreshPlannerStatistics(db: PrismaClient): Promise<void> {
  await db.$executeRawUnsafe("ANALYZE");
}

export const databaseUrl = process.env.DATABASE_URL ?? "file:./dev.sqlite";
export const dialect: Dialect = dialectOf(databaseUrl);

declare global {
  // Survives Vite's module reloads in development: one client per process.
  var slicePrisma: PrismaClient | undefined;
}

const prisma: PrismaClient = (globalThis.slicePrisma ??= createPrismaClient(databaseUrl));

export default prisma;
