/**
 * The decision's one-statement read (PostgreSQL) gives the evaluator exactly the facts and message
 * history the read by parts gives (loadFacts and the visitor's own rows, as SQLite reads them): for
 * every kind of shopper and every set of facts a shop's rules may need.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "../db.server";
import { hotFor } from "../db-hot.server";
import type { Facts } from "../engine/evaluate";
import type { MessageHistory } from "../engine/decide";
import type { FactsNeeded } from "../segments/facts.server";
import { visitorFactsByParts } from "./decide.server";
import { visitorFactsInOne } from "./decide-read.server";
import { heldCodes } from "../offers/pool.server";

const SHOP = "decide-read.myshopify.com";
const now = new Date("2031-06-01T12:00:00.000Z");
const ago = (d: number) => new Date(now.getTime() - d * 86_400_000);
let shopId = 0;
let otherShopId = 0;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  otherShopId = (await prisma.shop.create({ data: { domain: `other-${SHOP}` } })).id;
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
  await prisma.customer.create({
    data: {
      shopId,
      shopifyId: "cust-1",
      shopifyUpdatedAt: ago(5),
      shopifyCreatedAt: ago(300),
      tags: "|vip|wholesale|",
      acceptsEmailMarketing: true,
      countryCode: "DE",
      city: "Berlin",
      state: "enabled",
      shopifyOrdersCount: 7,
      shopifySpent: 123_45,
      shopifyTotalsAt: ago(2),
    },
  });
  await prisma.customer.create({
    data: { shopId, shopifyId: "cust-gone", shopifyUpdatedAt: ago(5), deletedAt: ago(1) },
  });
  await prisma.customer.create({ data: { shopId, shopifyId: "cust-bare", shopifyUpdatedAt: ago(5) } });
  const order = (shopifyId: string, days: number, extra: object = {}) =>
    prisma.order.create({
      data: {
        shopId,
        shopifyId,
        customerShopifyId: "cust-1",
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
  const first = await order("o1", 40, { checkoutToken: "tok-done" });
  await order("o2", 10, { cancelledAt: ago(9), test: true });
  await prisma.lineItem.createMany({
    data: [
      {
        shopId,
        orderId: first.id,
        shopifyId: "l1",
        productId: "p1",
        variantId: "v1",
        vendor: "Acme",
        title: "Boot",
        quantity: 1,
        price: 4000,
      },
      {
        shopId,
        orderId: first.id,
        shopifyId: "l2",
        productId: "p2",
        variantId: null,
        vendor: null,
        title: "Sock",
        quantity: 2,
        price: 500,
      },
      {
        shopId,
        orderId: first.id,
        shopifyId: "l3",
        productId: null,
        variantId: null,
        vendor: "Gift",
        title: "Card",
        quantity: 1,
        price: 500,
      },
    ],
  });
  // Another customer's order completes a checkout token one of our visitors reported.
  await prisma.order.create({
    data: {
      shopId,
      shopifyId: "o3",
      customerShopifyId: null,
      currency: "EUR",
      totalPrice: 100,
      checkoutToken: "tok-guest",
      processedAt: ago(3),
      shopifyCreatedAt: ago(3),
      shopifyUpdatedAt: ago(3),
    },
  });
  await prisma.checkout.createMany({
    data: [
      {
        shopId,
        shopifyId: "k1",
        customerShopifyId: "cust-1",
        currency: "EUR",
        totalPrice: 1,
        shopifyCreatedAt: ago(30),
        shopifyUpdatedAt: ago(30),
      },
      {
        shopId,
        shopifyId: "k2",
        customerShopifyId: "cust-1",
        currency: "EUR",
        totalPrice: 1,
        orderShopifyId: "o1",
        shopifyCreatedAt: ago(41),
        shopifyUpdatedAt: ago(40),
      },
      {
        shopId,
        shopifyId: "k3",
        customerShopifyId: "cust-1",
        currency: "EUR",
        totalPrice: 1,
        completedAt: ago(20),
        shopifyCreatedAt: ago(21),
        shopifyUpdatedAt: ago(20),
      },
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
  await cart("cart-guest", ["p2"]);
  await cart("cart-empty", []);
  await cart("cart-other-shop", ["p9"], otherShopId);
  const visitor = (id: string, data: object, shop = shopId) =>
    prisma.visitor.create({
      data: { id, shopId: shop, firstSeenAt: ago(20), lastSeenAt: ago(2), sessions: 2, ...data },
    });
  await visitor("read-phone-0000001", {
    customerShopifyId: "cust-1",
    cartToken: "cart-phone",
    lastSeenAt: ago(1),
    landingPage: "/products/boot",
    utmSource: "mail",
    deviceType: "mobile",
  });
  await visitor("read-laptop-000001", {
    customerShopifyId: "cust-1",
    cartToken: "cart-laptop",
    firstSeenAt: ago(60),
    lastSeenAt: ago(5),
    sessions: 4,
    referrer: "https://example.com",
    deviceType: "desktop",
  });
  await visitor("read-guest-0000001", {
    cartToken: "cart-guest",
    sessions: 3,
    landingPage: "/",
    utmCampaign: "bf",
  });
  await visitor("read-emptycart-001", { cartToken: "cart-empty" });
  await visitor("read-gone-00000001", { customerShopifyId: "cust-gone" });
  await visitor("read-elsewhere-001", { cartToken: "cart-other-shop" }, otherShopId);
  const event = (
    visitorId: string,
    type: string,
    days: number,
    resourceId: string | null = null,
    shop = shopId,
  ) => ({
    shopId: shop,
    visitorId,
    type,
    resourceId,
    occurredAt: ago(days),
  });
  await prisma.storefrontEvent.createMany({
    data: [
      event("read-phone-0000001", "session_start", 1),
      event("read-phone-0000001", "product_view", 1, "p1"),
      event("read-phone-0000001", "message_shown", 3, "11"),
      event("read-phone-0000001", "message_shown", 1, "11"),
      event("read-phone-0000001", "checkout_started", 2, "tok-done"),
      event("read-laptop-000001", "message_dismissed", 4, "12"),
      event("read-laptop-000001", "message_dismissed", 6, "13"),
      event("read-laptop-000001", "checkout_completed", 5, "tok-never"),
      event("read-laptop-000001", "answer", 5, "q1"),
      event("read-guest-0000001", "page_view", 2, "/"),
      event("read-guest-0000001", "message_clicked", 2, "14"),
      event("read-guest-0000001", "message_shown", 2, null),
      event("read-guest-0000001", "checkout_started", 2, "tok-guest"),
      event("read-guest-0000001", "checkout_payment_info_submitted", 2, "tok-guest"),
      event("read-gone-00000001", "message_dismissed", 7, "15"),
      event("read-elsewhere-001", "message_dismissed", 1, "16", otherShopId),
    ],
  });
  // Codes held: two first-purchase offers and a referral offer; by browser, by customer, used,
  // expired, still in the pool, and another shop's.
  const offer = (name: string, reward: string, shop = shopId) =>
    prisma.message.create({
      data: {
        shopId: shop,
        name,
        segmentHandle: "all",
        format: "popup",
        trigger: "load",
        headline: name,
        reward,
      },
    });
  const welcome = await offer("Welcome", "firstPurchase");
  const later = await offer("Later welcome", "firstPurchase");
  const refer = await offer("Refer a friend", "referral");
  const info = await offer("News", "none");
  const elsewhere = await offer("Elsewhere", "firstPurchase", otherShopId);
  const code = (
    messageId: number,
    code: string,
    status: string,
    who: { visitorId?: string; customerShopifyId?: string },
    expiresInDays: number,
    issuedDaysAgo: number | null,
    extra: object = {},
  ) => ({
    shopId,
    messageId,
    code,
    shopifyDiscountId: `gid://shopify/DiscountCodeNode/${code}`,
    status,
    expiresAt: ago(-expiresInDays),
    issuedAt: issuedDaysAgo === null ? null : ago(issuedDaysAgo),
    ...who,
    ...extra,
  });
  await prisma.discountCode.createMany({
    data: [
      code(welcome.id, "WELCOME-GUEST", "issued", { visitorId: "read-guest-0000001" }, 5, 2, {
        variantId: 7,
      }),
      code(later.id, "LATER-GUEST-OLD", "issued", { visitorId: "read-guest-0000001" }, -1, 9),
      code(welcome.id, "WELCOME-CUST", "redeemed", { customerShopifyId: "cust-1" }, 5, 20),
      code(
        later.id,
        "LATER-CUST",
        "issued",
        { customerShopifyId: "cust-1", visitorId: "read-phone-0000001" },
        3,
        4,
      ),
      code(refer.id, "REFER-CUST", "issued", { customerShopifyId: "cust-1" }, 30, 1),
      code(info.id, "NOT-A-CODE-KIND", "issued", { visitorId: "read-guest-0000001" }, 5, 1),
      code(welcome.id, "IN-THE-POOL", "pool", {}, 5, null),
      {
        ...code(elsewhere.id, "ELSEWHERE", "issued", { visitorId: "read-elsewhere-001" }, 5, 1),
        shopId: otherShopId,
      },
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

const WHO: [label: string, visitorId: string, customerId: string | null][] = [
  ["a new visitor", "read-new-000000001", null],
  ["a stored guest with a cart, events and message history", "read-guest-0000001", null],
  ["a guest whose cart is empty", "read-emptycart-001", null],
  ["another shop's visitor", "read-elsewhere-001", null],
  ["a signed-in customer on their linked phone", "read-phone-0000001", "cust-1"],
  ["a signed-in customer on a browser not linked yet", "read-guest-0000001", "cust-1"],
  ["a signed-in customer on a new browser", "read-new-000000002", "cust-1"],
  ["a customer with no orders or browsers", "read-new-000000003", "cust-bare"],
  ["a deleted customer on their browser", "read-gone-00000001", "cust-gone"],
  ["a customer the shop does not hold", "read-guest-0000001", "cust-unknown"],
];

/** The same facts in a canonical order: "any order" lists (events, orders, history) sorted. */
function canonical(read: { facts: Facts; history: MessageHistory }) {
  const key = (v: unknown) => JSON.stringify(v);
  const sorted = <T>(list: T[]): T[] => [...list].sort((a, b) => (key(a) < key(b) ? -1 : 1));
  const { facts, history } = structuredClone(read);
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
  return {
    facts,
    history: { ...history, dismissed: sorted(history.dismissed), converted: sorted(history.converted) },
  };
}

describe.skipIf(dialectOfClient(prisma) !== "postgres")("the decision's one-statement read", () => {
  for (const [label, visitorId, customerId] of WHO)
    it(`gives the same facts as the read by parts: ${label}`, async () => {
      for (const need of NEEDS) {
        const shop = { shopId, need };
        const one = await visitorFactsInOne(hotFor(prisma), shop, visitorId, customerId, now);
        const parts = await visitorFactsByParts(prisma, shop, visitorId, customerId, now);
        expect({ need, ...canonical(one) }).toEqual({ need, ...canonical(parts) });
      }
    });

  for (const [label, visitorId, customerId] of WHO)
    it(`reads the codes the shopper holds as heldCodes chooses them: ${label}`, async () => {
      const shop = { shopId, need: NEEDS[1] };
      const one = await visitorFactsInOne(hotFor(prisma), shop, visitorId, customerId, now, { codes: true });
      const held = await heldCodes(prisma, shopId, { visitorId, customerId }, now);
      const byKind = (list: typeof held) => [...list].sort((a, b) => (a.kind < b.kind ? -1 : 1));
      expect(byKind(one.codes)).toEqual(byKind(held));
      // Without asking, none are read.
      expect((await visitorFactsInOne(hotFor(prisma), shop, visitorId, customerId, now)).codes).toEqual([]);
    });

  it("a signed-in shopper's codes: the earliest usable one of each kind, from this browser or the customer", async () => {
    const { codes } = await visitorFactsInOne(
      hotFor(prisma),
      { shopId, need: NEEDS[0] },
      "read-guest-0000001",
      "cust-1",
      now,
      { codes: true },
    );
    expect(codes.map((c) => [c.kind, c.code, c.usable, c.variantId]).sort()).toEqual([
      ["firstPurchase", "LATER-CUST", true, null],
      ["referral", "REFER-CUST", true, null],
    ]);
    expect(codes.find((c) => c.kind === "referral")?.expiresAt).toEqual(ago(-30));
  });

  it("reads what the rules need: a signed-in customer's orders, lines, browsers, carts and history", async () => {
    const { facts, history } = await visitorFactsInOne(
      hotFor(prisma),
      { shopId, need: NEEDS[0] },
      "read-guest-0000001",
      "cust-1",
      now,
    );
    expect(facts.customer?.tags).toEqual(["vip", "wholesale"]);
    expect(facts.customer?.shopifyTotals).toEqual({ orders: 7, spent: 123_45, at: ago(2) });
    facts.orders.sort((a, b) => a.processedAt.getTime() - b.processedAt.getTime());
    expect(facts.orders.map((o) => [o.total, o.refunded, o.cancelled, o.test, o.discountCodes])).toEqual([
      [5040, 1000, false, false, ["welcome10"]],
      [5010, 0, true, true, []],
    ]);
    expect(facts.orders[0].lines).toEqual([
      { productId: "p1", variantId: "v1", vendor: "Acme", productType: "Shoes", collectionIds: ["c1", "c2"] },
      { productId: "p2", variantId: null, vendor: null, productType: null, collectionIds: [] },
      { productId: null, variantId: null, vendor: "Gift", productType: null, collectionIds: [] },
    ]);
    expect(facts.checkouts.map((k) => k.completed).sort()).toEqual([false, true, true]);
    // This browser (not linked yet) joins the customer's two: its sessions, text and cart win.
    expect(facts.visitor?.sessions).toBe(2 + 4 + 3);
    expect(facts.visitor?.firstSeenAt).toEqual(ago(60));
    expect(facts.visitor?.utmCampaign).toBe("bf");
    expect(facts.cart).toEqual({ value: 2500, itemCount: 1, productIds: ["p2"] });
    expect([...(facts.visitor?.orderedCheckouts ?? [])].sort()).toEqual(["tok-done", "tok-guest"]);
    expect(history.dismissed.sort()).toEqual([12, 13]);
    expect(history.converted).toEqual([14]);
    expect(history.lastShownAt[11]).toBe(ago(1).toISOString());
    expect(history.lastDismissedAt).toBe(ago(4).toISOString());
  });
});
