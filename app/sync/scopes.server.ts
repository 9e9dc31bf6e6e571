/**
 * Which access scopes Shopify granted the app on a shop, and what a missing `read_all_orders`
 * means for the merchant. The granted scopes are on the offline session (`Session.scope`, written
 * by the Shopify library when the merchant installs or accepts new scopes, and by the
 * app/scopes_update webhook).
 */
import type { PrismaClient } from "@prisma/client";
import { grantedScopesOf } from "./lifecycle.server";

export interface OrderHistoryAccess {
  /** The scopes on the shop's offline session; null when the shop has no offline session. */
  granted: string[] | null;
  /** True when the app cannot read orders older than 60 days. */
  limited: boolean;
}

export async function orderHistoryAccess(db: PrismaClient, shopDomain: string): Promise<OrderHistoryAccess> {
  const granted = await grantedScopesOf(db, shopDomain);
  if (!granted) return { granted: null, limited: false };
  return { granted, limited: !granted.includes("read_all_orders") };
}
