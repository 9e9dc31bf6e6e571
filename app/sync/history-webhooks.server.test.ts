/**
 * The webhooks of issue 13, from Shopify's 2026-07 samples (dev/fixtures/webhooks/
 * shopify-docs-metadata/2026-07): orders/delete, shop/update and customers/purchasing_summary,
 * through the real intake, inbox and worker, deduplicated and order-safe.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { receiveWebhook } from "./receive.server";
import { InboxWorker } from "./worker.server";
import { webhookRequestInit, type WebhookLine } from "../../dev/webhooks";
import { FIXTURES_DIR, fixtureText } from "../../dev/fixtures";
import { TEST_SECRET } from "../../dev/testing/setup";
import { afterWebhook } from "../segments/incremental.server";
import { ensurePresets, recompute } from "../segments/store.server";

const SHOP = "history-shop.myshopify.com";
const soon = () => new Date(Date.now() + 5 * 60_000);
let clock = soon();
let worker = new InboxWorker(prisma, { now: () => clock });

/** The 2026-07 sample payload of a topic (Shopify's developer docs metadata). */
function sample(topic: string): Record<string, unknown> {
  const file = path.join(
    FIXTURES_DIR,
    "webhooks",
    "shopify-docs-metadata",
    "2026-07",
    `${topic.replace("/", "__")}.json`,
  );
  return (JSON.parse(readFileSync(file, "utf8")) as { response: Record<string, unknown> }).response;
}

let n = 0;
async function send(
  topic: string,
  payload: string | Record<string, unknown>,
  line: Partial<WebhookLine> = {},
) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const init = webhookRequestInit(
    { topic, shop: SHOP, payload: body, eventId: `e-${++n}`, ...line },
    TEST_SECRET,
  );
  const response = await receiveWebhook(new Request("http://127.0.0.1/webhooks", init), {
    db: prisma,
    secret: TEST_SECRET,
  });
  expect(response.status, topic).toBe(200);
  await worker.drain();
  return prisma.webhookEvent.findFirstOrThrow({ where: { topic }, orderBy: { id: "desc" } });
}

const ORDER = "820982911946154508"; // the orders/create sample's exact id (its gid)
const CUSTOMER = "115310627314723954"; // that order's customer
const shop = () => prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
const customer = async () =>
  prisma.customer.findUniqueOrThrow({
    where: { shopId_shopifyId: { shopId: (await shop()).id, shopifyId: CUSTOMER } },
  });

/** The orders/create sample (a cancelled test order) as a live order of its customer. */
function liveOrder(changes: Record<string, unknown> = {}): string {
  const o = JSON.parse(fixtureText("orders/create")) as Record<string, unknown>;
  return JSON.stringify({ ...o, test: false, cancelled_at: null, cancel_reason: null, ...changes });
}

beforeEach(async () => {
  clock = soon();
  await prisma.webhookEvent.deleteMany();
  await prisma.shop.deleteMany({ where: { domain: SHOP } });
  worker = new InboxWorker(prisma, { now: () => clock });
});

afterAll(() => prisma.$disconnect());

describe("orders/delete", () => {
  it("applies Shopify's sample as it is (an order the app never held leaves only a tombstone)", async () => {
    const event = await send("orders/delete", sample("orders/delete"));
    expect(event).toMatchObject({ status: "done", lastError: null, outcome: "applied" });
    expect(await prisma.deletedOrder.count({ where: { shopId: (await shop()).id } })).toBe(1);
  });

  it("removes the order with its lines and refunds, and the customer's figures follow", async () => {
    await send("orders/create", liveOrder());
    expect((await customer()).ordersCount).toBe(1);
    const shopId = (await shop()).id;
    expect(await prisma.lineItem.count({ where: { shopId } })).toBeGreaterThan(0);
    // The sample's shape with this order's exact id (the sample's own id is rounded past 2^53).
    const deletion = JSON.stringify(sample("orders/delete")).replace(/"id":\s*\d+/, `"id":${ORDER}`);
    const event = await send("orders/delete", deletion);
    expect(event).toMatchObject({ status: "done", outcome: "applied" });
    expect(await prisma.order.count({ where: { shopId } })).toBe(0);
    expect(await prisma.lineItem.count({ where: { shopId } })).toBe(0);
    expect(await customer()).toMatchObject({ ordersCount: 0, totalSpent: 0, lastOrderAt: null });
    expect(await prisma.deletedOrder.findFirst({ where: { shopId } })).toMatchObject({
      shopifyId: ORDER,
      customerShopifyId: CUSTOMER,
    });

    // Deduplicated: the same event again is one event; another delivery of the deletion changes nothing.
    await send("orders/delete", deletion, { eventId: `e-${n}` });
    expect(await prisma.webhookEvent.count({ where: { topic: "orders/delete" } })).toBe(1);
    expect(await send("orders/delete", deletion)).toMatchObject({ status: "done", outcome: "unchanged" });

    // Order-safe: a late update (or a retried create) never brings the deleted order back.
    const late = await send("orders/updated", liveOrder({ updated_at: "2099-01-01T00:00:00Z" }));
    expect(late).toMatchObject({ status: "done", outcome: "stale" });
    expect(await prisma.order.count({ where: { shopId } })).toBe(0);
    expect((await customer()).ordersCount).toBe(0);
  });

  it("takes the deleted order out of Shopify's lifetime figures taken after it was placed", async () => {
    await send("orders/create", liveOrder());
    const order = await prisma.order.findFirstOrThrow({ where: { shopifyId: ORDER } });
    // Shopify: 3 orders (2 older than the app holds), as of after this order.
    await send("customers/purchasing_summary", {
      ...sample("customers/purchasing_summary"),
      customerId: `gid://shopify/Customer/${CUSTOMER}`,
      numberOfOrders: 3,
      amountSpent: { amount: "500.00", currencyCode: "USD" },
      occurredAt: new Date(order.processedAt.getTime() + 1000).toISOString(),
    });
    expect((await customer()).ordersCount).toBe(3);
    await send("orders/delete", { id: ORDER });
    const after = await customer();
    expect(after).toMatchObject({ ordersCount: 2, shopifyOrdersCount: 2 });
    expect(after.totalSpent).toBe(50_000 - order.totalPrice);
  });

  it("lets a refund of a deleted order go (stale) instead of waiting for it for ever", async () => {
    await send("orders/delete", { id: ORDER });
    // Shopify's integers are written exactly (the id is above 2^53).
    const event = await send(
      "refunds/create",
      `{"id":1,"order_id":${ORDER},"created_at":"2026-05-01T00:00:00Z"}`,
    );
    expect(event.lastError).toBeNull();
    expect(event).toMatchObject({ status: "done", outcome: "stale" });
  });
});

describe("customers/purchasing_summary", () => {
  it("applies Shopify's sample: the customer has Shopify's lifetime count and amount", async () => {
    const event = await send("customers/purchasing_summary", sample("customers/purchasing_summary"));
    expect(event).toMatchObject({ status: "done", lastError: null, outcome: "applied" });
    const row = await prisma.customer.findUniqueOrThrow({
      where: { shopId_shopifyId: { shopId: (await shop()).id, shopifyId: "1" } },
    });
    // One order of 100.00 in 2005 that the app does not hold: a customer, never a first-time buyer.
    expect(row).toMatchObject({
      shopifyOrdersCount: 1,
      shopifySpent: 10_000,
      ordersCount: 1,
      totalSpent: 10_000,
      firstOrderAt: null,
    });
  });

  it("keeps the newest summary whatever order they arrive in", async () => {
    const base = {
      ...sample("customers/purchasing_summary"),
      customerId: `gid://shopify/Customer/${CUSTOMER}`,
    };
    const at = (iso: string, orders: number, amount: string) => ({
      ...base,
      numberOfOrders: orders,
      amountSpent: { amount, currencyCode: "USD" },
      occurredAt: iso,
    });
    await send("customers/purchasing_summary", at("2026-03-02T00:00:00Z", 5, "250.00"));
    const older = await send("customers/purchasing_summary", at("2026-03-01T00:00:00Z", 4, "200.00"));
    expect(older.outcome).toBe("stale");
    expect(await customer()).toMatchObject({ shopifyOrdersCount: 5, ordersCount: 5, totalSpent: 25_000 });
    // A full customer record arriving later keeps the figures (they are not in its payload).
    await send("customers/update", JSON.parse(fixtureText("customers/update")) as Record<string, unknown>);
    expect(await customer()).toMatchObject({ ordersCount: 5 });
  });

  it("moves segment membership: a first-time customer with older orders Shopify counts is one no more", async () => {
    worker = new InboxWorker(prisma, {
      now: () => clock,
      afterApply: (event) => afterWebhook(prisma, event, clock),
    });
    const processedAt = new Date(clock.getTime() - 5 * 86_400_000).toISOString();
    await send("orders/create", liveOrder({ processed_at: processedAt, updated_at: processedAt }));
    const shopId = (await shop()).id;
    await ensurePresets(prisma, shopId);
    await recompute(prisma, shopId, clock);
    const segment = await prisma.segment.findFirstOrThrow({
      where: { shopId, handle: "first-time-customers" },
    });
    const member = () =>
      prisma.segmentMember.count({ where: { segmentId: segment.id, customerShopifyId: CUSTOMER } });
    expect(await member()).toBe(1);
    await send("customers/purchasing_summary", {
      ...sample("customers/purchasing_summary"),
      customerId: `gid://shopify/Customer/${CUSTOMER}`,
      numberOfOrders: 3,
      amountSpent: { amount: "900.00", currencyCode: "USD" },
      occurredAt: new Date(Date.parse(processedAt) + 60_000).toISOString(),
    });
    expect(await customer()).toMatchObject({ ordersCount: 3, firstOrderAt: null });
    expect(await member()).toBe(0);
  });

  it("refuses a summary it cannot read, naming the field", async () => {
    const event = await send("customers/purchasing_summary", {
      ...sample("customers/purchasing_summary"),
      numberOfOrders: "many",
    });
    expect(event.status).toBe("failed");
    expect(event.lastError).toContain("numberOfOrders");
  });
});

describe("shop/update", () => {
  it("applies Shopify's sample (no time zone in it: the one held stays)", async () => {
    await prisma.shop.create({ data: { domain: SHOP, currency: "CAD", ianaTimezone: "America/Toronto" } });
    const event = await send("shop/update", sample("shop/update"));
    expect(event).toMatchObject({ status: "done", lastError: null, outcome: "applied" });
    expect(await shop()).toMatchObject({
      currency: "USD",
      ianaTimezone: "America/Toronto",
      name: "Super Toys",
    });
  });

  it("moves the shop's currency and time zone, newest update winning, and the worker uses them at once", async () => {
    const update = (updatedAt: string, currency: string, zone: string) => ({
      ...sample("shop/update"),
      currency,
      iana_timezone: zone,
      updated_at: updatedAt,
    });
    await send("carts/create", JSON.parse(fixtureText("carts/create")) as Record<string, unknown>);
    await send("shop/update", update("2026-05-02T00:00:00Z", "EUR", "Europe/Paris"));
    const older = await send("shop/update", update("2026-05-01T00:00:00Z", "GBP", "Europe/London"));
    expect(older.outcome).toBe("stale");
    expect(await shop()).toMatchObject({ currency: "EUR", ianaTimezone: "Europe/Paris" });
    // The worker's cached shop row was dropped: a cart without a currency now takes the new one.
    const cart = JSON.parse(fixtureText("carts/create")) as { line_items: Record<string, unknown>[] };
    const lines = cart.line_items.map((l) => ({ ...l, price_set: undefined }));
    await send("carts/create", {
      ...cart,
      token: "after-update",
      line_items: lines,
      updated_at: "2026-05-03T00:00:00Z",
    });
    const stored = await prisma.cart.findFirstOrThrow({ where: { token: "after-update" } });
    expect(stored.currency).toBe("EUR");
  });

  it("keeps the primary domain Shopify sends as `domain`; the sample's null leaves it as it is", async () => {
    await prisma.shop.create({ data: { domain: SHOP, primaryDomain: "shop.supertoys.example" } });
    await send("shop/update", sample("shop/update"));
    expect((await shop()).primaryDomain).toBe("shop.supertoys.example");
    await send("shop/update", {
      ...sample("shop/update"),
      domain: "WWW.SuperToys.example",
      // Newer than the sample's delivery (its own updated_at is null).
      updated_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await shop()).primaryDomain).toBe("www.supertoys.example");
  });

  it("refuses a domain that is not a host name, naming the field", async () => {
    const event = await send("shop/update", { ...sample("shop/update"), domain: "https://x.example/path" });
    expect(event.status).toBe("failed");
    expect(event.lastError).toContain("shop.domain");
  });

  it("refuses a time zone that is not IANA's, naming the field", async () => {
    const event = await send("shop/update", { ...sample("shop/update"), iana_timezone: "Mars/Olympus" });
    expect(event.status).toBe("failed");
    expect(event.lastError).toContain("iana_timezone");
  });
});
