/**
 * Relative-time rules ("no order in 90 days") kept true as time passes, without a nightly full
 * recompute: each sweep re-evaluates, per segment, only the people whose timestamps crossed one
 * of its window edges since the segment was last swept (engine/anchors.ts says which).
 */
import type { PrismaClient } from "@prisma/client";
import { crossingRange, timeAnchors, type AnchorSource } from "../engine/anchors";
import { recountVisitors, reevaluate, shopSegments } from "./store.server";
import { startShopLoop, type ShopLoop } from "./shop-loop.server";

/** The people with a timestamp of this kind in [since, until]. */
async function crossedBy(
  db: PrismaClient,
  shopId: number,
  source: AnchorSource,
  since: Date,
  until: Date,
): Promise<string[]> {
  const range = { gte: since, lte: until };
  const ids = (rows: { id: string | null }[]) => rows.map((r) => r.id).filter((id): id is string => !!id);
  switch (source) {
    case "orders":
      return ids(
        (
          await db.order.findMany({
            where: { shopId, processedAt: range, customerShopifyId: { not: null } },
            select: { customerShopifyId: true },
            distinct: ["customerShopifyId"],
          })
        ).map((r) => ({ id: r.customerShopifyId })),
      );
    case "checkouts":
      return ids(
        (
          await db.checkout.findMany({
            where: { shopId, shopifyCreatedAt: range, customerShopifyId: { not: null } },
            select: { customerShopifyId: true },
            distinct: ["customerShopifyId"],
          })
        ).map((r) => ({ id: r.customerShopifyId })),
      );
    case "customer.firstOrderAt":
    case "customer.lastOrderAt":
    case "customer.createdAt": {
      const column = {
        "customer.firstOrderAt": "firstOrderAt",
        "customer.lastOrderAt": "lastOrderAt",
        "customer.createdAt": "shopifyCreatedAt",
      }[source];
      return (
        await db.customer.findMany({ where: { shopId, [column]: range }, select: { shopifyId: true } })
      ).map((r) => r.shopifyId);
    }
    case "visitor.firstSeenAt":
    case "visitor.lastSeenAt": {
      const column = source === "visitor.firstSeenAt" ? "firstSeenAt" : "lastSeenAt";
      return ids(
        (
          await db.visitor.findMany({
            where: { shopId, [column]: range, customerShopifyId: { not: null } },
            select: { customerShopifyId: true },
          })
        ).map((r) => ({ id: r.customerShopifyId })),
      );
    }
    case "predicted.nextOrderAt": {
      // CustomerPrediction is keyed by Customer.id: the crossed ones, then their Shopify ids.
      const crossed = await db.customerPrediction.findMany({
        where: { shopId, nextOrderAt: range },
        select: { customerId: true },
      });
      const people: string[] = [];
      for (let i = 0; i < crossed.length; i += 500)
        for (const c of await db.customer.findMany({
          where: { shopId, id: { in: crossed.slice(i, i + 500).map((r) => r.customerId) } },
          select: { shopifyId: true },
        }))
          people.push(c.shopifyId);
      return people;
    }
    case "events":
      return ids(
        (
          await db.visitor.findMany({
            where: { shopId, customerShopifyId: { not: null }, events: { some: { occurredAt: range } } },
            select: { customerShopifyId: true },
          })
        ).map((r) => ({ id: r.customerShopifyId })),
      );
  }
}

/**
 * Keeps relative-time rules true as time passes, without recomputing everything: for each
 * segment, only the people whose timestamps crossed one of its window edges since it was last
 * swept are re-evaluated, and segments about visitors have their visitors counted again.
 * Returns the number of joins and leaves written.
 */
export async function sweep(db: PrismaClient, shopId: number, now: Date): Promise<number> {
  const shop = await shopSegments(db, shopId);
  let changed = 0;
  // Segments swept together share their edges ("orders in 30 days" in several rules): each
  // distinct range of a kind of timestamp is read once per sweep.
  const crossed = new Map<string, Promise<string[]>>();
  const crossedOnce = (source: AnchorSource, since: Date, until: Date) => {
    const key = `${source} ${since.getTime()} ${until.getTime()}`;
    if (!crossed.has(key)) crossed.set(key, crossedBy(db, shopId, source, since, until));
    return crossed.get(key)!;
  };
  for (const segment of shop.segments) {
    // A full recompute settles everyone too: start from whichever came last.
    const times = [segment.sweptAt, segment.computedAt].filter((t): t is Date => t !== null);
    const from = times.length ? new Date(Math.max(...times.map((t) => t.getTime()))) : null;
    // Never computed: the first recompute settles it. Swept already at (or after) now: nothing to do.
    if (!from || from >= now) continue;
    const anchors = timeAnchors(shop.rules.get(segment.handle)!, shop.resolve);
    const people = new Set<string>();
    for (const anchor of anchors) {
      const { since, until } = crossingRange(anchor, from, now);
      for (const id of await crossedOnce(anchor.source, since, until)) people.add(id);
    }
    const list = [...people];
    for (let i = 0; i < list.length; i += 500)
      changed += await reevaluate(db, shopId, list.slice(i, i + 500), [segment], shop, now);
    await db.segment.update({ where: { id: segment.id }, data: { sweptAt: now } });
    // Visitors are counted, not held as members: the count is taken again (new visits, visitors
    // who left the last 30 days, windows that moved).
    await recountVisitors(db, shopId, segment, shop.rules.get(segment.handle)!, shop.resolve, now);
  }
  return changed;
}

/** Sweeps every installed shop's segments on an interval (the runtime starts it). */
export function startSweepLoop(db: PrismaClient, everyMs = 5 * 60_000): ShopLoop {
  return startShopLoop(db, {
    everyMs,
    doing: "sweeping segments",
    work: (shop, now) => sweep(db, shop.id, now),
  });
}
