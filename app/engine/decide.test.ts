import { describe, expect, it } from "vitest";
import { decide, type MessageHistory, type MessageSpec } from "./decide";
import { presets } from "./presets";
import type { Facts, OrderFacts } from "./evaluate";
import type { Rule } from "./rules";

const now = new Date("2026-06-15T12:00:00Z");
const rules = new Map<string, Rule>(presets({ topSpendThreshold: 50_000 }).map((p) => [p.handle, p.rule]));
rules.set("returning-with-cart", {
  version: 1,
  match: {
    all: [
      { field: "visitor.sessions", op: "gte", value: 2 },
      { field: "cart.itemCount", op: "gt", value: 0 },
    ],
  },
});
const resolve = (h: string) => rules.get(h) ?? null;

const message = (id: number, segment: string, over: Partial<MessageSpec> = {}): MessageSpec => ({
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

const firstPurchase = message(1, "first-time-visitors", { trigger: { on: "delay", seconds: 5 } });
const exitOffer = message(2, "returning-with-cart", { format: "bar", trigger: { on: "exit" }, priority: 5 });
const referral = message(3, "high-spend-repeat", { format: "corner", priority: 10 });
const all = [firstPurchase, exitOffer, referral];

const noHistory: MessageHistory = { lastShownAt: {}, shownThisSession: [], dismissed: [], converted: [] };
const page = { type: "product" as const, path: "/products/linen-shirt" };

const visitor = (sessions: number): Facts["visitor"] => ({
  sessions,
  firstSeenAt: new Date("2026-06-01T00:00:00Z"),
  lastSeenAt: now,
  landingPage: "/",
  referrer: null,
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  deviceType: "mobile",
  events: [],
});
const order = (total: number, daysAgo: number): OrderFacts => ({
  processedAt: new Date(now.getTime() - daysAgo * 86_400_000),
  total,
  refunded: 0,
  cancelled: false,
  test: false,
  discountCodes: [],
  financialStatus: "paid",
  lines: [],
});
const anonymous = (sessions: number, cartItems = 0): Facts => ({
  customer: null,
  orders: [],
  checkouts: [],
  cart: cartItems ? { value: 4_000, itemCount: cartItems, productIds: ["8001"] } : null,
  visitor: visitor(sessions),
});

describe("deciding the message a visitor sees", () => {
  it("shows a first-time visitor the first-purchase message, after its delay", () => {
    const d = decide(all, { facts: anonymous(1), page, history: noHistory, now, resolve });
    expect(d.message?.id).toBe(1);
    expect(d.message?.trigger).toEqual({ on: "delay", seconds: 5 });
    expect(d.reasons.every((r) => r.met)).toBe(true);
  });

  it("shows a returning visitor with items in the cart the exit-intent message", () => {
    const d = decide(all, { facts: anonymous(3, 2), page, history: noHistory, now, resolve });
    expect(d.message).toMatchObject({ id: 2, trigger: { on: "exit" }, format: "bar" });
    expect(d.skipped).toContainEqual({ id: 1, why: "not in segment" });
  });

  it("shows a logged-in high-spend repeat customer the referral invite", () => {
    const facts: Facts = {
      ...anonymous(4, 1),
      customer: {
        createdAt: new Date("2024-01-01T00:00:00Z"),
        countryCode: "US",
        provinceCode: null,
        city: null,
        tags: [],
        acceptsEmailMarketing: true,
        state: "enabled",
      },
      orders: [order(30_000, 200), order(25_000, 20)],
    };
    const d = decide(all, { facts, page, history: noHistory, now, resolve });
    // In the cart segment too, but the referral invite has the higher priority.
    expect(d.message?.id).toBe(3);
    expect(d.skipped).toContainEqual({ id: 2, why: "lower priority" });
  });

  it("never shows a dismissed or converted message again", () => {
    const dismissed = decide(all, {
      facts: anonymous(1),
      page,
      history: { ...noHistory, dismissed: [1] },
      now,
      resolve,
    });
    expect(dismissed.message).toBeNull();
    expect(dismissed.skipped).toContainEqual({ id: 1, why: "dismissed" });
    const converted = decide(all, {
      facts: anonymous(1),
      page,
      history: { ...noHistory, converted: [1] },
      now,
      resolve,
    });
    expect(converted.message).toBeNull();
  });

  it("keeps to its caps: once a session, and not again within N days", () => {
    const session = decide(all, {
      facts: anonymous(1),
      page,
      history: { ...noHistory, shownThisSession: [1] },
      now,
      resolve,
    });
    expect(session.skipped).toContainEqual({ id: 1, why: "shown this session" });
    const weekly = [message(1, "first-time-visitors", { cap: { oncePerSession: false, everyDays: 7 } })];
    const at = (daysAgo: number) => ({
      ...noHistory,
      lastShownAt: { 1: new Date(now.getTime() - daysAgo * 86_400_000).toISOString() },
    });
    expect(decide(weekly, { facts: anonymous(1), page, history: at(6.9), now, resolve }).message).toBeNull();
    expect(decide(weekly, { facts: anonymous(1), page, history: at(7), now, resolve }).message?.id).toBe(1);
  });

  it("targets page types and paths", () => {
    const onCollections = [
      message(1, "first-time-visitors", {
        pages: { types: ["collection"], pathContains: ["/collections/sale"] },
      }),
    ];
    const on = (type: "collection" | "product", path: string) =>
      decide(onCollections, { facts: anonymous(1), page: { type, path }, history: noHistory, now, resolve })
        .message;
    expect(on("product", "/products/x")).toBeNull();
    expect(on("collection", "/collections/new")).toBeNull();
    expect(on("collection", "/collections/sale")?.id).toBe(1);
  });

  it("shows nothing for a segment that no longer exists", () => {
    const d = decide([message(9, "deleted-segment")], {
      facts: anonymous(1),
      page,
      history: noHistory,
      now,
      resolve,
    });
    expect(d).toEqual({ message: null, skipped: [{ id: 9, why: "not in segment" }], reasons: [] });
  });

  it("combines segments: also in all of, in any of, and excluding", () => {
    const returning = anonymous(3, 2); // returning-non-buyers and returning-with-cart
    const offer = (audience: MessageSpec["audience"]) =>
      decide([message(9, "returning-non-buyers", { audience })], {
        facts: returning,
        page,
        history: noHistory,
        now,
        resolve,
      }).message?.id ?? null;
    expect(offer({ alsoAll: ["returning-with-cart"], anyOf: [], exclude: [] })).toBe(9);
    expect(offer({ alsoAll: ["high-spend-repeat"], anyOf: [], exclude: [] })).toBeNull();
    expect(offer({ alsoAll: [], anyOf: ["high-spend-repeat", "returning-with-cart"], exclude: [] })).toBe(9);
    expect(offer({ alsoAll: [], anyOf: ["high-spend-repeat", "lapsed-customers"], exclude: [] })).toBeNull();
    expect(offer({ alsoAll: [], anyOf: [], exclude: ["returning-with-cart"] })).toBeNull();
    expect(offer({ alsoAll: [], anyOf: [], exclude: ["high-spend-repeat"] })).toBe(9);
  });

  it("runs only between its start and end", () => {
    const at = (startsAt: string | null, endsAt: string | null) =>
      decide([message(1, "first-time-visitors", { schedule: { startsAt, endsAt } })], {
        facts: anonymous(1),
        page,
        history: noHistory,
        now,
        resolve,
      });
    expect(at("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z").message?.id).toBe(1);
    expect(at("2026-06-16T00:00:00Z", null).skipped).toEqual([{ id: 1, why: "not running" }]);
    expect(at(null, "2026-06-15T12:00:00Z").skipped).toEqual([{ id: 1, why: "not running" }]);
  });
});
