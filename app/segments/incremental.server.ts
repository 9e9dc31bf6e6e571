/** Who a just-applied webhook touched, and what about them: the input of updateMembership. */
import type { PrismaClient } from "@prisma/client";
import type { Touch } from "../engine/fields-of";
import { parseJson, resourceId, shopifyId } from "../sync/payload";
import { updateMembership } from "./store.server";
import { redeemCodes } from "../offers/pool.server";
import { splitList } from "../sync/records";
import { processReferralOrder } from "../offers/referrals.server";
import { adminApiFor, type AdminApi } from "../sync/admin-api.server";
import { scrubInbox } from "../privacy/customer-data.server";

interface Touched {
  customers: string[];
  what: Touch[];
}

type Loose = Record<string, unknown> & { customer?: { id?: unknown; admin_graphql_api_id?: unknown } | null };

export async function touchedBy(
  db: PrismaClient,
  shopId: number,
  topic: string,
  raw: string,
): Promise<Touched> {
  const payload = parseJson(raw) as Loose;
  const customerOf = (p: Loose) => (p.customer ? [resourceId(p.customer)] : []);
  const [resource] = topic.split("/");
  if (topic === "orders/delete") {
    // The order is gone: its customer is on the tombstone.
    const deleted = await db.deletedOrder.findUnique({
      where: { shopId_shopifyId: { shopId, shopifyId: resourceId(payload as { id?: unknown }) } },
      select: { customerShopifyId: true },
    });
    return {
      customers: deleted?.customerShopifyId ? [deleted.customerShopifyId] : [],
      what: ["orders", "customer"],
    };
  }
  if (topic === "customers/purchasing_summary") {
    const id = shopifyId(payload.customerId);
    return { customers: id ? [id] : [], what: ["customer", "orders"] };
  }
  switch (resource) {
    case "orders":
      return { customers: customerOf(payload), what: ["orders", "customer"] };
    case "customers":
      return {
        customers: payload.id !== undefined ? [resourceId(payload as { id?: unknown })] : [],
        what: ["customer", "orders"],
      };
    case "checkouts":
      return { customers: customerOf(payload), what: ["checkouts"] };
    case "refunds": {
      const order = await db.order.findUnique({
        where: { shopId_shopifyId: { shopId, shopifyId: shopifyId(payload.order_id) ?? "" } },
        select: { customerShopifyId: true },
      });
      return {
        customers: order?.customerShopifyId ? [order.customerShopifyId] : [],
        what: ["orders", "customer"],
      };
    }
    case "carts": {
      const visitors = await db.visitor.findMany({
        where: { shopId, cartToken: String(payload.token ?? ""), customerShopifyId: { not: null } },
        select: { customerShopifyId: true },
      });
      return { customers: visitors.map((v) => v.customerShopifyId!), what: ["cart"] };
    }
    default:
      return { customers: [], what: [] };
  }
}

/** The worker's after-apply step: keep the touched people's memberships current. */
export async function afterWebhook(
  db: PrismaClient,
  event: { shopDomain: string; topic: string; payload: string },
  now: Date,
  adminFor: (shop: string) => Promise<AdminApi> = (shop) => adminApiFor(db, shop),
): Promise<void> {
  // The redacted customer's copies in the inbox: erased now, outside the apply transaction.
  if (event.topic === "customers/redact") await scrubInbox(db, event.shopDomain);
  const shop = await db.shop.findUnique({ where: { domain: event.shopDomain }, select: { id: true } });
  if (!shop) return;
  const { customers, what } = await touchedBy(db, shop.id, event.topic, event.payload);
  await updateMembership(db, shop.id, customers, what, now);
  // An order that used one of our codes redeems it (the offer's conversion, by code).
  if (event.topic.startsWith("orders/")) {
    const id = resourceId(parseJson(event.payload) as { id?: unknown });
    const order = await db.order.findUnique({
      where: { shopId_shopifyId: { shopId: shop.id, shopifyId: id } },
      select: { shopifyId: true, discountCodes: true, processedAt: true },
    });
    if (order?.discountCodes)
      await redeemCodes(db, shop.id, { ...order, discountCodes: splitList(order.discountCodes) });
  }
  // A friend's order through a referral code: the referrer's reward is granted, refused or withdrawn.
  if (event.topic.startsWith("orders/") || event.topic.startsWith("refunds/")) {
    const payload = parseJson(event.payload) as { id?: unknown; order_id?: unknown };
    const id = event.topic.startsWith("refunds/") ? shopifyId(payload.order_id) : resourceId(payload);
    if (id) await processReferralOrder(db, () => adminFor(event.shopDomain), shop.id, id, now);
  }
}
