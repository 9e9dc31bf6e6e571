/**
 * Development and tests only: the library's own HTTP (the token endpoint
 * `https://{shop}/admin/oauth/access_token`, its Admin API clients) goes to the local stand-in
 * (dev/admin-api.ts) instead of the shop, so the library's real token exchange and refresh code
 * runs against it. Never in production: `shopify.server.ts` calls it only when
 * SLICE_ADMIN_API_ORIGIN is set and NODE_ENV is not "production".
 */
import { abstractFetch, setAbstractFetchFunc } from "@shopify/shopify-api/runtime";

const SHOP_URL = /^https:\/\/([a-z0-9][a-z0-9-]*\.myshopify\.com)(\/.*)?$/;

export function routeShopifyToStandIn(origin: string, nodeEnv: string): void {
  if (nodeEnv === "production") throw new Error("the Admin API stand-in is never used in production");
  const original = abstractFetch;
  setAbstractFetchFunc(async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const match = SHOP_URL.exec(url);
    if (!match) return original(input, init);
    const headers = new Headers(init?.headers);
    headers.set("X-Shopify-Shop-Domain", match[1]);
    return original(`${origin}${match[2] ?? "/"}`, { ...init, headers });
  });
}
