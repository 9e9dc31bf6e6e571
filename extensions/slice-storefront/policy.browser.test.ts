/**
 * One calm message per visit on the demo storefront, in headless Chromium: the demo's real app
 * server and storefront (slice.js behind the local app proxy), with two first-purchase popups
 * active for first-time visitors (15% above the starter 10% welcome). What the app stored is read
 * from the demo's own database. Screenshots go to test-results/.
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
let welcome15 = 0;

/** A consenting shopper's browser (Shopify's Customer Privacy API allows analytics). */
async function shopper(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(() => {
    const w = window as unknown as { Shopify?: Record<string, unknown> };
    w.Shopify = {
      ...w.Shopify,
      customerPrivacy: {
        analyticsProcessingAllowed: () => true,
        marketingAllowed: () => true,
        shouldShowBanner: () => false,
      },
    };
  });
  return { context, page: await context.newPage() };
}

const visitorIdOf = async (page: Page): Promise<string> => {
  const id = await page.evaluate(
    () => (window as unknown as { Slice: { visitorId: string | null } }).Slice.visitorId,
  );
  if (!id) throw new Error("slice.js has no visitor id");
  return id;
};

const popup = (page: Page, name: string | RegExp) => page.getByRole("dialog", { name });

/** The codes the app gave this visitor (issued or redeemed). */
const codesOf = (visitorId: string) =>
  db.discountCode.findMany({
    where: { visitorId, status: { in: ["issued", "redeemed"] } },
    select: { code: true, messageId: true },
  });

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-policy-test-"));
  const databaseFile = path.join(dir, "demo.sqlite");
  demo = await startDemo({ port: 0, customers: 40, seed: 9, databaseFile, log: () => {} });
  db = createPrismaClient(`file:${databaseFile}`);
  await db.message.updateMany({ data: { holdoutPercent: 0 } });
  const starter = await db.message.findFirstOrThrow({ where: { reward: "firstPurchase" } });
  // A second first-purchase popup for the same first-time visitors, above the starter (10%, after 5 s).
  welcome15 = (
    await db.message.create({
      data: {
        ...starter,
        id: undefined,
        createdAt: undefined,
        updatedAt: undefined,
        name: "Welcome 15%",
        headline: "15% off your first order",
        discountValue: 15,
        trigger: "load",
        triggerValue: null,
        priority: starter.priority + 10,
        oncePerSession: true,
        everyDays: null,
        active: true,
      },
    })
  ).id;
  // The welcomes and the referral invite: wait for all three pools in Shopify (the stand-in).
  await waitForCodePools(db, { offers: 3 });
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await db?.$disconnect();
  await demo?.stop();
});

describe("one calm message per visit on the demo storefront", () => {
  it("a first-time visitor who closes the 15% welcome sees no other popup in that session, and no second code", async () => {
    const { context, page } = await shopper();
    await page.goto(demo.storefrontUrl);
    const visitorId = await visitorIdOf(page);
    const first = popup(page, "15% off your first order");
    await expect.poll(() => first.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    const [given] = await codesOf(visitorId);
    expect(given.messageId).toBe(welcome15);
    await page.keyboard.press("Escape");
    await expect.poll(() => first.count()).toBe(0);
    await expect
      .poll(
        () =>
          db.storefrontEvent.count({
            where: { visitorId, type: "message_dismissed", resourceId: String(welcome15) },
          }),
        { timeout: 20_000, interval: 250 },
      )
      .toBe(1);
    // The next pages of the session: the 10% welcome (after 5 s) does not open.
    await page.goto(`${demo.storefrontUrl}/collections/all`);
    await page.waitForTimeout(6500);
    await expect(page.getByRole("dialog").count()).resolves.toBe(0);
    // A new tab is a new browser session: the shop's 1-day cool-down after the dismissal holds.
    const later = await context.newPage();
    await later.goto(demo.storefrontUrl);
    await later.waitForTimeout(6500);
    await expect(later.getByRole("dialog").count()).resolves.toBe(0);
    // One code in the app's data, the 15% offer's.
    expect(await codesOf(visitorId)).toEqual([given]);
    await context.close();
  });

  it("a shopper who holds an unused code is reminded of it, with the same code, and given no other", async () => {
    const { context, page } = await shopper();
    await page.goto(demo.storefrontUrl);
    const visitorId = await visitorIdOf(page);
    const first = popup(page, "15% off your first order");
    await expect.poll(() => first.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    const code = (await first.locator("strong").textContent())!;
    // They leave it open and come back in a new session (a new tab).
    await page.close();
    const later = await context.newPage();
    await later.goto(`${demo.storefrontUrl}/collections/all`);
    const reminder = popup(later, "15% off your first order");
    await expect.poll(() => reminder.isVisible(), { timeout: 15_000, interval: 250 }).toBe(true);
    await expect(reminder.locator("strong").textContent()).resolves.toBe(code);
    await later.screenshot({
      path: path.join(SHOTS, "storefront-policy-reminder.png"),
      animations: "disabled",
    });
    // What the decision answered: a reminder, in the same shape.
    const answer = await later.evaluate(
      (id) =>
        fetch(`/apps/slice/decide?consent=1&visitor=${id}&page=index&path=%2F`).then(
          (r) =>
            r.json() as Promise<{
              message: { id: number; reminder?: boolean; code?: { code: string } } | null;
            }>,
        ),
      visitorId,
    );
    expect(answer.message).toMatchObject({ id: welcome15, reminder: true, code: { code } });
    // Closing the reminder: then the 10% welcome does not follow (one popup a session, cool-down).
    await later.keyboard.press("Escape");
    await later.goto(`${demo.storefrontUrl}/collections/all`);
    await later.waitForTimeout(6500);
    await expect(later.getByRole("dialog").count()).resolves.toBe(0);
    expect(await codesOf(visitorId)).toEqual([{ code, messageId: welcome15 }]);
    await context.close();
  });

  it("the admin warns that the two welcomes reach the same people, says which is shown and why, and saves the cool-down", async () => {
    const admin = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await admin.goto(demo.loginUrl);
    await admin.goto(`${demo.url}/app/messages`);
    const starter = await db.message.findFirstOrThrow({
      where: { reward: "firstPurchase", id: { not: welcome15 } },
    });
    const warning = admin.locator(`[data-overlap="${welcome15}-${starter.id}"]`);
    await expect.poll(() => warning.isVisible(), { timeout: 15_000 }).toBe(true);
    await expect(
      warning.getByText(`"Welcome 15%" and "${starter.name}" can reach the same people`).count(),
    ).resolves.toBe(1);
    await expect(warning.getByText(/its priority is higher \(\d+ over \d+\)/).count()).resolves.toBe(1);
    await expect(warning.getByText(/one first-purchase code per shopper/).count()).resolves.toBe(1);
    await expect(warning.getByRole("link", { name: starter.name }).getAttribute("href")).resolves.toBe(
      `/app/messages/${starter.id}`,
    );
    await admin.screenshot({ path: path.join(SHOTS, "admin-messages-overlap.png"), fullPage: true });
    // The same warning on the 10% welcome's page.
    await admin.goto(`${demo.url}/app/messages/${starter.id}`);
    await expect
      .poll(() => admin.locator(`[data-overlap="${welcome15}-${starter.id}"]`).isVisible())
      .toBe(true);
    // The settings: a cool-down of 3 days and a corner or bar after a popup.
    await admin.goto(`${demo.url}/app/messages`);
    const form = admin.locator("[data-policy-form]");
    await form.getByLabel("After a shopper dismisses a message, show nothing for").fill("3");
    await form.getByLabel("Allow a corner message or bar after a popup in the same session").check();
    await form.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => form.getByText("Saved").count(), { timeout: 15_000 }).toBe(1);
    const shop = await db.shop.findFirstOrThrow({ where: { domain: demo.store.shop.domain } });
    expect([shop.messageCooldownDays, shop.messageAfterPopup]).toEqual([3, true]);
    // A cool-down below 0 is refused in the browser before it is sent (the server refuses it too,
    // naming the field: app/messages/overlap.server.test.ts).
    const days = form.getByLabel("After a shopper dismisses a message, show nothing for");
    await days.fill("-2");
    await form.getByRole("button", { name: "Save" }).click();
    await expect(days.evaluate((input) => (input as HTMLInputElement).validity.valid)).resolves.toBe(false);
    await admin.waitForTimeout(500);
    expect((await db.shop.findFirstOrThrow({ where: { id: shop.id } })).messageCooldownDays).toBe(3);
    await admin.close();
  });
});
