/**
 * The segment builder as a merchant meets it, in headless Chromium on the demo: a field found by
 * typing part of its name, a problem shown only once the merchant leaves the row (in plain words),
 * the save bar and the question before leaving with unsaved changes, and a toast once saved.
 * Screenshots go to test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { startDemo } from "../../dev/demo";
import { launchBrowser } from "../../dev/browser";

const SHOTS = path.resolve("test-results");
let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-builder-test-"));
  demo = await startDemo({
    port: 0,
    customers: 30,
    seed: 7,
    databaseFile: path.join(dir, "demo.sqlite"),
    log: () => {},
  });
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe("the segment builder", () => {
  it("finds a field by search, marks an empty value once left, guards unsaved edits and confirms the save", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route(/cdn\.shopify\.com/, (route) => route.abort());
    await page.goto(demo.loginUrl);
    await page.goto(`${demo.url}/app/segments/new`);
    await page.waitForSelector('[data-builder-ready="yes"]', { state: "attached" });
    // Nothing is marked wrong before the merchant has done anything, and nothing is unsaved.
    await expect(page.getByText("Enter an amount").count()).resolves.toBe(0);
    await expect(page.getByText("Unsaved segment").count()).resolves.toBe(0);

    await page.getByLabel("Name").fill("Big spenders");
    const row = page.locator('[data-row="condition"]').first();
    await row.getByLabel("Field").fill("orders");
    await expect
      .poll(() => page.getByRole("option", { name: "Number of orders", exact: true }).count())
      .toBe(1);
    await page.getByRole("option", { name: "Number of orders", exact: true }).click();
    await expect(row.getByLabel("Field").inputValue()).resolves.toBe("Number of orders");
    await row.getByLabel("Field").fill("spent");
    await expect.poll(() => page.getByRole("option", { name: "Total spent", exact: true }).count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "builder-field-search.png") });
    await page.getByRole("option", { name: "Total spent", exact: true }).click();
    await expect(row.getByLabel("Field").inputValue()).resolves.toBe("Total spent");

    // An empty amount: not marked while the merchant is in the row; marked once they leave it.
    await row.getByLabel("Value").click();
    await expect(page.getByText("Enter an amount, like 50.00").count()).resolves.toBe(0);
    await page.getByLabel("Description").click();
    await expect.poll(() => page.getByText("Enter an amount, like 50.00").count()).toBe(1);
    await page
      .locator('[data-row="condition"]')
      .first()
      .screenshot({ path: path.join(SHOTS, "builder-row-error.png") });
    await row.getByLabel("Value").fill("100");
    await expect.poll(() => page.getByText("Enter an amount, like 50.00").count()).toBe(0);
    await expect.poll(() => page.locator("#preview-size").count(), { timeout: 15_000 }).toBe(1);

    // A second condition, between two numbers.
    await page.getByRole("button", { name: "Add condition" }).first().click();
    const second = page.locator('[data-row="condition"]').nth(1);
    await second.getByLabel("Field").fill("number of orders");
    await page.getByRole("option", { name: "Number of orders", exact: true }).click();
    await second.getByLabel("Operator").selectOption("between");
    await second.getByLabel("Value").fill("1");
    await second.getByLabel("and").fill("9");
    await page.getByRole("button", { name: "Change size limits" }).click();
    await expect(page.getByLabel("Smallest useful size").isVisible()).resolves.toBe(true);
    await expect.poll(() => page.getByText("Unsaved segment").count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "builder-unsaved.png"), fullPage: true });

    // Leaving with unsaved changes asks first; staying keeps them.
    await page.getByRole("link", { name: "Segments" }).first().click();
    await expect.poll(() => page.getByText("Leave without saving?").count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "builder-leave-guard.png") });
    await page.getByRole("button", { name: "Stay" }).click();
    await expect(page.getByLabel("Name").inputValue()).resolves.toBe("Big spenders");
    expect(page.url()).toMatch(/\/app\/segments\/new$/);

    await page.getByRole("button", { name: "Save segment" }).click();
    await page.waitForURL(/\/app\/segments\/big-spenders$/);
    await expect.poll(() => page.getByText("Segment saved").count()).toBe(1);
    // Saved: the save bar has gone, and the top bar is the admin's own again.
    await expect.poll(() => page.getByText("Unsaved segment").count()).toBe(0);
    await expect.poll(() => page.getByText("development sign-in").isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, "builder-saved-toast.png") });
    await page.close();
  });

  it("on Save, marks every incomplete row in plain words and saves nothing", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route(/cdn\.shopify\.com/, (route) => route.abort());
    await page.goto(demo.loginUrl);
    await page.goto(`${demo.url}/app/segments/new`);
    await page.waitForSelector('[data-builder-ready="yes"]', { state: "attached" });
    await page.getByLabel("Name").fill("Bought something");
    await page.locator('[data-row="condition"]').first().getByLabel("Field").fill("bought product");
    await page.getByRole("option", { name: "Bought product", exact: true }).click();
    await expect(page.getByText("Pick at least one product").count()).resolves.toBe(0);
    // Leaving the row with a click marks it, once the click has added the next row.
    await page.getByRole("button", { name: "Add condition" }).first().click();
    await expect(page.locator('[data-row="condition"]').count()).resolves.toBe(2);
    await expect.poll(() => page.getByText("Pick at least one product").count()).toBe(1);
    // The new row is untouched: nothing marked on it until Save.
    await expect(page.getByText("Enter an amount, like 50.00").count()).resolves.toBe(0);
    await page.getByRole("button", { name: "Save segment" }).click();
    await expect.poll(() => page.getByText("Enter an amount, like 50.00").count()).toBe(1);
    await expect(page.getByText("Pick at least one product").count()).resolves.toBe(1);
    await expect(page.getByText("Some conditions are not complete").count()).resolves.toBe(1);
    expect(page.url()).toMatch(/\/app\/segments\/new$/);
    await page.screenshot({ path: path.join(SHOTS, "builder-save-incomplete.png"), fullPage: true });

    // Discard goes back to what was loaded: one empty row, no name, nothing marked, nothing unsaved.
    await page.getByRole("button", { name: "Discard" }).click();
    await expect.poll(() => page.locator('[data-row="condition"]').count()).toBe(1);
    await expect(page.getByLabel("Name").inputValue()).resolves.toBe("");
    await expect(page.getByText("Enter an amount, like 50.00").count()).resolves.toBe(0);
    await expect.poll(() => page.getByText("Unsaved segment").count()).toBe(0);
    await page.close();
  });
});
