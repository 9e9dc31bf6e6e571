/**
 * The rule language's "Predicted" fields (rules.ts, group "Predicted"): what a customer's stored
 * prediction (CustomerPrediction, from the shop's fit in use) gives each field, and how such a
 * value is shown to a merchant: always as an expectation, with the fit's date and how the fit
 * did on the shop's own holdout period (issue 17, item 4). Its twin in SQL is sql.ts's
 * predictedScalar; cases.json holds them to the same answers.
 */
import { count, date as formatDate, money, percent, type ShopFormat } from "./format";
import type { Horizon, ValueTier } from "./predict/types";
import { PREDICTION_HORIZONS } from "./predict/types";
import { VALUE_TIER_LABELS, type Condition } from "./rules";

/** The fit a prediction came from, as a merchant is told of it. */
export interface PredictionFitFacts {
  fittedAt: Date;
  /** Calibration.error: (predicted − actual) / actual repeat orders on the holdout; null if unknown. */
  holdoutError: number | null;
  holdoutDays: number | null;
}

/** One customer's stored prediction (CustomerPrediction), as the evaluator reads it. */
export interface PredictionFacts {
  /** 0..1. */
  probabilityActive: number;
  /** 0..1: P(active) FALL_DAYS before the prediction's day (from its start); null: no order by then. */
  probabilityActive30dAgo: number | null;
  orders: Record<Horizon, number>;
  /** Minor units. */
  spendPerOrder: number;
  value12m: number;
  valueTier: ValueTier;
  nextOrderAt: Date | null;
  fit: PredictionFitFacts;
}

export type PredictedField =
  | "predicted.orders"
  | "predicted.probabilityActive"
  | "predicted.probabilityActiveChange30d"
  | "predicted.value12m"
  | "predicted.valueTier"
  | "predicted.daysToNextOrder"
  | "predicted.spendPerOrder";

const DAY = 86_400_000;

/**
 * Days back over which a fall in P(active) is measured ("predicted.probabilityActiveChange30d"):
 * each prediction also keeps P(active) as of the start (00:00 UTC) of the day this many days before
 * the day it was computed, from the same fitted parameters and the customer's purchase days before
 * then (app/predict/summaries.server.ts, agoDayOf).
 */
export const FALL_DAYS = 30;

export const isPredictedField = (field: string): field is PredictedField => field.startsWith("predicted.");

/** The horizon a condition asks about, checked (parseRule refuses any other `days`). */
export function horizonOf(c: Pick<Condition, "field" | "days">): Horizon {
  const days = c.days as Horizon;
  if (!PREDICTION_HORIZONS.includes(days))
    throw new Error(`${c.field} needs days of ${PREDICTION_HORIZONS.join(", ")}, not ${String(c.days)}`);
  return days;
}

/**
 * A predicted field's value for a customer, null (not set) without a prediction:
 * - orders: expected orders (purchase days) in the next `days` days, with fractions;
 * - probabilityActive: as stored, 0..1 (a rule's percent is compared through storedCondition);
 * - probabilityActiveChange30d: probabilityActive − probabilityActive30dAgo, −1..1 (a rule's
 *   percentage points are compared through storedCondition); not set without the 30-days-ago figure;
 * - value12m, spendPerOrder: minor units;
 * - valueTier: top10 | top25 | top50 | rest;
 * - daysToNextOrder: (nextOrderAt − now) in days, with fractions (below 0 once it has passed);
 *   not set when no next order is expected.
 */
export function predictedValue(
  field: PredictedField,
  c: Pick<Condition, "field" | "days">,
  p: PredictionFacts | null | undefined,
  now: Date,
): number | string | null {
  if (!p) return null;
  switch (field) {
    case "predicted.orders":
      return p.orders[horizonOf(c)];
    case "predicted.probabilityActive":
      return p.probabilityActive;
    case "predicted.probabilityActiveChange30d":
      // The same double subtraction as sql.ts's, so both compare the very same number.
      return p.probabilityActive30dAgo === null ? null : p.probabilityActive - p.probabilityActive30dAgo;
    case "predicted.value12m":
      return p.value12m;
    case "predicted.spendPerOrder":
      return p.spendPerOrder;
    case "predicted.valueTier":
      return p.valueTier;
    case "predicted.daysToNextOrder":
      return p.nextOrderAt === null ? null : (p.nextOrderAt.getTime() - now.getTime()) / DAY;
  }
}

/**
 * A condition on the stored scale: "chance still active is at least 57 (%)" compares the stored
 * ratio with 57 / 100, which is the very number 0.57 a fit stores, where 0.57 × 100 would be
 * 56.99999999999999 and miss it; its change in points likewise ("fell by at least 20 points" is a
 * change of at most −20 / 100). Both the evaluator and sql.ts compare through this.
 */
export function storedCondition(c: Condition): Condition {
  if (c.field !== "predicted.probabilityActive" && c.field !== "predicted.probabilityActiveChange30d")
    return c;
  const scale = (v: string | number) => (typeof v === "number" ? v / 100 : v);
  const value = c.value;
  return {
    ...c,
    value: Array.isArray(value) ? value.map(scale) : typeof value === "number" ? scale(value) : value,
  };
}

/** "fell 23 points in 30 days (from 81% to 58%)", "rose 4 points …", "unchanged …". */
function pointsChange(change: number, p: PredictionFacts, f: ShopFormat): string {
  const points = Math.round(Math.abs(change) * 1000) / 10;
  const span = `in ${FALL_DAYS} days (from ${percent(p.probabilityActive30dAgo ?? 0, f)} to ${percent(p.probabilityActive, f)})`;
  if (points === 0) return `unchanged ${span}`;
  return `${change < 0 ? "fell" : "rose"} ${count(points, f)} ${points === 1 ? "point" : "points"} ${span}`;
}

/** How the fit did on the holdout, in words: "its holdout check was 4% high" (or low, or exact). */
export function holdoutWords(fit: PredictionFitFacts, f: ShopFormat): string {
  if (fit.holdoutError === null) return "no holdout check yet";
  const off = Math.abs(fit.holdoutError);
  const period = fit.holdoutDays ? `the shop's last ${count(fit.holdoutDays, f)} days` : "the holdout period";
  if (off < 0.005) return `on ${period} it matched the actual repeat orders`;
  return `on ${period} it expected ${percent(off, f)} ${fit.holdoutError > 0 ? "more" : "fewer"} repeat orders than there were`;
}

/** "an expectation from the model fitted Dec 1, 2026; on the shop's last 90 days it expected 4% more …". */
export function predictionNote(fit: PredictionFitFacts, f: ShopFormat): string {
  return `an expectation, not a promise: model fitted ${formatDate(fit.fittedAt, f)}; ${holdoutWords(fit, f)}`;
}

/**
 * A predicted value as a merchant reads it, marked as expected ("Top 10% (expected)"); what that
 * means (the fit's date and holdout check) goes with it as the reason's note (predictionNote).
 */
export function showPredicted(
  field: PredictedField,
  v: number | string | null,
  p: PredictionFacts | null | undefined,
  f: ShopFormat,
): string {
  if (v === null || !p) return "not set (no prediction for this customer yet)";
  const figure =
    field === "predicted.value12m" || field === "predicted.spendPerOrder"
      ? money(Number(v), f)
      : field === "predicted.valueTier"
        ? (VALUE_TIER_LABELS[String(v)] ?? String(v))
        : field === "predicted.probabilityActive"
          ? percent(Number(v), f)
          : field === "predicted.probabilityActiveChange30d"
            ? pointsChange(Number(v), p, f)
            : count(Math.round(Number(v) * 100) / 100, f);
  return `${figure} (expected)`;
}
