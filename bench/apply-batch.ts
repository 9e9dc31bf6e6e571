/**
 * In-process figure for the inbox worker's apply: a store's webhook history (10% duplicates, 10%
 * out of order) is put in a fresh inbox, then one InboxWorker drains it, once applying every event
 * alone (`perEvent`, the path before batches: the baseline) and once in batches. Prints events
 * applied per second, the CPU time of this process per event (the worker's; on PostgreSQL the
 * server's own CPU is not in it), and whether the copy ends equal to the store.
 *
 *   npx tsx bench/apply-batch.ts [sqlite|postgres] [customers=2000] [batch size=the worker's default] [modes=per-event,batched]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { migrate } from "../prisma/migrate";
import { createPrismaClient } from "../app/db.server";
import { closeHot } from "../app/db-hot.server";
import { InboxWorker } from "../app/sync/worker.server";
import { insertDeliveries } from "../app/sync/intake.server";
import { generateStore } from "../dev/store";
import { deliveryPlan } from "../dev/webhooks";
import { startPostgres, type RunningPostgres } from "../dev/postgres";
import { deliveriesOf, differingLines, heldPicture, storePicture } from "../dev/testing/compare";

const dialect = process.argv[2] === "postgres" ? "postgres" : "sqlite";
const customers = Number(process.argv[3] ?? 2000);
const batchSize = process.argv[4] ? Number(process.argv[4]) : undefined;
const modes = (process.argv[5] ?? "per-event,batched").split(",") as ("per-event" | "batched")[];

async function freshUrl(name: string, server: RunningPostgres | null): Promise<string> {
  if (!server) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "slice-apply-"));
    const url = `file:${path.join(dir, "bench.sqlite")}`;
    await migrate(url);
    return url;
  }
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = server.databaseUrl(name);
  await migrate(url);
  return url;
}

async function run(mode: "per-event" | "batched", server: RunningPostgres | null) {
  const url = await freshUrl(`apply_${mode.replace("-", "_")}`, server);
  const store = generateStore({ customers, seed: 12, shop: "apply.myshopify.com" });
  const plan = deliveryPlan(store.events, { duplicates: 0.1, reorder: 0.1, seed: 4 });
  const db = createPrismaClient(url);
  const deliveries = deliveriesOf(plan);
  for (let i = 0; i < deliveries.length; i += 500) await insertDeliveries(db, deliveries.slice(i, i + 500));
  const worker = new InboxWorker(db, {
    perEvent: mode === "per-event",
    batchSize,
    now: () => new Date("2031-01-01T00:00:00Z"),
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  const applied = await worker.drain();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const options = { checkouts: "all" as const, carts: true, products: false };
  const differing = differingLines(
    await heldPicture(db, store.shop.domain, options),
    storePicture(store, options),
  );
  const notDone = await db.webhookEvent.count({ where: { status: { not: "done" } } });
  await closeHot();
  await db.$disconnect();
  if (!server) rmSync(path.dirname(url.slice("file:".length)), { recursive: true, force: true });
  return {
    mode,
    events: applied,
    perSecond: Math.round(applied / seconds),
    cpuMsPerEvent: +((used.user + used.system) / 1000 / applied).toFixed(3),
    differing,
    notDone,
  };
}

const server = dialect === "postgres" ? await startPostgres() : null;
try {
  for (const mode of modes)
    console.log(dialect, customers, batchSize ?? "", JSON.stringify(await run(mode, server)));
} finally {
  await server?.stop();
}
