/**
 * The built-in segments: useful on day one, each an ordinary rule the merchant can edit.
 * Shop-specific numbers (the top-10% spend threshold, the collection) are parameters, so the
 * threshold is shown in the rule and stays editable.
 */
import type { Rule } from "./rules";

export interface Preset {
  handle: string;
  name: string;
  description: string;
  rule: Rule;
}

export interface PresetParams {
  /** Total spent (minor units) at the shop's 90th percentile of customers who ordered. */
  topSpendThreshold: number;
  /**
   * The collection for "bought from collection X in the last 30 days" when the shop chose one;
   * "" gives the same segment as a template with the collection still to pick.
   */
  collectionId?: string;
  /**
   * Adds the predicted segments (predictedPresets): when the shop has a ready fit, or as templates,
   * which are empty until the first fit is ready.
   */
  predicted?: boolean;
}

const rule = (match: Rule["match"]): Rule => ({ version: 1, match });

export function presets(params: PresetParams): Preset[] {
  const list: Preset[] = [
    {
      handle: "first-time-visitors",
      name: "First-time visitors",
      description: "On their first session, never bought.",
      rule: rule({
        all: [
          { field: "visitor.sessions", op: "eq", value: 1 },
          { field: "customer.ordersCount", op: "eq", value: 0 },
        ],
      }),
    },
    {
      handle: "returning-non-buyers",
      name: "Returning visitors who never bought",
      description: "Came back at least once, no order yet.",
      rule: rule({
        all: [
          { field: "visitor.sessions", op: "gte", value: 2 },
          { field: "customer.ordersCount", op: "eq", value: 0 },
        ],
      }),
    },
    {
      handle: "checkout-abandoners",
      name: "Checkout abandoners",
      description: "Left a checkout in the last 7 days, no order since; guests included.",
      // Shopify's checkout webhooks know customers; the Web Pixel's checkout events add guests.
      rule: rule({
        all: [
          {
            any: [
              { field: "checkouts.abandoned", op: "isTrue", days: 7 },
              { field: "visitor.abandonedCheckoutStep", op: "isSet", days: 7 },
            ],
          },
          { field: "orders.count", op: "eq", value: 0, days: 7 },
        ],
      }),
    },
    {
      handle: "reached-payment-no-order",
      name: "Reached payment but did not buy",
      description: "Left their latest checkout at payment in the last 7 days, no order since.",
      rule: rule({
        all: [
          { field: "visitor.abandonedCheckoutStep", op: "eq", value: "payment", days: 7 },
          { field: "orders.count", op: "eq", value: 0, days: 7 },
        ],
      }),
    },
    {
      handle: "cart-abandoners",
      name: "Cart abandoners",
      description: "Left with items in the cart and no order in the last day.",
      rule: rule({
        all: [
          { field: "cart.itemCount", op: "gt", value: 0 },
          { field: "orders.count", op: "eq", value: 0, days: 1 },
        ],
      }),
    },
    {
      handle: "first-time-customers",
      name: "First-time customers",
      description: "Exactly one order, placed in the last 30 days.",
      rule: rule({
        all: [
          { field: "customer.ordersCount", op: "eq", value: 1 },
          { field: "customer.firstOrderAt", op: "withinLast", days: 30 },
        ],
      }),
    },
    {
      handle: "high-spend-repeat",
      name: "High-spend repeat customers",
      description: "Two or more orders and total spend in the shop's top 10% (threshold editable).",
      rule: rule({
        all: [
          { field: "customer.ordersCount", op: "gte", value: 2 },
          { field: "customer.totalSpent", op: "gte", value: params.topSpendThreshold },
        ],
      }),
    },
    {
      handle: "lapsed-customers",
      name: "Lapsed customers",
      description: "Ordered before, but not in the last 90 days.",
      rule: rule({ field: "customer.lastOrderAt", op: "notWithinLast", days: 90 }),
    },
    {
      handle: "engaged-non-buyers",
      name: "Engaged non-buyers",
      description: "Three or more visits in the last week, no order.",
      rule: rule({
        all: [
          { field: "visitor.visits", op: "gte", value: 3, days: 7 },
          { field: "customer.ordersCount", op: "eq", value: 0 },
        ],
      }),
    },
  ];
  if (params.collectionId !== undefined)
    list.push({
      handle: "bought-collection-30d",
      name: "Bought from a collection in the last 30 days",
      description: "Ordered something from the chosen collection in the last 30 days.",
      // An empty collection ("") is a template: the merchant picks the collection in the builder.
      rule: rule({
        field: "orders.collections",
        op: "in",
        value: params.collectionId ? [params.collectionId] : [],
        days: 30,
      }),
    });
  if (params.predicted) list.push(...predictedPresets());
  return list;
}

/**
 * The segments on the shop's predictions (the "Predicted" fields, from its fitted models): each an
 * expectation, not a promise, and editable like any rule.
 * - Likely to buy again in 30 days: bought before, and at least 0.5 orders expected from them in
 *   the next 30 days.
 * - Valuable and slipping away: in the top 25% by predicted 12-month value, no order in the last
 *   30 days, and their chance of still being active FELL by at least 10 percentage points over those
 *   30 days (predicted.probabilityActiveChange30d: the same fit's P(active) now against as of the start
 *   of the day 30 days back, from their purchases before then). A real fall, not a low level: a frequent buyer gone quiet
 *   for longer than their own rhythm falls fast, an occasional one barely. Why these conditions:
 *   - 10 points: for the top 25% a month without an order costs a typical 4–6 points (the median
 *     change over 30 days in simulated shops on the CDNOW parameters, bench/falling-threshold.ts);
 *     10 is about twice that, and keeps the segment to a tenth to a fifth of the top 25%.
 *   - No order in the last 30 days: a customer's second purchase turns the model's P(active) from
 *     1 (BG/NBD: nobody drops out before a repeat purchase) to below 1, a "fall" of tens of points
 *     for a customer who has just bought again; this excludes them. It also makes "a repeat buyer"
 *     implied: with no order since, a one-time buyer's chance stays 1 and cannot fall.
 * - Predicted top 10%: the top 10% of the shop's customers by predicted 12-month value.
 */
export function predictedPresets(): Preset[] {
  return [
    {
      handle: "likely-to-buy-30d",
      name: "Likely to buy again in 30 days",
      description:
        "Bought before; the shop's model expects at least 0.5 orders from them in the next 30 days.",
      rule: rule({
        all: [
          { field: "customer.ordersCount", op: "gte", value: 1 },
          { field: "predicted.orders", op: "gte", value: 0.5, days: 30 },
        ],
      }),
    },
    {
      handle: "valuable-slipping-away",
      name: "Valuable and slipping away",
      description:
        "Top 25% by predicted 12-month value, no order in the last 30 days, and the model's chance they are still active fell by at least 10 points over those 30 days.",
      rule: rule({
        all: [
          { field: "predicted.valueTier", op: "in", value: ["top10", "top25"] },
          { field: "orders.count", op: "eq", value: 0, days: 30 },
          { field: "predicted.probabilityActiveChange30d", op: "lte", value: -10 },
        ],
      }),
    },
    {
      handle: "predicted-top-10",
      name: "Predicted top 10%",
      description: "The top 10% of customers by predicted value over the next 12 months.",
      rule: rule({ field: "predicted.valueTier", op: "eq", value: "top10" }),
    },
  ];
}

/**
 * Earlier definitions of predicted presets that changed since a shop may have been given them. A
 * shop's preset whose rule is still exactly one of these (the merchant never edited it) is moved to
 * the current definition (`upgradeUntouchedPresets`, segments/store.server.ts); an edited one is the
 * merchant's and stays. Append when a preset's definition changes; never remove an entry.
 */
export const RETIRED_PRESET_RULES: readonly { handle: string; rule: Rule; description: string }[] = [
  {
    // Until 2026-12-05: "falling" read as a low chance still active, before the 30-day change existed.
    handle: "valuable-slipping-away",
    description:
      "Top 25% by predicted 12-month value, ordered more than once, and the chance they are still active has fallen below 60%.",
    rule: rule({
      all: [
        { field: "predicted.valueTier", op: "in", value: ["top10", "top25"] },
        { field: "customer.ordersCount", op: "gte", value: 2 },
        { field: "predicted.probabilityActive", op: "lt", value: 60 },
      ],
    }),
  },
];

/** The spend at the given percentile (0..1) of a list of totals, for the top-spend threshold. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
