/**
 * What the web pixel's standard events become in the app's own event rows (CONTRACTS C2): the
 * Shopify event name to the stored type, what its resource id is, the search query's normal form,
 * and where a visit (session) starts. Pure: the pixel endpoint (storefront/pixel.server.ts) calls
 * it with the request's time.
 *
 * The stored type names are the same as `PIXEL_EVENT_TYPES` in `app/engine/pixel-events.ts`
 * (owned by the segments work); this table is the one place the pixel's side names them.
 */

/** Shopify's standard event → the stored `StorefrontEvent.type`. */
export const PIXEL_EVENT_MAP = {
  page_viewed: "page_view",
  product_viewed: "product_view",
  collection_viewed: "collection_view",
  search_submitted: "search",
  product_added_to_cart: "cart_add",
  product_removed_from_cart: "cart_remove",
  cart_viewed: "cart_view",
  checkout_started: "checkout_started",
  checkout_contact_info_submitted: "checkout_contact",
  checkout_address_info_submitted: "checkout_address",
  checkout_shipping_info_submitted: "checkout_shipping",
  payment_info_submitted: "checkout_payment",
  checkout_completed: "checkout_completed",
} as const;

export type PixelEventName = keyof typeof PIXEL_EVENT_MAP;
export type StoredPixelType = (typeof PIXEL_EVENT_MAP)[PixelEventName] | "session_start";
export const PIXEL_EVENT_NAMES = Object.keys(PIXEL_EVENT_MAP) as PixelEventName[];

/** A visit ends after this long without an event; the next page view starts a new one. */
export const SESSION_GAP_MS = 30 * 60_000;
export const MAX_SEARCH_CHARS = 200;

/** The events whose resource id is the checkout token. */
export const CHECKOUT_EVENTS: readonly PixelEventName[] = [
  "checkout_started",
  "checkout_contact_info_submitted",
  "checkout_address_info_submitted",
  "checkout_shipping_info_submitted",
  "payment_info_submitted",
  "checkout_completed",
];

/** A search as stored: trimmed, runs of whitespace made one space, ASCII lower case, 200 characters at most. */
export function normaliseSearch(query: string): string {
  return query
    .trim()
    .replace(/\s+/g, " ")
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .slice(0, MAX_SEARCH_CHARS)
    .trim();
}

/** What the pixel sends for one event (already validated). */
export interface PixelEventIn {
  name: PixelEventName;
  /** Milliseconds, on the app's clock. */
  at: number;
  path?: string;
  productId?: string;
  collectionId?: string;
  query?: string;
  checkoutToken?: string;
  orderId?: string;
}

export interface PixelRow {
  type: StoredPixelType;
  resourceId: string | null;
  at: number;
}

/** The event's resource id per C2 (the caller has checked that the one it needs is there). */
export function resourceOf(e: PixelEventIn): string | null {
  switch (e.name) {
    case "page_viewed":
      return e.path ?? null;
    case "product_viewed":
    case "product_added_to_cart":
    case "product_removed_from_cart":
      return e.productId ?? null;
    case "collection_viewed":
      return e.collectionId ?? null;
    case "search_submitted":
      return normaliseSearch(e.query ?? "");
    case "cart_viewed":
      return null;
    default:
      return e.checkoutToken ?? null;
  }
}

/**
 * The rows for a batch, in time order: each event mapped, and a `session_start` just before a page
 * view when the visitor's previous event (the last one stored, `lastSeenAt`, or the batch's
 * previous event) is more than 30 minutes before it, or there is none (a new visitor).
 */
export function pixelRows(events: readonly PixelEventIn[], lastSeenAt: number | null): PixelRow[] {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  const rows: PixelRow[] = [];
  let previous = lastSeenAt;
  for (const e of sorted) {
    if (e.name === "page_viewed" && (previous === null || e.at - previous > SESSION_GAP_MS))
      rows.push({ type: "session_start", resourceId: null, at: e.at });
    rows.push({ type: PIXEL_EVENT_MAP[e.name], resourceId: resourceOf(e), at: e.at });
    previous = previous === null ? e.at : Math.max(previous, e.at);
  }
  return rows;
}
