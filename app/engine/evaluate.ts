/**
 * evaluate(rule, facts, { now }): is this one person in the segment, and why. Used by the
 * storefront in real time and to explain membership in the admin. Its twin is sql.ts, which
 * answers the same question for a whole shop; cases.json holds them to the same answers.
 */
import { count, dateTime, money, type ShopFormat } from "./format";
import { lifetimeFigures, type ShopifyTotals } from "./lifetime";
import { assertEvaluableAsOf, factsAsOf } from "./as-of";
import { CHECKOUT_EVENT_TYPES, CHECKOUT_STEPS, searchTermOf } from "./pixel-events";
import {
  isPredictedField,
  predictedValue,
  predictionNote,
  showPredicted,
  storedCondition,
  type PredictionFacts,
} from "./predicted";
import { FIELDS, describeCondition, type Condition, type Field, type Rule, type RuleNode } from "./rules";

export interface OrderFacts {
  processedAt: Date;
  /** Minor units. */
  total: number;
  refunded: number;
  cancelled: boolean;
  /** When it was cancelled (as-of evaluation: an order cancelled later was live then). */
  cancelledAt?: Date | null;
  /** Its refunds, dated (as-of evaluation: a refund made later is added back); `refunded` is their sum. */
  refunds?: { at: Date; amount: number }[];
  test: boolean;
  discountCodes: string[];
  financialStatus: string | null;
  lines: {
    productId: string | null;
    variantId: string | null;
    vendor: string | null;
    productType: string | null;
    collectionIds: string[];
  }[];
}

export interface Facts {
  customer: {
    createdAt: Date | null;
    countryCode: string | null;
    provinceCode: string | null;
    city: string | null;
    tags: string[];
    acceptsEmailMarketing: boolean;
    state: string | null;
    /** Shopify's lifetime figures, when received (see lifetime.ts for how they combine with orders). */
    shopifyTotals?: ShopifyTotals | null;
  } | null;
  orders: OrderFacts[];
  /**
   * `completedAt`: the checkout's own completion time (null: none, though an order may name it);
   * as-of evaluation reads it.
   */
  checkouts: { createdAt: Date; completed: boolean; completedAt?: Date | null }[];
  /** `updatedAt`: when the cart last changed (as-of evaluation: a cart changed later is unknown then). */
  cart: { value: number; itemCount: number; productIds: string[]; updatedAt?: Date } | null;
  visitor: {
    sessions: number;
    firstSeenAt: Date;
    lastSeenAt: Date;
    landingPage: string | null;
    referrer: string | null;
    utmSource: string | null;
    utmMedium: string | null;
    utmCampaign: string | null;
    deviceType: string | null;
    /** Storefront events of the person's visitors (any order). */
    events: StorefrontEventFacts[];
    /**
     * The checkout tokens of those events that the shop holds an order for (`Order.checkoutToken`,
     * from its own webhook, backfill or reconciliation data, cancelled and test orders included):
     * such a checkout was completed even when the pixel never sent checkout_completed. None when absent.
     */
    orderedCheckouts?: string[];
    /** As-of evaluation: when the shop's first order of each ordered checkout was processed. */
    orderedCheckoutsAt?: Record<string, Date>;
    /**
     * As-of evaluation: each of the person's browsers (latest first), from which the combined
     * fields above were made, so they can be made again from what existed at an earlier moment.
     */
    browsers?: BrowserFacts[];
  } | null;
  /** The customer's stored prediction (predicted.ts), when loaded and there is one; else not set. */
  prediction?: PredictionFacts | null;
}

/**
 * What a stored browser (the `Visitor` row) says of its visits: the one shape the engine's browser
 * and the readers' rows derive from. `Time` is how its times are held: Date here; the driver's
 * value in a row read by SQL (facts.server.ts `VisitorRow`), ISO text inside a one-statement
 * read's JSON (`VisitorJson`).
 */
export interface BrowserBase<Time = Date> {
  firstSeenAt: Time;
  lastSeenAt: Time;
  sessions: number;
  landingPage: string | null;
  referrer: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  deviceType: string | null;
}

/** One browser (stored visitor) of a person, with its own events and cart. */
export interface BrowserFacts extends BrowserBase {
  cart: Facts["cart"];
  events: StorefrontEventFacts[];
}

export type StorefrontEventType =
  "session_start" | "page_view" | "product_view" | "collection_view" | "cart_update" | "answer";

export interface StorefrontEventFacts {
  type: string;
  at: Date;
  /** Product or collection id, page path, or "question=answer". */
  resourceId: string | null;
}

export interface Reason {
  condition: string;
  field: Field;
  /** The person's value, as shown to the merchant. */
  value: string;
  met: boolean;
  /** What the value is, when it is a prediction: an expectation, the fit's date and its holdout check. */
  note?: string;
}

export interface EvaluateOptions {
  now: Date;
  /** For showing money in reasons; defaults to USD. */
  currency?: string;
  /** How reasons show money, numbers and dates (the shop's currency and zone); wins over `currency`. */
  format?: ShopFormat;
  resolve?: (handle: string) => Rule | null;
  /**
   * As-of snapshot: nothing after `now` exists (orders processed, cancelled or refunded after it,
   * storefront events, carts changed, customers created after it); see as-of.ts. Without it `now`
   * only moves the clock.
   */
  asOf?: boolean;
  /** As-of only: what the facts describe, a customer (the default) or one visitor (a browser). */
  unit?: "customer" | "visitor";
  /**
   * false: membership only, no reasons (a webhook's membership pass evaluates thousands of
   * conditions; showing each value for the merchant costs more than deciding it).
   */
  reasons?: false;
}

type Value = number | string | boolean | Date | string[] | null;

const DAY = 86_400_000;
const PENDING = new Set(["pending", "authorized", "partially_paid"]);

/** ASCII-only case folding, as SQLite's LOWER() does: the two implementations must agree. */
export function fold(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function liveOrders(facts: Facts, now: Date, days?: number): OrderFacts[] {
  const since = days === undefined ? -Infinity : now.getTime() - days * DAY;
  return facts.orders.filter((o) => !o.cancelled && !o.test && o.processedAt.getTime() >= since);
}

const SESSION = ["session_start"];
const PAGE_VIEW = ["page_view"];
const PRODUCT_VIEW = ["product_view"];
const COLLECTION_VIEW = ["collection_view"];
/** Page views: every page shown, whatever it showed. */
export const VIEWS = ["page_view", "product_view", "collection_view"];
const ANSWER = ["answer"];
const SEARCH = ["search"];
/** Reaching payment: submitting payment details, or completing (which comes after it). */
export const PAYMENT_REACHED = ["checkout_payment", "checkout_completed"];

const COMPLETED = CHECKOUT_STEPS.length - 1;

/**
 * The step the latest checkout was left at: the checkout tokens with events in the window, the
 * latest by its last event (a tie goes to the furthest step), at the furthest step it reached;
 * null when there is none or it was completed. A token in `ordered` (the shop has its order) is
 * completed, whatever its events say: the pixel can miss checkout_completed.
 */
export function abandonedCheckoutStep(
  list: StorefrontEventFacts[],
  ordered: ReadonlySet<string> = new Set(),
): string | null {
  const tokens = new Map<string, { last: number; step: number }>();
  for (const e of list) {
    const seen = CHECKOUT_EVENT_TYPES.indexOf(e.type);
    if (seen < 0 || !e.resourceId) continue;
    const step = ordered.has(e.resourceId) ? COMPLETED : seen;
    const t = tokens.get(e.resourceId) ?? { last: -Infinity, step: -1 };
    tokens.set(e.resourceId, { last: Math.max(t.last, e.at.getTime()), step: Math.max(t.step, step) });
  }
  let latest: { last: number; step: number } | null = null;
  for (const t of tokens.values())
    if (!latest || t.last > latest.last || (t.last === latest.last && t.step > latest.step)) latest = t;
  return !latest || latest.step === COMPLETED ? null : CHECKOUT_STEPS[latest.step];
}

/**
 * Reached payment in the window: a payment or completion event, or any checkout event of a token
 * the shop holds an order for (an order is only placed after payment).
 */
export function reachedPayment(
  list: StorefrontEventFacts[],
  ordered: ReadonlySet<string> = new Set(),
): boolean {
  return list.some((e) => PAYMENT_REACHED.includes(e.type) || (!!e.resourceId && ordered.has(e.resourceId)));
}

/** The checkout tokens the shop holds an order for (see Facts.visitor.orderedCheckouts). */
function orderedCheckouts(facts: Facts): Set<string> {
  return new Set(facts.visitor?.orderedCheckouts ?? []);
}

/** Views of `product` in the list, or of the most viewed product when none is given. */
function productViews(list: StorefrontEventFacts[], product: string | undefined): number {
  const counts = new Map<string, number>();
  for (const e of list)
    if (e.resourceId && (product === undefined || e.resourceId === product))
      counts.set(e.resourceId, (counts.get(e.resourceId) ?? 0) + 1);
  return Math.max(0, ...counts.values());
}

/** The person's storefront events of these types at or after now − days. */
function events(facts: Facts, now: Date, days: number | undefined, types: string[]): StorefrontEventFacts[] {
  const since = days === undefined ? -Infinity : now.getTime() - days * DAY;
  return (facts.visitor?.events ?? []).filter((e) => types.includes(e.type) && e.at.getTime() >= since);
}

function resources(list: StorefrontEventFacts[]): string[] {
  return list.map((e) => e.resourceId).filter((x): x is string => !!x);
}

/** The value a field has for this person (null when not set). */
export function valueOf(field: Field, c: Condition, facts: Facts, now: Date): Value {
  const cust = facts.customer;
  // Lifetime figures: the orders held, with Shopify's own figures where it counts more (lifetime.ts).
  const life = () => lifetimeFigures(facts.orders, cust?.shopifyTotals ?? null);
  const window = () => liveOrders(facts, now, c.days);
  switch (field) {
    // An anonymous visitor has bought nothing: 0, not "unknown" (first-time visitors rely on it).
    case "customer.totalSpent":
      return life().totalSpent;
    case "customer.ordersCount":
      return life().ordersCount;
    case "customer.averageOrderValue": {
      // Integer division truncates, as it does in SQL.
      const l = life();
      return cust && l.ordersCount ? Math.trunc(l.totalSpent / l.ordersCount) : null;
    }
    case "customer.firstOrderAt":
      return life().firstOrderAt;
    case "customer.lastOrderAt":
      return life().lastOrderAt;
    case "customer.createdAt":
      return cust?.createdAt ?? null;
    case "customer.countryCode":
      return cust?.countryCode ?? null;
    case "customer.provinceCode":
      return cust?.provinceCode ?? null;
    case "customer.city":
      return cust?.city ?? null;
    case "customer.tags":
      return cust ? cust.tags : null;
    case "customer.acceptsEmailMarketing":
      return cust ? cust.acceptsEmailMarketing : null;
    case "customer.state":
      return cust?.state ?? null;
    case "orders.count":
      return window().length;
    case "orders.spend":
      return window().reduce((s, o) => s + o.total - o.refunded, 0);
    case "orders.products":
      return window().flatMap((o) => o.lines.map((l) => l.productId).filter((x): x is string => !!x));
    case "orders.variants":
      return window().flatMap((o) => o.lines.map((l) => l.variantId).filter((x): x is string => !!x));
    case "orders.collections":
      return window().flatMap((o) => o.lines.flatMap((l) => l.collectionIds));
    case "orders.vendors":
      return window().flatMap((o) => o.lines.map((l) => l.vendor).filter((x): x is string => !!x));
    case "orders.productTypes":
      return window().flatMap((o) => o.lines.map((l) => l.productType).filter((x): x is string => !!x));
    case "orders.usedDiscount":
      return window().some((o) => o.discountCodes.length > 0);
    case "orders.paymentPending":
      return window().some((o) => PENDING.has(o.financialStatus ?? ""));
    case "checkouts.abandoned": {
      const since = now.getTime() - (c.days ?? 0) * DAY;
      return facts.checkouts.some((k) => !k.completed && k.createdAt.getTime() >= since);
    }
    case "cart.value":
      return facts.cart?.value ?? null;
    case "cart.itemCount":
      return facts.cart?.itemCount ?? 0;
    case "cart.products":
      return facts.cart?.productIds ?? [];
    case "visitor.sessions":
      return facts.visitor?.sessions ?? 0;
    case "visitor.visits":
      return events(facts, now, c.days, SESSION).length;
    case "visitor.visitsPerWeek":
      return Math.floor((events(facts, now, c.days, SESSION).length * 7) / (c.days ?? 7));
    case "visitor.pageViews":
      return events(facts, now, c.days, VIEWS).length;
    case "visitor.viewedProducts":
      return resources(events(facts, now, c.days, PRODUCT_VIEW));
    case "visitor.viewedCollections":
      return resources(events(facts, now, c.days, COLLECTION_VIEW));
    case "visitor.viewedPages":
      return resources(events(facts, now, c.days, PAGE_VIEW));
    case "visitor.answers":
      return resources(events(facts, now, undefined, ANSWER));
    case "visitor.abandonedCheckoutStep":
      return abandonedCheckoutStep(events(facts, now, c.days, CHECKOUT_EVENT_TYPES), orderedCheckouts(facts));
    case "visitor.productViews":
      return productViews(events(facts, now, c.days, PRODUCT_VIEW), c.product);
    case "visitor.searches":
      return resources(events(facts, now, c.days, SEARCH));
    case "visitor.reachedPayment":
      return reachedPayment(events(facts, now, c.days, CHECKOUT_EVENT_TYPES), orderedCheckouts(facts));
    case "visitor.firstSeenAt":
      return facts.visitor?.firstSeenAt ?? null;
    case "visitor.lastSeenAt":
      return facts.visitor?.lastSeenAt ?? null;
    case "visitor.landingPage":
      return facts.visitor?.landingPage ?? null;
    case "visitor.referrer":
      return facts.visitor?.referrer ?? null;
    case "visitor.utmSource":
      return facts.visitor?.utmSource ?? null;
    case "visitor.utmMedium":
      return facts.visitor?.utmMedium ?? null;
    case "visitor.utmCampaign":
      return facts.visitor?.utmCampaign ?? null;
    case "visitor.deviceType":
      return facts.visitor?.deviceType ?? null;
    case "predicted.orders":
    case "predicted.probabilityActive":
    case "predicted.probabilityActiveChange30d":
    case "predicted.value12m":
    case "predicted.valueTier":
    case "predicted.daysToNextOrder":
    case "predicted.spendPerOrder":
      return predictedValue(field, c, facts.prediction, now);
  }
}

function dateParam(value: unknown): number {
  return Date.parse(String(value));
}

/** One condition against one value; null (not set) is false except for isNotSet. */
export function test(c: Condition, v: Value, now: Date): boolean {
  if (c.op === "isSet") return v !== null && !(Array.isArray(v) && v.length === 0) && v !== "";
  if (c.op === "isNotSet") return v === null || (Array.isArray(v) && v.length === 0) || v === "";
  if (v === null) return false;
  const list = Array.isArray(c.value) ? c.value.map(String) : [];
  switch (c.op) {
    case "isTrue":
      return v === true;
    case "isFalse":
      return v === false;
    case "before":
      return (v as Date).getTime() < dateParam(c.value);
    case "after":
      return (v as Date).getTime() > dateParam(c.value);
    case "withinLast":
      return (v as Date).getTime() >= now.getTime() - (c.days ?? 0) * DAY;
    case "notWithinLast":
      return (v as Date).getTime() < now.getTime() - (c.days ?? 0) * DAY;
    case "between":
      return (v as number) >= Number(list[0]) && (v as number) <= Number(list[1]);
    case "lt":
      return (v as number) < Number(c.value);
    case "lte":
      return (v as number) <= Number(c.value);
    case "gt":
      return (v as number) > Number(c.value);
    case "gte":
      return (v as number) >= Number(c.value);
  }
  if (Array.isArray(v) && FIELDS[c.field].type === "terms") {
    // Searches: "contains" is a search containing the words, "is" a search equal to them.
    const terms = v.map(fold);
    const wanted = (Array.isArray(c.value) ? c.value : [c.value]).map((w) => searchTermOf(String(w)));
    const hit =
      c.op === "contains" || c.op === "notContains"
        ? terms.some((t) => t.includes(wanted[0]))
        : terms.some((t) => wanted.includes(t));
    return c.op === "notIn" || c.op === "notContains" ? !hit : hit;
  }
  if (Array.isArray(v)) {
    // Tags and bought ids: a set of values.
    const have = new Set(v.map(fold));
    const wanted = c.op === "in" || c.op === "notIn" ? list.map(fold) : [fold(String(c.value))];
    const hit = wanted.some((w) => have.has(w));
    return c.op === "notIn" || c.op === "notContains" ? !hit : hit;
  }
  if (typeof v === "number") {
    if (c.op === "eq") return v === Number(c.value);
    if (c.op === "neq") return v !== Number(c.value);
    return false;
  }
  const text = fold(String(v));
  switch (c.op) {
    case "eq":
      return text === fold(String(c.value));
    case "neq":
      return text !== fold(String(c.value));
    case "in":
      return list.map(fold).includes(text);
    case "notIn":
      return !list.map(fold).includes(text);
    case "contains":
      return text.includes(fold(String(c.value)));
    case "notContains":
      return !text.includes(fold(String(c.value)));
  }
  return false;
}

function show(v: Value, field: Field, f: ShopFormat): string {
  if (v === null) return "not set";
  if (FIELDS[field].type === "money" && typeof v === "number") return money(v, f);
  if (v instanceof Date) return dateTime(v, f);
  if (typeof v === "number") return count(v, f);
  if (Array.isArray(v)) return v.length ? [...new Set(v)].join(", ") : "none";
  return String(v);
}

export function evaluate(
  rule: Rule,
  facts: Facts,
  options: EvaluateOptions,
): { member: boolean; reasons: Reason[] } {
  const reasons: Reason[] = [];
  const explain = options.reasons !== false;
  // As of `now`: the person as they were then; one who did not exist yet is in no segment (the
  // SQL compiler does not select them either).
  if (options.asOf) assertEvaluableAsOf(rule, options.resolve);
  const person = options.asOf ? factsAsOf(facts, options.now, options.unit ?? "customer") : facts;
  if (!person) return { member: false, reasons };
  const visit = (node: RuleNode, depth: number): boolean => {
    if (depth > 20) throw new Error("segments nest too deeply");
    if ("all" in node)
      return explain
        ? node.all.map((n) => visit(n, depth + 1)).every(Boolean)
        : node.all.every((n) => visit(n, depth + 1));
    if ("any" in node)
      return explain
        ? node.any.map((n) => visit(n, depth + 1)).some(Boolean)
        : node.any.some((n) => visit(n, depth + 1));
    if ("not" in node) return !visit(node.not, depth + 1);
    if ("segment" in node) {
      const target = options.resolve?.(node.segment);
      if (!target) throw new Error(`no segment "${node.segment}"`);
      return visit(target.match, depth + 1);
    }
    const v = valueOf(node.field, node, person, options.now);
    const met = test(storedCondition(node), v, options.now);
    if (!explain) return met;
    const f = options.format ?? { currency: options.currency ?? "USD", timeZone: "UTC", locale: "en-US" };
    reasons.push({
      condition: describeCondition(node, f),
      field: node.field,
      value: isPredictedField(node.field)
        ? showPredicted(node.field, v as number | string | null, facts.prediction, f)
        : show(v, node.field, f),
      met,
      ...(isPredictedField(node.field) && facts.prediction
        ? { note: predictionNote(facts.prediction.fit, f) }
        : {}),
    });
    return met;
  };
  const member = visit(rule.match, 0);
  return { member, reasons };
}

export { FIELDS };
