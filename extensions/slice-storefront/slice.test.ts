/**
 * The theme script as a storefront runs it: assets/slice.js loaded into a page (a fresh global
 * scope per page, the browser APIs it uses stubbed and recorded, a small DOM), and
 * assets/slice-draw.js run in the same page when slice.js adds its script tag. It tracks nothing
 * (the Web Pixel does), identifies the visitor by Shopify's client id only with analytics consent,
 * decides nothing while Shopify's consent banner waits, loads the drawing code only when the
 * decision returned a message, and sends message events and answers the app's events endpoint
 * accepts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createContext, runInContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../../app/db.server";
import { receiveEvents } from "../../app/storefront/events.server";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";

const SCRIPT = readFileSync(join(import.meta.dirname, "assets", "slice.js"), "utf8");
const DRAW = readFileSync(join(import.meta.dirname, "assets", "slice-draw.js"), "utf8");
const DRAW_URL = "https://cdn.shopify.example/extensions/slice-storefront/assets/slice-draw.js";
const SHOP = "slice-script.myshopify.com";
/** A client id as Shopify's `_shopify_y` cookie holds it. */
const CLIENT_ID = "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c";

interface Batch {
  visitorId?: string;
  consent: { analytics: boolean };
  sentAt: string;
  events: { type: string; at: string; resourceId?: string }[];
}

interface Message {
  id: number;
  format: "popup" | "corner" | "bar";
  trigger: { on: string; seconds?: number; percent?: number };
  headline: string;
  body?: string;
  reward?: string;
  button?: { label: string; url: string };
}

/** A few DOM nodes, enough for slice-draw.js: what it builds can be read back and clicked. */
class Node {
  children: Node[] = [];
  parent: Node | null = null;
  listeners = new Map<string, ((event: unknown) => void)[]>();
  attributes: Record<string, string> = {};
  shadowRoot: Node | null = null;
  activeElement: Node | null = null;
  style: Record<string, string> = {};
  [prop: string]: unknown;
  constructor(
    public tagName: string,
    private page: { activeElement: Node | null },
  ) {}
  appendChild(child: Node) {
    child.remove();
    child.parent = this;
    this.children.push(child);
    (this.onAppend as ((child: Node) => void) | undefined)?.(child);
    return child;
  }
  remove() {
    if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }
  replaceWith(other: Node) {
    other.remove();
    const parent = this.parent!;
    parent.children[parent.children.indexOf(this)] = other;
    other.parent = parent;
    this.parent = null;
  }
  attachShadow() {
    this.shadowRoot = new Node("#shadow-root", this.page);
    this.shadowRoot.host = this;
    return this.shadowRoot;
  }
  setAttribute(name: string, value: unknown) {
    this.attributes[name] = String(value);
  }
  getAttribute(name: string) {
    return this.attributes[name] ?? null;
  }
  addEventListener(type: string, listener: (event: unknown) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  dispatch(type: string, event: Record<string, unknown> = {}) {
    const onclick = type === "click" ? (this.onclick as (() => void) | undefined) : undefined;
    onclick?.();
    for (const listener of this.listeners.get(type) ?? [])
      listener({ target: this, preventDefault: () => {}, ...event });
  }
  /** The document or shadow root this node is in. */
  get root(): Node {
    return this.parent ? this.parent.root : this;
  }
  focus() {
    const root = this.root;
    root.activeElement = this;
    this.page.activeElement = (root.host as Node | undefined) ?? this;
  }
  /** Descendants in document order, the shadow root's included. */
  all(): Node[] {
    const inner = this.shadowRoot ? [this.shadowRoot] : [];
    return [...inner, ...this.children].flatMap((c) => [c, ...c.all()]);
  }
  querySelectorAll(selector: string) {
    const tags = selector.split(",").map((s) => s.trim().toUpperCase());
    return this.all().filter((n) => tags.includes(n.tagName));
  }
  get text(): string {
    return (
      (typeof this.textContent === "string" ? this.textContent : "") +
      this.children.map((c) => c.text).join("")
    );
  }
  /** The first descendant with this tag whose own text, aria-label or role matches. */
  find(tag: string, name?: string | RegExp): Node | undefined {
    return this.all().find(
      (n) =>
        n.tagName === tag.toUpperCase() &&
        (name === undefined ||
          [n.text, n.attributes["aria-label"], n.attributes.role].some((v) =>
            typeof v === "string" && typeof name === "string"
              ? v === name
              : name instanceof RegExp && name.test(String(v)),
          )),
    );
  }
}

interface PageOptions {
  url: string;
  config?: Record<string, unknown>;
  /** The Customer Privacy API's answer; "not loaded" leaves it to Shopify.loadFeatures. */
  consent: boolean | "not loaded";
  /** Shopify's `_shopify_y` cookie (set by Shopify once analytics consent allows it). */
  clientId?: string;
  /** The tab's sessionStorage, shared by the pages of one browser session. */
  session?: Map<string, string>;
  /** The app's decision for this page. */
  message?: Message | null;
  /** The app's answer to POST /code (null: none left). */
  code?: Record<string, string> | null;
  designMode?: boolean;
  /** The app proxy is unreachable. */
  offline?: boolean;
  /** Shopify's consent banner is up (shouldShowBanner) until giveConsent or refuseConsent. */
  banner?: boolean;
  /** navigator.share exists (phones). */
  share?: boolean;
}

/** Runs slice.js on a page; returns what it sent and handles to drive the page. */
function openPage({
  url,
  config = {},
  consent,
  clientId,
  session = new Map(),
  message = null,
  code = null,
  designMode = false,
  offline = false,
  banner = false,
  share = false,
}: PageOptions) {
  const location = new URL(url);
  const sent: { url: string; batch: Batch; keepalive: boolean }[] = [];
  /** The decision requests (GET /apps/slice/decide). */
  const decisions: URL[] = [];
  const codes: unknown[] = [];
  const scripts: string[] = [];
  const clipboard: string[] = [];
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
    constructor(private action = "/apps/slice/answer") {}
    parts: Record<string, { hidden?: boolean; disabled?: boolean; focus?: () => void }> = {
      fieldset: { disabled: false },
      "[type=submit]": { hidden: false },
      "[data-slice-thanks]": { hidden: true, focus: () => (this.focused = "[data-slice-thanks]") },
    };
    hasAttribute = (name: string) => name === "data-slice-form" && this.action.endsWith("/answer");
    getAttribute = (name: string) => (name === "action" ? this.action : null);
    querySelector = (selector: string) => this.parts[selector];
    submit() {
      this.submitted = true;
    }
  }
  const page = { activeElement: null as Node | null };
  const head = new Node("HEAD", page);
  const body = new Node("BODY", page);
  const document = {
    getElementById: (id: string) =>
      id === "slice-config"
        ? {
            textContent: JSON.stringify({
              shop: SHOP,
              proxy: "/apps/slice",
              draw: DRAW_URL,
              pageType: "index",
              ...config,
            }),
          }
        : null,
    addEventListener: on("document:"),
    removeEventListener: (type: string, listener: (event: unknown) => void) =>
      listeners.set(
        "document:" + type,
        (listeners.get("document:" + type) ?? []).filter((l) => l !== listener),
      ),
    createElement: (tag: string) => new Node(tag.toUpperCase(), page),
    documentElement: { scrollHeight: 3000 },
    head,
    body,
    get activeElement() {
      return page.activeElement;
    },
    cookie: clientId ? `_shopify_s=abc; _shopify_y=${clientId}; cart=c1` : "cart=c1",
    visibilityState: "visible",
  };
  const fetch = async (to: string, init?: RequestInit) => {
    if (!to.startsWith("/apps/slice/")) return Response.json({}); // the theme's own calls
    if (offline) throw new TypeError("Failed to fetch");
    if (to.startsWith("/apps/slice/decide?")) {
      decisions.push(new URL(to, location.origin));
      return Response.json({ message });
    }
    if (to === "/apps/slice/code") {
      codes.push(JSON.parse(String(init?.body)));
      return code ? Response.json(code) : Response.json({ error: "none left" }, { status: 409 });
    }
    sent.push({ url: to, batch: JSON.parse(String(init?.body)), keepalive: init?.keepalive === true });
    expect(init?.method).toBe("POST");
    return Response.json({ ok: true });
  };
  const XMLHttpRequest = class {
    open() {}
  };
  const window: Record<string, unknown> = {
    document,
    location: { href: location.href, pathname: location.pathname, search: location.search },
    navigator: {
      clipboard: { writeText: async (text: string) => void clipboard.push(text) },
      ...(share ? { share: async () => {} } : {}),
    },
    sessionStorage: {
      getItem: (key: string) => session.get(key) ?? null,
      setItem: (key: string, value: string) => void session.set(key, String(value)),
      removeItem: (key: string) => void session.delete(key),
    },
    matchMedia: () => ({ matches: false }),
    setTimeout: (callback: () => void) => timers.push(callback),
    clearTimeout: () => {},
    scrollY: 0,
    innerHeight: 900,
    fetch,
    addEventListener: on("window:"),
    URLSearchParams,
    FormData: class {
      constructor(private form: HTMLFormElement) {}
      get = (name: string) => this.form.fields[name] ?? null;
    },
    HTMLFormElement,
    XMLHttpRequest,
    Shopify: shopify,
  };
  window.window = window;
  const context = createContext(window);
  // The script tag slice.js adds: the browser fetches and runs it, then fires onload.
  head.onAppend = (child: Node) => {
    if (child.tagName !== "SCRIPT") return;
    scripts.push(String(child.src));
    setTimeout(() => {
      runInContext(DRAW, context);
      (child.onload as () => void)();
    });
  };
  runInContext(SCRIPT, context);

  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  };
  const host = () => body.children.find((c) => c.id === "slice-message");
  return {
    sent,
    decisions,
    codes,
    scripts,
    clipboard,
    session,
    window,
    fetch,
    loadFeatures: () => loadFeatures,
    /** Time passes: timers due run, and what they started settles. */
    wait: async () => {
      await settle();
      timers.splice(0).forEach((callback) => callback());
      await settle();
    },
    /** The message on screen (slice-draw.js's shadow root's box), if any. */
    box: () =>
      host()
        ?.shadowRoot?.all()
        .find((n) => n.className === "box"),
    host,
    focused: () => {
      const inner = host()?.shadowRoot?.activeElement;
      return page.activeElement === host() && inner
        ? (inner.attributes["aria-label"] ?? inner.text)
        : "outside";
    },
    key: (key: string, shiftKey = false) => {
      let prevented = false;
      emit("document:keydown", { key, shiftKey, preventDefault: () => (prevented = true) });
      return prevented;
    },
    scrollTo: (y: number) => {
      window.scrollY = y;
      emit("window:scroll", {});
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
    /** The shopper submits a form: the theme's own handler may prevent the page load. */
    submit: async (form: HTMLFormElement, themePrevents: boolean) => {
      const event = {
        target: form,
        defaultPrevented: false,
        preventDefault: () => (event.defaultPrevented = true),
      };
      emit("document:submit", event);
      if (themePrevents) event.preventDefault();
      await settle();
      return event;
    },
    form: (action?: string) => new HTMLFormElement(action),
    answer: async (question: string, answer: string) => {
      const form = new HTMLFormElement();
      form.fields = { question, answer };
      let prevented = false;
      emit("document:submit", { target: form, preventDefault: () => (prevented = true) });
      await settle();
      return { form, prevented };
    },
    dispatch: (type: string, event: unknown) => emit("document:" + type, event),
  };
}

const types = (page: { sent: { batch: Batch }[] }) =>
  page.sent.flatMap(({ batch }) => batch.events.map((e) => [e.type, e.resourceId]));

const welcome: Message = {
  id: 7,
  format: "popup",
  trigger: { on: "load" },
  headline: "Welcome! Here's 10% off",
  body: "New here? Use your code at checkout.",
  reward: "firstPurchase",
  button: { label: "Start shopping", url: "/collections/all" },
};

describe("slice.js", () => {
  it("tracks nothing: no views, no cart, no wrapped fetch or XMLHttpRequest, nothing kept of its own", async () => {
    const page = openPage({
      url: "https://shop.example/products/linen-shirt?utm_source=newsletter",
      config: { pageType: "product", productId: "8001", collectionId: "501" },
      consent: true,
      clientId: CLIENT_ID,
    });
    const xhrOpen = (page.window.XMLHttpRequest as { prototype: { open: unknown } }).prototype.open;
    await page.wait();
    expect(page.window.fetch).toBe(page.fetch);
    expect((page.window.XMLHttpRequest as { prototype: { open: unknown } }).prototype.open).toBe(xhrOpen);
    expect(page.sent).toEqual([]);
    expect(page.session.size).toBe(0);
    expect((page.window.document as { cookie: string }).cookie).toBe(
      `_shopify_s=abc; _shopify_y=${CLIENT_ID}; cart=c1`,
    );
    expect(page.decisions).toHaveLength(1);
  });

  it("with analytics consent asks for the decision as Shopify's client id: page type, path, ids shown and dismissed this session", async () => {
    const session = new Map([
      ["slice_shown", "3,7"],
      ["slice_dismissed", "3"],
    ]);
    const page = openPage({
      url: "https://shop.example/products/linen-shirt?variant=1",
      config: { pageType: "product", productId: "8001" },
      consent: true,
      clientId: CLIENT_ID,
      session,
    });
    await page.wait();
    expect(page.decisions).toHaveLength(1);
    const [decision] = page.decisions;
    expect(decision.pathname).toBe("/apps/slice/decide");
    expect(Object.fromEntries(decision.searchParams)).toEqual({
      visitor: CLIENT_ID,
      consent: "1",
      page: "product",
      path: "/products/linen-shirt",
      shown: "3,7",
      dismissed: "3",
    });
    expect((page.window.Slice as { visitorId: string }).visitorId).toBe(CLIENT_ID);
  });

  it("with consent but no client id yet (Shopify has not set _shopify_y), asks as a shopper without one", async () => {
    const page = openPage({ url: "https://shop.example/", consent: true });
    await page.wait();
    expect(Object.fromEntries(page.decisions[0].searchParams)).toEqual({
      consent: "0",
      page: "index",
      path: "/",
      shown: "",
      dismissed: "",
    });
  });

  it("without analytics consent reads no id (not even a cookie left behind) and sends answers only to be counted", async () => {
    const page = openPage({
      url: "https://shop.example/?utm_source=ads",
      consent: false,
      clientId: CLIENT_ID,
    });
    await page.wait();
    expect(page.sent).toEqual([]);
    expect(Object.fromEntries(page.decisions[0].searchParams)).toMatchObject({ consent: "0" });
    expect(page.decisions[0].searchParams.has("visitor")).toBe(false);

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
    expect((page.window.Slice as { visitorId: string | null }).visitorId).toBeNull();
  });

  it("decides nothing while the consent banner waits, then follows the answer", async () => {
    const page = openPage({
      url: "https://shop.example/",
      consent: false,
      banner: true,
      clientId: CLIENT_ID,
    });
    await page.wait();
    expect(page.decisions).toEqual([]);
    page.refuseConsent();
    await page.wait();
    expect(page.decisions.map((d) => d.searchParams.get("consent"))).toEqual(["0"]);

    const accepted = openPage({
      url: "https://shop.example/",
      consent: false,
      banner: true,
      clientId: CLIENT_ID,
    });
    await accepted.wait();
    expect(accepted.decisions).toEqual([]);
    accepted.giveConsent();
    await accepted.wait();
    expect(accepted.decisions.map((d) => d.searchParams.get("visitor"))).toEqual([CLIENT_ID]);
  });

  it("loads the Customer Privacy API when the theme has not", async () => {
    const page = openPage({ url: "https://shop.example/", consent: "not loaded", clientId: CLIENT_ID });
    expect(page.loadFeatures()).toEqual([{ name: "consent-tracking-api", version: "0.1" }]);
    await page.wait();
    expect(page.decisions.map((d) => d.searchParams.get("consent"))).toEqual(["0"]);
  });

  it("submits the question form as a plain form when the answer cannot be sent", async () => {
    const page = openPage({ url: "https://shop.example/", consent: false, offline: true });
    const { form, prevented } = await page.answer("intent", "Just browsing");
    expect(prevented).toBe(true);
    expect(form.submitted).toBe(true);
    expect(form.parts["[data-slice-thanks]"].hidden).toBe(true);
  });

  it("does nothing in the theme editor", async () => {
    const page = openPage({
      url: "https://shop.example/",
      consent: true,
      designMode: true,
      message: welcome,
    });
    await page.wait();
    expect(page.decisions).toEqual([]);
    expect(page.window.Slice).toBeUndefined();
  });

  it("loads the drawing code only when the decision returned a message, once, from the app embed's asset URL", async () => {
    const none = openPage({ url: "https://shop.example/", consent: true, clientId: CLIENT_ID });
    await none.wait();
    await none.wait();
    expect(none.scripts).toEqual([]);
    expect((none.window.Slice as { draw?: unknown }).draw).toBeUndefined();

    // A format the merchant switched off in the theme editor is not drawn either.
    const off = openPage({
      url: "https://shop.example/",
      consent: true,
      clientId: CLIENT_ID,
      config: { formats: { popup: false, corner: true, bar: true } },
      message: welcome,
    });
    await off.wait();
    expect(off.scripts).toEqual([]);
    // Nor one already shown in this browser session.
    const again = openPage({
      url: "https://shop.example/",
      consent: true,
      clientId: CLIENT_ID,
      session: new Map([["slice_shown", "7"]]),
      message: welcome,
    });
    await again.wait();
    expect(again.scripts).toEqual([]);

    const page = openPage({
      url: "https://shop.example/",
      consent: true,
      clientId: CLIENT_ID,
      message: welcome,
      code: { code: "WELCOME-7K2M", applyPath: "/discount/WELCOME-7K2M" },
    });
    await page.wait();
    await page.wait();
    expect(page.scripts).toEqual([DRAW_URL]);
    // The shopper's own code, asked for as the message opens.
    expect(page.codes).toEqual([{ visitorId: CLIENT_ID, messageId: 7 }]);
    const box = page.box()!;
    expect(box.attributes).toMatchObject({
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": "slice-h",
    });
    expect(box.find("h2")!.text).toBe("Welcome! Here's 10% off");
    expect(box.find("strong")!.text).toBe("WELCOME-7K2M");
    expect(box.find("a", "Start shopping")!.href).toBe(
      "/discount/WELCOME-7K2M?redirect=%2Fcollections%2Fall",
    );
    expect(types(page)).toEqual([["message_shown", "7"]]);
    expect(page.sent[0].batch).toMatchObject({ visitorId: CLIENT_ID, consent: { analytics: true } });
    expect(page.session.get("slice_shown")).toBe("7");
  });

  it("a popup keeps the focus (Tab and Shift+Tab wrap), Escape dismisses it: remembered this session and sent with the next decision", async () => {
    const session = new Map<string, string>();
    const page = openPage({
      url: "https://shop.example/",
      consent: true,
      clientId: CLIENT_ID,
      session,
      message: welcome,
      code: { code: "WELCOME-7K2M", applyPath: "/discount/WELCOME-7K2M" },
    });
    await page.wait();
    await page.wait();
    expect(page.focused()).toBe("Start shopping");
    expect(page.key("Tab")).toBe(true);
    expect(page.focused()).toBe("Close");
    page.key("Tab");
    expect(page.focused()).toBe("Copy code");
    page.key("Tab", true);
    expect(page.focused()).toBe("Close");
    page.key("Escape");
    expect(page.host()).toBeUndefined();
    await page.wait();
    expect(types(page)).toEqual([
      ["message_shown", "7"],
      ["message_dismissed", "7"],
    ]);
    expect(Object.fromEntries(session)).toEqual({ slice_shown: "7", slice_dismissed: "7" });

    const next = openPage({ url: "https://shop.example/cart", consent: true, clientId: CLIENT_ID, session });
    await next.wait();
    expect(next.decisions[0].searchParams.get("shown")).toBe("7");
    expect(next.decisions[0].searchParams.get("dismissed")).toBe("7");
  });

  it("keeps the newest 50 ids of a session's list (the decision takes at most 50)", async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => String(100 + i));
    const session = new Map([["slice_shown", fifty.join(",")]]);
    const bar: Message = { id: 7, format: "bar", trigger: { on: "load" }, headline: "Free shipping" };
    const page = openPage({
      url: "https://shop.example/",
      consent: true,
      clientId: CLIENT_ID,
      session,
      message: bar,
    });
    await page.wait();
    await page.wait();
    expect(page.box()!.find("h2")!.text).toBe("Free shipping");
    expect(session.get("slice_shown")).toBe([...fifty.slice(1), "7"].join(","));
  });

  it("draws no discount offer without a code (none left), and stays ready for the next decision", async () => {
    const page = openPage({
      url: "https://shop.example/",
      consent: true,
      clientId: CLIENT_ID,
      message: welcome,
    });
    await page.wait();
    await page.wait();
    expect(page.codes).toHaveLength(1);
    expect(page.host()).toBeUndefined();
    expect(page.sent).toEqual([]);
    expect(page.session.size).toBe(0);
  });

  it("fires 'on add to cart' for the theme's own add (the product form it sends itself) or Shopify's shopify:cart:lines-update, not for a plain post", async () => {
    const bar: Message = {
      id: 12,
      format: "bar",
      trigger: { on: "addToCart" },
      headline: "Free shipping over $75",
    };
    const plain = openPage({
      url: "https://shop.example/products/x",
      consent: true,
      clientId: CLIENT_ID,
      message: bar,
    });
    await plain.wait();
    // A form posted without JavaScript leaves for the cart page: nothing would be seen.
    await plain.submit(plain.form("/cart/add"), false);
    await plain.wait();
    expect(plain.scripts).toEqual([DRAW_URL]); // loaded with the decision, drawn on the trigger
    expect(plain.host()).toBeUndefined();
    await plain.submit(plain.form("/cart/add"), true);
    await plain.wait();
    expect(plain.box()!.find("h2")!.text).toBe("Free shipping over $75");
    expect(plain.box()!.attributes.role).toBe("region");

    const standard = openPage({
      url: "https://shop.example/products/x",
      consent: true,
      clientId: CLIENT_ID,
      message: bar,
    });
    await standard.wait();
    // A removal, and an add the cart declined, are not adds.
    standard.dispatch("shopify:cart:lines-update", { action: "remove", promise: Promise.resolve({}) });
    standard.dispatch("shopify:cart:lines-update", {
      action: "add",
      promise: Promise.resolve({ userErrors: [{ message: "Sold out" }] }),
    });
    await standard.wait();
    expect(standard.host()).toBeUndefined();
    standard.dispatch("shopify:cart:lines-update", { action: "add", promise: Promise.resolve({ cart: {} }) });
    await standard.wait();
    expect(standard.box()!.find("h2")!.text).toBe("Free shipping over $75");
  });

  it("fires 'after scrolling N%' only once the shopper has scrolled that far from the top", async () => {
    const corner: Message = {
      id: 4,
      format: "corner",
      trigger: { on: "scroll", percent: 40 },
      headline: "Gift wrap",
    };
    const page = openPage({
      url: "https://shop.example/",
      consent: true,
      clientId: CLIENT_ID,
      message: corner,
    });
    await page.wait();
    await page.wait();
    expect(page.host()).toBeUndefined(); // nothing scrolled: a whole screen of page is not 40% read
    page.scrollTo(600); // 600 of 2100 scrollable: 29%
    await page.wait();
    expect(page.host()).toBeUndefined();
    page.scrollTo(900); // 43%
    await page.wait();
    expect(page.box()!.find("h2")!.text).toBe("Gift wrap");
  });

  it("a referral invite shows the whole link in parts that never break inside, with Copy (announced), Email and WhatsApp", async () => {
    const link = "https://shop.example.com/discount/REFER-7KQ2-M9XD";
    const invite: Message = {
      id: 9,
      format: "corner",
      trigger: { on: "load" },
      headline: "Thanks for being one of our best customers",
      reward: "referral",
    };
    const page = openPage({
      url: "https://shop.example.com/",
      consent: true,
      clientId: CLIENT_ID,
      message: invite,
      code: { code: "REFER-7KQ2-M9XD", shareUrl: link, note: "Thank you: a friend ordered." },
      share: true,
    });
    await page.wait();
    await page.wait();
    const box = page.box()!;
    const shown = box.find("p", "Your link")!;
    // Every part is one unbreakable piece; the browser may only wrap between them, after a "/".
    expect(shown.children.filter((c) => c.tagName === "SPAN").map((c) => c.text)).toEqual([
      "https://",
      "shop.example.com/",
      "discount/",
      "REFER-7KQ2-M9XD",
    ]);
    expect(shown.children.map((c) => c.tagName)).toEqual([
      "SPAN",
      "WBR",
      "SPAN",
      "WBR",
      "SPAN",
      "WBR",
      "SPAN",
    ]);
    expect(shown.text).toBe(link);

    const copy = box.find("button", "Copy your link")!;
    copy.dispatch("click");
    await page.wait();
    expect(page.clipboard).toEqual([link]);
    expect(copy.text).toBe("Copied");
    expect(box.find("span", "status")!.text).toBe("Link copied");

    const text = `Here's a discount on your first order: ${link}`;
    expect(box.find("a", "Share by email")!.href).toBe(
      `mailto:?subject=A%20discount%20for%20you&body=${encodeURIComponent(text)}`,
    );
    expect(box.find("a", "Share on WhatsApp")!.href).toBe(`https://wa.me/?text=${encodeURIComponent(text)}`);
    expect(box.find("button", "Share your link")).toBeDefined();
    expect(box.find("p", "Thank you: a friend ordered.")).toBeDefined();
    // Not modal: the page keeps the focus.
    expect(page.focused()).toBe("outside");
  });

  describe("against the app's events endpoint", () => {
    beforeAll(() => prisma.shop.create({ data: { domain: SHOP } }));
    afterAll(() => prisma.$disconnect());

    it("every event the scripts send is accepted: stored with consent, counted without", async () => {
      const signUp: Message = {
        id: 21,
        format: "corner",
        trigger: { on: "load" },
        headline: "Join our list",
        reward: "emailCapture",
      };
      const withConsent = openPage({
        url: "https://shop.example/",
        consent: true,
        clientId: CLIENT_ID,
        message: signUp,
      });
      await withConsent.wait();
      await withConsent.wait();
      const box = withConsent.box()!;
      box.find("input")!.value = "list.member@example.com";
      box.find("form")!.dispatch("submit");
      await withConsent.answer("intent", "Shopping for myself");
      const anonymous = openPage({
        url: "https://shop.example/",
        consent: false,
        message: { ...signUp, id: 22 },
      });
      await anonymous.wait();
      await anonymous.wait();
      anonymous.box()!.find("button", "Close")!.dispatch("click");
      await anonymous.answer("intent", "Just browsing");

      const sends = [...withConsent.sent, ...anonymous.sent];
      expect(types(withConsent)).toEqual([
        ["message_shown", "21"],
        ["answer", "email=list.member@example.com"],
        ["message_clicked", "21"],
        ["answer", "intent=Shopping for myself"],
      ]);
      expect(types(anonymous)).toEqual([
        ["message_shown", "22"],
        ["message_dismissed", "22"],
        ["answer", "intent=Just browsing"],
      ]);
      expect(sends.every((s) => s.keepalive)).toBe(true);
      for (const { url, batch } of sends) {
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
          body: batch.consent.analytics ? { stored: 1 } : { stored: 0, counted: 1 },
        });
      }
      const stored = await prisma.storefrontEvent.findMany({
        where: { visitorId: CLIENT_ID },
        orderBy: { id: "asc" },
        select: { type: true },
      });
      expect(stored.map((e) => e.type)).toEqual(["message_shown", "answer", "message_clicked", "answer"]);
    });
  });
});
