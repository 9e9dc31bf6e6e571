/**
 * A checkout the Web Pixel saw without its checkout_completed (tab closed, blocker, consent
 * changed at checkout) is completed by the shop's own order with its token: the customer leaves
 * "left checkout" segments when the order's webhook is applied, and a guest stops counting as a
 * checkout abandoner, while another shop's order with the same token changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "../db.server";
import type { Rule } from "../engine/rules";
import { compile } from "../engine/sql";
import { touchedBy } from "./incremental.server";
import { countVisitors, ensurePresets, recompute, shopSegments, updateMembership } from "./store.server";

const DAY = 86_400_000;
const now = new Date("2026-06-15T12:00:00.000Z");
const ago = (days: number) => new Date(now.getTime() - days * DAY);
let shopId = 0;
let otherShopId = 0;

const LEFT: Rule = { version: 1, match: { field: "visitor.abandonedCheckoutStep", op: "isSet", days: 7 } };
const NOT_PAID: Rule = {
  version: 1,
  match: { not: { field: "visitor.reachedPayment", op: "isTrue", days: 7 } },
};

async function browser(id: string, customer: string | null, token: string, steps: string[]) {
  await prisma.visitor.create({
    data: { id, shopId, customerShopifyId: customer, firstSeenAt: ago(3), lastSeenAt: ago(1), sessions: 1 },
  });
  await prisma.storefrontEvent.createMany({
    data: steps.map((step, i) => ({
      shopId,
      visitorId: id,
      type: `checkout_${step}`,
      resourceId: token,
      occurredAt: new Date(ago(1).getTime() + i * 60_000),
    })),
  });
}

/** An order as the sync stores it from orders/create: with the checkout's token. */
async function order(shop: number, shopifyId: string, customer: string | null, token: string) {
  await prisma.order.create({
    data: {
      shopId: shop,
      shopifyId,
      customerShopifyId: customer,
      checkoutToken: token,
      currency: "USD",
      totalPrice: 5000,
      processedAt: ago(1),
      shopifyCreatedAt: ago(1),
      shopifyUpdatedAt: ago(1),
    },
  });
}

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: "checkout-orders.myshopify.com" } })).id;
  otherShopId = (await prisma.shop.create({ data: { domain: "checkout-orders-other.myshopify.com" } })).id;
  await prisma.customer.create({ data: { shopId, shopifyId: "601", shopifyUpdatedAt: ago(30) } });
  await ensurePresets(prisma, shopId);
  await prisma.segment.create({ data: { shopId, handle: "left", name: "left", rule: JSON.stringify(LEFT) } });
  await prisma.segment.create({
    data: { shopId, handle: "not-paid", name: "not-paid", rule: JSON.stringify(NOT_PAID) },
  });
  // A signed-in customer's browser and a guest's, both left at contact as far as the pixel knows.
  await browser("c-601", "601", "tok-customer", ["started", "contact"]);
  await browser("g-1", null, "tok-guest", ["started", "contact"]);
  await recompute(prisma, shopId, now);
});
afterAll(() => prisma.$disconnect());

const size = async (handle: string) =>
  (await prisma.segment.findFirstOrThrow({ where: { shopId, handle } })).size;
const visitors = async (handle: string) => {
  const { rules, resolve } = await shopSegments(prisma, shopId);
  return countVisitors(prisma, shopId, rules.get(handle)!, now, resolve);
};

describe("a pixel checkout completed by the shop's order", () => {
  it("the customer leaves the left-checkout segments when the order's webhook is applied", async () => {
    expect(await size("left")).toBe(1);
    expect(await size("not-paid")).toBe(1);
    await order(shopId, "7001", "601", "tok-customer");
    // What the worker does after applying orders/create: re-evaluate who it touched, in what it moves.
    const touched = await touchedBy(
      prisma,
      shopId,
      "orders/create",
      JSON.stringify({ id: 7001, checkout_token: "tok-customer", customer: { id: 601 } }),
    );
    await updateMembership(prisma, shopId, touched.customers, touched.what, now);
    expect(await size("left")).toBe(0);
    expect(await size("not-paid")).toBe(0);
  });

  it("a guest is no longer counted as a checkout abandoner; another shop's order changes nothing", async () => {
    // The guest only (the customer's checkout is completed by the test above).
    await order(otherShopId, "8001", null, "tok-guest");
    expect(await visitors("checkout-abandoners")).toBe(1);
    expect(await visitors("left")).toBe(1);
    await order(shopId, "8001", null, "tok-guest");
    expect(await visitors("checkout-abandoners")).toBe(0);
    expect(await visitors("left")).toBe(0);
    expect(await visitors("not-paid")).toBe(0);
  });

  it("is looked up through Order's (shopId, checkoutToken) index, per customer and per visitor (SQLite's plan)", async () => {
    // PostgreSQL's planner picks by table statistics (a handful of rows here): its plan says nothing.
    if (dialectOfClient(prisma) !== "sqlite") return;
    for (const rule of [LEFT, NOT_PAID])
      for (const unit of ["customer", "visitor"] as const) {
        const { sql, params } = compile(rule, "sqlite", { now, shopId, unit });
        const plan = await prisma.$queryRawUnsafe<{ detail: string }[]>(
          `EXPLAIN QUERY PLAN ${sql}`,
          ...params,
        );
        const orders = plan.map((p) => p.detail).filter((d) => /\bo\b/.test(d)); // "o": the Order alias
        expect(orders.length).toBeGreaterThan(0);
        for (const d of orders) expect(d).toMatch(/Order_shopId_checkoutToken_idx/);
      }
  });
});
