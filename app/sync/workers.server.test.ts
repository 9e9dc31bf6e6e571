/**
 * Several workers sharing one inbox (several app instances on one PostgreSQL database): every event
 * is claimed by one worker, applied once, and the copy ends equal to the store.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { PrismaClient } from "@prisma/client";
import prisma, { createPrismaClient, dialect } from "../db.server";
import { claimDue, type ClaimedEvent } from "./inbox.server";
import { insertDeliveries } from "./intake.server";
import { InboxWorker } from "./worker.server";
import { newJobLocks } from "./job-lock.server";
import { afterWebhook } from "../segments/incremental.server";
import { recompute } from "../segments/store.server";
import { presets } from "../engine/presets";
import { generateStore, type Store } from "../../dev/store";
import { deliveryPlan } from "../../dev/webhooks";
import { deliveriesOf, heldPicture, storePicture, type ShopPicture } from "../../dev/testing/compare";
import { spawnTs, type Spawned } from "../../dev/processes";

const url = process.env.DATABASE_URL!;
const postgres = dialect === "postgres";
/** SQLite has one writer: the app runs one process there, and its workers never overlap. */
const SQLITE_REASON = "several processes writing at once is PostgreSQL's case; SQLite runs one app process";
const onPostgres = (name: string) => (postgres ? name : `${name} (skipped: ${SQLITE_REASON})`);
const clients: PrismaClient[] = [];

function client(): PrismaClient {
  const db = createPrismaClient(url);
  clients.push(db);
  return db;
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.$disconnect()));
  await prisma.$disconnect();
});

// Each test starts from an empty inbox (the file shares one database).
beforeEach(async () => {
  await prisma.webhookEvent.deleteMany();
});

const options = { checkouts: "all" as const, carts: true, products: false };

function differences(truth: ShopPicture, held: ShopPicture) {
  return (Object.keys(truth) as (keyof ShopPicture)[]).map((key) => ({
    key,
    missing: truth[key].filter((l) => !held[key].includes(l)).slice(0, 3),
    extra: held[key].filter((l) => !truth[key].includes(l)).slice(0, 3),
  }));
}
const none = (truth: ShopPicture) =>
  (Object.keys(truth) as (keyof ShopPicture)[]).map((key) => ({ key, missing: [], extra: [] }));

async function fill(store: Store, seed: number): Promise<number> {
  const plan = deliveryPlan(store.events, { duplicates: 0.1, reorder: 0.1, seed });
  for (let i = 0; i < plan.length; i += 97)
    await insertDeliveries(prisma, deliveriesOf(plan.slice(i, i + 97)));
  return new Set(store.events.map((e) => e.eventId)).size;
}

/** Runs workers side by side until every event is done or dead; which ids each one marked done. */
async function runInProcess(
  count: number,
  expected: number,
  options: { batchSize?: number; afterApply?: (event: ClaimedEvent, db: PrismaClient) => Promise<void> } = {},
): Promise<number[][]> {
  const applied = Array.from({ length: count }, () => [] as number[]);
  const finished = async () =>
    (await prisma.webhookEvent.count({ where: { status: { in: ["done", "dead"] } } })) >= expected;
  await Promise.all(
    applied.map(async (mine) => {
      const db = client();
      const worker = new InboxWorker(db, {
        batchSize: options.batchSize ?? 1,
        // With the worker's own client, as in a process of its own.
        afterApply: options.afterApply && ((event) => options.afterApply!(event, db)),
        onDone: (e) => mine.push(e.id),
      });
      for (;;) {
        if ((await worker.drain()) > 0) continue;
        if (await finished()) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }),
  );
  return applied;
}

function expectDisjointAndComplete(applied: number[][], ids: number[]) {
  const all = applied.flat();
  expect(new Set(all).size).toBe(all.length); // no event marked done by two workers (or twice)
  expect([...all].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
}

describe("several workers on one inbox", () => {
  it("never claim the same event twice when they claim at once", async () => {
    const store = generateStore({ seed: 21, customers: 20, shop: "claims.myshopify.com" });
    await insertDeliveries(prisma, deliveriesOf(store.events));
    const ids = (await prisma.webhookEvent.findMany({ select: { id: true } })).map((e) => e.id);
    const claimers = [client(), client(), client(), client()];
    const claimed: ClaimedEvent[][] = claimers.map(() => []);
    await Promise.all(
      claimers.map(async (db, i) => {
        for (;;) {
          const batch = await claimDue(db, 7);
          if (!batch.length) return;
          claimed[i].push(...batch);
        }
      }),
    );
    expectDisjointAndComplete(
      claimed.map((c) => c.map((e) => e.id)),
      ids,
    );
    expect(claimed.flat().every((e) => e.payload.length > 0 && e.lockedUntil > new Date())).toBe(true);
  });

  it("claim an event again when its worker's lease ran out, and the first worker's late apply is rolled back", async () => {
    const store = generateStore({ seed: 22, customers: 3, shop: "lease.myshopify.com" });
    const first = store.events.find((e) => e.topic === "customers/create")!;
    await insertDeliveries(prisma, deliveriesOf([first]));
    const t0 = new Date();
    const [slow] = await claimDue(prisma, 1, t0);
    expect(await claimDue(prisma, 1, t0)).toEqual([]);
    // A minute later the first worker has not finished: its lease ran out and another claims it.
    const later = new Date(t0.getTime() + 61_000);
    const [again] = await claimDue(client(), 1, later);
    expect(again.id).toBe(slow.id);
    const done: string[] = [];
    const stale = new InboxWorker(prisma, { now: () => later, onDone: () => done.push("first") });
    const current = new InboxWorker(client(), { now: () => later, onDone: () => done.push("second") });
    expect(await stale.process(slow)).toBe(false);
    expect(await prisma.customer.count()).toBe(0); // rolled back with its refused done mark
    expect(await current.process(again)).toBe(true);
    expect(done).toEqual(["second"]);
    const row = await prisma.webhookEvent.findUniqueOrThrow({ where: { id: slow.id } });
    expect({ status: row.status, attempts: row.attempts }).toEqual({ status: "done", attempts: 0 });
    expect(await prisma.customer.count()).toBe(1);
  });

  it.skipIf(!postgres)(
    onPostgres(
      "keep a customer's order count and total spent right when its orders are applied by four workers at once",
    ),
    async () => {
      const store = generateStore({ seed: 23, customers: 20, shop: "busy.myshopify.com" });
      type OrderPayload = Record<string, unknown> & { customer: { id: number | string } };
      const created = store.events.find(
        (e) => e.topic === "orders/create" && (e.payload as { customer?: unknown }).customer,
      )!;
      const base = created.payload as OrderPayload;
      const customerId = String(base.customer.id);
      const signup = store.events.find(
        (e) => e.topic === "customers/create" && String((e.payload as { id: unknown }).id) === customerId,
      )!;
      await insertDeliveries(prisma, deliveriesOf([signup]));
      await new InboxWorker(prisma).drain();
      // 40 new orders of that one customer arrive together: each apply recomputes its totals.
      const orders = Array.from({ length: 40 }, (_, i) => {
        const id = 9_100_000 + i;
        const lines = base.line_items as Record<string, unknown>[];
        const payload: OrderPayload = {
          ...base,
          id,
          admin_graphql_api_id: `gid://shopify/Order/${id}`,
          name: `#X${i}`,
          cancelled_at: null,
          refunds: [],
          cart_token: null,
          checkout_token: null,
          checkout_id: null,
          line_items: lines.map((l, j) => ({
            ...l,
            id: id * 100 + j,
            admin_graphql_api_id: `gid://shopify/LineItem/${id * 100 + j}`,
          })),
        };
        return { ...created, eventId: `busy-${i}`, payload };
      });
      await insertDeliveries(prisma, deliveriesOf(orders));
      const ids = (
        await prisma.webhookEvent.findMany({ where: { status: "pending" }, select: { id: true } })
      ).map((e) => e.id);
      const applied = await runInProcess(4, ids.length + 1);
      expectDisjointAndComplete(applied, ids);
      expect(applied.filter((mine) => mine.length > 0).length).toBeGreaterThan(1);
      expect(await prisma.webhookEvent.count({ where: { status: { not: "done" } } })).toBe(0);
      const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: store.shop.domain } });
      const held = await prisma.order.findMany({
        where: { shopId: shop.id, customerShopifyId: customerId, cancelledAt: null, test: false },
        select: { totalPrice: true, totalRefunded: true },
      });
      const customer = await prisma.customer.findUniqueOrThrow({
        where: { shopId_shopifyId: { shopId: shop.id, shopifyId: customerId } },
      });
      expect(held.length).toBe(40);
      expect({ orders: customer.ordersCount, spent: customer.totalSpent }).toEqual({
        orders: 40,
        spent: held.reduce((sum, o) => sum + o.totalPrice - o.totalRefunded, 0),
      });
    },
  );

  it.skipIf(!postgres)(
    onPostgres("keep segment membership and sizes equal to a full recompute when four workers apply at once"),
    { timeout: 180_000 },
    async () => {
      const store = generateStore({ seed: 26, customers: 40, shop: "members-4.myshopify.com" });
      const now = store.now;
      const shop = await prisma.shop.create({ data: { domain: store.shop.domain } });
      for (const p of presets({ topSpendThreshold: 15000 }))
        await prisma.segment.create({
          data: { shopId: shop.id, handle: p.handle, name: p.name, rule: JSON.stringify(p.rule) },
        });
      await recompute(prisma, shop.id, now);
      const unique = await fill(store, 27);
      await runInProcess(4, unique, {
        batchSize: 2,
        afterApply: (event, db) => afterWebhook(db, event, now),
      });
      const segments = await prisma.segment.findMany({
        where: { shopId: shop.id },
        include: { members: true },
      });
      for (const s of segments)
        expect({ segment: s.handle, size: s.size }).toEqual({ segment: s.handle, size: s.members.length });
      const full = await recompute(prisma, shop.id, now);
      expect(Object.values(full).map((c) => c.joined + c.left)).toEqual(segments.map(() => 0));
      expect(segments.some((s) => s.members.length > 0)).toBe(true);
    },
  );

  it.skipIf(!postgres)(
    onPostgres(
      "in four processes apply a store's whole history (10% twice, 10% out of order) once each and end equal to the store",
    ),
    { timeout: 180_000 },
    async () => {
      const store = generateStore({ seed: 24, customers: 60, shop: "processes.myshopify.com" });
      const unique = new Set(store.events.map((e) => e.eventId)).size;
      // The workers start on an empty inbox and apply while it fills, as behind a load balancer.
      const outputs: string[] = [];
      const workers: Spawned[] = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          spawnTs(
            "dev/testing/inbox-worker.ts",
            { DATABASE_URL: url, SLICE_EXPECT_DONE: String(unique), SLICE_BATCH: "5" },
            /(ready)/,
          ).then((w) => {
            outputs[i] = "";
            w.child.stdout!.on("data", (chunk: Buffer) => (outputs[i] += chunk.toString()));
            return w;
          }),
        ),
      );
      await fill(store, 25);
      const codes = await Promise.all(
        workers.map(
          (w) =>
            new Promise<number | null>((resolve) =>
              w.child.exitCode !== null ? resolve(w.child.exitCode) : w.child.once("exit", resolve),
            ),
        ),
      );
      expect(codes).toEqual([0, 0, 0, 0]);
      const applied = outputs.map((out) => [...out.matchAll(/^done (\d+) /gm)].map((m) => Number(m[1])));
      const ids = (await prisma.webhookEvent.findMany({ select: { id: true } })).map((e) => e.id);
      expect(ids.length).toBe(unique);
      expectDisjointAndComplete(applied, ids);
      // Each process did a share of the work.
      expect(applied.every((mine) => mine.length > 0)).toBe(true);
      expect(await prisma.webhookEvent.count({ where: { status: { not: "done" } } })).toBe(0);
      const truth = storePicture(store, options);
      expect(differences(truth, await heldPicture(prisma, store.shop.domain, options))).toEqual(none(truth));
    },
  );

  it("run a shop's background job in one process at a time", async () => {
    const [a, b] = [newJobLocks(url), newJobLocks(url)];
    let release!: () => void;
    const running = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const inside = new Promise<void>((resolve) => (started = resolve));
    const first = a.run("sync:locks.myshopify.com", async () => {
      started();
      await running;
    });
    await inside;
    // Another process (PostgreSQL: another session) skips it; on SQLite the one process's own set does.
    const other = postgres ? b : a;
    expect(await other.run("sync:locks.myshopify.com", async () => {})).toBe(false);
    expect(await other.run("sync:other.myshopify.com", async () => {})).toBe(true);
    release();
    expect(await first).toBe(true);
    expect(await other.run("sync:locks.myshopify.com", async () => {})).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });
});
