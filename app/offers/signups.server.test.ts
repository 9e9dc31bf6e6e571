/**
 * Email sign-ups into Shopify, against the Admin API stand-in: an email left in an email-capture
 * offer (sent as the answer `email=…` through the storefront endpoint) is kept once per shop and
 * email, attributed to the offer, and sent to Shopify by the background sync: a new shopper
 * becomes a customer subscribed to email marketing, an existing customer has their consent set;
 * while the Admin API is down the sign-up waits and is tried again later; an email Shopify
 * refuses, or one out of attempts, is kept as failed with Shopify's reason for the merchant.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "../sync/admin-api.server";
import { AdminApiStandIn, validateAdminDocument } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { createMessage } from "../messages/store.server";
import { ensurePresets } from "../segments/store.server";
import { receiveEvents } from "../storefront/events.server";
import {
  emailOfAnswer,
  nextSignupAttempt,
  SIGNUP_MAX_ATTEMPTS,
  signupDocuments,
  signupSummary,
  syncEmailSignups,
} from "./signups.server";

const store = generateStore({ seed: 61, customers: 60, shop: "signup-test.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 5000 });
const api = () =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: standIn.origin, sleep: async () => {} });
// A revoked token: every call fails (as when Shopify is down for the app).
const down = () =>
  new AdminApi({ shop: SHOP, accessToken: "revoked", origin: standIn.origin, sleep: async () => {} });
const proxy = { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP };
const MINUTE = 60_000;

let shopId = 0;
let offerId = 0;
let visitors = 0;

/** A shopper leaves their email in the offer's form: the storefront script's answer, signed by the proxy. */
async function signUp(
  email: string,
  at: Date,
  visitorId = `signup-visitor-${String(++visitors).padStart(4, "0")}`,
) {
  const storefront = new Request(`https://${SHOP}/apps/slice/events`, {
    method: "POST",
    body: JSON.stringify({
      visitorId,
      consent: { analytics: true },
      events: [{ type: "answer", at: at.toISOString(), resourceId: `email=${email}` }],
    }),
    headers: { "content-type": "text/plain;charset=UTF-8" },
  });
  const request = proxiedRequest(storefront, proxy, { timestamp: Math.floor(at.getTime() / 1000) });
  const response = await receiveEvents(request, prisma, at);
  expect(response.status).toBe(200);
  return visitorId;
}

const row = (email: string) =>
  prisma.emailSignup.findUniqueOrThrow({ where: { shopId_email: { shopId, email } } });
const inShopify = (email: string) => store.customers.filter((c) => c.email.toLowerCase() === email);

beforeAll(async () => {
  await standIn.start();
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await ensurePresets(prisma, shopId);
  offerId = await createMessage(prisma, shopId, {
    name: "Join the list",
    segment: "first-time-visitors",
    format: "popup",
    trigger: { on: "load" },
    content: { headline: "10% off your next order when you sign up", body: "", button: null },
    reward: { kind: "emailCapture" },
    active: true,
  });
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});

describe("email sign-ups into Shopify", () => {
  it("makes a new shopper a Shopify customer subscribed to email marketing (single opt-in, when they signed up)", async () => {
    const at = new Date();
    const visitorId = await signUp("  New.Shopper@Example.com ", at);
    expect(await row("new.shopper@example.com")).toMatchObject({
      status: "pending",
      messageId: offerId,
      visitorId,
      attempts: 0,
    });
    expect(await syncEmailSignups(prisma, api(), shopId, at)).toEqual({ synced: 1, retrying: 0, failed: 0 });
    const [customer] = inShopify("new.shopper@example.com");
    expect(customer).toBeDefined();
    expect(standIn.emailConsents.get(customer.id)).toEqual({
      marketingState: "SUBSCRIBED",
      marketingOptInLevel: "SINGLE_OPT_IN",
      consentUpdatedAt: at.toISOString().replace(/\.\d{3}Z$/, "Z"),
    });
    expect(await row("new.shopper@example.com")).toMatchObject({
      status: "synced",
      customerShopifyId: customer.id,
      lastError: null,
      attempts: 1,
    });
  });

  it("sets an existing customer's email marketing consent instead of making another customer", async () => {
    const existing = store.customers.find((c) => !c.acceptsMarketing)!;
    const customers = store.customers.length;
    const at = new Date();
    await signUp(existing.email.toUpperCase(), at);
    expect((await syncEmailSignups(prisma, api(), shopId, at)).synced).toBe(1);
    expect(store.customers.length).toBe(customers);
    expect(existing.acceptsMarketing).toBe(true);
    expect(standIn.emailConsents.get(existing.id)?.marketingState).toBe("SUBSCRIBED");
    expect(await row(existing.email)).toMatchObject({ status: "synced", customerShopifyId: existing.id });
  });

  it("keeps one sign-up and makes one customer for the same email sent twice, or by two shoppers", async () => {
    const at = new Date();
    await signUp("twice@example.com", at);
    await signUp("Twice@example.com", at);
    await Promise.all([signUp("twice@example.com", at), signUp("twice@example.com", at)]);
    expect(await prisma.emailSignup.count({ where: { shopId, email: "twice@example.com" } })).toBe(1);
    await syncEmailSignups(prisma, api(), shopId, at);
    await syncEmailSignups(prisma, api(), shopId, new Date(at.getTime() + MINUTE));
    expect(inShopify("twice@example.com")).toHaveLength(1);
  });

  it("waits while the Admin API is down, tries again later with backoff, and then succeeds", async () => {
    const at = new Date();
    await signUp("patient@example.com", at);
    expect(await syncEmailSignups(prisma, down(), shopId, at)).toEqual({ synced: 0, retrying: 1, failed: 0 });
    const waiting = await row("patient@example.com");
    expect(waiting).toMatchObject({ status: "pending", attempts: 1 });
    expect(waiting.lastError).toMatch(/Admin API/);
    expect(waiting.nextAttemptAt).toEqual(nextSignupAttempt(1, at));
    // Not tried again before it is due, even with the API back.
    expect((await syncEmailSignups(prisma, api(), shopId, at)).synced).toBe(0);
    await syncEmailSignups(prisma, down(), shopId, waiting.nextAttemptAt);
    const again = await row("patient@example.com");
    expect(again.attempts).toBe(2);
    expect(again.nextAttemptAt.getTime() - waiting.nextAttemptAt.getTime()).toBeGreaterThan(
      waiting.nextAttemptAt.getTime() - at.getTime(),
    );
    expect(inShopify("patient@example.com")).toHaveLength(0);
    expect((await syncEmailSignups(prisma, api(), shopId, again.nextAttemptAt)).synced).toBe(1);
    expect(await row("patient@example.com")).toMatchObject({
      status: "synced",
      lastError: null,
      attempts: 3,
    });
    expect(inShopify("patient@example.com")).toHaveLength(1);
  });

  it(`gives up after ${SIGNUP_MAX_ATTEMPTS} attempts and keeps the error`, async () => {
    let at = new Date();
    await signUp("unlucky@example.com", at);
    for (let i = 0; i < SIGNUP_MAX_ATTEMPTS; i++) {
      await syncEmailSignups(prisma, down(), shopId, at);
      at = new Date(at.getTime() + 7 * 3600_000);
    }
    const failed = await row("unlucky@example.com");
    expect(failed).toMatchObject({ status: "failed", attempts: SIGNUP_MAX_ATTEMPTS });
    expect(failed.lastError).toMatch(/Admin API/);
    // Failed is final: the API coming back does not send it.
    expect((await syncEmailSignups(prisma, api(), shopId, at)).synced).toBe(0);
  });

  it("fails at once, with Shopify's reason, an email Shopify refuses", async () => {
    const at = new Date();
    // Kept by an older version of the app, say; Shopify (and the stand-in) refuse it.
    await prisma.emailSignup.create({
      data: { shopId, messageId: offerId, email: "odd@exa_mple.c", createdAt: at, nextAttemptAt: at },
    });
    expect(await syncEmailSignups(prisma, api(), shopId, at)).toEqual({ synced: 0, retrying: 0, failed: 1 });
    expect(await row("odd@exa_mple.c")).toMatchObject({
      status: "failed",
      attempts: 1,
      lastError: "Shopify refused it: email: Email is invalid",
    });
  });

  it("shows the merchant the offer's sign-ups by status and the latest error", async () => {
    const summary = await signupSummary(prisma, shopId, offerId);
    expect(summary).toMatchObject({ pending: 0, failed: 2 });
    expect(summary.synced).toBeGreaterThanOrEqual(4);
    expect(summary.total).toBe(summary.pending + summary.synced + summary.failed);
    expect(summary.lastError?.status).toBe("failed");
    expect(summary.lastError?.error).toMatch(/Admin API|Email is invalid/);
  });

  it("takes only an answer that is an email, and sent only documents valid against Shopify's schema", () => {
    expect(emailOfAnswer("email= A@B.co ")).toBe("a@b.co");
    expect(emailOfAnswer("email=not an email")).toBeNull();
    expect(emailOfAnswer("email=@example.com")).toBeNull();
    expect(emailOfAnswer("style=relaxed")).toBeNull();
    expect(standIn.invalidDocuments).toEqual([]);
    for (const document of signupDocuments()) expect(validateAdminDocument(document)).toEqual([]);
  });
});
