/** What the home and sync health pages show: how much of the shop is held, how fresh it is, and what failed. */
import type { PrismaClient } from "@prisma/client";
import { inboxStats, type InboxStats } from "./inbox.server";
import { BULK_PHASES } from "./queries";
import { explainFailedEvent, explainImportFailure, type ImportFailureKind } from "../engine/sync-words";

export interface FailedEvent {
  id: number;
  topic: string;
  status: string;
  attempts: number;
  lastError: string | null;
  receivedAt: string;
  nextAttemptAt: string;
  /** The failure in a merchant's words (engine/sync-words.ts); lastError stays the technical detail. */
  summary: string;
  next: string;
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
    /** The import's phases in order (customers, orders, …): progress is the phase's place in it. */
    phases: string[];
    counts: Record<string, number>;
    /** A failed import in words, and what to do (null unless it failed). */
    failure: { kind: ImportFailureKind; summary: string; next: string } | null;
    /** Failed attempts in a row, and when the next automatic one starts. */
    attempts: number;
    retryAt: string | null;
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
      phases: [...BULK_PHASES],
      counts: lastBackfill ? (JSON.parse(lastBackfill.counts) as Record<string, number>) : {},
      failure:
        lastBackfill?.status === "failed" && shop?.backfillStatus === "failed"
          ? explainImportFailure(lastBackfill.error ?? "")
          : null,
      attempts: shop?.backfillAttempts ?? 0,
      retryAt: shop?.backfillRetryAt?.toISOString() ?? null,
    },
    reconciledAt: shop?.reconciledAt?.toISOString() ?? null,
    inbox: inboxCounts,
    failed: failed.map((f) => ({
      ...f,
      ...explainFailedEvent(f.topic, f.lastError, f.status),
      receivedAt: f.receivedAt.toISOString(),
      nextAttemptAt: f.nextAttemptAt.toISOString(),
    })),
  };
}
