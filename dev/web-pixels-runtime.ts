/**
 * The demo storefront's stand-in for Shopify's web pixels manager, in the browser:
 * - the `_shopify_y` cookie (CONTRACTS C1): Shopify's client id, set (a random uuid, path=/, one
 *   year) once the shopper's consent allows analytics, cleared when it is withdrawn;
 * - the app's pixel (its built bundle) in a Web Worker, as Shopify's strict sandbox runs it, with
 *   the settings the app gave webPixelCreate; loaded only with analytics consent (the extension's
 *   `customer_privacy`), given `init`, `analytics.subscribe`, `customerPrivacy.subscribe` and an
 *   asynchronous `browser` (cookie, localStorage, sessionStorage) over the top page;
 * - the standard events of each page (the storefront renders them into the page's config), and
 *   `SliceDemoPixels.publish(name, data)` for the theme's own (add to cart).
 */

/** Runs in the worker before the pixel's bundle: the sandbox's `shopify.extend` and `browser`. */
export const WORKER_PRELUDE = `"use strict";
var pending = {}, calls = 0, handlers = {}, privacySubs = [], render = null;
function call(area, op, args) {
  return new Promise(function (resolve) {
    var id = ++calls;
    pending[id] = resolve;
    postMessage({ type: "browser", id: id, area: area, op: op, args: args });
  });
}
function storage(area) {
  return {
    clear: function () { return call(area, "clear", []); },
    getItem: function (k) { return call(area, "getItem", [k]); },
    key: function (i) { return call(area, "key", [i]); },
    length: function () { return call(area, "length", []); },
    removeItem: function (k) { return call(area, "removeItem", [k]); },
    setItem: function (k, v) { return call(area, "setItem", [k, String(v)]); }
  };
}
var browser = {
  cookie: {
    get: function (name) { return call("cookie", "get", [name]); },
    set: function (a, b) { return call("cookie", "set", [a, b]); }
  },
  localStorage: storage("local"),
  sessionStorage: storage("session"),
  sendBeacon: function () { return Promise.resolve(false); }
};
self.shopify = { extend: function (point, fn) { if (point === "WebPixel::Render") render = fn; } };
self.onmessage = function (message) {
  var d = message.data;
  if (d.type === "reply") {
    var resolve = pending[d.id];
    delete pending[d.id];
    if (resolve) resolve(d.value);
  } else if (d.type === "init" && render) {
    render({
      settings: d.settings,
      analytics: { subscribe: function (name, cb) { (handlers[name] = handlers[name] || []).push(cb); return function () { return true; }; } },
      browser: browser,
      init: d.init,
      _pixelInfo: { id: "slice-pixel", type: "APP", runtimeContext: "STRICT" },
      customerPrivacy: { subscribe: function (name, cb) { if (name === "visitorConsentCollected") privacySubs.push(cb); return function () { return true; }; } }
    });
  } else if (d.type === "event") {
    (handlers[d.event.name] || []).forEach(function (cb) { cb(d.event); });
  } else if (d.type === "consent") {
    privacySubs.forEach(function (cb) { cb({ customerPrivacy: d.customerPrivacy }); });
  }
};
`;

/** The page's side (an inline script in the theme's head, before the app embed's script). */
export const PAGE_RUNTIME = `(function () {
  var node = document.getElementById("demo-web-pixels");
  if (!node) return;
  var cfg = JSON.parse(node.textContent);
  var worker = null, queue = [], seq = 0;
  var cookie = function (name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  };
  var privacy = function () {
    var cp = window.Shopify && window.Shopify.customerPrivacy;
    var ask = function (f) { return !!(cp && cp[f] && cp[f]()); };
    return {
      analyticsProcessingAllowed: ask("analyticsProcessingAllowed"),
      marketingAllowed: ask("marketingAllowed"),
      preferencesProcessingAllowed: ask("preferencesProcessingAllowed"),
      saleOfDataAllowed: ask("saleOfDataAllowed")
    };
  };
  var uuid = function () {
    var b = crypto.getRandomValues(new Uint8Array(16)), h = [];
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    h = h.join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  };
  /* Shopify's client id: kept only with analytics consent. */
  var clientId = function () {
    if (!privacy().analyticsProcessingAllowed) {
      if (cookie("_shopify_y")) document.cookie = "_shopify_y=; path=/; max-age=0; samesite=lax";
      return "";
    }
    if (!cookie("_shopify_y")) document.cookie = "_shopify_y=" + uuid() + "; path=/; max-age=31536000; samesite=lax";
    return cookie("_shopify_y");
  };
  var context = function () {
    var l = location;
    var loc = { hash: l.hash, host: l.host, hostname: l.hostname, href: l.href, origin: l.origin, pathname: l.pathname, port: l.port, protocol: l.protocol, search: l.search };
    return {
      document: { characterSet: document.characterSet, location: loc, referrer: document.referrer, title: document.title },
      navigator: { cookieEnabled: navigator.cookieEnabled, language: navigator.language, languages: navigator.languages.slice(), userAgent: navigator.userAgent },
      window: { innerHeight: innerHeight, innerWidth: innerWidth, location: loc, origin: l.origin, outerHeight: outerHeight, outerWidth: outerWidth, pageXOffset: pageXOffset, pageYOffset: pageYOffset, screen: { height: screen.height, width: screen.width }, screenX: screenX, screenY: screenY, scrollX: scrollX, scrollY: scrollY }
    };
  };
  var publish = function (name, data) {
    if (!worker) return void queue.push([name, data]);
    var id = cookie("_shopify_y");
    if (!id) return;
    seq += 1;
    worker.postMessage({ type: "event", event: { clientId: id, context: context(), data: data, id: "demo-" + Date.now() + "-" + seq, name: name, seq: seq, timestamp: new Date().toISOString(), type: "standard" } });
  };
  var answer = function (d) {
    var value = null;
    try {
      if (d.area === "cookie") {
        if (d.op === "get") value = cookie(d.args[0]);
        else { document.cookie = d.args[1] === undefined || d.args[1] === null ? d.args[0] : d.args[0] + "=" + d.args[1]; value = d.args[1] || ""; }
      } else {
        var s = d.area === "local" ? localStorage : sessionStorage;
        value = d.op === "length" ? s.length : s[d.op].apply(s, d.args);
      }
    } catch (e) { value = null; }
    worker.postMessage({ type: "reply", id: d.id, value: value === undefined ? null : value });
  };
  var start = function () {
    var p = privacy();
    if (!clientId() || worker || !cfg.settings) return;
    worker = new Worker(cfg.worker);
    worker.onmessage = function (m) { if (m.data && m.data.type === "browser") answer(m.data); };
    worker.postMessage({ type: "init", settings: cfg.settings, init: { context: context(), data: { customer: cfg.customer, cart: cfg.cart, shop: cfg.shop, purchasingCompany: null }, customerPrivacy: p } });
    var waiting = queue; queue = [];
    waiting.forEach(function (e) { publish(e[0], e[1]); });
  };
  window.SliceDemoPixels = { publish: publish };
  cfg.events.forEach(function (e) { publish(e.name, e.data); });
  document.addEventListener("visitorConsentCollected", function () {
    clientId();
    if (worker) worker.postMessage({ type: "consent", customerPrivacy: privacy() });
    else start();
  });
  if (window.Shopify && window.Shopify.loadFeatures)
    window.Shopify.loadFeatures([{ name: "consent-tracking-api", version: "0.1" }], function (error) { if (!error) start(); });
})();`;
