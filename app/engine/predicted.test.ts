import { describe, expect, it } from "vitest";
import { toFacts, type JsonFacts } from "./cases";
import { evaluate } from "./evaluate";
import { audienceOf, touches } from "./fields-of";
import { describeCondition, operatorsFor, parseRule, RuleError, type Rule } from "./rules";

const problems = (input: unknown) => {
  try {
    parseRule(input);
    return [];
  } catch (error) {
    if (error instanceof RuleError) return error.problems;
    throw error;
  }
};

const rule = (match: unknown) => ({ version: 1, match });

const withPrediction: JsonFacts = {
  customer: { tags: [] },
  orders: [],
  checkouts: [],
  cart: null,
  visitor: null,
  prediction: {
    probabilityActive: 0.57,
    orders: { "7": 0.11, "30": 0.42, "60": 0.78, "90": 1.1, "180": 1.9, "365": 3.2 },
    spendPerOrder: 4500,
    value12m: 14400,
    valueTier: "top25",
    nextOrderAt: "2026-06-29T12:00:00.000Z",
    fittedAt: "2026-06-14T03:00:00.000Z",
    holdoutError: 0.04,
  },
};
const now = new Date("2026-06-15T12:00:00.000Z");

describe("the Predicted fields in the rule language", () => {
  it("expected orders look ahead one of the stored horizons, and any other is refused naming the field", () => {
    expect(problems(rule({ field: "predicted.orders", op: "gte", value: 0.5, days: 30 }))).toEqual([]);
    expect(problems(rule({ field: "predicted.orders", op: "gte", value: 0.5, days: 45 }))).toEqual([
      {
        path: "match.days",
        message: "expected orders looks ahead 7, 30, 60, 90, 180 or 365 days, not 45",
      },
    ]);
    expect(problems(rule({ field: "predicted.orders", op: "gte", value: 0.5 }))[0]).toEqual({
      path: "match.days",
      message: "expected orders looks ahead 7, 30, 60, 90, 180 or 365 days",
    });
    // The other predicted fields take no days.
    expect(problems(rule({ field: "predicted.value12m", op: "gte", value: 1, days: 30 }))[0].path).toBe(
      "match.days",
    );
  });

  it("takes decimals where a figure has them, whole numbers elsewhere", () => {
    expect(problems(rule({ field: "predicted.orders", op: "between", value: [0.5, 1.5], days: 90 }))).toEqual(
      [],
    );
    expect(problems(rule({ field: "predicted.probabilityActive", op: "lt", value: 12.5 }))).toEqual([]);
    expect(problems(rule({ field: "customer.ordersCount", op: "gte", value: 1.5 }))[0].message).toBe(
      "must be a whole number",
    );
    expect(problems(rule({ field: "predicted.value12m", op: "gte", value: 10.5 }))[0].message).toBe(
      "must be an amount in minor units (cents)",
    );
  });

  it("offers is set / is not set, and the value tier only its four tiers", () => {
    expect(operatorsFor("predicted.orders")).toContain("isNotSet");
    expect(operatorsFor("predicted.daysToNextOrder")).toContain("isSet");
    expect(operatorsFor("predicted.valueTier")).not.toContain("contains");
    expect(problems(rule({ field: "predicted.valueTier", op: "eq", value: "top5" }))[0].message).toBe(
      "must be one of top10, top25, top50, rest",
    );
  });

  it("reads in words as the merchant sees them", () => {
    expect(describeCondition({ field: "predicted.orders", op: "gte", value: 0.5, days: 30 })).toBe(
      "Expected orders in the next 30 days is at least 0.5",
    );
    expect(describeCondition({ field: "predicted.valueTier", op: "in", value: ["top10", "top25"] })).toBe(
      "Predicted value tier is any of Top 10%, Top 10–25%",
    );
    expect(describeCondition({ field: "predicted.value12m", op: "gte", value: 50000 })).toBe(
      "Predicted 12-month value is at least $500.00",
    );
  });

  it("explains a predicted value as an expectation, with the fit's date and its holdout check", () => {
    const r = parseRule(
      rule({
        all: [
          { field: "predicted.orders", op: "gte", value: 0.4, days: 30 },
          { field: "predicted.probabilityActive", op: "gte", value: 57 },
          { field: "predicted.value12m", op: "gte", value: 10000 },
        ],
      }),
    );
    const { member, reasons } = evaluate(r, toFacts(withPrediction), { now });
    expect(member).toBe(true);
    expect(reasons.map((x) => x.value)).toEqual([
      "0.42 (expected)",
      "57.0% (expected)",
      "$144.00 (expected)",
    ]);
    expect(reasons[0].note).toBe(
      "an expectation, not a promise: model fitted Jun 14, 2026; on the shop's last 90 days it expected 4.0% more repeat orders than there were",
    );
    const none = evaluate(r, toFacts({ ...withPrediction, prediction: null }), { now });
    expect(none.member).toBe(false);
    expect(none.reasons[0].value).toBe("not set (no prediction for this customer yet)");
  });

  it("reads a fall in the chance still active over 30 days in points, and explains it from and to", () => {
    expect(describeCondition({ field: "predicted.probabilityActiveChange30d", op: "lte", value: -10 })).toBe(
      "30-day change in chance still active (points) is at most -10",
    );
    expect(
      problems(rule({ field: "predicted.probabilityActiveChange30d", op: "lte", value: -12.5 })),
    ).toEqual([]);
    const falling = { ...withPrediction.prediction!, probabilityActive: 0.62, probabilityActive30dAgo: 0.81 };
    const r = parseRule(rule({ field: "predicted.probabilityActiveChange30d", op: "lte", value: -10 }));
    const fell = evaluate(r, toFacts({ ...withPrediction, prediction: falling }), { now });
    expect(fell.member).toBe(true);
    expect(fell.reasons[0].value).toBe("fell 19 points in 30 days (from 81.0% to 62.0%) (expected)");
    expect(fell.reasons[0].note).toMatch(/^an expectation, not a promise: model fitted Jun 14, 2026/);
    const rose = { ...falling, probabilityActive: 0.815, probabilityActive30dAgo: 0.81 };
    expect(evaluate(r, toFacts({ ...withPrediction, prediction: rose }), { now }).reasons[0].value).toBe(
      "rose 0.5 points in 30 days (from 81.0% to 81.5%) (expected)",
    );
    // No order 30 days before: no figure then, so no change.
    const none = evaluate(
      r,
      toFacts({ ...withPrediction, prediction: { ...falling, probabilityActive30dAgo: null } }),
      {
        now,
      },
    );
    expect(none.member).toBe(false);
    expect(none.reasons[0].value).toBe("not set (no prediction for this customer yet)");
  });

  it("is about customers, and moves when their orders change", () => {
    const r = parseRule(rule({ field: "predicted.valueTier", op: "eq", value: "top10" })) as Rule;
    expect(audienceOf(r)).toBe("customers");
    expect(touches(r, ["orders"])).toBe(true);
    expect(touches(r, ["visitor"])).toBe(false);
  });
});
