/** Development-only sign-in for the demo admin (no Shopify store needed). 404 in production. */
import type { LoaderFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { devLoginEnabled } from "../config.server";
import { devShopCookie } from "../auth.server";
import prisma from "../db.server";

export async function loader({ request }: LoaderFunctionArgs) {
  if (!devLoginEnabled()) throw new Response("Not found", { status: 404 });
  const url = new URL(request.url);
  const shop =
    url.searchParams.get("shop") ??
    (await prisma.shop.findFirst({ orderBy: { installedAt: "desc" }, select: { domain: true } }))?.domain;
  if (!shop || !/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/.test(shop))
    throw new Response("No shop to sign in to: run `npm run demo`, or pass ?shop=<name>.myshopify.com", {
      status: 400,
    });
  const next = url.searchParams.get("next");
  const target = next && next.startsWith("/app") ? next : "/app";
  return redirect(target, { headers: { "Set-Cookie": await devShopCookie.serialize(shop) } });
}
