/**
 * When a shop's predictive models are fitted again: once a day, and as soon as a history import
 * (backfill) has finished since the last fit. A pass every 15 minutes looks for shops that are
 * due; on PostgreSQL one instance fits a shop at a time (the shop loop's job lock).
 */
import type { PrismaClient } from "@prisma/client";
import { startShopLoop, type ShopLoop } from "../segments/shop-loop.server";
import { fitShop, latestFit, type FitOptions, type FitResult } from "./fit.server";
import { ensurePresets, recompute, shopSegments, upgradeUntouchedPresets } from "../segments/store.server";
import { readsPredictions } from "../segments/prediction-view.server";

/** A fit is redone this long after the last one (whatever its status: history grows meanwhile). */
export const FIT_EVERY_MS = 24 * 60 * 60_000;
/** How often the loop looks for shops that are due. */
export const FIT_CHECK_EVERY_MS = 15 * 60_000;

/** Due: never fitted, a history import finished since the last fit, or the last fit is a day old. */
export function fitDue(backfillAt: Date | null, lastFittedAt: Date | null, now: Date): boolean {
  if (!lastFittedAt) return true;
  if (backfillAt && backfillAt > lastFittedAt) return true;
  return now.getTime() - lastFittedAt.getTime() >= FIT_EVERY_MS;
}

/** Fits the shop if it is due; says whether it did. */
export async function fitIfDue(db: PrismaClient, shopId: number, now: Date): Promise<boolean> {
  const shop = await db.shop.findUnique({
    where: { id: shopId },
    select: { backfillStatus: true, backfillAt: true },
  });
  // Before the first history import there is nothing to fit on.
  if (!shop || shop.backfillStatus !== "done") return false;
  const last = await latestFit(db, shopId);
  if (!fitDue(shop.backfillAt, last?.fittedAt ?? null, now)) return false;
  await refit(db, shopId, now);
  return true;
}

/**
 * A fit, and what a new fit in use changes: every customer's predicted figures move at once, so
 * the segments that read them are recomputed (memberships follow one customer's orders between
 * fits; a new fit moves everyone), and the shop's first ready fit creates the predicted presets.
 * The one way to fit a shop: the schedule, the history import and the CLI all come here.
 */
export async function refit(
  db: PrismaClient,
  shopId: number,
  now: Date,
  options: FitOptions = {},
): Promise<FitResult & { recomputed: string[] }> {
  // On SQLite the fit reads, fits and writes on a thread of its own (fit-thread.server.ts): the
  // server's thread answers webhooks meanwhile.
  const result = await fitShop(db, shopId, now, { offThread: true, ...options });
  if (result.fit.status !== "ready") return { ...result, recomputed: [] };
  // The shop's first ready fit creates the predicted presets; later fits leave the merchant's
  // choice alone (a preset they deleted stays deleted).
  if ((await db.predictionFit.count({ where: { shopId, status: "ready" } })) === 1)
    await ensurePresets(db, shopId, "predicted");
  // A predicted preset the merchant never edited follows its current definition (recomputed below).
  else await upgradeUntouchedPresets(db, shopId);
  const { segments, rules, resolve } = await shopSegments(db, shopId);
  const reading = segments.map((s) => s.handle).filter((h) => readsPredictions(rules.get(h)!, resolve));
  if (reading.length) await recompute(db, shopId, now, reading);
  return { ...result, recomputed: reading };
}

export function startPredictionLoop(db: PrismaClient): ShopLoop {
  return startShopLoop(db, {
    everyMs: FIT_CHECK_EVERY_MS,
    doing: "fitting predictions",
    where: { backfillStatus: "done" },
    work: (shop, now) => fitIfDue(db, shop.id, now),
  });
}
