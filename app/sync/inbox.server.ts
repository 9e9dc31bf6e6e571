/**
 * The webhook inbox. A verified delivery is written here first (one row per Shopify event id, so a
 * retry or a duplicate delivery changes nothing), acknowledged, and applied later by the worker.
 * A delivery that fails is kept with its error and retried with backoff; after MAX_ATTEMPTS it
 * stays as "dead" until someone replays it. Nothing is dropped.
 */
import type { PrismaClient } from "@prisma/client";
import { insertDeliveries } from "./intake.server";

export interface Delivery {
  shopDomain: string;
  topic: string;
  eventId: string;
  webhookId: string | null;
  triggeredAt: Date | null;
  apiVersion: string | null;
  payload: string;
}

export const MAX_ATTEMPTS = 12;
const LOCK_MS = 60_000;

/** 5 s, 10 s, 20 s … capped at one hour, with ±20% jitter so retries do not arrive in step. */
export function retryDelayMs(attempts: number, random = Math.random): number {
  const base = Math.min(3_600_000, 5_000 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Records one delivery: a row for a new event, one more delivery counted for a repeat. */
export async function recordDelivery(
  db: PrismaClient,
  d: Delivery,
  now = new Date(),
): Promise<"new" | "duplicate"> {
  const [result] = await insertDeliveries(db, [d], now);
  return result;
}

export interface ClaimedEvent {
  id: number;
  shopDomain: string;
  topic: string;
  payload: string;
  triggeredAt: Date | null;
  attempts: number;
}

/**
 * Claims up to `limit` due events (oldest first). A claim is a lease: an event whose worker died
 * mid-way becomes due again when the lease runs out, and is applied once because its apply and
 * its "done" mark commit in one transaction.
 */
export async function claimDue(db: PrismaClient, limit: number, now = new Date()): Promise<ClaimedEvent[]> {
  // Two narrow queries, each served by the (status, nextAttemptAt) index, rather than one OR that
  // would scan a large backlog on every claim.
  const [due, expired] = await Promise.all([
    db.webhookEvent.findMany({
      where: { status: { in: ["pending", "failed"] }, nextAttemptAt: { lte: now } },
      orderBy: { id: "asc" },
      take: limit,
      select: { id: true },
    }),
    db.webhookEvent.findMany({
      where: { status: "processing", lockedUntil: { lt: now } },
      orderBy: { id: "asc" },
      take: limit,
      select: { id: true },
    }),
  ]);
  const ids = [...expired, ...due]
    .map((c) => c.id)
    .sort((a, b) => a - b)
    .slice(0, limit);
  if (!ids.length) return [];
  await db.webhookEvent.updateMany({
    where: {
      id: { in: ids },
      OR: [{ status: { in: ["pending", "failed"] } }, { status: "processing", lockedUntil: { lt: now } }],
    },
    data: { status: "processing", lockedUntil: new Date(now.getTime() + LOCK_MS) },
  });
  return db.webhookEvent.findMany({
    where: { id: { in: ids }, status: "processing" },
    orderBy: { id: "asc" },
    select: { id: true, shopDomain: true, topic: true, payload: true, triggeredAt: true, attempts: true },
  });
}

export async function markFailed(
  db: PrismaClient,
  event: ClaimedEvent,
  error: unknown,
  now = new Date(),
): Promise<void> {
  const attempts = event.attempts + 1;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  await db.webhookEvent.update({
    where: { id: event.id },
    data: {
      status: attempts >= MAX_ATTEMPTS ? "dead" : "failed",
      attempts,
      lastError: message.slice(0, 2000),
      lockedUntil: null,
      nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempts)),
    },
  });
}

/** Puts a failed or dead event (or all of a shop's) back in the queue, due now. */
export async function replay(db: PrismaClient, shopDomain: string, id?: number): Promise<number> {
  const { count } = await db.webhookEvent.updateMany({
    where: { shopDomain, status: { in: ["failed", "dead"] }, ...(id ? { id } : {}) },
    data: { status: "pending", attempts: 0, nextAttemptAt: new Date(), lockedUntil: null },
  });
  return count;
}

export interface InboxStats {
  pending: number;
  failed: number;
  dead: number;
  done: number;
  duplicates: number;
  lastReceivedAt: Date | null;
}

export async function inboxStats(db: PrismaClient, shopDomain: string): Promise<InboxStats> {
  const [groups, dupes, last] = await Promise.all([
    db.webhookEvent.groupBy({ by: ["status"], where: { shopDomain }, _count: { _all: true } }),
    db.webhookEvent.aggregate({ where: { shopDomain }, _sum: { deliveries: true }, _count: { _all: true } }),
    db.webhookEvent.findFirst({
      where: { shopDomain },
      orderBy: { receivedAt: "desc" },
      select: { receivedAt: true },
    }),
  ]);
  const count = (s: string) => groups.find((g) => g.status === s)?._count._all ?? 0;
  return {
    pending: count("pending") + count("processing"),
    failed: count("failed"),
    dead: count("dead"),
    done: count("done"),
    duplicates: (dupes._sum.deliveries ?? 0) - dupes._count._all,
    lastReceivedAt: last?.receivedAt ?? null,
  };
}
