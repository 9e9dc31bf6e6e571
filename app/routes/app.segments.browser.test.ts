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
});
