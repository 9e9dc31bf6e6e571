/**
 * What follows a batch of applied webhooks: the state derived from the shop's copy. Run by the
 * inbox worker after the batch's applies committed, as one pipeline of named steps, in order,
 * each over the whole batch (grouped by shop) and set-based:
 *
 * 1. `scrubs`: a customers/redact in the batch erases that customer's copies in the inbox
 *    (scrubInbox, once per shop, outside the apply transaction).
 * 2. `predictions`: the customers whose orders the batch changed get their predictions again from
 *    the shop's fit in use (refreshPredictions), so memberships read today's figures.
 * 3. `memberships`: everyone the batch touched, found together (touchedByEvents), re-evaluated in
 *    the segments that read what changed about them, in one pass (updateMemberships).
 * 4. `redemptions`: the batch's orders that used one of our codes redeem them (one read finds them).
 * 5. `referrals`: the batch's orders (and refunded orders) that carry a referral reward or a code
 *    have their referrer's reward decided (one read finds them).
 *
 * What the steps read about the batch (who it touched, the fit in use, which of its orders carry
 * codes or rewards) is read before the first step, all at once (BatchReads).
 *
 * A step's failure is logged with its name and does not stop the next steps nor re-apply any
 * event: everything here is derived and can be derived again (the relative-time sweep and a
 * recompute correct memberships; the pool loop settles referral rewards waiting on the Admin API).
 */
import type { PrismaClient } from "@prisma/client";
import type { AppliedEvent } from "./worker.server";
import { adminApiFor, type AdminApi } from "./admin-api.server";
import { parsedOnce, parseJson, resourceId, shopifyId } from "./payload";
import { splitList } from "./records";
import { date, hotFor, inChunks, int, marks } from "../db-hot.server";
import type { Touch } from "../engine/fields-of";
import { touchedByEvents, type Touched } from "../segments/incremental.server";
import { updateMemberships } from "../segments/store.server";
import { redeemCodes } from "../offers/pool.server";
import { processReferralOrder } from "../offers/referrals.server";
import { scrubInbox } from "../privacy/customer-data.server";
import { currentFit, refreshPredictions, type FitInUse } from "../predict/fit.server";

/**
 * An applied event; with its inbox `id`, a payload the batched apply parsed is not parsed again,
 * with its `shopId` (the worker's), the shop's row is not read again.
 */
export type AfterEvent = Pick<AppliedEvent, "shopDomain" | "topic" | "payload"> & {
  id?: number;
  shopId?: number;
};

/** An event with its payload parsed once for every step (undefined: not JSON, each step skips it). */
type ParsedEvent = AfterEvent & { parsed: unknown };

/** One shop's part of a batch, as every step sees it. */
export interface ShopBatch {
  domain: string;
  /** The shop's row id; null when the shop is not installed (only `scrubs` runs then). */
  shopId: number | null;
  events: ParsedEvent[];
}

interface StepContext {
  db: PrismaClient;
  now: Date;
  adminFor: (shop: string) => Promise<AdminApi>;
  /** What the steps read of a shop batch, each read once and all started together (BatchReads). */
  reads(batch: ShopBatch): BatchReads;
}

/**
 * The reads the steps need, each about what the batch's applies already committed and none about
 * what an earlier step writes: they go to the database together, before the first step runs (one
 * round trip's wait, not one per step), and each step awaits its own. Only a batch of an
 * installed shop (`shopId`) has them.
 */
interface BatchReads {
  /** Who each event touched, and what about them. */
  touched: Promise<Touched[]>;
  /** The fit in use, when the batch changed orders (null: none, or no orders changed). */
  fit: Promise<FitInUse | null>;
  /** The batch's orders (of orders/* and refunds/* events) that carry codes or a referral reward. */
  orders: Promise<NotedOrders>;
}

interface NotedOrders {
  /** Those that carry discount codes, with their codes. */
  coded: CodedOrder[];
  /** Those that carry a referral reward already (granted, refused or withdrawn). */
  rewarded: Set<string>;
}

interface CodedOrder {
  shopifyId: string;
  discountCodes: string[];
  processedAt: Date;
}

type Step = (batch: ShopBatch, context: StepContext) => Promise<void>;

/** The pipeline, in order. */
export const AFTER_APPLY_STEPS: readonly { name: string; run: Step }[] = [
  { name: "scrubs", run: scrubs },
  { name: "predictions", run: predictions },
  { name: "memberships", run: memberships },
  { name: "redemptions", run: redemptions },
  { name: "referrals", run: referrals },
];

export async function afterApplied(
  db: PrismaClient,
  events: readonly AfterEvent[],
  now: Date,
  adminFor: (shop: string) => Promise<AdminApi> = (shop) => adminApiFor(db, shop),
): Promise<void> {
  if (!events.length) return;
  const byShop = new Map<string, ParsedEvent[]>();
  for (const event of events) {
    let parsed: unknown;
    try {
      // The batched apply read it a moment ago: its value, not a second parse.
      parsed = event.id === undefined ? parseJson(event.payload) : parsedOnce(event.id, event.payload);
    } catch {
      // Not JSON (it was applied, so its topic needs no payload): no step finds anyone in it.
    }
    const e = { ...event, parsed };
    const list = byShop.get(e.shopDomain);
    if (list) list.push(e);
    else byShop.set(e.shopDomain, [e]);
  }
  const domains = [...byShop.keys()];
  const idOf = new Map<string, number>();
  for (const [domain, list] of byShop) if (list[0].shopId !== undefined) idOf.set(domain, list[0].shopId);
  const unknown = domains.filter((d) => !idOf.has(d));
  const shops = await inChunks<{ id: number; domain: string }>(hotFor(db), unknown, (chunk) => ({
    sql: `SELECT "id", "domain" FROM "Shop" WHERE "domain" IN (${marks(chunk.length)})`,
    params: chunk,
  }));
  for (const s of shops) idOf.set(s.domain, Number(s.id));
  const batches: ShopBatch[] = domains.map((domain) => ({
    domain,
    shopId: idOf.get(domain) ?? null,
    events: byShop.get(domain)!,
  }));
  const reads = new Map<ShopBatch, BatchReads>();
  for (const batch of batches)
    if (batch.shopId !== null) reads.set(batch, readsOf(db, batch.shopId, batch.events));
  const context: StepContext = {
    db,
    now,
    adminFor,
    reads(batch) {
      return reads.get(batch)!;
    },
  };
  for (const step of AFTER_APPLY_STEPS)
    for (const batch of batches) {
      try {
        await step.run(batch, context);
      } catch (error) {
        console.error(
          `after-apply step "${step.name}" failed for ${batch.domain} (${batch.events.length} events):`,
          (error as Error).message,
        );
      }
    }
}

/** Starts every read of BatchReads at once; a failed one fails only the step that awaits it. */
function readsOf(db: PrismaClient, shopId: number, events: readonly ParsedEvent[]): BatchReads {
  const orderIds = orderIdsOf(events, true);
  const started: BatchReads = {
    touched: touchedByEvents(db, shopId, events),
    fit: orderIds.length ? currentFit(db, shopId) : Promise.resolve(null),
    orders: notedOrders(db, shopId, orderIds),
  };
  // A read no step gets to await (its step skipped, or an earlier read failed it) is not an unhandled rejection.
  for (const read of Object.values(started)) (read as Promise<unknown>).catch(() => undefined);
  return started;
}

/** The redacted customers' copies in the inbox: erased now (once per shop, whatever the count). */
async function scrubs({ domain, events }: ShopBatch, { db }: StepContext): Promise<void> {
  if (events.some((e) => e.topic === "customers/redact")) await scrubInbox(db, domain);
}

/**
 * The customers whose orders the batch changed (orders/*, refunds/*) get their predictions again
 * from the fit in use, before memberships read them: a new order moves "probability active" and
 * "predicted orders" at once, not at the next daily fit. Nothing before a shop's first fit.
 */
async function predictions(batch: ShopBatch, { db, now, reads }: StepContext): Promise<void> {
  const { shopId, events } = batch;
  if (shopId === null) return;
  const fit = await reads(batch).fit;
  if (!fit) return;
  const orderIds = orderIdsOf(events, true);
  const rows = await inChunks<{ id: unknown }>(hotFor(db), orderIds, (chunk) => ({
    sql: `SELECT DISTINCT c."id" FROM "Order" o
            JOIN "Customer" c ON c."shopId" = o."shopId" AND c."shopifyId" = o."customerShopifyId"
           WHERE o."shopId" = ? AND o."shopifyId" IN (${marks(chunk.length)})`,
    params: [shopId, ...chunk],
  }));
  await refreshPredictions(db, shopId, [...new Set(rows.map((r) => int(r.id)))], now, fit);
}

/** Everyone the batch touched, re-evaluated in one pass in the segments that read what changed. */
async function memberships(batch: ShopBatch, { db, now, reads }: StepContext): Promise<void> {
  const { shopId } = batch;
  if (shopId === null) return;
  const touched = new Map<string, Set<Touch>>();
  for (const { customers, what } of await reads(batch).touched)
    for (const id of customers) {
      const kinds = touched.get(id) ?? new Set<Touch>();
      for (const w of what) kinds.add(w);
      touched.set(id, kinds);
    }
  const people = new Map([...touched].map(([id, kinds]) => [id, [...kinds]] as const));
  await updateMemberships(db, shopId, people, now);
}

/** The order ids a batch's events are about (each once, in order), for the given topics. */
function orderIdsOf(events: readonly ParsedEvent[], withRefunds: boolean): string[] {
  const ids = new Set<string>();
  for (const e of events) {
    const refund = e.topic.startsWith("refunds/");
    if (!e.topic.startsWith("orders/") && !(withRefunds && refund)) continue;
    try {
      const payload = e.parsed as { id?: unknown; order_id?: unknown } | undefined;
      if (!payload) continue;
      const id = refund ? shopifyId(payload.order_id) : resourceId(payload);
      if (id) ids.add(id);
    } catch {
      // A payload without its id was not applied as an order: it names no order here either.
    }
  }
  return [...ids];
}

/** Which of these orders of the shop carry discount codes, and which a referral reward: one statement. */
async function notedOrders(db: PrismaClient, shopId: number, ids: readonly string[]): Promise<NotedOrders> {
  const rows = await inChunks<{
    shopifyId: string;
    discountCodes: string;
    processedAt: unknown;
    rewarded: unknown;
  }>(hotFor(db), ids, (chunk) => ({
    sql: `SELECT "shopifyId", "discountCodes", "processedAt", 0 AS "rewarded" FROM "Order"
             WHERE "shopId" = ? AND "shopifyId" IN (${marks(chunk.length)}) AND "discountCodes" <> ''
            UNION ALL
            SELECT "orderShopifyId", '', NULL, 1 FROM "ReferralReward"
             WHERE "shopId" = ? AND "orderShopifyId" IN (${marks(chunk.length)})`,
    params: [shopId, ...chunk, shopId, ...chunk],
  }));
  const noted: NotedOrders = { coded: [], rewarded: new Set() };
  for (const r of rows) {
    if (int(r.rewarded)) {
      noted.rewarded.add(r.shopifyId);
      continue;
    }
    const discountCodes = splitList(r.discountCodes);
    if (discountCodes.length)
      noted.coded.push({ shopifyId: r.shopifyId, discountCodes, processedAt: date(r.processedAt) });
  }
  return noted;
}

/** An order that used one of our codes redeems it (the offer's conversion, by code). */
async function redemptions(batch: ShopBatch, { db, reads }: StepContext): Promise<void> {
  const { shopId, events } = batch;
  if (shopId === null) return;
  // Orders of orders/* events only (a refund does not redeem).
  const ids = new Set(orderIdsOf(events, false));
  if (!ids.size) return;
  for (const order of (await reads(batch).orders).coded)
    if (ids.has(order.shopifyId)) await redeemCodes(db, shopId, order);
}

/**
 * A friend's order through a referral code: the referrer's reward is granted, refused or
 * withdrawn. Only orders with a reward already or a code can be one: one read finds both.
 */
async function referrals(batch: ShopBatch, { db, now, adminFor, reads }: StepContext): Promise<void> {
  const { domain, shopId, events } = batch;
  if (shopId === null) return;
  const ids = orderIdsOf(events, true);
  if (!ids.length) return;
  const { coded, rewarded } = await reads(batch).orders;
  const candidates = new Set([...coded.map((o) => o.shopifyId), ...rewarded]);
  const failures: string[] = [];
  for (const id of ids) {
    if (!candidates.has(id)) continue;
    // One order's failure (the Admin API down for its grant) leaves the others decided.
    await processReferralOrder(db, () => adminFor(domain), shopId, id, now).catch((error: Error) =>
      failures.push(`order ${id}: ${error.message}`),
    );
  }
  if (failures.length) throw new Error(failures.join("; "));
}
