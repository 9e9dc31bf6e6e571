/**
 * Segments on a big shop (issue 4): 1,000,000 customers and ~3,000,000 orders in SQLite
 * (SLICE_BENCH_CUSTOMERS=100000 for a quick run).
 *
 * 1. The SELECTs alone: the engine's SQL (`compile(rule, "sqlite")`) against SQL written by hand
 *    for the same 18 segments (the built-in ones and ten custom ones), alternating on one
 *    better-sqlite3 connection (the driver under the app's Prisma adapter) in a child process, so
 *    that a query whose plan goes quadratic can be stopped at a cap. The hand SQL must return
 *    exactly the engine's members (or, where the engine's query cannot finish, agree with the
 *    app's evaluator on a sample), or the bench fails.
 * 2. The app's full recompute (`recompute` from empty memberships, through Prisma) against the hand
 *    SELECT plus a set-based write that leaves the same SegmentMember and SegmentChange rows.
 * 3. Webhook to updated membership: a signed delivery goes through the app's own intake decision
 *    (`acceptWebhook`: HMAC, inbox insert), the inbox worker (claim, apply in a transaction, mark
 *    done) and `afterWebhook` (incremental membership), in process, one delivery at a time.
 *    Baseline: the same path without the membership step (the worker without `afterApply`).
 *
 * Everything runs after the planner statistics the app collects when a backfill finishes
 * (`refreshPlannerStatistics`); without them SQLite walked every customer through a date index
 * (1.81× the hand SQL at 1M, against 1.11× with them).
 *
 * Knobs: SLICE_BENCH_CUSTOMERS (1000000), SLICE_BENCH_REPS (3), SLICE_BENCH_QUERY_CAP_S (60),
 * SLICE_BENCH_DELIVERIES (500).
 */
import Database from "better-sqlite3";
import { fork, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import { createPrismaClient, refreshPlannerStatistics } from "../app/db.server";
import { compile, type CompiledQuery } from "../app/engine/sql";
import { parseRule, type Rule } from "../app/engine/rules";
import { ensurePresets, recompute, shopSegments } from "../app/segments/store.server";
import { afterWebhook } from "../app/segments/incremental.server";
import { loadFacts } from "../app/segments/facts.server";
import { evaluate } from "../app/engine/evaluate";
import { acceptWebhook } from "../app/sync/receive.server";
import { InboxWorker } from "../app/sync/worker.server";
import { fixtureText } from "../dev/fixtures";
import { webhookRequestInit } from "../dev/webhooks";
import { percentile } from "./load";
import {
  BIG_SHOP,
  bigStore,
  collectionId,
  PRODUCTS,
  productId,
  VENDORS,
  variantId,
  type BigStore,
} from "./generate-store";
import type { Figure } from "./webhooks";
import type { ChildRequest, CompareReply, RunReply } from "./sql-child";

const DAY = 86_400_000;
const SECRET = "bench-secret";

const log = (line: string) => console.error(`[segments] ${line}`);
const ms = (started: number) => performance.now() - started;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- the ten custom segments, in the rule language --------------------------------------------

const OUTERWEAR = collectionId(4);
const EU = ["GB", "DE", "FR", "NL", "ES", "IT", "IE", "SE"];

export const CUSTOM_SEGMENTS: { handle: string; name: string; rule: Rule }[] = [
  {
    handle: "vip-lapsing",
    name: "VIPs who have not ordered in 60 days",
    rule: {
      version: 1,
      match: {
        all: [
          { field: "customer.tags", op: "contains", value: "vip" },
          { field: "customer.lastOrderAt", op: "notWithinLast", days: 60 },
        ],
      },
    },
  },
  {
    handle: "north-america-regulars",
    name: "US and Canadian regulars spending $200+ a year",
    rule: {
      version: 1,
      match: {
        all: [
          { field: "customer.countryCode", op: "in", value: ["US", "CA"] },
          { field: "customer.ordersCount", op: "gte", value: 3 },
          { field: "orders.spend", op: "gte", value: 20000, days: 365 },
        ],
      },
    },
  },
  {
    handle: "outerwear-full-price",
    name: "Bought outerwear in 30 days without a discount",
    rule: {
      version: 1,
      match: {
        all: [
          { field: "orders.collections", op: "in", value: [OUTERWEAR], days: 30 },
          { not: { field: "orders.usedDiscount", op: "isTrue", days: 30 } },
        ],
      },
    },
  },
  {
    handle: "high-aov-subscribers",
    name: "Average order over $150, subscribed to email",
    rule: {
      version: 1,
      match: {
        all: [
          { field: "customer.averageOrderValue", op: "gte", value: 15000 },
          { field: "customer.acceptsEmailMarketing", op: "isTrue" },
        ],
      },
    },
  },
  {
    handle: "recent-abandoners-not-vip",
    name: "Abandoned a checkout in 14 days, no order since, not a top spender",
    rule: {
      version: 1,
      match: {
        all: [
          { field: "checkouts.abandoned", op: "isTrue", days: 14 },
          { field: "orders.count", op: "eq", value: 0, days: 14 },
          { not: { segment: "high-spend-repeat" } },
        ],
      },
    },
  },
  {
    handle: "eu-vendor-fans",
    name: "European customers who bought Lumen or Fjord & Co in 90 days",
    rule: {
      version: 1,
      match: {
        all: [
          { field: "orders.vendors", op: "in", value: [VENDORS[2], VENDORS[3]], days: 90 },
          { field: "customer.countryCode", op: "in", value: EU },
        ],
      },
    },
  },
  {
    handle: "hero-products-or-unpaid",
    name: "Bought a hero product or variant in 60 days, or has an unpaid order",
    rule: {
      version: 1,
      match: {
        any: [
          { field: "orders.products", op: "in", value: [productId(3), productId(11)], days: 60 },
          { field: "orders.variants", op: "in", value: [variantId(2, 0), variantId(5, 1)], days: 60 },
          { field: "orders.paymentPending", op: "isTrue", days: 30 },
        ],
      },
    },
  },
  {
    handle: "newsletter-winback",
    name: "Newsletter subscribers gone quiet (not wholesale)",
    rule: {
      version: 1,
      match: {
        all: [
          { field: "customer.tags", op: "contains", value: "newsletter" },
          {
            any: [
              { field: "customer.lastOrderAt", op: "notWithinLast", days: 180 },
              { field: "customer.ordersCount", op: "eq", value: 0 },
            ],
          },
          { not: { field: "customer.tags", op: "contains", value: "wholesale" } },
        ],
      },
    },
  },
  {
    handle: "new-big-spenders",
    name: "Joined in 30 days and spent $100+",
    rule: {
      version: 1,
      match: {
        all: [
          { field: "customer.createdAt", op: "withinLast", days: 30 },
          { field: "orders.spend", op: "gte", value: 10000, days: 30 },
        ],
      },
    },
  },
  {
    handle: "big-cart-subscribers",
    name: "Cart over $150, subscribed, no order in 7 days",
    rule: {
      version: 1,
      match: {
        all: [
          { field: "cart.value", op: "gte", value: 15000 },
          { field: "customer.acceptsEmailMarketing", op: "isTrue" },
          { field: "orders.count", op: "eq", value: 0, days: 7 },
        ],
      },
    },
  },
];

// ---- the same segments, written by hand for SQLite -----------------------------------------------

interface HandContext {
  shop: number;
  now: number;
  /** The top-10% spend threshold ensurePresets chose for high-spend-repeat. */
  threshold: number;
}
type Hand = (x: HandContext) => [sql: string, params: unknown[]];

const since = (x: HandContext, days: number) => x.now - days * DAY;
/** A checkout event's step number (0 started … 5 completed). */
const STEP = `CASE e."type" WHEN 'checkout_started' THEN 0 WHEN 'checkout_contact' THEN 1 WHEN 'checkout_address' THEN 2
  WHEN 'checkout_shipping' THEN 3 WHEN 'checkout_payment' THEN 4 WHEN 'checkout_completed' THEN 5 END`;
const live = (alias: string) =>
  `${alias}."cancelledAt" IS NULL AND NOT ${alias}."test" AND ${alias}."customerShopifyId" IS NOT NULL`;
/** Customers with an order in the window: to exclude them (NOT IN needs the NULLs out). */
const orderedSince = `SELECT o."customerShopifyId" FROM "Order" o WHERE o."shopId" = ? AND o."processedAt" >= ? AND ${live("o")}`;
/** Visitors summed per customer: sessions, last visit, and the latest visitor's cart token. */
const visitorsByCustomer = `SELECT v."customerShopifyId" AS id, SUM(v."sessions") AS sessions, MAX(v."lastSeenAt") AS lastSeen,
  v."cartToken" AS cartToken FROM "Visitor" v WHERE v."shopId" = ? AND v."customerShopifyId" IS NOT NULL GROUP BY v."customerShopifyId"`;
// CROSS JOIN keeps SQLite's join order as written (visitors, then their customer and cart by key):
// without ANALYZE statistics the planner otherwise starts from all the shop's customers.
const customerJoin = `CROSS JOIN "Customer" c ON c."shopId" = ? AND c."shopifyId" = v.id AND c."deletedAt" IS NULL`;
const plain =
  (where: string, ...params: unknown[]): Hand =>
  (x) => [
    `SELECT c."shopifyId" FROM "Customer" c WHERE c."shopId" = ? AND c."deletedAt" IS NULL AND ${where}`,
    [x.shop, ...params.map((p) => (typeof p === "function" ? (p as (x: HandContext) => unknown)(x) : p))],
  ];
const abandoners =
  (days: number, extra = ""): Hand =>
  (x) => [
    `SELECT c."shopifyId" FROM "Customer" c WHERE c."shopId" = ? AND c."deletedAt" IS NULL${extra}
     AND c."shopifyId" IN (SELECT k."customerShopifyId" FROM "Checkout" k WHERE k."shopId" = ? AND k."completedAt" IS NULL
       AND k."orderShopifyId" IS NULL AND k."shopifyCreatedAt" >= ?)
     AND c."shopifyId" NOT IN (${orderedSince})`,
    [x.shop, ...(extra ? [x.threshold] : []), x.shop, since(x, days), x.shop, since(x, days)],
  ];

/** A checkout token's furthest step: 5 (completed) when the shop holds its order, whatever the pixel sent. */
const TOKEN_STEP = `CASE WHEN EXISTS (SELECT 1 FROM "Order" o WHERE o."shopId" = e."shopId" AND o."checkoutToken" = e."resourceId")
  THEN 5 ELSE MAX(${STEP}) END`;
/**
 * The Web Pixel's checkouts: per customer (all their visitors), the latest checkout token in the
 * window by its last event (a tie to the furthest step), and the furthest step it reached (0
 * started … 5 completed, or 5 when the shop holds the token's order). Selects (id, step).
 */
const latestPixelCheckout = `SELECT t.id, t.step FROM (
    SELECT v."customerShopifyId" AS id, ${TOKEN_STEP} AS step,
      ROW_NUMBER() OVER (PARTITION BY v."customerShopifyId" ORDER BY MAX(e."occurredAt") DESC, ${TOKEN_STEP} DESC) AS n
    FROM "StorefrontEvent" e JOIN "Visitor" v ON v."id" = e."visitorId"
    WHERE e."shopId" = ? AND e."type" IN ('checkout_started', 'checkout_contact', 'checkout_address',
      'checkout_shipping', 'checkout_payment', 'checkout_completed') AND e."resourceId" IS NOT NULL AND e."occurredAt" >= ?
      AND v."customerShopifyId" IS NOT NULL
    GROUP BY v."customerShopifyId", e."shopId", e."resourceId") t WHERE t.n = 1`;
const pixelAbandoners =
  (days: number, step: "any" | number): Hand =>
  (x) =>
    step === "any"
      ? [
          `SELECT c."shopifyId" FROM "Customer" c WHERE c."shopId" = ? AND c."deletedAt" IS NULL
         AND (c."shopifyId" IN (SELECT k."customerShopifyId" FROM "Checkout" k WHERE k."shopId" = ? AND k."completedAt" IS NULL
           AND k."orderShopifyId" IS NULL AND k."shopifyCreatedAt" >= ?)
           OR c."shopifyId" IN (SELECT p.id FROM (${latestPixelCheckout}) p WHERE p.step < 5))
         AND c."shopifyId" NOT IN (${orderedSince})`,
          [x.shop, x.shop, since(x, days), x.shop, since(x, days), x.shop, since(x, days)],
        ]
      : [
          `SELECT c."shopifyId" FROM "Customer" c WHERE c."shopId" = ? AND c."deletedAt" IS NULL
         AND c."shopifyId" IN (SELECT p.id FROM (${latestPixelCheckout}) p WHERE p.step = ${step})
         AND c."shopifyId" NOT IN (${orderedSince})`,
          [x.shop, x.shop, since(x, days), x.shop, since(x, days)],
        ];

export const HAND_SQL: Record<string, Hand> = {
  "first-time-visitors": (x) => [
    `SELECT v.id FROM (${visitorsByCustomer}) v ${customerJoin} WHERE v.sessions = 1 AND c."ordersCount" = 0`,
    [x.shop, x.shop],
  ],
  "returning-non-buyers": (x) => [
    `SELECT v.id FROM (${visitorsByCustomer}) v ${customerJoin} WHERE v.sessions >= 2 AND c."ordersCount" = 0`,
    [x.shop, x.shop],
  ],
  // Shopify's abandoned checkouts, or the pixel's checkout left at any step before completing.
  "checkout-abandoners": pixelAbandoners(7, "any"),
  "reached-payment-no-order": pixelAbandoners(7, 4),
  "cart-abandoners": (x) => [
    `SELECT v.id FROM (${visitorsByCustomer}) v ${customerJoin}
       CROSS JOIN "Cart" ca ON ca."shopId" = ? AND ca."token" = v.cartToken
     WHERE ca."itemCount" > 0 AND v.id NOT IN (${orderedSince})`,
    [x.shop, x.shop, x.shop, x.shop, since(x, 1)],
  ],
  "first-time-customers": plain(`c."ordersCount" = 1 AND c."firstOrderAt" >= ?`, (x: HandContext) =>
    since(x, 30),
  ),
  "high-spend-repeat": plain(`c."ordersCount" >= 2 AND c."totalSpent" >= ?`, (x: HandContext) => x.threshold),
  "lapsed-customers": plain(`c."lastOrderAt" < ?`, (x: HandContext) => since(x, 90)),
  // Visits are session_start storefront events in the window, over all the customer's visitors.
  "engaged-non-buyers": (x) => [
    `SELECT c."shopifyId" FROM (SELECT v."customerShopifyId" AS id FROM "Visitor" v
         CROSS JOIN "StorefrontEvent" e ON e."shopId" = v."shopId" AND e."visitorId" = v."id"
           AND e."type" = 'session_start' AND e."occurredAt" >= ?
         WHERE v."shopId" = ? AND v."customerShopifyId" IS NOT NULL
         GROUP BY v."customerShopifyId" HAVING COUNT(*) >= 3) s
       CROSS JOIN "Customer" c ON c."shopId" = ? AND c."shopifyId" = s.id AND c."deletedAt" IS NULL
     WHERE c."ordersCount" = 0`,
    [since(x, 7), x.shop, x.shop],
  ],
  "vip-lapsing": plain(`c."tags" LIKE '%|vip|%' AND c."lastOrderAt" < ?`, (x: HandContext) => since(x, 60)),
  "north-america-regulars": (x) => [
    `SELECT c."shopifyId" FROM "Customer" c WHERE c."shopId" = ? AND c."deletedAt" IS NULL
       AND c."countryCode" COLLATE NOCASE IN ('us', 'ca') AND c."ordersCount" >= 3
       AND (SELECT SUM(o."totalPrice" - o."totalRefunded") FROM "Order" o
            WHERE o."shopId" = c."shopId"
            AND o."customerShopifyId" = c."shopifyId" AND o."processedAt" >= ? AND ${live("o")}) >= ?`,
    [x.shop, since(x, 365), 20000],
  ],
  "outerwear-full-price": (x) => [
    `SELECT DISTINCT c."shopifyId" FROM "Order" o
       JOIN "LineItem" li ON li."orderId" = o."id"
       JOIN "ProductCollection" pc ON pc."shopId" = o."shopId" AND pc."productShopifyId" = li."productId"
       JOIN "Customer" c ON c."shopId" = o."shopId" AND c."shopifyId" = o."customerShopifyId" AND c."deletedAt" IS NULL
     WHERE o."shopId" = ? AND o."processedAt" >= ? AND ${live("o")} AND pc."collectionShopifyId" = ?
       AND o."customerShopifyId" NOT IN (${orderedSince} AND o."discountCodes" <> '')`,
    [x.shop, since(x, 30), OUTERWEAR, x.shop, since(x, 30)],
  ],
  "high-aov-subscribers": plain(
    `c."ordersCount" > 0 AND c."totalSpent" / c."ordersCount" >= ? AND c."acceptsEmailMarketing" = 1`,
    15000,
  ),
  "recent-abandoners-not-vip": abandoners(14, ` AND NOT (c."ordersCount" >= 2 AND c."totalSpent" >= ?)`),
  "eu-vendor-fans": (x) => [
    `SELECT c."shopifyId" FROM "Customer" c WHERE c."shopId" = ? AND c."deletedAt" IS NULL
       AND c."countryCode" COLLATE NOCASE IN (${EU.map(() => "?").join(", ")})
       AND c."shopifyId" IN (SELECT o."customerShopifyId" FROM "Order" o JOIN "LineItem" li ON li."orderId" = o."id"
         WHERE o."shopId" = ? AND o."processedAt" >= ? AND ${live("o")} AND li."vendor" COLLATE NOCASE IN (?, ?))`,
    [x.shop, ...EU, x.shop, since(x, 90), VENDORS[2], VENDORS[3]],
  ],
  "hero-products-or-unpaid": (x) => [
    `SELECT c."shopifyId" FROM "Customer" c WHERE c."shopId" = ? AND c."deletedAt" IS NULL AND c."shopifyId" IN (
       SELECT o."customerShopifyId" FROM "Order" o JOIN "LineItem" li ON li."orderId" = o."id"
         WHERE o."shopId" = ? AND o."processedAt" >= ? AND ${live("o")}
           AND (li."productId" IN (?, ?) OR li."variantId" IN (?, ?))
       UNION ALL
       SELECT o."customerShopifyId" FROM "Order" o WHERE o."shopId" = ? AND o."processedAt" >= ? AND ${live("o")}
           AND o."financialStatus" IN ('pending', 'authorized', 'partially_paid'))`,
    [
      x.shop,
      x.shop,
      since(x, 60),
      productId(3),
      productId(11),
      variantId(2, 0),
      variantId(5, 1),
      x.shop,
      since(x, 30),
    ],
  ],
  "newsletter-winback": plain(
    `c."tags" LIKE '%|newsletter|%' AND c."tags" NOT LIKE '%|wholesale|%' AND (c."lastOrderAt" < ? OR c."ordersCount" = 0)`,
    (x: HandContext) => since(x, 180),
  ),
  "new-big-spenders": (x) => [
    `SELECT c."shopifyId" FROM (SELECT o."customerShopifyId" AS id FROM "Order" o
         WHERE o."shopId" = ? AND o."processedAt" >= ? AND ${live("o")}
         GROUP BY o."customerShopifyId" HAVING SUM(o."totalPrice" - o."totalRefunded") >= ?) s
       JOIN "Customer" c ON c."shopId" = ? AND c."shopifyId" = s.id AND c."deletedAt" IS NULL
     WHERE c."shopifyCreatedAt" >= ?`,
    [x.shop, since(x, 30), 10000, x.shop, since(x, 30)],
  ],
  "big-cart-subscribers": (x) => [
    `SELECT v.id FROM (${visitorsByCustomer}) v ${customerJoin}
       CROSS JOIN "Cart" ca ON ca."shopId" = ? AND ca."token" = v.cartToken
     WHERE ca."totalPrice" >= ? AND c."acceptsEmailMarketing" = 1 AND v.id NOT IN (${orderedSince})`,
    [x.shop, x.shop, x.shop, 15000, x.shop, since(x, 7)],
  ],
};

// ---- the benchmark ----------------------------------------------------------------------------------

interface SelectTiming {
  handle: string;
  members: number;
  /** Median over the repetitions; null when the first run did not finish within the cap. */
  engineMs: number | null;
  handMs: number;
  plans?: { engine: string; hand: string };
}

export async function benchSegments(options: { customers?: number } = {}): Promise<Figure[]> {
  const customers = options.customers ?? Number(process.env.SLICE_BENCH_CUSTOMERS ?? 1_000_000);
  const settings = {
    reps: Number(process.env.SLICE_BENCH_REPS ?? 3),
    capMs: 1000 * Number(process.env.SLICE_BENCH_QUERY_CAP_S ?? 60),
    deliveries: Number(process.env.SLICE_BENCH_DELIVERIES ?? 500),
  };
  const store = await bigStore({ customers, log });
  if (store.reused)
    log(
      `reusing ${path.relative(process.cwd(), store.file)} (generated in ${store.generatedSeconds.toFixed(0)} s)`,
    );
  // Work on a copy: the bench writes memberships and applies webhooks; the cached file stays clean.
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-bench-segments-"));
  const file = path.join(dir, "shop.sqlite");
  copyFileSync(store.file, file);
  const dbMb = statSync(file).size / 2 ** 20;
  const db = createPrismaClient(`file:${file}`);
  const raw = new Database(file);
  raw.pragma("synchronous = NORMAL"); // as db.server.ts sets for the app's connection
  const runner = new QueryRunner(file);
  try {
    const figures: Figure[] = [...dataFigures(store, dbMb)];
    const recomputed = await recomputeFigures(db, raw, runner, store, settings);
    figures.push(...recomputed.figures);
    figures.push(...(await webhookLatency(db, sqliteLatencyReads(raw, store), store, settings.deliveries)));
    return figures;
  } finally {
    runner.stop();
    raw.close();
    await db.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

function dataFigures(store: BigStore, dbMb: number): Figure[] {
  const c = store.counts;
  return [
    { name: "customers", value: c.customers, unit: "" },
    { name: "orders (~5% guest, 2% cancelled, 6% refunded)", value: c.orders, unit: "" },
    { name: "line items", value: c.lineItems, unit: "" },
    {
      name: `checkouts (${c.abandonedCheckouts.toLocaleString("en")} abandoned)`,
      value: c.checkouts,
      unit: "",
    },
    { name: "carts", value: c.carts, unit: "" },
    { name: "storefront visitors", value: c.visitors, unit: "" },
    { name: "storefront events (last 90 days)", value: c.storefrontEvents, unit: "" },
    { name: "database file", value: dbMb, unit: "MB" },
    {
      name: `time to generate the store${store.reused ? " (when the cached file was made)" : ""}`,
      value: store.generatedSeconds,
      unit: "s",
    },
  ];
}

/** The SELECT process: requests with a deadline; a query past it is stopped by killing the process. */
class QueryRunner {
  private child: ChildProcess | null = null;
  constructor(private readonly file: string) {}

  request<T>(message: ChildRequest, timeoutMs: number): Promise<T | "timeout"> {
    this.child ??= fork(path.resolve("bench/sql-child.ts"), [this.file], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const child = this.child;
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      const timer = setTimeout(() => {
        done();
        child.kill("SIGKILL");
        this.child = null;
        resolve("timeout");
      }, timeoutMs);
      const onMessage = (reply: { ok?: T; error?: string }) => {
        done();
        if (reply.error !== undefined) reject(new Error(reply.error));
        else resolve(reply.ok as T);
      };
      const onExit = (code: number | null) => {
        done();
        this.child = null;
        reject(new Error(`the SQL process exited (${code})`));
      };
      child.on("message", onMessage);
      child.on("exit", onExit);
      child.send(message);
    });
  }

  stop(): void {
    this.child?.kill("SIGKILL");
    this.child = null;
  }
}

/** Engine SQL and hand SQL for every segment, alternating on one connection, median of `reps`. */
async function compareSelects(
  runner: QueryRunner,
  queries: { handle: string; engine: CompiledQuery; hand: [string, unknown[]] }[],
  reps: number,
  capMs: number,
  phase: string,
  verify: (handle: string, handIds: string[]) => Promise<void>,
): Promise<SelectTiming[]> {
  const timings: SelectTiming[] = [];
  for (const { handle, engine, hand } of queries) {
    const handTimes: number[] = [];
    const engineTimes: number[] = [];
    let members = 0;
    let finished = true;
    for (let r = 0; r < reps && finished; r++) {
      const h = await runner.request<RunReply>(
        { op: "run", label: "hand", sql: hand[0], params: hand[1] },
        capMs,
      );
      if (h === "timeout")
        throw new Error(`the hand-written SQL for "${handle}" did not finish in ${capMs} ms`);
      handTimes.push(h.ms);
      const e = await runner.request<RunReply>(
        { op: "run", label: "engine", sql: engine.sql, params: engine.params },
        capMs,
      );
      if (e === "timeout") {
        finished = false;
        // The engine's own set is out of reach: check the hand SQL against the evaluator instead
        // (run again: the stopped process took its results with it).
        const again = await runner.request<RunReply>(
          { op: "run", label: "hand", sql: hand[0], params: hand[1] },
          capMs,
        );
        if (again === "timeout")
          throw new Error(`the hand-written SQL for "${handle}" did not finish in ${capMs} ms`);
        const ids = await runner.request<string[]>({ op: "ids", label: "hand" }, capMs);
        if (ids === "timeout") throw new Error("reading the hand SQL's members timed out");
        members = new Set(ids).size;
        await verify(handle, ids);
        break;
      }
      engineTimes.push(e.ms);
      if (r === 0) {
        const diff = await runner.request<CompareReply>({ op: "compare", a: "engine", b: "hand" }, capMs);
        if (diff === "timeout") throw new Error("comparing member sets timed out");
        if (diff.onlyACount || diff.onlyBCount || e.rows !== e.members || h.rows !== h.members)
          throw new Error(
            `hand-written SQL for "${handle}" disagrees with the engine: engine ${e.members} members (${e.rows} rows), ` +
              `hand ${h.members} (${h.rows} rows); ${diff.onlyACount} only in the engine's (${diff.onlyA.join(", ")}), ` +
              `${diff.onlyBCount} only in the hand's (${diff.onlyB.join(", ")})`,
          );
        members = e.members;
        if (!members) log(`warning: "${handle}" has no members in this store`);
      }
    }
    const t: SelectTiming = {
      handle,
      members,
      engineMs: finished ? median(engineTimes) : null,
      handMs: median(handTimes),
    };
    if (t.engineMs === null || (t.engineMs > 1.2 * t.handMs && t.engineMs - t.handMs > 20)) {
      const plan = async (q: [string, unknown[]]) => {
        const text = await runner.request<string>({ op: "explain", sql: q[0], params: q[1] }, capMs);
        return text === "timeout" ? "(timed out)" : text;
      };
      t.plans = { engine: await plan([engine.sql, engine.params]), hand: await plan(hand) };
    }
    timings.push(t);
    log(
      `${phase}: ${handle}: ${t.engineMs === null ? `engine did not finish in ${capMs / 1000} s` : `${members} members, engine ${t.engineMs.toFixed(0)} ms`}, hand ${t.handMs.toFixed(0)} ms`,
    );
  }
  return timings;
}

function selectFigures(timings: SelectTiming[], capMs: number, reps: number): Figure[] {
  const unfinished = timings.filter((t) => t.engineMs === null);
  const engine = timings.reduce((s, t) => s + (t.engineMs ?? capMs), 0) / 1000;
  const hand = timings.reduce((s, t) => s + t.handMs, 0) / 1000;
  return [
    {
      name: `SELECTs: engine SQL vs hand SQL, ${timings.length} segments, same driver, median of ${reps}${unfinished.length ? ` (${unfinished.length} stopped at ${capMs / 1000} s, counted as ${capMs / 1000} s)` : ""}`,
      value: engine,
      unit: "s",
      aim: "≤ 1.2×",
      ok: !unfinished.length && engine <= 1.2 * hand,
      baseline: hand,
      ratio: engine / hand,
    },
    {
      name: `  segments whose engine SQL did not finish in ${capMs / 1000} s`,
      value: unfinished.length,
      unit: "",
      aim: "0",
      ok: unfinished.length === 0,
    },
    ...timings.map((t) => ({
      name: `  ${t.engineMs === null ? "DID NOT FINISH " : ""}${t.handle} (${t.members.toLocaleString("en")} members)`,
      value: t.engineMs ?? capMs,
      unit: "ms",
      aim: "≤ 1.2×",
      ok: t.engineMs !== null && t.engineMs <= 1.2 * t.handMs,
      baseline: t.handMs,
      ratio: (t.engineMs ?? capMs) / Math.max(t.handMs, 0.001),
    })),
  ];
}

function printPlans(timings: SelectTiming[], title = "query plan"): void {
  for (const t of timings.filter((t) => t.plans)) {
    console.log(
      `\n${title}, ${t.handle} (engine ${t.engineMs === null ? "did not finish" : `${t.engineMs.toFixed(0)} ms`}, hand ${t.handMs.toFixed(0)} ms)`,
    );
    console.log(`  engine:\n${t.plans!.engine.replace(/^/gm, "    ")}`);
    console.log(`  hand:\n${t.plans!.hand.replace(/^/gm, "    ")}`);
  }
}

/** Set-based membership write with the same result as recompute's: members, history, size. */
export function handWrite(
  raw: Database.Database,
  segmentId: number,
  select: [string, unknown[]],
  now: number,
): number {
  const [sql, params] = select;
  raw.exec(`CREATE TEMP TABLE IF NOT EXISTS want (id TEXT PRIMARY KEY) WITHOUT ROWID`);
  let members = 0;
  raw.transaction(() => {
    raw.exec(`DELETE FROM temp.want`);
    members = raw.prepare(`INSERT OR IGNORE INTO temp.want (id) ${sql}`).run(...params).changes;
    raw
      .prepare(
        `INSERT INTO "SegmentChange" ("segmentId", "customerShopifyId", "joined", "at")
         SELECT ?, w.id, 1, ? FROM temp.want w
         WHERE w.id NOT IN (SELECT m."customerShopifyId" FROM "SegmentMember" m WHERE m."segmentId" = ?)`,
      )
      .run(segmentId, now, segmentId);
    raw
      .prepare(
        `INSERT INTO "SegmentChange" ("segmentId", "customerShopifyId", "joined", "at")
         SELECT ?, m."customerShopifyId", 0, ? FROM "SegmentMember" m
         WHERE m."segmentId" = ? AND m."customerShopifyId" NOT IN (SELECT id FROM temp.want)`,
      )
      .run(segmentId, now, segmentId);
    raw
      .prepare(
        `DELETE FROM "SegmentMember" WHERE "segmentId" = ? AND "customerShopifyId" NOT IN (SELECT id FROM temp.want)`,
      )
      .run(segmentId);
    raw
      .prepare(
        `INSERT OR IGNORE INTO "SegmentMember" ("segmentId", "customerShopifyId", "since") SELECT ?, id, ? FROM temp.want`,
      )
      .run(segmentId, now);
    raw
      .prepare(
        `UPDATE "Segment" SET "size" = (SELECT COUNT(*) FROM "SegmentMember" WHERE "segmentId" = ?), "computedAt" = ? WHERE "id" = ?`,
      )
      .run(segmentId, now, segmentId);
  })();
  return members;
}

async function recomputeFigures(
  db: PrismaClient,
  raw: Database.Database,
  runner: QueryRunner,
  store: BigStore,
  settings: { reps: number; capMs: number },
): Promise<{ figures: Figure[] }> {
  const { reps, capMs } = settings;
  const now = store.now;
  const shopId = store.shopId;
  // As the app does when a backfill finishes: statistics for the planner, then the presets.
  let started = performance.now();
  await refreshPlannerStatistics(db);
  const analyzeMs = ms(started);
  runner.stop(); // a fresh connection reads the new statistics
  started = performance.now();
  await ensurePresets(db, shopId);
  const presetsMs = ms(started);
  const { segments, rules, resolve } = await addCustomSegments(db, shopId);
  const threshold = (rules.get("high-spend-repeat")!.match as { all: { value: number }[] }).all[1].value;
  const x: HandContext = { shop: shopId, now: now.getTime(), threshold };
  const missing = segments.filter((s) => !HAND_SQL[s.handle]).map((s) => s.handle);
  if (missing.length) throw new Error(`no hand-written SQL for ${missing.join(", ")}`);
  log(
    `${segments.length} segments (top-spend threshold ${threshold}); presets created in ${presetsMs.toFixed(0)} ms`,
  );
  const queries = segments.map((s) => ({
    handle: s.handle,
    engine: compile(rules.get(s.handle)!, "sqlite", { now, shopId, resolve }),
    hand: HAND_SQL[s.handle](x),
  }));

  // Where the engine's SELECT cannot finish, the hand SQL is checked against the app's evaluator
  // (evaluate() on loadFacts(), which cases.json holds equal to the SQL) on a sample: up to 300
  // of its members and 700 other customers spread over the shop.
  const sample = raw
    .prepare(
      `SELECT "shopifyId" FROM "Customer" WHERE "shopId" = ? AND "deletedAt" IS NULL ORDER BY ("id" * 7919) % 1000003 LIMIT 700`,
    )
    .pluck()
    .all(shopId) as string[];
  const verify = async (handle: string, handIds: string[]) => {
    const hand = new Set(handIds);
    const ids = [...new Set([...handIds.slice(0, 300), ...sample])];
    const rule = rules.get(handle)!;
    const wrong: string[] = [];
    // In slices: loadFacts binds every product the customers bought, and Prisma refuses past 999.
    for (let i = 0; i < ids.length; i += 100) {
      const facts = await loadFacts(db, shopId, ids.slice(i, i + 100));
      for (const id of ids.slice(i, i + 100))
        if (evaluate(rule, facts.get(id)!, { now, resolve }).member !== hand.has(id)) wrong.push(id);
    }
    if (wrong.length)
      throw new Error(
        `hand-written SQL for "${handle}" disagrees with the evaluator for ${wrong.length} of ${ids.length} sampled customers (${wrong.slice(0, 3).join(", ")})`,
      );
    log(`"${handle}": hand SQL agrees with the evaluator on ${ids.length} sampled customers`);
  };

  // The database as the app leaves it after a backfill (migrated, with planner statistics).
  const selects = await compareSelects(runner, queries, reps, capMs, "select", verify);
  printPlans(selects);

  // The app's full recompute, segment by segment, from empty memberships; then the hand SELECT
  // and set-based write into a shadow segment, which must leave the same number of rows.
  const finished = selects.filter((t) => t.engineMs !== null);
  const rows: { recomputeMs: number; handWriteMs: number }[] = [];
  for (const t of finished) {
    started = performance.now();
    const result = await recompute(db, shopId, now, [t.handle]);
    const recomputeMs = ms(started);
    if (result[t.handle].size !== t.members || result[t.handle].joined !== t.members)
      throw new Error(
        `recompute of "${t.handle}" gave ${result[t.handle].size} members, the SELECT ${t.members}`,
      );
    const shadow = await db.segment.create({
      data: {
        shopId,
        handle: `hand-${t.handle}`.slice(0, 64),
        name: "bench shadow",
        rule: JSON.stringify({ version: 1, match: { all: [] } }),
      },
    });
    started = performance.now();
    const written = handWrite(raw, shadow.id, HAND_SQL[t.handle](x), now.getTime());
    const handWriteMs = ms(started);
    const held = raw
      .prepare(
        `SELECT (SELECT COUNT(*) FROM "SegmentMember" WHERE "segmentId" = ?) AS members,
           (SELECT COUNT(*) FROM "SegmentChange" WHERE "segmentId" = ?) AS changes`,
      )
      .get(shadow.id, shadow.id) as { members: number; changes: number };
    if (written !== t.members || held.members !== t.members || held.changes !== t.members)
      throw new Error(`the hand write of "${t.handle}" left ${held.members} members, expected ${t.members}`);
    rows.push({ recomputeMs, handWriteMs });
    log(
      `recompute ${t.handle}: ${recomputeMs.toFixed(0)} ms; hand SELECT + write ${handWriteMs.toFixed(0)} ms`,
    );
  }
  // Shadows out, so the latency run sees only the app's own segments.
  raw.exec(
    `DELETE FROM "SegmentMember" WHERE "segmentId" IN (SELECT id FROM "Segment" WHERE handle LIKE 'hand-%')`,
  );
  raw.exec(
    `DELETE FROM "SegmentChange" WHERE "segmentId" IN (SELECT id FROM "Segment" WHERE handle LIKE 'hand-%')`,
  );
  raw.exec(`DELETE FROM "Segment" WHERE handle LIKE 'hand-%'`);
  // The segments whose SELECT could not finish get their members from the hand SQL, so that the
  // latency run starts from complete memberships.
  for (const t of selects.filter((t) => t.engineMs === null)) {
    const id = segments.find((s) => s.handle === t.handle)!.id;
    handWrite(raw, id, HAND_SQL[t.handle](x), now.getTime());
  }

  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((s, r) => s + f(r), 0) / 1000;
  const recomputeS = sum((r) => r.recomputeMs);
  const handS = sum((r) => r.handWriteMs);
  const skipped = selects.length - finished.length;
  const figures: Figure[] = [
    {
      name: "planner statistics after the backfill (refreshPlannerStatistics: ANALYZE)",
      value: analyzeMs,
      unit: "ms",
    },
    { name: "ensurePresets", value: presetsMs, unit: "ms" },
    ...selectFigures(selects, capMs, reps),
    {
      name: `full recompute, ${rows.length} segments${skipped ? ` (${skipped} left out: SELECT did not finish)` : ""}: recompute() vs hand SQL + set-based write`,
      value: recomputeS,
      unit: "s",
      aim: "≤ 1.2×",
      ok: !skipped && recomputeS <= 1.2 * handS,
      baseline: handS,
      ratio: recomputeS / handS,
    },
  ];

  return { figures };
}

// ---- webhook → membership ----------------------------------------------------------------------------

export interface PickedCustomer {
  shopifyId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  state: string | null;
  tags: string;
  countryCode: string | null;
  provinceCode: string | null;
  city: string | null;
  acceptsEmailMarketing: number;
  shopifyCreatedAt: number;
}

const iso = (t: number) => new Date(t).toISOString();
const decimal = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;

/** customers/update: Shopify's sample payload with this customer's fields and one more tag. */
export function customerUpdate(template: Record<string, unknown>, c: PickedCustomer, updatedAt: number) {
  const tags = [...c.tags.split("|").filter(Boolean), "vip"];
  return {
    ...template,
    id: Number(c.shopifyId),
    admin_graphql_api_id: `gid://shopify/Customer/${c.shopifyId}`,
    email: c.email,
    first_name: c.firstName,
    last_name: c.lastName,
    state: c.state,
    tags: tags.join(", "),
    created_at: iso(c.shopifyCreatedAt),
    updated_at: iso(updatedAt),
    email_marketing_consent: {
      state: c.acceptsEmailMarketing ? "subscribed" : "not_subscribed",
      opt_in_level: "single_opt_in",
      consent_updated_at: null,
    },
    default_address: {
      ...(template.default_address as object),
      customer_id: Number(c.shopifyId),
      city: c.city,
      province_code: c.provinceCode,
      country_code: c.countryCode,
    },
  };
}

/** orders/create: Shopify's sample order, for this customer, with two of the shop's products. */
export function orderCreate(template: Record<string, unknown>, c: PickedCustomer, n: number, at: number) {
  const lineTemplate = (template.line_items as Record<string, unknown>[])[0];
  const products = [(n * 7) % PRODUCTS, (n * 13 + 5) % PRODUCTS];
  const price = 4999;
  const lines = products.map((p, i) => ({
    ...lineTemplate,
    id: 17_000_000_000_000 + n * 10 + i,
    admin_graphql_api_id: `gid://shopify/LineItem/${17_000_000_000_000 + n * 10 + i}`,
    product_id: Number(productId(p)),
    variant_id: Number(variantId(p, 0)),
    title: `Bench product ${p}`,
    name: `Bench product ${p}`,
    vendor: VENDORS[p % VENDORS.length],
    quantity: 1,
    price: decimal(price),
    total_discount: "0.00",
  }));
  const total = price * lines.length;
  const id = 5_900_000_000_000 + n;
  return {
    ...template,
    id,
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    name: `#B${n}`,
    email: c.email,
    contact_email: c.email,
    created_at: iso(at),
    updated_at: iso(at),
    processed_at: iso(at),
    cancelled_at: null,
    cancel_reason: null,
    closed_at: null,
    currency: "USD",
    financial_status: "paid",
    fulfillment_status: null,
    total_price: decimal(total),
    subtotal_price: decimal(total),
    total_discounts: "0.00",
    total_tax: "0.00",
    discount_codes: [],
    tags: "",
    cart_token: null,
    checkout_token: null,
    checkout_id: null,
    test: false,
    refunds: [],
    line_items: lines,
    customer: {
      ...(template.customer as object),
      id: Number(c.shopifyId),
      admin_graphql_api_id: `gid://shopify/Customer/${c.shopifyId}`,
      email: c.email,
      first_name: c.firstName,
      last_name: c.lastName,
      default_address: null,
    },
  };
}

/** What the webhook latency run reads besides the app's own calls: the picks and the checks. */
export interface LatencyReads {
  /** Up to `limit` live customers matching `which`, spread over the shop, disjoint by id parity. */
  pick(which: "lapsed" | "quiet", limit: number): Promise<PickedCustomer[]>;
  segmentId(handle: string): Promise<number>;
  isMember(segmentId: number, customerShopifyId: string): Promise<boolean>;
  largestSegment(): Promise<number>;
}

/** The reads on the SQLite file, through its own better-sqlite3 connection. */
export function sqliteLatencyReads(raw: Database.Database, store: BigStore): LatencyReads {
  const now = store.now;
  const shopId = store.shopId;
  // Spread over the whole shop (a scrambled id order), disjoint (odd and even ids).
  const pick = (where: string, limit: number) =>
    raw
      .prepare(
        `SELECT "shopifyId", "email", "firstName", "lastName", "state", "tags", "countryCode", "provinceCode", "city",
          "acceptsEmailMarketing", "shopifyCreatedAt" FROM "Customer"
         WHERE "shopId" = ? AND "deletedAt" IS NULL AND ${where} ORDER BY ("id" * 7919) % 1000003 LIMIT ?`,
      )
      .all(shopId, limit) as PickedCustomer[];
  const isMember = raw
    .prepare(`SELECT 1 FROM "SegmentMember" WHERE "segmentId" = ? AND "customerShopifyId" = ?`)
    .pluck();
  return {
    pick: async (which, limit) =>
      which === "lapsed"
        ? pick(`"lastOrderAt" < ${now.getTime() - 90 * DAY} AND "id" % 2 = 1`, limit)
        : pick(
            `"lastOrderAt" < ${now.getTime() - 60 * DAY} AND "tags" NOT LIKE '%|vip|%' AND "id" % 2 = 0`,
            limit,
          ),
    segmentId: async (handle) =>
      (
        raw.prepare(`SELECT id FROM "Segment" WHERE "shopId" = ? AND handle = ?`).get(shopId, handle) as {
          id: number;
        }
      ).id,
    isMember: async (segmentId, customerShopifyId) => !!isMember.get(segmentId, customerShopifyId),
    largestSegment: async () =>
      raw.prepare(`SELECT MAX(size) FROM "Segment" WHERE "shopId" = ?`).pluck().get(shopId) as number,
  };
}

export async function webhookLatency(
  db: PrismaClient,
  reads: LatencyReads,
  store: BigStore,
  deliveries: number,
): Promise<Figure[]> {
  const now = store.now;
  const orderTemplate = JSON.parse(fixtureText("orders/create")) as Record<string, unknown>;
  const customerTemplate = JSON.parse(fixtureText("customers/update")) as Record<string, unknown>;

  // Customers to touch, spread over the whole shop: orders go to lapsed customers (an order must
  // take them out of "lapsed-customers"), tag updates to customers who have not ordered in 60 days
  // (the "vip" tag must put them into "vip-lapsing"). Every other delivery goes to the baseline.
  const warmup = 20;
  const total = 2 * (deliveries + warmup);
  const lapsed = await reads.pick("lapsed", total);
  const quiet = await reads.pick("quiet", total);
  if (lapsed.length < total || quiet.length < total)
    throw new Error(`not enough customers to touch (${lapsed.length}, ${quiet.length}): use a bigger store`);
  const lapsedSegment = await reads.segmentId("lapsed-customers");
  const vipSegment = await reads.segmentId("vip-lapsing");

  const errors: string[] = [];
  const onError = (event: { topic: string }, error: unknown) =>
    errors.push(`${event.topic}: ${(error as Error).message}`);
  let membershipMs = 0;
  // The worker runs on the real clock (deliveries are stamped with it); membership is evaluated at
  // the store's `now`, as the data was generated for it.
  const withSegments = new InboxWorker(db, {
    onError,
    afterApply: async (event) => {
      const started = performance.now();
      await afterWebhook(db, event, now);
      membershipMs = ms(started);
    },
  });
  const bare = new InboxWorker(db, { onError });
  const deps = { db, secret: SECRET };

  const samples = { with: [] as number[], without: [] as number[], membership: [] as number[] };
  const byTopic = { "orders/create": [] as number[], "customers/update": [] as number[] };
  let checked = 0;
  for (let i = 0; i < total; i++) {
    const segments = i % 2 === 0;
    const order = Math.floor(i / 2) % 2 === 0;
    const c = order ? lapsed[i] : quiet[i];
    const at = now.getTime() - 20 * 60_000 + i * 1000;
    const line = order
      ? {
          topic: "orders/create",
          shop: BIG_SHOP,
          payload: orderCreate(orderTemplate, c, i, at),
          eventId: `bench-${i}`,
        }
      : {
          topic: "customers/update",
          shop: BIG_SHOP,
          payload: customerUpdate(customerTemplate, c, at),
          eventId: `bench-${i}`,
        };
    const init = webhookRequestInit({ ...line, triggeredAt: iso(at) }, SECRET);
    const body = Buffer.from(init.body as string);
    const headers = new Map(Object.entries(init.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const worker = segments ? withSegments : bare;

    const started = performance.now();
    const answer = await acceptWebhook("POST", (name) => headers.get(name) ?? null, body, deps);
    if (answer.status !== 200) throw new Error(`delivery ${i} refused: ${answer.status} ${answer.message}`);
    if ((await worker.drain()) !== 1) throw new Error(`delivery ${i} was not applied`);
    const elapsed = ms(started);

    if (i >= 2 * warmup) {
      if (segments) {
        samples.with.push(elapsed);
        samples.membership.push(membershipMs);
        byTopic[line.topic as keyof typeof byTopic].push(elapsed);
      } else samples.without.push(elapsed);
    }
    // The membership really moved for the touched customer.
    if (errors.length)
      throw new Error(`webhook ${line.topic} for ${c.shopifyId} failed: ${errors.join("; ")}`);
    if (segments) {
      const ok = order
        ? !(await reads.isMember(lapsedSegment, c.shopifyId))
        : await reads.isMember(vipSegment, c.shopifyId);
      if (!ok) throw new Error(`after ${line.topic} for ${c.shopifyId} the membership was not updated`);
      checked++;
    }
  }
  if (errors.length) throw new Error(`webhooks failed: ${errors.slice(0, 3).join("; ")}`);
  if (withSegments.failed || bare.failed) throw new Error("some deliveries failed to apply");
  log(`${checked} deliveries checked: each moved the touched customer's membership`);

  const stats = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  const w = stats(samples.with);
  const b = stats(samples.without);
  const m = stats(samples.membership);
  const o = stats(byTopic["orders/create"]);
  const cu = stats(byTopic["customers/update"]);
  const size = await reads.largestSegment();
  return [
    {
      name: `webhook → membership updated p50 (${samples.with.length} deliveries, in process)`,
      value: w.p50,
      unit: "ms",
      baseline: b.p50,
      ratio: w.p50 / b.p50,
    },
    {
      name: `webhook → membership updated p99`,
      value: w.p99,
      unit: "ms",
      aim: "< 20",
      ok: w.p99 < 20,
      baseline: b.p99,
      ratio: w.p99 / b.p99,
    },
    { name: "  of which afterWebhook (membership step) p50", value: m.p50, unit: "ms" },
    { name: "  of which afterWebhook (membership step) p99", value: m.p99, unit: "ms" },
    {
      name: "  orders/create p99 (order for a lapsed customer)",
      value: o.p99,
      unit: "ms",
      aim: "< 20",
      ok: o.p99 < 20,
    },
    { name: "  customers/update p99 (tag added)", value: cu.p99, unit: "ms", aim: "< 20", ok: cu.p99 < 20 },
    { name: `  largest segment while measuring (members)`, value: size, unit: "" },
  ];
}

/** Adds the bench's custom segments beside the presets; the shop's segments and rules after. */
export async function addCustomSegments(db: PrismaClient, shopId: number) {
  const { resolve: resolvePresets } = await shopSegments(db, shopId);
  for (const s of CUSTOM_SEGMENTS)
    await db.segment.create({
      data: {
        shopId,
        handle: s.handle,
        name: s.name,
        rule: JSON.stringify(parseRule(s.rule, resolvePresets)),
      },
    });
  return shopSegments(db, shopId);
}
