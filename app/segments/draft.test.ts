import { describe, expect, it } from "vitest";
import { presets } from "../engine/presets";
import { FIELD_NAMES, RuleError, parseRule, type Rule } from "../engine/rules";
import {
  draftToRule,
  emptyDraft,
  fieldGroupOf,
  fieldSections,
  handleFrom,
  moneyExample,
  newCondition,
  placeProblem,
  plainWording,
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
      { id: "m", input: "value", message: "Enter an amount, like 50.00" },
      { id: "c", input: "days", message: "Enter a number of days, 1 or more" },
      { id: "c", input: "value", message: "Enter a whole number, like 3" },
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

describe("the builder's field picker", () => {
  it("puts every field in one of the merchant's groups, in the picker's order, without empty groups", () => {
    const sections = fieldSections("", FIELD_NAMES);
    expect(sections.map((s) => s.title)).toEqual([
      "Customer",
      "Orders",
      "Products",
      "Browsing",
      "Checkout",
      "Answers",
      "Predicted",
    ]);
    expect(sections.flatMap((s) => s.options.map((o) => o.value)).sort()).toEqual([...FIELD_NAMES].sort());
    expect(fieldGroupOf("orders.collections")).toBe("Products");
    expect(fieldGroupOf("visitor.abandonedCheckoutStep")).toBe("Checkout");
    expect(fieldGroupOf("visitor.answers")).toBe("Answers");
    expect(fieldGroupOf("visitor.pageViews")).toBe("Browsing");
    expect(fieldGroupOf("predicted.valueTier")).toBe("Predicted");
  });

  it("finds the predicted fields by the words merchants use for them", () => {
    const found = (q: string) => fieldSections(q, FIELD_NAMES).flatMap((s) => s.options.map((o) => o.label));
    expect(found("churn")).toEqual([
      "Chance still active (%)",
      "30-day change in chance still active (points)",
    ]);
    expect(found("slipping")).toEqual(["30-day change in chance still active (points)"]);
    expect(found("predicted")).toEqual(
      expect.arrayContaining(["Expected orders", "Predicted 12-month value", "Predicted value tier"]),
    );
  });

  it("turns a fall in the chance still active into a rule with a negative number of points", () => {
    const c = { ...newCondition("predicted.probabilityActiveChange30d"), op: "lte" as const, value: "-10" };
    const { rule, problems } = draftToRule({ kind: "group", id: "g", mode: "all", children: [c] }, "USD");
    expect(problems).toEqual([]);
    expect(rule.match).toEqual({
      all: [{ field: "predicted.probabilityActiveChange30d", op: "lte", value: -10 }],
    });
  });

  it("turns a predicted condition into a rule: a horizon ahead, and a decimal value", () => {
    const c = { ...newCondition("predicted.orders"), value: "0.5" };
    expect(c.days).toBe("30");
    const { rule, problems } = draftToRule({ kind: "group", id: "g", mode: "all", children: [c] }, "USD");
    expect(problems).toEqual([]);
    expect(rule.match).toEqual({ all: [{ field: "predicted.orders", op: "gte", value: 0.5, days: 30 }] });
    const wrong = draftToRule(
      { kind: "group", id: "g", mode: "all", children: [{ ...c, value: "half" }] },
      "USD",
    );
    expect(wrong.problems[0].message).toBe("Enter a number, like 0.5");
  });

  it("finds a field by the start of any word of its name, group or common synonyms", () => {
    const found = (q: string) => fieldSections(q, FIELD_NAMES).flatMap((s) => s.options.map((o) => o.label));
    expect(found("spent")).toContain("Total spent");
    expect(found("SPENT")).toContain("Spend");
    expect(found("views")).toEqual(["Page views", "Views of one product"]);
    expect(found("bought coll")).toEqual(["Bought from collection"]);
    expect(found("quiz")).toEqual(["Answered (question=answer)"]);
    expect(found("zzz")).toEqual([]);
  });
});

describe("the builder's problems in plain words", () => {
  const rowWith = (c: Partial<DraftCondition> & Pick<DraftCondition, "field">): DraftGroup => ({
    kind: "group",
    id: "top",
    mode: "all",
    children: [{ ...newCondition(c.field), ...c, id: "row" }],
  });
  /** What the merchant reads for the validator's problems on a draft. */
  const wordsFor = (draft: DraftGroup, currency = "USD") => {
    const { rule, paths, problems } = draftToRule(draft, currency);
    if (problems.length) return problems.map((p) => plainWording(draft, p, currency));
    try {
      parseRule(rule, (h) => (h === "vip" ? { version: 1, match: { all: [] } } : null));
      return [];
    } catch (error) {
      return (error as RuleError).problems.map((p) =>
        plainWording(draft, placeProblem(paths, p.path, p.message), currency),
      );
    }
  };

  it("says what to do, naming what to pick or type, instead of the validator's wording", () => {
    expect(wordsFor(rowWith({ field: "orders.products", op: "in", values: [] }))).toEqual([
      "Pick at least one product",
    ]);
    expect(wordsFor(rowWith({ field: "customer.countryCode", op: "notIn", values: [] }))).toEqual([
      "Pick at least one country",
    ]);
    expect(wordsFor(rowWith({ field: "customer.tags", op: "in", values: [] }))).toEqual([
      "Add at least one tag: type it and press Enter",
    ]);
    expect(wordsFor(rowWith({ field: "visitor.abandonedCheckoutStep", op: "in", values: [] }))).toEqual([
      "Tick at least one",
    ]);
    expect(wordsFor(rowWith({ field: "customer.city", op: "eq", value: "" }))).toEqual(["Enter some text"]);
    expect(wordsFor(rowWith({ field: "customer.lastOrderAt", op: "before", value: "" }))).toEqual([
      "Pick a date",
    ]);
    expect(wordsFor(rowWith({ field: "customer.totalSpent", op: "gte", value: "" }))).toEqual([
      "Enter an amount, like 50.00",
    ]);
    expect(wordsFor(rowWith({ field: "customer.totalSpent", op: "gte", value: "" }), "JPY")).toEqual([
      "Enter an amount, like 50",
    ]);
    expect(
      wordsFor(rowWith({ field: "customer.ordersCount", op: "between", value: "5", value2: "2" })),
    ).toEqual(["Put the smaller one first"]);
    expect(
      wordsFor({
        kind: "group",
        id: "top",
        mode: "all",
        children: [{ kind: "segment", id: "s", handle: "gone", exclude: true }],
      }),
    ).toEqual(['Choose another segment: "gone" no longer exists']);
  });

  it("writes money examples in the currency's own decimals", () => {
    expect([moneyExample("USD"), moneyExample("JPY"), moneyExample("KWD", 100)]).toEqual([
      "50.00",
      "50",
      "100.000",
    ]);
  });
});
