/**
 * `npm run demo`: the app on its embedded default (SQLite) with a simulated store.
 * Migrates the database, generates a store, starts the Admin API stand-in and the real app
 * server, installs the store (so the bulk backfill runs), replays the store's webhook history
 * through the real signed webhook endpoint, and prints the URL to open.
 */
import { createServer as createNetServer } from "node:net";
import { execFileSync } from "node:child_process";
import { existsSync, rmSync, statSync, readdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { migrate } from "../prisma/migrate";
import { AdminApiStandIn, TOML_SCOPES, type StandInRecord } from "./admin-api";
import { APP_PROTECTED_DATA } from "../app/protected-data";
import { generateStore, shopPayload } from "./store";
import { replayLines } from "./webhooks";

export const DEMO_SECRET = "slice-demo-secret";
export const DEMO_API_KEY = "slice-demo";
/** The stand-in's non-expiring token (the storefront bench still writes it; the demo installs through the token exchange). */
export const DEMO_TOKEN = "shpat_standin";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds the app (`npm run build`) unless build/ is newer than every source file. */
export function ensureBuild(log: (s: string) => void = console.log): void {
  const built = [path.resolve("build/server/index.js"), path.resolve("build/server.mjs")];
  const newest = Math.max(newestMtime(path.resolve("app")), statSync(path.resolve("server.ts")).mtimeMs);
  if (built.every((f) => existsSync(f) && statSync(f).mtimeMs > newest)) return;
  log("building the app (npm run build)…");
  execFileSync("npm", ["run", "--silent", "build"], { stdio: ["ignore", "ignore", "inherit"] });
}

export interface DemoOptions {
  port?: number;
  customers?: number;
  seed?: number;
  /** Days of history the generated store has (default 365; 1095 for three years). */
  days?: number;
  /** The stand-in and the demo's session without read_all_orders: orders over 60 days old are hidden. */
  withoutReadAllOrders?: boolean;
  databaseFile?: string;
  fresh?: boolean;
  /** The demo storefront's port (the shop's domain, locally); default: the app's port + 1, or any. */
  storefrontPort?: number;
  /** Where the app proxy is on the storefront, as a merchant may move it: default apps / slice. */
  proxyPrefix?: string;
  proxySubpath?: string;
  /**
   * Simulated first-time visitors replayed through the storefront code, ending now, so the offers'
   * results are not empty (dev/shoppers.ts). Default 0 here (tests set up their own figures);
   * `npm run demo` replays 2,400.
   */
  shoppers?: number;
  log?: (line: string) => void;
}

export async function startDemo(options: DemoOptions = {}) {
  const log = options.log ?? console.log;
  const store = generateStore({
    customers: options.customers ?? 800,
    seed: options.seed ?? 42,
    days: options.days,
  });
  // Approved for exactly the protected customer data the app declares, as a reviewed app is.
  const standIn = new AdminApiStandIn({
    store,
    bulkDelayMs: 300,
    restoreRate: 1000,
    protectedData: APP_PROTECTED_DATA,
    apiKey: DEMO_API_KEY,
    apiSecret: DEMO_SECRET,
    ...(options.withoutReadAllOrders ? { scopes: TOML_SCOPES.filter((s) => s !== "read_all_orders") } : {}),
  });
  await standIn.start();
  // Whatever has started is stopped again if a later step fails: a failed demo leaves no server
  // running behind it.
  const running: (() => Promise<void>)[] = [() => standIn.stop()];
  try {
    return await runDemo(options, log, store, standIn, running);
  } catch (error) {
    for (const stop of running.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}

async function runDemo(
  options: DemoOptions,
  log: (line: string) => void,
  store: ReturnType<typeof generateStore>,
  standIn: AdminApiStandIn,
  running: (() => Promise<void>)[],
) {
  const dbFile = path.resolve(options.databaseFile ?? "prisma/demo.sqlite");
  if (options.fresh !== false)
    for (const suffix of ["", "-wal", "-shm"]) rmSync(dbFile + suffix, { force: true });
  const databaseUrl = `file:${dbFile}`;
  Object.assign(process.env, {
    DATABASE_URL: databaseUrl,
    NODE_ENV: "development",
    SLICE_DEV_LOGIN: "1",
    SHOPIFY_API_KEY: DEMO_API_KEY,
    SHOPIFY_API_SECRET: DEMO_SECRET,
    SLICE_ADMIN_API_ORIGIN: standIn.origin,
  });
  await migrate(databaseUrl);
  ensureBuild(log);

  // The real server, as `npm start` runs it, in its own process.
  // Port 0: a free port chosen here, so the app's own URL (SHOPIFY_APP_URL: the web pixel's
  // endpoint setting among others) is the one it listens on.
  const port = options.port === 0 ? await freePort() : (options.port ?? Number(process.env.PORT ?? 3000));
  process.env.SHOPIFY_APP_URL = `http://127.0.0.1:${port}`;
  const { spawnTs } = await import("./processes");
  const server = await spawnTs(
    "build/server.mjs",
    { PORT: String(port), SLICE_WORKER: "1" },
    /listening on (http:\/\/[\d.:]+)/,
  );
  running.push(() => server.stop());

  // Install the demo store as Shopify does: App Bridge's session token reaches the app's /app page,
  // the library exchanges it at the stand-in for an expiring offline token (refreshed every hour
  // by the library from then on) and the install hook starts the backfill.
  const shop = store.shop.domain;
  const { installOverHttp } = await import("./testing/install");
  await installOverHttp({ shop, apiKey: DEMO_API_KEY, apiSecret: DEMO_SECRET, appUrl: server.url });

  // The shop's storefront, behind a local app proxy that signs /apps/slice/* as Shopify does.
  // (".js": dev/storefront/ holds its templates, and a bare "./storefront" would find the folder.)
  const { startStorefront } = await import("./storefront.js");
  /** The storefront, with the app proxy where the merchant put it (default /apps/slice). */
  const openStorefront = (at: { prefix?: string; subpath?: string; port?: number } = {}) =>
    startStorefront({
      store,
      appOrigin: server.url,
      secret: DEMO_SECRET,
      port: at.port ?? 0,
      prefix: at.prefix ?? options.proxyPrefix,
      subpath: at.subpath ?? options.proxySubpath,
      // Shopify's checkout checks discount codes against the discounts the app made (the stand-in's).
      redeem: (input) => standIn.redeem(input),
      // The theme reads the app-data metafields the app set (the proxy path among them).
      appMetafields: () => standIn.appMetafields(),
      webPixelSettings: () => standIn.webPixel?.settings ?? null,
    });
  const storefront = await openStorefront({
    port: options.storefrontPort ?? (options.port === 0 ? 0 : port + 1),
  });
  running.push(() => storefront.close());
  // The demo storefront's address is the shop's primary domain (what shoppers see, and what the
  // app's referral links use): the stand-in answers it from now on, and Shopify tells the app of
  // the change with shop/update.
  store.shop.primaryDomain = new URL(storefront.url).host;
  const changedAt = new Date();
  store.events.push({
    topic: "shop/update",
    shop,
    payload: shopPayload(store.shop, changedAt),
    eventId: `demo-primary-domain-${changedAt.getTime()}`,
    triggeredAt: changedAt.toISOString(),
  });

  const loginUrl = `${server.url}/dev/login?shop=${shop}`;
  log(
    `Slice demo: ${store.customers.length} customers, ${store.orders.length} orders, ${store.events.length} webhooks to replay`,
  );
  log(`Open ${loginUrl}`);
  log(`Storefront: ${storefront.url} (the app's blocks and slice.js, through the app proxy)`);
  if (options.proxyPrefix || options.proxySubpath) {
    const at = `/${options.proxyPrefix ?? "apps"}/${options.proxySubpath ?? "slice"}`;
    log(`The app proxy is at ${at}: open ${storefront.url}${at} once so that the theme uses it`);
  }
  const started = performance.now();
  const replay = await replayLines(store.events, {
    url: `${server.url}/webhooks`,
    secret: DEMO_SECRET,
    concurrency: 8,
    duplicates: 0.05,
    reorder: 0.05,
    // Shopify sends only the topics the granted scopes allow.
    scopes: standIn.grantedScopes(),
  });
  if (replay.refused.length)
    log(`not sent (scopes): ${[...new Set(replay.refused.map((r) => r.reason))].join("; ")}`);
  log(
    `replayed ${replay.sent} deliveries (${replay.sent - store.events.length} duplicates, some out of order) in ${((performance.now() - started) / 1000).toFixed(1)} s: ${replay.accepted} accepted`,
  );
  // The backfill runs in the server; once it has built the segments, the starter messages exist
  // (paused, as a new shop gets them). The demo switches them on, as a merchant would.
  const messages = await switchOnStarterMessages(databaseUrl, shop);
  log(
    messages
      ? `${messages} storefront messages switched on: try ${storefront.url} as a new visitor, or "log in as" a top customer`
      : "the backfill did not finish in time: storefront messages are still paused (switch them on in Messages)",
  );
  // What the simulated shoppers' replay could not do (the check reports it); none when all went through.
  const shopperProblems =
    messages && options.shoppers
      ? await replayDemoShoppers(options.shoppers, databaseUrl, store, standIn, server.url, log)
      : [];
  return {
    url: server.url,
    shopperProblems,
    loginUrl,
    storefrontUrl: storefront.url,
    store,
    standIn,
    /** Another storefront on the same app, e.g. with the app proxy at /tools/offers; close it when done. */
    openStorefront,
    async stop() {
      await storefront.close();
      await server.stop();
      await standIn.stop();
    },
  };
}

/**
 * Three weeks of shoppers ending now, through the app's storefront code (dev/shoppers.ts): carts and
 * orders as signed webhooks to the running server, codes made in the stand-in, so the offers'
 * results pages have treated and held-out shoppers, orders and a lift.
 */
async function replayDemoShoppers(
  visitors: number,
  databaseUrl: string,
  store: ReturnType<typeof generateStore>,
  standIn: AdminApiStandIn,
  appUrl: string,
  log: (line: string) => void,
) {
  const started = performance.now();
  const { createPrismaClient } = await import("../app/db.server");
  const { adminApiFor } = await import("../app/sync/admin-api.server");
  const { replayShoppers, appCodeMaker } = await import("./shoppers");
  const db = createPrismaClient(databaseUrl);
  try {
    const result = await replayShoppers({
      db,
      store,
      secret: DEMO_SECRET,
      visitors,
      end: new Date(),
      makeCodes: await appCodeMaker(db, await adminApiFor(db, store.shop.domain)),
      redeem: (input) => standIn.redeem(input),
      deliver: async (lines) => {
        const replay = await replayLines(lines, {
          url: `${appUrl}/webhooks`,
          secret: DEMO_SECRET,
          concurrency: 8,
        });
        if (replay.rejected.length) log(`shoppers: ${replay.rejected.length} webhooks refused`);
      },
      // The server's worker applies what was delivered: wait until nothing is left to apply.
      settle: async () => {
        for (let waited = 0; waited < 120_000; waited += 200) {
          const left = await db.webhookEvent.count({ where: { status: { in: ["pending", "processing"] } } });
          if (!left) return;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
    });
    log(
      `replayed ${result.visitors} shoppers' visits (${result.returnVisits} came back to their cart): ${result.decisions} decisions, ${result.impressions} messages shown, ${result.codes} codes, ${result.orders} orders, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    log(`shoppers: time spent (ms): ${JSON.stringify(result.timingMs)}`);
    for (const problem of result.refused.slice(0, 5)) log(`shoppers: refused: ${problem}`);
    return result.refused;
  } catch (error) {
    log(`shoppers: the replay failed: ${(error as Error).message}`);
    return [`the shoppers' replay failed: ${(error as Error).message}`];
  } finally {
    await db.$disconnect();
  }
}

/** Waits for the demo shop's backfill (up to 3 minutes), then switches its messages on; how many. */
async function switchOnStarterMessages(databaseUrl: string, domain: string): Promise<number> {
  const { createPrismaClient } = await import("../app/db.server");
  const db = createPrismaClient(databaseUrl);
  try {
    for (let waited = 0; waited < 180_000; waited += 250) {
      const shop = await db.shop.findUnique({
        where: { domain },
        select: { id: true, backfillStatus: true },
      });
      if (shop?.backfillStatus === "done" && (await db.message.count({ where: { shopId: shop.id } }))) {
        const { count } = await db.message.updateMany({ where: { shopId: shop.id }, data: { active: true } });
        return count;
      }
      if (shop?.backfillStatus === "failed") return 0;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return 0;
  } finally {
    await db.$disconnect();
  }
}

/**
 * What a person does first with the demo: signs in to the admin, opens the segments, and opens the
 * storefront, where the app embed loads slice.js (and names slice-draw.js) through the app proxy. The problems found; none
 * when it all answers.
 */
export async function checkDemo(demo: {
  loginUrl: string;
  url: string;
  storefrontUrl: string;
  standIn?: StandInRecord;
  shopperProblems?: string[];
}) {
  const problems: string[] = [];
  for (const problem of demo.shopperProblems?.slice(0, 3) ?? []) problems.push(`shoppers: ${problem}`);
  // What the app sent the local Admin API: nothing Shopify would refuse or has deprecated.
  for (const { errors } of demo.standIn?.invalidDocuments ?? [])
    problems.push(`invalid Admin API document: ${errors[0]}`);
  for (const { uses } of demo.standIn?.deprecatedUses ?? [])
    problems.push(`deprecated Admin API use: ${uses[0]}`);
  for (const version of demo.standIn?.unknownVersions ?? [])
    problems.push(`Admin API version with no schema: ${version}`);
  const login = await fetch(demo.loginUrl, { redirect: "manual" });
  const cookie = login.headers.get("set-cookie")?.split(";")[0] ?? "";
  if (login.status !== 302 || !cookie) problems.push(`sign-in answered ${login.status} without a cookie`);
  const pages = { "/app": "Slice", "/app/segments": "Segments", "/app/messages": "Messages" };
  for (const [page, heading] of Object.entries(pages)) {
    const res = await fetch(demo.url + page, { headers: { cookie } });
    const html = await res.text();
    if (res.status !== 200 || !html.includes(heading))
      problems.push(`${page} answered ${res.status}${res.status === 200 ? ` without "${heading}"` : ""}`);
  }
  const storefront = await fetch(demo.storefrontUrl);
  const html = await storefront.text();
  if (storefront.status !== 200) problems.push(`the storefront answered ${storefront.status}`);
  const script = /src="([^"]*slice[^"]*\.js[^"]*)"/.exec(html)?.[1];
  if (!script) problems.push("the storefront page has no slice.js");
  else {
    const res = await fetch(new URL(script, demo.storefrontUrl));
    if (res.status !== 200) problems.push(`slice.js answered ${res.status}`);
  }
  // The drawing code slice.js loads when there is a message, named in the app embed's config.
  const draw = /"draw":\s*"([^"]+)"/.exec(html)?.[1];
  if (!draw) problems.push("the app embed's config names no slice-draw.js");
  else {
    const res = await fetch(new URL(draw, demo.storefrontUrl));
    if (res.status !== 200) problems.push(`slice-draw.js answered ${res.status}`);
  }
  return problems;
}

/** `--proxy-path /tools/offers`: one of Shopify's prefixes (apps, a, community, tools) and a subpath. */
function proxyPathOption(value: string | undefined): { proxyPrefix?: string; proxySubpath?: string } {
  if (value === undefined) return {};
  const match = /^\/(apps|a|community|tools)\/([A-Za-z0-9_-]{1,100})$/.exec(value);
  if (!match) throw new Error(`--proxy-path: must be /apps|a|community|tools/<subpath>, got ${value}`);
  return { proxyPrefix: match[1], proxySubpath: match[2] };
}

const invokedDirectly = process.argv[1] && /dev[\\/]demo\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  const { values } = parseArgs({
    options: {
      customers: { type: "string" },
      port: { type: "string" },
      seed: { type: "string" },
      days: { type: "string" },
      "without-read-all-orders": { type: "boolean" },
      "storefront-port": { type: "string" },
      /** Where the app proxy is on the storefront, as a merchant may move it: e.g. /tools/offers. */
      "proxy-path": { type: "string" },
      /** Simulated shoppers replayed so results are not empty (default 2400; 0: none). */
      shoppers: { type: "string" },
      /** Start, check that the admin and the storefront answer, stop: exit code 0 when all is well. */
      check: { type: "boolean" },
    },
  });
  const demo = await startDemo({
    customers: values.customers ? Number(values.customers) : undefined,
    port: values.port ? Number(values.port) : undefined,
    seed: values.seed ? Number(values.seed) : undefined,
    days: values.days ? Number(values.days) : undefined,
    withoutReadAllOrders: values["without-read-all-orders"] ?? false,
    storefrontPort: values["storefront-port"] ? Number(values["storefront-port"]) : undefined,
    // The check (CI) replays a few hundred: enough to go through every step, quick to run.
    shoppers: values.shoppers ? Number(values.shoppers) : values.check ? 300 : 2400,
    ...proxyPathOption(values["proxy-path"]),
  });
  if (values.check) {
    const problems = await checkDemo(demo);
    await demo.stop();
    console.log(problems.length ? `demo check failed:\n  ${problems.join("\n  ")}` : "demo check passed");
    process.exit(problems.length ? 1 : 0);
  }
  console.log(
    `\nSlice is running. Open ${demo.loginUrl}\nThe demo storefront: ${demo.storefrontUrl}\n(Ctrl-C to stop)`,
  );
  const stop = async () => {
    await demo.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** A port nothing listens on now (the OS's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
