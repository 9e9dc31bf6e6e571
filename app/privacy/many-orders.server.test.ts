/**
 * A customer with more orders than SQLite takes bound parameters (999): Shopify's data request
 * and redact for them name 1,200 orders, each with its checkout and cart. The data export holds
 * every one of them, and the erasure removes every one (the lookups bound all the ids at once and
 * failed on SQLite, so the request failed for ever).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { customerData, eraseCustomer, type CustomerRef } from "./customer-data.server";

const SHOP = "many-orders.myshopify.com";
const ORDERS = 1200;
let shop: { id: number; domain: string };
const orderIds = Array.from({ length: ORDERS }, (_, i) => String(5_000_000 + i));
const who: CustomerRef = { customerId: "77", email: "wholesale@example.com", orderIds };

beforeAll(async () => {
  shop = await prisma.shop.create({ data: { domain: SHOP }, select: { id: true, domain: true } });
  const at = new Date("2026-03-01T00:00:00Z");
  await prisma.customer.create({
    data: { shopId: shop.id, shopifyId: "77", email: who.email, ordersCount: ORDERS, shopifyUpdatedAt: at },
  });
  // Half the orders carry only the email (a guest checkout), half the customer's id.
  await prisma.order.createMany({
    data: orderIds.map((id, i) => ({
      shopId: shop.id,
      shopifyId: id,
      customerShopifyId: i % 2 ? "77" : null,
      email: i % 2 ? null : who.email,
      currency: "USD",
      totalPrice: 1000 + i,
      cartToken: `cart-${i}`,
      processedAt: new Date(at.getTime() + (ORDERS - i) * 60_000),
      shopifyCreatedAt: at,
      shopifyUpdatedAt: at,
    })),
  });
  await prisma.checkout.createMany({
    data: orderIds.map((id, i) => ({
      shopId: shop.id,
      shopifyId: `9${id}`,
      orderShopifyId: id,
      currency: "USD",
      totalPrice: 1000 + i,
      shopifyCreatedAt: at,
      shopifyUpdatedAt: at,
    })),
  });
  await prisma.cart.createMany({
    data: orderIds.map((_, i) => ({
      shopId: shop.id,
      token: `cart-${i}`,
      currency: "USD",
      shopifyCreatedAt: at,
      shopifyUpdatedAt: at,
    })),
  });
  // Someone else's order, which stays.
  await prisma.order.create({
    data: {
      shopId: shop.id,
      shopifyId: "1",
      customerShopifyId: "88",
      currency: "USD",
      totalPrice: 5,
      processedAt: at,
      shopifyCreatedAt: at,
      shopifyUpdatedAt: at,
    },
  });
});

afterAll(async () => {
  await prisma.$disconnect();
});

describe("a privacy request for a customer with 1,200 orders", () => {
  it("exports every order, checkout and cart, orders in the order they were placed", async () => {
    const data = await customerData(prisma, shop.id, who);
    expect(data.orders.length).toBe(ORDERS);
    expect(data.checkouts.length).toBe(ORDERS);
    expect(data.carts.length).toBe(ORDERS);
    const placed = data.orders.map((o) => o.processedAt.getTime());
    expect(placed).toEqual([...placed].sort((a, b) => a - b));
    expect(data.orders.some((o) => o.shopifyId === "1")).toBe(false);
  });

  it("erases every order, checkout and cart, and nobody else's", async () => {
    const counts = await eraseCustomer(prisma, shop, who);
    expect(counts).toMatchObject({ orders: ORDERS, checkouts: ORDERS, carts: ORDERS, customers: 1 });
    expect(await prisma.order.count({ where: { shopId: shop.id } })).toBe(1);
    expect(await prisma.checkout.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await prisma.cart.count({ where: { shopId: shop.id } })).toBe(0);
  });
});
