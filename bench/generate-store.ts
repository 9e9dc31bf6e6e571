/**
 * A big shop for the segment benchmarks: by default 1,000,000 customers and about 3,000,000 orders
 * over two years before a fixed `now`, written straight into a SQLite file migrated with the app's
 * own migrations (prisma/migrate.ts), in the formats the app writes (dates as integer
 * milliseconds, tags and discount codes as "|a|b|", Shopify ids as strings).
 *
 * dev/store.ts builds a store as webhook history, which is right for replay tests but would take
 * hours at this size; this writes rows in bulk with better-sqlite3 (the driver under the app's
 * Prisma adapter), secondary indexes dropped during the load and re-created from the migrations'
 * own statements afterwards, so the file ends up with exactly the app's schema.
 *
 * The file is cached in bench/.data/ under a key made of GENERATOR_VERSION, the size and a hash of
 * the migrations, so a rerun reuses it and a schema change regenerates it.
 */
import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { migrate } from "../prisma/migrate";
import { mulberry32 } from "../dev/webhooks";

/** Bump when what is generated changes, so cached files are not reused. */
export const GENERATOR_VERSION = 3;

export const BIG_SHOP = "bench-big.myshopify.com";
/** The store's "now": all history lies in the two years before it (the same moment dev/store.ts uses). */
export const BIG_NOW = new Date("2026-11-25T12:00:00Z");
const DAY = 86_400_000;
const HISTORY_DAYS = 730;
/** Storefront events are kept for this many days (visitor rows hold all-time counters). */
const EVENT_DAYS = 90;

// Deterministic Shopify ids, so that rules can name products, variants and collections.
export const PRODUCTS = 2000;
export const COLLECTIONS = 60;
export const collectionId = (i: number) => String(480_000_000_000 + i);
export const productId = (i: number) => String(8_100_000_000_000 + i);
export const variantId = (product: number, v: number) => String(45_000_000_000_000 + product * 10 + v);
export const customerId = (n: number) => String(6_200_000_000_000 + n);
const orderId = (n: number) => String(5_600_000_000_000 + n);
const lineId = (n: number) => String(14_000_000_000_000 + n);
const refundId = (n: number) => String(930_000_000_000 + n);
const checkoutId = (n: number) => String(31_000_000_000_000 + n);
const token = (kind: string, n: number) => `${kind}${n.toString(16).padStart(24, "0")}`;

export const VENDORS = [
  "Acme",
  "Northwind",
  "Lumen",
  "Fjord & Co",
  "Saltwater",
  "Kinfolk Goods",
  "Ridge",
  "Atelier Noor",
  "Pinecone",
  "Marlow",
];
/** Collection 0..39 are product-type collections, 40..59 merchandising ones (see below). */
export const COLLECTION_TITLES = [
  ...[
    "Shirts",
    "Outerwear",
    "Sunglasses",
    "Sneakers",
    "Hats",
    "Bags",
    "Socks",
    "Scarves",
    "Knitwear",
    "Denim",
  ].flatMap((t) => [t, `${t} — Men`, `${t} — Women`, `${t} — Kids`]),
  ...Array.from({ length: 20 }, (_, i) =>
    ["Best Sellers", "New Arrivals", "Sale", "Gifts", "Summer Essentials"][i % 5].concat(
      i < 5 ? "" : ` ${i}`,
    ),
  ),
];

const PLACES: [string | null, string | null, string, number][] = [
  ["US", "CA", "Los Angeles", 14],
  ["US", "NY", "New York", 12],
  ["US", "TX", "Austin", 7],
  ["US", "WA", "Seattle", 4],
  ["US", "IL", "Chicago", 4],
  ["CA", "ON", "Toronto", 5],
  ["CA", "QC", "Montréal", 3],
  ["GB", null, "London", 10],
  ["DE", null, "Berlin", 7],
  ["FR", null, "Paris", 6],
  ["NL", null, "Amsterdam", 3],
  ["ES", null, "Madrid", 3],
  ["IT", null, "Milan", 3],
  ["IE", null, "Dublin", 1],
  ["SE", null, "Stockholm", 2],
  ["AU", "NSW", "Sydney", 5],
  ["NZ", null, "Auckland", 1],
  ["JP", null, "Tokyo", 3],
  ["BR", null, "São Paulo", 2],
  ["MX", null, "Mexico City", 2],
  [null, null, "", 3],
];
const FIRST = ["Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Ines", "Kai", "Lena", "Omar", "Priya", "Sam"];
const LAST = ["Smith", "Garcia", "Chen", "Okafor", "Novak", "Müller", "Rossi", "Tanaka", "Dubois", "Silva"];
const LANDING = ["/", "/collections/sale", "/products/trail-jacket", "/blogs/news", "/pages/about"];
const REFERRERS = [
  null,
  "https://www.google.com/",
  "https://www.instagram.com/",
  "https://newsletter.example.com/",
];
const DEVICES = ["mobile", "mobile", "desktop", "tablet"];

export interface BigStoreCounts {
  customers: number;
  orders: number;
  lineItems: number;
  refunds: number;
  checkouts: number;
  abandonedCheckouts: number;
  carts: number;
  visitors: number;
  storefrontEvents: number;
  products: number;
  collections: number;
}

export interface BigStore {
  file: string;
  shopDomain: string;
  shopId: number;
  now: Date;
  counts: BigStoreCounts;
  /** Seconds the generation took (when this run generated it, or when the cached file was made). */
  generatedSeconds: number;
  reused: boolean;
}

function migrationsHash(): string {
  const dir = path.join(process.cwd(), "prisma", "migrations");
  const hash = createHash("sha256");
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name, "migration.sql");
    if (existsSync(file)) hash.update(name).update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 10);
}

/** Returns the cached store file for this size, generating it first if needed. */
export async function bigStore(options: {
  customers: number;
  log?: (line: string) => void;
}): Promise<BigStore> {
  const log = options.log ?? (() => {});
  const dir = path.join(process.cwd(), "bench", ".data");
  mkdirSync(dir, { recursive: true });
  const key = `store-v${GENERATOR_VERSION}-c${options.customers}-${migrationsHash()}`;
  const file = path.join(dir, `${key}.sqlite`);
  const metaFile = path.join(dir, `${key}.json`);
  if (existsSync(file) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, "utf8")) as Omit<BigStore, "file" | "reused" | "now">;
    return { ...meta, file, now: BIG_NOW, reused: true };
  }
  // Older generations of this size are stale now: make room (each is gigabytes at full size).
  for (const stale of readdirSync(dir).filter(
    (f) => f.includes(`-c${options.customers}-`) && !f.startsWith(key),
  ))
    rmSync(path.join(dir, stale), { force: true });
  log(
    `generating ${options.customers.toLocaleString("en")} customers into ${path.relative(process.cwd(), file)} …`,
  );
  const partial = `${file}.partial`;
  for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
  const started = performance.now();
  await migrate(`file:${partial}`);
  const { counts, shopId } = fill(partial, options.customers, log);
  const generatedSeconds = (performance.now() - started) / 1000;
  renameSync(partial, file);
  const meta = { shopDomain: BIG_SHOP, shopId, counts, generatedSeconds };
  writeFileSync(metaFile, JSON.stringify(meta, null, 2));
  log(`generated in ${generatedSeconds.toFixed(0)} s (${(statSync(file).size / 2 ** 20).toFixed(0)} MB)`);
  return { ...meta, file, now: BIG_NOW, reused: false };
}

const BIG_TABLES = [
  "Customer",
  "Order",
  "LineItem",
  "Refund",
  "Checkout",
  "CheckoutLine",
  "Cart",
  "CartLine",
  "Visitor",
  "Product",
  "Collection",
  "ProductCollection",
  "StorefrontEvent",
];

function fill(file: string, customers: number, log: (line: string) => void) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144");
  db.pragma("temp_store = MEMORY");
  // Rows are written child before parent in places; the keys are checked once at the end instead.
  db.pragma("foreign_keys = OFF");
  // The migrations' own index statements: dropped for the load, re-created (the same SQL) after.
  const indexes = db
    .prepare(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${BIG_TABLES.map(() => "?").join(", ")})`,
    )
    .all(...BIG_TABLES) as { name: string; sql: string }[];
  for (const index of indexes) db.exec(`DROP INDEX "${index.name}"`);

  const random = mulberry32(20261125);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const weighted = <T>(items: readonly [T, number][]): T => {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let r = random() * total;
    for (const [item, w] of items) if ((r -= w) < 0) return item;
    return items[items.length - 1][0];
  };
  const logNormal = (median: number, sigma: number) =>
    median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  const now = BIG_NOW.getTime();
  const start = now - HISTORY_DAYS * DAY;
  const T0 = now; // syncedAt of every row

  const shopId = Number(
    db
      .prepare(
        `INSERT INTO "Shop" (domain, name, currency, ianaTimezone, installedAt, backfillStatus, backfillAt) VALUES (?, ?, 'USD', 'America/New_York', ?, 'done', ?)`,
      )
      .run(BIG_SHOP, "Bench Big Outfitters", start, T0).lastInsertRowid,
  );

  // ---- catalogue -------------------------------------------------------------------------------
  const insertCollection = db.prepare(
    `INSERT INTO "Collection" (shopId, shopifyId, title, handle) VALUES (?, ?, ?, ?)`,
  );
  COLLECTION_TITLES.forEach((title, i) =>
    insertCollection.run(shopId, collectionId(i), title, title.toLowerCase().replace(/[^a-z0-9]+/g, "-")),
  );
  interface P {
    id: string;
    variants: string[];
    title: string;
    vendor: string;
    price: number;
  }
  const products: P[] = [];
  const insertProduct = db.prepare(
    `INSERT INTO "Product" (shopId, shopifyId, title, handle, vendor, productType, tags, shopifyUpdatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertPc = db.prepare(
    `INSERT INTO "ProductCollection" (shopId, productShopifyId, collectionShopifyId) VALUES (?, ?, ?)`,
  );
  for (let i = 0; i < PRODUCTS; i++) {
    const type = Math.floor(i / 4) % 10;
    const title = `${pick(["Classic", "Everyday", "Trail", "Coastal", "Midnight", "Studio"])} ${COLLECTION_TITLES[type * 4]} ${i + 1}`;
    const p: P = {
      id: productId(i),
      variants: Array.from({ length: 1 + (i % 3) }, (_, v) => variantId(i, v)),
      title,
      vendor: VENDORS[i % VENDORS.length],
      price: Math.max(500, Math.round(logNormal(3500, 0.6) / 100) * 100 - 1),
    };
    products.push(p);
    insertProduct.run(shopId, p.id, title, `p-${i}`, p.vendor, COLLECTION_TITLES[type * 4], "", start);
    // Its type's collection, its type-and-audience collection, and some merchandising collections.
    const cols = new Set([type * 4, type * 4 + 1 + (i % 3)]);
    for (let m = 40; m < COLLECTIONS; m++) if (random() < (m === 40 && i < 100 ? 1 : 0.04)) cols.add(m);
    for (const c of cols) insertPc.run(shopId, p.id, collectionId(c));
  }
  // Popularity: Zipf-like over products, sampled from a cumulative table.
  const cumulative: number[] = [];
  let acc = 0;
  for (let i = 0; i < PRODUCTS; i++) cumulative.push((acc += 1 / (i + 8)));
  const popular = (): P => {
    const r = random() * acc;
    let lo = 0;
    let hi = PRODUCTS - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return products[lo];
  };
  interface BasketLine {
    p: P;
    variant: string;
    quantity: number;
  }
  const basket = (): BasketLine[] => {
    const size = weighted<number>([
      [1, 55],
      [2, 28],
      [3, 12],
      [4, 5],
    ]);
    const lines: BasketLine[] = [];
    for (let i = 0; i < size; i++) {
      const p = popular();
      if (lines.some((l) => l.p === p)) continue;
      const quantity = weighted<number>([
        [1, 80],
        [2, 15],
        [3, 5],
      ]);
      lines.push({ p, variant: pick(p.variants), quantity });
    }
    return lines;
  };

  // ---- people and what they did -------------------------------------------------------------------
  const insertCustomer =
    db.prepare(`INSERT INTO "Customer" (id, shopId, shopifyId, email, firstName, lastName, state, tags,
      acceptsEmailMarketing, countryCode, provinceCode, city,
      ordersCount, totalSpent, firstOrderAt, lastOrderAt, shopifyCreatedAt, shopifyUpdatedAt, deletedAt, syncedAt)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertOrder =
    db.prepare(`INSERT INTO "Order" (id, shopId, shopifyId, name, customerShopifyId, email, currency, totalPrice,
      subtotalPrice, totalDiscounts, totalTax, totalRefunded, financialStatus, fulfillmentStatus, cancelledAt, cancelReason,
      discountCodes, tags, cartToken, checkoutToken, checkoutShopifyId, sourceName, test,
      processedAt, shopifyCreatedAt, shopifyUpdatedAt, syncedAt)
    VALUES (?, ?, ?, ?, ?, ?, 'USD', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, 'web', ?, ?, ?, ?, ?)`);
  const insertLine =
    db.prepare(`INSERT INTO "LineItem" (shopId, orderId, shopifyId, productId, variantId, title, sku, vendor,
      quantity, price, totalDiscount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertRefund = db.prepare(
    `INSERT INTO "Refund" (shopId, orderId, shopifyId, amount, createdAt) VALUES (?, ?, ?, ?, ?)`,
  );
  const insertCheckout =
    db.prepare(`INSERT INTO "Checkout" (id, shopId, shopifyId, token, cartToken, customerShopifyId, email,
      currency, totalPrice, subtotalPrice, itemCount, completedAt, orderShopifyId,
      shopifyCreatedAt, shopifyUpdatedAt, syncedAt) VALUES (?, ?, ?, ?, ?, ?, ?, 'USD', ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertCheckoutLine = db.prepare(
    `INSERT INTO "CheckoutLine" (checkoutId, productId, variantId, title, quantity, price) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const insertCart =
    db.prepare(`INSERT INTO "Cart" (id, shopId, token, currency, totalPrice, itemCount, shopifyCreatedAt,
      shopifyUpdatedAt, syncedAt) VALUES (?, ?, ?, 'USD', ?, ?, ?, ?, ?)`);
  const insertCartLine = db.prepare(
    `INSERT INTO "CartLine" (cartId, productId, variantId, title, quantity, price) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const insertVisitor =
    db.prepare(`INSERT INTO "Visitor" (id, shopId, customerShopifyId, cartToken, firstSeenAt, lastSeenAt,
      sessions, landingPage, referrer, utmSource, utmMedium, utmCampaign, deviceType) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertEvent =
    db.prepare(`INSERT INTO "StorefrontEvent" (shopId, visitorId, type, resourceId, occurredAt, receivedAt, data)
    VALUES (?, ?, ?, ?, ?, ?, '{}')`);
  /** The visitor's sessions, evenly spread from first to last visit; events kept for the last 90 days. */
  const addEvents = (visitor: string, sessions: number, firstSeen: number, lastSeen: number) => {
    const step = sessions > 1 ? (lastSeen - firstSeen) / (sessions - 1) : 0;
    for (let k = 0; k < sessions; k++) {
      const at = Math.round(lastSeen - k * step);
      if (at < now - EVENT_DAYS * DAY) break;
      insertEvent.run(shopId, visitor, "session_start", pick(LANDING), at, at);
      const p = popular();
      insertEvent.run(shopId, visitor, "product_view", p.id, at + 30_000, at + 30_000);
      counts.storefrontEvents += 2;
    }
  };

  const counts: BigStoreCounts = {
    customers: 0,
    orders: 0,
    lineItems: 0,
    refunds: 0,
    checkouts: 0,
    abandonedCheckouts: 0,
    carts: 0,
    visitors: 0,
    storefrontEvents: 0,
    products: PRODUCTS,
    collections: COLLECTIONS,
  };
  let orderNumber = 1000;

  const addCart = (lines: BasketLine[], at: number): string => {
    const id = ++counts.carts;
    const t = token("c", id);
    const total = lines.reduce((s, l) => s + l.p.price * l.quantity, 0);
    const items = lines.reduce((s, l) => s + l.quantity, 0);
    insertCart.run(id, shopId, t, total, items, at, at + 120_000, T0);
    for (const l of lines) insertCartLine.run(id, l.p.id, l.variant, l.p.title, l.quantity, l.p.price);
    return t;
  };

  const addCheckout = (
    lines: BasketLine[],
    customer: string | null,
    email: string | null,
    at: number,
    cartToken: string | null,
    order: { id: string; at: number } | null,
  ) => {
    const id = ++counts.checkouts;
    const t = token("k", id);
    const total = lines.reduce((s, l) => s + l.p.price * l.quantity, 0);
    const items = lines.reduce((s, l) => s + l.quantity, 0);
    insertCheckout.run(
      id,
      shopId,
      checkoutId(id),
      t,
      cartToken,
      customer,
      email,
      total,
      total,
      items,
      order ? order.at : null,
      order ? order.id : null,
      at,
      order ? order.at + 1000 : at,
      T0,
    );
    // Lines are kept for abandoned checkouts only: no segment reads a completed checkout's lines.
    if (!order) {
      counts.abandonedCheckouts++;
      for (const l of lines) insertCheckoutLine.run(id, l.p.id, l.variant, l.p.title, l.quantity, l.p.price);
    }
    return { id: checkoutId(id), token: t };
  };

  interface Stats {
    count: number;
    spent: number;
    first: number | null;
    last: number | null;
  }
  const addOrder = (
    customer: string | null,
    email: string | null,
    at: number,
    first: boolean,
    stats: Stats,
  ) => {
    const id = ++counts.orders;
    const shopifyId = orderId(id);
    const lines = basket();
    if (random() < 0.15) lines[0].quantity += Math.floor(logNormal(2, 0.8));
    const cartToken = token("c", 0x7000000 + id); // a cart that became this order (not stored)
    const checkout = addCheckout(lines, customer, email, at - 15 * 60_000, cartToken, { id: shopifyId, at });
    const code = first && random() < 0.25 ? "welcome10" : random() < 0.07 ? "sale20" : null;
    const rate = code === "welcome10" ? 0.1 : code ? 0.2 : 0;
    let subtotal = 0;
    let discounts = 0;
    for (const l of lines) {
      const discount = Math.round(l.p.price * l.quantity * rate);
      subtotal += l.p.price * l.quantity - discount;
      discounts += discount;
      insertLine.run(
        shopId,
        id,
        lineId(++counts.lineItems),
        l.p.id,
        l.variant,
        l.p.title,
        `SKU-${l.variant.slice(-5)}`,
        l.p.vendor,
        l.quantity,
        l.p.price,
        discount,
      );
    }
    const tax = Math.round(subtotal * 0.08);
    const total = subtotal + tax;
    // Fates: most paid; a few pending, refunded (fully or partly), cancelled; a handful of tests.
    const fate = random();
    const later = Math.min(at + (1 + random() * 20) * DAY, now - 3600_000);
    let status = "paid";
    let refunded = 0;
    let cancelledAt: number | null = null;
    if (fate < 0.01 && at > now - 60 * DAY) status = "pending";
    else if (fate < 0.035) {
      status = "refunded";
      refunded = total;
    } else if (fate < 0.06) {
      status = "partially_refunded";
      refunded = Math.round(total * 0.3);
    } else if (fate < 0.08) {
      status = "voided";
      cancelledAt = later;
    }
    const test = random() < 0.0005;
    if (refunded) {
      insertRefund.run(shopId, id, refundId(++counts.refunds), refunded, later);
    }
    const updatedAt = refunded || cancelledAt ? later : at + DAY;
    // The landing page and referrer are no longer kept; drawn still, so the seeded store is unchanged.
    pick(LANDING);
    pick(REFERRERS);
    insertOrder.run(
      id,
      shopId,
      shopifyId,
      `#${++orderNumber}`,
      customer,
      email,
      total,
      subtotal,
      discounts,
      tax,
      refunded,
      status,
      status === "paid" && at < now - 2 * DAY ? "fulfilled" : null,
      cancelledAt,
      cancelledAt ? "customer" : null,
      code ? `|${code}|` : "",
      cartToken,
      checkout.token,
      checkout.id,
      test ? 1 : 0,
      at,
      at,
      Math.min(updatedAt, now - 60_000),
      T0,
    );
    if (customer && !cancelledAt && !test) {
      stats.count++;
      stats.spent += total - refunded;
      if (stats.first === null || at < stats.first) stats.first = at;
      if (stats.last === null || at > stats.last) stats.last = at;
    }
  };

  const BATCH = 10_000;
  const begun = performance.now();
  db.exec("BEGIN");
  for (let n = 0; n < customers; n++) {
    const id = customerId(n);
    const firstName = pick(FIRST);
    const lastName = pick(LAST);
    const email = `${firstName}.${lastName}.${n}@example.com`.toLowerCase();
    // More customers joined recently than two years ago.
    const createdAt = Math.round(start + (now - start - DAY) * Math.pow(random(), 0.8));
    const [countryCode, provinceCode, city] = weighted(PLACES.map((p) => [p, p[3]] as [typeof p, number]));
    const tags: string[] = [];
    if (random() < 0.08) tags.push("newsletter");
    if (random() < 0.03) tags.push("vip");
    if (random() < 0.01) tags.push("wholesale");
    if (random() < 0.02) tags.push("instagram");

    // Orders: 78% buy, the first soon after the account is made; then repeat purchases at a
    // customer-specific pace until they churn (a fifth are loyal and rarely churn). This gives
    // about 3 orders per customer, a long tail, and ~6% of orders in the last 30 days.
    const stats: Stats = { count: 0, spent: 0, first: null, last: null };
    if (random() < 0.78) {
      const gap = logNormal(42, 1) * DAY;
      const churn = random() < 0.2 ? 0.04 : 0.3;
      let t = createdAt + random() * 2 * DAY;
      for (let i = 0; t < now - 2 * 3600_000; i++) {
        addOrder(id, email, Math.round(t / 1000) * 1000, i === 0, stats);
        if (random() < churn) break;
        t += -Math.log(1 - random()) * gap;
      }
    }
    if (random() < 0.05)
      addOrder(null, `guest.${n}@example.com`, Math.round(start + random() * (now - start)), false, stats);

    const deleted = random() < 0.003;
    random(); // was the phone number (no longer kept); drawn still, so the seeded store is unchanged
    insertCustomer.run(
      n + 1,
      shopId,
      id,
      deleted ? null : email,
      deleted ? null : firstName,
      deleted ? null : lastName,
      stats.count
        ? "enabled"
        : weighted<string>([
            ["enabled", 40],
            ["disabled", 55],
            ["invited", 5],
          ]),
      tags.length ? `|${tags.join("|")}|` : "",
      random() < 0.45 ? 1 : 0,
      countryCode,
      provinceCode,
      countryCode ? city : null,
      stats.count,
      stats.spent,
      stats.first,
      stats.last,
      createdAt,
      Math.max(createdAt, stats.last ?? createdAt) + 2000,
      deleted ? now - Math.round(random() * 300 * DAY) : null,
      T0,
    );
    counts.customers++;

    // Abandonment: checkouts started and left, carts left behind.
    if (random() < 0.22) {
      const k = weighted<number>([
        [1, 70],
        [2, 25],
        [3, 5],
      ]);
      for (let i = 0; i < k; i++) {
        const at = Math.round(createdAt + random() * (now - createdAt));
        const lines = basket();
        addCheckout(lines, id, email, at, addCart(lines, at - 10 * 60_000), null);
      }
    }
    // Storefront visitors: about 40% of customers are known to the storefront (some on two devices).
    if (random() < 0.4) {
      const devices = random() < 0.12 ? 2 : 1;
      let lastSeen = Math.round(now - Math.pow(random(), 2.5) * (now - createdAt));
      for (let d = 0; d < devices; d++) {
        const sessions = Math.min(60, 1 + Math.floor(-Math.log(1 - random()) * 2.2));
        const firstSeen = Math.max(createdAt - 30 * DAY, lastSeen - Math.round(random() * 200 * DAY));
        // The latest visitor of some customers holds a cart (the cart segments read it).
        const cart = d === 0 && random() < 0.18 ? addCart(basket(), lastSeen - 60_000) : null;
        const utm = random() < 0.3;
        addEvents(`v-${id}-${d}`, sessions, firstSeen, lastSeen);
        insertVisitor.run(
          `v-${id}-${d}`,
          shopId,
          id,
          cart,
          firstSeen,
          lastSeen,
          sessions,
          pick(LANDING),
          pick(REFERRERS),
          utm ? pick(["newsletter", "instagram", "google"]) : null,
          utm ? pick(["email", "social", "cpc"]) : null,
          utm ? pick(["spring", "summer-sale", "bfcm"]) : null,
          pick(DEVICES),
        );
        counts.visitors++;
        lastSeen -= 3600_000 + Math.round(random() * 30 * DAY);
      }
    }
    // Anonymous shoppers: a visitor with a cart, never logged in.
    if (random() < 0.2) {
      const at = Math.round(start + random() * (now - start));
      insertVisitor.run(
        `a-${n}`,
        shopId,
        null,
        addCart(basket(), at),
        at,
        at,
        1,
        "/",
        null,
        null,
        null,
        null,
        "mobile",
      );
      counts.visitors++;
    }

    if ((n + 1) % BATCH === 0) {
      db.exec("COMMIT");
      if ((n + 1) % (BATCH * 20) === 0) {
        const rate = (n + 1) / ((performance.now() - begun) / 1000);
        log(
          `  ${(n + 1).toLocaleString("en")} customers, ${counts.orders.toLocaleString("en")} orders (${rate.toFixed(0)} customers/s)`,
        );
      }
      db.exec("BEGIN");
    }
  }
  db.exec("COMMIT");
  log(
    `  rows written in ${((performance.now() - begun) / 1000).toFixed(0)} s; creating ${indexes.length} indexes …`,
  );
  const indexed = performance.now();
  for (const index of indexes) db.exec(index.sql);
  log(`  indexes in ${((performance.now() - indexed) / 1000).toFixed(0)} s`);
  const broken = db.prepare("PRAGMA foreign_key_check").all();
  if (broken.length)
    throw new Error(`generated rows break foreign keys: ${JSON.stringify(broken.slice(0, 3))}`);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return { counts, shopId };
}
