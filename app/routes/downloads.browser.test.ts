/**
 * The admin's downloads clicked in headless Chromium against the real server (the demo): a
 * segment's Export CSV and a data request's Download JSON save files. Twice: under the demo's
 * development sign-in (a cookie), and as inside Shopify's admin, with no cookie at all: the page
 * opened with the `id_token` Shopify puts on the iframe's URL, and every fetch of the page given
 * `Authorization: Bearer <session token>` as App Bridge 4 does (its CDN script cannot load
 * offline, so a small stand-in wraps `fetch` the same way).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Download, Page } from "playwright-core";
import { startDemo, DEMO_SECRET } from "../../dev/demo";
import { launchBrowser } from "../../dev/browser";
import { sendWebhook } from "../../dev/webhooks";

const API_KEY = "slice-demo"; // the demo's SHOPIFY_API_KEY
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;

/** A session token as Shopify's admin signs it for this app and shop. */
function sessionToken(shop: string): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({
    iss: `https://${shop}/admin`,
    dest: `https://${shop}`,
    aud: API_KEY,
    sub: "42",
    exp: now + 300,
    nbf: now - 5,
    iat: now - 5,
    jti: randomUUID(),
    sid: randomUUID(),
  })}`;
  return `${body}.${createHmac("sha256", DEMO_SECRET).update(body).digest("base64url")}`;
}

/** The demo admin under the development sign-in (its cookie). */
async function signedIn(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await page.route(/cdn\.shopify\.com/, (route) => route.abort());
  await page.goto(demo.loginUrl);
  return page;
}

/** A page of the admin as Shopify's iframe opens it: no cookie, a session token only. */
async function embedded(pathname: string): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    // A merchant's browser: authenticate.admin answers 410 to a bot's user agent (HeadlessChrome).
    userAgent: `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${browser.version()} Safari/537.36`,
  });
  const page = await context.newPage();
  await page.route(/cdn\.shopify\.com/, (route) => route.abort());
  const shop = demo.store.shop.domain;
  // App Bridge 4's fetch: the app's own requests get the current session token.
  await page.addInitScript((token: string) => {
    const original = window.fetch.bind(window);
    window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input), location.href);
      if (url.origin !== location.origin) return original(input, init);
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      if (!headers.has("Authorization")) headers.set("Authorization", `Bearer ${token}`);
      return original(input, { ...init, headers });
    };
  }, sessionToken(shop));
  const host = Buffer.from(`admin.shopify.com/store/${shop.replace(".myshopify.com", "")}`).toString(
    "base64url",
  );
  await page.goto(
    `${demo.url}${pathname}?shop=${shop}&host=${host}&embedded=1&id_token=${sessionToken(shop)}`,
  );
  expect(await context.cookies()).toEqual([]);
  return page;
}

async function saved(download: Download): Promise<string> {
  const file = await download.path();
  return readFileSync(file, "utf8");
}

/** Clicks the control and returns the file the browser saved, with its name. */
async function clickAndSave(page: Page, click: () => Promise<void>) {
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 30_000 }), click()]);
  return { name: download.suggestedFilename(), text: await saved(download) };
}

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-downloads-test-"));
  demo = await startDemo({
    port: 0,
    customers: 60,
    seed: 5,
    databaseFile: path.join(dir, "demo.sqlite"),
    log: () => {},
  });
  browser = await launchBrowser();
  // A customer asks Shopify for their data: the app keeps the file for the merchant.
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
        data_request: { id: 9001 },
      },
    },
    DEMO_SECRET,
  );
  expect(response.status).toBe(200);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/**
 * The segment's size on its page once the demo's history is in: the backfill has built the
 * segments and the size holds still across reloads (the export is computed now, the size as
 * webhooks are applied).
 */
async function settledSize(page: Page): Promise<number> {
  let last = -1;
  await expect
    .poll(
      async () => {
        await page.reload();
        const text = (await page.locator("#segment-size").count())
          ? await page.locator("#segment-size").textContent()
          : "";
        const size = text ? Number(text.replace(/\D/g, "")) : 0;
        const settled = size > 0 && size === last;
        last = size;
        return settled;
      },
      { timeout: 120_000, interval: 2000 },
    )
    .toBe(true);
  return last;
}

describe("downloads in the admin", () => {
  it("saves a segment's CSV and a data request's JSON under the development sign-in", async () => {
    const page = await signedIn();
    await page.goto(`${demo.url}/app/segments/first-time-customers`);
    const size = await settledSize(page);
    const csv = await clickAndSave(page, () => page.getByRole("button", { name: "Export CSV" }).click());
    expect(csv.name).toBe("first-time-customers.csv");
    const lines = csv.text.trimEnd().split("\n");
    expect(lines[0]).toBe(
      "shopifyId,email,firstName,lastName,countryCode,ordersCount,totalSpent,currency,lastOrderAt",
    );
    expect(lines.length - 1).toBe(size);

    await page.goto(`${demo.url}/app/sync`);
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByRole("button", { name: "Download JSON" }).count();
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    const json = await clickAndSave(page, () =>
      page.getByRole("button", { name: "Download JSON" }).first().click(),
    );
    expect(json.name).toMatch(/^data-request-\d+\.json$/);
    expect(JSON.parse(json.text)).toMatchObject({ request: { id: "9001" } });
    await page.close();
  });

  it("saves the same files inside Shopify's admin, with a session token and no cookie", async () => {
    const page = await embedded("/app/segments/first-time-customers");
    const size = await settledSize(page);
    const csv = await clickAndSave(page, () => page.getByRole("button", { name: "Export CSV" }).click());
    expect(csv.name).toBe("first-time-customers.csv");
    expect(csv.text.trimEnd().split("\n").length - 1).toBe(size);

    const home = await embedded("/app/sync");
    const json = await clickAndSave(home, () =>
      home.getByRole("button", { name: "Download JSON" }).first().click(),
    );
    expect(JSON.parse(json.text)).toMatchObject({ request: { id: "9001" } });
    await page.context().close();
    await home.context().close();
  });

  it("says why when the server refuses the download, and saves nothing", async () => {
    const page = await embedded("/app/segments/first-time-customers");
    // The session token stops being accepted (as when the shop's session is gone).
    await page.evaluate(() => {
      const original = window.fetch.bind(window);
      window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
        const headers = new Headers(init?.headers);
        headers.set("Authorization", "Bearer not-a-session-token");
        return original(input, { ...init, headers });
      };
    });
    let downloads = 0;
    page.on("download", () => downloads++);
    await page.getByRole("button", { name: "Export CSV" }).click();
    await expect.poll(() => page.locator("#download-error").textContent()).toContain("HTTP 401");
    expect(downloads).toBe(0);
    await page.context().close();
  });
});
