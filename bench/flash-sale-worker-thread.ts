/**
 * The inbox worker on a thread of its own, as server.ts runs it on PostgreSQL (one background
 * thread, SLICE_WORKERS=1): its own Prisma client and hot pools, its own event loop and heap. The
 * webhook → membership bench (bench/flash-sale.ts) keeps intake and the load on its main thread,
 * wakes this one for each recorded delivery (the server's threads use a BroadcastChannel, and
 * NOTIFY across processes: one message either way), and hears back when each delivery's
 * membership (or, without the membership step, its apply) is current.
 *
 * workerData: { url, now (ISO), memberships, yieldMs }. Messages in: "wake", "intake", "stop".
 * Messages out: { ready }, { current: [keys], at }, { error }, { stopped, statements }.
 * `at` is `performance.timeOrigin + performance.now()`: comparable across threads.
 */
import { parentPort, workerData } from "node:worker_threads";
import pg from "pg";
import { createPrismaClient } from "../app/db.server";
import { closeHot } from "../app/db-hot.server";
import type { ClaimedEvent } from "../app/sync/inbox.server";
import { deliveryKey, runtimeWorker } from "./runtime-worker";

interface Data {
  url: string;
  now: string;
  memberships: boolean;
  yieldMs: number;
}

const data = workerData as Data;
const port = parentPort!;

/** Statements this thread sent to PostgreSQL (each a round trip), as the main thread counts its own. */
let statements = 0;
{
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++;
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
}

const at = () => performance.timeOrigin + performance.now();
const current = (events: ClaimedEvent[]) => port.postMessage({ current: events.map(deliveryKey), at: at() });

const db = createPrismaClient(data.url);
const worker = runtimeWorker(db, {
  now: new Date(data.now),
  memberships: data.memberships,
  onError: (event, error) =>
    port.postMessage({ error: `${event.topic} #${event.id}: ${(error as Error).message}` }),
  ...(data.memberships ? { onMembership: current } : { onDone: (event) => current([event]) }),
  yieldMs: data.yieldMs,
});
worker.start();

port.on("message", (message: string) => {
  if (message === "wake") worker.wake();
  else if (message === "intake") worker.noteIntake();
  else if (message === "stop")
    void (async () => {
      await worker.stop();
      await closeHot();
      await db.$disconnect();
      port.postMessage({ stopped: true, statements });
      port.close();
    })();
});
port.postMessage({ ready: true });
