/**
 * Shoppers who have not consented to analytics (Shopify's Customer Privacy API, as the script reads
 * it), on the server: whatever the request carries (a visitor id, the proxy's signed
 * logged_in_customer_id, a cart token), `/decide` and `/events` store no identifier, target no
 * behaviour, record no exposure, and count what was shown, clicked, dismissed and answered in
 * aggregate only. With consent, the same requests behave as before.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { ensurePresets } from "../segments/store.server";
import { createMessage, ensureStarterMessages, listMessages } from "../messages/store.server";
import { decideForUrl, flushExposures } from "./decide.server";
import { receiveEvents } from "./events.server";

const SHOP = "consent.myshopify.com";
const now = new Date("2031-06-01T12:00:00.000Z");
const proxy = { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP };
let shopId = 0;
let everyoneId = 0;
const ids: Record<string, number> = {};
let visitorId = "";
let counter = 0;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await prisma.customer.create({
    data: { shopId, shopifyId: "7100", shopifyUpdatedAt: now, shopifyCreatedAt: now, ordersCount: 0 },
  });
  await ensurePresets(prisma, shopId);
  await ensureStarterMessages(prisma, shopId, true);
  await prisma.message.updateMany({ where: { shopId }, data: { holdoutPercent: 0, reward: "none" } });
  for (const m of await listMessages(prisma, shopId)) ids[m.input.segment] = m.id;
  // A segment of everyone (a rule that reads nothing about the shopper) and a plain message on it.
  await prisma.segment.create({
    data: {
      shopId,
      handle: "everyone",
      name: "Everyone",
      rule: JSON.stringify({ version: 1, match: { all: [] } }),
    },
  });
  everyoneId = await createMessage(prisma, shopId, {
    name: "Shipping note",
    segment: "everyone",
    format: "bar",
    trigger: { on: "load" },
    // Below every starter: with consent, the targeted message wins.
    priority: -10,
    pages: { types: [], pathContains: [] },
    content: { headline: "Free shipping over $50", body: "", button: null },
    active: true,
  });
});
afterAll(() => prisma.$disconnect());
beforeEach(() => {
  visitorId = `consent-visitor-${String(++counter).padStart(4, "0")}`;
});

async function decide(query: Record<string, string>, customerId: string | null = null) {
  const request = proxiedRequest(`/apps/slice/decide?${new URLSearchParams(query)}`, proxy, {
    customerId,
    timestamp: Math.floor(now.getTime() / 1000),
  });
  return decideForUrl(new URL(request.url), prisma, now);
}

function sendEvents(body: unknown, customerId: string | null = null) {
  const request = proxiedRequest(
    new Request(`https://${SHOP}/apps/slice/events`, { method: "POST", body: JSON.stringify(body) }),
    proxy,
    { customerId, timestamp: Math.floor(now.getTime() / 1000) },
  );
  return receiveEvents(request, prisma, now);
}

const at = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();

async function nothingStoredFor(visitor: string) {
  await flushExposures();
  expect(await prisma.visitor.count({ where: { id: visitor } })).toBe(0);
  expect(await prisma.storefrontEvent.count({ where: { visitorId: visitor } })).toBe(0);
  expect(await prisma.offerExposure.count({ where: { visitorId: visitor } })).toBe(0);
}

describe("/decide without analytics consent", () => {
  it("gives a first-time visitor the untargeted message, not the behaviour-targeted welcome, and records nothing", async () => {
    const withConsent = await decide({ visitor: visitorId, page: "index", path: "/", consent: "1" });
    expect(withConsent.body).toMatchObject({ message: { id: ids["first-time-visitors"] } });

    const other = `${visitorId}-x`;
    const without = await decide({ visitor: other, page: "index", path: "/", consent: "0" });
    expect(without).toEqual({
      status: 200,
      body: { message: expect.objectContaining({ id: everyoneId, headline: "Free shipping over $50" }) },
    });
    await nothingStoredFor(other);
  });

  it("takes a request with no consent parameter as no consent", async () => {
    const answer = await decide({ visitor: visitorId, page: "index", path: "/" });
    expect(answer.body).toMatchObject({ message: { id: everyoneId } });
    await nothingStoredFor(visitorId);
  });

  it("ignores the signed logged_in_customer_id: no exposure, no customer targeting", async () => {
    const before = await prisma.offerExposure.count({ where: { shopId } });
    const answer = await decide({ page: "index", path: "/", consent: "0" }, "7100");
    expect(answer.body).toMatchObject({ message: { id: everyoneId } });
    await flushExposures();
    expect(await prisma.offerExposure.count({ where: { shopId } })).toBe(before);
    expect(await prisma.offerExposure.count({ where: { customerShopifyId: "7100" } })).toBe(0);
  });

  it("keeps to the browser session's cap and to page targeting", async () => {
    const shown = await decide({ page: "index", path: "/", shown: String(everyoneId), consent: "0" });
    expect(shown.body).toEqual({ message: null });
  });

  it("refuses a consent value that is neither 0 nor 1, naming it", async () => {
    expect(await decide({ visitor: visitorId, consent: "yes" })).toEqual({
      status: 400,
      body: { error: 'consent: must be "0" or "1"' },
    });
  });

  it("never offers a message with a reward (codes and sign-ups need to know who is asking)", async () => {
    await prisma.message.update({ where: { id: everyoneId }, data: { reward: "emailCapture" } });
    const { forgetShopMessages } = await import("./decide.server");
    forgetShopMessages(SHOP);
    try {
      expect((await decide({ page: "index", path: "/", consent: "0" })).body).toEqual({ message: null });
    } finally {
      await prisma.message.update({ where: { id: everyoneId }, data: { reward: "none" } });
      forgetShopMessages(SHOP);
    }
  });
});

describe("/events without analytics consent", () => {
  const batch = (events: { type: string; at: string; resourceId?: string }[]) => ({
    visitorId,
    consent: { analytics: false },
    context: { landingPage: "/?utm_source=x", referrer: "https://example.com/", deviceType: "mobile" },
    cartToken: "c1-consent?key=1",
    events,
  });

  it("stores no visitor and no event, even for a signed-in customer, and counts shown, clicked, dismissed and answers per day", async () => {
    const response = await sendEvents(
      batch([
        { type: "session_start", at: at(5) },
        { type: "page_view", at: at(5), resourceId: "/" },
        { type: "message_shown", at: at(4), resourceId: String(everyoneId) },
        { type: "message_clicked", at: at(3), resourceId: String(everyoneId) },
        { type: "message_shown", at: at(2), resourceId: String(everyoneId) },
        { type: "message_dismissed", at: at(2), resourceId: String(everyoneId) },
        { type: "answer", at: at(1), resourceId: "intent=Looking for a gift" },
        { type: "answer", at: at(1), resourceId: "email=someone@example.com" },
      ]),
      "7100",
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 0, counted: 5 });
    await nothingStoredFor(visitorId);
    expect(await prisma.visitor.count({ where: { customerShopifyId: "7100" } })).toBe(0);
    // The address the shopper typed to sign up is their request: kept, with no id beside it.
    expect(
      await prisma.emailSignup.findMany({
        where: { shopId },
        select: { email: true, visitorId: true, customerShopifyId: true, status: true },
      }),
    ).toEqual([
      { email: "someone@example.com", visitorId: null, customerShopifyId: null, status: "pending" },
    ]);
    const counts = await prisma.anonymousCount.findMany({
      where: { shopId },
      orderBy: [{ type: "asc" }, { resourceId: "asc" }],
      select: { day: true, type: true, resourceId: true, count: true },
    });
    expect(counts).toEqual([
      { day: "2031-06-01", type: "answer", resourceId: "intent=Looking for a gift", count: 1 },
      { day: "2031-06-01", type: "message_clicked", resourceId: String(everyoneId), count: 1 },
      { day: "2031-06-01", type: "message_dismissed", resourceId: String(everyoneId), count: 1 },
      { day: "2031-06-01", type: "message_shown", resourceId: String(everyoneId), count: 2 },
    ]);

    // Another shopper's batch adds to the same day's counts.
    visitorId = "consent-visitor-other-0001";
    await sendEvents(batch([{ type: "message_shown", at: at(1), resourceId: String(everyoneId) }]));
    const shown = await prisma.anonymousCount.findFirstOrThrow({
      where: { shopId, type: "message_shown", resourceId: String(everyoneId) },
    });
    expect(shown.count).toBe(3);
    await nothingStoredFor(visitorId);
  });

  it("needs no visitor id without consent, and refuses a consenting batch without one", async () => {
    const { visitorId: _, ...anonymous } = batch([{ type: "answer", at: at(1), resourceId: "intent=x" }]);
    expect((await sendEvents(anonymous)).status).toBe(200);
    const refused = await sendEvents({ ...anonymous, consent: { analytics: true } });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "visitorId: is required with analytics consent" });
  });

  it("stores a consenting visitor as before", async () => {
    const response = await sendEvents({
      ...batch([{ type: "page_view", at: at(1), resourceId: "/" }]),
      consent: { analytics: true },
    });
    expect(await response.json()).toEqual({ ok: true, stored: 1 });
    expect(await prisma.visitor.findUnique({ where: { id: visitorId } })).toMatchObject({
      cartToken: "c1-consent",
      deviceType: "mobile",
    });
  });
});
