/**
 * The home's setup guide and, once the shop is live, what Slice earns: each step's real state
 * (history imported, app embed on, a first segment reviewed, a first message live) and the figures
 * of the last 30 days. Read by app/routes/app._index.tsx.
 */
import type { PrismaClient } from "@prisma/client";
import { syncState, type SyncState } from "./status.server";
import { adminApiFor } from "./admin-api.server";
import { notifyScheduler } from "./runtime.server";
import { appEmbedStatus, type AppEmbedStatus } from "../storefront/app-embed.server";
import { offersOverview, type OfferOverviewRow } from "../offers/results.server";
import { OVERVIEW_DAYS, SETUP_STEPS, type SetupStep } from "../engine/setup-steps";

export interface SegmentMovement {
  handle: string;
  name: string;
  size: number;
  joined: number;
  left: number;
}

export interface HomeState {
  sync: Pick<SyncState, "backfill" | "counts" | "known">;
  embed: AppEmbedStatus;
  firstSegment: { handle: string; name: string } | null;
  segmentReviewedAt: string | null;
  activeMessages: number;
  /** The first paused message, for the "first message live" step's action. */
  firstPausedMessage: { id: number; name: string } | null;
  done: Record<SetupStep, boolean>;
  /** A message reaches shoppers (active, embed on), every step is done, or the guide was dismissed. */
  live: boolean;
  dismissedAt: string | null;
  /** Once live: the last 30 days' offers (results.server.ts offersOverview, as it is). */
  offers: OfferOverviewRow[];
  /** The segments whose membership moved most over the last 7 days. */
  movements: SegmentMovement[];
}

const WEEK_MS = 7 * 86_400_000;

/** The merchant opened (or saved) a segment: the guide's "review a segment" step is done. */
export async function noteSegmentReviewed(
  db: PrismaClient,
  shopDomain: string,
  now = new Date(),
): Promise<void> {
  await db.shop.updateMany({
    where: { domain: shopDomain, segmentReviewedAt: null },
    data: { segmentReviewedAt: now },
  });
}

export async function setDismissed(
  db: PrismaClient,
  shopDomain: string,
  dismissed: boolean,
  now = new Date(),
) {
  await db.shop.updateMany({
    where: { domain: shopDomain },
    data: { setupDismissedAt: dismissed ? now : null },
  });
}

/** Joins and leaves per segment since `since`, most movement first. */
export async function segmentMovements(
  db: PrismaClient,
  shopId: number,
  since: Date,
  limit = 5,
): Promise<SegmentMovement[]> {
  const groups = await db.segmentChange.groupBy({
    by: ["segmentId", "joined"],
    where: { at: { gte: since }, segment: { shopId } },
    _count: { _all: true },
  });
  const bySegment = new Map<number, { joined: number; left: number }>();
  for (const g of groups) {
    const entry = bySegment.get(g.segmentId) ?? { joined: 0, left: 0 };
    if (g.joined) entry.joined += g._count._all;
    else entry.left += g._count._all;
    bySegment.set(g.segmentId, entry);
  }
  const top = [...bySegment.entries()]
    .sort((a, b) => b[1].joined + b[1].left - (a[1].joined + a[1].left))
    .slice(0, limit);
  const segments = await db.segment.findMany({
    where: { id: { in: top.map(([id]) => id) } },
    select: { id: true, handle: true, name: true, size: true },
  });
  return top.flatMap(([id, moved]) => {
    const s = segments.find((x) => x.id === id);
    return s ? [{ handle: s.handle, name: s.name, size: s.size, ...moved }] : [];
  });
}

export async function homeState(
  db: PrismaClient,
  shopDomain: string,
  now: Date,
  options: { recheckEmbed?: boolean } = {},
): Promise<HomeState> {
  const sync = await syncState(db, shopDomain);
  const shop = await db.shop.findUnique({
    where: { domain: shopDomain },
    select: { id: true, segmentReviewedAt: true, setupDismissedAt: true },
  });
  const shopId = shop?.id ?? -1;
  const [embed, firstSegment, activeMessages, firstPausedMessage] = await Promise.all([
    appEmbedStatus(db, shopDomain, () => adminApiFor(db, shopDomain), { now, force: options.recheckEmbed }),
    db.segment.findFirst({ where: { shopId }, orderBy: { id: "asc" }, select: { handle: true, name: true } }),
    db.message.count({ where: { shopId, active: true } }),
    db.message.findFirst({
      where: { shopId, active: false },
      orderBy: { id: "asc" },
      select: { id: true, name: true },
    }),
  ]);
  const done: Record<SetupStep, boolean> = {
    history: sync.backfill.status === "done",
    embed: embed.state === "on",
    segment: !!shop?.segmentReviewedAt,
    message: activeMessages > 0,
  };
  // Live: a message reaches shoppers (one is active and the embed is on), whether or not the guide's
  // other steps are ticked; or the merchant dismissed the guide.
  const live = SETUP_STEPS.every((s) => done[s]) || (done.message && done.embed) || !!shop?.setupDismissedAt;
  const range = { from: new Date(now.getTime() - OVERVIEW_DAYS * 86_400_000), to: now };
  return {
    sync: { backfill: sync.backfill, counts: sync.counts, known: sync.known },
    embed,
    firstSegment,
    segmentReviewedAt: shop?.segmentReviewedAt?.toISOString() ?? null,
    activeMessages,
    firstPausedMessage,
    done,
    live,
    dismissedAt: shop?.setupDismissedAt?.toISOString() ?? null,
    offers: live && shop ? await offersOverview(db, shopId, range, now) : [],
    movements: live && shop ? await segmentMovements(db, shopId, new Date(now.getTime() - WEEK_MS)) : [],
  };
}

/**
 * The merchant's Retry on a failed history import: due again now (the backoff is cleared; the
 * count of failures in a row is kept, so a further failure waits longer) and the scheduler woken.
 */
export async function retryImport(db: PrismaClient, shopDomain: string): Promise<string> {
  const { count } = await db.shop.updateMany({
    where: { domain: shopDomain, backfillStatus: { in: ["failed", "pending"] } },
    data: { backfillStatus: "pending", backfillRetryAt: null },
  });
  notifyScheduler();
  return count ? "The history import starts again now" : "The history import is already running or done";
}
