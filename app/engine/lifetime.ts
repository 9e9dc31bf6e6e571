/**
 * A customer's lifetime order figures: what the app derives from the orders it holds, combined
 * with Shopify's own lifetime figures (`Customer.numberOfOrders` / `amountSpent`, the
 * `customers/purchasing_summary` webhook) when it has them. Pure: the evaluator (evaluate.ts) and
 * the sync (refreshCustomerStats, which writes the columns the SQL compiler reads) both call it,
 * so the two implementations agree by construction (cases.json holds them to it).
 *
 * Why: without `read_all_orders` Shopify returns only the last 60 days of orders, so the orders
 * held can be fewer than exist. Shopify's figures are lifetime, taken at a moment `at` (the
 * customer's `updatedAt` in the Admin API, `occurredAt` in the webhook).
 *
 * The rule:
 * - `hidden` = Shopify's count minus the orders held that were processed at or before `at`
 *   (cancelled ones included: whether Shopify counts them is to be checked on a real store; a
 *   cancelled order held keeps an older order from looking hidden, never the other way round).
 * - No hidden orders (or no Shopify figures): every figure comes from the orders held (not
 *   cancelled, not test), as before: they are complete and newer than Shopify's snapshot (a refund
 *   or cancellation since `at` is already in them).
 * - Hidden orders: orders count = live orders held + hidden; total spent = Shopify's amount plus
 *   the live orders held processed after `at` (never less than the orders held add up to);
 *   first order at = unknown (null: it is one of the hidden orders, older than anything held, so
 *   "first order in the last N days" is false); last order at = the latest live order held, else
 *   unknown (null).
 * So a customer whose only orders are older than 60 days has orders count ≥ 1 and is never a
 * first-time buyer, and a new order of theirs makes them a repeat customer.
 */

import type { Condition, Field, Rule, RuleNode } from "./rules";

export interface ShopifyTotals {
  /** Customer.numberOfOrders. */
  orders: number;
  /** Customer.amountSpent, minor units of the shop currency. */
  spent: number;
  /** When these figures were true. */
  at: Date;
}

export interface OrderLike {
  processedAt: Date;
  total: number;
  refunded: number;
  cancelled: boolean;
  test: boolean;
}

export interface LifetimeFigures {
  ordersCount: number;
  totalSpent: number;
  firstOrderAt: Date | null;
  lastOrderAt: Date | null;
  /** Orders Shopify counts that the app does not hold (0 when it holds them all). */
  hidden: number;
}

export function lifetimeFigures(
  orders: readonly OrderLike[],
  shopify: ShopifyTotals | null,
): LifetimeFigures {
  const live = orders.filter((o) => !o.cancelled && !o.test);
  let spent = 0;
  let first: number | null = null;
  let last: number | null = null;
  for (const o of live) {
    const t = o.processedAt.getTime();
    spent += o.total - o.refunded;
    if (first === null || t < first) first = t;
    if (last === null || t > last) last = t;
  }
  const held: LifetimeFigures = {
    ordersCount: live.length,
    totalSpent: spent,
    firstOrderAt: first === null ? null : new Date(first),
    lastOrderAt: last === null ? null : new Date(last),
    hidden: 0,
  };
  if (!shopify) return held;
  const at = shopify.at.getTime();
  const heldAtSnapshot = orders.filter((o) => !o.test && o.processedAt.getTime() <= at).length;
  const hidden = shopify.orders - heldAtSnapshot;
  if (hidden <= 0) return held;
  const since = live
    .filter((o) => o.processedAt.getTime() > at)
    .reduce((s, o) => s + o.total - o.refunded, 0);
  return {
    ordersCount: live.length + hidden,
    totalSpent: Math.max(spent, shopify.spent + since),
    firstOrderAt: null,
    lastOrderAt: held.lastOrderAt,
    hidden,
  };
}

/** How far back Shopify lets an app without `read_all_orders` read orders. */
export const ORDERS_VISIBLE_DAYS = 60;

/** Customer fields whose value depends on every order the customer ever placed. */
const LIFETIME_FIELDS = new Set<Field>([
  "customer.ordersCount",
  "customer.totalSpent",
  "customer.averageOrderValue",
  "customer.firstOrderAt",
  "customer.lastOrderAt",
]);

/**
 * The conditions of a rule (referenced segments included) that read order history older than the
 * last 60 days: lifetime customer figures, and order conditions over a window longer than 60 days.
 * Without `read_all_orders` these are only as right as Shopify's lifetime figures make them (see
 * lifetimeFigures: first/last order dates can be unknown; windowed order conditions see 60 days).
 */
export function orderHistoryConditions(
  rule: Rule,
  resolve?: (handle: string) => Rule | null,
  depth = 0,
): Condition[] {
  const out: Condition[] = [];
  const visit = (n: RuleNode) => {
    if ("all" in n) n.all.forEach(visit);
    else if ("any" in n) n.any.forEach(visit);
    else if ("not" in n) visit(n.not);
    else if ("segment" in n) {
      const target = depth < 20 ? resolve?.(n.segment) : null;
      if (target) out.push(...orderHistoryConditions(target, resolve, depth + 1));
    } else if (LIFETIME_FIELDS.has(n.field)) out.push(n);
    else if (n.field.startsWith("orders.") && (n.days ?? 0) > ORDERS_VISIBLE_DAYS) out.push(n);
  };
  visit(rule.match);
  return out;
}
