/**
 * Webhooks on PostgreSQL, the database for a large shop: intake through the real server (the same
 * measurement as the SQLite section, bench/webhooks.ts), then the sustained apply rate of the
 * inbox with one worker process and with four sharing it (`npm run worker`, the built app's
 * background work without HTTP; claims with FOR UPDATE SKIP LOCKED), from a full inbox, end to
 * end (the apply, its segment membership update, the done mark). One worker is the baseline.
 */
import pg from "pg";
import { migrate } from "../prisma/migrate";
import { createPrismaClient } from "../app/db.server";
import { insertDeliveries } from "../app/sync/intake.server";
import { generateStore } from "../dev/store";
import { deliveryPlan } from "../dev/webhooks";
import { startPostgres, type RunningPostgres } from "../dev/postgres";
import { deliveriesOf, differingLines, heldPicture, storePicture } from "../dev/testing/compare";
import { spawnTs } from "../dev/processes";
import { benchWebhooks, type Figure } from "./webhooks";
import { snapshotBuild } from "./build-snapshot";

async function freshDatabase(server: RunningPostgres, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = server.databaseUrl(name);
  await migrate(url);
  return url;
}

export interface ApplyRun {
  workers: number;
  events: number;
  perSecond: number;
  differing: number;
  notDone: number;
}

/** Fills a fresh inbox with a store's history, then lets `workers` processes apply it. */
export async function applyRate(
  server: RunningPostgres,
  workers: number,
  customers: number,
  buildDir?: string,
): Promise<ApplyRun> {
  const url = await freshDatabase(server, `apply_${workers}`);
  const store = generateStore({ customers, seed: 12, shop: `apply-${workers}.myshopify.com` });
  const plan = deliveryPlan(store.events, { duplicates: 0.1, reorder: 0.1, seed: 4 });
  const db = createPrismaClient(url);
  // The workers start first (loading the app takes a few seconds of CPU), on an inbox whose
  // events are not due yet; then all of them come due in one statement.
  const running = await Promise.all(
    Array.from({ length: workers }, () =>
      spawnTs(
        "build/server.mjs",
        {
          DATABASE_URL: url,
          NODE_ENV: "production",
          SLICE_WORKERS: "1",
          SHOPIFY_API_KEY: "bench-key",
          SHOPIFY_API_SECRET: "bench-secret",
        },
        /(Slice worker is running)/,
        ["--worker"],
        buildDir,
      ),
    ),
  );
  const later = new Date(Date.now() + 86_400_000);
  for (let i = 0; i < plan.length; i += 250)
    await insertDeliveries(db, deliveriesOf(plan.slice(i, i + 250)), later);
  const events = await db.webhookEvent.count();
  await db.webhookEvent.updateMany({ data: { nextAttemptAt: new Date() } });
  // Sampled every 100 ms. The rate runs from the first sample with events applied to the first
  // with nothing left to claim: what is then left is a few events waiting out a retry's backoff
  // (a refund that arrived before its order), which measures the backoff, not the workers.
  let first: { at: number; done: number } | null = null;
  let last = { at: 0, done: 0 };
  let drained = false;
  const deadline = Date.now() + 15 * 60_000;
  while (Date.now() < deadline) {
    const counts = await db.webhookEvent.groupBy({ by: ["status"], _count: { _all: true } });
    const count = (...statuses: string[]) =>
      counts.filter((c) => statuses.includes(c.status)).reduce((n, c) => n + c._count._all, 0);
    const done = count("done", "dead");
    const at = performance.now();
    if (done > 0 && !first) first = { at, done };
    if (!drained) last = { at, done };
    if (first && count("pending", "processing") === 0) drained = true;
    if (done >= events) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await Promise.all(running.map((w) => w.stop()));
  const notDone = await db.webhookEvent.count({ where: { status: { not: "done" } } });
  const options = { checkouts: "all" as const, carts: true, products: false };
  const held = await heldPicture(db, store.shop.domain, options);
  const truth = storePicture(store, options);
  const differing = differingLines(held, truth);
  await db.$disconnect();
  const seconds = first ? (last.at - first.at) / 1000 : 0;
  return {
    workers,
    events,
    perSecond: first && seconds > 0 ? (last.done - first.done) / seconds : 0,
    differing,
    notDone,
  };
}

export async function benchWebhooksPostgres(options: { customers?: number } = {}): Promise<Figure[]> {
  const build = snapshotBuild();
  const server = await startPostgres();
  try {
    const intake = await benchWebhooks({
      databaseUrl: await freshDatabase(server, "intake"),
      buildDir: build.dir,
    });
    const customers = options.customers ?? 150;
    const one = await applyRate(server, 1, customers, build.dir);
    const four = await applyRate(server, 4, customers, build.dir);
    return [
      ...intake,
      {
        name: `webhooks applied per second, 1 worker process (full inbox, ${one.events} events)`,
        value: one.perSecond,
        unit: "/s",
      },
      {
        name: `webhooks applied per second, 4 worker processes sharing the inbox (${four.events} events)`,
        value: four.perSecond,
        unit: "/s",
        aim: "> 1 worker",
        ok: four.perSecond > one.perSecond,
        baseline: one.perSecond,
        ratio: four.perSecond / Math.max(one.perSecond, 0.001),
      },
      {
        name: "events not done / records differing from the store, 4 workers",
        value: four.notDone + four.differing,
        unit: "",
        aim: "0",
        ok: four.notDone + four.differing === 0 && one.notDone + one.differing === 0,
      },
    ];
  } finally {
    await server.stop();
    build.remove();
  }
}
