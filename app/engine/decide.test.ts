import { describe, expect, it } from "vitest";
import { decide, DEFAULT_POLICY, type MessageHistory, type MessageSpec, type SessionPolicy } from "./decide";
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

  it("chooses the same message without writing reasons when none are wanted (the storefront's answer)", () => {
    for (const facts of [anonymous(1), anonymous(3, 2), anonymous(5)]) {
      const full = decide(all, { facts, page, history: noHistory, now, resolve });
      const bare = decide(all, { facts, page, history: noHistory, now, resolve, reasons: false });
      expect(bare.message).toEqual(full.message);
      expect(bare.skipped).toEqual(full.skipped);
      expect(bare.reasons).toEqual([]);
    }
    expect(decide(all, { facts: anonymous(1), page, history: noHistory, now, resolve }).reasons).not.toEqual(
      [],
    );
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
    expect(d).toEqual({
      message: null,
      reminder: false,
      skipped: [{ id: 9, why: "not in segment" }],
      reasons: [],
    });
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

describe("one calm message per visit, across all messages", () => {
  // Two first-purchase popups (15% and 10%, both for first-time visitors), a corner and a bar for everyone.
  const welcome15 = message(11, "first-time-visitors", { priority: 5, codeKind: "firstPurchase" });
  const welcome10 = message(12, "first-time-visitors", { priority: 3, codeKind: "firstPurchase" });
  const corner = message(13, "first-time-visitors", { format: "corner", priority: 1 });
  const bar = message(14, "first-time-visitors", { format: "bar", priority: 0 });
  const set = [welcome15, welcome10, corner, bar];
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();
  const run = (history: Partial<MessageHistory>, policy = DEFAULT_POLICY, messages = set) =>
    decide(messages, {
      facts: anonymous(1),
      page,
      history: { ...noHistory, ...history },
      now,
      resolve,
      policy,
      // 99: a popup shown earlier in the session, since paused (not among the messages decided on).
      formatOf: (id) => (id === 99 ? "popup" : (set.find((m) => m.id === id)?.format ?? null)),
    });

  const cases: {
    name: string;
    history: Partial<MessageHistory>;
    policy?: SessionPolicy;
    shows: number | null;
    reminder?: boolean;
    skips?: [number, string][];
  }[] = [
    { name: "nothing happened yet: the highest priority popup", history: {}, shows: 11 },
    {
      name: "a popup was shown this session: no second popup, and no corner or bar by default",
      history: { shownThisSession: [11] },
      shows: null,
      skips: [
        [11, "shown this session"],
        [12, "popup this session"],
        [13, "after a popup"],
        [14, "after a popup"],
      ],
    },
    {
      name: "a popup was shown this session and the shop allows a corner or bar after it",
      history: { shownThisSession: [11] },
      policy: { cooldownDays: 1, afterPopup: true },
      shows: 13,
      skips: [[12, "popup this session"]],
    },
    {
      name: "a popup shown this session that is no longer among the messages still counts (formatOf)",
      history: { shownThisSession: [99] },
      shows: null,
      skips: [[11, "popup this session"]],
    },
    {
      name: "a corner first: a popup may still follow (one popup per session, not one message)",
      history: { shownThisSession: [13] },
      shows: 11,
    },
    {
      name: "dismissed anything this session: nothing more this session, even with a cool-down of 0",
      history: { shownThisSession: [13], dismissedThisSession: [13] },
      policy: { cooldownDays: 0, afterPopup: true },
      shows: null,
      skips: [
        [11, "cool-down"],
        [12, "cool-down"],
        [14, "cool-down"],
      ],
    },
    {
      name: "dismissed a message 23 hours ago with a 1-day cool-down: nothing yet",
      history: { lastDismissedAt: hoursAgo(23), dismissed: [13] },
      shows: null,
      skips: [[11, "cool-down"]],
    },
    {
      name: "dismissed 24 hours ago with a 1-day cool-down: messages again (not the dismissed one)",
      history: { lastDismissedAt: hoursAgo(24), dismissed: [13] },
      shows: 11,
      skips: [[13, "dismissed"]],
    },
    {
      name: "a cool-down of 0 days: a dismissal in an earlier session does not hold",
      history: { lastDismissedAt: hoursAgo(1), dismissed: [11] },
      policy: { cooldownDays: 0, afterPopup: false },
      shows: 12,
    },
    {
      name: "holds a usable code of the 15% offer: reminded of it, never given the 10% offer's code",
      history: { codes: [{ kind: "firstPurchase", messageId: 11, usable: true }] },
      shows: 11,
      reminder: true,
      skips: [[12, "code already held"]],
    },
    {
      name: "holds a usable code of the 10% offer: the 15% offer calls for the reminder of the 10% one, at its priority",
      history: { codes: [{ kind: "firstPurchase", messageId: 12, usable: true }] },
      shows: 12,
      reminder: true,
      skips: [
        [11, "code already held"],
        [13, "lower priority"],
      ],
    },
    {
      name: "clicked the offer that gave the code (a click is not a use): still reminded",
      history: { codes: [{ kind: "firstPurchase", messageId: 11, usable: true }], converted: [11] },
      shows: 11,
      reminder: true,
    },
    {
      name: "dismissed the offer that gave the code (long ago): no reminder, and no other code",
      history: {
        codes: [{ kind: "firstPurchase", messageId: 11, usable: true }],
        dismissed: [11],
        lastDismissedAt: hoursAgo(100),
      },
      shows: 13,
      skips: [
        [11, "dismissed"],
        [12, "code already held"],
      ],
    },
    {
      name: "the code was redeemed or has expired: no reminder, and no second code of the kind",
      history: { codes: [{ kind: "firstPurchase", messageId: 11, usable: false }] },
      shows: 13,
      skips: [
        [11, "code already held"],
        [12, "code already held"],
      ],
    },
    {
      name: "a referral code does not stop a first-purchase offer (one code per kind)",
      history: { codes: [{ kind: "referral", messageId: 77, usable: true }] },
      shows: 11,
    },
  ];
  it.each(cases)("$name", ({ history, policy, shows, reminder, skips }) => {
    const d = run(history, policy);
    expect(d.message?.id ?? null).toBe(shows);
    expect(d.reminder).toBe(reminder ?? false);
    for (const [id, why] of skips ?? []) expect(d.skipped).toContainEqual({ id, why });
    // Every other message is accounted for exactly once.
    expect(d.skipped.map((s) => s.id).sort()).toEqual(
      set
        .map((m) => m.id)
        .filter((id) => id !== shows)
        .sort(),
    );
  });

  it("reminds only where the giving message may appear: its pages and the session's popup rule", () => {
    const onCart = { ...welcome15, pages: { types: ["cart" as const], pathContains: [] } };
    const held = { codes: [{ kind: "firstPurchase" as const, messageId: 11, usable: true }] };
    const d = run(held, DEFAULT_POLICY, [onCart, welcome10]);
    expect(d.message).toBeNull();
    expect(d.skipped).toContainEqual({ id: 12, why: "code already held" });
    const afterPopup = run({ ...held, shownThisSession: [99] }, DEFAULT_POLICY, [welcome15, welcome10]);
    expect(afterPopup.message).toBeNull();
    expect(afterPopup.skipped).toEqual([
      { id: 11, why: "popup this session" },
      { id: 12, why: "popup this session" },
    ]);
  });

  it("reminds a shopper who has left the offer's audience (a first-time visitor who came back), at its own priority", () => {
    const held = { codes: [{ kind: "firstPurchase" as const, messageId: 12, usable: true }] };
    const returning = message(15, "returning-non-buyers", { format: "corner", priority: 4 });
    const d = decide([...set, returning], {
      facts: anonymous(3),
      page,
      history: { ...noHistory, ...held },
      now,
      resolve,
    });
    // The 10% welcome's priority (3) is below the returning visitors' corner (4): the corner wins.
    expect(d.message?.id).toBe(15);
    expect(d.skipped).toContainEqual({ id: 12, why: "lower priority" });
    const alone = decide(set, {
      facts: anonymous(3),
      page,
      history: { ...noHistory, ...held },
      now,
      resolve,
    });
    expect(alone.message?.id).toBe(12);
    expect(alone.reminder).toBe(true);
    expect(alone.skipped).toContainEqual({ id: 11, why: "not in segment" });
  });
});
