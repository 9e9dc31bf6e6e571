/**
 * Webhook payloads (Shopify's REST shape) → normalised records. Each schema says only what the
 * sync relies on and lets the rest through, so a new field from Shopify never breaks the sync but
 * a missing or malformed one we need is refused with its name.
 */
import { z } from "zod/v4";
import type { ShopifyTotals } from "../engine/lifetime";
import { isCurrencyCode, toMinorUnits } from "../engine/money";
import { addressHash } from "./address";
import { primaryDomainHost } from "../storefront/origin";
import type {
  CartLineRecord,
  CartRecord,
  CheckoutRecord,
  CustomerRecord,
  LineRecord,
  OrderRecord,
  RefundRecord,
} from "./records";
import { PayloadError, resourceId, shopifyId } from "./payload";

/*
 * The schemas here are zod 4's (zod/v4, shipped in the zod 3 package): every busy webhook is read
 * through them, and zod 4 reads a flash sale's payloads in under a third of zod 3's CPU (31 against
 * 107 µs an event, bench/apply-profile.ts). The messages stay what zod 3 wrote ("Required",
 * "Expected number, received string", "Invalid input"), field by field, as payload.ts's helpers
 * (zod 3, still used by the Admin API's records) write them.
 */
const idValue = z.union([z.string(), z.number()]);
const nullableString = z
  .string()
  .nullish()
  .transform((v) => v ?? null);
const dateTime = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)), { error: (issue) => `"${String(issue.input)}" is not a date` })
  .transform((v) => new Date(v));
const nullableDate = dateTime.nullish().transform((v) => v ?? null);
const amount = z.union([z.string(), z.number()], {
  error: (issue) => (issue.input === undefined ? "Required" : "must be a decimal amount"),
});

/** What zod 3 called a value's type in "Expected …, received …". */
function receivedOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && Number.isNaN(value)) return "nan";
  return typeof value;
}

/** zod 3's words for the issues a schema here does not word itself. */
function zod3Words(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === "invalid_type") {
    if (issue.input === undefined) return "Required";
    if (issue.expected === "int") return "Expected integer, received float";
    return `Expected ${issue.expected}, received ${receivedOf(issue.input)}`;
  }
  if (issue.code === "too_small" && issue.origin === "string")
    return `String must contain at least ${issue.minimum} character(s)`;
  if (issue.code === "too_small" && issue.origin === "number")
    return `Number must be greater than or equal to ${issue.minimum}`;
  if (issue.code === "invalid_union") return "Invalid input";
  return undefined;
}

/** The payload through `schema`, or a PayloadError naming each field that is wrong ("total_price: Required"). */
function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value, { error: zod3Words });
  if (result.success) return result.data;
  const words = result.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "payload"}: ${i.message}`)
    .join("; ");
  throw new PayloadError(`${what}: ${words}`);
}

const address = z
  .object({
    city: nullableString,
    country_code: nullableString,
    province_code: nullableString,
  })

  .nullish();

const customerSchema = z.object({
  id: idValue,
  admin_graphql_api_id: z.string().nullish(),
  email: nullableString,
  first_name: nullableString,
  last_name: nullableString,
  state: nullableString,
  tags: z.union([z.string(), z.array(z.string())]).nullish(),
  accepts_marketing: z.boolean().nullish(),
  email_marketing_consent: z.object({ state: nullableString }).nullish(),
  default_address: address,
  created_at: nullableDate,
  updated_at: nullableDate,
});

type CustomerPayload = z.output<typeof customerSchema>;

function tagsOf(tags: string | string[] | null | undefined): string[] {
  if (!tags) return [];
  return (Array.isArray(tags) ? tags : tags.split(",")).map((t) => t.trim()).filter(Boolean);
}

function customerRecord(c: CustomerPayload, fallbackUpdatedAt: Date): CustomerRecord {
  const emailConsent = c.email_marketing_consent?.state;
  return {
    shopifyId: resourceId(c),
    email: c.email,
    firstName: c.first_name,
    lastName: c.last_name,
    state: c.state,
    tags: tagsOf(c.tags),
    acceptsEmailMarketing: emailConsent ? emailConsent === "subscribed" : (c.accepts_marketing ?? false),
    countryCode: c.default_address?.country_code ?? null,
    provinceCode: c.default_address?.province_code ?? null,
    city: c.default_address?.city ?? null,
    createdAt: c.created_at,
    updatedAt: c.updated_at ?? c.created_at ?? fallbackUpdatedAt,
  };
}

export function customerFromWebhook(payload: unknown): CustomerRecord {
  const c = parseWith(customerSchema, payload, "customer");
  if (!c.updated_at && !c.created_at) throw new PayloadError("customer: updated_at is missing");
  return customerRecord(c, new Date(0));
}

const currency = z
  .string()
  .refine(isCurrencyCode, { error: (issue) => `"${String(issue.input)}" is not an ISO 4217 currency code` });

function money(value: string | number | null | undefined, cur: string, field: string): number {
  if (value === null || value === undefined || value === "") return 0;
  try {
    return toMinorUnits(value, cur);
  } catch (error) {
    throw new PayloadError(`${field}: ${(error as Error).message}`);
  }
}

const lineSchema = z.object({
  id: idValue,
  admin_graphql_api_id: z.string().nullish(),
  product_id: idValue.nullish(),
  variant_id: idValue.nullish(),
  title: z.string().nullish(),
  name: z.string().nullish(),
  variant_title: nullableString,
  sku: nullableString,
  vendor: nullableString,
  quantity: z.number().int(),
  price: amount,
  total_discount: amount.nullish(),
});

const transactionSchema = z.object({
  kind: nullableString,
  status: nullableString,
  amount: amount.nullish(),
});

const refundSchema = z.object({
  id: idValue,
  admin_graphql_api_id: z.string().nullish(),
  order_id: idValue,
  created_at: dateTime,
  transactions: z.array(transactionSchema).nullish(),
  refund_line_items: z.array(z.object({ subtotal: amount.nullish() })).nullish(),
});

type RefundPayload = z.output<typeof refundSchema>;

function refundRecord(r: RefundPayload, cur: string, field: string): RefundRecord {
  const paid = (r.transactions ?? []).filter(
    (t) => t.kind === "refund" && (t.status === "success" || t.status === null),
  );
  const total = paid.length
    ? paid.reduce((sum, t, i) => sum + money(t.amount, cur, `${field}.transactions.${i}.amount`), 0)
    : (r.refund_line_items ?? []).reduce(
        (sum, l, i) => sum + money(l.subtotal, cur, `${field}.refund_line_items.${i}.subtotal`),
        0,
      );
  return { shopifyId: resourceId(r), amount: total, createdAt: r.created_at };
}

const orderSchema = z.object({
  id: idValue,
  admin_graphql_api_id: z.string().nullish(),
  name: nullableString,
  email: nullableString,
  contact_email: nullableString,
  currency,
  total_price: amount,
  subtotal_price: amount.nullish(),
  total_discounts: amount.nullish(),
  total_tax: amount.nullish(),
  financial_status: nullableString,
  fulfillment_status: nullableString,
  cancelled_at: nullableDate,
  cancel_reason: nullableString,
  closed_at: nullableDate,
  discount_codes: z.array(z.object({ code: z.string() })).nullish(),
  tags: z.union([z.string(), z.array(z.string())]).nullish(),
  cart_token: nullableString,
  checkout_token: nullableString,
  checkout_id: idValue.nullish(),
  source_name: nullableString,
  test: z.boolean().nullish(),
  processed_at: nullableDate,
  created_at: dateTime,
  updated_at: nullableDate,
  customer: customerSchema.nullish(),
  shipping_address: z
    .object({
      address1: nullableString,
      address2: nullableString,
      zip: nullableString,
      country_code: nullableString,
    })

    .nullish(),
  line_items: z.array(lineSchema),
  refunds: z.array(refundSchema).nullish(),
});

function lineRecord(l: z.output<typeof lineSchema>, cur: string, field: string): LineRecord {
  return {
    shopifyId: resourceId(l),
    productId: shopifyId(l.product_id),
    variantId: shopifyId(l.variant_id),
    title: l.title ?? l.name ?? "",
    variantTitle: l.variant_title,
    sku: l.sku,
    vendor: l.vendor,
    quantity: l.quantity,
    price: money(l.price, cur, `${field}.price`),
    totalDiscount: money(l.total_discount, cur, `${field}.total_discount`),
  };
}

export function orderFromWebhook(payload: unknown): OrderRecord {
  const o = parseWith(orderSchema, payload, "order");
  const cur = o.currency;
  const updatedAt = o.updated_at ?? o.created_at;
  return {
    shopifyId: resourceId(o),
    name: o.name,
    customerShopifyId: o.customer ? resourceId(o.customer) : null,
    customer: o.customer ? customerRecord(o.customer, new Date(0)) : null,
    email: o.email ?? o.contact_email,
    currency: cur,
    totalPrice: money(o.total_price, cur, "order.total_price"),
    subtotalPrice: money(o.subtotal_price, cur, "order.subtotal_price"),
    totalDiscounts: money(o.total_discounts, cur, "order.total_discounts"),
    totalTax: money(o.total_tax, cur, "order.total_tax"),
    financialStatus: o.financial_status,
    fulfillmentStatus: o.fulfillment_status,
    cancelledAt: o.cancelled_at,
    cancelReason: o.cancel_reason,
    closedAt: o.closed_at,
    discountCodes: (o.discount_codes ?? []).map((d) => d.code),
    tags: tagsOf(o.tags),
    cartToken: o.cart_token,
    checkoutToken: o.checkout_token,
    checkoutShopifyId: shopifyId(o.checkout_id),
    sourceName: o.source_name,
    shippingAddressHash: addressHash(
      o.shipping_address && { ...o.shipping_address, countryCode: o.shipping_address.country_code },
    ),
    test: o.test ?? false,
    processedAt: o.processed_at ?? o.created_at,
    createdAt: o.created_at,
    updatedAt,
    lines: o.line_items.map((l, i) => lineRecord(l, cur, `order.line_items.${i}`)),
    refunds: o.refunds ? o.refunds.map((r, i) => refundRecord(r, cur, `order.refunds.${i}`)) : null,
  };
}

export interface RefundEvent {
  orderShopifyId: string;
  refund: RefundRecord;
}

/** refunds/create carries no currency; amounts are converted with the order's currency. */
export function refundFromWebhook(payload: unknown, orderCurrency: string): RefundEvent {
  const r = parseWith(refundSchema, payload, "refund");
  return { orderShopifyId: refundOrderId(r), refund: refundRecord(r, orderCurrency, "refund") };
}

export function refundOrderId(payload: unknown): string {
  const r = parseWith(z.object({ order_id: idValue }), payload, "refund");
  const id = shopifyId(r.order_id);
  if (!id) throw new PayloadError("refund: order_id is missing");
  return id;
}

const cartLineSchema = z.object({
  product_id: idValue.nullish(),
  variant_id: idValue.nullish(),
  title: nullableString,
  quantity: z.number().int(),
  price: amount,
  price_set: z
    .object({ shop_money: z.object({ currency_code: nullableString }).nullish() })

    .nullish(),
});

const cartSchema = z.object({
  id: idValue.nullish(),
  token: z.string().min(1),
  line_items: z.array(cartLineSchema),
  created_at: nullableDate,
  updated_at: dateTime,
});

function cartLines(lines: z.output<typeof cartLineSchema>[], cur: string, field: string): CartLineRecord[] {
  return lines.map((l, i) => ({
    productId: shopifyId(l.product_id),
    variantId: shopifyId(l.variant_id),
    title: l.title ?? "",
    quantity: l.quantity,
    price: money(l.price, cur, `${field}.${i}.price`),
  }));
}

export function cartFromWebhook(payload: unknown, shopCurrency: string): CartRecord {
  const c = parseWith(cartSchema, payload, "cart");
  const declared = c.line_items.find((l) => l.price_set?.shop_money?.currency_code)?.price_set?.shop_money
    ?.currency_code;
  const cur = isCurrencyCode(declared) ? declared : shopCurrency;
  return {
    token: c.token,
    currency: cur,
    lines: cartLines(c.line_items, cur, "cart.line_items"),
    createdAt: c.created_at,
    updatedAt: c.updated_at,
  };
}

const checkoutSchema = z.object({
  id: idValue,
  token: nullableString,
  cart_token: nullableString,
  email: nullableString,
  currency,
  total_price: amount,
  subtotal_price: amount.nullish(),
  completed_at: nullableDate,
  created_at: dateTime,
  updated_at: nullableDate,
  customer: customerSchema.nullish(),
  line_items: z.array(cartLineSchema),
});

export function checkoutFromWebhook(payload: unknown): CheckoutRecord {
  const c = parseWith(checkoutSchema, payload, "checkout");
  const cur = c.currency;
  return {
    shopifyId: resourceId(c),
    token: c.token,
    cartToken: c.cart_token,
    customerShopifyId: c.customer ? resourceId(c.customer) : null,
    customer: c.customer ? customerRecord(c.customer, new Date(0)) : null,
    email: c.email,
    currency: cur,
    totalPrice: money(c.total_price, cur, "checkout.total_price"),
    subtotalPrice: money(c.subtotal_price, cur, "checkout.subtotal_price"),
    completedAt: c.completed_at,
    lines: cartLines(c.line_items, cur, "checkout.line_items"),
    createdAt: c.created_at,
    updatedAt: c.updated_at ?? c.created_at,
  };
}

export function deletedCustomerId(payload: unknown): string {
  const c = parseWith(
    z.object({ id: idValue, admin_graphql_api_id: z.string().nullish() }),
    payload,
    "customer",
  );
  return resourceId(c);
}

/** orders/delete: only the order's id. */
export function deletedOrderId(payload: unknown): string {
  const o = parseWith(
    z.object({ id: idValue, admin_graphql_api_id: z.string().nullish() }),
    payload,
    "order",
  );
  return resourceId(o);
}

export interface PurchasingSummary {
  customerShopifyId: string;
  totals: ShopifyTotals;
  lastOrderShopifyId: string | null;
}

/** customers/purchasing_summary (2026-07): Shopify's lifetime figures for one customer, as of occurredAt. */
export function purchasingSummaryFromWebhook(payload: unknown): PurchasingSummary {
  const p = parseWith(
    z.object({
      customerId: z.string().regex(/^gid:\/\/shopify\/Customer\/\d+$/, "is not a customer gid"),
      numberOfOrders: z.union([z.number().int().min(0), z.string().regex(/^\d+$/)], {
        error: (issue) => (typeof issue.input === "string" ? "is not a count" : undefined),
      }),
      amountSpent: z.object({ amount: z.string(), currencyCode: z.string() }),
      lastOrderId: z.string().nullish(),
      occurredAt: dateTime,
    }),
    payload,
    "purchasing summary",
  );
  let spent: number;
  try {
    spent = toMinorUnits(p.amountSpent.amount, p.amountSpent.currencyCode);
  } catch (error) {
    throw new PayloadError(`purchasing summary.amountSpent: ${(error as Error).message}`);
  }
  return {
    customerShopifyId: shopifyId(p.customerId)!,
    totals: { orders: Number(p.numberOfOrders), spent, at: p.occurredAt },
    lastOrderShopifyId: shopifyId(p.lastOrderId) ?? null,
  };
}

export interface ShopUpdate {
  name: string | null;
  currency: string | null;
  ianaTimezone: string | null;
  /** The primary domain's host (`domain`; Shopify's sample sends null: then it stays as it is). */
  primaryDomain: string | null;
  /** The shop's updated_at; null when the payload has none (Shopify's sample sends null). */
  updatedAt: Date | null;
}

/** shop/update: what the app keeps of the shop (its currency and time zone drive money and dates). */
export function shopFromWebhook(payload: unknown): ShopUpdate {
  const s = parseWith(
    z.object({
      name: nullableString,
      currency: nullableString,
      iana_timezone: nullableString,
      domain: nullableString,
      updated_at: nullableDate,
    }),
    payload,
    "shop",
  );
  if (s.currency && !isCurrencyCode(s.currency))
    throw new PayloadError(`shop.currency: "${s.currency}" is not a currency code`);
  if (s.iana_timezone) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: s.iana_timezone });
    } catch {
      throw new PayloadError(`shop.iana_timezone: "${s.iana_timezone}" is not an IANA time zone`);
    }
  }
  const primaryDomain = s.domain ? primaryDomainHost(s.domain) : null;
  if (s.domain && !primaryDomain) throw new PayloadError(`shop.domain: "${s.domain}" is not a host name`);
  return {
    name: s.name ?? null,
    currency: s.currency ?? null,
    ianaTimezone: s.iana_timezone ?? null,
    primaryDomain,
    updatedAt: s.updated_at ?? null,
  };
}
