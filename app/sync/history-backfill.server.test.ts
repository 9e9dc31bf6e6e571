/**
 * A shop with three years of history, backfilled with and without `read_all_orders`: the stand-in
 * hides orders older than 60 days as Shopify does, Shopify's lifetime figures (numberOfOrders,
 * amountSpent) keep every customer right, and a customer whose only orders are old is never a
 * first-time buyer (SQL membership and the evaluator alike).
 */
import { adminDocument } from "./documents";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "./admin-api.server";
import { runBackfill } from "./backfill.server";
import { AdminApiStandIn, TOML_SCOPES } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { heldPicture, storePicture } from "../../dev/testing/compare";
import { evaluate } from "../engine/evaluate";
import { presets } from "../engine/presets";
import { loadFacts } from "../segments/facts.server";
import { ensurePresets, recompute } from "../segments/store.server";
import { webhookRequestInit } from "../../dev/webhooks";
import { TEST_SECRET } from "../../dev/testing/setup";
import { receiveWebhook } from "./receive.server";
import { InboxWorker } from "./worker.server";

const DAY = 86_400_000;
const store = generateStore({ seed: 13, customers: 160, days: 3 * 365, shop: "three-years.myshopify.com" });
const SHOP = store.shop.domain;
const now = store.now;
const since = now.getTime() - 60 * DAY;
const withoutAllOrders = TOML_SCOPES.filter((s) => s !== "read_all_orders");
const limited = new AdminApiStandIn({
  store,
  bulkDelayMs: 5,
  restoreRate: 100_000,
  maximumAvailable: 1000,
  scopes: withoutAllOrders,
});
const granted = new AdminApiStandIn({ store, bulkDelayMs: 5, restoreRate: 100_000, maximumAvailable: 1000 });
/** A shop whose merchant grants read_all_orders after the first import. */
const later = new AdminApiStandIn({
  store,
  bulkDelayMs: 5,
  restoreRate: 100_000,
  maximumAvailable: 1000,
  scopes: withoutAllOrders,
});
const noWait = async () => {};
const apiOf = (standIn: AdminApiStandIn) =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: standIn.origin, sleep: noWait });
const backfill = (standIn: AdminApiStandIn) =>
  runBackfill(prisma, apiOf(standIn), SHOP, {
    pollMs: 5,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))),
  });

/** Shopify tells the app its access scopes changed (app/scopes_update); the response's status. */
async function scopesUpdate(previous: string[], current: string[], eventId: string): Promise<number> {
  const init = webhookRequestInit(
    {
      topic: "app/scopes_update",
      shop: SHOP,
      payload: { id: 1, previous, current, updated_at: now.toISOString() },
      eventId,
      triggeredAt: now.toISOString(),
    },
    TEST_SECRET,
  );
  const response = await receiveWebhook(new Request("http://127.0.0.1/webhooks", init), {
    db: prisma,
    secret: TEST_SECRET,
  });
  return response.status;
}

const old = (o: (typeof store.orders)[number]) => o.createdAt.getTime() < since;
const refunded = (o: (typeof store.orders)[number]) => o.refunds.reduce((s, r) => s + r.amount, 0);
const ordersOf = (customerId: string) => store.orders.filter((o) => o.customerId === customerId);
/** Customers with orders, and those whose every order is older than 60 days. */
const buyers = store.customers.filter((c) => ordersOf(c.id).length > 0);
const onlyOld = buyers.filter((c) => ordersOf(c.id).every(old));

beforeAll(async () => {
  await Promise.all([limited.start(), granted.start(), later.start()]);
});
afterAll(async () => {
  await Promise.all([limited.stop(), granted.stop(), later.stop()]);
  await prisma.$disconnect();
});
beforeEach(async () => {
  await prisma.shop.deleteMany({ where: { domain: SHOP } });
});

/** Members of the first-time-customers preset by the SQL recompute and by the evaluator. */
async function firstTimeCustomers(shopId: number): Promise<{ sql: string[]; evaluator: string[] }> {
  await ensurePresets(prisma, shopId);
  await recompute(prisma, shopId, now, ["first-time-customers"]);
  const segment = await prisma.segment.findFirstOrThrow({
    where: { shopId, handle: "first-time-customers" },
  });
  const rows = await prisma.segmentMember.findMany({ where: { segmentId: segment.id } });
  const rule = presets({ topSpendThreshold: 0 }).find((p) => p.handle === "first-time-customers")!.rule;
  const facts = await loadFacts(
    prisma,
    shopId,
    store.customers.map((c) => c.id),
  );
  const evaluator = [...facts].filter(([, f]) => evaluate(rule, f, { now }).member).map(([id]) => id);
  return { sql: rows.map((r) => r.customerShopifyId).sort(), evaluator: evaluator.sort() };
}

describe("three years of history", () => {
  it("the generated shop has orders older than 60 days, and customers who only have those", () => {
    expect(store.orders.filter(old).length).toBeGreaterThan(store.orders.length / 2);
    expect(onlyOld.length).toBeGreaterThan(10);
  });

  it("without read_all_orders the stand-in hides what Shopify hides, and says which scopes it granted", async () => {
    expect(limited.grantedScopes()).not.toContain("read_all_orders");
    expect(granted.grantedScopes()).toContain("read_all_orders");
    const api = apiOf(limited);
    const oldOrder = store.orders.find(old)!;
    const customer = onlyOld[0];
    const answer = await api.request<{
      orders: { nodes: { createdAt: string }[] };
      order: { id: string } | null;
      node: { numberOfOrders: string; orders: { nodes: { id: string }[] } } | null;
      currentAppInstallation: { accessScopes: { handle: string }[] };
    }>(
      adminDocument(
        "history test: hidden orders",
        `query Hidden($order: ID!, $customer: ID!) {
        orders(first: 250) { nodes { createdAt } }
        order(id: $order) { id }
        node(id: $customer) { ... on Customer { numberOfOrders orders(first: 50) { nodes { id } } } }
        currentAppInstallation { accessScopes { handle } }
      }`,
      ),
      { order: `gid://shopify/Order/${oldOrder.id}`, customer: `gid://shopify/Customer/${customer.id}` },
    );
    expect(answer.orders.nodes.every((o) => Date.parse(o.createdAt) >= since)).toBe(true);
    expect(answer.orders.nodes.length).toBe(Math.min(250, store.orders.filter((o) => !old(o)).length));
    expect(answer.order).toBeNull();
    // Lifetime figures stay whole; the customer's own order list is cut like the rest.
    expect(answer.node).toEqual({
      numberOfOrders: String(ordersOf(customer.id).length),
      orders: { nodes: [] },
    });
    expect(answer.currentAppInstallation.accessScopes.map((s) => s.handle)).toEqual(withoutAllOrders);
    expect(limited.invalidDocuments).toEqual([]);
  });

  it("without read_all_orders the backfill holds only recent orders, and every customer's figures are still Shopify's", async () => {
    const counts = await backfill(limited);
    expect(counts.orders).toBe(store.orders.filter((o) => !old(o)).length);
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    const held = new Map(
      (await prisma.customer.findMany({ where: { shopId: shop.id } })).map((c) => [c.shopifyId, c]),
    );
    for (const c of buyers) {
      const mine = ordersOf(c.id);
      const live = mine.filter((o) => !o.cancelledAt);
      const row = held.get(c.id)!;
      const label = `customer ${c.id}`;
      // Spend is Shopify's lifetime amount: exactly the store's.
      expect(row.totalSpent, label).toBe(live.reduce((s, o) => s + o.total - refunded(o), 0));
      if (!mine.some(old)) {
        // Everything held: the store's own figures.
        expect(row.ordersCount, label).toBe(live.length);
        continue;
      }
      // Orders the app cannot see count through Shopify's number of orders (which counts cancelled ones).
      expect(row.ordersCount, label).toBe(live.filter((o) => !old(o)).length + mine.filter(old).length);
      expect(row.ordersCount, label).toBeGreaterThan(0);
      expect(row.firstOrderAt, label).toBeNull();
    }
    for (const c of onlyOld) expect(held.get(c.id)?.lastOrderAt, `customer ${c.id}`).toBeNull();

    // Never a first-time buyer when an older order exists, by SQL and by the evaluator alike.
    const members = await firstTimeCustomers(shop.id);
    expect(members.sql).toEqual(members.evaluator);
    const withOld = new Set(buyers.filter((c) => ordersOf(c.id).some(old)).map((c) => c.id));
    expect(members.sql.filter((id) => withOld.has(id))).toEqual([]);
  });

  it("with read_all_orders the backfill holds every order and the lifetime figures equal the store's", async () => {
    await backfill(granted);
    const options = { checkouts: "abandoned" as const, carts: false, products: false };
    expect(await heldPicture(prisma, SHOP, options)).toEqual(storePicture(store, options));
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    const held = new Map(
      (await prisma.customer.findMany({ where: { shopId: shop.id } })).map((c) => [c.shopifyId, c]),
    );
    for (const c of buyers) {
      const times = ordersOf(c.id)
        .filter((o) => !o.cancelledAt)
        .map((o) => o.processedAt.getTime());
      const row = held.get(c.id)!;
      expect(row.firstOrderAt?.getTime() ?? null, `customer ${c.id}`).toBe(
        times.length ? Math.min(...times) : null,
      );
      expect(row.lastOrderAt?.getTime() ?? null, `customer ${c.id}`).toBe(
        times.length ? Math.max(...times) : null,
      );
    }
    const members = await firstTimeCustomers(shop.id);
    expect(members.sql).toEqual(members.evaluator);
    // The truth from the store: exactly one live order, placed in the last 30 days, no other order.
    const truth = buyers
      .filter((c) => {
        const live = ordersOf(c.id).filter((o) => !o.cancelledAt);
        return live.length === 1 && live[0].processedAt.getTime() >= now.getTime() - 30 * DAY;
      })
      .map((c) => c.id)
      .sort();
    expect(members.sql).toEqual(truth);
  });

  it("read_all_orders granted after a limited import: app/scopes_update imports the history again, and every order is then held", async () => {
    await backfill(later);
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    expect(await prisma.order.count({ where: { shopId: shop.id } })).toBe(
      store.orders.filter((o) => !old(o)).length,
    );
    await prisma.session.create({
      data: {
        id: `offline_${SHOP}`,
        shop: SHOP,
        state: "",
        isOnline: false,
        scope: withoutAllOrders.join(","),
        accessToken: "shpat_standin",
      },
    });
    // The merchant accepts the app's updated access request: Shopify tells the app.
    later.setGrantedScopes(TOML_SCOPES);
    expect(await scopesUpdate(withoutAllOrders, TOML_SCOPES, "scopes-granted-1")).toBe(200);
    await new InboxWorker(prisma).drain();
    const event = await prisma.webhookEvent.findFirstOrThrow({ where: { eventId: "scopes-granted-1" } });
    expect(event.outcome).toMatch(/read_all_orders granted: the order history is imported again/);
    // Pending: the scheduler's next turn runs the import, as it runs a new shop's.
    expect(await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).toMatchObject({
      backfillStatus: "pending",
      backfillRetryAt: null,
    });
    await backfill(later);
    const options = { checkouts: "abandoned" as const, carts: false, products: false };
    expect(await heldPicture(prisma, SHOP, options)).toEqual(storePicture(store, options));
    expect((await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).backfillStatus).toBe("done");

    // A later scope change that leaves read_all_orders as it was imports nothing again.
    expect(await scopesUpdate(TOML_SCOPES, TOML_SCOPES, "scopes-same-2")).toBe(200);
    await new InboxWorker(prisma).drain();
    expect((await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).backfillStatus).toBe("done");
  });
});
