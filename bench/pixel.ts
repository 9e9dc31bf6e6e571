/**
 * The web pixel's intake (POST /pixel, answered on server.ts's fast path): batches of four
 * standard events as the pixel sends them (text/plain JSON, a client id and its key), half from
 * browsers the app knows (their key from a first contact made before the load), half first
 * contacts; against a bare node:http server that reads the body, parses the JSON and answers
 * (bench/baseline-server.ts with BASELINE=pixel), measured in the same run with the same requests
 * and client.
 *
 * Figures: events per second as fast as 32 connections go (closed loop), and at 2,000 events/s
 * offered (500 batches/s, open loop, 20 s) the rate held and the time to answer, p50 and p99.
 * The app: the real built server (build/server.mjs, production mode) on a temporary SQLite file,
 * with one installed shop. No Admin API or backfill is needed: the endpoint reads only its tables.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureBuild } from "../dev/demo";
import { spawnTs } from "../dev/processes";
import { migrate } from "../prisma/migrate";
import { createPrismaClient } from "../app/db.server";
import { closedLoop, openLoop, type LoadResult } from "./load";
import type { Figure } from "./webhooks";

export const SHOP = "bench-pixel.myshopify.com";
const EVENTS_PER_BATCH = 4;

/**
 * A process's CPU time so far (user + system, ms), from /proc (Linux; null elsewhere): what the
 * server spends per batch, which the other work on a shared machine disturbs far less than the
 * time to answer.
 */
function cpuMsOf(pid: number | undefined): number | null {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return null;
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const fields = readFileSync(file, "utf8").split(") ")[1].split(" ");
  let ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  // A server started through tsx runs in tsx's child process: count the children too.
  const children = `/proc/${pid}/task/${pid}/children`;
  if (existsSync(children))
    for (const child of readFileSync(children, "utf8").split(" ").filter(Boolean))
      ms += cpuMsOf(Number(child)) ?? 0;
  return ms;
}

/** CPU ms per request that `run` makes `pid` spend. */
async function cpuPerRequest<T>(pid: number | undefined, count: number, run: () => Promise<T>) {
  const before = cpuMsOf(pid);
  const result = await run();
  const after = cpuMsOf(pid);
  return { result, cpu: before === null || after === null ? undefined : (after - before) / count };
}

export interface PixelBenchOptions {
  /** Events per second offered in the open loop, and for how long. */
  eventsPerSecond?: number;
  seconds?: number;
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uuid = (random: () => number) =>
  Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16))
    .join("")
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");

/** One pixel batch: a page view, a product view, an add to cart and a search. */
export function batchBody(clientId: string, key: string | undefined, i: number): string {
  const at = new Date().toISOString();
  const product = String(7_000_000 + (i % 500));
  return JSON.stringify({
    shop: SHOP,
    clientId,
    ...(key ? { key } : {}),
    consent: { analytics: true },
    sentAt: at,
    events: [
      { name: "page_viewed", at, path: `/products/p-${product}` },
      { name: "product_viewed", at, productId: product },
      { name: "product_added_to_cart", at, productId: product },
      { name: "search_submitted", at, query: `linen ${i % 37}` },
    ],
  });
}

function requests(
  origin: string,
  known: { clientId: string; key: string }[],
  count: number,
  random: () => number,
): [string, RequestInit][] {
  return Array.from({ length: count }, (_, i) => {
    const returning = i % 2 === 0 && known.length;
    const who = returning ? known[(i >> 1) % known.length] : { clientId: uuid(random), key: undefined };
    return [
      `${origin}/pixel`,
      {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body: batchBody(who.clientId, who.key, i),
      },
    ];
  });
}

/** First contacts for `count` browsers: their client ids and the keys the endpoint gave them. */
async function knownBrowsers(origin: string, count: number, random: () => number) {
  const known: { clientId: string; key: string }[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = uuid(random);
    const response = await fetch(`${origin}/pixel`, {
      method: "POST",
      headers: { "content-type": "text/plain;charset=UTF-8" },
      body: batchBody(clientId, undefined, i),
    });
    const answer = (await response.json()) as { key?: string };
    if (!response.ok || !answer.key) throw new Error(`pixel first contact: ${response.status}`);
    known.push({ clientId, key: answer.key });
  }
  return known;
}

export async function benchPixel(options: PixelBenchOptions = {}): Promise<Figure[]> {
  const eventsPerSecond = options.eventsPerSecond ?? 2000;
  const seconds = options.seconds ?? 20;
  const batchesPerSecond = eventsPerSecond / EVENTS_PER_BATCH;
  const log = (line: string) => console.error(`[pixel] ${line}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-bench-pixel-"));
  const databaseUrl = `file:${path.join(dir, "bench.sqlite")}`;
  await migrate(databaseUrl);
  ensureBuild(() => {});
  const db = createPrismaClient(databaseUrl);
  await db.shop.create({ data: { domain: SHOP, backfillStatus: "done" } });
  await db.$disconnect();

  const app = await spawnTs(
    "build/server.mjs",
    {
      DATABASE_URL: databaseUrl,
      NODE_ENV: "production",
      PORT: "0",
      SHOPIFY_API_KEY: "slice-bench",
      SHOPIFY_API_SECRET: "slice-bench-secret",
      SHOPIFY_APP_URL: "http://127.0.0.1:3000",
      SLICE_WORKER: "1",
    },
    /listening on (http:\/\/[\d.:]+)/,
  );
  const baseline = await spawnTs(
    "bench/baseline-server.ts",
    { PORT: "0", BASELINE: "pixel" },
    /listening (\d+)/,
  );
  const baseOrigin = `http://127.0.0.1:${baseline.url}`;
  try {
    const random = seeded(14);
    log("first contacts of 600 browsers…");
    const known = await knownBrowsers(app.url, 600, random);
    const closedCount = 4000;
    const offered = Math.round(batchesPerSecond * seconds);

    log(`closed loop: ${closedCount} batches, 32 at once, baseline then app…`);
    const { result: baseClosed, cpu: baseCpu } = await cpuPerRequest(baseline.child.pid, closedCount, () =>
      closedLoop(requests(baseOrigin, known, closedCount, seeded(1)), 32),
    );
    const { result: appClosed, cpu: appCpu } = await cpuPerRequest(app.child.pid, closedCount, () =>
      closedLoop(requests(app.url, known.slice(0, 300), closedCount, seeded(1)), 32),
    );

    log(
      `open loop: ${eventsPerSecond} events/s (${batchesPerSecond} batches/s) for ${seconds} s, after 5 s of warm-up…`,
    );
    const warmup = Math.round(batchesPerSecond * 5);
    await openLoop(requests(baseOrigin, known, warmup, seeded(3)), batchesPerSecond);
    await openLoop(requests(app.url, known.slice(300), warmup, seeded(3)), batchesPerSecond);
    const baseOpen = await openLoop(requests(baseOrigin, known, offered, seeded(2)), batchesPerSecond);
    const appOpen: LoadResult = await openLoop(
      requests(app.url, known.slice(300), offered, seeded(2)),
      batchesPerSecond,
    );
    const events = (r: LoadResult) => r.perSecond * EVENTS_PER_BATCH;
    return [
      {
        name: "pixel events stored per second (batches of 4, 32 at once)",
        value: events(appClosed),
        unit: "/s",
        aim: "≥ 2,000/s",
        ok: events(appClosed) >= 2000,
        baseline: events(baseClosed),
        ratio: events(appClosed) / events(baseClosed),
      },
      ...(appCpu === undefined
        ? []
        : [
            {
              name: "server CPU per batch of 4 (closed loop; user + system)",
              value: appCpu,
              unit: "ms",
              aim: "< 2 ms (2,000 events/s in half a core)",
              ok: appCpu < 2,
              baseline: baseCpu,
              ratio: baseCpu ? appCpu / baseCpu : undefined,
            },
          ]),
      {
        name: `pixel events held at ${eventsPerSecond}/s offered`,
        value: events(appOpen),
        unit: "/s",
        aim: `≥ ${Math.round(eventsPerSecond * 0.95)}/s`,
        ok: events(appOpen) >= eventsPerSecond * 0.95,
        baseline: events(baseOpen),
        ratio: events(appOpen) / events(baseOpen),
      },
      {
        name: `pixel batch answered at ${eventsPerSecond} events/s, p50`,
        value: appOpen.p50,
        unit: "ms",
        baseline: baseOpen.p50,
        ratio: appOpen.p50 / baseOpen.p50,
      },
      {
        name: `pixel batch answered at ${eventsPerSecond} events/s, p99`,
        value: appOpen.p99,
        unit: "ms",
        aim: "< 20 ms",
        ok: appOpen.p99 < 20,
        baseline: baseOpen.p99,
        ratio: appOpen.p99 / baseOpen.p99,
      },
      {
        name: "pixel batches answered other than 200 (open loop)",
        value: appOpen.failed,
        unit: "",
        aim: "0",
        ok: appOpen.failed === 0,
        baseline: baseOpen.failed,
      },
    ];
  } finally {
    await baseline.stop();
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
