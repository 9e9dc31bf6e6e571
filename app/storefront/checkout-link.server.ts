/**
 * The link between a web pixel's checkout_completed and the order it made (CONTRACTS C5), for
 * the order that arrives after the event: the pixel endpoint keeps the event's checkout token in
 * PendingCheckoutLink, and whatever stores orders (webhooks, backfill, reconciliation: applyOrder)
 * calls linkPendingCheckout in its transaction.
 */
import type { Prisma, PrismaClient } from "@prisma/client";

/** A pending checkout link whose order never came is forgotten after this long. */
export const PENDING_LINK_DAYS = 30;

/**
 * Called where an order is stored (in its transaction): a pixel's checkout_completed that came
 * before the order links it now, when the token (and the order id, when the event had one) agree.
 * The visitor is then linked to the order's customer. Returns the visitor linked, if any.
 */
export async function linkPendingCheckout(
  tx: Prisma.TransactionClient,
  shopId: number,
  order: { id: number; shopifyId: string; checkoutToken: string | null; customerShopifyId: string | null },
): Promise<string | null> {
  if (!order.checkoutToken) return null;
  const link = await tx.pendingCheckoutLink.findUnique({
    where: { shopId_checkoutToken: { shopId, checkoutToken: order.checkoutToken } },
  });
  if (!link) return null;
  if (link.orderShopifyId && link.orderShopifyId !== order.shopifyId) return null;
  const visitor = await tx.visitor.findUnique({ where: { id: link.visitorId }, select: { shopId: true } });
  await tx.pendingCheckoutLink.delete({
    where: { shopId_checkoutToken: { shopId, checkoutToken: order.checkoutToken } },
  });
  if (!visitor || visitor.shopId !== shopId) return null;
  const updated = await tx.order.updateMany({
    where: { id: order.id, visitorId: null },
    data: { visitorId: link.visitorId },
  });
  if (!updated.count) return null;
  if (order.customerShopifyId)
    await tx.visitor.update({
      where: { id: link.visitorId },
      data: { customerShopifyId: order.customerShopifyId },
    });
  return link.visitorId;
}

/** Pending links older than PENDING_LINK_DAYS: their order is not coming (or not for this app). */
export async function forgetStalePendingLinks(db: PrismaClient, now: Date): Promise<number> {
  const before = new Date(now.getTime() - PENDING_LINK_DAYS * 24 * 3600_000);
  return (await db.pendingCheckoutLink.deleteMany({ where: { createdAt: { lt: before } } })).count;
}
