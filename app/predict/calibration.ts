/**
 * The holdout check of a shop's fit, and how long its holdout is. Pure (no database): the
 * per-shop fit (fit.server.ts) reads the columns and calls these.
 *
 * The check: the BG/NBD model fitted on every customer's summary as of the cut-off predicts each
 * one's repeat purchases (purchase days) in the holdout period after it; those are compared with
 * the purchase days that actually followed, in all and by repeat purchases before the cut-off
 * (Fader, Hardie and Lee's "conditional expectations" chart).
 */
import { expectedOrders } from "../engine/predict/bgnbd";
import type { BgNbdParams, Calibration, SummaryColumns } from "../engine/predict/types";

/** The holdout the check uses on a shop with enough history. */
export const HOLDOUT_DAYS = 90;
/** Shorter than this, a holdout says too little: no check. */
export const MIN_HOLDOUT_DAYS = 14;

/**
 * How many days to hold out, given the days from the shop's first purchase to today: 90, or a
 * third of the history when it is shorter than 270 days, so that the model is always fitted on at
 * least twice as long a period as it is checked on; null (no check) when that is under 14 days.
 */
export function holdoutDaysFor(historyDays: number): number | null {
  const days = Math.min(HOLDOUT_DAYS, Math.floor(historyDays / 3));
  return days >= MIN_HOLDOUT_DAYS ? days : null;
}

/** Buckets of the chart: 0 … 5 repeat purchases before the cut-off, then 6 or more. */
const BUCKETS = ["0", "1", "2", "3", "4", "5", "6+"] as const;

/**
 * Predicted against actual repeat purchases in the holdout, for the customers whose first purchase
 * was before the cut-off. `params` were fitted on `columns` (their summaries as of the cut-off);
 * `holdoutRepeats[i]` is customer i's purchase days in the holdout.
 */
export function calibrationCheck(
  params: BgNbdParams,
  columns: SummaryColumns,
  holdoutRepeats: ArrayLike<number>,
  holdoutDays: number,
  cutoff: Date,
): Calibration {
  const customers = new Float64Array(BUCKETS.length);
  const predicted = new Float64Array(BUCKETS.length);
  const actual = new Float64Array(BUCKETS.length);
  for (let i = 0; i < columns.length; i++) {
    const x = columns.x[i];
    const b = Math.min(x, BUCKETS.length - 1);
    customers[b]++;
    predicted[b] += expectedOrders(params, { x, tx: columns.tx[i], T: columns.T[i] }, holdoutDays);
    actual[b] += holdoutRepeats[i];
  }
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
  const totalPredicted = sum(predicted);
  const totalActual = sum(actual);
  return {
    cutoff: cutoff.toISOString(),
    holdoutDays,
    customers: columns.length,
    predicted: totalPredicted,
    actual: totalActual,
    error: totalActual > 0 ? (totalPredicted - totalActual) / totalActual : null,
    byFrequency: BUCKETS.flatMap((x, b) =>
      customers[b] > 0
        ? [
            {
              x,
              customers: customers[b],
              predicted: predicted[b] / customers[b],
              actual: actual[b] / customers[b],
            },
          ]
        : [],
    ),
  };
}

/** Customers with at least one repeat purchase. */
export function repeatCustomers(columns: SummaryColumns): number {
  let n = 0;
  for (let i = 0; i < columns.length; i++) if (columns.x[i] > 0) n++;
  return n;
}
