/**
 * Webhook intake: how many signed webhooks per second the real server acknowledges, and how
 * fast, over loopback, against a bare node:http server doing only the HMAC check (the baseline,
 * measured in the same run). Then: do 10% duplicates and 10% out-of-order deliveries leave the
 * copy exactly equal to the store, with nothing lost and nothing applied twice?
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrate } from "../prisma/migrate";
import { createPrismaClient } from "../app/db.server";
import { generateStore } from "../dev/store";
import { deliveryPlan } from "../dev/webhooks";
import { ensureBuild } from "../dev/demo";
import { differingLines, heldPicture, storePicture } from "../dev/testing/compare";
import { closedLoop, openLoop, signAll, type LoadResult } from "./load";
import { spawnTs } from "../dev/processes";

const SECRET = "bench-secret";

export interface Figure {
  name: string;
  value: number;
  unit: string;
  aim?: string;
  ok?: boolean;
  baseline?: number;
  ratio?: number;
}

export async function benchWebhooks(
  options: {
    customers?: number;
    rate?: number;
    databaseUrl?: string;
    /** A directory holding a snapshot of the build (bench/build-snapshot.ts); default: build it here. */
    buildDir?: string;
  } = {},
): Promise<Figure[]> {
  if (!options.buildDir) ensureBuild();
  const store = generateStore({
    customers: options.customers ?? 1200,
    seed: 11,
    shop: "bench.myshopify.com",
  });
  const plan = deliveryPlan(store.events, { duplicates: 0.1, reorder: 0.1, seed: 3 });
  const rate = options.rate ?? 1000;

  // Baseline: the same requests, the same client, a server that only checks the signature.
  const baseline = await spawnTs(
    "bench/baseline-server.ts",
    { SHOPIFY_API_SECRET: SECRET, PORT: "0" },
    /listening (\d+)/,
  );
  const baseUrl = `http://127.0.0.1:${baseline.url}/webhooks`;
  await openLoop(signAll(baseUrl, plan.slice(0, 2 * rate), SECRET), rate); // warm-up, as for Slice
  const baseClosed = await closedLoop(signAll(baseUrl, plan, SECRET), 32);
  const baseOpen = await openLoop(signAll(baseUrl, plan, SECRET), rate);
  await baseline.stop();

  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-bench-"));
  const databaseUrl = options.databaseUrl ?? `file:${path.join(dir, "bench.sqlite")}`;
  await migrate(databaseUrl);
  const app = await spawnTs(
    "build/server.mjs",
    {
      DATABASE_URL: databaseUrl,
      SHOPIFY_API_KEY: "bench-key",
      SHOPIFY_API_SECRET: SECRET,
      PORT: "0",
      NODE_ENV: "production",
      SLICE_WORKER: "1",
    },
    /listening on (http:\/\/[\d.:]+)/,
    [],
    options.buildDir,
  );
  const url = `${app.url}/webhooks`;
  const db = createPrismaClient(databaseUrl);
  let open: LoadResult;
  let closed: LoadResult;
  let drainSeconds = 0;
  try {
    // Warm up (JIT, the client's connection pool) with 2 s of another shop's webhooks at the same
    // rate; what follows is the steady state. (A cold server's first second is slower: see notes.)
    const warmup = generateStore({ customers: 200, seed: 99, shop: "warmup.myshopify.com" });
    await openLoop(signAll(url, warmup.events.slice(0, 2 * rate), SECRET), rate);
    // Open loop first, at the rate the aim names: Shopify sends at its pace, not ours.
    open = await openLoop(signAll(url, plan, SECRET), rate);
    // Then the same history again (all duplicates now) as fast as the server answers.
    closed = await closedLoop(signAll(url, plan, SECRET), 32);
    const started = performance.now();
    while ((await db.webhookEvent.count({ where: { status: { in: ["pending", "processing"] } } })) > 0)
      await new Promise((r) => setTimeout(r, 200));
    drainSeconds = (performance.now() - started) / 1000;
  } finally {
    await app.stop();
  }
  const uniqueEvents = new Set(store.events.map((e) => e.eventId)).size;
  const mine = { shopDomain: store.shop.domain };
  const rows = await db.webhookEvent.count({ where: mine });
  const notDone = await db.webhookEvent.count({ where: { ...mine, status: { not: "done" } } });
  const options2 = { checkouts: "all" as const, carts: true, products: false };
  const held = await heldPicture(db, store.shop.domain, options2);
  const truth = storePicture(store, options2);
  const differing = differingLines(held, truth);
  await db.$disconnect();
  rmSync(dir, { recursive: true, force: true });

  return [
    {
      name: "webhooks acknowledged per second (closed loop, 32 at once)",
      value: closed.perSecond,
      unit: "/s",
      aim: "≥ 1000",
      ok: closed.perSecond >= 1000,
      baseline: baseClosed.perSecond,
      ratio: closed.perSecond / baseClosed.perSecond,
    },
    {
      name: `time to acknowledge p50 at ${rate}/s offered`,
      value: open.p50,
      unit: "ms",
      baseline: baseOpen.p50,
      ratio: open.p50 / Math.max(baseOpen.p50, 0.001),
    },
    {
      name: `time to acknowledge p99 at ${rate}/s offered`,
      value: open.p99,
      unit: "ms",
      aim: "< 50",
      ok: open.p99 < 50,
      baseline: baseOpen.p99,
      ratio: open.p99 / Math.max(baseOpen.p99, 0.001),
    },
    {
      name: `rate held at ${rate}/s offered`,
      value: open.perSecond,
      unit: "/s",
      aim: `≥ ${rate * 0.95}`,
      ok: open.perSecond >= rate * 0.95 && open.failed === 0,
    },
    {
      name: "webhooks applied per second by the worker (after intake)",
      value: uniqueEvents / Math.max(drainSeconds + open.seconds + closed.seconds, 0.001),
      unit: "/s",
    },
    {
      name: `events lost (of ${uniqueEvents}, 10% sent twice, 10% reordered)`,
      value: uniqueEvents - rows + notDone,
      unit: "",
      aim: "0",
      ok: uniqueEvents - rows + notDone === 0,
    },
    {
      name: "records differing from the store (lost or applied twice)",
      value: differing,
      unit: "",
      aim: "0",
      ok: differing === 0,
    },
  ];
}
