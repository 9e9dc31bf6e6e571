/**
 * One comparable picture of a shop, built either from the generated store (the truth) or from
 * what the app holds, so that tests can say "the copy equals the store" in one assertion.
 */
import type { PrismaClient } from "@prisma/client";
import type { Store } from "../store";
import { addressHash } from "../../app/sync/address";

export interface ShopPicture {
  customers: string[];
  orders: string[];
  checkouts: string[];
  carts: string[];
  products: string[];
}

export interface PictureOptions {
  /** Checkouts: "abandoned" for what the Admin API lists, "all" for what webhooks bring. */
  checkouts: "abandoned" | "all";
  carts: boolean;
  /** Products and collections come from the backfill only (no webhook topic carries collections). */
  products: boolean;
}

export function storePicture(store: Store, options: PictureOptions): ShopPicture {
  const live = store.orders.filter((o) => !o.cancelledAt);
  const refunded = (o: Store["orders"][number]) => o.refunds.reduce((s, r) => s + r.amount, 0);
  return {
    customers: store.customers
      .map((c) => {
        const mine = live.filter((o) => o.customerId === c.id);
        const spent = mine.reduce((s, o) => s + o.total - refunded(o), 0);
        return `${c.id} ${c.email} ${c.state} ${c.countryCode} ${c.acceptsMarketing} orders=${mine.length} spent=${spent}`;
      })
      .sort(),
    orders: store.orders
      .map((o) => {
        const lines = o.lines
          .map((l) => `${l.productId}x${l.quantity}@${l.price}`)
          .sort()
          .join(",");
        return `${o.id} ${o.customerId} ${o.total} refunded=${refunded(o)} cancelled=${!!o.cancelledAt} ${o.financialStatus} [${lines}] ship=${addressHash(o.shippingAddress)}`;
      })
      .sort(),
    checkouts: store.checkouts
      .filter((c) => options.checkouts === "all" || !c.completedAt)
      .map(
        (c) =>
          `${c.id} ${c.customerId} ${c.total} completed=${!!c.completedAt} items=${c.lines.reduce((s, l) => s + l.quantity, 0)}`,
      )
      .sort(),
    carts: options.carts
      ? store.carts
          .map(
            (c) =>
              `${c.token} items=${c.lines.reduce((s, l) => s + l.quantity, 0)} total=${c.lines.reduce((s, l) => s + l.quantity * l.price, 0)}`,
          )
          .sort()
      : [],
    products: options.products
      ? store.products.map((p) => `${p.id} ${p.title} [${[...p.collectionIds].sort().join(",")}]`).sort()
      : [],
  };
}

export async function heldPicture(
  db: PrismaClient,
  shopDomain: string,
  options: PictureOptions,
): Promise<ShopPicture> {
  const shop = await db.shop.findUniqueOrThrow({ where: { domain: shopDomain } });
  const where = { shopId: shop.id };
  const [customers, orders, checkouts, carts, products, memberships] = await Promise.all([
    db.customer.findMany({ where: { ...where, deletedAt: null } }),
    db.order.findMany({ where, include: { lineItems: true } }),
    db.checkout.findMany({ where, include: { lines: true } }),
    options.carts ? db.cart.findMany({ where }) : Promise.resolve([]),
    options.products ? db.product.findMany({ where }) : Promise.resolve([]),
    options.products ? db.productCollection.findMany({ where }) : Promise.resolve([]),
  ]);
  return {
    customers: customers
      .map(
        (c) =>
          `${c.shopifyId} ${c.email} ${c.state} ${c.countryCode} ${c.acceptsEmailMarketing} orders=${c.ordersCount} spent=${c.totalSpent}`,
      )
      .sort(),
    orders: orders
      .map((o) => {
        const lines = o.lineItems
          .map((l) => `${l.productId}x${l.quantity}@${l.price}`)
          .sort()
          .join(",");
        return `${o.shopifyId} ${o.customerShopifyId} ${o.totalPrice} refunded=${o.totalRefunded} cancelled=${!!o.cancelledAt} ${o.financialStatus} [${lines}] ship=${o.shippingAddressHash}`;
      })
      .sort(),
    checkouts: checkouts
      .filter((c) => options.checkouts === "all" || !(c.completedAt || c.orderShopifyId))
      .map(
        (c) =>
          `${c.shopifyId} ${c.customerShopifyId} ${c.totalPrice} completed=${!!c.completedAt} items=${c.itemCount}`,
      )
      .sort(),
    carts: carts.map((c) => `${c.token} items=${c.itemCount} total=${c.totalPrice}`).sort(),
    products: products
      .map((p) => {
        const ids = memberships
          .filter((m) => m.productShopifyId === p.shopifyId)
          .map((m) => m.collectionShopifyId)
          .sort();
        return `${p.shopifyId} ${p.title} [${ids.join(",")}]`;
      })
      .sort(),
  };
}

/** A store's webhook history as inbox deliveries (for tests that write the inbox directly). */
export function deliveriesOf(events: Store["events"]) {
  return events.map((e) => ({
    shopDomain: e.shop,
    topic: e.topic,
    eventId: e.eventId!,
    webhookId: null,
    triggeredAt: new Date(e.triggeredAt!),
    apiVersion: "2026-07",
    payload: JSON.stringify(e.payload),
  }));
}

export interface PictureDifference {
  key: keyof ShopPicture;
  /** In the store, not held (lost, or held with other values). */
  missing: string[];
  /** Held, not in the store (applied twice, stale, or invented). */
  extra: string[];
}

/** Each part of the picture where the copy differs from the store (a few lines of each); empty when equal. */
export function pictureDifferences(held: ShopPicture, truth: ShopPicture, sample = 3): PictureDifference[] {
  const out: PictureDifference[] = [];
  for (const key of Object.keys(truth) as (keyof ShopPicture)[]) {
    const heldSet = new Set(held[key]);
    const truthSet = new Set(truth[key]);
    const missing = truth[key].filter((l) => !heldSet.has(l));
    const extra = held[key].filter((l) => !truthSet.has(l));
    if (missing.length || extra.length || held[key].length !== truth[key].length)
      out.push({ key, missing: missing.slice(0, sample), extra: extra.slice(0, sample) });
  }
  return out;
}

/** How many records are in one picture and not the other (lost, or applied twice or wrongly). */
export function differingLines(held: ShopPicture, truth: ShopPicture): number {
  let n = 0;
  for (const key of Object.keys(truth) as (keyof ShopPicture)[]) {
    const heldSet = new Set(held[key]);
    const truthSet = new Set(truth[key]);
    n += truth[key].filter((l) => !heldSet.has(l)).length + held[key].filter((l) => !truthSet.has(l)).length;
  }
  return n;
}

/** How many records the picture holds (what a comparison covered). */
export const pictureSize = (p: ShopPicture): number =>
  Object.values(p).reduce((sum: number, lines: string[]) => sum + lines.length, 0);
