/**
 * The storefront, as a shopper's page meets it:
 *
 * 1. The decision endpoint (GET /apps/slice/decide, answered on server.ts's fast path): latency
 *    under an open-loop 500 requests/s of signed decide URLs over loopback with keep-alive, a mix
 *    of new visitors, stored visitors (with events sent through the real /proxy/events) and
 *    logged-in customers; against a bare node:http server that only checks the app proxy
 *    signature and answers `{"message":null}` (bench/baseline-server.ts, measured in the same run).
 * 2. Lighthouse (performance only, mobile preset: Lighthouse's default, and what Shopify's own
 *    speed score uses) on the demo storefront's product page with the app embed and without it
 *    (`?slice=off`), three runs each, medians.
 * 3. The size of the theme scripts, raw and gzipped: slice.js, which every page loads (at most
 *    4 KB), and slice-draw.js, loaded only when there is a message (Shopify's theme check refuses
 *    an app script of 10 kB).
 *
 * The app: the real built server (build/server.mjs, production mode, background work on) in its
 * own process on a temporary SQLite file, with a generated store of 2000 customers backfilled from
 * the Admin API stand-in, its three starter messages switched on, and the demo storefront
 * (dev/storefront.ts) in front of it. About four minutes, most of it the backfill and the load.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { signAppProxyQuery } from "../dev/app-proxy";
import { AdminApiStandIn } from "../dev/admin-api";
import { DEMO_SECRET, DEMO_TOKEN, ensureBuild } from "../dev/demo";
import { generateStore } from "../dev/store";
import { replayLines } from "../dev/webhooks";
import { migrate } from "../prisma/migrate";
import { serverNodeOptions, spawnTs } from "../dev/processes";
import { waitForCodePools } from "../dev/testing/pools";
import { startPostgres, type RunningPostgres } from "../dev/postgres";
import pg from "pg";
import type { Store } from "../dev/store";
import { createPrismaClient } from "../app/db.server";
import { percentile, type LoadResult } from "./load";
import { openLoopOnThread as openLoop } from "./load-thread";
import { FIRST_LOAD_BUDGET } from "../dev/extension-build";
import type { Figure } from "./webhooks";
import { postgresCpuMs, postmasterOf, processTreeCpuMs } from "./cpu";

const SCRIPTS = {
  first: "extensions/slice-storefront/assets/slice.js",
  draw: "extensions/slice-storefront/assets/slice-draw.js",
};
const PATH_PREFIX = "/apps/slice";
/** Stored visitors with a cart hold one of the first this many of the store's carts. */
const CARTS = 100;

export interface StorefrontBenchOptions {
  customers?: number;
  /** Decide requests per second offered, and for how long. */
  rate?: number;
  seconds?: number;
  /** Lighthouse runs per variant (the median is reported); 0 skips Lighthouse and the script's size. */
  lighthouseRuns?: number;
  /** The app's database: SQLite (the default) or PostgreSQL (an embedded server for the run). */
  database?: "sqlite" | "postgres";
}

/** A random id in the script's alphabet, as slice.js makes one for a new browser. */
function visitorId(random: () => number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  return Array.from({ length: 22 }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The query Shopify's proxy forwards: the script's parameters, then shop, customer, prefix, time, signature. */
function signedQuery(shop: string, params: Record<string, string>, customerId: string | null): string {
  const query = new URLSearchParams(params);
  query.set("shop", shop);
  query.set("logged_in_customer_id", customerId ?? "");
  query.set("path_prefix", PATH_PREFIX);
  query.set("timestamp", String(Math.floor(Date.now() / 1000)));
  query.set("signature", signAppProxyQuery(query, DEMO_SECRET));
  return query.toString();
}

interface Asker {
  visitor: string;
  customerId: string | null;
}

/**
 * Who asks, in the proportions of a shop's traffic: 80% anonymous (half of them browsers the app
 * has never stored, half stored visitors with events), 20% logged-in customers (a quarter of those
 * from the top spenders, the referral invite's audience), some on their own stored browser.
 */
export function audience(
  store: Store,
  stored: string[],
  customerVisitors: Map<string, string>,
  count: number,
) {
  const random = seeded(7);
  const spend = new Map<string, number>();
  for (const o of store.orders)
    if (o.customerId && !o.cancelledAt) spend.set(o.customerId, (spend.get(o.customerId) ?? 0) + o.total);
  const bySpend = [...store.customers].sort((a, b) => (spend.get(b.id) ?? 0) - (spend.get(a.id) ?? 0));
  const top = bySpend.slice(0, Math.max(1, Math.floor(bySpend.length / 10)));
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const askers: Asker[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.4) askers.push({ visitor: visitorId(random), customerId: null });
    else if (r < 0.8) askers.push({ visitor: pick(stored), customerId: null });
    else {
      const customer = random() < 0.25 ? pick(top) : pick(store.customers);
      askers.push({
        visitor: customerVisitors.get(customer.id) ?? visitorId(random),
        customerId: customer.id,
      });
    }
  }
  return askers;
}

/** Signed decide URLs for `askers` on a random page of the shop, signed now (the app allows 5 minutes' skew). */
export function decideRequests(origin: string, store: Store, askers: Asker[], messageIds: number[]) {
  const random = seeded(13);
  return askers.map((asker): [string, RequestInit] => {
    const r = random();
    const product = store.products[Math.floor(random() * store.products.length)];
    const collection = store.collections[Math.floor(random() * store.collections.length)];
    const [page, pagePath] =
      r < 0.2
        ? ["index", "/"]
        : r < 0.6
          ? ["product", `/products/${product.handle}`]
          : r < 0.85
            ? ["collection", `/collections/${collection.handle}`]
            : ["cart", "/cart"];
    // Later pages of a session carry what was already shown in it.
    const shown = random() < 0.3 && messageIds.length ? String(messageIds[0]) : "";
    const query = signedQuery(
      store.shop.domain,
      { visitor: asker.visitor, page, path: pagePath, shown, consent: "1" },
      asker.customerId,
    );
    return [`${origin}/proxy/decide?${query}`, { method: "GET" }];
  });
}

/**
 * Visitors with history, through the real events endpoint as slice.js sends it: sessions, page
 * and product views, some with a cart (a token of the store's carts), some shown or having
 * dismissed a message, some signed in as a customer (which links the browser to them).
 */
export async function storeVisitors(
  appOrigin: string,
  store: Store,
  count: number,
  messageIds: number[],
): Promise<{ stored: string[]; customerVisitors: Map<string, string> }> {
  const random = seeded(5);
  const stored: string[] = [];
  const customerVisitors = new Map<string, string>();
  const now = Date.now();
  const ago = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
  for (let i = 0; i < count; i++) {
    const visitor = visitorId(random);
    const customer = random() < 0.15 ? store.customers[Math.floor(random() * store.customers.length)] : null;
    const product = store.products[Math.floor(random() * store.products.length)];
    const events: { type: string; at: string; resourceId?: string }[] = [
      { type: "session_start", at: ago(3 * 24 * 60 + i) },
      { type: "page_view", at: ago(3 * 24 * 60 + i), resourceId: "/" },
      { type: "session_start", at: ago(60 + (i % 50)) },
      { type: "product_view", at: ago(59), resourceId: product.id },
      { type: "page_view", at: ago(59), resourceId: `/products/${product.handle}` },
    ];
    if (random() < 0.2 && messageIds.length)
      events.push({ type: "message_shown", at: ago(58), resourceId: String(messageIds[0]) });
    if (random() < 0.1 && messageIds.length)
      events.push({ type: "message_dismissed", at: ago(57), resourceId: String(messageIds[0]) });
    const cart =
      random() < 0.2 && store.carts.length ? store.carts[i % Math.min(CARTS, store.carts.length)] : null;
    if (cart) events.push({ type: "cart_update", at: ago(56) });
    const body = JSON.stringify({
      visitorId: visitor,
      consent: { analytics: true },
      context: { landingPage: "/", deviceType: random() < 0.6 ? "mobile" : "desktop" },
      ...(cart ? { cartToken: `${cart.token}?key=bench` } : {}),
      events,
    });
    const query = signedQuery(store.shop.domain, {}, customer?.id ?? null);
    const response = await fetch(`${appOrigin}/proxy/events?${query}`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body,
    });
    if (!response.ok) throw new Error(`events: ${response.status} ${await response.text()}`);
    if (customer) customerVisitors.set(customer.id, visitor);
    else stored.push(visitor);
  }
  return { stored, customerVisitors };
}

export async function waitFor(what: string, check: () => Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`storefront bench: ${what} did not happen in ${seconds} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface LighthouseRun {
  score: number;
  cls: number;
  tbt: number;
  lcp: number;
}

/**
 * Lighthouse's Node API on the Chromium that @sparticuz/chromium ships (the flags dev/browser.ts
 * uses), launched once by chrome-launcher; each run opens its own tab with storage cleared, so
 * every run is a first-time visitor. The two variants alternate, so drift hits both alike.
 */
async function lighthouseRuns(urls: Record<"with" | "without", string>, runs: number) {
  const { default: lighthouse } = await import("lighthouse");
  const chromeLauncher = await import("chrome-launcher");
  const { default: chromium } = await import("@sparticuz/chromium");
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.SLICE_CHROMIUM || (await chromium.executablePath()),
    chromeFlags: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-zygote",
      "--use-gl=angle",
      "--use-angle=swiftshader",
      "--font-render-hinting=none",
      "--disable-background-networking",
      "--disable-component-update",
    ],
  });
  const results: Record<"with" | "without", LighthouseRun[]> = { with: [], without: [] };
  try {
    for (let i = 0; i < runs; i++)
      for (const variant of i % 2 ? (["without", "with"] as const) : (["with", "without"] as const)) {
        const result = await lighthouse(urls[variant], {
          port: chrome.port,
          onlyCategories: ["performance"],
          output: "json",
          logLevel: "error",
        });
        const lhr = result?.lhr;
        if (!lhr || lhr.runtimeError)
          throw new Error(`lighthouse: ${lhr?.runtimeError?.message ?? "no result"}`);
        results[variant].push({
          score: (lhr.categories.performance.score ?? 0) * 100,
          cls: lhr.audits["cumulative-layout-shift"].numericValue ?? NaN,
          tbt: lhr.audits["total-blocking-time"].numericValue ?? NaN,
          lcp: lhr.audits["largest-contentful-paint"].numericValue ?? NaN,
        });
      }
  } finally {
    chrome.kill();
  }
  return results;
}

function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/**
 * The demo's setup (dev/demo.ts `startDemo`) without its full webhook replay, whose 27,000
 * deliveries would take the worker minutes to apply and add nothing the backfill does not bring
 * (the backfill reads customers, orders and checkouts from the Admin API stand-in): only the
 * webhooks of the carts that the stored visitors hold are sent (carts come from webhooks alone).
 * The real built server in its own process, as `npm start` runs it, in production mode.
 */
export async function startApp(databaseUrl: string, customers: number, probeFile?: string) {
  const store = generateStore({ customers, seed: 21 });
  const standIn = new AdminApiStandIn({ store, bulkDelayMs: 300, restoreRate: 1000 });
  await standIn.start();
  await migrate(databaseUrl);
  ensureBuild(() => {});
  const server = await spawnTs(
    "build/server.mjs",
    {
      DATABASE_URL: databaseUrl,
      NODE_ENV: "production",
      PORT: "0",
      SHOPIFY_API_KEY: "slice-demo",
      SHOPIFY_API_SECRET: DEMO_SECRET,
      SHOPIFY_APP_URL: "http://127.0.0.1:3000",
      SLICE_ADMIN_API_ORIGIN: standIn.origin,
      SLICE_WORKER: "1",
      // The stall probe: the server's event-loop delay and GC pauses, a line a second (loop-probe.mjs).
      ...(probeFile
        ? {
            // node's options as `npm start` gives them (V8's young generation), then
            // SLICE_BENCH_APP_NODE_OPTIONS (to try others: the later flag wins).
            NODE_OPTIONS: [
              `--import ${path.resolve("bench/loop-probe.mjs")}`,
              ...serverNodeOptions(),
              process.env.SLICE_BENCH_APP_NODE_OPTIONS ?? "",
            ].join(" "),
            SLICE_PROBE_FILE: probeFile,
            // SLICE_BENCH_APP_PROFILE=<file>: a CPU profile of the app during the measured load.
            ...(process.env.SLICE_BENCH_APP_PROFILE
              ? { SLICE_PROBE_PROFILE: path.resolve(process.env.SLICE_BENCH_APP_PROFILE) }
              : {}),
          }
        : {}),
    },
    /listening on (http:\/\/[\d.:]+)/,
  );
  // "Install": an offline session as OAuth would leave it, and the shop (its backfill then runs).
  const db = createPrismaClient(databaseUrl);
  const shop = store.shop.domain;
  await db.session.create({
    data: {
      id: `offline_${shop}`,
      shop,
      state: "bench",
      isOnline: false,
      scope: "read_customers,read_orders",
      accessToken: DEMO_TOKEN,
    },
  });
  await db.shop.create({ data: { domain: shop } });
  await db.$disconnect();
  const tokens = new Set(store.carts.slice(0, CARTS).map((c) => c.token));
  const cartLines = store.events.filter(
    (e) => e.topic.startsWith("carts/") && tokens.has((e.payload as { token?: string }).token ?? ""),
  );
  const replay = await replayLines(cartLines, { url: `${server.url}/webhooks`, secret: DEMO_SECRET });
  if (replay.accepted !== cartLines.length)
    throw new Error(`carts: ${replay.accepted} of ${cartLines.length} webhooks accepted`);
  // (".js": dev/storefront/ holds its templates, and a bare "./storefront" would find the folder.)
  const { startStorefront } = await import("../dev/storefront.js");
  const storefront = await startStorefront({ store, appOrigin: server.url, secret: DEMO_SECRET, port: 0 });
  return {
    url: server.url,
    /** The app server's process (its CPU is the app's side of a decision). */
    pid: server.child.pid!,
    storefrontUrl: storefront.url,
    store,
    async stop() {
      await storefront.close();
      await server.stop();
      await standIn.stop();
    },
  };
}

/**
 * What loop-probe.mjs saw on the server's main thread between `from` and `to` (epoch ms): the worst
 * event-loop delay, the worst second's delay p99, and the garbage collections' pauses.
 */
function probeSummary(file: string, pid: number, from: number, to: number) {
  interface Line {
    t: number;
    pid: number;
    thread: string;
    delayMaxMs: number;
    delayP99Ms: number;
    gcCount: number;
    gcMs: number;
    gcMaxMs: number;
    gcMajorMs: number;
  }
  let lines: Line[] = [];
  try {
    lines = readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line)
      // Each line covers the second before it.
      .filter((l) => l.pid === pid && l.thread === "main" && l.t > from && l.t <= to + 1000);
  } catch {
    // No probe output (the server could not load it): the figures are zero.
  }
  return {
    seconds: lines.length,
    delayMaxMs: Math.max(0, ...lines.map((l) => l.delayMaxMs)),
    delayP99Ms: Math.max(0, ...lines.map((l) => l.delayP99Ms)),
    gcCount: lines.reduce((n, l) => n + l.gcCount, 0),
    gcMs: lines.reduce((n, l) => n + l.gcMs, 0),
    gcMaxMs: Math.max(0, ...lines.map((l) => l.gcMaxMs)),
    majorCount: lines.filter((l) => l.gcMajorMs > 0).length,
  };
}

export async function benchStorefront(options: StorefrontBenchOptions = {}): Promise<Figure[]> {
  const rate = options.rate ?? 500;
  const seconds = options.seconds ?? 20;
  const total = rate * seconds;
  const log = (line: string) => console.error(`storefront: ${new Date().toISOString()} ${line}`);

  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-bench-storefront-"));
  let postgres: RunningPostgres | null = null;
  let databaseUrl = `file:${path.join(dir, "bench.sqlite")}`;
  if (options.database === "postgres") {
    log("starting PostgreSQL…");
    postgres = await startPostgres();
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query("CREATE DATABASE slice_bench");
    await admin.end();
    databaseUrl = postgres.databaseUrl("slice_bench");
  }
  log(`starting the app on a store of ${options.customers ?? 2000} customers…`);
  const probeFile = path.join(dir, "probe.jsonl");
  const demo = await startApp(databaseUrl, options.customers ?? 2000, probeFile);
  const db = createPrismaClient(databaseUrl);
  const figures: Figure[] = [];
  try {
    const domain = demo.store.shop.domain;
    await waitFor(
      "the backfill",
      async () => (await db.shop.findUnique({ where: { domain } }))?.backfillStatus === "done",
      300,
    );
    await waitFor("the starter messages", async () => (await db.message.count()) >= 3, 60);
    await db.message.updateMany({ data: { active: true } });
    // The welcome and the referral invite are offered only with codes ready: wait for their pools.
    await waitForCodePools(db, { timeoutMs: 120_000 });
    await waitFor(
      "the carts' webhooks to be applied",
      async () =>
        (await db.webhookEvent.count({ where: { status: { in: ["pending", "processing"] } } })) === 0,
      300,
    );
    const messageIds = (await db.message.findMany({ select: { id: true }, orderBy: { id: "asc" } })).map(
      (m) => m.id,
    );
    // The server caches a shop's messages for 5 s: let the switched-on ones be read.
    await new Promise((r) => setTimeout(r, 5_500));

    log("storing 400 visitors' events through /proxy/events…");
    const { stored, customerVisitors } = await storeVisitors(demo.url, demo.store, 400, messageIds);
    const askers = audience(demo.store, stored, customerVisitors, total);
    const warmupAskers = audience(demo.store, stored, customerVisitors, 2 * rate);

    // One at a time, by kind of visitor: what a decision costs with no queue, and does the mix
    // do real work (how many are answered with a message)?
    const kinds = {
      new: askers.filter((a) => !a.customerId && !stored.includes(a.visitor)),
      stored: askers.filter((a) => !a.customerId && stored.includes(a.visitor)),
      "signed-in": askers.filter((a) => a.customerId),
    };
    const alone: Figure[] = [];
    let answered = 0;
    let asked = 0;
    for (const [kind, list] of Object.entries(kinds)) {
      const ms: number[] = [];
      for (const [url] of decideRequests(demo.url, demo.store, list.slice(0, 200), messageIds)) {
        const started = performance.now();
        const response = await fetch(url);
        const body = (await response.json()) as { message?: unknown };
        ms.push(performance.now() - started);
        if (!response.ok) throw new Error(`decide: ${response.status} ${JSON.stringify(body)}`);
        if (body.message) answered++;
        asked++;
      }
      alone.push({
        name: `decide one at a time, ${kind} visitors, p50 (${ms.length})`,
        value: median(ms),
        unit: "ms",
      });
    }

    // Baseline: the same requests, the same client, a server that only checks the signature.
    log(`load: ${rate}/s for ${seconds} s against the baseline, then the app…`);
    const baseline = await spawnTs(
      "bench/baseline-server.ts",
      { SHOPIFY_API_SECRET: DEMO_SECRET, PORT: "0", BASELINE: "app-proxy" },
      /listening (\d+)/,
    );
    const baseOrigin = `http://127.0.0.1:${baseline.url}`;
    // CPU per decision during the measured load: the server's process, PostgreSQL (every process
    // of its server: the decision's read, the exposures' writes, and whatever else runs), and this
    // process (the load generator). Time a shared machine gives others does not count here.
    const postmaster = postgres ? await postmasterOf(postgres.url) : null;
    const measured = async (pid: number, run: () => Promise<LoadResult>) => {
      const server = processTreeCpuMs(pid);
      const database = postmaster ? postgresCpuMs(postmaster) : 0;
      const client = process.cpuUsage();
      const result = await run();
      const used = process.cpuUsage(client);
      return {
        result,
        server: (processTreeCpuMs(pid) - server) / result.sent,
        database: postmaster ? (postgresCpuMs(postmaster) - database) / result.sent : NaN,
        client: (used.user + used.system) / 1000 / result.sent,
        load: os.loadavg()[0],
      };
    };
    let baseCpu: Awaited<ReturnType<typeof measured>>;
    try {
      await openLoop(decideRequests(baseOrigin, demo.store, warmupAskers, messageIds), rate);
      baseCpu = await measured(baseline.child.pid!, () =>
        openLoop(decideRequests(baseOrigin, demo.store, askers, messageIds), rate),
      );
    } finally {
      await baseline.stop();
    }
    const base = baseCpu.result;
    await openLoop(decideRequests(demo.url, demo.store, warmupAskers, messageIds), rate);
    log(`measured load on the app (server pid ${demo.pid})…`);
    const loadFrom = Date.now();
    const profiling = !!process.env.SLICE_BENCH_APP_PROFILE;
    if (profiling) process.kill(demo.pid, "SIGUSR2");
    const appCpu = await measured(demo.pid, () =>
      openLoop(decideRequests(demo.url, demo.store, askers, messageIds), rate),
    );
    if (profiling) {
      process.kill(demo.pid, "SIGUSR2");
      await new Promise((r) => setTimeout(r, 2_000));
      log(`the app's CPU profile of the load: ${process.env.SLICE_BENCH_APP_PROFILE}`);
    }
    const app = appCpu.result;
    const stalls = probeSummary(probeFile, demo.pid, loadFrom, Date.now());
    log(`measured load done: p50 ${app.p50.toFixed(2)} ms, p99 ${app.p99.toFixed(2)} ms`);
    // For context: the same mix at a fifth of the rate, for 10 s.
    const light = Math.round(rate / 5);
    const lower = await openLoop(
      decideRequests(demo.url, demo.store, askers.slice(0, light * 10), messageIds),
      light,
    );

    figures.push(
      {
        name: `decide p50 at ${rate}/s offered (${seconds} s, 80% anonymous, 20% signed in)`,
        value: app.p50,
        unit: "ms",
        baseline: base.p50,
        ratio: app.p50 / Math.max(base.p50, 0.001),
      },
      {
        name: `decide p99 at ${rate}/s offered`,
        value: app.p99,
        unit: "ms",
        aim: `< 10 at ${rate}/s`,
        ok: app.p99 < 10,
        baseline: base.p99,
        ratio: app.p99 / Math.max(base.p99, 0.001),
      },
      { name: "decide max", value: app.max, unit: "ms", baseline: base.max },
      {
        name: `decide rate held at ${rate}/s offered`,
        value: app.perSecond,
        unit: "/s",
        aim: `≥ ${rate * 0.95}`,
        ok: app.perSecond >= rate * 0.95,
        baseline: base.perSecond,
      },
      {
        name: `decide answers not 200 (of ${app.sent})`,
        value: app.failed,
        unit: "",
        aim: "0",
        ok: app.failed === 0,
        baseline: base.failed,
      },
      {
        name: `CPU per decision at ${rate}/s: the app's server process`,
        value: appCpu.server,
        unit: "ms",
        baseline: baseCpu.server,
        ratio: appCpu.server / Math.max(baseCpu.server, 0.001),
      },
      ...(postmaster
        ? [
            {
              name: `CPU per decision at ${rate}/s: PostgreSQL (all its processes)`,
              value: appCpu.database,
              unit: "ms",
              baseline: baseCpu.database,
            },
          ]
        : []),
      {
        name: `CPU per decision at ${rate}/s: the load generator (load average ${appCpu.load.toFixed(1)} after)`,
        value: appCpu.client,
        unit: "ms",
        baseline: baseCpu.client,
      },
      {
        name: `  diagnostic: the app's event loop during the load: worst delay (probe, ${stalls.seconds} s)`,
        value: stalls.delayMaxMs,
        unit: "ms",
      },
      {
        name: "  diagnostic: the app's event-loop delay p99, worst second",
        value: stalls.delayP99Ms,
        unit: "ms",
      },
      {
        name: `  diagnostic: the app's GC pauses during the load: total (${stalls.gcCount} pauses; a major one in ${stalls.majorCount} of the seconds)`,
        value: stalls.gcMs,
        unit: "ms",
      },
      { name: "  diagnostic: the app's longest GC pause", value: stalls.gcMaxMs, unit: "ms" },
      {
        name: "  diagnostic: the load generator's event-loop delay p99 (its own thread; baseline run)",
        value: app.clientDelayP99 ?? 0,
        unit: "ms",
        baseline: base.clientDelayP99,
      },
      { name: `decide p50 at ${light}/s offered (10 s)`, value: lower.p50, unit: "ms" },
      {
        name: `decide p99 at ${light}/s offered`,
        value: lower.p99,
        unit: "ms",
      },
      ...alone,
      {
        name: `decide: share of the mix answered with a message (${asked} asked)`,
        value: (100 * answered) / asked,
        unit: "%",
      },
    );

    // Lighthouse on a product page, with the embed and without it.
    const runs = options.lighthouseRuns ?? 3;
    if (!runs) return figures;
    log(`lighthouse: ${runs} runs each, with and without the embed…`);
    const product = `${demo.storefrontUrl}/products/${demo.store.products[0].handle}`;
    const lh = await lighthouseRuns({ with: product, without: `${product}?slice=off` }, runs);
    const scoreWith = median(lh.with.map((r) => r.score));
    const scoreWithout = median(lh.without.map((r) => r.score));
    const clsWith = Math.max(...lh.with.map((r) => r.cls));
    figures.push(
      {
        name: `Lighthouse performance, product page, mobile, with the embed (median of ${runs})`,
        value: scoreWith,
        unit: "",
        aim: "drop ≤ 1 point",
        ok: scoreWithout - scoreWith <= 1,
        baseline: scoreWithout,
      },
      {
        name: `Cumulative Layout Shift with the embed (worst of ${runs})`,
        value: clsWith,
        unit: "",
        aim: "0",
        ok: clsWith === 0,
        baseline: Math.max(...lh.without.map((r) => r.cls)),
      },
      {
        name: "Total Blocking Time with the embed (median)",
        value: median(lh.with.map((r) => r.tbt)),
        unit: "ms",
        baseline: median(lh.without.map((r) => r.tbt)),
      },
      {
        name: "Largest Contentful Paint with the embed (median)",
        value: median(lh.with.map((r) => r.lcp)),
        unit: "ms",
        baseline: median(lh.without.map((r) => r.lcp)),
      },
    );
  } finally {
    await db.$disconnect();
    await demo.stop();
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  // The first script every page loads, and the drawing code loaded only when there is a message.
  const first = readFileSync(SCRIPTS.first);
  const draw = readFileSync(SCRIPTS.draw);
  figures.push(
    {
      name: "slice.js size (first load, every page)",
      value: first.length,
      unit: "bytes",
      aim: `≤ ${FIRST_LOAD_BUDGET}`,
      ok: first.length <= FIRST_LOAD_BUDGET,
    },
    { name: "slice.js size gzipped", value: gzipSync(first, { level: 9 }).length, unit: "bytes" },
    {
      name: "slice-draw.js size (only with a message)",
      value: draw.length,
      unit: "bytes",
      aim: "< 10000",
      ok: draw.length < 10_000,
    },
    { name: "slice-draw.js size gzipped", value: gzipSync(draw, { level: 9 }).length, unit: "bytes" },
  );
  return figures;
}
