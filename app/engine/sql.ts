/**
 * compile(rule, dialect, { now }): the same question evaluate.ts answers for one person, as one
 * parameterised SQL query over a whole shop (SQLite or PostgreSQL). Values never enter the SQL
 * text: every one is a parameter; field names come from this file's own table, never the rule.
 */
import type { Condition, Field, Rule, RuleNode } from "./rules";
import { PAYMENT_REACHED, VIEWS, fold, test } from "./evaluate";
import { assertEvaluableAsOf } from "./as-of";
import { CHECKOUT_EVENT_TYPES, CHECKOUT_STEPS, searchTermOf } from "./pixel-events";
import { horizonOf, storedCondition } from "./predicted";

export type Dialect = "sqlite" | "postgres";

/**
 * Who the query selects. Customers (the default): a customer's facts with all of their visitors.
 * Visitors: each stored visitor (a browser) with its own events and cart, and the customer facts
 * of the customer it is linked to when it is (none otherwise: a guest has bought nothing).
 */
export type Unit = "customer" | "visitor";

export interface CompileOptions {
  now: Date;
  shopId: number;
  resolve?: (handle: string) => Rule | null;
  unit?: Unit;
  /** Visitors only: just those last seen at or after this time (the recent ones). */
  seenSince?: Date;
  /**
   * As-of snapshot: nothing after `now` exists (see as-of.ts, which defines it for the evaluator;
   * this writes the same into the query). Without it `now` only moves the clock.
   */
  asOf?: boolean;
}

export interface CompiledQuery {
  /** Selects the Shopify ids of the customers in the segment (or the visitors' ids), as `id`. */
  sql: string;
  params: unknown[];
}

const DAY = 86_400_000;

class Builder {
  readonly params: unknown[] = [];
  constructor(
    readonly dialect: Dialect,
    /** The injected "now", in milliseconds: windows are relative to it. */
    readonly now: number,
    readonly shopId: number,
    readonly unit: Unit = "customer",
    readonly asOf = false,
  ) {}

  /** `col >= now − days`, and, as of now, `col <= now` too. */
  since(col: string, days: number | undefined): string {
    return `${col} >= ${this.date(this.now - (days ?? 0) * DAY)}${this.upTo(col)}`;
  }

  /** As of now: ` AND col <= now`; otherwise nothing. */
  upTo(col: string): string {
    return this.asOf ? ` AND ${col} <= ${this.date(this.now)}` : "";
  }

  param(value: unknown): string {
    this.params.push(value);
    // Positional on SQLite: each expression is written once, in the order its parameters are made.
    return this.dialect === "sqlite" ? "?" : `$${this.params.length}`;
  }

  /** Dates: integer milliseconds on SQLite (how db.server.ts stores them), timestamps on PostgreSQL. */
  date(ms: number): string {
    return this.dialect === "sqlite" ? this.param(ms) : `${this.param(new Date(ms))}::timestamp`;
  }

  /** ASCII-only lower case, identical in both databases and in evaluate.ts's fold(). */
  fold(expr: string): string {
    return this.dialect === "sqlite"
      ? `LOWER(${expr})`
      : `TRANSLATE(${expr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')`;
  }

  position(haystack: string, needle: string): string {
    return this.dialect === "sqlite" ? `INSTR(${haystack}, ${needle})` : `STRPOS(${haystack}, ${needle})`;
  }

  list(values: unknown[]): string {
    return values.map((v) => this.param(v)).join(", ");
  }
}

const ORDER_SCOPE = `o."shopId" = c."shopId" AND o."customerShopifyId" = c."shopifyId" AND o."cancelledAt" IS NULL AND NOT o."test"`;
/** Live orders that belong to a customer: for the set-based (uncorrelated) forms below. */
const LIVE_ORDER = `o."customerShopifyId" IS NOT NULL AND o."cancelledAt" IS NULL AND NOT o."test"`;

/** As of now: processed by then and not cancelled by then (a later cancellation was not yet). */
const liveThen = (b: Builder) =>
  `NOT o."test" AND o."processedAt" <= ${b.date(b.now)} AND (o."cancelledAt" IS NULL OR o."cancelledAt" > ${b.date(b.now)})`;
/** The customer's live orders (as of now in that mode). */
const orderScope = (b: Builder) =>
  b.asOf
    ? `o."shopId" = c."shopId" AND o."customerShopifyId" = c."shopifyId" AND ${liveThen(b)}`
    : ORDER_SCOPE;
/** Live orders that belong to a customer (as of now in that mode). */
const liveOrder = (b: Builder) =>
  b.asOf ? `o."customerShopifyId" IS NOT NULL AND ${liveThen(b)}` : LIVE_ORDER;
/** An order's net value: as of now, its refunds made later are added back. */
const netOf = (b: Builder) =>
  b.asOf
    ? `o."totalPrice" - o."totalRefunded" + COALESCE((SELECT SUM(r."amount") FROM "Refund" r WHERE r."orderId" = o."id" AND r."createdAt" > ${b.date(b.now)}), 0)`
    : `o."totalPrice" - o."totalRefunded"`;

/**
 * As of now, the lifetime figures that the sync otherwise keeps on the customer's row, from the
 * orders as they stood then and Shopify's own figures (as-of.ts and lifetime.ts say how). Each
 * call writes its own parameters, so each is called where its text goes.
 */
const HELD_BY_SNAPSHOT = `(SELECT COUNT(*) FROM "Order" o WHERE o."shopId" = c."shopId" AND o."customerShopifyId" = c."shopifyId"
  AND NOT o."test" AND o."processedAt" <= c."shopifyTotalsAt")`;
/** Shopify's count less the orders held up to its moment (0 without Shopify's figures). */
const HIDDEN = `(CASE WHEN c."shopifyOrdersCount" IS NOT NULL AND c."shopifySpent" IS NOT NULL AND c."shopifyTotalsAt" IS NOT NULL
  THEN c."shopifyOrdersCount" - ${HELD_BY_SNAPSHOT} ELSE 0 END)`;
/** The hidden orders' spend: Shopify's amount less what the orders held up to its moment add up to now. */
const HIDDEN_SPEND = `(c."shopifySpent" - (SELECT COALESCE(SUM(o."totalPrice" - o."totalRefunded"), 0) FROM "Order" o
  WHERE ${ORDER_SCOPE} AND o."processedAt" <= c."shopifyTotalsAt"))`;
const lifetimeThen = {
  ordersCount: (b: Builder) =>
    `((SELECT COUNT(*) FROM "Order" o WHERE ${orderScope(b)}) + CASE WHEN ${HIDDEN} > 0 THEN ${HIDDEN} ELSE 0 END)`,
  totalSpent: (b: Builder) =>
    `((SELECT COALESCE(SUM(${netOf(b)}), 0) FROM "Order" o WHERE ${orderScope(b)})
      + CASE WHEN ${HIDDEN} > 0 AND ${HIDDEN_SPEND} > 0 THEN ${HIDDEN_SPEND} ELSE 0 END)`,
  firstOrderAt: (b: Builder) =>
    `(CASE WHEN ${HIDDEN} > 0 THEN NULL ELSE (SELECT MIN(o."processedAt") FROM "Order" o WHERE ${orderScope(b)}) END)`,
  lastOrderAt: (b: Builder) => `(SELECT MAX(o."processedAt") FROM "Order" o WHERE ${orderScope(b)})`,
};

/**
 * "Has such an order / checkout / event": written as `c.id IN (the set of people who do)`, not a
 * correlated EXISTS, so the database builds the set once from the window's rows (an index on
 * the date) instead of probing once per customer of the shop. The set never holds NULL, so NOT IN
 * is the plain negation.
 */
// Per visitor, `c` is the linked customer or all NULLs (a guest): a NULL id is in no set.
const inSet = (select: string, b: Builder) =>
  b.unit === "visitor"
    ? `(c."shopifyId" IS NOT NULL AND c."shopifyId" IN (${select}))`
    : `c."shopifyId" IN (${select})`;
const LATEST_VISITOR = `FROM "Visitor" v WHERE v."shopId" = c."shopId" AND v."customerShopifyId" = c."shopifyId"`;
/** The customer's visitors (as of now: those first seen by then). */
const visitorsOf = (b: Builder) => `${LATEST_VISITOR}${b.upTo(`v."firstSeenAt"`)}`;
/**
 * A visitor's last seen, as of now: itself when by then, else its last event by then (its first
 * seen when none). As the evaluator's as-of.ts has it.
 */
const lastSeenOf = (b: Builder, v: string) =>
  b.asOf
    ? `(CASE WHEN ${v}."lastSeenAt" <= ${b.date(b.now)} THEN ${v}."lastSeenAt" ELSE COALESCE((SELECT MAX(ev."occurredAt")
    FROM "StorefrontEvent" ev WHERE ev."shopId" = ${v}."shopId" AND ev."visitorId" = ${v}."id" AND ev."occurredAt" <= ${b.date(b.now)}),
    ${v}."firstSeenAt") END)`
    : `${v}."lastSeenAt"`;
/** A visitor's sessions, as of now: less its session_start events after then. */
const sessionsOf = (b: Builder, v: string) =>
  b.asOf
    ? `(${v}."sessions" - (SELECT COUNT(*) FROM "StorefrontEvent" ev WHERE ev."shopId" = ${v}."shopId" AND ev."visitorId" = ${v}."id"
    AND ev."type" = 'session_start' AND ev."occurredAt" > ${b.date(b.now)}))`
    : `${v}."sessions"`;
/** The cart of the customer's latest visitor (none if that visitor has no cart), or the visitor's own. */
const latestCart = (b: Builder) =>
  b.asOf
    ? // As of now: the latest by then, its cart only when it has not changed since.
      b.unit === "visitor"
      ? `FROM "Cart" ca WHERE ca."shopId" = u."shopId" AND ca."token" = u."cartToken"${b.upTo(`ca."shopifyUpdatedAt"`)}`
      : `FROM "Cart" ca WHERE ca."shopId" = c."shopId" AND ca."token" = (SELECT v."cartToken" ${visitorsOf(b)}
  ORDER BY ${lastSeenOf(b, "v")} DESC LIMIT 1)${b.upTo(`ca."shopifyUpdatedAt"`)}`
    : b.unit === "visitor"
      ? `FROM "Cart" ca WHERE ca."shopId" = u."shopId" AND ca."token" = u."cartToken"`
      : `FROM "Cart" ca WHERE ca."shopId" = c."shopId" AND ca."token" = (SELECT v."cartToken" ${LATEST_VISITOR}
  ORDER BY v."lastSeenAt" DESC LIMIT 1)`;

const typeList = (types: readonly string[]) => types.map((t) => `'${t}'`).join(", ");

/** The unit's storefront events of the given kinds (kinds are this file's constants, not input). */
// Driven from the customer's visitors (a handful) into the (shopId, visitorId, type, occurredAt)
// index: a join here lets SQLite's planner scan the shop's events once per customer instead.
const eventsOf = (types: readonly string[], b: Builder) =>
  b.unit === "visitor"
    ? `FROM "StorefrontEvent" e WHERE e."shopId" = u."shopId" AND e."visitorId" = u."id" AND e."type" IN (${typeList(types)})`
    : `FROM "StorefrontEvent" e WHERE e."shopId" = c."shopId"
    AND e."visitorId" IN (SELECT v."id" FROM "Visitor" v WHERE v."shopId" = c."shopId" AND v."customerShopifyId" = c."shopifyId")
    AND e."type" IN (${typeList(types)})`;

/**
 * "Has a storefront event of these kinds that matches": the set of units who do, built once (as
 * inSet). `match` makes its parameters after the shop's, in the order the text has them.
 */
function eventSet(b: Builder, types: readonly string[], match: () => string): string {
  const shop = b.param(b.shopId);
  return b.unit === "visitor"
    ? `u."id" IN (SELECT e."visitorId" FROM "StorefrontEvent" e WHERE e."shopId" = ${shop}
        AND e."type" IN (${typeList(types)}) AND ${match()})`
    : `c."shopifyId" IN (SELECT v."customerShopifyId" FROM "StorefrontEvent" e JOIN "Visitor" v ON v."id" = e."visitorId"
        WHERE e."shopId" = ${shop} AND v."customerShopifyId" IS NOT NULL AND e."type" IN (${typeList(types)}) AND ${match()})`;
}

/** A checkout event's step number (0 started … 5 completed), from this file's constants. */
const STEP_OF = `CASE e."type" ${CHECKOUT_EVENT_TYPES.map((t, i) => `WHEN '${t}' THEN ${i}`).join(" ")} END`;
const COMPLETED = CHECKOUT_STEPS.length - 1;
/**
 * The event's shop holds an order with its checkout token (Order's (shopId, checkoutToken)
 * index): that checkout was completed, whether or not the pixel sent checkout_completed. Any
 * order, cancelled or test too, as facts.server.ts's withOrderedCheckouts reads them.
 */
const ORDERED = `EXISTS (SELECT 1 FROM "Order" o WHERE o."shopId" = e."shopId" AND o."checkoutToken" = e."resourceId")`;
/** ORDERED, as of now: an order processed by then. */
const ordered = (b: Builder) =>
  b.asOf
    ? `EXISTS (SELECT 1 FROM "Order" o WHERE o."shopId" = e."shopId" AND o."checkoutToken" = e."resourceId"${b.upTo(`o."processedAt"`)})`
    : ORDERED;
/** A step number back to its name; "completed" (the last) is no abandoned step: NULL. */
const STEP_NAME = (expr: string) =>
  `CASE ${expr} ${CHECKOUT_STEPS.slice(0, -1)
    .map((s, i) => `WHEN ${i} THEN '${s}'`)
    .join(" ")} END`;

type Kind = "number" | "date" | "text" | "tags" | "bool";

/** A scalar field: its SQL value expression and how to compare it. */
function scalar(field: Field, b: Builder, c: Condition): { expr: string; kind: Kind } | null {
  const window = () => ` AND o."processedAt" >= ${b.date(b.now - (c.days ?? 0) * DAY)}`;
  const since = () => ` AND ${b.since(`e."occurredAt"`, c.days)}`;
  const perVisitor = b.unit === "visitor";
  const eventsOf_ = (types: readonly string[]) => eventsOf(types, b);
  if (b.asOf)
    switch (field) {
      // As of now: from the orders as they stood then (a guest's are none: 0, as below).
      case "customer.totalSpent":
      case "customer.ordersCount":
      case "customer.firstOrderAt":
      case "customer.lastOrderAt":
        return {
          expr: lifetimeThen[field.slice("customer.".length) as keyof typeof lifetimeThen](b),
          kind: field.endsWith("At") ? "date" : "number",
        };
      case "customer.averageOrderValue":
        return {
          expr: `(CASE WHEN ${lifetimeThen.ordersCount(b)} > 0 THEN ${lifetimeThen.totalSpent(b)} / ${lifetimeThen.ordersCount(b)} END)`,
          kind: "number",
        };
    }
  switch (field) {
    // A guest has bought nothing: 0 (as the evaluator says), not unknown.
    case "customer.totalSpent":
      return { expr: perVisitor ? `COALESCE(c."totalSpent", 0)` : `c."totalSpent"`, kind: "number" };
    case "customer.ordersCount":
      return { expr: perVisitor ? `COALESCE(c."ordersCount", 0)` : `c."ordersCount"`, kind: "number" };
    case "customer.averageOrderValue":
      return {
        expr: `(CASE WHEN c."ordersCount" > 0 THEN c."totalSpent" / c."ordersCount" END)`,
        kind: "number",
      };
    case "customer.firstOrderAt":
      return { expr: `c."firstOrderAt"`, kind: "date" };
    case "customer.lastOrderAt":
      return { expr: `c."lastOrderAt"`, kind: "date" };
    case "customer.createdAt":
      return { expr: `c."shopifyCreatedAt"`, kind: "date" };
    case "customer.countryCode":
      return { expr: `c."countryCode"`, kind: "text" };
    case "customer.provinceCode":
      return { expr: `c."provinceCode"`, kind: "text" };
    case "customer.city":
      return { expr: `c."city"`, kind: "text" };
    case "customer.state":
      return { expr: `c."state"`, kind: "text" };
    case "customer.tags":
      return { expr: `c."tags"`, kind: "tags" };
    case "customer.acceptsEmailMarketing":
      return { expr: `c."acceptsEmailMarketing"`, kind: "bool" };
    case "orders.count":
      return { expr: `(SELECT COUNT(*) FROM "Order" o WHERE ${orderScope(b)}${window()})`, kind: "number" };
    case "orders.spend":
      return {
        expr: `(SELECT COALESCE(SUM(${netOf(b)}), 0) FROM "Order" o WHERE ${orderScope(b)}${window()})`,
        kind: "number",
      };
    case "orders.usedDiscount": {
      const shop = b.param(b.shopId);
      return {
        expr: inSet(
          `SELECT o."customerShopifyId" FROM "Order" o WHERE o."shopId" = ${shop} AND ${liveOrder(b)}${window()} AND o."discountCodes" <> ''`,
          b,
        ),
        kind: "bool",
      };
    }
    case "orders.paymentPending": {
      const shop = b.param(b.shopId);
      return {
        expr: inSet(
          `SELECT o."customerShopifyId" FROM "Order" o WHERE o."shopId" = ${shop} AND ${liveOrder(b)}${window()} AND o."financialStatus" IN ('pending', 'authorized', 'partially_paid')`,
          b,
        ),
        kind: "bool",
      };
    }
    case "checkouts.abandoned": {
      const shop = b.param(b.shopId);
      // As of now: created by then and not completed by then (one an order names with no
      // completion time counts as completed, as the evaluator has it).
      if (b.asOf)
        return {
          expr: inSet(
            `SELECT k."customerShopifyId" FROM "Checkout" k WHERE k."shopId" = ${shop} AND k."customerShopifyId" IS NOT NULL
          AND ((k."completedAt" IS NULL AND k."orderShopifyId" IS NULL) OR k."completedAt" > ${b.date(b.now)})
          AND ${b.since(`k."shopifyCreatedAt"`, c.days)}`,
            b,
          ),
          kind: "bool",
        };
      return {
        expr: inSet(
          `SELECT k."customerShopifyId" FROM "Checkout" k WHERE k."shopId" = ${shop} AND k."customerShopifyId" IS NOT NULL
          AND k."completedAt" IS NULL AND k."orderShopifyId" IS NULL AND k."shopifyCreatedAt" >= ${b.date(b.now - (c.days ?? 0) * DAY)}`,
          b,
        ),
        kind: "bool",
      };
    }
    case "cart.value":
      return { expr: `(SELECT ca."totalPrice" ${latestCart(b)})`, kind: "number" };
    case "cart.itemCount":
      return { expr: `COALESCE((SELECT ca."itemCount" ${latestCart(b)}), 0)`, kind: "number" };
    case "visitor.sessions":
      return {
        expr: perVisitor
          ? sessionsOf(b, "u")
          : b.asOf
            ? `COALESCE((SELECT SUM(${sessionsOf(b, "v")}) ${visitorsOf(b)}), 0)`
            : `COALESCE((SELECT SUM(v."sessions") ${LATEST_VISITOR}), 0)`,
        kind: "number",
      };
    case "visitor.visits":
      return { expr: `(SELECT COUNT(*) ${eventsOf_(["session_start"])}${since()})`, kind: "number" };
    case "visitor.visitsPerWeek": {
      const count = `(SELECT COUNT(*) ${eventsOf_(["session_start"])}${since()})`;
      // Integer division on both databases, as Math.floor does for these non-negative numbers.
      return { expr: `((${count} * 7) / CAST(${b.param(c.days ?? 7)} AS INTEGER))`, kind: "number" };
    }
    case "visitor.pageViews":
      return { expr: `(SELECT COUNT(*) ${eventsOf_(VIEWS)}${since()})`, kind: "number" };
    case "visitor.abandonedCheckoutStep": {
      // The latest checkout token (by its last event in the window; a tie to the furthest step), at
      // its furthest step: NULL when that is "completed" or there is none. A token the shop holds an
      // order for is completed (ORDERED), whatever its events say. (The events are one shop's:
      // grouping by its id too lets the order's lookup name it.)
      // (Made where its text goes, twice: as of now its order's date is a parameter.)
      const step = () => `(CASE WHEN ${ordered(b)} THEN ${COMPLETED} ELSE MAX(${STEP_OF}) END)`;
      return {
        expr: `(SELECT ${STEP_NAME(step())} ${eventsOf_(CHECKOUT_EVENT_TYPES)} AND e."resourceId" IS NOT NULL${since()}
          GROUP BY e."shopId", e."resourceId" ORDER BY MAX(e."occurredAt") DESC, ${step()} DESC LIMIT 1)`,
        kind: "text",
      };
    }
    case "visitor.productViews":
      return c.product !== undefined
        ? {
            expr: `(SELECT COUNT(*) ${eventsOf_(["product_view"])}${since()} AND e."resourceId" = ${b.param(c.product)})`,
            kind: "number",
          }
        : {
            expr: `COALESCE((SELECT COUNT(*) ${eventsOf_(["product_view"])}${since()} AND e."resourceId" IS NOT NULL
              GROUP BY e."resourceId" ORDER BY COUNT(*) DESC LIMIT 1), 0)`,
            kind: "number",
          };
    case "visitor.reachedPayment":
      return {
        // A payment or completion event, or any checkout event of a token the shop holds an order for.
        expr: eventSet(
          b,
          CHECKOUT_EVENT_TYPES,
          () =>
            `${b.since(`e."occurredAt"`, c.days)} AND (e."type" IN (${typeList(PAYMENT_REACHED)}) OR ${ordered(b)})`,
        ),
        kind: "bool",
      };
    case "visitor.firstSeenAt":
      return {
        expr: perVisitor ? `u."firstSeenAt"` : `(SELECT MIN(v."firstSeenAt") ${visitorsOf(b)})`,
        kind: "date",
      };
    case "visitor.lastSeenAt":
      return {
        expr: perVisitor ? lastSeenOf(b, "u") : `(SELECT MAX(${lastSeenOf(b, "v")}) ${visitorsOf(b)})`,
        kind: "date",
      };
    case "visitor.landingPage":
    case "visitor.referrer":
    case "visitor.utmSource":
    case "visitor.utmMedium":
    case "visitor.utmCampaign":
    case "visitor.deviceType": {
      const column = field.slice("visitor.".length);
      return {
        expr: perVisitor
          ? `u."${column}"`
          : `(SELECT v."${column}" ${visitorsOf(b)} ORDER BY ${lastSeenOf(b, "v")} DESC LIMIT 1)`,
        kind: "text",
      };
    }
    case "predicted.orders":
    case "predicted.probabilityActive":
    case "predicted.probabilityActiveChange30d":
    case "predicted.value12m":
    case "predicted.valueTier":
    case "predicted.daysToNextOrder":
    case "predicted.spendPerOrder":
      return predictedScalar(field, b, c);
    default:
      return null;
  }
}

/**
 * The customer's stored prediction (CustomerPrediction, keyed by Customer.id), as predicted.ts's
 * predictedValue reads it: NULL (not set) without one, and per visitor for a guest (c is NULLs).
 * Column names come from this table and the fixed horizons, never the rule.
 */
function predictedScalar(field: Field, b: Builder, c: Condition): { expr: string; kind: Kind } {
  const of = (column: string) =>
    `(SELECT cp.${column} FROM "CustomerPrediction" cp WHERE cp."customerId" = c."id")`;
  switch (field) {
    case "predicted.orders":
      return { expr: of(`"orders${horizonOf(c)}"`), kind: "number" };
    case "predicted.probabilityActive":
      return { expr: of(`"probabilityActive"`), kind: "number" };
    case "predicted.probabilityActiveChange30d":
      // NULL without the 30-days-ago figure; the evaluator's double subtraction, in the database.
      return { expr: of(`"probabilityActive" - cp."probabilityActive30dAgo"`), kind: "number" };
    case "predicted.value12m":
      return { expr: of(`"value12m"`), kind: "number" };
    case "predicted.spendPerOrder":
      return { expr: of(`"spendPerOrder"`), kind: "number" };
    case "predicted.valueTier":
      return { expr: of(`"valueTier"`), kind: "text" };
    case "predicted.daysToNextOrder":
      // Milliseconds on SQLite, as stored (the same double division as the evaluator's); seconds on PostgreSQL.
      return b.dialect === "sqlite"
        ? { expr: `((${of(`"nextOrderAt"`)} - ${b.param(b.now)}) / 86400000.0)`, kind: "number" }
        : {
            expr: `(EXTRACT(EPOCH FROM (${of(`"nextOrderAt"`)} - ${b.date(b.now)})) / 86400)`,
            kind: "number",
          };
    default:
      throw new Error(`field "${field}" is not a predicted field`);
  }
}

/** "Bought any of" fields: an EXISTS over the customer's order lines in the window. */
function bought(field: Field, b: Builder, c: Condition): string | null {
  const values = (Array.isArray(c.value) ? c.value : []).map((v) => fold(String(v)));
  const since = () => b.date(b.now - (c.days ?? 0) * DAY);
  // The window's parameter comes before the match's in the text, so it is made first.
  const lines = (match: () => string, extraJoin = "") => {
    const shop = b.param(b.shopId);
    const live = liveOrder(b);
    const window = since();
    return inSet(
      `SELECT o."customerShopifyId" FROM "Order" o JOIN "LineItem" li ON li."orderId" = o."id"${extraJoin}
      WHERE o."shopId" = ${shop} AND ${live} AND o."processedAt" >= ${window} AND ${match()}`,
      b,
    );
  };
  switch (field) {
    case "orders.products":
      return lines(() => `li."productId" IN (${b.list(values)})`);
    case "orders.variants":
      return lines(() => `li."variantId" IN (${b.list(values)})`);
    case "orders.vendors":
      return lines(() => `${b.fold(`li."vendor"`)} IN (${b.list(values)})`);
    case "orders.productTypes":
      return lines(
        () => `${b.fold(`p."productType"`)} IN (${b.list(values)})`,
        ` JOIN "Product" p ON p."shopId" = o."shopId" AND p."shopifyId" = li."productId"`,
      );
    case "orders.collections":
      return lines(
        () => `pc."collectionShopifyId" IN (${b.list(values)})`,
        ` JOIN "ProductCollection" pc ON pc."shopId" = o."shopId" AND pc."productShopifyId" = li."productId"`,
      );
    case "visitor.viewedProducts":
    case "visitor.viewedCollections":
    case "visitor.viewedPages":
    case "visitor.answers": {
      const type = {
        "visitor.viewedProducts": "product_view",
        "visitor.viewedCollections": "collection_view",
        "visitor.viewedPages": "page_view",
        "visitor.answers": "answer",
      }[field];
      // Answers are kept whatever their age; views are counted in the window.
      return eventSet(b, [type], () => {
        const window =
          field === "visitor.answers"
            ? b.asOf
              ? `e."occurredAt" <= ${b.date(b.now)} AND `
              : ""
            : `${b.since(`e."occurredAt"`, c.days)} AND `;
        return `${window}${b.fold(`e."resourceId"`)} IN (${b.list(values)})`;
      });
    }
    case "cart.products":
      return `EXISTS (SELECT 1 FROM "CartLine" cl WHERE cl."cartId" = (SELECT ca."id" ${latestCart(b)}) AND cl."productId" IN (${b.list(values)}))`;
    default:
      return null;
  }
}

/** Searches in the window: a set of the units with such a search (a search is never NULL in it). */
function searched(b: Builder, c: Condition): string {
  const list = (Array.isArray(c.value) ? c.value : [c.value]).map((v) => searchTermOf(String(v)));
  const term = b.fold(`e."resourceId"`);
  const set = eventSet(b, ["search"], () => {
    const window = b.since(`e."occurredAt"`, c.days);
    switch (c.op) {
      case "isSet":
      case "isNotSet":
        return `${window} AND COALESCE(e."resourceId", '') <> ''`;
      case "contains":
      case "notContains":
        return `${window} AND ${b.position(term, b.param(list[0]))} > 0`;
      default:
        return `${window} AND ${term} IN (${b.list(list)})`;
    }
  });
  return ["isNotSet", "notContains", "notIn"].includes(c.op) ? `NOT ${set}` : set;
}

/**
 * The pixel fields computed per unit by a correlated subquery, with the value they have when the
 * unit has no such event in the window (what the evaluator gives for none).
 */
const GUARDED: Partial<Record<Field, { types: readonly string[]; none: number | null }>> = {
  "visitor.abandonedCheckoutStep": { types: CHECKOUT_EVENT_TYPES, none: null },
  "visitor.productViews": { types: ["product_view"], none: 0 },
};

/**
 * The set of units with an event of the field's kinds in the window, built once, so the
 * correlated subquery runs only for them: the condition is "in the set and the value holds", or,
 * when it holds for the value of none, "not in the set or the value holds". Exactly the same
 * answer, without probing the events of every customer of the shop.
 */
function guardOf(c: Condition, b: Builder): ((pred: string) => string) | null {
  const guarded = GUARDED[c.field];
  if (!guarded) return null;
  const set = eventSet(b, guarded.types, () => b.since(`e."occurredAt"`, c.days));
  return test(c, guarded.none, new Date(b.now))
    ? (pred) => `(NOT ${set} OR ${pred})`
    : (pred) => `(${set} AND ${pred})`;
}

function condition(given: Condition, b: Builder, negated: boolean): string {
  const c = storedCondition(given);
  if (c.field === "visitor.searches") return searched(b, c);
  const set = bought(c.field, b, c);
  if (set) return c.op === "notIn" ? `NOT ${set}` : set;
  // Made before the value's expression: its parameters come first in the text.
  const guard = guardOf(c, b);
  const s = scalar(c.field, b, c);
  if (!s) throw new Error(`field "${c.field}" cannot be compiled`);
  const { expr: x, kind } = s;
  const TRUE = b.dialect === "sqlite" ? "1" : "TRUE";
  const FALSE = b.dialect === "sqlite" ? "0" : "FALSE";
  const isSet = kind === "text" || kind === "tags" ? `COALESCE(${x}, '') <> ''` : `${x} IS NOT NULL`;
  const value = c.value;
  const list = Array.isArray(value) ? value : [];
  let pred: string;
  switch (c.op) {
    case "isSet":
      pred = isSet;
      break;
    case "isNotSet":
      pred = `NOT COALESCE(${isSet}, ${FALSE})`;
      break;
    case "isTrue":
      pred = kind === "bool" ? `${x} = ${TRUE}` : FALSE;
      break;
    case "isFalse":
      pred = kind === "bool" ? `${x} = ${FALSE}` : FALSE;
      break;
    case "before":
      pred = `${x} < ${b.date(Date.parse(String(value)))}`;
      break;
    case "after":
      pred = `${x} > ${b.date(Date.parse(String(value)))}`;
      break;
    case "withinLast":
      pred = `${x} >= ${b.date(b.now - (c.days ?? 0) * DAY)}`;
      break;
    case "notWithinLast":
      pred = `${x} < ${b.date(b.now - (c.days ?? 0) * DAY)}`;
      break;
    case "between":
      pred = `${x} BETWEEN ${b.param(Number(list[0]))} AND ${b.param(Number(list[1]))}`;
      break;
    case "lt":
    case "lte":
    case "gt":
    case "gte": {
      const sign = { lt: "<", lte: "<=", gt: ">", gte: ">=" }[c.op];
      pred = `${x} ${sign} ${b.param(Number(value))}`;
      break;
    }
    default:
      if (kind === "tags") {
        const wanted = c.op === "in" || c.op === "notIn" ? list.map(String) : [String(value)];
        const hit = `(${wanted.map((w) => `${b.position(b.fold(x), b.param(`|${fold(w)}|`))} > 0`).join(" OR ")})`;
        pred = c.op === "notIn" || c.op === "notContains" ? `NOT ${hit}` : hit;
      } else if (kind === "number") {
        pred =
          c.op === "eq"
            ? `${x} = ${b.param(Number(value))}`
            : c.op === "neq"
              ? `${x} <> ${b.param(Number(value))}`
              : FALSE;
      } else {
        const folded = b.fold(x);
        switch (c.op) {
          case "eq":
            pred = `${folded} = ${b.param(fold(String(value)))}`;
            break;
          case "neq":
            pred = `${folded} <> ${b.param(fold(String(value)))}`;
            break;
          case "in":
            pred = `${folded} IN (${b.list(list.map((v) => fold(String(v))))})`;
            break;
          case "notIn":
            pred = `${folded} NOT IN (${b.list(list.map((v) => fold(String(v))))})`;
            break;
          case "contains":
            pred = `${b.position(folded, b.param(fold(String(value))))} > 0`;
            break;
          case "notContains":
            pred = `${b.position(folded, b.param(fold(String(value))))} = 0`;
            break;
          default:
            pred = FALSE;
        }
      }
  }
  // Under a NOT, three-valued logic ends here: an unknown is false, so NOT means what the
  // evaluator means. Elsewhere an unknown already acts as false (AND, OR and WHERE drop it), and
  // the bare predicate lets the database use an index on a date or amount range.
  if (guard) pred = guard(pred);
  return negated ? `COALESCE(${pred}, ${FALSE})` : pred;
}

function node(n: RuleNode, b: Builder, options: CompileOptions, depth: number, negated = false): string {
  if (depth > 20) throw new Error("segments nest too deeply");
  const TRUE = b.dialect === "sqlite" ? "1" : "TRUE";
  const FALSE = b.dialect === "sqlite" ? "0" : "FALSE";
  const child = (x: RuleNode, underNot = negated) => node(x, b, options, depth + 1, underNot);
  if ("all" in n)
    return n.all.length ? `(${n.all.map((x) => child(x)).join(" AND ")})` : `(${TRUE} = ${TRUE})`;
  if ("any" in n)
    return n.any.length ? `(${n.any.map((x) => child(x)).join(" OR ")})` : `(${TRUE} = ${FALSE})`;
  if ("not" in n) return `(NOT ${child(n.not, true)})`;
  if ("segment" in n) {
    const target = options.resolve?.(n.segment);
    if (!target) throw new Error(`no segment "${n.segment}"`);
    return child(target.match);
  }
  return condition(n, b, negated);
}

export function compile(rule: Rule, dialect: Dialect, options: CompileOptions): CompiledQuery {
  if (options.asOf) assertEvaluableAsOf(rule, options.resolve);
  const b = new Builder(dialect, options.now.getTime(), options.shopId, options.unit, options.asOf === true);
  // As of now: a customer created by then (or with no creation date), a visitor first seen by then
  // (whose customer, when created later, is a guest's: no customer row joins).
  const createdThen = () =>
    b.asOf ? ` AND (c."shopifyCreatedAt" IS NULL OR c."shopifyCreatedAt" <= ${b.date(b.now)})` : "";
  if (b.unit === "visitor") {
    const join = createdThen();
    const shop = b.param(options.shopId);
    const recent = options.seenSince
      ? ` AND ${lastSeenOf(b, "u")} >= ${b.date(options.seenSince.getTime())}`
      : "";
    const seen = b.upTo(`u."firstSeenAt"`);
    const where = node(rule.match, b, options, 0);
    return {
      sql: `SELECT u."id" AS id FROM "Visitor" u LEFT JOIN "Customer" c ON c."shopId" = u."shopId"
        AND c."shopifyId" = u."customerShopifyId" AND c."deletedAt" IS NULL${join}
        WHERE u."shopId" = ${shop}${recent}${seen} AND ${where}`,
      params: b.params,
    };
  }
  const shop = b.param(options.shopId);
  const created = createdThen();
  const where = node(rule.match, b, options, 0);
  return {
    sql: `SELECT c."shopifyId" AS id FROM "Customer" c WHERE c."shopId" = ${shop} AND c."deletedAt" IS NULL${created} AND ${where}`,
    params: b.params,
  };
}
