/**
 * "What each segment would see": a sample member customer per segment (or a new anonymous visitor
 * for a segment with no member customers), the message the storefront's decision would show them
 * on the home page now, and why every other active message was not the one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { ensurePresets, recompute } from "../segments/store.server";
import { ensureStarterMessages, listMessages } from "./store.server";
import { previewBySegment } from "./preview.server";

const now = new Date("2026-11-20T12:00:00Z");
const daysAgo = (n: number) => new Date(now.getTime() - n * 24 * 3600 * 1000);
let shopId = 0;
const ids: Record<string, number> = {};

async function customerWithOrders(id: string, totals: number[]) {
  await prisma.customer.create({
    data: {
      shopId,
      shopifyId: id,
      shopifyUpdatedAt: daysAgo(400),
      shopifyCreatedAt: daysAgo(400),
      ordersCount: totals.length,
      totalSpent: totals.reduce((a, b) => a + b, 0),
      firstOrderAt: totals.length ? daysAgo(130) : null,
      lastOrderAt: totals.length ? daysAgo(100) : null,
    },
  });
  for (const [i, total] of totals.entries())
    await prisma.order.create({
      data: {
        shopId,
        shopifyId: `${id}-${i}`,
        customerShopifyId: id,
        currency: "USD",
        totalPrice: total,
        processedAt: daysAgo(100 + i * 30),
        shopifyCreatedAt: daysAgo(100 + i * 30),
        shopifyUpdatedAt: daysAgo(100 + i * 30),
      },
    });
}

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: "messages-preview.myshopify.com" } })).id;
  // Buyers so the top-10% spend line is meaningful: 20 customers who spent 10..200, two orders each.
  for (let i = 1; i <= 20; i++) await customerWithOrders(String(9000 + i), [i * 500, i * 500]);
  await ensurePresets(prisma, shopId);
  await recompute(prisma, shopId, now);
  await ensureStarterMessages(prisma, shopId, true);
  for (const m of await listMessages(prisma, shopId)) ids[m.input.segment] = m.id;
  // The two discount offers have codes ready (as the pool loop keeps them).
  for (const messageId of [ids["first-time-visitors"], ids["high-spend-repeat"]])
    await prisma.discountCode.create({
      data: {
        shopId,
        messageId,
        code: `READY-${messageId}`,
        shopifyDiscountId: `gid://shopify/DiscountCodeNode/${messageId}`,
        status: "pool",
        expiresAt: new Date(now.getTime() + 400 * 86_400_000),
      },
    });
});
afterAll(() => prisma.$disconnect());

describe("what each segment would see", () => {
  it("a visitor-only segment is previewed as a new visitor, a customer segment with a sample member", async () => {
    const previews = await previewBySegment(prisma, shopId, now);
    const byHandle = Object.fromEntries(previews.map((p) => [p.handle, p]));
    // Every segment, by name.
    expect(previews.map((p) => p.name)).toEqual([...previews.map((p) => p.name)].sort());
    expect(previews.length).toBe(await prisma.segment.count({ where: { shopId } }));

    const first = byHandle["first-time-visitors"];
    expect(first.sample).toEqual({ kind: "visitor" });
    expect(first.message).toEqual({
      id: ids["first-time-visitors"],
      name: "Welcome: first purchase",
      headline: "Welcome! Here's 10% off your first order",
      format: "Popup",
      reasons: [
        { condition: "Sessions is 1", field: "visitor.sessions", value: "1", met: true },
        { condition: "Number of orders is 0", field: "customer.ordersCount", value: "0", met: true },
      ],
    });
    expect(first.skipped.map((s) => [s.name, s.reason])).toEqual([
      ["Cart reminder on exit", "Not in its audience"],
      ["Referral invite for top customers", "Not in its audience"],
    ]);

    // A customer segment: its first member (by id), who is a top spender.
    const top = byHandle["high-spend-repeat"];
    expect(top.sample.kind).toBe("customer");
    const member = await prisma.segmentMember.findFirst({
      where: { segment: { shopId, handle: "high-spend-repeat" } },
      orderBy: { customerShopifyId: "asc" },
    });
    expect(top.sample).toEqual({ kind: "customer", customerId: member!.customerShopifyId });
    expect(top.message).toMatchObject({
      id: ids["high-spend-repeat"],
      name: "Referral invite for top customers",
      format: "Corner message",
    });
    expect(top.message!.reasons.every((r) => r.met)).toBe(true);
    expect(top.skipped.find((s) => s.id === ids["first-time-visitors"])?.reason).toBe("Not in its audience");

    // Lapsed buyers: members, but no message is for them.
    expect(byHandle["lapsed-customers"].sample.kind).toBe("customer");
    expect(byHandle["lapsed-customers"].message).toBeNull();
    expect(byHandle["lapsed-customers"].skipped).toHaveLength(3);
    // A preview records nothing: no shopper was exposed to an offer.
    expect(await prisma.offerExposure.count({ where: { shopId } })).toBe(0);
  });

  it("a paused message is not what anyone would see; a higher-priority one wins and the other says so", async () => {
    await prisma.message.update({ where: { id: ids["first-time-visitors"] }, data: { active: false } });
    await prisma.message.update({
      where: { id: ids["cart-abandoners"] },
      data: { segmentHandle: "first-time-visitors", priority: 5, trigger: "load" },
    });
    await prisma.message.update({
      where: { id: ids["high-spend-repeat"] },
      data: { segmentHandle: "first-time-visitors", priority: 1 },
    });
    const first = (await previewBySegment(prisma, shopId, now)).find(
      (p) => p.handle === "first-time-visitors",
    )!;
    expect(first.message?.name).toBe("Cart reminder on exit");
    expect(first.skipped.map((s) => [s.name, s.why, s.reason])).toEqual([
      ["Referral invite for top customers", "lower priority", "Another message has a higher priority"],
    ]);
  });

  it("an offer out of codes is not what anyone would see, and says so", async () => {
    await prisma.discountCode.updateMany({
      where: { messageId: ids["high-spend-repeat"] },
      data: { status: "issued" },
    });
    const first = (await previewBySegment(prisma, shopId, now)).find(
      (p) => p.handle === "first-time-visitors",
    )!;
    expect(first.message?.name).toBe("Cart reminder on exit");
    expect(first.skipped.map((s) => [s.name, s.why, s.reason])).toEqual([
      [
        "Referral invite for top customers",
        "no codes left",
        "Its discount codes have run out (the app makes more while Shopify is reachable)",
      ],
    ]);
  });
});
