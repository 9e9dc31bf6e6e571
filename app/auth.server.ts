/**
 * Who is using the admin. In Shopify it is the embedded-app session (`authenticate.admin`): a
 * document carries its session token as `id_token`, and the app's own fetch calls (App Bridge
 * adds it) as `Authorization: Bearer <session token>`.
 * For the local demo there is a development-only sign-in, which fails closed: with
 * NODE_ENV=production it is refused whatever SLICE_DEV_LOGIN says.
 */
import { createCookie, redirect } from "@remix-run/node";
import { authenticate } from "./shopify.server";
import { config, devLoginEnabled } from "./config.server";
import prisma from "./db.server";

export interface AdminContext {
  shop: string;
  /** True when signed in with the development-only sign-in (no Shopify admin around us). */
  devLogin: boolean;
}

export const devShopCookie = createCookie("slice_dev_shop", {
  httpOnly: true,
  sameSite: "lax",
  path: "/",
  secrets: [config.apiSecret],
  maxAge: 60 * 60 * 12,
});

export async function requireAdmin(request: Request): Promise<AdminContext> {
  // A request with a session token (App Bridge's fetch inside Shopify's admin: a download) is
  // Shopify's, whatever the development sign-in says: authenticate.admin checks the token.
  const sessionToken = /^Bearer\s/i.test(request.headers.get("Authorization") ?? "");
  if (devLoginEnabled() && !sessionToken) {
    const shop: unknown = await devShopCookie.parse(request.headers.get("Cookie"));
    if (typeof shop === "string" && shop) return { shop, devLogin: true };
    const url = new URL(request.url);
    if (!url.searchParams.has("shop") && !url.searchParams.has("id_token"))
      throw redirect(`/dev/login?next=${encodeURIComponent(url.pathname + url.search)}`);
  }
  const { session } = await authenticate.admin(request);
  return { shop: session.shop, devLogin: false };
}

/** The signed-in shop's row, for routes that work on its data; 404 if the app holds nothing for it. */
export async function requireShop(request: Request) {
  const { shop: domain } = await requireAdmin(request);
  const shop = await prisma.shop.findUnique({
    where: { domain },
    select: { id: true, domain: true, currency: true },
  });
  if (!shop)
    throw new Response(`Slice has no data for ${domain} yet: install the app again.`, { status: 404 });
  return shop;
}
