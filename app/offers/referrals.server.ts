/**
 * Referral invites: a signed-in customer shown a referral offer (reward.kind "referral", e.g. to
 * the high-spend-repeat segment) gets their own referral code, the same one every time they ask.
 * The code is a code of a Shopify discount for the FRIEND: the offer's discount, first order only
 * (the first-purchase Discount Function, so a friend checking out as a guest gets it too, and a
 * signed-in customer with orders does not), once per customer, no total usage limit (any number
 * of friends may use it), valid REFERRAL_CODE_VALID_DAYS. The referrer's reward codes stay
 * ordinary discounts for one customer (customerSelection.customers): the referrer is a known
 * customer with orders, who must sign in to use a code that is only theirs.
 *
 * As for first-purchase codes (pool.server.ts), the codes are made ahead, so a shopper never waits
 * on the Admin API: a batch is one Shopify discount with up to 250 codes added in bulk, stored as
 * DiscountCode rows with status "pool"; a code given to a referrer becomes "issued" with
 * `customerShopifyId` = the referrer, and stays "issued" however many friends use it (each
 * friend's order is a ReferralReward row). A batch's codes are given out during its first
 * REFERRAL_BATCH_OFFER_DAYS, so a new referrer's code has most of its year left. A referrer keeps
 * their code while it has at least the offer's `validDays` left (time for a friend to use a link
 * shared today); after that they get a fresh one (the old one keeps counting for them until it ends).
 *
 * Rewards: an order that used a referral code gets a ReferralReward row (one per order), decided
 * by processReferralOrder each time the order changes (orders/* and refunds/* webhooks):
 *  - refused, final: the friend is the referrer: the same customer id; or the same email as the
 *    referrer's Customer row (compared lower-cased with any "+tag" removed); or the friend's order
 *    ships to an address one of the referrer's orders shipped to (compared as addressHash, which
 *    is all the app keeps of an address; see sync/address.ts). Payment fingerprints are not
 *    checked: Shopify's order webhooks and Admin API give apps no card fingerprint to compare.
 *  - refused, final: the order was cancelled, refunded in full, voided or partially refunded
 *    before the reward was granted; or its total (totalPrice, what the friend paid after the
 *    discount) is below the offer's `discount.minimumSubtotal` (0: no minimum).
 *  - pending: not paid yet (financialStatus other than "paid": pending, authorized, ...).
 *  - refused "cap reached", final: the referrer already has MAX_REWARDS_PER_REFERRER granted
 *    rewards for this offer (withdrawn ones do not count).
 *  - granted: the order is paid ("paid" only), not cancelled, not refunded. The referrer gets a
 *    reward: a single-use Shopify discount code only they can use (context.customers),
 *    worth the offer's referrer reward ("you get": its own percentage or amount, which a message
 *    saved before rewards were apart takes from the friend's discount), valid REWARD_VALID_DAYS,
 *    no minimum, any order.
 *  - withdrawn: a granted reward whose order is later cancelled or refunded in full; its Shopify
 *    discount is deactivated (discountCodeDeactivate) first.
 * Processing an order again changes nothing once it is decided. The reward code is written to the
 * row before the discount is made in Shopify, so a retry after a crash reuses it (Shopify's TAKEN
 * then means "already made": the discount is looked up by its code). An Admin API failure leaves
 * the reward pending (or granted, for a withdrawal) with a reason starting RETRY_PREFIX, and
 * settleReferralRewards (run by the pool loop) tries again.
 */
import type { Message, PrismaClient, ReferralReward } from "@prisma/client";
import { dialectOfClient } from "../db.server";
import { fromColumns, type DiscountSpec, type ReferrerReward } from "../engine/message";
import type { AdminApi } from "../sync/admin-api.server";
import { adminDocument } from "../sync/documents";
import { splitList } from "../sync/records";
import { storefrontOrigin } from "../storefront/origin";
import {
  asShopper,
  CodeAlreadyHeld,
  noCodeOfKind,
  refillKind,
  sqliteOrder,
  type PoolKind,
  type RefillOptions,
  type RefillResult,
} from "./pool.server";
import {
  DiscountError,
  discountForCode,
  generateCodes,
  toDecimal,
  type DiscountUserError,
} from "./discounts.server";

const DAY = 86_400_000;

/** How long a referral code (its batch's Shopify discount) can be used. */
export const REFERRAL_CODE_VALID_DAYS = 365;
/** A batch's codes are given to new referrers during its first this many days. */
export const REFERRAL_BATCH_OFFER_DAYS = 30;
/** Referral codes kept ready per live referral offer (refilled at half). */
export const REFERRAL_POOL_TARGET = 20;
/** Granted rewards a referrer can earn per referral offer. */
export const MAX_REWARDS_PER_REFERRER = 10;
/** How long a referrer's reward code can be used. */
export const REWARD_VALID_DAYS = 90;
/** The reason of a reward waiting for the Admin API (settleReferralRewards retries it). */
export const RETRY_PREFIX = "retry: ";

export type ApiSource = AdminApi | (() => Promise<AdminApi>);

const resolveApi = (api: ApiSource): Promise<AdminApi> =>
  typeof api === "function" ? api() : Promise.resolve(api);

/**
 * The link a referrer shares: Shopify's shareable discount link (`/discount/CODE` applies the code
 * on the way to the storefront) on the shop's primary domain, the address friends know (the
 * myshopify domain until the primary domain is known).
 */
export function referralShareUrl(
  shop: { domain: string; primaryDomain: string | null },
  code: string,
): string {
  return `${storefrontOrigin(shop)}/discount/${encodeURIComponent(code)}`;
}

/** Referral codes of this offer that may be given to a new referrer at `now`. */
export function referralOfferableWhere(messageId: number, now: Date) {
  return {
    messageId,
    status: "pool",
    expiresAt: { gt: new Date(now.getTime() + (REFERRAL_CODE_VALID_DAYS - REFERRAL_BATCH_OFFER_DAYS) * DAY) },
  };
}

export const REFERRAL_POOL: PoolKind = {
  reward: "referral",
  prefix: "REFER",
  target: REFERRAL_POOL_TARGET,
  titlePrefix: "Slice referral",
  offerable: (pool, now) => referralOfferableWhere(pool.messageId, now),
  lifeDays: () => REFERRAL_CODE_VALID_DAYS,
  // Any number of friends may use a referrer's code, each once (appliesOncePerCustomer).
  usesPerCode: null,
};

/** Tops up every live referral offer of a shop to `target` offerable referral codes. */
export function refillReferralPools(
  db: PrismaClient,
  api: AdminApi,
  shopId: number,
  now: Date,
  options: RefillOptions = {},
): Promise<RefillResult[]> {
  return refillKind(db, api, shopId, now, REFERRAL_POOL, options);
}

export interface ReferralCode {
  code: string;
  expiresAt: Date;
}

/**
 * The referrer's code for this referral offer: the one they have (while it has at least
 * `validDays` left), else the next offerable one from the pool, claimed atomically (null when
 * none is left). A referrer who holds a referral code of another referral offer gets none
 * (CodeAlreadyHeld is thrown): one referral code per shopper. The claim carries that condition,
 * and on PostgreSQL the shopper's requests queue on their lock, so two at once claim one code.
 */
export async function issueReferralCode(
  db: PrismaClient,
  shopId: number,
  messageId: number,
  validDays: number,
  who: { customerId: string; visitorId: string | null },
  now: Date,
): Promise<ReferralCode | null> {
  const sqlite = dialectOfClient(db) === "sqlite";
  return asShopper(db, shopId, who, async (q) => {
    const held = async (): Promise<ReferralCode | null> => {
      const other = await q.discountCode.findFirst({
        where: {
          shopId,
          messageId: { not: messageId },
          status: { in: ["issued", "redeemed"] },
          message: { reward: "referral" },
          OR: [
            { customerShopifyId: who.customerId },
            ...(who.visitorId ? [{ visitorId: who.visitorId }] : []),
          ],
        },
        orderBy: [{ issuedAt: "asc" }, { id: "asc" }],
        select: { messageId: true },
      });
      if (other) throw new CodeAlreadyHeld("referral", other.messageId);
      return q.discountCode.findFirst({
        where: {
          shopId,
          messageId,
          customerShopifyId: who.customerId,
          status: { in: ["issued", "redeemed"] },
          expiresAt: { gt: new Date(now.getTime() + validDays * DAY) },
        },
        orderBy: [{ issuedAt: "asc" }, { id: "asc" }],
        select: { code: true, expiresAt: true },
      });
    };
    const mine = await held();
    if (mine) return mine;
    const at = (d: Date) => (sqlite ? d.getTime() : d);
    const threshold = referralOfferableWhere(messageId, now).expiresAt.gt;
    const claim = `UPDATE "DiscountCode" SET "status" = 'issued', "visitorId" = $1, "customerShopifyId" = $2, "issuedAt" = $3
       WHERE "id" = (
         SELECT "id" FROM "DiscountCode"
         WHERE "shopId" = $4 AND "messageId" = $5 AND "status" = 'pool' AND "expiresAt" > $6
         ORDER BY "expiresAt", "id" LIMIT 1${sqlite ? "" : " FOR UPDATE SKIP LOCKED"}
       ) AND ${noCodeOfKind("referral", "others")}
       RETURNING "code", "expiresAt"`;
    const values = [who.visitorId, who.customerId, at(now), shopId, messageId, at(threshold)];
    const statement = sqlite ? sqliteOrder(claim, values) : { sql: claim, values };
    const rows = await q.$queryRawUnsafe<{ code: string; expiresAt: unknown }[]>(
      statement.sql,
      ...statement.values,
    );
    const row = rows[0];
    // Nothing claimed: the pool is empty, or another request of this referrer's claimed first.
    if (!row) return held();
    const expiresAt = row.expiresAt instanceof Date ? row.expiresAt : new Date(Number(row.expiresAt));
    return { code: row.code, expiresAt };
  });
}

/* ---------------------------------------------------------------------------------------------
 * Rewards
 * ------------------------------------------------------------------------------------------- */

const REWARD_CREATE = adminDocument(
  "offers/referrals REWARD_CREATE",
  `mutation SliceReferralRewardCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode {
      id
    }
    userErrors {
      field
      message
      code
    }
  }
}`,
);

const DEACTIVATE = adminDocument(
  "offers/referrals DEACTIVATE",
  `mutation SliceReferralRewardDeactivate($id: ID!) {
  discountCodeDeactivate(id: $id) {
    codeDiscountNode {
      id
    }
    userErrors {
      field
      message
      code
    }
  }
}`,
);

/** Every GraphQL document this module sends itself, for the schema test. */
export function referralDocuments(): string[] {
  return [REWARD_CREATE, DEACTIVATE];
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/** An email as a mailbox: lower-cased, trimmed, "+tag" dropped from the local part. */
export function mailbox(email: string | null | undefined): string | null {
  const e = (email ?? "").trim().toLowerCase();
  const at = e.lastIndexOf("@");
  if (at <= 0) return e || null;
  return `${e.slice(0, at).replace(/\+.*$/, "")}${e.slice(at)}`;
}

interface OrderFacts {
  shopifyId: string;
  name: string | null;
  customerShopifyId: string | null;
  email: string | null;
  currency: string;
  totalPrice: number;
  totalRefunded: number;
  financialStatus: string | null;
  cancelledAt: Date | null;
  discountCodes: string;
  shippingAddressHash: string | null;
}

/** What is known of the referrer to tell them from a friend. */
interface ReferrerFacts {
  /** mailbox() of their email. */
  email: string | null;
  /** Where their own orders shipped (address hashes). */
  shippedTo: ReadonlySet<string>;
}

type Verdict = { status: "pending" | "refused"; reason: string } | { status: "grant" };

/** What a not-yet-granted reward becomes given its order (the cap is checked by the caller). */
function judge(
  order: OrderFacts,
  reward: Pick<ReferralReward, "referrerCustomerId">,
  referrer: ReferrerFacts,
  offer: DiscountSpec | null,
): Verdict {
  if (!offer) return { status: "refused", reason: "the referral offer no longer exists" };
  if (order.customerShopifyId && order.customerShopifyId === reward.referrerCustomerId)
    return { status: "refused", reason: "self-referral: the friend is the referrer" };
  const friendMail = mailbox(order.email);
  if (friendMail && referrer.email && friendMail === referrer.email)
    return { status: "refused", reason: "self-referral: the friend has the referrer's email" };
  if (order.shippingAddressHash && referrer.shippedTo.has(order.shippingAddressHash))
    return { status: "refused", reason: "self-referral: the friend's order ships to the referrer's address" };
  // Payment fingerprints: not in Shopify's webhooks or the Admin API's order, so not checked.
  const status = order.financialStatus ?? "";
  if (order.cancelledAt)
    return { status: "refused", reason: "order cancelled before the reward was granted" };
  if (
    status === "refunded" ||
    status === "voided" ||
    (order.totalPrice > 0 && order.totalRefunded >= order.totalPrice)
  )
    return { status: "refused", reason: `order ${status || "refunded"} before the reward was granted` };
  if (status === "partially_refunded" || order.totalRefunded > 0)
    return { status: "refused", reason: "order partially refunded before the reward was granted" };
  if (offer.minimumSubtotal > 0 && order.totalPrice < offer.minimumSubtotal)
    return {
      status: "refused",
      reason: `order total ${order.totalPrice} is below the minimum ${offer.minimumSubtotal}`,
    };
  if (status !== "paid") return { status: "pending", reason: `waiting for payment (${status || "unknown"})` };
  return { status: "grant" };
}

function offerDiscount(
  message: Message | null,
): { name: string; discount: DiscountSpec; referrerReward: ReferrerReward } | null {
  if (!message) return null;
  try {
    const offer = fromColumns(message);
    return offer.reward.kind === "referral"
      ? { name: offer.name, discount: offer.reward.discount, referrerReward: offer.reward.referrerReward }
      : null;
  } catch {
    return null;
  }
}

const customerGid = (id: string) => (id.startsWith("gid://") ? id : `gid://shopify/Customer/${id}`);

/** Makes the referrer's reward discount in Shopify (or finds it, when an earlier try made it). */
async function createRewardDiscount(
  api: AdminApi,
  input: {
    title: string;
    code: string;
    customerId: string;
    reward: ReferrerReward;
    currency: string;
    now: Date;
  },
): Promise<string> {
  const { reward } = input;
  const value =
    reward.type === "percentage"
      ? { percentage: Math.round(reward.value * 100) / 10_000 }
      : { discountAmount: { amount: toDecimal(reward.value, input.currency), appliesOnEachItem: false } };
  const data = await api.request<{
    discountCodeBasicCreate: { codeDiscountNode: { id: string } | null; userErrors: DiscountUserError[] };
  }>(REWARD_CREATE, {
    discount: {
      title: input.title,
      code: input.code,
      startsAt: iso(input.now),
      endsAt: iso(new Date(input.now.getTime() + REWARD_VALID_DAYS * DAY)),
      context: { customers: { add: [customerGid(input.customerId)] } },
      customerGets: { value, items: { all: true } },
      appliesOncePerCustomer: true,
      usageLimit: 1,
      combinesWith: { productDiscounts: false, orderDiscounts: false, shippingDiscounts: false },
    },
  });
  const result = data.discountCodeBasicCreate;
  if (result.codeDiscountNode && !result.userErrors.length) return result.codeDiscountNode.id;
  if (result.userErrors.some((e) => e.code === "TAKEN")) {
    // Made by an earlier try that did not get to record it: the code is ours (it was on the row first).
    const existing = await discountForCode(api, input.code);
    if (existing) return existing.discountId;
  }
  throw new DiscountError(result.userErrors);
}

async function deactivateRewardDiscount(api: AdminApi, id: string): Promise<void> {
  const data = await api.request<{
    discountCodeDeactivate: { codeDiscountNode: { id: string } | null; userErrors: DiscountUserError[] };
  }>(DEACTIVATE, { id });
  const errors = data.discountCodeDeactivate.userErrors;
  // A discount deleted in Shopify's admin meanwhile is as good as deactivated.
  if (errors.length && !errors.every((e) => /does not exist/i.test(e.message)))
    throw new DiscountError(errors);
}

/**
 * Decides the referral reward of one order (see the module comment for the rules) and returns
 * the reward row, or null when the order used no referral code. `api` may be a function, so the
 * Admin API client is only made when a reward is granted or withdrawn. `random` makes reward codes.
 */
export async function processReferralOrder(
  db: PrismaClient,
  api: ApiSource,
  shopId: number,
  orderShopifyId: string,
  now: Date,
  options: { random?: () => number } = {},
): Promise<ReferralReward | null> {
  const order: OrderFacts | null = await db.order.findUnique({
    where: { shopId_shopifyId: { shopId, shopifyId: orderShopifyId } },
    select: {
      shopifyId: true,
      name: true,
      customerShopifyId: true,
      email: true,
      currency: true,
      totalPrice: true,
      totalRefunded: true,
      financialStatus: true,
      cancelledAt: true,
      discountCodes: true,
      shippingAddressHash: true,
    },
  });
  if (!order) return null;
  let reward = await db.referralReward.findUnique({
    where: { shopId_orderShopifyId: { shopId, orderShopifyId } },
  });
  if (!reward) {
    const codes = splitList(order.discountCodes).map((c) => c.toUpperCase());
    if (!codes.length) return null;
    const used = await db.discountCode.findFirst({
      where: {
        shopId,
        code: { in: codes },
        customerShopifyId: { not: null },
        status: { in: ["issued", "redeemed"] },
        message: { reward: "referral" },
      },
      select: { messageId: true, code: true, customerShopifyId: true },
    });
    if (!used) return null;
    // upsert: the same order processed twice at once makes one row.
    reward = await db.referralReward.upsert({
      where: { shopId_orderShopifyId: { shopId, orderShopifyId } },
      create: {
        shopId,
        messageId: used.messageId,
        referrerCustomerId: used.customerShopifyId!,
        referralCode: used.code,
        orderShopifyId,
        friendCustomerId: order.customerShopifyId,
        friendEmail: order.email,
        orderTotal: order.totalPrice,
        status: "pending",
      },
      update: {},
    });
  }
  if (reward.status === "refused" || reward.status === "withdrawn") return reward;

  const fullyRefunded =
    order.financialStatus === "refunded" ||
    order.financialStatus === "voided" ||
    (order.totalPrice > 0 && order.totalRefunded >= order.totalPrice);
  if (reward.status === "granted") {
    if (!order.cancelledAt && !fullyRefunded) return reward;
    const reason = order.cancelledAt ? "order cancelled" : "order refunded in full";
    if (reward.rewardDiscountId) {
      try {
        await deactivateRewardDiscount(await resolveApi(api), reward.rewardDiscountId);
      } catch (error) {
        return save(
          db,
          reward,
          "granted",
          `${RETRY_PREFIX}withdrawal (${reason}): ${(error as Error).message}`,
          null,
        );
      }
    }
    return save(db, reward, "withdrawn", reason, now);
  }

  // pending: decide it.
  const [message, referrer, referrerOrders] = await Promise.all([
    db.message.findUnique({ where: { id: reward.messageId } }),
    db.customer.findUnique({
      where: { shopId_shopifyId: { shopId, shopifyId: reward.referrerCustomerId } },
      select: { email: true },
    }),
    db.order.findMany({
      where: {
        shopId,
        customerShopifyId: reward.referrerCustomerId,
        shippingAddressHash: { not: null },
        shopifyId: { not: orderShopifyId },
      },
      select: { shippingAddressHash: true },
      distinct: ["shippingAddressHash"],
    }),
  ]);
  const offer = offerDiscount(message);
  const shippedTo = new Set(referrerOrders.map((o) => o.shippingAddressHash!));
  const verdict = judge(
    order,
    reward,
    { email: mailbox(referrer?.email), shippedTo },
    offer?.discount ?? null,
  );
  if (verdict.status !== "grant")
    return save(db, reward, verdict.status, verdict.reason, verdict.status === "refused" ? now : null);
  const granted = await db.referralReward.count({
    where: {
      shopId,
      messageId: reward.messageId,
      referrerCustomerId: reward.referrerCustomerId,
      status: "granted",
    },
  });
  if (granted >= MAX_REWARDS_PER_REFERRER)
    return save(
      db,
      reward,
      "refused",
      `cap reached: ${MAX_REWARDS_PER_REFERRER} rewards granted already`,
      now,
    );

  // The code is on the row before Shopify hears of it, so a retry makes (or finds) the same one.
  if (!reward.rewardCode) {
    const code = generateCodes("THANKS", 1, options.random ?? Math.random)[0];
    await db.referralReward.updateMany({
      where: { id: reward.id, rewardCode: null },
      data: { rewardCode: code },
    });
    reward = await db.referralReward.findUniqueOrThrow({ where: { id: reward.id } });
  }
  try {
    const discountId = await createRewardDiscount(await resolveApi(api), {
      title: `Slice referral reward: ${offer!.name} (order ${order.name ?? order.shopifyId})`,
      code: reward.rewardCode!,
      customerId: reward.referrerCustomerId,
      reward: offer!.referrerReward,
      currency: order.currency,
      now,
    });
    return await db.referralReward.update({
      where: { id: reward.id },
      data: { status: "granted", reason: null, rewardDiscountId: discountId, decidedAt: now },
    });
  } catch (error) {
    return save(
      db,
      reward,
      "pending",
      `${RETRY_PREFIX}reward not created yet: ${(error as Error).message}`,
      null,
    );
  }
}

/** Writes a status and reason, only when they change (so a repeat changes nothing). */
async function save(
  db: PrismaClient,
  reward: ReferralReward,
  status: string,
  reason: string,
  decidedAt: Date | null,
): Promise<ReferralReward> {
  if (reward.status === status && reward.reason === reason) return reward;
  return db.referralReward.update({
    where: { id: reward.id },
    data: { status, reason, ...(decidedAt ? { decidedAt } : {}) },
  });
}

/** Retries rewards left waiting on the Admin API (a grant or a withdrawal that failed). */
export async function settleReferralRewards(
  db: PrismaClient,
  api: ApiSource,
  shopId: number,
  now: Date,
): Promise<ReferralReward[]> {
  const waiting = await db.referralReward.findMany({
    where: { shopId, status: { in: ["pending", "granted"] }, reason: { startsWith: RETRY_PREFIX } },
    orderBy: { id: "asc" },
    take: 100,
    select: { orderShopifyId: true },
  });
  const out: ReferralReward[] = [];
  for (const w of waiting) {
    const r = await processReferralOrder(db, api, shopId, w.orderShopifyId, now);
    if (r) out.push(r);
  }
  return out;
}

export interface ReferralSummary {
  /** Friends' orders through the offer's referral codes, by what became of the referrer's reward. */
  granted: number;
  pending: number;
  withdrawn: number;
  refused: number;
  /** Referrers with at least one reward granted (and not withdrawn). */
  rewardedReferrers: number;
  /** The latest friends' orders, newest first, with the reason of any refusal or withdrawal. */
  latest: Pick<
    ReferralReward,
    "orderShopifyId" | "referrerCustomerId" | "orderTotal" | "status" | "reason" | "rewardCode" | "createdAt"
  >[];
}

/** A referral offer's rewards for the merchant: how many were granted, waiting, withdrawn or refused, and why. */
export async function referralSummary(
  db: PrismaClient,
  shopId: number,
  messageId: number,
  latest = 20,
): Promise<ReferralSummary> {
  const where = { shopId, messageId };
  const [groups, referrers, rows] = await Promise.all([
    db.referralReward.groupBy({ by: ["status"], where, _count: { _all: true } }),
    db.referralReward.groupBy({ by: ["referrerCustomerId"], where: { ...where, status: "granted" } }),
    db.referralReward.findMany({
      where,
      orderBy: { id: "desc" },
      take: latest,
      select: {
        orderShopifyId: true,
        referrerCustomerId: true,
        orderTotal: true,
        status: true,
        reason: true,
        rewardCode: true,
        createdAt: true,
      },
    }),
  ]);
  const count = (status: string) => groups.find((g) => g.status === status)?._count._all ?? 0;
  return {
    granted: count("granted"),
    pending: count("pending"),
    withdrawn: count("withdrawn"),
    refused: count("refused"),
    rewardedReferrers: referrers.length,
    latest: rows,
  };
}
