/**
 * Black Friday (issue 16, "How it is checked"): a flash sale's webhooks into a big shop, on SQLite
 * (`npm run bench -- flash-sale`, 1,000,000 customers) and PostgreSQL (`flash-sale-pg`, the same
 * generated shop copied into an embedded server, 100,000 customers by default).
 *
 * The shop is bench/generate-store.ts's, prepared as the app leaves it after a backfill (planner
 * statistics, the built-in and the bench's ten custom segments, every membership computed by
 * `recompute` at the store's `now`), once; every run below starts from its own copy.
 *
 * 1. Applied events per second: the flash-sale history (bench/flash-sale-history.ts, 100,000
 *    deliveries) recorded in the inbox through the real intake (`insertDeliveries`), then drained by
 *    the real `InboxWorker` wired as app/sync/runtime.server.ts wires it, after-apply pipeline
 *    included. Then a full `recompute` of every segment must change nothing (no member joins or
 *    leaves, every size stays): the memberships the worker kept are a full recompute's, or the
 *    bench fails. The same history with the worker's membership step off shows the split.
 *    Baseline: the rows the run left (customers, orders, line items, refunds, carts, checkouts and
 *    their lines) written into a fresh copy by bare set-based SQL on the raw driver (multi-row
 *    upserts, one transaction): no inbox, no versions, no logic, the least these rows can cost.
 * 2. Acknowledge p50/p99 at 1,000/s offered while the worker applies: the real server
 *    (`build/server.mjs`, its worker on) on a copy whose inbox holds the whole history, so the
 *    worker is applying throughout; then new deliveries at a fixed rate (open loop, bench/load.ts).
 *    Baseline: the HMAC-only server (bench/baseline-server.ts) at the same rate.
 * 3. Webhook → membership at a steady 100 deliveries/s (open loop): `acceptWebhook` with the
 *    server's group-commit intake, the worker woken by it as the runtime wakes it. From the call
 *    into intake to the moment the worker's after-apply step for that event returned (a hook on
 *    it; the memberships are checked afterwards). Baseline: the same path with the membership
 *    step off, to the moment the event's "done" mark committed (`onDone`). On PostgreSQL the
 *    worker runs on a thread of its own, as server.ts runs it there (its own event loop, heap and
 *    pools; bench/flash-sale-worker-thread.ts), woken by a message for each delivery; the same
 *    with everything on one thread is a diagnostic. On SQLite all of it runs on this thread.
 *
 * Memberships are evaluated at the store's `now` (the data was generated for it); the worker and
 * the inbox run on the real clock, as bench/segments.ts's latency run does.
 *
 * Knobs: SLICE_BENCH_CUSTOMERS (1,000,000 SQLite; 100,000 PostgreSQL), SLICE_BENCH_EVENTS
 * (100,000), SLICE_BENCH_RATE (1,000/s), SLICE_BENCH_ACK_SECONDS (10), SLICE_BENCH_LATENCY_RATE
 * (100/s), SLICE_BENCH_DELIVERIES (1,000 latency deliveries each way).
 */
import Database from "better-sqlite3";
import pg from "pg";
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import os from "node:os";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import { createPrismaClient, refreshPlannerStatistics } from "../app/db.server";
import { closeHot } from "../app/db-hot.server";
import { startSqliteCheckpoints, type Checkpoints } from "../app/sqlite-checkpoint.server";
import { ensurePresets, recompute } from "../app/segments/store.server";
import type { ClaimedEvent } from "../app/sync/inbox.server";
import { IntakeBatcher, insertDeliveries } from "../app/sync/intake.server";
import { acceptWebhook } from "../app/sync/receive.server";
import { fixtureText } from "../dev/fixtures";
import { webhookRequestInit, type WebhookLine } from "../dev/webhooks";
import { deliveriesOf } from "../dev/testing/compare";
import { startPostgres, type RunningPostgres } from "../dev/postgres";
import { spawnTs } from "../dev/processes";
import { ensureBuild } from "../dev/demo";
import { migrate } from "../prisma/migrate";
import { bigStore, BIG_SHOP, type BigStore } from "./generate-store";
import {
  addCustomSegments,
  customerUpdate,
  orderCreate,
  sqliteLatencyReads,
  type LatencyReads,
  type PickedCustomer,
} from "./segments";
import { copyStore, postgresLatencyReads } from "./segments-pg";
import { flashSaleHistory, touchedBy, type FlashSale } from "./flash-sale-history";
import { openLoop, percentile, signAll } from "./load";
import { snapshotBuild } from "./build-snapshot";
import { deliveryKey, runtimeWorker } from "./runtime-worker";
import { WORKER_PACING, type InboxWorker } from "../app/sync/worker.server";
import type { Figure } from "./webhooks";

type Dialect = "sqlite" | "postgres";
const SECRET = "bench-secret";
const ms = (started: number) => performance.now() - started;
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

// ---- the databases: one prepared shop, a copy per run -------------------------------------------------

/** A raw driver connection (better-sqlite3 or `pg`), `?` placeholders, rows as arrays. */
interface Raw {
  rows(sql: string, params?: unknown[]): Promise<{ columns: string[]; rows: unknown[][] }>;
  run(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

interface Target {
  dialect: Dialect;
  store: BigStore;
  /** Customers spread over the shop, for the sale's orders. */
  buyers: PickedCustomer[];
  /** A new database holding the prepared shop; its URL. */
  copy(name: string): Promise<string>;
  /** Drops a copy once its run is over (each is gigabytes at 1,000,000 customers). */
  drop(url: string): Promise<void>;
  raw(url: string): Promise<Raw>;
  reads(raw: Raw, url: string): Promise<{ reads: LatencyReads; close(): Promise<void> }>;
  /** Where the built app runs from (PostgreSQL: a snapshot, as webhooks-pg does). */
  buildDir?: string;
  stop(): Promise<void>;
}

function sqliteRaw(file: string): Raw {
  const db = new Database(file);
  db.pragma("synchronous = NORMAL"); // as db.server.ts sets for the app's connection
  db.pragma("busy_timeout = 10000");
  return {
    async rows(sql, params = []) {
      const statement = db.prepare(sql);
      return {
        columns: statement.columns().map((c) => c.name),
        rows: statement.raw().all(...params) as unknown[][],
      };
    },
    async run(sql, params = []) {
      db.prepare(sql).run(...params);
    },
    async close() {
      db.close();
    },
  };
}

const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};
/** Every value as PostgreSQL's text, so that it is written back exactly as it was read. */
const asText = { getTypeParser: () => (value: string) => value };

async function postgresRaw(url: string): Promise<Raw & { client: pg.Client }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    client,
    async rows(sql, params = []) {
      const result = await client.query({
        text: numbered(sql),
        values: params,
        rowMode: "array",
        types: asText,
      });
      return { columns: result.fields.map((f) => f.name), rows: result.rows as unknown[][] };
    },
    async run(sql, params = []) {
      await client.query(numbered(sql), params);
    },
    async close() {
      await client.end();
    },
  };
}

/** As the app leaves a shop after its backfill: statistics, the presets and custom segments, memberships. */
async function prepareShop(url: string, store: BigStore, log: (line: string) => void): Promise<void> {
  const db = createPrismaClient(url);
  try {
    let started = performance.now();
    await refreshPlannerStatistics(db);
    await ensurePresets(db, store.shopId);
    await addCustomSegments(db, store.shopId);
    log(`statistics and segments in ${(ms(started) / 1000).toFixed(1)} s`);
    started = performance.now();
    const result = await recompute(db, store.shopId, store.now);
    log(
      `memberships of ${Object.keys(result).length} segments computed in ${(ms(started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await db.$disconnect();
    await closeHot();
  }
}

const PICK = `SELECT "shopifyId", "email", "firstName", "lastName", "state", "tags", "countryCode", "provinceCode", "city",
  "acceptsEmailMarketing", "shopifyCreatedAt" FROM "Customer" WHERE "shopId" = ? AND "deletedAt" IS NULL`;

async function sqliteTarget(customers: number, log: (line: string) => void): Promise<Target> {
  const store = await bigStore({ customers, log });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-bench-flash-"));
  const base = path.join(dir, "base.sqlite");
  copyFileSync(store.file, base);
  await prepareShop(`file:${base}`, store, log);
  const raw = new Database(base);
  raw.pragma("wal_checkpoint(TRUNCATE)");
  // Spread over the whole shop (a scrambled id order).
  const buyers = raw
    .prepare(`${PICK} ORDER BY ("id" * 7919) % 1000003 LIMIT ?`)
    .all(store.shopId, Math.min(40_000, customers / 5)) as PickedCustomer[];
  raw.close();
  return {
    dialect: "sqlite",
    store,
    buyers,
    async copy(name) {
      const file = path.join(dir, `${name}.sqlite`);
      copyFileSync(base, file);
      return `file:${file}`;
    },
    async drop(url) {
      await closeHot();
      const file = url.replace(/^file:/, "");
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    },
    async raw(url) {
      return sqliteRaw(url.replace(/^file:/, ""));
    },
    async reads(_raw, url) {
      const db = new Database(url.replace(/^file:/, ""), { readonly: true });
      return {
        reads: sqliteLatencyReads(db, store),
        close: async () => {
          db.close();
        },
      };
    },
    async stop() {
      await closeHot();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresTarget(customers: number, log: (line: string) => void): Promise<Target> {
  const store = await bigStore({ customers, log });
  const build = snapshotBuild();
  const server: RunningPostgres = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE flash_base`);
  const baseUrl = server.databaseUrl("flash_base");
  await migrate(baseUrl);
  const loader = new pg.Client({ connectionString: baseUrl });
  await loader.connect();
  let started = performance.now();
  await copyStore(store.file, loader);
  log(`shop copied into PostgreSQL in ${(ms(started) / 1000).toFixed(0)} s`);
  await loader.end();
  started = performance.now();
  await prepareShop(baseUrl, store, log);
  const reader = await postgresRaw(baseUrl);
  const picked = await reader.rows(
    `${PICK.replace(`"acceptsEmailMarketing"`, `"acceptsEmailMarketing"::int`).replace(
      `"shopifyCreatedAt"`,
      `(extract(epoch FROM "shopifyCreatedAt") * 1000)::float8`,
    )} ORDER BY ("id"::bigint * 7919) % 1000003 LIMIT ?`,
    [store.shopId, Math.min(40_000, customers / 5)],
  );
  await reader.close();
  const buyers = picked.rows.map(
    (r) =>
      Object.fromEntries(
        picked.columns.map((c, i) => [
          c === "float8" ? "shopifyCreatedAt" : c === "int4" ? "acceptsEmailMarketing" : c,
          r[i],
        ]),
      ) as Record<string, unknown>,
  );
  return {
    dialect: "postgres",
    store,
    buyers: buyers.map((b) => ({
      shopifyId: String(b.shopifyId),
      email: (b.email as string | null) ?? null,
      firstName: (b.firstName as string | null) ?? null,
      lastName: (b.lastName as string | null) ?? null,
      state: (b.state as string | null) ?? null,
      tags: String(b.tags ?? ""),
      countryCode: (b.countryCode as string | null) ?? null,
      provinceCode: (b.provinceCode as string | null) ?? null,
      city: (b.city as string | null) ?? null,
      acceptsEmailMarketing: Number(b.acceptsEmailMarketing ?? 0),
      shopifyCreatedAt: Number(b.shopifyCreatedAt ?? 0),
    })),
    async copy(name) {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE flash_base`);
      return server.databaseUrl(name);
    },
    async drop(url) {
      await closeHot();
      await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
    },
    async raw(url) {
      return postgresRaw(url);
    },
    async reads(raw) {
      return {
        reads: postgresLatencyReads((raw as Raw & { client: pg.Client }).client, store),
        close: async () => {},
      };
    },
    buildDir: build.dir,
    async stop() {
      await closeHot();
      await admin.end();
      await server.stop();
      build.remove();
    },
  };
}

/** SQLite: the WAL checkpoints on their own thread, as startBackgroundWork runs them in the server. */
async function runtimeCheckpoints(
  target: Target,
  db: PrismaClient,
  url: string,
): Promise<Checkpoints | null> {
  return target.dialect === "sqlite" ? startSqliteCheckpoints(db, url.replace(/^file:/, "")) : null;
}

async function statusCounts(db: PrismaClient): Promise<Record<string, number>> {
  const counts = await db.webhookEvent.groupBy({ by: ["status"], _count: { _all: true } });
  return Object.fromEntries(counts.map((c) => [c.status, c._count._all]));
}

// ---- 1. applied events per second ------------------------------------------------------------------------

interface ApplyRun {
  events: number;
  applied: number;
  /** The drain was stopped at SLICE_BENCH_APPLY_CAP_S before the inbox was empty. */
  capped: boolean;
  intakeSeconds: number;
  seconds: number;
  perSecond: number;
  /** CPU time of this process per event while draining (the app's own work; SQLite's too, in process). */
  cpuMsPerEvent: number;
  statuses: Record<string, number>;
  /** Full recompute after the drain: seconds, and the segments it changed (must be none). */
  recomputeSeconds?: number;
  differing?: string[];
}

async function applyRun(
  target: Target,
  url: string,
  sale: FlashSale,
  membership: boolean,
  capSeconds: number,
  log: (line: string) => void,
): Promise<ApplyRun> {
  const { store } = target;
  const db = createPrismaClient(url);
  const checkpoints = await runtimeCheckpoints(target, db, url);
  try {
    const deliveries = deliveriesOf(sale.lines);
    let started = performance.now();
    for (let i = 0; i < deliveries.length; i += 250) await insertDeliveries(db, deliveries.slice(i, i + 250));
    const intakeSeconds = ms(started) / 1000;
    const events = await db.webhookEvent.count({ where: { status: "pending" } });
    const errors: string[] = [];
    const worker = runtimeWorker(db, {
      now: store.now,
      memberships: membership,
      onError: (event, error) => errors.push(`${event.topic} #${event.id}: ${(error as Error).message}`),
    });
    started = performance.now();
    const cpu = process.cpuUsage();
    // A drain that would take longer than the cap is stopped (the worker hands back what it
    // claimed): the rate is then over what it applied, and the memberships are not compared.
    let capped = false;
    const cap = setTimeout(() => {
      capped = true;
      void worker.stop();
    }, capSeconds * 1000);
    const applied = await worker.drain().finally(() => clearTimeout(cap));
    const seconds = ms(started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuMsPerEvent = (used.user + used.system) / 1000 / Math.max(applied, 1);
    const statuses = await statusCounts(db);
    log(
      `${membership ? "with" : "without"} memberships: ${applied} of ${events} events applied in ${seconds.toFixed(1)} s (${(applied / seconds).toFixed(0)}/s, ${cpuMsPerEvent.toFixed(2)} ms CPU an event); inbox ${JSON.stringify(statuses)}; load ${loadAverage()}`,
    );
    if (errors.length) throw new Error(`the flash sale's events failed: ${errors.slice(0, 3).join("; ")}`);
    if (!capped && (statuses.done ?? 0) !== events)
      throw new Error(`not every event was applied: ${JSON.stringify(statuses)} of ${events}`);
    const run: ApplyRun = {
      events,
      applied,
      capped,
      intakeSeconds,
      seconds,
      perSecond: applied / seconds,
      cpuMsPerEvent,
      statuses,
    };
    if (capped) log(`stopped at the ${capSeconds} s cap: ${applied} of ${events} applied`);
    if (membership && !capped) {
      // Equal to a full recompute: recomputing every segment now changes nothing.
      const held = new Map(
        (
          await db.segment.findMany({ where: { shopId: store.shopId }, select: { handle: true, size: true } })
        ).map((s) => [s.handle, s.size]),
      );
      started = performance.now();
      const result = await recompute(db, store.shopId, store.now);
      run.recomputeSeconds = ms(started) / 1000;
      run.differing = Object.entries(result)
        .filter(([handle, r]) => r.joined || r.left || r.size !== held.get(handle))
        .map(
          ([handle, r]) =>
            `${handle} (held ${held.get(handle)}, recompute ${r.size}: ${r.joined} missing, ${r.left} extra)`,
        );
      log(
        `full recompute in ${run.recomputeSeconds.toFixed(1)} s: ${run.differing.length ? `DIFFERS: ${run.differing.join("; ")}` : "every segment equal"}`,
      );
    }
    return run;
  } finally {
    await checkpoints?.stop();
    await db.$disconnect();
    await closeHot();
  }
}

/** The tables a flash sale writes, and how their rows are found from what it touched. */
const PARENTS = [
  { table: "Customer", key: "shopifyId", touched: "customers" },
  { table: "Order", key: "shopifyId", touched: "orders" },
  { table: "Cart", key: "token", touched: "carts" },
  { table: "Checkout", key: "shopifyId", touched: "checkouts" },
] as const;
const CHILDREN = [
  { table: "LineItem", parent: "Order", column: "orderId" },
  { table: "Refund", parent: "Order", column: "orderId" },
  { table: "CartLine", parent: "Cart", column: "cartId" },
  { table: "CheckoutLine", parent: "Checkout", column: "checkoutId" },
] as const;

interface TableRows {
  table: string;
  columns: string[];
  rows: unknown[][];
  /** Children: the parent ids whose rows are replaced. */
  replaces?: { column: string; ids: unknown[] };
}

const CHUNK = 500;
function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
const marks = (n: number) => Array.from({ length: n }, () => "?").join(", ");

/** The rows the run left for what the sale touched, as the database holds them. */
async function finalRows(raw: Raw, shopId: number, touched: FlashSale["touched"]): Promise<TableRows[]> {
  const out: TableRows[] = [];
  const ids = new Map<string, unknown[]>();
  for (const p of PARENTS) {
    const keys = [...touched[p.touched]];
    const t: TableRows = { table: p.table, columns: [], rows: [] };
    for (const part of chunks(keys)) {
      const r = await raw.rows(
        `SELECT * FROM "${p.table}" WHERE "shopId" = ? AND "${p.key}" IN (${marks(part.length)})`,
        [shopId, ...part],
      );
      t.columns = r.columns;
      t.rows.push(...r.rows);
    }
    const id = t.columns.indexOf("id");
    ids.set(
      p.table,
      t.rows.map((row) => row[id]),
    );
    out.push(t);
  }
  for (const c of CHILDREN) {
    const parents = ids.get(c.parent) ?? [];
    const t: TableRows = {
      table: c.table,
      columns: [],
      rows: [],
      replaces: { column: c.column, ids: parents },
    };
    for (const part of chunks(parents)) {
      const r = await raw.rows(
        `SELECT * FROM "${c.table}" WHERE "${c.column}" IN (${marks(part.length)})`,
        part,
      );
      t.columns = r.columns;
      t.rows.push(...r.rows);
    }
    out.push(t);
  }
  return out;
}

/** The baseline: those rows written by bare set-based SQL, one transaction; seconds it took. */
async function bareWrite(raw: Raw, tables: TableRows[], dialect: Dialect): Promise<number> {
  const started = performance.now();
  await raw.run("BEGIN");
  for (const t of tables) {
    if (!t.columns.length) continue;
    if (t.replaces)
      for (const part of chunks(t.replaces.ids))
        await raw.run(
          `DELETE FROM "${t.table}" WHERE "${t.replaces.column}" IN (${marks(part.length)})`,
          part,
        );
    const cols = t.columns.map((c) => `"${c}"`).join(", ");
    const update = t.columns
      .filter((c) => c !== "id")
      .map((c) => `"${c}" = excluded."${c}"`)
      .join(", ");
    const perStatement = Math.max(1, Math.floor((dialect === "sqlite" ? 30_000 : 60_000) / t.columns.length));
    for (const part of chunks(t.rows, perStatement))
      await raw.run(
        `INSERT INTO "${t.table}" (${cols}) VALUES ${part.map(() => `(${marks(t.columns.length)})`).join(", ")}
         ON CONFLICT ("id") DO UPDATE SET ${update}`,
        part.flat(),
      );
  }
  await raw.run("COMMIT");
  return ms(started) / 1000;
}

async function appliedPerSecond(
  target: Target,
  events: number,
  capSeconds: number,
  log: (line: string) => void,
) {
  const { store } = target;
  const sale = flashSaleHistory({
    events,
    customers: target.buyers,
    shop: BIG_SHOP,
    now: store.now,
    seed: 1,
  });
  log(`flash sale: ${sale.lines.length} deliveries ${JSON.stringify(sale.counts)}`);

  const withUrl = await target.copy("flash_with");
  const withMembers = await applyRun(target, withUrl, sale, true, capSeconds, log);
  const withoutUrl = await target.copy("flash_without");
  const withoutMembers = await applyRun(target, withoutUrl, sale, false, capSeconds, log);
  await target.drop(withoutUrl);

  // Baseline: the rows the run left, written bare into a fresh copy.
  const source = await target.raw(withUrl);
  // What the applied deliveries wrote (stopped at the cap: about the first `applied`, claimed in id order).
  const tables = await finalRows(source, store.shopId, touchedBy(sale.lines.slice(0, withMembers.applied)));
  await source.close();
  await target.drop(withUrl);
  const bareUrl = await target.copy("flash_bare");
  const bare = await target.raw(bareUrl);
  const bareSeconds = await bareWrite(bare, tables, target.dialect);
  await bare.close();
  await target.drop(bareUrl);
  const rows = tables.reduce((n, t) => n + t.rows.length, 0);
  log(
    `baseline: ${rows} rows (${tables.map((t) => `${t.table} ${t.rows.length}`).join(", ")}) written bare in ${bareSeconds.toFixed(2)} s`,
  );
  // Capped, the run left only part of the sale's rows: the baseline is then per applied event.
  const barePerSecond = withMembers.applied / bareSeconds;
  const equal = !withMembers.capped && !withMembers.differing?.length;
  const capped = (run: ApplyRun) =>
    run.capped ? `, stopped at the cap after ${run.applied.toLocaleString("en")}` : "";
  return {
    /** Drained, and the full recompute changed something. */
    differs: !!withMembers.differing?.length,
    figures: [
      {
        name: `flash sale: events applied per second, worker with memberships (${withMembers.events.toLocaleString("en")} events${capped(withMembers)})`,
        value: withMembers.perSecond,
        unit: "/s",
        aim: "≥ 2000 (goal 5000)",
        ok: withMembers.perSecond >= 2000,
        baseline: barePerSecond,
        ratio: withMembers.perSecond / barePerSecond,
      },
      {
        name: withMembers.capped
          ? "  time from first claim to every segment equal to a full recompute: not reached (capped)"
          : "  time from first claim to every segment equal to a full recompute",
        value: withMembers.seconds,
        unit: "s",
        aim: "equal",
        ok: equal,
      },
      {
        name: `  segments differing from a full recompute after the drain`,
        value: withMembers.capped ? NaN : (withMembers.differing?.length ?? 0),
        unit: "",
        aim: "0",
        ok: equal,
      },
      {
        name: `  CPU time an event, with memberships (this process${target.dialect === "sqlite" ? ", SQLite included" : ", PostgreSQL's server not"})`,
        value: withMembers.cpuMsPerEvent,
        unit: "ms",
      },
      {
        name: "  CPU time an event, membership step off",
        value: withoutMembers.cpuMsPerEvent,
        unit: "ms",
      },
      {
        name: "  the full recompute that checked it (every segment)",
        value: withMembers.recomputeSeconds ?? NaN,
        unit: "s",
      },
      {
        name: `  events applied per second, membership step off${capped(withoutMembers)}`,
        value: withoutMembers.perSecond,
        unit: "/s",
        baseline: barePerSecond,
        ratio: withoutMembers.perSecond / barePerSecond,
      },
      {
        name: "  recording the history in the inbox (insertDeliveries, 250 a statement), per second",
        value: withMembers.events / withMembers.intakeSeconds,
        unit: "/s",
      },
      {
        name: `  baseline: the ${rows.toLocaleString("en")} rows the run left, bare set-based SQL, events per second`,
        value: barePerSecond,
        unit: "/s",
      },
    ] satisfies Figure[],
  };
}

// ---- 2. acknowledge while the worker applies -------------------------------------------------------------

/** CPU time (user + system, all threads) a Linux process has used so far, in ms; 0 elsewhere. */
function processCpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime, fields 14 and 15 of stat (11 and 12 after the command), in clock ticks.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

async function acknowledgeWhileApplying(
  target: Target,
  events: number,
  rate: number,
  seconds: number,
  log: (line: string) => void,
): Promise<Figure[]> {
  const { store } = target;
  if (!target.buildDir) ensureBuild((line) => log(line));
  // The inbox holds the whole sale: the worker applies from the moment the server starts.
  const backlog = flashSaleHistory({
    events,
    customers: target.buyers,
    shop: BIG_SHOP,
    now: store.now,
    seed: 1,
  });
  const sent = flashSaleHistory({
    events: rate * seconds,
    customers: target.buyers,
    shop: BIG_SHOP,
    now: store.now,
    seed: 2,
  });
  const warm = flashSaleHistory({
    events: 2 * rate,
    customers: target.buyers,
    shop: BIG_SHOP,
    now: store.now,
    seed: 3,
  });

  const baseline = await spawnTs(
    "bench/baseline-server.ts",
    { SHOPIFY_API_SECRET: SECRET, PORT: "0" },
    /listening (\d+)/,
  );
  const baseUrl = `http://127.0.0.1:${baseline.url}/webhooks`;
  // Both sides on node:http: fetch cost this generator 0.5–0.8 ms of CPU a request, half a core
  // at 1,000/s taken from the two the server runs on, and its own stalls were most of the
  // baseline's p99 (227 ms in the run before).
  const client = { client: "http" } as const;
  await openLoop(signAll(baseUrl, warm.lines, SECRET), rate, client);
  const base = await openLoop(signAll(baseUrl, sent.lines, SECRET), rate, client);
  log(
    `baseline (HMAC only): p50 ${base.p50.toFixed(2)} ms, p99 ${base.p99.toFixed(1)} ms; generator ${base.clientCpuMs?.toFixed(3)} ms CPU a request, its event loop's delay p99 ${base.clientDelayP99?.toFixed(1)} ms`,
  );
  await baseline.stop();

  const url = await target.copy("flash_ack");
  const db = createPrismaClient(url);
  const deliveries = deliveriesOf(backlog.lines);
  for (let i = 0; i < deliveries.length; i += 250) await insertDeliveries(db, deliveries.slice(i, i + 250));
  const done = async () => (await db.webhookEvent.count({ where: { status: "done" } })) as number;
  const app = await spawnTs(
    "build/server.mjs",
    {
      DATABASE_URL: url,
      SHOPIFY_API_KEY: "bench-key",
      SHOPIFY_API_SECRET: SECRET,
      PORT: "0",
      NODE_ENV: "production",
      SLICE_WORKER: "1",
    },
    /listening on (http:\/\/[\d.:]+)/,
    [],
    target.buildDir,
  );
  let slice;
  let applied = 0;
  let backlogLeft = 0;
  let serverCpuMs = 0;
  try {
    const endpoint = `${app.url}/webhooks`;
    await openLoop(signAll(endpoint, warm.lines, SECRET), rate, client);
    const before = await done();
    const load = loadAverage();
    const cpuBefore = processCpuMs(app.child.pid);
    slice = await openLoop(signAll(endpoint, sent.lines, SECRET), rate, client);
    serverCpuMs = processCpuMs(app.child.pid) - cpuBefore;
    applied = (await done()) - before;
    backlogLeft = await db.webhookEvent.count({ where: { status: { in: ["pending", "processing"] } } });
    log(
      `acknowledged ${slice.ok}/${slice.sent} at ${rate}/s: p50 ${slice.p50.toFixed(1)} ms, p99 ${slice.p99.toFixed(1)} ms; the worker applied ${applied} meanwhile, ${backlogLeft} left; server ${serverCpuMs.toFixed(0)} ms CPU; generator's event loop delay p99 ${slice.clientDelayP99?.toFixed(1)} ms; load ${load} → ${loadAverage()}`,
    );
  } finally {
    await app.stop();
    await db.$disconnect();
    await target.drop(url);
  }
  if (backlogLeft === 0)
    log("the backlog ran out before the measurement ended: the worker was not applying throughout");
  return [
    {
      name: `time to acknowledge p50 at ${rate}/s offered, worker applying a ${events.toLocaleString("en")}-event backlog`,
      value: slice.p50,
      unit: "ms",
      baseline: base.p50,
      ratio: slice.p50 / Math.max(base.p50, 0.001),
    },
    {
      name: `time to acknowledge p99 at ${rate}/s offered, worker applying`,
      value: slice.p99,
      unit: "ms",
      aim: "< 50",
      ok: slice.p99 < 50,
      baseline: base.p99,
      ratio: slice.p99 / Math.max(base.p99, 0.001),
    },
    {
      name: `  rate held (${slice.ok} of ${slice.sent} acknowledged)`,
      value: slice.perSecond,
      unit: "/s",
      aim: `≥ ${rate * 0.95}`,
      ok: slice.perSecond >= rate * 0.95 && slice.failed === 0,
    },
    {
      name: `  events the worker applied meanwhile (${slice.seconds.toFixed(1)} s; backlog still left: ${backlogLeft.toLocaleString("en")})`,
      value: applied,
      unit: "",
    },
    { name: "  the same, per second", value: applied / slice.seconds, unit: "/s" },
    {
      name: "  server CPU time per webhook acknowledged, the worker's applies included (all threads)",
      value: serverCpuMs / Math.max(slice.sent, 1),
      unit: "ms",
    },
    {
      name: "  diagnostic: the load generator's own event-loop delay p99 (app run; baseline run)",
      value: slice.clientDelayP99 ?? 0,
      unit: "ms",
      baseline: base.clientDelayP99,
    },
  ];
}

// ---- 3. webhook → membership at a steady rate -------------------------------------------------------------

/** This process's event-loop delay and garbage collections from now until `stop()`. */
function watchStalls() {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const gc = { gcCount: 0, gcMs: 0, gcMaxMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.gcCount++;
      gc.gcMs += entry.duration;
      gc.gcMaxMs = Math.max(gc.gcMaxMs, entry.duration);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    stop() {
      delay.disable();
      observer.disconnect();
      return { delayP99Ms: delay.percentile(99) / 1e6, delayMaxMs: delay.max / 1e6, ...gc };
    },
  };
}

/**
 * SLICE_BENCH_CPU_PROFILE=<file>: a CPU profile of this process (V8's sampling profiler, through
 * node:inspector) during the membership run, written as a .cpuprofile (Chrome DevTools opens it).
 */
async function startProfile() {
  const file = process.env.SLICE_BENCH_CPU_PROFILE;
  if (!file) return null;
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  return {
    async stop(log: (line: string) => void) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      log(`CPU profile of the membership run written to ${file}`);
    },
  };
}

/**
 * Statements sent to PostgreSQL by this process (each a round trip, unless pipelined): every
 * `pg` client's, the hot layer's pools and Prisma's adapter alike, counted at `Client.query`.
 */
let statementsSent = 0;
/**
 * SLICE_BENCH_STATEMENTS_FILE=<file>: during the membership run, each statement's text too (its
 * first 160 characters, a line each), to see which they are.
 */
let statementLog: string | null = null;
{
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statementsSent++;
    const file = statementLog;
    if (file) {
      const q = args[0] as string | { text?: string; name?: string };
      const text = typeof q === "string" ? q : (q?.text ?? q?.name ?? "?");
      appendFileSync(file, `${text.replace(/\s+/g, " ").slice(0, 160)}\n`);
    }
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
}

type Layout = "thread" | "in process";

/** What a latency run needs of the worker, wherever it runs. */
interface LatencyWorker {
  start(): void;
  wake(): void;
  noteIntake(): void;
  /** Stops it; the statements it sent to PostgreSQL from a thread of its own (0 in this thread: counted here). */
  stop(): Promise<number>;
}

function inProcessWorker(worker: InboxWorker): LatencyWorker {
  return {
    start: () => worker.start(),
    wake: () => worker.wake(),
    noteIntake: () => worker.noteIntake(),
    stop: async () => {
      await worker.stop();
      return 0;
    },
  };
}

/** bench/flash-sale-worker-thread.ts on a thread (through tsx), ready to be woken. */
async function workerThread(
  workerData: { url: string; now: string; memberships: boolean; yieldMs: number },
  onCurrent: (keys: string[], at: number) => void,
  onError: (error: string) => void,
): Promise<LatencyWorker> {
  const tsx = createRequire(import.meta.url).resolve("tsx/cjs/api");
  const program = path.join(import.meta.dirname, "flash-sale-worker-thread.ts");
  const thread = new Worker(
    `require(${JSON.stringify(tsx)}).require(${JSON.stringify(program)}, ${JSON.stringify(program)});`,
    { eval: true, workerData },
  );
  type Message = {
    ready?: true;
    current?: string[];
    at?: number;
    error?: string;
    stopped?: true;
    statements?: number;
  };
  let stopped: (statements: number) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    thread.once("error", reject);
    thread.on("message", (message: Message) => {
      if (message.ready) resolve();
      // The thread's clock as this one's: both from the same epoch.
      else if (message.current) onCurrent(message.current, message.at! - performance.timeOrigin);
      else if (message.error) onError(message.error);
      else if (message.stopped) stopped(message.statements ?? 0);
    });
  });
  await ready;
  return {
    start: () => {},
    wake: () => thread.postMessage("wake"),
    noteIntake: () => thread.postMessage("intake"),
    stop: async () => {
      const statements = new Promise<number>((resolve) => (stopped = resolve));
      thread.postMessage("stop");
      const n = await statements;
      await thread.terminate();
      return n;
    },
  };
}

async function membershipLatency(
  target: Target,
  deliveries: number,
  rate: number,
  log: (line: string) => void,
): Promise<Figure[]> {
  const { store } = target;
  const now = store.now;
  const url = await target.copy("flash_latency");
  const db = createPrismaClient(url);
  const checkpoints = await runtimeCheckpoints(target, db, url);
  const raw = await target.raw(url);
  const { reads, close } = await target.reads(raw, url);
  const orderTemplate = JSON.parse(fixtureText("orders/create")) as Record<string, unknown>;
  const customerTemplate = JSON.parse(fixtureText("customers/update")) as Record<string, unknown>;
  const warmup = Math.min(100, Math.ceil(deliveries / 10));
  const each = deliveries + warmup;
  // Orders go to lapsed customers (they must leave "lapsed-customers"), "vip" tags to customers
  // quiet for 60 days (they must join "vip-lapsing"); the two runs touch different customers.
  const runs = target.dialect === "postgres" ? 4 : 3;
  const lapsed = await reads.pick("lapsed", runs * each);
  const quiet = await reads.pick("quiet", runs * each);
  if (lapsed.length < runs * each || quiet.length < runs * each)
    throw new Error(`not enough customers to touch (${lapsed.length}, ${quiet.length}): use a bigger store`);
  const lapsedSegment = await reads.segmentId("lapsed-customers");
  const vipSegment = await reads.segmentId("vip-lapsing");

  /**
   * Run `k` touches its own customers (k × each onwards). `layout`: "thread", the worker on a
   * thread of its own as the server runs it on PostgreSQL (bench/flash-sale-worker-thread.ts);
   * "in process", the worker, intake and the load on this one thread (as SQLite is measured).
   */
  const run = async (
    k: number,
    membership: boolean,
    layout: Layout,
    yieldMs: number = WORKER_PACING.yieldMs,
  ) => {
    const errors: string[] = [];
    const sentAt = new Map<string, number>();
    const currentAt = new Map<string, number>();
    const markKey = (key: string, at = performance.now()) => {
      if (sentAt.has(key)) currentAt.set(key, at);
    };
    const mark = (event: ClaimedEvent) => markKey(deliveryKey(event));
    const worker =
      layout === "thread"
        ? await workerThread(
            { url, now: now.toISOString(), memberships: membership, yieldMs },
            (keys, at) => keys.forEach((key) => markKey(key, at)),
            (error) => errors.push(error),
          )
        : inProcessWorker(
            runtimeWorker(db, {
              now,
              memberships: membership,
              onError: (event, error) =>
                errors.push(`${event.topic} #${event.id}: ${(error as Error).message}`),
              ...(membership
                ? { onMembership: (events: ClaimedEvent[]) => events.forEach(mark) }
                : { onDone: mark }),
              yieldMs,
            }),
          );
    // The intake as runtime.server.ts's webhookDeps wires it: group commit, then wake the worker.
    const intake = new IntakeBatcher(db);
    const deps = {
      db,
      secret: SECRET,
      record: (d: Parameters<IntakeBatcher["record"]>[0]) => intake.record(d),
      onDelivery: (result: "new" | "duplicate") => (result === "new" ? worker.wake() : worker.noteIntake()),
    };
    const lines: (Required<WebhookLine> & { customer: PickedCustomer; order: boolean })[] = [];
    for (let i = 0; i < each; i++) {
      const order = i % 2 === 0;
      const c = order ? lapsed[k * each + i] : quiet[k * each + i];
      const n = (k + 1) * 1_000_000 + i;
      const at = now.getTime() - 20 * 60_000 + i * 100;
      lines.push({
        topic: order ? "orders/create" : "customers/update",
        shop: BIG_SHOP,
        payload: order ? orderCreate(orderTemplate, c, n, at) : customerUpdate(customerTemplate, c, at),
        eventId: `latency-${n}`,
        triggeredAt: new Date(at).toISOString(),
        customer: c,
        order,
      });
    }
    const requests = lines.map((line) => {
      const init = webhookRequestInit(line, SECRET);
      return {
        key: `${line.topic}:${(line.payload as { id: number }).id}`,
        body: Buffer.from(init.body as string),
        headers: new Map(Object.entries(init.headers).map(([k, v]) => [k.toLowerCase(), v])),
      };
    });
    worker.start();
    const stalls = watchStalls();
    const profile = membership && yieldMs ? await startProfile() : null;
    const started = performance.now();
    const cpu = process.cpuUsage();
    const statementsBefore = statementsSent;
    if (membership && yieldMs) statementLog = process.env.SLICE_BENCH_STATEMENTS_FILE ?? null;
    const answers: Promise<void>[] = [];
    let refused = 0;
    for (const [i, r] of requests.entries()) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      sentAt.set(r.key, performance.now());
      answers.push(
        acceptWebhook("POST", (name) => r.headers.get(name) ?? null, r.body, deps).then((answer) => {
          if (answer.status !== 200) refused++;
        }),
      );
    }
    await Promise.all(answers);
    const deadline = Date.now() + 120_000;
    while (currentAt.size < requests.length && Date.now() < deadline && !errors.length) await sleep(20);
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000 / requests.length;
    statementLog = null;
    const stalled = stalls.stop();
    await profile?.stop(log);
    const threadStatements = await worker.stop();
    const statements = (statementsSent - statementsBefore + threadStatements) / requests.length;
    if (refused) throw new Error(`${refused} deliveries were refused`);
    if (errors.length) throw new Error(`webhooks failed: ${errors.slice(0, 3).join("; ")}`);
    if (currentAt.size < requests.length)
      throw new Error(`only ${currentAt.size} of ${requests.length} deliveries reached the hook in 120 s`);
    // The memberships really moved for the touched customers.
    if (membership) {
      let wrong = 0;
      for (const line of lines) {
        const ok = line.order
          ? !(await reads.isMember(lapsedSegment, line.customer.shopifyId))
          : await reads.isMember(vipSegment, line.customer.shopifyId);
        if (!ok) wrong++;
      }
      if (wrong)
        throw new Error(`${wrong} of ${lines.length} deliveries did not move their customer's membership`);
    }
    const latencies = requests
      .slice(warmup)
      .map((r) => currentAt.get(r.key)! - sentAt.get(r.key)!)
      .sort((a, b) => a - b);
    const seconds = ms(started) / 1000;
    const result = {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? 0,
      cpuMs,
      statements,
      ...stalled,
    };
    log(
      `${membership ? "webhook → membership" : "webhook → applied (no membership step)"}${yieldMs ? "" : " (worker's yield to intake off)"}${layout === "thread" ? ", worker on its own thread" : ", all on one thread"} at ${rate}/s: p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(0)} ms (${requests.length} in ${seconds.toFixed(1)} s; ${cpuMs.toFixed(2)} ms CPU a delivery${target.dialect === "postgres" ? `, ${statements.toFixed(1)} statements sent to PostgreSQL a delivery` : ""}); this process's event loop: delay p99 ${result.delayP99Ms.toFixed(1)} ms, max ${result.delayMaxMs.toFixed(0)} ms; GC ${result.gcMs.toFixed(0)} ms in ${result.gcCount} pauses, longest ${result.gcMaxMs.toFixed(1)} ms; load ${loadAverage()}`,
    );
    return result;
  };
  try {
    // PostgreSQL: the worker on a thread of its own, as the server runs it there; the same on
    // this one thread as a diagnostic. SQLite: on this one thread.
    const layout: Layout = target.dialect === "postgres" ? "thread" : "in process";
    const without = await run(0, false, layout);
    const withMembers = await run(1, true, layout);
    const noYield = await run(2, true, layout, 0);
    const oneThread = layout === "thread" ? await run(3, true, "in process") : null;
    const size = await reads.largestSegment();
    return [
      {
        name: `webhook → membership p50 at a steady ${rate}/s (${deliveries} deliveries, ${layout === "thread" ? "the worker on its own thread" : "in process"})`,
        value: withMembers.p50,
        unit: "ms",
        baseline: without.p50,
        ratio: withMembers.p50 / Math.max(without.p50, 0.001),
      },
      {
        name: `webhook → membership p99 at a steady ${rate}/s`,
        value: withMembers.p99,
        unit: "ms",
        aim: "< 20",
        ok: withMembers.p99 < 20,
        baseline: without.p99,
        ratio: withMembers.p99 / Math.max(without.p99, 0.001),
      },
      {
        name: `  CPU time a delivery, intake to membership (this process${target.dialect === "sqlite" ? ", SQLite included" : ", PostgreSQL's server not"})`,
        value: withMembers.cpuMs,
        unit: "ms",
        baseline: without.cpuMs,
        ratio: withMembers.cpuMs / Math.max(without.cpuMs, 0.001),
      },
      ...(target.dialect === "postgres"
        ? [
            {
              name: "  statements sent to PostgreSQL a delivery (round trips: every pool and Prisma's)",
              value: withMembers.statements,
              unit: "",
              baseline: without.statements,
            },
          ]
        : []),
      {
        name: "  diagnostic: the same p50 with the worker's yield to intake off (yieldMs 0; the runtime's 10)",
        value: noYield.p50,
        unit: "ms",
      },
      { name: "  diagnostic: the same p99, yield off", value: noYield.p99, unit: "ms" },
      ...(oneThread
        ? [
            {
              name: "  diagnostic: the same p50 with the worker, intake and load on one thread (as before)",
              value: oneThread.p50,
              unit: "ms",
            },
            { name: "  diagnostic: the same p99, on one thread", value: oneThread.p99, unit: "ms" },
          ]
        : []),
      {
        name: "  diagnostic: this process's event-loop delay p99 during the membership run",
        value: withMembers.delayP99Ms,
        unit: "ms",
        baseline: without.delayP99Ms,
      },
      {
        name: "  diagnostic: this process's event-loop delay, worst",
        value: withMembers.delayMaxMs,
        unit: "ms",
        baseline: without.delayMaxMs,
      },
      {
        name: `  diagnostic: GC pauses during the membership run, total (${withMembers.gcCount}; longest ${withMembers.gcMaxMs.toFixed(1)} ms)`,
        value: withMembers.gcMs,
        unit: "ms",
        baseline: without.gcMs,
      },
      { name: "  largest segment while measuring (members)", value: size, unit: "" },
    ];
  } finally {
    await checkpoints?.stop();
    await close();
    await raw.close();
    await db.$disconnect();
    await target.drop(url);
  }
}

// ---- the section ---------------------------------------------------------------------------------------

export async function benchFlashSale(
  options: { database?: Dialect; customers?: number } = {},
): Promise<Figure[]> {
  const dialect = options.database ?? "sqlite";
  const log = (line: string) => console.error(`[flash-sale${dialect === "postgres" ? "-pg" : ""}] ${line}`);
  const customers =
    options.customers ??
    Number(process.env.SLICE_BENCH_CUSTOMERS ?? (dialect === "sqlite" ? 1_000_000 : 100_000));
  const events = Number(process.env.SLICE_BENCH_EVENTS ?? 100_000);
  const rate = Number(process.env.SLICE_BENCH_RATE ?? 1000);
  const ackSeconds = Number(process.env.SLICE_BENCH_ACK_SECONDS ?? 10);
  const latencyRate = Number(process.env.SLICE_BENCH_LATENCY_RATE ?? 100);
  const deliveries = Number(process.env.SLICE_BENCH_DELIVERIES ?? 1000);
  const capSeconds = Number(process.env.SLICE_BENCH_APPLY_CAP_S ?? 1800);
  const parts = (process.env.SLICE_BENCH_PARTS ?? "apply,ack,latency").split(",");
  log(
    `${customers.toLocaleString("en")} customers, ${events.toLocaleString("en")} events; load ${loadAverage()}`,
  );
  const target =
    dialect === "sqlite" ? await sqliteTarget(customers, log) : await postgresTarget(customers, log);
  const figures: Figure[] = [
    { name: "customers in the shop", value: target.store.counts.customers, unit: "" },
    { name: "orders in the shop before the sale", value: target.store.counts.orders, unit: "" },
  ];
  try {
    let differs = false;
    if (parts.includes("apply")) {
      const applied = await appliedPerSecond(target, events, capSeconds, log);
      figures.push(...applied.figures);
      differs = applied.differs;
    }
    if (parts.includes("ack"))
      figures.push(...(await acknowledgeWhileApplying(target, events, rate, ackSeconds, log)));
    if (parts.includes("latency"))
      figures.push(...(await membershipLatency(target, deliveries, latencyRate, log)));
    figures.push({
      name: "load average (1 min) at the end (2 cores, shared)",
      value: os.loadavg()[0],
      unit: "",
    });
    if (differs)
      throw new Error(
        `after the flash sale the memberships differ from a full recompute:\n${JSON.stringify(figures, null, 2)}`,
      );
    return figures;
  } finally {
    await target.stop();
  }
}
