/**
 * An offer's results page, as a merchant reads it: the real demo (server process, replayed
 * webhooks, backfill) in headless Chromium, with a month of exposures, orders, impressions and
 * codes written for the welcome offer (assigned with the real assign(), treated visitors
 * converting at 12% and held-out ones at 4%). The page shows the figures the database holds, the
 * lift with its interval in words, and draws its charts. Screenshot: test-results/.
 */
import type { Message } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { startDemo } from "../../dev/demo";
import { launchBrowser } from "../../dev/browser";
import { mulberry32 } from "../../dev/webhooks";
import { assign } from "../engine/assign";
import { compareArms } from "../engine/lift";
import { liftInWords } from "../offers/results.server";

const SHOTS = path.resolve("test-results");
const DAY = 24 * 3600_000;
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;
let databaseFile = "";

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-results-test-"));
  databaseFile = path.join(dir, "demo.sqlite");
  demo = await startDemo({ port: 0, customers: 60, seed: 7, databaseFile, log: () => {} });
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** A month of the welcome offer, written straight into the demo's database; what was written. */
async function seedWelcomeOffer() {
  const { createPrismaClient } = await import("../db.server");
  const db = createPrismaClient(`file:${databaseFile}`);
  try {
    const shop = await db.shop.findUniqueOrThrow({ where: { domain: demo.store.shop.domain } });
    const message = await db.message.findFirstOrThrow({
      where: { shopId: shop.id, name: "Welcome: first purchase" },
      include: { variants: true },
    });
    const experiment = {
      id: message.id,
      holdout: message.holdoutPercent / 100,
      variants: message.variants.length
        ? message.variants.map((v) => ({ id: v.id, weight: v.weight }))
        : [{ id: 0, weight: 1 }],
    };
    const random = mulberry32(2026);
    const now = Date.now();
    const units = { treatment: 0, holdout: 0 };
    const conversions = { treatment: 0, holdout: 0 };
    const revenue = { treatment: 0, holdout: 0 };
    let impressions = 0;
    let clicks = 0;
    const exposures = [];
    const visitors = [];
    const events = [];
    const orders = [];
    const codes = [];
    for (let i = 0; i < 2400; i++) {
      const visitorId = `results-visitor-${String(i).padStart(6, "0")}`;
      const unit = `v:${visitorId}`;
      const arm = assign(unit, experiment);
      const at = new Date(now - (1 + random() * 26) * DAY);
      units[arm.arm] += 1;
      exposures.push({
        shopId: shop.id,
        messageId: message.id,
        unit,
        arm: arm.arm,
        variantId: arm.arm === "treatment" && arm.variantId ? arm.variantId : null,
        visitorId,
        at,
      });
      visitors.push({
        id: visitorId,
        shopId: shop.id,
        firstSeenAt: at,
        lastSeenAt: at,
        cartToken: `results-cart-${i}`,
      });
      if (arm.arm === "treatment") {
        impressions += 1;
        events.push({
          shopId: shop.id,
          visitorId,
          type: "message_shown",
          resourceId: String(message.id),
          occurredAt: at,
        });
        if (random() < 0.2) {
          clicks += 1;
          events.push({
            shopId: shop.id,
            visitorId,
            type: "message_clicked",
            resourceId: String(message.id),
            occurredAt: new Date(at.getTime() + 5000),
          });
        }
      }
      if (random() < (arm.arm === "treatment" ? 0.12 : 0.04)) {
        const processedAt = new Date(Math.min(at.getTime() + random() * 5 * DAY, now - 60_000));
        const totalPrice = 3000 + Math.floor(random() * 5000);
        const shopifyId = `gid://shopify/Order/9${String(i).padStart(8, "0")}`;
        // Half the treated buyers use the offer's code (found by the code, not the cart).
        const withCode = arm.arm === "treatment" && random() < 0.5;
        conversions[arm.arm] += 1;
        revenue[arm.arm] += totalPrice;
        orders.push({
          shopId: shop.id,
          shopifyId,
          currency: shop.currency,
          totalPrice,
          totalDiscounts: withCode ? Math.round(totalPrice / 9) : 0,
          cartToken: withCode ? null : `results-cart-${i}`,
          discountCodes: withCode ? `|welcome-${i}|` : "",
          processedAt,
          shopifyCreatedAt: processedAt,
          shopifyUpdatedAt: processedAt,
        });
        if (withCode)
          codes.push({
            shopId: shop.id,
            messageId: message.id,
            code: `WELCOME-${i}`,
            shopifyDiscountId: "gid://shopify/DiscountCodeNode/results",
            status: "redeemed",
            expiresAt: new Date(at.getTime() + 7 * DAY),
            visitorId,
            issuedAt: at,
            orderShopifyId: shopifyId,
            redeemedAt: processedAt,
          });
      }
    }
    await db.visitor.createMany({ data: visitors });
    await db.offerExposure.createMany({ data: exposures });
    await db.storefrontEvent.createMany({ data: events });
    await db.order.createMany({ data: orders });
    await db.discountCode.createMany({ data: codes });
    return { messageId: message.id, units, conversions, revenue, impressions, clicks, codes: codes.length };
  } finally {
    await db.$disconnect();
  }
}

const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;
/** A count as the admin writes it for an en-US reader: 2,181. */
const n = (x: number) => x.toLocaleString("en-US");

describe("an offer's results in the admin", () => {
  it("shows impressions, conversion by group, the lift with its interval, codes and revenue, and draws the charts", async () => {
    const seeded = await seedWelcomeOffer();
    const lift = compareArms({
      treatment: { units: seeded.units.treatment, conversions: seeded.conversions.treatment },
      holdout: { units: seeded.units.holdout, conversions: seeded.conversions.holdout },
    });
    expect(lift.status === "ok" && lift.significant).toBe(true);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Offline: App Bridge's CDN script is not reachable, and the dev shell does not need it.
    await page.route(/cdn\.shopify\.com/, (route) => route.abort());
    await page.goto(demo.loginUrl);
    await page.goto(`${demo.url}/app/messages/${seeded.messageId}/results?days=30`);

    await expect
      .poll(() => page.getByRole("heading", { name: "Welcome: first purchase: results" }).count())
      .toBe(1);
    await expect(page.locator("#impressions").textContent()).resolves.toBe(
      seeded.impressions.toLocaleString("en-US"),
    );
    await expect(page.locator("#impressions-detail").textContent()).resolves.toContain(
      `click rate ${percent(seeded.clicks, seeded.impressions)}`,
    );
    await expect(page.locator("#conversion").textContent()).resolves.toBe(
      `${percent(seeded.conversions.treatment, seeded.units.treatment)} vs ${percent(seeded.conversions.holdout, seeded.units.holdout)}`,
    );
    await expect(page.locator("#lift").textContent()).resolves.toBe(liftInWords(lift));
    await expect(page.locator("#lift").textContent()).resolves.toMatch(
      /^\+\d+\.\d pp \(95% CI \+\d+\.\d to \+\d+\.\d pp\)$/,
    );
    await expect(page.getByText("Significant", { exact: true }).count()).resolves.toBe(1);
    await expect(page.locator("#codes").textContent()).resolves.toBe(
      `${seeded.codes} issued, ${seeded.codes} redeemed`,
    );
    const dollars = (minor: number) =>
      new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(minor / 100);
    await expect(page.locator("#revenue").textContent()).resolves.toBe(dollars(seeded.revenue.treatment));

    // The charts are drawn in the browser: a line chart and a bar chart, as SVG.
    await expect
      .poll(() => page.locator("#results-charts svg").count(), { timeout: 30_000 })
      .toBeGreaterThan(2);
    await page.screenshot({ path: path.join(SHOTS, "admin-offer-results.png"), fullPage: true });

    // Every figure says what it counts, where it is shown: treated and held out, and why more
    // shoppers are treated than impressions were made.
    await expect(page.locator("#units").textContent()).resolves.toBe(
      `${seeded.units.treatment.toLocaleString("en-US")} treated, ${seeded.units.holdout.toLocaleString("en-US")} held out`,
    );
    await page.locator('[data-help="treated and impressions"]').hover();
    const tip = page.getByRole("tooltip");
    await expect.poll(() => tip.textContent()).toContain("before it appears");
    await expect(tip.textContent()).resolves.toContain("they left before the delay ran out");
    await page.screenshot({ path: path.join(SHOTS, "admin-offer-results-why-treated.png") });
    await page.mouse.move(0, 0);
    await page.locator('[data-help="Lift in conversion"]').hover();
    await expect.poll(() => page.getByRole("tooltip").textContent()).toContain("95% confidence interval");
    await expect(page.locator("#lift-meaning").textContent()).resolves.toBe(
      "The whole 95% range is above zero: the offer very likely raised conversion.",
    );
    await page.screenshot({ path: path.join(SHOTS, "admin-offer-results-lift-help.png") });
    await page.mouse.move(0, 0);

    // Another range is a link away: 7 days keeps fewer visitors.
    await page.getByLabel("Date range").selectOption("7");
    await page.waitForURL(/days=7$/);
    await expect
      .poll(async () => Number(((await page.locator("#impressions").textContent()) ?? "").replace(/\D/g, "")))
      .toBeLessThan(seeded.impressions);

    // The Messages list sums up every offer with visitors: the same lift, codes and revenue.
    await page.goto(`${demo.url}/app/messages`);
    const row = page.locator("[data-offers-overview] tr", {
      has: page.locator(`[data-overview="${seeded.messageId}"]`),
    });
    await expect.poll(() => row.count()).toBe(1);
    const cells = await row.locator("td").allTextContents();
    expect(cells).toEqual([
      "Welcome: first purchase",
      `${n(seeded.conversions.treatment)} of ${n(seeded.units.treatment)} (${percent(seeded.conversions.treatment, seeded.units.treatment)})`,
      `${n(seeded.conversions.holdout)} of ${n(seeded.units.holdout)} (${percent(seeded.conversions.holdout, seeded.units.holdout)})`,
      liftInWords(lift),
      `${seeded.codes} / ${seeded.codes}`,
      dollars(seeded.revenue.treatment),
    ]);
    await page.screenshot({ path: path.join(SHOTS, "admin-messages-overview.png"), fullPage: true });
    await page.close();
  });

  it("says what is missing before an offer without visitors has a lift", async () => {
    const { createPrismaClient } = await import("../db.server");
    const db = createPrismaClient(`file:${databaseFile}`);
    const message = await db.message.findFirstOrThrow({ where: { name: "Cart reminder on exit" } });
    await db.$disconnect();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route(/cdn\.shopify\.com/, (route) => route.abort());
    await page.goto(demo.loginUrl);
    await page.goto(`${demo.url}/app/messages/${message.id}/results`);
    await expect(page.locator("#lift").textContent()).resolves.toBe(
      "Not enough data yet: at least 100 visitors in each group (treatment has 0, holdout has 0)",
    );
    await expect(page.locator("#conversion").textContent()).resolves.toBe("– vs –");
    // Empty states say what will appear and when, instead of zeros and empty charts.
    await expect(page.locator("#results-empty").textContent()).resolves.toContain(
      "Nobody has been shown or held out of this offer in the last 30 days",
    );
    await expect(page.locator("#charts-empty").textContent()).resolves.toContain("appear here once shoppers");
    await expect(page.locator("#by-segment-empty").textContent()).resolves.toContain("Each segment");
    await expect(page.locator("#results-charts svg").count()).resolves.toBe(0);
    await page.locator('[data-help="Lift in conversion"]').hover();
    await expect.poll(() => page.getByRole("tooltip").textContent()).toContain("at least 100 shoppers");
    await page.screenshot({ path: path.join(SHOTS, "admin-offer-results-empty.png"), fullPage: true });
    await page.close();
  });

  it("lists a referral offer's rewards, and an email offer's sign-ups", async () => {
    const { createPrismaClient } = await import("../db.server");
    const db = createPrismaClient(`file:${databaseFile}`);
    const referral = await db.message.findFirstOrThrow({ where: { reward: "referral" } });
    await db.referralReward.create({
      data: {
        shopId: referral.shopId,
        messageId: referral.id,
        referrerCustomerId: "7001",
        referralCode: "REFER-TEST-0001",
        orderShopifyId: "9100001",
        orderTotal: 4200,
        status: "refused",
        reason: "self-referral: the friend has the referrer's email",
      },
    });
    const email = await db.message.create({
      data: { ...fields(referral), name: "Join our list", reward: "emailCapture", active: false },
    });
    await db.emailSignup.createMany({
      data: [
        { shopId: referral.shopId, messageId: email.id, email: "a@example.com", status: "synced" },
        {
          shopId: referral.shopId,
          messageId: email.id,
          email: "b@example",
          status: "failed",
          attempts: 1,
          lastError: "Email is invalid",
        },
      ],
    });
    await db.$disconnect();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route(/cdn\.shopify\.com/, (route) => route.abort());
    await page.goto(demo.loginUrl);
    await page.goto(`${demo.url}/app/messages/${referral.id}/results`);
    await expect(page.locator("#referral-counts").textContent()).resolves.toBe(
      "0 granted to 0 referrers, 0 waiting for payment, 0 withdrawn, 1 refused",
    );
    await expect(page.locator("#referral-rewards").textContent()).resolves.toContain(
      "self-referral: the friend has the referrer's email",
    );
    await page.screenshot({ path: path.join(SHOTS, "admin-referral-results.png"), fullPage: true });
    await page.goto(`${demo.url}/app/messages/${email.id}/results`);
    await expect(page.locator("#signups").textContent()).resolves.toBe("2 signed up");
    await expect(page.locator("#signups-detail").textContent()).resolves.toBe(
      "1 in Shopify with email consent, 0 waiting, 1 failed. Last problem (b@example): Email is invalid",
    );
    await page.close();
  });

  it("says there is no such offer, for a message id the shop does not have", async () => {
    const page = await browser.newPage();
    await page.route(/cdn\.shopify\.com/, (route) => route.abort());
    await page.goto(demo.loginUrl);
    const response = await page.goto(`${demo.url}/app/messages/999999/results`);
    expect(response?.status()).toBe(404);
    await page.close();
  });
});

/** A message row's columns, to copy it as another message. */
function fields(m: Message): Omit<Message, "id" | "createdAt" | "updatedAt"> {
  const { id: _id, createdAt: _c, updatedAt: _u, ...rest } = m;
  return rest;
}
