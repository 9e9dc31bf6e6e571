/**
 * The discount code pool against the Admin API stand-in: codes are made ahead in Shopify, each is
 * given to one shopper only (also when many ask at once), a shopper asking again gets the same
 * code, the pool refills at half, an unreachable Admin API leaves the offer without codes rather
 * than with broken ones, and an order that uses a code redeems it. Then the storefront's code
 * endpoint: only for a shopper assigned to the offer's treatment, signed by the app proxy.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "../sync/admin-api.server";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { ensurePresets } from "../segments/store.server";
import { createMessage, getMessage, updateMessage } from "../messages/store.server";
import { receiveCodeRequest } from "../storefront/code.server";
import { perClient, perShop } from "../storefront/rate-limit.server";
import type { DiscountSpec } from "../engine/message";
import {
  codesLeft,
  issueCode,
  offerableWhere,
  redeemCodes,
  refillPools,
  retirePool,
  type Pool,
} from "./pool.server";

const store = generateStore({ seed: 41, customers: 40, shop: "pool-test.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 5000, bulkDelayMs: 5 });
const api = () =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: standIn.origin, sleep: async () => {} });
const poll = { intervalMs: 5 };
const now = () => new Date();
let shopId = 0;
let offerId = 0;

beforeAll(async () => {
  await standIn.start();
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await ensurePresets(prisma, shopId);
  offerId = await createMessage(prisma, shopId, {
    name: "Welcome 10%",
    segment: "first-time-visitors",
    format: "popup",
    trigger: { on: "load" },
    content: { headline: "10% off your first order", body: "", button: null },
    reward: {
      kind: "firstPurchase",
      discount: { type: "percentage", value: 10, validDays: 7, minimumSubtotal: 0 },
    },
    active: true,
  });
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});

const offerable = () => prisma.discountCode.count({ where: offerableWhere(offerId, 7, now()) });
const TEN: DiscountSpec = { type: "percentage", value: 10, validDays: 7, minimumSubtotal: 0 };
const pool = (): Pool => ({ messageId: offerId, variantId: null, discount: TEN });

describe("the code pool", () => {
  it("is filled ahead in Shopify: one first-order discount, its codes added in bulk, all valid documents", async () => {
    const [result] = await refillPools(prisma, api(), shopId, now(), { target: 40, poll });
    expect(result).toEqual({ messageId: offerId, variantId: null, added: 41 });
    expect(await offerable()).toBe(41);
    expect(standIn.invalidDocuments).toEqual([]);
    const codes = await prisma.discountCode.findMany({ where: { messageId: offerId } });
    expect(new Set(codes.map((c) => c.shopifyDiscountId)).size).toBe(1);
    // Shopify knows every pooled code, and a new shopper can use one.
    const check = standIn.redeem({
      code: codes[5].code,
      customerId: null,
      email: "new@example.com",
      subtotal: 5000,
    });
    expect(check).toMatchObject({ ok: true });
    // Not refilled while at least half is left.
    expect(await refillPools(prisma, api(), shopId, now(), { target: 40, poll })).toEqual([]);
  });

  it("gives each code to one shopper only, also when many ask at once, and the same code again to the same shopper", async () => {
    const visitors = Array.from({ length: 20 }, (_, i) => `pool-visitor-${String(i).padStart(6, "0")}`);
    const issued = await Promise.all(
      visitors.map((visitorId) => issueCode(prisma, shopId, pool(), { visitorId, customerId: null }, now())),
    );
    const codes = issued.map((i) => i?.code);
    expect(codes.every(Boolean)).toBe(true);
    expect(new Set(codes).size).toBe(20);
    const again = await issueCode(
      prisma,
      shopId,
      pool(),
      { visitorId: visitors[3], customerId: null },
      now(),
    );
    expect(again?.code).toBe(codes[3]);
    expect(await offerable()).toBe(21);
  });

  it("refills at half, and runs dry rather than offering a broken code when the Admin API is down", async () => {
    for (let i = 0; i < 11; i++)
      await issueCode(
        prisma,
        shopId,
        pool(),
        { visitorId: `drain-visitor-${String(i).padStart(6, "0")}`, customerId: null },
        now(),
      );
    expect(await offerable()).toBe(10);
    const down = new AdminApi({
      shop: SHOP,
      accessToken: "wrong-token",
      origin: standIn.origin,
      sleep: async () => {},
    });
    const [failed] = await refillPools(prisma, down, shopId, now(), { target: 40, poll });
    expect(failed).toMatchObject({ messageId: offerId, added: 0 });
    expect(failed.error).toBeTruthy();
    expect(await offerable()).toBe(10);
    const [refilled] = await refillPools(prisma, api(), shopId, now(), { target: 40, poll });
    expect(refilled).toEqual({ messageId: offerId, variantId: null, added: 31 });
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("gives nothing once the pool is empty", async () => {
    await prisma.discountCode.updateMany({
      where: { messageId: offerId, status: "pool" },
      data: { status: "issued" },
    });
    expect(
      await issueCode(prisma, shopId, pool(), { visitorId: "late-visitor-000001", customerId: null }, now()),
    ).toBeNull();
  });

  it("redeems a code when an order uses it", async () => {
    const mine = await prisma.discountCode.findFirstOrThrow({
      where: { messageId: offerId, visitorId: { not: null } },
    });
    expect(
      await redeemCodes(prisma, shopId, {
        shopifyId: "7001",
        discountCodes: [mine.code.toLowerCase()],
        processedAt: now(),
      }),
    ).toBe(1);
    expect(await prisma.discountCode.findUniqueOrThrow({ where: { id: mine.id } })).toMatchObject({
      status: "redeemed",
      orderShopifyId: "7001",
    });
  });
});

describe("the storefront's code endpoint", () => {
  const ask = (visitorId: string, messageId = offerId, customerId?: string) =>
    receiveCodeRequest(
      proxiedRequest(
        new Request(`https://${SHOP}/apps/slice/code`, {
          method: "POST",
          body: JSON.stringify({ visitorId, messageId }),
        }),
        { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP },
        { customerId },
      ),
      prisma,
    );

  beforeAll(async () => {
    await refillPools(prisma, api(), shopId, now(), { target: 20, poll });
    for (const [unit, arm] of [
      ["v:treated-visitor-0001", "treatment"],
      ["v:heldout-visitor-0001", "holdout"],
    ])
      await prisma.offerExposure.create({
        data: { shopId, messageId: offerId, unit, arm, visitorId: unit.slice(2), at: now() },
      });
  });

  it("gives a shopper assigned to the offer their code, with the link that applies it", async () => {
    const response = await ask("treated-visitor-0001");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { code: string; applyPath: string; expiresAt: string };
    expect(body.code).toMatch(/^WELCOME-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
    expect(body.applyPath).toBe(`/discount/${body.code}`);
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now() + 7 * 86_400_000);
    expect(((await (await ask("treated-visitor-0001")).json()) as { code: string }).code).toBe(body.code);
  });

  it("refuses a held-out shopper, a shopper never shown the offer, and an unknown offer", async () => {
    expect(await (await ask("heldout-visitor-0001")).json()).toEqual({
      error: "messageId: this offer was not shown to you",
    });
    expect((await ask("stranger-visitor-001")).status).toBe(403);
    expect((await ask("treated-visitor-0001", 999_999)).status).toBe(404);
    const unsigned = new Request(`http://127.0.0.1:3999/proxy/code`, {
      method: "POST",
      body: JSON.stringify({ visitorId: "treated-visitor-0001", messageId: offerId }),
    });
    expect((await receiveCodeRequest(unsigned, prisma)).status).toBe(401);
  });
});

describe("a reward A/B test (a variant with its own discount)", () => {
  let testId = 0;
  let plainVariant = 0;
  let richVariant = 0;
  const row = () =>
    prisma.message.findUniqueOrThrow({
      where: { id: testId },
      include: { variants: { select: { id: true, discountValue: true } } },
    });
  const ask = (visitorId: string) =>
    receiveCodeRequest(
      proxiedRequest(
        new Request(`https://${SHOP}/apps/slice/code`, {
          method: "POST",
          body: JSON.stringify({ visitorId, messageId: testId }),
        }),
        { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP },
      ),
      prisma,
    );

  beforeAll(async () => {
    testId = await createMessage(prisma, shopId, {
      name: "Welcome test",
      segment: "first-time-visitors",
      format: "popup",
      trigger: { on: "load" },
      content: { headline: "A welcome gift", body: "", button: null },
      reward: { kind: "firstPurchase", discount: TEN },
      active: true,
    });
    plainVariant = (await prisma.messageVariant.create({ data: { messageId: testId, name: "10%" } })).id;
    richVariant = (
      await prisma.messageVariant.create({ data: { messageId: testId, name: "20%", discountValue: 20 } })
    ).id;
  });

  it("makes a pool for the variant apart from the offer's own, each a Shopify discount with its own value", async () => {
    const results = (await refillPools(prisma, api(), shopId, now(), { target: 10, poll })).filter(
      (r) => r.messageId === testId,
    );
    expect(results).toEqual([
      { messageId: testId, variantId: null, added: 11 },
      { messageId: testId, variantId: richVariant, added: 11 },
    ]);
    const value = async (variantId: number | null) => {
      const code = await prisma.discountCode.findFirstOrThrow({ where: { messageId: testId, variantId } });
      // The Discount Function's configuration, in the discount's metafield $app:slice.first-order.
      const config = standIn.discounts
        .get(code.shopifyDiscountId)!
        .app!.metafields.get("app--1234567890--slice.first-order")!;
      return JSON.parse(config.value) as unknown;
    };
    expect(await value(null)).toMatchObject({ kind: "percentage", value: "10" });
    expect(await value(richVariant)).toMatchObject({ kind: "percentage", value: "20" });
    expect(await codesLeft(prisma, await row(), now())).toBe(11);
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("gives each shopper a code of the variant they were assigned, usable for that variant's discount", async () => {
    for (const [visitor, variantId] of [
      ["rich-variant-visitor-1", richVariant],
      ["plain-variant-visitor-1", plainVariant],
    ] as const)
      await prisma.offerExposure.create({
        data: {
          shopId,
          messageId: testId,
          unit: `v:${visitor}`,
          arm: "treatment",
          variantId,
          visitorId: visitor,
          at: now(),
        },
      });
    const rich = (await (await ask("rich-variant-visitor-1")).json()) as { code: string };
    const plain = (await (await ask("plain-variant-visitor-1")).json()) as { code: string };
    const variantOf = async (code: string) =>
      (await prisma.discountCode.findFirstOrThrow({ where: { shopId, code } })).variantId;
    expect(await variantOf(rich.code)).toBe(richVariant);
    expect(await variantOf(plain.code)).toBeNull();
    const checkout = (code: string) =>
      standIn.redeem({ code, customerId: null, email: `${code.toLowerCase()}@example.com`, subtotal: 5000 });
    expect(checkout(rich.code)).toEqual({ ok: true, discountAmount: 1000 });
    expect(checkout(plain.code)).toEqual({ ok: true, discountAmount: 500 });
  });

  it("is offered only while every variant's pool has codes, and retires a pool's codes when its discount changes", async () => {
    expect(await codesLeft(prisma, await row(), now())).toBe(10);
    // The 20% variant becomes 25%: its codes not given out are retired, the given one still works.
    await prisma.messageVariant.update({ where: { id: richVariant }, data: { discountValue: 25 } });
    expect(await retirePool(prisma, testId, richVariant)).toBe(10);
    expect(await codesLeft(prisma, await row(), now())).toBe(0);
    const [refilled] = (await refillPools(prisma, api(), shopId, now(), { target: 10, poll })).filter(
      (r) => r.messageId === testId,
    );
    expect(refilled).toEqual({ messageId: testId, variantId: richVariant, added: 11 });
    expect(await codesLeft(prisma, await row(), now())).toBe(10);
    expect(
      await prisma.discountCode.count({
        where: { messageId: testId, variantId: richVariant, status: "issued" },
      }),
    ).toBe(1);
  });

  it("retires every pool of the offer when the merchant changes its discount, and not when only its wording changes", async () => {
    const saved = (await getMessage(prisma, shopId, testId))!.input;
    await updateMessage(prisma, shopId, testId, {
      ...saved,
      content: { ...saved.content, headline: "A gift" },
    });
    expect(await prisma.discountCode.count({ where: { messageId: testId, status: "retired" } })).toBe(10);
    await updateMessage(prisma, shopId, testId, {
      ...saved,
      reward: { kind: "firstPurchase", discount: { ...TEN, value: 12 } },
    });
    expect(await prisma.discountCode.count({ where: { messageId: testId, status: "pool" } })).toBe(0);
    expect(await codesLeft(prisma, await row(), now())).toBe(0);
  });
});

describe("one first-purchase code per shopper, across offers", () => {
  let welcome15 = 0;
  let welcome10 = 0;
  const offer = (name: string, value: number) =>
    createMessage(prisma, shopId, {
      name,
      segment: "first-time-visitors",
      format: "popup",
      trigger: { on: "load" },
      content: { headline: `${value}% off your first order`, body: "", button: null },
      reward: { kind: "firstPurchase", discount: { ...TEN, value } },
      holdoutPercent: 0,
      active: true,
    });
  const ask = (visitorId: string, messageId: number, customerId?: string) =>
    receiveCodeRequest(
      proxiedRequest(
        new Request(`https://${SHOP}/apps/slice/code`, {
          method: "POST",
          body: JSON.stringify({ visitorId, messageId }),
        }),
        { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP },
        { customerId },
      ),
      prisma,
    );
  const treat = (unit: string, ...messageIds: number[]) =>
    prisma.offerExposure.createMany({
      data: messageIds.map((messageId) => ({
        shopId,
        messageId,
        unit,
        arm: "treatment",
        visitorId: unit.startsWith("v:") ? unit.slice(2) : "one-code-browser-0001",
        at: now(),
      })),
    });
  const heldBy = (where: { visitorId?: string; customerShopifyId?: string }) =>
    prisma.discountCode.findMany({
      where: { ...where, messageId: { in: [welcome15, welcome10] }, status: "issued" },
      select: { code: true, messageId: true },
    });

  beforeEach(async () => {
    // The code endpoint's per-address and per-shop limits are not what these tests are about.
    await perClient.clear(prisma);
    await perShop.clear(prisma);
  });
  beforeAll(async () => {
    welcome15 = await offer("Welcome 15%", 15);
    welcome10 = await offer("Welcome 10%", 10);
    await refillPools(prisma, api(), shopId, now(), { target: 30, poll });
  });

  it("gives two tabs asking for two first-purchase offers at once one code, and refuses the other naming the offer held", async () => {
    const visitors = Array.from({ length: 8 }, (_, i) => `one-code-visitor-${String(i).padStart(4, "0")}`);
    for (const v of visitors) await treat(`v:${v}`, welcome15, welcome10);
    for (const v of visitors) {
      await perClient.clear(prisma);
      const answers = await Promise.all([ask(v, welcome15), ask(v, welcome10)]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const held = await heldBy({ visitorId: v });
      expect(held).toHaveLength(1);
      const refused = (await answers.find((a) => a.status === 409)!.json()) as {
        error: string;
        heldFrom: number;
      };
      expect(refused.error).toBe("messageId: you already have a first-purchase code from another offer");
      expect(refused.heldFrom).toBe(held[0].messageId);
      // Asking again for the offer they hold gives the same code; for the other, still nothing.
      const again = (await (await ask(v, held[0].messageId)).json()) as { code: string };
      expect(again.code).toBe(held[0].code);
      expect((await ask(v, held[0].messageId === welcome15 ? welcome10 : welcome15)).status).toBe(409);
    }
  });

  it("gives two tabs asking for the same offer at once the same one code", async () => {
    const v = "one-code-same-offer-01";
    await treat(`v:${v}`, welcome15);
    const answers = await Promise.all([ask(v, welcome15), ask(v, welcome15), ask(v, welcome15)]);
    const codes = await Promise.all(answers.map(async (a) => ((await a.json()) as { code: string }).code));
    expect(new Set(codes).size).toBe(1);
    expect(await heldBy({ visitorId: v })).toHaveLength(1);
  });

  it("knows a signed-in customer on another browser: no second code there", async () => {
    await treat("c:7001", welcome15, welcome10);
    expect((await ask("one-code-phone-browser-1", welcome10, "7001")).status).toBe(200);
    const other = await ask("one-code-laptop-browser", welcome15, "7001");
    expect(other.status).toBe(409);
    expect(await heldBy({ customerShopifyId: "7001" })).toHaveLength(1);
  });
});
