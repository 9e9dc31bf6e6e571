// TEMPORARY FAKE (engineer `fit`): stands in for `models`' predictions; deleted before the merge.
import { expectedOrders } from "./bgnbd";
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

export function predictCustomer(m: FittedModels, s: ValueSummary): CustomerPredictionValues {
  const orders = Object.fromEntries(
    PREDICTION_HORIZONS.map((h) => [h, expectedOrders(m.bgnbd, s, h)]),
  ) as Record<Horizon, number>;
  const spendPerOrder = expectedSpendPerOrder(m.gammaGamma, s.x, s.mean);
  return {
    probabilityActive: 1,
    orders,
    spendPerOrder,
    value12m: orders[365] * spendPerOrder,
    nextOrderInDays: expectedDaysToNextOrder(m.bgnbd, s),
  };
}

export function expectedDaysToNextOrder(p: BgNbdParams, s: Summary): number | null {
  void s;
  return p.r > 0 ? p.alpha / p.r : null;
}

export function tierOf(value12m: number, t: TierThresholds): ValueTier {
  return value12m >= t.top10 ? "top10" : value12m >= t.top25 ? "top25" : value12m >= t.top50 ? "top50" : "rest";
}

export function tierThresholds(values: Float64Array): TierThresholds {
  const sorted = Float64Array.from(values).sort().reverse();
  const at = (share: number) => sorted[Math.max(0, Math.ceil(sorted.length * share) - 1)] ?? 0;
  return { top10: at(0.1), top25: at(0.25), top50: at(0.5) };
}
