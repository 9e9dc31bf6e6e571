/**
 * The worker's after-batch pipeline: on PostgreSQL the next batch is claimed and applied while the
 * last batch's pipeline (memberships and the rest) still runs; everywhere the pipelines run one
 * after another in batch order, and `drain()` returns only once every one of them is done.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "../db.server";
import { InboxWorker, type AppliedEvent } from "./worker.server";
import { insertDeliveries } from "./intake.server";

const SHOP = "worker-overlap.myshopify.com";
const postgres = dialectOfClient(prisma) === "postgres";

beforeEach(async () => {
  await prisma.webhookEvent.deleteMany();
  await prisma.shop.deleteMany();
});

afterAll(() => prisma.$disconnect());

/** A customers/update delivery for customer `n`. */
function delivery(n: number) {
  const at = new Date(Date.UTC(2031, 0, 1, 0, 0, n));
  return {
    shopDomain: SHOP,
    topic: "customers/update",
    eventId: `overlap-${n}`,
    webhookId: null,
    triggeredAt: at,
    apiVersion: "2026-07",
    payload: JSON.stringify({
      id: 7000 + n,
      email: `c${n}@example.com`,
      first_name: "C",
      last_name: String(n),
      state: "enabled",
      tags: "",
      created_at: at.toISOString(),
      updated_at: at.toISOString(),
    }),
  };
}

/** Which delivery an event is (its customer's n). */
const which = (event: { payload: string }) =>
  `overlap-${(JSON.parse(event.payload) as { id: number }).id - 7000}`;

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("the worker's after-batch pipeline", () => {
  it("applies a delivery that arrives while the last batch's pipeline runs (PostgreSQL), and runs the pipelines in batch order", async () => {
    const done: string[] = [];
    const pipelines: string[][] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const worker = new InboxWorker(prisma, {
      onDone: (event) => done.push(which(event)),
      afterBatch: async (events: AppliedEvent[]) => {
        pipelines.push(events.map(which));
        // The first batch's pipeline is slow (a large membership pass, say).
        if (pipelines.length === 1) await gate;
        // The worker hands over its shop's row id: the pipeline need not read it again.
        for (const e of events) expect(e.shopId).toBeGreaterThan(0);
      },
    });
    worker.start();
    try {
      await insertDeliveries(prisma, [delivery(1)]);
      worker.wake();
      await until(() => pipelines.length === 1, "the first batch's pipeline");
      await insertDeliveries(prisma, [delivery(2)]);
      worker.wake();
      if (postgres) {
        // Applied and marked done while the first pipeline is still held.
        await until(() => done.includes("overlap-2"), "the second delivery to be applied");
        expect(pipelines).toEqual([["overlap-1"]]);
      } else {
        // SQLite: one connection, one stage at a time.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(done).toEqual(["overlap-1"]);
      }
      open();
      await until(() => pipelines.length === 2, "the second batch's pipeline");
      expect(pipelines).toEqual([["overlap-1"], ["overlap-2"]]);
      expect(done).toEqual(["overlap-1", "overlap-2"]);
    } finally {
      open();
      await worker.stop();
    }
    expect(await prisma.customer.count({ where: { shop: { domain: SHOP } } })).toBe(2);
  });

  it("returns from drain() only once the pipelines it queued are done", async () => {
    let finished = 0;
    const worker = new InboxWorker(prisma, {
      batchSize: 2,
      afterBatch: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        finished++;
      },
    });
    await insertDeliveries(prisma, [1, 2, 3, 4, 5].map(delivery));
    expect(await worker.drain()).toBe(5);
    // Three batches (2 + 2 + 1), three pipelines, all done when drain() returns.
    expect(finished).toBe(3);
    expect(await prisma.webhookEvent.count({ where: { status: "done" } })).toBe(5);
  });
});
