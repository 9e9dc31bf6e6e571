/**
 * Per-customer predictions from the fitted models, and the value tiers.
 */
import { checkSummary, expectedOrdersIfActive, probabilityActive } from "./bgnbd";
import { expectedSpendPerOrder } from "./gamma-gamma";
import {
  PREDICTION_HORIZONS,
  type BgNbdParams,
  type CustomerPredictionValues,
  type FittedModels,
  type Horizon,
  type Summary,
  type TierThresholds,
  type ValueSummary,
  type ValueTier,
} from "./types";

/**
 * Days from now until the customer's next order is as likely as not to have happened: the median
 * of the time to the next order, t such that P(an order in (T, T+t] | x, tx, T) = ½. Under BG/NBD
 *   P(an order within t) = P(active) · (1 − ((α+T)/(α+T+t))^(r+x))
 * (an active customer's rate has the posterior Gamma(r+x, α+T), and dropping out happens only just
 * after a purchase), which tends to P(active) as t grows; so
 *   t = (α+T) · ((1 − 1/(2·P(active)))^(−1/(r+x)) − 1)   when P(active) > ½,
 * and null (no next order expected: more likely than not the customer has dropped out) otherwise.
 */
export function expectedDaysToNextOrder(p: BgNbdParams, s: Summary): number | null {
  return daysToNextOrder(p, s, probabilityActive(p, s));
}

function daysToNextOrder(p: BgNbdParams, s: Summary, active: number): number | null {
  if (!(active > 0.5)) return null;
  const rx = p.r + s.x;
  // (1 − 1/(2P))^(−1/(r+x)) − 1, as expm1 of a logarithm for accuracy when it is small.
  const t = (p.alpha + s.T) * Math.expm1(-Math.log1p(-1 / (2 * active)) / rx);
  return Number.isFinite(t) ? t : null;
}

/** Every prediction the store keeps for one customer (expectations, not promises). */
export function predictCustomer(m: FittedModels, s: ValueSummary): CustomerPredictionValues {
  checkSummary(s);
  const active = probabilityActive(m.bgnbd, s); // checks the parameters too
  const orders = {} as Record<Horizon, number>;
  for (const days of PREDICTION_HORIZONS) orders[days] = expectedOrdersIfActive(m.bgnbd, s, days) * active;
  const spendPerOrder = expectedSpendPerOrder(m.gammaGamma, s.x, s.mean);
  return {
    probabilityActive: active,
    orders,
    spendPerOrder,
    value12m: orders[365] * spendPerOrder,
    nextOrderInDays: daysToNextOrder(m.bgnbd, s, active),
  };
}

/** predictCustomer's figures, and P(active) as of some days before (null: no purchase by then). */
export interface CustomerPredictionWithFall extends CustomerPredictionValues {
  probabilityActiveThen: number | null;
}

/**
 * predictCustomer, plus P(active) from the same parameters for the customer's summary at an earlier
 * moment (`then`: their purchases up to it, T as of it; null when they had none by then). The two
 * differ by what the time between did: silence lowers P(active), a purchase raises it.
 */
export function predictCustomerWithFall(
  m: FittedModels,
  s: ValueSummary,
  then: Summary | null,
): CustomerPredictionWithFall {
  const v = predictCustomer(m, s) as CustomerPredictionWithFall;
  v.probabilityActiveThen = then ? probabilityActive(m.bgnbd, then) : null;
  return v;
}

/**
 * The tier of a predicted 12-month value: top10 when value ≥ t.top10, and so on. A value of 0 (or
 * less) is in no tier ("rest"), whatever the thresholds, so a shop where most customers are
 * expected to spend nothing does not call them "top 50%".
 */
export function tierOf(value12m: number, t: TierThresholds): ValueTier {
  if (!(value12m > 0)) return "rest";
  if (value12m >= t.top10) return "top10";
  if (value12m >= t.top25) return "top25";
  if (value12m >= t.top50) return "top50";
  return "rest";
}

/**
 * The tiers' thresholds by rank within the shop: the least value among the ⌈10%⌉, ⌈25%⌉ and ⌈50%⌉
 * highest predicted 12-month values (ties at a threshold all join the tier). With no customers,
 * every threshold is Number.MAX_VALUE (nobody is in a tier; the value stays JSON-safe).
 */
export function tierThresholds(values: Float64Array): TierThresholds {
  const n = values.length;
  if (n === 0) return { top10: Number.MAX_VALUE, top25: Number.MAX_VALUE, top50: Number.MAX_VALUE };
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(values[i])) throw new RangeError(`tierThresholds: value at index ${i} is not a number`);
  }
  const sorted = Float64Array.from(values).sort(); // ascending
  const least = (share: number) => sorted[n - Math.max(1, Math.ceil(share * n))];
  return { top10: least(0.1), top25: least(0.25), top50: least(0.5) };
}
