/**
 * The storefront events the Web Pixel stores (CONTRACTS C2): Shopify's standard customer event
 * name → the `StorefrontEvent.type` written, and what its `resourceId` holds. The segment fields
 * over pixel events (rules.ts, evaluate.ts, sql.ts) read these names; the pixel endpoint writes them.
 */

/** Shopify standard event → stored type. */
export const PIXEL_EVENT_TYPES = {
  page_viewed: "page_view", // resourceId: the page path (a session_start is stored first when due)
  product_viewed: "product_view", // numeric product id
  collection_viewed: "collection_view", // numeric collection id
  search_submitted: "search", // the query, normalised by searchTermOf
  product_added_to_cart: "cart_add", // numeric product id
  product_removed_from_cart: "cart_remove", // numeric product id
  cart_viewed: "cart_view", // null
  checkout_started: "checkout_started", // the checkout token (so are all checkout steps below)
  checkout_contact_info_submitted: "checkout_contact",
  checkout_address_info_submitted: "checkout_address",
  checkout_shipping_info_submitted: "checkout_shipping",
  payment_info_submitted: "checkout_payment",
  checkout_completed: "checkout_completed",
} as const;

export type PixelEventName = keyof typeof PIXEL_EVENT_TYPES;
export type PixelEventType = (typeof PIXEL_EVENT_TYPES)[PixelEventName];

/** A checkout's steps, in order: a checkout token's furthest step is the max over its events. */
export const CHECKOUT_STEPS = ["started", "contact", "address", "shipping", "payment", "completed"] as const;
export type CheckoutStep = (typeof CHECKOUT_STEPS)[number];

/** The steps a checkout can be left at (every step but the last). */
export const ABANDONED_STEPS = CHECKOUT_STEPS.slice(0, -1) as Exclude<CheckoutStep, "completed">[];

/** The stored event types of the checkout steps, in step order. */
export const CHECKOUT_EVENT_TYPES = CHECKOUT_STEPS.map((s) => `checkout_${s}`);

/** The checkout step a stored event type records, or null when it is not a checkout step. */
export function checkoutStepOf(type: string): CheckoutStep | null {
  const at = CHECKOUT_EVENT_TYPES.indexOf(type);
  return at < 0 ? null : CHECKOUT_STEPS[at];
}

/** The longest search term stored. */
export const MAX_SEARCH_TERM = 200;

/**
 * A search query as stored and compared: trimmed, runs of whitespace made one space, ASCII
 * letters lower-cased (as SQLite's LOWER does, so both databases agree), at most 200 characters.
 */
export function searchTermOf(query: string): string {
  return query
    .trim()
    .replace(/\s+/g, " ")
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .slice(0, MAX_SEARCH_TERM)
    .replace(/[\ud800-\udbff]$/, "") // never half of a character cut at the limit
    .trimEnd();
}
