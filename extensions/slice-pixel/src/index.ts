/**
 * Slice's web pixel. Shopify runs it in its strict sandbox and gives it the shopper's standard
 * customer events; it keeps what the app segments on (CONTRACTS C2: a page's path, a product's,
 * collection's or cart line's product id, a search's query, a checkout step's token, the order id
 * of checkout_completed) and sends them in small batches to the app's `POST /pixel`:
 * - `fetch` with `keepalive` (outlives the page) and a string body, so `text/plain` and no CORS
 *   preflight; never with credentials;
 * - a batch goes after a short wait (FLUSH_MS), at BATCH_SIZE events, and at once for
 *   checkout_completed (the order status page may be left at any moment);
 * - what is queued is also kept in `browser.sessionStorage` until it is sent: a page left before
 *   its batch went (the sandbox sees no page hide) has its events sent by the next page's pixel;
 * - one batch at a time, in order: the first answer for a client id carries a key, kept in
 *   `browser.localStorage` with the client id, and sent with every later batch (the app accepts
 *   events for a client id only with its key);
 * - only with analytics consent (Shopify loads the pixel only then; it also follows a change of
 *   consent during the page): without it nothing is queued or sent.
 * No dependency besides the register shim.
 */
import { register } from "@shopify/web-pixels-extension";

export const FLUSH_MS = 1000;
export const BATCH_SIZE = 20;
export const KEY_STORAGE = "pixel:slice:key";
export const QUEUE_STORAGE = "pixel:slice:queue";

interface Item {
  name: string;
  at: string;
  path?: string;
  productId?: string;
  collectionId?: string;
  query?: string;
  checkoutToken?: string;
  orderId?: string;
}

/** `gid://shopify/Product/123` or `123` → `123`. */
const numeric = (id: string | null | undefined): string | undefined =>
  /^(?:gid:\/\/shopify\/\w+\/)?(\d{1,20})$/.exec(id ?? "")?.[1];

register(({ analytics, browser, init, settings, customerPrivacy }) => {
  const endpoint = String(settings.endpoint ?? "");
  const shop = String(settings.shop ?? "");
  let allowed = init.customerPrivacy?.analyticsProcessingAllowed === true;
  let cart = init.data?.cart?.id ?? undefined;
  let clientId = "";
  let queue: Item[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sending: Promise<void> = Promise.resolve();

  customerPrivacy.subscribe("visitorConsentCollected", (event) => {
    allowed = event.customerPrivacy.analyticsProcessingAllowed;
    if (!allowed) {
      queue = [];
      void browser.sessionStorage.removeItem(QUEUE_STORAGE).catch(() => {});
    }
  });

  // What the previous page queued and could not send (only with consent, as everything else).
  if (allowed)
    void browser.sessionStorage
      .getItem(QUEUE_STORAGE)
      .then((held) => {
        const left = JSON.parse(held ?? "null") as { clientId?: string; queue?: Item[] } | null;
        if (!left?.clientId || !Array.isArray(left.queue) || !left.queue.length) return;
        if (clientId && clientId !== left.clientId) return;
        clientId = left.clientId;
        queue = [...left.queue.slice(-BATCH_SIZE * 2), ...queue];
        void flush();
      })
      .catch(() => {});

  const keyFor = async (id: string): Promise<string | undefined> => {
    try {
      const held = JSON.parse((await browser.localStorage.getItem(KEY_STORAGE)) ?? "null") as {
        clientId?: string;
        key?: string;
      } | null;
      return held?.clientId === id ? held.key : undefined;
    } catch {
      return undefined;
    }
  };

  const send = async (events: Item[], id: string) => {
    if (!cart) {
      const cookie = await browser.cookie.get("cart").catch(() => "");
      if (cookie) cart = decodeURIComponent(cookie);
    }
    const key = await keyFor(id);
    const body = JSON.stringify({
      shop,
      clientId: id,
      ...(key ? { key } : {}),
      consent: { analytics: true },
      ...(cart ? { cartToken: cart } : {}),
      sentAt: new Date().toISOString(),
      events,
    });
    try {
      const response = await fetch(endpoint, { method: "POST", body, keepalive: true, credentials: "omit" });
      const answer = (await response.json()) as { key?: string };
      if (answer.key)
        await browser.localStorage.setItem(KEY_STORAGE, JSON.stringify({ clientId: id, key: answer.key }));
    } catch {
      // Offline or refused: these events are lost (a pixel must not grow without bound).
    }
  };

  /** The queue as it is now, for the next page if this one goes before sending it. */
  const keep = () =>
    void browser.sessionStorage.setItem(QUEUE_STORAGE, JSON.stringify({ clientId, queue })).catch(() => {});

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (!queue.length || !allowed) return sending;
    const events = queue.splice(0, BATCH_SIZE);
    const id = clientId;
    keep();
    sending = sending.then(() => send(events, id));
    if (queue.length) return flush();
    return sending;
  };

  const add = (
    event: { name: string; timestamp: string; clientId: string },
    item: Omit<Item, "name" | "at">,
  ) => {
    if (!allowed || !endpoint || !shop) return;
    if (clientId && clientId !== event.clientId) void flush(); // a new client id: never mixed in a batch
    clientId = event.clientId;
    queue.push({ name: event.name, at: event.timestamp, ...item });
    keep();
    if (event.name === "checkout_completed" || queue.length >= BATCH_SIZE) void flush();
    else timer ??= setTimeout(flush, FLUSH_MS);
  };

  analytics.subscribe("page_viewed", (e) => add(e, { path: e.context.document.location.pathname || "/" }));
  analytics.subscribe("product_viewed", (e) => {
    const productId = numeric(e.data.productVariant?.product?.id);
    if (productId) add(e, { productId });
  });
  analytics.subscribe("collection_viewed", (e) => {
    const collectionId = numeric(e.data.collection?.id);
    if (collectionId) add(e, { collectionId });
  });
  analytics.subscribe("search_submitted", (e) => {
    const query = e.data.searchResult?.query?.slice(0, 1000);
    if (query?.trim()) add(e, { query });
  });
  for (const name of ["product_added_to_cart", "product_removed_from_cart"] as const)
    analytics.subscribe(name, (e) => {
      const productId = numeric(e.data.cartLine?.merchandise?.product?.id);
      if (productId) add(e, { productId });
    });
  analytics.subscribe("cart_viewed", (e) => {
    if (e.data.cart?.id) cart = e.data.cart.id;
    add(e, {});
  });
  for (const name of [
    "checkout_started",
    "checkout_contact_info_submitted",
    "checkout_address_info_submitted",
    "checkout_shipping_info_submitted",
    "payment_info_submitted",
    "checkout_completed",
  ] as const)
    analytics.subscribe(name, (e) => {
      const checkoutToken = e.data.checkout?.token;
      if (!checkoutToken) return;
      const orderId = name === "checkout_completed" ? numeric(e.data.checkout.order?.id) : undefined;
      add(e, { checkoutToken, ...(orderId ? { orderId } : {}) });
    });
});
