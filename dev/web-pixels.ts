/**
 * A local stand-in for Shopify's web pixels runtime, enough to run the app's pixel's real code
 * (the built bundle of extensions/slice-pixel) as Shopify's strict sandbox does:
 * - the bundle is evaluated in a scope of its own whose global `shopify.extend("WebPixel::Render",
 *   fn)` is what the register shim calls; it sees no `window` or `document`;
 * - `fn` gets `analytics.subscribe`, `browser` (cookie, localStorage, sessionStorage, sendBeacon:
 *   asynchronous, over storage the harness holds for the top page), `init` (Shopify-shaped
 *   `init.data` with customer, cart and shop, `init.context`, `init.customerPrivacy`),
 *   `customerPrivacy.subscribe` and `settings`;
 * - `publish` sends standard events shaped and typed as `@shopify/web-pixels-extension` types them
 *   (`clientId`, `id`, `seq`, `timestamp`, `context`, `data`), each to every subscriber of its name;
 * - the pixel's `fetch` and timers are the harness's: `fetch` goes to a handler (the app's endpoint
 *   in tests, or a recorder) and `tick`/`idle` run what the pixel scheduled.
 *
 * The factories below (productVariant, checkout, cart...) build Shopify-shaped data for events.
 */
import {
  EventType,
  type Cart,
  type CartLine,
  type Checkout,
  type Context,
  type CustomerPrivacyPayload,
  type ExtensionApi,
  type PixelEvents,
  type ProductVariant,
  type RegisterInit,
  type StandardEventName,
} from "@shopify/web-pixels-extension";

export interface PixelRequest {
  url: string;
  method: string;
  body: string;
  keepalive: boolean;
  credentials: string | undefined;
  contentType: string | null;
}

export type FetchHandler = (request: Request) => Promise<Response>;

export interface HarnessOptions {
  /** The pixel's bundle (dev/pixel-build.ts buildPixel()). */
  code: string;
  settings: Record<string, string>;
  clientId: string;
  /** The shop, customer and cart Shopify passes at init. */
  init?: Partial<RegisterInit["data"]>;
  analytics?: boolean;
  /** The top page's URL (context.document.location). */
  url?: string;
  /** What the pixel's fetch reaches; default: answers `{ ok: true }`. */
  handler?: FetchHandler;
  /** Shared across harnesses to stand for one browser's storage across pages. */
  localStorage?: Map<string, string>;
  /** Shared across harnesses to stand for one tab's session across pages. */
  sessionStorage?: Map<string, string>;
  cookies?: Map<string, string>;
  /** The clock the events are stamped with. */
  now?: () => Date;
}

type Timer = { at: number; run: () => void; id: number };

export interface PixelHarness {
  publish<K extends StandardEventName>(
    name: K,
    data: PixelEvents[K] extends { data: infer D } ? D : never,
  ): void;
  /** Shopify's consent change (visitorConsentCollected). */
  setConsent(analytics: boolean): void;
  /** Moves the pixel's clock by `ms`, running its timers. */
  tick(ms: number): Promise<void>;
  /** Runs every timer and waits for every request the pixel made. */
  idle(): Promise<void>;
  /** What the pixel sent, in order. */
  requests: PixelRequest[];
  localStorage: Map<string, string>;
  sessionStorage: Map<string, string>;
  cookies: Map<string, string>;
  /** The top page's URL for the next events (context.document.location). */
  setUrl(url: string): void;
}

const shop = (domain: string): RegisterInit["data"]["shop"] => ({
  countryCode: "US",
  myshopifyDomain: domain,
  name: "Slice demo",
  paymentSettings: { currencyCode: "USD" },
  storefrontUrl: `https://${domain}`,
});

export function location(href: string): Context["document"]["location"] {
  const u = new URL(href);
  return {
    hash: u.hash,
    host: u.host,
    hostname: u.hostname,
    href: u.href,
    origin: u.origin,
    pathname: u.pathname,
    port: u.port,
    protocol: u.protocol,
    search: u.search,
  };
}

export function context(href: string): Context {
  const loc = location(href);
  return {
    document: { characterSet: "UTF-8", location: loc, referrer: "", title: "Slice demo" },
    navigator: { cookieEnabled: true, language: "en-US", languages: ["en-US"], userAgent: "slice-harness" },
    window: {
      innerHeight: 800,
      innerWidth: 1280,
      location: loc,
      origin: loc.origin,
      outerHeight: 800,
      outerWidth: 1280,
      pageXOffset: 0,
      pageYOffset: 0,
      screen: { height: 800, width: 1280 },
      screenX: 0,
      screenY: 0,
      scrollX: 0,
      scrollY: 0,
    },
  };
}

const money = (amount: number) => ({ amount, currencyCode: "USD" });

export function productVariant(productId: string, variantId = `${productId}1`, price = 25): ProductVariant {
  return {
    id: `gid://shopify/ProductVariant/${variantId}`,
    image: null,
    price: money(price),
    product: {
      id: `gid://shopify/Product/${productId}`,
      title: `Product ${productId}`,
      type: null,
      untranslatedTitle: `Product ${productId}`,
      url: `/products/p-${productId}`,
      vendor: "Slice",
    },
    sku: null,
    title: "Default",
    untranslatedTitle: "Default",
  };
}

export function cartLine(productId: string, quantity = 1): CartLine {
  return { cost: { totalAmount: money(25 * quantity) }, merchandise: productVariant(productId), quantity };
}

export function cart(token: string, lines: CartLine[] = []): Cart {
  return {
    attributes: [],
    cost: { totalAmount: money(lines.reduce((s, l) => s + l.cost.totalAmount.amount, 0)) },
    id: `gid://shopify/Cart/${token}?key=0123456789abcdef`,
    lines,
    totalQuantity: lines.reduce((s, l) => s + l.quantity, 0),
  };
}

export function checkout(token: string, productIds: string[], orderId?: string): Checkout {
  const total = money(25 * productIds.length);
  return {
    attributes: [],
    billingAddress: null,
    buyerAcceptsEmailMarketing: false,
    buyerAcceptsSmsMarketing: false,
    currencyCode: "USD",
    delivery: null,
    discountApplications: [],
    discountsAmount: money(0),
    email: null,
    lineItems: productIds.map((id) => ({
      discountAllocations: [],
      finalLinePrice: money(25),
      id: null,
      properties: [],
      quantity: 1,
      sellingPlanAllocation: null,
      title: `Product ${id}`,
      variant: productVariant(id),
    })),
    localization: {
      country: { isoCode: "US" },
      language: { isoCode: "en" },
      market: { handle: "us", id: "gid://shopify/Market/1" },
    },
    order: orderId ? { id: orderId, customer: null } : null,
    phone: null,
    shippingAddress: null,
    shippingLine: null,
    smsMarketingPhone: null,
    subtotalPrice: total,
    token,
    totalPrice: total,
    totalTax: money(0),
    transactions: [],
  };
}

/** Loads the pixel's bundle as Shopify's runtime would, and returns the means to drive it. */
export function loadPixel(options: HarnessOptions): PixelHarness {
  const subscribers = new Map<string, ((event: unknown) => void)[]>();
  const privacy: ((payload: CustomerPrivacyPayload) => void)[] = [];
  const localStorage = options.localStorage ?? new Map<string, string>();
  const sessionStorage = options.sessionStorage ?? new Map<string, string>();
  const cookies = options.cookies ?? new Map<string, string>();
  const requests: PixelRequest[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const now = options.now ?? (() => new Date());
  let href = options.url ?? `https://${options.settings.shop ?? "shop.myshopify.com"}/`;
  let seq = 0;
  let clock = 0;
  let timerId = 0;
  let timers: Timer[] = [];
  const handler: FetchHandler =
    options.handler ??
    (async () => Response.json({ ok: true }, { headers: { "Access-Control-Allow-Origin": "*" } }));

  const storage = (map: Map<string, string>) => ({
    clear: async () => map.clear(),
    getItem: async (key: string) => map.get(key) ?? null,
    key: async (index: number) => [...map.keys()][index] ?? null,
    length: async () => map.size,
    removeItem: async (key: string) => void map.delete(key),
    setItem: async (key: string, value: unknown) => void map.set(key, String(value)),
  });

  const pixelFetch = (input: string, init: RequestInit = {}) => {
    const body = typeof init.body === "string" ? init.body : "";
    // A string body is sent as text/plain (a CORS "simple" request: no preflight).
    const contentType = new Headers(init.headers).get("content-type") ?? "text/plain;charset=UTF-8";
    requests.push({
      url: input,
      method: init.method ?? "GET",
      body,
      keepalive: init.keepalive === true,
      credentials: init.credentials,
      contentType: new Headers(init.headers).get("content-type"),
    });
    const request = new Request(input, {
      method: init.method,
      body,
      headers: { "content-type": contentType },
    });
    const p = handler(request);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  };

  const api: ExtensionApi = {
    settings: options.settings,
    analytics: {
      subscribe(name, callback) {
        const list = subscribers.get(name) ?? [];
        list.push(callback as (event: unknown) => void);
        subscribers.set(name, list);
        return () => true;
      },
    },
    browser: {
      cookie: {
        get: async (name?: string) => (name ? (cookies.get(name) ?? "") : ""),
        set: async (cookieOrName: string, value?: string) => {
          const [k, v] = value === undefined ? cookieOrName.split(";")[0].split("=") : [cookieOrName, value];
          cookies.set(k, v ?? "");
          return v ?? "";
        },
      },
      localStorage: storage(localStorage),
      sessionStorage: storage(sessionStorage),
      sendBeacon: async () => false,
    },
    init: {
      context: context(href),
      data: {
        customer: null,
        cart: null,
        purchasingCompany: null,
        shop: shop(options.settings.shop ?? "shop.myshopify.com"),
        ...options.init,
      },
      customerPrivacy: {
        analyticsProcessingAllowed: options.analytics ?? true,
        marketingAllowed: false,
        preferencesProcessingAllowed: false,
        saleOfDataAllowed: false,
      },
    },
    _pixelInfo: { id: "slice-pixel", type: "APP", runtimeContext: "STRICT" },
    customerPrivacy: {
      subscribe(name, callback) {
        if (name === "visitorConsentCollected") privacy.push(callback);
        return () => true;
      },
    },
  };

  const sandbox = {
    extend(point: string, fn: (api: ExtensionApi) => void) {
      if (point !== "WebPixel::Render") throw new Error(`unknown extension point ${point}`);
      fn(api);
    },
  };
  const setTimeoutFn = (run: () => void, ms = 0) => {
    const id = ++timerId;
    timers.push({ at: clock + ms, run, id });
    return id;
  };
  const clearTimeoutFn = (id?: number) => {
    timers = timers.filter((t) => t.id !== id);
  };
  // The strict sandbox: the bundle sees these names and the language's built-ins, no DOM.
  const run = new Function(
    "shopify",
    "fetch",
    "setTimeout",
    "clearTimeout",
    "window",
    "document",
    "self",
    options.code,
  ) as (...args: unknown[]) => void;
  run(sandbox, pixelFetch, setTimeoutFn, clearTimeoutFn, undefined, undefined, undefined);

  const settle = async () => {
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setImmediate(r));
      if (inFlight.size) await Promise.allSettled([...inFlight]);
    }
  };

  return {
    publish(name, data) {
      const event = {
        clientId: options.clientId,
        context: context(href),
        data,
        id: `sh-${++seq}`,
        name,
        seq,
        timestamp: now().toISOString(),
        type: EventType.Standard,
      };
      for (const callback of subscribers.get(name) ?? []) callback(event);
    },
    setConsent(analytics) {
      api.init.customerPrivacy.analyticsProcessingAllowed = analytics;
      for (const callback of privacy)
        callback({
          customerPrivacy: {
            analyticsProcessingAllowed: analytics,
            marketingAllowed: false,
            preferencesProcessingAllowed: false,
            saleOfDataAllowed: false,
          },
        });
    },
    async tick(ms) {
      const until = clock + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        clock = due.at;
        due.run();
        await settle();
      }
      clock = until;
      await settle();
    },
    async idle() {
      await settle();
      while (timers.length) await this.tick(Math.max(...timers.map((t) => t.at)) - clock);
      await settle();
    },
    requests,
    localStorage,
    sessionStorage,
    cookies,
    setUrl(url) {
      href = url;
    },
  };
}
