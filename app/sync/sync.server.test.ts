import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { receiveWebhook } from "./receive.server";
import { InboxWorker } from "./worker.server";
import { handlers } from "./handlers.server";
import { webhookRequestInit, type WebhookLine } from "../../dev/webhooks";
import { exemplarText, fixtureText, fixtureTopics } from "../../dev/fixtures";
import { TEST_SECRET } from "../../dev/testing/setup";

const SHOP = "fixture-shop.myshopify.com";
const URL_ = "http://127.0.0.1/webhooks";
// Deliveries are due from when they were received (the real time); the worker's clock starts a
// few minutes after that, and tests move it on to see retries fall due.
const soon = () => new Date(Date.now() + 5 * 60_000);
let clock = soon();
let worker = new InboxWorker(prisma, { now: () => clock });

function deliver(line: WebhookLine, secret = TEST_SECRET, bodyOverride?: string) {
  const init = webhookRequestInit(line, secret, bodyOverride);
  return receiveWebhook(new Request(URL_, init), { db: prisma, secret: TEST_SECRET });
}

const raw = (topic: string) => ({ topic, shop: SHOP, payload: fixtureText(topic) });

async function shopId() {
  return (await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).id;
}

beforeEach(async () => {
  clock = soon();
  await prisma.webhookEvent.deleteMany();
  await prisma.shop.deleteMany();
  worker = new InboxWorker(prisma, { now: () => clock });
});

afterAll(() => prisma.$disconnect());

describe("webhook sync", () => {
  it("accepts every sample payload Shopify documents and applies it", async () => {
    // shop/redact erases the whole shop, events included: it gets a test of its own.
    // customers/redact erases the deliveries that name its customer (every sample names John): last.
    const topics = fixtureTopics().filter((t) => t !== "shop/redact" && t !== "customers/redact");
    for (const topic of topics) {
      const response = await deliver(raw(topic));
      expect(response.status, topic).toBe(200);
    }
    await worker.drain();
    const events = await prisma.webhookEvent.findMany({
      select: { topic: true, status: true, lastError: true },
    });
    expect(events.filter((e) => e.status !== "done")).toEqual([]);
    expect(events.length).toBe(topics.length);
    expect(await prisma.order.count()).toBeGreaterThan(0);
    expect((await deliver(raw("customers/redact"))).status).toBe(200);
    await worker.drain();
    const redact = await prisma.webhookEvent.findFirstOrThrow({ where: { topic: "customers/redact" } });
    expect(redact).toMatchObject({ status: "done", lastError: null });
  });

  it("stores the sample order exactly: exact ids, money in minor units, line items", async () => {
    await deliver(raw("orders/create"));
    await worker.drain();
    const order = await prisma.order.findFirstOrThrow({ include: { lineItems: true } });
    // The sample's numeric id was rounded by a JS scraper; the gid keeps the exact one.
    expect(order.shopifyId).toBe("820982911946154508");
    expect(order.currency).toBe("USD");
    expect(order.totalPrice).toBe(
      Math.round(Number(JSON.parse(fixtureText("orders/create")).total_price) * 100),
    );
    expect(order.cancelledAt?.toISOString()).toBe("2022-01-01T00:00:00.000Z");
    expect(order.lineItems.length).toBe(JSON.parse(fixtureText("orders/create")).line_items.length);
    expect(order.lineItems[0]).toMatchObject({ title: "Aviator sunglasses", price: 8999, quantity: 1 });
    const customer = await prisma.customer.findFirstOrThrow({
      where: { shopifyId: order.customerShopifyId! },
    });
    expect(customer.email).toBe("john@example.com");
  });

  it("stores the sample customer, cart and checkout", async () => {
    await deliver(raw("customers/create"));
    await deliver(raw("carts/create"));
    await deliver(raw("checkouts/create"));
    await worker.drain();
    const customer = await prisma.customer.findFirstOrThrow();
    expect(customer).toMatchObject({
      shopifyId: "706405506930370084",
      email: "bob@biller.com",
      countryCode: "CA",
      provinceCode: "ON",
      city: "Ottawa",
      state: "disabled",
    });
    const cart = await prisma.cart.findFirstOrThrow({ include: { lines: true } });
    expect(cart.token).toBe("exampleCartId");
    expect(cart.itemCount).toBe(cart.lines.reduce((s, l) => s + l.quantity, 0));
    expect(cart.totalPrice).toBe(cart.lines.reduce((s, l) => s + l.quantity * l.price, 0));
    const checkout = await prisma.checkout.findFirstOrThrow({ include: { lines: true } });
    expect(checkout).toMatchObject({
      token: "123123123",
      cartToken: "eeafa272cebfd4b22385bc4b645e762c",
      completedAt: null,
    });
    expect(checkout.lines[0]).toMatchObject({ title: "IPod Nano - 8GB", price: 19900 });
  });

  it("refuses a bad or missing signature with 401 and stores nothing", async () => {
    const forged = await deliver(raw("orders/create"), "not-the-secret");
    expect(forged.status).toBe(401);
    const init = webhookRequestInit(raw("orders/create"), TEST_SECRET);
    delete init.headers["X-Shopify-Hmac-Sha256"];
    const unsigned = await receiveWebhook(new Request(URL_, init), { db: prisma, secret: TEST_SECRET });
    expect(unsigned.status).toBe(401);
    const tampered = webhookRequestInit(raw("orders/create"), TEST_SECRET);
    tampered.body = String(tampered.body).replace("404.95", "0.01");
    expect(
      (await receiveWebhook(new Request(URL_, tampered), { db: prisma, secret: TEST_SECRET })).status,
    ).toBe(401);
    expect(await prisma.webhookEvent.count()).toBe(0);
  });

  it("applies the same event delivered three times once", async () => {
    const line = { ...raw("orders/create"), eventId: "evt-1" };
    for (let i = 0; i < 3; i++) expect((await deliver(line)).status).toBe(200);
    expect(await worker.drain()).toBe(1);
    expect(await prisma.order.count()).toBe(1);
    expect(await prisma.lineItem.count()).toBe(JSON.parse(line.payload).line_items.length);
    const event = await prisma.webhookEvent.findFirstOrThrow();
    expect(event.deliveries).toBe(3);
  });

  it("keeps the newest state when orders/updated arrives before orders/create", async () => {
    const created = JSON.parse(fixtureText("orders/create"));
    const updated = {
      ...created,
      updated_at: "2022-01-02T10:00:00-05:00",
      financial_status: "refunded",
      tags: "vip",
    };
    await deliver({ topic: "orders/updated", shop: SHOP, payload: updated, eventId: "u" });
    await worker.drain();
    await deliver({ topic: "orders/create", shop: SHOP, payload: created, eventId: "c" });
    await worker.drain();
    const order = await prisma.order.findFirstOrThrow();
    expect(order.financialStatus).toBe("refunded");
    expect(order.tags).toBe("|vip|");
    const outcomes = await prisma.webhookEvent.findMany({
      orderBy: { id: "asc" },
      select: { outcome: true },
    });
    expect(outcomes.map((o) => o.outcome)).toEqual(["applied", "stale"]);
  });

  it("keeps an event whose handler throws, retries it with backoff, and applies it after the fix", async () => {
    const original = handlers["customers/create"];
    handlers["customers/create"] = async () => {
      throw new Error("bug in the customer handler");
    };
    try {
      await deliver(raw("customers/create"));
      await worker.drain();
      let event = await prisma.webhookEvent.findFirstOrThrow();
      expect(event).toMatchObject({ status: "failed", attempts: 1 });
      expect(event.lastError).toContain("bug in the customer handler");
      expect(event.nextAttemptAt.getTime()).toBeGreaterThan(clock.getTime());
      // Not due yet: nothing happens.
      expect(await worker.drain()).toBe(0);
      clock = new Date(clock.getTime() + 60_000);
      await worker.drain();
      event = await prisma.webhookEvent.findFirstOrThrow();
      expect(event.attempts).toBe(2);
    } finally {
      handlers["customers/create"] = original;
    }
    clock = new Date(clock.getTime() + 3_600_000);
    await worker.drain();
    const event = await prisma.webhookEvent.findFirstOrThrow();
    expect(event).toMatchObject({ status: "done", outcome: "applied" });
    expect(await prisma.customer.count()).toBe(1);
  });

  it("keeps a payload it cannot read, with an error naming the field", async () => {
    for (const resource of ["orders", "carts", "checkouts"] as const) {
      await deliver({ topic: `${resource}/create`, shop: SHOP, payload: exemplarText(resource) });
    }
    await deliver({ topic: "orders/create", shop: SHOP, payload: "{not json" });
    await worker.drain();
    const events = await prisma.webhookEvent.findMany({ orderBy: { id: "asc" } });
    expect(events.map((e) => e.status)).toEqual(["failed", "failed", "failed", "failed"]);
    expect(events[0].lastError).toContain('"example string" is not an ISO 4217 currency code');
    expect(events[1].lastError).toMatch(
      /cart\.line_items\.0\.price: "example string" is not a decimal amount/,
    );
    expect(events[3].lastError).toMatch(/SyntaxError/);
    // The anonymised customer has nothing we cannot store: it is accepted.
    await deliver({ topic: "customers/create", shop: SHOP, payload: exemplarText("customers") });
    await worker.drain();
    expect(await prisma.customer.count()).toBe(1);
  });

  it("holds a refund that arrives before its order, then applies it", async () => {
    const order = JSON.parse(fixtureText("orders/create"));
    order.refunds = [];
    order.cancelled_at = null;
    order.test = false;
    const refund = {
      id: 909,
      order_id: order.id,
      admin_graphql_api_id: "gid://shopify/Refund/909",
      created_at: "2022-01-03T10:00:00-05:00",
      note: null,
      transactions: [{ kind: "refund", status: "success", amount: "10.00" }],
      refund_line_items: [],
    };
    order.admin_graphql_api_id = `gid://shopify/Order/${order.id}`;
    await deliver({ topic: "refunds/create", shop: SHOP, payload: refund });
    await worker.drain();
    expect((await prisma.webhookEvent.findFirstOrThrow()).lastError).toContain("not synced yet");
    await deliver({ topic: "orders/create", shop: SHOP, payload: order });
    await worker.drain();
    clock = new Date(clock.getTime() + 60_000);
    await worker.drain();
    const held = await prisma.order.findFirstOrThrow();
    expect(held.totalRefunded).toBe(1000);
    const customer = await prisma.customer.findFirstOrThrow({
      where: { shopifyId: held.customerShopifyId! },
    });
    expect(customer.totalSpent).toBe(held.totalPrice - 1000);
    expect(customer.ordersCount).toBe(1);
  });

  it("erases everything held for a shop on shop/redact", async () => {
    await deliver(raw("orders/create"));
    await deliver(raw("customers/create"));
    await worker.drain();
    expect(await prisma.order.count()).toBe(1);
    await deliver(raw("shop/redact"));
    await worker.drain();
    expect(await prisma.shop.count()).toBe(0);
    expect(await prisma.order.count()).toBe(0);
    expect(await prisma.customer.count()).toBe(0);
    expect(await prisma.lineItem.count()).toBe(0);
  });

  it("does not bring back a deleted customer with a late update", async () => {
    const customer = JSON.parse(fixtureText("customers/create"));
    await deliver({
      topic: "customers/delete",
      shop: SHOP,
      payload: { id: customer.admin_graphql_api_id },
      triggeredAt: "2022-02-01T00:00:00Z",
    });
    await deliver({ topic: "customers/update", shop: SHOP, payload: customer });
    await worker.drain();
    const held = await prisma.customer.findFirstOrThrow({ where: { shopId: await shopId() } });
    expect(held.deletedAt).not.toBeNull();
    expect(held.email).toBeNull();
  });
});
