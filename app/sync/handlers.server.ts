/**
 * What each webhook topic does to the shop's copy, one event at a time. The inbox worker applies
 * the busy topics set-based, a batch at once (batch-apply.server.ts, the same rules); this is its
 * path for the rare topics, for a batch that failed as a whole, and for any handler put in this
 * table in place of the standard one. Called inside the transaction that also marks the event
 * done, so an event is applied exactly once.
 */
import { z } from "zod";
import {
  applyScopesUpdate,
  applyUninstall,
  grantedScopesOf,
  parseScopesUpdate,
  reimportIfHistoryGranted,
} from "./lifecycle.server";
import {
  applyCart,
  applyCheckout,
  applyCustomer,
  applyOrder,
  applyRefund,
  applyShopifyTotals,
  applyShopUpdate,
  deleteCustomer,
  deleteOrder,
  isDeletedOrder,
  OrderNotYetSynced,
  type Tx,
} from "./apply.server";
import {
  cartFromWebhook,
  checkoutFromWebhook,
  customerFromWebhook,
  deletedCustomerId,
  deletedOrderId,
  orderFromWebhook,
  purchasingSummaryFromWebhook,
  refundFromWebhook,
  refundOrderId,
  shopFromWebhook,
} from "./from-webhook";
import { idValue, parseJson, parseWith, shopifyId } from "./payload";
import {
  eraseCustomer,
  eraseShop,
  exportCustomerData,
  type CustomerRef,
} from "../privacy/customer-data.server";
import { advisoryLocksSql } from "../db-hot.server";

export interface EventContext {
  tx: Tx;
  shop: { id: number; domain: string; currency: string };
  payload: unknown;
  /** When Shopify says the event happened (X-Shopify-Triggered-At), else when we received it. */
  at: Date;
  /**
   * Holds the entities this event writes (customer, order, checkout, cart) until the transaction
   * ends, so that two workers never apply events of one entity at once. Called before writing.
   */
  lock: EntityLock;
}

/** Keys such as `customer:123`; null and repeated keys are ignored. */
export type EntityLock = (keys: (string | null | undefined | false)[]) => Promise<void>;

/** SQLite has one writer: its transactions never run at once, so there is nothing to hold. */
export const noEntityLock: EntityLock = async () => {};

/**
 * PostgreSQL: one transaction-level advisory lock per entity, on `hashtext(shop:key)`, taken in
 * hash order in one statement so that two workers wanting the same pair of entities (an order and
 * its customer) queue rather than deadlock. Released when the apply transaction commits or rolls
 * back. This is what keeps a customer's derived totals (ordersCount, totalSpent, recomputed from
 * its orders) right when two of its orders are applied by two workers at once, and two first
 * events of one entity from both inserting it.
 */
export function advisoryEntityLock(tx: Tx, shopDomain: string): EntityLock {
  return async (keys) => {
    const wanted = [...new Set(keys.filter((k): k is string => !!k))].map((k) => `${shopDomain}:${k}`);
    if (!wanted.length) return;
    await tx.$queryRawUnsafe(advisoryLocksSql("$1"), wanted);
  };
}

export const customerKey = (id: string | null) => id && `customer:${id}`;
export const checkoutKeys = (token: string | null, id: string | null) => [
  token && `checkout:token:${token}`,
  id && `checkout:id:${id}`,
];

type Handler = (ctx: EventContext) => Promise<string>;

const order: Handler = async ({ tx, shop, payload, lock }) => {
  const o = orderFromWebhook(payload);
  await lock([
    customerKey(o.customerShopifyId),
    `order:${o.shopifyId}`,
    ...checkoutKeys(o.checkoutToken, o.checkoutShopifyId),
  ]);
  return applyOrder(tx, shop.id, o);
};
const customer: Handler = async ({ tx, shop, payload, lock }) => {
  const c = customerFromWebhook(payload);
  await lock([customerKey(c.shopifyId)]);
  return applyCustomer(tx, shop.id, c);
};
const cart: Handler = async ({ tx, shop, payload, lock }) => {
  const c = cartFromWebhook(payload, shop.currency);
  await lock([`cart:${c.token}`]);
  return applyCart(tx, shop.id, c);
};
const checkout: Handler = async ({ tx, shop, payload, lock }) => {
  const c = checkoutFromWebhook(payload);
  await lock([customerKey(c.customerShopifyId), ...checkoutKeys(c.token, c.shopifyId)]);
  return applyCheckout(tx, shop.id, c);
};

const purchasingSummary: Handler = async ({ tx, shop, payload, lock }) => {
  const summary = purchasingSummaryFromWebhook(payload);
  await lock([customerKey(summary.customerShopifyId)]);
  return applyShopifyTotals(tx, shop.id, summary.customerShopifyId, summary.totals);
};
const refund: Handler = async ({ tx, shop, payload, lock }) => {
  const orderId = refundOrderId(payload);
  const where = { shopId_shopifyId: { shopId: shop.id, shopifyId: orderId } };
  // The refund changes its order's total and so its customer's: hold both, as an order event does.
  const owner = await tx.order.findUnique({ where, select: { customerShopifyId: true } });
  await lock([customerKey(owner?.customerShopifyId ?? null), `order:${orderId}`]);
  const held = await tx.order.findUnique({ where, select: { currency: true } });
  // A refund of an order Shopify deleted has nothing left to change.
  if (!held && (await isDeletedOrder(tx, shop.id, orderId))) return "stale";
  if (!held) throw new OrderNotYetSynced(`order ${orderId} is not synced yet; the refund waits for it`);
  const { refund: record } = refundFromWebhook(payload, held.currency);
  return applyRefund(tx, shop.id, orderId, record);
};

const redactSchema = z
  .object({
    customer: z.object({ id: idValue.nullish(), email: z.string().nullish() }).passthrough(),
    orders_to_redact: z.array(idValue).nullish(),
    orders_requested: z.array(idValue).nullish(),
    data_request: z.object({ id: idValue.nullish() }).passthrough().nullish(),
  })
  .passthrough();

/** Who a privacy request is about: the customer's id and email, and the orders it names. */
function customerRefOf(
  request: z.output<typeof redactSchema>,
  orders: (string | number)[] | null | undefined,
): CustomerRef {
  return {
    customerId: shopifyId(request.customer.id),
    email: request.customer.email?.trim() || null,
    orderIds: (orders ?? []).map((o) => shopifyId(o)).filter((o): o is string => !!o),
  };
}

export const handlers: Record<string, Handler> = {
  "orders/create": order,
  "orders/updated": order,
  "orders/paid": order,
  "orders/cancelled": order,
  "orders/edited": order,
  async "orders/delete"({ tx, shop, payload, at, lock }) {
    const id = deletedOrderId(payload);
    const where = { shopId_shopifyId: { shopId: shop.id, shopifyId: id } };
    const owner = await tx.order.findUnique({ where, select: { customerShopifyId: true } });
    await lock([customerKey(owner?.customerShopifyId ?? null), `order:${id}`]);
    return deleteOrder(tx, shop.id, id, at);
  },
  "customers/create": customer,
  "customers/update": customer,
  "customers/purchasing_summary": purchasingSummary,
  async "shop/update"({ tx, shop, payload, at, lock }) {
    const update = shopFromWebhook(payload);
    await lock(["shop"]);
    return applyShopUpdate(tx, shop.id, { ...update, version: update.updatedAt ?? at });
  },
  async "customers/delete"({ tx, shop, payload, at, lock }) {
    const id = deletedCustomerId(payload);
    await lock([customerKey(id)]);
    return deleteCustomer(tx, shop.id, id, at);
  },
  "carts/create": cart,
  "carts/update": cart,
  "checkouts/create": checkout,
  "checkouts/update": checkout,
  "refunds/create": refund,
  async "app/uninstalled"({ tx, shop, at, lock }) {
    await lock(["shop"]);
    // Usually already applied when it was received; stale if the shop was installed again since.
    return (await applyUninstall(tx, shop.domain, at)) === "stale"
      ? "skipped: the shop was installed again after this uninstall"
      : "applied";
  },
  async "app/scopes_update"({ tx, shop, payload }) {
    const update = parseScopesUpdate(payload);
    const before = await grantedScopesOf(tx, shop.domain);
    const sessions = await applyScopesUpdate(tx, shop.domain, update);
    const reimport = await reimportIfHistoryGranted(tx, shop.domain, update, before);
    // The scheduler's next turn (within 30 s) starts the import.
    return `applied: ${update.current.join(",")} on ${sessions} session(s)${
      reimport ? "; read_all_orders granted: the order history is imported again" : ""
    }`;
  },
  async "customers/data_request"({ tx, shop, payload, at }) {
    const request = parseWith(redactSchema, payload, "data request");
    const who = customerRefOf(request, request.orders_requested);
    const requestId = shopifyId(request.data_request?.id) ?? null;
    const { id, counts } = await exportCustomerData(tx, shop.id, who, requestId, at);
    return `applied: export #${id} (${counts.customers} customer, ${counts.orders} order, ${counts.events} storefront event records)`;
  },
  async "customers/redact"({ tx, shop, payload, lock }) {
    const request = parseWith(redactSchema, payload, "redact request");
    const who = customerRefOf(request, request.orders_to_redact);
    await lock([customerKey(who.customerId), ...who.orderIds.map((o) => `order:${o}`)]);
    await eraseCustomer(tx, shop, who);
    return "applied";
  },
  async "shop/redact"({ tx, shop, lock }) {
    await lock(["shop"]);
    await eraseShop(tx, shop);
    return "applied";
  },
};

/**
 * The handlers the worker applies set-based, a whole batch at once (batch-apply.server.ts holds
 * the same rules for many events): an event whose topic has one of these is applied there; any
 * other handler (the rare topics, or one put in this table in place of the standard one) runs
 * per event.
 */
const SET_BASED: ReadonlySet<Handler> = new Set([order, customer, cart, checkout, refund, purchasingSummary]);

/** Whether the worker applies events of this topic in batches (see SET_BASED). */
export function appliedInBatches(topic: string): boolean {
  const handler = Object.hasOwn(handlers, topic) ? handlers[topic] : undefined;
  return !!handler && SET_BASED.has(handler);
}

export class UnknownTopic extends Error {
  override name = "UnknownTopic";
}

export type ShopRef = EventContext["shop"];

export async function shopFor(tx: Tx, domain: string): Promise<ShopRef> {
  return tx.shop.upsert({
    where: { domain },
    create: { domain },
    update: {},
    select: { id: true, domain: true, currency: true },
  });
}

/** Topics after which a cached shop row must be read again. */
export const SHOP_CHANGING_TOPICS = new Set(["shop/redact", "app/uninstalled", "shop/update"]);

export async function handleEvent(
  tx: Tx,
  event: { shopDomain: string; topic: string; payload: string; triggeredAt: Date | null },
  now: Date,
  shop?: ShopRef,
  lock: EntityLock = noEntityLock,
): Promise<string> {
  const handler = handlers[event.topic];
  if (!handler) throw new UnknownTopic(`no handler for topic "${event.topic}"`);
  const ref = shop ?? (await shopFor(tx, event.shopDomain));
  return handler({ tx, shop: ref, payload: parseJson(event.payload), at: event.triggeredAt ?? now, lock });
}
