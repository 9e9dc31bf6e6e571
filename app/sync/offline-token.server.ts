/**
 * The shop's offline access token for background work, kept valid through the library.
 *
 * With `future.expiringOfflineAccessTokens` an offline token lives 60 minutes. Every token comes
 * from `unauthenticated.admin(shop)` of `@shopify/shopify-app-remix`, which loads the stored
 * session and, within 5 minutes of its expiry, refreshes it (`api.auth.refreshToken`) and stores
 * the new one. Nothing here talks to Shopify's token endpoint itself.
 *
 * - One refresh per shop at a time in this process: concurrent callers share it.
 * - A token Shopify refuses (401: it expired early, the clocks differ, a long job outlived it) is
 *   marked expired in the session table only if it is still the stored one (compare-and-set), and
 *   the library refreshes it; a token another instance already replaced is simply read again.
 * - A refresh that fails because another instance won it (Shopify rotates refresh tokens: the old
 *   one is retired once its replacement is used) re-reads the session that instance stored.
 */
import type { Session } from "@shopify/shopify-api";
import prisma from "../db.server";

export class OfflineTokenError extends Error {
  override name = "OfflineTokenError";
}

/** The library refreshes within 5 minutes of expiry (WITHIN_MILLISECONDS_OF_EXPIRY): so do we. */
const REFRESH_MARGIN_MS = 5 * 60_000;

interface Cached {
  token: string;
  expires: number | null;
}

const cache = new Map<string, Cached>();
const inFlight = new Map<string, Promise<string>>();
/** How many times this process asked the library for a session that needed a refresh (tests). */
export const tokenStats = { loads: 0, refusals: 0, recoveredFromStorage: 0 };

const offlineId = (shop: string) => `offline_${shop}`;

async function library() {
  return import("../shopify.server");
}

function singleFlight(shop: string, run: () => Promise<string>): Promise<string> {
  const running = inFlight.get(shop);
  if (running) return running;
  const started = run().finally(() => inFlight.delete(shop));
  inFlight.set(shop, started);
  return started;
}

function remember(shop: string, session: Pick<Session, "accessToken" | "expires">): string {
  if (!session.accessToken) throw new OfflineTokenError(`the offline session of ${shop} has no access token`);
  cache.set(shop, {
    token: session.accessToken,
    expires: session.expires ? session.expires.getTime() : null,
  });
  return session.accessToken;
}

const usable = (c: Cached | undefined | null, now = Date.now()): c is Cached =>
  !!c && (c.expires === null || c.expires - REFRESH_MARGIN_MS > now);

/** Through the library: loads the session, refreshing it if it is within 5 minutes of expiry. */
async function loadThroughLibrary(shop: string, refused: string | null): Promise<string> {
  tokenStats.loads++;
  const { unauthenticated } = await library();
  try {
    const { session } = await unauthenticated.admin(shop);
    return remember(shop, session);
  } catch (error) {
    // The refresh failed: another instance may have refreshed first (its refresh token retired
    // ours). Its session is in the table: read it again, give it a moment to be written.
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await prisma.session.findUnique({
        where: { id: offlineId(shop) },
        select: { accessToken: true, expires: true },
      });
      if (!stored)
        throw new OfflineTokenError(`no offline session for ${shop}: the app must be installed first`);
      const candidate = { token: stored.accessToken, expires: stored.expires?.getTime() ?? null };
      if (candidate.token !== refused && usable(candidate)) {
        tokenStats.recoveredFromStorage++;
        cache.set(shop, candidate);
        return candidate.token;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
    }
    const reason = error instanceof Response ? `HTTP ${error.status}` : (error as Error).message;
    throw new OfflineTokenError(`could not refresh the offline token of ${shop} (${reason})`);
  }
}

/** A valid offline access token for the shop (refreshed through the library when due). */
export function offlineToken(shop: string): Promise<string> {
  const cached = cache.get(shop);
  if (usable(cached)) return Promise.resolve(cached.token);
  return singleFlight(shop, () => loadThroughLibrary(shop, null));
}

/**
 * Shopify refused `token` (401). Returns the token to retry with: the one another caller or
 * instance already got, or a new one the library got by refreshing.
 */
export function tokenRefused(shop: string, token: string): Promise<string> {
  tokenStats.refusals++;
  const cached = cache.get(shop);
  if (cached && cached.token !== token && usable(cached)) return Promise.resolve(cached.token);
  cache.delete(shop);
  return singleFlight(shop, async () => {
    // Only if the refused token is still the stored one: mark it expired, so the library refreshes.
    await prisma.session.updateMany({
      where: { id: offlineId(shop), accessToken: token, refreshToken: { not: null } },
      // (Not the epoch itself: the session storage reads an expiry of 0 as "never expires".)
      data: { expires: new Date(1000) },
    });
    return loadThroughLibrary(shop, token);
  });
}

/** The shop was uninstalled (or its session replaced): forget what this process holds. */
export function forgetOfflineToken(shop: string): void {
  cache.delete(shop);
}
