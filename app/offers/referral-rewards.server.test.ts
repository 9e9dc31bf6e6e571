/**
 * A referral's two rewards, "they get" and "you get", each with its own kind and value, against the
 * Admin API stand-in: the friend's code takes the friend's discount at checkout, the referrer's
 * reward code takes the referrer's; the storefront says both; a message saved before the two were
 * apart keeps its one value for both; a bad value is refused naming its field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "../sync/admin-api.server";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { ensurePresets } from "../segments/store.server";
import { createMessage, getMessage } from "../messages/store.server";
import { messageList, readForm, saveMessageForm, valuesOf } from "../messages/admin.server";
import { MessageError } from "../engine/message";
import { receiveCodeRequest } from "../storefront/code.server";
import { processReferralOrder, refillReferralPools } from "./referrals.server";

const store = generateStore({ seed: 57, customers: 200, shop: "two-rewards.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 5000, bulkDelayMs: 5 });
const api = () =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: standIn.origin, sleep: async () => {} });
const now = () => new Date();

const hasOrders = (id: string) => store.orders.some((o) => o.customerId === id && !o.cancelledAt);
const buyers = store.customers.filter((c) => hasOrders(c.id));
const newcomers = store.customers.filter((c) => !store.orders.some((o) => o.customerId === c.id));

let shopId = 0;
/** Each referrer browses in their own browser (a visitor holds one referral code too). */
const visitor = (customerId: string) => `two-rewards-visitor-${customerId}`;
let nextOrder = 90_000;

const referral = (name: string, reward: Record<string, unknown>) =>
  createMessage(prisma, shopId, {
    name,
    segment: "high-spend-repeat",
    format: "corner",
    trigger: { on: "load" },
    content: { headline: "Share the love", body: "", button: null },
    reward: { kind: "referral", ...reward },
    active: true,
  });

/** Shows the offer to a referrer and asks the storefront's code endpoint for their code, signed in. */
async function referrerCode(messageId: number, customerId: string) {
  await prisma.customer.upsert({
    where: { shopId_shopifyId: { shopId, shopifyId: customerId } },
    create: { shopId, shopifyId: customerId, shopifyUpdatedAt: now() },
    update: {},
  });
  await prisma.offerExposure.create({
    data: {
      shopId,
      messageId,
      unit: `c:${customerId}`,
      arm: "treatment",
      visitorId: visitor(customerId),
      at: now(),
    },
  });
  const response = await receiveCodeRequest(
    proxiedRequest(
      new Request(`https://${SHOP}/apps/slice/code`, {
        method: "POST",
        body: JSON.stringify({ visitorId: visitor(customerId), messageId }),
      }),
      { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP },
      { customerId },
    ),
    prisma,
  );
  expect(response.status).toBe(200);
  return (await response.json()) as { code: string; terms: string; friendGets: string; note?: string };
}

/** A friend's paid order through the referral code, decided: the referrer's reward. */
async function friendOrders(code: string, friend: { id: string; email: string }) {
  const shopifyId = String(++nextOrder);
  await prisma.order.create({
    data: {
      shopId,
      shopifyId,
      name: `#${shopifyId}`,
      customerShopifyId: friend.id,
      email: friend.email,
      currency: "USD",
      totalPrice: 8000,
      financialStatus: "paid",
      discountCodes: `|${code.toLowerCase()}|`,
      processedAt: now(),
      shopifyCreatedAt: now(),
      shopifyUpdatedAt: now(),
    },
  });
  return (await processReferralOrder(prisma, api(), shopId, shopifyId, now()))!;
}

beforeAll(async () => {
  await standIn.start();
  shopId = (await prisma.shop.create({ data: { domain: SHOP, currency: "USD" } })).id;
  await ensurePresets(prisma, shopId);
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});

describe("a referral's two rewards", () => {
  it("gives the friend their discount and the referrer their own reward: give 15%, get $10.00", async () => {
    const id = await referral("Give 15%, get $10", {
      discount: { type: "percentage", value: 15, validDays: 30, minimumSubtotal: 0 },
      referrerReward: { type: "amount", value: 1000 },
    });
    await refillReferralPools(prisma, api(), shopId, now(), { target: 4, poll: { intervalMs: 5 } });
    const [referrer, friend] = [buyers[0], newcomers[0]];
    const mine = await referrerCode(id, referrer.id);
    expect(mine.terms).toBe("Give 15%, get $10.00");
    expect(mine.friendGets).toBe("15% off");
    // The friend's code: 15% off their first order, at Shopify's checkout.
    expect(
      standIn.redeem({ code: mine.code, customerId: friend.id, email: friend.email, subtotal: 6000 }),
    ).toEqual({ ok: true, discountAmount: 900 });
    const reward = await friendOrders(mine.code, friend);
    expect(reward.status).toBe("granted");
    expect(standIn.discounts.get(reward.rewardDiscountId!)!.value).toEqual({
      kind: "amount",
      amount: 1000,
      appliesOnEachItem: false,
    });
    // The referrer's reward: $10.00 off, not 15%.
    expect(
      standIn.redeem({
        code: reward.rewardCode!,
        customerId: referrer.id,
        email: referrer.email,
        subtotal: 3000,
      }),
    ).toEqual({ ok: true, discountAmount: 1000 });
    expect((await referrerCode(id, buyers[1].id)).note).toBeUndefined();
    const again = await receiveNote(id, referrer.id);
    expect(again).toBe(`Thank you: a friend ordered. Your reward ($10.00 off): ${reward.rewardCode}`);
    const row = (await messageList(prisma, shopId, now())).find((m) => m.id === id)!;
    expect(row.reward).toBe("Referral: give 15%, get $10.00");
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("keeps an old message's single value for both people", async () => {
    const id = await referral("Old referral", {
      discount: { type: "percentage", value: 20, validDays: 30, minimumSubtotal: 0 },
    });
    // As the migration leaves a message saved before the two were apart: no referrer reward of its own.
    await prisma.message.update({
      where: { id },
      data: { referrerRewardKind: null, referrerRewardValue: null },
    });
    const saved = (await getMessage(prisma, shopId, id))!.input.reward;
    expect(saved).toMatchObject({ referrerReward: { type: "percentage", value: 20 } });
    await refillReferralPools(prisma, api(), shopId, now(), { target: 4, poll: { intervalMs: 5 } });
    const [referrer, friend] = [buyers[2], newcomers[1]];
    const mine = await referrerCode(id, referrer.id);
    expect(mine.terms).toBe("Give 20%, get 20%");
    const reward = await friendOrders(mine.code, friend);
    expect(standIn.discounts.get(reward.rewardDiscountId!)!.value).toEqual({
      kind: "percentage",
      percentage: 0.2,
    });
  });

  it("refuses a bad reward value, naming the field", async () => {
    const bad = referral("Bad", {
      discount: { type: "percentage", value: 15, validDays: 30, minimumSubtotal: 0 },
      referrerReward: { type: "percentage", value: 150 },
    });
    await expect(bad).rejects.toBeInstanceOf(MessageError);
    await expect(bad).rejects.toMatchObject({
      problems: [{ field: "reward.referrerReward.value", message: "must be at most 100%" }],
    });
    // The admin form: each reward named in the merchant's words, and what was typed kept.
    const id = await referral("Form", {
      discount: { type: "percentage", value: 15, validDays: 30, minimumSubtotal: 0 },
      referrerReward: { type: "amount", value: 500 },
    });
    const values = valuesOf((await getMessage(prisma, shopId, id))!.input);
    expect(values).toMatchObject({
      discountType: "percentage",
      discountValue: "15",
      referrerRewardType: "amount",
      referrerRewardValue: "5.00",
    });
    const form = new FormData();
    for (const [key, value] of Object.entries({ ...values, referrerRewardValue: "ten dollars" }))
      if (typeof value === "string") form.set(key, value);
    const refused = await saveMessageForm(prisma, shopId, id, form);
    expect(refused).toMatchObject({
      ok: false,
      problems: [{ input: "referrerRewardValue", label: "Referrer's reward" }],
      values: { referrerRewardValue: "ten dollars" },
    });
    form.set("referrerRewardValue", "12.50");
    expect(readForm(form).referrerRewardValue).toBe("12.50");
    expect(await saveMessageForm(prisma, shopId, id, form)).toEqual({ ok: true, id });
    expect((await getMessage(prisma, shopId, id))!.input.reward).toMatchObject({
      discount: { type: "percentage", value: 15 },
      referrerReward: { type: "amount", value: 1250 },
    });
  });
});

async function receiveNote(messageId: number, customerId: string): Promise<string | undefined> {
  const response = await receiveCodeRequest(
    proxiedRequest(
      new Request(`https://${SHOP}/apps/slice/code`, {
        method: "POST",
        body: JSON.stringify({ visitorId: visitor(customerId), messageId }),
      }),
      { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP },
      { customerId },
    ),
    prisma,
  );
  return ((await response.json()) as { note?: string }).note;
}
