/**
 * What each webhook topic does to the shop's copy. Called by the inbox worker inside the
 * transaction that also marks the event done, so an event is applied exactly once.
 */
import { z } from "zod";
import {
  applyCart,
  applyCheckout,
  applyCustomer,
  applyOrder,
  applyRefund,
  deleteCustomer,
  OrderNotYetSynced,
  type Tx,
} from "./apply.server";
import {
  cartFromWebhook,
  checkoutFromWebhook,
  customerFromWebhook,
  deletedCustomerId,
  orderFromWebhook,
  refundFromWebhook,
  refundOrderId,
} from "./from-webhook";
import { idValue, parseJson, parseWith, shopifyId } from "./payload";

export interface EventContext {
  tx: Tx;
  shop: { id: number; domain: string; currency: string };
  payload: unknown;
  /** When Shopify says the event happened (X-Shopify-Triggered-At), else when we received it. */
  at: Date;
}

type Handler = (ctx: EventContext) => Promise<string>;

const order: Handler = ({ tx, shop, payload }) => applyOrder(tx, shop.id, orderFromWebhook(payload));
const customer: Handler = ({ tx, shop, payload }) => applyCustomer(tx, shop.id, customerFromWebhook(payload));
const cart: Handler = ({ tx, shop, payload }) =>
  applyCart(tx, shop.id, cartFromWebhook(payload, shop.currency));
const checkout: Handler = ({ tx, shop, payload }) => applyCheckout(tx, shop.id, checkoutFromWebhook(payload));

const redactSchema = z
  .object({
    customer: z.object({ id: idValue.nullish(), email: z.string().nullish() }).passthrough(),
    orders_to_redact: z.array(idValue).nullish(),
  })
  .passthrough();

export const handlers: Record<string, Handler> = {
  "orders/create": order,
  "orders/updated": order,
  "orders/paid": order,
  "orders/cancelled": order,
  "orders/edited": order,
  "customers/create": customer,
  "customers/update": customer,
  "customers/delete": ({ tx, shop, payload, at }) =>
    deleteCustomer(tx, shop.id, deletedCustomerId(payload), at),
  "carts/create": cart,
  "carts/update": cart,
  "checkouts/create": checkout,
  "checkouts/update": checkout,
  async "refunds/create"({ tx, shop, payload }) {
    const orderId = refundOrderId(payload);
    const held = await tx.order.findUnique({
      where: { shopId_shopifyId: { shopId: shop.id, shopifyId: orderId } },
      select: { currency: true },
    });
    if (!held) throw new OrderNotYetSynced(`order ${orderId} is not synced yet; the refund waits for it`);
    const { refund } = refundFromWebhook(payload, held.currency);
    return applyRefund(tx, shop.id, orderId, refund);
  },
  async "app/uninstalled"({ tx, shop, at }) {
    await tx.shop.update({ where: { id: shop.id }, data: { uninstalledAt: at } });
    await tx.session.deleteMany({ where: { shop: shop.domain } });
    return "applied";
  },
  async "customers/data_request"({ tx, shop, payload }) {
    const request = parseWith(redactSchema, payload, "data request");
    const id = shopifyId(request.customer.id);
    const [customers, orders] = await Promise.all([
      tx.customer.count({ where: { shopId: shop.id, shopifyId: id ?? "" } }),
      tx.order.count({ where: { shopId: shop.id, customerShopifyId: id ?? "" } }),
    ]);
    return `applied: holds ${customers} customer and ${orders} order records for customer ${id}`;
  },
  async "customers/redact"({ tx, shop, payload }) {
    const request = parseWith(redactSchema, payload, "redact request");
    const id = shopifyId(request.customer.id);
    const orderIds = (request.orders_to_redact ?? [])
      .map((o) => shopifyId(o))
      .filter((o): o is string => !!o);
    if (id) {
      await tx.order.deleteMany({ where: { shopId: shop.id, customerShopifyId: id } });
      await tx.checkout.deleteMany({ where: { shopId: shop.id, customerShopifyId: id } });
      await tx.visitor.deleteMany({ where: { shopId: shop.id, customerShopifyId: id } });
      await tx.customer.deleteMany({ where: { shopId: shop.id, shopifyId: id } });
    }
    if (orderIds.length)
      await tx.order.deleteMany({ where: { shopId: shop.id, shopifyId: { in: orderIds } } });
    if (request.customer.email)
      await tx.checkout.deleteMany({ where: { shopId: shop.id, email: request.customer.email } });
    return "applied";
  },
  async "shop/redact"({ tx, shop }) {
    await tx.session.deleteMany({ where: { shop: shop.domain } });
    await tx.webhookEvent.deleteMany({ where: { shopDomain: shop.domain, status: { not: "processing" } } });
    await tx.shop.delete({ where: { id: shop.id } });
    return "applied";
  },
};

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
export const SHOP_CHANGING_TOPICS = new Set(["shop/redact", "app/uninstalled"]);

export async function handleEvent(
  tx: Tx,
  event: { shopDomain: string; topic: string; payload: string; triggeredAt: Date | null },
  now: Date,
  shop?: ShopRef,
): Promise<string> {
  const handler = handlers[event.topic];
  if (!handler) throw new UnknownTopic(`no handler for topic "${event.topic}"`);
  const ref = shop ?? (await shopFor(tx, event.shopDomain));
  return handler({ tx, shop: ref, payload: parseJson(event.payload), at: event.triggeredAt ?? now });
}
