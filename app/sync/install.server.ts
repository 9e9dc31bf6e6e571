/** What happens when a shop installs (or reinstalls) the app. */
import type { PrismaClient } from "@prisma/client";
import { notifyScheduler } from "./runtime.server";

/**
 * Called after the library obtained an offline token for the shop by token exchange (afterAuth):
 * the shop is installed as of now, so an uninstall event from before now is stale. A reinstall
 * (the shop was uninstalled) starts over with a fresh backfill: the shop's data may have changed
 * while the app was away and no webhook told it.
 */
export async function onInstalled(db: PrismaClient, shopDomain: string, now = new Date()): Promise<void> {
  const existing = await db.shop.findUnique({
    where: { domain: shopDomain },
    select: { uninstalledAt: true, backfillStatus: true },
  });
  const reinstall = !!existing?.uninstalledAt;
  await db.shop.upsert({
    where: { domain: shopDomain },
    create: { domain: shopDomain, backfillStatus: "pending", installedAt: now },
    update: {
      installedAt: now,
      uninstalledAt: null,
      ...(reinstall
        ? { backfillStatus: "pending", backfillAt: null, reconciledAt: null }
        : existing?.backfillStatus === "done"
          ? {}
          : { backfillStatus: "pending" }),
    },
  });
  notifyScheduler();
}
