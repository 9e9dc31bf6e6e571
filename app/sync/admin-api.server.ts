/**
 * Admin GraphQL for background work (backfill, reconciliation), with graphql-request.
 * It respects Shopify's cost-based throttling: it reads `extensions.cost.throttleStatus` after
 * every call, waits before a call the bucket cannot pay for, and backs off on THROTTLED.
 */
import { ClientError, GraphQLClient } from "graphql-request";
import type { PrismaClient } from "@prisma/client";
import { config } from "../config.server";
import type { AdminDocument } from "./documents";
import { OfflineTokenError, offlineToken, tokenRefused } from "./offline-token.server";

export const ADMIN_API_VERSION = "2026-07";

interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

interface CostExtension {
  cost?: { requestedQueryCost?: number; actualQueryCost?: number; throttleStatus?: ThrottleStatus };
}

export class AdminApiError extends Error {
  override name = "AdminApiError";
}

/** Where a client gets its token when it has none valid, and a new one when Shopify refuses it. */
export interface TokenSource {
  current(): Promise<string>;
  /** Shopify answered 401 to `token`: the token to retry with (refreshed, or already replaced). */
  refused(token: string): Promise<string>;
}

export interface AdminApiOptions {
  shop: string;
  accessToken: string;
  /** Expiring offline tokens: asked before each call and after a 401 (none: the token is fixed). */
  tokens?: TokenSource;
  /** Defaults to https://{shop}; the local stand-in in development and tests. */
  origin?: string | null;
  sleep?: (ms: number) => Promise<void>;
  maxRetries?: number;
  /** The Admin API version in the request path; ADMIN_API_VERSION unless said. */
  apiVersion?: string;
}

export class AdminApi {
  private readonly client: GraphQLClient;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxRetries: number;
  private bucket: ThrottleStatus | null = null;
  private bucketAt = 0;
  private token: string;
  /** What each call cost; useful for tests and benchmarks. */
  readonly costs: number[] = [];
  /** What each document cost last time: the best guess of what it will cost next time. */
  private readonly lastCost = new Map<string, number>();
  throttledCount = 0;

  constructor(readonly options: AdminApiOptions) {
    this.token = options.accessToken;
    const origin = options.origin ?? `https://${options.shop}`;
    this.client = new GraphQLClient(
      `${origin}/admin/api/${options.apiVersion ?? ADMIN_API_VERSION}/graphql.json`,
      {
        headers: { "X-Shopify-Access-Token": options.accessToken, "X-Shopify-Shop-Domain": options.shop },
      },
    );
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.maxRetries = options.maxRetries ?? 8;
  }

  /** Points the bucket is estimated to hold now, from the last status and the restore rate. */
  private available(now = Date.now()): number {
    if (!this.bucket) return Infinity;
    const restored = ((now - this.bucketAt) / 1000) * this.bucket.restoreRate;
    return Math.min(this.bucket.maximumAvailable, this.bucket.currentlyAvailable + restored);
  }

  private waitMs(needed: number): number {
    if (!this.bucket) return 0;
    const missing = needed - this.available();
    return missing <= 0 ? 0 : Math.ceil((missing / this.bucket.restoreRate) * 1000);
  }

  /** Sends a registered document (see documents.ts: every one is checked against Shopify's schema). */
  async request<T>(
    query: AdminDocument,
    variables: Record<string, unknown> = {},
    expectedCost = 50,
  ): Promise<T> {
    let refusals = 0;
    for (let attempt = 0; ; attempt++) {
      const wait = this.waitMs(this.lastCost.get(query) ?? expectedCost);
      if (wait > 0) await this.sleep(wait);
      // A long job (a backfill polling for an hour) outlives a token: take the current one each call.
      if (this.options.tokens) this.useToken(await this.options.tokens.current());
      try {
        const response = await this.client.rawRequest<T>(query, variables);
        this.note(response.extensions as CostExtension | undefined, query);
        return response.data;
      } catch (error) {
        if (error instanceof ClientError && error.response.status === 401) {
          // The token expired (or was revoked): refreshed once, then the call is retried.
          const refused = this.token;
          const next =
            this.options.tokens && refusals < 2 ? await this.options.tokens.refused(refused) : null;
          if (next && next !== refused) {
            refusals++;
            attempt--;
            this.useToken(next);
            continue;
          }
          throw new AdminApiError(
            `Admin API: HTTP 401, the access token of ${this.options.shop} was refused (${String(
              error.response.errors ?? "invalid or expired",
            )})`,
          );
        }
        if (error instanceof ClientError) {
          const errors = error.response.errors ?? [];
          this.note(error.response.extensions as CostExtension | undefined, query);
          const throttled = errors.some(
            (e) => (e.extensions as { code?: string } | undefined)?.code === "THROTTLED",
          );
          if (throttled && attempt < this.maxRetries) {
            this.throttledCount++;
            const requested =
              (error.response.extensions as CostExtension | undefined)?.cost?.requestedQueryCost ??
              expectedCost;
            await this.sleep(Math.max(this.waitMs(requested), 1000));
            continue;
          }
          // Shopify answers a failure inside a query with HTTP 200 and only `errors`
          // (INTERNAL_SERVER_ERROR): as retryable as a 5xx.
          const internal = errors.some(
            (e) => (e.extensions as { code?: string } | undefined)?.code === "INTERNAL_SERVER_ERROR",
          );
          if ((error.response.status >= 500 || internal) && attempt < this.maxRetries) {
            await this.sleep(Math.min(30_000, 500 * 2 ** attempt));
            continue;
          }
          const message = errors.map((e) => e.message).join("; ") || `HTTP ${error.response.status}`;
          throw new AdminApiError(`Admin API: ${message}`);
        }
        if (attempt < this.maxRetries && error instanceof TypeError) {
          // A network failure (fetch throws TypeError): Shopify or the network had a moment.
          await this.sleep(Math.min(30_000, 500 * 2 ** attempt));
          continue;
        }
        throw error;
      }
    }
  }

  private useToken(token: string): void {
    if (token === this.token) return;
    this.token = token;
    this.client.setHeader("X-Shopify-Access-Token", token);
  }

  private note(extensions: CostExtension | undefined, query: string): void {
    const cost = extensions?.cost;
    if (!cost) return;
    if (cost.requestedQueryCost !== undefined) this.lastCost.set(query, cost.requestedQueryCost);
    if (typeof cost.actualQueryCost === "number") this.costs.push(cost.actualQueryCost);
    if (cost.throttleStatus) {
      this.bucket = cost.throttleStatus;
      this.bucketAt = Date.now();
    }
  }
}

/**
 * An Admin API client for a shop, from its offline session: its token is refreshed through the
 * library when it is about to expire or Shopify refuses it (app/sync/offline-token.server.ts).
 */
export async function adminApiFor(db: PrismaClient, shop: string): Promise<AdminApi> {
  const session = await db.session.findFirst({
    where: { shop, isOnline: false },
    select: { id: true },
  });
  if (!session) throw new AdminApiError(`no offline session for ${shop}: the app must be installed first`);
  // A token that cannot be had (uninstalled meanwhile, refresh refused) is an Admin API failure:
  // the callers' retry and error paths (pushes, pools, sign-ups, the scheduler) handle it.
  const asApiError = (error: unknown): never => {
    if (error instanceof OfflineTokenError) throw new AdminApiError(`Admin API: ${error.message}`);
    throw error;
  };
  const tokens: TokenSource = {
    current: () => offlineToken(shop).catch(asApiError),
    refused: (token) => tokenRefused(shop, token).catch(asApiError),
  };
  return new AdminApi({ shop, accessToken: await tokens.current(), tokens, origin: config.adminApiOrigin });
}
