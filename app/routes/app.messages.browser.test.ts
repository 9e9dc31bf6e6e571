/**
 * Storefront messages in the admin, as a merchant uses them: the real demo (server process,
 * replayed webhooks, backfill) in headless Chromium. The starter messages are listed paused; a
 * new message is refused on the field that is wrong, then saved, listed, paused with the list's
 * kill switch, switched on again and deleted from its page. Screenshots go to test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { startDemo } from "../../dev/demo";
import { launchBrowser } from "../../dev/browser";

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

/** Unfolds one of the form's sections (a no-op when it is open). */
async function openSection(page: Page, id: string) {
  const section = page.locator(`[data-section="${id}"]`);
  if ((await section.getAttribute("data-open")) === "no") await section.locator("h2 button").click();
  await expect.poll(() => section.getAttribute("data-open")).toBe("yes");
}

/** The list's row for a message, found by its name. */
function rowOf(page: Page, name: string) {
  return page.locator("tr").filter({ has: page.getByRole("link", { name, exact: true }) });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-messages-test-"));
  demo = await startDemo({
    port: 0,
    customers: 80,
    seed: 5,
    databaseFile: path.join(dir, "demo.sqlite"),
    log: () => {},
  });
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe("messages in the admin", () => {
  it("lists the shop's three starter messages with their segments, and says the app embed must be on", async () => {
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/messages`);
    // The starters are created when the first import of the store's history finishes (the demo
    // then switches them on, so either status is right here).
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator("[data-message]").count();
        },
        { timeout: 120_000, interval: 1000 },
      )
      .toBe(3);
    const starters = {
      "Welcome: first purchase": "First-time visitors",
      "Cart reminder on exit": "Cart abandoners",
      "Referral invite for top customers": "High-spend repeat customers",
    };
    for (const [name, segment] of Object.entries(starters)) {
      const row = rowOf(page, name);
      await expect.poll(() => row.getByRole("link", { name: segment, exact: true }).count()).toBe(1);
      await expect.poll(() => row.getByText(/^(Active|Paused)$/).count()).toBe(1);
      await expect.poll(() => row.getByRole("button", { name: /^(Pause|Switch on) / }).count()).toBe(1);
    }
    await expect.poll(() => page.getByText('Turn on the "Slice messages" app embed').count()).toBe(1);
    await expect.poll(() => page.getByRole("link", { name: "Messages" }).count()).toBeGreaterThan(0);
    await page.close();
  });

  it("refuses a message without a headline on that field, keeps what was typed, then saves it and lists it", async () => {
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/messages`);
    await page.getByRole("link", { name: "Create message" }).first().click();
    await page.waitForURL(/\/app\/messages\/new$/);
    await page.waitForSelector('[data-messages-ready="yes"]', { state: "attached" });

    await page.getByLabel("Name", { exact: true }).fill("Sale reminder for lapsed customers");
    await page.getByLabel("Segment", { exact: true }).selectOption("lapsed-customers");
    await page.locator("label").filter({ hasText: "Corner message" }).click();
    await page.getByLabel("Show it").selectOption("scroll");
    await page.getByLabel("How far down the page").fill("40");
    await page.locator("label").filter({ hasText: "Product pages" }).click();
    await page
      .getByLabel("Text", { exact: true })
      .fill("It's been a while: everything in the sale is 20% off.");
    await page.getByLabel("Button label").fill("See the sale");
    await page.getByLabel("Button link").fill("/collections/sale");
    await page.getByRole("button", { name: "Save message" }).click();

    // Refused: the headline's field says why, the banner lists it, nothing typed is lost.
    await expect.poll(() => page.getByText("The message was not saved").count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => page.getByText("Headline: give a headline").count()).toBe(1);
    await expect.poll(() => page.getByLabel("Headline").getAttribute("aria-invalid")).toBe("true");
    await expect.poll(() => page.getByText("give a headline", { exact: true }).count()).toBe(1);
    await expect
      .poll(() => page.getByLabel("Name", { exact: true }).inputValue())
      .toBe("Sale reminder for lapsed customers");
    await expect.poll(() => page.getByLabel("How far down the page").inputValue()).toBe("40");
    await expect.poll(() => page.getByLabel("Button link").inputValue()).toBe("/collections/sale");
    await page.screenshot({ path: path.join(SHOTS, "admin-message-form-refused.png"), fullPage: true });

    await page.getByLabel("Headline").fill("We saved you a discount");
    await expect
      .poll(() => page.locator('[data-preview-format="corner"]').getByText("We saved you a discount").count())
      .toBe(1);
    // The preview follows the format chosen.
    for (const [label, format] of [
      ["Sticky bar", "bar"],
      ["Popup", "popup"],
    ] as const) {
      await page.locator("label").filter({ hasText: label }).click();
      const preview = page.locator(`[data-preview-format="${format}"]`);
      await expect.poll(() => preview.getByText("We saved you a discount").count()).toBe(1);
      await preview.screenshot({ path: path.join(SHOTS, `admin-message-preview-${format}.png`) });
    }
    await page.locator("label").filter({ hasText: "Corner message" }).click();
    // From the top: the admin's bar and navigation are fixed, and a full-page shot taken scrolled
    // would draw them halfway down.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SHOTS, "admin-message-form.png"), fullPage: true });
    await page.getByRole("button", { name: "Save message" }).click();

    // Back to the list, with a toast saying so.
    await page.waitForURL(/\/app\/messages$/);
    await expect.poll(() => page.getByText("Message saved").count()).toBe(1);
    const row = rowOf(page, "Sale reminder for lapsed customers");
    await expect.poll(() => row.getByText("Lapsed customers", { exact: true }).count()).toBe(1);
    await expect.poll(() => row.getByText("Corner message · At 40% scroll").count()).toBe(1);
    await expect.poll(() => row.getByText("Active", { exact: true }).count()).toBe(1);
    await page.close();
  });

  it("gives a message a first-purchase discount and an exclusion, and reopened it keeps them", async () => {
    const page = await openAdmin();
    // The image is served here: the test runs offline.
    await page.route(/images\.example\.com/, (route) =>
      route.fulfill({
        contentType: "image/svg+xml",
        body: '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="120"><rect width="320" height="120" fill="#e8d5b7"/><circle cx="60" cy="60" r="36" fill="#c0713a"/><rect x="120" y="40" width="160" height="14" rx="7" fill="#fff"/><rect x="120" y="66" width="110" height="14" rx="7" fill="#fff"/></svg>',
      }),
    );
    await page.goto(`${demo.url}/app/messages`);
    const name = "Sale reminder for lapsed customers";
    await rowOf(page, name).getByRole("link", { name, exact: true }).click();
    await page.waitForURL(/\/app\/messages\/\d+$/);
    await page.waitForSelector('[data-messages-ready="yes"]', { state: "attached" });

    await page.getByLabel("Image link").fill("https://images.example.com/sale.svg");
    await page.locator("label").filter({ hasText: "First-purchase discount" }).click();
    await page.getByLabel("Discount type").selectOption("amount");
    await page.getByLabel("Discount value").fill("5.00");
    await page.getByLabel("Code valid for").fill("14");
    await page.getByLabel("Minimum order subtotal").fill("30");
    await page.getByRole("button", { name: "Choose segments: …but not in" }).click();
    await page
      .getByRole("group", { name: "…but not in" })
      .locator("label")
      .filter({ hasText: "High-spend repeat customers" })
      .click();
    await page.keyboard.press("Escape");
    await expect.poll(() => page.getByRole("group", { name: "…but not in" }).count()).toBe(0);
    // A saved message opens with its schedule and experiment folded.
    await openSection(page, "schedule");
    await openSection(page, "experiment");
    await page.getByLabel("Ends").fill("2027-01-31T23:00");
    await page.getByLabel("Holdout").fill("20");
    // The preview shows the image and where the shopper's code goes.
    const preview = page.locator('[data-preview-format="corner"]');
    await expect.poll(() => preview.getByText("WELCOME-7KQ4").count()).toBe(1);
    await expect
      .poll(() => preview.locator('img[alt=""]').evaluate((img: HTMLImageElement) => img.naturalWidth))
      .toBeGreaterThan(0);
    await preview.screenshot({ path: path.join(SHOTS, "admin-message-preview-reward.png") });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SHOTS, "admin-message-form-reward.png"), fullPage: true });
    await page.getByRole("button", { name: "Save message" }).click();

    await page.waitForURL(/\/app\/messages$/);
    const row = rowOf(page, name);
    await expect.poll(() => row.getByText("$5.00 first purchase", { exact: true }).count()).toBe(1);
    await expect.poll(() => row.getByText("20% held out", { exact: true }).count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "admin-messages-list-reward.png"), fullPage: true });

    await row.getByRole("link", { name, exact: true }).click();
    await page.waitForURL(/\/app\/messages\/\d+$/);
    await page.waitForSelector('[data-messages-ready="yes"]', { state: "attached" });
    await expect
      .poll(() =>
        page.locator("label").filter({ hasText: "First-purchase discount" }).locator("input").isChecked(),
      )
      .toBe(true);
    await expect.poll(() => page.getByLabel("Discount type").inputValue()).toBe("amount");
    await expect.poll(() => page.getByLabel("Discount value").inputValue()).toBe("5.00");
    await expect.poll(() => page.getByLabel("Code valid for").inputValue()).toBe("14");
    await expect.poll(() => page.getByLabel("Minimum order subtotal").inputValue()).toBe("30.00");
    await expect
      .poll(() =>
        page.locator('[data-segment-picker="exclude"]').getByText("High-spend repeat customers").count(),
      )
      .toBe(1);
    await openSection(page, "schedule");
    await openSection(page, "experiment");
    await expect.poll(() => page.getByLabel("Ends").inputValue()).toBe("2027-01-31T23:00");
    await expect.poll(() => page.getByLabel("Holdout").inputValue()).toBe("20");
    await expect
      .poll(() => page.getByLabel("Image link").inputValue())
      .toBe("https://images.example.com/sale.svg");
    await page.close();
  });

  it("pauses a message from the list (and it stays paused), then switches it on and deletes it from its page", async () => {
    const page = await openAdmin();
    await page.goto(`${demo.url}/app/messages`);
    const name = "Sale reminder for lapsed customers";
    const row = rowOf(page, name);
    await row.getByRole("button", { name: `Pause ${name}` }).click();
    await expect.poll(() => row.getByText("Paused", { exact: true }).count(), { timeout: 10_000 }).toBe(1);
    await page.reload();
    await expect.poll(() => row.getByText("Paused", { exact: true }).count()).toBe(1);
    await expect.poll(() => row.getByRole("button", { name: `Switch on ${name}` }).count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "admin-messages-list.png"), fullPage: true });

    await row.getByRole("link", { name, exact: true }).click();
    await page.waitForURL(/\/app\/messages\/\d+$/);
    await page.waitForSelector('[data-messages-ready="yes"]', { state: "attached" });
    await expect.poll(() => page.getByLabel("Active", { exact: true }).isChecked()).toBe(false);
    await page.getByRole("button", { name: "Switch on" }).click();
    await expect
      .poll(() => page.getByText("Switched on: shoppers in the segment can see it from now on.").count())
      .toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "admin-message-switched-on.png"), fullPage: true });
    await expect.poll(() => page.getByLabel("Active", { exact: true }).isChecked()).toBe(true);

    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Delete message" }).click();
    await page.waitForURL(/\/app\/messages\?deleted=1$/);
    await expect.poll(() => page.getByText("Message deleted").count()).toBe(1);
    await expect.poll(() => page.getByRole("link", { name, exact: true }).count()).toBe(0);
    await expect.poll(() => page.locator("[data-message]").count()).toBe(3);
    await page.close();
  });
  it("folds its sections, keeps the preview in view, guards unsaved edits and saves a referral's two rewards with a toast", async () => {
    const page = await openAdmin();
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${demo.url}/app/messages/new`);
    await page.waitForSelector('[data-messages-ready="yes"]', { state: "attached" });

    // What a merchant sets first is open; schedule and experiment are folded, saying what they hold.
    for (const id of ["audience", "content", "offer", "display"])
      await expect.poll(() => page.locator(`[data-section="${id}"]`).getAttribute("data-open")).toBe("yes");
    const schedule = page.locator('[data-section="schedule"]');
    await expect.poll(() => schedule.getAttribute("data-open")).toBe("no");
    await expect.poll(() => schedule.getByText("As soon as it is active, no end").count()).toBe(1);
    await expect.poll(() => page.getByLabel("Holdout").count()).toBe(0);
    // A section folds to its summary, and opens again.
    const display = page.locator('[data-section="display"]');
    await display.locator("h2 button").click();
    await expect.poll(() => display.getAttribute("data-open")).toBe("no");
    await expect.poll(() => page.getByLabel("Show it").count()).toBe(0);
    await expect
      .poll(() => display.getByText("Popup · After a number of seconds · every page").count())
      .toBe(1);
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThan(2000);

    await page.getByLabel("Name", { exact: true }).fill("Give 15%, get $10");
    await page.getByLabel("Segment", { exact: true }).selectOption("high-spend-repeat");
    await page.getByLabel("Headline").fill("Share the love");
    await page.locator("label").filter({ hasText: "Referral invite" }).click();
    await page.getByLabel("Discount value").fill("15");
    await page.getByLabel("Referrer's reward type").selectOption("amount");
    await page.getByLabel("Referrer's reward", { exact: true }).fill("10.00");
    await expect
      .poll(() => page.locator("[data-preview-terms]").first().textContent())
      .toBe("Give 15%, get $10.00");
    // Unsaved: the contextual save bar is up.
    await expect.poll(() => page.getByText("Unsaved message").count()).toBe(1);

    // Scrolled to the bottom of the form, the preview is still wholly in view.
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(300);
    const box = await page.locator("[data-preview-panel]").boundingBox();
    expect(box).not.toBeNull();
    expect(box!.y).toBeGreaterThanOrEqual(0);
    expect(box!.y + box!.height).toBeLessThanOrEqual(800);
    await page.screenshot({ path: path.join(SHOTS, "admin-message-form-scrolled.png") });

    // Leaving through the app's navigation asks first ("Leave without saving?"), and staying keeps
    // every edit.
    await page.getByRole("link", { name: "Segments" }).first().click();
    const leave = page.getByRole("dialog", { name: "Leave without saving?" });
    await expect.poll(() => leave.count()).toBe(1);
    await leave.getByRole("button", { name: "Stay" }).click();
    await expect.poll(() => leave.count()).toBe(0);
    expect(new URL(page.url()).pathname).toBe("/app/messages/new");
    await expect.poll(() => page.getByLabel("Referrer's reward", { exact: true }).inputValue()).toBe("10.00");

    // Saved from the save bar: back to the list, a toast, and the two rewards in the list.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForURL(/\/app\/messages$/);
    await expect.poll(() => page.getByText("Message saved").count()).toBe(1);
    const row = rowOf(page, "Give 15%, get $10");
    await expect.poll(() => row.getByText("Referral: give 15%, get $10.00").count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "admin-message-saved-toast.png") });

    // Reopened: nothing unsaved, so no save bar; on a narrow screen the preview is behind a button.
    await row.getByRole("link", { name: "Give 15%, get $10", exact: true }).click();
    await page.waitForURL(/\/app\/messages\/\d+$/);
    await page.waitForSelector('[data-messages-ready="yes"]', { state: "attached" });
    await expect.poll(() => page.getByText("Unsaved message").count()).toBe(0);
    await expect.poll(() => page.getByLabel("Referrer's reward", { exact: true }).inputValue()).toBe("10.00");
    await page.setViewportSize({ width: 600, height: 900 });
    await expect.poll(() => page.locator("[data-preview-panel]").isVisible()).toBe(false);
    await page.getByRole("button", { name: "Preview", exact: true }).click();
    await expect.poll(() => page.locator("[data-preview-panel]").isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, "admin-message-form-narrow-preview.png") });
    await page.close();
  });
});
