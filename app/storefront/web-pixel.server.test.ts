/**
 * The app creates its web pixel on a shop as Shopify expects (webPixelCreate with the settings its
 * extension's toml defines; an update once it has one; a second create refused as taken), after
 * the first backfill, through the Admin API stand-in, which enforces the scopes and settings.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "../sync/admin-api.server";
import { runBackfill } from "../sync/backfill.server";
import { reconcile } from "../sync/reconcile.server";
import { AdminApiStandIn, TOML_SCOPES } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { ensureWebPixel, WEB_PIXEL_CREATE } from "./web-pixel.server";

const store = generateStore({ seed: 3, customers: 12, shop: "web-pixel.myshopify.com" });
const SHOP = store.shop.domain;
const APP_URL = "https://slice.example";
const noWait = async () => {};
const standIns: AdminApiStandIn[] = [];

async function standIn(scopes?: string[]) {
  const s = new AdminApiStandIn({
    store,
    bulkDelayMs: 5,
    restoreRate: 100_000,
    maximumAvailable: 1000,
    scopes,
  });
  await s.start();
  standIns.push(s);
  return s;
}
const apiOf = (s: AdminApiStandIn) =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: s.origin, sleep: noWait });

beforeAll(() => prisma.shop.deleteMany({ where: { domain: SHOP } }));
beforeEach(async () => {
  await prisma.shop.deleteMany({ where: { domain: SHOP } });
  await prisma.shop.create({ data: { domain: SHOP } });
});
afterAll(async () => {
  for (const s of standIns) await s.stop();
  await prisma.$disconnect();
});

describe("the app's web pixel on a shop", () => {
  it("the first backfill creates it with the shop and the endpoint as its settings", async () => {
    const s = await standIn();
    await runBackfill(prisma, apiOf(s), SHOP, { pollMs: 5, sleep: noWait, appUrl: APP_URL });
    expect(s.webPixel).not.toBeNull();
    expect(JSON.parse(s.webPixel!.settings)).toEqual({ shop: SHOP, endpoint: `${APP_URL}/pixel` });
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    expect(shop.webPixelId).toBe(s.webPixel!.id);
    expect(s.invalidDocuments).toEqual([]);
    expect(s.deprecatedUses).toEqual([]);
  });

  it("a shop installed before the app had its pixel gets it at its next reconciliation", async () => {
    const s = await standIn();
    await reconcile(prisma, apiOf(s), SHOP, store.now);
    expect(s.webPixel).not.toBeNull();
    expect((await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).webPixelId).toBe(
      s.webPixel!.id,
    );
    const calls = s.requests.length;
    await reconcile(prisma, apiOf(s), SHOP, store.now);
    expect(s.requests.slice(calls).some((r) => r.query.includes("webPixel"))).toBe(false);
  });

  it("a second setup updates the same pixel; a second create is refused as taken", async () => {
    const s = await standIn();
    const id = await ensureWebPixel(prisma, apiOf(s), SHOP, APP_URL);
    expect(await ensureWebPixel(prisma, apiOf(s), SHOP, "https://moved.example")).toBe(id);
    expect(JSON.parse(s.webPixel!.settings).endpoint).toBe("https://moved.example/pixel");
    const again = await apiOf(s).request<{ webPixelCreate: { userErrors: { code: string }[] } }>(
      WEB_PIXEL_CREATE,
      {
        webPixel: { settings: JSON.stringify({ shop: SHOP, endpoint: `${APP_URL}/pixel` }) },
      },
    );
    expect(again.webPixelCreate.userErrors).toMatchObject([{ code: "TAKEN" }]);
  });

  it("a database that lost the pixel's id finds it again and updates it", async () => {
    const s = await standIn();
    const id = await ensureWebPixel(prisma, apiOf(s), SHOP, APP_URL);
    await prisma.shop.update({ where: { domain: SHOP }, data: { webPixelId: null } });
    expect(await ensureWebPixel(prisma, apiOf(s), SHOP, APP_URL)).toBe(id);
    expect((await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).webPixelId).toBe(id);
  });

  it("settings that do not match the extension's definition are refused (INVALID_SETTINGS)", async () => {
    const s = await standIn();
    for (const settings of [
      JSON.stringify({ shop: SHOP }),
      JSON.stringify({ shop: SHOP, endpoint: `${APP_URL}/pixel`, accountID: "1" }),
      JSON.stringify({ shop: SHOP, endpoint: "" }),
    ]) {
      const answer = await apiOf(s).request<{
        webPixelCreate: { userErrors: { code: string; message: string }[] };
      }>(WEB_PIXEL_CREATE, { webPixel: { settings } });
      expect(answer.webPixelCreate.userErrors).toMatchObject([{ code: "INVALID_SETTINGS" }]);
    }
    const answer = await apiOf(s).request<{ webPixelCreate: { userErrors: { code: string }[] } }>(
      WEB_PIXEL_CREATE,
      {
        webPixel: { settings: "{not json" },
      },
    );
    expect(answer.webPixelCreate.userErrors).toMatchObject([{ code: "INVALID_CONFIGURATION_JSON" }]);
    expect(s.webPixel).toBeNull();
  });

  it("needs write_pixels and read_customer_events, as Shopify does", async () => {
    for (const missing of ["write_pixels", "read_customer_events"]) {
      const s = await standIn(TOML_SCOPES.filter((scope) => scope !== missing));
      await expect(ensureWebPixel(prisma, apiOf(s), SHOP, APP_URL)).rejects.toThrow(new RegExp(missing));
      expect(s.webPixel).toBeNull();
    }
  });

  it("a pixel removed on Shopify's side is created again", async () => {
    const s = await standIn();
    await ensureWebPixel(prisma, apiOf(s), SHOP, APP_URL);
    s.webPixel = null; // removed on Shopify's side: the update finds nothing, the create makes it again
    const id = await ensureWebPixel(prisma, apiOf(s), SHOP, APP_URL);
    expect(s.webPixel!.id).toBe(id);
    expect((await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).webPixelId).toBe(id);
  });
});
