/**
 * The demo shop's storefront, locally: a small theme-like store (home, product, collection and cart
 * pages) for the generated catalogue, rendered with Liquid. It renders the REAL theme app extension
 * blocks (extensions/slice-storefront/blocks/*.liquid, with their schema defaults as the
 * merchant's settings) and serves the real slice.js where `asset_url` points.
 *
 * It sits behind the local app proxy (dev/app-proxy.ts `startAppProxy`): the proxy forwards
 * `/apps/slice/*` signed to the app as Shopify does (with the logged-in customer this storefront
 * reports from its "log in as" cookie) and hands every other request here; an app answer in
 * `application/liquid` is rendered in the theme, as Shopify does.
 *
 * Shopify pieces stood in for: the cart (`/cart/add` as a form post or a fetch, `/cart/add.js`,
 * `/cart.js` with a token as the Ajax API shapes it, `/cart/change`, `/cart/clear`), a customer session ("log in
 * as" sets a cookie) and the Customer Privacy API (a banner; a test may stub
 * `window.Shopify.customerPrivacy` before the page loads and the banner then stays out of the way).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Liquid, Tag, type TagToken, type TopLevelToken, type Liquid as LiquidEngine } from "liquidjs";
import { startAppProxy } from "./app-proxy";
import { cartPayload, orderPayload, type Collection, type Product, type Store } from "./store";

/** What a shopper reads when Shopify's checkout refuses a code. */
const CODE_REFUSED: Record<string, string> = {
  unknown_code: "Enter a valid discount code.",
  not_started: "This discount code isn't active yet.",
  expired: "This discount code has expired.",
  usage_limit_reached: "This discount code has already been used.",
  already_used_by_customer: "You've already used this discount code.",
  customer_not_eligible: "This discount is for first orders only.",
  minimum_subtotal_not_met: "Your order doesn't meet this code's minimum subtotal.",
};
import { webhookRequestInit } from "./webhooks";
import { buildPixel } from "./pixel-build";
import { PAGE_RUNTIME, WORKER_PRELUDE } from "./web-pixels-runtime";
import * as pixelData from "./web-pixels";

/** Where the demo's web pixels manager loads the app's pixel from (its Web Worker's script). */
export const PIXEL_WORKER_PATH = "/cdn/wpm/slice-pixel.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const EXTENSION = path.resolve(here, "../extensions/slice-storefront");
const TEMPLATES = path.join(here, "storefront");
/** Where `asset_url` points for the extension's assets (Shopify's CDN path, served locally). */
export const ASSET_PATH = "/cdn/shop/extensions/slice-storefront/assets/";

export interface StorefrontOptions {
  store: Store;
  /** The app's origin, e.g. http://127.0.0.1:3000. */
  appOrigin: string;
  secret: string;
  port?: number;
  host?: string;
  /** Checks a discount code at checkout (the Admin API stand-in's `redeem`); without it codes are refused. */
  redeem?: Redeem;
  /** The app proxy's prefix and subpath on this shop (default apps/slice), as a merchant may set them. */
  prefix?: string;
  subpath?: string;
  /**
   * The app's app-data metafields as Shopify has them now (the Admin API stand-in's
   * `appMetafields`): the theme reads them as `app.metafields.<namespace>.<key>`.
   */
  appMetafields?: () => Record<string, Record<string, { value: string; type: string }>>;
  /**
   * The app's web pixel's settings as the app created it (the Admin API stand-in's
   * `webPixel.settings`, JSON): the page loads the pixel only once there is one, as Shopify does.
   */
  webPixelSettings?: () => string | null;
}

interface CartLine {
  variantId: string;
  quantity: number;
}

/** A block's `{% schema %}` settings' defaults: what a merchant gets before changing anything. */
export function schemaDefaults(source: string): Record<string, unknown> {
  const match = /{%-?\s*schema\s*-?%}([\s\S]*?){%-?\s*endschema\s*-?%}/.exec(source);
  if (!match) return {};
  const schema = JSON.parse(match[1]) as { settings?: { id?: string; default?: unknown }[] };
  const settings: Record<string, unknown> = {};
  for (const s of schema.settings ?? []) if (s.id) settings[s.id] = s.default ?? null;
  return settings;
}

function lookup(tree: unknown, key: string): unknown {
  return key
    .split(".")
    .reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], tree);
}

function createEngine(currency: string): LiquidEngine {
  const engine = new Liquid({ root: [TEMPLATES], extname: ".liquid", outputEscape: undefined });
  // `{% schema %}` is read by Shopify, never rendered.
  engine.registerTag(
    "schema",
    class extends Tag {
      constructor(token: TagToken, remain: TopLevelToken[], liquid: LiquidEngine) {
        super(token, remain, liquid);
        while (remain.length) {
          const next = remain.shift()!;
          if ((next as TagToken).name === "endschema") return;
        }
        throw new Error("schema: no endschema");
      }
      render() {
        return "";
      }
    },
  );
  const locale = JSON.parse(readFileSync(path.join(EXTENSION, "locales/en.default.json"), "utf8")) as unknown;
  engine.registerFilter("t", (key: string) => {
    const value = lookup(locale, key);
    return typeof value === "string" ? value : `translation missing: en.${key}`;
  });
  engine.registerFilter("asset_url", (name: string) => ASSET_PATH + encodeURIComponent(name));
  engine.registerFilter("handleize", (s: unknown) =>
    String(s ?? "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, ""),
  );
  const money = new Intl.NumberFormat("en-US", { style: "currency", currency });
  engine.registerFilter("money", (minor: number) => money.format(Number(minor) / 100));
  return engine;
}

const COOKIE_CUSTOMER = "demo_customer";
const COOKIE_CART = "cart";
const COOKIE_DISCOUNT = "discount_code";

function cookies(header: string | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The storefront's request handler (for `startAppProxy`'s fallback) and the state it keeps. */
/** Shopify's checkout, as far as discount codes go: the stand-in's redeem (dev/admin-api.ts). */
export type Redeem = (input: {
  code: string;
  customerId: string | null;
  email: string;
  subtotal: number;
}) => { ok: true; discountAmount: number } | { ok: false; reason: string };

export function createStorefront(
  options: Pick<StorefrontOptions, "store" | "redeem" | "appMetafields" | "webPixelSettings"> & {
    webhooks?: { url: string; secret: string };
  },
) {
  const { store } = options;
  const engine = createEngine(store.shop.currency);
  const blockSource = (name: string) =>
    readFileSync(path.join(EXTENSION, "blocks", `${name}.liquid`), "utf8");
  const embedSource = blockSource("slice-embed");
  const formSource = blockSource("slice-form");
  const embedSettings = schemaDefaults(embedSource);
  const formSettings = schemaDefaults(formSource);
  // The extension's scripts (slice.js, and slice-draw.js which it loads when there is a message).
  const scripts = new Map(
    ["slice.js", "slice-draw.js"].map((name) => [name, readFileSync(path.join(EXTENSION, "assets", name))]),
  );

  const productById = new Map(store.products.map((p) => [p.id, p]));
  const productByVariant = new Map(store.products.map((p) => [p.variantId, p]));
  const customerById = new Map(store.customers.map((c) => [c.id, c]));
  // The "log in as" list: the biggest spenders first (the referral invite's audience), then others.
  const spend = new Map<string, { total: number; orders: number }>();
  for (const o of store.orders)
    if (o.customerId && !o.cancelledAt) {
      const s = spend.get(o.customerId) ?? { total: 0, orders: 0 };
      s.total += o.total;
      s.orders += 1;
      spend.set(o.customerId, s);
    }
  const loginChoices = [...store.customers]
    .sort((a, b) => (spend.get(b.id)?.total ?? 0) - (spend.get(a.id)?.total ?? 0))
    .slice(0, 8)
    .map((c) => ({
      id: c.id,
      name: `${c.firstName} ${c.lastName}`,
      orders: spend.get(c.id)?.orders ?? 0,
      spent: spend.get(c.id)?.total ?? 0,
    }));

  /**
   * Carts by their id (the `cart` cookie: the token /cart.js reports, as on Shopify). A Buy it now
   * checkout has a cart of its own, named only in its checkout's address (no cart cookie, no cart
   * webhook, and its order has no cart token, as on Shopify). `checkoutToken`: made when its
   * checkout opens, carried by the order.
   */
  const carts = new Map<
    string,
    {
      token: string;
      lines: CartLine[];
      createdAt: Date;
      announced: boolean;
      buyNow?: boolean;
      checkoutToken?: string;
    }
  >();
  let pixelWorker: string | null = null;
  /** A product's Shopify-shaped variant for the pixel's events. */
  const variantOf = (p: Product) => {
    const v = pixelData.productVariant(p.id, p.variantId, p.price / 100);
    v.product.title = v.product.untranslatedTitle = p.title;
    v.product.vendor = p.vendor;
    v.product.url = `/products/${p.handle}`;
    return v;
  };
  const pixelLines = (lines: CartLine[]) =>
    lines.flatMap((l) => {
      const product = productByVariant.get(l.variantId);
      return product
        ? [{ ...pixelData.cartLine(product.id, l.quantity), merchandise: variantOf(product) }]
        : [];
    });
  const pixelCheckout = (token: string, lines: CartLine[], orderId?: string) => {
    const c = pixelData.checkout(token, [], orderId);
    c.lineItems = pixelLines(lines).map((l) => ({
      ...pixelData.checkout(token, [l.merchandise.product.id!]).lineItems[0],
      variant: l.merchandise,
      quantity: l.quantity,
    }));
    return c;
  };

  /**
   * As Shopify does, a changed cart is sent to the app as a signed carts/create or carts/update
   * webhook (its token without the Ajax API's `?key=` suffix). Sent before the storefront answers,
   * so the app has it by the shopper's next page.
   */
  async function announceCart(cart: {
    token: string;
    lines: CartLine[];
    createdAt: Date;
    announced: boolean;
  }) {
    if (!options.webhooks) return;
    const token = cart.token.split("?")[0];
    const lines = cart.lines.flatMap((l) => {
      const product = productByVariant.get(l.variantId);
      return product
        ? [
            {
              productId: product.id,
              variantId: l.variantId,
              title: product.title,
              quantity: l.quantity,
              price: product.price,
            },
          ]
        : [];
    });
    const payload = cartPayload(
      { token, lines, createdAt: cart.createdAt, updatedAt: new Date() },
      store.shop.currency,
    );
    const topic = cart.announced ? "carts/update" : "carts/create";
    cart.announced = true;
    try {
      await fetch(
        options.webhooks.url,
        webhookRequestInit({ topic, shop: store.shop.domain, payload }, options.webhooks.secret),
      );
    } catch (error) {
      console.error(`storefront: ${topic} webhook not delivered:`, error);
    }
  }

  const productDrop = (p: Product) => ({
    id: p.id,
    title: p.title,
    handle: p.handle,
    vendor: p.vendor,
    type: p.productType,
    price: p.price,
    url: `/products/${p.handle}`,
    variant_id: p.variantId,
    tags: p.tags,
  });
  const collectionDrop = (c: Collection) => ({
    id: c.id,
    title: c.title,
    handle: c.handle,
    url: `/collections/${c.handle}`,
    products: store.products.filter((p) => p.collectionIds.includes(c.id)).map(productDrop),
  });
  const collections = store.collections.map(collectionDrop);

  function cartJson(cartId: string | undefined) {
    const cart = cartId ? carts.get(cartId) : undefined;
    const items = (cart?.lines ?? []).map((l) => {
      const p = productByVariant.get(l.variantId)!;
      return {
        id: Number(l.variantId),
        variant_id: Number(l.variantId),
        product_id: Number(p.id),
        key: `${l.variantId}:${p.handle}`,
        title: p.title,
        product_title: p.title,
        handle: p.handle,
        url: `/products/${p.handle}`,
        vendor: p.vendor,
        quantity: l.quantity,
        price: p.price,
        line_price: p.price * l.quantity,
        final_line_price: p.price * l.quantity,
      };
    });
    return {
      // Shopify's Ajax API: a token with a `?key=` suffix (the webhooks' cart token has none).
      token: cart?.token ?? null,
      note: null,
      attributes: {},
      total_price: items.reduce((s, i) => s + i.line_price, 0),
      item_count: items.reduce((s, i) => s + i.quantity, 0),
      items,
      requires_shipping: true,
      currency: store.shop.currency,
    };
  }

  function customerOf(cookieHeader: string | null | undefined) {
    const id = cookies(cookieHeader)[COOKIE_CUSTOMER];
    return id && customerById.has(id) ? id : null;
  }

  async function renderPage(
    template: string | { source: string },
    pageType: string,
    req: IncomingMessage,
    vars: Record<string, unknown> = {},
  ): Promise<string> {
    const jar = cookies(req.headers.cookie);
    const customerId = customerOf(req.headers.cookie);
    const c = customerId ? customerById.get(customerId)! : null;
    const customer = c ? { id: c.id, first_name: c.firstName, last_name: c.lastName, email: c.email } : null;
    const shop = {
      name: store.shop.name,
      permanent_domain: store.shop.domain,
      currency: store.shop.currency,
    };
    const request = { page_type: pageType, path: (req.url ?? "/").split("?")[0] };
    // Shopify's `app` object (theme app extensions and app proxies): the app's own metafields,
    // read fresh for each page as Shopify renders each page with the values set by then.
    const app = { metafields: options.appMetafields?.() ?? {} };
    const scope = {
      shop,
      request,
      app,
      customer,
      product: vars.product ?? null,
      collection: vars.collection ?? null,
    };
    const block = (id: string, settings: Record<string, unknown>) => ({
      id,
      settings,
      shopify_attributes: "",
    });
    const cart = cartJson(jar[COOKIE_CART]);
    // The web pixels manager's config: the app's pixel (once the app created it) and this page's
    // standard events (page_viewed first, then the page's own).
    const heldCart = carts.get(jar[COOKIE_CART] ?? "");
    const pixelCart = heldCart
      ? pixelData.cart(heldCart.token.split("?")[0], pixelLines(heldCart.lines))
      : null;
    const web_pixels_config = JSON.stringify({
      settings: JSON.parse(options.webPixelSettings?.() ?? "null") as unknown,
      worker: PIXEL_WORKER_PATH,
      shop: {
        countryCode: "US",
        myshopifyDomain: store.shop.domain,
        name: store.shop.name,
        paymentSettings: { currencyCode: store.shop.currency },
        storefrontUrl: null,
      },
      customer: c
        ? { id: c.id, email: null, firstName: null, lastName: null, ordersCount: null, phone: null }
        : null,
      cart: pixelCart,
      events: [{ name: "page_viewed", data: {} }, ...((vars.pixel_events as unknown[]) ?? [])],
    }).replace(/</g, "\\u003c");
    const content = await (
      typeof template === "string"
        ? engine.renderFile.bind(engine, template)
        : engine.parseAndRender.bind(engine, template.source)
    )({
      ...scope,
      ...vars,
      cart,
      collections,
      slice_form: await engine.parseAndRender(formSource, {
        ...scope,
        block: block("slice-form-1", formSettings),
      }),
    });
    return engine.renderFile("theme", {
      ...scope,
      cart,
      collections,
      login_choices: loginChoices,
      web_pixels_config,
      web_pixels_runtime: PAGE_RUNTIME,
      page_title: vars.page_title ?? store.shop.name,
      content_for_layout: content,
      // `?slice=off`: the page as it is without the app embed (no config, no slice.js), for
      // bench/storefront.ts to measure what the embed costs a page. App blocks stay where placed.
      slice_embed:
        new URL(req.url ?? "/", "http://storefront").searchParams.get("slice") === "off"
          ? ""
          : await engine.parseAndRender(embedSource, {
              ...scope,
              block: block("slice-embed", embedSettings),
            }),
    });
  }

  function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra = {}) {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...extra });
    res.end(body);
  }

  async function addToCart(req: IncomingMessage, res: ServerResponse, url: URL) {
    const body = await readBody(req);
    const type = req.headers["content-type"] ?? "";
    let variantId = "";
    let quantity = 1;
    if (type.includes("application/json")) {
      const data = JSON.parse(body || "{}") as {
        id?: unknown;
        quantity?: unknown;
        items?: { id?: unknown; quantity?: unknown }[];
      };
      const item = data.items?.[0] ?? data;
      variantId = String(item.id ?? "");
      quantity = Number(item.quantity ?? 1);
    } else {
      const form = new URLSearchParams(body);
      variantId = form.get("id") ?? "";
      quantity = Number(form.get("quantity") ?? 1);
    }
    const product = productByVariant.get(variantId);
    const wantsJson = url.pathname.endsWith(".js") || (req.headers.accept ?? "").includes("application/json");
    if (!product || !Number.isInteger(quantity) || quantity < 1 || quantity > 99) {
      const error = { status: 422, message: "Cart Error", description: "Cannot find variant" };
      return wantsJson
        ? send(res, 422, JSON.stringify(error), "application/json")
        : send(res, 422, error.description, "text/plain");
    }
    let cartId = cookies(req.headers.cookie)[COOKIE_CART];
    let cart = cartId ? carts.get(cartId) : undefined;
    const headers: Record<string, string> = {};
    if (!cart) {
      // As on Shopify, the `cart` cookie's value is the cart's token with its `?key=` param
      // (shopify.dev/changelog/cart-cookie-value-now-includes-key-param): what the web pixel
      // reads when its init carries no cart.
      cart = {
        token: `${randomBytes(16).toString("hex")}?key=${randomBytes(8).toString("hex")}`,
        lines: [],
        createdAt: new Date(),
        announced: false,
      };
      cartId = cart.token;
      carts.set(cartId, cart);
      headers["set-cookie"] =
        `${COOKIE_CART}=${encodeURIComponent(cartId)}; path=/; samesite=lax; max-age=1209600`;
    }
    const line = cart.lines.find((l) => l.variantId === variantId);
    if (line) line.quantity += quantity;
    else cart.lines.push({ variantId, quantity });
    await announceCart(cart);
    if (!wantsJson) return send(res, 302, "", "text/plain", { ...headers, location: "/cart" });
    const item = cartJson(cartId).items.find((i) => String(i.variant_id) === variantId);
    send(res, 200, JSON.stringify(item), "application/json", headers);
  }

  /**
   * `/cart/change(.js)`: set one line's quantity (0 removes it), the line by its 1-based `line` or
   * its `id` (variant id or line key), as JSON, a form post or (Shopify allows it) a GET link.
   */
  async function changeCart(req: IncomingMessage, res: ServerResponse, url: URL) {
    const body = req.method === "POST" ? await readBody(req) : "";
    const json = (req.headers["content-type"] ?? "").includes("application/json");
    const fields: Record<string, unknown> = json
      ? (JSON.parse(body || "{}") as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(body || url.search));
    const cartId = cookies(req.headers.cookie)[COOKIE_CART];
    const cart = cartId ? carts.get(cartId) : undefined;
    const quantity = Number(fields.quantity);
    const index =
      fields.line !== undefined
        ? Number(fields.line) - 1
        : (cart?.lines.findIndex((l) => String(fields.id ?? "").split(":")[0] === l.variantId) ?? -1);
    const wantsJson = p(url).endsWith(".js");
    if (!cart || !cart.lines[index] || !Number.isInteger(quantity) || quantity < 0 || quantity > 99) {
      const error = { status: 400, message: "Cart Error", description: "No such line or quantity" };
      return wantsJson
        ? send(res, 400, JSON.stringify(error), "application/json")
        : send(res, 400, error.description, "text/plain");
    }
    if (quantity === 0) cart.lines.splice(index, 1);
    else cart.lines[index].quantity = quantity;
    await announceCart(cart);
    return wantsJson
      ? send(res, 200, JSON.stringify(cartJson(cartId)), "application/json")
      : send(res, 302, "", "text/plain", { location: "/cart" });
  }
  const p = (url: URL) => url.pathname.replace(/\/+$/, "");

  /**
   * A one-page checkout standing in for Shopify's: email and discount code (the code from a
   * /discount link already filled in), the code checked as Shopify's checkout checks it (once,
   * first order only, not expired), then an order: added to the shop's history and sent to the
   * app as a signed orders/create webhook with its discount code, cart token and customer.
   */
  let orderSeq = 0;
  async function checkout(req: IncomingMessage, res: ServerResponse, url: URL) {
    const jar = cookies(req.headers.cookie);
    const buy = url.searchParams.get("buy");
    const cartId = buy && carts.get(buy)?.buyNow ? buy : jar[COOKIE_CART];
    const cart = cartId ? carts.get(cartId) : undefined;
    const customerId = customerOf(req.headers.cookie);
    const customer = customerId ? (customerById.get(customerId) ?? null) : null;
    const lines = (cart?.lines ?? []).flatMap((l) => {
      const product = productByVariant.get(l.variantId);
      return product ? [{ product, quantity: l.quantity }] : [];
    });
    const subtotal = lines.reduce((sum, l) => sum + l.product.price * l.quantity, 0);
    const page = async (vars: Record<string, unknown>, status = 200) =>
      send(
        res,
        status,
        await renderPage("checkout", "checkout", req, {
          page_title: `Checkout – ${store.shop.name}`,
          subtotal,
          email: customer?.email ?? "",
          code: jar[COOKIE_DISCOUNT] ?? "",
          checkout_action: cart?.buyNow ? `/checkout?buy=${cartId}` : "/checkout",
          ...vars,
        }),
        "text/html; charset=utf-8",
      );
    if (!cart || !lines.length) return send(res, 302, "", "text/plain", { location: "/cart" });
    const checkoutToken = (cart.checkoutToken ??= randomBytes(16).toString("hex"));
    if (req.method !== "POST")
      return page({
        pixel_events: [
          { name: "checkout_started", data: { checkout: pixelCheckout(checkoutToken, cart.lines) } },
        ],
      });
    const form = new URLSearchParams(await readBody(req));
    const email = (form.get("email") ?? "").trim();
    const code = (form.get("discount") ?? "").trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(email))
      return page({ email, code, error: "Enter a valid email address." }, 422);
    let discount = 0;
    if (code) {
      const result = options.redeem
        ? options.redeem({ code, customerId: customer?.id ?? null, email, subtotal })
        : { ok: false as const, reason: "unknown_code" };
      if (!result.ok)
        return page({ email, code, error: CODE_REFUSED[result.reason] ?? "This code can't be used." }, 422);
      discount = result.discountAmount;
    }
    const at = new Date();
    const id = String(9_100_000_000 + ++orderSeq);
    const order: Store["orders"][number] = {
      id,
      name: `#D${1000 + orderSeq}`,
      customerId: customer?.id ?? null,
      email,
      lines: lines.map((l, i) => ({
        id: `${id}${i}`,
        productId: l.product.id,
        variantId: l.product.variantId,
        title: l.product.title,
        sku: l.product.handle,
        vendor: l.product.vendor,
        quantity: l.quantity,
        price: l.product.price,
        totalDiscount: 0,
      })),
      subtotal,
      totalDiscounts: discount,
      totalTax: 0,
      total: subtotal - discount,
      discountCodes: code ? [code] : [],
      financialStatus: "paid",
      fulfillmentStatus: null,
      cancelledAt: null,
      cancelReason: null,
      refunds: [],
      // Buy it now skips the cart: Shopify's order then has no cart token.
      cartToken: cart.buyNow ? null : cart.token.split("?")[0],
      checkoutToken,
      checkoutId: String(8_100_000_000 + orderSeq),
      sourceName: "web",
      landingSite: null,
      referringSite: null,
      shippingAddress: customer?.address ?? null,
      tags: [],
      createdAt: at,
      processedAt: at,
      updatedAt: at,
    };
    store.orders.push(order);
    if (options.webhooks)
      await fetch(
        options.webhooks.url,
        webhookRequestInit(
          {
            topic: "orders/create",
            shop: store.shop.domain,
            payload: orderPayload(order, customer, store.shop.currency),
          },
          options.webhooks.secret,
        ),
      ).catch((error: unknown) => console.error("storefront: orders/create webhook not delivered:", error));
    carts.delete(cartId!);
    // The one-page form submitted contact, address, shipping and payment at once; then the order.
    const done = pixelCheckout(checkoutToken, cart.lines);
    const completed = pixelCheckout(checkoutToken, cart.lines, id);
    return send(
      res,
      200,
      await renderPage("checkout", "checkout", req, {
        page_title: "Thank you",
        order: { name: order.name, total: order.total, discount },
        pixel_events: [
          ...[
            "checkout_contact_info_submitted",
            "checkout_address_info_submitted",
            "checkout_shipping_info_submitted",
            "payment_info_submitted",
          ].map((name) => ({ name, data: { checkout: done } })),
          { name: "checkout_completed", data: { checkout: completed } },
        ],
      }),
      "text/html; charset=utf-8",
      {
        "set-cookie": cart.buyNow
          ? [`${COOKIE_DISCOUNT}=; path=/; max-age=0`]
          : [`${COOKIE_CART}=; path=/; max-age=0`, `${COOKIE_DISCOUNT}=; path=/; max-age=0`],
      },
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://storefront");
    const p = url.pathname.replace(/\/+$/, "") || "/";
    const html = (body: string, status = 200) => send(res, status, body, "text/html; charset=utf-8");
    const notFound = async () =>
      html(await renderPage("404", "404", req, { page_title: `Not found – ${store.shop.name}` }), 404);

    const script = p.startsWith(ASSET_PATH) && scripts.get(p.slice(ASSET_PATH.length));
    if (script) return send(res, 200, script, "text/javascript; charset=utf-8");
    if (p === PIXEL_WORKER_PATH)
      return send(
        res,
        200,
        (pixelWorker ??= WORKER_PRELUDE + buildPixel()),
        "text/javascript; charset=utf-8",
      );
    // Buy it now: a checkout of its own for this product, skipping the shopper's cart.
    if (req.method === "POST" && p === "/checkout/buy-now") {
      const form = new URLSearchParams(await readBody(req));
      const product = productByVariant.get(form.get("id") ?? "");
      const quantity = Number(form.get("quantity") ?? 1);
      if (!product || !Number.isInteger(quantity) || quantity < 1 || quantity > 99)
        return send(res, 422, "Cannot find variant", "text/plain");
      const id = randomBytes(12).toString("hex");
      carts.set(id, {
        token: randomBytes(16).toString("hex"),
        lines: [{ variantId: product.variantId, quantity }],
        createdAt: new Date(),
        announced: true,
        buyNow: true,
      });
      return send(res, 303, "", "text/plain", { location: `/checkout?buy=${id}` });
    }
    if (req.method === "POST" && (p === "/cart/add" || p === "/cart/add.js")) return addToCart(req, res, url);
    if (p === "/cart.js")
      return send(
        res,
        200,
        JSON.stringify(cartJson(cookies(req.headers.cookie)[COOKIE_CART])),
        "application/json",
      );
    if (p === "/cart/change" || p === "/cart/change.js") return changeCart(req, res, url);
    if (req.method === "POST" && (p === "/cart/clear" || p === "/cart/clear.js")) {
      const cart = carts.get(cookies(req.headers.cookie)[COOKIE_CART] ?? "");
      if (cart) {
        cart.lines = [];
        await announceCart(cart);
      }
      return p.endsWith(".js")
        ? send(
            res,
            200,
            JSON.stringify(cartJson(cookies(req.headers.cookie)[COOKIE_CART])),
            "application/json",
          )
        : send(res, 302, "", "text/plain", { location: "/cart" });
    }
    // Shopify's shareable discount link: the code is kept for checkout, then on to the page.
    const discountLink = /^\/discount\/([^/]{1,64})$/.exec(p);
    if (discountLink) {
      const back = url.searchParams.get("redirect") ?? "/";
      return send(res, 302, "", "text/plain", {
        location: back.startsWith("/") && !back.startsWith("//") ? back : "/",
        "set-cookie": `${COOKIE_DISCOUNT}=${encodeURIComponent(decodeURIComponent(discountLink[1]))}; path=/; samesite=lax`,
      });
    }
    if (p === "/checkout") return checkout(req, res, url);
    if (p === "/account/login-as") {
      const id = url.searchParams.get("customer") ?? "";
      const back = url.searchParams.get("return_to")?.startsWith("/")
        ? url.searchParams.get("return_to")!
        : "/";
      const cookie = customerById.has(id)
        ? `${COOKIE_CUSTOMER}=${id}; path=/; samesite=lax`
        : `${COOKIE_CUSTOMER}=; path=/; max-age=0`;
      return send(res, 302, "", "text/plain", { location: back, "set-cookie": cookie });
    }
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(res, 405, "method not allowed", "text/plain");
    if (p === "/")
      return html(
        await renderPage("index", "index", req, { featured: store.products.slice(0, 8).map(productDrop) }),
      );
    if (p === "/cart") {
      const held = carts.get(cookies(req.headers.cookie)[COOKIE_CART] ?? "");
      return html(
        await renderPage("cart", "cart", req, {
          page_title: `Your cart – ${store.shop.name}`,
          pixel_events: [
            {
              name: "cart_viewed",
              data: { cart: held ? pixelData.cart(held.token.split("?")[0], pixelLines(held.lines)) : null },
            },
          ],
        }),
      );
    }
    const product = /^\/products\/([\w-]+)$/.exec(p);
    if (product) {
      const found = store.products.find((x) => x.handle === product[1]);
      if (!found) return notFound();
      const drop = productDrop(found);
      const related = collections.find((c) => found.collectionIds.includes(c.id)) ?? null;
      return html(
        await renderPage("product", "product", req, {
          product: drop,
          // On a product page Shopify's `collection` is the one it was reached through (if any).
          collection: null,
          related: related?.products.filter((x) => x.id !== found.id).slice(0, 4) ?? [],
          pixel_events: [{ name: "product_viewed", data: { productVariant: variantOf(found) } }],
          pixel_variant: JSON.stringify(variantOf(found)).replace(/</g, "\\u003c"),
          page_title: `${found.title} – ${store.shop.name}`,
        }),
      );
    }
    const collection = /^\/collections\/([\w-]+)$/.exec(p);
    if (collection) {
      // Shopify's built-in "all" collection (every product; it has no id) unless the shop has its own.
      const found =
        collections.find((c) => c.handle === collection[1]) ??
        (collection[1] === "all"
          ? {
              id: null,
              title: "All products",
              handle: "all",
              url: "/collections/all",
              products: store.products.map(productDrop),
            }
          : null);
      if (!found) return notFound();
      return html(
        await renderPage("collection", "collection", req, {
          collection: found,
          pixel_events: found.id
            ? [
                {
                  name: "collection_viewed",
                  data: {
                    collection: {
                      id: `gid://shopify/Collection/${found.id}`,
                      title: found.title,
                      productVariants: [],
                    },
                  },
                },
              ]
            : [],
          page_title: `${found.title} – ${store.shop.name}`,
        }),
      );
    }
    if (productById.size && p === "/collections") return send(res, 302, "", "text/plain", { location: "/" });
    return notFound();
  }

  return {
    /** For `startAppProxy`'s `fallback`. */
    handler(req: IncomingMessage, res: ServerResponse) {
      handle(req, res).catch((error: unknown) => {
        console.error("storefront:", error);
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end("storefront error");
      });
    },
    /**
     * An app proxy answer of type `application/liquid`, as Shopify serves it: the Liquid rendered
     * with the shop's objects, inside the theme's layout.
     */
    renderProxyAnswer: (source: string, req: IncomingMessage) =>
      renderPage({ source }, "page", req, { page_title: store.shop.name }),
    /** For `startAppProxy`'s `customerOf`: who the "log in as" cookie says is logged in. */
    customerOf: (request: Request) => customerOf(request.headers.get("cookie")),
    loginChoices,
  };
}

/**
 * The shop's domain, locally: `startAppProxy` (signing and forwarding /apps/slice/*, or the
 * prefix and subpath given, as Shopify does, everything else to this storefront), and in front of it the one step of Shopify's proxy it
 * leaves out: an `application/liquid` answer is rendered in the theme's layout, not passed through.
 */
export async function startStorefront(options: StorefrontOptions) {
  const storefront = createStorefront({
    ...options,
    webhooks: { url: `${options.appOrigin}/webhooks`, secret: options.secret },
  });
  const proxy = await startAppProxy({
    appOrigin: options.appOrigin,
    secret: options.secret,
    shop: options.store.shop.domain,
    prefix: options.prefix,
    subpath: options.subpath,
    customerOf: storefront.customerOf,
    fallback: storefront.handler,
  });
  const host = options.host ?? "127.0.0.1";
  const pathPrefix = `/${options.prefix ?? "apps"}/${options.subpath ?? "slice"}`;
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (url !== pathPrefix && !url.startsWith(`${pathPrefix}/`) && !url.startsWith(`${pathPrefix}?`))
      return storefront.handler(req, res);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers))
      if (typeof value === "string") headers[key] = value;
    const upstream = httpRequest(`${proxy.url}${req.url}`, { method: req.method, headers }, (answer) => {
      const type = String(answer.headers["content-type"] ?? "");
      if (!type.startsWith("application/liquid")) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        return void answer.pipe(res);
      }
      const chunks: Buffer[] = [];
      answer.on("data", (chunk: Buffer) => chunks.push(chunk));
      answer.on("end", () => {
        storefront
          .renderProxyAnswer(Buffer.concat(chunks).toString("utf8"), req)
          .then((html) => {
            res.writeHead(answer.statusCode ?? 200, {
              "content-type": "text/html; charset=utf-8",
              "cache-control": "no-store",
            });
            res.end(html);
          })
          .catch((error: unknown) => {
            res.writeHead(502, { "content-type": "text/plain" });
            res.end(`app proxy: the app's Liquid did not render: ${String(error)}`);
          });
      });
    });
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`app proxy: ${String(error)}`);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    loginChoices: storefront.loginChoices,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await proxy.close();
    },
  };
}
