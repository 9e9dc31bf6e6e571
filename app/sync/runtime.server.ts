/**
 * The app's background work: the inbox worker, and a scheduler that runs each shop's backfill
 * (once, resumed after a restart) and its periodic reconciliation.
 *
 * In the server it runs on a worker thread of the app process (server.ts starts it), so that
 * applying webhooks never delays acknowledging them; routes reach it through a BroadcastChannel.
 */
import prisma, { dialectOfClient } from "../db.server";
import { urlOf } from "../db-hot.server";
import { listenForInbox, type InboxListener } from "./inbox-signal.server";
import { pruneRateLimits } from "../storefront/rate-limit.server";
import { config } from "../config.server";
import { InboxWorker, SHARED_WRITER_BATCH, WORKER_PACING } from "./worker.server";
import { adminApiFor } from "./admin-api.server";
import { runBackfill } from "./backfill.server";
import { importRetryDelayMs } from "../engine/sync-words";
import { reconcile } from "./reconcile.server";
import { IntakeBatcher } from "./intake.server";
import { afterApplied } from "./after-apply.server";
import { startPushLoop } from "../segments/push.server";
import { startSweepLoop } from "../segments/sweep.server";
import { startPoolLoop } from "../offers/pool.server";
import { startPredictionLoop } from "../predict/schedule.server";
import { acceptWebhook, type WebhookAnswer } from "./receive.server";
import { closeJobLocks, jobLocksFor } from "./job-lock.server";
import { trimAppliedPayloads } from "./inbox.server";
import { forgetStalePendingLinks } from "../storefront/checkout-link.server";
import { startSqliteCheckpoints, type Checkpoints } from "../sqlite-checkpoint.server";
import { sqlitePath } from "../db-url";

const CHANNEL = "slice-background";
/** After a failed reconciliation; a failed history import waits its own backoff (Shop.backfillRetryAt). */
const RECONCILE_RETRY_MS = 5 * 60_000;
/** PostgreSQL: the worker's poll while LISTEN is up (notifications wake it; the poll is for retries coming due). */
const POLL_WITH_LISTEN_MS = 5_000;
/** How often applied payloads past their retention (SLICE_INBOX_RETENTION_DAYS) are trimmed, and old rate-limit buckets dropped. */
const TRIM_EVERY_MS = 60 * 60_000;

class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private readonly active = new Set<string>();
  private readonly failedAt = new Map<string, number>();
  private trimmedAt = 0;

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

  /**
   * Starts what is due; never runs two jobs for one shop at once, in this process or (PostgreSQL)
   * in any other instance sharing the database.
   */
  async tick(now = new Date()): Promise<void> {
    if (now.getTime() - this.trimmedAt >= TRIM_EVERY_MS) {
      this.trimmedAt = now.getTime();
      await trimAppliedPayloads(prisma, now, config.inboxRetentionMs).catch((error) =>
        console.error("trimming the inbox's applied payloads failed:", (error as Error).message),
      );
      await pruneRateLimits(prisma, now).catch((error) =>
        console.error("pruning the code endpoint's rate-limit buckets failed:", (error as Error).message),
      );
      // A web pixel's completed checkout whose order never came within 30 days is not coming.
      await forgetStalePendingLinks(prisma, now).catch((error) =>
        console.error("forgetting stale checkout links failed:", (error as Error).message),
      );
    }
    const shops = await prisma.shop.findMany({
      where: { uninstalledAt: null },
      select: { domain: true, backfillStatus: true, reconciledAt: true, backfillRetryAt: true },
    });
    for (const shop of shops) {
      if (this.active.has(shop.domain)) continue;
      if (now.getTime() - (this.failedAt.get(shop.domain) ?? 0) < RECONCILE_RETRY_MS) continue;
      if (shop.backfillStatus !== "done" && shop.backfillRetryAt && shop.backfillRetryAt > now) continue;
      if (!syncDue(shop, now)) continue;
      const hasSession = await prisma.session.count({ where: { shop: shop.domain, isOnline: false } });
      if (!hasSession) continue;
      this.run(shop.domain, now);
    }
  }

  private run(domain: string, now: Date): void {
    this.active.add(domain);
    let kind: "backfill" | "reconcile" = "reconcile";
    jobLocksFor(prisma)
      .run(`sync:${domain}`, async () => {
        // Read again under the lock: another instance may have just finished this very job.
        const shop = await prisma.shop.findUnique({
          where: { domain },
          select: { domain: true, backfillStatus: true, reconciledAt: true, uninstalledAt: true },
        });
        if (!shop || shop.uninstalledAt || !syncDue(shop, now)) return;
        if (shop.backfillStatus !== "done") {
          kind = "backfill";
          const api = await adminApiFor(prisma, domain).catch(async (error: unknown) => {
            // No client (no session, token refused): runBackfill never runs, so it is recorded here.
            await recordBackfillFailure(domain, error);
            throw error;
          });
          await runBackfill(prisma, api, domain);
        } else await reconcile(prisma, await adminApiFor(prisma, domain), domain);
      })
      .then(() => {
        this.failedAt.delete(domain);
        // A finished history import is what the predictive models fit on: fit now, not within a day.
        if (kind === "backfill") void globalThis.sliceRuntime?.predictions.tick();
      })
      .catch((error) => {
        // A failed history import waits its own backoff (runBackfill wrote it); a reconciliation 5 minutes.
        if (kind === "reconcile") this.failedAt.set(domain, Date.now());
        console.error(
          `sync job for ${domain} failed (${kind === "backfill" ? "history import, retried with backoff" : "reconciliation, retried in 5 minutes"}):`,
          (error as Error).message,
        );
      })
      .finally(() => this.active.delete(domain));
  }
}

/** The import failed before it could start (no Admin API client): said on the home, retried with backoff. */
async function recordBackfillFailure(domain: string, error: unknown): Promise<void> {
  const shop = await prisma.shop.findUnique({ where: { domain }, select: { id: true } });
  if (!shop) return;
  const message = error instanceof Error ? error.message : String(error);
  await prisma.syncRun.create({
    data: {
      shopId: shop.id,
      kind: "backfill",
      status: "failed",
      error: message.slice(0, 2000),
      finishedAt: new Date(),
    },
  });
  const { backfillAttempts } = await prisma.shop.update({
    where: { id: shop.id },
    data: { backfillStatus: "failed", backfillAttempts: { increment: 1 } },
    select: { backfillAttempts: true },
  });
  await prisma.shop.update({
    where: { id: shop.id },
    data: { backfillRetryAt: new Date(Date.now() + importRetryDelayMs(backfillAttempts)) },
  });
}

/** A shop needs its backfill (until one finished) or, after that, its periodic reconciliation. */
function syncDue(shop: { backfillStatus: string; reconciledAt: Date | null }, now: Date): boolean {
  if (shop.backfillStatus !== "done") return true;
  return !shop.reconciledAt || now.getTime() - shop.reconciledAt.getTime() >= config.reconcileEveryMs;
}

interface Runtime {
  worker: InboxWorker;
  scheduler: Scheduler;
  channel: BroadcastChannel;
  /** Pushes segments to Shopify (tags, app metafield, Shopify segments) after membership changes. */
  pushes: ReturnType<typeof startPushLoop>;
  /** Keeps relative-time segments ("no order in 90 days") current as time passes. */
  sweeps: ReturnType<typeof startSweepLoop>;
  pools: ReturnType<typeof startPoolLoop>;
  /** Fits each shop's predictive models daily and after a history import (issue 17). */
  predictions: ReturnType<typeof startPredictionLoop>;
  /** PostgreSQL: the LISTEN connection that wakes the worker when any process records an event. */
  listener: InboxListener | null;
  /** SQLite: WAL checkpoints on a thread of their own, not inside the commits of this thread. */
  checkpoints: Promise<Checkpoints | null> | null;
}

declare global {
  var sliceRuntime: Runtime | undefined;
  var sliceSignal: BroadcastChannel | undefined;
}

function signal(message: "inbox" | "schedule"): void {
  const local = globalThis.sliceRuntime;
  if (local) {
    // The background work runs in this thread: call it, no message needed.
    if (message === "inbox") local.worker.wake();
    else local.scheduler.wake();
    return;
  }
  if (!globalThis.sliceSignal) {
    globalThis.sliceSignal = new BroadcastChannel(CHANNEL);
    (globalThis.sliceSignal as BroadcastChannel & { unref(): void }).unref();
  }
  globalThis.sliceSignal.postMessage(message);
}

/** A webhook was recorded: apply it now rather than at the next poll. */
export const notifyInbox = () => signal("inbox");

declare global {
  var sliceIntake: IntakeBatcher | undefined;
}

/** Webhook intake as the route and the server's fast path both use it: one batcher per process. */
export function webhookDeps() {
  globalThis.sliceIntake ??= new IntakeBatcher(prisma);
  const intake = globalThis.sliceIntake;
  // A webhook arrived (called as its request is handled). Where the worker shares this thread
  // (SQLite) it counts arrivals here, not recorded deliveries: a worker holding the thread delays
  // the recording, and counting those made a burst look quiet, so the worker took its largest
  // batches exactly while webhooks waited (seen in the 1M flash-sale ack bench).
  const local = globalThis.sliceRuntime?.worker;
  local?.noteIntake();
  return {
    db: prisma,
    secret: config.apiSecret,
    record: (d: Parameters<IntakeBatcher["record"]>[0]) => intake.record(d),
    onDelivery: (result: "new" | "duplicate") => {
      if (local) {
        if (result === "new") local.wake({ arrival: false });
      } else if (result === "new") notifyInbox();
    },
  };
}

/** The server's fast path for POST /webhooks (server.ts): the same decision, without Remix's router. */
export function webhookFromNode(
  method: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): Promise<WebhookAnswer> {
  const header = (name: string) => {
    const value = headers[name];
    return typeof value === "string" ? value : null;
  };
  return acceptWebhook(method, header, body, webhookDeps());
}
/** A shop was installed: start its backfill now. */
export const notifyScheduler = () => signal("schedule");

/** Starts the worker and scheduler in this thread (server.ts does it on a worker thread). */
export function startBackgroundWork(): Runtime | null {
  if (!config.workerEnabled) return null;
  if (globalThis.sliceRuntime) return globalThis.sliceRuntime;
  const postgres = dialectOfClient(prisma) === "postgres";
  const worker = new InboxWorker(prisma, {
    // PostgreSQL: woken by NOTIFY from whichever process recorded the event (inbox-signal.server.ts).
    ...(postgres ? { pollMs: POLL_WITH_LISTEN_MS } : {}),
    afterBatch: (events) => afterApplied(prisma, events, new Date()),
    ...WORKER_PACING,
    // SQLite, on the server's background thread: the HTTP thread's writes wait for the one
    // transaction of this thread that is running (app/sqlite-turns.server.ts), so while webhooks
    // arrive those are kept short.
    ...(globalThis.sliceWriteTurns?.role === "after" ? { intakeBatchSize: SHARED_WRITER_BATCH } : {}),
    onError: (event, error) =>
      console.error(`webhook ${event.topic} #${event.id} failed (kept for retry):`, (error as Error).message),
  });
  const scheduler = new Scheduler();
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (event) => {
    if ((event as MessageEvent).data === "inbox") worker.wake();
    else scheduler.wake();
  };
  const listener = postgres ? listenForInbox(urlOf(prisma), () => worker.wake()) : null;
  // SQLite: intake and the worker share this thread; a checkpoint inside one of their commits
  // would hold every webhook waiting (app/sqlite-checkpoint.server.ts).
  const checkpoints = postgres
    ? null
    : startSqliteCheckpoints(prisma, sqlitePath(urlOf(prisma))).catch((error: Error) => {
        console.error("SQLite checkpoints stay in the commits:", error.message);
        return null;
      });
  worker.start();
  scheduler.start();
  const pushes = startPushLoop(prisma, (shop) => adminApiFor(prisma, shop));
  const sweeps = startSweepLoop(prisma);
  const pools = startPoolLoop(prisma, (shop) => adminApiFor(prisma, shop));
  const predictions = startPredictionLoop(prisma);
  globalThis.sliceRuntime = {
    worker,
    scheduler,
    channel,
    pushes,
    sweeps,
    pools,
    predictions,
    listener,
    checkpoints,
  };
  return globalThis.sliceRuntime;
}

export async function stopBackgroundWork(): Promise<void> {
  const runtime = globalThis.sliceRuntime;
  if (!runtime) return;
  runtime.channel.close();
  runtime.scheduler.stop();
  runtime.pushes.stop();
  runtime.sweeps.stop();
  runtime.pools.stop();
  runtime.predictions.stop();
  await runtime.listener?.close();
  await runtime.worker.stop();
  await (await runtime.checkpoints)?.stop();
  await closeJobLocks();
  globalThis.sliceRuntime = undefined;
}
