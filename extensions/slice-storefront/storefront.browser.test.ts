/**
 * The storefront path end to end, as a shopper meets it: the demo's real app server, the demo
 * storefront (dev/storefront.ts) rendering the real extension blocks, slice.js and (when there is a
 * message) slice-draw.js, behind the local app proxy that signs /apps/slice/* as Shopify does,
 * opened in headless Chromium. What the app stored is read from the demo's own database.
 * Screenshots go to test-results/. What shoppers do (visits, views, cart) reaches the app through
 * the Web Pixel, not slice.js: where a message depends on it, the test stores it as the pixel would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startDemo } from "../../dev/demo";
import { launchBrowser } from "../../dev/browser";
import { waitForCodePools } from "../../dev/testing/pools";
import { createPrismaClient } from "../../app/db.server";
import { PIXEL_EVENT_TYPES } from "../../app/engine/pixel-events";

const SHOTS = path.resolve("test-results");
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;
let db: PrismaClient;

/**
 * Tests of consent and forms, not of messages: every message counts as already shown in each tab's
 * session, so none covers the page they click through.
 */
const noMessages = (context: BrowserContext) =>
  context.addInitScript(() =>
    sessionStorage.setItem("slice_shown", Array.from({ length: 50 }, (_, i) => i + 1).join(",")),
  );

/** Sums the page's layout shifts (CLS without input), from the page's start, in `window.sliceShifts`. */
const watchLayoutShifts = (context: BrowserContext) =>
  context.addInitScript(() => {
    const w = window as unknown as { sliceShifts: number };
    w.sliceShifts = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as (PerformanceEntry & {
        value: number;
        hadRecentInput: boolean;
      })[])
        if (!entry.hadRecentInput) w.sliceShifts += entry.value;
    }).observe({ type: "layout-shift", buffered: true });
  });
const layoutShift = (page: Page) =>
  page.evaluate(() => (window as unknown as { sliceShifts: number }).sliceShifts);

/** A shopper's browser with Shopify's Customer Privacy API answering `analytics` for them. */
async function shopper(
  analytics: boolean,
  { messages = false }: { messages?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await watchLayoutShifts(context);
  if (!messages) await noMessages(context);
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

/** slice.js's visitor id (Shopify's client id, `_shopify_y`): null without analytics consent. */
const maybeVisitorId = (page: Page) =>
  page.evaluate(() => (window as unknown as { Slice: { visitorId: string | null } }).Slice.visitorId);
/** The visitor id of a consenting shopper (a test fails here if there is none). */
const visitorIdOf = async (page: Page): Promise<string> => {
  const id = await maybeVisitorId(page);
  if (!id) throw new Error("slice.js has no visitor id (no analytics consent?)");
  return id;
};

/** A client id as the demo's Shopify sets `_shopify_y`. */
const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What identifies the shopper in this browser: Shopify's client id cookie, and anything of Slice's
 * own (cookies, localStorage and sessionStorage keys).
 */
async function storedIdentifiers(context: BrowserContext, page: Page) {
  const cookies = (await context.cookies())
    .map((c) => c.name)
    .filter((name) => name.startsWith("slice") || name === "_shopify_y");
  const [local, session] = await page.evaluate(() => [
    Object.keys(localStorage).filter((k) => k.startsWith("slice")),
    Object.keys(sessionStorage).filter((k) => k.startsWith("slice")),
  ]);
  return { cookies, local: local.sort(), session: session.sort() };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-storefront-test-"));
  const databaseFile = path.join(dir, "demo.sqlite");
  demo = await startDemo({ port: 0, customers: 60, seed: 5, databaseFile, log: () => {} });
  db = createPrismaClient(`file:${databaseFile}`);
  // Each test's shopper must see their message: no holdout here (decide.server.test.ts tests it).
  await db.message.updateMany({ data: { holdoutPercent: 0 } });
  // The welcome and the referral invite give codes: wait for their pools in Shopify (the stand-in).
  await waitForCodePools(db);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await db?.$disconnect();
  await demo?.stop();
});

describe("the demo storefront", () => {
  it("with consent, slice.js asks for the decision as Shopify's client id and records no visit, view or cart itself", async () => {
    const { context, page } = await shopper(true);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const decided = page.waitForRequest((r) => r.url().includes("/apps/slice/decide?"));
    await page.goto(demo.storefrontUrl);
    await expect(page.locator("#slice-config").count()).resolves.toBe(1);
    await expect(page.getByRole("heading", { name: "Featured products" }).count()).resolves.toBe(1);
    const visitorId = await visitorIdOf(page);
    expect(visitorId).toMatch(CLIENT_ID);
    const cookie = (await context.cookies()).find((c) => c.name === "_shopify_y");
    expect(cookie?.value).toBe(visitorId);
    const query = new URL((await decided).url()).searchParams;
    expect([query.get("visitor"), query.get("consent"), query.get("page")]).toEqual([
      visitorId,
      "1",
      "index",
    ]);
    await page.screenshot({ path: path.join(SHOTS, "storefront-home.png"), fullPage: true });

    // Home → a product, added to the cart with the theme's fetch → the cart: slice.js sends nothing.
    const sent: string[] = [];
    page.on("request", (r) => r.url().includes("/apps/slice/events") && sent.push(r.url()));
    const pixelPosts: string[] = [];
    page.on("request", (r) => r.url().endsWith("/pixel") && pixelPosts.push(r.url()));
    const first = demo.store.products[0];
    await page.locator(`a.card[href="/products/${first.handle}"]`).click();
    await page.waitForURL(`**/products/${first.handle}`);
    await page.screenshot({ path: path.join(SHOTS, "storefront-product.png"), fullPage: true });
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => page.locator("#cart-status").textContent()).toBe("Added to your cart.");
    await page.getByRole("link", { name: /^Cart/ }).click();
    await page.waitForURL("**/cart");
    await expect(page.getByRole("cell", { name: first.title, exact: true }).count()).resolves.toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "storefront-cart.png"), fullPage: true });
    // The theme's own requests are its own: slice.js wraps neither fetch nor XMLHttpRequest.
    expect(
      await page.evaluate(() => [
        /\[native code\]/.test(String(window.fetch)),
        /\[native code\]/.test(String(XMLHttpRequest.prototype.open)),
      ]),
    ).toEqual([true, true]);
    await page.goto(`${demo.storefrontUrl}/`);
    await page.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(sent).toEqual([]);
    // What is stored for this browser is the web pixel's (the demo storefront runs it, keyed by
    // the same _shopify_y): Shopify's standard events only, none of slice.js's old tracking types.
    expect(pixelPosts.length).toBeGreaterThan(0);
    const pixelTypes = new Set<string>(["session_start", ...Object.values(PIXEL_EVENT_TYPES)]);
    const stored = await db.storefrontEvent.findMany({ where: { visitorId }, select: { type: true } });
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((e) => !pixelTypes.has(e.type))).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("stores no identifier for a visitor without analytics consent: none in cookies, storage or the database; the answer only counted", async () => {
    const { context, page } = await shopper(false);
    const [visitors, events] = [await db.visitor.count(), await db.storefrontEvent.count()];
    await page.goto(demo.storefrontUrl);
    expect(await maybeVisitorId(page)).toBeNull();
    const product = demo.store.products[1];
    await page.goto(`${demo.storefrontUrl}/products/${product.handle}`);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => page.locator("#cart-status").textContent()).toBe("Added to your cart.");
    await page.goto(`${demo.storefrontUrl}/cart`);
    await page.getByRole("link", { name: `Remove ${product.title}` }).click();
    await expect(page.getByText("Your cart is empty.").count()).resolves.toBe(1);
    await page.goto(demo.storefrontUrl);
    // Everything so far has been flushed (page hides) or waited out (3 s): none of it may be stored.
    await page.waitForTimeout(3500);

    // The question block on the home page: the answer is counted, not kept as anyone's.
    const counted = () =>
      db.anonymousCount
        .aggregate({
          where: { type: "answer", resourceId: "intent=Looking for a gift" },
          _sum: { count: true },
        })
        .then((r) => r._sum.count ?? 0);
    const before = await counted();
    const form = page.locator("form[data-slice-form]");
    await expect(form.locator("legend").textContent()).resolves.toBe("What brings you here today?");
    await form.getByLabel("Looking for a gift").check();
    await form.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => form.locator("[data-slice-thanks]").isVisible()).toBe(true);
    await expect(form.locator("[data-slice-thanks]").textContent()).resolves.toBe(
      "Thanks! We'll tailor what you see.",
    );
    await form.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, "storefront-answer-no-consent.png"), fullPage: true });
    await expect.poll(counted, { timeout: 20_000, interval: 250 }).toBe(before + 1);

    expect(await storedIdentifiers(context, page)).toEqual({
      cookies: [],
      local: [],
      session: ["slice_shown"],
    });
    expect(await db.visitor.count()).toBe(visitors);
    expect(await db.storefrontEvent.count()).toBe(events);
    await context.close();
  });

  it("keeps an answer sent without JavaScript and thanks the shopper in the theme (application/liquid)", async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      javaScriptEnabled: false,
    });
    const page = await context.newPage();
    await page.goto(demo.storefrontUrl);
    const form = page.locator("form[data-slice-form]");
    await form.getByLabel("Just browsing").check();
    await Promise.all([
      page.waitForURL("**/apps/slice/answer"),
      form.getByRole("button", { name: "Send" }).click(),
    ]);
    await expect(page.getByRole("heading", { name: "Thank you" }).count()).resolves.toBe(1);
    await expect(page.getByRole("status").textContent()).resolves.toBe("Your answer was saved.");
    // Rendered inside the shop's theme: its header is there.
    await expect(page.locator("header.site .logo").textContent()).resolves.toBe(demo.store.shop.name);
    await page.screenshot({ path: path.join(SHOTS, "storefront-answer-no-javascript.png") });
    const stored = await db.storefrontEvent.findMany({ where: { resourceId: "intent=Just browsing" } });
    expect(stored.map((e) => e.type)).toEqual(["answer"]);
    expect(stored[0].visitorId).toMatch(/^form-/);
    await context.close();
  });

  it("asks for consent with the demo's banner and, once given, decides as Shopify's client id", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await noMessages(context);
    const page = await context.newPage();
    const decisions: string[] = [];
    page.on("request", (r) => r.url().includes("/apps/slice/decide?") && decisions.push(r.url()));
    const product = demo.store.products[2];
    await page.goto(`${demo.storefrontUrl}/products/${product.handle}`);
    const banner = page.getByRole("region", { name: "Cookie consent" });
    await expect.poll(() => banner.isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, "storefront-consent-banner.png") });
    await page.waitForTimeout(1500);
    expect(await maybeVisitorId(page)).toBeNull();
    expect(decisions).toEqual([]);
    expect((await storedIdentifiers(context, page)).cookies).toEqual([]);
    await banner.getByRole("button", { name: "Accept" }).click();
    await expect.poll(() => banner.isVisible()).toBe(false);
    // Shopify sets its client id once consent allows it; slice.js reads it.
    await expect.poll(() => maybeVisitorId(page)).toMatch(CLIENT_ID);
    const visitorId = await visitorIdOf(page);
    expect(await storedIdentifiers(context, page)).toEqual({
      cookies: ["_shopify_y"],
      local: [],
      session: ["slice_shown"],
    });
    await expect.poll(() => decisions.length).toBe(1);
    expect(new URL(decisions[0]).searchParams.get("visitor")).toBe(visitorId);
    // The choice is kept: the next page shows no banner, and the same client id.
    await page.goto(demo.storefrontUrl);
    await expect(banner.isVisible()).resolves.toBe(false);
    await expect.poll(() => maybeVisitorId(page)).toBe(visitorId);
    await context.close();
  });
});

/** The message on screen, inside slice.js's shadow root (Playwright's locators pierce it). */
const popup = (page: Page, name: string | RegExp) => page.getByRole("dialog", { name });
const region = (page: Page, name: string | RegExp) =>
  page.locator("#slice-message").getByRole("region", { name });

/** What the app stored of this visitor's messages: [type, message name]. */
async function messageEvents(visitorId: string) {
  const [events, messages] = await Promise.all([
    db.storefrontEvent.findMany({
      where: { visitorId, type: { startsWith: "message_" } },
      orderBy: { id: "asc" },
      select: { type: true, resourceId: true },
    }),
    db.message.findMany({ select: { id: true, name: true } }),
  ]);
  return events.map((e) => [e.type, messages.find((m) => String(m.id) === e.resourceId)?.name]);
}

describe("messages on the demo storefront", () => {
  it("shows a first-time visitor the first-purchase welcome: a labelled popup that keeps focus, closes on Escape and does not come back", async () => {
    const { context, page } = await shopper(true, { messages: true });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const drawCode = page.waitForRequest((r) => r.url().endsWith("/slice-draw.js"));
    await page.goto(demo.storefrontUrl);
    const visitorId = await visitorIdOf(page);
    // The decision returned a message: the code that draws it is loaded (before its trigger).
    expect((await drawCode).url()).toBe(
      `${demo.storefrontUrl}/cdn/shop/extensions/slice-storefront/assets/slice-draw.js`,
    );
    // The starter welcome waits 5 seconds.
    const welcome = popup(page, "Welcome! Here's 10% off your first order");
    await expect.poll(() => welcome.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    await expect(welcome.getAttribute("aria-modal")).resolves.toBe("true");
    await expect(
      welcome.getByText("New here? Use your code at checkout within 7 days.").isVisible(),
    ).resolves.toBe(true);
    // Their own code from the pool, applied by the button on the way to the shop.
    const code = await db.discountCode.findFirstOrThrow({ where: { visitorId } });
    expect(code.status).toBe("issued");
    await expect(welcome.getByText(code.code, { exact: true }).isVisible()).resolves.toBe(true);
    await expect(welcome.getByRole("link", { name: "Start shopping" }).getAttribute("href")).resolves.toBe(
      `/discount/${code.code}?redirect=%2Fcollections%2Fall`,
    );
    await page.screenshot({
      path: path.join(SHOTS, "storefront-message-welcome.png"),
      animations: "disabled",
    });
    // Drawn as an overlay: nothing on the page moved (CLS 0).
    expect(await layoutShift(page)).toBe(0);

    // Focus starts on the button and Tab / Shift+Tab stay inside the popup.
    const focused = () =>
      page.evaluate(() => {
        const host = document.getElementById("slice-message");
        const inner = host?.shadowRoot?.activeElement;
        return document.activeElement === host
          ? (inner?.getAttribute("aria-label") ?? inner?.textContent)
          : "outside";
      });
    await expect(focused()).resolves.toBe("Start shopping");
    await page.keyboard.press("Tab");
    await expect(focused()).resolves.toBe("Close");
    await page.keyboard.press("Tab");
    await expect(focused()).resolves.toBe("Copy code");
    await page.keyboard.press("Tab");
    await expect(focused()).resolves.toBe("Start shopping");
    await page.keyboard.press("Shift+Tab");
    await expect(focused()).resolves.toBe("Copy code");
    await expect(welcome.getByRole("button", { name: "Close" }).count()).resolves.toBe(1);

    await page.keyboard.press("Escape");
    await expect.poll(() => welcome.count()).toBe(0);
    await expect
      .poll(() => messageEvents(visitorId), { timeout: 20_000, interval: 250 })
      .toEqual([
        ["message_shown", "Welcome: first purchase"],
        ["message_dismissed", "Welcome: first purchase"],
      ]);

    // Dismissed: not on the next page (whose decision is told it was dismissed in this session),
    // nor in a later visit (a new tab is a new session).
    const next = page.waitForRequest((r) => r.url().includes("/apps/slice/decide?"));
    await page.goto(`${demo.storefrontUrl}/collections/${demo.store.collections[0].handle}`);
    const { id } = await db.message.findFirstOrThrow({ where: { name: "Welcome: first purchase" } });
    expect(new URL((await next).url()).searchParams.get("dismissed")).toBe(String(id));
    const later = await context.newPage();
    await later.goto(demo.storefrontUrl);
    await later.waitForTimeout(6500);
    await expect(popup(later, /Welcome/).count()).resolves.toBe(0);
    await expect(popup(page, /Welcome/).count()).resolves.toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("shows a returning visitor who added to the cart the reminder when they are about to leave (exit intent)", async () => {
    const { context, page } = await shopper(true, { messages: true });
    await page.goto(demo.storefrontUrl);
    const visitorId = await visitorIdOf(page);
    await page.close();
    // What the Web Pixel stores of this browser, as it would: a first visit some days ago, and
    // now a second session.
    const { shopId } = await db.message.findFirstOrThrow({ select: { shopId: true } });
    const firstSeenAt = new Date(Date.now() - 3 * 86_400_000);
    await db.visitor.upsert({
      where: { id: visitorId },
      create: { id: visitorId, shopId, firstSeenAt, lastSeenAt: new Date(), sessions: 2 },
      update: { firstSeenAt, lastSeenAt: new Date(), sessions: 2 },
    });

    // They come back (a new tab: a new session), and add a product to the cart.
    const visit = await context.newPage();
    const product = demo.store.products[3];
    await visit.goto(`${demo.storefrontUrl}/products/${product.handle}`);
    await visit.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => visit.locator("#cart-status").textContent()).toBe("Added to your cart.");
    // The pixel's cart event links the cart to the browser.
    const { token } = (await visit.evaluate(() => fetch("/cart.js").then((r) => r.json()))) as {
      token: string;
    };
    const cartToken = token.split("?")[0];
    await db.visitor.update({ where: { id: visitorId }, data: { cartToken } });
    // Shopify's carts/create webhook reaches the app.
    await expect
      .poll(async () => (await db.cart.findFirst({ where: { token: cartToken } }))?.itemCount, {
        timeout: 20_000,
        interval: 250,
      })
      .toBe(1);

    // Browsing on, then heading for the address bar: the reminder, not before.
    const decided = visit.waitForResponse(
      (r) => r.url().includes("/apps/slice/decide?") && r.url().includes("page=index"),
    );
    await visit.goto(demo.storefrontUrl);
    const decision = (await (await decided).json()) as { message: { trigger: unknown } | null };
    expect(decision.message).toMatchObject({ trigger: { on: "exit" } });
    const reminder = popup(visit, "Your cart is waiting");
    await visit.mouse.move(640, 400);
    await visit.waitForTimeout(300);
    await expect(reminder.count()).resolves.toBe(0);
    await visit.mouse.move(640, 5);
    await visit.mouse.move(640, -20);
    await expect.poll(() => reminder.isVisible(), { timeout: 5_000 }).toBe(true);
    await visit.screenshot({
      path: path.join(SHOTS, "storefront-message-exit-intent.png"),
      animations: "disabled",
    });

    // Its button takes them to the cart, and counts as taken: it is not shown again.
    await Promise.all([
      visit.waitForURL("**/cart"),
      reminder.getByRole("link", { name: "Go to cart" }).click(),
    ]);
    await expect
      .poll(() => messageEvents(visitorId), { timeout: 20_000, interval: 250 })
      .toEqual([
        ["message_shown", "Cart reminder on exit"],
        ["message_clicked", "Cart reminder on exit"],
      ]);
    await context.close();
  });

  it("shows a logged-in high-spend repeat customer the referral invite in a corner, without taking focus", async () => {
    const { context, page } = await shopper(true, { messages: true });
    // The shop's biggest spender with two or more orders (the demo's "log in as" list starts with them).
    const spend = new Map<string, { total: number; orders: number }>();
    for (const o of demo.store.orders)
      if (o.customerId && !o.cancelledAt) {
        const s = spend.get(o.customerId) ?? { total: 0, orders: 0 };
        spend.set(o.customerId, { total: s.total + o.total, orders: s.orders + 1 });
      }
    const [topId] = [...spend].filter(([, s]) => s.orders >= 2).sort((a, b) => b[1].total - a[1].total)[0];
    const top = { id: topId };
    // A friend's paid order has earned them a reward already: their panel tells them its code.
    const referral = await db.message.findFirstOrThrow({ where: { reward: "referral" } });
    await db.referralReward.create({
      data: {
        shopId: referral.shopId,
        messageId: referral.id,
        referrerCustomerId: top.id,
        referralCode: "REFER-EARLIER",
        orderShopifyId: "8800001",
        orderTotal: 5000,
        status: "granted",
        rewardCode: "THANKS-TEST-0001",
      },
    });
    await page.goto(`${demo.storefrontUrl}/account/login-as?customer=${top.id}&return_to=/`);
    const invite = region(page, "Thanks for being one of our best customers");
    await expect.poll(() => invite.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    // Their personal link, which applies the friend's first-order discount; the same on every visit.
    const link = (await invite.getByLabel("Your link", { exact: true }).textContent())!;
    // On the shop's primary domain (the demo's: its storefront's address), not the myshopify one.
    expect(link).toMatch(new RegExp(`^${demo.storefrontUrl.replace(/[.]/g, "\\.")}/discount/[A-Z0-9-]+$`));
    const code = await db.discountCode.findFirstOrThrow({ where: { customerShopifyId: top.id } });
    expect(link.endsWith(`/discount/${code.code}`)).toBe(true);
    await expect(invite.getByRole("button", { name: "Copy your link" }).count()).resolves.toBe(1);
    await expect(
      invite.getByText("Thank you: a friend ordered. Your reward (15% off): THANKS-TEST-0001").count(),
    ).resolves.toBe(1);
    // What the link gives the friend, then the referrer: the starter's 15% for both.
    await expect(invite.getByText("Give 15%, get 15%", { exact: true }).count()).resolves.toBe(1);
    // Not modal: the page keeps the focus, and no welcome popup (they have bought).
    await expect(page.evaluate(() => document.activeElement?.id ?? "")).resolves.not.toBe("slice-message");
    await expect(page.getByRole("dialog").count()).resolves.toBe(0);
    await page.screenshot({
      path: path.join(SHOTS, "storefront-message-referral.png"),
      animations: "disabled",
    });

    // On a 320 px phone (the same shopper's screen, narrowed: a dismissed or shown invite does not
    // come back to another browser): the whole link, no word broken, and the share actions work.
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.setViewportSize({ width: 320, height: 640 });
    const small = page;
    const shared = invite;
    const shown = shared.getByLabel("Your link", { exact: true });
    await expect(shown.textContent()).resolves.toBe(link);
    // Each part of the link is on one line (the browser wraps only after a "/"), and all of it is
    // on screen: nothing scrolled out of its box, nothing past the screen's edge.
    const layout = await shown.evaluate((p) => ({
      parts: [...p.querySelectorAll("span")].map((span) => {
        const rects = [...span.getClientRects()];
        return { text: span.textContent, lines: rects.length, right: Math.max(...rects.map((r) => r.right)) };
      }),
      scrolls: p.scrollWidth > p.clientWidth,
      right: p.getBoundingClientRect().right,
    }));
    expect(layout.parts.map((part) => part.text).join("")).toBe(link);
    expect(layout.parts.every((part) => part.lines === 1 && part.right <= 320)).toBe(true);
    expect(layout.scrolls).toBe(false);
    expect(layout.right).toBeLessThanOrEqual(320);
    await small.screenshot({ path: path.join(SHOTS, "storefront-referral-320.png"), animations: "disabled" });

    // The invite says what the friend gets (the offer's "they get").
    const invite320 = `Here's 15% off your first order: ${link}`;
    await expect(shared.getByRole("link", { name: "Share by email" }).getAttribute("href")).resolves.toBe(
      `mailto:?subject=A%20discount%20for%20you&body=${encodeURIComponent(invite320)}`,
    );
    await expect(shared.getByRole("link", { name: "Share on WhatsApp" }).getAttribute("href")).resolves.toBe(
      `https://wa.me/?text=${encodeURIComponent(invite320)}`,
    );
    await shared.getByRole("button", { name: "Copy your link" }).click();
    await expect.poll(() => shared.getByRole("status").textContent()).toBe("Link copied");
    await expect(shared.getByRole("button", { name: "Copy your link" }).textContent()).resolves.toBe(
      "Copied",
    );
    await expect(small.evaluate(() => navigator.clipboard.readText())).resolves.toBe(link);
    await small.screenshot({
      path: path.join(SHOTS, "storefront-referral-320-copied.png"),
      animations: "disabled",
    });
    await invite.getByRole("button", { name: "Close" }).click();
    await expect.poll(() => invite.count()).toBe(0);
    await context.close();
  });

  it("without analytics consent shows no behaviour-targeted message (not the welcome), loads no drawing code and stores nothing", async () => {
    const { context, page } = await shopper(false, { messages: true });
    const scripts: string[] = [];
    page.on(
      "request",
      (r) => r.resourceType() === "script" && scripts.push(path.basename(new URL(r.url()).pathname)),
    );
    const [visitors, events, codes] = [
      await db.visitor.count(),
      await db.storefrontEvent.count(),
      await db.discountCode.count({ where: { status: "issued" } }),
    ];
    await page.goto(demo.storefrontUrl);
    await page.waitForTimeout(6500); // past the welcome's 5 seconds
    await expect(page.locator("#slice-message").count()).resolves.toBe(0);
    await page.goto(`${demo.storefrontUrl}/products/${demo.store.products[0].handle}`);
    await page.waitForTimeout(3500);
    expect(await maybeVisitorId(page)).toBeNull();
    // No message to show: the page loaded slice.js and nothing else of Slice's.
    expect(scripts.filter((name) => name.startsWith("slice"))).toEqual(["slice.js", "slice.js"]);
    expect([
      await db.visitor.count(),
      await db.storefrontEvent.count(),
      await db.discountCode.count({ where: { status: "issued" } }),
    ]).toEqual([visitors, events, codes]);
    await context.close();
  });

  it("a first-time visitor's code works at checkout, once, and the order redeems it in the app", async () => {
    const { context, page } = await shopper(true, { messages: true });
    await page.goto(demo.storefrontUrl);
    const welcome = popup(page, /Welcome/);
    await expect.poll(() => welcome.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    const code = (await welcome.locator("strong").textContent())!;
    expect(code).toMatch(/^WELCOME-/);
    // The button applies the code on the way to the shop.
    await Promise.all([
      page.waitForURL("**/collections/all"),
      welcome.getByRole("link", { name: "Start shopping" }).click(),
    ]);
    const product = demo.store.products[6];
    await page.goto(`${demo.storefrontUrl}/products/${product.handle}`);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => page.locator("#cart-status").textContent()).toBe("Added to your cart.");
    await page.goto(`${demo.storefrontUrl}/cart`);
    await Promise.all([
      page.waitForURL("**/checkout"),
      page.getByRole("link", { name: "Check out" }).click(),
    ]);
    await expect(page.getByLabel("Discount code").inputValue()).resolves.toBe(code);
    await page.getByLabel("Email").fill("first.order@example.com");
    await page.getByRole("button", { name: "Pay now" }).click();
    await expect(page.getByRole("status").textContent()).resolves.toMatch(
      /^Your order #D\d+ is confirmed: .* \(you saved \$\d+\.\d\d\)\.$/,
    );
    await page.screenshot({ path: path.join(SHOTS, "storefront-checkout-with-code.png") });
    await expect
      .poll(async () => (await db.discountCode.findFirst({ where: { code } }))?.status, {
        timeout: 20_000,
        interval: 250,
      })
      .toBe("redeemed");
    const redeemed = await db.discountCode.findFirstOrThrow({ where: { code } });
    const order = await db.order.findFirstOrThrow({ where: { shopifyId: redeemed.orderShopifyId! } });
    expect(order.totalDiscounts).toBe(Math.round(product.price * 0.1));

    // The merchant sees the conversion on the offer's results page.
    const admin = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await admin.goto(demo.loginUrl);
    await admin.goto(`${demo.url}/app/messages/${redeemed.messageId}/results?days=7`);
    await expect.poll(() => admin.getByText(/\d+ issued, 1 redeemed/).count(), { timeout: 15_000 }).toBe(1);
    await expect(admin.getByText(/^1 of \d+ treated ordered, 0 of \d+ held out$/).count()).resolves.toBe(1);
    await expect
      .poll(() => admin.locator("#results-charts svg").count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await admin.screenshot({ path: path.join(SHOTS, "storefront-checkout-results.png"), fullPage: true });
    await admin.close();

    // Someone else with the same code: Shopify's checkout refuses it (one use per code).
    const other = await shopper(true);
    await other.page.goto(`${demo.storefrontUrl}/discount/${code}?redirect=/products/${product.handle}`);
    await other.page.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => other.page.locator("#cart-status").textContent()).toBe("Added to your cart.");
    await other.page.goto(`${demo.storefrontUrl}/checkout`);
    await other.page.getByLabel("Email").fill("someone.else@example.com");
    await other.page.getByRole("button", { name: "Pay now" }).click();
    await expect(other.page.getByRole("alert").textContent()).resolves.toBe(
      "This discount code has already been used.",
    );
    await other.context.close();
    await context.close();
  });

  describe("a merchant's own triggers and formats", () => {
    const created: number[] = [];
    let shopId = 0;
    const [sale, gifts] = [() => demo.store.collections[0], () => demo.store.collections[1]];

    /** A message for first-time visitors, above the welcome, as the admin would save it. */
    async function message(fields: Record<string, unknown>) {
      const row = await db.message.create({
        data: {
          shopId,
          name: String(fields.headline),
          segmentHandle: "first-time-visitors",
          format: "bar",
          trigger: "load",
          priority: 100,
          holdoutPercent: 0,
          oncePerSession: true,
          body: "",
          active: true,
          headline: "",
          ...fields,
        },
      });
      created.push(row.id);
      return row.id;
    }

    /** The server keeps a shop's messages for up to 5 s: ask until the new one is decided. */
    async function decidedFor(page: Page, pageType: string, path: string, id: number) {
      await expect
        .poll(
          () =>
            page.evaluate(
              ([pageType, path]) =>
                fetch(
                  `/apps/slice/decide?consent=1&visitor=probe-visitor-0000001&page=${pageType}&path=${encodeURIComponent(path)}`,
                )
                  .then((r) => r.json() as Promise<{ message: { id: number } | null }>)
                  .then((d) => d.message?.id ?? null),
              [pageType, path],
            ),
          { timeout: 15_000, interval: 500 },
        )
        .toBe(id);
    }

    beforeAll(async () => {
      shopId = (await db.shop.findUniqueOrThrow({ where: { domain: demo.store.shop.domain } })).id;
    });
    afterAll(async () => {
      await db.message.deleteMany({ where: { id: { in: created } } });
    });

    it("a sticky bar on add to cart, on product pages only, with reduced motion respected", async () => {
      const id = await message({
        headline: "Free shipping over $75",
        body: "Add a little more and shipping is on us.",
        trigger: "addToCart",
        pageTypes: "|product|",
      });
      const context = await browser.newContext({
        viewport: { width: 1280, height: 900 },
        reducedMotion: "reduce",
      });
      // The demo's banner answered before (Shopify keeps the answer in a cookie).
      const { hostname } = new URL(demo.storefrontUrl);
      await context.addCookies([{ name: "demo_consent", value: "yes", domain: hostname, path: "/" }]);
      await watchLayoutShifts(context);
      const page = await context.newPage();
      await page.goto(demo.storefrontUrl);
      await decidedFor(page, "product", "/products/x", id);
      await page.goto(`${demo.storefrontUrl}/products/${demo.store.products[5].handle}`);
      const bar = region(page, "Free shipping over $75");
      await page.waitForTimeout(1000);
      await expect(bar.count()).resolves.toBe(0); // not before the shopper adds to the cart
      await page.getByRole("button", { name: "Add to cart" }).click();
      await expect.poll(() => bar.isVisible(), { timeout: 5_000 }).toBe(true);
      const box = await bar.boundingBox();
      expect(box!.y + box!.height).toBeCloseTo(900, -1); // along the bottom edge
      const style = await bar.evaluate((el) => {
        const s = getComputedStyle(el);
        return { animation: s.animationName, position: getComputedStyle(el.parentElement!).position };
      });
      expect(style).toEqual({ animation: "none", position: "fixed" });
      expect(await layoutShift(page)).toBe(0);
      await page.screenshot({ path: path.join(SHOTS, "storefront-message-bar.png") });
      await context.close();
    });

    it("a corner message at 60% scroll, on one collection's pages", async () => {
      const id = await message({
        headline: "Gift wrapping is free",
        format: "corner",
        trigger: "scroll",
        triggerValue: 60,
        pageTypes: "|collection|",
        pathContains: JSON.stringify([`/collections/${sale().handle}`]),
      });
      const { context, page } = await shopper(true, { messages: true });
      await page.setViewportSize({ width: 1280, height: 500 });
      await page.goto(demo.storefrontUrl);
      await decidedFor(page, "collection", `/collections/${sale().handle}`, id);
      await page.goto(`${demo.storefrontUrl}/collections/${sale().handle}`);
      const corner = region(page, "Gift wrapping is free");
      await page.waitForTimeout(1000);
      await expect(corner.count()).resolves.toBe(0);
      await page.mouse.wheel(0, 200);
      await page.waitForTimeout(300);
      await expect(corner.count()).resolves.toBe(0); // not far enough yet
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await expect.poll(() => corner.isVisible(), { timeout: 5_000 }).toBe(true);

      // On a screen tall enough to show most of the page at once, nothing shows before the shopper
      // scrolls: the depth counts from the top, not what is on screen (it fired at once before).
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      const other = await shopper(true, { messages: true });
      const tall = other.page;
      await tall.setViewportSize({ width: 1280, height: Math.round(height * 0.75) });
      await tall.goto(demo.storefrontUrl);
      await decidedFor(tall, "collection", `/collections/${sale().handle}`, id);
      await tall.goto(`${demo.storefrontUrl}/collections/${sale().handle}`);
      const tallCorner = region(tall, "Gift wrapping is free");
      await tall.waitForTimeout(1500);
      await expect(tallCorner.count()).resolves.toBe(0);
      await tall.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await expect.poll(() => tallCorner.isVisible(), { timeout: 5_000 }).toBe(true);
      await other.context.close();
      await page.screenshot({
        path: path.join(SHOTS, "storefront-message-corner-scroll.png"),
        animations: "disabled",
      });
      await context.close();
    });

    it("an email sign-up: the address is kept as the shopper's answer and reaches Shopify", async () => {
      const id = await message({
        headline: "Get 10% off your next order",
        body: "Join our list for early access to sales.",
        format: "corner",
        trigger: "load",
        reward: "emailCapture",
        pathContains: JSON.stringify(["/pages/join"]),
      });
      const { context, page } = await shopper(true, { messages: true });
      await page.goto(demo.storefrontUrl);
      await decidedFor(page, "other", "/pages/join", id);
      await page.goto(`${demo.storefrontUrl}/pages/join`);
      const signUp = region(page, "Get 10% off your next order");
      await expect.poll(() => signUp.isVisible(), { timeout: 10_000 }).toBe(true);
      await signUp.getByRole("textbox", { name: "Email" }).fill("list.member@example.com");
      await signUp.getByRole("button", { name: "Sign up" }).click();
      await expect.poll(() => signUp.getByRole("status").textContent()).toBe("Thanks! You're signed up.");
      await page.screenshot({
        path: path.join(SHOTS, "storefront-message-email.png"),
        animations: "disabled",
      });
      const visitorId = await visitorIdOf(page);
      await expect
        .poll(
          async () =>
            (await db.storefrontEvent.findMany({ where: { visitorId, type: "answer" } })).map(
              (e) => e.resourceId,
            ),
          { timeout: 15_000 },
        )
        .toEqual(["email=list.member@example.com"]);
      // The sign-up reaches Shopify (the stand-in) from the app's background loop: a subscribed customer.
      await expect
        .poll(
          async () =>
            (await db.emailSignup.findFirst({ where: { email: "list.member@example.com" } }))?.status,
          { timeout: 45_000, interval: 500 },
        )
        .toBe("synced");
      await context.close();
    });

    it("exit intent on a phone: a quick scroll back up after reading down", async () => {
      const id = await message({
        headline: "Before you go",
        format: "popup",
        trigger: "exit",
        pageTypes: "|collection|",
        pathContains: JSON.stringify([`/collections/${gifts().handle}`]),
      });
      const context = await browser.newContext({
        viewport: { width: 390, height: 700 },
        isMobile: true,
        hasTouch: true,
      });
      await context.addInitScript(() => {
        (window as unknown as { Shopify: object }).Shopify = {
          customerPrivacy: { analyticsProcessingAllowed: () => true, shouldShowBanner: () => false },
        };
      });
      const page = await context.newPage();
      await page.goto(demo.storefrontUrl);
      await decidedFor(page, "collection", `/collections/${gifts().handle}`, id);
      await page.goto(`${demo.storefrontUrl}/collections/${gifts().handle}`);
      const dialog = popup(page, "Before you go");
      await page.waitForTimeout(1000);
      for (const y of [400, 800, 1200, 1600]) {
        await page.evaluate((y) => window.scrollTo(0, y), y);
        await page.waitForTimeout(50);
      }
      await expect(dialog.count()).resolves.toBe(0); // reading down is not leaving
      await page.evaluate(() => window.scrollTo(0, 900));
      await expect.poll(() => dialog.isVisible(), { timeout: 5_000 }).toBe(true);
      await page.screenshot({
        path: path.join(SHOTS, "storefront-message-mobile-exit.png"),
        animations: "disabled",
      });
      await context.close();
    });
  });
});

/**
 * Shopify's consent banner (the demo's stand-in: a German shopper by default, so the banner shows
 * and nothing is allowed before an answer) and the messages: none opens before the shopper has
 * answered, so none covers the banner; refused, only an untargeted message, nothing that identifies
 * the shopper kept anywhere; given, today's targeted welcome.
 */
describe("consent and messages", () => {
  const SHIPPING = "Free shipping on orders over $75";
  let untargeted = 0;

  beforeAll(async () => {
    const { shopId } = await db.message.findFirstOrThrow({ select: { shopId: true } });
    await db.segment.create({
      data: {
        shopId,
        handle: "everyone",
        name: "Everyone",
        rule: JSON.stringify({ version: 1, match: { all: [] } }),
      },
    });
    // Below the welcome: it is what a shopper sees when nothing about them may be used.
    untargeted = (
      await db.message.create({
        data: {
          shopId,
          name: "Shipping bar",
          segmentHandle: "everyone",
          format: "bar",
          trigger: "load",
          priority: -10,
          holdoutPercent: 0,
          oncePerSession: true,
          headline: SHIPPING,
          body: "",
          active: true,
        },
      })
    ).id;
  });
  afterAll(() => db.message.update({ where: { id: untargeted }, data: { active: false } }));

  /** A first visit with the real banner (no stubbed Customer Privacy API), recording decisions asked. */
  async function firstVisit() {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const decisions: string[] = [];
    page.on("request", (r) => r.url().includes("/apps/slice/decide?") && decisions.push(r.url()));
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(demo.storefrontUrl);
    const banner = page.getByRole("region", { name: "Cookie consent" });
    await expect.poll(() => banner.isVisible()).toBe(true);
    return { context, page, banner, decisions, errors };
  }

  /** Whether a message on screen overlaps the consent banner while it is up. */
  const covers = (page: Page) =>
    page.evaluate(() => {
      const banner = document.getElementById("consent-banner")!;
      const box = document.getElementById("slice-message")?.shadowRoot?.querySelector(".box");
      if (banner.hidden || !box) return false;
      const [a, b] = [banner.getBoundingClientRect(), box.getBoundingClientRect()];
      return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    });

  const shownCount = () =>
    db.anonymousCount
      .aggregate({ where: { type: "message_shown", resourceId: String(untargeted) }, _sum: { count: true } })
      .then((r) => r._sum.count ?? 0);

  it("opens nothing before the banner is answered; refused, shows only the untargeted message and keeps no identifier", async () => {
    const { context, page, banner, decisions, errors } = await firstVisit();
    const [visitors, exposures, shown] = [
      await db.visitor.count(),
      await db.offerExposure.count(),
      await shownCount(),
    ];
    // Past the welcome's 5-second delay and the shipping bar's "on load": nothing opened, nothing asked.
    await page.waitForTimeout(6500);
    await expect(page.locator("#slice-message").count()).resolves.toBe(0);
    expect(decisions).toEqual([]);
    await page.screenshot({
      path: path.join(SHOTS, "storefront-consent-waiting.png"),
      animations: "disabled",
    });

    await banner.getByRole("button", { name: "Decline" }).click();
    await expect.poll(() => banner.isVisible()).toBe(false);
    const bar = region(page, SHIPPING);
    await expect.poll(() => bar.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    expect(decisions).toHaveLength(1);
    expect(new URL(decisions[0]).searchParams.get("consent")).toBe("0");
    expect(new URL(decisions[0]).searchParams.has("visitor")).toBe(false);
    await page.screenshot({
      path: path.join(SHOTS, "storefront-consent-refused.png"),
      animations: "disabled",
    });
    // The targeted welcome (first-time visitors, a discount) never comes.
    await page.waitForTimeout(5500);
    await expect(popup(page, /Welcome/).count()).resolves.toBe(0);

    // Counted, with no one's id; nothing else stored, nothing kept in the browser.
    await expect.poll(shownCount, { timeout: 20_000, interval: 250 }).toBe(shown + 1);
    await page.goto(`${demo.storefrontUrl}/collections/${demo.store.collections[0].handle}`);
    await page.waitForTimeout(3500);
    expect(await storedIdentifiers(context, page)).toEqual({
      cookies: [],
      local: [],
      session: ["slice_shown"],
    });
    expect(await maybeVisitorId(page)).toBeNull();
    expect(await db.visitor.count()).toBe(visitors);
    expect(await db.offerExposure.count()).toBe(exposures);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("given on the banner, shows the targeted welcome as before, after the answer and never over the banner", async () => {
    const { context, page, banner, decisions } = await firstVisit();
    await page.waitForTimeout(6500);
    await expect(page.locator("#slice-message").count()).resolves.toBe(0);
    expect(decisions).toEqual([]);
    await banner.getByRole("button", { name: "Accept" }).click();
    const welcome = popup(page, "Welcome! Here's 10% off your first order");
    await expect.poll(() => welcome.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    expect(await covers(page)).toBe(false);
    await expect(banner.isVisible()).resolves.toBe(false);
    const visitorId = await visitorIdOf(page);
    expect(visitorId).toMatch(CLIENT_ID);
    expect(new URL(decisions[0]).searchParams.get("consent")).toBe("1");
    expect(new URL(decisions[0]).searchParams.get("visitor")).toBe(visitorId);
    expect((await storedIdentifiers(context, page)).cookies).toEqual(["_shopify_y"]);
    await page.screenshot({ path: path.join(SHOTS, "storefront-consent-given.png"), animations: "disabled" });
    await expect
      .poll(() => messageEvents(visitorId), { timeout: 20_000, interval: 250 })
      .toEqual([["message_shown", "Welcome: first purchase"]]);
    await context.close();
  });

  it("outside the regions that require consent, shows no banner and works as before", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const url = new URL(demo.storefrontUrl);
    await context.addCookies([{ name: "demo_region", value: "US", domain: url.hostname, path: "/" }]);
    const page = await context.newPage();
    await page.goto(demo.storefrontUrl);
    await expect.poll(() => maybeVisitorId(page)).toMatch(CLIENT_ID);
    await expect(page.getByRole("region", { name: "Cookie consent" }).isVisible()).resolves.toBe(false);
    const welcome = popup(page, "Welcome! Here's 10% off your first order");
    await expect.poll(() => welcome.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    await context.close();
  });
});

describe("the app proxy where the merchant moved it", () => {
  it("works end to end at /tools/offers once the proxy's page has been opened there", async () => {
    const moved = await demo.openStorefront({ prefix: "tools", subpath: "offers" });
    try {
      const { context, page } = await shopper(true, { messages: true });
      const config = async () =>
        JSON.parse((await page.locator("#slice-config").textContent())!) as { proxy: string };
      // Until a request reaches the new path, the theme has the default one (which is not proxied here).
      await page.goto(moved.url);
      expect((await config()).proxy).toBe("/apps/slice");

      // The merchant opens the proxy's own page after moving it: the path is recorded.
      await page.goto(`${moved.url}/tools/offers`);
      await expect(page.getByRole("status").textContent()).resolves.toBe(
        "Slice answers at /tools/offers on this store. The theme uses this path from now on.",
      );
      await page.screenshot({ path: path.join(SHOTS, "storefront-proxy-page.png") });

      // Now every page of the theme calls the app there: events, the decision, the code, the form.
      const decided = page.waitForResponse((r) => r.url().includes("/tools/offers/decide?"));
      await page.goto(moved.url);
      expect((await config()).proxy).toBe("/tools/offers");
      await expect(page.locator("form[data-slice-form]").getAttribute("action")).resolves.toBe(
        "/tools/offers/answer",
      );
      expect((await decided).status()).toBe(200);
      const visitorId = await visitorIdOf(page);
      const welcome = popup(page, "Welcome! Here's 10% off your first order");
      await expect.poll(() => welcome.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
      const code = await db.discountCode.findFirstOrThrow({ where: { visitorId } });
      await expect(welcome.getByText(code.code, { exact: true }).isVisible()).resolves.toBe(true);
      await page.screenshot({ path: path.join(SHOTS, "storefront-proxy-moved.png"), animations: "disabled" });
      await expect
        .poll(() => messageEvents(visitorId), { timeout: 20_000, interval: 250 })
        .toEqual([["message_shown", "Welcome: first purchase"]]);
      await context.close();
    } finally {
      // Back where the rest of the suite expects it.
      await fetch(`${demo.storefrontUrl}/apps/slice`);
      await expect
        .poll(async () => (await db.shop.findFirstOrThrow({ select: { proxyPath: true } })).proxyPath, {
          timeout: 10_000,
        })
        .toBe("/apps/slice");
      await moved.close();
    }
  });
});
