/**
 * The web pixel's real code (its built bundle) in the local web pixels runtime (dev/web-pixels.ts),
 * given Shopify-shaped standard events: each becomes the right item of the right batch; batches
 * go as text/plain with keepalive and no credentials, after a short wait, at once on
 * checkout_completed; the key the endpoint gives is kept and sent; without analytics consent
 * nothing is sent.
 */
import { describe, expect, it } from "vitest";
import { buildPixel } from "../../dev/pixel-build";
import {
  cart,
  cartLine,
  checkout,
  loadPixel,
  productVariant,
  type HarnessOptions,
} from "../../dev/web-pixels";

const code = buildPixel();
const SHOP = "harness.myshopify.com";
const CLIENT = "5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f";
const settings = { shop: SHOP, endpoint: "https://app.example/pixel" };

function pixel(options: Partial<HarnessOptions> = {}) {
  return loadPixel({ code, settings, clientId: CLIENT, url: `https://${SHOP}/products/linen`, ...options });
}

const bodies = (h: ReturnType<typeof pixel>) =>
  h.requests.map(
    (r) =>
      JSON.parse(r.body) as { events: Record<string, unknown>[]; key?: string } & Record<string, unknown>,
  );

describe("the pixel's batches", () => {
  it("turns each standard event into the item the endpoint maps (CONTRACTS C2)", async () => {
    const h = pixel();
    h.publish("page_viewed", {});
    h.publish("product_viewed", { productVariant: productVariant("8001") });
    h.publish("collection_viewed", {
      collection: { id: "gid://shopify/Collection/501", title: "Linen", productVariants: [] },
    });
    h.publish("search_submitted", { searchResult: { query: "Linen shirt", productVariants: [] } });
    h.publish("product_added_to_cart", { cartLine: cartLine("8001") });
    h.publish("product_removed_from_cart", { cartLine: cartLine("8002") });
    h.publish("cart_viewed", { cart: cart("c1-abc", [cartLine("8001")]) });
    h.publish("checkout_started", { checkout: checkout("tok-9", ["8001"]) });
    h.publish("checkout_contact_info_submitted", { checkout: checkout("tok-9", ["8001"]) });
    h.publish("checkout_address_info_submitted", { checkout: checkout("tok-9", ["8001"]) });
    h.publish("checkout_shipping_info_submitted", { checkout: checkout("tok-9", ["8001"]) });
    h.publish("payment_info_submitted", { checkout: checkout("tok-9", ["8001"]) });
    await h.tick(999);
    expect(h.requests).toHaveLength(0); // waits a second for more events
    await h.tick(1);
    expect(h.requests).toHaveLength(1);
    const [batch] = bodies(h);
    expect(batch).toMatchObject({
      shop: SHOP,
      clientId: CLIENT,
      consent: { analytics: true },
      cartToken: "gid://shopify/Cart/c1-abc?key=0123456789abcdef",
    });
    expect(batch.events.map(({ at: _at, ...e }) => e)).toEqual([
      { name: "page_viewed", path: "/products/linen" },
      { name: "product_viewed", productId: "8001" },
      { name: "collection_viewed", collectionId: "501" },
      { name: "search_submitted", query: "Linen shirt" },
      { name: "product_added_to_cart", productId: "8001" },
      { name: "product_removed_from_cart", productId: "8002" },
      { name: "cart_viewed" },
      { name: "checkout_started", checkoutToken: "tok-9" },
      { name: "checkout_contact_info_submitted", checkoutToken: "tok-9" },
      { name: "checkout_address_info_submitted", checkoutToken: "tok-9" },
      { name: "checkout_shipping_info_submitted", checkoutToken: "tok-9" },
      { name: "payment_info_submitted", checkoutToken: "tok-9" },
    ]);
    const [request] = h.requests;
    expect(request).toMatchObject({
      url: settings.endpoint,
      method: "POST",
      keepalive: true,
      credentials: "omit",
    });
    expect(request.contentType).toBeNull(); // a string body: text/plain, no preflight
  });

  it("sends checkout_completed at once, with the order's id", async () => {
    const h = pixel();
    h.publish("checkout_completed", {
      checkout: checkout("tok-7", ["8001"], "gid://shopify/OrderIdentity/9001"),
    });
    await h.tick(0);
    expect(bodies(h)[0].events).toMatchObject([
      { name: "checkout_completed", checkoutToken: "tok-7", orderId: "9001" },
    ]);
  });

  it("sends a batch at 20 events without waiting", async () => {
    const h = pixel();
    for (let i = 0; i < 25; i++) h.publish("page_viewed", {});
    await h.tick(0);
    expect(bodies(h).map((b) => b.events.length)).toEqual([20]);
    await h.idle();
    expect(bodies(h).map((b) => b.events.length)).toEqual([20, 5]);
  });

  it("keeps the key the endpoint gives, and sends it with every later batch, on later pages too", async () => {
    const key = "k".repeat(43);
    const handler = async () => Response.json({ ok: true, key });
    const h = pixel({ handler });
    h.publish("page_viewed", {});
    await h.idle();
    expect(bodies(h)[0].key).toBeUndefined();
    expect(JSON.parse(h.localStorage.get("pixel:slice:key")!)).toEqual({ clientId: CLIENT, key });
    h.publish("page_viewed", {});
    await h.idle();
    expect(bodies(h)[1].key).toBe(key);
    const next = pixel({ localStorage: h.localStorage });
    next.publish("page_viewed", {});
    await next.idle();
    expect(bodies(next)[0].key).toBe(key);
    // Another client id (the cookie was cleared): the old key is not sent for it.
    const other = pixel({ localStorage: h.localStorage, clientId: "0f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f" });
    other.publish("page_viewed", {});
    await other.idle();
    expect(bodies(other)[0].key).toBeUndefined();
  });

  it("a page left before its batch went: the next page's pixel sends its events first", async () => {
    const first = pixel();
    first.publish("page_viewed", {});
    first.publish("product_viewed", { productVariant: productVariant("8001") });
    await first.tick(10); // navigated away after 10 ms: the batch never went
    expect(first.requests).toHaveLength(0);
    const next = pixel({ sessionStorage: first.sessionStorage, url: `https://${SHOP}/cart` });
    next.publish("page_viewed", {});
    await next.idle();
    const sent = bodies(next).flatMap((b) => b.events.map((e) => [e.name, e.path ?? e.productId]));
    expect(sent).toEqual([
      ["page_viewed", "/products/linen"],
      ["product_viewed", "8001"],
      ["page_viewed", "/cart"],
    ]);
    // Sent once: a third page has nothing left over.
    const third = pixel({ sessionStorage: first.sessionStorage });
    await third.idle();
    expect(third.requests).toHaveLength(0);
  });

  it("reads the cart token from Shopify's cart cookie when init has no cart", async () => {
    const h = pixel({ cookies: new Map([["cart", "c2-def%3Fkey%3Dabc"]]) });
    h.publish("product_added_to_cart", { cartLine: cartLine("8001") });
    await h.idle();
    expect(bodies(h)[0].cartToken).toBe("c2-def?key=abc");
  });
});

describe("consent", () => {
  it("without analytics consent sends nothing", async () => {
    const h = pixel({ analytics: false });
    h.publish("page_viewed", {});
    h.publish("checkout_completed", { checkout: checkout("tok-1", ["8001"], "1") });
    await h.idle();
    expect(h.requests).toHaveLength(0);
    expect(h.localStorage.size).toBe(0);
  });

  it("a withdrawal drops what was queued; a later grant sends again", async () => {
    const h = pixel();
    h.publish("page_viewed", {});
    h.setConsent(false);
    await h.idle();
    expect(h.requests).toHaveLength(0);
    h.setConsent(true);
    h.publish("product_viewed", { productVariant: productVariant("8001") });
    await h.idle();
    expect(bodies(h).map((b) => b.events.map((e) => e.name))).toEqual([["product_viewed"]]);
  });
});

it("the bundle is small and calls nothing but the register shim's global", () => {
  expect(Buffer.byteLength(code)).toBeLessThan(4096);
  expect(code).not.toMatch(/\bimport\b|\brequire\(/);
});
