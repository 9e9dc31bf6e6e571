import { describe, expect, it } from "vitest";
import {
  addUnit,
  collapseStrata,
  cupedTheta,
  emptyMoments,
  groupEstimate,
  mergeMoments,
  pooledVariance,
  randomEffects,
  shrink,
  stratifiedDifference,
  type GroupMoments,
} from "./pooled";

/** mulberry32: a small seeded PRNG, so the simulations are the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function group(key: string): GroupMoments {
  return { key, treatment: emptyMoments(), holdout: emptyMoments() };
}

const covers = (interval: [number, number], truth: number) => interval[0] <= truth && truth <= interval[1];

describe("the formulas on small hand-made data", () => {
  it("gives the plain difference of means and its variance with one stratum and no covariate", () => {
    const g = group("all");
    for (const y of [1, 0, 0, 1, 1]) addUnit(g.treatment, y, 0);
    for (const y of [0, 0, 1, 0]) addUnit(g.holdout, y, 0);
    const r = stratifiedDifference([g])!;
    expect(r.theta).toBe(0);
    expect(r.estimate).toBeCloseTo(0.6 - 0.25, 12);
    // Each arm's variance is its own blended with the arm's pooled one, which here is its own.
    expect(r.standardError).toBeCloseTo(Math.sqrt(0.3 / 5 + 0.25 / 4), 12);
    expect(r.varianceRatio).toBe(1);
  });

  it("weights strata by their size and sums their variances with the squared weights", () => {
    const a = group("a");
    const b = group("b");
    for (const y of [1, 1, 0, 0]) addUnit(a.treatment, y, 0); // 0.5
    for (const y of [0, 1, 0, 0]) addUnit(a.holdout, y, 0); // 0.25
    for (let i = 0; i < 12; i++) addUnit(b.treatment, i % 3 === 0 ? 1 : 0, 0); // 1/3
    for (let i = 0; i < 12; i++) addUnit(b.holdout, i % 4 === 0 ? 1 : 0, 0); // 1/4
    const r = stratifiedDifference([a, b])!;
    expect(r.strata.map((s) => s.weight)).toEqual([0.25, 0.75]);
    expect(r.estimate).toBeCloseTo(0.25 * 0.25 + 0.75 * (1 / 3 - 1 / 4), 12);
    const [sa, sb] = r.strata;
    expect(r.standardError ** 2).toBeCloseTo(0.0625 * sa.variance + 0.5625 * sb.variance, 14);
  });

  it("takes out the part of the outcome the covariate explains (CUPED) and says how much variance that saved", () => {
    const g = group("all");
    const random = mulberry32(3);
    for (let i = 0; i < 400; i++) {
      const x = random() * 10;
      addUnit(i % 2 ? g.treatment : g.holdout, 2 * x + (i % 2 ? 1 : 0) + gaussian(random), x);
    }
    expect(cupedTheta([g])).toBeCloseTo(2, 1);
    const r = stratifiedDifference([g])!;
    expect(r.estimate).toBeCloseTo(1, 0);
    expect(r.varianceRatio).toBeLessThan(0.2);
    expect(r.standardError).toBeLessThan(r.unadjustedStandardError);
    const plain = stratifiedDifference([g], { cuped: false })!;
    expect(plain.theta).toBe(0);
    expect(plain.standardError).toBeCloseTo(r.unadjustedStandardError, 12);
  });

  it("merges strata too small to compare into one", () => {
    const big = group("big");
    const tiny = group("tiny");
    const lone = group("lone");
    for (let i = 0; i < 10; i++) addUnit(big.treatment, i % 2, 0);
    for (let i = 0; i < 10; i++) addUnit(big.holdout, i % 3 === 0 ? 1 : 0, 0);
    addUnit(tiny.treatment, 1, 0);
    addUnit(tiny.holdout, 0, 0);
    addUnit(lone.treatment, 0, 0);
    addUnit(lone.holdout, 1, 0);
    expect(collapseStrata([big, tiny, lone]).map((s) => [s.key, s.treatment.n, s.holdout.n])).toEqual([
      ["big", 10, 10],
      ["rest", 2, 2],
    ]);
    addUnit(big.treatment, 0, 0);
    expect(collapseStrata([big, tiny]).map((s) => [s.key, s.treatment.n, s.holdout.n])).toEqual([
      ["big+rest", 12, 11],
    ]);
  });

  it("does not shrink with fewer than 3 groups, and shrinks a noisy group most", () => {
    const two = randomEffects([
      { difference: 0.1, variance: 0.001 },
      { difference: 0, variance: 0.001 },
    ]);
    expect(shrink({ difference: 0.1, variance: 0.001 }, two).estimate).toBe(0.1);
    const groups = [
      { difference: 0.01, variance: 0.0001 },
      { difference: 0.03, variance: 0.0001 },
      { difference: 0.05, variance: 0.0001 },
      { difference: 0.02, variance: 0.0001 },
      { difference: 0.04, variance: 0.0001 },
      { difference: 0.06, variance: 0.01 },
    ];
    const prior = randomEffects(groups)!;
    expect(prior.tau2).toBeGreaterThanOrEqual(0);
    const precise = shrink(groups[0], prior);
    const noisy = shrink(groups[5], prior);
    expect(noisy.shrinkage).toBeGreaterThan(precise.shrinkage);
    expect(Math.abs(noisy.estimate - prior.mean)).toBeLessThan(Math.abs(0.06 - prior.mean));
    expect(noisy.interval[1] - noisy.interval[0]).toBeLessThan(noisy.rawInterval[1] - noisy.rawInterval[0]);
  });

  it("refuses a unit value that is not a number", () => {
    expect(() => addUnit(emptyMoments(), NaN, 0)).toThrow("unit values must be numbers (got y=NaN, x=0)");
  });
});

// ---------------------------------------------------------------------------------------------
// Seeded simulations. Each checks ~95% coverage within Monte-Carlo error (1,000 runs: the binomial
// sd of a 95% coverage is 0.7 points, so 93-97% is about 3 sd) and ~5% false positives in A/A.

const RUNS = 1000;
const HOLDOUT = 0.2;

/** Six segments of 40 to 800 shoppers converting at 2% to 20%: 1,620 shoppers in all. */
const STRATA = [
  { size: 40, rate: 0.02 },
  { size: 60, rate: 0.05 },
  { size: 120, rate: 0.08 },
  { size: 200, rate: 0.1 },
  { size: 400, rate: 0.15 },
  { size: 800, rate: 0.2 },
];

function conversionExperiment(random: () => number, lift: number, strata = STRATA): GroupMoments[] {
  return strata.map((s, i) => {
    const g = group(`s${i}`);
    for (let u = 0; u < s.size; u++) {
      const treated = random() >= HOLDOUT;
      addUnit(treated ? g.treatment : g.holdout, random() < s.rate + (treated ? lift : 0) ? 1 : 0, 0);
    }
    return g;
  });
}

describe("the stratified estimate of an offer's lift over its segments (simulated)", () => {
  it("covers the true lift (+3 points in every segment) in about 95% of 1,000 experiments, within 5% of the unstratified width", () => {
    const random = mulberry32(11);
    let covered = 0;
    let stratified = 0;
    let plain = 0;
    for (let run = 0; run < RUNS; run++) {
      const strata = conversionExperiment(random, 0.03);
      const r = stratifiedDifference(strata)!;
      if (covers(r.interval, 0.03)) covered++;
      // The same shoppers as one group: the plain difference of the two arms.
      const one = strata.reduce((a, g) => ({
        key: "all",
        treatment: mergeMoments(a.treatment, g.treatment),
        holdout: mergeMoments(a.holdout, g.holdout),
      }));
      stratified += r.standardError ** 2 / RUNS;
      plain += stratifiedDifference([one])!.standardError ** 2 / RUNS;
    }
    console.log(
      `stratified conversion lift: coverage ${((100 * covered) / RUNS).toFixed(1)}% of ${RUNS}; ` +
        `variance ${(stratified / plain).toFixed(3)} of the unstratified one ` +
        `(${(100 * (1 - stratified / plain)).toFixed(1)}% fewer shoppers for the same width)`,
    );
    expect(covered / RUNS).toBeGreaterThanOrEqual(0.93);
    expect(covered / RUNS).toBeLessThanOrEqual(0.97);
    // Random assignment balances the arms across segments, so stratifying gains little; the small
    // strata's variances steadied toward the pooled one (PRIOR_DF) cost about 2%, no more.
    expect(stratified).toBeLessThanOrEqual(plain * 1.05);
  });

  it("calls about 5% of 1,000 A/A experiments significant", () => {
    const random = mulberry32(12);
    let positives = 0;
    for (let run = 0; run < RUNS; run++) {
      if (stratifiedDifference(conversionExperiment(random, 0))!.significant) positives++;
    }
    console.log(`stratified A/A: ${((100 * positives) / RUNS).toFixed(1)}% significant of ${RUNS}`);
    expect(positives / RUNS).toBeGreaterThanOrEqual(0.03);
    expect(positives / RUNS).toBeLessThanOrEqual(0.07);
  });
});

/**
 * Revenue with a pre-period: half the shoppers bought before (spend X, log-normal around $40, in
 * one order per $50 begun);
 * the more they spent, the likelier they buy again (3% to 23%), and they spend $40 + X/2 ± $20.
 * The offer adds `lift` to everyone's chance of buying: the true effect on revenue per shopper is
 * lift × E[$40 + X/2].
 */
function revenueExperiment(random: () => number, lift: number, shoppers: number) {
  const conversion = group("all");
  const revenue = group("all");
  for (let u = 0; u < shoppers; u++) {
    const treated = random() >= HOLDOUT;
    const x = random() < 0.5 ? Math.round(Math.exp(8.3 + 0.8 * gaussian(random))) : 0;
    const orders = x > 0 ? 1 + Math.floor(x / 5000) : 0;
    const p = 0.03 + 0.2 * Math.min(1, x / 10000) + (treated ? lift : 0);
    const bought = random() < p;
    const amount = bought ? Math.round(4000 + x / 2 + (random() - 0.5) * 4000) : 0;
    addUnit(treated ? conversion.treatment : conversion.holdout, bought ? 1 : 0, orders);
    addUnit(treated ? revenue.treatment : revenue.holdout, amount, x);
  }
  return { conversion, revenue };
}

/** E[X] of the spend above: 0.5 × exp(8.3 + 0.8²/2). */
const MEAN_SPEND = 0.5 * Math.exp(8.3 + 0.32);
const REVENUE_EFFECT = (lift: number) => lift * (4000 + MEAN_SPEND / 2);

describe("CUPED with each shopper's spend and orders before the offer (simulated)", () => {
  it("covers the true revenue and conversion lift in about 95% of 2,000 experiments, and narrows the interval", () => {
    // 2,000 runs: revenue is skewed, and coverage sits near 94.5% (sd 0.5 point over 2,000).
    const RUNS = 2000;
    const random = mulberry32(21);
    const lift = 0.03;
    let coveredRevenue = 0;
    let coveredConversion = 0;
    let ratioRevenue = 0;
    let ratioConversion = 0;
    for (let run = 0; run < RUNS; run++) {
      const { conversion, revenue } = revenueExperiment(random, lift, 2000);
      const r = stratifiedDifference([revenue])!;
      const c = stratifiedDifference([conversion])!;
      if (covers(r.interval, REVENUE_EFFECT(lift))) coveredRevenue++;
      if (covers(c.interval, lift)) coveredConversion++;
      ratioRevenue += r.varianceRatio / RUNS;
      ratioConversion += c.varianceRatio / RUNS;
    }
    // The theoretical ratio 1 − ρ², from one large sample's within-arm correlation.
    const big = revenueExperiment(mulberry32(22), 0, 200_000);
    const rho2 = (g: GroupMoments) => {
      const theta = cupedTheta([g]);
      const v = pooledVariance([g], 0).holdout;
      const resid = pooledVariance([g], theta).holdout;
      return 1 - resid / v;
    };
    console.log(
      `CUPED revenue: coverage ${((100 * coveredRevenue) / RUNS).toFixed(1)}%, variance ratio ${ratioRevenue.toFixed(3)} ` +
        `(1 − ρ² = ${(1 - rho2(big.revenue)).toFixed(3)}): ${(100 * (1 - ratioRevenue)).toFixed(0)}% fewer shoppers for the same width`,
    );
    console.log(
      `CUPED conversion: coverage ${((100 * coveredConversion) / RUNS).toFixed(1)}%, variance ratio ${ratioConversion.toFixed(3)} ` +
        `(1 − ρ² = ${(1 - rho2(big.conversion)).toFixed(3)}): ${(100 * (1 - ratioConversion)).toFixed(0)}% fewer shoppers for the same width`,
    );
    for (const covered of [coveredRevenue, coveredConversion]) {
      expect(covered / RUNS).toBeGreaterThanOrEqual(0.93);
      expect(covered / RUNS).toBeLessThanOrEqual(0.97);
    }
    expect(ratioRevenue).toBeCloseTo(1 - rho2(big.revenue), 1);
    expect(ratioConversion).toBeCloseTo(1 - rho2(big.conversion), 1);
    expect(ratioRevenue).toBeLessThan(0.9);
    expect(ratioConversion).toBeLessThan(1);
  });

  it("calls about 5% of 1,000 A/A revenue experiments significant", () => {
    const random = mulberry32(23);
    let positives = 0;
    for (let run = 0; run < RUNS; run++) {
      if (stratifiedDifference([revenueExperiment(random, 0, 2000).revenue])!.significant) positives++;
    }
    console.log(`CUPED revenue A/A: ${((100 * positives) / RUNS).toFixed(1)}% significant of ${RUNS}`);
    expect(positives / RUNS).toBeGreaterThanOrEqual(0.03);
    expect(positives / RUNS).toBeLessThanOrEqual(0.07);
  });
});

/**
 * Eight segments of 30 to 800 shoppers whose true lifts differ: each drawn around +3 points with
 * an sd of 1.5 points. Each segment's shrunk interval should cover its own true lift ~95% of the time.
 */
const EB_SEGMENTS = [30, 50, 80, 120, 200, 300, 500, 800].map((size, i) => ({
  size,
  rate: 0.04 + 0.02 * (i % 4),
}));

describe("each segment's lift shrunk toward the offer's (empirical Bayes, simulated)", () => {
  function run(random: () => number, mean: number, sd: number) {
    const truths = EB_SEGMENTS.map(() => mean + sd * gaussian(random));
    const groups = EB_SEGMENTS.map((s, i) => {
      const g = group(`s${i}`);
      for (let u = 0; u < s.size; u++) {
        const treated = random() >= HOLDOUT;
        const p = Math.min(1, Math.max(0, s.rate + (treated ? truths[i] : 0)));
        addUnit(treated ? g.treatment : g.holdout, random() < p ? 1 : 0, 0);
      }
      return g;
    });
    const pooled = pooledVariance(groups, 0);
    // A segment with no one in an arm has no estimate of its own (rare: 30 shoppers, 20% held out).
    const estimates = groups.map((g) => groupEstimate(g, 0, pooled));
    const prior = randomEffects(estimates.filter((e) => e !== null));
    return {
      truths: truths.filter((_, i) => estimates[i]),
      shrunk: estimates.filter((e) => e !== null).map((e) => shrink(e, prior)),
    };
  }

  it("covers each segment's true lift in about 95% of segments over 1,000 offers, with narrower intervals than alone", () => {
    const random = mulberry32(31);
    let covered = 0;
    let coveredRaw = 0;
    let total = 0;
    const width = { raw: 0, shrunk: 0 };
    const smallest = { raw: 0, shrunk: 0 };
    for (let r = 0; r < RUNS; r++) {
      const { truths, shrunk } = run(random, 0.03, 0.015);
      shrunk.forEach((s, i) => {
        total++;
        if (covers(s.interval, truths[i])) covered++;
        if (covers(s.rawInterval, truths[i])) coveredRaw++;
        width.raw += s.rawInterval[1] - s.rawInterval[0];
        width.shrunk += s.interval[1] - s.interval[0];
        if (i === 0) {
          smallest.raw += s.rawInterval[1] - s.rawInterval[0];
          smallest.shrunk += s.interval[1] - s.interval[0];
        }
      });
    }
    const saving = (w: { raw: number; shrunk: number }) => (w.raw / w.shrunk) ** 2;
    console.log(
      `EB per segment: coverage ${((100 * covered) / total).toFixed(1)}% (alone ${((100 * coveredRaw) / total).toFixed(1)}%), ` +
        `mean width ${((100 * width.shrunk) / total).toFixed(2)} vs ${((100 * width.raw) / total).toFixed(2)} points alone: ` +
        `a segment measured alone would need ${saving(width).toFixed(1)}× the shoppers ` +
        `(the 30-shopper segment: ${saving(smallest).toFixed(1)}×)`,
    );
    expect(covered / total).toBeGreaterThanOrEqual(0.93);
    expect(covered / total).toBeLessThanOrEqual(0.97);
    expect(width.shrunk).toBeLessThan(width.raw);
  });

  it("calls about 5% or fewer of segments significant when the offer does nothing anywhere (A/A)", () => {
    const random = mulberry32(32);
    let positives = 0;
    let total = 0;
    for (let r = 0; r < RUNS; r++) {
      for (const s of run(random, 0, 0).shrunk) {
        total++;
        if (s.significant) positives++;
      }
    }
    console.log(`EB per segment A/A: ${((100 * positives) / total).toFixed(1)}% significant of ${total}`);
    expect(positives / total).toBeLessThanOrEqual(0.07);
  });
});
