import { describe, expect, it } from "vitest";
import { describeCondition, parseRule, RuleError, type Rule } from "./rules";
import { evaluate } from "./evaluate";
import { toFacts } from "./cases";

const problems = (input: unknown, resolve?: (h: string) => Rule | null) => {
  try {
    parseRule(input, resolve);
    return [];
  } catch (error) {
    if (error instanceof RuleError) return error.problems;
    throw error;
  }
};

describe("the rule validator", () => {
  it("accepts a well-formed rule", () => {
    expect(
      problems({ version: 1, match: { all: [{ field: "orders.count", op: "gte", value: 2, days: 30 }] } }),
    ).toEqual([]);
  });

  it("refuses, naming the field, what does not validate", () => {
    expect(problems({ version: 2, match: { all: [] } })[0].path).toBe("version");
    expect(
      problems({ version: 1, match: { all: [{ field: "customer.shoeSize", op: "eq", value: 3 }] } }),
    ).toEqual([{ path: "match.all.0.field", message: 'unknown field "customer.shoeSize"' }]);
    expect(
      problems({
        version: 1,
        match: { all: [{ field: "customer.totalSpent", op: "contains", value: "x" }] },
      })[0],
    ).toEqual({
      path: "match.all.0.op",
      message: '"contains" does not apply to total spent',
    });
    expect(
      problems({ version: 1, match: { any: [{ field: "orders.count", op: "gte", value: 1 }] } })[0],
    ).toEqual({
      path: "match.any.0.days",
      message: "give the number of days to look back",
    });
    expect(
      problems({ version: 1, match: { not: { field: "customer.totalSpent", op: "gt", value: "lots" } } })[0],
    ).toEqual({
      path: "match.not.value",
      message: "must be an amount in minor units (cents)",
    });
    expect(
      problems({
        version: 1,
        match: { all: [{ field: "customer.lastOrderAt", op: "before", value: "soon" }] },
      })[0].message,
    ).toContain("must be a date");
    expect(
      problems({
        version: 1,
        match: { all: [{ field: "customer.ordersCount", op: "between", value: [5, 1] }] },
      })[0].message,
    ).toContain("the smaller first");
  });

  it("refuses references to unknown segments and loops between segments", () => {
    const a: Rule = { version: 1, match: { segment: "b" } };
    const b: Rule = { version: 1, match: { not: { segment: "a" } } };
    const resolve = (h: string) => ({ a, b })[h] ?? null;
    expect(problems({ version: 1, match: { segment: "nope" } }, resolve)[0].message).toBe(
      'no segment "nope"',
    );
    expect(problems(a, resolve)[0].message).toContain("loop");
  });
});

describe("segment references", () => {
  it("excludes the members of another segment", () => {
    const vip: Rule = { version: 1, match: { field: "customer.tags", op: "contains", value: "vip" } };
    const rule = parseRule({
      version: 1,
      match: { all: [{ field: "customer.ordersCount", op: "eq", value: 0 }, { not: { segment: "vip" } }] },
    });
    const facts = (tags: string[]) =>
      toFacts({ customer: { tags }, orders: [], checkouts: [], cart: null, visitor: null });
    const now = new Date();
    expect(evaluate(rule, facts(["vip"]), { now, resolve: () => vip }).member).toBe(false);
    expect(evaluate(rule, facts([]), { now, resolve: () => vip }).member).toBe(true);
  });
});

describe("the pixel-event fields", () => {
  const one = (condition: Record<string, unknown>) => problems({ version: 1, match: { all: [condition] } });

  it("accepts each with its window, and views of one product with or without a product", () => {
    expect(one({ field: "visitor.abandonedCheckoutStep", op: "eq", value: "payment", days: 7 })).toEqual([]);
    expect(one({ field: "visitor.abandonedCheckoutStep", op: "isSet", days: 7 })).toEqual([]);
    expect(
      one({ field: "visitor.productViews", op: "gte", value: 3, days: 7, product: "632910392" }),
    ).toEqual([]);
    expect(one({ field: "visitor.productViews", op: "gte", value: 3, days: 7 })).toEqual([]);
    expect(one({ field: "visitor.searches", op: "contains", value: "boots", days: 30 })).toEqual([]);
    expect(one({ field: "visitor.searches", op: "in", value: ["boots", "sandals"], days: 30 })).toEqual([]);
    expect(one({ field: "visitor.reachedPayment", op: "isTrue", days: 7 })).toEqual([]);
  });

  it("refuses, naming the field, a step that is not a checkout step", () => {
    expect(one({ field: "visitor.abandonedCheckoutStep", op: "eq", value: "Payment", days: 7 })).toEqual([
      { path: "match.all.0.value", message: "must be one of started, contact, address, shipping, payment" },
    ]);
    expect(
      one({ field: "visitor.abandonedCheckoutStep", op: "in", value: ["payment", "completed"], days: 7 })[0],
    ).toEqual({
      path: "match.all.0.value",
      message: "must be one of started, contact, address, shipping, payment",
    });
  });

  it("refuses a product on a field that takes none, and a product that is not an id", () => {
    expect(one({ field: "visitor.pageViews", op: "gte", value: 3, days: 7, product: "1" })).toEqual([
      { path: "match.all.0.product", message: "page views takes no product" },
    ]);
    expect(one({ field: "visitor.productViews", op: "gte", value: 3, days: 7, product: "gid://x" })).toEqual([
      { path: "match.all.0.product", message: "must be a product id (digits)" },
    ]);
  });

  it("refuses a missing window, a search of only spaces, and a count that is not whole", () => {
    expect(one({ field: "visitor.reachedPayment", op: "isTrue" })).toEqual([
      { path: "match.all.0.days", message: "give the number of days to look back" },
    ]);
    expect(one({ field: "visitor.searches", op: "contains", value: "   ", days: 7 })).toEqual([
      { path: "match.all.0.value", message: "must be words to search for, not only spaces" },
    ]);
    expect(one({ field: "visitor.productViews", op: "gte", value: "3", days: 7 })).toEqual([
      { path: "match.all.0.value", message: "must be a whole number" },
    ]);
    expect(one({ field: "visitor.searches", op: "gt", value: 3, days: 7 })[0].path).toBe("match.all.0.op");
  });

  it("reads as a sentence", () => {
    expect(
      describeCondition({
        field: "visitor.productViews",
        op: "gte",
        value: 3,
        days: 7,
        product: "632910392",
      }),
    ).toBe("Views of product 632910392 in the last 7 days is at least 3");
    expect(describeCondition({ field: "visitor.productViews", op: "gte", value: 3, days: 7 })).toBe(
      "Views of one product in the last 7 days is at least 3",
    );
    expect(
      describeCondition({ field: "visitor.abandonedCheckoutStep", op: "eq", value: "payment", days: 7 }),
    ).toBe("Checkout left at step in the last 7 days is payment");
  });

  it("shows money in the shop's currency and dates in its format, keeping the stored value", () => {
    const spent = { field: "customer.totalSpent", op: "gte", value: 43295 } as const;
    expect(describeCondition(spent)).toBe("Total spent is at least $432.95");
    expect(describeCondition(spent, "EUR")).toBe("Total spent is at least €432.95");
    expect(describeCondition(spent, { currency: "EUR", timeZone: "Europe/Paris", locale: "fr-FR" })).toBe(
      "Total spent is at least 432,95\u00a0€",
    );
    expect(
      describeCondition({ field: "orders.spend", op: "between", value: [1000, 2000], days: 30 }, "JPY"),
    ).toBe("Spend in the last 30 days is between ¥1,000 and ¥2,000");
    const ny = { currency: "USD", timeZone: "America/New_York", locale: "en-US" };
    // A calendar day is that day wherever the shop is; a moment is shown in the shop's zone.
    expect(describeCondition({ field: "customer.lastOrderAt", op: "before", value: "2026-01-31" }, ny)).toBe(
      "Last order is before Jan 31, 2026",
    );
    expect(
      describeCondition({ field: "customer.lastOrderAt", op: "after", value: "2026-10-25T14:09:20Z" }, ny),
    ).toBe("Last order is after Oct 25, 2026, 10:09 AM");
    expect(spent.value).toBe(43295);
  });
});
