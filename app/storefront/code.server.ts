/**
 * `POST /apps/slice/code` (proxied to `/proxy/code`): the shopper's own discount code for an offer
 * they were shown. Body: `{ "visitorId": "…", "messageId": 12 }`.
 *
 * Only for a live first-purchase offer this shopper was assigned to the treatment of (their
 * recorded exposure: a held-out shopper, or anyone who merely knows an offer's id, gets none).
 * The same shopper asking again gets the same code; a shopper assigned a variant with its own
 * discount gets a code from that variant's pool. Answers `{ code, expiresAt, applyPath }`
 * (`/discount/CODE` applies it at checkout, Shopify's shareable discount link), 409 when the pool
 * is empty (the storefront then shows the offer's text without a code).
 *
 * A live referral offer: only for a signed-in customer (the app proxy's `logged_in_customer_id`;
 * 403 otherwise) assigned to its treatment; answers their personal referral code, the same every
 * time, with `shareUrl` (`https://<primary domain>/discount/CODE`, referralShareUrl) to send to friends, `terms`
 * ("Give 15%, get $10.00": the friend's discount, then the referrer's reward per friend's paid
 * order), `friendGets` ("15% off", for the invite the referrer sends), and a `note` listing
 * the reward codes their friends' paid orders have earned them so far.
 *
 * One code per kind per shopper (the customer, else the visitor): a shopper who holds a code of
 * another first-purchase offer (or another referral offer) gets 409 naming it (`heldFrom`), also
 * when two tabs ask for two offers at once (pool.server.ts: the claim carries the condition).
 */
import type { PrismaClient } from "@prisma/client";
import { z } from "zod";
import { fromColumns, referralTerms, type MessageInput, type ReferrerReward } from "../engine/message";
import { formatMoney } from "../engine/money";
import { CodeAlreadyHeld, issueCode, poolFor } from "../offers/pool.server";
import { issueReferralCode, referralShareUrl } from "../offers/referrals.server";
import { readLimited } from "./events.server";
import { flushExposures } from "./decide.server";
import { requireAppProxy, type ProxyIdentity } from "./proxy.server";
import { limitCodeRequests } from "./rate-limit.server";

const bodySchema = z.object({
  visitorId: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, "must be 16 to 64 letters, digits, - or _"),
  messageId: z.number({ invalid_type_error: "must be a message id" }).int().positive(),
});

/** "Thank you: 2 friends ordered. Your rewards (15% off each): THANKS-…, THANKS-…". */
/** "15% off" or "$10.00 off". */
function discountText(d: ReferrerReward, currency: string): string {
  return d.type === "percentage" ? `${d.value}% off` : `${formatMoney(d.value, currency)} off`;
}

function rewardsNote(
  rewards: { rewardCode: string | null }[],
  reward: ReferrerReward,
  currency: string,
): string {
  const codes = rewards.map((r) => r.rewardCode).filter(Boolean);
  const what = discountText(reward, currency);
  const friends = rewards.length === 1 ? "a friend" : `${rewards.length} friends`;
  return `Thank you: ${friends} ordered. Your reward${codes.length === 1 ? "" : "s"} (${what}${codes.length === 1 ? "" : " each"}): ${codes.join(", ")}`;
}

function json(body: unknown, status: number): Response {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store" } });
}

export async function receiveCodeRequest(
  request: Request,
  db: PrismaClient,
  now = new Date(),
): Promise<Response> {
  if (request.method !== "POST") return json({ error: "use POST" }, 405);
  let identity: ProxyIdentity;
  try {
    identity = requireAppProxy(request, now);
  } catch (refused) {
    if (refused instanceof Response) return refused;
    throw refused;
  }
  // Before anything else: fresh visitor ids from one address must not drain a pool (rate-limit.server.ts).
  const limited = await limitCodeRequests(request, identity.shop, now, db);
  if (limited) return limited;
  const text = await readLimited(request, 2048);
  if (text === null) return json({ error: "body: must be at most 2048 bytes" }, 413);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return json({ error: "body: must be JSON" }, 400);
  }
  const parsed = bodySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return json({ error: `${issue.path.join(".") || "body"}: ${issue.message}` }, 400);
  }
  const { visitorId, messageId } = parsed.data;
  const shop = await db.shop.findUnique({
    where: { domain: identity.shop },
    select: { id: true, uninstalledAt: true, domain: true, primaryDomain: true, currency: true },
  });
  if (!shop || shop.uninstalledAt) return json({ error: "shop: not installed" }, 404);
  const row = await db.message.findFirst({
    where: { id: messageId, shopId: shop.id, active: true },
    include: { variants: { select: { id: true, discountValue: true } } },
  });
  const offer = row ? fromColumns(row) : null;
  if (!offer || (offer.reward.kind !== "firstPurchase" && offer.reward.kind !== "referral"))
    return json({ error: "messageId: no live discount offer with this id" }, 404);
  // A referral code is a signed-in customer's own (their rewards follow it): none for a visitor.
  if (offer.reward.kind === "referral" && !identity.customerId)
    return json({ error: "sign in to get your referral code" }, 403);
  const unit = identity.customerId ? `c:${identity.customerId}` : `v:${visitorId}`;
  // The decision writes exposures just after answering: let any waiting here reach the database.
  await flushExposures();
  const exposure = await db.offerExposure.findUnique({
    where: { messageId_unit: { messageId, unit } },
    select: { arm: true, variantId: true },
  });
  if (exposure?.arm !== "treatment")
    return json({ error: "messageId: this offer was not shown to you" }, 403);
  try {
    return await giveCode(db, identity, shop, row!, offer, exposure.variantId, visitorId, now);
  } catch (error) {
    // One code per kind per shopper: asked for another offer's, they get none (the decision
    // reminds them of the one they hold instead).
    if (error instanceof CodeAlreadyHeld)
      return json(
        {
          error: `messageId: you already have a ${error.kind === "referral" ? "referral" : "first-purchase"} code from another offer`,
          heldFrom: error.messageId,
        },
        409,
      );
    throw error;
  }
}

async function giveCode(
  db: PrismaClient,
  identity: ProxyIdentity,
  shop: { id: number; domain: string; primaryDomain: string | null; currency: string },
  row: Parameters<typeof poolFor>[0],
  offer: MessageInput,
  variantId: number | null,
  visitorId: string,
  now: Date,
): Promise<Response> {
  const messageId = row.id;
  const shopId = shop.id;
  if (offer.reward.kind === "referral") {
    const mine = await issueReferralCode(
      db,
      shopId,
      messageId,
      offer.reward.discount.validDays,
      { customerId: identity.customerId!, visitorId },
      now,
    );
    if (!mine) return json({ error: "no codes left for this offer" }, 409);
    const applyPath = `/discount/${encodeURIComponent(mine.code)}`;
    const rewards = await db.referralReward.findMany({
      where: { shopId, messageId, referrerCustomerId: identity.customerId!, status: "granted" },
      orderBy: { id: "asc" },
      select: { rewardCode: true, decidedAt: true },
    });
    return json(
      {
        code: mine.code,
        expiresAt: mine.expiresAt.toISOString(),
        applyPath,
        shareUrl: referralShareUrl(shop, mine.code),
        // What the link gives the friend, and the referrer for each friend who orders.
        terms: referralTerms(offer.reward, (minor) => formatMoney(minor, shop.currency)),
        friendGets: discountText(offer.reward.discount, shop.currency),
        ...(rewards.length ? { note: rewardsNote(rewards, offer.reward.referrerReward, shop.currency) } : {}),
      },
      200,
    );
  }
  // The pool of the variant this shopper was assigned (a variant may test its own discount).
  const pool = poolFor(row, variantId);
  const issued =
    pool && (await issueCode(db, shopId, pool, { visitorId, customerId: identity.customerId }, now));
  if (!issued) return json({ error: "no codes left for this offer" }, 409);
  return json(
    {
      code: issued.code,
      expiresAt: issued.expiresAt.toISOString(),
      applyPath: `/discount/${encodeURIComponent(issued.code)}`,
    },
    200,
  );
}
