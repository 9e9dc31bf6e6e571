/**
 * What the web pixel's standard events become in the app's own event rows (CONTRACTS C2): the
 * Shopify event name to the stored type, what its resource id is, the search query's normal form,
 * and where a visit (session) starts. Pure: the pixel endpoint (storefront/pixel.server.ts) calls
 * it with the request's time.
 *
 * The event names and the stored types are `app/engine/pixel-events.ts`'s, the one table the
 * segment fields read too.
 */
import { PIXEL_EVENT_TYPES, searchTermOf, type PixelEventName, type PixelEventType } from "./pixel-events";

export type { PixelEventName };
export type StoredPixelType = PixelEventType | "session_start";
export const PIXEL_EVENT_NAMES = Object.keys(PIXEL_EVENT_TYPES) as PixelEventName[];

/** A visit ends after this long without an event; the next page view starts a new one. */
export const SESSION_GAP_MS = 30 * 60_000;

/** The events whose resource id is the checkout token. */
export const CHECKOUT_EVENTS: readonly PixelEventName[] = [
  "checkout_started",
  "checkout_contact_info_submitted",
  "checkout_address_info_submitted",
  "checkout_shipping_info_submitted",
  "payment_info_submitted",
  "checkout_completed",
];

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
      return searchTermOf(e.query ?? "");
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
    rows.push({ type: PIXEL_EVENT_TYPES[e.name], resourceId: resourceOf(e), at: e.at });
    previous = previous === null ? e.at : Math.max(previous, e.at);
  }
  return rows;
}
