/**
 * Visitor segments count visitors: a segment whose rule reads the storefront counts the browsers
 * seen in the last 30 days that match (guests included, each with its own events, and its
 * customer's facts when it is signed in), kept current by recompute and by the sweep; a segment
 * about customers only counts none.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { audienceOf } from "../engine/fields-of";
import { presets } from "../engine/presets";
import type { Rule } from "../engine/rules";
import { countVisitors, ensurePresets, recompute, shopSegments } from "./store.server";
import { sweep } from "./sweep.server";

const DAY = 86_400_000;
const now = new Date("2026-06-15T12:00:00.000Z");
const ago = (days: number) => new Date(now.getTime() - days * DAY);
let shopId = 0;

const custom: [string, Rule][] = [
  [
    "searched-boots",
    { version: 1, match: { field: "visitor.searches", op: "contains", value: "boots", days: 30 } },
  ],
  ["spent-100", { version: 1, match: { field: "customer.totalSpent", op: "gte", value: 10000 } }],
];

async function visitor(id: string, lastSeenDaysAgo: number, customer: string | null, sessions = 1) {
  await prisma.visitor.create({
    data: {
      id,
      shopId,
      customerShopifyId: customer,
      firstSeenAt: ago(lastSeenDaysAgo + 1),
      lastSeenAt: ago(lastSeenDaysAgo),
      sessions,
    },
  });
}
async function event(visitorId: string, type: string, resourceId: string | null, daysAgo: number) {
  await prisma.storefrontEvent.create({
    data: { shopId, visitorId, type, resourceId, occurredAt: ago(daysAgo) },
  });
}

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: "visitor-counts.myshopify.com" } })).id;
  await prisma.customer.create({
    data: { shopId, shopifyId: "501", shopifyUpdatedAt: now, ordersCount: 2, totalSpent: 20000 },
  });
  await ensurePresets(prisma, shopId);
  for (const [handle, rule] of custom)
    await prisma.segment.create({ data: { shopId, handle, name: handle, rule: JSON.stringify(rule) } });
  // Guests: two first-timers (one also left checkout at payment), one returning who searched.
  await visitor("g-1", 1, null);
  await visitor("g-2", 2, null);
  await event("g-2", "checkout_started", "tok-2", 2);
  await event("g-2", "checkout_payment", "tok-2", 2);
  await visitor("g-3", 3, null, 4);
  await event("g-3", "search", "winter boots", 3);
  // A guest last seen 40 days ago: not recent, not counted.
  await visitor("g-old", 40, null);
  // The buyer's browser: signed in, a returning visitor who bought.
  await visitor("c-1", 1, "501", 3);
  await event("c-1", "search", "boots", 1);
  await recompute(prisma, shopId, now);
});
afterAll(() => prisma.$disconnect());

const sizes = async () =>
  Object.fromEntries(
    (await prisma.segment.findMany({ where: { shopId }, orderBy: { id: "asc" } })).map((s) => [
      s.handle,
      { customers: s.size, visitors: s.visitorSize },
    ]),
  );

describe("visitor counts of segments", () => {
  it("count the recent visitors who match, guests included, next to the customers", async () => {
    const all = await sizes();
    expect(all["first-time-visitors"]).toEqual({ customers: 0, visitors: 2 });
    // Returning non-buyers: the guest with four sessions, not the buyer.
    expect(all["returning-non-buyers"]).toEqual({ customers: 0, visitors: 1 });
    // The guest who left checkout at payment, through the pixel's events.
    expect(all["checkout-abandoners"]).toEqual({ customers: 0, visitors: 1 });
    expect(all["searched-boots"]).toEqual({ customers: 1, visitors: 2 });
  });

  it("count no visitors for a segment about customers only", async () => {
    const all = await sizes();
    expect(all["spent-100"]).toEqual({ customers: 1, visitors: null });
    expect(all["high-spend-repeat"].visitors).toBeNull();
  });

  it("say from the rule who the segment is about", async () => {
    const { rules } = await shopSegments(prisma, shopId);
    expect(audienceOf(rules.get("spent-100")!)).toBe("customers");
    expect(audienceOf(rules.get("searched-boots")!)).toBe("visitors");
    expect(audienceOf(rules.get("first-time-visitors")!)).toBe("both");
    const preset = presets({ topSpendThreshold: 1 }).find((p) => p.handle === "checkout-abandoners")!;
    expect(audienceOf(preset.rule)).toBe("both");
  });

  it("are counted again by the sweep: a new visit counts, a visitor gone 30 days no longer", async () => {
    const later = new Date(now.getTime() + 2 * DAY + 1);
    await visitor("g-new", -2, null);
    await event("g-new", "search", "boots for hiking", -2);
    await sweep(prisma, shopId, later);
    const all = await sizes();
    // g-new joins; g-3 (searched 5 days before `later`) still in; the buyer's browser still in.
    expect(all["searched-boots"]).toEqual({ customers: 1, visitors: 3 });
    const { resolve, rules } = await shopSegments(prisma, shopId);
    // 30 days on, only the visitors seen in the last 30 days count: the new first-timer, not g-1.
    expect(await countVisitors(prisma, shopId, rules.get("first-time-visitors")!, ago(-30), resolve)).toBe(1);
  });
});
