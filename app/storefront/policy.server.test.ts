/**
 * One calm message per visit, through the decision and code endpoints as the storefront calls them
 * (signed by the local app proxy): at most one popup a browser session (a corner or bar after it
 * only when the shop allows it), nothing after a dismissal for the shop's cool-down (this session's
 * `dismissed=` without consent too; stored dismissals on any of the customer's browsers with it),
 * one first-purchase code per shopper, and a reminder of the code a shopper holds instead of
 * another offer.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { proxiedRequest, signAppProxyQuery } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { ensurePresets } from "../segments/store.server";
import { createMessage, setMessageActive } from "../messages/store.server";
import { decideForUrl, explainDecision, forgetShopMessages } from "./decide.server";
import { receiveCodeRequest } from "./code.server";
import { storeBatch } from "./events.server";
import { perClient, perShop } from "./rate-limit.server";
import type { ShownMessage } from "../engine/message";

const SHOP = "policy.myshopify.com";
const now = new Date("2031-06-01T12:00:00.000Z");
const hours = (h: number) => new Date(now.getTime() + h * 3_600_000);
let shopId = 0;
let counter = 0;
let visitorId = "";
let welcome15 = 0;
let welcome10 = 0;
let corner = 0;
let everyoneBar = 0;

const welcome = (name: string, value: number, priority: number) =>
  createMessage(prisma, shopId, {
    name,
    segment: "first-time-visitors",
    format: "popup",
    trigger: { on: "load" },
    priority,
    content: { headline: `${value}% off your first order`, body: "", button: null },
    reward: {
      kind: "firstPurchase",
      discount: { type: "percentage", value, validDays: 7, minimumSubtotal: 0 },
    },
    holdoutPercent: 0,
    active: true,
  });

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await ensurePresets(prisma, shopId);
  welcome15 = await welcome("Welcome 15%", 15, 5);
  welcome10 = await welcome("Welcome 10%", 10, 3);
  corner = await createMessage(prisma, shopId, {
    name: "New here note",
    segment: "first-time-visitors",
    format: "corner",
    trigger: { on: "load" },
    priority: 1,
    content: { headline: "New here? Our bestsellers", body: "", button: null },
    holdoutPercent: 0,
    active: true,
  });
  // A message for everyone (its rule reads nothing about the shopper): shown without consent too.
  await prisma.segment.create({
    data: {
      shopId,
      handle: "everyone",
      name: "Everyone",
      rule: JSON.stringify({ version: 1, match: { all: [] } }),
    },
  });
  everyoneBar = await createMessage(prisma, shopId, {
    name: "Shipping bar",
    segment: "everyone",
    format: "bar",
    trigger: { on: "load" },
    priority: -10,
    content: { headline: "Free shipping over $50", body: "", button: null },
    holdoutPercent: 0,
    active: true,
  });
  // Pools of codes for both welcomes (valid 7 days: a pooled code is given with more than that left).
  for (const [messageId, prefix] of [
    [welcome15, "FIFTEEN"],
    [welcome10, "TEN"],
  ] as const)
    await prisma.discountCode.createMany({
      data: Array.from({ length: 40 }, (_, i) => ({
        shopId,
        messageId,
        code: `${prefix}-${String(i).padStart(4, "0")}`,
        shopifyDiscountId: `gid://shopify/DiscountCodeNode/${messageId}`,
        status: "pool",
        expiresAt: new Date(now.getTime() + 30 * 86_400_000),
      })),
    });
});
afterAll(() => prisma.$disconnect());
beforeEach(async () => {
  visitorId = `policy-visitor-${String(++counter).padStart(4, "0")}`;
  await perClient.clear(prisma);
  await perShop.clear(prisma);
  await setPolicy(1, false);
});

async function setPolicy(cooldownDays: number, afterPopup: boolean) {
  await prisma.shop.update({
    where: { id: shopId },
    data: { messageCooldownDays: cooldownDays, messageAfterPopup: afterPopup },
  });
  forgetShopMessages();
}

interface Ask {
  shown?: number[];
  dismissed?: number[];
  at?: Date;
  consent?: "0" | "1";
  customerId?: string;
  raw?: Record<string, string>;
}

async function decideRaw({ shown = [], dismissed, at = now, consent = "1", customerId, raw = {} }: Ask) {
  const query = new URLSearchParams({
    ...(consent === "1" ? { visitor: visitorId } : {}),
    consent,
    page: "index",
    path: "/",
    shown: shown.join(","),
    ...raw,
  });
  if (dismissed) query.set("dismissed", dismissed.join(","));
  query.set("shop", SHOP);
  query.set("logged_in_customer_id", customerId ?? "");
  query.set("path_prefix", "/apps/slice");
  query.set("timestamp", String(Math.floor(at.getTime() / 1000)));
  query.set("signature", signAppProxyQuery(query, TEST_SECRET));
  return decideForUrl(new URL(`http://127.0.0.1:3999/proxy/decide?${query}`), prisma, at);
}

async function ask(options: Ask = {}): Promise<ShownMessage | null> {
  const answer = await decideRaw(options);
  expect(answer.status).toBe(200);
  return (answer.body as { message: ShownMessage | null }).message;
}

/** The script asking for the shopper's code as a discount offer opens. */
async function code(messageId: number, at = now, customerId?: string) {
  const response = await receiveCodeRequest(
    proxiedRequest(
      new Request(`https://${SHOP}/apps/slice/code`, {
        method: "POST",
        body: JSON.stringify({ visitorId, messageId }),
      }),
      { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP },
      { customerId, timestamp: Math.floor(at.getTime() / 1000) },
    ),
    prisma,
    at,
  );
  return { status: response.status, body: (await response.json()) as { code?: string; error?: string } };
}

async function events(
  list: { type: string; at: Date; resourceId?: string }[],
  customerId: string | null = null,
) {
  await storeBatch(
    prisma,
    shopId,
    { shop: SHOP, customerId, pathPrefix: "/apps/slice", timestamp: 0 },
    {
      visitorId,
      consent: { analytics: true },
      context: {},
      events: list.map((e) => ({
        type: e.type as "page_view",
        at: e.at.toISOString(),
        resourceId: e.resourceId,
      })),
    },
    list.at(-1)?.at ?? now,
  );
}

const codesOf = (where: { visitorId?: string; customerShopifyId?: string }) =>
  prisma.discountCode.findMany({
    where: { shopId, ...where, status: { in: ["issued", "redeemed"] } },
    select: { code: true, messageId: true },
  });

describe("one calm message per visit", () => {
  it("a first-time visitor who closes the 15% welcome sees no other popup in that session, and never a second code", async () => {
    expect((await ask())?.id).toBe(welcome15);
    const given = await code(welcome15);
    expect(given.status).toBe(200);
    await events([{ type: "message_shown", at: now, resourceId: String(welcome15) }]);
    // The next page of the session: the script says what it showed and what was dismissed.
    expect(await ask({ shown: [welcome15], dismissed: [welcome15] })).toBeNull();
    await events([{ type: "message_dismissed", at: hours(0.01), resourceId: String(welcome15) }]);
    expect(await ask({ shown: [welcome15], dismissed: [welcome15], at: hours(0.1) })).toBeNull();
    // A new session within the shop's 1-day cool-down: still nothing.
    expect(await ask({ at: hours(20) })).toBeNull();
    // After it: no reminder of the dismissed welcome, no 10% welcome; the plain corner note.
    expect((await ask({ at: hours(25) }))?.id).toBe(corner);
    // And asking /code for the 10% offer anyway gets nothing.
    await prisma.offerExposure.create({
      data: { shopId, messageId: welcome10, unit: `v:${visitorId}`, arm: "treatment", visitorId, at: now },
    });
    expect((await code(welcome10, hours(25))).status).toBe(409);
    expect(await codesOf({ visitorId })).toEqual([{ code: given.body.code, messageId: welcome15 }]);
  });

  it("after a popup, no second popup, and a corner or bar only when the shop allows it", async () => {
    expect(await ask({ shown: [welcome15] })).toBeNull();
    await setPolicy(1, true);
    expect((await ask({ shown: [welcome15] }))?.id).toBe(corner);
    // A popup shown earlier this session and paused since still counts.
    await setMessageActive(prisma, shopId, welcome15, false);
    forgetShopMessages();
    expect((await ask({ shown: [welcome15] }))?.id).toBe(corner);
    await setMessageActive(prisma, shopId, welcome15, true);
    forgetShopMessages();
    // A corner first: the popup may still follow (one popup a session, not one message).
    expect((await ask({ shown: [corner] }))?.id).toBe(welcome15);
  });

  it("keeps the shop's cool-down after a dismissal stored on another of the customer's browsers; 0 days is the rest of the session", async () => {
    await prisma.customer.create({
      data: { shopId, shopifyId: "8100", shopifyUpdatedAt: now, shopifyCreatedAt: now, ordersCount: 0 },
    });
    await events([{ type: "message_dismissed", at: hours(-2), resourceId: String(everyoneBar) }], "8100");
    visitorId = `policy-visitor-${String(++counter).padStart(4, "0")}`; // the customer's other browser
    expect(await ask({ customerId: "8100" })).toBeNull();
    await setPolicy(0, false);
    expect((await ask({ customerId: "8100" }))?.id).toBe(welcome15);
    // Dismissed in this session: nothing more in it, whatever the cool-down.
    expect(await ask({ customerId: "8100", dismissed: [corner] })).toBeNull();
    await setPolicy(1, false);
    expect((await ask({ customerId: "8100", at: hours(22.1) }))?.id).toBe(welcome15);
  });

  it("without consent: the session's popup and dismissal rules hold from shown= and dismissed=", async () => {
    expect((await ask({ consent: "0" }))?.id).toBe(everyoneBar);
    expect(await ask({ consent: "0", shown: [welcome15] })).toBeNull();
    expect(await ask({ consent: "0", dismissed: [everyoneBar], shown: [everyoneBar] })).toBeNull();
    await setPolicy(0, true);
    expect((await ask({ consent: "0", shown: [welcome15] }))?.id).toBe(everyoneBar);
  });

  it("reminds a shopper who holds an unused code of it, with the same code, instead of another offer", async () => {
    expect((await ask())?.id).toBe(welcome15);
    const given = (await code(welcome15)).body.code!;
    // Next session: the 15% welcome again, as a reminder of their code.
    const reminder = await ask({ at: hours(30) });
    expect(reminder).toMatchObject({
      id: welcome15,
      reminder: true,
      headline: "15% off your first order",
      code: { code: given, applyPath: `/discount/${given}` },
    });
    // The code endpoint gives the same code again.
    expect((await code(welcome15, hours(30))).body.code).toBe(given);
    // Redeemed: no reminder, and still no second first-purchase offer.
    await prisma.discountCode.updateMany({ where: { code: given }, data: { status: "redeemed" } });
    expect((await ask({ at: hours(31) }))?.id).toBe(corner);
  });

  it("reminds of the lower offer's code when the higher offer would have been shown", async () => {
    await prisma.offerExposure.create({
      data: { shopId, messageId: welcome10, unit: `v:${visitorId}`, arm: "treatment", visitorId, at: now },
    });
    const given = (await code(welcome10)).body.code!;
    const reminder = await ask();
    expect(reminder).toMatchObject({ id: welcome10, reminder: true, code: { code: given } });
    // Expired: no reminder and no other first-purchase code.
    await prisma.discountCode.updateMany({ where: { code: given }, data: { expiresAt: hours(-1) } });
    expect((await ask())?.id).toBe(corner);
  });

  it("explains the new reasons: the session's popup, the cool-down, a code already held", async () => {
    const explain = (who: { shown?: number[]; dismissed?: number[] }) =>
      explainDecision(prisma, SHOP, { visitorId, page: { type: "index", path: "/" }, now, ...who });
    const popup = await explain({ shown: [welcome15] });
    expect(popup?.chosen).toBeNull();
    expect(popup?.skipped).toContainEqual(
      expect.objectContaining({ id: welcome10, why: "popup this session" }),
    );
    expect(popup?.skipped).toContainEqual(expect.objectContaining({ id: corner, why: "after a popup" }));
    const cooling = await explain({ dismissed: [everyoneBar] });
    expect(cooling?.skipped).toContainEqual(expect.objectContaining({ id: welcome15, why: "cool-down" }));
    await prisma.offerExposure.create({
      data: { shopId, messageId: welcome15, unit: `v:${visitorId}`, arm: "treatment", visitorId, at: now },
    });
    await code(welcome15);
    const held = await explain({});
    expect(held?.chosen).toMatchObject({ id: welcome15, reminder: true });
    expect(held?.skipped).toContainEqual(
      expect.objectContaining({ id: welcome10, why: "code already held" }),
    );
  });

  it("refuses a malformed dismissed= naming it", async () => {
    const answer = await decideRaw({ raw: { dismissed: "1,x" } });
    expect(answer).toEqual({
      status: 400,
      body: { error: "dismissed: must be up to 50 message ids separated by commas" },
    });
  });
});
