/**
 * Which access scopes Shopify granted the app on a shop, and what a missing `read_all_orders`
 * means for the merchant. The granted scopes are on the offline session (`Session.scope`, written
 * by the Shopify library when the merchant installs or accepts new scopes, and by the
 * app/scopes_update webhook).
 */
import type { PrismaClient } from "@prisma/client";

export interface OrderHistoryAccess {
  /** The scopes on the shop's offline session; null when the shop has no offline session. */
  granted: string[] | null;
  /** True when the app cannot read orders older than 60 days. */
  limited: boolean;
}

export function scopesOf(scope: string | null | undefined): string[] {
  return (scope ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function orderHistoryAccess(db: PrismaClient, shopDomain: string): Promise<OrderHistoryAccess> {
  const session = await db.session.findFirst({
    where: { shop: shopDomain, isOnline: false },
    select: { scope: true },
  });
  if (!session) return { granted: null, limited: false };
  const granted = scopesOf(session.scope);
  return { granted, limited: !granted.includes("read_all_orders") };
}
