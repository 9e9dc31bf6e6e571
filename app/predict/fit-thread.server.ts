/**
 * A shop's fit on SQLite, off the app's thread: a worker thread with its own connection reads the
 * summaries, fits both models (seconds of synchronous work at 1,000,000 customers) and writes
 * every customer's predictions, while the app's thread answers webhooks and pages.
 *
 * Reads never wait on SQLite (WAL). The writes are where the two threads meet, and they meet the
 * app's way: each write transaction of the thread runs while the app's thread holds the writer's
 * turn (a transaction of the hot layer, `leased`, which waits its turn under Prisma's transaction
 * mutex like any webhook's), so
 * - no transaction of the app's thread is ever between its first read and its first write while
 *   the thread commits (SQLite would refuse that write at once: SQLITE_BUSY_SNAPSHOT);
 * - a webhook's transaction waits at most one of the thread's transactions, each bounded by time
 *   (`holdMs`, 20 ms by default), and the app's thread is free (its event loop runs) meanwhile;
 * - the thread's transactions start with BEGIN IMMEDIATE, so it is never refused either.
 * The lease relies on the hot layer's SQLite transactions starting deferred (a plain BEGIN takes
 * no lock until the first statement); fit-thread.server.test.ts fails if that changes. In the
 * server, where the background work runs on a thread of its own and every transaction begins
 * IMMEDIATE with write turns (app/sqlite-turns.server.ts), the fit's thread takes its turns itself,
 * as one more background connection: the HTTP thread's writes go first, and SQLite's lock (with
 * its busy timeout) keeps the fit's and the background thread's transactions apart.
 *
 * The thread's program is this module, bundled (`threadModule`): `build/fit-thread.mjs` in
 * production (package.json's build script), made on demand from the source in development, tests
 * and the bench. Without it the fit runs on the app's thread, saying so.
 */
import type { PrismaClient } from "@prisma/client";
import Database from "better-sqlite3";
import { existsSync, renameSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker, type MessagePort } from "node:worker_threads";
import { hotFor, sqliteQueries, urlOf } from "../db-hot.server";
import { sqlitePath } from "../db-url";
import { takeTurns } from "../sqlite-turns.server";
import type { FittedModels, TierThresholds } from "../engine/predict/types";
import {
  localRunner,
  modelShop,
  sqlitePredictionRow,
  UPSERT_ONE_PREDICTION,
  type FitPlan,
  type FitRunner,
  type Modelled,
  type ModelSteps,
  type WriteReport,
} from "./fit.server";
import type { ShopSummaries } from "./summaries.server";

/** The thread's V8 young generation (see `startFitThread`). */
const YOUNG_GENERATION_MB = 4;

/** How long one of the thread's write transactions may hold SQLite's writer, by default. */
export const WRITE_HOLD_MS = 20;

/**
 * The thread checkpoints after this many of its write transactions (outside the app's turn): the
 * log then stays a few transactions long (see `checkpoint`), and pages written by several of them
 * are copied once.
 */
const CHECKPOINT_EVERY = 4;

/** Stale rows (customers the new fit no longer covers) deleted per transaction. */
const STALE_PER_TRANSACTION = 2000;

/** The worker's whole program: load the module, serve the app's thread. */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
import(workerData.module).then(
  (m) => m.serveFitThread(parentPort, workerData.file, workerData.turns),
  (error) => parentPort.postMessage({ id: -1, error: String((error && error.stack) || error) }),
);`;

type Request =
  | { id: number; type: "model"; plan: FitPlan }
  | { id: number; type: "prepare"; fitId: number; holdMs: number }
  | { id: number; type: "write" }
  | { id: number; type: "checkpoint" }
  | { id: number; type: "stale"; fitId: number }
  | { id: number; type: "delete"; fitId: number }
  | { id: number; type: "close" };

/** A request before its id is given. */
type Ask = Request extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

type Reply = { id: number; result?: unknown; error?: string } | { id: null; log: string };

/**
 * The thread's program, bundled: the production build's `build/fit-thread.mjs`, or, running from
 * the TypeScript source (tsx, Vite, vitest), the same bundle made now with esbuild (a development
 * dependency, there whenever the source runs) under node_modules/.cache. One bundle rather than the
 * source through a loader: the thread then costs the same memory as in production (measured: a
 * thread loading the source through tsx peaked 51 MB above the process, the bundle 23 MB).
 * Null when there is none.
 */
function threadModule(): Promise<string | null> {
  built ??= findOrBuild().catch((error: Error) => {
    built = null;
    throw error;
  });
  return built;
}

/**
 * Bundles `entry` (TypeScript) for plain node into `outfile` with the options of package.json's
 * build script (the app's packages left to node_modules); esbuild is a development dependency,
 * there whenever the source runs. Another process (the other database's tests) may be building the
 * same file: each writes its own and renames it into place. The bench bundles its children so too.
 */
export async function bundleForNode(entry: string, outfile: string): Promise<void> {
  const mine = `${outfile}.${process.pid}.${Date.now()}.tmp`;
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [entry],
    outfile: mine,
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
  });
  renameSync(mine, outfile);
}

/** The bundle, once per process. */
let built: Promise<string | null> | null = null;

async function findOrBuild(): Promise<string | null> {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith(".ts")) {
    // The production build: the app is bundled under build/server/ (its chunks in
    // build/server/assets/), the thread's program is build/fit-thread.mjs.
    for (let dir = path.dirname(here), up = 0; up < 4; dir = path.dirname(dir), up++) {
      const built = path.join(dir, "fit-thread.mjs");
      if (existsSync(built)) return pathToFileURL(built).href;
    }
    return null;
  }
  const root = path.resolve(path.dirname(here), "..", "..");
  const out = path.join(root, "node_modules", ".cache", "slice", "fit-thread.mjs");
  await bundleForNode(here, out);
  return pathToFileURL(out).href;
}

/**
 * Starts the fit's thread on `db`'s SQLite file. Falls back to the app's thread (`localRunner`),
 * saying so, when the thread's program is not there.
 */
export async function startFitThread(db: PrismaClient, holdMs = WRITE_HOLD_MS): Promise<FitRunner> {
  const module = await threadModule();
  if (!module) {
    console.error("the fit's thread program (build/fit-thread.mjs) is missing: fitting on the app's thread");
    return localRunner(db);
  }
  const file = sqlitePath(urlOf(db));
  // In the server the background work has a thread of its own, whose transactions begin IMMEDIATE
  // and take turns with the HTTP thread's (app/sqlite-turns.server.ts): there the fit's thread takes
  // its turns the same way, as one more background connection, instead of in a transaction of the
  // app's thread (which would hold SQLite's lock itself while the fit's thread waited for it).
  const turns = globalThis.sliceWriteTurns?.state ?? null;
  const thread = new Worker(THREAD, {
    eval: true,
    workerData: { module, file, turns },
    // The thread makes short-lived objects by the million (the summaries' rows, the predictions'
    // rows): a small young generation keeps them from growing it (measured at 1M customers: the
    // process's peak RSS 260 MB with V8's default, 225 MB with 4 MB, and no slower).
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  let log: (line: string) => void = () => {};
  let next = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const failAll = (error: Error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  let ended: Error | null = null;
  thread.on("message", (m: Reply) => {
    if (m.id === null) return log(m.log);
    if (m.id === -1) {
      ended = new Error(`the fit's thread did not start: ${m.error}`);
      return failAll(ended);
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.result);
  });
  thread.on("error", (error) => failAll((ended = error)));
  thread.on("exit", (code) => failAll((ended ??= new Error(`the fit's thread exited (${code})`))));

  function call<T>(request: Ask): Promise<T> {
    if (ended) return Promise.reject(ended);
    const id = ++next;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      thread.postMessage({ ...request, id });
    });
  }

  const hot = hotFor(db, "apply");
  /** Runs one of the thread's write transactions in the app's writer's turn (see the top). */
  const leased = <T>(request: Ask) => (turns ? call<T>(request) : hot.transaction(() => call<T>(request)));
  const giveWay = () => new Promise((resolve) => setImmediate(resolve));

  return {
    async model(plan, lines) {
      log = lines;
      return call<{ modelled: Modelled; steps: ModelSteps }>({ type: "model", plan });
    },
    async write(fitId) {
      const report: WriteReport = { written: 0, chunks: 0, longestHoldMs: 0 };
      while (await call<boolean>({ type: "prepare", fitId, holdMs })) {
        const r = await leased<{ written: number; holdMs: number }>({ type: "write" });
        report.written += r.written;
        report.chunks++;
        report.longestHoldMs = Math.max(report.longestHoldMs, r.holdMs);
      }
      await call({ type: "checkpoint" });
      // The rows of customers this fit does not cover (no order left, deleted): found by reading,
      // which holds nothing, then deleted in short transactions.
      if (await call<number>({ type: "stale", fitId }))
        for (;;) {
          const r = await leased<{ more: boolean; holdMs: number }>({ type: "delete", fitId });
          report.chunks++;
          report.longestHoldMs = Math.max(report.longestHoldMs, r.holdMs);
          if (!r.more) break;
          await giveWay();
        }
      return report;
    },
    async close() {
      if (!ended) await call({ type: "close" }).catch(() => {});
      await thread.terminate();
    },
  };
}

/** The thread's side: its own connection, the summaries it read, and the write in progress. */
export function serveFitThread(port: MessagePort, file: string, turns: Int32Array | null = null): void {
  const connection = new Database(file, { fileMustExist: true, timeout: 10_000 });
  // Its commits do not checkpoint (that would be inside the app's turn): it checkpoints after
  // each, outside it (`checkpoint`).
  connection.pragma("wal_autocheckpoint = 0");
  // Memory: the summaries' pass reads the shop's orders once, in order; a small page cache does
  // (the operating system caches the file). The writes get more (below).
  connection.pragma("cache_size = -2000");
  const q = sqliteQueries(() => connection);
  // With turns (see startFitThread) its BEGIN waits its turn and is IMMEDIATE, and COMMIT and
  // ROLLBACK end the turn; without, the app's thread leases the turn (the top of this file).
  if (turns) takeTurns(connection, { role: "after", state: turns });
  const begin = connection.prepare(turns ? "BEGIN" : "BEGIN IMMEDIATE");
  const commit = connection.prepare("COMMIT");
  const rollback = connection.prepare("ROLLBACK");
  let upsert: Database.Statement | null = null;
  let held: {
    plan: FitPlan;
    summaries: ShopSummaries;
    models: FittedModels;
    tiers: TierThresholds;
    /** The next customer (index into the summaries) to compute a row for. */
    next: number;
    /** Rows computed, not yet written. */
    pending: unknown[][];
    /** Milliseconds a row took to write, lately (sizes the next transaction). */
    msPerRow: number;
    prepared: number;
    stale: number[];
  } | null = null;

  /** `body` in one write transaction; how long it held the writer. */
  function transaction(body: () => void): number {
    begin.run();
    const started = performance.now();
    try {
      body();
      commit.run();
    } catch (error) {
      if (connection.inTransaction) rollback.run();
      throw error;
    }
    return performance.now() - started;
  }

  const handlers = {
    async model(r: Extract<Request, { type: "model" }>) {
      const out = await modelShop(q, r.plan, (line) => port.postMessage({ id: null, log: line }));
      held =
        out.modelled.status === "ready"
          ? {
              plan: r.plan,
              summaries: out.summaries,
              models: out.modelled.models,
              tiers: out.modelled.tiers,
              next: 0,
              pending: [],
              msPerRow: 0.01,
              prepared: 0,
              stale: [],
            }
          : null;
      return { modelled: out.modelled, steps: out.steps };
    },
    /**
     * Outside the writer's turn: checkpoints every few transactions (`checkpoint`), then computes
     * the next rows, as many as the last transactions wrote in `holdMs`, so that the writer's turn
     * is spent on inserts alone. False when every row has been written.
     */
    prepare(r: Extract<Request, { type: "prepare" }>) {
      if (!held) throw new Error("nothing fitted to write");
      const h = held;
      if (++h.prepared % CHECKPOINT_EVERY === 0) handlers.checkpoint();
      const n = h.summaries.all.length;
      const size = Math.max(100, Math.min(50_000, Math.round(r.holdMs / h.msPerRow)));
      while (h.pending.length < size && h.next < n) {
        const row = sqlitePredictionRow(
          h.models,
          h.summaries,
          h.next++,
          h.plan.shopId,
          r.fitId,
          h.tiers,
          h.plan.now,
        );
        if (row) h.pending.push(row);
      }
      return h.pending.length > 0;
    },
    /** In the writer's turn: the prepared rows, in one transaction. */
    write() {
      if (!held) throw new Error("nothing fitted to write");
      const h = held;
      if (!upsert) {
        // The predictions' value index is updated at random places: room for most of it.
        connection.pragma("cache_size = -8000");
        upsert = connection.prepare(UPSERT_ONE_PREDICTION);
      }
      const statement = upsert;
      const rows = h.pending;
      h.pending = [];
      const holdMs = transaction(() => {
        for (const row of rows) statement.run(row);
      });
      // The next transaction's size follows this one's pace (a busy machine writes fewer rows).
      h.msPerRow = 0.5 * h.msPerRow + (0.5 * holdMs) / Math.max(1, rows.length);
      return { written: rows.length, holdMs };
    },
    /**
     * Copies the log's pages into the database file (PASSIVE: waits for no one). Done every few of
     * the thread's transactions, the log is wholly copied when the next one starts, and SQLite
     * starts it again from the beginning: it stays a few transactions long. Left to the app's
     * checkpoint thread (app/sqlite-checkpoint.server.ts) a fit's hundreds of megabytes of pages
     * grew the log past its bound, and the app's thread then checkpointed in its own commits.
     */
    checkpoint() {
      connection.pragma("wal_checkpoint(PASSIVE)");
      return null;
    },
    async stale(r: Extract<Request, { type: "stale" }>) {
      if (!held) return 0;
      const rows = await q.rows<{ customerId: number }>(
        `SELECT "customerId" FROM "CustomerPrediction" WHERE "shopId" = ? AND "fitId" <> ?`,
        [held.plan.shopId, r.fitId],
      );
      held.stale = rows.map((row) => row.customerId);
      return held.stale.length;
    },
    delete(r: Extract<Request, { type: "delete" }>) {
      if (!held) return { more: false, holdMs: 0 };
      const h = held;
      const part = h.stale.splice(0, STALE_PER_TRANSACTION);
      const holdMs = transaction(() => {
        // A row refreshed meanwhile (refreshPredictions, after an order) already has this fit: kept.
        connection
          .prepare(
            `DELETE FROM "CustomerPrediction" WHERE "shopId" = ? AND "fitId" <> ? AND "customerId" IN (${part.map(() => "?").join(", ")})`,
          )
          .run(h.plan.shopId, r.fitId, ...part);
      });
      return { more: h.stale.length > 0, holdMs };
    },
    close() {
      held = null;
      connection.close();
      return null;
    },
  };

  port.on("message", (r: Request) => {
    void (async () => {
      try {
        const handler = handlers[r.type] as (request: Request) => unknown;
        port.postMessage({ id: r.id, result: await handler(r) });
      } catch (error) {
        port.postMessage({ id: r.id, error: (error as Error).message });
      }
    })();
  });
}
