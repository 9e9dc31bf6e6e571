/**
 * Visitor segments in the admin, as a merchant uses them: the demo server, guests' checkout events
 * as the Web Pixel stores them, and the builder in headless Chromium. A segment on "checkout left
 * at step: payment" previews and saves with its visitors counted, guests included, and the list
 * shows customers and visitors side by side. Screenshots go to test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { startDemo } from "../../dev/demo";
import { launchBrowser } from "../../dev/browser";
import { createPrismaClient } from "../db.server";
import { recompute } from "../segments/store.server";

const SHOTS = path.resolve("test-results");
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;
let databaseFile = "";

async function openAdmin(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.route(/cdn\.shopify\.com/, (route) => route.abort());
  await page.goto(demo.loginUrl);
  return page;
}

/** Guests' browsers with the checkout steps the pixel stored an hour ago: two left at payment. */
async function seedGuests() {
  const db = createPrismaClient(`file:${databaseFile}`);
  try {
    const shop = await db.shop.findUniqueOrThrow({ where: { domain: demo.store.shop.domain } });
    const at = new Date(Date.now() - 3_600_000);
    for (const [id, steps] of [
      ["guest-paid-not", ["checkout_started", "checkout_contact", "checkout_payment"]],
      ["guest-paid-not-2", ["checkout_started", "checkout_payment"]],
      ["guest-shipping", ["checkout_started", "checkout_shipping"]],
      ["guest-bought", ["checkout_started", "checkout_payment", "checkout_completed"]],
    ] as const) {
      await db.visitor.create({
        data: { id, shopId: shop.id, firstSeenAt: at, lastSeenAt: at, sessions: 1 },
      });
      await db.storefrontEvent.createMany({
        data: steps.map((type) => ({
          shopId: shop.id,
          visitorId: id,
          type,
          resourceId: `token-${id}`,
          occurredAt: at,
        })),
      });
    }
  } finally {
    await db.$disconnect();
  }
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-segments-test-"));
  databaseFile = path.join(dir, "demo.sqlite");
  demo = await startDemo({ port: 0, customers: 40, seed: 5, databaseFile, log: () => {} });
  browser = await launchBrowser();
  await seedGuests();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The number a text starts with ("1,204 visitors seen…" → 1204). */
const number = (text: string | null) => Number(/^[\d,]+/.exec(text ?? "")?.[0].replace(/,/g, "") ?? NaN);

describe("visitor segments in the admin", () => {
  it("build a segment on the checkout step guests left at, with its visitors counted", async () => {
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/segments/new`);
    await page.waitForSelector('[data-builder-ready="yes"]', { state: "attached" });
    await page.getByLabel("Name").fill("Left at payment");
    const row = page.locator('[data-row="condition"]').first();
    await row.getByLabel("Field").fill("Checkout left at step");
    await page.getByRole("option", { name: "Checkout left at step", exact: true }).click();
    await row.getByLabel("Operator").selectOption("eq");
    await row.getByLabel("Value").selectOption("payment");
    await expect
      .poll(async () => number(await page.locator("#preview-visitors").textContent()), { timeout: 20_000 })
      .toBe(2);
    await expect(page.locator("#preview-visitors").textContent()).resolves.toContain("guests included");
    await page.screenshot({ path: path.join(SHOTS, "segment-builder-visitors.png"), fullPage: true });

    await page.getByRole("button", { name: "Save segment" }).click();
    await page.waitForURL(/\/app\/segments\/left-at-payment$/);
    await expect(page.locator("#segment-visitors").textContent()).resolves.toContain(
      "2 visitors seen in the last 30 days",
    );
    await page.screenshot({ path: path.join(SHOTS, "segment-visitors.png"), fullPage: true });

    await page.goto(`${demo.url}/app/segments`);
    await expect(page.locator('[data-visitors="left-at-payment"]').textContent()).resolves.toBe("2");
    await expect(page.locator('[data-customers="left-at-payment"]').textContent()).resolves.toBe("0");
    // A segment about customers only counts no visitors.
    await expect(page.locator('[data-visitors="high-spend-repeat"]').textContent()).resolves.toBe("—");
    await page.screenshot({ path: path.join(SHOTS, "segments-list-visitors.png"), fullPage: true });
    await page.close();
  });

  it("offers views of one product with an optional product, refused on a wrong count", async () => {
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/segments/new`);
    await page.waitForSelector('[data-builder-ready="yes"]', { state: "attached" });
    const row = page.locator('[data-row="condition"]').first();
    await row.getByLabel("Field").fill("Views of one product");
    await page.getByRole("option", { name: "Views of one product", exact: true }).click();
    await expect(row.getByPlaceholder("of any one product (or search one)").count()).resolves.toBe(1);
    await row.getByLabel("Value").fill("2.5");
    await page.getByLabel("Name").focus(); // problems show once the merchant leaves the row
    await expect.poll(() => page.getByText("enter a whole number").count()).toBe(1);
    await row.getByLabel("Value").fill("3");
    await expect.poll(() => page.locator("#preview-visitors").count(), { timeout: 20_000 }).toBe(1);
    await page.close();
  });

  it("searches and sorts the list, pages through members and explains a customer found by email", async () => {
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/segments`);
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('[data-segment="high-spend-repeat"]').count();
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe(1);
    // A segment of every customer (40): more than one page of members.
    const db = createPrismaClient(`file:${databaseFile}`);
    try {
      const shop = await db.shop.findUniqueOrThrow({ where: { domain: demo.store.shop.domain } });
      await db.segment.create({
        data: {
          shopId: shop.id,
          handle: "everyone",
          name: "Everyone",
          description: "Every customer",
          rule: JSON.stringify({ version: 1, match: { field: "customer.ordersCount", op: "gte", value: 0 } }),
        },
      });
      await recompute(db, shop.id, new Date(), ["everyone"]);
    } finally {
      await db.$disconnect();
    }
    await page.reload();
    const rows = page.locator("[data-segment]");
    const search = page.getByLabel("Search segments");
    await search.fill("every");
    await expect.poll(() => rows.count()).toBe(1);
    await search.fill("no such segment");
    await expect.poll(() => page.getByText('No segments match "no such segment"').count()).toBe(1);
    await page.getByRole("button", { name: "Clear search" }).click();
    await page.getByLabel("Sort by").selectOption("size-desc");
    await expect.poll(() => rows.first().getAttribute("data-segment")).toBe("everyone");
    await expect(page.locator('[data-customers="everyone"]').textContent()).resolves.toBe(
      String(demo.store.customers.length),
    );
    await page.screenshot({ path: path.join(SHOTS, "segments-list-sorted.png"), fullPage: true });

    // The rule reads money with its currency.
    await page.goto(`${demo.url}/app/segments/high-spend-repeat`);
    await expect(page.locator("#rule-lines").textContent()).resolves.toMatch(
      /Total spent is at least \$[\d,]+\.\d\d/,
    );
    await page.locator("#rule-lines").screenshot({ path: path.join(SHOTS, "segment-rule-money.png") });

    await page.goto(`${demo.url}/app/segments/everyone`);
    const total = demo.store.customers.length;
    await expect(page.locator("#members-range").textContent()).resolves.toBe(
      `1–25 of ${total}, who joined most recently first`,
    );
    await expect(page.locator("[data-member]").count()).resolves.toBe(25);
    const link = page.locator("[data-member] a").first();
    const handle = demo.store.shop.domain.replace(".myshopify.com", "");
    await expect(link.getAttribute("href")).resolves.toMatch(
      new RegExp(`^https://admin\\.shopify\\.com/store/${handle}/customers/\\d+$`),
    );
    await expect(link.getAttribute("target")).resolves.toBe("_top");
    await page.screenshot({ path: path.join(SHOTS, "segment-members.png"), fullPage: true });
    await page.getByRole("button", { name: "Next" }).click();
    await expect
      .poll(() => page.locator("#members-range").textContent())
      .toBe(`26–${total} of ${total}, who joined most recently first`);
    await expect(page.locator("[data-member]").count()).resolves.toBe(total - 25);

    // Explain, by a member's email typed in another case.
    const someone = demo.store.customers.find((c) => c.email)!;
    await page.getByLabel("Email, name or customer id").fill(someone.email!.toUpperCase());
    await page.getByRole("button", { name: "Explain" }).click();
    await expect.poll(() => page.locator("#why-verdict").textContent()).toContain("is in this segment");
    await expect(page.locator("#why-verdict a").getAttribute("href")).resolves.toContain(
      `/customers/${someone.id}`,
    );
    await page.screenshot({ path: path.join(SHOTS, "segment-explain.png"), fullPage: true });
    // A name several customers share lists them to pick from.
    const names = demo.store.customers.map((c) => `${c.firstName} ${c.lastName}`);
    // (ASCII: SQLite's LOWER folds only ASCII letters.)
    const shared = names.find((n, i) => names.indexOf(n) !== i && /^[a-z ]+$/i.test(n))!;
    await page.getByLabel("Email, name or customer id").fill(shared.toLowerCase());
    await page.getByRole("button", { name: "Explain" }).click();
    await expect
      .poll(() => page.locator("#why-several").textContent())
      .toBe(
        `${names.filter((n) => n === shared).length} customers have the name ${shared.toLowerCase()}: pick one.`,
      );
    await page.screenshot({ path: path.join(SHOTS, "segment-explain-several.png"), fullPage: true });
    await page.locator("#why-matches").getByRole("link", { name: shared }).first().click();
    await expect.poll(() => page.locator("#why-verdict").textContent()).toContain(`${shared} (`);
    await page.getByLabel("Email, name or customer id").fill("nobody@example.com");
    await page.getByRole("button", { name: "Explain" }).click();
    await expect
      .poll(() => page.locator("#why-missing").textContent())
      .toBe("No customer with the email nobody@example.com in this shop.");
    await page.close();
  });

  it("shows a segment on predicted value with the fit, its holdout chart and every figure as an expectation", async () => {
    const db = createPrismaClient(`file:${databaseFile}`);
    try {
      const shop = await db.shop.findUniqueOrThrow({ where: { domain: demo.store.shop.domain } });
      const fittedAt = new Date(Date.now() - 86_400_000);
      const fit = await db.predictionFit.create({
        data: {
          shopId: shop.id,
          fittedAt,
          cutoff: new Date(fittedAt.getTime() - 90 * 86_400_000),
          status: "ready",
          bgnbd: JSON.stringify({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }),
          gammaGamma: JSON.stringify({ p: 6.25, q: 3.74, gamma: 15.44 }),
          logLikelihood: -9582.4,
          customers: 2357,
          repeatCustomers: 1133,
          calibration: JSON.stringify({
            cutoff: new Date(fittedAt.getTime() - 90 * 86_400_000).toISOString(),
            holdoutDays: 90,
            customers: 2357,
            predicted: 1359,
            actual: 1306,
            error: 53 / 1306,
            byFrequency: [
              ["0", 1411, 0.23, 0.24],
              ["1", 439, 0.63, 0.58],
              ["2", 214, 1.05, 1.01],
              ["3", 100, 1.46, 1.38],
              ["4", 62, 1.84, 1.93],
              ["5", 38, 2.2, 2.1],
              ["6+", 93, 3.1, 3.2],
            ].map(([x, customers, predicted, actual]) => ({ x, customers, predicted, actual })),
          }),
        },
      });
      const customers = await db.customer.findMany({ where: { shopId: shop.id }, orderBy: { id: "asc" } });
      await db.customerPrediction.createMany({
        data: customers.map((c, i) => ({
          customerId: c.id,
          shopId: shop.id,
          fitId: fit.id,
          probabilityActive: 0.3 + (i % 7) / 10,
          probabilityActive30dAgo: i % 2 ? null : 0.45 + (i % 7) / 10,
          orders7: 0.05,
          orders30: 0.2,
          orders60: 0.4,
          orders90: 0.6,
          orders180: 1.1,
          orders365: 2,
          spendPerOrder: 4000 + 100 * i,
          value12m: 8000 + 200 * i,
          valueTier: i >= customers.length - 4 ? "top10" : i >= customers.length - 10 ? "top25" : "rest",
          nextOrderAt: null,
          computedAt: fittedAt,
        })),
      });
      await db.segment.create({
        data: {
          shopId: shop.id,
          handle: "predicted-top-25",
          name: "Predicted top 25%",
          description: "Top 25% by predicted 12-month value",
          rule: JSON.stringify({
            version: 1,
            match: { field: "predicted.valueTier", op: "in", value: ["top10", "top25"] },
          }),
        },
      });
      await recompute(db, shop.id, new Date(), ["predicted-top-25"]);
    } finally {
      await db.$disconnect();
    }
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/segments/predicted-top-25`);
    await expect(page.locator("#members-range").textContent()).resolves.toMatch(/^1–10 of 10,/);
    await expect(page.locator("#prediction-fit").textContent()).resolves.toMatch(
      /Fitted .* on 2,357 customers who ordered \(1,133 of them more than once\) · log-likelihood -9,582\.4/,
    );
    await expect(page.locator("#prediction-holdout").textContent()).resolves.toContain(
      "the model expected 1,359 repeat orders from 2,357 customers in the 90 days after; there were 1,306 (4.1% more expected than happened)",
    );
    await expect(page.locator("#calibration-chart").getAttribute("aria-label")).resolves.toContain(
      "6+: expected 3.10, actual 3.20",
    );
    await expect(page.locator("#members-prediction-note").textContent()).resolves.toContain(
      "an expectation, not a promise: model fitted",
    );
    await page.screenshot({ path: path.join(SHOTS, "segment-predicted.png"), fullPage: true });
    // Explaining a member shows the predicted value with what it is.
    await page.locator("[data-member] a").first().textContent();
    const member = await page.locator("[data-member]").first().getAttribute("data-member");
    await page.goto(`${demo.url}/app/segments/predicted-top-25?customer=${member}`);
    await expect.poll(() => page.locator("#why-verdict").textContent()).toContain("is in this segment");
    await expect(page.getByText(/^(Top 10%|Top 10–25%) \(expected\)$/).count()).resolves.toBe(1);
    await expect(page.locator("#why-prediction-note").textContent()).resolves.toMatch(
      /^Predicted values: an expectation, not a promise: model fitted .*; on the shop's last 90 days it expected 4\.1% more repeat orders than there were\.$/,
    );
    await page.screenshot({ path: path.join(SHOTS, "segment-predicted-explain.png"), fullPage: true });
    // The template looks ahead one of the stored horizons, with a decimal value.
    await page.goto(`${demo.url}/app/segments/new?template=likely-to-buy-30d`);
    await page.waitForSelector('[data-builder-ready="yes"]', { state: "attached" });
    await expect(page.getByLabel("Look ahead").inputValue()).resolves.toBe("30");
    await expect(
      page.locator('[data-field="predicted.orders"]').getByLabel("Value", { exact: true }).inputValue(),
    ).resolves.toBe("0.5");
    await page.screenshot({ path: path.join(SHOTS, "segment-predicted-builder.png"), fullPage: true });
    // "Valuable and slipping away" reads a fall in points over 30 days, not a low level.
    await page.goto(`${demo.url}/app/segments/new?template=valuable-slipping-away`);
    await page.waitForSelector('[data-builder-ready="yes"]', { state: "attached" });
    const fall = page.locator('[data-field="predicted.probabilityActiveChange30d"]');
    await expect(fall.getByLabel("Value", { exact: true }).inputValue()).resolves.toBe("-10");
    await expect(fall.textContent()).resolves.toContain("points");
    await page.screenshot({ path: path.join(SHOTS, "segment-predicted-slipping.png"), fullPage: true });
    await page.close();
  });
});
