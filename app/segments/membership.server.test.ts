/**
 * Membership that stays current: replaying a store's webhooks with the incremental updater on
 * leaves every segment exactly as a full recompute at the same moment computes it, and history
 * records who joined and left.
 */
import { afterAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { InboxWorker } from "../sync/worker.server";
import { insertDeliveries } from "../sync/intake.server";
import { generateStore } from "../../dev/store";
import { deliveriesOf } from "../../dev/testing/compare";
import { presets } from "../engine/presets";
import { afterWebhook } from "./incremental.server";
import { lastKnownSegments, recompute, updateMemberships } from "./store.server";
import type { Rule } from "../engine/rules";

afterAll(() => prisma.$disconnect());

const custom: [string, Rule][] = [
  [
    "us-repeat",
    {
      version: 1,
      match: {
        all: [
          { field: "customer.countryCode", op: "eq", value: "US" },
          { field: "customer.ordersCount", op: "gte", value: 2 },
        ],
      },
    },
  ],
  [
    "abandoners-not-vip",
    {
      version: 1,
      match: {
        all: [
          { field: "checkouts.abandoned", op: "isTrue", days: 365 },
          { not: { segment: "high-spend-repeat" } },
        ],
      },
    },
  ],
  ["discount-users", { version: 1, match: { field: "orders.usedDiscount", op: "isTrue", days: 365 } }],
];

describe("segment membership", () => {
  it("kept incrementally while webhooks arrive equals a full recompute", async () => {
    const store = generateStore({ seed: 31, customers: 120, shop: "members.myshopify.com" });
    // The store's "now" is when the history ends: evaluate everything at that moment.
    const now = store.now;
    const shop = await prisma.shop.create({ data: { domain: store.shop.domain } });
    for (const p of presets({ topSpendThreshold: 15000 }))
      await prisma.segment.create({
        data: { shopId: shop.id, handle: p.handle, name: p.name, rule: JSON.stringify(p.rule) },
      });
    for (const [handle, rule] of custom)
      await prisma.segment.create({
        data: { shopId: shop.id, handle, name: handle, rule: JSON.stringify(rule) },
      });
    await recompute(prisma, shop.id, now);

    await insertDeliveries(prisma, deliveriesOf(store.events));
    // The worker's clock only schedules deliveries (they are due from when they were received, the
    // real time); membership is evaluated at the store's moment.
    await new InboxWorker(prisma, {
      now: () => new Date("2031-01-01"),
      afterApply: (event) => afterWebhook(prisma, event, now),
    }).drain();

    const segments = await prisma.segment.findMany({
      where: { shopId: shop.id },
      include: { members: true },
    });
    const incremental = Object.fromEntries(
      segments.map((s) => [s.handle, s.members.map((m) => m.customerShopifyId).sort()]),
    );
    // Sizes kept by increments agree with the members held.
    for (const s of segments)
      expect({ segment: s.handle, size: s.size }).toEqual({ segment: s.handle, size: s.members.length });
    const full = await recompute(prisma, shop.id, now);
    for (const s of segments) {
      expect({ segment: s.handle, changedByRecompute: full[s.handle].joined + full[s.handle].left }).toEqual({
        segment: s.handle,
        changedByRecompute: 0,
      });
    }
    expect(Object.values(incremental).filter((m) => m.length > 0).length).toBeGreaterThanOrEqual(4);
    const history = await prisma.segmentChange.count({
      where: { segment: { shopId: shop.id }, joined: true },
    });
    expect(history).toBeGreaterThan(0);
  }, 240_000);

  it("is written from the rule saved now, not from the rule the worker read before a save", async () => {
    const at = new Date("2031-03-01T00:00:00Z");
    const shop = await prisma.shop.create({ data: { domain: "members-saved-rule.myshopify.com" } });
    await prisma.customer.create({
      data: { shopId: shop.id, shopifyId: "501", tags: "gold", shopifyUpdatedAt: at },
    });
    const tagged = (tag: string): Rule => ({
      version: 1,
      match: { field: "customer.tags", op: "contains", value: tag },
    });
    const segment = await prisma.segment.create({
      data: { shopId: shop.id, handle: "tagged", name: "Tagged", rule: JSON.stringify(tagged("vip")) },
    });
    // The worker knows the segments as they were (its last read) ...
    const known = await lastKnownSegments(prisma, shop.id);
    expect(known.rules.get("tagged")).toEqual(tagged("vip"));
    // ... and the admin saves the rule before the worker's next pass.
    await prisma.segment.update({
      where: { id: segment.id },
      data: { rule: JSON.stringify(tagged("gold")) },
    });
    expect(await updateMemberships(prisma, shop.id, new Map([["501", ["customer"]]]), at)).toBe(1);
    const members = await prisma.segmentMember.findMany({ where: { segmentId: segment.id } });
    expect(members.map((m) => m.customerShopifyId)).toEqual(["501"]);
    expect((await prisma.segment.findUniqueOrThrow({ where: { id: segment.id } })).size).toBe(1);
    // The next pass knows the saved rule without being told.
    expect((await lastKnownSegments(prisma, shop.id)).rules.get("tagged")).toEqual(tagged("gold"));
  });
});
