/**
 * The app's web pixel on a shop: Shopify runs extensions/slice-pixel only once the app has created
 * it on the shop with its settings (webPixelCreate, needing write_pixels and read_customer_events).
 * Done after the first backfill with the app's other one-time setup, and again on reinstall: an
 * update when the shop already has one (its id kept in Shop.webPixelId, or read back with the
 * `webPixel` query when Shopify says it is taken).
 *
 * Settings (the extension toml's fields): `shop`, the myshopify.com domain the endpoint looks the
 * shop up by, and `endpoint`, the app's `/pixel` URL.
 */
import type { PrismaClient } from "@prisma/client";
import type { AdminApi } from "../sync/admin-api.server";
import { adminDocument } from "../sync/documents";

export const WEB_PIXEL_CREATE = adminDocument(
  "WEB_PIXEL_CREATE",
  `mutation SliceWebPixelCreate($webPixel: WebPixelInput!) {
  webPixelCreate(webPixel: $webPixel) {
    webPixel {
      id
    }
    userErrors {
      field
      message
      code
    }
  }
}`,
);

export const WEB_PIXEL_UPDATE = adminDocument(
  "WEB_PIXEL_UPDATE",
  `mutation SliceWebPixelUpdate($id: ID!, $webPixel: WebPixelInput!) {
  webPixelUpdate(id: $id, webPixel: $webPixel) {
    webPixel {
      id
    }
    userErrors {
      field
      message
      code
    }
  }
}`,
);

export const WEB_PIXEL = adminDocument(
  "WEB_PIXEL",
  `query SliceWebPixel {
  webPixel {
    id
  }
}`,
);

export interface PixelSettings {
  shop: string;
  endpoint: string;
}

export function pixelSettingsFor(shopDomain: string, appUrl: string): PixelSettings {
  return { shop: shopDomain, endpoint: new URL("/pixel", appUrl).href };
}

interface Payload {
  webPixel: { id: string } | null;
  userErrors: { field: string[] | null; message: string; code: string | null }[];
}

export class WebPixelRefused extends Error {}

const describe = (errors: Payload["userErrors"]) =>
  errors.map((e) => `${e.field?.join(".") ?? "webPixel"}: ${e.message} (${e.code ?? "?"})`).join("; ");

/** Creates or updates the shop's web pixel with its settings; returns its id (kept on the shop). */
export async function ensureWebPixel(
  db: PrismaClient,
  api: AdminApi,
  shopDomain: string,
  appUrl: string,
): Promise<string> {
  const shop = await db.shop.findUniqueOrThrow({
    where: { domain: shopDomain },
    select: { id: true, webPixelId: true },
  });
  // Shopify's JSON scalar, sent as its documentation's examples send it: a string of JSON.
  const webPixel = { settings: JSON.stringify(pixelSettingsFor(shopDomain, appUrl)) };
  const update = async (id: string) =>
    (await api.request<{ webPixelUpdate: Payload }>(WEB_PIXEL_UPDATE, { id, webPixel })).webPixelUpdate;

  let result: Payload | null = shop.webPixelId ? await update(shop.webPixelId) : null;
  if (!result || result.userErrors.some((e) => e.code === "NOT_FOUND")) {
    result = (await api.request<{ webPixelCreate: Payload }>(WEB_PIXEL_CREATE, { webPixel })).webPixelCreate;
    if (result.userErrors.some((e) => e.code === "TAKEN")) {
      // The shop has the app's pixel but this database lost its id (a restore, a reinstall).
      const held = (await api.request<{ webPixel: { id: string } | null }>(WEB_PIXEL)).webPixel;
      if (held) result = await update(held.id);
    }
  }
  if (result.userErrors.length || !result.webPixel)
    throw new WebPixelRefused(`web pixel not set up: ${describe(result.userErrors) || "no pixel returned"}`);
  if (result.webPixel.id !== shop.webPixelId)
    await db.shop.update({ where: { id: shop.id }, data: { webPixelId: result.webPixel.id } });
  return result.webPixel.id;
}
