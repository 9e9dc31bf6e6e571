/**
 * The shapes shared by the predictive models (BG/NBD and Gamma-Gamma, in this folder), the
 * per-shop fitting (app/segments/predict*) and the rule language's "Predicted" fields.
 *
 * Time is in days throughout. A customer's summary, at a moment `now`:
 * - a purchase day is the UTC calendar day of an order's processedAt (orders not cancelled, not
 *   test; several orders on one day are one purchase, their net values summed);
 * - `x`: repeat purchases = distinct purchase days − 1;
 * - `tx`: days from the first purchase day to the last;
 * - `T`: days from the first purchase day (its start, 00:00 UTC) to `now` (fractional);
 * - `mean`: the mean net value (minor units) of the repeat purchase days; 0 when x = 0.
 */

export interface Summary {
  x: number;
  tx: number;
  T: number;
}

export interface ValueSummary extends Summary {
  mean: number;
}

/** Many customers' summaries, as columns (bounded memory: 32 bytes a customer). */
export interface SummaryColumns {
  length: number;
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  mean: Float64Array;
}

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

export interface Fit<P> {
  params: P;
  logLikelihood: number;
  /** Customers the likelihood was summed over. */
  customers: number;
  iterations: number;
  converged: boolean;
  /** From the inverse of the observed information (the log-likelihood's Hessian); null if singular. */
  standardErrors: P | null;
}

export interface FittedModels {
  bgnbd: BgNbdParams;
  gammaGamma: GammaGammaParams;
}

/** The horizons (days) the "predicted orders in the next N days" field offers and the store keeps. */
export const PREDICTION_HORIZONS = [7, 30, 60, 90, 180, 365] as const;
export type Horizon = (typeof PREDICTION_HORIZONS)[number];

/** One customer's predictions (all expectations, not promises). */
export interface CustomerPredictionValues {
  /** P(still active), 0..1. */
  probabilityActive: number;
  /** Expected orders (purchase days) in the next N days. */
  orders: Record<Horizon, number>;
  /** Expected net spend per order, minor units. */
  spendPerOrder: number;
  /** Expected orders in the next 365 days × expected spend per order, minor units. */
  value12m: number;
  /** Days from `now` to the expected next order; null when none is expected. */
  nextOrderInDays: number | null;
}

export type ValueTier = "top10" | "top25" | "top50" | "rest";

/** The least predicted 12-month value (minor units) in each tier, by rank within the shop. */
export interface TierThresholds {
  top10: number;
  top25: number;
  top50: number;
}

/** The holdout check stored with a fit (PredictionFit.calibration). */
export interface Calibration {
  /** ISO time: fitted on history up to it, checked on the period after it. */
  cutoff: string;
  holdoutDays: number;
  /** Customers with a first purchase before the cut-off. */
  customers: number;
  /** Repeat orders (purchase days) in the holdout: expected by the calibration fit, and actual. */
  predicted: number;
  actual: number;
  /** (predicted − actual) / actual; null when actual is 0. */
  error: number | null;
  /** The classic chart: by repeat purchases before the cut-off ("0" … "5", "6+"), mean per customer. */
  byFrequency: { x: string; customers: number; predicted: number; actual: number }[];
}
