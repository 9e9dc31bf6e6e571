/**
 * Examples built to match a rule: each preset gets an example the evaluator puts in the segment,
 * and the example is the least that does (a cart abandoner has one item in the cart, a returning
 * non-buyer two visits and no order).
 */
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../dev/webhooks";
import { abandonedCheckoutStep, evaluate, type Facts } from "./evaluate";
import { checkoutLeftAt, describePerson, exampleFor, newVisitorFacts } from "./example";
import { checkoutStepOf } from "./pixel-events";
import { presets } from "./presets";
import { operatorsFor, type Condition, type Rule } from "./rules";

const now = new Date("2026-11-20T12:00:00Z");
const list = presets({ topSpendThreshold: 50_000, collectionId: "501" });
const rules = new Map(list.map((p) => [p.handle, p.rule]));
const resolve = (h: string) => rules.get(h) ?? null;
const example = (handle: string) => exampleFor(rules.get(handle)!, { now, resolve });

describe("an example built to match a segment's rule", () => {
  it("is a member of every built-in segment, by the storefront's evaluator", () => {
    for (const p of list) {
      const e = exampleFor(p.rule, { now, resolve });
      expect(e, p.handle).not.toBeNull();
      expect(evaluate(p.rule, e!.facts, { now, resolve }).member, p.handle).toBe(true);
    }
  });

  it("a returning non-buyer: two visits, no order, not a first-time visitor", () => {
    const e = example("returning-non-buyers")!;
    expect(e.facts.visitor?.sessions).toBe(2);
    expect(e.facts.orders).toEqual([]);
    expect(evaluate(rules.get("first-time-visitors")!, e.facts, { now, resolve }).member).toBe(false);
    expect(describePerson(e.facts, { now, currency: "USD" })).toEqual([
      "on their 2nd visit (first seen 1 day ago)",
      "empty cart",
      "no orders",
    ]);
  });

  it("a cart abandoner has an item in the cart; a checkout abandoner left a checkout and still has its cart", () => {
    expect(example("cart-abandoners")!.facts.cart).toEqual({ value: 2500, itemCount: 1, productIds: [] });
    const e = example("checkout-abandoners")!;
    expect(e.facts.checkouts).toEqual([{ createdAt: new Date("2026-11-19T12:00:00Z"), completed: false }]);
    expect(e.facts.cart?.itemCount).toBe(1);
    expect(e.companions).toHaveLength(1);
    // On the storefront when they started it: first seen then, and back now.
    expect(describePerson(e.facts, { now, currency: "USD" })).toEqual([
      "on their 2nd visit (first seen 1 day ago)",
      "cart: 1 item, 25.00 USD",
      "started a checkout 1 day ago and did not complete it",
      "no orders",
    ]);
  });

  it("a high-spend repeat customer has two orders reaching the threshold", () => {
    const e = example("high-spend-repeat")!;
    expect(e.facts.orders).toHaveLength(2);
    expect(e.facts.orders.reduce((s, o) => s + o.total, 0)).toBe(50_000);
    expect(describePerson(e.facts, { now, currency: "USD" })).toContain(
      "2 orders, 500.00 USD spent, last 40 days ago",
    );
  });

  it("says where a visitor left their latest checkout, from the pixel's checkout events (the evaluator's answer)", () => {
    const facts = newVisitorFacts(now);
    const at = (m: number) => new Date(now.getTime() - m * 60_000);
    facts.visitor!.events.push(
      { type: "checkout_started", at: at(90), resourceId: "old" },
      { type: "checkout_completed", at: at(80), resourceId: "old" },
      { type: "checkout_started", at: at(30), resourceId: "t1" },
      { type: "checkout_contact", at: at(25), resourceId: "t1" },
      { type: "checkout_shipping", at: at(20), resourceId: "t1" },
    );
    expect(checkoutLeftAt(facts)).toBe("shipping");
    expect(describePerson(facts, { now, currency: "USD" })).toContain("left a checkout at shipping");
    facts.visitor!.events.push({ type: "checkout_completed", at: at(10), resourceId: "t1" });
    expect(checkoutLeftAt(facts)).toBeNull();
    // The step is the segment's: a checkout left and a later one completed is no abandoner.
    facts.visitor!.events.push(
      { type: "checkout_started", at: at(8), resourceId: "t2" },
      { type: "checkout_contact", at: at(7), resourceId: "t2" },
    );
    expect(checkoutLeftAt(facts)).toBe("contact details");
    expect(abandonedCheckoutStep(facts.visitor!.events)).toBe("contact");
    facts.visitor!.events.push({ type: "checkout_started", at: at(5), resourceId: "t3" });
    facts.visitor!.events.push({ type: "checkout_completed", at: at(2), resourceId: "t3" });
    expect(checkoutLeftAt(facts)).toBeNull();
    expect(describePerson(facts, { now, currency: "USD" }).join("; ")).not.toMatch(/checkout/);
  });

  it("builds a guest left at the rule's checkout step, or one who reached payment, from the pixel's checkout events", () => {
    const rule = (match: Rule["match"]): Rule => ({ version: 1, match });
    const cases: [Rule, string | null][] = [
      [rule({ field: "visitor.abandonedCheckoutStep", op: "eq", value: "shipping", days: 7 }), "shipping"],
      [rule({ field: "visitor.abandonedCheckoutStep", op: "isSet", days: 7 }), "started"],
      [rule({ field: "visitor.reachedPayment", op: "isTrue", days: 7 }), "payment"],
      [
        rule({
          all: [
            { field: "visitor.abandonedCheckoutStep", op: "isSet", days: 7 },
            { field: "visitor.reachedPayment", op: "isFalse", days: 7 },
          ],
        }),
        "started",
      ],
    ];
    for (const [r, step] of cases) {
      const e = exampleFor(r, { now, resolve });
      expect(e, JSON.stringify(r.match)).not.toBeNull();
      expect(evaluate(r, e!.facts, { now, resolve }).member).toBe(true);
      expect(e!.facts.customer).toBeNull();
      expect(checkoutLeftAt(e!.facts)).toBe(
        { shipping: "shipping", started: "the start", payment: "payment" }[step ?? ""] ?? null,
      );
    }
  });

  it("says no checkout was left when the shop holds its order, though the pixel sent no checkout_completed", () => {
    const facts = newVisitorFacts(now);
    const at = (m: number) => new Date(now.getTime() - m * 60_000);
    facts.visitor!.events.push(
      { type: "checkout_started", at: at(30), resourceId: "t1" },
      { type: "checkout_payment", at: at(20), resourceId: "t1" },
    );
    expect(checkoutLeftAt(facts)).toBe("payment");
    facts.visitor!.orderedCheckouts = ["t1"];
    expect(checkoutLeftAt(facts)).toBeNull();
    expect(describePerson(facts, { now, currency: "USD" })).not.toContain("left a checkout");
  });

  it("follows any / not / segment references, and gives none for a rule nobody can match", () => {
    const rule: Rule = {
      version: 1,
      match: {
        all: [
          {
            any: [
              { field: "visitor.utmSource", op: "eq", value: "newsletter" },
              { field: "cart.value", op: "gte", value: 10_000 },
            ],
          },
          { not: { segment: "first-time-visitors" } },
          { field: "visitor.viewedProducts", op: "in", value: ["42"], days: 7 },
        ],
      },
    };
    const e = exampleFor(rule, { now, resolve })!;
    expect(evaluate(rule, e.facts, { now, resolve }).member).toBe(true);
    expect(e.facts.visitor?.utmSource).toBe("newsletter");
    const never: Rule = {
      version: 1,
      match: {
        all: [
          { field: "visitor.sessions", op: "eq", value: 1 },
          { field: "visitor.sessions", op: "eq", value: 2 },
        ],
      },
    };
    expect(exampleFor(never, { now, resolve })).toBeNull();
  });
});

/** Every operator the four pixel-event fields allow, with a value each takes. */
const PIXEL_CONDITIONS: Condition[] = [
  ...(
    [
      ["eq", "payment"],
      ["neq", "payment"],
      ["in", ["contact", "shipping"]],
      ["notIn", ["started"]],
      ["contains", "pay"],
      ["notContains", "s"],
      ["isSet", undefined],
      ["isNotSet", undefined],
    ] as const
  ).map(([op, value]): Condition => ({
    field: "visitor.abandonedCheckoutStep",
    op,
    ...(value === undefined ? {} : { value: typeof value === "string" ? value : [...value] }),
    days: 7,
  })),
  ...(
    [
      ["eq", 3],
      ["neq", 0],
      ["lt", 2],
      ["lte", 0],
      ["gt", 4],
      ["gte", 3],
      ["between", [2, 5]],
    ] as const
  ).flatMap(([op, value]): Condition[] => {
    const c: Condition = {
      field: "visitor.productViews",
      op,
      value: typeof value === "number" ? value : [...value],
      days: 3,
    };
    return [c, { ...c, product: "42" }];
  }),
  ...(
    [
      ["contains", "shoe"],
      ["notContains", "shoe"],
      ["eq", "  Red   SHOES "],
      ["in", ["boots", "Red Shoes"]],
      ["notIn", ["boots"]],
      ["isSet", undefined],
      ["isNotSet", undefined],
    ] as const
  ).map(([op, value]): Condition => ({
    field: "visitor.searches",
    op,
    ...(value === undefined ? {} : { value: typeof value === "string" ? value : [...value] }),
    days: 14,
  })),
  { field: "visitor.reachedPayment", op: "isTrue", days: 7 },
  { field: "visitor.reachedPayment", op: "isFalse", days: 7 },
];

const matches = (match: Rule["match"]) => {
  const rule: Rule = { version: 1, match };
  const e = exampleFor(rule, { now, resolve });
  expect(e, JSON.stringify(match)).not.toBeNull();
  expect(evaluate(rule, e!.facts, { now, resolve }).member, JSON.stringify(match)).toBe(true);
  return e!;
};
const eventsOf = (facts: Facts, type: string) => facts.visitor!.events.filter((e) => e.type === type);
const daysBack = (at: Date) => (now.getTime() - at.getTime()) / 86_400_000;

describe("an example for a segment on the Web Pixel's events", () => {
  it("covers every operator of the four pixel fields", () => {
    const ops = new Set(PIXEL_CONDITIONS.map((c) => `${c.field} ${c.op}`));
    for (const field of [
      "visitor.abandonedCheckoutStep",
      "visitor.productViews",
      "visitor.searches",
      "visitor.reachedPayment",
    ] as const)
      for (const op of operatorsFor(field)) expect(ops, `${field} ${op}`).toContain(`${field} ${op}`);
  });

  it.each(
    PIXEL_CONDITIONS.map((c) => [
      `${c.field} ${c.op} ${JSON.stringify(c.value ?? "")}${c.product ? ` of ${c.product}` : ""}`,
      c,
    ]),
  )("%s: an example matches it, and one matches its negation", (_, c) => {
    matches(c);
    matches({ not: c });
    // With a storefront condition beside it, as the built-in segments have.
    matches({ all: [c, { field: "customer.ordersCount", op: "eq", value: 0 }] });
  });

  it("checkout steps are events of one checkout token, in order, inside the window, and the step is the latest checkout's", () => {
    const e = matches({ field: "visitor.abandonedCheckoutStep", op: "eq", value: "shipping", days: 2 });
    const checkout = e.facts.visitor!.events.filter((x) => checkoutStepOf(x.type));
    expect(checkout.map((x) => checkoutStepOf(x.type))).toEqual([
      "started",
      "contact",
      "address",
      "shipping",
    ]);
    expect(new Set(checkout.map((x) => x.resourceId)).size).toBe(1);
    expect(checkout.every((x, i) => i === 0 || x.at > checkout[i - 1].at)).toBe(true);
    expect(checkout.every((x) => daysBack(x.at) < 2)).toBe(true);
    // Reached payment and left the latest checkout at the start: two checkouts, the newer one at the start.
    const both = matches({
      all: [
        { field: "visitor.reachedPayment", op: "isTrue", days: 7 },
        { field: "visitor.abandonedCheckoutStep", op: "eq", value: "started", days: 7 },
      ],
    });
    expect(new Set(eventsOf(both.facts, "checkout_started").map((x) => x.resourceId)).size).toBe(2);
    // Not left anywhere but reached payment: the checkout was completed.
    const done = matches({
      all: [
        { field: "visitor.reachedPayment", op: "isTrue", days: 7 },
        { field: "visitor.abandonedCheckoutStep", op: "isNotSet", days: 7 },
      ],
    });
    expect(eventsOf(done.facts, "checkout_completed")).toHaveLength(1);
  });

  it("respects each condition's window: nothing in the last 7 days, but a checkout left at payment within 30", () => {
    const e = matches({
      all: [
        { not: { field: "visitor.abandonedCheckoutStep", op: "isSet", days: 7 } },
        { field: "visitor.abandonedCheckoutStep", op: "eq", value: "payment", days: 30 },
      ],
    });
    const payment = eventsOf(e.facts, "checkout_payment");
    expect(payment).toHaveLength(1);
    expect(daysBack(payment[0].at)).toBeGreaterThan(7);
    expect(daysBack(payment[0].at)).toBeLessThan(30);
    // Views of a product: three within 14 days, none within 7.
    const views = matches({
      all: [
        { field: "visitor.productViews", op: "gte", value: 3, days: 14, product: "42" },
        { not: { field: "visitor.viewedProducts", op: "in", value: ["42"], days: 7 } },
      ],
    });
    const seen = eventsOf(views.facts, "product_view");
    expect(seen).toHaveLength(3);
    expect(seen.every((x) => x.resourceId === "42" && daysBack(x.at) > 7 && daysBack(x.at) < 14)).toBe(true);
  });

  it("viewed a product N times: N views of the product the rule names, or of the one already viewed", () => {
    const named = matches({ field: "visitor.productViews", op: "eq", value: 4, days: 7, product: "42" });
    expect(eventsOf(named.facts, "product_view").map((x) => x.resourceId)).toEqual(["42", "42", "42", "42"]);
    const any = matches({
      all: [
        { field: "visitor.viewedProducts", op: "in", value: ["7"], days: 7 },
        { field: "visitor.productViews", op: "gte", value: 3, days: 7 },
      ],
    });
    expect(eventsOf(any.facts, "product_view").map((x) => x.resourceId)).toEqual(["7", "7", "7"]);
    // At most 2 views of any one product, and at least 2 of product 42.
    const capped = matches({
      all: [
        { field: "visitor.productViews", op: "lte", value: 2, days: 7 },
        { field: "visitor.productViews", op: "gte", value: 2, days: 7, product: "42" },
      ],
    });
    expect(eventsOf(capped.facts, "product_view")).toHaveLength(2);
  });

  it("searches are stored as the pixel stores them, said in words, and a search the rule excludes is not made", () => {
    const e = matches({ field: "visitor.searches", op: "eq", value: "  Red   SHOES ", days: 14 });
    expect(eventsOf(e.facts, "search").map((x) => x.resourceId)).toEqual(["red shoes"]);
    expect(describePerson(e.facts, { now, currency: "USD" })).toContain("searched for \u201cred shoes\u201d");
    const both = matches({
      all: [
        { field: "visitor.searches", op: "contains", value: "gift", days: 7 },
        { field: "visitor.searches", op: "notContains", value: "card", days: 7 },
        { field: "visitor.searches", op: "in", value: ["boots"], days: 7 },
      ],
    });
    expect(
      eventsOf(both.facts, "search")
        .map((x) => x.resourceId)
        .sort(),
    ).toEqual(["boots", "gift"]);
  });

  it("a rule no example can match on pixel fields gets none", () => {
    const never: Rule = {
      version: 1,
      match: {
        all: [
          { field: "visitor.reachedPayment", op: "isFalse", days: 7 },
          { field: "visitor.abandonedCheckoutStep", op: "eq", value: "payment", days: 7 },
        ],
      },
    };
    expect(exampleFor(never, { now, resolve })).toBeNull();
  });

  it("the built-in 'Reached payment but did not buy': a guest who left checkout at payment an hour ago, cart kept", () => {
    const e = example("reached-payment-no-order")!;
    expect(e.facts.customer).toBeNull();
    expect(e.facts.orders).toEqual([]);
    expect(e.companions).toEqual([expect.stringMatching(/cart still holds/)]);
    expect(describePerson(e.facts, { now, currency: "USD" })).toEqual([
      // The checkout an hour ago was a visit of its own (30 quiet minutes before this one).
      "on their 2nd visit (first seen 1 hour ago)",
      "cart: 1 item, 25.00 USD",
      "left a checkout at payment",
      "no orders",
    ]);
  });

  it("the built-in 'Checkout abandoners' with guests: its pixel way alone gives a guest who left a checkout", () => {
    const preset = rules.get("checkout-abandoners")!;
    const [either, noOrder] = (preset.match as { all: Rule["match"][] }).all;
    const pixelWay = (either as { any: Rule["match"][] }).any[1];
    expect(pixelWay).toMatchObject({ field: "visitor.abandonedCheckoutStep" });
    const guest: Rule = {
      version: 1,
      match: { all: [pixelWay, noOrder, { not: { field: "checkouts.abandoned", op: "isTrue", days: 7 } }] },
    };
    const e = exampleFor(guest, { now, resolve })!;
    // Also a member of the preset itself, as the storefront would find them.
    expect(evaluate(preset, e.facts, { now, resolve }).member).toBe(true);
    expect(e.facts.customer).toBeNull();
    expect(e.facts.checkouts).toEqual([]);
    expect(describePerson(e.facts, { now, currency: "USD" })).toEqual([
      "on their 2nd visit (first seen 1 hour ago)",
      "cart: 1 item, 25.00 USD",
      "left a checkout at the start",
      "no orders",
    ]);
  });
});

/** Storefront conditions over the same events as the pixel fields (product views are page views too). */
const NEIGHBOURS: Condition[] = [
  { field: "visitor.viewedProducts", op: "in", value: ["42"], days: 7 },
  { field: "visitor.viewedProducts", op: "notIn", value: ["7"], days: 7 },
  { field: "visitor.pageViews", op: "gte", value: 4, days: 7 },
  { field: "visitor.pageViews", op: "lte", value: 3, days: 7 },
];

describe("examples for random rules on the pixel's events", () => {
  it.each([14, 1, 2, 3])(
    "whenever some visitor's pixel history matches a rule, an example is built for it (seed %i: 300 rules, 300 histories each)",
    (seed) => {
      // Rules of two or three conditions (some negated) on the pixel fields and the page-view fields beside them.
      const random = mulberry32(seed);
      const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
      const history = (): Facts => {
        const facts = newVisitorFacts(now);
        const at = () => new Date(now.getTime() - Math.floor(random() * 40 * 86_400_000));
        for (let k = Math.floor(random() * 3); k > 0; k--) {
          const token = `t${k}`;
          const last = Math.floor(random() * 6);
          const start = at().getTime();
          for (let s = 0; s <= last; s++)
            facts.visitor!.events.push({
              type: [
                "checkout_started",
                "checkout_contact",
                "checkout_address",
                "checkout_shipping",
                "checkout_payment",
                "checkout_completed",
              ][s],
              at: new Date(Math.min(now.getTime(), start + s * 60_000)),
              resourceId: token,
            });
        }
        for (let k = Math.floor(random() * 6); k > 0; k--)
          facts.visitor!.events.push({ type: "product_view", at: at(), resourceId: pick(["42", "7"]) });
        for (let k = Math.floor(random() * 3); k > 0; k--)
          facts.visitor!.events.push({
            type: "search",
            at: at(),
            resourceId: pick(["gift", "red shoes", "gift card"]),
          });
        return facts;
      };
      const histories = Array.from({ length: 300 }, history);
      let satisfiable = 0;
      for (let r = 0; r < 300; r++) {
        const literals = Array.from({ length: 2 + Math.floor(random() * 2) }, () => {
          const c: Condition = { ...pick([...PIXEL_CONDITIONS, ...NEIGHBOURS]), days: pick([1, 7, 30]) };
          return random() < 0.3 ? { not: c } : c;
        });
        const rule: Rule = { version: 1, match: { all: literals } };
        if (!histories.some((h) => evaluate(rule, h, { now, resolve }).member)) continue;
        satisfiable++;
        expect(exampleFor(rule, { now, resolve }), JSON.stringify(rule.match)).not.toBeNull();
      }
      expect(satisfiable).toBeGreaterThan(100);
    },
  );
});
