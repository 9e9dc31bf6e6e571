/**
 * The storefront decision's reads on PostgreSQL in ONE statement: the visitor, its events, the
 * signed-in customer with their orders (with lines, product types and collections), checkouts,
 * other browsers and their events, the carts, the message history of all their browsers, and which
 * checkout tokens the shop holds an order for, each as a JSON sub-select of one row.
 *
 * Why: the same facts read the way SQLite reads them (in process, 5 µs a statement) take up to ten
 * statements in four waves on PostgreSQL, each a round trip to a server on another connection of a
 * pool of five: at 500 decisions a second that is about 5,000 statements a second, and a decision
 * waits for a free connection four times. One statement waits once.
 *
 * The facts built here are exactly those `visitorFactsByParts` (decide.server.ts) builds from
 * loadFacts and the visitor's own rows; decide-read.server.test.ts holds them equal on PostgreSQL
 * for every kind of visitor (new, stored, signed in with and without this browser linked, a
 * deleted customer, another shop's visitor) and every FactsNeeded.
 */
import { withPredictions } from "../segments/prediction-facts.server";
import type { Facts, StorefrontEventFacts } from "../engine/evaluate";
import type { MessageHistory } from "../engine/decide";
import { CHECKOUT_EVENT_TYPES, checkoutStepOf } from "../engine/pixel-events";
import {
  addBrowser,
  customerFactsFromJson,
  customerJsonSelects,
  joinThisBrowser,
  jsonDate,
  type CustomerJson,
  type EventJson,
  type FactsNeeded,
  type OrderJson,
  type VisitorJson,
  VISITOR_COLUMNS,
} from "../segments/facts.server";
import type { HotQueries } from "../db-hot.server";
import { heldCodesOf, type HeldCodeRow } from "../offers/pool.server";

/** Stored events for what a visitor did with a message; resourceId is the message id. */
export const MESSAGE_EVENTS = {
  shown: "message_shown",
  clicked: "message_clicked",
  dismissed: "message_dismissed",
} as const;
const MESSAGE_EVENT_TYPES: string[] = Object.values(MESSAGE_EVENTS);

/** A timestamp(3) inside JSON (UTC, written without a zone). */
const at = jsonDate;
const atOrNull = (text: string | null): Date | null => (text === null ? null : at(text));

/** [token, totalPrice, itemCount, productIds] */
type CartJson = [string, number, number, string[] | null];

interface DecisionRow {
  visitor: VisitorJson | null;
  customer: CustomerJson | null;
  orders: OrderJson[] | null;
  checkouts: [string, boolean][] | null;
  visitors: VisitorJson[] | null;
  ownEvents: EventJson[] | null;
  history: EventJson[] | null;
  carts: CartJson[] | null;
  ordered: string[] | null;
  codes: CodeJson[] | null;
}
/** [messageId, reward, status, code, expiresAt, variantId, issuedAt]: DiscountCode with its offer's reward kind. */
type CodeJson = [number, string, string, string, string, number | null, string | null];

const EVENT_ARRAY = `json_build_array(e."type", e."occurredAt", e."resourceId")`;

/**
 * The statement for what is needed (one text per combination: each is named and planned once per
 * connection). Parameters, in order: shopId, visitorId, customerId (null: a guest). `codes`: also
 * the discount codes the shopper holds (heldCodes' rows: by this browser, or the customer).
 */
function statement(need: FactsNeeded, customer: boolean, codes: boolean): string {
  const visitorsOfCustomer = need.visitors || need.events;
  // `?` are numbered by the layer in text order: every sub-select below names its parameters by
  // position through the one-row `p` (shop, visitor, customer), so each is bound once.
  const parts: string[] = [
    `(SELECT row_to_json(x) FROM (SELECT ${VISITOR_COLUMNS} FROM "Visitor" WHERE "id" = p.visitor) x) AS "visitor"`,
  ];
  const checkoutTypes = CHECKOUT_EVENT_TYPES.map((t) => `'${t}'`).join(", ");
  const messageTypes = MESSAGE_EVENT_TYPES.map((t) => `'${t}'`).join(", ");
  if (customer) parts.push(...customerJsonSelects(need, "p.shop", "p.customer"));
  else parts.push(`NULL AS "customer"`, `NULL AS "orders"`, `NULL AS "checkouts"`, `NULL AS "visitors"`);
  // This browser's own events (used when it is not one of the customer's, whose events are above).
  parts.push(
    need.events
      ? `(SELECT json_agg(${EVENT_ARRAY}) FROM "StorefrontEvent" e
          WHERE e."shopId" = p.shop AND e."visitorId" = p.visitor) AS "ownEvents"`
      : `NULL AS "ownEvents"`,
  );
  // The browsers whose message history counts: this one and up to 50 of the customer's others.
  // Browser lists are arrays (`= ANY(ARRAY(...))`): computed once, and an index condition on
  // StorefrontEvent(shopId, visitorId, type). Written `visitorId = p.visitor OR visitorId IN
  // (SELECT ...)`, as before, PostgreSQL can use no index for the OR: it read every storefront event
  // of the shop, twice per signed-in decision (see bench/decide-read.ts, EXPLAIN).
  const browsers = customer
    ? `e."visitorId" = ANY(ARRAY(SELECT "id" FROM "Visitor" WHERE "shopId" = p.shop AND "customerShopifyId" = p.customer LIMIT 50) || p.visitor)`
    : `e."visitorId" = p.visitor`;
  parts.push(
    `(SELECT json_agg(${EVENT_ARRAY}) FROM "StorefrontEvent" e
      WHERE e."shopId" = p.shop AND e."type" IN (${messageTypes}) AND ${browsers}) AS "history"`,
  );
  // Carts: this browser's (when visitor fields are read) and the customer's browsers'.
  const tokens = [
    ...(need.visitors ? [`SELECT "cartToken" FROM "Visitor" WHERE "id" = p.visitor`] : []),
    ...(customer && visitorsOfCustomer
      ? [`SELECT "cartToken" FROM "Visitor" WHERE "shopId" = p.shop AND "customerShopifyId" = p.customer`]
      : []),
  ];
  parts.push(
    tokens.length
      ? `(SELECT json_agg(json_build_array(c."token", c."totalPrice", c."itemCount",
            (SELECT json_agg(cl."productId" ORDER BY cl."id") FROM "CartLine" cl WHERE cl."cartId" = c."id" AND cl."productId" IS NOT NULL)))
          FROM "Cart" c WHERE c."shopId" = p.shop AND c."token" = ANY(ARRAY(${tokens.join(" UNION ")}))) AS "carts"`
      : `NULL AS "carts"`,
  );
  // Checkout tokens of these browsers' checkout events that the shop holds an order for.
  const eventBrowsers =
    customer && need.events
      ? `e."visitorId" = ANY(ARRAY(SELECT "id" FROM "Visitor" WHERE "shopId" = p.shop AND "customerShopifyId" = p.customer) || p.visitor)`
      : `e."visitorId" = p.visitor`;
  // The tokens as an array too: the orders are then found by Order(shopId, checkoutToken), never by
  // a hash join over all the shop's orders.
  parts.push(
    need.events
      ? `(SELECT json_agg(DISTINCT o."checkoutToken") FROM "Order" o
          WHERE o."shopId" = p.shop AND o."checkoutToken" = ANY(ARRAY(SELECT e."resourceId" FROM "StorefrontEvent" e
            WHERE e."shopId" = p.shop AND e."type" IN (${checkoutTypes}) AND ${eventBrowsers}))) AS "ordered"`
      : `NULL AS "ordered"`,
  );
  // The codes the shopper holds (pool.server.ts's heldCodes, the same rows): by this browser, and
  // by the signed-in customer on any browser. The ids as an array, so each key has its index.
  const holders = customer
    ? `d."id" = ANY(ARRAY(SELECT "id" FROM "DiscountCode" WHERE "shopId" = p.shop AND "visitorId" = p.visitor
        UNION SELECT "id" FROM "DiscountCode" WHERE "shopId" = p.shop AND "customerShopifyId" = p.customer))`
    : `d."visitorId" = p.visitor`;
  parts.push(
    codes
      ? `(SELECT json_agg(json_build_array(d."messageId", m."reward", d."status", d."code", d."expiresAt", d."variantId", d."issuedAt"))
          FROM "DiscountCode" d JOIN "Message" m ON m."id" = d."messageId"
          WHERE d."shopId" = p.shop AND d."status" IN ('issued', 'redeemed') AND ${holders}) AS "codes"`
      : `NULL AS "codes"`,
  );
  return `SELECT ${parts.join(",\n  ")}
    FROM (SELECT ?::integer AS shop, ?::text AS visitor, ?::text AS customer) p`;
}

const statements = new Map<string, string>();

/** The statement for these needs, for a guest or a signed-in customer (bench/decide-read.ts explains it). */
export function statementFor(need: FactsNeeded, customer: boolean, codes = false): string {
  const key = `${+need.lines}${+need.checkouts}${+need.visitors}${+need.events}${+customer}${+codes}`;
  let sql = statements.get(key);
  if (!sql) statements.set(key, (sql = statement(need, customer, codes)));
  return sql;
}

const eventOf = ([type, occurredAt, resourceId]: EventJson): StorefrontEventFacts => ({
  type,
  at: at(occurredAt),
  resourceId,
});

/**
 * What the app knows of this visitor now, read in one statement (PostgreSQL): the same facts and
 * message history as decide.server.ts's visitorFactsByParts and, with `codes`, the codes the shopper
 * holds as heldCodes (pool.server.ts) chooses them for this browser and customer (else none).
 */
export async function visitorFactsInOne(
  reader: HotQueries,
  shop: { shopId: number; need: FactsNeeded },
  visitorId: string,
  customerId: string | null,
  now: Date,
  options: { codes?: boolean } = {},
): Promise<{ facts: Facts; history: MessageHistory; codes: HeldCodeRow[] }> {
  const { shopId, need } = shop;
  const [row] = await reader.rows<DecisionRow>(statementFor(need, customerId !== null, !!options.codes), [
    shopId,
    visitorId,
    customerId,
  ]);
  const carts = new Map<string, NonNullable<Facts["cart"]>>(
    (row.carts ?? []).map(([token, value, itemCount, productIds]) => [
      token,
      { value: Number(value), itemCount: Number(itemCount), productIds: productIds ?? [] },
    ]),
  );
  const ordered = new Set(row.ordered ?? []);

  // The signed-in customer's facts, as loadFacts builds them.
  let customerFacts: Facts | null = null;
  if (row.customer) {
    const c = row.customer;
    customerFacts = customerFactsFromJson(c, row.orders, row.checkouts);
    // Their browsers, the latest first: sessions summed, first/last over all; text and cart from the latest.
    for (const v of row.visitors ?? []) {
      const browser = { ...v, firstSeenAt: at(v.firstSeenAt), lastSeenAt: at(v.lastSeenAt) };
      addBrowser(customerFacts, browser, (v.events ?? []).map(eventOf), carts);
    }
    if (customerFacts.visitor)
      customerFacts.visitor.orderedCheckouts = orderedOf(customerFacts.visitor.events, ordered);
    if (need.predictions !== false)
      await withPredictions(reader, shopId, new Map([[customerId!, customerFacts]]));
  }

  const v = row.visitor;
  const visitor =
    v && v.shopId === shopId
      ? { ...v, firstSeenAt: at(v.firstSeenAt), lastSeenAt: at(v.lastSeenAt), sessions: Number(v.sessions) }
      : null;
  const linked = !!visitor && !!customerFacts?.visitor && visitor.customerShopifyId === customerId;
  const wantOwnEvents = need.events && !linked;
  const ownEvents = wantOwnEvents ? (row.ownEvents ?? []).map(eventOf) : [];
  const cart = need.visitors && visitor?.cartToken && !linked ? (carts.get(visitor.cartToken) ?? null) : null;

  const facts: Facts = customerFacts ?? {
    customer: null,
    orders: [],
    checkouts: [],
    cart: null,
    visitor: null,
  };
  if (!linked) {
    const joined = joinThisBrowser(facts, visitor, ownEvents, now);
    if (ownEvents.length) joined.orderedCheckouts = orderedOf(joined.events, ordered);
    if (cart) facts.cart = cart;
  }
  const codes = heldCodesOf(
    (row.codes ?? []).map(([messageId, reward, status, code, expiresAt, variantId, issuedAt]) => ({
      messageId,
      reward,
      status,
      code,
      expiresAt: at(expiresAt),
      variantId,
      issuedAt: atOrNull(issuedAt),
    })),
    now,
  );
  return { facts, history: historyOf(row.history ?? []), codes };
}

/** The checkout tokens of these events the shop holds an order for (withOrderedCheckouts' rule). */
function orderedOf(events: StorefrontEventFacts[], ordered: Set<string>): string[] {
  const mine = new Set<string>();
  for (const e of events)
    if (e.resourceId && ordered.has(e.resourceId) && checkoutStepOf(e.type)) mine.add(e.resourceId);
  return [...mine];
}

/** What the visitor did with messages: when each was last shown, dismissed (and when last), clicked. */
function historyOf(events: EventJson[]): MessageHistory {
  const history: MessageHistory = { lastShownAt: {}, shownThisSession: [], dismissed: [], converted: [] };
  for (const [type, occurredAt, resourceId] of events) {
    const id = Number(resourceId);
    if (!Number.isInteger(id)) continue;
    if (type === MESSAGE_EVENTS.shown) {
      const when = at(occurredAt);
      const last = history.lastShownAt[id];
      if (!last || Date.parse(last) < when.getTime()) history.lastShownAt[id] = when.toISOString();
    } else if (type === MESSAGE_EVENTS.dismissed) {
      history.dismissed.push(id);
      const when = at(occurredAt);
      if (!history.lastDismissedAt || Date.parse(history.lastDismissedAt) < when.getTime())
        history.lastDismissedAt = when.toISOString();
    } else if (type === MESSAGE_EVENTS.clicked) history.converted.push(id);
  }
  return history;
}
