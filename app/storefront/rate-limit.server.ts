/**
 * Limits on the storefront's code endpoint. Every new visitor id is a first-time visitor, so a
 * script making fresh ids could otherwise drain an offer's pool of discount codes: each shopper's
 * network address (per shop) gets a small bucket, and each shop a ceiling on code requests per
 * minute whoever asks.
 *
 * The code endpoint's buckets are kept in the database (`RateLimitBucket`, SharedBuckets below), so
 * every app instance sharing it takes from the same buckets: two instances together let through
 * exactly the limit, not twice it. `TokenBuckets` (this process's memory) stays for the pixel
 * endpoint's coarse flood guard. The client's address is the first `X-Forwarded-For` entry, which
 * Shopify's app proxy sets to the shopper's IP.
 */
import type { PrismaClient } from "@prisma/client";
import prisma from "../db.server";
import { hotFor, int, type Hot } from "../db-hot.server";

export interface BucketOptions {
  /** How many requests may come at once. */
  capacity: number;
  /** Tokens added back per second. */
  perSecond: number;
  /** Above this many keys, idle (full) buckets are forgotten. */
  maxKeys?: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly options: BucketOptions) {}

  take(key: string, now: Date): Take {
    const { capacity, perSecond } = this.options;
    const t = now.getTime();
    const held = this.buckets.get(key);
    const tokens = held ? Math.min(capacity, held.tokens + ((t - held.at) / 1000) * perSecond) : capacity;
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: t });
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
    }
    this.buckets.delete(key); // re-inserted last: the map stays in order of use
    this.buckets.set(key, { tokens: tokens - 1, at: t });
    if (this.buckets.size > (this.options.maxKeys ?? 100_000)) this.forget(t);
    return { ok: true };
  }

  /** Drops full buckets (nothing to remember), then the least recently used if still too many. */
  private forget(t: number): void {
    const { capacity, perSecond, maxKeys = 100_000 } = this.options;
    for (const [key, b] of this.buckets)
      if (b.tokens + ((t - b.at) / 1000) * perSecond >= capacity) this.buckets.delete(key);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= maxKeys) break;
      this.buckets.delete(key);
    }
  }

  clear(): void {
    this.buckets.clear();
  }
}

/** Every shared limit is full again within this long: rows idle longer are pruned. */
const FULL_WITHIN_MS = 3_600_000;

/**
 * Token buckets kept in the database, shared by every instance. A take is one atomic upsert on
 * the bucket's row: it refills the tokens for the time since the last take, takes one if there
 * is one, and says whether it did (PostgreSQL locks the row for the statement; SQLite has one
 * writer), so concurrent takes from any number of instances never let through more than the
 * bucket holds. Time only moves forward for a bucket: an instance whose clock lags refills nothing
 * and does not move the bucket's time back. No cache in the process: a cached "allowed" could let
 * through more than the limit.
 */
export class SharedBuckets {
  /** One take: the upsert of the bucket's row. */
  readonly sql: string;
  /** The upsert's conflict clause and RETURNING: what a take does to a held bucket. */
  readonly upsert: string;

  constructor(
    /** The keys' prefix: which limit this is. */
    readonly name: string,
    private readonly options: Omit<BucketOptions, "maxKeys">,
  ) {
    const { capacity, perSecond } = options;
    if (!(capacity >= 1 && perSecond > 0 && (capacity / perSecond) * 1000 <= FULL_WITHIN_MS))
      throw new Error(`rate limit ${name}: needs capacity >= 1 and to refill within an hour`);
    const perMs = `CAST(${perSecond / 1000} AS DOUBLE PRECISION)`;
    const cap = `CAST(${capacity} AS DOUBLE PRECISION)`;
    const old = `"RateLimitBucket"`;
    const refilled = `(${old}."tokens" + (CASE WHEN excluded."at" > ${old}."at" THEN excluded."at" - ${old}."at" ELSE 0 END) * ${perMs})`;
    const held = `(CASE WHEN ${refilled} > ${cap} THEN ${cap} ELSE ${refilled} END)`;
    this.upsert = `ON CONFLICT ("key") DO UPDATE SET
        "tokens" = CASE WHEN ${held} >= 1 THEN ${held} - 1 ELSE ${held} END,
        "granted" = CASE WHEN ${held} >= 1 THEN 1 ELSE 0 END,
        "at" = CASE WHEN excluded."at" > ${old}."at" THEN excluded."at" ELSE ${old}."at" END
      RETURNING "tokens", "granted"`;
    this.sql = `INSERT INTO "RateLimitBucket" ("key", "tokens", "at", "granted") VALUES (?, ?, ?, 1) ${this.upsert}`;
  }

  /** A take's parameters: the bucket's key, a new bucket's tokens after this take, the time. */
  params(key: string, now: Date): unknown[] {
    return [`${this.name}:${key}`, this.options.capacity - 1, now.getTime()];
  }

  /** What a take's returned row means. */
  taken(row: { tokens: unknown; granted: unknown }): Take {
    if (int(row.granted) === 1) return { ok: true };
    const tokens = Number(row.tokens);
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.options.perSecond)) };
  }

  /** Takes one token from `key`'s bucket, for every instance at once. */
  async take(db: PrismaClient, key: string, now: Date): Promise<Take> {
    const hot = hotFor(db, "read");
    const [row] = await writeRows<{ tokens: unknown; granted: unknown }>(
      hot,
      this.sql,
      this.params(key, now),
    );
    return this.taken(row);
  }

  /** Forgets every bucket of this limit (tests, and the demo's replay of weeks in minutes). */
  async clear(db: PrismaClient = prisma): Promise<void> {
    await hotFor(db, "read").run(`DELETE FROM "RateLimitBucket" WHERE "key" LIKE ?`, [`${this.name}:%`]);
  }
}

function writeRows<T>(hot: Hot, sql: string, params: readonly unknown[]): Promise<T[]> {
  return hot.dialect === "sqlite"
    ? hot.transaction((tx) => tx.rows<T>(sql, params))
    : hot.rows<T>(sql, params);
}

/**
 * Takes one token from each bucket in turn, stopping at the first that refuses (a later bucket is
 * not drawn on): the takes so far, the last one refused or all allowed. On PostgreSQL ONE
 * statement, a round trip rather than one per bucket: each take is an upsert in a data-modifying
 * CTE whose row comes only when the one before was granted (PostgreSQL locks each bucket's row for
 * the statement, as a take alone does). SQLite, in process, takes them in turn in one transaction.
 */
export async function takeInTurn(
  db: PrismaClient,
  takes: readonly (readonly [SharedBuckets, string])[],
  now: Date,
): Promise<Take[]> {
  const hot = hotFor(db, "read");
  type Row = { tokens: unknown; granted: unknown };
  if (hot.dialect === "sqlite")
    return hot.transaction(async (tx) => {
      const done: Take[] = [];
      for (const [bucket, key] of takes) {
        const [row] = await tx.rows<Row>(bucket.sql, bucket.params(key, now));
        done.push(bucket.taken(row));
        if (!done[done.length - 1].ok) break;
      }
      return done;
    });
  const ctes = takes.map(
    ([bucket], i) =>
      `t${i} AS (INSERT INTO "RateLimitBucket" ("key", "tokens", "at", "granted") ${
        i === 0
          ? "VALUES (?, ?, ?, 1)"
          : `SELECT ?::text, ?::double precision, ?::bigint, 1 FROM t${i - 1} WHERE t${i - 1}."granted" = 1`
      } ${bucket.upsert})`,
  );
  const columns = takes.map((_, i) => `t${i}."tokens" AS "tokens${i}", t${i}."granted" AS "granted${i}"`);
  const joins = takes.slice(1).map((_, i) => ` LEFT JOIN t${i + 1} ON TRUE`);
  const [row] = await hot.rows<Record<string, unknown>>(
    `WITH ${ctes.join(", ")} SELECT ${columns.join(", ")} FROM t0${joins.join("")}`,
    takes.flatMap(([bucket, key]) => bucket.params(key, now)),
  );
  const done: Take[] = [];
  for (const [i, [bucket]] of takes.entries()) {
    done.push(bucket.taken({ tokens: row[`tokens${i}`], granted: row[`granted${i}`] }));
    if (!done[i].ok) break;
  }
  return done;
}

/**
 * Drops buckets idle long enough to be full again (a missing bucket is a full one): the scheduler
 * calls it hourly (runtime.server.ts). Returns how many it dropped.
 */
export async function pruneRateLimits(db: PrismaClient, now: Date): Promise<number> {
  return hotFor(db, "read").run(`DELETE FROM "RateLimitBucket" WHERE "at" < ?`, [
    now.getTime() - FULL_WITHIN_MS,
  ]);
}

/**
 * One address may ask for 20 codes at once, then 10 a minute: a shopper asks once or twice, but
 * many shoppers can share an address (an office, a mobile carrier's NAT).
 */
export const perClient = new SharedBuckets("code-client", { capacity: 20, perSecond: 10 / 60 });
/** A shop hands out at most 120 codes a minute (60 at once), whoever asks. */
export const perShop = new SharedBuckets("code-shop", { capacity: 60, perSecond: 2 });

export function clientAddress(request: Request): string {
  const forwarded = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  return forwarded || "unknown";
}

/**
 * A 429 with Retry-After when this shopper or this shop has asked too often (across every app
 * instance); null to go on. The shop's bucket is only drawn on once the address's allowed it.
 */
export async function limitCodeRequests(
  request: Request,
  shop: string,
  now: Date,
  db: PrismaClient = prisma,
): Promise<Response | null> {
  const refuse = (take: Take & { ok: false }, error: string) =>
    Response.json(
      { error },
      {
        status: 429,
        headers: { "Retry-After": String(take.retryAfterSeconds), "Cache-Control": "no-store" },
      },
    );
  const [client, all] = await takeInTurn(
    db,
    [
      [perClient, `${shop} ${clientAddress(request)}`],
      [perShop, shop],
    ],
    now,
  );
  if (!client.ok)
    return refuse(
      client,
      `too many code requests from this address: try again in ${client.retryAfterSeconds} s`,
    );
  if (!all.ok)
    return refuse(all, `too many code requests for this shop: try again in ${all.retryAfterSeconds} s`);
  return null;
}
