/**
 * Segments on PostgreSQL (issue 7: every figure on SQLite and on PostgreSQL), at a smaller scale
 * than the SQLite section: SLICE_BENCH_CUSTOMERS (100,000 here; the same generated store,
 * bench/generate-store.ts, copied table by table from its SQLite file into an embedded PostgreSQL).
 *
 * 1. The app's full recompute (`recompute` from empty memberships, through Prisma on
 *    @prisma/adapter-pg) of the same 18 segments as the SQLite section, against a baseline that
 *    runs the engine's own compiled SELECT (`compile(rule, "postgres")`) bare on a `pg` client with
 *    the same set-based write (temporary table, INSERT … SELECT into SegmentMember and
 *    SegmentChange, the size). No hand-written PostgreSQL SQL: the ratio is the app's overhead over
 *    its own SQL, not the quality of that SQL. The member sets must be equal, or the bench fails.
 * 2. Webhook to updated membership: bench/segments.ts's `webhookLatency` (acceptWebhook, the inbox
 *    worker, afterWebhook; in process, one delivery at a time) on the PostgreSQL client, against the
 *    same path without the membership step.
 *
 * Knobs: SLICE_BENCH_CUSTOMERS (100000), SLICE_BENCH_REPS (3), SLICE_BENCH_DELIVERIES (500).
 */
import Database from "better-sqlite3";
import pg from "pg";
import type { PrismaClient } from "@prisma/client";
import { createPrismaClient, refreshPlannerStatistics } from "../app/db.server";
import { closeHot } from "../app/db-hot.server";
import { compile } from "../app/engine/sql";
import { ensurePresets, recompute } from "../app/segments/store.server";
import { startPostgres } from "../dev/postgres";
import { migrate } from "../prisma/migrate";
import { bigStore, type BigStore } from "./generate-store";
import { addCustomSegments, webhookLatency, type LatencyReads, type PickedCustomer } from "./segments";
import type { Figure } from "./webhooks";

const DAY = 86_400_000;
const log = (line: string) => console.error(`[segments-pg] ${line}`);
const ms = (started: number) => performance.now() - started;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** A timestamp parameter as Prisma stores it on PostgreSQL: UTC wall time, no zone. */
const ts = (t: number | Date) => new Date(t).toISOString().replace("Z", "");

// ---- SQLite file → PostgreSQL ----------------------------------------------------------------------

/** Every table's rows, converted by the PostgreSQL column type; returns rows per table. */
export async function copyStore(file: string, client: pg.Client): Promise<Record<string, number>> {
  const sqlite = new Database(file, { readonly: true });
  const copied: Record<string, number> = {};
  try {
    const columns = (
      await client.query<{ table_name: string; column_name: string; data_type: string }>(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY table_name, ordinal_position`,
      )
    ).rows;
    const pgTables = new Map<string, { name: string; type: string }[]>();
    for (const c of columns) {
      const list = pgTables.get(c.table_name) ?? [];
      list.push({ name: c.column_name, type: c.data_type });
      pgTables.set(c.table_name, list);
    }
    // Rows are copied child before parent in places: the foreign keys' triggers off for the load.
    await client.query(`SET session_replication_role = replica`);
    for (const [table, pgColumns] of pgTables) {
      const exists = sqlite
        .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`)
        .get(table);
      if (!exists) continue;
      const sqliteColumns = new Set(
        (sqlite.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[]).map(String),
      );
      const cols = pgColumns.filter((c) => sqliteColumns.has(c.name));
      const convert = cols.map((c) => {
        if (c.type.startsWith("timestamp"))
          return (v: unknown) => (v === null ? null : ts(typeof v === "number" ? v : Date.parse(String(v))));
        if (c.type === "boolean") return (v: unknown) => (v === null ? null : Boolean(v));
        return (v: unknown) => v;
      });
      const perBatch = Math.max(1, Math.min(1000, Math.floor(60_000 / cols.length)));
      const head = `INSERT INTO "${table}" (${cols.map((c) => `"${c.name}"`).join(", ")}) VALUES `;
      const started = performance.now();
      let batch: unknown[][] = [];
      let n = 0;
      const flush = async () => {
        if (!batch.length) return;
        const params: unknown[] = [];
        const tuples = batch.map((row) => {
          const marks = row.map((v) => {
            params.push(v);
            return `$${params.length}`;
          });
          return `(${marks.join(", ")})`;
        });
        await client.query(head + tuples.join(", "), params);
        n += batch.length;
        batch = [];
      };
      await client.query("BEGIN");
      const rows = sqlite
        .prepare(`SELECT ${cols.map((c) => `"${c.name}"`).join(", ")} FROM "${table}"`)
        .raw()
        .iterate() as IterableIterator<unknown[]>;
      for (const row of rows) {
        batch.push(row.map((v, i) => convert[i](v)));
        if (batch.length >= perBatch) await flush();
      }
      await flush();
      await client.query("COMMIT");
      if (pgColumns.some((c) => c.name === "id" && (c.type === "integer" || c.type === "bigint")))
        await client.query(
          `SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), m) FROM (SELECT max("id") AS m FROM "${table}") s
            WHERE m IS NOT NULL AND pg_get_serial_sequence('"${table}"', 'id') IS NOT NULL`,
        );
      copied[table] = n;
      if (n) log(`copied ${table}: ${n.toLocaleString("en")} rows in ${(ms(started) / 1000).toFixed(1)} s`);
    }
    await client.query(`SET session_replication_role = DEFAULT`);
  } finally {
    sqlite.close();
  }
  return copied;
}

// ---- the reads the webhook latency run makes, on PostgreSQL ---------------------------------------------

/** The same picks as sqliteLatencyReads (same customers, same order), in PostgreSQL's types. */
export function postgresLatencyReads(client: pg.Client, store: BigStore): LatencyReads {
  const shopId = store.shopId;
  const now = store.now.getTime();
  const pick = async (where: string, params: unknown[], limit: number) =>
    (
      await client.query<PickedCustomer>(
        `SELECT "shopifyId", "email", "firstName", "lastName", "state", "tags", "countryCode", "provinceCode", "city",
            "acceptsEmailMarketing"::int AS "acceptsEmailMarketing",
            (extract(epoch FROM "shopifyCreatedAt") * 1000)::float8 AS "shopifyCreatedAt"
           FROM "Customer" WHERE "shopId" = $1 AND "deletedAt" IS NULL AND ${where}
          ORDER BY ("id"::bigint * 7919) % 1000003 LIMIT $2`,
        [shopId, limit, ...params],
      )
    ).rows;
  return {
    pick: (which, limit) =>
      which === "lapsed"
        ? pick(`"lastOrderAt" < $3::timestamp AND "id" % 2 = 1`, [ts(now - 90 * DAY)], limit)
        : pick(
            `"lastOrderAt" < $3::timestamp AND "tags" NOT LIKE '%|vip|%' AND "id" % 2 = 0`,
            [ts(now - 60 * DAY)],
            limit,
          ),
    segmentId: async (handle) =>
      (
        await client.query<{ id: number }>(`SELECT id FROM "Segment" WHERE "shopId" = $1 AND handle = $2`, [
          shopId,
          handle,
        ])
      ).rows[0].id,
    isMember: async (segmentId, customerShopifyId) =>
      (
        await client.query(
          `SELECT 1 FROM "SegmentMember" WHERE "segmentId" = $1 AND "customerShopifyId" = $2`,
          [segmentId, customerShopifyId],
        )
      ).rowCount === 1,
    largestSegment: async () =>
      (
        await client.query<{ m: number }>(`SELECT MAX(size) AS m FROM "Segment" WHERE "shopId" = $1`, [
          shopId,
        ])
      ).rows[0].m,
  };
}

// ---- the baseline write: the engine's SELECT, bare, and the same set-based statements ---------------------

async function bareWrite(
  client: pg.Client,
  segmentId: number,
  query: { sql: string; params: unknown[] },
  now: Date,
): Promise<number> {
  const at = ts(now);
  await client.query("BEGIN");
  try {
    await client.query(`CREATE TEMP TABLE want (id TEXT PRIMARY KEY) ON COMMIT DROP`);
    const size = (await client.query(`INSERT INTO want (id) ${query.sql}`, query.params)).rowCount ?? 0;
    const left = await client.query(
      `INSERT INTO "SegmentChange" ("segmentId", "customerShopifyId", "joined", "at")
       SELECT m."segmentId", m."customerShopifyId", FALSE, $2::timestamp FROM "SegmentMember" m
        WHERE m."segmentId" = $1 AND NOT EXISTS (SELECT 1 FROM want w WHERE w.id = m."customerShopifyId")`,
      [segmentId, at],
    );
    if (left.rowCount)
      await client.query(
        `DELETE FROM "SegmentMember" WHERE "segmentId" = $1 AND "customerShopifyId" NOT IN (SELECT id FROM want)`,
        [segmentId],
      );
    await client.query(
      `INSERT INTO "SegmentChange" ("segmentId", "customerShopifyId", "joined", "at")
       SELECT $1, w.id, TRUE, $2::timestamp FROM want w
        WHERE NOT EXISTS (SELECT 1 FROM "SegmentMember" m WHERE m."segmentId" = $1 AND m."customerShopifyId" = w.id)`,
      [segmentId, at],
    );
    await client.query(
      `INSERT INTO "SegmentMember" ("segmentId", "customerShopifyId", "since")
       SELECT $1, w.id, $2::timestamp FROM want w
        WHERE NOT EXISTS (SELECT 1 FROM "SegmentMember" m WHERE m."segmentId" = $1 AND m."customerShopifyId" = w.id)`,
      [segmentId, at],
    );
    await client.query(`UPDATE "Segment" SET "size" = $2, "computedAt" = $3::timestamp WHERE "id" = $1`, [
      segmentId,
      size,
      at,
    ]);
    await client.query("COMMIT");
    return size;
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}

// ---- the benchmark ----------------------------------------------------------------------------------

export async function benchSegmentsPostgres(options: { customers?: number } = {}): Promise<Figure[]> {
  const customers = options.customers ?? Number(process.env.SLICE_BENCH_CUSTOMERS ?? 100_000);
  const deliveries = Number(process.env.SLICE_BENCH_DELIVERIES ?? 500);
  const reps = Number(process.env.SLICE_BENCH_REPS ?? 3);
  const scale = `${customers.toLocaleString("en")} customers`;
  const store = await bigStore({ customers, log });
  const server = await startPostgres();
  let db: PrismaClient | null = null;
  const client = new pg.Client({ connectionString: server.databaseUrl("segments") });
  try {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE segments`);
    await admin.end();
    const url = server.databaseUrl("segments");
    await migrate(url);
    await client.connect();
    let started = performance.now();
    const copied = await copyStore(store.file, client);
    const copyS = ms(started) / 1000;
    const rows = Object.values(copied).reduce((a, b) => a + b, 0);
    log(`copied ${rows.toLocaleString("en")} rows in ${copyS.toFixed(0)} s`);
    db = createPrismaClient(url);

    // As the app does when a backfill finishes: statistics for the planner, then the presets.
    started = performance.now();
    await refreshPlannerStatistics(db);
    const analyzeMs = ms(started);
    const shopId = store.shopId;
    const now = store.now;
    await ensurePresets(db, shopId);
    const { segments, rules, resolve } = await addCustomSegments(db, shopId);
    log(`${segments.length} segments`);

    // Each segment from empty memberships, `reps` rounds, the order of the two sides alternating
    // (app first in odd rounds, bare first in even ones); the median of each side.
    const timings: { handle: string; members: number; appMs: number; bareMs: number }[] = [];
    const empty = async (...ids: number[]) => {
      await client.query(`DELETE FROM "SegmentMember" WHERE "segmentId" = ANY($1::int[])`, [ids]);
      await client.query(`DELETE FROM "SegmentChange" WHERE "segmentId" = ANY($1::int[])`, [ids]);
      await client.query(`UPDATE "Segment" SET "size" = 0 WHERE "id" = ANY($1::int[])`, [ids]);
    };
    for (const segment of segments) {
      const query = compile(rules.get(segment.handle)!, "postgres", { now, shopId, resolve });
      const shadow = await db.segment.create({
        data: {
          shopId,
          handle: `hand-${segment.handle}`.slice(0, 64),
          name: "bench shadow",
          rule: JSON.stringify({ version: 1, match: { all: [] } }),
        },
      });
      // One bare run first, so that neither side pays for a cold cache.
      await client.query(query.sql, query.params);
      const appTimes: number[] = [];
      const bareTimes: number[] = [];
      let size = 0;
      for (let r = 0; r < reps; r++) {
        if (r > 0) await empty(segment.id, shadow.id);
        const runApp = async () => {
          const started = performance.now();
          const result = await recompute(db!, shopId, now, [segment.handle]);
          appTimes.push(ms(started));
          return result[segment.handle];
        };
        const runBare = async () => {
          const started = performance.now();
          const n = await bareWrite(client, shadow.id, query, now);
          bareTimes.push(ms(started));
          return n;
        };
        let app: { size: number; joined: number; left: number };
        if (r % 2 === 0) {
          app = await runApp();
          size = await runBare();
        } else {
          size = await runBare();
          app = await runApp();
        }
        const differing = (
          await client.query<{ n: number }>(
            `SELECT COUNT(*)::int AS n FROM (
               (SELECT "customerShopifyId" FROM "SegmentMember" WHERE "segmentId" = $1
                EXCEPT SELECT "customerShopifyId" FROM "SegmentMember" WHERE "segmentId" = $2)
               UNION ALL
               (SELECT "customerShopifyId" FROM "SegmentMember" WHERE "segmentId" = $2
                EXCEPT SELECT "customerShopifyId" FROM "SegmentMember" WHERE "segmentId" = $1)) d`,
            [segment.id, shadow.id],
          )
        ).rows[0].n;
        const changes = (
          await client.query<{ app: number; bare: number }>(
            `SELECT (SELECT COUNT(*)::int FROM "SegmentChange" WHERE "segmentId" = $1 AND "joined") AS app,
                    (SELECT COUNT(*)::int FROM "SegmentChange" WHERE "segmentId" = $2 AND "joined") AS bare`,
            [segment.id, shadow.id],
          )
        ).rows[0];
        if (
          differing ||
          app.size !== size ||
          app.joined !== size ||
          changes.app !== size ||
          changes.bare !== size
        )
          throw new Error(
            `recompute of "${segment.handle}" disagrees with the engine's SELECT: app ${app.size} members (${app.joined} joined, ` +
              `${changes.app} changes), bare ${size} (${changes.bare} changes), ${differing} differing`,
          );
      }
      if (!size) log(`warning: "${segment.handle}" has no members in this store`);
      const t = { handle: segment.handle, members: size, appMs: median(appTimes), bareMs: median(bareTimes) };
      timings.push(t);
      log(
        `${segment.handle}: ${size} members, recompute ${t.appMs.toFixed(0)} ms, bare SELECT + write ${t.bareMs.toFixed(0)} ms (median of ${reps})`,
      );
    }
    // Shadows out, so the latency run sees only the app's own segments.
    const shadows = `(SELECT id FROM "Segment" WHERE handle LIKE 'hand-%')`;
    await client.query(`DELETE FROM "SegmentMember" WHERE "segmentId" IN ${shadows}`);
    await client.query(`DELETE FROM "SegmentChange" WHERE "segmentId" IN ${shadows}`);
    await client.query(`DELETE FROM "Segment" WHERE handle LIKE 'hand-%'`);
    await client.query(`ANALYZE`);

    const appS = timings.reduce((s, t) => s + t.appMs, 0) / 1000;
    const bareS = timings.reduce((s, t) => s + t.bareMs, 0) / 1000;
    const figures: Figure[] = [
      { name: `customers (${scale})`, value: store.counts.customers, unit: "" },
      {
        name: `rows copied from the generated SQLite store (${Object.values(copied).filter(Boolean).length} tables with rows)`,
        value: rows,
        unit: "",
      },
      { name: "time to copy them into PostgreSQL", value: copyS, unit: "s" },
      { name: "planner statistics (refreshPlannerStatistics: ANALYZE)", value: analyzeMs, unit: "ms" },
      {
        name: `full recompute, ${timings.length} segments, ${scale}, median of ${reps}: recompute() vs the engine's SELECT + set-based write, bare on pg`,
        value: appS,
        unit: "s",
        aim: "≤ 1.2×",
        ok: appS <= 1.2 * bareS,
        baseline: bareS,
        ratio: appS / bareS,
      },
      ...timings.map((t) => ({
        name: `  ${t.handle} (${t.members.toLocaleString("en")} members)`,
        value: t.appMs,
        unit: "ms",
        baseline: t.bareMs,
        ratio: t.appMs / Math.max(t.bareMs, 0.001),
      })),
    ];

    const latency = await webhookLatency(db, postgresLatencyReads(client, store), store, deliveries);
    for (const f of latency)
      figures.push(
        f.name.startsWith("webhook → membership updated p50") ? { ...f, name: `${f.name}, ${scale}` } : f,
      );
    return figures;
  } finally {
    await client.end().catch(() => {});
    await db?.$disconnect();
    await closeHot(); // the app's prepared-SQL read pool, opened by the webhook path
    await server.stop();
  }
}
