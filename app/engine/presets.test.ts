import { describe, expect, it } from "vitest";
import { percentile, presets } from "./presets";
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
