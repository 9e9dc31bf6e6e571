/**
 * assets/slice.js as a storefront runs it: loaded into a page (a fresh global scope per page, with
 * the browser APIs it uses stubbed and recorded), it identifies the visitor, records the visit and
 * cart changes, sends batches the app's events endpoint accepts; without analytics consent it makes
 * and keeps no id and sends only what is counted (answers, messages shown...) with no id; and it
 * decides nothing while Shopify's consent banner waits for an answer.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../../app/db.server";
import { receiveEvents } from "../../app/storefront/events.server";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";

const SCRIPT = readFileSync(join(import.meta.dirname, "assets", "slice.js"), "utf8");
const SHOP = "slice-script.myshopify.com";

interface Batch {
  visitorId?: string;
  consent: { analytics: boolean };
  context: Record<string, string>;
  cartToken?: string;
  events: { type: string; at: string; resourceId?: string }[];
}

interface PageOptions {
  url: string;
  config?: Record<string, unknown>;
  /** The Customer Privacy API's answer; "not loaded" leaves it to Shopify.loadFeatures. */
  consent: boolean | "not loaded";
  referrer?: string;
  /** The browser's storage, shared by pages of one visit (session) or one browser (local). */
  browser?: Browser;
  cartToken?: string;
  /** The page is shown in the theme editor. */
  designMode?: boolean;
  /** The app proxy is unreachable. */
  offline?: boolean;
  /** Shopify's consent banner is up (shouldShowBanner) until giveConsent or refuseConsent. */
  banner?: boolean;
}

interface Browser {
  local: Map<string, string>;
  session: Map<string, string>;
}

const newBrowser = (): Browser => ({ local: new Map(), session: new Map() });
const storage = (values: Map<string, string>) => ({
  getItem: (key: string) => values.get(key) ?? null,
  setItem: (key: string, value: string) => void values.set(key, String(value)),
  removeItem: (key: string) => void values.delete(key),
});

/** Runs slice.js on a page; returns what it sent and handles to drive the page. */
function openPage({
  url,
  config = {},
  consent,
  referrer = "",
  browser = newBrowser(),
  cartToken,
  designMode = false,
  offline = false,
  banner = false,
}: PageOptions) {
  const location = new URL(url);
  const sent: { via: "beacon" | "fetch"; url: string; batch: Batch }[] = [];
  /** The decision requests (GET /apps/slice/decide), answered "no message". */
  const decisions: URL[] = [];
  const listeners = new Map<string, ((event: unknown) => void)[]>();
  const on = (key: string) => (type: string, listener: (event: unknown) => void) =>
    listeners.set(key + type, [...(listeners.get(key + type) ?? []), listener]);
  const emit = (key: string, event: unknown) =>
    (listeners.get(key) ?? []).forEach((listener) => listener(event));
  const timers: (() => void)[] = [];
  let allowed = consent === true;
  let loadFeatures: unknown[] = [];

  const privacy = { analyticsProcessingAllowed: () => allowed, shouldShowBanner: () => banner };
  const shopify: Record<string, unknown> = {
    designMode,
    loadFeatures: (features: unknown[], callback: (error?: Error) => void) => {
      loadFeatures = features;
      shopify.customerPrivacy = privacy;
      callback();
    },
  };
  if (consent !== "not loaded") shopify.customerPrivacy = privacy;

  class HTMLFormElement {
    fields: Record<string, string> = {};
    submitted = false;
    focused = "";
    parts: Record<string, { hidden?: boolean; disabled?: boolean; focus?: () => void }> = {
      fieldset: { disabled: false },
      "[type=submit]": { hidden: false },
      "[data-slice-thanks]": { hidden: true, focus: () => (this.focused = "[data-slice-thanks]") },
    };
    hasAttribute = (name: string) => name === "data-slice-form";
    querySelector = (selector: string) => this.parts[selector];
    submit() {
      this.submitted = true;
    }
  }
  /** A theme's XMLHttpRequest (older themes, jQuery): answers at once with `status`. */
  class XMLHttpRequest {
    status = 0;
    private url = "";
    private loaded: (() => void)[] = [];
    open(_method: string, url: string) {
      this.url = url;
    }
    addEventListener(type: string, listener: () => void) {
      if (type === "load") this.loaded.push(listener);
    }
    send() {
      this.status = this.url.startsWith("/cart/") ? 200 : 404;
      this.loaded.forEach((listener) => listener());
    }
  }
  const document = {
    getElementById: (id: string) =>
      id === "slice-config"
        ? { textContent: JSON.stringify({ shop: SHOP, proxy: "/apps/slice", pageType: "index", ...config }) }
        : null,
    addEventListener: on("document:"),
    documentElement: { scrollHeight: 2000 },
    cookie: "",
    referrer,
    visibilityState: "visible",
  };
  const window: Record<string, unknown> = {
    document,
    location: { href: location.href, pathname: location.pathname, search: location.search },
    navigator: {
      sendBeacon: (to: string, body: string) => (
        sent.push({ via: "beacon", url: to, batch: JSON.parse(body) }),
        true
      ),
    },
    screen: { width: 1440, height: 900 },
    localStorage: storage(browser.local),
    sessionStorage: storage(browser.session),
    crypto: webcrypto,
    matchMedia: () => ({ matches: false }),
    setTimeout: (callback: () => void) => timers.push(callback),
    clearTimeout: () => {},
    scrollY: 0,
    innerHeight: 900,
    fetch: async (to: string, init?: RequestInit) => {
      if (to === "/cart.js") return Response.json({ token: cartToken });
      if (!to.startsWith("/apps/slice/")) return Response.json({}); // the theme's own calls
      if (offline) throw new TypeError("Failed to fetch");
      if (to.startsWith("/apps/slice/decide?")) {
        decisions.push(new URL(to, location.origin));
        return Response.json({ message: null });
      }
      sent.push({ via: "fetch", url: to, batch: JSON.parse(String(init?.body)) });
      expect(init).toMatchObject({ method: "POST", keepalive: true });
      return Response.json({ ok: true });
    },
    addEventListener: on("window:"),
    URLSearchParams,
    FormData: class {
      constructor(private form: HTMLFormElement) {}
      get = (name: string) => this.form.fields[name] ?? null;
    },
    HTMLFormElement,
    XMLHttpRequest,
    Request,
    Shopify: shopify,
  };
  window.window = window;
  runInNewContext(SCRIPT, window);

  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  return {
    sent,
    decisions,
    browser,
    window,
    loadFeatures: () => loadFeatures,
    /** The batching delay passes. */
    wait: async () => {
      timers.splice(0).forEach((callback) => callback());
      await settle();
    },
    leave: () => {
      document.visibilityState = "hidden";
      emit("document:visibilitychange", {});
      emit("window:pagehide", {});
    },
    giveConsent: () => {
      allowed = true;
      banner = false;
      emit("document:visitorConsentCollected", { detail: { analyticsAllowed: true } });
    },
    refuseConsent: () => {
      allowed = false;
      banner = false;
      emit("document:visitorConsentCollected", { detail: { analyticsAllowed: false } });
    },
    themeXhr: async (to: string) => {
      const request = new (window.XMLHttpRequest as typeof XMLHttpRequest)();
      request.open("POST", to);
      request.send();
      await settle();
      await settle();
    },
    themeFetch: async (to: string) => {
      await (window.fetch as (to: string) => Promise<Response>)(to);
      await settle();
    },
    answer: async (question: string, answer: string) => {
      const form = new HTMLFormElement();
      form.fields = { question, answer };
      let prevented = false;
      emit("document:submit", { target: form, preventDefault: () => (prevented = true) });
      await settle();
      return { form, prevented };
    },
  };
}

const types = (batch: Batch) => batch.events.map((e) => [e.type, e.resourceId]);

describe("slice.js", () => {
  it("records a first visit (session, page, product, landing page, UTM, referrer, device) and sends it in one batch", async () => {
    const page = openPage({
      url: "https://shop.example/products/linen-shirt?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
      config: { pageType: "product", productId: "8001", collectionId: "501" },
      referrer: "https://www.google.com/",
      consent: true,
    });
    // The page's first events go at once, so that the decision which follows counts this visit.
    await page.wait();
    expect(page.sent).toHaveLength(1);
    const [{ via, url, batch }] = page.sent;
    expect([via, url]).toEqual(["fetch", "/apps/slice/events"]);
    expect(batch.visitorId).toMatch(/^[0-9a-f]{32}$/);
    expect(batch.consent).toEqual({ analytics: true });
    expect(batch.context).toEqual({
      landingPage: "/products/linen-shirt?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
      referrer: "https://www.google.com/",
      utmSource: "newsletter",
      utmMedium: "email",
      utmCampaign: "spring",
      deviceType: "desktop",
    });
    // A collection in the URL of a product page is not a collection view.
    expect(types(batch)).toEqual([
      ["session_start", undefined],
      ["page_view", "/products/linen-shirt"],
      ["product_view", "8001"],
    ]);
    expect(page.browser.local.get("slice_vid")).toBe(batch.visitorId);
  });

  it("keeps the visitor across pages and visits; a new session only in a new tab visit", async () => {
    const first = openPage({ url: "https://shop.example/", consent: true });
    await first.wait();
    const visitorId = first.sent[0].batch.visitorId;

    const next = openPage({
      url: "https://shop.example/collections/sale",
      config: { pageType: "collection", collectionId: "501" },
      consent: true,
      browser: first.browser,
    });
    await next.wait();
    expect(next.sent[0].batch.visitorId).toBe(visitorId);
    expect(types(next.sent[0].batch)).toEqual([
      ["page_view", "/collections/sale"],
      ["collection_view", "501"],
    ]);
    // The session's context is the landing page's, not this page's.
    expect(next.sent[0].batch.context.landingPage).toBe("/");

    const later = openPage({
      url: "https://shop.example/",
      consent: true,
      browser: { local: first.browser.local, session: new Map() },
    });
    await later.wait();
    expect(later.sent[0].batch.visitorId).toBe(visitorId);
    expect(types(later.sent[0].batch)[0]).toEqual(["session_start", undefined]);
  });

  it("batches later events, and sends what is waiting with sendBeacon when the shopper leaves", async () => {
    const page = openPage({ url: "https://shop.example/pages/about", consent: true });
    const { track } = page.window.Slice as { track: (type: string, id?: string) => void };
    track("collection_view", "501");
    track("product_view", "8001");
    expect(page.sent.map((s) => s.via)).toEqual(["fetch"]); // the page's first events only
    page.leave();
    expect(page.sent.map((s) => s.via)).toEqual(["fetch", "beacon"]);
    expect(types(page.sent[1].batch)).toEqual([
      ["collection_view", "501"],
      ["product_view", "8001"],
    ]);
    await page.wait(); // nothing left for the timer
    expect(page.sent).toHaveLength(2);
  });

  it("asks for the decision after sending the page's events: page type, path and the ids shown this session", async () => {
    const browser = newBrowser();
    browser.session.set("slice_shown", "3,7");
    const page = openPage({
      url: "https://shop.example/products/linen-shirt?variant=1",
      config: { pageType: "product", productId: "8001" },
      consent: true,
      browser,
    });
    await page.wait();
    expect(page.decisions).toHaveLength(1);
    const [decision] = page.decisions;
    expect(decision.pathname).toBe("/apps/slice/decide");
    expect(Object.fromEntries(decision.searchParams)).toEqual({
      visitor: page.sent[0].batch.visitorId,
      consent: "1",
      page: "product",
      path: "/products/linen-shirt",
      shown: "3,7",
    });
  });

  it("records cart changes made by the theme and links the cart token", async () => {
    const page = openPage({
      url: "https://shop.example/",
      consent: true,
      cartToken: "c1-7a2b3c4d?key=9f8e7d",
    });
    await page.wait();
    await page.themeFetch("/cart/add.js");
    await page.themeFetch("/products/linen-shirt.js"); // not a cart change
    await page.wait();
    const batch = page.sent[1].batch;
    expect(types(batch)).toEqual([["cart_update", undefined]]);
    expect(batch.cartToken).toBe("c1-7a2b3c4d?key=9f8e7d");
    // What the app knows of the visitor changed: the decision is asked for again.
    expect(page.decisions).toHaveLength(2);
  });

  it("records cart changes made with XMLHttpRequest (older themes, jQuery) too", async () => {
    const page = openPage({ url: "https://shop.example/", consent: true, cartToken: "c2-xhr" });
    await page.wait();
    await page.themeXhr("/cart/add.js");
    await page.themeXhr("/search/suggest.json"); // not a cart change
    await page.wait();
    expect(page.sent.slice(1).flatMap((s) => types(s.batch))).toEqual([["cart_update", undefined]]);
    expect(page.sent[1].batch.cartToken).toBe("c2-xhr");
  });

  it("without analytics consent makes and keeps no id, tracks nothing, and sends answers only to be counted", async () => {
    const page = openPage({ url: "https://shop.example/?utm_source=ads", consent: false, cartToken: "c1-x" });
    await page.wait();
    await page.themeFetch("/cart/add.js");
    page.leave();
    await page.wait();
    expect(page.sent).toEqual([]);
    // The decision is asked for untargeted messages, with no visitor.
    expect(page.decisions).toHaveLength(1);
    expect(Object.fromEntries(page.decisions[0].searchParams)).toEqual({
      consent: "0",
      page: "index",
      path: "/",
      shown: "",
    });

    const { form, prevented } = await page.answer("intent", "Looking for a gift");
    expect(prevented).toBe(true);
    expect(page.sent).toHaveLength(1);
    expect(page.sent[0].batch).toEqual({
      consent: { analytics: false },
      sentAt: expect.any(String),
      events: [{ type: "answer", at: expect.any(String), resourceId: "intent=Looking for a gift" }],
    });
    // The thank-you replaces the form in place.
    expect(form.parts).toEqual({
      fieldset: { disabled: true },
      "[type=submit]": { hidden: true },
      "[data-slice-thanks]": { hidden: false, focus: expect.any(Function) },
    });
    expect(form.focused).toBe("[data-slice-thanks]");
    expect(form.submitted).toBe(false);
    expect(page.browser.local.size).toBe(0);
    // Nothing that identifies the shopper in the tab either (no id, no cart token, no landing page).
    expect([...page.browser.session.keys()]).toEqual([]);
    expect((page.window.Slice as { visitorId: string | null }).visitorId).toBeNull();
  });

  it("decides nothing and sends nothing while the consent banner waits, then follows the answer", async () => {
    const page = openPage({ url: "https://shop.example/", consent: false, banner: true });
    await page.wait();
    expect(page.decisions).toEqual([]);
    expect(page.sent).toEqual([]);
    page.refuseConsent();
    await page.wait();
    expect(page.decisions.map((d) => d.searchParams.get("consent"))).toEqual(["0"]);
    expect(page.sent).toEqual([]);
    expect(page.browser.local.size).toBe(0);

    const accepted = openPage({ url: "https://shop.example/", consent: false, banner: true });
    await accepted.wait();
    expect(accepted.decisions).toEqual([]);
    accepted.giveConsent();
    await accepted.wait();
    expect(accepted.sent).toHaveLength(1);
    expect(types(accepted.sent[0].batch).map(([type]) => type)).toEqual(["session_start", "page_view"]);
    expect(accepted.decisions.map((d) => d.searchParams.get("visitor"))).toEqual([
      accepted.sent[0].batch.visitorId,
    ]);
  });

  it("submits the question form as a plain form when the answer cannot be sent", async () => {
    const page = openPage({ url: "https://shop.example/", consent: false, offline: true });
    const { form, prevented } = await page.answer("intent", "Just browsing");
    expect(prevented).toBe(true);
    expect(form.submitted).toBe(true);
    expect(form.parts["[data-slice-thanks]"].hidden).toBe(true);
  });

  it("forgets the id kept across visits when analytics consent is withdrawn", async () => {
    const first = openPage({ url: "https://shop.example/", consent: true });
    await first.wait();
    expect(first.browser.local.get("slice_vid")).toBe(first.sent[0].batch.visitorId);

    const withdrawn = openPage({
      url: "https://shop.example/",
      consent: false,
      browser: { local: first.browser.local, session: new Map() },
    });
    withdrawn.leave();
    expect(withdrawn.sent).toEqual([]);
    expect(withdrawn.browser.local.has("slice_vid")).toBe(false);
  });

  it("loads the Customer Privacy API when the theme has not, and sends what waited once consent is given", async () => {
    const page = openPage({ url: "https://shop.example/", consent: "not loaded" });
    expect(page.loadFeatures()).toEqual([{ name: "consent-tracking-api", version: "0.1" }]);
    await page.wait();
    expect(page.sent).toEqual([]); // loaded, but no consent yet

    page.giveConsent();
    await page.wait();
    expect(page.sent).toHaveLength(1);
    expect(page.sent[0].batch.consent).toEqual({ analytics: true });
    expect(types(page.sent[0].batch).map(([type]) => type)).toEqual(["session_start", "page_view"]);
    expect(page.browser.local.get("slice_vid")).toBe(page.sent[0].batch.visitorId);
  });

  it("records nothing in the theme editor", async () => {
    const page = openPage({ url: "https://shop.example/", consent: true, designMode: true });
    page.leave();
    await page.wait();
    expect(page.sent).toEqual([]);
    expect(page.window.Slice).toBeUndefined();
  });

  describe("against the app's events endpoint", () => {
    beforeAll(() => prisma.shop.create({ data: { domain: SHOP } }));
    afterAll(() => prisma.$disconnect());

    it("every batch the script sends is accepted and stored", async () => {
      const browser = newBrowser();
      const pages = [
        openPage({
          url: "https://shop.example/products/linen-shirt?utm_source=newsletter",
          config: { pageType: "product", productId: "8001" },
          referrer: "https://www.google.com/",
          consent: true,
          browser,
          cartToken: "c1-7a2b3c4d?key=9f8e7d",
        }),
      ];
      await pages[0].wait();
      await pages[0].themeFetch("/cart/add.js");
      await pages[0].answer("intent", "Shopping for myself");
      pages[0].leave();
      const anonymous = openPage({ url: "https://shop.example/", consent: false });
      await anonymous.answer("intent", "Just browsing");
      pages.push(anonymous);

      const batches = pages.flatMap((page) => page.sent);
      expect(batches.length).toBeGreaterThanOrEqual(3);
      for (const { url, batch } of batches) {
        const storefront = new Request(`https://${SHOP}${url}`, {
          method: "POST",
          body: JSON.stringify(batch),
        });
        const response = await receiveEvents(
          proxiedRequest(storefront, { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP }),
          prisma,
        );
        expect({ status: response.status, body: await response.json() }).toMatchObject({
          status: 200,
          body: batch.consent.analytics
            ? { stored: batch.events.length }
            : { stored: 0, counted: batch.events.length },
        });
      }
      const visitor = await prisma.visitor.findUnique({ where: { id: batches[0].batch.visitorId } });
      expect(visitor).toMatchObject({
        utmSource: "newsletter",
        deviceType: "desktop",
        cartToken: "c1-7a2b3c4d",
      });
    });
  });
});
