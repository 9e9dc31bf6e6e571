import { describe, expect, it } from "vitest";
import cases from "./likelihood-cases.json";
import { digamma, hyp2f1, logBeta, logGamma } from "./special";

describe("log-gamma and digamma", () => {
  // Reference values: Γ(½) = √π, Γ(n) = (n−1)!, and Python's math.lgamma for the others.
  it.each([
    [0.5, 0.5 * Math.log(Math.PI)],
    [1, 0],
    [2, 0],
    [3.5, 1.2009736023470738],
    [10, Math.log(362880)],
    [1e-8, 18.42068073818021],
    [0.243, 1.3180435846996699],
    [1e6, 12815504.569147611],
  ])("log Γ(%d)", (x, expected) => {
    expect(Math.abs(logGamma(x) - expected)).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(expected)));
  });

  it("log B(a, b) is log Γ(a) + log Γ(b) − log Γ(a + b): B(2, 3) = 1/12", () => {
    expect(logBeta(2, 3)).toBeCloseTo(Math.log(1 / 12), 14);
  });

  it("digamma at known points and as the derivative of log-gamma", () => {
    const eulerGamma = 0.5772156649015329;
    expect(digamma(1)).toBeCloseTo(-eulerGamma, 14);
    expect(digamma(0.5)).toBeCloseTo(-eulerGamma - 2 * Math.log(2), 14);
    for (const x of [0.01, 0.3, 2.7, 14, 250, 1e5]) {
      const h = 1e-5 * x;
      const numeric = (logGamma(x + h) - logGamma(x - h)) / (2 * h);
      expect(Math.abs(digamma(x) - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
    }
  });
});

describe("the Gauss hypergeometric function", () => {
  it.each(cases.hyp2f1)("2F1($a, $b; $c; $z) matches mpmath", ({ a, b, c, z, value }) => {
    expect(Math.abs(hyp2f1(a, b, c, z) - value)).toBeLessThan(1e-12 * Math.abs(value));
  });

  it("is exact in closed forms: 2F1(1, 1; 2; z) = −log(1 − z)/z, also at z near 1", () => {
    for (const z of [0.1, 0.9, 0.999]) {
      expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(-Math.log1p(-z) / z, 10);
    }
  });

  it("refuses z outside [0, 1) with a clear error", () => {
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(/z must be in \[0, 1\)/);
    expect(() => hyp2f1(1, 1, 2, -0.5)).toThrow(/z must be in/);
  });
});
