/**
 * The normalised records the sync applies, whichever way they came (webhook, bulk backfill,
 * reconciliation). Shopify ids are strings; money is integer minor units; `updatedAt` is the
 * version that keeps an older copy from overwriting a newer one.
 */
import type { ShopifyTotals } from "../engine/lifetime";

export interface CustomerRecord {
  shopifyId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  state: string | null;
  tags: string[];
  acceptsEmailMarketing: boolean;
  countryCode: string | null;
  provinceCode: string | null;
  city: string | null;
  createdAt: Date | null;
  updatedAt: Date;
  /** Shopify's lifetime figures (Admin API numberOfOrders / amountSpent), when the source has them. */
  shopifyTotals?: ShopifyTotals | null;
}

export interface LineRecord {
  shopifyId: string;
  productId: string | null;
  variantId: string | null;
  title: string;
  variantTitle: string | null;
  sku: string | null;
  vendor: string | null;
  quantity: number;
  price: number;
  totalDiscount: number;
}

export interface RefundRecord {
  shopifyId: string;
  amount: number;
  createdAt: Date;
}

export interface OrderRecord {
  shopifyId: string;
  name: string | null;
  customerShopifyId: string | null;
  /** The customer as embedded in the order, when the payload carries one. */
  customer: CustomerRecord | null;
  email: string | null;
  currency: string;
  totalPrice: number;
  subtotalPrice: number;
  totalDiscounts: number;
  totalTax: number;
  financialStatus: string | null;
  fulfillmentStatus: string | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  closedAt: Date | null;
  discountCodes: string[];
  tags: string[];
  cartToken: string | null;
  checkoutToken: string | null;
  checkoutShopifyId: string | null;
  sourceName: string | null;
  /** addressHash of the shipping address (see address.ts); the address itself is not kept. */
  shippingAddressHash: string | null;
  test: boolean;
  processedAt: Date;
  createdAt: Date;
  updatedAt: Date;
  lines: LineRecord[];
  /** Refunds the payload lists; null when it does not say (so existing ones are kept). */
  refunds: RefundRecord[] | null;
}

export interface CartLineRecord {
  productId: string | null;
  variantId: string | null;
  title: string;
  quantity: number;
  price: number;
}

export interface CartRecord {
  token: string;
  currency: string | null;
  lines: CartLineRecord[];
  createdAt: Date | null;
  updatedAt: Date;
}

export interface CheckoutRecord {
  shopifyId: string;
  token: string | null;
  cartToken: string | null;
  customerShopifyId: string | null;
  customer: CustomerRecord | null;
  email: string | null;
  currency: string;
  totalPrice: number;
  subtotalPrice: number;
  completedAt: Date | null;
  lines: CartLineRecord[];
  createdAt: Date;
  updatedAt: Date;
}

export interface ProductRecord {
  shopifyId: string;
  title: string;
  handle: string | null;
  vendor: string | null;
  productType: string | null;
  tags: string[];
  updatedAt: Date;
  /** Collection ids, when known (bulk export); null leaves the product's memberships alone. */
  collectionIds: string[] | null;
}

export interface CollectionRecord {
  shopifyId: string;
  title: string;
  handle: string | null;
}

/** Tags and codes are stored as "|a|b|" so that one value can be matched exactly in SQL. */
export function joinList(values: readonly string[]): string {
  const clean = [...new Set(values.map((v) => v.trim()).filter(Boolean))];
  return clean.length ? `|${clean.map((v) => v.replaceAll("|", "/")).join("|")}|` : "";
}

export function splitList(stored: string): string[] {
  return stored.split("|").filter(Boolean);
}
