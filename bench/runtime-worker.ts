/**
 * The inbox worker as app/sync/runtime.server.ts's `startBackgroundWork` makes it (its pacing and
 * after-batch pipeline, `afterApplied`), for the benchmarks that drive it in process
 * (bench/flash-sale.ts, bench/apply-profile.ts): one place, so that they measure what the server runs.
 * Memberships are evaluated at `now` (the generated store's clock); `memberships: false` leaves the
 * after-batch pipeline out.
 */
import type { PrismaClient } from "@prisma/client";
import { afterApplied } from "../app/sync/after-apply.server";
import type { ClaimedEvent } from "../app/sync/inbox.server";
import { InboxWorker, WORKER_PACING, type AppliedEvent } from "../app/sync/worker.server";

/** Which delivery an event is, for the latency bench on either thread: its topic and its payload's id. */
export const deliveryKey = (event: Pick<ClaimedEvent, "topic" | "payload">) =>
  `${event.topic}:${(JSON.parse(event.payload) as { id: number }).id}`;

export interface RuntimeWorkerOptions {
  now: Date;
  memberships: boolean;
  /** Each event that failed (it is kept for a retry, as in the server). */
  onError?: (event: ClaimedEvent, error: unknown) => void;
  /** After an event's "done" mark committed. */
  onDone?: (event: ClaimedEvent) => void;
  /** The after-batch pipeline returned for these events. */
  onMembership?: (events: AppliedEvent[]) => void;
  /** Runs around each after-batch pipeline (apply-profile measures its CPU time). */
  around?: (pipeline: () => Promise<void>) => Promise<void>;
  /** Diagnostics only: the worker's yield to intake (the runtime's WORKER_PACING.yieldMs). */
  yieldMs?: number;
}

export function runtimeWorker(db: PrismaClient, options: RuntimeWorkerOptions): InboxWorker {
  const { now, onMembership, around = (pipeline) => pipeline() } = options;
  return new InboxWorker(db, {
    afterBatch: options.memberships
      ? async (events) => {
          await around(() => afterApplied(db, events, now));
          onMembership?.(events);
        }
      : undefined,
    ...WORKER_PACING,
    yieldMs: options.yieldMs ?? WORKER_PACING.yieldMs,
    onError: options.onError,
    onDone: options.onDone ? (event) => options.onDone!(event) : undefined,
  });
}
