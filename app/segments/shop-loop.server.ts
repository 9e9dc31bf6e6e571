/**
 * A background pass over shops on an interval: pushes to Shopify, relative-time sweeps. Never
 * two passes at once; a shop that fails is logged and tried again on the next pass, and does
 * not stop the others. With several app instances on one PostgreSQL database, one shop's work is
 * done by one instance at a time (the others skip that shop on this pass: job-lock.server.ts).
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { jobLocksFor } from "../sync/job-lock.server";

export interface ShopLoop {
  stop(): void;
  /** One pass now (the timer calls it; tests call it with their own `now`). */
  tick(now?: Date): Promise<void>;
}

export function startShopLoop(
  db: PrismaClient,
  options: {
    everyMs: number;
    /** What the pass does, in words, for the log: "pushing segments". */
    doing: string;
    /** Which installed shops the pass visits (default: all of them). */
    where?: Prisma.ShopWhereInput;
    work: (shop: { id: number; domain: string }, now: Date) => Promise<unknown>;
  },
): ShopLoop {
  let running = false;
  const tick = async (now = new Date()) => {
    if (running) return;
    running = true;
    try {
      const shops = await db.shop.findMany({
        where: { ...options.where, uninstalledAt: null },
        select: { id: true, domain: true },
      });
      for (const shop of shops) {
        try {
          await jobLocksFor(db).run(`${options.doing}:${shop.domain}`, async () => {
            await options.work(shop, now);
          });
        } catch (error) {
          console.error(
            `${options.doing} of ${shop.domain} failed (tried again later):`,
            (error as Error).message,
          );
        }
      }
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), options.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer), tick };
}
