/**
 * Writes normalised records into the shop's copy. Every write is order-safe: a record carries the
 * `updatedAt` Shopify gave it, and an older version never replaces a newer one, whichever path
 * (webhook, backfill, reconciliation) brought it and in whatever order it arrived. The inbox
 * worker's batched apply (batch-apply.server.ts) follows the same rules for many events at once.
 */
import type { Prisma } from "@prisma/client";
import { lifetimeFigures, type ShopifyTotals } from "../engine/lifetime";
import { joinList } from "./records";
import { linkPendingCheckout } from "../storefront/checkout-link.server";
import type {
  CartRecord,
  CheckoutRecord,
  CollectionRecord,
  CustomerRecord,
  OrderRecord,
  ProductRecord,
  RefundRecord,
} from "./records";

export type Tx = Prisma.TransactionClient;
/** applied: the copy changed; unchanged: it already held this version; stale: it holds a newer one. */
export type Outcome = "applied" | "unchanged" | "stale";

/** The version guard: null when the incoming version is newer than the one held (so it applies). */
export function compare(held: Date, incoming: Date): Outcome | null {
  if (held > incoming) return "stale";
  if (held.getTime() === incoming.getTime()) return "unchanged";
  return null;
}

/** Placeholder version for a row created from a reference (an order naming its customer). */
export const UNKNOWN_VERSION = new Date(0);

/** A customer record as the Customer table's columns (the webhook path and the batched apply both write these). */
export function customerData(c: CustomerRecord) {
  return {
    email: c.email,
    firstName: c.firstName,
    lastName: c.lastName,
    state: c.state,
    tags: joinList(c.tags),
    acceptsEmailMarketing: c.acceptsEmailMarketing,
    countryCode: c.countryCode,
    provinceCode: c.provinceCode,
    city: c.city,
    shopifyCreatedAt: c.createdAt,
    shopifyUpdatedAt: c.updatedAt,
  };
}

export async function applyCustomer(tx: Tx, shopId: number, c: CustomerRecord): Promise<Outcome> {
  const key = { shopId_shopifyId: { shopId, shopifyId: c.shopifyId } };
  const existing = await tx.customer.findUnique({
    where: key,
    select: { id: true, shopifyUpdatedAt: true, deletedAt: true },
  });
  if (existing) {
    const held = compare(existing.shopifyUpdatedAt, c.updatedAt);
    if (existing.deletedAt && existing.deletedAt >= c.updatedAt) return "stale";
    if (!held)
      await tx.customer.update({ where: { id: existing.id }, data: { ...customerData(c), deletedAt: null } });
    // Shopify's lifetime figures have a version of their own (a purchasing summary may be newer).
    const totals = c.shopifyTotals
      ? await applyShopifyTotals(tx, shopId, c.shopifyId, c.shopifyTotals)
      : null;
    return held ? (totals === "applied" ? "applied" : held) : "applied";
  }
  await tx.customer.create({ data: { shopId, shopifyId: c.shopifyId, ...customerData(c) } });
  if (c.shopifyTotals) await applyShopifyTotals(tx, shopId, c.shopifyId, c.shopifyTotals);
  else await refreshCustomerStats(tx, shopId, c.shopifyId);
  return "applied";
}

/**
 * Makes sure a customer an order or checkout names exists. The customer embedded in an order is
 * partial (no address or consent in some versions), so it never counts as a version of its own:
 * it only seeds a row that any full customer record then replaces.
 */
async function touchCustomer(tx: Tx, shopId: number, embedded: CustomerRecord | null, id: string | null) {
  if (!id) return;
  const key = { shopId_shopifyId: { shopId, shopifyId: id } };
  if (await tx.customer.findUnique({ where: key, select: { id: true } })) return;
  await tx.customer.create({
    data: {
      shopId,
      shopifyId: id,
      ...(embedded ? customerData(embedded) : {}),
      shopifyUpdatedAt: UNKNOWN_VERSION,
    },
  });
}

export async function deleteCustomer(tx: Tx, shopId: number, shopifyId: string, at: Date): Promise<Outcome> {
  const key = { shopId_shopifyId: { shopId, shopifyId } };
  const existing = await tx.customer.findUnique({ where: key, select: { shopifyUpdatedAt: true } });
  if (existing && existing.shopifyUpdatedAt > at) return "stale";
  // A deleted customer keeps a tombstone (so a late update cannot bring it back) and no PII.
  const erased = {
    email: null,
    firstName: null,
    lastName: null,
    city: null,
    provinceCode: null,
    countryCode: null,
  };
  const { id } = await tx.customer.upsert({
    where: key,
    create: { shopId, shopifyId, ...erased, deletedAt: at, shopifyUpdatedAt: at },
    update: { ...erased, deletedAt: at, shopifyUpdatedAt: at },
    select: { id: true },
  });
  // Nor any prediction (issue 17): a deleted customer is in no predicted segment.
  await tx.customerPrediction.deleteMany({ where: { customerId: id } });
  return "applied";
}

/**
 * ordersCount, totalSpent and first/last order: the orders held (test and cancelled excluded),
 * combined with Shopify's lifetime figures when it counts orders the app does not hold
 * (app/engine/lifetime.ts, the same function the evaluator uses).
 */
export async function refreshCustomerStats(tx: Tx, shopId: number, customerShopifyId: string): Promise<void> {
  const [orders, customer] = await Promise.all([
    tx.order.findMany({
      where: { shopId, customerShopifyId },
      select: { totalPrice: true, totalRefunded: true, processedAt: true, cancelledAt: true, test: true },
    }),
    tx.customer.findUnique({
      where: { shopId_shopifyId: { shopId, shopifyId: customerShopifyId } },
      select: { shopifyOrdersCount: true, shopifySpent: true, shopifyTotalsAt: true },
    }),
  ]);
  const life = lifetimeFigures(
    orders.map((o) => ({
      processedAt: o.processedAt,
      total: o.totalPrice,
      refunded: o.totalRefunded,
      cancelled: o.cancelledAt !== null,
      test: o.test,
    })),
    shopifyTotalsOf(customer),
  );
  await tx.customer.updateMany({
    where: { shopId, shopifyId: customerShopifyId },
    data: {
      ordersCount: life.ordersCount,
      totalSpent: life.totalSpent,
      firstOrderAt: life.firstOrderAt,
      lastOrderAt: life.lastOrderAt,
    },
  });
}

/** The stored Shopify figures as the engine takes them (null unless all three are there). */
export function shopifyTotalsOf(
  row: {
    shopifyOrdersCount: number | null;
    shopifySpent: number | null;
    shopifyTotalsAt: Date | null;
  } | null,
): ShopifyTotals | null {
  if (!row || row.shopifyOrdersCount === null || row.shopifySpent === null || !row.shopifyTotalsAt)
    return null;
  return { orders: row.shopifyOrdersCount, spent: row.shopifySpent, at: row.shopifyTotalsAt };
}

/**
 * Shopify's lifetime figures for a customer, as of `totals.at`: kept only when newer than the ones
 * held (an older snapshot, from a late webhook or a slow bulk export, never replaces a newer one),
 * then the customer's derived figures are recomputed. A customer not held yet gets a placeholder
 * row (as an order naming it does) that its full record then fills.
 */
export async function applyShopifyTotals(
  tx: Tx,
  shopId: number,
  customerShopifyId: string,
  totals: ShopifyTotals,
): Promise<Outcome> {
  const key = { shopId_shopifyId: { shopId, shopifyId: customerShopifyId } };
  const held = await tx.customer.findUnique({
    where: key,
    select: { shopifyTotalsAt: true, deletedAt: true },
  });
  if (held?.deletedAt) return "stale";
  if (held?.shopifyTotalsAt) {
    const outcome = compare(held.shopifyTotalsAt, totals.at);
    if (outcome) return outcome;
  }
  const data = { shopifyOrdersCount: totals.orders, shopifySpent: totals.spent, shopifyTotalsAt: totals.at };
  if (held) await tx.customer.update({ where: key, data });
  else
    await tx.customer.create({
      data: { shopId, shopifyId: customerShopifyId, shopifyUpdatedAt: UNKNOWN_VERSION, ...data },
    });
  await refreshCustomerStats(tx, shopId, customerShopifyId);
  return "applied";
}

/** An order record as the Order table's columns (the batched apply writes these too). */
export function orderColumns(o: OrderRecord) {
  return {
    name: o.name,
    customerShopifyId: o.customerShopifyId,
    email: o.email,
    currency: o.currency,
    totalPrice: o.totalPrice,
    subtotalPrice: o.subtotalPrice,
    totalDiscounts: o.totalDiscounts,
    totalTax: o.totalTax,
    financialStatus: o.financialStatus,
    fulfillmentStatus: o.fulfillmentStatus,
    cancelledAt: o.cancelledAt,
    cancelReason: o.cancelReason,
    closedAt: o.closedAt,
    discountCodes: joinList(o.discountCodes.map((c) => c.toLowerCase())),
    tags: joinList(o.tags),
    cartToken: o.cartToken,
    checkoutToken: o.checkoutToken,
    checkoutShopifyId: o.checkoutShopifyId,
    sourceName: o.sourceName,
    shippingAddressHash: o.shippingAddressHash,
    test: o.test,
    processedAt: o.processedAt,
    shopifyCreatedAt: o.createdAt,
    shopifyUpdatedAt: o.updatedAt,
  };
}

function orderData(o: OrderRecord) {
  return {
    ...orderColumns(o),
    // The Admin GraphQL copy has no cart/checkout tokens: keep the webhook's (undefined = untouched).
    cartToken: o.cartToken ?? undefined,
    checkoutToken: o.checkoutToken ?? undefined,
    checkoutShopifyId: o.checkoutShopifyId ?? undefined,
  };
}

export async function applyOrder(tx: Tx, shopId: number, o: OrderRecord): Promise<Outcome> {
  // Shopify never restores a deleted order: any copy of it arriving later is stale.
  if (await isDeletedOrder(tx, shopId, o.shopifyId)) return "stale";
  const existing = await tx.order.findUnique({
    where: { shopId_shopifyId: { shopId, shopifyId: o.shopifyId } },
    select: { id: true, shopifyUpdatedAt: true, customerShopifyId: true },
  });
  const held = existing && compare(existing.shopifyUpdatedAt, o.updatedAt);
  if (existing && held) {
    // Refunds are immutable facts keyed by id: even a stale copy may bring one we lack.
    if (o.refunds?.length) await mergeRefunds(tx, shopId, existing.id, o.refunds, existing.customerShopifyId);
    return held;
  }
  await touchCustomer(tx, shopId, o.customer, o.customerShopifyId);
  const order = existing
    ? await tx.order.update({ where: { id: existing.id }, data: orderData(o), select: { id: true } })
    : await tx.order.create({
        data: { shopId, shopifyId: o.shopifyId, ...orderData(o) },
        select: { id: true },
      });
  if (existing) await tx.lineItem.deleteMany({ where: { orderId: order.id } });
  await tx.lineItem.createMany({ data: o.lines.map((l) => ({ shopId, orderId: order.id, ...l })) });
  if (existing || o.refunds?.length) await mergeRefunds(tx, shopId, order.id, o.refunds ?? [], null);
  if (o.checkoutToken || o.checkoutShopifyId) {
    await tx.checkout.updateMany({
      where: {
        shopId,
        OR: [
          ...(o.checkoutToken ? [{ token: o.checkoutToken }] : []),
          ...(o.checkoutShopifyId ? [{ shopifyId: o.checkoutShopifyId }] : []),
        ],
      },
      data: { orderShopifyId: o.shopifyId },
    });
  }
  // A web pixel's checkout_completed that arrived before this order: the order gets its visitor.
  await linkPendingCheckout(tx, shopId, {
    id: order.id,
    shopifyId: o.shopifyId,
    checkoutToken: o.checkoutToken ?? null,
    customerShopifyId: o.customerShopifyId,
  });
  if (o.customerShopifyId) await refreshCustomerStats(tx, shopId, o.customerShopifyId);
  if (existing?.customerShopifyId && existing.customerShopifyId !== o.customerShopifyId)
    await refreshCustomerStats(tx, shopId, existing.customerShopifyId);
  return "applied";
}

async function mergeRefunds(
  tx: Tx,
  shopId: number,
  orderId: number,
  refunds: RefundRecord[],
  customerShopifyId: string | null,
): Promise<void> {
  for (const r of refunds) {
    await tx.refund.upsert({
      where: { shopId_shopifyId: { shopId, shopifyId: r.shopifyId } },
      create: { shopId, orderId, ...r },
      update: { amount: r.amount },
    });
  }
  const sum = await tx.refund.aggregate({ where: { orderId }, _sum: { amount: true } });
  await tx.order.update({ where: { id: orderId }, data: { totalRefunded: sum._sum.amount ?? 0 } });
  if (customerShopifyId) await refreshCustomerStats(tx, shopId, customerShopifyId);
}

export class OrderNotYetSynced extends Error {
  override name = "OrderNotYetSynced";
}

export async function applyRefund(
  tx: Tx,
  shopId: number,
  orderShopifyId: string,
  refund: RefundRecord,
): Promise<Outcome> {
  const order = await tx.order.findUnique({
    where: { shopId_shopifyId: { shopId, shopifyId: orderShopifyId } },
    select: { id: true, customerShopifyId: true },
  });
  if (!order)
    throw new OrderNotYetSynced(`order ${orderShopifyId} is not synced yet; the refund waits for it`);
  await mergeRefunds(tx, shopId, order.id, [refund], order.customerShopifyId);
  return "applied";
}

export async function applyCart(tx: Tx, shopId: number, c: CartRecord): Promise<Outcome> {
  const key = { shopId_token: { shopId, token: c.token } };
  const existing = await tx.cart.findUnique({ where: key, select: { id: true, shopifyUpdatedAt: true } });
  const held = existing && compare(existing.shopifyUpdatedAt, c.updatedAt);
  if (held) return held;
  const data = {
    currency: c.currency,
    totalPrice: c.lines.reduce((s, l) => s + l.price * l.quantity, 0),
    itemCount: c.lines.reduce((s, l) => s + l.quantity, 0),
    shopifyCreatedAt: c.createdAt,
    shopifyUpdatedAt: c.updatedAt,
  };
  const cart = existing
    ? await tx.cart.update({ where: { id: existing.id }, data, select: { id: true } })
    : await tx.cart.create({ data: { shopId, token: c.token, ...data }, select: { id: true } });
  await tx.cartLine.deleteMany({ where: { cartId: cart.id } });
  await tx.cartLine.createMany({ data: c.lines.map((l) => ({ cartId: cart.id, ...l })) });
  return "applied";
}

export async function applyCheckout(tx: Tx, shopId: number, c: CheckoutRecord): Promise<Outcome> {
  const existing = await tx.checkout.findUnique({
    where: { shopId_shopifyId: { shopId, shopifyId: c.shopifyId } },
    select: { id: true, shopifyUpdatedAt: true },
  });
  const held = existing && compare(existing.shopifyUpdatedAt, c.updatedAt);
  if (held) return held;
  await touchCustomer(tx, shopId, c.customer, c.customerShopifyId);
  const completedBy = c.token
    ? await tx.order.findFirst({
        where: { shopId, OR: [{ checkoutToken: c.token }, { checkoutShopifyId: c.shopifyId }] },
        select: { shopifyId: true },
      })
    : await tx.order.findFirst({
        where: { shopId, checkoutShopifyId: c.shopifyId },
        select: { shopifyId: true },
      });
  const data = {
    token: c.token ?? undefined,
    cartToken: c.cartToken ?? undefined,
    customerShopifyId: c.customerShopifyId,
    email: c.email,
    currency: c.currency,
    totalPrice: c.totalPrice,
    subtotalPrice: c.subtotalPrice,
    itemCount: c.lines.reduce((s, l) => s + l.quantity, 0),
    completedAt: c.completedAt,
    orderShopifyId: completedBy?.shopifyId ?? null,
    shopifyCreatedAt: c.createdAt,
    shopifyUpdatedAt: c.updatedAt,
  };
  const checkout = existing
    ? await tx.checkout.update({ where: { id: existing.id }, data, select: { id: true } })
    : await tx.checkout.create({ data: { shopId, shopifyId: c.shopifyId, ...data }, select: { id: true } });
  await tx.checkoutLine.deleteMany({ where: { checkoutId: checkout.id } });
  await tx.checkoutLine.createMany({ data: c.lines.map((l) => ({ checkoutId: checkout.id, ...l })) });
  return "applied";
}

export async function applyProduct(tx: Tx, shopId: number, p: ProductRecord): Promise<Outcome> {
  const key = { shopId_shopifyId: { shopId, shopifyId: p.shopifyId } };
  const existing = await tx.product.findUnique({ where: key, select: { shopifyUpdatedAt: true } });
  const held = existing && compare(existing.shopifyUpdatedAt, p.updatedAt);
  if (held) return held;
  const data = {
    title: p.title,
    handle: p.handle,
    vendor: p.vendor,
    productType: p.productType,
    tags: joinList(p.tags),
    shopifyUpdatedAt: p.updatedAt,
  };
  await tx.product.upsert({ where: key, create: { shopId, shopifyId: p.shopifyId, ...data }, update: data });
  if (p.collectionIds) await setProductCollections(tx, shopId, p.shopifyId, p.collectionIds);
  return "applied";
}

export async function setProductCollections(tx: Tx, shopId: number, productShopifyId: string, ids: string[]) {
  await tx.productCollection.deleteMany({ where: { shopId, productShopifyId } });
  await tx.productCollection.createMany({
    data: [...new Set(ids)].map((collectionShopifyId) => ({ shopId, productShopifyId, collectionShopifyId })),
  });
}

export async function applyCollection(tx: Tx, shopId: number, c: CollectionRecord): Promise<Outcome> {
  await tx.collection.upsert({
    where: { shopId_shopifyId: { shopId, shopifyId: c.shopifyId } },
    create: { shopId, ...c },
    update: { title: c.title, handle: c.handle },
  });
  return "applied";
}

export async function isDeletedOrder(tx: Tx, shopId: number, shopifyId: string): Promise<boolean> {
  const row = await tx.deletedOrder.findUnique({
    where: { shopId_shopifyId: { shopId, shopifyId } },
    select: { id: true },
  });
  return !!row;
}

/**
 * orders/delete: the order, its line items and refunds go and a tombstone stays (so a late
 * create or update never brings it back); its customer's figures are recomputed. Shopify's
 * lifetime figures held for the customer, when taken after the order was placed and before this
 * deletion, counted it: the deleted order is taken out of them too (until the next purchasing
 * summary or reconciliation brings newer ones).
 */
export async function deleteOrder(tx: Tx, shopId: number, shopifyId: string, at: Date): Promise<Outcome> {
  const key = { shopId_shopifyId: { shopId, shopifyId } };
  if (await tx.deletedOrder.findUnique({ where: key, select: { id: true } })) return "unchanged";
  const order = await tx.order.findUnique({
    where: key,
    select: {
      id: true,
      customerShopifyId: true,
      processedAt: true,
      totalPrice: true,
      totalRefunded: true,
      cancelledAt: true,
      test: true,
    },
  });
  const customerShopifyId = order?.customerShopifyId ?? null;
  await tx.deletedOrder.create({ data: { shopId, shopifyId, customerShopifyId, deletedAt: at } });
  if (!order) return "applied";
  await tx.order.delete({ where: { id: order.id } }); // line items and refunds cascade
  if (customerShopifyId) {
    const customer = await tx.customer.findUnique({
      where: { shopId_shopifyId: { shopId, shopifyId: customerShopifyId } },
      select: { shopifyOrdersCount: true, shopifySpent: true, shopifyTotalsAt: true },
    });
    const totals = shopifyTotalsOf(customer);
    if (totals && !order.test && order.processedAt <= totals.at && totals.at < at) {
      const spent = order.cancelledAt ? 0 : order.totalPrice - order.totalRefunded;
      await tx.customer.update({
        where: { shopId_shopifyId: { shopId, shopifyId: customerShopifyId } },
        data: {
          shopifyOrdersCount: Math.max(0, totals.orders - 1),
          shopifySpent: Math.max(0, totals.spent - spent),
        },
      });
    }
    await refreshCustomerStats(tx, shopId, customerShopifyId);
  }
  return "applied";
}

/**
 * shop/update: the shop's name, currency, time zone and primary domain. Its own version (`updated_at`, else when
 * the event happened): an older update never replaces a newer one.
 */
export async function applyShopUpdate(
  tx: Tx,
  shopId: number,
  update: {
    name: string | null;
    currency: string | null;
    ianaTimezone: string | null;
    primaryDomain?: string | null;
    version: Date;
  },
): Promise<Outcome> {
  const shop = await tx.shop.findUnique({ where: { id: shopId }, select: { shopifyUpdatedAt: true } });
  if (shop?.shopifyUpdatedAt) {
    const outcome = compare(shop.shopifyUpdatedAt, update.version);
    if (outcome) return outcome;
  }
  await tx.shop.update({
    where: { id: shopId },
    data: {
      shopifyUpdatedAt: update.version,
      ...(update.name ? { name: update.name } : {}),
      ...(update.currency ? { currency: update.currency } : {}),
      ...(update.ianaTimezone ? { ianaTimezone: update.ianaTimezone } : {}),
      ...(update.primaryDomain ? { primaryDomain: update.primaryDomain } : {}),
    },
  });
  return "applied";
}
