/**
 * Referral invites against the Admin API stand-in: a signed-in referrer gets their own referral
 * code (made ahead in Shopify, first order only for the friend, any number of friends), the same
 * every time; a friend's paid order through it grants the referrer a reward code only they can
 * use; a refund or a cancellation withdraws it (deactivated in Shopify); self-referrals (same
 * customer, same email, same shipping address), orders below the minimum and rewards over the
 * cap are refused; and
 * processing an order again changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReferralReward } from "@prisma/client";
import prisma from "../db.server";
import { AdminApi } from "../sync/admin-api.server";
import { AdminApiStandIn, validateAdminDocument } from "../../dev/admin-api";
import { generateStore, type Address } from "../../dev/store";
import { addressHash } from "../sync/address";
import { toDecimal } from "./discounts.server";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { ensurePresets } from "../segments/store.server";
import { afterWebhook } from "../segments/incremental.server";
import { createMessage } from "../messages/store.server";
import { receiveCodeRequest } from "../storefront/code.server";
import {
  issueReferralCode,
  mailbox,
  MAX_REWARDS_PER_REFERRER,
  processReferralOrder,
  referralDocuments,
  referralOfferableWhere,
  referralSummary,
  refillReferralPools,
  RETRY_PREFIX,
  settleReferralRewards,
} from "./referrals.server";

const store = generateStore({ seed: 53, customers: 240, shop: "referral-test.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 5000, bulkDelayMs: 5 });
const api = () =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: standIn.origin, sleep: async () => {} });
const down = () =>
  new AdminApi({ shop: SHOP, accessToken: "wrong-token", origin: standIn.origin, sleep: async () => {} });
const poll = { intervalMs: 5 };
const now = () => new Date();
const MINIMUM = 5000;

const hasOrders = (id: string) => store.orders.some((o) => o.customerId === id && !o.cancelledAt);
const buyers = store.customers.filter((c) => hasOrders(c.id));
const newcomers = store.customers.filter((c) => !store.orders.some((o) => o.customerId === c.id));
const referrer = buyers[0];
const busyReferrer = buyers[1];
const friend = newcomers[0];

let shopId = 0;
let offerId = 0;
let referralCode = "";
let busyCode = "";
let nextOrder = 80_000;

async function order(fields: {
  code: string;
  customerId?: string | null;
  email?: string | null;
  total?: number;
  status?: string;
  shipTo?: Address | null;
}): Promise<string> {
  const shopifyId = String(++nextOrder);
  await prisma.order.create({
    data: {
      shopId,
      shopifyId,
      name: `#${shopifyId}`,
      customerShopifyId: fields.customerId ?? null,
      email: fields.email ?? null,
      currency: "USD",
      totalPrice: fields.total ?? 8000,
      financialStatus: fields.status ?? "paid",
      discountCodes: `|${fields.code.toLowerCase()}|`,
      shippingAddressHash: addressHash(fields.shipTo),
      processedAt: now(),
      shopifyCreatedAt: now(),
      shopifyUpdatedAt: now(),
    },
  });
  return shopifyId;
}

const decideOrder = (orderId: string, source: AdminApi | (() => Promise<AdminApi>) = api()) =>
  processReferralOrder(prisma, source, shopId, orderId, now());

beforeAll(async () => {
  await standIn.start();
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await ensurePresets(prisma, shopId);
  offerId = await createMessage(prisma, shopId, {
    name: "Give 15%, get 15%",
    segment: "high-spend-repeat",
    format: "popup",
    trigger: { on: "load" },
    content: { headline: "Give your friends 15% off", body: "", button: null },
    reward: {
      kind: "referral",
      discount: { type: "percentage", value: 15, validDays: 30, minimumSubtotal: MINIMUM },
    },
    active: true,
  });
  for (const c of [referrer, busyReferrer])
    await prisma.customer.create({
      data: { shopId, shopifyId: c.id, email: c.email, shopifyUpdatedAt: now() },
    });
  for (const c of [referrer, busyReferrer])
    await prisma.offerExposure.create({
      data: {
        shopId,
        messageId: offerId,
        unit: `c:${c.id}`,
        arm: "treatment",
        visitorId: "referral-visitor-0001",
        at: now(),
      },
    });
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});

/** The storefront's code endpoint, as a signed-in customer (or a visitor) asks it. */
const ask = (customerId?: string, visitorId = "referral-visitor-0001") =>
  receiveCodeRequest(
    proxiedRequest(
      new Request(`https://${SHOP}/apps/slice/code`, {
        method: "POST",
        body: JSON.stringify({ visitorId, messageId: offerId }),
      }),
      { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP },
      { customerId },
    ),
    prisma,
  );

describe("referral codes", () => {
  it("are made ahead in Shopify: one first-order discount for friends, no total usage limit, codes added in bulk", async () => {
    const [result] = await refillReferralPools(prisma, api(), shopId, now(), { target: 10, poll });
    expect(result).toEqual({ messageId: offerId, variantId: null, added: 11 });
    expect(await prisma.discountCode.count({ where: referralOfferableWhere(offerId, now()) })).toBe(11);
    const rows = await prisma.discountCode.findMany({ where: { messageId: offerId } });
    expect(new Set(rows.map((r) => r.shopifyDiscountId)).size).toBe(1);
    const discount = standIn.discounts.get(rows[0].shopifyDiscountId)!;
    expect(discount).toMatchObject({
      usageLimit: null,
      appliesOncePerCustomer: true,
      app: { functionHandle: "slice-first-order", discountClasses: ["ORDER"] },
    });
    // Friends are first-time shoppers, mostly guests: the Discount Function decides, open to all.
    expect(discount.eligible.kind).toBe("all");
    expect(
      JSON.parse(discount.app!.metafields.get("app--1234567890--slice.first-order")!.value),
    ).toMatchObject({
      minimumSubtotal: toDecimal(MINIMUM, "USD"),
    });
    expect(Date.parse(discount.endsAt!)).toBeGreaterThan(Date.now() + 364 * 86_400_000);
    expect(await refillReferralPools(prisma, api(), shopId, now(), { target: 10, poll })).toEqual([]);
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("gives a signed-in referrer their personal code and share link, the same every time", async () => {
    const response = await ask(referrer.id);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { code: string; shareUrl: string; applyPath: string };
    expect(body.code).toMatch(/^REFER-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
    expect(body.shareUrl).toBe(`https://${SHOP}/discount/${body.code}`);
    expect(body.applyPath).toBe(`/discount/${body.code}`);
    referralCode = body.code;
    const again = (await (await ask(referrer.id, "another-browser-000001")).json()) as { code: string };
    expect(again.code).toBe(referralCode);
    // Once the shop's primary domain is known, the link is on it (what friends know), same code and path.
    await prisma.shop.update({ where: { id: shopId }, data: { primaryDomain: "www.referral-shop.example" } });
    const onDomain = (await (await ask(referrer.id)).json()) as { code: string; shareUrl: string };
    await prisma.shop.update({ where: { id: shopId }, data: { primaryDomain: null } });
    expect(onDomain.shareUrl).toBe(`https://www.referral-shop.example/discount/${referralCode}`);
    const direct = await issueReferralCode(
      prisma,
      shopId,
      offerId,
      30,
      { customerId: referrer.id, visitorId: null },
      now(),
    );
    expect(direct?.code).toBe(referralCode);
    expect(
      await prisma.discountCode.findFirstOrThrow({ where: { shopId, code: referralCode } }),
    ).toMatchObject({ status: "issued", customerShopifyId: referrer.id });
    busyCode = ((await (await ask(busyReferrer.id)).json()) as { code: string }).code;
    expect(busyCode).not.toBe(referralCode);
  });

  it("is refused to a visitor who is not signed in, and to a customer not shown the offer", async () => {
    const anonymous = await ask(undefined);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.json()).toEqual({ error: "sign in to get your referral code" });
    expect((await ask(newcomers[5].id)).status).toBe(403);
  });

  it("works in Shopify for any number of new customers and guests, never for a signed-in one who has ordered", () => {
    for (const c of newcomers.slice(10, 13))
      expect(
        standIn.redeem({ code: referralCode, customerId: c.id, email: c.email, subtotal: 6000 }),
      ).toMatchObject({ ok: true });
    // A friend checking out as a guest, with an email no customer has.
    expect(
      standIn.redeem({
        code: referralCode,
        customerId: null,
        email: "guest.friend@example.com",
        subtotal: 6000,
      }),
    ).toMatchObject({ ok: true });
    expect(
      standIn.redeem({
        code: referralCode,
        customerId: buyers[5].id,
        email: buyers[5].email,
        subtotal: 6000,
      }),
    ).toEqual({ ok: false, reason: "customer_not_eligible" });
  });
});

describe("referral rewards", () => {
  let granted: ReferralReward;

  it("waits for payment, then grants the referrer a reward code only they can use", async () => {
    const id = await order({
      code: referralCode,
      customerId: friend.id,
      email: friend.email,
      status: "pending",
    });
    const pending = await decideOrder(id);
    expect(pending).toMatchObject({
      status: "pending",
      referrerCustomerId: referrer.id,
      referralCode,
      friendCustomerId: friend.id,
      rewardCode: null,
    });
    await prisma.order.update({
      where: { shopId_shopifyId: { shopId, shopifyId: id } },
      data: { financialStatus: "paid" },
    });
    granted = (await decideOrder(id))!;
    expect(granted).toMatchObject({ status: "granted", reason: null });
    expect(granted.rewardCode).toMatch(/^THANKS-/);
    const discount = standIn.discounts.get(granted.rewardDiscountId!)!;
    expect(discount).toMatchObject({
      usageLimit: 1,
      eligible: { kind: "customers", ids: [`gid://shopify/Customer/${referrer.id}`] },
      value: { kind: "percentage", percentage: 0.15 },
    });
    const other = newcomers[1];
    expect(
      standIn.redeem({ code: granted.rewardCode!, customerId: other.id, email: other.email, subtotal: 3000 }),
    ).toEqual({ ok: false, reason: "customer_not_eligible" });
    expect(
      standIn.redeem({
        code: granted.rewardCode!,
        customerId: referrer.id,
        email: referrer.email,
        subtotal: 3000,
      }),
    ).toMatchObject({ ok: true });
    expect(
      standIn.redeem({
        code: granted.rewardCode!,
        customerId: referrer.id,
        email: referrer.email,
        subtotal: 3000,
      }),
    ).toMatchObject({ ok: false });
    // The referrer is told on the storefront, in their referral panel: who ordered, and the code.
    const panel = (await (await ask(referrer.id)).json()) as { code: string; note?: string };
    expect(panel).toMatchObject({
      code: referralCode,
      note: `Thank you: a friend ordered. Your reward (15% off): ${granted.rewardCode}`,
    });
    expect(((await (await ask(busyReferrer.id)).json()) as { note?: string }).note).toBeUndefined();
  });

  it("changes nothing when the same order is processed again", async () => {
    const discounts = standIn.discounts.size;
    expect(await decideOrder(granted.orderShopifyId)).toEqual(granted);
    expect(await decideOrder(granted.orderShopifyId)).toEqual(granted);
    expect(standIn.discounts.size).toBe(discounts);
    expect(await prisma.referralReward.count({ where: { orderShopifyId: granted.orderShopifyId } })).toBe(1);
  });

  it("is withdrawn when the friend's order is refunded in full: the reward is deactivated in Shopify", async () => {
    const other = newcomers[2];
    const id = await order({ code: referralCode, customerId: other.id, email: other.email, total: 9000 });
    const reward = (await decideOrder(id))!;
    expect(reward.status).toBe("granted");
    await prisma.order.update({
      where: { shopId_shopifyId: { shopId, shopifyId: id } },
      data: { financialStatus: "partially_refunded", totalRefunded: 2000 },
    });
    expect(await decideOrder(id)).toEqual(reward);
    await prisma.order.update({
      where: { shopId_shopifyId: { shopId, shopifyId: id } },
      data: { financialStatus: "refunded", totalRefunded: 9000 },
    });
    const withdrawn = await decideOrder(id);
    expect(withdrawn).toMatchObject({ status: "withdrawn", reason: "order refunded in full" });
    expect(
      standIn.redeem({
        code: reward.rewardCode!,
        customerId: referrer.id,
        email: referrer.email,
        subtotal: 3000,
      }),
    ).toEqual({ ok: false, reason: "expired" });
    expect(await decideOrder(id)).toEqual(withdrawn);
  });

  it("is withdrawn when the order is cancelled, also through the webhook path", async () => {
    const other = newcomers[3];
    const id = await order({ code: referralCode, customerId: other.id, email: other.email });
    const event = (topic: string) => ({
      shopDomain: SHOP,
      topic,
      payload: JSON.stringify({ id: Number(id), admin_graphql_api_id: `gid://shopify/Order/${id}` }),
    });
    await afterWebhook(prisma, event("orders/paid"), now(), async () => api());
    const reward = await prisma.referralReward.findUniqueOrThrow({
      where: { shopId_orderShopifyId: { shopId, orderShopifyId: id } },
    });
    expect(reward.status).toBe("granted");
    // The referral code is shared with every friend: it stays the referrer's, not "redeemed".
    expect(
      await prisma.discountCode.findFirstOrThrow({ where: { shopId, code: referralCode } }),
    ).toMatchObject({
      status: "issued",
      orderShopifyId: null,
    });
    await prisma.order.update({
      where: { shopId_shopifyId: { shopId, shopifyId: id } },
      data: { cancelledAt: now() },
    });
    await afterWebhook(prisma, event("orders/cancelled"), now(), async () => api());
    expect(await prisma.referralReward.findUniqueOrThrow({ where: { id: reward.id } })).toMatchObject({
      status: "withdrawn",
      reason: "order cancelled",
    });
    expect(Date.parse(standIn.discounts.get(reward.rewardDiscountId!)!.endsAt!)).toBeLessThanOrEqual(
      Date.now(),
    );
    expect(
      standIn.redeem({
        code: reward.rewardCode!,
        customerId: referrer.id,
        email: referrer.email,
        subtotal: 3000,
      }),
    ).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses a self-referral: the referrer's own order, or an order under the referrer's email", async () => {
    const own = await order({ code: referralCode, customerId: referrer.id, email: referrer.email });
    expect(await decideOrder(own)).toMatchObject({
      status: "refused",
      reason: "self-referral: the friend is the referrer",
      rewardCode: null,
    });
    const [local, domain] = referrer.email.split("@");
    const guest = await order({
      code: referralCode,
      customerId: null,
      email: ` ${local.toUpperCase()}+2@${domain}`,
    });
    expect(await decideOrder(guest)).toMatchObject({
      status: "refused",
      reason: "self-referral: the friend has the referrer's email",
      rewardCode: null,
    });
    expect(mailbox("A.B+x@Example.com")).toBe("a.b@example.com");
  });

  it("refuses an order below the offer's minimum", async () => {
    const other = newcomers[4];
    const id = await order({
      code: referralCode,
      customerId: other.id,
      email: other.email,
      total: MINIMUM - 1,
    });
    const refused = await decideOrder(id);
    expect(refused).toMatchObject({
      status: "refused",
      reason: `order total ${MINIMUM - 1} is below the minimum ${MINIMUM}`,
    });
    // Decided for good: paying it in full later, or processing it again, changes nothing.
    expect(await decideOrder(id)).toEqual(refused);
  });

  it(`caps a referrer at ${MAX_REWARDS_PER_REFERRER} granted rewards per offer`, async () => {
    for (let i = 0; i < MAX_REWARDS_PER_REFERRER; i++) {
      const other = newcomers[20 + i];
      const id = await order({ code: busyCode, customerId: other.id, email: other.email });
      expect((await decideOrder(id))?.status).toBe("granted");
    }
    const last = newcomers[20 + MAX_REWARDS_PER_REFERRER];
    const over = await order({ code: busyCode, customerId: last.id, email: last.email });
    const discounts = standIn.discounts.size;
    expect(await decideOrder(over)).toMatchObject({
      status: "refused",
      reason: `cap reached: ${MAX_REWARDS_PER_REFERRER} rewards granted already`,
      rewardCode: null,
    });
    expect(standIn.discounts.size).toBe(discounts);
    // The other referrer's cap is their own.
    expect(
      await prisma.referralReward.count({
        where: { shopId, referrerCustomerId: referrer.id, status: "granted" },
      }),
    ).toBe(1);
  });

  it("keeps a reward pending while the Admin API is down, and grants the same code once it is back", async () => {
    const other = newcomers[40];
    const id = await order({ code: referralCode, customerId: other.id, email: other.email });
    const waiting = (await decideOrder(id, down()))!;
    expect(waiting.status).toBe("pending");
    expect(waiting.reason?.startsWith(RETRY_PREFIX)).toBe(true);
    expect(waiting.rewardCode).toMatch(/^THANKS-/);
    const [settled] = await settleReferralRewards(prisma, api(), shopId, now());
    expect(settled).toMatchObject({ orderShopifyId: id, status: "granted", rewardCode: waiting.rewardCode });
  });

  it("refuses a friend whose order ships to the referrer's address, whatever their email; grants one shipping elsewhere", async () => {
    // The referrer's own earlier order shipped home (no referral code: it earns nothing itself).
    const home = referrer.address!;
    await order({ code: "NONE", customerId: referrer.id, email: referrer.email, shipTo: home });
    const alias = newcomers[50];
    const sameDoor = await order({
      code: referralCode,
      customerId: alias.id,
      email: alias.email,
      // Typed another way at checkout: still the referrer's door.
      shipTo: { ...home, address1: `${home.address1.toUpperCase()}.` },
    });
    expect(await decideOrder(sameDoor)).toMatchObject({
      status: "refused",
      reason: "self-referral: the friend's order ships to the referrer's address",
      rewardCode: null,
    });
    const realFriend = newcomers[51];
    const elsewhere = await order({
      code: referralCode,
      customerId: realFriend.id,
      email: realFriend.email,
      shipTo: realFriend.address,
    });
    expect(addressHash(realFriend.address)).not.toBe(addressHash(home));
    expect(await decideOrder(elsewhere)).toMatchObject({ status: "granted", reason: null });
  });

  it("ignores an order with no referral code, and sent only valid documents", async () => {
    const id = await order({ code: "SOMEOTHERCODE", customerId: friend.id });
    expect(await decideOrder(id)).toBeNull();
    expect(await decideOrder("no-such-order")).toBeNull();
    expect(standIn.invalidDocuments).toEqual([]);
    for (const document of referralDocuments()) expect(validateAdminDocument(document)).toEqual([]);
  });

  it("sums up the offer's rewards for the merchant: by status, the referrers rewarded, the latest with their reasons", async () => {
    const rows = await prisma.referralReward.findMany({ where: { shopId, messageId: offerId } });
    const by = (status: string) => rows.filter((r) => r.status === status).length;
    const summary = await referralSummary(prisma, shopId, offerId, 5);
    expect(summary).toMatchObject({
      granted: by("granted"),
      pending: by("pending"),
      withdrawn: by("withdrawn"),
      refused: by("refused"),
      rewardedReferrers: new Set(rows.filter((r) => r.status === "granted").map((r) => r.referrerCustomerId))
        .size,
    });
    expect(summary.granted + summary.withdrawn + summary.refused).toBeGreaterThan(2);
    expect(summary.latest).toHaveLength(Math.min(5, rows.length));
    expect(summary.latest[0].orderShopifyId).toBe(rows.sort((a, b) => b.id - a.id)[0].orderShopifyId);
    expect(summary.latest.filter((r) => r.status === "refused").every((r) => r.reason)).toBe(true);
  });
});

describe("one referral code per referrer, across referral offers", () => {
  let second = 0;
  beforeAll(async () => {
    second = await createMessage(prisma, shopId, {
      name: "Give 10%, get 10%",
      segment: "high-spend-repeat",
      format: "corner",
      trigger: { on: "load" },
      content: { headline: "Give your friends 10% off", body: "", button: null },
      reward: {
        kind: "referral",
        discount: { type: "percentage", value: 10, validDays: 30, minimumSubtotal: 0 },
      },
      active: true,
    });
    await refillReferralPools(prisma, api(), shopId, now(), { target: 6, poll });
  });
  const issue = (messageId: number, customerId: string) =>
    issueReferralCode(prisma, shopId, messageId, 30, { customerId, visitorId: null }, now());

  it("refuses a referrer who holds the first offer's code a code of the second, naming the offer held", async () => {
    await expect(issue(second, referrer.id)).rejects.toMatchObject({
      name: "CodeAlreadyHeld",
      kind: "referral",
      messageId: offerId,
    });
  });

  it("gives a referrer asking for both offers at once one code", async () => {
    const newReferrer = buyers[5].id;
    const results = await Promise.allSettled([issue(offerId, newReferrer), issue(second, newReferrer)]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(
      await prisma.discountCode.count({
        where: { shopId, customerShopifyId: newReferrer, status: { in: ["issued", "redeemed"] } },
      }),
    ).toBe(1);
  });
});
