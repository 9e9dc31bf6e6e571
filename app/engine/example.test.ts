/**
 * Examples built to match a rule: each preset gets an example the evaluator puts in the segment,
 * and the example is the least that does (a cart abandoner has one item in the cart, a returning
 * non-buyer two visits and no order).
 */
import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate";
import { checkoutLeftAt, describePerson, exampleFor, newVisitorFacts } from "./example";
import { presets } from "./presets";
import type { Rule } from "./rules";

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

  it("says where a visitor left their latest checkout that was not completed, from the pixel's checkout events", () => {
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
