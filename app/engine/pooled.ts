/**
 * Measuring small segments: an offer's lift pooled over the groups of shoppers it reached, made
 * more precise with what each shopper did before they saw it, and each segment's own lift borrowed
 * towards the offer's. Pure arithmetic on per-arm sums; results.server.ts gathers them.
 *
 * Notation. A unit (a shopper) has an outcome Y (converted 0/1, or its attributed revenue) and a
 * pre-period covariate X (its orders, or its spend, in the days before its first exposure: X cannot
 * be moved by the offer). Every group g (a stratum or a segment) and arm a (treatment t, holdout h)
 * is summarised by its sums n, ΣY, ΣY², ΣX, ΣX², ΣXY (`Moments`), so nothing per unit is kept.
 * From them: means ȳ, x̄ and the sums of squared deviations Syy, Sxx, Sxy.
 *
 * 1. CUPED (Deng, Xu, Kohavi & Walker 2013). θ = Σ Sxy / Σ Sxx, summed over every (group, arm)
 *    (within-arm deviations, so the treatment effect does not leak into θ; θ = 0 when no unit has
 *    any X). Each arm's mean is adjusted to ȳ − θ·x̄; the difference of two arms' adjusted means is
 *    d = (ȳt − ȳh) − θ(x̄t − x̄h). X is the same in expectation in both arms (random assignment),
 *    so d estimates the same effect as ȳt − ȳh, with variance shrunk by 1 − ρ² (ρ = corr(X, Y)).
 *    The residual variance of a (group, arm) is r = (Syy − 2θSxy + θ²Sxx) / (n − 1).
 * 2. Stratified (post-stratified) difference. Strata are disjoint groups of units. In stratum s
 *    with Ns = nst + nsh units: ds as above, Var ds = ṽst/nst + ṽsh/nsh. The offer's estimate is
 *    Δ = Σ ws·ds with ws = Ns / N, Var Δ = Σ ws²·Var ds, interval Δ ± z·√Var Δ.
 *    A small stratum's variance is unreliable (4 units and no conversion give a variance of 0), so
 *    each (stratum, arm) variance is blended with the arm's pooled one over all strata, σa² =
 *    Σ(n−1)r / Σ(n−1), with ν0 = 10 degrees of freedom of prior weight (as limma's moderated
 *    variances): ṽ = ((n − 1)·r + ν0·σa²) / (n − 1 + ν0). Large strata keep their own.
 *    Strata with fewer than 2 units in an arm are merged into one "the rest" stratum (merged into
 *    the largest stratum if still short).
 * 3. Empirical Bayes per segment (normal–normal; Morris 1983). Each stratum s gives ds with
 *    sampling variance vs. Between-strata variance τ² by DerSimonian–Laird: wi = 1/vi,
 *    μFE = Σwd/Σw, Q = Σw(d − μFE)², τ² = max(0, (Q − (k − 1)) / (Σw − Σw²/Σw)). The offer's
 *    effect across groups is μ = Σw*d / Σw* with w* = 1/(v + τ²), Var μ = 1/Σw*.
 *    A segment with estimate d and variance v is shrunk by B = v / (v + τ²):
 *    posterior mean μ + (1 − B)(d − μ), posterior variance
 *    v(1 − B) + B²·Var μ + 2B²(d − μ)² / (k − 3)   (the last term, Morris's, for the uncertainty in
 *    τ², when k > 3). The interval is mean ± z·√variance: it carries the uncertainty of μ and τ², not
 *    only the segment's own. With fewer than 3 strata there is nothing to learn τ² from: no shrinkage
 *    (B = 0, the segment's own estimate).
 *
 * The seeded simulations in pooled.test.ts check the coverage of each interval and the A/A rate.
 */
import { normalQuantile } from "./lift";

/** Sums over the units of one group in one arm. */
export interface Moments {
  n: number;
  sumY: number;
  sumY2: number;
  sumX: number;
  sumX2: number;
  sumXY: number;
}

export interface GroupMoments {
  key: string;
  treatment: Moments;
  holdout: Moments;
}

export function emptyMoments(): Moments {
  return { n: 0, sumY: 0, sumY2: 0, sumX: 0, sumX2: 0, sumXY: 0 };
}

/** Adds one unit with outcome y and covariate x (n counted too). */
export function addUnit(m: Moments, y: number, x: number): void {
  m.n += 1;
  addValues(m, y, x);
}

/** Adds a unit's y and x to the sums without counting it (its n is counted elsewhere). */
export function addValues(m: Moments, y: number, x: number): void {
  if (!Number.isFinite(y) || !Number.isFinite(x))
    throw new Error(`unit values must be numbers (got y=${y}, x=${x})`);
  m.sumY += y;
  m.sumY2 += y * y;
  m.sumX += x;
  m.sumX2 += x * x;
  m.sumXY += x * y;
}

export function mergeMoments(a: Moments, b: Moments): Moments {
  return {
    n: a.n + b.n,
    sumY: a.sumY + b.sumY,
    sumY2: a.sumY2 + b.sumY2,
    sumX: a.sumX + b.sumX,
    sumX2: a.sumX2 + b.sumX2,
    sumXY: a.sumXY + b.sumXY,
  };
}

interface Deviations {
  n: number;
  meanY: number;
  meanX: number;
  syy: number;
  sxx: number;
  sxy: number;
}

function deviations(m: Moments): Deviations {
  if (m.n === 0) return { n: 0, meanY: 0, meanX: 0, syy: 0, sxx: 0, sxy: 0 };
  const meanY = m.sumY / m.n;
  const meanX = m.sumX / m.n;
  return {
    n: m.n,
    meanY,
    meanX,
    syy: Math.max(0, m.sumY2 - m.n * meanY * meanY),
    sxx: Math.max(0, m.sumX2 - m.n * meanX * meanX),
    sxy: m.sumXY - m.n * meanX * meanY,
  };
}

/** CUPED's θ: the within-arm regression slope of Y on X, pooled over groups and arms; 0 without X. */
export function cupedTheta(groups: GroupMoments[]): number {
  let sxy = 0;
  let sxx = 0;
  for (const g of groups) {
    for (const m of [g.treatment, g.holdout]) {
      const d = deviations(m);
      sxy += d.sxy;
      sxx += d.sxx;
    }
  }
  // A covariate with (almost) no spread carries nothing.
  return sxx > 1e-12 ? sxy / sxx : 0;
}

function residualSS(d: Deviations, theta: number): number {
  return Math.max(0, d.syy - 2 * theta * d.sxy + theta * theta * d.sxx);
}

/** Prior degrees of freedom of the pooled variance each small group's variance is blended with. */
export const PRIOR_DF = 10;

export interface GroupEstimate {
  key: string;
  /** Units in the group (both arms). */
  units: number;
  /** The (CUPED-adjusted) difference treatment − holdout. */
  difference: number;
  /** Its sampling variance. */
  variance: number;
}

export interface PooledVariance {
  treatment: number;
  holdout: number;
}

/** Each arm's residual variance pooled over the groups: Σ(n−1)r / Σ(n−1). */
export function pooledVariance(groups: GroupMoments[], theta: number): PooledVariance {
  const of = (arm: "treatment" | "holdout") => {
    let ss = 0;
    let df = 0;
    for (const g of groups) {
      const d = deviations(g[arm]);
      if (d.n < 2) continue;
      ss += residualSS(d, theta);
      df += d.n - 1;
    }
    return df > 0 ? ss / df : 0;
  };
  return { treatment: of("treatment"), holdout: of("holdout") };
}

/**
 * One group's adjusted difference and variance (its variance blended with the pooled one); null
 * when an arm has no unit.
 */
export function groupEstimate(g: GroupMoments, theta: number, pooled: PooledVariance): GroupEstimate | null {
  const t = deviations(g.treatment);
  const h = deviations(g.holdout);
  if (t.n === 0 || h.n === 0) return null;
  const blended = (d: Deviations, sigma2: number) =>
    (residualSS(d, theta) + PRIOR_DF * sigma2) / (Math.max(0, d.n - 1) + PRIOR_DF);
  return {
    key: g.key,
    units: t.n + h.n,
    difference: t.meanY - h.meanY - theta * (t.meanX - h.meanX),
    variance: blended(t, pooled.treatment) / t.n + blended(h, pooled.holdout) / h.n,
  };
}

/**
 * Strata with fewer than 2 units in an arm merged into one "rest" stratum; when even that is short,
 * into the largest stratum, whose key becomes "<its key>+rest".
 */
export function collapseStrata(strata: GroupMoments[], restKey = "rest"): GroupMoments[] {
  const ok = (g: GroupMoments) => g.treatment.n >= 2 && g.holdout.n >= 2;
  const kept = strata.filter(ok);
  const small = strata.filter((g) => !ok(g));
  if (small.length === 0) return kept;
  let rest: GroupMoments = { key: restKey, treatment: emptyMoments(), holdout: emptyMoments() };
  for (const g of small) {
    rest = {
      key: restKey,
      treatment: mergeMoments(rest.treatment, g.treatment),
      holdout: mergeMoments(rest.holdout, g.holdout),
    };
  }
  if (rest.treatment.n + rest.holdout.n === 0) return kept;
  if (ok(rest) || kept.length === 0) return [...kept, rest];
  const largest = kept.reduce((a, b) => (a.treatment.n + a.holdout.n >= b.treatment.n + b.holdout.n ? a : b));
  return kept.map((g) =>
    g === largest
      ? {
          key: `${g.key}+${restKey}`,
          treatment: mergeMoments(g.treatment, rest.treatment),
          holdout: mergeMoments(g.holdout, rest.holdout),
        }
      : g,
  );
}

export interface StratifiedOptions {
  /** Adjust with the pre-period covariate (CUPED). Default true. */
  cuped?: boolean;
  /** Default 0.95. */
  confidence?: number;
}

export interface StratifiedEstimate {
  /** Σ ws·ds. */
  estimate: number;
  standardError: number;
  interval: [number, number];
  /** The interval excludes 0. */
  significant: boolean;
  /** CUPED's θ (0 when not adjusted or no covariate). */
  theta: number;
  /** The same estimate's standard error without CUPED (θ = 0). */
  unadjustedStandardError: number;
  /**
   * Var with CUPED / Var without: the share of the shoppers that give the same interval width
   * (1 − ρ² in theory). 1 when not adjusted.
   */
  varianceRatio: number;
  /** The strata after merging the small ones, each with its weight and estimate. */
  strata: (GroupEstimate & { weight: number })[];
  /** Each arm's residual variance pooled over the strata (with θ), for estimating other groups. */
  pooledVariance: PooledVariance;
}

/** The stratified (CUPED-adjusted) difference treatment − holdout; null without 2 units in each arm. */
export function stratifiedDifference(
  input: GroupMoments[],
  options: StratifiedOptions = {},
): StratifiedEstimate | null {
  const confidence = options.confidence ?? 0.95;
  const strata = collapseStrata(input);
  if (strata.length === 0) return null;
  const theta = options.cuped === false ? 0 : cupedTheta(strata);
  const combine = (th: number) => {
    const pooled = pooledVariance(strata, th);
    const estimates = strata.map((s) => groupEstimate(s, th, pooled)!);
    const total = estimates.reduce((sum, e) => sum + e.units, 0);
    let estimate = 0;
    let variance = 0;
    for (const e of estimates) {
      const w = e.units / total;
      estimate += w * e.difference;
      variance += w * w * e.variance;
    }
    return {
      estimate,
      variance,
      pooled,
      estimates: estimates.map((e) => ({ ...e, weight: e.units / total })),
    };
  };
  const adjusted = combine(theta);
  const raw = theta === 0 ? adjusted : combine(0);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const se = Math.sqrt(adjusted.variance);
  const interval: [number, number] = [adjusted.estimate - z * se, adjusted.estimate + z * se];
  return {
    estimate: adjusted.estimate,
    standardError: se,
    interval,
    significant: interval[0] > 0 || interval[1] < 0,
    theta,
    unadjustedStandardError: Math.sqrt(raw.variance),
    varianceRatio: raw.variance > 0 ? adjusted.variance / raw.variance : 1,
    strata: adjusted.estimates,
    pooledVariance: adjusted.pooled,
  };
}

// ---------------------------------------------------------------------------------------------
// Empirical Bayes.

export interface RandomEffectsPrior {
  /** μ: the offer's effect across its groups. */
  mean: number;
  /** Var μ. */
  meanVariance: number;
  /** τ²: how much the groups' true effects differ (DerSimonian–Laird, ≥ 0). */
  tau2: number;
  /** Groups it was learnt from. */
  k: number;
}

/** DerSimonian–Laird τ² and the random-effects mean of independent groups' estimates. */
export function randomEffects(groups: { difference: number; variance: number }[]): RandomEffectsPrior | null {
  const usable = groups.filter((g) => g.variance > 0 && Number.isFinite(g.variance));
  const k = usable.length;
  if (k === 0) return null;
  const w = usable.map((g) => 1 / g.variance);
  const sw = w.reduce((a, b) => a + b, 0);
  const sw2 = w.reduce((a, b) => a + b * b, 0);
  const fixed = usable.reduce((sum, g, i) => sum + w[i] * g.difference, 0) / sw;
  const q = usable.reduce((sum, g, i) => sum + w[i] * (g.difference - fixed) ** 2, 0);
  const tau2 = k > 1 ? Math.max(0, (q - (k - 1)) / (sw - sw2 / sw)) : 0;
  const ws = usable.map((g) => 1 / (g.variance + tau2));
  const sws = ws.reduce((a, b) => a + b, 0);
  const mean = usable.reduce((sum, g, i) => sum + ws[i] * g.difference, 0) / sws;
  return { mean, meanVariance: 1 / sws, tau2, k };
}

/** Fewer groups than this and there is nothing to learn τ² from: no shrinkage. */
export const MIN_GROUPS_TO_SHRINK = 3;

export interface ShrunkEstimate {
  /** The group's own estimate and interval. */
  raw: number;
  rawInterval: [number, number];
  /** Posterior mean and interval. */
  estimate: number;
  interval: [number, number];
  /** B: the share of the way from the group's own estimate to the offer's (0 = none, 1 = all). */
  shrinkage: number;
  significant: boolean;
}

/** A group's estimate shrunk towards the prior (see the header's formulas). */
export function shrink(
  group: { difference: number; variance: number },
  prior: RandomEffectsPrior | null,
  confidence = 0.95,
): ShrunkEstimate {
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const { difference: d, variance: v } = group;
  const rawSe = Math.sqrt(v);
  const rawInterval: [number, number] = [d - z * rawSe, d + z * rawSe];
  if (!prior || prior.k < MIN_GROUPS_TO_SHRINK || !(v > 0)) {
    return {
      raw: d,
      rawInterval,
      estimate: d,
      interval: rawInterval,
      shrinkage: 0,
      significant: rawInterval[0] > 0 || rawInterval[1] < 0,
    };
  }
  const b = v / (v + prior.tau2);
  const estimate = prior.mean + (1 - b) * (d - prior.mean);
  const morris = prior.k > 3 ? (2 * b * b * (d - prior.mean) ** 2) / (prior.k - 3) : 0;
  const variance = v * (1 - b) + b * b * prior.meanVariance + morris;
  const se = Math.sqrt(variance);
  const interval: [number, number] = [estimate - z * se, estimate + z * se];
  return {
    raw: d,
    rawInterval,
    estimate,
    interval,
    shrinkage: b,
    significant: interval[0] > 0 || interval[1] < 0,
  };
}

/**
 * Fewer people than this and not even pooled measurement reads a lift: at a 10% holdout about 2 of
 * them are held out, too few to stand as a group of their own (they are merged with others).
 */
export const SMALLEST_MEASURABLE_SEGMENT = 20;
