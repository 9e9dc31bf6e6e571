/**
 * The web pixel end to end on the demo storefront: the app created its pixel (webPixelCreate at
 * the stand-in) during the install's backfill; the storefront loads its bundle in a Web Worker
 * with those settings and fires Shopify's standard events from its pages, its cart, Buy it now
 * and its checkout; the app stores them and ties the order to the browser (`_shopify_y`). What
 * the app stored is read from the demo's own database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startDemo } from "../../dev/demo";
import { launchBrowser } from "../../dev/browser";
import { createPrismaClient } from "../../app/db.server";
import { closeHot } from "../../app/db-hot.server";
import { offerResults } from "../../app/offers/results.server";
import { waitForCodePools } from "../../dev/testing/pools";

const WELCOME = "Welcome: first purchase";

const SHOTS = path.resolve("test-results");
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;
let db: PrismaClient;

/**
 * A shopper's browser with Shopify's Customer Privacy API answering `analytics` for them. Unless
 * `messages`, a test of recording, not of messages: none covers the page it clicks through.
 */
async function shopper(
  analytics: boolean,
  { messages = false }: { messages?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (!messages)
    await context.addInitScript(() =>
      sessionStorage.setItem("slice_shown", Array.from({ length: 50 }, (_, i) => i + 1).join(",")),
    );
  await context.addInitScript((allowed: boolean) => {
    const w = window as unknown as { Shopify?: Record<string, unknown> };
    w.Shopify = {
      ...w.Shopify,
      customerPrivacy: {
        analyticsProcessingAllowed: () => allowed,
        marketingAllowed: () => allowed,
        shouldShowBanner: () => false,
      },
    };
  }, analytics);
  return { context, page: await context.newPage() };
}

const clientIdOf = async (context: BrowserContext) =>
  (await context.cookies()).find((c) => c.name === "_shopify_y")?.value ?? null;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-pixel-test-"));
  const databaseFile = path.join(dir, "demo.sqlite");
  demo = await startDemo({ port: 0, customers: 40, seed: 9, databaseFile, log: () => {} });
  db = createPrismaClient(`file:${databaseFile}`);
  // The welcome offer treats every unit (no holdout by the hash), so the shopper of the
  // end-to-end test below is in the treatment arm; its code pool is ready in Shopify (the stand-in).
  await db.message.updateMany({ where: { name: WELCOME }, data: { holdoutPercent: 0 } });
  await waitForCodePools(db);
  // The app server caches the shop's messages for 5 s: let any copy read before the change expire.
  await new Promise((resolve) => setTimeout(resolve, 5_500));
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await closeHot();
  await db?.$disconnect();
  await demo?.stop();
});

describe("the web pixel on the demo storefront", () => {
  // First in the file: the offer's results are read over a range that starts with this test.
  it("a first-time visitor shown the welcome offer who uses Buy it now: the order is theirs and counts for the offer's treatment arm", async () => {
    const from = new Date(Date.now() - 1000);
    const { context, page } = await shopper(true, { messages: true });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const shop = await db.shop.findUniqueOrThrow({ where: { domain: demo.store.shop.domain } });
    const welcome = await db.message.findFirstOrThrow({ where: { shopId: shop.id, name: WELCOME } });
    expect(welcome.holdoutPercent).toBe(0);

    // A product page as the first page of the visit: the welcome popup opens after its 5 s.
    const product = demo.store.products[2];
    await page.goto(`${demo.storefrontUrl}/products/${product.handle}`);
    await expect.poll(() => clientIdOf(context)).toMatch(/^[0-9a-f-]{36}$/);
    const clientId = (await clientIdOf(context))!;
    const popup = page.getByRole("dialog", { name: welcome.headline });
    await expect.poll(() => popup.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    // The exposure, recorded by the decision under the browser's client id, in the treatment arm.
    const unit = `v:${clientId}`;
    const exposure = () =>
      db.offerExposure.findUnique({ where: { messageId_unit: { messageId: welcome.id, unit } } });
    await expect
      .poll(async () => (await exposure())?.arm, { timeout: 20_000, interval: 250 })
      .toBe("treatment");
    expect(await exposure()).toMatchObject({ shopId: shop.id, visitorId: clientId, customerShopifyId: null });
    await page.screenshot({
      path: path.join(SHOTS, "pixel-welcome-then-buy-it-now.png"),
      animations: "disabled",
    });

    // They close it (their code unused: the order is attributed through the pixel alone) and
    // use Buy it now: straight to checkout, no cart.
    await page.keyboard.press("Escape");
    await expect.poll(() => popup.count()).toBe(0);
    await page.getByRole("button", { name: "Buy it now" }).click();
    await page.waitForURL("**/checkout?buy=*");
    await page.getByLabel("Email").fill("welcome.buyer@example.com");
    await page.getByRole("button", { name: "Pay now" }).click();
    await expect.poll(() => page.getByRole("heading", { name: "Thank you!" }).count()).toBe(1);

    // checkout_completed ties the order (orders/create from the demo checkout) to this browser.
    const completed = () =>
      db.storefrontEvent.findFirst({ where: { visitorId: clientId, type: "checkout_completed" } });
    await expect
      .poll(async () => (await completed())?.resourceId, { timeout: 20_000, interval: 250 })
      .toMatch(/./);
    const checkoutToken = (await completed())!.resourceId!;
    await expect
      .poll(
        async () => (await db.order.findFirst({ where: { shopId: shop.id, checkoutToken } }))?.visitorId,
        {
          timeout: 20_000,
          interval: 250,
        },
      )
      .toBe(clientId);
    const order = await db.order.findFirstOrThrow({ where: { shopId: shop.id, checkoutToken } });
    expect(order).toMatchObject({ cartToken: null, test: false, cancelledAt: null });
    expect(order.totalPrice).toBeGreaterThan(0);
    const codes = await db.discountCode.findMany({ where: { visitorId: clientId, status: "redeemed" } });
    expect(codes).toEqual([]); // not through a code

    // The offer's results: one treated unit, converted, with the order's revenue; none held out.
    const results = await offerResults(
      db,
      shop.id,
      welcome.id,
      { from, to: new Date(Date.now() + 3600_000) },
      new Date(),
    );
    expect(results?.treatment).toEqual({ units: 1, conversions: 1, rate: 1, revenue: order.totalPrice });
    expect(results?.holdout).toMatchObject({ units: 0, conversions: 0, revenue: 0 });
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a consenting shopper's visit, Buy it now and checkout: events stored, the order tied to the browser", async () => {
    const { context, page } = await shopper(true);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const pixelPosts: number[] = [];
    page.on("response", (r) => {
      if (r.url().endsWith("/pixel")) pixelPosts.push(r.status());
    });

    const product = demo.store.products[0];
    await page.goto(`${demo.storefrontUrl}/products/${product.handle}`);
    await expect.poll(() => clientIdOf(context)).toMatch(/^[0-9a-f-]{36}$/);
    const clientId = (await clientIdOf(context))!;

    // Buy it now: straight to checkout, no cart.
    await page.getByRole("button", { name: "Buy it now" }).click();
    await page.waitForURL("**/checkout?buy=*");
    await page.getByLabel("Email").fill("pixel.shopper@example.com");
    await page.getByRole("button", { name: "Pay now" }).click();
    await expect.poll(() => page.getByRole("heading", { name: "Thank you!" }).count()).toBe(1);

    const types = async () =>
      (await db.storefrontEvent.findMany({ where: { visitorId: clientId }, orderBy: { id: "asc" } })).map(
        (e) => e.type,
      );
    await expect.poll(types, { timeout: 20_000, interval: 250 }).toContain("checkout_completed");
    expect(await types()).toEqual(
      expect.arrayContaining([
        "session_start",
        "page_view",
        "product_view",
        "checkout_started",
        "checkout_contact",
        "checkout_payment",
        "checkout_completed",
      ]),
    );
    const view = await db.storefrontEvent.findFirstOrThrow({
      where: { visitorId: clientId, type: "product_view" },
    });
    expect(view.resourceId).toBe(product.id);

    // The order (orders/create from the demo checkout) carries the checkout token: it is this browser's.
    const completed = await db.storefrontEvent.findFirstOrThrow({
      where: { visitorId: clientId, type: "checkout_completed" },
    });
    await expect
      .poll(
        async () => (await db.order.findFirst({ where: { checkoutToken: completed.resourceId } }))?.visitorId,
        { timeout: 20_000, interval: 250 },
      )
      .toBe(clientId);
    const order = await db.order.findFirstOrThrow({ where: { checkoutToken: completed.resourceId } });
    expect(order.cartToken).toBeNull(); // Buy it now: no cart to attribute it by
    expect(pixelPosts.length).toBeGreaterThan(0);
    expect(pixelPosts.every((s) => s === 200)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("the cart's events: add to cart with the theme's fetch and the cart page", async () => {
    const { context, page } = await shopper(true);
    const product = demo.store.products[1];
    await page.goto(`${demo.storefrontUrl}/products/${product.handle}`);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => page.locator("#cart-status").textContent()).toBe("Added to your cart.");
    await page.goto(`${demo.storefrontUrl}/cart`);
    const clientId = (await clientIdOf(context))!;
    const rows = async () =>
      (await db.storefrontEvent.findMany({ where: { visitorId: clientId }, orderBy: { id: "asc" } })).map(
        (e) => [e.type, e.resourceId],
      );
    await expect.poll(rows, { timeout: 20_000, interval: 250 }).toEqual(
      expect.arrayContaining([
        ["cart_add", product.id],
        ["cart_view", null],
      ]),
    );
    const visitor = await db.visitor.findUniqueOrThrow({ where: { id: clientId } });
    expect(visitor.cartToken).toMatch(/^[0-9a-f]{32}$/);
    await context.close();
  });

  // What storefront.browser.test.ts checked of slice.js's tracking, now what the pixel stores
  // (the theme script no longer tracks: CONTRACTS C3).
  it("records a consenting visitor's session, page, product and collection views and cart, keyed by _shopify_y", async () => {
    const { context, page } = await shopper(true);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(demo.storefrontUrl);
    await expect.poll(() => clientIdOf(context)).toMatch(/^[0-9a-f-]{36}$/);
    const clientId = (await clientIdOf(context))!;

    // A shopper reads each page for a moment: the pixel sends a page's events a second after them,
    // or hands them to the next page (sessionStorage). Playwright clicks on within milliseconds of
    // a page's URL changing, before the page's pixel has even had its page_viewed; no person does,
    // so each step waits until the page's own event is stored.
    const seen = (type: string, resourceId: string) =>
      expect
        .poll(() => db.storefrontEvent.count({ where: { visitorId: clientId, type, resourceId } }), {
          timeout: 15_000,
          interval: 200,
        })
        .toBeGreaterThan(0);
    await seen("page_view", "/");

    // Home → a product → its collection → another product, added to the cart with the theme's fetch.
    const first = demo.store.products[0];
    await page.locator(`a.card[href="/products/${first.handle}"]`).click();
    await page.waitForURL(`**/products/${first.handle}`);
    await seen("product_view", first.id);
    const collection = demo.store.collections.find((c) => first.collectionIds.includes(c.id))!;
    await page.locator(`nav.main a[href="/collections/${collection.handle}"]`).click();
    await page.waitForURL(`**/collections/${collection.handle}`);
    await seen("collection_view", collection.id);
    const chosen = demo.store.products.find(
      (p) => p.collectionIds.includes(collection.id) && p.id !== first.id,
    )!;
    await page.locator(`a.card[href="/products/${chosen.handle}"]`).click();
    await page.waitForURL(`**/products/${chosen.handle}`);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => page.locator("#cart-status").textContent()).toBe("Added to your cart.");
    const cart = (await page.evaluate(() => fetch("/cart.js").then((r) => r.json()))) as { token: string };
    await page.getByRole("link", { name: /^Cart/ }).click();
    await page.waitForURL("**/cart");

    const expected: [string, string | null][] = [
      ["session_start", null],
      ["page_view", "/"],
      ["page_view", `/products/${first.handle}`],
      ["product_view", first.id],
      ["page_view", `/collections/${collection.handle}`],
      ["collection_view", collection.id],
      ["page_view", `/products/${chosen.handle}`],
      ["product_view", chosen.id],
      ["cart_add", chosen.id],
      ["page_view", "/cart"],
      ["cart_view", null],
    ];
    const events = () =>
      db.storefrontEvent.findMany({
        where: { visitorId: clientId },
        orderBy: [{ occurredAt: "asc" }, { id: "asc" }],
        select: { type: true, resourceId: true },
      });
    const missing = async () => {
      const stored = await events();
      return expected.filter(([type, id]) => !stored.some((e) => e.type === type && e.resourceId === id));
    };
    await expect.poll(missing, { timeout: 20_000, interval: 250 }).toEqual([]);
    expect((await events()).filter((e) => e.type === "session_start")).toHaveLength(1);
    const visitor = await db.visitor.findUniqueOrThrow({ where: { id: clientId } });
    expect(visitor).toMatchObject({
      cartToken: cart.token.split("?")[0],
      customerShopifyId: null,
      sessions: 1,
    });
    expect(visitor.pixelKeyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("without analytics consent: no _shopify_y, no pixel, nothing sent", async () => {
    const { context, page } = await shopper(false);
    const pixelPosts: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/pixel")) pixelPosts.push(r.url());
    });
    await page.goto(`${demo.storefrontUrl}/products/${demo.store.products[0].handle}`);
    await page.waitForTimeout(2500);
    expect(await clientIdOf(context)).toBeNull();
    expect(pixelPosts).toEqual([]);
    await context.close();
  });
});
