/**
 * The web pixel's endpoint (`POST /pixel` on the app's own host; extensions/slice-pixel sends it
 * Shopify's standard customer events in small batches).
 *
 * Nothing signs these requests (the app proxy does not carry them): every field is untrusted.
 * Checks, each refusing before anything is stored: the body's size (413), its shape (400, naming
 * the field), the shop named by the pixel's settings (404 when unknown or uninstalled), rates per
 * shop and per client id (429 with Retry-After), and that the browser is the client id's own (403
 * naming `clientId`): the first batch for a client id gets a random key back, which the pixel keeps
 * (browser.localStorage) and sends with every batch; a client id that has a key accepts only
 * batches carrying it; a visitor with no key yet (made by the theme script) is claimed by the first
 * batch. The browser's consent (Shopify's customerPrivacy, passed by the pixel) decides as for
 * `/events`: without analytics consent nothing about the shopper is stored.
 *
 * A batch is stored in one transaction or not at all: the visitor, its events (CONTRACTS C2,
 * engine/pixel-intake.ts), its cart token, and for a `checkout_completed` the link to the order
 * (CONTRACTS C5): `Order.visitorId` is set only when the app's own order data has that checkout
 * token (and that order id, when the event has one); otherwise the link waits in
 * PendingCheckoutLink for the order's webhook or backfill (linkPendingCheckout, called where
 * orders are stored). The visitor is linked to the order's customer only then.
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { isStorableText, UNSTORABLE_MESSAGE } from "../engine/rules";
import {
  CHECKOUT_EVENTS,
  PIXEL_EVENT_NAMES,
  pixelRows,
  type PixelEventIn,
  type PixelEventName,
} from "../engine/pixel-intake";
import { updateMembership } from "../segments/store.server";
import { dialectOfClient } from "../db.server";
import { date, hotFor, type HotQueries } from "../db-hot.server";
import { readLimited, MAX_AGE_MS, MAX_FUTURE_MS } from "./events.server";
import { TokenBuckets, type Take } from "./rate-limit.server";
export { forgetStalePendingLinks, linkPendingCheckout } from "./checkout-link.server";

export const MAX_PIXEL_BODY_BYTES = 16 * 1024;
export const MAX_PIXEL_EVENTS = 50;

/** Batches per client id: a burst of 20, then one a second (a pixel sends one every few seconds). */
export const pixelPerClient = new TokenBuckets({ capacity: 20, perSecond: 1 });
/** Batches per shop: a burst of 2,000, then 1,000 a second. */
export const pixelPerShop = new TokenBuckets({ capacity: 2000, perSecond: 1000, maxKeys: 10_000 });

const CORS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "POST, OPTIONS",
  "Access-Control-Allow-Headers": "Content-Type",
  "Access-Control-Max-Age": "86400",
} as const;

/** An answer as the production server writes it (no Response object on its fast path). */
export interface PixelAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function json(body: unknown, status: number, headers: Record<string, string> = {}): PixelAnswer {
  return {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...CORS, ...headers },
    body: JSON.stringify(body),
  };
}

const toResponse = (a: PixelAnswer) => new Response(a.body || null, { status: a.status, headers: a.headers });

const text = (max: number, min = 1) =>
  z
    .string()
    .min(min, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .refine(isStorableText, UNSTORABLE_MESSAGE);
const numericId = z.string().regex(/^\d{1,20}$/, "must be a numeric Shopify id");
const token = z
  .string()
  .regex(/^[A-Za-z0-9_\-.:~]{1,200}$/, "must be a token (1 to 200 url-safe characters)");
const time = z.string().datetime({ offset: true, message: "must be an ISO 8601 time with a zone" });

/** What each event must carry, by Shopify's name. */
const NEEDS: Partial<Record<PixelEventName, keyof PixelEventIn>> = {
  page_viewed: "path",
  product_viewed: "productId",
  product_added_to_cart: "productId",
  product_removed_from_cart: "productId",
  collection_viewed: "collectionId",
  search_submitted: "query",
  ...Object.fromEntries(CHECKOUT_EVENTS.map((name) => [name, "checkoutToken"])),
};

/** One event's shape (built once: a schema per request cost more than checking with it). */
const eventSchema = z
  .object({
    name: z.enum(PIXEL_EVENT_NAMES as [PixelEventName, ...PixelEventName[]], {
      errorMap: () => ({ message: `must be one of ${PIXEL_EVENT_NAMES.join(", ")}` }),
    }),
    at: time,
    path: text(2048)
      .refine((p) => p.startsWith("/"), "must be a path starting with /")
      .optional(),
    productId: numericId.optional(),
    collectionId: numericId.optional(),
    query: text(1000).optional(),
    checkoutToken: token.optional(),
    orderId: numericId.optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    const needed = NEEDS[e.name];
    if (needed && !e[needed])
      ctx.addIssue({ code: "custom", path: [needed], message: `is required for ${e.name}` });
    if (e.orderId && e.name !== "checkout_completed")
      ctx.addIssue({ code: "custom", path: ["orderId"], message: "is only for checkout_completed" });
  });

const batchSchema = z
  .object({
    shop: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$/, "must be the shop's myshopify.com domain"),
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{16,64}$/, "must be Shopify's client id (16 to 64 letters, digits, - or _)"),
    key: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, "must be the key this endpoint gave the pixel")
      .optional(),
    consent: z.object({ analytics: z.boolean() }).strict(),
    cartToken: z
      .string()
      .regex(
        /^[A-Za-z0-9_\-.:~=?&/]{1,300}$/,
        "must be the cart's id or token (at most 300 url-safe characters)",
      )
      .optional(),
    sentAt: time,
    events: z
      .array(eventSchema)
      .min(1, "must hold at least one event")
      .max(MAX_PIXEL_EVENTS, `must hold at most ${MAX_PIXEL_EVENTS} events`),
  })
  .strict();

type BatchIn = z.infer<typeof batchSchema>;
export type PixelBatch = Omit<BatchIn, "events"> & { events: PixelEventIn[] };

/**
 * A batch's shape checked (each problem naming its field), then its times moved to the app's
 * clock: shoppers' clocks are often off, so each event's time is moved by the browser's clock
 * error (`sentAt` against `now`), and must then be neither in the future nor older than 7 days.
 */
export function parsePixelBatch(
  raw: unknown,
  now: Date,
): { success: true; data: PixelBatch } | { success: false; problems: string[] } {
  const parsed = batchSchema.safeParse(raw);
  if (!parsed.success)
    return {
      success: false,
      problems: parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`),
    };
  const batch = parsed.data;
  const t = now.getTime();
  const skew = t - Date.parse(batch.sentAt);
  const problems: string[] = [];
  const events = batch.events.map((e, i): PixelEventIn => {
    const at = Date.parse(e.at) + skew;
    if (at > t + MAX_FUTURE_MS) problems.push(`events.${i}.at: is in the future`);
    else if (at < t - MAX_AGE_MS) problems.push(`events.${i}.at: is more than 7 days old`);
    const { at: _at, ...rest } = e;
    return { ...rest, at: Math.min(at, t) };
  });
  return problems.length ? { success: false, problems } : { success: true, data: { ...batch, events } };
}

const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Shops by domain, read at most every SHOP_TTL_MS (an uninstall takes effect within it). */
const SHOP_TTL_MS = 5000;
const shops = new Map<string, { id: number; uninstalledAt: Date | null; at: number }>();

async function shopOf(db: PrismaClient, domain: string, now: Date) {
  const held = shops.get(domain);
  if (held && now.getTime() - held.at < SHOP_TTL_MS && held.at <= now.getTime()) return held;
  const row = await db.shop.findUnique({ where: { domain }, select: { id: true, uninstalledAt: true } });
  if (!row) return null;
  if (shops.size > 10_000) shops.clear();
  const entry = { ...row, at: now.getTime() };
  shops.set(domain, entry);
  return entry;
}

/** Forget the shops this process read (tests that change a shop's install). */
export function forgetPixelShops(): void {
  shops.clear();
}

/** The browser is not the client id's own: refused, nothing stored. */
class NotYourClientId extends Error {}
class ClientIdOfAnotherShop extends Error {}

const limited = (take: Take & { ok: false }, error: string) =>
  json({ error }, 429, { "Retry-After": String(take.retryAfterSeconds) });

/** OPTIONS and POST /pixel. */
export async function receivePixel(request: Request, db: PrismaClient, now = new Date()): Promise<Response> {
  if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS });
  if (request.method !== "POST")
    return toResponse(json({ error: "use POST" }, 405, { Allow: "POST, OPTIONS" }));
  const body = await readLimited(request, MAX_PIXEL_BODY_BYTES);
  if (body === null)
    return toResponse(json({ error: `body: must be at most ${MAX_PIXEL_BODY_BYTES} bytes` }, 413));
  return receivePixelBody(body, db, now);
}

/** The checks after the size, on the body's text (also the production server's fast path). */
export async function receivePixelBody(body: string, db: PrismaClient, now = new Date()): Promise<Response> {
  return toResponse(await answerPixelBody(body, db, now));
}

async function answerPixelBody(body: string, db: PrismaClient, now = new Date()): Promise<PixelAnswer> {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return json({ error: "body: must be JSON" }, 400);
  }
  const parsed = parsePixelBatch(raw, now);
  if (!parsed.success) return json({ error: parsed.problems[0], problems: parsed.problems }, 400);
  const batch = parsed.data;

  const shop = await shopOf(db, batch.shop, now);
  if (!shop || shop.uninstalledAt) return json({ error: "shop: not installed" }, 404);

  const all = pixelPerShop.take(batch.shop, now);
  if (!all.ok)
    return limited(all, `too many pixel batches for this shop: try again in ${all.retryAfterSeconds} s`);
  const client = pixelPerClient.take(`${shop.id} ${batch.clientId}`, now);
  if (!client.ok)
    return limited(
      client,
      `clientId: too many batches from this client id: try again in ${client.retryAfterSeconds} s`,
    );

  // Without analytics consent nothing about the shopper is kept (the pixel sends no batch then;
  // one sent anyway is dropped).
  if (!batch.consent.analytics) return json({ ok: true, stored: 0 }, 200);

  let result: PixelStoreResult;
  try {
    result = await storePixelBatch(db, shop.id, batch, now);
  } catch (e) {
    if (e instanceof NotYourClientId)
      return json({ error: "clientId: this browser's key for the client id is missing or wrong" }, 403);
    if (e instanceof ClientIdOfAnotherShop) return json({ error: "clientId: belongs to another shop" }, 409);
    throw e;
  }
  if (result.customerId) {
    // Stored and never to be sent again: a failure here is logged; the customer's next update
    // or a full recompute brings their membership right.
    try {
      await updateMembership(db, shop.id, [result.customerId], ["visitor", "cart"], now);
    } catch (e) {
      console.error("pixel: membership update failed", e);
    }
  }
  return json(
    { ok: true, stored: result.stored, linked: result.linked, ...(result.key ? { key: result.key } : {}) },
    200,
  );
}

export interface PixelStoreResult {
  stored: number;
  /** Orders linked to the visitor by this batch. */
  linked: number;
  /** A new key for the pixel to keep (first contact, or a claim of a visitor without one). */
  key: string | null;
  /** The customer whose segments must follow (the visitor's, after linking). */
  customerId: string | null;
}

/** `gid://shopify/Cart/<token>?key=…` or `<token>?key=…` → `<token>` (the cart webhooks' token). */
export function cartTokenOf(raw: string | undefined): string | undefined {
  return raw?.replace(/^gid:\/\/shopify\/Cart\//, "").split("?")[0] || undefined;
}

interface Job {
  db: PrismaClient;
  shopId: number;
  batch: PixelBatch;
  now: Date;
  resolve: (result: PixelStoreResult) => void;
  reject: (error: unknown) => void;
}

/** Batches waiting for the transaction that stores them (group commit). */
const waiting: Job[] = [];
let draining = false;
const GROUP = 64;

/**
 * Stores a batch. Batches that arrive while a transaction runs share the next one (group commit,
 * as the webhook inbox does): one commit for many browsers. Each batch's checks come before its
 * writes, so a refused batch writes nothing and the others of its group go on; a group that fails
 * for another reason is run again one batch per transaction.
 */
export function storePixelBatch(
  db: PrismaClient,
  shopId: number,
  batch: PixelBatch,
  now: Date,
): Promise<PixelStoreResult> {
  return new Promise((resolve, reject) => {
    waiting.push({ db, shopId, batch, now, resolve, reject });
    void drain();
  });
}

async function drain(): Promise<void> {
  if (draining) return;
  draining = true;
  try {
    while (waiting.length) {
      // Let the requests that have arrived meanwhile be read first, so they join this group (on
      // SQLite a transaction runs without giving the event loop back until it commits).
      await new Promise((resolve) => setImmediate(resolve));
      const db = waiting[0].db;
      const group: Job[] = [];
      for (let i = 0; i < waiting.length && group.length < GROUP;)
        if (waiting[i].db === db) group.push(...waiting.splice(i, 1));
        else i++;
      try {
        const results = await runGroup(db, group);
        group.forEach((job, i) => {
          const result = results[i];
          if (result instanceof Error) job.reject(result);
          else job.resolve(result);
        });
      } catch {
        for (const job of group)
          try {
            const [result] = await runGroup(db, [job]).catch((e: unknown) =>
              // Two first batches of a new client id from two processes: again, it then finds the row.
              isUniqueViolation(e) ? runGroup(db, [job]) : Promise.reject(e),
            );
            if (result instanceof Error) job.reject(result);
            else job.resolve(result);
          } catch (error) {
            job.reject(error);
          }
      }
    }
  } finally {
    draining = false;
  }
}

/** A unique constraint refused a write: P2002 from Prisma's queries, P2010 with its kind from raw SQL. */
export function isUniqueViolation(e: unknown): boolean {
  const error = e as { code?: string; meta?: { driverAdapterError?: { cause?: { kind?: string } } } };
  return (
    error.code === "P2002" ||
    (error.code === "P2010" && error.meta?.driverAdapterError?.cause?.kind === "UniqueConstraintViolation")
  );
}

function runGroup(db: PrismaClient, group: Job[]): Promise<(PixelStoreResult | Error)[]> {
  const sqlite = dialectOfClient(db) === "sqlite";
  // SQLite: the visitors are read on the prepared-statement reader (db-hot.server.ts), which sees
  // what this transaction sees: the one writer connection is this transaction's until it commits.
  const reader = sqlite ? hotFor(db) : null;
  return db.$transaction((tx) => writeGroup(tx, group, reader));
}

interface HeldVisitor {
  shopId: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
  customerShopifyId: string | null;
  pixelKeyHash: string | null;
  cartToken: string | null;
  /** What this group sets (null: keeps the stored value). */
  newCartToken: string | null;
  newCustomerShopifyId: string | null;
  /** Not in the database yet (made by this group). */
  created: boolean;
  /** Sessions this group adds. */
  sessions: number;
  changed: boolean;
}

/** Rows per multi-row INSERT (well under SQLite's and PostgreSQL's limits on parameters). */
const ROWS_PER_INSERT = 400;

/** Raw SQL in the transaction: `?` placeholders, numbered for PostgreSQL; dates as SQLite keeps them. */
function sqlOn(tx: Prisma.TransactionClient, sqlite: boolean) {
  const prepare = (sql: string, params: unknown[]): [string, ...unknown[]] => {
    let n = 0;
    return [
      sqlite ? sql : sql.replace(/\?/g, () => `$${++n}`),
      ...(sqlite ? params.map((p) => (p instanceof Date ? p.getTime() : p)) : params),
    ];
  };
  return {
    rows: <T>(sql: string, params: unknown[]) => tx.$queryRawUnsafe<T[]>(...prepare(sql, params)),
    run: (sql: string, params: unknown[]) => tx.$executeRawUnsafe(...prepare(sql, params)),
  };
}

const marks = (n: number, row: string) => Array.from({ length: n }, () => row).join(", ");

/** Multi-row INSERTs of `columns`, ROWS_PER_INSERT rows at a time, then `tail` (ON CONFLICT …). */
async function insertRows(
  sql: ReturnType<typeof sqlOn>,
  table: string,
  columns: readonly string[],
  rows: unknown[][],
  tail = "",
): Promise<void> {
  const row = `(${columns.map(() => "?").join(", ")})`;
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const part = rows.slice(i, i + ROWS_PER_INSERT);
    await sql.run(
      `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES ${marks(part.length, row)}${tail}`,
      part.flat(),
    );
  }
}

const VISITOR_COLUMNS = [
  "id",
  "shopId",
  "firstSeenAt",
  "lastSeenAt",
  "sessions",
  "pixelKeyHash",
  "customerShopifyId",
  "cartToken",
] as const;
const EVENT_COLUMNS = ["shopId", "visitorId", "type", "resourceId", "occurredAt", "receivedAt"] as const;

/**
 * A group's batches in one transaction, set-based, in raw SQL (Prisma's query compiler costs about
 * a millisecond of CPU per call, the most of a batch's time): the group's visitors read in one
 * statement, the new ones inserted in one, the known ones updated in one (an upsert of rows read
 * and, on PostgreSQL, locked in this transaction), all events inserted in one. Each batch's checks
 * (its shop, its key) come before anything of it is kept in memory, so a refused batch (an Error
 * in the result) leaves nothing; what is written is written once at the end.
 */
async function writeGroup(
  tx: Prisma.TransactionClient,
  group: Job[],
  reader: HotQueries | null,
): Promise<(PixelStoreResult | Error)[]> {
  const sqlite = reader !== null;
  const sql = sqlOn(tx, sqlite);
  const ids = [...new Set(group.map((j) => j.batch.clientId))];
  // PostgreSQL: lock the visitors' rows as they are read: two groups of one visitor at once would
  // otherwise both read the old last-seen time. (SQLite has one writer, and this process's pixel
  // writes go one transaction at a time: a prepared statement on the reader, 5 µs, not Prisma's
  // fraction of a millisecond.)
  const select = `SELECT "id", "shopId", "firstSeenAt", "lastSeenAt", "customerShopifyId", "pixelKeyHash", "cartToken"
      FROM "Visitor" WHERE "id" IN (${marks(ids.length, "?")})${sqlite ? "" : " FOR UPDATE"}`;
  type VisitorRow = {
    id: string;
    shopId: number | bigint;
    firstSeenAt: unknown;
    lastSeenAt: unknown;
    customerShopifyId: string | null;
    pixelKeyHash: string | null;
    cartToken: string | null;
  };
  const rows = reader ? await reader.rows<VisitorRow>(select, ids) : await sql.rows<VisitorRow>(select, ids);
  const held = new Map<string, HeldVisitor>(
    rows.map(({ id, shopId, firstSeenAt, lastSeenAt, ...r }) => [
      id,
      {
        ...r,
        shopId: Number(shopId),
        firstSeenAt: date(firstSeenAt),
        lastSeenAt: date(lastSeenAt),
        newCartToken: null,
        newCustomerShopifyId: null,
        created: false,
        sessions: 0,
        changed: false,
      },
    ]),
  );
  const events: unknown[][] = [];
  const out: (PixelStoreResult | Error)[] = [];

  for (const { shopId, batch, now } of group) {
    const visitorId = batch.clientId;
    const v = held.get(visitorId);
    if (v && v.shopId !== shopId) {
      out.push(new ClientIdOfAnotherShop());
      continue;
    }
    let key: string | null = null;
    if (v?.pixelKeyHash) {
      if (!batch.key || !sameHash(hashKey(batch.key), v.pixelKeyHash)) {
        out.push(new NotYourClientId());
        continue;
      }
    } else key = randomBytes(32).toString("base64url");

    const mapped = pixelRows(batch.events, v ? v.lastSeenAt.getTime() : null);
    let firstAt = Infinity;
    let lastAt = -Infinity;
    let sessions = 0;
    for (const r of mapped) {
      if (r.at < firstAt) firstAt = r.at;
      if (r.at > lastAt) lastAt = r.at;
      if (r.type === "session_start") sessions++;
    }
    const first = new Date(firstAt);
    const last = new Date(lastAt);

    // checkout_completed: the order, when the app's own data has it with this token (and id).
    let customerShopifyId = v?.customerShopifyId ?? null;
    let linked = 0;
    const completions = new Map<string, string | undefined>();
    for (const e of batch.events)
      if (e.name === "checkout_completed" && e.checkoutToken) completions.set(e.checkoutToken, e.orderId);
    for (const [checkoutToken, orderId] of completions) {
      const order = await tx.order.findFirst({
        where: { shopId, checkoutToken, ...(orderId ? { shopifyId: orderId } : {}) },
        select: { id: true, visitorId: true, customerShopifyId: true },
      });
      if (!order) {
        // The first browser to report a checkout token keeps it (a token belongs to one checkout).
        const pending = await tx.pendingCheckoutLink.findUnique({
          where: { shopId_checkoutToken: { shopId, checkoutToken } },
          select: { visitorId: true },
        });
        if (!pending)
          await tx.pendingCheckoutLink.create({
            data: { shopId, checkoutToken, visitorId, orderShopifyId: orderId ?? null, createdAt: now },
          });
        continue;
      }
      if (order.visitorId && order.visitorId !== visitorId) continue; // another browser's already
      if (!order.visitorId) {
        await tx.order.update({ where: { id: order.id }, data: { visitorId } });
        linked++;
      }
      if (order.customerShopifyId) customerShopifyId = order.customerShopifyId;
    }

    const cartToken = cartTokenOf(batch.cartToken) ?? null;
    if (!v)
      held.set(visitorId, {
        shopId,
        firstSeenAt: first,
        lastSeenAt: last,
        customerShopifyId,
        pixelKeyHash: key ? hashKey(key) : null,
        cartToken,
        newCartToken: cartToken,
        newCustomerShopifyId: customerShopifyId,
        created: true,
        sessions,
        changed: true,
      });
    else {
      if (first < v.firstSeenAt) v.firstSeenAt = first;
      if (last > v.lastSeenAt) v.lastSeenAt = last;
      v.sessions += sessions;
      if (key) v.pixelKeyHash = hashKey(key);
      if (cartToken) v.cartToken = v.newCartToken = cartToken;
      if (customerShopifyId !== v.customerShopifyId)
        v.customerShopifyId = v.newCustomerShopifyId = customerShopifyId;
      v.changed = true;
    }
    for (const r of mapped) events.push([shopId, visitorId, r.type, r.resourceId, new Date(r.at), now]);
    out.push({ stored: mapped.length, linked, key, customerId: customerShopifyId });
  }

  const visitorRow = (id: string, v: HeldVisitor) => [
    id,
    v.shopId,
    v.firstSeenAt,
    v.lastSeenAt,
    v.sessions,
    v.pixelKeyHash,
    v.newCustomerShopifyId,
    v.newCartToken,
  ];
  const entries = [...held];
  // New visitors: a plain INSERT, so that one another process made meanwhile fails the group
  // (a unique violation; drain runs it again, and it then finds the row and its key).
  const created = entries.filter(([, v]) => v.created).map(([id, v]) => visitorRow(id, v));
  if (created.length) await insertRows(sql, "Visitor", VISITOR_COLUMNS, created);
  // Known ones (read above): their new values in one statement, each merged with the row as it is
  // (times widened, a customer or cart only set, never cleared), whatever wrote it meanwhile.
  const [least, greatest] = sqlite ? ["min", "max"] : ["LEAST", "GREATEST"];
  const changed = entries.filter(([, v]) => !v.created && v.changed).map(([id, v]) => visitorRow(id, v));
  if (changed.length)
    await insertRows(
      sql,
      "Visitor",
      VISITOR_COLUMNS,
      changed,
      ` ON CONFLICT ("id") DO UPDATE SET
        "firstSeenAt" = ${least}("Visitor"."firstSeenAt", excluded."firstSeenAt"),
        "lastSeenAt" = ${greatest}("Visitor"."lastSeenAt", excluded."lastSeenAt"),
        "sessions" = "Visitor"."sessions" + excluded."sessions",
        "pixelKeyHash" = excluded."pixelKeyHash",
        "customerShopifyId" = COALESCE(excluded."customerShopifyId", "Visitor"."customerShopifyId"),
        "cartToken" = COALESCE(excluded."cartToken", "Visitor"."cartToken")`,
    );
  if (events.length) await insertRows(sql, "StorefrontEvent", EVENT_COLUMNS, events);
  return out;
}

/**
 * server.ts's fast path for `/pixel`: the body's text (already cut at MAX_PIXEL_BODY_BYTES by the
 * server), answered with no router in between.
 */
export async function pixelFromNode(
  method: string,
  body: string | null,
  db: PrismaClient,
): Promise<PixelAnswer> {
  if (method === "OPTIONS") return { status: 204, headers: CORS, body: "" };
  if (method !== "POST") return json({ error: "use POST" }, 405, { Allow: "POST, OPTIONS" });
  if (body === null) return json({ error: `body: must be at most ${MAX_PIXEL_BODY_BYTES} bytes` }, 413);
  return answerPixelBody(body, db);
}
