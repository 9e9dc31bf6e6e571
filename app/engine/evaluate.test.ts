import { describe, expect, it } from "vitest";
import { cases, DEFAULT_NOW, toFacts } from "./cases";
import { evaluate } from "./evaluate";
import { parseRule } from "./rules";

describe("cases.json on the evaluator", () => {
  it("has at least 150 cases, each a valid rule", () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    for (const c of cases) expect(() => parseRule(c.rule), c.name).not.toThrow();
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const now = new Date(c.now ?? DEFAULT_NOW);
    const unit = c.guest ? "visitor" : "customer";
    const { member } = evaluate(c.rule, toFacts(c.facts), { now, asOf: c.asOf, unit });
    expect(member).toBe(c.expected);
    if (c.asOf && c.facts.visitor && !c.guest)
      expect(evaluate(c.rule, toFacts(c.facts), { now, asOf: true, unit: "visitor" }).member).toBe(
        c.visitorExpected ?? c.expected,
      );
  });
});

describe("explaining membership", () => {
  it("lists each condition with the person's value and whether it held", () => {
    const rule = parseRule({
      version: 1,
      match: {
        all: [
          { field: "customer.ordersCount", op: "gte", value: 2 },
          { field: "customer.countryCode", op: "eq", value: "US" },
        ],
      },
    });
    const facts = toFacts({
      customer: { countryCode: "CA", tags: [] },
      orders: [],
      checkouts: [],
      cart: null,
      visitor: null,
    });
    const { member, reasons } = evaluate(rule, facts, { now: new Date(DEFAULT_NOW) });
    expect(member).toBe(false);
    expect(reasons).toEqual([
      { condition: "Number of orders is at least 2", field: "customer.ordersCount", value: "0", met: false },
      { condition: "Country is US", field: "customer.countryCode", value: "CA", met: false },
    ]);
  });
});
