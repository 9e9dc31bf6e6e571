/**
 * Webhooks can arrive late or never. Reconciliation reads what changed recently in the Admin API
 * and applies it with the same order-safe writes: whatever the webhooks missed is repaired, and
 * whatever they already brought is left as it is.
 */
import { ensureWebPixel } from "../storefront/web-pixel.server";
import { config } from "../config.server";
import type { PrismaClient } from "@prisma/client";
import type { AdminApi } from "./admin-api.server";
import type { AdminDocument } from "./documents";
import { applyCheckout, applyCustomer, applyOrder, type Outcome, type Tx } from "./apply.server";
import { advisoryEntityLock, checkoutKeys, customerKey } from "./handlers.server";
import { dialectOfClient } from "../db.server";
import { checkoutFromGraphql, customerFromGraphql, orderFromGraphql } from "./from-graphql";
import type { CheckoutRecord, OrderRecord } from "./records";
import {
  CHECKOUT_LINE_ITEMS,
  ORDER_LINE_ITEMS,
  RECENT_CHECKOUTS,
  RECENT_CUSTOMERS,
  RECENT_ORDERS,
} from "./queries";

/** Re-read a little before the last pass, for clock skew and for writes in flight then. */
const OVERLAP_MS = 10 * 60_000;
const FIRST_WINDOW_MS = 3 * 24 * 3600_000;

interface Lines {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: unknown[];
}

type WithLines = Record<string, unknown> & { id: string; lineItems: Lines };

/** All of a node's line items: the first page came with it, the rest are fetched here. */
async function allLines(api: AdminApi, node: WithLines, query: AdminDocument): Promise<unknown[]> {
  const lines = [...node.lineItems.nodes];
  let page = node.lineItems.pageInfo;
  while (page.hasNextPage) {
    const data = await api.request<{ node: { lineItems: Lines } | null }>(
      query,
      { id: node.id, after: page.endCursor },
      300,
    );
    if (!data.node) break;
    lines.push(...data.node.lineItems.nodes);
    page = data.node.lineItems.pageInfo;
  }
  return lines;
}

interface Page<T> {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: T[];
}

/** How long one page's transaction may take (Prisma's default is 5 s), as the backfill's. */
const PAGE_TRANSACTION_MS = 60_000;

export interface ReconcileResult {
  checked: number;
  repaired: number;
  since: Date;
}

export async function reconcile(
  db: PrismaClient,
  api: AdminApi,
  shopDomain: string,
  now = new Date(),
): Promise<ReconcileResult> {
  const shop = await db.shop.findUniqueOrThrow({ where: { domain: shopDomain } });
  const since = new Date(
    (shop.reconciledAt?.getTime() ?? now.getTime() - FIRST_WINDOW_MS + OVERLAP_MS) - OVERLAP_MS,
  );
  const run = await db.syncRun.create({ data: { shopId: shop.id, kind: "reconcile", since } });
  const search = `updated_at:>='${since.toISOString()}'`;
  const tally = { checked: 0, repaired: 0 };
  // A page's records wait for the workers' entity locks and are applied one by one: on a busy
  // machine that outlasts Prisma's default 5 s, and the whole page would be undone and lost for
  // this run. As long as the backfill's pages may take.
  const page = { timeout: PAGE_TRANSACTION_MS };
  // On PostgreSQL, webhook workers may be applying these same records: hold them for the page
  // (one statement, in the workers' lock order).
  const postgres = dialectOfClient(db) === "postgres";
  const lock = (tx: Tx, keys: (string | null)[]) =>
    postgres ? advisoryEntityLock(tx, shopDomain)(keys) : Promise.resolve();
  const count = (outcome: Outcome) => {
    tally.checked++;
    if (outcome === "applied") tally.repaired++;
  };
  try {
    await eachPage<Record<string, unknown>>(api, RECENT_CUSTOMERS, search, "customers", async (nodes) => {
      const records = nodes.map((n) => customerFromGraphql(n));
      await db.$transaction(async (tx) => {
        await lock(
          tx,
          records.map((r) => customerKey(r.shopifyId)),
        );
        for (const r of records) count(await applyCustomer(tx, shop.id, r));
      }, page);
    });
    await eachPage<WithLines>(api, RECENT_ORDERS, search, "orders", async (nodes) => {
      const records: OrderRecord[] = [];
      for (const n of nodes) records.push(orderFromGraphql(n, await allLines(api, n, ORDER_LINE_ITEMS)));
      await db.$transaction(async (tx) => {
        await lock(
          tx,
          records.flatMap((r) => [
            customerKey(r.customerShopifyId),
            `order:${r.shopifyId}`,
            ...checkoutKeys(r.checkoutToken, r.checkoutShopifyId),
          ]),
        );
        for (const r of records) count(await applyOrder(tx, shop.id, r));
      }, page);
    });
    await eachPage<WithLines>(api, RECENT_CHECKOUTS, search, "abandonedCheckouts", async (nodes) => {
      const records: CheckoutRecord[] = [];
      for (const n of nodes)
        records.push(checkoutFromGraphql(n, await allLines(api, n, CHECKOUT_LINE_ITEMS), shop.currency));
      await db.$transaction(async (tx) => {
        await lock(
          tx,
          records.flatMap((r) => [customerKey(r.customerShopifyId), ...checkoutKeys(r.token, r.shopifyId)]),
        );
        for (const r of records) count(await applyCheckout(tx, shop.id, r));
      }, page);
    });
    await db.syncRun.update({
      where: { id: run.id },
      data: { status: "done", finishedAt: new Date(), counts: JSON.stringify(tally) },
    });
    await db.shop.update({ where: { id: shop.id }, data: { reconciledAt: now } });
    // A shop installed before the app had its web pixel (or whose setup failed): set it up now.
    if (!shop.webPixelId)
      await ensureWebPixel(db, api, shopDomain, config.appUrl).catch((error: unknown) =>
        console.error(`web pixel for ${shopDomain}:`, (error as Error).message),
      );
    return { ...tally, since };
  } catch (error) {
    await db.syncRun.update({
      where: { id: run.id },
      data: {
        status: "failed",
        finishedAt: new Date(),
        error: String((error as Error).message ?? error).slice(0, 2000),
      },
    });
    throw error;
  }
}

async function eachPage<T>(
  api: AdminApi,
  query: AdminDocument,
  search: string,
  root: string,
  apply: (nodes: T[]) => Promise<void>,
): Promise<void> {
  let after: string | null = null;
  do {
    const data: Record<string, Page<T>> = await api.request<Record<string, Page<T>>>(
      query,
      { query: search, after },
      200,
    );
    const page: Page<T> = data[root];
    await apply(page.nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
}
