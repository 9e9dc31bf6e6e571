/**
 * The app process's background work: the inbox worker, and a scheduler that runs each shop's
 * backfill (once, resumed after a restart) and its periodic reconciliation. One per process.
 */
import prisma from "../db.server";
import { config } from "../config.server";
import { InboxWorker } from "./worker.server";
import { adminApiFor } from "./admin-api.server";
import { runBackfill } from "./backfill.server";
import { reconcile } from "./reconcile.server";

class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private readonly active = new Set<string>();

  start(everyMs = 30_000): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), everyMs);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  wake(): void {
    if (this.timer) void this.tick();
  }

  /** Starts what is due; never runs two jobs for one shop at once. */
  async tick(now = new Date()): Promise<void> {
    const shops = await prisma.shop.findMany({
      where: { uninstalledAt: null },
      select: { domain: true, backfillStatus: true, reconciledAt: true },
    });
    for (const shop of shops) {
      if (this.active.has(shop.domain)) continue;
      const hasSession = await prisma.session.count({ where: { shop: shop.domain, isOnline: false } });
      if (!hasSession) continue;
      if (shop.backfillStatus !== "done") {
        this.run(shop.domain, async () => {
          await runBackfill(prisma, await adminApiFor(prisma, shop.domain), shop.domain);
        });
      } else if (!shop.reconciledAt || now.getTime() - shop.reconciledAt.getTime() >= config.reconcileEveryMs) {
        this.run(shop.domain, async () => {
          await reconcile(prisma, await adminApiFor(prisma, shop.domain), shop.domain);
        });
      }
    }
  }

  private run(shop: string, job: () => Promise<void>): void {
    this.active.add(shop);
    job()
      .catch((error) => console.error(`sync job for ${shop} failed:`, (error as Error).message))
      .finally(() => this.active.delete(shop));
  }
}

interface Runtime {
  worker: InboxWorker;
  scheduler: Scheduler;
}

declare global {
  var sliceRuntime: Runtime | undefined;
}

export function runtime(): Runtime {
  if (!globalThis.sliceRuntime) {
    const worker = new InboxWorker(prisma, {
      onError: (event, error) =>
        console.error(`webhook ${event.topic} #${event.id} failed (kept for retry):`, (error as Error).message),
    });
    globalThis.sliceRuntime = { worker, scheduler: new Scheduler() };
  }
  return globalThis.sliceRuntime;
}

/** Called once when the server starts (server.ts). */
export function startBackgroundWork(): void {
  if (!config.workerEnabled) return;
  const { worker, scheduler } = runtime();
  worker.start();
  scheduler.start();
}

export async function stopBackgroundWork(): Promise<void> {
  const { worker, scheduler } = runtime();
  scheduler.stop();
  await worker.stop();
}
