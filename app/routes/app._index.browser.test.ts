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

const SHOTS = path.resolve("test-results");
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;

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
    databaseFile: path.join(dir, "demo.sqlite"),
    log: () => {},
  });
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe("the demo admin", () => {
  it("shows the demo store's sync state once the history is in", async () => {
    const page = await openAdmin();
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
    await expect(page.locator("#count-carts").textContent()).resolves.toBe(String(demo.store.carts.length));
    await expect(page.getByRole("heading", { name: "Sync status" }).count()).resolves.toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "admin-home.png"), fullPage: true });
    await page.close();
  });

  it("lists a webhook it could not apply, with the reason, and retries it on request", async () => {
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
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByText("order: total_price: Required").count();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, "admin-failed-event.png"), fullPage: true });
    await page.getByRole("button", { name: "Retry", exact: true }).first().click();
    await expect.poll(() => page.getByText("1 event queued again").count(), { timeout: 10_000 }).toBe(1);
    await page.close();
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

  it("says what went wrong on a page that does not exist, instead of a blank page", async () => {
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/no-such-page`);
    await expect(page.getByRole("alert").textContent()).resolves.toContain("Page not found");
    await page.screenshot({ path: path.join(SHOTS, "admin-not-found.png") });
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
      expect(await admin.text()).not.toContain("Sync status");
    } finally {
      await server.stop();
    }
  });
});
