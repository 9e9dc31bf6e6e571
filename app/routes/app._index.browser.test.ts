/**
 * The demo, as a person uses it: the real server process, a generated store replayed through the
 * signed webhook endpoint, the backfill through the Admin API stand-in, and the admin opened in
 * headless Chromium. Screenshots go to test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { startDemo, DEMO_SECRET } from "../../dev/demo";
import { launchBrowser } from "../../dev/browser";
import { sendWebhook } from "../../dev/webhooks";
import { spawnTs } from "../../dev/processes";

const SHOTS = process.env.SLICE_SHOTS ? path.resolve(process.env.SLICE_SHOTS) : path.resolve("test-results");
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;
let databaseFile: string;

async function openAdmin(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Offline: App Bridge's CDN script is not reachable, and the dev shell does not need it.
  await page.route(/cdn\.shopify\.com/, (route) => route.abort());
  await page.goto(demo.loginUrl);
  return page;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-demo-test-"));
  demo = await startDemo({
    port: 0,
    customers: 80,
    seed: 3,
    databaseFile: (databaseFile = path.join(dir, "demo.sqlite")),
    log: () => {},
  });
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe("the demo admin", () => {
  it("shows the demo store's sync health once the history is in", async () => {
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/sync`);
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator("#count-customers").textContent();
        },
        { timeout: 120_000, interval: 1000 },
      )
      .toBe(String(demo.store.customers.length));
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator("#count-orders").textContent();
        },
        { timeout: 120_000, interval: 1000 },
      )
      .toBe(String(demo.store.orders.length));
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByText("Finished").count();
        },
        { timeout: 120_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    // Nothing failed for good: on this shared machine a webhook can meet SQLite's lock held by the
    // backfill ("database is locked") and is applied on its retry 5 s later (inbox.server.ts).
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByText("Nothing failed").count();
        },
        { timeout: 60_000, interval: 2000 },
      )
      .toBe(1);
    // Carts arrive by webhook only (no bulk import): the replay's last ones may still be applying.
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator("#count-carts").textContent();
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe(String(demo.store.carts.length));
    await expect(page.getByRole("heading", { name: "Sync health" }).count()).resolves.toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "admin-sync-health.png"), fullPage: true });
    await page.close();
  });

  it("explains a webhook it could not apply in words, with the raw error behind Technical details, and retries it", async () => {
    const response = await sendWebhook(
      `${demo.url}/webhooks`,
      {
        topic: "orders/create",
        shop: demo.store.shop.domain,
        payload: { id: 1, currency: "USD", line_items: [] },
      },
      DEMO_SECRET,
    );
    expect(response.status).toBe(200);
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/sync`);
    const words = "A new order came from Shopify in a shape Slice does not accept, so it was not applied.";
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByText(words).count();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBeGreaterThan(0);
    // The raw error is there, but only once the merchant asks for it.
    await expect(page.getByText("order: total_price: Required").isVisible()).resolves.toBe(false);
    await page.getByRole("button", { name: "Technical details" }).first().click();
    await expect.poll(() => page.getByText("order: total_price: Required").first().isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, "admin-failed-event.png"), fullPage: true });
    await page.getByRole("button", { name: "Retry", exact: true }).first().click();
    await expect.poll(() => page.getByText("1 event queued again").count(), { timeout: 10_000 }).toBe(1);
    await page.close();
  });

  it("lists a customer's data request with its 30-day due date, and marks it sent", async () => {
    const customer = demo.store.customers[0];
    const response = await sendWebhook(
      `${demo.url}/webhooks`,
      {
        topic: "customers/data_request",
        shop: demo.store.shop.domain,
        payload: {
          shop_id: 1,
          shop_domain: demo.store.shop.domain,
          orders_requested: [],
          customer: { id: customer.id, email: customer.email, phone: null },
          data_request: { id: 9002 },
        },
      },
      DEMO_SECRET,
    );
    expect(response.status).toBe(200);
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/sync`);
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByRole("button", { name: "Mark as sent" }).count();
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    await expect(page.getByText("Due in 30 days").count()).resolves.toBeGreaterThan(0);
    await page.getByRole("button", { name: "Mark as sent" }).first().click();
    await expect.poll(() => page.getByText(/^Sent /).count()).toBeGreaterThan(0);
    await page.locator("text=Data requests").first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, "sync-data-requests.png"), fullPage: true });
    await page.close();
  });

  it("home: the setup guide with real state, the theme editor's deep link while the embed is off, then the live figures", async () => {
    const page = await openAdmin();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${demo.url}/app`);
    // The demo ends live but for one step: the history is in, the embed on, its messages switched on.
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator("#setup-progress").textContent();
        },
        { timeout: 120_000, interval: 1000 },
      )
      .toBe("3 of 4 tasks complete");
    await expect(page.locator('[data-step="segment"]').getAttribute("data-done")).resolves.toBe("no");

    // The merchant switches the embed off in the theme editor: "I've turned it on" reads the theme again.
    demo.store.theme.appEmbed = "off";
    await page.evaluate(() => window.dispatchEvent(new Event("focus")));
    await expect
      .poll(() => page.locator("#setup-progress").textContent(), { timeout: 15_000 })
      .toBe("2 of 4 tasks complete");
    if (!(await page.locator("#embed-activate").isVisible()))
      await page.locator('[data-step="embed"] button').first().click();
    const href = await page.locator("#embed-activate").getAttribute("href");
    expect(href).toBe(
      `https://${demo.store.shop.domain}/admin/themes/current/editor?context=apps&activateAppId=slice-demo/slice-embed`,
    );
    await expect(page.locator("#embed-state").textContent()).resolves.toContain("switched off");
    // No message reaches shoppers with the embed off: no figures yet.
    await expect(page.locator("#revenue-attributed").count()).resolves.toBe(0);
    await page.screenshot({ path: path.join(SHOTS, "home-embed-off.png"), fullPage: true });

    // Switched on again, and a segment reviewed: every step done, the figures of a live shop.
    demo.store.theme.appEmbed = "on";
    await page.getByRole("button", { name: "I've turned it on" }).click();
    await expect
      .poll(() => page.locator("#setup-progress").textContent(), { timeout: 15_000 })
      .toBe("3 of 4 tasks complete");
    // A message is live on the store now: its figures show, with the guide's last step still open.
    await expect.poll(() => page.locator("#revenue-attributed").count()).toBe(1);
    // The next step to do opens by itself.
    await page.getByRole("link", { name: /^Review "/ }).click();
    await page.waitForURL(/\/app\/segments\/[\w-]+$/);
    await page.getByRole("link", { name: "Home" }).first().click();
    await page.waitForURL(/\/app$/);
    await expect.poll(() => page.locator("#setup-progress").textContent()).toBe("4 of 4 tasks complete");
    await expect(page.locator("#active-messages").textContent()).resolves.toMatch(/^[1-9]\d*$/);
    await expect(page.locator("#revenue-attributed").textContent()).resolves.toMatch(/^\$[\d,]+\.\d\d$/);
    await expect(page.getByText("Segments that changed most this week").count()).resolves.toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "home-live.png"), fullPage: true });
    await page.getByRole("button", { name: "Dismiss guide" }).click();
    await expect.poll(() => page.locator("#setup-progress").count()).toBe(0);
    expect(errors.filter((e) => /hydrat|#418|#423|#425/i.test(e))).toEqual([]);
    await page.close();
  });

  it("home: a failed history import says why in words, keeps the built-ins, and Retry imports it again", async () => {
    const { createPrismaClient } = await import("../db.server");
    const db = createPrismaClient(`file:${databaseFile}`);
    try {
      const shop = await db.shop.findUniqueOrThrow({ where: { domain: demo.store.shop.domain } });
      await db.syncRun.create({
        data: {
          shopId: shop.id,
          kind: "backfill",
          status: "failed",
          error: "fetch failed",
          finishedAt: new Date(),
        },
      });
      await db.shop.update({
        where: { id: shop.id },
        data: {
          backfillStatus: "failed",
          backfillAttempts: 1,
          backfillRetryAt: new Date(Date.now() + 3600_000),
          setupDismissedAt: null,
        },
      });
      const page = await openAdmin();
      await page.goto(`${demo.url}/app`);
      await expect
        .poll(() => page.locator("#import-failure").textContent())
        .toBe("Shopify could not be reached, or did not answer, while importing your history.");
      await expect(page.getByText("fetch failed").isVisible()).resolves.toBe(false);
      await page.screenshot({ path: path.join(SHOTS, "home-import-failed.png"), fullPage: true });
      // The built-in segments are there whatever the import did.
      expect(await db.segment.count({ where: { shopId: shop.id, preset: { not: null } } })).toBeGreaterThan(
        5,
      );
      await page.locator("#import-retry").click();
      // The import runs again (the page follows it on its own) and finishes.
      await expect
        .poll(() => page.locator("#import-progress").count(), { timeout: 30_000, interval: 250 })
        .toBe(1);
      await page.screenshot({ path: path.join(SHOTS, "home-import-progress.png"), fullPage: true });
      await expect
        .poll(() => page.locator('[data-step="history"]').getAttribute("data-done"), {
          timeout: 120_000,
          interval: 1000,
        })
        .toBe("yes");
      await page.screenshot({ path: path.join(SHOTS, "home-import-retried.png"), fullPage: true });
      await page.close();
    } finally {
      await db.$disconnect();
    }
  });

  it("lists the built-in segments with their sizes, explains a member and exports the members", async () => {
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
    await page.screenshot({ path: path.join(SHOTS, "segments-list.png"), fullPage: true });
    await page.locator('[data-segment="high-spend-repeat"]').click();
    await page.waitForSelector("#segment-size");
    const size = Number((await page.locator("#segment-size").textContent())!.replace(/\D/g, ""));
    expect(size).toBeGreaterThan(0);
    const csv = await (await page.request.get(`${demo.url}/app/segments/high-spend-repeat/export`)).text();
    const lines = csv.trim().split("\n");
    expect(lines[0]).toBe(
      "shopifyId,email,firstName,lastName,countryCode,ordersCount,totalSpent,currency,lastOrderAt",
    );
    expect(lines.length - 1).toBe(size);
    await page.getByLabel("Customer id").fill(lines[1].split(",")[0]);
    await page.getByRole("button", { name: "Explain" }).click();
    await expect.poll(() => page.locator("#why-verdict").textContent()).toContain("is in this segment");
    await page.screenshot({ path: path.join(SHOTS, "segment-detail.png"), fullPage: true });
    await page.close();
  });

  it("builds a segment from conditions, sees its live size, saves it and exports exactly that many", async () => {
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/segments`);
    await page.getByRole("link", { name: "Create segment" }).click();
    await page.waitForSelector('[data-builder-ready="yes"]', { state: "attached" });
    await page.getByLabel("Name").fill("Repeat buyers outside the US");

    // First condition: number of orders is at least 2.
    const first = page.locator('[data-row="condition"]').first();
    await first.getByLabel("Field").fill("Number of orders");
    await page.getByRole("option", { name: "Number of orders", exact: true }).click();
    await first.getByLabel("Operator").selectOption("gte");
    await first.getByLabel("Value").fill("2");
    // A live size appears for the rule so far.
    await expect.poll(() => page.locator("#preview-size").count(), { timeout: 15_000 }).toBe(1);

    // A typo is refused on the row, and saving waits for it to be fixed.
    await first.getByLabel("Value").fill("2.5");
    await page.getByLabel("Name").focus(); // problems show once the merchant leaves the row
    await expect.poll(() => page.getByText("enter a whole number").count()).toBe(1);
    await first.getByLabel("Value").fill("2");
    await expect.poll(() => page.getByText("enter a whole number").count()).toBe(0);

    // Second condition: country is none of US, picked from the shop's own countries.
    await page.getByRole("button", { name: "Add condition" }).first().click();
    const second = page.locator('[data-row="condition"]').nth(1);
    await second.getByLabel("Field").fill("Country");
    await page.getByRole("option", { name: "Country", exact: true }).click();
    await second.getByLabel("Operator").selectOption("notIn");
    await second.getByPlaceholder("Search countries").fill("US");
    await page.getByRole("option", { name: "United States (US)" }).click();
    await page.keyboard.press("Escape");
    await expect.poll(() => second.getByText("United States (US)").count()).toBe(1);

    const expected = demo.store.customers.filter(
      (c) =>
        c.countryCode !== "US" &&
        demo.store.orders.filter((o) => o.customerId === c.id && !o.cancelledAt).length >= 2,
    ).length;
    await expect
      .poll(
        async () => Number(((await page.locator("#preview-size").textContent()) ?? "").replace(/\D/g, "")),
        {
          timeout: 15_000,
        },
      )
      .toBe(expected);
    await expect(page.locator("#preview-band").textContent()).resolves.toMatch(
      /Too small|Measured with others|Micro|Too broad/,
    );
    await page.screenshot({ path: path.join(SHOTS, "segment-builder.png"), fullPage: true });

    await page.getByRole("button", { name: "Save segment" }).click();
    await page.waitForURL(/\/app\/segments\/repeat-buyers-outside-the-us$/);
    const size = Number((await page.locator("#segment-size").textContent())!.replace(/\D/g, ""));
    expect(size).toBe(expected);
    const csv = await (
      await page.request.get(`${demo.url}/app/segments/repeat-buyers-outside-the-us/export`)
    ).text();
    expect(csv.trim().split("\n").length - 1).toBe(size);
    await page.screenshot({ path: path.join(SHOTS, "segment-saved.png"), fullPage: true });

    // Saving again under a handle another segment has is refused, with the field named.
    await page.getByRole("link", { name: "Edit", exact: true }).click();
    await page.waitForURL(/\/app\/segments\/repeat-buyers-outside-the-us\/edit$/);
    await page.waitForSelector('[data-builder-ready="yes"]', { state: "attached" });
    await page.getByLabel("Handle").fill("lapsed-customers");
    await page.getByRole("button", { name: "Save segment" }).click();
    await expect
      .poll(() => page.getByText('another segment already uses the handle "lapsed-customers"').count())
      .toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "segment-builder-refused.png"), fullPage: true });
    await page.close();
  });

  it("says what went wrong on a page that does not exist, inside the admin's frame, with no hydration error", async () => {
    const page = await openAdmin();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${demo.url}/app/no-such-page`);
    await expect(page.getByRole("alert").textContent()).resolves.toContain("Page not found");
    // The navigation is still there: the way back is one click.
    await expect(page.getByRole("link", { name: "Sync health" }).count()).resolves.toBeGreaterThan(0);
    await page.waitForLoadState("networkidle");
    expect(errors.filter((e) => /hydrat|#418|#423|#425/i.test(e))).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, "admin-not-found.png") });
    // A page whose loader refuses (a segment that does not exist) gets the same page, in the frame.
    await page.goto(`${demo.url}/app/segments/no-such-segment`);
    await expect(page.getByRole("alert").textContent()).resolves.toContain(
      'There is no segment "no-such-segment"',
    );
    await expect(page.getByRole("link", { name: "Segments" }).count()).resolves.toBeGreaterThan(0);
    expect(errors.filter((e) => /hydrat|#418|#423|#425/i.test(e))).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, "admin-segment-not-found.png") });
    // Outside the admin (no frame to draw): the same words on a Polaris page of its own.
    await page.goto(`${demo.url}/no-such-page`);
    await expect(page.getByRole("alert").textContent()).resolves.toContain(
      "There is no page at this address",
    );
    await page.waitForLoadState("networkidle");
    expect(errors.filter((e) => /hydrat|#418|#423|#425/i.test(e))).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, "root-not-found.png") });
    await page.close();
  });
});

describe("the development sign-in", () => {
  it("cannot be turned on in production", async () => {
    const server = await spawnTs(
      "build/server.mjs",
      { NODE_ENV: "production", SLICE_DEV_LOGIN: "1", PORT: "0", SLICE_WORKER: "0" },
      /listening on (http:\/\/[\d.:]+)/,
    );
    try {
      const login = await fetch(`${server.url}/dev/login?shop=slice-demo.myshopify.com`, {
        redirect: "manual",
      });
      expect(login.status).toBe(404);
      expect(login.headers.get("set-cookie")).toBeNull();
      // Without Shopify's session the admin is not shown: it sends the user to log in.
      const admin = await fetch(`${server.url}/app`, { redirect: "manual" });
      expect([302, 401, 410]).toContain(admin.status);
      expect(await admin.text()).not.toContain("Setup guide");
    } finally {
      await server.stop();
    }
  });
});
