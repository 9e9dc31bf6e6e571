/**
 * The app proxy's own page (`GET /apps/slice`, or wherever the merchant moved the proxy): it says
 * where Slice answers on this storefront. Opening it once after moving the proxy is how the theme
 * learns the new path before any shopper's request could reach it (the theme still calls the old
 * one until then): the signed `path_prefix` is recorded here, and waited for.
 */
import type { LoaderFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { requireAppProxy } from "../storefront/proxy.server";
import { recordProxyPath } from "../storefront/proxy-path.server";

export async function loader({ request }: LoaderFunctionArgs) {
  const identity = requireAppProxy(request);
  await recordProxyPath(prisma, identity);
  const shop = await prisma.shop.findUnique({
    where: { domain: identity.shop },
    select: { proxyPath: true, uninstalledAt: true },
  });
  const recorded = !!shop && !shop.uninstalledAt && shop.proxyPath === identity.pathPrefix;
  // Liquid, rendered in the shop's theme; the path is Shopify's signed value ([a-z0-9/_-] only).
  const path = identity.pathPrefix.replace(/[^A-Za-z0-9/_-]/g, "");
  return new Response(
    `<div class="slice-proxy" style="max-width:40rem;margin:3rem auto;padding:0 1rem">
  <h1>Slice</h1>
  <p role="status">${
    recorded
      ? `Slice answers at ${path} on this store. The theme uses this path from now on.`
      : `Slice answers at ${path}, but could not record it yet. Open this page again in a minute.`
  }</p>
</div>`,
    {
      status: recorded ? 200 : 503,
      headers: { "Content-Type": "application/liquid", "Cache-Control": "no-store" },
    },
  );
}
