/**
 * The facts the evaluator needs, read from the shop's copy: for one customer (storefront,
 * "why is this customer in this segment") or for many at once (checks and recompute).
 * Built from the same rows the SQL compiler reads, the same way (cases.json holds them equal).
 */
import type { PrismaClient } from "@prisma/client";
import { bool, date, dateOrNull, inChunks, marks, hotFor, type HotQueries } from "../db-hot.server";
import type { BrowserBase, BrowserFacts, Facts, OrderFacts, StorefrontEventFacts } from "../engine/evaluate";
import { CHECKOUT_EVENT_TYPES, checkoutStepOf } from "../engine/pixel-events";
import { FIELDS, type Field } from "../engine/rules";
import { splitList } from "../sync/records";
import { withPredictions } from "./prediction-facts.server";

/** Which parts of the facts to read; everything when not given. */
export interface FactsNeeded {
  lines: boolean;
  checkouts: boolean;
  visitors: boolean;
  events: boolean;
  /**
   * What an as-of evaluation needs besides (engine/as-of.ts): orders' cancellation times and dated
   * refunds, checkouts' completion times, carts' change times, when each ordered checkout's order
   * was processed, and each browser apart. Off unless asked for (the hot paths never need it).
   */
  history?: boolean;
  /** The customer's stored prediction (the "Predicted" fields); loaded unless false. */
  predictions?: boolean;
}

const EVERYTHING: FactsNeeded = { lines: true, checkouts: true, visitors: true, events: true };

/** What the given fields read: a webhook's update loads only that (the rest stays empty). */
export function factsNeededFor(fields: Iterable<Field>): FactsNeeded {
  const need: FactsNeeded = { lines: false, checkouts: false, visitors: false, events: false };
  need.predictions = false;
  for (const f of fields) {
    if (FIELDS[f].type === "ids" && f.startsWith("orders.")) need.lines = true;
    if (f.startsWith("checkouts.")) need.checkouts = true;
    if (f.startsWith("visitor.") || f.startsWith("cart.")) need.visitors = true;
    if (f.startsWith("visitor.") && ("windowed" in FIELDS[f] || f === "visitor.answers")) need.events = true;
    if (f.startsWith("predicted.")) need.predictions = true;
  }
  return need;
}

interface CustomerRow {
  shopifyId: string;
  shopifyCreatedAt: unknown;
  countryCode: string | null;
  provinceCode: string | null;
  city: string | null;
  tags: string;
  acceptsEmailMarketing: unknown;
  state: string | null;
  shopifyOrdersCount: number | null;
  shopifySpent: number | null;
  shopifyTotalsAt: unknown;
}
interface OrderRow {
  id: number;
  customerShopifyId: string;
  processedAt: unknown;
  totalPrice: number;
  totalRefunded: number;
  cancelledAt: unknown;
  test: unknown;
  discountCodes: string;
  financialStatus: string | null;
}
interface LineRow {
  orderId: number;
  productId: string | null;
  variantId: string | null;
  vendor: string | null;
}
interface CheckoutRow {
  customerShopifyId: string;
  shopifyCreatedAt: unknown;
  completedAt: unknown;
  orderShopifyId: string | null;
}
/** A Visitor row (VISITOR_COLUMNS): the browser's fields, its keys and cart token; times as the driver gives them. */
export interface VisitorRow<Time = unknown> extends BrowserBase<Time> {
  id: string;
  shopId: number;
  customerShopifyId: string | null;
  cartToken: string | null;
}
interface EventRow {
  visitorId: string;
  type: string;
  occurredAt: unknown;
  resourceId: string | null;
}

/** The storefront events of these visitors, by visitor id (loadFacts and loadVisitorFacts both read them). */
async function eventsOfVisitors(
  reader: ReturnType<typeof hotFor>,
  shopId: number,
  visitors: readonly { id: string }[],
): Promise<Map<string, StorefrontEventFacts[]>> {
  const eventsOf = new Map<string, StorefrontEventFacts[]>();
  if (!visitors.length) return eventsOf;
  const rows = await inChunks<EventRow>(
    reader,
    visitors.map((v) => v.id),
    (chunk) => ({
      sql: `SELECT "visitorId", "type", "occurredAt", "resourceId" FROM "StorefrontEvent"
            WHERE "shopId" = ? AND "visitorId" IN (${marks(chunk.length)})`,
      params: [shopId, ...chunk],
    }),
  );
  for (const e of rows) {
    const list = eventsOf.get(e.visitorId) ?? [];
    list.push({ type: e.type, at: date(e.occurredAt), resourceId: e.resourceId });
    eventsOf.set(e.visitorId, list);
  }
  return eventsOf;
}

/** One of a customer's browsers as `addBrowser` takes it: a Visitor row with its times as dates. */
export type Browser = Pick<VisitorRow<Date>, keyof BrowserBase | "cartToken">;

/**
 * A customer's browser joins their facts (browsers given latest first): sessions summed, first and
 * last seen over all of them; the landing page, referrer, UTM, device and cart from the latest.
 * The one way both reads (here, and the storefront's one statement on PostgreSQL) combine them.
 */
export function addBrowser(
  f: Facts,
  v: Browser,
  events: readonly StorefrontEventFacts[],
  carts: ReadonlyMap<string, NonNullable<Facts["cart"]>>,
): void {
  if (!f.visitor) {
    const { landingPage, referrer, utmSource, utmMedium, utmCampaign, deviceType } = v;
    const text = { landingPage, referrer, utmSource, utmMedium, utmCampaign, deviceType };
    f.visitor = { ...text, firstSeenAt: v.firstSeenAt, lastSeenAt: v.lastSeenAt, sessions: 0, events: [] };
    f.cart = v.cartToken ? (carts.get(v.cartToken) ?? null) : null;
  }
  const visitor = f.visitor;
  visitor.sessions += Number(v.sessions);
  if (v.firstSeenAt < visitor.firstSeenAt) visitor.firstSeenAt = v.firstSeenAt;
  if (v.lastSeenAt > visitor.lastSeenAt) visitor.lastSeenAt = v.lastSeenAt;
  visitor.events.push(...events);
}

/**
 * The browser asking (its stored visitor, or null for one not stored yet) joins the customer's
 * facts when it is not one of their browsers already: its sessions added (at least this one),
 * first and last seen widened (to `now` for a new one), its landing page, referrer, UTM and
 * device preferred, its events after theirs. The ordered checkouts stay the customer's: the caller
 * adds this browser's.
 */
export function joinThisBrowser(
  facts: Facts,
  visitor: BrowserBase | null | undefined,
  ownEvents: readonly StorefrontEventFacts[],
  now: Date,
): NonNullable<Facts["visitor"]> {
  const base = facts.visitor;
  const earlier = (a: Date | undefined, b: Date) => (a && a < b ? a : b);
  const later = (a: Date | undefined, b: Date) => (a && a > b ? a : b);
  facts.visitor = {
    sessions: (base?.sessions ?? 0) + Math.max(1, visitor?.sessions ?? 0),
    firstSeenAt: earlier(base?.firstSeenAt, visitor?.firstSeenAt ?? now),
    lastSeenAt: later(base?.lastSeenAt, visitor?.lastSeenAt ?? now),
    landingPage: visitor?.landingPage ?? base?.landingPage ?? null,
    referrer: visitor?.referrer ?? base?.referrer ?? null,
    utmSource: visitor?.utmSource ?? base?.utmSource ?? null,
    utmMedium: visitor?.utmMedium ?? base?.utmMedium ?? null,
    utmCampaign: visitor?.utmCampaign ?? base?.utmCampaign ?? null,
    deviceType: visitor?.deviceType ?? base?.deviceType ?? null,
    events: [...(base?.events ?? []), ...ownEvents],
    orderedCheckouts: base?.orderedCheckouts ?? [],
  };
  return facts.visitor;
}

export const VISITOR_COLUMNS = `"id", "shopId", "customerShopifyId", "cartToken", "firstSeenAt", "lastSeenAt", "sessions",
  "landingPage", "referrer", "utmSource", "utmMedium", "utmCampaign", "deviceType"`;

/**
 * The facts of these customers, read with prepared SQL (db-hot.server.ts): this runs on every
 * webhook that touches a customer and on every storefront decision for a signed-in customer.
 */
export async function loadFacts(
  db: PrismaClient,
  shopId: number,
  customerIds: string[],
  need: FactsNeeded = EVERYTHING,
): Promise<Map<string, Facts>> {
  const reader = hotFor(db);
  const ids = [...new Set(customerIds)];
  const [customers, orders, checkouts, visitors] = await Promise.all([
    inChunks<CustomerRow>(reader, ids, (chunk) => ({
      sql: `SELECT "shopifyId", "shopifyCreatedAt", "countryCode", "provinceCode", "city", "tags",
              "acceptsEmailMarketing", "state", "shopifyOrdersCount", "shopifySpent", "shopifyTotalsAt"
            FROM "Customer" WHERE "shopId" = ? AND "deletedAt" IS NULL AND "shopifyId" IN (${marks(chunk.length)})`,
      params: [shopId, ...chunk],
    })),
    inChunks<OrderRow>(reader, ids, (chunk) => ({
      sql: `SELECT "id", "customerShopifyId", "processedAt", "totalPrice", "totalRefunded", "cancelledAt", "test",
              "discountCodes", "financialStatus"
            FROM "Order" WHERE "shopId" = ? AND "customerShopifyId" IN (${marks(chunk.length)})`,
      params: [shopId, ...chunk],
    })),
    need.checkouts
      ? inChunks<CheckoutRow>(reader, ids, (chunk) => ({
          sql: `SELECT "customerShopifyId", "shopifyCreatedAt", "completedAt", "orderShopifyId"
                FROM "Checkout" WHERE "shopId" = ? AND "customerShopifyId" IN (${marks(chunk.length)})`,
          params: [shopId, ...chunk],
        }))
      : [],
    need.visitors || need.events
      ? inChunks<VisitorRow>(reader, ids, (chunk) => ({
          sql: `SELECT ${VISITOR_COLUMNS} FROM "Visitor"
                WHERE "shopId" = ? AND "customerShopifyId" IN (${marks(chunk.length)})`,
          params: [shopId, ...chunk],
        }))
      : [],
  ]);
  // The latest visitor first: its text and cart describe the person.
  visitors.sort((a, b) => date(b.lastSeenAt).getTime() - date(a.lastSeenAt).getTime());
  const lines = need.lines
    ? await inChunks<LineRow>(
        reader,
        orders.map((o) => String(o.id)),
        (chunk) => ({
          sql: `SELECT "orderId", "productId", "variantId", "vendor" FROM "LineItem"
                WHERE "orderId" IN (${marks(chunk.length)}) ORDER BY "id"`,
          params: chunk.map(Number),
        }),
      )
    : [];
  // Only the products these orders bought: their collections and types.
  const productIds = [...new Set(lines.map((l) => l.productId))].filter((p): p is string => !!p);
  const [collections, products, carts, eventsOf] = await Promise.all([
    inChunks<{ productShopifyId: string; collectionShopifyId: string }>(reader, productIds, (chunk) => ({
      sql: `SELECT "productShopifyId", "collectionShopifyId" FROM "ProductCollection"
            WHERE "shopId" = ? AND "productShopifyId" IN (${marks(chunk.length)})`,
      params: [shopId, ...chunk],
    })),
    inChunks<{ shopifyId: string; productType: string | null }>(reader, productIds, (chunk) => ({
      sql: `SELECT "shopifyId", "productType" FROM "Product" WHERE "shopId" = ? AND "shopifyId" IN (${marks(chunk.length)})`,
      params: [shopId, ...chunk],
    })),
    loadCarts(
      db,
      shopId,
      visitors.map((v) => v.cartToken),
      need.history,
    ),
    need.events ? eventsOfVisitors(reader, shopId, visitors) : new Map<string, StorefrontEventFacts[]>(),
  ]);
  const refundsOf = need.history ? await refundsOfOrders(db, orders) : null;
  const collectionsOf = new Map<string, string[]>();
  for (const pc of collections) {
    const list = collectionsOf.get(pc.productShopifyId) ?? [];
    list.push(pc.collectionShopifyId);
    collectionsOf.set(pc.productShopifyId, list);
  }
  const typeOf = new Map(products.map((p) => [p.shopifyId, p.productType]));
  const linesOf = new Map<number, LineRow[]>();
  for (const l of lines) {
    const list = linesOf.get(l.orderId) ?? [];
    list.push(l);
    linesOf.set(l.orderId, list);
  }
  const facts = new Map<string, Facts>();
  for (const c of customers)
    facts.set(c.shopifyId, {
      customer: {
        createdAt: dateOrNull(c.shopifyCreatedAt),
        countryCode: c.countryCode,
        provinceCode: c.provinceCode,
        city: c.city,
        tags: splitList(c.tags),
        acceptsEmailMarketing: bool(c.acceptsEmailMarketing),
        state: c.state,
        shopifyTotals:
          c.shopifyOrdersCount === null || c.shopifySpent === null || c.shopifyTotalsAt === null
            ? null
            : {
                orders: Number(c.shopifyOrdersCount),
                spent: Number(c.shopifySpent),
                at: date(c.shopifyTotalsAt),
              },
      },
      orders: [],
      checkouts: [],
      cart: null,
      visitor: null,
    });
  for (const o of orders) {
    const f = facts.get(o.customerShopifyId);
    if (!f) continue;
    const order: OrderFacts = {
      processedAt: date(o.processedAt),
      total: Number(o.totalPrice),
      refunded: Number(o.totalRefunded),
      cancelled: o.cancelledAt !== null,
      ...(refundsOf ? { cancelledAt: dateOrNull(o.cancelledAt), refunds: refundsOf.get(o.id) ?? [] } : {}),
      test: bool(o.test),
      discountCodes: splitList(o.discountCodes),
      financialStatus: o.financialStatus,
      lines: (linesOf.get(o.id) ?? []).map((l) => ({
        productId: l.productId,
        variantId: l.variantId,
        vendor: l.vendor,
        productType: l.productId ? (typeOf.get(l.productId) ?? null) : null,
        collectionIds: l.productId ? (collectionsOf.get(l.productId) ?? []) : [],
      })),
    };
    f.orders.push(order);
  }
  for (const k of checkouts) {
    facts.get(k.customerShopifyId)?.checkouts.push({
      createdAt: date(k.shopifyCreatedAt),
      completed: k.completedAt !== null || k.orderShopifyId !== null,
      ...(need.history ? { completedAt: dateOrNull(k.completedAt) } : {}),
    });
  }
  // Visitors: sessions summed, first/last over all; text and cart from the latest one.
  for (const v of visitors) {
    const f = facts.get(v.customerShopifyId ?? "");
    if (!f) continue;
    const browser = { ...v, firstSeenAt: date(v.firstSeenAt), lastSeenAt: date(v.lastSeenAt) };
    addBrowser(f, browser, eventsOf.get(v.id) ?? [], carts);
    // As-of evaluation combines them again from what existed then: each browser apart.
    if (need.history && f.visitor)
      (f.visitor.browsers ??= []).push(browserOf(browser, eventsOf.get(v.id), carts));
  }
  await withOrderedCheckouts(db, shopId, facts.values());
  if (need.history) await withOrderedCheckoutTimes(db, shopId, facts.values());
  if (need.predictions !== false) await withPredictions(reader, shopId, facts);
  return facts;
}

function browserOf(
  v: Browser,
  events: StorefrontEventFacts[] | undefined,
  carts: ReadonlyMap<string, NonNullable<Facts["cart"]>>,
): BrowserFacts {
  const { firstSeenAt, lastSeenAt, landingPage, referrer, utmSource, utmMedium, utmCampaign, deviceType } = v;
  return {
    ...{ firstSeenAt, lastSeenAt, landingPage, referrer, utmSource, utmMedium, utmCampaign, deviceType },
    sessions: Number(v.sessions),
    cart: v.cartToken ? (carts.get(v.cartToken) ?? null) : null,
    events: events ?? [],
  };
}

/** These orders' refunds, dated, by order id (as-of evaluation adds back those made later). */
async function refundsOfOrders(
  db: PrismaClient,
  orders: readonly { id: number }[],
): Promise<Map<number, { at: Date; amount: number }[]>> {
  const rows = await inChunks<{ orderId: number; amount: number; createdAt: unknown }>(
    hotFor(db),
    orders.map((o) => String(o.id)),
    (chunk) => ({
      sql: `SELECT "orderId", "amount", "createdAt" FROM "Refund" WHERE "orderId" IN (${marks(chunk.length)})`,
      params: chunk.map(Number),
    }),
  );
  const out = new Map<number, { at: Date; amount: number }[]>();
  for (const r of rows) {
    const list = out.get(Number(r.orderId)) ?? [];
    list.push({ at: date(r.createdAt), amount: Number(r.amount) });
    out.set(Number(r.orderId), list);
  }
  return out;
}

/**
 * Sets `visitor.orderedCheckoutsAt` for the tokens `withOrderedCheckouts` found: when the shop's
 * first order of each was processed (as-of evaluation: a checkout ordered later was not yet).
 */
async function withOrderedCheckoutTimes(
  db: PrismaClient,
  shopId: number,
  all: Iterable<Facts>,
): Promise<void> {
  const people = [...all].map((f) => f.visitor).filter((v): v is NonNullable<Facts["visitor"]> => !!v);
  const tokens = [...new Set(people.flatMap((v) => v.orderedCheckouts ?? []))];
  const rows = await inChunks<{ checkoutToken: string; at: unknown }>(hotFor(db), tokens, (chunk) => ({
    sql: `SELECT "checkoutToken", MIN("processedAt") AS "at" FROM "Order"
          WHERE "shopId" = ? AND "checkoutToken" IN (${marks(chunk.length)}) GROUP BY "checkoutToken"`,
    params: [shopId, ...chunk],
  }));
  const at = new Map(rows.map((r) => [r.checkoutToken, date(r.at)]));
  for (const v of people)
    v.orderedCheckoutsAt = Object.fromEntries((v.orderedCheckouts ?? []).map((t) => [t, at.get(t)!]));
}

/**
 * Sets each person's `visitor.orderedCheckouts`: the checkout tokens of their pixel checkout
 * events that this shop holds an order for (Order.checkoutToken, any customer or none, cancelled
 * and test orders included: the checkout was completed all the same). The pixel can miss
 * checkout_completed (tab closed, blocker, consent changed at checkout); the order webhook does
 * not. The one place these are loaded: segment facts, per-visitor facts and the storefront
 * decision (with the admin preview, which runs it) all call this, as sql.ts's ORDERED reads it.
 */
export async function withOrderedCheckouts(
  db: PrismaClient,
  shopId: number,
  all: Iterable<Facts>,
): Promise<void> {
  const people: NonNullable<Facts["visitor"]>[] = [];
  const tokens = new Set<string>();
  for (const f of all) {
    if (!f.visitor) continue;
    people.push(f.visitor);
    for (const e of f.visitor.events) if (e.resourceId && checkoutStepOf(e.type)) tokens.add(e.resourceId);
  }
  const rows = tokens.size
    ? await inChunks<{ checkoutToken: string }>(hotFor(db), [...tokens], (chunk) => ({
        sql: `SELECT DISTINCT "checkoutToken" FROM "Order" WHERE "shopId" = ? AND "checkoutToken" IN (${marks(chunk.length)})`,
        params: [shopId, ...chunk],
      }))
    : [];
  const ordered = new Set(rows.map((r) => r.checkoutToken));
  for (const v of people) {
    const mine = new Set<string>();
    for (const e of v.events)
      if (e.resourceId && ordered.has(e.resourceId) && checkoutStepOf(e.type)) mine.add(e.resourceId);
    v.orderedCheckouts = [...mine];
  }
}

/** Carts by token, with their products: what `cart.*` fields read. */
export async function loadCarts(
  db: PrismaClient,
  shopId: number,
  cartTokens: (string | null)[],
  /** With each cart's `updatedAt` (as-of evaluation). */
  history = false,
): Promise<Map<string, NonNullable<Facts["cart"]>>> {
  const tokens = [...new Set(cartTokens.filter((t): t is string => !!t))];
  const rows = await inChunks<{
    token: string;
    totalPrice: number;
    itemCount: number;
    productId: string | null;
    shopifyUpdatedAt?: unknown;
  }>(hotFor(db), tokens, (chunk) => ({
    sql: `SELECT c."token", c."totalPrice", c."itemCount", l."productId"${history ? `, c."shopifyUpdatedAt"` : ""}
            FROM "Cart" c LEFT JOIN "CartLine" l ON l."cartId" = c."id"
            WHERE c."shopId" = ? AND c."token" IN (${marks(chunk.length)}) ORDER BY c."id", l."id"`,
    params: [shopId, ...chunk],
  }));
  const carts = new Map<string, NonNullable<Facts["cart"]>>();
  for (const r of rows) {
    let cart = carts.get(r.token);
    if (!cart) {
      cart = { value: Number(r.totalPrice), itemCount: Number(r.itemCount), productIds: [] };
      if (history) cart.updatedAt = date(r.shopifyUpdatedAt);
      carts.set(r.token, cart);
    }
    if (r.productId) cart.productIds.push(r.productId);
  }
  return carts;
}

/**
 * The facts of these visitors (browsers), as the per-visitor SQL reads them: each visitor's own
 * row, events and cart, with the customer facts of the customer it is linked to (a deleted or
 * unknown customer, or none, leaves a guest: no customer, orders or checkouts).
 */
export async function loadVisitorFacts(
  db: PrismaClient,
  shopId: number,
  visitorIds: string[],
  need: FactsNeeded = EVERYTHING,
): Promise<Map<string, Facts>> {
  const reader = hotFor(db);
  const visitors = await inChunks<VisitorRow>(reader, [...new Set(visitorIds)], (chunk) => ({
    sql: `SELECT ${VISITOR_COLUMNS} FROM "Visitor" WHERE "shopId" = ? AND "id" IN (${marks(chunk.length)})`,
    params: [shopId, ...chunk],
  }));
  const customerIds = visitors.map((v) => v.customerShopifyId).filter((id): id is string => !!id);
  const [customers, carts, eventsOf] = await Promise.all([
    loadFacts(db, shopId, customerIds, { ...need, visitors: false, events: false }),
    loadCarts(
      db,
      shopId,
      visitors.map((v) => v.cartToken),
      need.history,
    ),
    need.events ? eventsOfVisitors(reader, shopId, visitors) : new Map<string, StorefrontEventFacts[]>(),
  ]);
  const facts = new Map<string, Facts>();
  for (const v of visitors) {
    const customer = v.customerShopifyId ? customers.get(v.customerShopifyId) : undefined;
    const { landingPage, referrer, utmSource, utmMedium, utmCampaign, deviceType } = v;
    facts.set(v.id, {
      customer: customer?.customer ?? null,
      // Each visitor its own copy: the evaluator only reads them, but two browsers of one customer share none.
      orders: [...(customer?.orders ?? [])],
      checkouts: [...(customer?.checkouts ?? [])],
      prediction: customer?.prediction ?? null,
      cart: v.cartToken ? (carts.get(v.cartToken) ?? null) : null,
      visitor: {
        landingPage,
        referrer,
        utmSource,
        utmMedium,
        utmCampaign,
        deviceType,
        sessions: Number(v.sessions),
        firstSeenAt: date(v.firstSeenAt),
        lastSeenAt: date(v.lastSeenAt),
        events: eventsOf.get(v.id) ?? [],
      },
    });
  }
  await withOrderedCheckouts(db, shopId, facts.values());
  if (need.history) await withOrderedCheckoutTimes(db, shopId, facts.values());
  return facts;
}

/** A timestamp(3) inside JSON: PostgreSQL writes it as ISO text without a zone; it is UTC. */
export const jsonDate = (text: string): Date => new Date(text.endsWith("Z") ? text : `${text}Z`);

/** [type, occurredAt, resourceId] */
export type EventJson = [string, string, string | null];
/** [processedAt, totalPrice, totalRefunded, cancelled, test, discountCodes, financialStatus, lines] */
export type OrderJson = [
  string,
  number,
  number,
  boolean,
  boolean,
  string,
  string | null,
  [string | null, string | null, string | null, string | null, string[] | null][] | null,
];
/** A Visitor row inside JSON (the one-statement reads), with its events where they were read. */
export interface VisitorJson extends VisitorRow<string> {
  events?: EventJson[] | null;
}
/** A Customer row inside JSON (the one-statement reads). */
export interface CustomerJson {
  shopifyCreatedAt: string | null;
  countryCode: string | null;
  provinceCode: string | null;
  city: string | null;
  tags: string;
  acceptsEmailMarketing: boolean;
  state: string | null;
  shopifyOrdersCount: number | null;
  shopifySpent: number | null;
  shopifyTotalsAt: string | null;
}

/**
 * The JSON sub-selects of one customer's facts that the one-statement reads share, in this order:
 * "customer" (a row, `CustomerJson`), "orders" (`OrderJson`s, with their lines' product types and
 * collections when `need.lines`), "checkouts" and "visitors" (the customer's browsers, latest first,
 * `VisitorJson`s with their events when `need.events`), each `<expression> AS "<name>"`, NULL when
 * not needed. `shop` and `customer` are SQL references of the outer query to the shop's id and the
 * customer's Shopify id (the membership pass's `s.shop`/`p.id`, the decision's `p.shop`/`p.customer`).
 * customerFactsFromJson and addBrowser read what they return. A line's product type is a scalar
 * sub-select by Product's unique key (the decision's plan was measured so, README "Storefront").
 */
export function customerJsonSelects(need: FactsNeeded, shop: string, customer: string): string[] {
  const lines = need.lines
    ? `(SELECT json_agg(json_build_array(l."productId", l."variantId", l."vendor",
          (SELECT pr."productType" FROM "Product" pr WHERE pr."shopId" = ${shop} AND pr."shopifyId" = l."productId"),
          (SELECT json_agg(pc."collectionShopifyId") FROM "ProductCollection" pc
            WHERE pc."shopId" = ${shop} AND pc."productShopifyId" = l."productId")) ORDER BY l."id")
        FROM "LineItem" l WHERE l."orderId" = o."id")`
    : "NULL";
  const events = need.events
    ? `(SELECT json_agg(json_build_array(e."type", e."occurredAt", e."resourceId")) FROM "StorefrontEvent" e
        WHERE e."shopId" = ${shop} AND e."visitorId" = cv."id")`
    : "NULL";
  return [
    `(SELECT row_to_json(x) FROM (SELECT "shopifyCreatedAt", "countryCode", "provinceCode", "city", "tags",
        "acceptsEmailMarketing", "state", "shopifyOrdersCount", "shopifySpent", "shopifyTotalsAt"
      FROM "Customer" WHERE "shopId" = ${shop} AND "deletedAt" IS NULL AND "shopifyId" = ${customer}) x) AS "customer"`,
    `(SELECT json_agg(json_build_array(o."processedAt", o."totalPrice", o."totalRefunded", o."cancelledAt" IS NOT NULL,
        o."test", o."discountCodes", o."financialStatus", ${lines}))
      FROM "Order" o WHERE o."shopId" = ${shop} AND o."customerShopifyId" = ${customer}) AS "orders"`,
    need.checkouts
      ? `(SELECT json_agg(json_build_array(k."shopifyCreatedAt", k."completedAt" IS NOT NULL OR k."orderShopifyId" IS NOT NULL))
          FROM "Checkout" k WHERE k."shopId" = ${shop} AND k."customerShopifyId" = ${customer}) AS "checkouts"`
      : `NULL AS "checkouts"`,
    need.visitors || need.events
      ? `(SELECT json_agg(x ORDER BY x."lastSeenAt" DESC) FROM (SELECT ${VISITOR_COLUMNS}, ${events} AS "events"
          FROM "Visitor" cv WHERE cv."shopId" = ${shop} AND cv."customerShopifyId" = ${customer}) x) AS "visitors"`
      : `NULL AS "visitors"`,
  ];
}

/**
 * A customer's facts from the JSON a one-statement read returns (the membership pass's
 * factsAndHeldInOne and the storefront's visitorFactsInOne), as loadFacts builds them from rows:
 * no cart and no storefront side yet (the caller adds the browsers).
 */
export function customerFactsFromJson(
  c: CustomerJson,
  orders: OrderJson[] | null,
  checkouts: [string, boolean][] | null,
): Facts {
  return {
    customer: {
      createdAt: c.shopifyCreatedAt === null ? null : jsonDate(c.shopifyCreatedAt),
      countryCode: c.countryCode,
      provinceCode: c.provinceCode,
      city: c.city,
      tags: splitList(c.tags),
      acceptsEmailMarketing: c.acceptsEmailMarketing,
      state: c.state,
      shopifyTotals:
        c.shopifyOrdersCount === null || c.shopifySpent === null || c.shopifyTotalsAt === null
          ? null
          : {
              orders: Number(c.shopifyOrdersCount),
              spent: Number(c.shopifySpent),
              at: jsonDate(c.shopifyTotalsAt),
            },
    },
    orders: (orders ?? []).map(
      ([processedAt, total, refunded, cancelled, test, codes, financialStatus, lines]): OrderFacts => ({
        processedAt: jsonDate(processedAt),
        total: Number(total),
        refunded: Number(refunded),
        cancelled,
        test,
        discountCodes: splitList(codes),
        financialStatus,
        lines: (lines ?? []).map(([productId, variantId, vendor, productType, collectionIds]) => ({
          productId,
          variantId,
          vendor,
          productType: productId ? productType : null,
          collectionIds: productId ? (collectionIds ?? []) : [],
        })),
      }),
    ),
    checkouts: (checkouts ?? []).map(([createdAt, completed]) => ({
      createdAt: jsonDate(createdAt),
      completed,
    })),
    cart: null,
    visitor: null,
  };
}

interface PersonRow {
  id: string;
  customer: CustomerJson | null;
  orders: OrderJson[] | null;
  checkouts: [string, boolean][] | null;
  visitors: VisitorJson[] | null;
  /** [token, totalPrice, itemCount, productIds] */
  carts: [string, number, number, string[] | null][] | null;
  ordered: string[] | null;
  held: number[] | null;
}

/**
 * The membership pass's read on PostgreSQL, in ONE statement: for each of these customers the
 * facts loadFacts reads (customer, orders with their lines' products and collections, checkouts,
 * browsers with their events and carts, the checkouts the shop holds an order for) and which of
 * `segmentIds` they are held in, each a JSON sub-select of one row per customer. loadFacts takes
 * up to five waves of statements on the read pool, and the held memberships one more: each a
 * round trip. One text per FactsNeeded (named, planned once per connection). Parameters: shopId,
 * segment ids, customer ids.
 */
function factsStatement(need: FactsNeeded): string {
  const visitors = need.visitors || need.events;
  const checkoutTypes = CHECKOUT_EVENT_TYPES.map((t) => `'${t}'`).join(", ");
  const browsersOf = `SELECT "id" FROM "Visitor" WHERE "shopId" = s.shop AND "customerShopifyId" = p.id`;
  const parts = [
    ...customerJsonSelects(need, "s.shop", "p.id"),
    visitors
      ? `(SELECT json_agg(json_build_array(c."token", c."totalPrice", c."itemCount",
            (SELECT json_agg(cl."productId" ORDER BY cl."id") FROM "CartLine" cl WHERE cl."cartId" = c."id" AND cl."productId" IS NOT NULL)))
          FROM "Cart" c WHERE c."shopId" = s.shop AND c."token" IN (
            SELECT "cartToken" FROM "Visitor" WHERE "shopId" = s.shop AND "customerShopifyId" = p.id)) AS "carts"`
      : `NULL AS "carts"`,
    need.events
      ? `(SELECT json_agg(DISTINCT o."checkoutToken") FROM "Order" o
          WHERE o."shopId" = s.shop AND o."checkoutToken" IN (SELECT e."resourceId" FROM "StorefrontEvent" e
            WHERE e."shopId" = s.shop AND e."type" IN (${checkoutTypes}) AND e."visitorId" IN (${browsersOf}))) AS "ordered"`
      : `NULL AS "ordered"`,
    `(SELECT json_agg(m."segmentId") FROM "SegmentMember" m
      WHERE m."segmentId" = ANY(s.segments) AND m."customerShopifyId" = p.id) AS "held"`,
  ];
  return `SELECT p.id AS "id", ${parts.join(",\n  ")}
    FROM (SELECT ?::integer AS shop, ?::integer[] AS segments) s, unnest(?::text[]) AS p(id)`;
}

const factsStatements = new Map<string, string>();

/**
 * PostgreSQL: these customers' facts (exactly loadFacts's) and which of these segments hold each
 * of them, in one statement on `q` (the membership pass's transaction, after its locks). Only
 * customers the shop holds (not deleted) have facts; `held` has everyone asked for.
 */
export async function factsAndHeldInOne(
  q: HotQueries,
  shopId: number,
  customerIds: readonly string[],
  need: FactsNeeded,
  segmentIds: readonly number[],
): Promise<{ facts: Map<string, Facts>; held: Map<string, number[]> }> {
  const key = `${+need.lines}${+need.checkouts}${+need.visitors}${+need.events}`;
  let sql = factsStatements.get(key);
  if (!sql) factsStatements.set(key, (sql = factsStatement(need)));
  const rows = await q.rows<PersonRow>(sql, [shopId, [...segmentIds], [...new Set(customerIds)]]);
  const facts = new Map<string, Facts>();
  const held = new Map<string, number[]>();
  for (const row of rows) {
    held.set(row.id, (row.held ?? []).map(Number));
    const c = row.customer;
    if (!c) continue;
    const f = customerFactsFromJson(c, row.orders, row.checkouts);
    const carts = new Map<string, NonNullable<Facts["cart"]>>(
      (row.carts ?? []).map(([token, value, itemCount, productIds]) => [
        token,
        { value: Number(value), itemCount: Number(itemCount), productIds: productIds ?? [] },
      ]),
    );
    // The latest browser first (the statement's order): text and cart from it, sessions summed.
    for (const v of row.visitors ?? []) {
      const events = (v.events ?? []).map(([type, occurredAt, resourceId]) => ({
        type,
        at: jsonDate(occurredAt),
        resourceId,
      }));
      addBrowser(
        f,
        { ...v, firstSeenAt: jsonDate(v.firstSeenAt), lastSeenAt: jsonDate(v.lastSeenAt) },
        events,
        carts,
      );
    }
    if (f.visitor) {
      // withOrderedCheckouts's rule, from the tokens the statement found.
      const ordered = new Set(row.ordered ?? []);
      const mine = new Set<string>();
      for (const e of f.visitor.events)
        if (e.resourceId && ordered.has(e.resourceId) && checkoutStepOf(e.type)) mine.add(e.resourceId);
      f.visitor.orderedCheckouts = [...mine];
    }
    facts.set(row.id, f);
  }
  // The stored predictions are not in the statement: read after it, as loadFacts does.
  if (need.predictions !== false) await withPredictions(q, shopId, facts);
  return { facts, held };
}
