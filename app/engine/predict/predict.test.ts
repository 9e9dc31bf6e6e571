import { describe, expect, it } from "vitest";
import { expectedOrders, fitBgNbd, probabilityActive } from "./bgnbd";
import { fitGammaGamma } from "./gamma-gamma";
import { expectedDaysToNextOrder, predictCustomer, tierOf, tierThresholds } from "./predict";
import { simulateCustomers } from "./simulate";
import { PREDICTION_HORIZONS, type FittedModels } from "./types";

/** A plausible shop, in days: a repeat purchase every few months, most customers lapse. */
const TRUTH: FittedModels = {
  bgnbd: { r: 0.8, alpha: 60, a: 0.6, b: 3.5 },
  gammaGamma: { p: 3, q: 4, gamma: 15000 },
};

describe("fits recover the parameters the customers were drawn from", () => {
  // Three seeds, 40,000 customers over two years each; every parameter within 3.5 standard errors.
  it.each([11, 22, 33])("seed %i", (seed) => {
    const { calibration, holdoutRepeatOrders } = simulateCustomers(TRUTH, {
      customers: 40_000,
      days: 730,
      seed,
      holdoutDays: 90,
    });
    const bg = fitBgNbd(calibration);
    expect(bg.converged).toBe(true);
    const bgErrors = bg.standardErrors;
    if (!bgErrors) throw new Error("no standard errors");
    for (const key of ["r", "alpha", "a", "b"] as const) {
      expect(Math.abs(bg.params[key] - TRUTH.bgnbd[key])).toBeLessThan(3.5 * bgErrors[key]);
    }
    const gg = fitGammaGamma(calibration);
    expect(gg.converged).toBe(true);
    const ggErrors = gg.standardErrors;
    if (!ggErrors) throw new Error("no standard errors");
    for (const key of ["p", "q", "gamma"] as const) {
      expect(Math.abs(gg.params[key] - TRUTH.gammaGamma[key])).toBeLessThan(3.5 * ggErrors[key]);
    }

    // The holdout: the fitted model's expected repeat orders in the next 90 days, summed, against
    // what the simulated customers actually did.
    let predicted = 0;
    let actual = 0;
    for (let i = 0; i < calibration.length; i++) {
      predicted += expectedOrders(
        bg.params,
        { x: calibration.x[i], tx: calibration.tx[i], T: calibration.T[i] },
        90,
      );
      actual += holdoutRepeatOrders[i];
    }
    expect(Math.abs(predicted - actual) / actual).toBeLessThan(0.04);
  });

  it("the simulation is the same for the same seed and different for another", () => {
    const one = simulateCustomers(TRUTH, { customers: 500, days: 365, seed: 5 });
    const two = simulateCustomers(TRUTH, { customers: 500, days: 365, seed: 5 });
    const three = simulateCustomers(TRUTH, { customers: 500, days: 365, seed: 6 });
    expect(Array.from(one.calibration.x)).toEqual(Array.from(two.calibration.x));
    expect(Array.from(one.calibration.T)).not.toEqual(Array.from(three.calibration.T));
    for (let i = 0; i < 500; i++) {
      expect(one.calibration.tx[i]).toBeLessThanOrEqual(one.calibration.T[i]);
      expect(one.calibration.mean[i] > 0).toBe(one.calibration.x[i] > 0);
    }
  });
});

describe("one customer's predictions", () => {
  it("gives every horizon, the spend, the 12-month value and the next order", () => {
    const s = { x: 4, tx: 300, T: 320.5, mean: 5200 };
    const values = predictCustomer(TRUTH, s);
    let previous = 0;
    for (const days of PREDICTION_HORIZONS) {
      expect(values.orders[days]).toBeGreaterThan(previous);
      previous = values.orders[days];
    }
    expect(values.probabilityActive).toBeCloseTo(probabilityActive(TRUTH.bgnbd, s), 15);
    expect(values.value12m).toBeCloseTo(values.orders[365] * values.spendPerOrder, 6);
    expect(values.spendPerOrder).toBeGreaterThan(0);
    expect(values.nextOrderInDays).not.toBeNull();
  });

  it("a lapsed customer is less likely active, expects fewer orders and no next order", () => {
    const recent = predictCustomer(TRUTH, { x: 6, tx: 700, T: 705.5, mean: 5000 });
    const lapsed = predictCustomer(TRUTH, { x: 6, tx: 100, T: 705.5, mean: 5000 });
    expect(lapsed.probabilityActive).toBeLessThan(recent.probabilityActive);
    expect(lapsed.orders[90]).toBeLessThan(recent.orders[90]);
    expect(lapsed.nextOrderInDays).toBeNull();
    expect(recent.nextOrderInDays).not.toBeNull();
  });

  it("the next order's day is the median: a new customer orders within it with probability (α/(α+t))^r = ½", () => {
    // FHL 2005 eq. 8 at x = 0: P(X(t) = 0) = (α/(α+t))^r.
    const t = expectedDaysToNextOrder(TRUTH.bgnbd, { x: 0, tx: 0, T: 0 });
    if (t === null) throw new Error("expected a next order");
    const { r, alpha } = TRUTH.bgnbd;
    expect(Math.pow(alpha / (alpha + t), r)).toBeCloseTo(0.5, 12);
  });

  it("expected orders grow with the horizon even for a degenerate fit (a huge, b tiny)", () => {
    const degenerate: FittedModels = {
      bgnbd: { r: 0.97, alpha: 141.6, a: 11560, b: 0.0000865 },
      gammaGamma: TRUTH.gammaGamma,
    };
    for (const s of [
      { x: 0, tx: 0, T: 0.3, mean: 0 },
      { x: 3, tx: 100, T: 200.3, mean: 5000 },
      { x: 40, tx: 300, T: 300.3, mean: 5000 },
    ]) {
      const values = predictCustomer(degenerate, s);
      let previous = 0;
      for (const days of PREDICTION_HORIZONS) {
        expect(values.orders[days]).toBeGreaterThan(previous);
        previous = values.orders[days];
      }
    }
  });

  it("stays finite for a customer with a huge number of orders, who ordered today", () => {
    const values = predictCustomer(TRUTH, { x: 50_000, tx: 3000, T: 3000, mean: 1200 });
    expect(Number.isFinite(values.value12m)).toBe(true);
    expect(values.probabilityActive).toBeGreaterThan(0.99);
  });
});

describe("value tiers", () => {
  it("thresholds by rank: the top 10%, 25% and 50% of predicted 12-month values", () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => (i + 1) * 10); // 10 … 1000
    const t = tierThresholds(values);
    expect(t).toEqual({ top10: 910, top25: 760, top50: 510 });
    expect(tierOf(1000, t)).toBe("top10");
    expect(tierOf(910, t)).toBe("top10");
    expect(tierOf(900, t)).toBe("top25");
    expect(tierOf(510, t)).toBe("top50");
    expect(tierOf(500, t)).toBe("rest");
  });

  it("a value of nothing is in no tier, however many share it", () => {
    const t = tierThresholds(new Float64Array(10));
    expect(tierOf(0, t)).toBe("rest");
    expect(tierThresholds(new Float64Array(0)).top10).toBe(Number.MAX_VALUE);
    expect(() => tierThresholds(Float64Array.of(1, Number.NaN))).toThrow(/index 1 is not a number/);
  });
});
