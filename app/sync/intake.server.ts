/**
 * Group commit for webhook intake. Deliveries that arrive together are written in one INSERT
 * (one transaction) and each request is answered only after that write has committed, so
 * durability is unchanged while the per-webhook cost of the database round trip is shared.
 * At low traffic a batch holds one delivery and this is a plain insert.
 */
import type { PrismaClient } from "@prisma/client";
import { hotFor, int } from "../db-hot.server";
import type { Delivery } from "./inbox.server";
import { signalledInsert } from "./inbox-signal.server";
import { writeTurn } from "../sqlite-turns.server";

const COLUMNS = [
  "shopDomain",
  "topic",
  "eventId",
  "webhookId",
  "triggeredAt",
  "apiVersion",
  "payload",
  "status",
  "attempts",
  "deliveries",
  "nextAttemptAt",
  "receivedAt",
] as const;

type Result = "new" | "duplicate";

interface Pending {
  delivery: Delivery;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

export class IntakeBatcher {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  batches = 0;

  constructor(
    private readonly db: PrismaClient,
    private readonly maxBatch = 250,
  ) {}

  record(delivery: Delivery): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ delivery, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // Collect what arrives in this turn of the event loop, then write it.
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.queue.length) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    // SQLite with the background work on its own thread: wait (without blocking this thread) until
    // that thread's transaction is over, then take everything that arrived meanwhile in one INSERT.
    const release = await writeTurn();
    const batch = this.queue.splice(0, this.maxBatch);
    if (!batch.length) return release();
    this.batches++;
    try {
      const results = await insertDeliveries(
        this.db,
        batch.map((p) => p.delivery),
      );
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      release();
    }
  }
}

/**
 * Writes deliveries in one statement on the hot layer's `intake` role (on PostgreSQL a pool of its
 * own, so an acknowledgement never waits for a connection behind the apply workers); says for each
 * whether it was new or a repeat. When the statement recorded a new event, PostgreSQL's other
 * processes are told (`NOTIFY slice_inbox`, inbox-signal.server.ts) after it committed.
 */
export async function insertDeliveries(
  db: PrismaClient,
  deliveries: Delivery[],
  now = new Date(),
): Promise<Result[]> {
  if (!deliveries.length) return [];
  // The same event twice in one batch: insert it once with its delivery count.
  const firstIndex = new Map<string, number>();
  const counts = new Map<string, number>();
  const key = (d: Delivery) => `${d.shopDomain}\n${d.eventId}`;
  deliveries.forEach((d, i) => {
    const k = key(d);
    if (!firstIndex.has(k)) firstIndex.set(k, i);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  });
  const unique = [...firstIndex.values()].map((i) => deliveries[i]);
  const params = unique.flatMap((d) => [
    d.shopDomain,
    d.topic,
    d.eventId,
    d.webhookId,
    d.triggeredAt,
    d.apiVersion,
    d.payload,
    "pending",
    0,
    counts.get(key(d)) ?? 1,
    now,
    now,
  ]);
  const row = `(${COLUMNS.map(() => "?").join(", ")})`;
  const insert = `INSERT INTO "WebhookEvent" (${COLUMNS.map((c) => `"${c}"`).join(", ")})
    VALUES ${unique.map(() => row).join(", ")}
    ON CONFLICT ("shopDomain", "eventId") DO UPDATE SET "deliveries" = "WebhookEvent"."deliveries" + excluded."deliveries"
    RETURNING "shopDomain", "eventId", "deliveries"`;
  const hot = hotFor(db, "intake");
  // SQLite: a statement that writes goes to the one writer connection, inside a transaction.
  // PostgreSQL: the same statement sends the inbox's NOTIFY (signalledInsert), delivered when it commits.
  const returned = await (hot.dialect === "sqlite"
    ? hot.transaction((tx) => tx.rows<Returned>(insert, params))
    : hot.rows<Returned>(signalledInsert(insert), params));
  const held = new Map(returned.map((r) => [`${r.shopDomain}\n${r.eventId}`, int(r.deliveries)]));
  const results = deliveries.map((d, i): Result => {
    const k = key(d);
    // New: this batch created the row (it holds exactly this batch's deliveries) and this is the first of them.
    return firstIndex.get(k) === i && held.get(k) === counts.get(k) ? "new" : "duplicate";
  });
  return results;
}

interface Returned {
  shopDomain: string;
  eventId: string;
  deliveries: number | string;
}
