/**
 * A segment whose rule names more products than SQLite takes bound parameters in one Prisma IN
 * list (three conditions of 400 products: 1,200 ids): its edit page names every product, and
 * its members are computed and exported; and a membership update for 1,200 people at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { builderPage } from "./builder.server";
import { recompute, updateMembership } from "./store.server";
import { main } from "../cli";

const SHOP = "long-lists.myshopify.com";
const PRODUCTS = 1200;
const productId = (i: number) => String(800_000 + i);

beforeAll(async () => {
  const shop = await prisma.shop.create({ data: { domain: SHOP } });
  const at = new Date("2026-05-01T00:00:00Z");
  await prisma.product.createMany({
    data: Array.from({ length: PRODUCTS }, (_, i) => ({
      shopId: shop.id,
      shopifyId: productId(i),
      title: `Product ${i}`,
      shopifyUpdatedAt: at,
    })),
  });
  // One buyer of the last product.
  await prisma.customer.create({
    data: { shopId: shop.id, shopifyId: "1", email: "b@example.com", ordersCount: 1, shopifyUpdatedAt: at },
  });
  await prisma.order.create({
    data: {
      shopId: shop.id,
      shopifyId: "10",
      customerShopifyId: "1",
      currency: "USD",
      totalPrice: 500,
      processedAt: new Date("2026-05-20T00:00:00Z"),
      shopifyCreatedAt: at,
      shopifyUpdatedAt: at,
      lineItems: {
        create: {
          shopId: shop.id,
          shopifyId: "20",
          productId: productId(PRODUCTS - 1),
          title: "Product",
          quantity: 1,
          price: 500,
        },
      },
    },
  });
  const condition = (from: number) => ({
    field: "orders.products",
    op: "in",
    value: Array.from({ length: 400 }, (_, i) => productId(from + i)),
    days: 365,
  });
  await prisma.segment.create({
    data: {
      shopId: shop.id,
      handle: "catalogue-buyers",
      name: "Catalogue buyers",
      rule: JSON.stringify({ version: 1, match: { any: [condition(0), condition(400), condition(800)] } }),
    },
  });
});

afterAll(async () => {
  await prisma.$disconnect();
});

describe("a rule naming 1,200 products", () => {
  it("shows every product's title on the segment's edit page", async () => {
    const page = await builderPage(prisma, SHOP, "catalogue-buyers");
    expect(page).not.toBeNull();
    expect(Object.keys(page!.labels).length).toBe(PRODUCTS);
    expect(page!.labels[productId(0)]).toBe("Product 0");
    expect(page!.labels[productId(PRODUCTS - 1)]).toBe(`Product ${PRODUCTS - 1}`);
  });

  it("computes and exports its members", async () => {
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    const now = new Date("2026-06-01T00:00:00Z");
    const result = await recompute(prisma, shop.id, now, ["catalogue-buyers"]);
    expect(result["catalogue-buyers"].size).toBe(1);
    const lines: string[] = [];
    await main(["segments", "export", "catalogue-buyers", "--shop", SHOP, "--now", now.toISOString()], (l) =>
      lines.push(l),
    );
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual(["1"]);
  });
});

describe("re-evaluating 1,200 people at once", () => {
  it("moves each of them into the segment that now matches them", async () => {
    const shop = await prisma.shop.create({ data: { domain: "many-people.myshopify.com" } });
    const at = new Date("2026-05-01T00:00:00Z");
    const ids = Array.from({ length: 1200 }, (_, i) => String(900_000 + i));
    await prisma.customer.createMany({
      data: ids.map((id) => ({ shopId: shop.id, shopifyId: id, countryCode: "FR", shopifyUpdatedAt: at })),
    });
    await prisma.segment.create({
      data: {
        shopId: shop.id,
        handle: "french",
        name: "French",
        rule: JSON.stringify({ version: 1, match: { field: "customer.countryCode", op: "eq", value: "FR" } }),
      },
    });
    expect(await updateMembership(prisma, shop.id, ids, ["customer"], at)).toBe(1200);
    const segment = await prisma.segment.findFirstOrThrow({ where: { shopId: shop.id, handle: "french" } });
    expect(segment.size).toBe(1200);
    expect(await prisma.segmentMember.count({ where: { segmentId: segment.id } })).toBe(1200);
    // Everyone leaves again: the deletes bind the ids too.
    await prisma.customer.updateMany({ where: { shopId: shop.id }, data: { countryCode: "BE" } });
    expect(await updateMembership(prisma, shop.id, ids, ["customer"], at)).toBe(1200);
    expect(await prisma.segmentMember.count({ where: { segmentId: segment.id } })).toBe(0);
  });
});
