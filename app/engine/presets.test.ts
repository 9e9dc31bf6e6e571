import { describe, expect, it } from "vitest";
import { percentile, predictedPresets, presets } from "./presets";
import type { JsonPrediction } from "./cases";
import { predictCustomerWithFall, tierOf, tierThresholds } from "./predict/predict";
import { simulateCustomers } from "./predict/simulate";
import { parseRule } from "./rules";
import { evaluate } from "./evaluate";
import { toFacts } from "./cases";

const now = new Date("2026-06-15T12:00:00Z");
const all = presets({ topSpendThreshold: 50000, collectionId: "501" });
const byHandle = Object.fromEntries(all.map((p) => [p.handle, p]));

describe("the built-in segments", () => {
  it("are valid rules with unique handles", () => {
    expect(new Set(all.map((p) => p.handle)).size).toBe(all.length);
    for (const p of all) expect(() => parseRule(p.rule), p.handle).not.toThrow();
  });

  it("show the high-spend threshold in the rule, where it can be edited", () => {
    expect(JSON.stringify(byHandle["high-spend-repeat"].rule)).toContain("50000");
  });

  it("put a repeat big spender in high-spend-repeat and not in first-time customers", () => {
    const facts = toFacts({
      customer: { tags: [] },
      orders: [
        { processedAt: "2026-06-01T00:00:00Z", total: 30000 },
        { processedAt: "2026-03-01T00:00:00Z", total: 30000 },
      ],
      checkouts: [],
      cart: null,
      visitor: null,
    });
    expect(evaluate(byHandle["high-spend-repeat"].rule, facts, { now }).member).toBe(true);
    expect(evaluate(byHandle["first-time-customers"].rule, facts, { now }).member).toBe(false);
    expect(evaluate(byHandle["lapsed-customers"].rule, facts, { now }).member).toBe(false);
  });

  it("take the 90th percentile of spend as the top-10% threshold", () => {
    expect(percentile([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000], 0.9)).toBe(1000);
    expect(percentile([], 0.9)).toBe(0);
  });
});

describe("the predicted segments", () => {
  const prediction = (over: Partial<JsonPrediction>): JsonPrediction => ({
    probabilityActive: 0.9,
    orders: { "7": 0.1, "30": 0.3, "60": 0.6, "90": 0.9, "180": 1.8, "365": 3.5 },
    spendPerOrder: 5000,
    value12m: 17500,
    valueTier: "top50",
    nextOrderAt: "2026-07-20T00:00:00Z",
    fittedAt: "2026-06-15T00:00:00Z",
    holdoutError: -0.02,
    ...over,
  });
  const customer = (orders: number, p: JsonPrediction | null, lastOrderAt?: string) =>
    toFacts({
      customer: { tags: [] },
      orders: Array.from({ length: orders }, (_, i) => ({
        processedAt: i === orders - 1 && lastOrderAt ? lastOrderAt : `2026-0${i + 1}-01T00:00:00Z`,
        total: 5000,
      })),
      checkouts: [],
      cart: null,
      visitor: null,
      prediction: p,
    });
  const member = (handle: string, facts: ReturnType<typeof toFacts>) =>
    evaluate(predictedPresets().find((p) => p.handle === handle)!.rule, facts, { now }).member;

  it("are offered with the shop's predictions, and are valid rules", () => {
    expect(presets({ topSpendThreshold: 1 }).map((p) => p.handle)).not.toContain("predicted-top-10");
    const withThem = presets({ topSpendThreshold: 1, predicted: true });
    expect(withThem.map((p) => p.handle)).toEqual(
      expect.arrayContaining(["likely-to-buy-30d", "valuable-slipping-away", "predicted-top-10"]),
    );
    expect(new Set(withThem.map((p) => p.handle)).size).toBe(withThem.length);
    for (const p of predictedPresets()) expect(() => parseRule(p.rule), p.handle).not.toThrow();
  });

  it("likely to buy again in 30 days: a past buyer with at least 0.5 expected orders", () => {
    const p = prediction({ orders: { "7": 0.2, "30": 0.55, "60": 1, "90": 1.4, "180": 2.6, "365": 5 } });
    expect(member("likely-to-buy-30d", customer(3, p))).toBe(true);
    expect(member("likely-to-buy-30d", customer(3, prediction({})))).toBe(false);
    expect(member("likely-to-buy-30d", customer(0, p))).toBe(false);
    expect(member("likely-to-buy-30d", customer(3, null))).toBe(false);
  });

  it("valuable and slipping away: top 25% by predicted value, no order in 30 days, chance still active fell by 10 points or more", () => {
    const slipping = prediction({ valueTier: "top25", probabilityActive: 0.7, probabilityActive30dAgo: 0.8 });
    expect(member("valuable-slipping-away", customer(4, slipping))).toBe(true);
    expect(member("valuable-slipping-away", customer(4, { ...slipping, valueTier: "top10" }))).toBe(true);
    expect(member("valuable-slipping-away", customer(4, { ...slipping, valueTier: "top50" }))).toBe(false);
    // A fall, not a level: a low chance that has not moved is not "slipping away" …
    const lowAndStill = { ...slipping, probabilityActive: 0.3, probabilityActive30dAgo: 0.35 };
    expect(member("valuable-slipping-away", customer(4, lowAndStill))).toBe(false);
    // … and a high one falling fast is.
    const highFalling = { ...slipping, probabilityActive: 0.82, probabilityActive30dAgo: 0.97 };
    expect(member("valuable-slipping-away", customer(4, highFalling))).toBe(true);
    expect(member("valuable-slipping-away", customer(4, { ...slipping, probabilityActive: 0.71 }))).toBe(
      false,
    );
    // No figure 30 days ago (no order by then): no fall.
    expect(
      member("valuable-slipping-away", customer(4, { ...slipping, probabilityActive30dAgo: null })),
    ).toBe(false);
    // An order in the last 30 days: not slipping away, whatever the model's change.
    expect(member("valuable-slipping-away", customer(4, slipping, "2026-06-01T00:00:00Z"))).toBe(false);
  });

  it("valuable and slipping away leaves out a customer whose second order was in the last 30 days", () => {
    // The model's chance for a one-time buyer is 1 (nobody drops out before a repeat purchase), so a
    // second purchase ten days ago "falls" it by tens of points: the no-recent-order condition is
    // what keeps such a customer out.
    const models = {
      bgnbd: { r: 0.243, alpha: 30.9, a: 0.793, b: 2.426 },
      gammaGamma: { p: 6.25, q: 3.74, gamma: 15.44 },
    };
    const v = predictCustomerWithFall(models, { x: 1, tx: 30, T: 40, mean: 5000 }, { x: 0, tx: 0, T: 10 });
    expect(v.probabilityActiveThen).toBe(1);
    expect(v.probabilityActive).toBeLessThan(0.8);
    const p = prediction({
      valueTier: "top10",
      probabilityActive: v.probabilityActive,
      probabilityActive30dAgo: v.probabilityActiveThen,
    });
    expect(member("valuable-slipping-away", customer(2, p, "2026-06-05T00:00:00Z"))).toBe(false);
  });

  it("predicted top 10%: the top tier only", () => {
    expect(member("predicted-top-10", customer(2, prediction({ valueTier: "top10" })))).toBe(true);
    expect(member("predicted-top-10", customer(2, prediction({ valueTier: "top25" })))).toBe(false);
    expect(member("predicted-top-10", customer(2, null))).toBe(false);
  });
});

describe("the predicted segments on customers the models predict", () => {
  // Customers drawn from the paper's CDNOW parameters over a year, each predicted by the models
  // (predict.ts) and tiered within the shop, as the per-shop fit stores them.
  const models = {
    bgnbd: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 },
    gammaGamma: { p: 6.25, q: 3.74, gamma: 15.44 },
  };
  const { calibration: s } = simulateCustomers(models, { customers: 4000, days: 365, seed: 17 });
  // As of 30 days before: the same purchases when the last one was before then (the simulation
  // keeps only the summary); a customer who bought within the 30 days gets a recent order, which
  // keeps them out of "slipping away", and no figure then (not known from the summary).
  const quiet = (i: number) => s.tx[i] <= s.T[i] - 30;
  const predicted = Array.from({ length: s.length }, (_, i) =>
    predictCustomerWithFall(
      models,
      { x: s.x[i], tx: s.tx[i], T: s.T[i], mean: s.mean[i] * 100 },
      quiet(i) && s.T[i] >= 30 ? { x: s.x[i], tx: s.tx[i], T: s.T[i] - 30 } : null,
    ),
  );
  const tiers = tierThresholds(Float64Array.from(predicted.map((p) => p.value12m)));
  const facts = predicted.map((p, i) =>
    toFacts({
      customer: { tags: [] },
      orders: Array.from({ length: s.x[i] + 1 }, () => ({
        processedAt: quiet(i) ? "2026-01-01T00:00:00Z" : "2026-06-10T00:00:00Z",
        total: 1000,
      })),
      checkouts: [],
      cart: null,
      visitor: null,
      prediction: {
        probabilityActive: p.probabilityActive,
        probabilityActive30dAgo: p.probabilityActiveThen,
        orders: Object.fromEntries(Object.entries(p.orders).map(([h, v]) => [h, v])),
        spendPerOrder: Math.round(p.spendPerOrder),
        value12m: Math.round(p.value12m),
        valueTier: tierOf(p.value12m, tiers),
        nextOrderAt:
          p.nextOrderInDays === null
            ? null
            : new Date(now.getTime() + p.nextOrderInDays * 86_400_000).toISOString(),
        fittedAt: now.toISOString(),
        holdoutError: 0.02,
      },
    }),
  );
  const members = (handle: string) => {
    const rule = predictedPresets().find((p) => p.handle === handle)!.rule;
    return facts.filter((f) => evaluate(rule, f, { now, reasons: false }).member).length;
  };

  it("each select some customers and leave most out", () => {
    for (const handle of ["likely-to-buy-30d", "valuable-slipping-away", "predicted-top-10"]) {
      const n = members(handle);
      expect(n, handle).toBeGreaterThan(0);
      expect(n, handle).toBeLessThan(s.length / 4);
    }
    // The top tier is the top 10% by predicted value (ties aside).
    expect(members("predicted-top-10")).toBeGreaterThanOrEqual(s.length * 0.1);
    expect(members("predicted-top-10")).toBeLessThan(s.length * 0.12);
  });
});
