import { describe, expect, it } from "vitest";
import { assign } from "./assign";
import { compareArms, erf, erfc, newcombeInterval, normalCdf, normalQuantile, type Comparison } from "./lift";

const Z95 = 1.959963984540054;

/** mulberry32: a small seeded PRNG, so the simulations below are the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ok(comparison: Comparison) {
  if (comparison.status !== "ok") throw new Error(`expected a comparison, got: ${comparison.need}`);
  return comparison;
}

describe("the normal distribution", () => {
  // Reference values: Python's math.erf / math.erfc (C library), and the standard tables.
  it.each([
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [-2.4, -0.999311486103355],
    [3, 0.9999779095030014],
  ])("erf(%s) = %s", (x, value) => {
    expect(erf(x)).toBeCloseTo(value, 14);
  });

  it.each([
    [2.49, 0.000429287867733913],
    [2.5, 0.0004069520174449589],
    [3, 2.2090496998585438e-5],
    [5, 1.5374597944280351e-12],
    [10, 2.088487583762545e-45],
  ])("erfc(%s) = %s to 1e-13 relative, far into the tail", (x, value) => {
    expect(Math.abs(erfc(x) / value - 1)).toBeLessThan(1e-13);
  });

  it.each([
    [0, 0.5],
    [1, 0.8413447460685429],
    [1.96, 0.9750021048517795],
    [-3, 0.0013498980316301035],
    [3.6, 0.9998408914098424],
  ])("Phi(%s) = %s", (z, value) => {
    expect(normalCdf(z)).toBeCloseTo(value, 14);
  });

  it("keeps relative precision in the lower tail (Phi(-8) = 6.22096e-16)", () => {
    expect(Math.abs(normalCdf(-8) / 6.22096057427178e-16 - 1)).toBeLessThan(1e-12);
  });

  it.each([
    [0.975, 1.959963984540054],
    [0.5, 0],
    [0.9, 1.2815515655446004],
    [0.001, -3.090232306167813],
    [0.02425, -1.9729610513118845],
    [1e-10, -6.361340902404056],
  ])("the quantile of %s is %s", (p, z) => {
    expect(normalQuantile(p)).toBeCloseTo(z, 12);
  });

  it("inverts the CDF across the range", () => {
    for (const p of [1e-12, 1e-6, 0.01, 0.02, 0.03, 0.2, 0.4999, 0.7, 0.96, 0.98, 0.999999]) {
      expect(Math.abs(normalCdf(normalQuantile(p)) / p - 1)).toBeLessThan(1e-12);
    }
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(() => normalQuantile(1.5)).toThrow("p must be between 0 and 1");
  });
});

describe("Newcombe's hybrid score interval for the rate difference", () => {
  // Newcombe RG, "Interval estimation for the difference between independent proportions:
  // comparison of eleven methods", Statistics in Medicine 1998;17:873-890, Table II, method 10.
  it.each([
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.809],
    [6, 7, 2, 7, 0.0582, 0.8062],
    [5, 56, 0, 29, -0.0381, 0.1926],
    [0, 10, 0, 20, -0.1611, 0.2775],
    [0, 10, 0, 10, -0.2775, 0.2775],
    [10, 10, 0, 20, 0.6791, 1],
    [10, 10, 0, 10, 0.6075, 1],
  ])("reproduces Newcombe 1998 Table II: %i/%i - %i/%i is %s to %s", (x1, n1, x2, n2, lo, hi) => {
    const [lower, upper] = newcombeInterval(
      { conversions: x1, units: n1 },
      { conversions: x2, units: n2 },
      Z95,
    );
    expect(lower).toBeCloseTo(lo, 4);
    expect(upper).toBeCloseTo(hi, 4);
  });

  it("reports the textbook example through compareArms: 56/70 vs 48/80 is +0.2000 (0.0524 to 0.3339)", () => {
    const result = ok(
      compareArms(
        { treatment: { units: 70, conversions: 56 }, holdout: { units: 80, conversions: 48 } },
        { minUnitsPerArm: 50 },
      ),
    );
    expect(result.absoluteLift).toBeCloseTo(0.2, 12);
    expect(result.absoluteInterval[0]).toBeCloseTo(0.0524, 4);
    expect(result.absoluteInterval[1]).toBeCloseTo(0.3339, 4);
    expect(result.significant).toBe(true);
  });

  it("matches a brute-force construction: Wilson limits found by inverting the score test numerically", () => {
    // The Wilson limits are the p where |x/n - p| = z * sqrt(p(1-p)/n); find them by bisection.
    const scoreLimit = (x: number, n: number, side: "lower" | "upper") => {
      const observed = x / n;
      if (side === "lower" && x === 0) return 0;
      if (side === "upper" && x === n) return 1;
      let [a, b] = side === "lower" ? [0, observed] : [observed, 1];
      for (let i = 0; i < 200; i++) {
        const p = (a + b) / 2;
        const outside = Math.abs(observed - p) > Z95 * Math.sqrt((p * (1 - p)) / n);
        if ((side === "lower") === outside) a = p;
        else b = p;
      }
      return (a + b) / 2;
    };
    const random = mulberry32(7);
    for (let i = 0; i < 200; i++) {
      const n1 = 100 + Math.floor(random() * 5000);
      const n2 = 100 + Math.floor(random() * 5000);
      const x1 = Math.floor(random() * random() * n1 * 0.2);
      const x2 = Math.floor(random() * random() * n2 * 0.2);
      const p1 = x1 / n1;
      const p2 = x2 / n2;
      const lower = p1 - p2 - Math.hypot(p1 - scoreLimit(x1, n1, "lower"), scoreLimit(x2, n2, "upper") - p2);
      const upper = p1 - p2 + Math.hypot(scoreLimit(x1, n1, "upper") - p1, p2 - scoreLimit(x2, n2, "lower"));
      const [l, u] = newcombeInterval({ conversions: x1, units: n1 }, { conversions: x2, units: n2 }, Z95);
      expect(l).toBeCloseTo(lower, 10);
      expect(u).toBeCloseTo(upper, 10);
    }
  });
});

describe("compareArms", () => {
  const sixVsFour = {
    treatment: { units: 1000, conversions: 60 },
    holdout: { units: 1000, conversions: 40 },
  };

  it("reports rates, the absolute and relative lift with intervals, and the z-test p-value", () => {
    const result = ok(compareArms(sixVsFour));
    expect(result.treatmentRate).toBe(0.06);
    expect(result.holdoutRate).toBe(0.04);
    expect(result.absoluteLift).toBeCloseTo(0.02, 12);
    expect(result.relativeLift).toBeCloseTo(0.5, 12);
    // Pooled rate 0.05: z = 0.02 / sqrt(0.05 * 0.95 * 2/1000) = 2.0520, chi-square 4.2105, p = 0.0402.
    expect(result.pValue).toBeCloseTo(0.04017, 5);
    expect(result.significant).toBe(true);
    expect(result.absoluteInterval[0]).toBeGreaterThan(0);
    expect(result.absoluteInterval[0]).toBeLessThan(0.02);
    expect(result.absoluteInterval[1]).toBeGreaterThan(0.02);
  });

  it("gives the relative lift Katz's log risk-ratio interval: 1.5 * exp(+-1.96 * 0.19917) - 1", () => {
    const result = ok(compareArms(sixVsFour));
    // se(log RR) = sqrt(1/60 - 1/1000 + 1/40 - 1/1000) = 0.199165
    expect(result.relativeInterval?.[0]).toBeCloseTo(0.01522, 4);
    expect(result.relativeInterval?.[1]).toBeCloseTo(1.21626, 4);
  });

  it("is not significant when the interval straddles zero, and the p-value agrees", () => {
    const result = ok(
      compareArms({ treatment: { units: 1000, conversions: 52 }, holdout: { units: 1000, conversions: 48 } }),
    );
    expect(result.absoluteInterval[0]).toBeLessThan(0);
    expect(result.absoluteInterval[1]).toBeGreaterThan(0);
    expect(result.significant).toBe(false);
    expect(result.pValue).toBeGreaterThan(0.5);
  });

  it("reports a drop as significant too (the offer can hurt)", () => {
    const result = ok(
      compareArms({
        treatment: { units: 5000, conversions: 150 },
        holdout: { units: 5000, conversions: 250 },
      }),
    );
    expect(result.absoluteLift).toBeCloseTo(-0.02, 12);
    expect(result.absoluteInterval[1]).toBeLessThan(0);
    expect(result.significant).toBe(true);
    expect(result.relativeInterval?.[1]).toBeLessThan(0);
  });

  it("narrows the interval at a lower confidence", () => {
    const at95 = ok(compareArms(sixVsFour));
    const at90 = ok(compareArms(sixVsFour, { confidence: 0.9 }));
    expect(at90.absoluteInterval[0]).toBeGreaterThan(at95.absoluteInterval[0]);
    expect(at90.absoluteInterval[1]).toBeLessThan(at95.absoluteInterval[1]);
  });

  it("has no relative lift when the holdout never converted", () => {
    const result = ok(
      compareArms({ treatment: { units: 500, conversions: 12 }, holdout: { units: 200, conversions: 0 } }),
    );
    expect(result.relativeLift).toBeNull();
    expect(result.relativeInterval).toBeNull();
    expect(result.holdoutRate).toBe(0);
    expect(result.absoluteInterval[0]).toBeGreaterThan(0);
  });

  it("compares revenue per unit when both arms carry revenue", () => {
    const result = ok(
      compareArms({
        treatment: { units: 1000, conversions: 60, revenue: 450_000 },
        holdout: { units: 200, conversions: 8, revenue: 60_000 },
      }),
    );
    expect(result.revenuePerUnit).toEqual({ treatment: 450, holdout: 300, difference: 150 });
    expect(ok(compareArms(sixVsFour)).revenuePerUnit).toBeUndefined();
  });

  it("says what is missing when a group has fewer than 100 visitors", () => {
    expect(
      compareArms({ treatment: { units: 900, conversions: 50 }, holdout: { units: 37, conversions: 3 } }),
    ).toEqual({ status: "not enough data", need: "at least 100 visitors in each group (holdout has 37)" });
    expect(
      compareArms({ treatment: { units: 12, conversions: 0 }, holdout: { units: 0, conversions: 0 } }),
    ).toEqual({
      status: "not enough data",
      need: "at least 100 visitors in each group (treatment has 12, holdout has 0)",
    });
  });

  it("says what is missing when there are fewer than 10 conversions in all", () => {
    expect(
      compareArms({ treatment: { units: 900, conversions: 6 }, holdout: { units: 100, conversions: 1 } }),
    ).toEqual({ status: "not enough data", need: "at least 10 conversions across both groups (so far 7)" });
  });

  it("compares once the minimums are met exactly, and honours custom minimums", () => {
    const atMinimum = { treatment: { units: 100, conversions: 6 }, holdout: { units: 100, conversions: 4 } };
    expect(compareArms(atMinimum).status).toBe("ok");
    expect(compareArms(atMinimum, { minUnitsPerArm: 500 })).toEqual({
      status: "not enough data",
      need: "at least 500 visitors in each group (treatment has 100, holdout has 100)",
    });
    expect(compareArms(atMinimum, { minConversions: 11 }).status).toBe("not enough data");
  });

  it("refuses impossible counts, naming the field", () => {
    const holdout = { units: 100, conversions: 5 };
    expect(() => compareArms({ treatment: { units: 100, conversions: 101 }, holdout })).toThrow(
      "treatment.conversions must be a whole number from 0 to treatment.units (got 101)",
    );
    expect(() => compareArms({ treatment: { units: -1, conversions: 0 }, holdout })).toThrow(
      "treatment.units",
    );
    expect(() => compareArms({ treatment: holdout, holdout: { units: 100.5, conversions: 1 } })).toThrow(
      "holdout.units",
    );
    expect(() => compareArms({ treatment: holdout, holdout }, { confidence: 95 })).toThrow(
      "confidence must be",
    );
  });
});

describe("compareArms on simulated experiments split by assign()", () => {
  /** One experiment: `units` visitors split by the real assignment, each converting at its arm's true rate. */
  function simulate(seed: number, units: number, rates: { treatment: number; holdout: number }) {
    const random = mulberry32(seed);
    const experiment = { id: seed, seed: "simulation", holdout: 0.1, variants: [{ id: 1, weight: 1 }] };
    const arms = { treatment: { units: 0, conversions: 0 }, holdout: { units: 0, conversions: 0 } };
    for (let i = 0; i < units; i++) {
      const arm = assign(`v:${seed}-${i}`, experiment).arm;
      arms[arm].units++;
      if (random() < rates[arm]) arms[arm].conversions++;
    }
    return ok(compareArms(arms));
  }

  it("covers the true lift (+1 pp: 6% vs 5%) with the 95% interval in about 95% of 200 experiments", () => {
    const seeds = 200;
    let covered = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const [lo, hi] = simulate(seed, 20_000, { treatment: 0.06, holdout: 0.05 }).absoluteInterval;
      if (lo <= 0.01 && 0.01 <= hi) covered++;
    }
    // Binomial sd of the coverage over 200 seeds is about 1.5 points.
    expect(covered / seeds).toBeGreaterThanOrEqual(0.9);
    expect(covered / seeds).toBeLessThanOrEqual(0.99);
  });

  it("calls about 5% of 200 A/A experiments (both arms 5%) significant", () => {
    const seeds = 200;
    let significant = 0;
    for (let seed = 1001; seed <= 1000 + seeds; seed++) {
      if (simulate(seed, 20_000, { treatment: 0.05, holdout: 0.05 }).significant) significant++;
    }
    expect(significant / seeds).toBeGreaterThanOrEqual(0.01);
    expect(significant / seeds).toBeLessThanOrEqual(0.1);
  });
});
