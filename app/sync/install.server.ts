/** What happens when a shop installs (or reinstalls) the app. */
import type { PrismaClient } from "@prisma/client";
import { notifyScheduler } from "./runtime.server";

export async function onInstalled(db: PrismaClient, shopDomain: string): Promise<void> {
  const existing = await db.shop.findUnique({
    where: { domain: shopDomain },
    select: { backfillStatus: true },
  });
  await db.shop.upsert({
    where: { domain: shopDomain },
    create: { domain: shopDomain, backfillStatus: "pending" },
    // A reinstall after an uninstall starts over: the history may have changed meanwhile.
    update: {
      uninstalledAt: null,
      ...(existing?.backfillStatus === "done" ? {} : { backfillStatus: "pending" }),
    },
  });
  notifyScheduler();
}
