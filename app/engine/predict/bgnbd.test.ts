import { describe, expect, it } from "vitest";
import {
  bgnbdLogLikelihood,
  bgnbdLogLikelihoodSum,
  expectedOrders,
  expectedOrdersNew,
  fitBgNbd,
  probabilityActive,
} from "./bgnbd";
import { cdnow } from "./cdnow.fixture";
import cases from "./likelihood-cases.json";
import type { BgNbdParams } from "./types";

describe("BG/NBD likelihood", () => {
  it.each(cases.bgnbd)(
    "matches the numerically integrated model for x=$x, tx=$tx, T=$T",
    ({ params, x, tx, T, logLikelihood, probabilityActive: active }) => {
      expect(Math.abs(bgnbdLogLikelihood(params, { x, tx, T }) - logLikelihood)).toBeLessThan(1e-9);
      expect(Math.abs(probabilityActive(params, { x, tx, T }) - active)).toBeLessThan(1e-10);
    },
  );

  it("sums over many customers to the same as one at a time", () => {
    const data = cdnow();
    const p: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    let sum = 0;
    for (let i = 0; i < data.length; i++)
      sum += bgnbdLogLikelihood(p, { x: data.x[i], tx: data.tx[i], T: data.T[i] });
    expect(bgnbdLogLikelihoodSum(p, data)).toBeCloseTo(sum, 7);
  });

  it("stays finite at the edges: no repeat, last purchase today, huge x, tiny α, a = 1", () => {
    const p: BgNbdParams = { r: 0.8, alpha: 40, a: 0.5, b: 4 };
    const edges = [
      { x: 0, tx: 0, T: 0 },
      { x: 5, tx: 100, T: 100 },
      { x: 100_000, tx: 5000, T: 5000.5 },
      { x: 2_000_001.5, tx: 9000, T: 9001 },
    ];
    for (const s of edges) {
      expect(Number.isFinite(bgnbdLogLikelihood(p, s))).toBe(true);
      expect(probabilityActive(p, s)).toBeGreaterThanOrEqual(0);
      expect(probabilityActive(p, s)).toBeLessThanOrEqual(1);
      expect(Number.isFinite(expectedOrders(p, s, 365))).toBe(true);
    }
    for (const q of [
      { r: 1e-6, alpha: 1e-6, a: 0.5, b: 4 },
      { r: 0.8, alpha: 40, a: 1, b: 4 },
      { r: 0.8, alpha: 40, a: 0.2, b: 0.3 },
      { r: 50, alpha: 1e-3, a: 30, b: 1e-3 },
    ]) {
      for (const s of edges.slice(0, 3)) {
        expect(Number.isFinite(bgnbdLogLikelihood(q, s))).toBe(true);
        expect(Number.isFinite(expectedOrders(q, s, 365))).toBe(true);
      }
    }
  });

  it("names what is wrong with bad input", () => {
    const p: BgNbdParams = { r: 0.8, alpha: 40, a: 0.5, b: 4 };
    expect(() => bgnbdLogLikelihood(p, { x: 1, tx: 10, T: 5 })).toThrow(/T must be a finite number ≥ tx/);
    expect(() => bgnbdLogLikelihood(p, { x: -1, tx: 0, T: 5 })).toThrow(/x must be/);
    expect(() => bgnbdLogLikelihood({ ...p, alpha: 0 }, { x: 1, tx: 0, T: 5 })).toThrow(/parameter alpha/);
    expect(() => expectedOrders(p, { x: 1, tx: 0, T: 5 }, -1)).toThrow(/days must be/);
    const data = cdnow();
    data.T[7] = Number.NaN;
    expect(() => fitBgNbd(data)).toThrow(/customer at index 7: T must be/);
  });
});

describe("BG/NBD expectations", () => {
  it.each(cases.expectedOrders)(
    "expected orders in the next $days days for x=$x, tx=$tx, T=$T match the published formula",
    ({ params, x, tx, T, days, expected }) => {
      expect(Math.abs(expectedOrders(params, { x, tx, T }, days) - expected)).toBeLessThan(
        1e-10 * Math.max(1, expected),
      );
    },
  );

  it("reproduces the paper's worked example: x=2, tx=30.43, T=38.86 expects 1.226 orders in 39 weeks", () => {
    const p: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    expect(expectedOrders(p, { x: 2, tx: 30.43, T: 38.86 }, 39)).toBeCloseTo(1.226, 3);
  });

  it("a new customer's expectation is the unconditional E[X(t)]; it grows with t and starts at rate r/α", () => {
    const p: BgNbdParams = { r: 0.8, alpha: 40, a: 0.5, b: 4 };
    expect(expectedOrdersNew(p, 0)).toBe(0);
    expect(expectedOrdersNew(p, 1e-4) / 1e-4).toBeCloseTo(p.r / p.alpha, 6);
    let previous = 0;
    for (const t of [7, 30, 90, 365, 3650]) {
      const e = expectedOrdersNew(p, t);
      expect(e).toBeGreaterThan(previous);
      previous = e;
    }
  });

  it("is continuous through a = 1 (the formula's (a − 1) divides out)", () => {
    const s = { x: 3, tx: 100, T: 200.5 };
    const at = (a: number) => expectedOrders({ r: 0.8, alpha: 40, a, b: 4 }, s, 90);
    expect(Math.abs(at(1) - (at(1 + 1e-7) + at(1 - 1e-7)) / 2)).toBeLessThan(1e-9);
  });
});

describe("BG/NBD fit", () => {
  it("recovers the published CDNOW estimates (r 0.243, α 4.414, a 0.793, b 2.426, LL −9,582.4)", () => {
    const fit = fitBgNbd(cdnow());
    expect(fit.converged).toBe(true);
    expect(fit.customers).toBe(2357);
    expect(fit.params.r).toBeCloseTo(0.243, 3);
    expect(fit.params.alpha).toBeCloseTo(4.414, 2);
    expect(fit.params.a).toBeCloseTo(0.793, 3);
    expect(fit.params.b).toBeCloseTo(2.426, 2);
    expect(fit.logLikelihood).toBeCloseTo(-9582.4, 1);
    // Standard errors as the lifetimes library reports them for the same data.
    expect(fit.standardErrors?.r).toBeCloseTo(0.0126, 3);
    expect(fit.standardErrors?.alpha).toBeCloseTo(0.378, 2);
    expect(fit.standardErrors?.a).toBeCloseTo(0.186, 2);
    expect(fit.standardErrors?.b).toBeCloseTo(0.705, 2);
  });

  it("finds the same maximum from a distant start", () => {
    const fit = fitBgNbd(cdnow(), { start: { r: 20, alpha: 0.01, a: 10, b: 0.05 } });
    expect(fit.logLikelihood).toBeCloseTo(-9582.4256, 3);
  });

  it("on data that cannot identify the parameters, pins them at a bound and gives no standard errors", () => {
    // Every repeat customer bought on their last day: no sign of anyone dropping out.
    const n = 5;
    const data = {
      length: n,
      x: Float64Array.of(1, 2, 0, 3, 0),
      tx: Float64Array.of(10, 20, 0, 40, 0),
      T: Float64Array.of(10.2, 20.2, 30.2, 40.2, 8.2),
      mean: new Float64Array(n),
    };
    const fit = fitBgNbd(data);
    expect(Number.isFinite(fit.logLikelihood)).toBe(true);
    expect(fit.params.a).toBeLessThan(1e-6);
    expect(fit.standardErrors).toBeNull();
  });

  it("refuses data with no repeat purchase, naming why", () => {
    const data = {
      length: 2,
      x: new Float64Array(2),
      tx: new Float64Array(2),
      T: Float64Array.of(5, 9),
      mean: new Float64Array(2),
    };
    expect(() => fitBgNbd(data)).toThrow(/no customer has a repeat purchase/);
  });
});
