import { describe, expect, it } from "vitest";
import type { MessageSpec } from "./decide";
import { audiencesExclude, schedulesMeet, sharedPageTypes, winnerOf } from "./overlap";
import { presets } from "./presets";
import type { Rule } from "./rules";

const rules = new Map<string, Rule>(presets({ topSpendThreshold: 50_000 }).map((p) => [p.handle, p.rule]));
rules.set("mobile", { version: 1, match: { field: "visitor.deviceType", op: "eq", value: "mobile" } });
rules.set("desktop", { version: 1, match: { field: "visitor.deviceType", op: "eq", value: "desktop" } });
rules.set("subscribed", { version: 1, match: { field: "customer.acceptsEmailMarketing", op: "isTrue" } });
rules.set("unsubscribed", { version: 1, match: { field: "customer.acceptsEmailMarketing", op: "isFalse" } });
rules.set("one-to-three-orders", {
  version: 1,
  match: {
    all: [
      { field: "customer.ordersCount", op: "gt", value: 0 },
      { field: "customer.ordersCount", op: "lt", value: 4 },
    ],
  },
});
const resolve = (h: string) => rules.get(h) ?? null;
const now = new Date("2026-06-15T12:00:00Z");

const m = (id: number, segment: string, over: Partial<MessageSpec> = {}): MessageSpec => ({
  id,
  segment,
  format: "popup",
  trigger: { on: "load" },
  priority: 0,
  pages: { types: [], pathContains: [] },
  cap: { oncePerSession: true, everyDays: null },
  audience: { alsoAll: [], anyOf: [], exclude: [] },
  schedule: { startsAt: null, endsAt: null },
  ...over,
});

describe("whether two messages can reach the same shopper", () => {
  it.each([
    ["the same segment", "first-time-visitors", "first-time-visitors", null],
    [
      "first-time and returning visitors (sessions 1 and at least 2)",
      "first-time-visitors",
      "returning-non-buyers",
      "Sessions cannot meet both audiences' conditions",
    ],
    [
      "first-time visitors and high-spend repeat customers (0 orders and at least 2)",
      "first-time-visitors",
      "high-spend-repeat",
      "Number of orders cannot meet both audiences' conditions",
    ],
    [
      "1 to 3 orders and at least 2 orders: 2 or 3 orders hold both",
      "one-to-three-orders",
      "high-spend-repeat",
      null,
    ],
    [
      "1 to 3 orders and no order",
      "one-to-three-orders",
      "first-time-visitors",
      "Number of orders cannot meet both audiences' conditions",
    ],
    ["mobile and desktop visitors", "mobile", "desktop", 'Device type cannot be both "desktop" and "mobile"'],
    [
      "subscribed and unsubscribed",
      "subscribed",
      "unsubscribed",
      "Accepts email marketing cannot be both yes and no",
    ],
    [
      "lapsed and high-spend customers (unknowable: may overlap)",
      "lapsed-customers",
      "high-spend-repeat",
      null,
    ],
  ])("%s", (_, a, b, why) => {
    expect(audiencesExclude(m(1, a), m(2, b), resolve)).toBe(why);
    expect(audiencesExclude(m(2, b), m(1, a), resolve)).toBe(why);
  });

  it("a segment one requires and the other excludes cannot meet", () => {
    const vipsOut = m(2, "lapsed-customers", {
      audience: { alsoAll: [], anyOf: [], exclude: ["high-spend-repeat"] },
    });
    expect(audiencesExclude(m(1, "high-spend-repeat"), vipsOut, resolve)).toBe(
      'one requires segment "high-spend-repeat", the other excludes it',
    );
  });

  it("pages: shared page types, every page when neither names any", () => {
    const on = (...types: MessageSpec["pages"]["types"]) => ({ types, pathContains: [] });
    expect(sharedPageTypes(m(1, "x"), m(2, "x"))).toBeNull();
    expect(sharedPageTypes(m(1, "x", { pages: on("cart") }), m(2, "x"))).toEqual(["cart"]);
    expect(
      sharedPageTypes(m(1, "x", { pages: on("cart", "product") }), m(2, "x", { pages: on("product") })),
    ).toEqual(["product"]);
    expect(sharedPageTypes(m(1, "x", { pages: on("cart") }), m(2, "x", { pages: on("product") }))).toEqual(
      [],
    );
  });

  it("dates: both running at some time from now on", () => {
    const at = (startsAt: string | null, endsAt: string | null) =>
      m(1, "x", { schedule: { startsAt, endsAt } });
    expect(schedulesMeet(at(null, null), at("2026-07-01T00:00:00Z", null), now)).toBe(true);
    expect(schedulesMeet(at(null, "2026-07-01T00:00:00Z"), at("2026-07-01T00:00:00Z", null), now)).toBe(
      false,
    );
    expect(schedulesMeet(at(null, "2026-06-01T00:00:00Z"), at(null, null), now)).toBe(false);
  });

  it("the winner is decide()'s: the higher priority, then the earlier created", () => {
    expect(winnerOf({ id: 7, priority: 5 }, { id: 3, priority: 1 })).toEqual({
      winner: 7,
      loser: 3,
      why: "its priority is higher (5 over 1)",
    });
    expect(winnerOf({ id: 7, priority: 2 }, { id: 3, priority: 2 })).toEqual({
      winner: 3,
      loser: 7,
      why: "both have priority 2, and it was created first",
    });
  });
});
