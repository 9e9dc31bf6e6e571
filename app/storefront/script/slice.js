/* Slice storefront script, loaded deferred by the app embed (blocks/slice-embed.liquid).
 * Records who is looking and what they do, and sends it in batches to the app proxy.
 * Without analytics consent (Shopify's Customer Privacy API) only the answers a shopper
 * submits leave the browser, and the visitor id lives only as long as the session. */
/* global window, document, location, screen, matchMedia, HTMLFormElement */
(() => {
  const configElement = document.getElementById("slice-config");
  // Not in the theme editor: a merchant previewing the theme is not a visitor.
  if (!configElement || window.Slice || window.Shopify?.designMode) return;
  const config = JSON.parse(configElement.textContent);
  const endpoint = config.proxy + "/events";
  const ID_KEY = "slice_vid";
  const CONTEXT_KEY = "slice_ctx";
  const CART_KEY = "slice_cart";
  const MAX_BATCH = 50; // the events endpoint takes at most 50 events per request
  const FLUSH_DELAY_MS = 3000;
  const CART_CHANGE = /\/cart\/(add|change|update|clear)(\.js)?\b/;
  const CART_TOKEN = /^[\w\-.:~=?&]{1,200}$/;

  // Storage can throw (Safari private mode, blocked cookies): treat that as empty.
  const get = (storage, key) => {
    try {
      return storage.getItem(key);
    } catch {
      return null;
    }
  };
  const set = (storage, key, value) => {
    try {
      storage.setItem(key, value);
      return true;
    } catch {
      return false;
    }
  };

  const analyticsAllowed = () => !!window.Shopify?.customerPrivacy?.analyticsProcessingAllowed?.();

  // First-party visitor id: kept for the session always, kept across visits only with consent
  // (and forgotten when consent is withdrawn).
  const cookieId = () => document.cookie.match(/(?:^|; )slice_vid=([\w-]{16,64})/)?.[1];
  const newId = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  const visitorId = get(localStorage, ID_KEY) || cookieId() || get(sessionStorage, ID_KEY) || newId();
  set(sessionStorage, ID_KEY, visitorId);
  const rememberVisitor = () => {
    if (!analyticsAllowed()) {
      try {
        localStorage.removeItem(ID_KEY);
      } catch {
        // nothing kept there
      }
      document.cookie = `${ID_KEY}=; max-age=0; path=/`;
    } else if (!set(localStorage, ID_KEY, visitorId)) {
      document.cookie = `${ID_KEY}=${visitorId}; max-age=31536000; path=/; samesite=lax`;
    }
  };

  let queue = [];
  let flushTimer = 0;

  function track(type, resourceId) {
    queue.push({
      type,
      at: new Date().toISOString(),
      ...(resourceId ? { resourceId: String(resourceId).slice(0, 200) } : {}),
    });
    if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_DELAY_MS);
  }

  // Without consent, events other than answers wait in memory: sent if consent comes on this page,
  // dropped when it is left.
  function flush(onPageHide) {
    flushTimer = 0;
    const analytics = analyticsAllowed();
    const ready = analytics ? queue : queue.filter((e) => e.type === "answer");
    queue = analytics ? [] : queue.filter((e) => e.type !== "answer");
    for (let i = 0; i < ready.length; i += MAX_BATCH)
      send(ready.slice(i, i + MAX_BATCH), analytics, onPageHide === true);
  }

  function send(events, analytics, onPageHide) {
    const cartToken = get(sessionStorage, CART_KEY);
    const body = JSON.stringify({
      visitorId,
      consent: { analytics },
      context: analytics ? JSON.parse(get(sessionStorage, CONTEXT_KEY) || "{}") : {},
      ...(analytics && cartToken ? { cartToken } : {}),
      events,
    });
    // sendBeacon survives the page being unloaded; it returns false when it cannot queue the body.
    if (onPageHide && navigator.sendBeacon?.(endpoint, body)) return Promise.resolve(true);
    return fetch(endpoint, { method: "POST", body, keepalive: true }).then(
      (response) => response.ok,
      () => false,
    );
  }

  function deviceType() {
    if (navigator.userAgentData?.mobile) return "mobile";
    if (!matchMedia("(pointer: coarse)").matches) return "desktop";
    return Math.min(screen.width, screen.height) < 600 ? "mobile" : "tablet";
  }

  // A session starts on the first page of a tab's visit; its landing page, referrer and UTM
  // parameters describe the whole session.
  if (!get(sessionStorage, CONTEXT_KEY)) {
    const params = new URLSearchParams(location.search);
    const context = {
      landingPage: (location.pathname + location.search).slice(0, 2048),
      referrer: document.referrer.slice(0, 2048) || undefined,
      utmSource: params.get("utm_source")?.slice(0, 200) || undefined,
      utmMedium: params.get("utm_medium")?.slice(0, 200) || undefined,
      utmCampaign: params.get("utm_campaign")?.slice(0, 200) || undefined,
      deviceType: deviceType(),
    };
    set(sessionStorage, CONTEXT_KEY, JSON.stringify(context));
    track("session_start");
  }
  track("page_view", location.pathname);
  if (config.productId) track("product_view", config.productId);
  if (config.collectionId && config.pageType === "collection") track("collection_view", config.collectionId);

  // Cart changes: the theme's own fetch calls to /cart/add, /cart/change... After each, read the
  // cart token so the checkout and order that follow can be linked to this visitor.
  function linkCart() {
    return fetch("/cart.js")
      .then((response) => response.json())
      .then((cart) => {
        if (CART_TOKEN.test(cart.token)) set(sessionStorage, CART_KEY, cart.token);
      })
      .catch(() => {});
  }
  const themeFetch = window.fetch;
  window.fetch = function (input, init) {
    const result = themeFetch.call(this, input, init);
    // A string, URL or Request; never let observing break the theme's own request.
    if (CART_CHANGE.test(String(input?.url ?? input))) {
      result.then(
        (response) => response.ok && linkCart().then(() => track("cart_update")),
        () => {},
      );
    }
    return result;
  };
  // A cart changed without JavaScript (a plain form post) lands on the cart page.
  if (config.pageType === "cart") linkCart();

  // The question block: send the answer now and thank the shopper in place. If it cannot be
  // sent, the form is submitted as it would be without this script.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-slice-form")) return;
    const data = new FormData(form);
    if (!data.get("answer")) return;
    event.preventDefault();
    const answer = {
      type: "answer",
      at: new Date().toISOString(),
      resourceId: `${data.get("question")}=${data.get("answer")}`.slice(0, 200),
    };
    send([answer], analyticsAllowed(), false).then((sent) => {
      if (!sent) return HTMLFormElement.prototype.submit.call(form);
      form.querySelector("fieldset").disabled = true;
      form.querySelector("[type=submit]").hidden = true;
      // The button goes away, so focus moves to the thank-you (which also has it read out).
      const thanks = form.querySelector("[data-slice-thanks]");
      thanks.hidden = false;
      thanks.focus();
    });
  });

  document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && flush(true));
  window.addEventListener("pagehide", () => flush(true));

  // Consent may be given after load: keep the id across visits then, and send what was waiting.
  const onConsent = () => {
    rememberVisitor();
    flush();
  };
  document.addEventListener("visitorConsentCollected", onConsent);
  if (window.Shopify?.customerPrivacy) rememberVisitor();
  else
    window.Shopify?.loadFeatures?.(
      [{ name: "consent-tracking-api", version: "0.1" }],
      (error) => error || onConsent(),
    );

  // The hook for message display (next slice): it reads the merchant's formats, accent and
  // positions from Slice.config, identifies the visitor by Slice.visitorId and records through
  // Slice.track.
  window.Slice = { config, visitorId, track };
})();
