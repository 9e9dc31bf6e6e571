/** The shared truth table (cases.json) and how its JSON facts become evaluator facts. */
import raw from "./cases.json";
import type { Facts } from "./evaluate";
import type { ShopifyTotals } from "./lifetime";
import type { PredictionFacts } from "./predicted";
import { PREDICTION_HORIZONS, type Horizon, type ValueTier } from "./predict/types";
import { checkoutStepOf } from "./pixel-events";
import type { Rule } from "./rules";

export const DEFAULT_NOW = "2026-06-15T12:00:00.000Z";

export interface JsonFacts {
  customer: Record<string, unknown> | null;
  orders: Record<string, unknown>[];
  /** `completedAt`: when completed (default: at creation when `completed`). */
  checkouts: { createdAt: string; completed: boolean; completedAt?: string | null }[];
  /** `updatedAt`: when the cart last changed (default: the epoch). */
  cart: { value: number; itemCount: number; productIds: string[]; updatedAt?: string } | null;
  visitor: Record<string, unknown> | null;
  /**
   * Orders the shop holds that are not the customer's: a guest checkout's, or another customer's
   * (`otherShop`: held by another shop, so they must not count). Only their checkout token matters,
   * for the pixel checkout fields; the customer's own orders carry one as `checkoutToken`.
   */
  shopOrders?: {
    checkoutToken: string;
    cancelled?: boolean;
    test?: boolean;
    otherShop?: boolean;
    /** Default: DEFAULT_NOW. */
    processedAt?: string;
  }[];
  /** The customer's stored prediction (CustomerPrediction) and its fit's date and holdout error. */
  prediction?: JsonPrediction | null;
}

/** A case's prediction: `orders` by horizon ("7" … "365"), every one given. */
export interface JsonPrediction {
  probabilityActive: number;
  /** Absent in the older cases: null (no figure 30 days before). */
  probabilityActive30dAgo?: number | null;
  orders: Record<string, number>;
  spendPerOrder: number;
  value12m: number;
  valueTier: ValueTier;
  nextOrderAt: string | null;
  fittedAt: string;
  holdoutError: number | null;
}

export function predictionOf(p: JsonPrediction | null | undefined): PredictionFacts | null {
  if (!p) return null;
  const orders = Object.fromEntries(
    PREDICTION_HORIZONS.map((h) => {
      if (typeof p.orders[String(h)] !== "number") throw new Error(`a case's prediction lacks orders ${h}`);
      return [h, p.orders[String(h)]];
    }),
  ) as Record<Horizon, number>;
  return {
    probabilityActive: p.probabilityActive,
    probabilityActive30dAgo: p.probabilityActive30dAgo ?? null,
    orders,
    spendPerOrder: p.spendPerOrder,
    value12m: p.value12m,
    valueTier: p.valueTier,
    nextOrderAt: p.nextOrderAt === null ? null : new Date(p.nextOrderAt),
    fit: { fittedAt: new Date(p.fittedAt), holdoutError: p.holdoutError, holdoutDays: 90 },
  };
}

/** A storefront event in a case's visitor facts. */
export interface JsonEvent {
  type: string;
  at: string;
  resourceId?: string | null;
}

export interface TruthCase {
  name: string;
  rule: Rule;
  facts: JsonFacts;
  expected: boolean;
  now?: string;
  /**
   * Evaluated as of `now` (engine/as-of.ts): nothing after it exists. Orders may then carry
   * `cancelledAt` and `refunds` ([{ at, amount }], `refunded` defaulting to their sum), checkouts
   * `completedAt`, the cart `updatedAt`, guests' orders `processedAt`.
   */
  asOf?: boolean;
  /** Per visitor, when the answer differs from `expected` (as of a moment the customer did not exist yet). */
  visitorExpected?: boolean;
  /**
   * A guest: a stored visitor linked to no customer (its `customer` facts are null). Only the
   * per-visitor query can select it; the per-customer query selects no one.
   */
  guest?: boolean;
}

export const cases = raw as unknown as TruthCase[];

/** A case's `shopifyOrdersCount`, `shopifySpent` and `shopifyTotalsAt` (all three, or none). */
export function shopifyTotalsOf(c: Record<string, unknown>): ShopifyTotals | null {
  if (c.shopifyOrdersCount === undefined || c.shopifyOrdersCount === null) return null;
  return {
    orders: Number(c.shopifyOrdersCount),
    spent: Number(c.shopifySpent ?? 0),
    at: new Date(String(c.shopifyTotalsAt)),
  };
}

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(String(v)));

/** A case order's dated refunds. */
export function refundsOf(o: Record<string, unknown>): { at: Date; amount: number }[] {
  return ((o.refunds as { at: string; amount: number }[] | undefined) ?? []).map((r) => ({
    at: new Date(r.at),
    amount: r.amount,
  }));
}

/** A case order's refunded amount: `refunded`, or its refunds' sum. */
export function refundedOf(o: Record<string, unknown>): number {
  return o.refunded !== undefined ? Number(o.refunded) : refundsOf(o).reduce((s, r) => s + r.amount, 0);
}

/** A case order's cancellation time: `cancelledAt`, or its processing time when `cancelled`. */
export function cancelledAtOf(o: Record<string, unknown>): Date | null {
  return o.cancelledAt
    ? new Date(String(o.cancelledAt))
    : o.cancelled
      ? new Date(String(o.processedAt))
      : null;
}

/** A case checkout's completion time: `completedAt`, or its creation when `completed`. */
export function completedAtOf(k: JsonFacts["checkouts"][number]): Date | null {
  return k.completedAt !== undefined ? date(k.completedAt) : k.completed ? new Date(k.createdAt) : null;
}

/** When the shop's first order of each checkout token was processed (this shop's, any customer's). */
function orderedAtOf(f: JsonFacts): Record<string, Date> {
  const at: Record<string, Date> = {};
  const add = (token: unknown, when: Date) => {
    if (typeof token === "string" && (!at[token] || when < at[token])) at[token] = when;
  };
  for (const o of f.orders) add(o.checkoutToken, new Date(String(o.processedAt)));
  for (const o of f.shopOrders ?? [])
    if (!o.otherShop) add(o.checkoutToken, new Date(o.processedAt ?? DEFAULT_NOW));
  return at;
}

/**
 * The tokens of the visitor's checkout events that this shop holds an order for (the customer's
 * or not, cancelled and test ones too), as facts.server.ts's withOrderedCheckouts reads them.
 */
function orderedCheckoutsOf(f: JsonFacts, events: JsonEvent[]): string[] {
  const held = new Set([
    ...f.orders.map((o) => o.checkoutToken).filter((t): t is string => typeof t === "string"),
    ...(f.shopOrders ?? []).filter((o) => !o.otherShop).map((o) => o.checkoutToken),
  ]);
  const tokens = events
    .filter((e) => checkoutStepOf(e.type) && e.resourceId && held.has(e.resourceId))
    .map((e) => e.resourceId as string);
  return [...new Set(tokens)];
}

export function toFacts(f: JsonFacts): Facts {
  const c = f.customer;
  return {
    customer: c
      ? {
          createdAt: date(c.createdAt),
          countryCode: (c.countryCode as string | null) ?? null,
          provinceCode: (c.provinceCode as string | null) ?? null,
          city: (c.city as string | null) ?? null,
          tags: (c.tags as string[]) ?? [],
          acceptsEmailMarketing: Boolean(c.acceptsEmailMarketing),
          state: (c.state as string | null) ?? null,
          shopifyTotals: shopifyTotalsOf(c),
        }
      : null,
    orders: f.orders.map((o) => ({
      processedAt: new Date(String(o.processedAt)),
      total: Number(o.total ?? 0),
      refunded: refundedOf(o),
      cancelled: cancelledAtOf(o) !== null,
      cancelledAt: cancelledAtOf(o),
      refunds: refundsOf(o),
      test: Boolean(o.test),
      discountCodes: (o.discountCodes as string[]) ?? [],
      financialStatus: o.financialStatus === undefined ? "paid" : (o.financialStatus as string | null),
      lines: ((o.lines as Record<string, unknown>[]) ?? []).map((l) => ({
        productId: (l.productId as string | null) ?? null,
        variantId: (l.variantId as string | null) ?? null,
        vendor: (l.vendor as string | null) ?? null,
        productType: (l.productType as string | null) ?? null,
        collectionIds: (l.collectionIds as string[]) ?? [],
      })),
    })),
    checkouts: f.checkouts.map((k) => ({
      createdAt: new Date(k.createdAt),
      completed: k.completed,
      completedAt: completedAtOf(k),
    })),
    cart: f.cart ? { ...f.cart, updatedAt: new Date(f.cart.updatedAt ?? 0) } : null,
    visitor: f.visitor
      ? {
          sessions: Number(f.visitor.sessions ?? 0),
          firstSeenAt: new Date(String(f.visitor.firstSeenAt)),
          lastSeenAt: new Date(String(f.visitor.lastSeenAt)),
          landingPage: (f.visitor.landingPage as string | null) ?? null,
          referrer: (f.visitor.referrer as string | null) ?? null,
          utmSource: (f.visitor.utmSource as string | null) ?? null,
          utmMedium: (f.visitor.utmMedium as string | null) ?? null,
          utmCampaign: (f.visitor.utmCampaign as string | null) ?? null,
          deviceType: (f.visitor.deviceType as string | null) ?? null,
          events: ((f.visitor.events as JsonEvent[] | undefined) ?? []).map((e) => ({
            type: e.type,
            at: new Date(e.at),
            resourceId: e.resourceId ?? null,
          })),
          orderedCheckouts: orderedCheckoutsOf(f, (f.visitor.events as JsonEvent[] | undefined) ?? []),
          orderedCheckoutsAt: orderedAtOf(f),
        }
      : null,
    prediction: c ? predictionOf(f.prediction) : null,
  };
}
