/**
 * The app's lifecycle on a shop: uninstalled, and its access scopes changed.
 *
 * `app/uninstalled` takes effect when it is received (the webhook route calls `applyUninstall`
 * before answering), not when the worker reaches it: the shop's sessions are deleted and its
 * background loops stop at their next turn. An uninstall that happened before the shop's latest
 * install (a late delivery, Shopify's retry, a replay) is stale and changes nothing, so a quick
 * reinstall keeps its new session.
 */
import type { Prisma, PrismaClient } from "@prisma/client";

type Db = PrismaClient | Prisma.TransactionClient;

/** Applies an uninstall that happened at `at`; "stale" when the shop was installed again since. */
export async function applyUninstall(db: Db, domain: string, at: Date): Promise<"applied" | "stale"> {
  const shop = await db.shop.findUnique({ where: { domain }, select: { installedAt: true } });
  if (shop && shop.installedAt.getTime() > at.getTime()) return "stale";
  // Conditional on the install time read above: an install landing in between wins.
  const { count } = await db.shop.updateMany({
    where: { domain, installedAt: { lte: at } },
    data: { uninstalledAt: at },
  });
  if (shop && !count) return "stale";
  await db.session.deleteMany({ where: { shop: domain } });
  return "applied";
}

export interface ScopesUpdate {
  current: string[];
  /** The scopes granted before this change, as Shopify sends them (null: not in the payload). */
  previous: string[] | null;
  updatedAt: Date | null;
}

/** `app/scopes_update`'s payload: `current` is the list of scopes granted now. */
export function parseScopesUpdate(payload: unknown): ScopesUpdate {
  const p = payload as { current?: unknown; previous?: unknown; updated_at?: unknown } | null;
  const isList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
  if (!p || !isList(p.current)) throw new Error('app/scopes_update: "current" must be a list of scope names');
  if (p.previous !== undefined && p.previous !== null && !isList(p.previous))
    throw new Error('app/scopes_update: "previous" must be a list of scope names');
  const updatedAt =
    typeof p.updated_at === "string" && !Number.isNaN(Date.parse(p.updated_at))
      ? new Date(p.updated_at)
      : null;
  return { current: p.current, previous: p.previous ?? null, updatedAt };
}

/** Stores the shop's granted scopes on its sessions (what the admin and the background work read). */
export async function applyScopesUpdate(db: Db, domain: string, update: ScopesUpdate): Promise<number> {
  const { count } = await db.session.updateMany({
    where: { shop: domain },
    data: { scope: update.current.join(",") },
  });
  return count;
}

/**
 * When this change grants `read_all_orders` (it was not granted before), the history imported so far
 * holds only the last 60 days of orders: the shop's history import starts over, now with every order
 * (lifetime figures, "first order" dates, the predictive fit all need them). An import running now
 * started without the scope; it is marked pending so that it does not end as "done" (backfill.server.ts
 * finishes only a run still "running") and the scheduler runs it again. Returns whether it did.
 */
export async function reimportIfHistoryGranted(
  db: Db,
  domain: string,
  update: ScopesUpdate,
  grantedBefore: string[] | null,
): Promise<boolean> {
  const before = update.previous ?? grantedBefore;
  if (!update.current.includes("read_all_orders") || !before || before.includes("read_all_orders"))
    return false;
  const { count } = await db.shop.updateMany({
    where: { domain, uninstalledAt: null },
    data: { backfillStatus: "pending", backfillAttempts: 0, backfillRetryAt: null },
  });
  return count > 0;
}

/** The scopes the shop granted the app, as its offline session holds them (null: not installed). */
export async function grantedScopesOf(db: Db, domain: string): Promise<string[] | null> {
  const session = await db.session.findFirst({
    where: { shop: domain, isOnline: false },
    select: { scope: true },
  });
  if (!session) return null;
  return (session.scope ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
