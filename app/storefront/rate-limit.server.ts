/**
 * Limits on the storefront's code endpoint. Every new visitor id is a first-time visitor, so a
 * script making fresh ids could otherwise drain an offer's pool of discount codes: each shopper's
 * network address (per shop) gets a small bucket, and each shop a ceiling on code requests per
 * minute whoever asks.
 *
 * Token buckets in this process's memory: right for one app process (several processes each
 * allow their own share, so the real ceiling is N times this). The client's address is the first
 * `X-Forwarded-For` entry, which Shopify's app proxy sets to the shopper's IP.
 */

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

/**
 * One address may ask for 20 codes at once, then 10 a minute: a shopper asks once or twice, but
 * many shoppers can share an address (an office, a mobile carrier's NAT).
 */
export const perClient = new TokenBuckets({ capacity: 20, perSecond: 10 / 60 });
/** A shop hands out at most 120 codes a minute (60 at once), whoever asks. */
export const perShop = new TokenBuckets({ capacity: 60, perSecond: 2, maxKeys: 10_000 });

export function clientAddress(request: Request): string {
  const forwarded = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  return forwarded || "unknown";
}

/** A 429 with Retry-After when this shopper or this shop has asked too often; null to go on. */
export function limitCodeRequests(request: Request, shop: string, now: Date): Response | null {
  const refuse = (take: Take & { ok: false }, error: string) =>
    Response.json(
      { error },
      {
        status: 429,
        headers: { "Retry-After": String(take.retryAfterSeconds), "Cache-Control": "no-store" },
      },
    );
  const client = perClient.take(`${shop} ${clientAddress(request)}`, now);
  if (!client.ok)
    return refuse(
      client,
      `too many code requests from this address: try again in ${client.retryAfterSeconds} s`,
    );
  const all = perShop.take(shop, now);
  if (!all.ok)
    return refuse(all, `too many code requests for this shop: try again in ${all.retryAfterSeconds} s`);
  return null;
}
