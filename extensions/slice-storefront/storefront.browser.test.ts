/**
 * The storefront path end to end, as a shopper meets it: the demo's real app server, the demo
 * storefront (dev/storefront.ts) rendering the real extension blocks and slice.js, behind the
 * local app proxy that signs /apps/slice/* as Shopify does, opened in headless Chromium. What the
 * app stored is read from the demo's own database. Screenshots go to test-results/.
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

const SHOTS = path.resolve("test-results");
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;
let db: PrismaClient;

/**
 * Tests of recording, not of messages: every message counts as already shown in each tab's session,
 * so none covers the page they click through.
 */
const noMessages = (context: BrowserContext) =>
  context.addInitScript(() =>
    sessionStorage.setItem("slice_shown", Array.from({ length: 50 }, (_, i) => i + 1).join(",")),
  );

/** A shopper's browser with Shopify's Customer Privacy API answering `analytics` for them. */
async function shopper(
  analytics: boolean,
  { messages = false }: { messages?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
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

const visitorIdOf = (page: Page) =>
  page.evaluate(() => (window as unknown as { Slice: { visitorId: string } }).Slice.visitorId);

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
  it("records a consenting visitor's session, views and cart (linked by its token) through the app proxy", async () => {
    const { context, page } = await shopper(true);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));

    await page.goto(demo.storefrontUrl);
    await expect(page.locator("#slice-config").count()).resolves.toBe(1);
    await expect(page.getByRole("heading", { name: "Featured products" }).count()).resolves.toBe(1);
    const visitorId = await visitorIdOf(page);
    expect(visitorId).toMatch(/^[0-9a-f]{32}$/);
    await page.screenshot({ path: path.join(SHOTS, "storefront-home.png"), fullPage: true });

    // Home → a product → its collection → another product, added to the cart with the theme's fetch.
    const first = demo.store.products[0];
    await page.locator(`a.card[href="/products/${first.handle}"]`).click();
    await page.waitForURL(`**/products/${first.handle}`);
    await page.screenshot({ path: path.join(SHOTS, "storefront-product.png"), fullPage: true });
    const collection = demo.store.collections.find((c) => first.collectionIds.includes(c.id))!;
    await page.locator(`nav.main a[href="/collections/${collection.handle}"]`).click();
    await page.waitForURL(`**/collections/${collection.handle}`);
    await page.screenshot({ path: path.join(SHOTS, "storefront-collection.png"), fullPage: true });
    const chosen = demo.store.products.find(
      (p) => p.collectionIds.includes(collection.id) && p.id !== first.id,
    )!;
    await page.locator(`a.card[href="/products/${chosen.handle}"]`).click();
    await page.waitForURL(`**/products/${chosen.handle}`);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => page.locator("#cart-status").textContent()).toBe("Added to your cart.");
    // slice.js reads /cart.js after the theme's add; give it that round trip before leaving.
    await expect
      .poll(() => page.evaluate(() => sessionStorage.getItem("slice_cart")), { timeout: 10_000 })
      .toMatch(/\?key=/);
    const cart = (await page.evaluate(() => fetch("/cart.js").then((r) => r.json()))) as {
      token: string;
      item_count: number;
    };
    expect(cart.item_count).toBe(1);
    await page.getByRole("link", { name: /^Cart/ }).click();
    await page.waitForURL("**/cart");
    await expect(page.getByRole("cell", { name: chosen.title, exact: true }).count()).resolves.toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "storefront-cart.png"), fullPage: true });
    // A theme's quantity change (fetch /cart/change.js) is a cart change too.
    const changed = await page.evaluate(() =>
      fetch("/cart/change.js", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ line: 1, quantity: 2 }),
      }).then((r) => r.json() as Promise<{ item_count: number; token: string }>),
    );
    expect(changed).toMatchObject({ item_count: 2, token: cart.token });
    // Leaving the page sends what is queued (sendBeacon on page hide).
    await page.goto(`${demo.storefrontUrl}/`);
    await page.close();

    const cartToken = cart.token.split("?")[0];
    const expected: [string, string | null][] = [
      ["session_start", null],
      ["page_view", "/"],
      ["page_view", `/products/${first.handle}`],
      ["product_view", first.id],
      ["page_view", `/collections/${collection.handle}`],
      ["collection_view", collection.id],
      ["page_view", `/products/${chosen.handle}`],
      ["product_view", chosen.id],
      ["cart_update", null],
      ["page_view", "/cart"],
    ];
    const events = () =>
      db.storefrontEvent.findMany({
        where: { visitorId },
        orderBy: { occurredAt: "asc" },
        select: { type: true, resourceId: true },
      });
    // Each page's batch goes with sendBeacon as it is left; they may arrive in any order.
    const missing = async () => {
      const stored = await events();
      return expected.filter(([type, id]) => !stored.some((e) => e.type === type && e.resourceId === id));
    };
    await expect.poll(missing, { timeout: 20_000, interval: 250 }).toEqual([]);
    const visitor = await db.visitor.findUniqueOrThrow({ where: { id: visitorId } });
    expect(visitor).toMatchObject({
      cartToken,
      landingPage: "/",
      deviceType: "desktop",
      customerShopifyId: null,
      sessions: 1,
    });
    expect((await events()).filter((e) => e.type === "session_start")).toHaveLength(1);
    await expect
      .poll(async () => (await events()).filter((e) => e.type === "cart_update").length, { timeout: 20_000 })
      .toBe(2);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("links a logged-in customer (the proxy's signed logged_in_customer_id), chosen with the log-in-as switch", async () => {
    const { context, page } = await shopper(true);
    await page.goto(demo.storefrontUrl);
    const choice = await page.locator("#login-as option").nth(1).getAttribute("value");
    expect(choice).toMatch(/^\d+$/);
    // The switch submits itself (a GET that sets the cookie and comes back to this page).
    await page.selectOption("#login-as", choice!);
    await expect
      .poll(() => page.locator("label[for=login-as]").textContent(), { timeout: 10_000 })
      .toBe("Logged in as");
    await page.waitForLoadState("load");
    const config = JSON.parse((await page.locator("#slice-config").textContent())!) as { customerId: string };
    expect(config.customerId).toBe(choice);
    const visitorId = await visitorIdOf(page);
    await page.screenshot({ path: path.join(SHOTS, "storefront-logged-in.png") });
    await page.goto(`${demo.storefrontUrl}/cart`);
    await expect
      .poll(async () => (await db.visitor.findUnique({ where: { id: visitorId } }))?.customerShopifyId, {
        timeout: 20_000,
        interval: 250,
      })
      .toBe(choice);
    await context.close();
  });

  it("stores nothing but the answer for a visitor without analytics consent", async () => {
    const { context, page } = await shopper(false);
    await page.goto(demo.storefrontUrl);
    const visitorId = await visitorIdOf(page);
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
    expect(await db.visitor.count({ where: { id: visitorId } })).toBe(0);
    expect(await db.storefrontEvent.count({ where: { visitorId } })).toBe(0);

    // The question block on the home page: the answer is what the shopper asked to send.
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

    await expect
      .poll(() => db.storefrontEvent.count({ where: { visitorId } }), { timeout: 20_000, interval: 250 })
      .toBe(1);
    const events = await db.storefrontEvent.findMany({ where: { visitorId } });
    expect(events.map((e) => [e.type, e.resourceId])).toEqual([["answer", "intent=Looking for a gift"]]);
    const visitor = await db.visitor.findUniqueOrThrow({ where: { id: visitorId } });
    expect(visitor).toMatchObject({
      cartToken: null,
      landingPage: null,
      referrer: null,
      deviceType: null,
      sessions: 0,
    });
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

  it("asks for consent with the demo's banner and, once given, sends what the page was holding", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await noMessages(context);
    const page = await context.newPage();
    const product = demo.store.products[2];
    await page.goto(`${demo.storefrontUrl}/products/${product.handle}`);
    const banner = page.getByRole("region", { name: "Cookie consent" });
    await expect.poll(() => banner.isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, "storefront-consent-banner.png") });
    const visitorId = await visitorIdOf(page);
    await page.waitForTimeout(3500); // past the first flush: nothing may have been sent yet
    expect(await db.storefrontEvent.count({ where: { visitorId } })).toBe(0);
    await banner.getByRole("button", { name: "Accept" }).click();
    await expect.poll(() => banner.isVisible()).toBe(false);
    await expect
      .poll(
        async () =>
          (await db.storefrontEvent.findMany({ where: { visitorId }, select: { type: true } }))
            .map((e) => e.type)
            .sort(),
        { timeout: 20_000, interval: 250 },
      )
      .toEqual(["page_view", "product_view", "session_start"]);
    // The choice is kept: the next page shows no banner and is recorded.
    await page.goto(demo.storefrontUrl);
    await expect(banner.isVisible()).resolves.toBe(false);
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
    await page.goto(demo.storefrontUrl);
    const visitorId = await visitorIdOf(page);
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

    // Dismissed: not on the next page, nor in a later visit (a new tab is a new session).
    await page.goto(`${demo.storefrontUrl}/collections/${demo.store.collections[0].handle}`);
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
    // A first visit, some days ago as far as this test goes: one session stored.
    await page.goto(demo.storefrontUrl);
    const visitorId = await visitorIdOf(page);
    await expect
      .poll(async () => (await db.visitor.findUnique({ where: { id: visitorId } }))?.sessions, {
        timeout: 20_000,
      })
      .toBe(1);
    await page.close();

    // They come back (a new tab: a new session), and add a product to the cart.
    const visit = await context.newPage();
    const product = demo.store.products[3];
    await visit.goto(`${demo.storefrontUrl}/products/${product.handle}`);
    await visit.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => visit.locator("#cart-status").textContent()).toBe("Added to your cart.");
    // Shopify's carts/create webhook and the visitor's cart link both reach the app.
    await expect
      .poll(
        async () => {
          const visitor = await db.visitor.findUnique({ where: { id: visitorId } });
          const cart = visitor?.cartToken
            ? await db.cart.findFirst({ where: { token: visitor.cartToken } })
            : null;
          return [visitor?.sessions, cart?.itemCount];
        },
        { timeout: 20_000, interval: 250 },
      )
      .toEqual([2, 1]);

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
    const link = (await invite.locator("strong").textContent())!;
    expect(link).toMatch(new RegExp(`^https://${demo.store.shop.domain}/discount/[A-Z0-9-]+$`));
    const code = await db.discountCode.findFirstOrThrow({ where: { customerShopifyId: top.id } });
    expect(link.endsWith(`/discount/${code.code}`)).toBe(true);
    await expect(invite.getByRole("button", { name: "Copy your link" }).count()).resolves.toBe(1);
    await expect(
      invite.getByText("Thank you: a friend ordered. Your reward (15% off): THANKS-TEST-0001").count(),
    ).resolves.toBe(1);
    // Not modal: the page keeps the focus, and no welcome popup (they have bought).
    await expect(page.evaluate(() => document.activeElement?.id ?? "")).resolves.not.toBe("slice-message");
    await expect(page.getByRole("dialog").count()).resolves.toBe(0);
    await page.screenshot({
      path: path.join(SHOTS, "storefront-message-referral.png"),
      animations: "disabled",
    });
    await invite.getByRole("button", { name: "Close" }).click();
    await expect.poll(() => invite.count()).toBe(0);
    await context.close();
  });

  it("without analytics consent shows the welcome, stores the dismissal the shopper asked for, and nothing else", async () => {
    const { context, page } = await shopper(false, { messages: true });
    await page.goto(demo.storefrontUrl);
    const visitorId = await visitorIdOf(page);
    const welcome = popup(page, /Welcome/);
    await expect.poll(() => welcome.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    await welcome.getByRole("button", { name: "Close" }).click();
    await expect
      .poll(() => messageEvents(visitorId), { timeout: 20_000, interval: 250 })
      .toEqual([["message_dismissed", "Welcome: first purchase"]]);
    await page.goto(`${demo.storefrontUrl}/products/${demo.store.products[0].handle}`);
    await page.waitForTimeout(3500);
    const stored = await db.storefrontEvent.findMany({ where: { visitorId }, select: { type: true } });
    expect(stored.map((e) => e.type)).toEqual(["message_dismissed"]);
    expect(await db.visitor.findUniqueOrThrow({ where: { id: visitorId } })).toMatchObject({
      sessions: 0,
      landingPage: null,
      cartToken: null,
    });
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
    await expect(admin.getByText(/^1 of \d+ treated, 0 of \d+ held out$/).count()).resolves.toBe(1);
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
      await page.screenshot({
        path: path.join(SHOTS, "storefront-message-corner-scroll.png"),
        animations: "disabled",
      });
      await context.close();
    });

    it("an email sign-up: the address is kept as the shopper's answer, even without analytics consent, and reaches Shopify", async () => {
      const id = await message({
        headline: "Get 10% off your next order",
        body: "Join our list for early access to sales.",
        format: "corner",
        trigger: "load",
        reward: "emailCapture",
        pathContains: JSON.stringify(["/pages/join"]),
      });
      const { context, page } = await shopper(false, { messages: true });
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
