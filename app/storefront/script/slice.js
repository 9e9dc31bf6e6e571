/* Slice storefront script, loaded deferred by the app embed (blocks/slice-embed.liquid).
 * The source of extensions/slice-storefront/assets/slice.js: `npm run build` minifies it there
 * (dev/extension-build.ts), and a test keeps the two the same.
 *
 * Records who is looking and what they do, and sends it in batches to the app proxy; then asks
 * the app which message this visitor should see (GET /apps/slice/decide), waits for its trigger
 * and shows it as a popup, corner message or sticky bar. It asks Shopify's Customer Privacy API
 * first, and opens nothing while Shopify's consent banner waits for an answer. Without analytics
 * consent there is no visitor id (none made, none kept, none sent), nothing is tracked, only
 * untargeted messages are asked for, and what is shown, clicked, dismissed or answered is sent to be
 * counted, with no id. */
(() => {
  const configElement = document.getElementById("slice-config");
  // Not in the theme editor: a merchant previewing the theme is not a visitor.
  if (!configElement || window.Slice || window.Shopify?.designMode) return;
  const config = JSON.parse(configElement.textContent);
  const endpoint = config.proxy + "/events";
  const ID_KEY = "slice_vid";
  const CONTEXT_KEY = "slice_ctx";
  const CART_KEY = "slice_cart";
  const SHOWN_KEY = "slice_shown";
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

  const privacy = () => window.Shopify?.customerPrivacy;
  const analyticsAllowed = () => !!privacy()?.analyticsProcessingAllowed?.();

  // First-party visitor id, only with consent: made, kept (localStorage, else a cookie) and sent
  // only then; forgotten when consent is withdrawn.
  let visitorId = null;
  const remember = () => {
    if (analyticsAllowed()) {
      visitorId ||=
        get(localStorage, ID_KEY) ||
        document.cookie.match(/(?:^|; )slice_vid=([\w-]{16,64})/)?.[1] ||
        Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(
          "",
        );
      if (!set(localStorage, ID_KEY, visitorId))
        document.cookie = `${ID_KEY}=${visitorId}; max-age=31536000; path=/; samesite=lax`;
      return;
    }
    visitorId = null;
    try {
      localStorage.removeItem(ID_KEY);
      sessionStorage.removeItem(CART_KEY);
    } catch {
      // nothing kept there
    }
    document.cookie = `${ID_KEY}=; max-age=0; path=/`;
  };

  const isoNow = () => new Date().toISOString();
  const on = (type, listener, capture) => document.addEventListener(type, listener, capture);

  let queue = [];
  let flushTimer = 0;

  function track(type, resourceId) {
    queue.push({
      type,
      at: isoNow(),
      ...(resourceId ? { resourceId: String(resourceId).slice(0, 200) } : {}),
    });
    if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_DELAY_MS);
  }

  // Without consent, what is only counted (messages shown, clicked, dismissed; answers) goes with no
  // id; the rest waits in memory: sent if consent comes on this page, dropped when it is left.
  const counted = (e) => e.type === "answer" || e.type.startsWith("message_");
  function flush(onPageHide) {
    clearTimeout(flushTimer);
    flushTimer = 0;
    if (!known) return Promise.resolve();
    const analytics = !!visitorId;
    const ready = analytics ? queue : queue.filter(counted);
    queue = analytics ? [] : queue.filter((e) => !counted(e));
    const sends = [];
    for (let i = 0; i < ready.length; i += MAX_BATCH)
      sends.push(send(ready.slice(i, i + MAX_BATCH), analytics, onPageHide === true));
    return Promise.all(sends);
  }

  function send(events, analytics, onPageHide) {
    const cartToken = get(sessionStorage, CART_KEY);
    if (analytics) set(sessionStorage, CONTEXT_KEY, context);
    const body = JSON.stringify({
      ...(analytics ? { visitorId, context: JSON.parse(context), ...(cartToken ? { cartToken } : {}) } : {}),
      consent: { analytics },
      sentAt: isoNow(), // the app corrects for this browser's clock with it
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
  // parameters describe the whole session (kept in the tab only once sent, with consent).
  let context = get(sessionStorage, CONTEXT_KEY);
  if (!context) {
    const params = new URLSearchParams(location.search);
    context = JSON.stringify({
      landingPage: (location.pathname + location.search).slice(0, 2048),
      referrer: document.referrer.slice(0, 2048) || undefined,
      utmSource: params.get("utm_source")?.slice(0, 200) || undefined,
      utmMedium: params.get("utm_medium")?.slice(0, 200) || undefined,
      utmCampaign: params.get("utm_campaign")?.slice(0, 200) || undefined,
      deviceType: deviceType(),
    });
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
        if (visitorId && CART_TOKEN.test(cart.token)) set(sessionStorage, CART_KEY, cart.token);
      })
      .catch(() => {});
  }
  function cartChanged(url) {
    if (url.includes("/cart/add")) fire("addToCart");
    linkCart().then(() => {
      track("cart_update");
      // The cart changed what the app knows of this visitor (with consent): ask again, unless a
      // message is up.
      if (!current && visitorId) flush().then(decideNow);
    });
  }
  // Themes change the cart with fetch (Dawn and most current themes) or XMLHttpRequest (older
  // themes, jQuery): both are watched; observing never changes or breaks the theme's request.
  const themeFetch = window.fetch;
  window.fetch = function (input, init) {
    const result = themeFetch.call(this, input, init);
    const url = String(input?.url ?? input);
    if (CART_CHANGE.test(url))
      result.then(
        (response) => response.ok && cartChanged(url),
        () => {},
      );
    return result;
  };
  const xhrOpen = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url) {
    if (CART_CHANGE.test(String(url)))
      this.addEventListener("load", () => this.status < 400 && cartChanged(String(url)));
    return xhrOpen.apply(this, arguments);
  };
  // A cart changed without JavaScript (a plain form post) lands on the cart page.
  if (config.pageType === "cart") linkCart();

  // The question block: send the answer now and thank the shopper in place. If it cannot be
  // sent, the form is submitted as it would be without this script.
  on("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-slice-form")) return;
    const data = new FormData(form);
    if (!data.get("answer")) return;
    event.preventDefault();
    sendAnswer(`${data.get("question")}=${data.get("answer")}`).then((sent) => {
      if (!sent) return HTMLFormElement.prototype.submit.call(form);
      form.querySelector("fieldset").disabled = true;
      form.querySelector("[type=submit]").hidden = true;
      // The button goes away, so focus moves to the thank-you (which also has it read out).
      const thanks = form.querySelector("[data-slice-thanks]");
      thanks.hidden = false;
      thanks.focus();
    });
  });

  // A shopper's own answer goes now: with consent as theirs, without it only to be counted.
  function sendAnswer(text) {
    return send([{ type: "answer", at: isoNow(), resourceId: text.slice(0, 200) }], !!visitorId);
  }

  on("visibilitychange", () => document.visibilityState === "hidden" && flush(true));
  window.addEventListener("pagehide", () => flush(true));

  // Consent: nothing is sent or decided until the Customer Privacy API has loaded and, where
  // Shopify shows its consent banner, until the shopper has answered it (visitorConsentCollected);
  // then the id is made or forgotten, what waited is sent, and the message decided. A later
  // change of mind applies at once.
  let known = false;
  const start = () => {
    if (privacy()?.shouldShowBanner?.()) return;
    remember();
    const first = !known;
    known = true;
    flush().then(() => first && decideNow());
  };
  on("visitorConsentCollected", () => setTimeout(start));
  if (privacy()) start();
  else
    window.Shopify?.loadFeatures?.(
      [{ name: "consent-tracking-api", version: "0.1" }],
      (error) => error || start(),
    );

  // ---- Messages ----
  let armed = null; // the decided message, waiting for its trigger
  let current = null; // the message on screen
  const shownIds = () => (get(sessionStorage, SHOWN_KEY) || "").split(",").filter(Boolean);

  function decideNow() {
    const query = new URLSearchParams({
      ...(visitorId ? { visitor: visitorId } : {}),
      consent: visitorId ? 1 : 0,
      page: config.pageType || "other",
      path: location.pathname,
      shown: shownIds().join(","),
    });
    return fetch(`${config.proxy}/decide?${query}`)
      .then((response) => (response.ok ? response.json() : null))
      .then((answer) => arm(answer?.message))
      .catch(() => {});
  }

  // A trigger fired: show the armed message if it waits for this one.
  function fire(on) {
    if (armed && armed.trigger.on === on) show(armed);
  }

  let delayTimer = 0;
  function arm(message) {
    clearTimeout(delayTimer); // a new decision replaces the old one's countdown
    armed = message && config.formats?.[message.format] !== false ? message : null;
    if (!armed || current) return;
    const trigger = armed.trigger;
    if (trigger.on === "load") show(armed);
    if (trigger.on === "delay") delayTimer = setTimeout(() => fire("delay"), trigger.seconds * 1000);
    if (trigger.on === "scroll") onScroll();
  }

  // Scroll depth and, on touch screens, exit intent: a quick scroll back up after reading down.
  let lastY = 0;
  let deepest = 0;
  function onScroll() {
    const root = document.documentElement;
    const y = scrollY;
    // How far down the shopper has scrolled, from the top: 0 until they scroll at all (the part
    // of the page already on screen is not "read").
    const depth = y > 0 ? (y / Math.max(root.scrollHeight - innerHeight, 1)) * 100 : 0;
    deepest = Math.max(deepest, y);
    if (armed?.trigger.on === "scroll" && depth >= armed.trigger.percent) fire("scroll");
    if (lastY - y > innerHeight / 3 && deepest > innerHeight && matchMedia("(pointer: coarse)").matches)
      fire("exit");
    lastY = y;
  }
  window.addEventListener("scroll", onScroll, { passive: true });
  // Desktop exit intent: the pointer leaves the page through its top edge (to the tabs or address bar).
  on("mouseout", (event) => {
    if (!event.relatedTarget && event.clientY <= 0) fire("exit");
  });

  // The message, in a shadow root so the theme's styles and ours never meet. Overlays only
  // (position: fixed): nothing on the page moves.
  const CSS = `:host{all:initial;font:inherit;color:#1a1a1a}
.wrap{position:fixed;z-index:2147483000;line-height:1.4;box-sizing:border-box}
input{font:inherit;padding:8px;border:1px solid #888;border-radius:6px;flex:1}
.shade{inset:0;display:grid;place-items:center;background:rgb(0 0 0/.45);padding:16px}
.box{background:#fff;color:#1a1a1a;border-radius:12px;box-shadow:0 8px 30px rgb(0 0 0/.25);padding:24px;max-width:420px;position:relative;animation:in .25s ease-out}
.corner{bottom:16px;right:16px;max-width:min(360px,calc(100vw - 32px))}.left{right:auto;left:16px}
.bar{inset:auto 0 0}.top{top:0;bottom:auto}
.bar .box{max-width:none;border-radius:0;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;justify-content:center;padding:12px 48px}
h2{font-size:1.25em;margin:0 0 8px;padding-right:32px}.bar h2{font-size:1em;margin:0;padding:0}
p{margin:0 0 16px}.bar p{margin:0}
a{display:inline-block;background:var(--a);color:var(--c);padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600}
.code{display:flex;gap:8px;align-items:center;flex-wrap:wrap}.code strong{font:600 1.1em/1.3 ui-monospace,monospace;letter-spacing:.05em;border:2px dashed var(--a);padding:8px 12px;border-radius:6px;overflow-wrap:anywhere}
img{display:block;max-width:100%;max-height:180px;margin:0 auto 12px;border-radius:8px}.bar img{display:none}
button{font:inherit;color:inherit;cursor:pointer;border:1px solid;border-radius:6px;padding:6px 10px;background:none}
.x{position:absolute;top:8px;right:8px;width:36px;height:36px;border:0;border-radius:50%;padding:0;font-size:22px}
:focus-visible{outline:3px solid var(--a);outline-offset:2px}
@keyframes in{from{opacity:0;transform:translateY(8px)}}
@media (prefers-reduced-motion:reduce){.box{animation:none}}`;

  // Black or white text, whichever reads on the merchant's accent colour.
  function contrast(hex) {
    const n = parseInt(hex.slice(1), 16);
    return (n >> 16) * 0.299 + ((n >> 8) & 255) * 0.587 + (n & 255) * 0.114 > 150 ? "#000" : "#fff";
  }

  // A discount offer shows the shopper's own code, fetched as it opens; no code, no offer (never a
  // broken one).
  function show(message) {
    if (current || shownIds().includes(String(message.id))) return;
    current = message;
    armed = null;
    const discount = message.reward === "firstPurchase" || message.reward === "referral";
    (discount
      ? fetch(`${config.proxy}/code`, {
          method: "POST",
          body: JSON.stringify({ visitorId, messageId: message.id }),
        }).then((response) => (response.ok ? response.json() : null))
      : Promise.resolve(null)
    )
      .catch(() => null)
      .then((code) => (discount && !code?.code ? (current = null) : render(message, code)));
  }

  function render(message, code) {
    set(sessionStorage, SHOWN_KEY, [...shownIds(), message.id].join(","));
    track("message_shown", message.id);
    flush();

    const host = document.createElement("div");
    host.id = "slice-message";
    const root = host.attachShadow({ mode: "open" });
    const el = (tag, props, parent) => parent.appendChild(Object.assign(document.createElement(tag), props));
    el("style", { textContent: CSS }, root);
    const popup = message.format === "popup";
    const place = {
      popup: "shade",
      corner: config.cornerPosition === "bottom-left" ? "corner left" : "corner",
      bar: config.barPosition === "top" ? "bar top" : "bar",
    };
    const wrap = el("div", { className: `wrap ${place[message.format]}` }, root);
    const accent = /^#[0-9a-f]{6}$/i.test(config.accent) ? config.accent : "#1a1a1a";
    wrap.style.cssText = `--a:${accent};--c:${contrast(accent)}`;
    const box = el("div", { className: "box" }, wrap);
    box.setAttribute("role", popup ? "dialog" : "region");
    if (popup) box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-labelledby", "slice-h");
    if (/^https:\/\//.test(message.imageUrl || "")) el("img", { src: message.imageUrl, alt: "" }, box);
    el("h2", { id: "slice-h", textContent: message.headline }, box);
    if (message.body) {
      el("p", { id: "slice-b", textContent: message.body }, box);
      box.setAttribute("aria-describedby", "slice-b");
    }
    let copy = null;
    if (code) {
      // A referrer shares their link (it applies their friend's discount); anyone else uses the code.
      const text = code.shareUrl || code.code;
      const line = el("p", { className: "code" }, box);
      el("strong", { textContent: text }, line);
      copy = el(
        "button",
        { type: "button", textContent: "Copy", ariaLabel: code.shareUrl ? "Copy your link" : "Copy code" },
        line,
      );
      copy.addEventListener("click", () =>
        navigator.clipboard?.writeText(text).then(() => (copy.textContent = "Copied")),
      );
      // A referrer's rewards so far, in the app's words.
      if (code.note) el("p", { textContent: code.note }, box);
    }
    if (message.reward === "emailCapture") {
      // The shopper's own answer: sent with or without analytics consent, like the question form's.
      const form = el("form", { className: "code" }, box);
      const input = el(
        "input",
        { type: "email", required: true, autocomplete: "email", ariaLabel: "Email" },
        form,
      );
      el("button", { textContent: "Sign up" }, form);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        sendAnswer(`email=${input.value}`);
        track("message_clicked", message.id);
        form.replaceWith(el("p", { role: "status", textContent: "Thanks! You're signed up." }, box));
      });
    }
    let url = message.button?.url;
    // With their own code, the button applies it (Shopify's /discount/CODE link) on the way.
    if (code?.applyPath && !code.shareUrl && url?.startsWith("/"))
      url = `${code.applyPath}?redirect=${encodeURIComponent(url)}`;
    const link =
      url && /^(\/(?!\/)|https:\/\/)/.test(url)
        ? el("a", { href: url, textContent: message.button.label }, box)
        : null;
    link?.addEventListener("click", () => {
      track("message_clicked", message.id);
      flush(true);
    });
    const close = el(
      "button",
      { type: "button", className: "x", textContent: "\u00d7", ariaLabel: "Close" },
      box,
    );
    const before = document.activeElement;

    function dismiss() {
      host.remove();
      document.removeEventListener("keydown", onKey, true);
      current = null;
      track("message_dismissed", message.id);
      flush();
      if (popup) before?.focus?.();
    }
    // Escape closes a popup, or a corner message or bar that has the focus (elsewhere the theme's
    // own Escape, closing its menu say, is left alone); in a popup, Tab and Shift+Tab stay inside it.
    function onKey(event) {
      if (event.key === "Escape" && (popup || document.activeElement === host)) return dismiss();
      if (!popup || event.key !== "Tab") return;
      const stops = [copy, link, close].filter(Boolean);
      const at = stops.indexOf(root.activeElement);
      event.preventDefault();
      stops[(at + (event.shiftKey ? stops.length - 1 : 1)) % stops.length].focus();
    }
    close.addEventListener("click", dismiss);
    if (popup) wrap.addEventListener("click", (event) => event.target === wrap && dismiss());
    on("keydown", onKey, true);
    document.body.appendChild(host);
    if (popup) (link || close).focus();
  }

  window.Slice = {
    config,
    get visitorId() {
      return visitorId;
    },
    track,
  };
})();
