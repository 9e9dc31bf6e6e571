/** Admin GraphQL nodes (bulk JSONL lines and query results) → the same normalised records. */
import { z } from "zod";
import { toMinorUnits } from "../engine/money";
import { addressHash } from "./address";
import type {
  CartLineRecord,
  CheckoutRecord,
  CollectionRecord,
  CustomerRecord,
  LineRecord,
  OrderRecord,
  ProductRecord,
} from "./records";
import { PayloadError, dateTime, nullableDate, nullableString, parseWith, shopifyId } from "./payload";

const gid = z.string().regex(/^gid:\/\/shopify\/\w+\/\d+/, "is not a Shopify gid");
const ref = z.object({ id: gid }).passthrough().nullish();
const shopMoney = z.object({
  shopMoney: z.object({ amount: z.string(), currencyCode: z.string().optional() }),
});

function id(value: string): string {
  const out = shopifyId(value);
  if (!out) throw new PayloadError(`"${value}" is not a Shopify id`);
  return out;
}

function minor(m: z.output<typeof shopMoney> | null | undefined, currency: string, field: string): number {
  if (!m) return 0;
  try {
    return toMinorUnits(m.shopMoney.amount, currency);
  } catch (error) {
    throw new PayloadError(`${field}: ${(error as Error).message}`);
  }
}

/** Customer.defaultEmailAddress (2026-07's successor of `email` and `emailMarketingConsent`). */
const emailAddress = z
  .object({ emailAddress: nullableString, marketingState: z.string().nullish() })
  .passthrough()
  .nullish();

const customerNode = z
  .object({
    id: gid,
    firstName: nullableString,
    lastName: nullableString,
    state: nullableString,
    tags: z.array(z.string()),
    createdAt: dateTime,
    updatedAt: dateTime,
    defaultEmailAddress: emailAddress,
    defaultAddress: z
      .object({ city: nullableString, countryCodeV2: nullableString, provinceCode: nullableString })
      .nullish(),
    // Lifetime figures (UnsignedInt64 comes as a string); optional so an older document still parses.
    numberOfOrders: z.union([z.string().regex(/^\d+$/, "is not a count"), z.number().int().min(0)]).nullish(),
    amountSpent: z.object({ amount: z.string(), currencyCode: z.string() }).nullish(),
  })
  .passthrough();

export function customerFromGraphql(node: unknown): CustomerRecord {
  const c = parseWith(customerNode, node, "customer");
  return {
    shopifyId: id(c.id),
    email: c.defaultEmailAddress?.emailAddress ?? null,
    firstName: c.firstName,
    lastName: c.lastName,
    state: c.state ? c.state.toLowerCase() : null,
    tags: c.tags,
    acceptsEmailMarketing: c.defaultEmailAddress?.marketingState === "SUBSCRIBED",
    countryCode: c.defaultAddress?.countryCodeV2 ?? null,
    provinceCode: c.defaultAddress?.provinceCode ?? null,
    city: c.defaultAddress?.city ?? null,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    shopifyTotals:
      c.numberOfOrders !== null && c.numberOfOrders !== undefined && c.amountSpent
        ? {
            orders: Number(c.numberOfOrders),
            spent: minor({ shopMoney: c.amountSpent }, c.amountSpent.currencyCode, "customer.amountSpent"),
            // The figures are the customer's as of its last update (an order changes them).
            at: c.updatedAt,
          }
        : null,
  };
}

const lineNode = z
  .object({
    id: gid,
    title: z.string(),
    variantTitle: nullableString,
    sku: nullableString,
    vendor: nullableString,
    quantity: z.number().int(),
    product: ref,
    variant: ref,
    originalUnitPriceSet: shopMoney,
    totalDiscountSet: shopMoney.nullish(),
  })
  .passthrough();

export function lineFromGraphql(node: unknown, currency: string): LineRecord {
  const l = parseWith(lineNode, node, "line item");
  return {
    shopifyId: id(l.id),
    productId: l.product ? id(l.product.id) : null,
    variantId: l.variant ? id(l.variant.id) : null,
    title: l.title,
    variantTitle: l.variantTitle,
    sku: l.sku,
    vendor: l.vendor,
    quantity: l.quantity,
    price: minor(l.originalUnitPriceSet, currency, "line item.originalUnitPriceSet"),
    totalDiscount: minor(l.totalDiscountSet, currency, "line item.totalDiscountSet"),
  };
}

const orderNode = z
  .object({
    id: gid,
    name: nullableString,
    email: nullableString,
    createdAt: dateTime,
    updatedAt: dateTime,
    processedAt: dateTime,
    cancelledAt: nullableDate,
    cancelReason: nullableString,
    closedAt: nullableDate,
    test: z.boolean(),
    tags: z.array(z.string()),
    discountCodes: z.array(z.string()),
    sourceName: nullableString,
    // The checkout the order came from (null for orders made without one): what completes a Web
    // Pixel checkout (segments) and links a pending checkout_completed (checkout-link.server.ts).
    checkoutToken: nullableString,
    displayFinancialStatus: nullableString,
    displayFulfillmentStatus: nullableString,
    currencyCode: z.string(),
    customer: ref,
    shippingAddress: z
      .object({
        address1: nullableString,
        address2: nullableString,
        zip: nullableString,
        countryCodeV2: nullableString,
      })
      .nullish(),
    totalPriceSet: shopMoney,
    subtotalPriceSet: shopMoney.nullish(),
    totalDiscountsSet: shopMoney.nullish(),
    totalTaxSet: shopMoney.nullish(),
    refunds: z.array(
      z.object({ id: gid, createdAt: nullableDate, totalRefundedSet: shopMoney }).passthrough(),
    ),
  })
  .passthrough();

/** `lines` come separately: nested nodes in a query, or `__parentId` lines in a bulk export. */
export function orderFromGraphql(node: unknown, lineNodes: unknown[]): OrderRecord {
  const o = parseWith(orderNode, node, "order");
  const cur = o.currencyCode;
  return {
    shopifyId: id(o.id),
    name: o.name,
    customerShopifyId: o.customer ? id(o.customer.id) : null,
    customer: null,
    email: o.email,
    currency: cur,
    totalPrice: minor(o.totalPriceSet, cur, "order.totalPriceSet"),
    subtotalPrice: minor(o.subtotalPriceSet, cur, "order.subtotalPriceSet"),
    totalDiscounts: minor(o.totalDiscountsSet, cur, "order.totalDiscountsSet"),
    totalTax: minor(o.totalTaxSet, cur, "order.totalTaxSet"),
    financialStatus: o.displayFinancialStatus?.toLowerCase() ?? null,
    fulfillmentStatus: fulfillment(o.displayFulfillmentStatus),
    cancelledAt: o.cancelledAt,
    cancelReason: o.cancelReason?.toLowerCase() ?? null,
    closedAt: o.closedAt,
    discountCodes: o.discountCodes,
    tags: o.tags,
    cartToken: null,
    checkoutToken: o.checkoutToken ?? null,
    checkoutShopifyId: null,
    sourceName: o.sourceName,
    shippingAddressHash: addressHash(
      o.shippingAddress && { ...o.shippingAddress, countryCode: o.shippingAddress.countryCodeV2 },
    ),
    test: o.test,
    processedAt: o.processedAt,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    lines: lineNodes.map((l) => lineFromGraphql(l, cur)),
    refunds: o.refunds.map((r) => ({
      shopifyId: id(r.id),
      amount: minor(r.totalRefundedSet, cur, "order.refunds.totalRefundedSet"),
      createdAt: r.createdAt ?? o.updatedAt,
    })),
  };
}

/** GraphQL's display status → the REST/webhook fulfillment_status vocabulary. */
function fulfillment(status: string | null): string | null {
  switch (status) {
    case "FULFILLED":
      return "fulfilled";
    case "PARTIALLY_FULFILLED":
      return "partial";
    case "RESTOCKED":
      return "restocked";
    default:
      return null;
  }
}

const productNode = z
  .object({
    id: gid,
    title: z.string(),
    handle: nullableString,
    vendor: nullableString,
    productType: nullableString,
    tags: z.array(z.string()),
    updatedAt: dateTime,
  })
  .passthrough();

export function productFromGraphql(node: unknown, collectionIds: string[] | null): ProductRecord {
  const p = parseWith(productNode, node, "product");
  return {
    shopifyId: id(p.id),
    title: p.title,
    handle: p.handle,
    vendor: p.vendor,
    productType: p.productType,
    tags: p.tags,
    updatedAt: p.updatedAt,
    collectionIds,
  };
}

export function collectionFromGraphql(node: unknown): CollectionRecord {
  const c = parseWith(
    z.object({ id: gid, title: z.string(), handle: nullableString }).passthrough(),
    node,
    "collection",
  );
  return { shopifyId: id(c.id), title: c.title, handle: c.handle };
}

const checkoutNode = z
  .object({
    id: gid,
    createdAt: dateTime,
    updatedAt: dateTime,
    completedAt: nullableDate,
    customer: z.object({ id: gid, defaultEmailAddress: emailAddress }).passthrough().nullish(),
    totalPriceSet: shopMoney,
    subtotalPriceSet: shopMoney.nullish(),
  })
  .passthrough();

const checkoutLineNode = z
  .object({
    title: z.string(),
    quantity: z.number().int(),
    product: ref,
    variant: ref,
    originalUnitPriceSet: shopMoney,
  })
  .passthrough();

export function checkoutFromGraphql(
  node: unknown,
  lineNodes: unknown[],
  shopCurrency: string,
): CheckoutRecord {
  const c = parseWith(checkoutNode, node, "checkout");
  const cur = c.totalPriceSet.shopMoney.currencyCode ?? shopCurrency;
  const lines: CartLineRecord[] = lineNodes.map((n) => {
    const l = parseWith(checkoutLineNode, n, "checkout line item");
    return {
      productId: l.product ? id(l.product.id) : null,
      variantId: l.variant ? id(l.variant.id) : null,
      title: l.title,
      quantity: l.quantity,
      price: minor(l.originalUnitPriceSet, cur, "checkout line item.originalUnitPriceSet"),
    };
  });
  return {
    shopifyId: id(c.id),
    token: null,
    cartToken: null,
    customerShopifyId: c.customer ? id(c.customer.id) : null,
    customer: null,
    email: c.customer?.defaultEmailAddress?.emailAddress ?? null,
    currency: cur,
    totalPrice: minor(c.totalPriceSet, cur, "checkout.totalPriceSet"),
    subtotalPrice: minor(c.subtotalPriceSet, cur, "checkout.subtotalPriceSet"),
    completedAt: c.completedAt,
    lines,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}
