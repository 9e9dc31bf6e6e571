/**
 * Applies the inbox in the app process: wakes when a delivery is recorded, otherwise polls for
 * retries that have come due. A claimed batch is applied set-based (batch-apply.server.ts) in one
 * hot transaction that also marks its events done; the rare topics (deletions, privacy, the
 * shop's own events) are applied one at a time, in claim order, each in its own transaction.
 */
import type { PrismaClient } from "@prisma/client";
import { claimDue, heldBy, markFailed, release, type ClaimedEvent } from "./inbox.server";
import {
  advisoryEntityLock,
  appliedInBatches,
  handleEvent,
  noEntityLock,
  shopFor,
  SHOP_CHANGING_TOPICS,
  type ShopRef,
} from "./handlers.server";
import { OrderNotYetSynced } from "./apply.server";
import { applyBatch, markDone, type BatchResult } from "./batch-apply.server";
import { dialectOfClient } from "../db.server";
import { hotFor } from "../db-hot.server";

/**
 * This worker's lease on an event ran out and another worker claimed it: its apply is rolled back
 * and the other worker's stands, so the event is still applied once.
 */
export class LeaseLost extends Error {
  override name = "LeaseLost";
}

export interface WorkerOptions {
  /** Events claimed (and applied in one transaction) at a time: 250 by default. */
  batchSize?: number;
  /**
   * Apply every event alone, through the per-event path (handlers.server.ts), as before batches:
   * the baseline the benchmarks compare with. Off by default.
   */
  perEvent?: boolean;
  pollMs?: number;
  /**
   * Give way to intake: while webhooks arrive faster than `yieldAbovePerSecond`, wait `yieldMs`
   * at a time before applying the next batch, but never leave the inbox untouched for longer than
   * `maxDeferMs`. Off (0) by default; the server turns it on where the worker shares a thread or a
   * SQLite connection with the webhook endpoint. A steady trickle (100 a second) is not a burst:
   * making it wait would only add to each webhook's time to membership.
   */
  yieldMs?: number;
  maxDeferMs?: number;
  /** The arrival rate above which intake counts as busy (200 a second by default). */
  yieldAbovePerSecond?: number;
  /** The batch claimed while webhooks are arriving (with `yieldMs`): 50 by default. */
  intakeBatchSize?: number;
  now?: () => Date;
  onError?: (event: ClaimedEvent, error: unknown) => void;
  /** After an event is applied and committed (segment membership hangs off this). */
  afterApply?: (event: ClaimedEvent, outcome: string) => Promise<void>;
  /**
   * After a claimed batch's applies committed: the events whose outcome is "applied", in id order
   * (the after-apply pipeline, app/sync/after-apply.server.ts, hangs off this).
   */
  afterBatch?: (events: AppliedEvent[]) => Promise<void>;
  /**
   * PostgreSQL only: claim and apply the next batch while the last batch's `afterBatch` runs (on
   * by default; false runs them one after the other, as on SQLite). `drain()` still returns only
   * once every queued `afterBatch` is done.
   */
  overlapAfterBatch?: boolean;
  /** After an event's "done" mark committed, whatever its outcome (tests and benchmarks count them). */
  onDone?: (event: ClaimedEvent, outcome: string) => void;
}

/**
 * How the server's worker gives way to intake (benchmarks use the same). Only while webhooks arrive
 * faster than 200 a second (a burst): then it waits 10 ms at a time, but applies a batch at least
 * every 50 ms (a 50-event batch is a few ms of work), so intake answers first and the inbox does not
 * fall behind. A steady trickle never waits: that would only add to its time to membership.
 */
export const WORKER_PACING = { yieldMs: 10, maxDeferMs: 50, yieldAbovePerSecond: 200 } as const;

/**
 * The batch claimed while webhooks arrive when the worker runs on a thread of its own beside the
 * HTTP thread on SQLite (server.ts): each webhook's INSERT waits for at most one such batch's
 * transaction (app/sqlite-turns.server.ts), so it is kept to a few milliseconds.
 */
export const SHARED_WRITER_BATCH = 16;

/** A shop's lastWebhookAt trails its newest applied event by at most this much event time. */
export const LAST_WEBHOOK_EVERY_MS = 10_000;

/**
 * An event the worker applied, with what applying it did, and its shop's row id as the worker
 * applied it (so that the after-batch pipeline need not read it again).
 */
export type AppliedEvent = ClaimedEvent & { outcome: string; shopId?: number };

export class InboxWorker {
  private running = false;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private stopping = false;
  /** When the latest webhooks arrived (a ring): how busy intake is. */
  private readonly arrivals: number[] = [];
  private arrivalAt = 0;
  private lastAppliedAt = 0;
  private loop: Promise<void> | null = null;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly now: () => Date;
  processed = 0;
  failed = 0;
  /** The event time last written as each shop's lastWebhookAt (noteLastWebhook). */
  private readonly lastWebhookWritten = new Map<string, number>();
  /** Shop rows by domain, read once rather than per event (dropped when a topic changes them). */
  private readonly shops = new Map<string, ShopRef>();
  /** Several workers may share a PostgreSQL inbox: events of one entity are then applied one at a time. */
  private readonly serialize: boolean;
  /**
   * PostgreSQL: the next batch is claimed and applied while the last one's after-batch pipeline
   * (memberships and the rest) runs on other connections, so that a delivery arriving meanwhile
   * waits for one stage, not both. SQLite runs both on its one connection: no overlap there.
   */
  private readonly overlapAfterBatch: boolean;
  /** The after-batch pipelines queued so far, run one after another (afterBatch). */
  private afterChain: Promise<unknown> = Promise.resolve();
  private afterPending = 0;
  /** A drain waiting for its pipeline or a new delivery, whichever comes first. */
  private wakeWaiters: (() => void)[] = [];

  constructor(
    private readonly db: PrismaClient,
    private readonly options: WorkerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 250;
    this.pollMs = options.pollMs ?? 1000;
    this.now = options.now ?? (() => new Date());
    this.serialize = dialectOfClient(db) === "postgres";
    this.overlapAfterBatch = this.serialize && options.overlapAfterBatch !== false;
  }

  /** Applies one event; returns false when it failed (it is then kept for a retry). */
  async process(event: ClaimedEvent): Promise<boolean> {
    return (await this.applyOne(event)) !== null;
  }

  /** Applies one event; returns its outcome, or null when it failed (it is then kept for a retry). */
  private async applyOne(event: ClaimedEvent): Promise<string | null> {
    try {
      await this.cacheShop(event.shopDomain);
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
      await this.applied(event, outcome);
      return outcome;
    } catch (error) {
      if (error instanceof LeaseLost) return null;
      await this.keptForRetry(event, error);
      return null;
    }
  }

  /** Reads a shop's row once, not per event (dropped when a topic changes it or an event fails). */
  private async cacheShop(domain: string): Promise<void> {
    if (!this.shops.has(domain))
      this.shops.set(domain, await this.db.$transaction((tx) => shopFor(tx, domain)));
  }

  /** An event's apply and its "done" mark committed. */
  private async applied(event: ClaimedEvent, outcome: string): Promise<void> {
    this.processed++;
    this.options.onDone?.(event, outcome);
    if (outcome === "applied" && this.options.afterApply) {
      // Derived state (segment membership): a failure here is logged, not a reason to re-apply.
      await this.options.afterApply(event, outcome).catch((error) => this.options.onError?.(event, error));
    }
  }

  /** An event failed: kept with its error for a retry with backoff. */
  private async keptForRetry(event: ClaimedEvent, error: unknown): Promise<void> {
    this.failed++;
    // The cached shop row may be what went wrong (another process erased the shop): re-read it next time.
    this.shops.delete(event.shopDomain);
    // A refund waiting for its order is expected, not an error to report.
    if (!(error instanceof OrderNotYetSynced)) this.options.onError?.(event, error);
    await markFailed(this.db, event, error, this.now());
  }

  /** Applies everything due now; resolves when nothing is left that is due. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      // Give way to intake between batches; while webhooks are arriving, claim fewer at a time so
      // that one transaction holds the (SQLite) writer only briefly.
      const arriving = await this.giveWay();
      // This claim sees everything recorded before a wake that came until now.
      this.woken = false;
      const limit = arriving ? Math.min(this.batchSize, this.options.intakeBatchSize ?? 50) : this.batchSize;
      const batch = await claimDue(this.db, limit, this.now());
      if (!batch.length) {
        if (await this.drained()) return total;
        continue;
      }
      // The claim was one transaction, the apply is another: webhooks that arrived meanwhile are
      // recorded between them.
      await this.letIntakeIn();
      const latest = new Map<string, Date>();
      const applied: AppliedEvent[] = [];
      let index = 0;
      while (index < batch.length) {
        if (this.stopping) {
          // Hand back what this worker claimed but did not start, so that it is due again at once.
          await release(this.db, batch.slice(index));
          this.afterBatch(applied);
          await this.afterChain;
          return total;
        }
        // A run of events applied together, or one event of a rare topic on its own.
        const batched = !this.options.perEvent && appliedInBatches(batch[index].topic);
        let end = index + 1;
        // While webhooks arrive, a batch claimed before they did is applied a few events at a time.
        const most = this.intakeBusy() ? (this.options.intakeBatchSize ?? 50) : batch.length;
        if (batched)
          while (end < batch.length && end - index < most && appliedInBatches(batch[end].topic)) end++;
        const run = batch.slice(index, end);
        const outcomes = batched ? await this.applyRun(run) : [await this.applyOne(run[0])];
        for (const [i, event] of run.entries()) {
          if (outcomes[i] === "applied")
            applied.push({ ...event, outcome: "applied", shopId: this.shops.get(event.shopDomain)?.id });
          const at = event.triggeredAt ?? this.now();
          if (at > (latest.get(event.shopDomain) ?? new Date(0))) latest.set(event.shopDomain, at);
        }
        this.lastAppliedAt = Date.now();
        total += run.length;
        index = end;
        // Let the HTTP side answer between runs: acknowledging webhooks comes first.
        await this.letIntakeIn();
      }
      this.afterBatch(applied);
      if (!this.overlapAfterBatch) await this.afterChain;
      for (const [domain, at] of latest) await this.noteLastWebhook(domain, at);
      // Fewer than asked were due, and nothing was recorded since: no claim can find more now.
      if (batch.length < limit && !this.woken && (await this.drained())) return total;
    }
  }

  /**
   * After a claim found everything due: whether the inbox is drained, once the queued after-batch
   * pipelines are done. While they run (PostgreSQL), a delivery recorded meanwhile is claimed at
   * once instead (false: claim again).
   */
  private async drained(): Promise<boolean> {
    if (!this.afterPending) return !this.woken;
    const woken = await Promise.race([
      this.afterChain.then(() => false),
      new Promise<boolean>((resolve) => this.wakeWaiters.push(() => resolve(true))),
    ]);
    // Nothing recorded since the claim (each delivery wakes the worker): the inbox is drained.
    return !woken && !this.woken;
  }

  /**
   * The shop's `lastWebhookAt` moved forward, at most once every LAST_WEBHOOK_EVERY_MS of event
   * time a shop (a statement per batch would be one more round trip behind every delivery in a
   * flash sale). Only a fallback: the sync page reads the newest receipt in the inbox first.
   */
  private async noteLastWebhook(domain: string, at: Date): Promise<void> {
    const written = this.lastWebhookWritten.get(domain);
    if (written !== undefined && at.getTime() - written < LAST_WEBHOOK_EVERY_MS) return;
    this.lastWebhookWritten.set(domain, at.getTime());
    await hotFor(this.db, "apply").run(
      `UPDATE "Shop" SET "lastWebhookAt" = ? WHERE "domain" = ? AND ("lastWebhookAt" IS NULL OR "lastWebhookAt" < ?)`,
      [at, domain, at],
    );
  }

  /**
   * Applies a run of events of the topics applied in batches (appliedInBatches) set-based, in one transaction with their "done"
   * marks; an event that failed alone is then kept for a retry. If the transaction itself fails
   * (a lease lost, or a failure no one event can be blamed for), the run is applied again one
   * event at a time, so that nothing blocks the rest. Returns each event's outcome (null: failed).
   */
  private async applyRun(run: ClaimedEvent[]): Promise<(string | null)[]> {
    const byShop = new Map<string, ClaimedEvent[]>();
    for (const event of run) byShop.set(event.shopDomain, [...(byShop.get(event.shopDomain) ?? []), event]);
    let results: Map<number, BatchResult>;
    const now = this.now();
    try {
      for (const domain of byShop.keys()) await this.cacheShop(domain);
      results = await hotFor(this.db, "apply").transaction(async (tx) => {
        const out = new Map<number, BatchResult>();
        for (const [domain, events] of byShop)
          for (const r of await applyBatch(tx, this.shops.get(domain)!, events, now)) out.set(r.id, r);
        const done = run.flatMap((e) => {
          const r = out.get(e.id);
          return r && "outcome" in r ? [{ id: e.id, outcome: r.outcome, lockedUntil: e.lockedUntil }] : [];
        });
        if ((await markDone(tx, done, now)) !== done.length)
          throw new LeaseLost("an event of the batch was claimed again by another worker");
        return out;
      });
    } catch (error) {
      if (!(error instanceof LeaseLost))
        console.warn(
          `inbox worker: a batch of ${run.length} failed as a whole, applying its events one at a time:`,
          error,
        );
      const outcomes: (string | null)[] = [];
      for (const event of run) outcomes.push(await this.applyOne(event));
      return outcomes;
    }
    const outcomes: (string | null)[] = [];
    for (const event of run) {
      const r = results.get(event.id)!;
      if ("outcome" in r) {
        await this.applied(event, r.outcome);
        outcomes.push(r.outcome);
      } else {
        await this.keptForRetry(event, r.error);
        outcomes.push(null);
      }
    }
    return outcomes;
  }

  /**
   * Queues the after-batch pipeline of a batch (its "applied" events): the pipelines run one after
   * another, in the order of their batches. With `overlapAfterBatch` the worker claims and applies
   * the next batch meanwhile.
   */
  private afterBatch(applied: AppliedEvent[]): void {
    const run = this.options.afterBatch;
    if (!applied.length || !run) return;
    this.afterPending++;
    this.afterChain = this.afterChain
      // Derived state: a failure here is logged, not a reason to re-apply.
      .then(() => run(applied).catch((error) => this.options.onError?.(applied[0], error)))
      .finally(() => this.afterPending--);
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

  /**
   * Lets the HTTP side run between two of the worker's transactions. On SQLite they share one
   * thread and one connection, and each transaction runs start to end without the event loop
   * turning (its statements are synchronous). While intake is busy the worker resumes on a timer,
   * after the check phase in which the intake batcher writes what arrived (intake.server.ts
   * schedules its write with setImmediate): a setImmediate here would resume the worker first, and
   * the webhooks would wait for its next transaction too.
   */
  private letIntakeIn(): Promise<void> {
    return new Promise((resolve) =>
      this.options.yieldMs && this.intakeBusy() ? setTimeout(resolve, 0) : setImmediate(resolve),
    );
  }

  /** Waits while intake is busy (see `yieldMs`); whether it still is. */
  private async giveWay(): Promise<boolean> {
    const yieldMs = this.options.yieldMs ?? 0;
    if (!yieldMs) return false;
    const maxDefer = this.options.maxDeferMs ?? 250;
    while (this.intakeBusy() && Date.now() - this.lastAppliedAt < maxDefer && this.running)
      await new Promise((resolve) => setTimeout(resolve, yieldMs));
    return this.intakeBusy();
  }

  /** Over the last 100 ms, webhooks arrived faster than `yieldAbovePerSecond`. */
  private intakeBusy(): boolean {
    const window = 100;
    const needed = this.arrivals.length;
    if (!needed) return false;
    // The ring holds the last `needed` arrivals: busy when the oldest of them is within the window.
    const oldest = this.arrivals[this.arrivalAt % needed];
    return this.arrivals.every((t) => t > 0) && Date.now() - oldest < window;
  }

  private noteArrival(): void {
    if (!this.options.yieldMs) return;
    const needed = Math.max(2, Math.ceil(((this.options.yieldAbovePerSecond ?? 200) * 100) / 1000));
    if (this.arrivals.length !== needed)
      this.arrivals.splice(0, this.arrivals.length, ...Array<number>(needed).fill(0));
    this.arrivals[this.arrivalAt % needed] = Date.now();
    this.arrivalAt = (this.arrivalAt + 1) % needed;
  }

  /** A webhook arrived (a repeat of one recorded): intake may be busy. */
  noteIntake(): void {
    this.noteArrival();
  }

  /**
   * Something was recorded: apply it now rather than at the next poll. Counts as a webhook's
   * arrival unless `arrival: false` (the caller counted it when the request came, noteIntake).
   */
  wake(options: { arrival?: boolean } = {}): void {
    if (options.arrival !== false) this.noteArrival();
    for (const resolve of this.wakeWaiters.splice(0)) resolve();
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
