/**
 * The discount code pool: codes made ahead in Shopify, so a shopper never waits on the Admin API,
 * and each handed to one shopper only.
 *
 * Shopify sets the end of a code's validity per discount, not per code. So the pool is made of
 * batches: each batch is one Shopify discount (first order only, once per customer, one use per
 * code) ending `validDays + 1` days after it was made, with up to 250 codes added in bulk. A batch's
 * codes are offered only while at least `validDays` remain, so every code given out is usable for
 * the full period the merchant chose, and a batch is offered for one day. The refill keeps
 * `target` offerable codes per live first-purchase offer.
 *
 * A first-purchase offer whose variants test the reward itself (a variant with its own discount
 * value) has a pool per such variant (`DiscountCode.variantId`), beside the message's own pool for
 * the variants that give the message's discount. A pool's codes are given only to shoppers of its
 * variant. When the merchant changes a discount, the codes not yet given out are retired (status
 * "retired"), so nobody is shown a code for the old terms; codes already given keep working.
 *
 * Issuing is one atomic UPDATE … RETURNING that claims the oldest offerable code (on PostgreSQL
 * with SKIP LOCKED, so two shoppers at once get two codes). A shopper who asks again gets the
 * code they already have.
 */
import type { Message, MessageVariant, Prisma, PrismaClient } from "@prisma/client";
import { dialectOfClient } from "../db.server";
import { advisoryLocksSql, date, hotFor } from "../db-hot.server";
import type { CodeKind, HeldCode } from "../engine/decide";
import { fromColumns, type DiscountSpec } from "../engine/message";
import type { AdminApi } from "../sync/admin-api.server";
import { startShopLoop, type ShopLoop } from "../segments/shop-loop.server";
import {
  addCodes,
  createDiscount,
  generateCodes,
  MAX_CODES_PER_CALL,
  waitForBulkCreation,
  type NewDiscount,
} from "./discounts.server";
import { REFERRAL_POOL, refillReferralPools, settleReferralRewards } from "./referrals.server";
import { syncEmailSignups } from "./signups.server";

const DAY = 86_400_000;

export interface RefillResult {
  messageId: number;
  variantId: number | null;
  added: number;
  error?: string;
}

/**
 * Codes of this offer's pool (the message's own, variantId null, or a variant's) that may still be
 * given out at `now` (at least `validDays` of use left).
 */
export function offerableWhere(
  messageId: number,
  validDays: number,
  now: Date,
  variantId: number | null = null,
) {
  return {
    messageId,
    variantId,
    status: "pool",
    expiresAt: { gt: new Date(now.getTime() + validDays * DAY) },
  };
}

/** One pool of codes: an offer's own (variantId null) or a variant's, with the discount it gives. */
export interface Pool {
  messageId: number;
  variantId: number | null;
  discount: DiscountSpec;
}

type OfferRow = Message & { variants: Pick<MessageVariant, "id" | "discountValue">[] };

/**
 * The pools an offer draws from: one per variant with its own discount value, and the offer's
 * own when it has no variants or some variant gives the offer's discount. Empty for an offer that
 * gives no code. Only first-purchase offers vary their reward by variant (a referral code is the
 * referrer's, whichever variant they saw).
 */
export function poolsOf(row: OfferRow): Pool[] {
  const offer = fromColumns(row);
  if (offer.reward.kind !== "firstPurchase" && offer.reward.kind !== "referral") return [];
  const { discount } = offer.reward;
  const own: Pool = { messageId: row.id, variantId: null, discount };
  if (offer.reward.kind === "referral") return [own];
  const overrides = row.variants.filter((v) => v.discountValue !== null);
  const pools = overrides.map((v) => ({
    messageId: row.id,
    variantId: v.id,
    discount: { ...discount, value: v.discountValue! },
  }));
  return overrides.length < row.variants.length || !row.variants.length ? [own, ...pools] : pools;
}

/** The pool a shopper assigned to `variantId` (0 or null: the offer has no variants) draws from. */
export function poolFor(row: OfferRow, variantId: number | null): Pool | null {
  const pools = poolsOf(row);
  return (
    pools.find((p) => p.variantId !== null && p.variantId === variantId) ??
    pools.find((p) => p.variantId === null) ??
    null
  );
}

const kindOf = (reward: string): PoolKind | null =>
  reward === "firstPurchase" ? FIRST_PURCHASE : reward === "referral" ? REFERRAL_POOL : null;

/**
 * How many codes the offer could still give right now: the fewest of any of its pools (a shopper
 * may be assigned any variant, so the offer is made only while every pool has one). null for an
 * offer that gives no code.
 */
export async function codesLeft(db: PrismaClient, row: OfferRow, now: Date): Promise<number | null> {
  const kind = kindOf(row.reward);
  let pools: Pool[] = [];
  try {
    pools = kind ? poolsOf(row) : [];
  } catch {
    // A row that no longer validates gives nothing (the decision leaves it out, and says why).
  }
  if (!kind || !pools.length) return null;
  const counts = await Promise.all(
    pools.map((p) => db.discountCode.count({ where: kind.offerable(p, now) })),
  );
  return Math.min(...counts);
}

/**
 * Retires the codes not yet given out of an offer (or of one variant's pool): after its discount
 * changed, they carry the old terms. Codes already given out keep working. How many were retired.
 */
export async function retirePool(
  db: PrismaClient,
  messageId: number,
  variantId?: number | null,
): Promise<number> {
  const { count } = await db.discountCode.updateMany({
    where: { messageId, status: "pool", ...(variantId !== undefined ? { variantId } : {}) },
    data: { status: "retired" },
  });
  return count;
}

export interface RefillOptions {
  target?: number;
  random?: () => number;
  /** How to wait between checks of Shopify's bulk code creation (tests wait less). */
  poll?: { sleep?: (ms: number) => Promise<void>; intervalMs?: number };
}

/** What differs between the pools of one kind of reward: the rest of a refill is the same. */
export interface PoolKind {
  reward: "firstPurchase" | "referral";
  prefix: string;
  target: number;
  titlePrefix: string;
  /** The pool's codes that may still be given out at `now`. */
  offerable: (pool: Pool, now: Date) => Prisma.DiscountCodeWhereInput;
  /** How long a new batch's discount lasts, in days. */
  lifeDays: (discount: DiscountSpec) => number;
  /** Uses per code (null: any number of customers, each once). */
  usesPerCode?: number | null;
}

const FIRST_PURCHASE: PoolKind = {
  reward: "firstPurchase",
  prefix: "WELCOME",
  target: MAX_CODES_PER_CALL,
  titlePrefix: "Slice",
  offerable: (pool, now) => offerableWhere(pool.messageId, pool.discount.validDays, now, pool.variantId),
  lifeDays: (discount) => discount.validDays + 1,
};

/** Tops up every live first-purchase offer of a shop to `target` offerable codes. */
export function refillPools(
  db: PrismaClient,
  api: AdminApi,
  shopId: number,
  now: Date,
  options: RefillOptions = {},
): Promise<RefillResult[]> {
  return refillKind(db, api, shopId, now, FIRST_PURCHASE, options);
}

/** Tops up every live offer of one reward kind to its target of offerable codes, a batch each. */
export async function refillKind(
  db: PrismaClient,
  api: AdminApi,
  shopId: number,
  now: Date,
  kind: PoolKind,
  options: RefillOptions = {},
): Promise<RefillResult[]> {
  const target = options.target ?? kind.target;
  const random = options.random ?? Math.random;
  const messages = await db.message.findMany({
    where: { shopId, active: true, reward: kind.reward },
    include: { variants: { select: { id: true, discountValue: true }, orderBy: { id: "asc" } } },
  });
  const results: RefillResult[] = [];
  for (const row of messages) {
    const offer = fromColumns(row);
    if (offer.reward.kind !== kind.reward) continue;
    if (offer.schedule.endsAt && Date.parse(offer.schedule.endsAt) <= now.getTime()) continue;
    for (const pool of poolsOf(row)) {
      const { discount } = pool;
      const have = await db.discountCode.count({ where: kind.offerable(pool, now) });
      // Refill at half: a batch takes a few seconds to make, the pool must not run dry meanwhile.
      if (have >= target / 2) continue;
      const variant = pool.variantId === null ? "" : `, variant ${pool.variantId}`;
      try {
        const codes = generateCodes(kind.prefix, Math.min(MAX_CODES_PER_CALL, target - have) + 1, random);
        const added = await makeBatch(db, api, {
          shopId,
          messageId: row.id,
          variantId: pool.variantId,
          codes,
          poll: options.poll,
          discount: {
            title: `${kind.titlePrefix}: ${offer.name}${variant} (${now.toISOString().slice(0, 10)})`,
            kind: discount.type,
            value: discount.value,
            firstOrderOnly: true,
            startsAt: now,
            endsAt: new Date(now.getTime() + kind.lifeDays(discount) * DAY),
            minimumSubtotal: discount.minimumSubtotal || undefined,
            ...(kind.usesPerCode !== undefined ? { usesPerCode: kind.usesPerCode } : {}),
          },
        });
        results.push({ messageId: row.id, variantId: pool.variantId, added });
      } catch (error) {
        // Kept for the next pass; meanwhile the offer is simply not made once its pool is empty.
        results.push({
          messageId: row.id,
          variantId: pool.variantId,
          added: 0,
          error: (error as Error).message,
        });
      }
    }
  }
  return results;
}

/**
 * One batch of a pool: a Shopify discount made with the first code, the others added in bulk (as
 * many as Shopify kept), all stored as offerable until the discount ends. How many were stored.
 */
export async function makeBatch(
  db: PrismaClient,
  api: AdminApi,
  batch: {
    shopId: number;
    messageId: number;
    variantId?: number | null;
    discount: Omit<NewDiscount, "code"> & { endsAt: Date };
    codes: string[];
    poll?: { sleep?: (ms: number) => Promise<void>; intervalMs?: number };
  },
): Promise<number> {
  const [first, ...rest] = batch.codes;
  const { discountId } = await createDiscount(api, { ...batch.discount, code: first });
  const created = [first];
  if (rest.length) {
    const bulk = await addCodes(api, discountId, rest);
    created.push(...(await waitForBulkCreation(api, bulk, batch.poll ?? {})).created);
  }
  await db.discountCode.createMany({
    data: created.map((code) => ({
      shopId: batch.shopId,
      messageId: batch.messageId,
      variantId: batch.variantId ?? null,
      code,
      shopifyDiscountId: discountId,
      status: "pool",
      expiresAt: batch.discount.endsAt,
    })),
  });
  return created.length;
}

export interface IssuedCode {
  code: string;
  expiresAt: Date;
}

/**
 * A shopper holds at most one discount code per kind (first-purchase, referral): asked for a code
 * of another offer of a kind they hold, they get none. `messageId` is the offer that gave theirs.
 */
export class CodeAlreadyHeld extends Error {
  override name = "CodeAlreadyHeld";
  constructor(
    readonly kind: CodeKind,
    readonly messageId: number,
  ) {
    super(`already holds a ${kind === "referral" ? "referral" : "first-purchase"} code (offer ${messageId})`);
  }
}

/** A code a shopper holds, with the offer that gave it (decide.ts's HeldCode, with the code itself). */
export interface HeldCodeRow extends HeldCode {
  code: string;
  expiresAt: Date;
  variantId: number | null;
}

/**
 * The codes this shopper (the signed-in customer, and this browser's visitor) holds, one per kind:
 * a usable one (issued, not expired) before a used or expired one, then the earliest given. Read
 * with the hot path's reader (the decision calls it on each page).
 */
export async function heldCodes(
  db: PrismaClient,
  shopId: number,
  who: { visitorId: string | null; customerId: string | null },
  now: Date,
): Promise<HeldCodeRow[]> {
  const keys: [string, string][] = [];
  if (who.visitorId) keys.push(["visitorId", who.visitorId]);
  if (who.customerId) keys.push(["customerShopifyId", who.customerId]);
  if (!keys.length) return [];
  const rows = await hotFor(db).rows<HeldCodeColumns>(
    `SELECT d."messageId", m."reward", d."status", d."code", d."expiresAt", d."variantId", d."issuedAt"
     FROM "DiscountCode" d JOIN "Message" m ON m."id" = d."messageId"
     WHERE d."shopId" = ? AND d."status" IN ('issued', 'redeemed') AND (${keys.map(([c]) => `d."${c}" = ?`).join(" OR ")})`,
    [shopId, ...keys.map(([, v]) => v)],
  );
  return heldCodesOf(rows, now);
}

/** A held code's columns as read: DiscountCode's, with its offer's `reward` kind (dates as the database gives them). */
export interface HeldCodeColumns {
  messageId: unknown;
  reward: string;
  status: string;
  code: string;
  expiresAt: unknown;
  variantId: unknown;
  issuedAt: unknown;
}

/**
 * heldCodes' choice from the shopper's issued and redeemed codes, one per kind (the decision's
 * one-statement read on PostgreSQL reads the rows with the facts and chooses here too).
 */
export function heldCodesOf(rows: readonly HeldCodeColumns[], now: Date): HeldCodeRow[] {
  const best = new Map<CodeKind, HeldCodeRow & { issuedAt: number }>();
  for (const r of rows) {
    const kind: CodeKind | null =
      r.reward === "firstPurchase" ? "firstPurchase" : r.reward === "referral" ? "referral" : null;
    if (!kind) continue;
    const expiresAt = date(r.expiresAt);
    const row: HeldCodeRow & { issuedAt: number } = {
      kind,
      messageId: Number(r.messageId),
      usable: r.status === "issued" && expiresAt > now,
      code: r.code,
      expiresAt,
      variantId: r.variantId === null ? null : Number(r.variantId),
      issuedAt: r.issuedAt === null ? 0 : date(r.issuedAt).getTime(),
    };
    const have = best.get(row.kind);
    if (!have || (row.usable && !have.usable) || (row.usable === have.usable && row.issuedAt < have.issuedAt))
      best.set(row.kind, row);
  }
  return [...best.values()].map(({ issuedAt: _, ...row }) => row);
}

/**
 * PostgreSQL: a transaction-level advisory lock per shopper (their visitor and their customer),
 * taken in hash order in one statement, so two tabs asking for codes at once queue. SQLite has one
 * writer connection in the process: each claim below is one statement, which is enough there.
 */
async function lockShopper(
  tx: Prisma.TransactionClient,
  shopId: number,
  who: { visitorId: string | null; customerId: string | null },
): Promise<void> {
  const keys = [
    ...(who.visitorId ? [`code:${shopId}:v:${who.visitorId}`] : []),
    ...(who.customerId ? [`code:${shopId}:c:${who.customerId}`] : []),
  ];
  await tx.$queryRawUnsafe(advisoryLocksSql("$1"), keys);
}

/** Runs `work` as one transaction holding the shopper's lock (PostgreSQL), or directly (SQLite). */
export function asShopper<T>(
  db: PrismaClient,
  shopId: number,
  who: { visitorId: string | null; customerId: string | null },
  work: (q: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  if (dialectOfClient(db) === "sqlite") return work(db);
  return db.$transaction(async (tx) => {
    await lockShopper(tx, shopId, who);
    return work(tx);
  });
}

/**
 * SQL (PostgreSQL $n numbering, in the claim's parameters: $1 visitor, $2 customer, $4 shop, $5
 * message) true when the shopper holds no code of this kind from another offer (or, `any`, from
 * any offer, this one included): the claim's guard.
 */
export function noCodeOfKind(kind: CodeKind, scope: "any" | "others"): string {
  return `NOT EXISTS (
         SELECT 1 FROM "DiscountCode" h JOIN "Message" hm ON hm."id" = h."messageId"
         WHERE h."shopId" = $4 AND hm."reward" = '${kind}' AND h."status" IN ('issued', 'redeemed')
           AND (h."visitorId" = $1 OR h."customerShopifyId" = $2)${scope === "others" ? ` AND h."messageId" <> $5` : ""}
       )`;
}

/**
 * This shopper's code for this first-purchase offer: the one they already have, or the next
 * offerable one from the pool (null when none is left). A shopper who holds a first-purchase code
 * of another offer gets none (CodeAlreadyHeld is thrown): one first-purchase code per shopper,
 * whichever offer and variant. The claim carries that condition itself, so two requests at once
 * (two tabs, two offers) still give one code; on PostgreSQL they also queue on the shopper's lock.
 */
export async function issueCode(
  db: PrismaClient,
  shopId: number,
  pool: Pool,
  who: { visitorId: string; customerId: string | null },
  now: Date,
): Promise<IssuedCode | null> {
  return asShopper(db, shopId, who, (q) =>
    claimCode(q, dialectOfClient(db) === "sqlite", shopId, pool, who, now),
  );
}

async function claimCode(
  db: Prisma.TransactionClient,
  sqlite: boolean,
  shopId: number,
  pool: Pool,
  who: { visitorId: string; customerId: string | null },
  now: Date,
): Promise<IssuedCode | null> {
  const { messageId, variantId } = pool;
  const validDays = pool.discount.validDays;
  const held = async (): Promise<IssuedCode | null> => {
    const codes = await db.discountCode.findMany({
      where: {
        shopId,
        status: { in: ["issued", "redeemed"] },
        message: { reward: "firstPurchase" },
        OR: [
          { visitorId: who.visitorId },
          ...(who.customerId ? [{ customerShopifyId: who.customerId }] : []),
        ],
      },
      orderBy: [{ issuedAt: "asc" }, { id: "asc" }],
      select: { code: true, expiresAt: true, messageId: true },
    });
    const mine = codes.find((c) => c.messageId === messageId);
    if (mine) return { code: mine.code, expiresAt: mine.expiresAt };
    if (codes.length) throw new CodeAlreadyHeld("firstPurchase", codes[0].messageId);
    return null;
  };
  const mine = await held();
  if (mine) return mine;
  const at = (d: Date) => (sqlite ? d.getTime() : d);
  const threshold = new Date(now.getTime() + validDays * DAY);
  // Written with PostgreSQL's $n placeholders; SQLite's "?" take the values in order of appearance.
  const claim = `UPDATE "DiscountCode" SET "status" = 'issued', "visitorId" = $1, "customerShopifyId" = $2, "issuedAt" = $3
     WHERE "id" = (
       SELECT "id" FROM "DiscountCode"
       WHERE "shopId" = $4 AND "messageId" = $5 AND "status" = 'pool' AND "expiresAt" > $6
         AND ${variantId === null ? `"variantId" IS NULL` : `"variantId" = $7`}
       ORDER BY "expiresAt", "id" LIMIT 1${sqlite ? "" : " FOR UPDATE SKIP LOCKED"}
     ) AND ${noCodeOfKind("firstPurchase", "any")}
     RETURNING "code", "expiresAt"`;
  const values: unknown[] = [
    who.visitorId,
    who.customerId,
    at(now),
    shopId,
    messageId,
    at(threshold),
    ...(variantId === null ? [] : [variantId]),
  ];
  const statement = sqlite ? sqliteOrder(claim, values) : { sql: claim, values };
  const rows = await db.$queryRawUnsafe<{ code: string; expiresAt: unknown }[]>(
    statement.sql,
    ...statement.values,
  );
  const row = rows[0];
  // Nothing claimed: the pool is empty, or another request of this shopper's claimed first.
  if (!row) return held();
  const expiresAt = row.expiresAt instanceof Date ? row.expiresAt : new Date(Number(row.expiresAt));
  return { code: row.code, expiresAt };
}

/** SQLite's "?" placeholders for a statement written with $n: the values in order of appearance. */
export function sqliteOrder(sql: string, values: unknown[]): { sql: string; values: unknown[] } {
  const order: unknown[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    order.push(values[Number(n) - 1]);
    return "?";
  });
  return { sql: text, values: order };
}

/** An order came in: codes of ours it used are redeemed (by the order, at its time). */
export async function redeemCodes(
  db: PrismaClient,
  shopId: number,
  order: { shopifyId: string; discountCodes: string[]; processedAt: Date },
): Promise<number> {
  if (!order.discountCodes.length) return 0;
  const { count } = await db.discountCode.updateMany({
    where: {
      shopId,
      code: { in: order.discountCodes.map((c) => c.toUpperCase()) },
      status: { in: ["issued", "pool"] },
      // A referral code is shared with any number of friends: it stays the referrer's ("issued");
      // each friend's order is followed by its ReferralReward instead.
      message: { reward: { not: "referral" } },
    },
    data: { status: "redeemed", orderShopifyId: order.shopifyId, redeemedAt: order.processedAt },
  });
  return count;
}

/** The background loop: every `everyMs`, refill the pools of each shop with a live first-purchase or referral offer. */
export function startPoolLoop(
  db: PrismaClient,
  adminFor: (shop: string) => Promise<AdminApi>,
  everyMs = 15_000,
): ShopLoop {
  return startShopLoop(db, {
    everyMs,
    doing: "refilling discount code pools",
    where: {
      messages: { some: { active: true, reward: { in: ["firstPurchase", "referral", "emailCapture"] } } },
    },
    work: async (shop, now) => {
      const api = await adminFor(shop.domain);
      const results = [
        ...(await refillPools(db, api, shop.id, now)),
        ...(await refillReferralPools(db, api, shop.id, now)),
      ];
      // Referral rewards whose grant or withdrawal waits on the Admin API are tried again.
      await settleReferralRewards(db, api, shop.id, now).catch((error: Error) =>
        console.error(`referral rewards in ${shop.domain} not settled:`, error.message),
      );
      await syncEmailSignups(db, api, shop.id, now); // email sign-ups into Shopify (errors kept on each row)
      for (const r of results)
        if (r.error)
          console.error(`discount pool of message ${r.messageId} in ${shop.domain} not refilled:`, r.error);
    },
  });
}
