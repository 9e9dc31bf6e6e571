/**
 * compareArms(): did an offer lift conversion over its holdout, by how much, and how sure are we.
 * Pure arithmetic on the two arms' counts (units assigned, units that converted, and optionally
 * revenue); assign.ts decides who is in which arm.
 *
 * - Below a minimum sample (100 units in each arm, 10 conversions in all, by default) the answer
 *   is "not enough data", with what is still needed in words for the admin.
 * - The rate difference (absolute lift) gets Newcombe's hybrid score interval (Newcombe 1998,
 *   "Interval estimation for the difference between independent proportions: comparison of
 *   eleven methods", method 10): it combines the two arms' Wilson intervals, and unlike the
 *   textbook Wald interval it keeps its coverage at the small rates storefront offers convert at.
 * - The relative lift (t - h) / h gets the log risk-ratio (Katz) interval, shifted by -1.
 * - The p-value is the pooled two-proportion z-test's; `significant` means the absolute interval
 *   excludes 0. The two agree except in rare borderline cases, where the interval decides.
 *
 * The normal distribution is computed here (no dependencies): the CDF from erf/erfc (a series
 * below |x| = 2.5, a continued fraction above; about 1e-16 absolute error, and relative precision
 * in the far tail), the quantile from Acklam's rational approximation (relative error 1.15e-9)
 * polished to full double precision with one Halley step.
 */

export interface ArmCounts {
  /** Units (visitors or customers) assigned to the arm and eligible. */
  units: number;
  /** Units that converted. */
  conversions: number;
  /** Revenue from those units, in any one unit (the app keeps minor units). */
  revenue?: number;
}

export interface CompareOptions {
  /** Fewer units than this in either arm is not enough data. Default 100. */
  minUnitsPerArm?: number;
  /** Fewer conversions than this across both arms is not enough data. Default 10. */
  minConversions?: number;
  /** Confidence level of the intervals. Default 0.95. */
  confidence?: number;
}

export type Comparison =
  | { status: "not enough data"; need: string }
  | {
      status: "ok";
      treatmentRate: number;
      holdoutRate: number;
      /** treatmentRate - holdoutRate. */
      absoluteLift: number;
      absoluteInterval: [number, number];
      /** (treatmentRate - holdoutRate) / holdoutRate; null when the holdout never converted. */
      relativeLift: number | null;
      /** null when either arm has no conversions (the log ratio is undefined). */
      relativeInterval: [number, number] | null;
      /** The absolute interval excludes 0. */
      significant: boolean;
      /** Two-sided, from the pooled two-proportion z-test. */
      pValue: number;
      /** Present when both arms carry revenue. */
      revenuePerUnit?: { treatment: number; holdout: number; difference: number };
    };

export const DEFAULT_MIN_UNITS_PER_ARM = 100;
export const DEFAULT_MIN_CONVERSIONS = 10;
export const DEFAULT_CONFIDENCE = 0.95;

export function compareArms(
  arms: { treatment: ArmCounts; holdout: ArmCounts },
  options: CompareOptions = {},
): Comparison {
  const { treatment, holdout } = arms;
  validateArm("treatment", treatment);
  validateArm("holdout", holdout);
  const minUnits = options.minUnitsPerArm ?? DEFAULT_MIN_UNITS_PER_ARM;
  const minConversions = options.minConversions ?? DEFAULT_MIN_CONVERSIONS;
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  if (!(confidence > 0 && confidence < 1)) {
    throw new Error(`confidence must be between 0 and 1 (got ${confidence})`);
  }

  const need = missingData(treatment, holdout, minUnits, minConversions);
  if (need) return { status: "not enough data", need };

  const z = normalQuantile(1 - (1 - confidence) / 2);
  const treatmentRate = treatment.conversions / treatment.units;
  const holdoutRate = holdout.conversions / holdout.units;
  const absoluteInterval = newcombeInterval(treatment, holdout, z);
  const comparison: Comparison = {
    status: "ok",
    treatmentRate,
    holdoutRate,
    absoluteLift: treatmentRate - holdoutRate,
    absoluteInterval,
    relativeLift: holdoutRate === 0 ? null : (treatmentRate - holdoutRate) / holdoutRate,
    relativeInterval: riskRatioInterval(treatment, holdout, z),
    significant: absoluteInterval[0] > 0 || absoluteInterval[1] < 0,
    pValue: twoProportionPValue(treatment, holdout),
  };
  if (treatment.revenue !== undefined && holdout.revenue !== undefined) {
    const perUnit = {
      treatment: treatment.revenue / treatment.units,
      holdout: holdout.revenue / holdout.units,
    };
    comparison.revenuePerUnit = { ...perUnit, difference: perUnit.treatment - perUnit.holdout };
  }
  return comparison;
}

function validateArm(name: string, arm: ArmCounts): void {
  if (!Number.isInteger(arm.units) || arm.units < 0) {
    throw new Error(`${name}.units must be a whole number of at least 0 (got ${arm.units})`);
  }
  if (!Number.isInteger(arm.conversions) || arm.conversions < 0 || arm.conversions > arm.units) {
    throw new Error(
      `${name}.conversions must be a whole number from 0 to ${name}.units (got ${arm.conversions})`,
    );
  }
  if (arm.revenue !== undefined && !Number.isFinite(arm.revenue)) {
    throw new Error(`${name}.revenue must be a number (got ${arm.revenue})`);
  }
}

/** What is still missing before the comparison means anything, in words; null when nothing is. */
function missingData(
  treatment: ArmCounts,
  holdout: ArmCounts,
  minUnits: number,
  minConversions: number,
): string | null {
  const short = [
    ["treatment", treatment.units],
    ["holdout", holdout.units],
  ]
    .filter(([, units]) => (units as number) < minUnits)
    .map(([name, units]) => `${name} has ${units}`);
  if (short.length > 0) {
    return `at least ${minUnits} visitors in each group (${short.join(", ")})`;
  }
  const conversions = treatment.conversions + holdout.conversions;
  if (conversions < minConversions) {
    return `at least ${minConversions} conversions across both groups (so far ${conversions})`;
  }
  return null;
}

/** Wilson's score interval for one proportion (Newcombe 1998's method 3, no continuity correction). */
export function wilsonInterval(successes: number, n: number, z: number): [number, number] {
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  // Exact at the edges (the formula gives them up to rounding).
  return [successes === 0 ? 0 : centre - half, successes === n ? 1 : centre + half];
}

/** Newcombe's hybrid score interval for p1 - p2 (method 10). */
export function newcombeInterval(a: ArmCounts, b: ArmCounts, z: number): [number, number] {
  const p1 = a.conversions / a.units;
  const p2 = b.conversions / b.units;
  const [l1, u1] = wilsonInterval(a.conversions, a.units, z);
  const [l2, u2] = wilsonInterval(b.conversions, b.units, z);
  const d = p1 - p2;
  return [d - Math.hypot(p1 - l1, u2 - p2), d + Math.hypot(u1 - p1, p2 - l2)];
}

/** Katz's log interval for the risk ratio p1 / p2, minus 1 (a relative lift); null with a zero count. */
export function riskRatioInterval(a: ArmCounts, b: ArmCounts, z: number): [number, number] | null {
  if (a.conversions === 0 || b.conversions === 0) return null;
  const ratio = a.conversions / a.units / (b.conversions / b.units);
  const se = Math.sqrt(1 / a.conversions - 1 / a.units + 1 / b.conversions - 1 / b.units);
  return [ratio * Math.exp(-z * se) - 1, ratio * Math.exp(z * se) - 1];
}

/** Two-sided p-value of the pooled two-proportion z-test; 1 when the pooled rate is 0 or 1. */
export function twoProportionPValue(a: ArmCounts, b: ArmCounts): number {
  const pooled = (a.conversions + b.conversions) / (a.units + b.units);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.units + 1 / b.units));
  if (se === 0) return 1;
  const z = (a.conversions / a.units - b.conversions / b.units) / se;
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

// ---------------------------------------------------------------------------------------------
// The normal distribution.

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erfc(x) = 1 - erf(x): about 1e-16 absolute error, and about 1e-15 relative error above x = 2.5.
 * Below |x| = 2.5: erf(x) = 2/sqrt(pi) * exp(-x^2) * sum 2^n x^(2n+1) / (1*3*...*(2n+1)), whose
 * terms are all positive (no cancellation). Above: the continued fraction
 * erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated by Lentz.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) return 1 - erfSeries(x);
  if (x > 27) return 0; // underflows below the smallest double
  return (Math.exp(-x * x) / Math.sqrt(Math.PI)) * continuedFraction(x);
}

export function erf(x: number): number {
  if (Math.abs(x) < 2.5) return erfSeries(x);
  return 1 - erfc(x);
}

function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** 1/(x + a1/(x + a2/(x + ...))) with a_k = k/2, by the modified Lentz method. */
function continuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / f;
}

/** P(Z <= z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

// Acklam's rational approximation to the normal quantile (relative error below 1.15e-9).
const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

/** The z with P(Z <= z) = p, for p in (0, 1); -Infinity and Infinity at 0 and 1. */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`p must be between 0 and 1 (got ${p})`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  let x: number;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  } else if (p <= 1 - P_LOW) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
      (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  // One Halley step on Phi(x) - p brings it to full double precision.
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}
