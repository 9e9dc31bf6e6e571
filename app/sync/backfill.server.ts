/**
 * On install, import the shop's history with Admin GraphQL bulk operations: start one export per
 * phase, poll it, then stream its JSONL line by line (memory stays bounded by one batch) and apply
 * each record with the same order-safe writes the webhooks use, so a backfill never overwrites
 * anything newer that a webhook brought meanwhile.
 */
import type { PrismaClient } from "@prisma/client";
import type { AdminApi } from "./admin-api.server";
import { AdminApiError } from "./admin-api.server";
import {
  applyCheckout,
  applyCollection,
  applyCustomer,
  applyOrder,
  applyProduct,
  type Outcome,
  type Tx,
} from "./apply.server";
import {
  checkoutFromGraphql,
  collectionFromGraphql,
  customerFromGraphql,
  lineFromGraphql,
  orderFromGraphql,
  productFromGraphql,
} from "./from-graphql";
import { BULK_PHASES, BULK_QUERIES, BULK_RUN, BULK_STATUS, SHOP_QUERY, type BulkPhase } from "./queries";
import { shopifyId } from "./payload";
import { primaryDomainHost } from "../storefront/origin";
import { ensurePresets, recompute, topSpendThreshold } from "../segments/store.server";
import { presets } from "../engine/presets";
import { importRetryDelayMs } from "../engine/sync-words";
import { ensureStarterMessages } from "../messages/store.server";
import { ensureWebPixel } from "../storefront/web-pixel.server";
import { config } from "../config.server";
import { dialectOfClient, refreshPlannerStatistics } from "../db.server";
import { advisoryEntityLock, checkoutKeys, customerKey } from "./handlers.server";

const BATCH = 250;

export interface BackfillOptions {
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
  phases?: BulkPhase[];
  /** The app's URL for the web pixel's endpoint setting; default: SHOPIFY_APP_URL. */
  appUrl?: string;
}

interface BulkStatus {
  node: {
    id: string;
    status: string;
    errorCode: string | null;
    objectCount: string;
    url: string | null;
  } | null;
}

/** Reads a response body as lines without holding more than one chunk and one line. */
export async function* jsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, newline).trim();
      rest = rest.slice(newline + 1);
      if (line) yield JSON.parse(line);
    }
  }
  rest += decoder.decode();
  if (rest.trim()) yield JSON.parse(rest);
}

interface Parent {
  node: Record<string, unknown>;
  children: unknown[];
}

interface ShopDetails {
  name: string;
  currencyCode: string;
  ianaTimezone: string;
  primaryDomain: { host: string; url: string } | null;
}

/** The shop's name, currency, time zone and primary domain (the host of the storefront links the app builds). */
export async function syncShopDetails(db: PrismaClient, api: AdminApi, shopDomain: string): Promise<void> {
  const { shop } = await api.request<{ shop: ShopDetails }>(SHOP_QUERY, {}, 2);
  const primaryDomain = primaryDomainHost(shop.primaryDomain?.host);
  await db.shop.update({
    where: { domain: shopDomain },
    data: {
      name: shop.name,
      currency: shop.currencyCode,
      ianaTimezone: shop.ianaTimezone,
      ...(primaryDomain ? { primaryDomain } : {}),
    },
  });
}

export async function runBackfill(
  db: PrismaClient,
  api: AdminApi,
  shopDomain: string,
  options: BackfillOptions = {},
): Promise<Record<string, number>> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const doFetch = options.fetch ?? fetch;
  const shop = await db.shop.upsert({
    where: { domain: shopDomain },
    create: { domain: shopDomain },
    update: {},
  });
  const run = await db.syncRun.create({ data: { shopId: shop.id, kind: "backfill" } });
  await db.shop.update({ where: { id: shop.id }, data: { backfillStatus: "running" } });
  const counts: Record<string, number> = {};
  try {
    await syncShopDetails(db, api, shopDomain);
    const { currency } = await db.shop.findUniqueOrThrow({
      where: { id: shop.id },
      select: { currency: true },
    });
    for (const phase of options.phases ?? BULK_PHASES) {
      const operationId = await startBulk(api, BULK_QUERIES[phase], sleep);
      await db.syncRun.update({ where: { id: run.id }, data: { phase, bulkOperationId: operationId } });
      const url = await awaitBulk(api, operationId, sleep, options.pollMs ?? 2000);
      // Records so far, written after each batch: the home shows the import's progress while it runs.
      const progress = (n: number) =>
        db.syncRun.update({
          where: { id: run.id },
          data: { counts: JSON.stringify({ ...counts, [phase]: n }) },
        });
      counts[phase] = url
        ? await importJsonl(db, shop.id, shopDomain, currency, phase, url, doFetch, progress)
        : 0;
      await db.syncRun.update({ where: { id: run.id }, data: { counts: JSON.stringify(counts) } });
    }
    const now = new Date();
    await db.syncRun.update({
      where: { id: run.id },
      data: { status: "done", finishedAt: now, phase: null },
    });
    // Only a run still "running" is done: one marked pending meanwhile (read_all_orders granted while
    // it ran, lifecycle.server.ts) imported too little and runs again.
    await db.shop.updateMany({
      where: { id: shop.id, backfillStatus: "running" },
      data: { backfillStatus: "done", backfillAt: now, backfillAttempts: 0, backfillRetryAt: null },
    });
    // The history is in: statistics for the planner, then the built-in segments (the top-10%
    // threshold comes from the history; one created at install, before it, is corrected).
    await refreshPlannerStatistics(db);
    await ensurePresets(db, shop.id);
    await refreshUntouchedPresets(db, shop.id);
    // Starter messages for those segments, paused: nothing shows on the store until the merchant says so.
    await ensureStarterMessages(db, shop.id);
    await recompute(db, shop.id, now);
    // The web pixel (checkout and order events): a failure (a scope not granted yet, Shopify down)
    // does not fail the backfill; the next backfill or reinstall tries again.
    try {
      await ensureWebPixel(db, api, shopDomain, options.appUrl ?? config.appUrl);
    } catch (error) {
      console.error(`web pixel for ${shopDomain}:`, (error as Error).message);
    }
    return counts;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await db.syncRun.update({
      where: { id: run.id },
      data: { status: "failed", error: message.slice(0, 2000), finishedAt: new Date() },
    });
    // Retried with backoff (runtime.server.ts reads backfillRetryAt), not every few minutes forever.
    const { backfillAttempts } = await db.shop.update({
      where: { id: shop.id },
      data: { backfillStatus: "failed", backfillAttempts: { increment: 1 } },
      select: { backfillAttempts: true },
    });
    await db.shop.update({
      where: { id: shop.id },
      data: { backfillRetryAt: new Date(Date.now() + importRetryDelayMs(backfillAttempts)) },
    });
    // The built-ins do not wait for the history: a merchant has them even when the import fails.
    await ensurePresets(db, shop.id).catch(() => 0);
    await ensureStarterMessages(db, shop.id).catch(() => 0);
    throw error;
  }
}

/**
 * Built-in segments created before the history was in (at install) carry the no-history spend
 * threshold: the ones the merchant has not edited get the threshold from the history.
 */
async function refreshUntouchedPresets(db: PrismaClient, shopId: number): Promise<void> {
  const before = new Map(presets({ topSpendThreshold: 1 }).map((p) => [p.handle, JSON.stringify(p.rule)]));
  const now = presets({ topSpendThreshold: await topSpendThreshold(db, shopId) });
  for (const p of now) {
    const rule = JSON.stringify(p.rule);
    if (before.get(p.handle) === rule) continue;
    await db.segment.updateMany({
      where: { shopId, preset: p.handle, handle: p.handle, rule: before.get(p.handle) },
      data: { rule },
    });
  }
}

async function startBulk(
  api: AdminApi,
  query: string,
  sleep: (ms: number) => Promise<void>,
): Promise<string> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const { bulkOperationRunQuery: result } = await api.request<{
      bulkOperationRunQuery: { bulkOperation: { id: string } | null; userErrors: { message: string }[] };
    }>(BULK_RUN, { query }, 10);
    if (result.bulkOperation) return result.bulkOperation.id;
    const message = result.userErrors.map((e) => e.message).join("; ");
    // Only one bulk query runs per shop at a time: wait for the other one to finish.
    if (!/already in progress/i.test(message)) throw new AdminApiError(`bulk operation refused: ${message}`);
    await sleep(5000);
  }
  throw new AdminApiError("bulk operation: another export kept running for too long");
}

async function awaitBulk(
  api: AdminApi,
  id: string,
  sleep: (ms: number) => Promise<void>,
  pollMs: number,
): Promise<string | null> {
  for (let wait = pollMs; ; wait = Math.min(wait * 1.5, 30_000)) {
    const { node } = await api.request<BulkStatus>(BULK_STATUS, { id }, 1);
    if (!node) throw new AdminApiError(`bulk operation ${id} not found`);
    if (node.status === "COMPLETED") return node.url;
    if (["FAILED", "CANCELED", "EXPIRED"].includes(node.status))
      throw new AdminApiError(
        `bulk operation ${id} ${node.status.toLowerCase()}${node.errorCode ? `: ${node.errorCode}` : ""}`,
      );
    await sleep(wait);
  }
}

async function importJsonl(
  db: PrismaClient,
  shopId: number,
  shopDomain: string,
  shopCurrency: string,
  phase: BulkPhase,
  url: string,
  doFetch: typeof fetch,
  progress: (count: number) => Promise<unknown> = async () => {},
): Promise<number> {
  const response = await doFetch(url);
  if (!response.ok || !response.body) throw new AdminApiError(`bulk result ${url}: HTTP ${response.status}`);
  let batch: Parent[] = [];
  let current: Parent | null = null;
  // Children whose parent went out in an earlier batch (Shopify lists parents first, not always adjacent).
  let orphans: { parentId: string; node: unknown }[] = [];
  const stale = new Set<string>();
  const postgres = dialectOfClient(db) === "postgres";
  let count = 0;
  const flush = async () => {
    if (!batch.length && !orphans.length) return;
    const parents = batch;
    const late = orphans;
    batch = [];
    orphans = [];
    await db.$transaction(
      async (tx) => {
        // On PostgreSQL, webhook workers may be applying events of these same customers, orders and
        // checkouts: hold them all for the batch (one statement, the workers' lock order).
        if (postgres)
          await advisoryEntityLock(
            tx,
            shopDomain,
          )([
            ...parents.flatMap((p) => bulkKeys(phase, p.node)),
            ...late.map((o) => (phase === "orders" ? `order:${shopifyId(o.parentId)}` : null)),
          ]);
        for (const p of parents) {
          const outcome = await applyParent(tx, shopId, shopCurrency, phase, p);
          if (outcome === "stale") stale.add(String(p.node.id));
        }
        for (const o of late) await applyLateChild(tx, shopId, phase, o.parentId, o.node, stale);
      },
      { timeout: 60_000 },
    );
    count += parents.length;
    await progress(count);
  };
  for await (const line of jsonLines(response.body)) {
    const node = line as Record<string, unknown>;
    const parentId = node.__parentId as string | undefined;
    if (parentId) {
      if (current && current.node.id === parentId) current.children.push(node);
      else {
        const inBatch = batch.find((p) => p.node.id === parentId);
        if (inBatch) inBatch.children.push(node);
        else orphans.push({ parentId, node });
      }
      continue;
    }
    if (current) batch.push(current);
    current = { node, children: [] };
    if (batch.length >= BATCH) await flush();
  }
  if (current) batch.push(current);
  await flush();
  return count;
}

function applyParent(
  tx: Tx,
  shopId: number,
  currency: string,
  phase: BulkPhase,
  p: Parent,
): Promise<Outcome> {
  switch (phase) {
    case "collections":
      return applyCollection(tx, shopId, collectionFromGraphql(p.node));
    case "products":
      return applyProduct(
        tx,
        shopId,
        productFromGraphql(
          p.node,
          p.children.map((c) => shopifyId((c as { id: string }).id) ?? ""),
        ),
      );
    case "customers":
      return applyCustomer(tx, shopId, customerFromGraphql(p.node));
    case "orders":
      return applyOrder(tx, shopId, orderFromGraphql(p.node, p.children));
    case "checkouts":
      return applyCheckout(tx, shopId, checkoutFromGraphql(p.node, p.children, currency));
  }
}

/** The entities a bulk record writes, named as the webhook handlers name them (their locks). */
function bulkKeys(phase: BulkPhase, node: Record<string, unknown>): (string | null)[] {
  const id = shopifyId(node.id);
  const customer = shopifyId((node.customer as { id?: unknown } | null | undefined)?.id);
  switch (phase) {
    case "customers":
      return [customerKey(id)];
    case "orders":
      return [customerKey(customer), id && `order:${id}`];
    case "checkouts":
      return [customerKey(customer), ...checkoutKeys(null, id)];
    default:
      return [];
  }
}

/** A line item that arrived after its order was written: add it, unless a newer order won. */
async function applyLateChild(
  tx: Tx,
  shopId: number,
  phase: BulkPhase,
  parentId: string,
  node: unknown,
  stale: Set<string>,
): Promise<void> {
  if (stale.has(parentId)) return;
  const parent = shopifyId(parentId) ?? "";
  if (phase === "orders") {
    const order = await tx.order.findUnique({
      where: { shopId_shopifyId: { shopId, shopifyId: parent } },
      select: { id: true, currency: true },
    });
    if (!order) return;
    const line = lineFromGraphql(node, order.currency);
    await tx.lineItem.upsert({
      where: { shopId_shopifyId: { shopId, shopifyId: line.shopifyId } },
      create: { shopId, orderId: order.id, ...line },
      update: { orderId: order.id, ...line },
    });
  } else if (phase === "products") {
    const collection = shopifyId((node as { id: string }).id);
    if (collection)
      await tx.productCollection.upsert({
        where: {
          shopId_productShopifyId_collectionShopifyId: {
            shopId,
            productShopifyId: parent,
            collectionShopifyId: collection,
          },
        },
        create: { shopId, productShopifyId: parent, collectionShopifyId: collection },
        update: {},
      });
  }
}
