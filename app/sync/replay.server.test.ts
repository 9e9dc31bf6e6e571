import { afterAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { InboxWorker } from "./worker.server";
import { insertDeliveries } from "./intake.server";
import { generateStore } from "../../dev/store";
import { deliveryPlan } from "../../dev/webhooks";
import { deliveriesOf, heldPicture, storePicture } from "../../dev/testing/compare";

afterAll(() => prisma.$disconnect());

describe("replaying a store's webhook history", () => {
  it("ends equal to the store when 10% arrive twice and 10% out of order", async () => {
    const store = generateStore({ seed: 5, customers: 120, shop: "replay.myshopify.com" });
    const plan = deliveryPlan(store.events, { duplicates: 0.1, reorder: 0.1, seed: 9 });
    // Group commit as the server does it: deliveries arrive in batches, duplicates included.
    for (let i = 0; i < plan.length; i += 37) {
      await insertDeliveries(prisma, deliveriesOf(plan.slice(i, i + 37)));
    }
    // Retries come due as time passes: run the worker far in the future.
    const worker = new InboxWorker(prisma, { now: () => new Date("2031-01-01T00:00:00Z") });
    await worker.drain();
    expect(await prisma.webhookEvent.count({ where: { status: { not: "done" } } })).toBe(0);
    expect(await prisma.webhookEvent.count()).toBe(store.events.length);
    const deliveries = await prisma.webhookEvent.aggregate({ _sum: { deliveries: true } });
    expect(deliveries._sum.deliveries).toBe(plan.length);
    const options = { checkouts: "all" as const, carts: true, products: false };
    const held = await heldPicture(prisma, store.shop.domain, options);
    const truth = storePicture(store, options);
    for (const key of Object.keys(truth) as (keyof typeof truth)[]) {
      const missing = truth[key].filter((l) => !held[key].includes(l)).slice(0, 3);
      const extra = held[key].filter((l) => !truth[key].includes(l)).slice(0, 3);
      expect({ key, missing, extra }).toEqual({ key, missing: [], extra: [] });
    }
  });
});
