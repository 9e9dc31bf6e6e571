/**
 * Shopify's app proxy signature, checked on every storefront request before anything in it is
 * believed. Shopify forwards `/apps/slice/*` on the shop's domain to the app's `/proxy/*` and adds
 * `shop`, `logged_in_customer_id`, `path_prefix`, `timestamp` and `signature` to the query.
 *
 * As Shopify documents it (shopify.dev, "Authenticate app proxies"): `signature` is the hex
 * HMAC-SHA256, keyed with the app's API secret, of every other query parameter, decoded, each
 * written `key=value` (a repeated key's values joined with ","), sorted, concatenated with no
 * separator. Only the query is signed: the body is whatever the shopper's browser sent.
 *
 * Not `authenticate.public.appProxy` from @shopify/shopify-app-remix 4.2.1: it reads the query
 * into an object (a repeated key keeps one value) and sorts keys by locale, so it refuses
 * Shopify's own documented example (`extra=1&extra=2`); and it does not give the reason.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { config } from "../config.server";

/** A request older or newer than this (by its signed `timestamp`) is refused, so a captured URL can't be replayed later. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

export interface ProxyIdentity {
  /** The shop's myshopify.com domain, as signed by Shopify. */
  shop: string;
  /** The logged-in customer's id, or null when nobody is logged in. Trusted: it was signed. */
  customerId: string | null;
  pathPrefix: string;
  timestamp: number;
}

export type ProxyCheck = { ok: true; identity: ProxyIdentity } | { ok: false; reason: string };

/**
 * The string Shopify signs, as its documented Ruby reference builds it:
 * `query_hash.collect { |k, v| "#{k}=#{Array(v).join(',')}" }.sort.join`, the signature left out.
 * The `key=value` strings are sorted (by bytes, as Ruby compares strings), not the keys: the two
 * differ when a key is another key followed by a character below "=" (`utm` and `utm2`).
 */
export function proxySigningString(params: URLSearchParams): string {
  const byKey = new Map<string, string[]>();
  for (const [key, value] of params) {
    if (key === "signature") continue;
    const values = byKey.get(key) ?? [];
    values.push(value);
    byKey.set(key, values);
  }
  return [...byKey]
    .map(([key, values]) => Buffer.from(`${key}=${values.join(",")}`, "utf8"))
    .sort(Buffer.compare)
    .map((pair) => pair.toString("utf8"))
    .join("");
}

export function verifyProxyQuery(
  params: URLSearchParams,
  secret: string,
  now: Date,
  maxSkewSeconds = MAX_CLOCK_SKEW_SECONDS,
): ProxyCheck {
  const signatures = params.getAll("signature");
  if (signatures.length !== 1 || !signatures[0]) return { ok: false, reason: "missing app proxy signature" };
  const given = signatures[0];
  if (!/^[0-9a-f]{64}$/i.test(given)) return { ok: false, reason: "invalid app proxy signature" };
  const expected = createHmac("sha256", secret).update(proxySigningString(params)).digest();
  if (!timingSafeEqual(expected, Buffer.from(given, "hex")))
    return { ok: false, reason: "invalid app proxy signature" };

  // Signed from here on; now check what was signed is usable and fresh.
  const shop = params.get("shop") ?? "";
  if (!/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/.test(shop)) return { ok: false, reason: "invalid shop" };
  const timestampText = params.get("timestamp") ?? "";
  if (!/^\d{1,12}$/.test(timestampText)) return { ok: false, reason: "missing app proxy timestamp" };
  const timestamp = Number(timestampText);
  if (Math.abs(now.getTime() / 1000 - timestamp) > maxSkewSeconds)
    return { ok: false, reason: "stale app proxy request (timestamp too far from now)" };
  const customer = params.get("logged_in_customer_id") ?? "";
  if (customer && !/^\d{1,20}$/.test(customer)) return { ok: false, reason: "invalid logged_in_customer_id" };
  return {
    ok: true,
    identity: { shop, customerId: customer || null, pathPrefix: params.get("path_prefix") ?? "", timestamp },
  };
}

/**
 * The signed identity of a proxied request, or a 401 `Response` thrown with the reason. Call it
 * first in every `proxy.*` route: nothing in the query (shop, customer) is to be used without it.
 */
export function requireAppProxy(request: Request, now = new Date()): ProxyIdentity {
  const check = verifyProxyQuery(new URL(request.url).searchParams, config.apiSecret, now);
  if (!check.ok)
    throw Response.json({ error: check.reason }, { status: 401, headers: { "Cache-Control": "no-store" } });
  return check.identity;
}
