/**
 * Shopify's privacy webhooks, through the real endpoint and worker: customers/data_request keeps
 * an export of everything held about the customer; customers/redact erases them from every table
 * (another customer and another shop untouched); shop/redact erases the shop, including the
 * tables with no foreign key to it; app/uninstalled stops the shop's background work and removes
 * its sessions.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { receiveWebhook } from "../sync/receive.server";
import { InboxWorker } from "../sync/worker.server";
import { afterWebhook } from "../segments/incremental.server";
import { scrubInbox } from "./customer-data.server";
import { startShopLoop } from "../segments/shop-loop.server";
import { webhookRequestInit } from "../../dev/webhooks";
import { proxiedRequest } from "../../dev/app-proxy";
import { decideForUrl } from "../storefront/decide.server";
import { TEST_SECRET } from "../../dev/testing/setup";

const SHOP = "privacy-a.myshopify.com";
const OTHER_SHOP = "privacy-b.myshopify.com";
const at = new Date("2026-11-01T10:00:00Z");
/** The worker as the app runs it: each applied event then its after-apply step. */
const newWorker = () =>
  new InboxWorker(prisma, {
    now: () => new Date(Date.now() + 60_000),
    afterApply: (event) =>
      afterWebhook(prisma, event, new Date(), () => Promise.reject(new Error("no Admin API"))),
  });
let worker = newWorker();

interface Person {
  customerId: string;
  email: string;
  visitorId: string;
  orderId: string;
  cartToken: string;
  code: string;
}

const person = (n: number): Person => ({
  customerId: `77000000000${n}`,
  email: `person${n}.privacy@example.com`,
  visitorId: `visitor-privacy-000${n}`,
  orderId: `55000000000${n}`,
  cartToken: `cart-token-privacy-${n}`,
  code: `WELCOME-P${n}`,
});
const ada = person(1);
const bob = person(2);

/** One person's data in every table that can hold it. */
async function seed(shopId: number, p: Person, friendOf: Person | null) {
  await prisma.customer.create({
    data: { shopId, shopifyId: p.customerId, email: p.email, firstName: "Pat", shopifyUpdatedAt: at },
  });
  await prisma.order.create({
    data: {
      shopId,
      shopifyId: p.orderId,
      customerShopifyId: p.customerId,
      email: p.email,
      currency: "USD",
      totalPrice: 5000,
      cartToken: p.cartToken,
      processedAt: at,
      shopifyCreatedAt: at,
      shopifyUpdatedAt: at,
      lineItems: {
        create: { shopId, shopifyId: `${p.orderId}1`, title: "Mug", quantity: 1, price: 5000 },
      },
      refunds: { create: { shopId, shopifyId: `${p.orderId}2`, amount: 100, createdAt: at } },
    },
  });
  await prisma.checkout.create({
    data: {
      shopId,
      shopifyId: `${p.orderId}3`,
      customerShopifyId: p.customerId,
      email: p.email,
      cartToken: p.cartToken,
      currency: "USD",
      totalPrice: 5000,
      shopifyCreatedAt: at,
      shopifyUpdatedAt: at,
      lines: { create: { title: "Mug", quantity: 1, price: 5000 } },
    },
  });
  await prisma.cart.create({
    data: {
      shopId,
      token: p.cartToken,
      visitorId: p.visitorId,
      shopifyUpdatedAt: at,
      lines: { create: { title: "Mug", quantity: 1, price: 5000 } },
    },
  });
  await prisma.visitor.create({
    data: {
      id: p.visitorId,
      shopId,
      customerShopifyId: p.customerId,
      cartToken: p.cartToken,
      firstSeenAt: at,
      lastSeenAt: at,
      events: {
        create: [
          { shopId, type: "page_view", resourceId: "/", occurredAt: at },
          { shopId, type: "answer", resourceId: `intent=gift-${p.customerId}`, occurredAt: at },
        ],
      },
    },
  });
  const segment = await prisma.segment.findFirstOrThrow({ where: { shopId, handle: "everyone" } });
  await prisma.segmentMember.create({
    data: { segmentId: segment.id, customerShopifyId: p.customerId, since: at },
  });
  await prisma.segmentChange.create({
    data: { segmentId: segment.id, customerShopifyId: p.customerId, joined: true, at },
  });
  const message = await prisma.message.findFirstOrThrow({ where: { shopId } });
  await prisma.offerExposure.createMany({
    data: [
      {
        shopId,
        messageId: message.id,
        unit: `c:${p.customerId}`,
        arm: "treatment",
        visitorId: p.visitorId,
        customerShopifyId: p.customerId,
        at,
      },
      { shopId, messageId: message.id, unit: `v:${p.visitorId}`, arm: "holdout", visitorId: p.visitorId, at },
    ],
  });
  await prisma.discountCode.create({
    data: {
      shopId,
      messageId: message.id,
      code: p.code,
      shopifyDiscountId: "gid://shopify/DiscountCodeNode/1",
      status: "redeemed",
      expiresAt: at,
      visitorId: p.visitorId,
      customerShopifyId: p.customerId,
      orderShopifyId: p.orderId,
      issuedAt: at,
    },
  });
  await prisma.referralReward.create({
    data: {
      shopId,
      messageId: message.id,
      referrerCustomerId: p.customerId,
      referralCode: `REF-${p.code}`,
      orderShopifyId: `99${p.orderId}`,
      friendEmail: "someone.else@example.com",
      orderTotal: 4000,
      status: "granted",
    },
  });
  if (friendOf)
    await prisma.referralReward.create({
      data: {
        shopId,
        messageId: message.id,
        referrerCustomerId: friendOf.customerId,
        referralCode: `REF-${friendOf.code}-2`,
        orderShopifyId: `98${p.orderId}`,
        friendCustomerId: p.customerId,
        friendEmail: p.email,
        orderTotal: 4000,
        status: "pending",
      },
    });
  await prisma.emailSignup.create({
    data: { shopId, messageId: message.id, email: p.email, visitorId: p.visitorId },
  });
  await prisma.dataExport.create({
    data: { shopId, customerShopifyId: p.customerId, email: p.email, payload: `{"email":"${p.email}"}` },
  });
}

async function makeShop(domain: string) {
  const shop = await prisma.shop.create({ data: { domain } });
  await prisma.segment.create({
    data: { shopId: shop.id, handle: "everyone", name: "Everyone", rule: '{"version":1,"match":{"all":[]}}' },
  });
  await prisma.message.create({
    data: {
      shopId: shop.id,
      name: "Welcome",
      segmentHandle: "everyone",
      format: "popup",
      trigger: "load",
      headline: "Hi",
    },
  });
  await prisma.session.create({
    data: { id: `offline_${domain}`, shop: domain, state: "", accessToken: `shpat_${domain}` },
  });
  return shop.id;
}

/** Every row of every table a shop's data can be in, as text (to search for a person's traces). */
async function everything(shopId: number, domain: string): Promise<Record<string, string>> {
  const bySegment = { segment: { shopId } };
  const tables: Record<string, unknown[]> = {
    customer: await prisma.customer.findMany({ where: { shopId } }),
    order: await prisma.order.findMany({ where: { shopId } }),
    lineItem: await prisma.lineItem.findMany({ where: { shopId } }),
    refund: await prisma.refund.findMany({ where: { shopId } }),
    checkout: await prisma.checkout.findMany({ where: { shopId } }),
    checkoutLine: await prisma.checkoutLine.findMany({ where: { checkout: { shopId } } }),
    cart: await prisma.cart.findMany({ where: { shopId } }),
    cartLine: await prisma.cartLine.findMany({ where: { cart: { shopId } } }),
    visitor: await prisma.visitor.findMany({ where: { shopId } }),
    storefrontEvent: await prisma.storefrontEvent.findMany({ where: { shopId } }),
    segmentMember: await prisma.segmentMember.findMany({ where: bySegment }),
    segmentChange: await prisma.segmentChange.findMany({ where: bySegment }),
    offerExposure: await prisma.offerExposure.findMany({ where: { shopId } }),
    discountCode: await prisma.discountCode.findMany({ where: { shopId } }),
    referralReward: await prisma.referralReward.findMany({ where: { shopId } }),
    emailSignup: await prisma.emailSignup.findMany({ where: { shopId } }),
    dataExport: await prisma.dataExport.findMany({ where: { shopId } }),
    webhookEvent: await prisma.webhookEvent.findMany({ where: { shopDomain: domain } }),
    session: await prisma.session.findMany({ where: { shop: domain } }),
  };
  return Object.fromEntries(
    Object.entries(tables).map(([name, rows]) => [
      name,
      JSON.stringify(rows, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)),
    ]),
  );
}

/** The tables (by name) whose rows mention any of the person's identifiers. */
function tracesOf(p: Person, tables: Record<string, string>, ignore: string[] = []): string[] {
  const marks = [p.customerId, p.email, p.visitorId, p.orderId, p.cartToken];
  return Object.entries(tables)
    .filter(([, text]) => marks.some((m) => ignore.every((i) => !m.includes(i)) && text.includes(m)))
    .map(([name]) => name);
}

async function deliver(topic: string, shop: string, payload: unknown) {
  const response = await receiveWebhook(
    new Request("http://127.0.0.1/webhooks", webhookRequestInit({ topic, shop, payload }, TEST_SECRET)),
    { db: prisma, secret: TEST_SECRET },
  );
  expect(response.status).toBe(200);
  await worker.drain();
  const event = await prisma.webhookEvent.findFirst({
    where: { shopDomain: shop, topic },
    orderBy: { id: "desc" },
  });
  expect(event?.lastError ?? null).toBeNull();
  return event;
}

let shopA = 0;
let shopB = 0;

beforeEach(async () => {
  await prisma.webhookEvent.deleteMany();
  await prisma.referralReward.deleteMany();
  await prisma.emailSignup.deleteMany();
  await prisma.dataExport.deleteMany();
  await prisma.session.deleteMany();
  await prisma.shop.deleteMany();
  worker = newWorker();
  shopA = await makeShop(SHOP);
  shopB = await makeShop(OTHER_SHOP);
  await seed(shopA, ada, bob);
  await seed(shopA, bob, ada);
  // The same person (same customer id and email; visitor ids are global) at another shop: a different shop's customer, never touched.
  await seed(shopB, { ...ada, visitorId: "visitor-privacy-b0001" }, null);
  // An applied delivery of Ada's order sits in the inbox: its payload is her data too.
  await deliver("orders/create", SHOP, {
    id: Number(ada.orderId) + 7,
    email: ada.email,
    customer: { id: Number(ada.customerId), email: ada.email },
    currency: "USD",
    total_price: "10.00",
    line_items: [],
    created_at: at.toISOString(),
    updated_at: at.toISOString(),
    processed_at: at.toISOString(),
  });
});

afterAll(() => prisma.$disconnect());

const redactPayload = (p: Person) => ({
  shop_id: 1,
  shop_domain: SHOP,
  customer: { id: Number(p.customerId), email: p.email, phone: "555-625-1199" },
  orders_to_redact: [Number(p.orderId)],
});

describe("privacy webhooks", () => {
  it("customers/data_request keeps an export of everything held about the customer, and nobody else", async () => {
    const event = await deliver("customers/data_request", SHOP, {
      shop_id: 1,
      shop_domain: SHOP,
      customer: { id: Number(ada.customerId), email: ada.email },
      orders_requested: [Number(ada.orderId)],
      data_request: { id: 9999 },
    });
    expect(event?.outcome).toMatch(/^applied: export #\d+/);
    const saved = await prisma.dataExport.findFirstOrThrow({ where: { shopId: shopA, requestId: "9999" } });
    expect(saved).toMatchObject({ customerShopifyId: ada.customerId, email: ada.email });
    const data = JSON.parse(saved.payload) as Record<string, unknown> & {
      counts: Record<string, number>;
      customers: { email: string }[];
      orders: { shopifyId: string; lineItems: unknown[]; refunds: unknown[] }[];
      visitors: { id: string; events: unknown[] }[];
      answers: { answer: string }[];
      segmentMemberships: { segment: string }[];
      segmentHistory: { change: string }[];
      referralRewards: { asReferrer: unknown[]; asFriend: unknown[] };
    };
    expect(data.customers.map((c) => c.email)).toEqual([ada.email]);
    expect(data.orders.map((o) => o.shopifyId).sort()).toEqual([
      ada.orderId,
      String(Number(ada.orderId) + 7),
    ]);
    expect(data.orders.find((o) => o.shopifyId === ada.orderId)).toMatchObject({
      lineItems: [expect.objectContaining({ title: "Mug" })],
      refunds: [expect.objectContaining({ amount: 100 })],
    });
    expect(data.visitors.map((v) => [v.id, v.events.length])).toEqual([[ada.visitorId, 2]]);
    expect(data.answers).toEqual([{ answer: `intent=gift-${ada.customerId}`, at: at.toISOString() }]);
    expect(data.segmentMemberships).toEqual([
      { segment: "everyone", name: "Everyone", since: at.toISOString() },
    ]);
    expect(data.segmentHistory).toEqual([{ segment: "everyone", change: "joined", at: at.toISOString() }]);
    // Her own referral, and Bob's order through her code.
    expect(data.referralRewards.asReferrer).toHaveLength(2);
    expect(data.referralRewards.asFriend).toHaveLength(1);
    expect(data.counts).toMatchObject({
      customers: 1,
      orders: 2,
      checkouts: 1,
      carts: 1,
      visitors: 1,
      events: 2,
      offerExposures: 2,
      discountCodes: 1,
      emailSignups: 1,
    });
    // Bob's data is not in Ada's export, nor is anything of the other shop (its rows have other ids).
    expect(saved.payload).not.toContain(bob.email);
    expect(saved.payload).not.toContain(bob.visitorId);
    expect(saved.payload).not.toContain(bob.customerId);
    const otherShopAda = await prisma.customer.findFirstOrThrow({ where: { shopId: shopB } });
    expect(data.customers).not.toContainEqual(expect.objectContaining({ id: otherShopAda.id }));
  });

  it("customers/redact erases the customer from every table; another customer and another shop keep theirs", async () => {
    // An earlier data request for her: the request stays recorded, without her in it.
    await deliver("customers/data_request", SHOP, {
      customer: { id: Number(ada.customerId), email: ada.email },
      data_request: { id: 77 },
    });
    const before = await everything(shopA, SHOP);
    const otherShopBefore = await everything(shopB, OTHER_SHOP);
    expect(tracesOf(ada, before)).toEqual(
      expect.arrayContaining([
        "customer",
        "order",
        "checkout",
        "cart",
        "visitor",
        "storefrontEvent",
        "segmentMember",
        "segmentChange",
        "offerExposure",
        "discountCode",
        "referralReward",
        "emailSignup",
        "dataExport",
        "webhookEvent",
      ]),
    );

    await deliver("customers/redact", SHOP, redactPayload(ada));

    const after = await everything(shopA, SHOP);
    const requests = await prisma.webhookEvent.findMany({
      where: { shopDomain: SHOP, topic: { in: ["customers/redact", "customers/data_request"] } },
    });
    expect(requests.map((r) => [r.topic, r.status, r.payload]).sort()).toEqual([
      ["customers/data_request", "done", '{"redacted":true}'],
      ["customers/redact", "done", '{"redacted":true}'],
    ]);
    // Bob's rewards as referrer keep the order id of Ada's order (the referral's key; the order
    // itself is gone): the search for Ada's order id leaves those rows aside.
    expect(tracesOf(ada, after, [ada.orderId])).toEqual([]);
    expect(after.referralReward).not.toContain(ada.email);
    expect(after.referralReward).not.toContain(`"friendCustomerId":"${ada.customerId}"`);
    // Ada's code stays in the pool's accounting (redeemed, never offered again) with nobody's name on it.
    const code = await prisma.discountCode.findFirstOrThrow({ where: { shopId: shopA, code: ada.code } });
    expect(code).toMatchObject({
      status: "redeemed",
      visitorId: null,
      customerShopifyId: null,
      orderShopifyId: null,
    });

    // Bob: everything as before, but for his referral reward as Ada's friend, now without Ada.
    for (const table of Object.keys(before).filter((t) => t !== "referralReward"))
      for (const mark of [bob.customerId, bob.email, bob.visitorId])
        expect(after[table].includes(mark), `${table} keeps ${mark}`).toBe(before[table].includes(mark));
    expect(await prisma.customer.count({ where: { shopId: shopA } })).toBe(1);
    expect(await everything(shopB, OTHER_SHOP)).toEqual(otherShopBefore);
  });

  it("erases the inbox's copies of a redacted customer after the redact, a slice of ids at a time", async () => {
    worker = new InboxWorker(prisma, { now: () => new Date(Date.now() + 60_000) }); // no after-apply step
    await deliver("customers/redact", SHOP, redactPayload(ada));
    expect((await everything(shopA, SHOP)).webhookEvent).toContain(ada.email);
    expect(await scrubInbox(prisma, SHOP, 1)).toBe(1);
    const inbox = await prisma.webhookEvent.findMany({ where: { shopDomain: SHOP } });
    expect(inbox.map((e) => [e.topic, e.payload])).toEqual([["customers/redact", '{"redacted":true}']]);
    expect(await scrubInbox(prisma, SHOP, 1)).toBe(0);
  });

  it("customers/redact with only an email and an order list erases what those name", async () => {
    await deliver("customers/redact", SHOP, {
      shop_id: 1,
      shop_domain: SHOP,
      customer: { email: ada.email },
      orders_to_redact: [Number(ada.orderId)],
    });
    const after = await everything(shopA, SHOP);
    expect(tracesOf(ada, after, [ada.orderId])).toEqual([]);
    expect(tracesOf(bob, after).length).toBeGreaterThan(5);
  });

  it("shop/redact erases the shop and everything of it, tables without a foreign key included", async () => {
    const otherShopBefore = await everything(shopB, OTHER_SHOP);
    await deliver("shop/redact", SHOP, { shop_id: 1, shop_domain: SHOP });
    expect(await prisma.shop.count({ where: { domain: SHOP } })).toBe(0);
    const after = await everything(shopA, SHOP);
    const left = Object.entries(after).filter(([name, text]) => text !== "[]" && name !== "webhookEvent");
    expect(left).toEqual([]);
    // Only the shop/redact delivery itself is left in the inbox (it names the shop, no customer).
    expect((await prisma.webhookEvent.findMany({ where: { shopDomain: SHOP } })).map((e) => e.topic)).toEqual(
      ["shop/redact"],
    );
    expect(await everything(shopB, OTHER_SHOP)).toEqual(otherShopBefore);
  });

  it("app/uninstalled removes the shop's sessions and its background work skips it", async () => {
    const visited: string[] = [];
    const loop = startShopLoop(prisma, {
      everyMs: 3_600_000,
      doing: "testing",
      work: async (shop) => void visited.push(shop.domain),
    });
    await loop.tick();
    expect(visited.sort()).toEqual([SHOP, OTHER_SHOP]);
    await deliver("app/uninstalled", SHOP, { id: 1, domain: SHOP });
    expect(await prisma.session.count({ where: { shop: SHOP } })).toBe(0);
    expect(await prisma.session.count({ where: { shop: OTHER_SHOP } })).toBe(1);
    expect((await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).uninstalledAt).not.toBeNull();
    visited.length = 0;
    await loop.tick();
    loop.stop();
    expect(visited).toEqual([OTHER_SHOP]);
    // The storefront is closed to it too.
    const decide = new URL(
      proxiedRequest(`/apps/slice/decide?visitor=${ada.visitorId}`, {
        appOrigin: "http://127.0.0.1:3999",
        secret: TEST_SECRET,
        shop: SHOP,
      }).url,
    );
    expect(await decideForUrl(decide, prisma)).toEqual({
      status: 404,
      body: { error: "shop: not installed" },
    });
  });
});
