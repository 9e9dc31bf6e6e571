import { describe, expect, it } from "vitest";
import { presets } from "../engine/presets";
import { RuleError, parseRule, type Rule } from "../engine/rules";
import {
  draftToRule,
  emptyDraft,
  handleFrom,
  newCondition,
  placeProblem,
  ruleToDraft,
  updateNode,
  withField,
  withOperator,
  type DraftCondition,
  type DraftGroup,
} from "./draft";

const resolve = () => ({ version: 1, match: { all: [] } }) as Rule;

describe("the builder's draft of a rule", () => {
  it("turns every built-in segment into rows and back into the same rule", () => {
    for (const p of presets({ topSpendThreshold: 123456, collectionId: "501" })) {
      const back = draftToRule(ruleToDraft(p.rule, "USD"), "USD");
      expect(back.problems, p.handle).toEqual([]);
      const expected = "all" in p.rule.match ? p.rule.match : { all: [p.rule.match] };
      expect(back.rule.match, p.handle).toEqual(expected);
    }
  });

  it("shows money in currency units and stores minor units, per currency", () => {
    const rule: Rule = { version: 1, match: { field: "customer.totalSpent", op: "gte", value: 123456 } };
    const usd = ruleToDraft(rule, "USD").children[0] as DraftCondition;
    expect(usd.value).toBe("1234.56");
    const jpy = ruleToDraft(rule, "JPY").children[0] as DraftCondition;
    expect(jpy.value).toBe("123456");
    const typed = { ...usd, value: "99.5" };
    const back = draftToRule({ ...emptyDraft(), children: [typed] }, "USD");
    expect(back.rule.match).toEqual({ all: [{ field: "customer.totalSpent", op: "gte", value: 9950 }] });
  });

  it("keeps dates as calendar days in UTC", () => {
    const c: DraftCondition = { ...newCondition("customer.firstOrderAt"), op: "before", value: "2026-01-31" };
    const { rule } = draftToRule({ ...emptyDraft(), children: [c] }, "USD");
    expect(rule.match).toEqual({
      all: [{ field: "customer.firstOrderAt", op: "before", value: "2026-01-31T00:00:00.000Z" }],
    });
    expect((ruleToDraft(rule, "USD").children[0] as DraftCondition).value).toBe("2026-01-31");
  });

  it("writes exclusions and 'none of these' groups as not", () => {
    const draft: DraftGroup = {
      kind: "group",
      id: "top",
      mode: "all",
      children: [
        { kind: "segment", id: "s", handle: "vip", exclude: true },
        {
          kind: "group",
          id: "g",
          mode: "none",
          children: [{ ...newCondition("customer.countryCode"), op: "eq", value: "US" }],
        },
      ],
    };
    const { rule } = draftToRule(draft, "USD");
    expect(rule.match).toEqual({
      all: [
        { not: { segment: "vip" } },
        { not: { any: [{ field: "customer.countryCode", op: "eq", value: "US" }] } },
      ],
    });
    const again = ruleToDraft(rule, "USD");
    expect(again.children.map((c) => (c.kind === "group" ? c.mode : c.kind))).toEqual(["segment", "none"]);
    expect(again.children[0]).toMatchObject({ handle: "vip", exclude: true });
  });

  it("refuses an amount or a count that is not a number, on the row and input that hold it", () => {
    const money: DraftCondition = {
      ...newCondition("customer.totalSpent"),
      id: "m",
      op: "gte",
      value: "lots",
    };
    const count: DraftCondition = {
      ...newCondition("orders.count"),
      id: "c",
      op: "gt",
      value: "2.5",
      days: "0",
    };
    const { problems } = draftToRule({ ...emptyDraft(), children: [money, count] }, "USD");
    expect(problems).toEqual([
      { id: "m", input: "value", message: "enter an amount, like 100 or 99.50" },
      { id: "c", input: "days", message: "enter a number of days, 1 or more" },
      { id: "c", input: "value", message: "enter a whole number" },
    ]);
  });

  it("places the validator's problems on the row that caused them", () => {
    const bad: DraftCondition = { ...newCondition("customer.countryCode"), id: "row", op: "eq", value: "" };
    const draft: DraftGroup = {
      kind: "group",
      id: "top",
      mode: "all",
      children: [newCondition("customer.ordersCount"), { ...bad }],
    };
    draft.children[0] = { ...(draft.children[0] as DraftCondition), value: "1" };
    const { rule, paths } = draftToRule(draft, "USD");
    let caught: RuleError | null = null;
    try {
      parseRule(rule, resolve);
    } catch (error) {
      caught = error as RuleError;
    }
    expect(caught).toBeInstanceOf(RuleError);
    const placed = caught!.problems.map((p) => placeProblem(paths, p.path, p.message));
    expect(placed.length).toBeGreaterThan(0);
    expect(placed.every((p) => p.id === "row" && p.input === "value")).toBe(true);
  });

  it("keeps the product a view count is of, and places a wrong one on its input", () => {
    const rule: Rule = {
      version: 1,
      match: { all: [{ field: "visitor.productViews", op: "gte", value: 3, days: 7, product: "632910392" }] },
    };
    const draft = ruleToDraft(rule, "USD");
    expect(draft.children[0]).toMatchObject({ field: "visitor.productViews", product: "632910392" });
    expect(draftToRule(draft, "USD").rule).toEqual(rule);
    // Any one product: no product in the rule.
    const any = { ...(draft.children[0] as DraftCondition), product: "" };
    expect(draftToRule({ ...draft, children: [any] }, "USD").rule.match).toEqual({
      all: [{ field: "visitor.productViews", op: "gte", value: 3, days: 7 }],
    });
    // A field that takes no product drops it.
    expect(withField(draft.children[0] as DraftCondition, "visitor.pageViews").product).toBe("");
    const { paths } = draftToRule(draft, "USD");
    expect(placeProblem(paths, "match.all.0.product", "must be a product id (digits)")).toEqual({
      id: draft.children[0].id,
      input: "product",
      message: "must be a product id (digits)",
    });
  });

  it("keeps what still fits when the field or operator changes", () => {
    const c: DraftCondition = { ...newCondition("customer.totalSpent"), op: "gte", value: "50" };
    expect(withField(c, "customer.averageOrderValue")).toMatchObject({ op: "gte", value: "50" });
    const country = withField(c, "customer.countryCode");
    expect(country).toMatchObject({ op: "eq", value: "" });
    const list = withOperator({ ...country, value: "CA" }, "in");
    expect(list.values).toEqual(["CA"]);
    const windowed = withField(c, "orders.spend");
    expect(windowed.days).toBe("30");
    expect(withOperator(newCondition("customer.lastOrderAt"), "withinLast").days).toBe("30");
  });

  it("removes a row and never leaves the rule without a group", () => {
    const draft = emptyDraft();
    const only = draft.children[0].id;
    const emptied = updateNode(draft, only, () => null);
    expect(emptied.children).toEqual([]);
    expect(updateNode(draft, draft.id, () => null).kind).toBe("group");
  });

  it("makes a handle from a name", () => {
    expect(handleFrom("VIP in Canada")).toBe("vip-in-canada");
    expect(handleFrom("Café clients — 2026!")).toBe("cafe-clients-2026");
    expect(handleFrom("!!!")).toBe("segment");
  });
});
