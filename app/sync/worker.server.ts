/**
 * Applies the inbox in the app process: wakes when a delivery is recorded, otherwise polls for
 * retries that have come due. Each event is applied and marked done in one transaction.
 */
import type { PrismaClient } from "@prisma/client";
import { claimDue, heldBy, markFailed, release, type ClaimedEvent } from "./inbox.server";
import {
  advisoryEntityLock,
  handleEvent,
  noEntityLock,
  shopFor,
  SHOP_CHANGING_TOPICS,
  type ShopRef,
} from "./handlers.server";
import { OrderNotYetSynced } from "./apply.server";
import { dialectOfClient } from "../db.server";

/**
 * This worker's lease on an event ran out and another worker claimed it: its apply is rolled back
 * and the other worker's stands, so the event is still applied once.
 */
export class LeaseLost extends Error {
  override name = "LeaseLost";
}

export interface WorkerOptions {
  batchSize?: number;
  pollMs?: number;
  /**
   * Give way to intake: while webhooks keep arriving (one within `yieldMs`), wait before applying
   * the next event, but never leave the inbox untouched for longer than `maxDeferMs`. Off (0)
   * by default; the server turns it on where the worker shares a thread or a SQLite connection
   * with the webhook endpoint.
   */
  yieldMs?: number;
  maxDeferMs?: number;
  now?: () => Date;
  onError?: (event: ClaimedEvent, error: unknown) => void;
  /** After an event is applied and committed (segment membership hangs off this). */
  afterApply?: (event: ClaimedEvent, outcome: string) => Promise<void>;
  /**
   * After a claimed batch's applies committed: the events whose outcome is "applied", in id order
   * (the after-apply pipeline, app/sync/after-apply.server.ts, hangs off this).
   */
  afterBatch?: (events: AppliedEvent[]) => Promise<void>;
  /** After an event's "done" mark committed, whatever its outcome (tests and benchmarks count them). */
  onDone?: (event: ClaimedEvent, outcome: string) => void;
}

/** An event the worker applied, with what applying it did. */
export type AppliedEvent = ClaimedEvent & { outcome: string };

export class InboxWorker {
  private running = false;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private stopping = false;
  private lastSignalAt = 0;
  private lastAppliedAt = 0;
  private loop: Promise<void> | null = null;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly now: () => Date;
  processed = 0;
  failed = 0;
  /** Shop rows by domain, read once rather than per event (dropped when a topic changes them). */
  private readonly shops = new Map<string, ShopRef>();
  /** Several workers may share a PostgreSQL inbox: events of one entity are then applied one at a time. */
  private readonly serialize: boolean;

  constructor(
    private readonly db: PrismaClient,
    private readonly options: WorkerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 50;
    this.pollMs = options.pollMs ?? 1000;
    this.now = options.now ?? (() => new Date());
    this.serialize = dialectOfClient(db) === "postgres";
  }

  /** Applies one event; returns false when it failed (it is then kept for a retry). */
  async process(event: ClaimedEvent): Promise<boolean> {
    return (await this.applyOne(event)) !== null;
  }

  /** Applies one event; returns its outcome, or null when it failed (it is then kept for a retry). */
  private async applyOne(event: ClaimedEvent): Promise<string | null> {
    try {
      if (!this.shops.has(event.shopDomain))
        this.shops.set(event.shopDomain, await this.db.$transaction((tx) => shopFor(tx, event.shopDomain)));
      if (SHOP_CHANGING_TOPICS.has(event.topic)) this.shops.delete(event.shopDomain);
      const outcome = await this.db.$transaction(async (tx) => {
        const lock = this.serialize ? advisoryEntityLock(tx, event.shopDomain) : noEntityLock;
        const result = await handleEvent(tx, event, this.now(), this.shops.get(event.shopDomain), lock);
        const { count } = await tx.webhookEvent.updateMany({
          where: heldBy(event),
          data: {
            status: "done",
            outcome: result,
            processedAt: this.now(),
            lockedUntil: null,
            lastError: null,
          },
        });
        if (count !== 1) throw new LeaseLost(`event #${event.id} was claimed again by another worker`);
        return result;
      });
      this.processed++;
      this.options.onDone?.(event, outcome);
      if (outcome === "applied" && this.options.afterApply) {
        // Derived state (segment membership): a failure here is logged, not a reason to re-apply.
        await this.options.afterApply(event, outcome).catch((error) => this.options.onError?.(event, error));
      }
      return outcome;
    } catch (error) {
      if (error instanceof LeaseLost) return null;
      this.failed++;
      // The cached shop row may be what went wrong (another process erased the shop): re-read it next time.
      this.shops.delete(event.shopDomain);
      if (!(error instanceof OrderNotYetSynced)) this.options.onError?.(event, error);
      await markFailed(this.db, event, error, this.now());
      return null;
    }
  }

  /** Applies everything due now; resolves when nothing is left that is due. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await claimDue(this.db, this.batchSize, this.now());
      if (!batch.length) return total;
      const latest = new Map<string, Date>();
      const applied: AppliedEvent[] = [];
      for (const [index, event] of batch.entries()) {
        if (this.stopping) {
          // Hand back what this worker claimed but did not start, so that it is due again at once.
          await release(this.db, batch.slice(index));
          await this.runAfterBatch(applied);
          return total;
        }
        await this.giveWay();
        const outcome = await this.applyOne(event);
        if (outcome === "applied") applied.push({ ...event, outcome });
        this.lastAppliedAt = Date.now();
        total++;
        const at = event.triggeredAt ?? this.now();
        if (at > (latest.get(event.shopDomain) ?? new Date(0))) latest.set(event.shopDomain, at);
        // Let the HTTP side answer between events: acknowledging webhooks comes first.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await this.runAfterBatch(applied);
      for (const [domain, at] of latest)
        await this.db.shop.updateMany({
          where: { domain, OR: [{ lastWebhookAt: null }, { lastWebhookAt: { lt: at } }] },
          data: { lastWebhookAt: at },
        });
    }
  }

  private async runAfterBatch(applied: AppliedEvent[]): Promise<void> {
    if (!applied.length || !this.options.afterBatch) return;
    // Derived state: a failure here is logged, not a reason to re-apply.
    await this.options.afterBatch(applied).catch((error) => this.options.onError?.(applied[0], error));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.loop = (async () => {
      while (this.running) {
        this.woken = false;
        try {
          await this.drain();
        } catch (error) {
          console.error("inbox worker:", error);
        }
        if (!this.running) break;
        if (this.woken) {
          this.woken = false;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = null;
      }
    })();
  }

  private async giveWay(): Promise<void> {
    const yieldMs = this.options.yieldMs ?? 0;
    if (!yieldMs) return;
    const maxDefer = this.options.maxDeferMs ?? 250;
    while (
      Date.now() - this.lastSignalAt < yieldMs &&
      Date.now() - this.lastAppliedAt < maxDefer &&
      this.running
    )
      await new Promise((resolve) => setTimeout(resolve, yieldMs));
  }

  /** Webhooks are arriving: give way to them for a moment. */
  noteIntake(): void {
    this.lastSignalAt = Date.now();
  }

  /** Something was recorded: apply it now rather than at the next poll. */
  wake(): void {
    this.lastSignalAt = Date.now();
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.wake();
    await this.loop;
  }
}
