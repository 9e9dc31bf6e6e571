import { describe, expect, it } from "vitest";
import { expectedSpendPerOrder, fitGammaGamma, gammaGammaLogLikelihood } from "./gamma-gamma";
import { cdnow } from "./cdnow.fixture";
import cases from "./likelihood-cases.json";

describe("Gamma-Gamma spend per order", () => {
  it.each(cases.gammaGamma)(
    "the likelihood of a mean of $x orders at $mean matches numerical integration over ν",
    ({ params, x, mean, logLikelihood }) => {
      expect(Math.abs(gammaGammaLogLikelihood(params, x, mean) - logLikelihood)).toBeLessThan(1e-9);
    },
  );

  it("recovers the published CDNOW estimates (p 6.25, q 3.74, γ 15.44) from the 946 repeat customers", () => {
    const fit = fitGammaGamma(cdnow());
    expect(fit.converged).toBe(true);
    expect(fit.customers).toBe(946);
    expect(fit.params.p).toBeCloseTo(6.25, 2);
    expect(fit.params.q).toBeCloseTo(3.74, 2);
    expect(fit.params.gamma).toBeCloseTo(15.44, 1);
    expect(fit.standardErrors).not.toBeNull();
  });

  it("expects the population mean for a customer with no repeat order, and shrinks a customer's mean towards it", () => {
    const g = { p: 6.25, q: 3.74, gamma: 15.44 };
    const population = (g.p * g.gamma) / (g.q - 1);
    expect(expectedSpendPerOrder(g, 0, 0)).toBeCloseTo(population, 10);
    const one = expectedSpendPerOrder(g, 1, 100);
    const many = expectedSpendPerOrder(g, 50, 100);
    expect(one).toBeGreaterThan(population);
    expect(one).toBeLessThan(many);
    expect(many).toBeLessThan(100);
    expect(expectedSpendPerOrder(g, 1e9, 100)).toBeCloseTo(100, 4);
    // A refunded-to-nothing (or negative) mean counts as 0: pulled below the population mean, never negative.
    expect(expectedSpendPerOrder(g, 2, -40)).toBeGreaterThan(0);
    expect(expectedSpendPerOrder(g, 2, -40)).toBeLessThan(population);
  });

  it("leaves out customers with no repeat order or a non-positive mean, and refuses too few", () => {
    const data = cdnow();
    data.mean[0] = -5; // customer 1 has x = 2
    expect(fitGammaGamma(data).customers).toBe(945);
    const few = {
      length: 2,
      x: Float64Array.of(0, 3),
      tx: Float64Array.of(0, 9),
      T: Float64Array.of(5, 9),
      mean: Float64Array.of(0, 20),
    };
    expect(() => fitGammaGamma(few)).toThrow(
      /1 customer\(s\) with a repeat order and a positive mean spend; at least 2 needed/,
    );
    expect(() => gammaGammaLogLikelihood({ p: 1, q: 2, gamma: 3 }, 0, 10)).toThrow(/x must be > 0/);
  });
});
