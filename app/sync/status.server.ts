/** What the home page shows: how much of the shop is held, how fresh it is, and what failed. */
import type { PrismaClient } from "@prisma/client";
import { inboxStats, type InboxStats } from "./inbox.server";

export interface FailedEvent {
  id: number;
  topic: string;
  status: string;
  attempts: number;
  lastError: string | null;
  receivedAt: string;
  nextAttemptAt: string;
}

export interface SyncState {
  shop: string;
  known: boolean;
  counts: { customers: number; orders: number; carts: number; checkouts: number; abandonedCheckouts: number };
  lastWebhookAt: string | null;
  backfill: {
    status: string;
    finishedAt: string | null;
    error: string | null;
    phase: string | null;
    counts: Record<string, number>;
  };
  reconciledAt: string | null;
  inbox: Omit<InboxStats, "lastReceivedAt">;
  failed: FailedEvent[];
}

export async function syncState(db: PrismaClient, shopDomain: string): Promise<SyncState> {
  const shop = await db.shop.findUnique({ where: { domain: shopDomain } });
  const inbox = await inboxStats(db, shopDomain);
  const failed = await db.webhookEvent.findMany({
    where: { shopDomain, status: { in: ["failed", "dead"] } },
    orderBy: { id: "desc" },
    take: 50,
    select: {
      id: true,
      topic: true,
      status: true,
      attempts: true,
      lastError: true,
      receivedAt: true,
      nextAttemptAt: true,
    },
  });
  const where = { shopId: shop?.id ?? -1 };
  const [customers, orders, carts, checkouts, abandonedCheckouts, lastBackfill] = await Promise.all([
    db.customer.count({ where: { ...where, deletedAt: null } }),
    db.order.count({ where }),
    db.cart.count({ where }),
    db.checkout.count({ where }),
    db.checkout.count({ where: { ...where, completedAt: null, orderShopifyId: null } }),
    db.syncRun.findFirst({ where: { ...where, kind: "backfill" }, orderBy: { id: "desc" } }),
  ]);
  const { lastReceivedAt, ...inboxCounts } = inbox;
  return {
    shop: shopDomain,
    known: !!shop,
    counts: { customers, orders, carts, checkouts, abandonedCheckouts },
    lastWebhookAt: (lastReceivedAt ?? shop?.lastWebhookAt)?.toISOString() ?? null,
    backfill: {
      status: shop?.backfillStatus ?? "pending",
      finishedAt: shop?.backfillAt?.toISOString() ?? null,
      error: lastBackfill?.status === "failed" ? lastBackfill.error : null,
      phase: lastBackfill?.status === "running" ? lastBackfill.phase : null,
      counts: lastBackfill ? (JSON.parse(lastBackfill.counts) as Record<string, number>) : {},
    },
    reconciledAt: shop?.reconciledAt?.toISOString() ?? null,
    inbox: inboxCounts,
    failed: failed.map((f) => ({
      ...f,
      receivedAt: f.receivedAt.toISOString(),
      nextAttemptAt: f.nextAttemptAt.toISOString(),
    })),
  };
}
