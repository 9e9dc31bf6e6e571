/* Slice's drawing code: the source of extensions/slice-storefront/assets/slice-draw.js (built by
 * `npm run build`, dev/extension-build.ts). slice.js loads it only once the app has decided on a
 * message for this shopper, so a page with nothing to show never downloads it.
 *
 * Draws the message as a popup (modal: focus moves in and stays in, Escape or the close button
 * dismisses, focus returns), a corner message or a sticky bar (neither takes focus), in a shadow
 * root (the theme's styles and ours never meet), as fixed overlays (nothing on the page moves),
 * without animation for shoppers who ask for reduced motion. A discount offer shows the shopper's
 * own code (fetched as it opens; no code, no offer); a referral invite shows the referrer's link in
 * full, breaking only between its parts, with Copy, Email and WhatsApp share actions. */
(() => {
  const Slice = window.Slice;
  if (!Slice || Slice.draw) return;
  const { config } = Slice;

  const CSS = `:host{all:initial;font:inherit;color:#1a1a1a}
.wrap{position:fixed;z-index:2147483000;line-height:1.4;box-sizing:border-box}
input{font:inherit;padding:8px;border:1px solid #888;border-radius:6px;flex:1}
.shade{inset:0;display:grid;place-items:center;background:rgb(0 0 0/.45);padding:16px}
.box{background:#fff;color:#1a1a1a;border-radius:12px;box-shadow:0 8px 30px rgb(0 0 0/.25);padding:24px;max-width:420px;position:relative;animation:in .25s ease-out}
.corner{bottom:16px;right:16px;max-width:min(360px,calc(100vw - 32px))}.left{right:auto;left:16px}
.bar{inset:auto 0 0}.top{top:0;bottom:auto}
.bar .box{max-width:none;border-radius:0;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;justify-content:center;padding:12px 48px}
h2{font-size:1.25em;margin:0 0 8px;padding-right:32px}.bar h2{font-size:1em;margin:0;padding:0}
p{margin:0 0 16px}.terms{font-weight:600;margin:0 0 8px}.bar p,.bar .code{margin:0}
a{display:inline-block;background:var(--a);color:var(--c);padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600}
.code{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin:0 0 16px}.code strong{font:600 1.1em/1.3 ui-monospace,monospace;letter-spacing:.05em;border:2px dashed var(--a);padding:8px 12px;border-radius:6px;overflow-wrap:anywhere}
.link{margin:0;font-weight:600;border:2px dashed var(--a);padding:8px 12px;border-radius:6px;overflow-x:auto;flex-basis:100%}.link span{white-space:nowrap}
.share a,.share button{font-size:.9em;padding:6px 12px}.share a{background:none;color:inherit;border:1px solid;font-weight:400}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
img{display:block;max-width:100%;max-height:180px;margin:0 auto 12px;border-radius:8px}.bar img{display:none}
button{font:inherit;color:inherit;cursor:pointer;border:1px solid;border-radius:6px;padding:6px 10px;background:none}
.x{position:absolute;top:8px;right:8px;width:36px;height:36px;border:0;border-radius:50%;padding:0;font-size:22px}
:focus-visible{outline:3px solid var(--a);outline-offset:2px}
@keyframes in{from{opacity:0;transform:translateY(8px)}}
@media (prefers-reduced-motion:reduce){.box{animation:none}}
@media (max-width:400px){.box{padding:16px}.link{font-size:.9em;padding:6px 8px}}`;

  // Black or white text, whichever reads on the merchant's accent colour.
  function contrast(hex) {
    const n = parseInt(hex.slice(1), 16);
    return (n >> 16) * 0.299 + ((n >> 8) & 255) * 0.587 + (n & 255) * 0.114 > 150 ? "#000" : "#fff";
  }

  // A discount offer shows the shopper's own code, fetched as it opens; no code, no offer (never a
  // broken one).
  Slice.draw = (message) => {
    const discount = message.reward === "firstPurchase" || message.reward === "referral";
    return (
      discount
        ? fetch(`${config.proxy}/code`, {
            method: "POST",
            body: JSON.stringify({ visitorId: Slice.visitorId, messageId: message.id }),
          }).then((response) => (response.ok ? response.json() : null))
        : Promise.resolve(null)
    )
      .catch(() => null)
      .then((code) => (discount && !code?.code ? Slice.done(message.id) : render(message, code)));
  };

  function render(message, code) {
    Slice.shown(message.id);
    const host = document.createElement("div");
    host.id = "slice-message";
    const root = host.attachShadow({ mode: "open" });
    // An element with its properties; its role and accessible name as attributes (what every
    // supported browser reads, with or without ARIA reflection).
    const el = (tag, { role, ariaLabel, ...props }, parent) => {
      const node = Object.assign(document.createElement(tag), props);
      if (role) node.setAttribute("role", role);
      if (ariaLabel) node.setAttribute("aria-label", ariaLabel);
      return parent.appendChild(node);
    };
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
    if (code) {
      // A referrer shares their link (it applies their friend's discount); anyone else uses the code.
      const link = code.shareUrl;
      const text = link || code.code;
      // A referral's two rewards: "Give 15%, get $10.00" (the friend's, then the referrer's).
      if (link && code.terms) el("p", { className: "terms", textContent: code.terms }, box);
      const line = el("div", { className: link ? "code share" : "code" }, box);
      if (link) {
        // The whole link, breaking only after a "/" (never inside the address or the code), so it
        // stays legible on a 320 px phone; a part too long for the screen scrolls.
        const shown = el("p", { className: "link", ariaLabel: "Your link" }, line);
        link
          .replace(/\/(?!\/)/g, "/\n")
          .split("\n")
          .forEach((part, i) => {
            if (i) el("wbr", {}, shown);
            el("span", { textContent: part }, shown);
          });
      } else el("strong", { textContent: text }, line);
      const status = el("span", { className: "sr", role: "status" }, line);
      const copy = el(
        "button",
        { type: "button", textContent: "Copy", ariaLabel: link ? "Copy your link" : "Copy code" },
        line,
      );
      copy.addEventListener("click", () =>
        navigator.clipboard?.writeText(text).then(() => {
          copy.textContent = "Copied";
          status.textContent = link ? "Link copied" : "Code copied";
        }),
      );
      if (link) {
        const invite = `Here's ${code.friendGets || "a discount on"} your first order: ${link}`;
        el(
          "a",
          {
            href: `mailto:?subject=${encodeURIComponent("A discount for you")}&body=${encodeURIComponent(invite)}`,
            textContent: "Email",
            ariaLabel: "Share by email",
          },
          line,
        );
        el(
          "a",
          {
            href: `https://wa.me/?text=${encodeURIComponent(invite)}`,
            target: "_blank",
            rel: "noopener",
            textContent: "WhatsApp",
            ariaLabel: "Share on WhatsApp",
          },
          line,
        );
        if (navigator.share)
          el(
            "button",
            { type: "button", textContent: "Share…", ariaLabel: "Share your link" },
            line,
          ).onclick = () => navigator.share({ text: invite }).catch(() => {});
      }
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
        Slice.send("answer", `email=${input.value}`);
        Slice.send("message_clicked", message.id);
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
    link?.addEventListener("click", () => Slice.send("message_clicked", message.id));
    const close = el(
      "button",
      { type: "button", className: "x", textContent: "\u00d7", ariaLabel: "Close" },
      box,
    );
    const before = document.activeElement;

    function dismiss() {
      host.remove();
      document.removeEventListener("keydown", onKey, true);
      Slice.done(message.id, true);
      if (popup) before?.focus?.();
    }
    // Escape closes a popup, or a corner message or bar that has the focus (elsewhere the theme's
    // own Escape, closing its menu say, is left alone); in a popup, Tab and Shift+Tab stay inside it.
    function onKey(event) {
      if (event.key === "Escape" && (popup || document.activeElement === host)) return dismiss();
      if (!popup || event.key !== "Tab") return;
      const stops = [...box.querySelectorAll("a,button,input")];
      const at = stops.indexOf(root.activeElement);
      event.preventDefault();
      stops[(at + (event.shiftKey ? stops.length - 1 : 1)) % stops.length].focus();
    }
    close.addEventListener("click", dismiss);
    if (popup) wrap.addEventListener("click", (event) => event.target === wrap && dismiss());
    document.addEventListener("keydown", onKey, true);
    document.body.appendChild(host);
    if (popup) (link || close).focus();
  }
})();
