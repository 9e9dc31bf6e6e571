/**
 * Relative-time rules stay true as time passes: sweeping at each moment, which re-evaluates only
 * the people whose dates crossed a window edge, leaves every segment exactly as a full recompute
 * at that moment would, over four months of simulated time with no new data.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { insertDeliveries } from "../sync/intake.server";
import { InboxWorker } from "../sync/worker.server";
import { generateStore } from "../../dev/store";
import { deliveriesOf } from "../../dev/testing/compare";
import { mulberry32 } from "../../dev/webhooks";
import type { Rule } from "../engine/rules";
import { ensurePresets, membersBySql, recompute, shopSegments } from "./store.server";
import { sweep } from "./sweep.server";

const store = generateStore({ seed: 57, customers: 100, shop: "sweep.myshopify.com" });
let shopId = 0;

const custom: [string, Rule][] = [
  ["ordered-14d", { version: 1, match: { field: "orders.count", op: "gte", value: 1, days: 14 } }],
  [
    "spent-100-in-60d-not-lapsed",
    {
      version: 1,
      match: {
        all: [
          { field: "orders.spend", op: "gte", value: 10000, days: 60 },
          { not: { segment: "lapsed-customers" } },
        ],
      },
    },
  ],
  ["new-customers-45d", { version: 1, match: { field: "customer.createdAt", op: "withinLast", days: 45 } }],
  ["active-visitors", { version: 1, match: { field: "visitor.visits", op: "gte", value: 2, days: 21 } }],
  ["abandoned-30d", { version: 1, match: { field: "checkouts.abandoned", op: "isTrue", days: 30 } }],
  // The expected next order comes closer as time passes (its edge is ahead of now).
  [
    "next-order-within-10d",
    { version: 1, match: { field: "predicted.daysToNextOrder", op: "between", value: [0, 10] } },
  ],
];

beforeAll(async () => {
  await insertDeliveries(prisma, deliveriesOf(store.events));
  await new InboxWorker(prisma, { now: () => new Date("2031-01-01") }).drain();
  shopId = (await prisma.shop.findUniqueOrThrow({ where: { domain: store.shop.domain } })).id;
  await ensurePresets(prisma, shopId);
  for (const [handle, rule] of custom)
    await prisma.segment.create({ data: { shopId, handle, name: handle, rule: JSON.stringify(rule) } });
  // Storefront visits for some customers, spread over the 40 days before the store's end.
  const random = mulberry32(9);
  for (const [i, c] of store.customers.entries()) {
    if (random() > 0.4) continue;
    const visitor = await prisma.visitor.create({
      data: {
        id: `sweep-v-${i}`,
        shopId,
        customerShopifyId: c.id,
        firstSeenAt: new Date(store.now.getTime() - 40 * 86_400_000),
        lastSeenAt: store.now,
        sessions: 3,
      },
    });
    await prisma.storefrontEvent.createMany({
      data: Array.from({ length: 1 + Math.floor(random() * 5) }, () => ({
        shopId,
        visitorId: visitor.id,
        type: "session_start",
        occurredAt: new Date(store.now.getTime() - Math.floor(random() * 40 * 86_400_000)),
      })),
    });
  }
  // Predictions with expected next orders spread over the 130 days after the store's end.
  const fit = await prisma.predictionFit.create({
    data: { shopId, fittedAt: store.now, cutoff: store.now, status: "ready" },
  });
  const held = await prisma.customer.findMany({ where: { shopId }, select: { id: true } });
  await prisma.customerPrediction.createMany({
    data: held.map((c) => ({
      customerId: c.id,
      shopId,
      fitId: fit.id,
      probabilityActive: 0.7,
      orders7: 0.1,
      orders30: 0.3,
      orders60: 0.5,
      orders90: 0.7,
      orders180: 1.2,
      orders365: 2,
      spendPerOrder: 5000,
      value12m: 10000,
      valueTier: "rest",
      nextOrderAt:
        random() < 0.2 ? null : new Date(store.now.getTime() + Math.floor(random() * 130 * 86_400_000)),
      computedAt: store.now,
    })),
  });
  await recompute(prisma, shopId, store.now);
}, 180_000);
afterAll(() => prisma.$disconnect());

describe("relative-time sweeps", () => {
  it("keep every segment equal to a full recompute as time passes", async () => {
    let moved = 0;
    // Uneven steps, some shorter than a day and some of several days, over 120 days.
    const random = mulberry32(4);
    let now = store.now;
    while (now.getTime() < store.now.getTime() + 120 * 86_400_000) {
      now = new Date(now.getTime() + Math.floor((0.2 + random() * 4) * 86_400_000));
      moved += await sweep(prisma, shopId, now);
      const { segments, rules, resolve } = await shopSegments(prisma, shopId);
      for (const s of segments) {
        const expected = [...(await membersBySql(prisma, shopId, rules.get(s.handle)!, now, resolve))].sort();
        const held = (
          await prisma.segmentMember.findMany({
            where: { segmentId: s.id },
            select: { customerShopifyId: true },
          })
        )
          .map((m) => m.customerShopifyId)
          .sort();
        expect({ at: now.toISOString(), segment: s.handle, members: held }).toEqual({
          at: now.toISOString(),
          segment: s.handle,
          members: expected,
        });
      }
    }
    // Time alone must have moved people, or the test proves nothing.
    expect(moved).toBeGreaterThan(50);
    const left = await prisma.segmentChange.count({ where: { segment: { shopId }, joined: false } });
    expect(left).toBeGreaterThan(0);
  }, 300_000);

  it("does nothing when swept again at the same moment", async () => {
    const latest = await prisma.segment.findFirstOrThrow({ where: { shopId }, orderBy: { sweptAt: "desc" } });
    expect(await sweep(prisma, shopId, latest.sweptAt!)).toBe(0);
  });
});
