import { describe, expect, it } from "vitest";
import { crossingRange, timeAnchors } from "./anchors";
import { evaluate } from "./evaluate";
import { presets } from "./presets";
import type { Rule } from "./rules";
import type { Facts } from "./evaluate";

const rule = (match: Rule["match"]): Rule => ({ version: 1, match });

describe("time anchors", () => {
  it("name the timestamps and windows of relative conditions, and nothing for fixed ones", () => {
    const r = rule({
      all: [
        { field: "customer.lastOrderAt", op: "notWithinLast", days: 90 },
        { field: "orders.count", op: "gte", value: 1, days: 30 },
        { field: "customer.firstOrderAt", op: "before", value: "2026-01-01T00:00:00.000Z" },
        { not: { field: "checkouts.abandoned", op: "isTrue", days: 7 } },
        { field: "visitor.visits", op: "gte", value: 3, days: 7 },
        { field: "customer.totalSpent", op: "gte", value: 100 },
      ],
    });
    expect(timeAnchors(r)).toEqual([
      { source: "customer.lastOrderAt", days: 90 },
      { source: "orders", days: 30 },
      { source: "checkouts", days: 7 },
      { source: "events", days: 7 },
    ]);
  });

  it("put the edge of days until the expected next order ahead of now, one per bound", () => {
    const r = rule({ field: "predicted.daysToNextOrder", op: "between", value: [0, 10] });
    expect(timeAnchors(r)).toEqual([
      { source: "predicted.nextOrderAt", days: 0 },
      { source: "predicted.nextOrderAt", days: -10 },
    ]);
    // Between two sweeps a day apart, the customers whose expected order is 10–11 days ahead.
    const from = new Date("2026-06-01T00:00:00Z");
    const to = new Date("2026-06-02T00:00:00Z");
    expect(crossingRange({ source: "predicted.nextOrderAt", days: -10 }, from, to)).toEqual({
      since: new Date("2026-06-11T00:00:00Z"),
      until: new Date("2026-06-12T00:00:00Z"),
    });
    expect(timeAnchors(rule({ field: "predicted.daysToNextOrder", op: "isSet" }))).toEqual([]);
  });

  it("follow references to other segments", () => {
    const lapsed = rule({ field: "customer.lastOrderAt", op: "notWithinLast", days: 90 });
    const r = rule({
      all: [{ segment: "lapsed" }, { field: "customer.countryCode", op: "eq", value: "US" }],
    });
    expect(timeAnchors(r, (h) => (h === "lapsed" ? lapsed : null))).toEqual([
      { source: "customer.lastOrderAt", days: 90 },
    ]);
  });

  it("every built-in segment whose answer can change with time has an anchor", () => {
    for (const p of presets({ topSpendThreshold: 1000, collectionId: "1" })) {
      const moves = JSON.stringify(p.rule).includes('"days"');
      expect(timeAnchors(p.rule).length > 0, p.handle).toBe(moves);
    }
  });

  it("cover the moment a person leaves a window", () => {
    // An order 30 days before `from` is in a 30-day window at `from` and out of it an hour later.
    const from = new Date("2026-06-15T12:00:00Z");
    const to = new Date("2026-06-15T13:00:00Z");
    const orderAt = new Date(from.getTime() - 30 * 86_400_000);
    const facts: Facts = {
      customer: null,
      orders: [
        {
          processedAt: orderAt,
          total: 100,
          refunded: 0,
          cancelled: false,
          test: false,
          discountCodes: [],
          financialStatus: "paid",
          lines: [],
        },
      ],
      checkouts: [],
      cart: null,
      visitor: null,
    };
    const r = rule({ field: "orders.count", op: "gte", value: 1, days: 30 });
    expect(evaluate(r, facts, { now: from }).member).toBe(true);
    expect(evaluate(r, facts, { now: to }).member).toBe(false);
    const [anchor] = timeAnchors(r);
    const { since, until } = crossingRange(anchor, from, to);
    expect(orderAt >= since && orderAt <= until).toBe(true);
  });
});
