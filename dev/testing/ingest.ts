/**
 * A generated store as the app holds it after its history arrived: every webhook delivered and
 * applied by the real inbox worker, and the catalogue (products with their collections and
 * types, which no webhook topic brings) written as the backfill writes it. Returns the shop id.
 */
import type { PrismaClient } from "@prisma/client";
import { insertDeliveries } from "../../app/sync/intake.server";
import { InboxWorker } from "../../app/sync/worker.server";
import { applyProduct } from "../../app/sync/apply.server";
import type { Store } from "../store";
import { deliveriesOf } from "./compare";

export async function ingestStore(db: PrismaClient, store: Store): Promise<number> {
  const events = deliveriesOf(store.events);
  for (let i = 0; i < events.length; i += 200) await insertDeliveries(db, events.slice(i, i + 200));
  // The worker's clock only schedules: far ahead, so every delivery is due.
  await new InboxWorker(db, { now: () => new Date("2031-01-01") }).drain();
  const shopId = (await db.shop.findUniqueOrThrow({ where: { domain: store.shop.domain } })).id;
  await db.$transaction(async (tx) => {
    for (const p of store.products)
      await applyProduct(tx, shopId, {
        shopifyId: p.id,
        title: p.title,
        handle: p.handle,
        vendor: p.vendor,
        productType: p.productType,
        tags: p.tags,
        updatedAt: p.updatedAt,
        collectionIds: p.collectionIds,
      });
  });
  return shopId;
}
