/**
 * The protected customer data the app reads, in one place: what the Partner Dashboard's "Protected
 * customer data access" form asks (level 1: customer data at all; level 2: the name, email, phone
 * and address fields), with the feature that needs each and why. The README's section "Protected
 * customer data" mirrors this; the local Admin API stand-in grants exactly this by default, so the
 * tests and the demo run with what the app declares and no more.
 */

/** Shopify's level-2 protected customer fields. */
export type ProtectedField = "name" | "email" | "phone" | "address";

export const PROTECTED_FIELDS: readonly ProtectedField[] = ["name", "email", "phone", "address"];

/** What an app is approved for (level 1 yes or no; which level-2 fields). */
export interface ProtectedDataAccess {
  /** Level 1: customers, orders, checkouts at all (every webhook topic the app takes is "pii: customer"). */
  level1: boolean;
  /** Level 2: which of name, email, phone, address (each needs level 1). */
  fields: readonly ProtectedField[];
}

export interface ProtectedDataUse {
  /** "customer data" is level 1; the others are level-2 fields. */
  data: "customer data" | ProtectedField;
  /** What the app reads: Admin GraphQL fields and webhook fields. */
  reads: string;
  /** The feature that needs it. */
  feature: string;
  /** Why that feature cannot do without it. */
  why: string;
}

export const PROTECTED_DATA_USES: readonly ProtectedDataUse[] = [
  {
    data: "customer data",
    reads:
      "Customer (id, state, tags, dates), Order (totals, status, discount codes, line items, refund amounts, cart and checkout tokens), AbandonedCheckout (totals, line items, completion); orders/*, refunds/create, customers/*, carts/*, checkouts/* webhooks",
    feature: "Segments and offers",
    why: "Segments are defined by what customers bought, spent, abandoned and when; offers are measured by the orders that follow them",
  },
  {
    data: "name",
    reads: "Customer.firstName, Customer.lastName; first_name, last_name in customer webhooks",
    feature: "Segment member lists and previews in the admin",
    why: "The merchant sees who is in a segment by name (the Shopify id alone tells them nothing)",
  },
  {
    data: "email",
    reads:
      "Customer.defaultEmailAddress { emailAddress marketingState }, Order.email, the checkout customer's email; email in webhooks",
    feature: "Email-marketing segments, referral fraud checks, email sign-ups, privacy requests",
    why: "The marketing state is a segment condition; a friend's order with the referrer's email is refused a reward; a sign-up is matched to the existing customer by email; customers/data_request and customers/redact find a guest's orders and checkouts by email",
  },
  {
    data: "address",
    reads:
      "Customer.defaultAddress { city countryCodeV2 provinceCode }, Order.shippingAddress { address1 address2 zip countryCodeV2 }; the same in webhooks",
    feature: "Location segments; referral fraud checks",
    why: "Country, province and city are segment conditions; a friend's order shipping to an address the referrer shipped to is refused a reward (only a SHA-256 of the normalised street, postcode and country is kept, never the address)",
  },
];

/** What the app asks Shopify to approve: level 1, and name, email and address (never phone). */
export const APP_PROTECTED_DATA: ProtectedDataAccess = {
  level1: true,
  fields: PROTECTED_FIELDS.filter((f) => PROTECTED_DATA_USES.some((u) => u.data === f)),
};
