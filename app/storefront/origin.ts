/**
 * Where the shop's storefront is: the origin of every storefront link the app builds (a referral
 * friend's `/discount/CODE` link, for one). Shoppers know the shop by its primary domain
 * (`www.example.com`, Admin API `shop.primaryDomain.host`, shop/update's `domain`), not by its
 * permanent myshopify.com address, which is only the fallback until the primary domain is known.
 *
 * Shopify serves every shop domain over HTTPS (it provisions the certificates), so links are
 * https; only a loopback host (the local demo storefront) is plain http.
 */

/** A host name, lower case, optionally with a port (the demo storefront's 127.0.0.1:3001). */
const HOST =
  /^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/;

/** The host given, lower-cased, if it is a host name (no scheme, path or spaces); else null. */
export function primaryDomainHost(raw: string | null | undefined): string | null {
  if (typeof raw !== "string") return null;
  const host = raw.trim().toLowerCase();
  return HOST.test(host) ? host : null;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost)(:\d+)?$/;

/** The storefront's origin: the primary domain when known, else the myshopify domain. */
export function storefrontOrigin(shop: { domain: string; primaryDomain: string | null }): string {
  const host = shop.primaryDomain ?? shop.domain;
  return `${LOOPBACK.test(host) ? "http" : "https"}://${host}`;
}
