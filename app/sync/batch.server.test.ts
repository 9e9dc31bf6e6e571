/**
 * The worker applies a claimed batch set-based in one transaction: one bad event, a refund that
 * comes before its order and two versions of one order in the same batch do not stop the rest,
 * and the copy ends equal to the store.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { hotFor } from "../db-hot.server";
import { InboxWorker } from "./worker.server";
import { insertDeliveries } from "./intake.server";
import { claimDue } from "./inbox.server";
import { applyBatch, markDone } from "./batch-apply.server";
import { shopFor } from "./handlers.server";
import { generateStore } from "../../dev/store";
import { deliveriesOf, heldPicture, pictureDifferences, storePicture } from "../../dev/testing/compare";

const SHOP = "batch.myshopify.com";
const options = { checkouts: "all" as const, carts: true, products: false };
const orderIdOf = (payload: unknown) => String((payload as { id: number }).id);

beforeEach(async () => {
  await prisma.webhookEvent.deleteMany();
  await prisma.shop.deleteMany();
});

afterAll(() => prisma.$disconnect());

describe("a batch of webhooks", () => {
  it("with a poison event, a refund before its order and two versions of one order applies everything else and ends exact", async () => {
    const store = generateStore({ seed: 33, customers: 40, shop: SHOP });
    const events = store.events;
    // An order with a refund: its order events are held back, so the refund comes first.
    const refund = events.find((e) => e.topic === "refunds/create")!;
    const waiting = String((refund.payload as { order_id: number }).order_id);
    const isWaiting = (e: (typeof events)[number]) =>
      e.topic.startsWith("orders/") && orderIdOf(e.payload) === waiting;
    // Another order with several versions: its newest comes before its oldest in the batch.
    const versions = events.filter(
      (e) =>
        e.topic.startsWith("orders/") &&
        !isWaiting(e) &&
        orderIdOf(e.payload) ===
          orderIdOf(
            events.find((x) => x.topic === "orders/updated" && orderIdOf(x.payload) !== waiting)!.payload,
          ),
    );
    expect(versions.length).toBeGreaterThanOrEqual(2);
    const [oldest, newest] = [versions[0], versions[versions.length - 1]];
    const first = events
      .filter((e) => !isWaiting(e))
      .map((e) => (e === oldest ? newest : e === newest ? oldest : e));
    const poison = {
      ...first[10],
      topic: "orders/updated",
      eventId: "poison",
      payload: { id: "not a number", line_items: "none" },
    };
    first.splice(11, 0, poison);

    await insertDeliveries(prisma, deliveriesOf(first));
    let clock = new Date("2031-01-01T00:00:00Z");
    const errors: string[] = [];
    const outcomes = new Map<string, string>();
    const worker = new InboxWorker(prisma, {
      now: () => clock,
      batchSize: 1000,
      onError: (event) => errors.push(event.topic),
      onDone: (event, outcome) => outcomes.set(String(event.id), outcome),
    });
    // One claim holds the whole history.
    expect(await worker.drain()).toBe(first.length);
    const rows = await prisma.webhookEvent.findMany({ orderBy: { id: "asc" } });
    const row = (eventId: string) => rows.find((r) => r.eventId === eventId)!;
    // The poison event failed alone, with the reason, and is the only one reported as an error.
    expect(row("poison")).toMatchObject({ status: "failed", attempts: 1 });
    expect(row("poison").lastError).toMatch(/PayloadError/);
    // The refund waits for its order: failed, kept for a retry, not reported as an error.
    expect(row(refund.eventId!)).toMatchObject({ status: "failed", attempts: 1 });
    expect(row(refund.eventId!).lastError).toMatch(/OrderNotYetSynced/);
    expect(errors).toEqual(["orders/updated"]);
    // The newest version of the order won, although it came first; the oldest is stale.
    expect(row(newest.eventId!)).toMatchObject({ status: "done", outcome: "applied" });
    expect(row(oldest.eventId!)).toMatchObject({ status: "done", outcome: "stale" });
    // Everything else applied.
    expect(
      rows
        .filter((r) => r.status !== "done")
        .map((r) => r.eventId)
        .sort(),
    ).toEqual(["poison", refund.eventId!].sort());

    // The order arrives; the refund's retry comes due and applies it.
    await insertDeliveries(prisma, deliveriesOf(events.filter(isWaiting)));
    clock = new Date(clock.getTime() + 3_600_000);
    await worker.drain();
    expect(await prisma.webhookEvent.findFirstOrThrow({ where: { eventId: refund.eventId! } })).toMatchObject(
      {
        status: "done",
        outcome: "applied",
      },
    );
    const held = await heldPicture(prisma, SHOP, options);
    expect(pictureDifferences(held, storePicture(store, options))).toEqual([]);
    // The refund counts once in its order's total and its customer's spend (the picture says so too).
    const order = await prisma.order.findFirstOrThrow({
      where: { shopifyId: waiting },
      include: { refunds: true },
    });
    expect(order.totalRefunded).toBe(order.refunds.reduce((s, r) => s + r.amount, 0));
    expect(order.totalRefunded).toBeGreaterThan(0);
  });

  it("is one transaction: stopped before it commits, nothing of it is applied and its events are still claimed", async () => {
    const store = generateStore({ seed: 34, customers: 20, shop: SHOP });
    await insertDeliveries(prisma, deliveriesOf(store.events));
    const now = new Date("2031-01-01T00:00:00Z");
    const claimed = await claimDue(prisma, 1000, now);
    expect(claimed.length).toBe(store.events.length);
    const shop = await prisma.$transaction((tx) => shopFor(tx, SHOP));
    await expect(
      hotFor(prisma, "apply").transaction(async (tx) => {
        const results = await applyBatch(tx, shop, claimed, now);
        const done = results.flatMap((r) =>
          "outcome" in r ? [{ ...r, lockedUntil: claimed[0].lockedUntil }] : [],
        );
        expect(done.length).toBe(claimed.length);
        expect(await markDone(tx, done, now)).toBe(claimed.length);
        // The process dies here, after every statement of the batch and before its commit.
        throw new Error("killed mid-batch");
      }),
    ).rejects.toThrow("killed mid-batch");
    const where = { shop: { domain: SHOP } };
    expect({
      customers: await prisma.customer.count({ where }),
      orders: await prisma.order.count({ where }),
      lines: await prisma.lineItem.count({ where }),
      carts: await prisma.cart.count({ where }),
      checkouts: await prisma.checkout.count({ where }),
      processing: await prisma.webhookEvent.count({ where: { status: "processing" } }),
    }).toEqual({ customers: 0, orders: 0, lines: 0, carts: 0, checkouts: 0, processing: claimed.length });

    // When the lease runs out, a worker claims them again and applies them once.
    const worker = new InboxWorker(prisma, { now: () => new Date(now.getTime() + 120_000) });
    await worker.drain();
    expect(await prisma.webhookEvent.count({ where: { status: { not: "done" } } })).toBe(0);
    const held = await heldPicture(prisma, SHOP, options);
    expect(pictureDifferences(held, storePicture(store, options))).toEqual([]);
  });
  it("links orders and checkouts both ways, and a pixel's checkout that came first gets its order and customer", async () => {
    const store = generateStore({ seed: 35, customers: 20, shop: SHOP });
    const shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
    const placed = store.events.find(
      (e) => e.topic === "orders/create" && (e.payload as { checkout_token?: string }).checkout_token,
    )!;
    const { checkout_token: token, id } = placed.payload as { checkout_token: string; id: number };
    const seen = new Date("2026-01-01T00:00:00Z");
    await prisma.visitor.create({ data: { id: "visitor-1", shopId, firstSeenAt: seen, lastSeenAt: seen } });
    await prisma.pendingCheckoutLink.create({
      data: {
        shopId,
        checkoutToken: token,
        visitorId: "visitor-1",
        orderShopifyId: String(id),
        createdAt: seen,
      },
    });
    await insertDeliveries(prisma, deliveriesOf(store.events));
    await new InboxWorker(prisma, { now: () => new Date("2031-01-01T00:00:00Z") }).drain();

    const order = await prisma.order.findUniqueOrThrow({
      where: { shopId_shopifyId: { shopId, shopifyId: String(id) } },
    });
    expect(order.visitorId).toBe("visitor-1");
    expect(await prisma.pendingCheckoutLink.count({ where: { shopId } })).toBe(0);
    expect((await prisma.visitor.findUniqueOrThrow({ where: { id: "visitor-1" } })).customerShopifyId).toBe(
      order.customerShopifyId,
    );
    // Every checkout that an order completed names that order, whichever of the two came first.
    const orders = await prisma.order.findMany({ where: { shopId, checkoutToken: { not: null } } });
    expect(orders.length).toBeGreaterThan(5);
    const checkouts = await prisma.checkout.findMany({ where: { shopId } });
    const linked = orders.flatMap((o) =>
      checkouts.filter((c) => c.token === o.checkoutToken).map((c) => [c.orderShopifyId, o.shopifyId]),
    );
    expect(linked.length).toBeGreaterThan(5);
    for (const [named, expected] of linked) expect(named).toBe(expected);
    const held = await heldPicture(prisma, SHOP, options);
    expect(pictureDifferences(held, storePicture(store, options))).toEqual([]);
  });
});
