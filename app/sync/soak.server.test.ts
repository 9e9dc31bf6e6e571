/**
 * Soak: a large generated store's whole webhook history sent to the real server
 * (`node build/server.mjs`) with 10% of deliveries repeated, 10% out of order and 5% of events
 * never sent, then one reconciliation pass against the Admin API stand-in; the copy must equal
 * the store: zero records lost, zero duplicated.
 *
 * The size is tuned to about two minutes per database here; for a bigger run:
 *   SLICE_SOAK_SCALE=10 npx vitest run --project postgres app/sync/soak.server.test.ts
 */
import { afterAll, describe, expect, it } from "vitest";
import prisma, { dialect } from "../db.server";
import { AdminApi } from "./admin-api.server";
import { reconcile } from "./reconcile.server";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { deliveryPlan, mulberry32 } from "../../dev/webhooks";
import { heldPicture, storePicture, type ShopPicture } from "../../dev/testing/compare";
import {
  deliverUntilAcknowledged,
  sendAll,
  startAppServer,
  waitForDrain,
  type DeliveryResult,
} from "../../dev/testing/app-server";

const SCALE = Number(process.env.SLICE_SOAK_SCALE ?? "1");

afterAll(() => prisma.$disconnect());

/** Lines of the store missing from the copy, and lines of the copy beyond the store's (repeats counted). */
function tally(held: ShopPicture, truth: ShopPicture) {
  let lost = 0;
  let duplicated = 0;
  let records = 0;
  for (const key of Object.keys(truth) as (keyof ShopPicture)[]) {
    const left = new Map<string, number>();
    for (const line of truth[key]) left.set(line, (left.get(line) ?? 0) + 1);
    for (const line of held[key]) {
      const n = left.get(line) ?? 0;
      if (n > 0) left.set(line, n - 1);
      else duplicated++;
    }
    for (const n of left.values()) lost += n;
    records += truth[key].length;
  }
  return { lost, duplicated, records };
}

describe("soak", () => {
  it(
    "replays a large history with duplicates, reordering and drops, reconciles, and ends equal to the store",
    { timeout: 900_000 },
    async () => {
      const store = generateStore({
        seed: 41,
        customers: Math.round(300 * SCALE),
        shop: "soak.myshopify.com",
      });
      // Carts have no Admin API (nothing can repair a lost cart webhook): drops are of the rest.
      const random = mulberry32(77);
      const dropped = new Set(store.events.filter((e) => !e.topic.startsWith("carts/") && random() < 0.05));
      const sent = store.events.filter((e) => !dropped.has(e));
      const plan = deliveryPlan(sent, { duplicates: 0.1, reorder: 0.1, seed: 13 });

      const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 1000 });
      await standIn.start();
      const server = await startAppServer();
      try {
        const results: (DeliveryResult | undefined)[] = await sendAll(server.url, plan);
        const retried = await deliverUntilAcknowledged(server.url, plan, results);
        const inbox = await waitForDrain(prisma, sent.length, 600_000, server);
        expect(inbox).toMatchObject({ failed: 0, dead: 0 });
        // Every delivery counted on its event's one row.
        expect(inbox.deliveries).toBe(plan.length + retried);

        // The scheduler's pass, over the whole history (as if the last one was long ago).
        await prisma.shop.update({
          where: { domain: store.shop.domain },
          data: {
            reconciledAt: new Date(store.now.getTime() - 400 * 86_400_000),
            currency: store.shop.currency,
          },
        });
        const api = new AdminApi({
          shop: store.shop.domain,
          accessToken: "shpat_standin",
          origin: standIn.origin,
        });
        const { repaired } = await reconcile(prisma, api, store.shop.domain, store.now);
        expect(standIn.invalidDocuments).toEqual([]);

        const options = { checkouts: "abandoned" as const, carts: true, products: false };
        const held = await heldPicture(prisma, store.shop.domain, options);
        const truth = storePicture(store, options);
        const { lost, duplicated, records } = tally(held, truth);
        console.log(
          `soak (${dialect}, scale ${SCALE}): ${store.events.length} events, ${plan.length} deliveries sent ` +
            `(${plan.length - sent.length} duplicates, ${retried} retried), ${dropped.size} dropped, ` +
            `${repaired} repaired by reconciliation, ${records} records compared, lost ${lost}, duplicated ${duplicated}`,
        );
        expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
        expect(held).toEqual(truth);
        expect(repaired).toBeGreaterThan(0);
        expect(server.exited()).toBeNull();
      } finally {
        await server.stop();
        await standIn.stop();
      }
    },
  );
});
