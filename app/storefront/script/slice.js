/* Slice storefront script, loaded deferred by the app embed (blocks/slice-embed.liquid).
 * The source of extensions/slice-storefront/assets/slice.js: `npm run build` minifies it there
 * (dev/extension-build.ts), and a test keeps the two the same and under 4 KB.
 *
 * It shows messages and nothing else: what shoppers do (pages, products, cart, checkout) reaches
 * the app through the Web Pixel, which Shopify runs under the shopper's consent. This script asks
 * Shopify's Customer Privacy API first and decides nothing while Shopify's consent banner waits for
 * an answer; then it asks the app which message this shopper should see (GET /apps/slice/decide),
 * waits for the message's trigger, and only then (the decision returned a message) loads the code
 * that draws it (slice-draw.js). With analytics consent the visitor is Shopify's own client id (the
 * `_shopify_y` cookie, the Web Pixel's clientId); without consent, or before Shopify has set it,
 * there is no visitor: only untargeted messages are asked for, and what is shown, clicked, dismissed
 * or answered is sent to be counted, with no id. */
(() => {
  const configElement = document.getElementById("slice-config");
  // Not in the theme editor: a merchant previewing the theme is not a visitor.
  if (!configElement || window.Slice || window.Shopify?.designMode) return;
  const config = JSON.parse(configElement.textContent);
  const proxy = config.proxy;
  const on = (type, listener, capture) => document.addEventListener(type, listener, capture);
  const now = () => new Date().toISOString();

  // This browser session's memory (sessionStorage; it can throw, e.g. storage blocked): the ids of
  // messages shown and dismissed, sent with every decision so the server can apply its session
  // rules with or without consent.
  const SHOWN = "slice_shown";
  const DISMISSED = "slice_dismissed";
  const ids = (key) => {
    try {
      return (sessionStorage.getItem(key) || "").split(",").filter(Boolean);
    } catch {
      return [];
    }
  };
  const remember = (key, id) => {
    try {
      // The newest 50: the decision takes at most 50 ids in each list.
      sessionStorage.setItem(key, [...new Set([...ids(key), String(id)])].slice(-50).join(","));
    } catch {
      // not kept: the server's own history still applies
    }
  };

  // The visitor: Shopify's client id, read only with analytics consent (Shopify sets the cookie
  // only then, and clears it when consent is withdrawn). Nothing of our own is made or kept.
  const privacy = () => window.Shopify?.customerPrivacy;
  let visitorId = null;
  const identify = () =>
    (visitorId =
      (privacy()?.analyticsProcessingAllowed?.() &&
        document.cookie.match(/(?:^|;\s*)_shopify_y=([\w-]{16,64})(?:;|$)/)?.[1]) ||
      null);

  // Message events and answers go at once (keepalive: a click that leaves the page still sends);
  // with a visitor as theirs, without one only to be counted. `sentAt` lets the app correct for
  // this browser's clock.
  const send = (type, resourceId) =>
    fetch(proxy + "/events", {
      method: "POST",
      keepalive: true,
      body: JSON.stringify({
        ...(visitorId ? { visitorId } : {}),
        consent: { analytics: !!visitorId },
        sentAt: now(),
        events: [{ type, at: now(), resourceId: String(resourceId).slice(0, 200) }],
      }),
    }).then(
      (response) => response.ok,
      () => false,
    );

  on(
    "submit",
    (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      // Add to cart: a product form the theme sends itself (it prevented the page load). A plain
      // post leaves for the cart page, where a message would only flash.
      if (/\/cart\/add/.test(form.getAttribute("action")))
        return setTimeout(() => event.defaultPrevented && fire("addToCart"));
      // The question block: send the answer now and thank the shopper in place. If it cannot be
      // sent, the form is submitted as it would be without this script.
      if (!form.hasAttribute("data-slice-form")) return;
      const data = new FormData(form);
      if (!data.get("answer")) return;
      event.preventDefault();
      send("answer", `${data.get("question")}=${data.get("answer")}`).then((sent) => {
        if (!sent) return HTMLFormElement.prototype.submit.call(form);
        form.querySelector("fieldset").disabled = true;
        form.querySelector("[type=submit]").hidden = true;
        // The button goes away, so focus moves to the thank-you (which also has it read out).
        const thanks = form.querySelector("[data-slice-thanks]");
        thanks.hidden = false;
        thanks.focus();
      });
    },
    true,
  );
  // Shopify's standard storefront event for cart changes, on themes that dispatch it: an add that
  // the cart accepted.
  on("shopify:cart:lines-update", (event) => {
    if ((event.action ?? event.detail?.action) === "add")
      Promise.resolve(event.promise).then(
        (result) => result?.userErrors?.length || fire("addToCart"),
        () => {},
      );
  });

  // ---- The decision and its trigger ----
  let armed = null; // the decided message, waiting for its trigger
  let current = null; // the message being drawn or on screen
  let drawing = null; // the drawing code, loaded once there is a message
  let delayTimer = 0;

  function decide() {
    const query = new URLSearchParams({
      ...(visitorId ? { visitor: visitorId } : {}),
      consent: visitorId ? 1 : 0,
      page: config.pageType || "other",
      path: location.pathname,
      shown: ids(SHOWN),
      dismissed: ids(DISMISSED),
    });
    return fetch(`${proxy}/decide?${query}`)
      .then((response) => (response.ok ? response.json() : null))
      .then((answer) => arm(answer?.message))
      .catch(() => {});
  }

  function arm(message) {
    clearTimeout(delayTimer);
    // Not a format the merchant switched off, nor one already shown in this browser session.
    armed =
      message && config.formats?.[message.format] !== false && !ids(SHOWN).includes(String(message.id))
        ? message
        : null;
    if (!armed) return;
    // A script tag (not import()): Shopify's CDN serves assets to classic scripts without CORS.
    drawing ||= new Promise((resolve, reject) =>
      document.head.appendChild(
        Object.assign(document.createElement("script"), {
          src: config.draw,
          onload: resolve,
          onerror: reject,
        }),
      ),
    );
    const trigger = armed.trigger;
    if (trigger.on === "load") fire("load");
    if (trigger.on === "delay") delayTimer = setTimeout(() => fire("delay"), trigger.seconds * 1000);
    if (trigger.on === "scroll") onScroll();
  }

  // A trigger fired: draw the armed message if it waits for this one.
  function fire(trigger) {
    const message = armed;
    if (message?.trigger.on !== trigger || current) return;
    current = message;
    armed = null;
    drawing.then(() => Slice.draw(message)).catch(() => (current = null));
  }

  // Scroll depth and, on touch screens, exit intent: a quick scroll back up after reading down.
  let lastY = 0;
  let deepest = 0;
  function onScroll() {
    const y = scrollY;
    // How far down the shopper has scrolled, from the top: 0 until they scroll at all (the part
    // of the page already on screen is not "read").
    const depth = y > 0 ? (y / Math.max(document.documentElement.scrollHeight - innerHeight, 1)) * 100 : 0;
    deepest = Math.max(deepest, y);
    if (depth >= armed?.trigger.percent) fire("scroll");
    if (lastY - y > innerHeight / 3 && deepest > innerHeight && matchMedia("(pointer: coarse)").matches)
      fire("exit");
    lastY = y;
  }
  window.addEventListener("scroll", onScroll, { passive: true });
  // Desktop exit intent: the pointer leaves the page through its top edge (to the tabs or address bar).
  on("mouseout", (event) => {
    if (!event.relatedTarget && event.clientY <= 0) fire("exit");
  });

  // What the drawing code (slice-draw.js) works with.
  const Slice = (window.Slice = {
    config,
    get visitorId() {
      return visitorId;
    },
    send,
    /** The message is on screen: it counts as shown this session. */
    shown(id) {
      remember(SHOWN, id);
      send("message_shown", id);
    },
    /** The message is gone (or was never drawn: no code to give); dismissed by the shopper or not. */
    done(id, dismissed) {
      current = null;
      if (dismissed) {
        remember(DISMISSED, id);
        send("message_dismissed", id);
      }
    },
  });

  // Consent: nothing is decided until the Customer Privacy API has loaded and, where Shopify shows
  // its consent banner, until the shopper has answered it (visitorConsentCollected); a later change
  // of mind applies to what is sent from then on.
  let decided = false;
  const start = () => {
    if (privacy()?.shouldShowBanner?.()) return;
    identify();
    if (!decided) decide();
    decided = true;
  };
  on("visitorConsentCollected", () => setTimeout(start));
  if (privacy()) start();
  else
    window.Shopify?.loadFeatures?.(
      [{ name: "consent-tracking-api", version: "0.1" }],
      (error) => error || start(),
    );
})();
