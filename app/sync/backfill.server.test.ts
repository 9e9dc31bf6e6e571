import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "./admin-api.server";
import { runBackfill, jsonLines } from "./backfill.server";
import { reconcile } from "./reconcile.server";
import { InboxWorker } from "./worker.server";
import { recordDelivery } from "./inbox.server";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { heldPicture, storePicture } from "../../dev/testing/compare";

const store = generateStore({ seed: 7, customers: 150, shop: "backfill-test.myshopify.com" });
const SHOP = store.shop.domain;
// A generous bucket: these tests are about data, the throttling test below is about cost.
const standIn = new AdminApiStandIn({ store, bulkDelayMs: 5, restoreRate: 100_000, maximumAvailable: 1000 });
const noWait = async () => {};
const api = () =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: standIn.origin, sleep: noWait });

beforeAll(async () => {
  await standIn.start();
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});
beforeEach(async () => {
  await prisma.shop.deleteMany();
  await prisma.webhookEvent.deleteMany();
});

/** Order id → checkout token, held and in the store. */
const checkoutTokens = async (shopId: number) =>
  Object.fromEntries(
    (
      await prisma.order.findMany({ where: { shopId }, select: { shopifyId: true, checkoutToken: true } })
    ).map((o) => [o.shopifyId, o.checkoutToken]),
  );
const storeCheckoutTokens = () => Object.fromEntries(store.orders.map((o) => [o.id, o.checkoutToken]));

describe("backfill", () => {
  it("imports a generated store through bulk operations and matches it exactly", async () => {
    const counts = await runBackfill(prisma, api(), SHOP, {
      pollMs: 5,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))),
    });
    expect(counts).toMatchObject({
      customers: store.customers.length,
      orders: store.orders.length,
      products: store.products.length,
      collections: store.collections.length,
    });
    const options = { checkouts: "abandoned" as const, carts: false, products: true };
    expect(await heldPicture(prisma, SHOP, options)).toEqual(storePicture(store, options));
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    expect(shop).toMatchObject({ backfillStatus: "done", currency: "USD", name: store.shop.name });
    // Each order keeps the token of its checkout: what completes a Web Pixel checkout.
    expect(await checkoutTokens(shop.id)).toEqual(storeCheckoutTokens());
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("never overwrites newer data a webhook brought while it ran", async () => {
    const order = store.orders[0];
    const newer = new Date(order.updatedAt.getTime() + 86_400_000);
    const shop = await prisma.shop.create({ data: { domain: SHOP } });
    await prisma.order.create({
      data: {
        shopId: shop.id,
        shopifyId: order.id,
        currency: "USD",
        totalPrice: 1,
        financialStatus: "refunded",
        processedAt: order.processedAt,
        shopifyCreatedAt: order.createdAt,
        shopifyUpdatedAt: newer,
      },
    });
    await runBackfill(prisma, api(), SHOP, {
      pollMs: 5,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))),
    });
    const held = await prisma.order.findFirstOrThrow({ where: { shopifyId: order.id } });
    expect(held).toMatchObject({ totalPrice: 1, financialStatus: "refunded" });
  });

  it("keeps the shop's primary domain from the shop query (the myshopify domain until the shop has its own)", async () => {
    const { syncShopDetails } = await import("./backfill.server");
    await prisma.shop.create({ data: { domain: SHOP } });
    await syncShopDetails(prisma, api(), SHOP);
    expect(await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).toMatchObject({
      primaryDomain: SHOP,
    });
    store.shop.primaryDomain = "www.backfill-test.example";
    try {
      await syncShopDetails(prisma, api(), SHOP);
    } finally {
      delete store.shop.primaryDomain;
    }
    expect(await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).toMatchObject({
      primaryDomain: "www.backfill-test.example",
      name: store.shop.name,
    });
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("reads JSONL lines that straddle chunk boundaries", async () => {
    const encoder = new TextEncoder();
    const text = '{"id":"a"}\n{"id":"b","__parentId":"a"}\n{"id":"c"}';
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < text.length; i += 3) controller.enqueue(encoder.encode(text.slice(i, i + 3)));
        controller.close();
      },
    });
    const lines: unknown[] = [];
    for await (const line of jsonLines(stream)) lines.push(line);
    expect(lines).toEqual([{ id: "a" }, { id: "b", __parentId: "a" }, { id: "c" }]);
  });
});

describe("Admin API throttling", () => {
  it("waits for the cost bucket instead of getting THROTTLED, and backs off when it does", async () => {
    const tight = new AdminApiStandIn({ store, maximumAvailable: 1000, restoreRate: 2000 });
    await tight.start();
    try {
      const { RECENT_ORDERS } = await import("./queries");
      const client = new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: tight.origin });
      // Someone else (another app process) empties the bucket first.
      const other = new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: tight.origin });
      await other.request(RECENT_ORDERS, { query: "" });
      for (let i = 0; i < 4; i++) await client.request(RECENT_ORDERS, { query: "" }, 800);
      expect(client.throttledCount).toBeGreaterThanOrEqual(1);
      // After the first answer told it the bucket's state, it paced itself: no more THROTTLED.
      const throttled = tight.requests.map((r) => r.throttled);
      expect(throttled.slice(throttled.lastIndexOf(true) + 1).length).toBeGreaterThanOrEqual(3);
      expect(client.costs.length).toBe(4);
    } finally {
      await tight.stop();
    }
  });

  it("retries when Shopify answers 503 for a moment", async () => {
    const flaky = new AdminApiStandIn({ store, failFirst: 2 });
    await flaky.start();
    try {
      const client = new AdminApi({
        shop: SHOP,
        accessToken: "shpat_standin",
        origin: flaky.origin,
        sleep: noWait,
      });
      const { SHOP_QUERY } = await import("./queries");
      const data = await client.request<{ shop: { name: string } }>(SHOP_QUERY);
      expect(data.shop.name).toBe(store.shop.name);
    } finally {
      await flaky.stop();
    }
  });
});

describe("reconciliation", () => {
  it("repairs what the webhooks missed and leaves the rest alone", async () => {
    // Deliver the history with every 7th webhook lost on the way.
    const lost = store.events.filter((_, i) => i % 7 === 3);
    for (const event of store.events) {
      if (lost.includes(event)) continue;
      await recordDelivery(prisma, {
        shopDomain: SHOP,
        topic: event.topic,
        eventId: event.eventId!,
        webhookId: null,
        triggeredAt: new Date(event.triggeredAt!),
        apiVersion: "2026-07",
        payload: JSON.stringify(event.payload),
      });
    }
    const worker = new InboxWorker(prisma, { now: () => new Date("2030-01-01T00:00:00Z") });
    await worker.drain();
    const options = { checkouts: "abandoned" as const, carts: false, products: false };
    const truth = storePicture(store, options);
    expect((await heldPicture(prisma, SHOP, options)).orders).not.toEqual(truth.orders);

    // Reconcile over the whole history window (as if the last pass was long ago).
    await prisma.shop.update({
      where: { domain: SHOP },
      data: { reconciledAt: new Date(store.now.getTime() - 400 * 86_400_000) },
    });
    const result = await reconcile(prisma, api(), SHOP, store.now);
    expect(result.repaired).toBeGreaterThan(0);
    const held = await heldPicture(prisma, SHOP, options);
    const diff = (a: string[], b: string[]) => a.filter((x) => !b.includes(x)).slice(0, 3);
    expect(diff(held.customers, truth.customers)).toEqual(diff(truth.customers, held.customers));
    expect(held.customers).toEqual(truth.customers);
    expect(held.orders).toEqual(truth.orders);
    expect(held.checkouts).toEqual(truth.checkouts);
    // The orders it brought back carry their checkout's token, as a webhook's would.
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    expect(await checkoutTokens(shop.id)).toEqual(storeCheckoutTokens());
    expect(standIn.invalidDocuments).toEqual([]);

    // A second pass finds nothing left to repair.
    await prisma.shop.update({
      where: { domain: SHOP },
      data: { reconciledAt: new Date(store.now.getTime() - 400 * 86_400_000) },
    });
    expect((await reconcile(prisma, api(), SHOP, store.now)).repaired).toBe(0);
  });
});
