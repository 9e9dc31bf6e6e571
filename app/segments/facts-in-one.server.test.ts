/**
 * The membership pass's one-statement read (PostgreSQL) gives the evaluator exactly the facts
 * loadFacts gives, and the memberships the segments hold, for a batch of customers of every kind
 * and every set of facts a shop's rules may need.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "../db.server";
import { hotFor } from "../db-hot.server";
import type { Facts } from "../engine/evaluate";
import { factsAndHeldInOne, loadFacts, type FactsNeeded } from "./facts.server";

const SHOP = "facts-in-one.myshopify.com";
const now = new Date("2031-06-01T12:00:00.000Z");
const ago = (d: number) => new Date(now.getTime() - d * 86_400_000);
let shopId = 0;
const segments: number[] = [];

beforeAll(async () => {
  if (dialectOfClient(prisma) !== "postgres") return;
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  const other = (await prisma.shop.create({ data: { domain: `other-${SHOP}` } })).id;
  await prisma.product.createMany({
    data: [
      { shopId, shopifyId: "p1", title: "Boot", productType: "Shoes", shopifyUpdatedAt: ago(9) },
      { shopId, shopifyId: "p2", title: "Sock", productType: null, shopifyUpdatedAt: ago(9) },
    ],
  });
  await prisma.productCollection.createMany({
    data: [
      { shopId, productShopifyId: "p1", collectionShopifyId: "c2" },
      { shopId, productShopifyId: "p1", collectionShopifyId: "c1" },
    ],
  });
  const customer = (shopifyId: string, data: object = {}) =>
    prisma.customer.create({ data: { shopId, shopifyId, shopifyUpdatedAt: ago(5), ...data } });
  await customer("cust-1", {
    shopifyCreatedAt: ago(300),
    tags: "|vip|wholesale|",
    acceptsEmailMarketing: true,
    countryCode: "DE",
    city: "Berlin",
    state: "enabled",
    shopifyOrdersCount: 7,
    shopifySpent: 123_45,
    shopifyTotalsAt: ago(2),
  });
  await customer("cust-2", { tags: "|new|" });
  await customer("cust-gone", { deletedAt: ago(1) });
  await customer("cust-bare");
  const order = (shopifyId: string, customerShopifyId: string | null, days: number, extra: object = {}) =>
    prisma.order.create({
      data: {
        shopId,
        shopifyId,
        customerShopifyId,
        currency: "EUR",
        totalPrice: 5000 + days,
        totalRefunded: days === 40 ? 1000 : 0,
        discountCodes: days === 40 ? "|welcome10|" : "",
        financialStatus: "paid",
        processedAt: ago(days),
        shopifyCreatedAt: ago(days),
        shopifyUpdatedAt: ago(days),
        ...extra,
      },
    });
  const first = await order("o1", "cust-1", 40, { checkoutToken: "tok-done" });
  await order("o2", "cust-1", 10, { cancelledAt: ago(9), test: true });
  const second = await order("o4", "cust-2", 3);
  await order("o5", "cust-gone", 3);
  await order("o3", null, 3, { checkoutToken: "tok-guest" });
  const line = (orderId: number, shopifyId: string, productId: string | null, vendor: string | null) => ({
    shopId,
    orderId,
    shopifyId,
    productId,
    variantId: productId ? `v-${productId}` : null,
    vendor,
    title: shopifyId,
    quantity: 1,
    price: 500,
  });
  await prisma.lineItem.createMany({
    data: [
      line(first.id, "l1", "p1", "Acme"),
      line(first.id, "l2", "p2", null),
      line(first.id, "l3", null, "Gift"),
      line(second.id, "l4", "p1", null),
    ],
  });
  const checkout = (shopifyId: string, customerShopifyId: string, days: number, extra: object = {}) => ({
    shopId,
    shopifyId,
    customerShopifyId,
    currency: "EUR",
    totalPrice: 1,
    shopifyCreatedAt: ago(days + 1),
    shopifyUpdatedAt: ago(days),
    ...extra,
  });
  await prisma.checkout.createMany({
    data: [
      checkout("k1", "cust-1", 30),
      checkout("k2", "cust-1", 40, { orderShopifyId: "o1" }),
      checkout("k3", "cust-1", 20, { completedAt: ago(20) }),
      checkout("k4", "cust-2", 2),
    ],
  });
  const cart = async (token: string, products: (string | null)[], shop = shopId) => {
    const c = await prisma.cart.create({
      data: { shopId: shop, token, totalPrice: 2500, itemCount: products.length, shopifyUpdatedAt: ago(1) },
    });
    for (const [i, productId] of products.entries())
      await prisma.cartLine.create({
        data: { cartId: c.id, productId, title: `line ${i}`, quantity: 1, price: 100 },
      });
  };
  await cart("cart-phone", ["p2", "p1"]);
  await cart("cart-laptop", ["p1", null]);
  await cart("cart-empty", []);
  await cart("cart-phone", ["p9"], other);
  const visitor = (id: string, data: object) =>
    prisma.visitor.create({
      data: { id, shopId, firstSeenAt: ago(20), lastSeenAt: ago(2), sessions: 2, ...data },
    });
  await visitor("one-phone-00000001", {
    customerShopifyId: "cust-1",
    cartToken: "cart-phone",
    lastSeenAt: ago(1),
    landingPage: "/products/boot",
    utmSource: "mail",
    deviceType: "mobile",
  });
  await visitor("one-laptop-0000001", {
    customerShopifyId: "cust-1",
    cartToken: "cart-laptop",
    firstSeenAt: ago(60),
    lastSeenAt: ago(5),
    sessions: 4,
    referrer: "https://example.com",
    deviceType: "desktop",
  });
  await visitor("one-two-0000000001", { customerShopifyId: "cust-2", cartToken: "cart-empty" });
  await visitor("one-gone-000000001", { customerShopifyId: "cust-gone" });
  const event = (visitorId: string, type: string, days: number, resourceId: string | null = null) => ({
    shopId,
    visitorId,
    type,
    resourceId,
    occurredAt: ago(days),
  });
  await prisma.storefrontEvent.createMany({
    data: [
      event("one-phone-00000001", "session_start", 1),
      event("one-phone-00000001", "product_view", 1, "p1"),
      event("one-phone-00000001", "checkout_started", 2, "tok-done"),
      event("one-laptop-0000001", "checkout_completed", 5, "tok-never"),
      event("one-laptop-0000001", "answer", 5, "q1"),
      event("one-two-0000000001", "checkout_started", 2, "tok-guest"),
      event("one-two-0000000001", "page_view", 2, "/"),
    ],
  });
  for (const handle of ["a", "b", "c"])
    segments.push((await prisma.segment.create({ data: { shopId, handle, name: handle, rule: "{}" } })).id);
  await prisma.segmentMember.createMany({
    data: [
      { segmentId: segments[0], customerShopifyId: "cust-1", since: ago(3) },
      { segmentId: segments[1], customerShopifyId: "cust-1", since: ago(3) },
      { segmentId: segments[1], customerShopifyId: "cust-2", since: ago(3) },
      { segmentId: segments[2], customerShopifyId: "cust-gone", since: ago(3) },
    ],
  });
});
afterAll(() => prisma.$disconnect());

const NEEDS: FactsNeeded[] = [
  { lines: true, checkouts: true, visitors: true, events: true },
  { lines: false, checkouts: false, visitors: false, events: false },
  { lines: true, checkouts: false, visitors: false, events: false },
  { lines: false, checkouts: true, visitors: false, events: false },
  { lines: false, checkouts: false, visitors: true, events: false },
  { lines: false, checkouts: false, visitors: false, events: true },
];

const PEOPLE = ["cust-1", "cust-2", "cust-gone", "cust-bare", "cust-unknown"];

/** The same facts in a canonical order: "any order" lists (orders, checkouts, events) sorted. */
function canonical(all: Map<string, Facts>) {
  const key = (v: unknown) => JSON.stringify(v);
  const sorted = <T>(list: T[]): T[] => [...list].sort((a, b) => (key(a) < key(b) ? -1 : 1));
  return Object.fromEntries(
    [...structuredClone(all)]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, facts]) => {
        facts.orders = sorted(
          facts.orders.map((o) => ({
            ...o,
            lines: o.lines?.map((l) => ({ ...l, collectionIds: sorted(l.collectionIds) })),
          })),
        );
        facts.checkouts = sorted(facts.checkouts);
        if (facts.visitor) {
          facts.visitor.events = sorted(facts.visitor.events);
          if (facts.visitor.orderedCheckouts)
            facts.visitor.orderedCheckouts = sorted(facts.visitor.orderedCheckouts);
        }
        return [id, facts];
      }),
  );
}

describe.skipIf(dialectOfClient(prisma) !== "postgres")("the membership pass's one-statement read", () => {
  it("gives every customer of a batch the facts loadFacts gives, for every set of facts a rule needs", async () => {
    for (const need of NEEDS) {
      const one = await hotFor(prisma, "apply").transaction((tx) =>
        factsAndHeldInOne(tx, shopId, PEOPLE, need, segments),
      );
      const parts = await loadFacts(prisma, shopId, PEOPLE, need);
      expect({ need, facts: canonical(one.facts) }).toEqual({ need, facts: canonical(parts) });
    }
  });

  it("reads the rich facts, not nothing: lines with product types and collections, browsers, carts, ordered checkouts", async () => {
    const { facts } = await hotFor(prisma, "apply").transaction((tx) =>
      factsAndHeldInOne(tx, shopId, ["cust-1"], NEEDS[0], segments),
    );
    const f = facts.get("cust-1")!;
    expect(f.customer?.tags).toEqual(["vip", "wholesale"]);
    expect(f.customer?.shopifyTotals).toEqual({ orders: 7, spent: 123_45, at: ago(2) });
    const boots = f.orders.find((o) => o.total === 5040)!.lines.find((l) => l.productId === "p1")!;
    expect(boots.productType).toBe("Shoes");
    expect([...boots.collectionIds].sort()).toEqual(["c1", "c2"]);
    expect(f.visitor).toMatchObject({
      sessions: 6,
      deviceType: "mobile",
      firstSeenAt: ago(60),
      lastSeenAt: ago(1),
    });
    expect(f.cart).toEqual({ value: 2500, itemCount: 2, productIds: ["p2", "p1"] });
    expect(f.visitor?.orderedCheckouts).toEqual(["tok-done"]);
  });

  it("says which of the asked segments hold each customer, and no one else's", async () => {
    const { held } = await hotFor(prisma, "apply").transaction((tx) =>
      factsAndHeldInOne(tx, shopId, PEOPLE, NEEDS[1], segments.slice(0, 2)),
    );
    expect(Object.fromEntries([...held].map(([id, list]) => [id, [...list].sort()]))).toEqual({
      "cust-1": [segments[0], segments[1]].sort(),
      "cust-2": [segments[1]],
      "cust-gone": [],
      "cust-bare": [],
      "cust-unknown": [],
    });
  });
});
