/**
 * Small segments measured together, as a merchant reads it: the demo (server, replayed webhooks,
 * backfill) in headless Chromium; the welcome offer shown to the demo's customers (members of its
 * small segments) and to visitors, with what they bought before and after. The results page says
 * the offer's lift across its groups in words, and each small segment's lift measured with the
 * others; the segments list flags small segments as measured with others, not as unmeasurable.
 * Screenshots: test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { startDemo } from "../../dev/demo";
import { launchBrowser } from "../../dev/browser";
import { mulberry32 } from "../../dev/webhooks";
import { assign } from "../engine/assign";

const SHOTS = path.resolve("test-results");
const DAY = 24 * 3600_000;
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;
let databaseFile = "";

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-pooled-test-"));
  databaseFile = path.join(dir, "demo.sqlite");
  demo = await startDemo({ port: 0, customers: 60, seed: 11, databaseFile, log: () => {} });
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/**
 * The welcome offer, a month of it: every demo customer in a segment and 1,500 visitors, assigned
 * with the real assign() at a 25% holdout; half the shoppers bought in the 90 days before (and buy again more often).
 */
async function seed() {
  const { createPrismaClient } = await import("../db.server");
  const db = createPrismaClient(`file:${databaseFile}`);
  try {
    const shop = await db.shop.findUniqueOrThrow({ where: { domain: demo.store.shop.domain } });
    const message = await db.message.findFirstOrThrow({
      where: { shopId: shop.id, name: "Welcome: first purchase" },
      include: { variants: true },
    });
    // A quarter held out, so that the demo's small segments have held-out shoppers of their own.
    await db.message.update({ where: { id: message.id }, data: { holdoutPercent: 25 } });
    const experiment = {
      id: message.id,
      holdout: 0.25,
      variants: message.variants.length
        ? message.variants.map((v) => ({ id: v.id, weight: v.weight }))
        : [{ id: 0, weight: 1 }],
    };
    const members = await db.segmentMember.findMany({
      where: { segment: { shopId: shop.id } },
      select: { customerShopifyId: true },
      distinct: ["customerShopifyId"],
    });
    const random = mulberry32(515);
    const now = Date.now();
    const exposures = [];
    const visitors = [];
    const orders = [];
    const shoppers = [
      ...members.map((m) => ({ unit: `c:${m.customerShopifyId}`, customer: m.customerShopifyId })),
      ...Array.from({ length: 1500 }, (_, i) => ({
        unit: `v:pooled-visitor-${String(i).padStart(6, "0")}`,
        customer: null,
      })),
    ];
    let seq = 0;
    for (const s of shoppers) {
      // A customer may already have an exposure of this offer from the demo's own replay.
      const arm = assign(s.unit, experiment);
      const visitorId = s.customer ? `pooled-cust-visitor-${s.customer}` : s.unit.slice(2);
      const at = new Date(now - (2 + random() * 25) * DAY);
      exposures.push({
        shopId: shop.id,
        messageId: message.id,
        unit: s.unit,
        arm: arm.arm,
        variantId: arm.arm === "treatment" && arm.variantId ? arm.variantId : null,
        visitorId,
        customerShopifyId: s.customer,
        at,
      });
      if (!s.customer) {
        visitors.push({ id: visitorId, shopId: shop.id, firstSeenAt: at, lastSeenAt: at });
      }
      const owner = s.customer ? { customerShopifyId: s.customer } : { visitorId };
      const order = (processedAt: Date, totalPrice: number) => ({
        shopId: shop.id,
        shopifyId: `gid://shopify/Order/8${String(++seq).padStart(8, "0")}`,
        currency: shop.currency,
        totalPrice,
        processedAt,
        shopifyCreatedAt: processedAt,
        shopifyUpdatedAt: processedAt,
        ...owner,
      });
      const loyal = random() < 0.5;
      if (loyal)
        orders.push(
          order(new Date(at.getTime() - (1 + random() * 80) * DAY), 2000 + Math.floor(random() * 6000)),
        );
      if (random() < (loyal ? 0.16 : 0.04) + (arm.arm === "treatment" ? 0.08 : 0)) {
        orders.push(order(new Date(Math.min(at.getTime() + random() * 5 * DAY, now - 60_000)), 4000));
      }
    }
    await db.offerExposure.deleteMany({ where: { messageId: message.id } });
    await db.visitor.createMany({ data: visitors });
    await db.offerExposure.createMany({ data: exposures });
    await db.order.createMany({ data: orders });
    return { messageId: message.id, customers: members.length };
  } finally {
    await db.$disconnect();
  }
}

describe("small segments measured together", () => {
  it("says the offer's lift across its groups and each segment's, and flags small segments as measured with others", async () => {
    const seeded = await seed();
    expect(seeded.customers).toBeGreaterThan(0);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route(/cdn\.shopify\.com/, (route) => route.abort());
    await page.goto(demo.loginUrl);
    await page.goto(`${demo.url}/app/messages/${seeded.messageId}/results?days=30`);

    const headline = page.locator("#pooled-conversion");
    await expect.poll(() => headline.count()).toBe(1);
    await expect(headline.textContent()).resolves.toMatch(
      /^Across its \d+ groups of shoppers, this offer (raised|lowered|changed) conversion by .*95% interval [+−-]?\d+\.\d to [+−-]?\d+\.\d points/,
    );
    await expect(page.locator("#pooled-revenue").textContent()).resolves.toMatch(
      /^Revenue per shopper: [+-]?\$\d+\.\d\d against the held-out shoppers \(95% interval/,
    );
    await expect(page.locator("#pooled-how").textContent()).resolves.toMatch(
      /Visitors not signed in, 1,5\d\d.*in the 90 days before first seeing the offer/,
    );
    const rows = await page.locator("#pooled-segments tbody tr").allTextContents();
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows) expect(row).toMatch(/[+−-]?\d+\.\d \([+−-]?\d+\.\d to [+−-]?\d+\.\d\)\d+%$/);
    await page
      .locator("#pooled-estimate")
      .screenshot({ path: path.join(SHOTS, "admin-pooled-estimate.png") });
    await page.screenshot({ path: path.join(SHOTS, "admin-offer-results-pooled.png"), fullPage: true });

    // The segments list: the demo's small presets are measured with others, not "too small".
    await page.goto(`${demo.url}/app/segments`);
    await expect.poll(() => page.getByText("Measured with others").count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, "admin-segments-small.png"), fullPage: true });
    // A small segment's page says the same, in a banner.
    await page.goto(`${demo.url}/app/segments/lapsed-customers`);
    await expect(page.locator("#small-segment").textContent()).resolves.toMatch(
      /^\d+ members is under 200: .* measured together with the other groups an offer reaches/,
    );
    await page.screenshot({ path: path.join(SHOTS, "admin-segment-small.png"), fullPage: true });
    await page.close();
  });
});
