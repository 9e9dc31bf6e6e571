/** What happens when a shop installs (or reinstalls) the app. */
import type { PrismaClient } from "@prisma/client";
import { notifyScheduler } from "./runtime.server";
import { ensurePresets } from "../segments/store.server";
import { ensureStarterMessages } from "../messages/store.server";

/**
 * Called after the library obtained an offline token for the shop by token exchange (afterAuth):
 * the shop is installed as of now, so an uninstall event from before now is stale. A reinstall
 * (the shop was uninstalled) starts over with a fresh backfill: the shop's data may have changed
 * while the app was away and no webhook told it.
 *
 * The built-in segments and the starter messages (paused) are created here, before the history
 * import runs: a merchant has them even when the import fails. The top-spend segment's threshold
 * is corrected from the history once the import finishes (backfill.server.ts).
 */
export async function onInstalled(db: PrismaClient, shopDomain: string, now = new Date()): Promise<void> {
  const existing = await db.shop.findUnique({
    where: { domain: shopDomain },
    select: { uninstalledAt: true, backfillStatus: true },
  });
  const reinstall = !!existing?.uninstalledAt;
  const shop = await db.shop.upsert({
    where: { domain: shopDomain },
    create: { domain: shopDomain, backfillStatus: "pending", installedAt: now },
    update: {
      installedAt: now,
      uninstalledAt: null,
      // A new install (or the merchant opening the app again after a revoked token) may try at once.
      backfillRetryAt: null,
      ...(reinstall
        ? { backfillStatus: "pending", backfillAt: null, reconciledAt: null, backfillAttempts: 0 }
        : existing?.backfillStatus === "done"
          ? {}
          : { backfillStatus: "pending" }),
    },
    select: { id: true },
  });
  await ensurePresets(db, shop.id);
  await ensureStarterMessages(db, shop.id);
  notifyScheduler();
}
