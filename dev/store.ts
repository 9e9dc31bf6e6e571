/**
 * A deterministic synthetic Shopify store of any size, shaped like a real one: most customers buy
 * once, a few buy often, order values are long-tailed, most carts and many checkouts are
 * abandoned, some orders are refunded or cancelled. It is emitted two ways from one truth:
 * as the webhook history Shopify would have sent (REST payloads, in time order) and as the final
 * state the Admin GraphQL stand-in serves.
 */
import { mulberry32, type WebhookLine } from "./webhooks";

export interface GenerateOptions {
  seed?: number;
  customers?: number;
  /** The store's "now": all history lies in the `days` before it. */
  now?: Date;
  days?: number;
  shop?: string;
  currency?: string;
}

export interface Product {
  id: string;
  variantId: string;
  title: string;
  handle: string;
  vendor: string;
  productType: string;
  tags: string[];
  price: number;
  collectionIds: string[];
  updatedAt: Date;
}

export interface Collection {
  id: string;
  title: string;
  handle: string;
}

/** A postal address, as Shopify's MailingAddress (only the parts the app reads and a few more). */
export interface Address {
  address1: string;
  address2: string | null;
  city: string;
  provinceCode: string | null;
  zip: string;
  countryCode: string;
}

export interface Customer {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  phone: string | null;
  state: "enabled" | "disabled" | "invited";
  tags: string[];
  acceptsMarketing: boolean;
  countryCode: string;
  provinceCode: string | null;
  city: string;
  /** The default address (its city, province and country are the fields above); null: none. */
  address: Address | null;
  locale: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Line {
  id: string;
  productId: string;
  variantId: string;
  title: string;
  sku: string;
  vendor: string;
  quantity: number;
  price: number;
  totalDiscount: number;
}

export interface Refund {
  id: string;
  amount: number;
  note: string | null;
  createdAt: Date;
}

export interface Order {
  id: string;
  name: string;
  customerId: string | null;
  email: string | null;
  lines: Line[];
  subtotal: number;
  totalDiscounts: number;
  totalTax: number;
  total: number;
  discountCodes: string[];
  financialStatus: "paid" | "partially_refunded" | "refunded" | "pending" | "voided";
  fulfillmentStatus: "fulfilled" | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  refunds: Refund[];
  /** null for a Buy it now order (no cart). */
  cartToken: string | null;
  checkoutToken: string;
  checkoutId: string;
  sourceName: string;
  landingSite: string | null;
  referringSite: string | null;
  /** Mostly the customer's default address (sometimes typed differently), sometimes another. */
  shippingAddress: Address | null;
  tags: string[];
  createdAt: Date;
  processedAt: Date;
  updatedAt: Date;
}

export interface CartLine {
  productId: string;
  variantId: string;
  title: string;
  quantity: number;
  price: number;
}

export interface Cart {
  token: string;
  lines: CartLine[];
  createdAt: Date;
  updatedAt: Date;
}

export interface Checkout {
  id: string;
  token: string;
  cartToken: string;
  customerId: string | null;
  email: string | null;
  lines: CartLine[];
  subtotal: number;
  total: number;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Store {
  shop: {
    domain: string;
    name: string;
    currency: string;
    ianaTimezone: string;
    /** The primary domain's host (the demo: its storefront's address); unset: the myshopify domain, as a shop without its own domain. */
    primaryDomain?: string;
  };
  now: Date;
  collections: Collection[];
  products: Product[];
  customers: Customer[];
  orders: Order[];
  carts: Cart[];
  checkouts: Checkout[];
  /** The webhook history, in the order Shopify would have sent it. */
  events: WebhookLine[];
  /** The published (MAIN) theme, with the app embed's state in its config/settings_data.json. */
  theme: StoreTheme;
}

// ---- The published theme and the app embed (home's setup guide) ---------------------------------

export interface StoreTheme {
  id: number;
  name: string;
  /** The app embed: absent from settings_data.json (never activated), or present and on/off. */
  appEmbed: "missing" | "on" | "off";
}

/** The app embed block's handle (extensions/slice-storefront/blocks/slice-embed.liquid). */
export const APP_EMBED_HANDLE = "slice-embed";

/**
 * The theme's config/settings_data.json as Shopify writes it: a comment header, then `current`
 * with the app embed under `blocks` keyed by a generated id, its `type`
 * shopify://apps/<app handle>/blocks/<block handle>/<extension uuid> and a `disabled` flag.
 */
export function settingsDataJson(theme: StoreTheme, appHandle = "slice-segments"): string {
  const blocks =
    theme.appEmbed === "missing"
      ? {}
      : {
          "10339104127405482364": {
            type: `shopify://apps/${appHandle}/blocks/${APP_EMBED_HANDLE}/4f6c3a52-2d6e-4a8e-9b8f-5c1d2e3f4a5b`,
            disabled: theme.appEmbed === "off",
            settings: { popup: true, corner: true, bar: true },
          },
        };
  const data = { current: { sections: {}, content_for_index: [], blocks } };
  return `/*\n * IMPORTANT: The contents of this file are auto-generated.\n */\n${JSON.stringify(data, null, 2)}`;
}

const FIRST = [
  "Ava",
  "Liam",
  "Mia",
  "Noah",
  "Zoe",
  "Ethan",
  "Ines",
  "Kai",
  "Lena",
  "Omar",
  "Priya",
  "Sam",
  "Yuki",
  "Tomás",
  "Chloé",
  "Björn",
];
const LAST = [
  "Smith",
  "Garcia",
  "Chen",
  "Okafor",
  "Novak",
  "Müller",
  "Rossi",
  "Tanaka",
  "Dubois",
  "Kowalski",
  "Silva",
  "Nguyen",
];
const PLACES: [string, string | null, string, number][] = [
  ["US", "CA", "Los Angeles", 18],
  ["US", "NY", "New York", 16],
  ["US", "TX", "Austin", 8],
  ["US", "WA", "Seattle", 5],
  ["CA", "ON", "Toronto", 8],
  ["CA", "QC", "Montréal", 3],
  ["GB", null, "London", 10],
  ["DE", null, "Berlin", 7],
  ["FR", null, "Paris", 6],
  ["AU", "NSW", "Sydney", 6],
  ["NL", null, "Amsterdam", 3],
  ["JP", null, "Tokyo", 3],
];
const STREETS = ["Main Street", "Oak Avenue", "Maple Road", "Harbour Lane", "Station Road", "Park Drive"];
const ZIP_SHAPES: Record<string, string> = { US: "99999", CA: "A9A 9A9", GB: "AA9 9AA", JP: "999-9999" };

const COLLECTIONS = [
  "Summer Essentials",
  "Outerwear",
  "Accessories",
  "Footwear",
  "Best Sellers",
  "New Arrivals",
  "Sale",
  "Gifts",
];
const PRODUCT_TYPES = ["Shirt", "Jacket", "Sunglasses", "Sneakers", "Hat", "Bag", "Socks", "Scarf"];
const VENDORS = ["Acme", "Northwind", "Lumen", "Fjord & Co"];
const REFERRERS = [
  null,
  null,
  "https://www.google.com/",
  "https://www.instagram.com/",
  "https://www.facebook.com/",
  "https://newsletter.example.com/",
];

export function generateStore(options: GenerateOptions = {}): Store {
  const seed = options.seed ?? 42;
  const random = mulberry32(seed);
  const now = options.now ?? new Date("2026-11-25T12:00:00Z");
  const days = options.days ?? 365;
  const start = now.getTime() - days * 86_400_000;
  const currency = options.currency ?? "USD";
  const domain = options.shop ?? "slice-demo.myshopify.com";
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const weighted = <T>(items: readonly [T, number][]): T => {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let r = random() * total;
    for (const [item, w] of items) if ((r -= w) < 0) return item;
    return items[items.length - 1][0];
  };
  // Log-normal: most values near the median, a long tail above it.
  const logNormal = (median: number, sigma: number) =>
    median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  let nextId = 7_000_000_000_000 + (seed % 1000) * 1_000_000_000;
  const id = () => String(++nextId);
  const token = () =>
    Array.from({ length: 32 }, () => "0123456789abcdef"[Math.floor(random() * 16)]).join("");
  const minute = 60_000;
  const at = (t: number) => new Date(Math.min(Math.round(t / 1000) * 1000, now.getTime() - minute));

  // Addresses draw from their own sequence, so the rest of the store is what it was without them.
  const addressRandom = mulberry32(seed ^ 0x5eed_add5);
  const addressPick = <T>(items: readonly T[]): T => items[Math.floor(addressRandom() * items.length)];
  const addressIn = (countryCode: string, provinceCode: string | null, city: string): Address => ({
    address1: `${1 + Math.floor(addressRandom() * 400)} ${addressPick(STREETS)}`,
    address2: addressRandom() < 0.3 ? `Apt ${1 + Math.floor(addressRandom() * 40)}` : null,
    city,
    provinceCode,
    zip: (ZIP_SHAPES[countryCode] ?? "99999").replace(/[9A]/g, (shape) =>
      shape === "9"
        ? String(Math.floor(addressRandom() * 10))
        : "ABCDEFGHJKLMNPRSTVWXYZ"[Math.floor(addressRandom() * 22)],
    ),
    countryCode,
  });
  // The same door as a shopper may type it at checkout: other case, abbreviated, flat as "#".
  const retyped = (a: Address): Address => ({
    ...a,
    address1: a.address1
      .toUpperCase()
      .replace(/ STREET$/, " ST.")
      .replace(/ AVENUE$/, " AVE"),
    address2: a.address2 ? a.address2.replace("Apt ", "#") : null,
  });

  const collections: Collection[] = COLLECTIONS.map((title) => ({
    id: id(),
    title,
    handle: title.toLowerCase().replace(/[^a-z]+/g, "-"),
  }));
  const products: Product[] = Array.from({ length: 40 }, (_, i) => {
    const type = PRODUCT_TYPES[i % PRODUCT_TYPES.length];
    const title = `${pick(["Classic", "Everyday", "Trail", "Coastal", "Midnight", "Studio"])} ${type} ${i + 1}`;
    const inCollections = collections.filter((_, c) => c === i % 4 || (c >= 4 && random() < 0.25));
    return {
      id: id(),
      variantId: id(),
      title,
      handle: title.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
      vendor: VENDORS[i % VENDORS.length],
      productType: type,
      tags: i % 5 === 0 ? ["bestseller"] : [],
      price: Math.round(logNormal(3500, 0.6) / 100) * 100 - 1,
      collectionIds: inCollections.map((c) => c.id),
      updatedAt: at(start),
    };
  });
  // Popular products sell far more than the rest.
  const productWeights: [Product, number][] = products.map((p, i) => [p, 1 / (i + 1)]);

  const customers: Customer[] = [];
  const orders: Order[] = [];
  const carts: Cart[] = [];
  const checkouts: Checkout[] = [];
  const versions: { at: Date; topic: string; payload: unknown }[] = [];
  let orderNumber = 1000;

  const basket = (): CartLine[] => {
    const size = weighted([
      [1, 55],
      [2, 28],
      [3, 12],
      [4, 5],
    ]);
    const lines: CartLine[] = [];
    for (let i = 0; i < size; i++) {
      const p = weighted(productWeights);
      if (lines.some((l) => l.productId === p.id)) continue;
      lines.push({
        productId: p.id,
        variantId: p.variantId,
        title: p.title,
        quantity: weighted([
          [1, 80],
          [2, 15],
          [3, 5],
        ]),
        price: p.price,
      });
    }
    return lines;
  };
  const sum = (lines: CartLine[]) => lines.reduce((s, l) => s + l.price * l.quantity, 0);

  const addCart = (lines: CartLine[], t: number): Cart => {
    const cart: Cart = { token: token(), lines: lines.slice(0, 1), createdAt: at(t), updatedAt: at(t) };
    carts.push(cart);
    versions.push({ at: cart.createdAt, topic: "carts/create", payload: cartPayload(cart, currency) });
    if (lines.length > 1) {
      cart.lines = lines;
      cart.updatedAt = at(t + 2 * minute);
      versions.push({ at: cart.updatedAt, topic: "carts/update", payload: cartPayload(cart, currency) });
    }
    return cart;
  };

  const addCheckout = (cart: Cart, customer: Customer | null, t: number): Checkout => {
    const subtotal = sum(cart.lines);
    const checkout: Checkout = {
      id: id(),
      token: token(),
      cartToken: cart.token,
      customerId: customer?.id ?? null,
      email: customer?.email ?? null,
      lines: cart.lines,
      subtotal,
      total: subtotal,
      completedAt: null,
      createdAt: at(t),
      updatedAt: at(t),
    };
    checkouts.push(checkout);
    versions.push({
      at: checkout.createdAt,
      topic: "checkouts/create",
      payload: checkoutPayload(checkout, customer, currency),
    });
    return checkout;
  };

  const count = options.customers ?? 500;
  for (let c = 0; c < count; c++) {
    const [countryCode, provinceCode, city] = weighted(PLACES.map((p) => [p, p[3]] as [typeof p, number]));
    const firstName = pick(FIRST);
    const lastName = pick(LAST);
    const createdAt = at(start + random() * (now.getTime() - start) * 0.95);
    const customer: Customer = {
      id: id(),
      email: `${firstName}.${lastName}.${c}@example.com`
        .toLowerCase()
        .normalize("NFD")
        .replace(/[\u0300-\u036f]/g, ""),
      firstName,
      lastName,
      phone: random() < 0.4 ? `+1555${String(1_000_000 + c).slice(-7)}` : null,
      state: weighted([
        ["enabled", 55],
        ["disabled", 40],
        ["invited", 5],
      ]),
      tags: random() < 0.1 ? ["newsletter"] : [],
      acceptsMarketing: random() < 0.45,
      countryCode,
      provinceCode,
      city,
      address: addressIn(countryCode, provinceCode, city),
      locale: countryCode === "FR" ? "fr" : countryCode === "DE" ? "de" : "en",
      createdAt,
      updatedAt: createdAt,
    };
    customers.push(customer);
    versions.push({ at: createdAt, topic: "customers/create", payload: customerPayload(customer) });

    // Most customers order once; about a quarter never do; a few order often.
    const orderCount = weighted([
      [0, 25],
      [1, 47],
      [2, 13],
      [3, 6],
      [4, 3],
      [6, 3],
      [10, 2],
      [20, 1],
    ]);
    let t = createdAt.getTime();
    for (let n = 0; n < orderCount; n++) {
      t += random() * Math.max(minute, (now.getTime() - t) / (orderCount - n + 0.5));
      if (t >= now.getTime() - 2 * 3600_000) break;
      const lines = basket();
      if (random() < 0.2) lines[0].quantity += Math.floor(logNormal(2, 0.8));
      const cart = addCart(lines, t - 40 * minute);
      const checkout = addCheckout(cart, customer, t - 15 * minute);
      orders.push(placeOrder(customer, checkout, t, n === 0));
    }
    // Abandonment: a cart left behind, or a checkout started and not finished.
    if (random() < 0.3) {
      const when = start + random() * (now.getTime() - start);
      const cart = addCart(basket(), when);
      if (random() < 0.5) addCheckout(cart, customer, when + 10 * minute);
    }
  }
  // Anonymous shoppers' carts (never logged in) and a few guest orders.
  for (let i = 0; i < Math.round(count * 0.3); i++)
    addCart(basket(), start + random() * (now.getTime() - start));

  function shipTo(customer: Customer): Address {
    const r = addressRandom();
    if (r < 0.12 || !customer.address)
      return addressIn(customer.countryCode, customer.provinceCode, customer.city);
    return r < 0.3 ? retyped(customer.address) : customer.address;
  }

  function placeOrder(customer: Customer, checkout: Checkout, t: number, first: boolean): Order {
    const discountCode = first && random() < 0.25 ? "WELCOME10" : random() < 0.08 ? "SALE20" : null;
    const rate = discountCode === "WELCOME10" ? 0.1 : discountCode ? 0.2 : 0;
    const lines: Line[] = checkout.lines.map((l) => ({
      id: id(),
      productId: l.productId,
      variantId: l.variantId,
      title: l.title,
      sku: `SKU-${l.productId.slice(-4)}`,
      vendor: products.find((p) => p.id === l.productId)!.vendor,
      quantity: l.quantity,
      price: l.price,
      totalDiscount: Math.round(l.price * l.quantity * rate),
    }));
    const subtotal = lines.reduce((s, l) => s + l.price * l.quantity - l.totalDiscount, 0);
    const totalTax = Math.round(subtotal * 0.08);
    const processedAt = at(t);
    const order: Order = {
      id: id(),
      name: `#${++orderNumber}`,
      customerId: customer.id,
      email: customer.email,
      lines,
      subtotal,
      totalDiscounts: lines.reduce((s, l) => s + l.totalDiscount, 0),
      totalTax,
      total: subtotal + totalTax,
      discountCodes: discountCode ? [discountCode] : [],
      financialStatus: "paid",
      fulfillmentStatus: null,
      cancelledAt: null,
      cancelReason: null,
      refunds: [],
      cartToken: checkout.cartToken,
      checkoutToken: checkout.token,
      checkoutId: checkout.id,
      sourceName: "web",
      landingSite: pick(["/", "/collections/sale", "/products/classic-shirt-1?utm_source=newsletter", null]),
      referringSite: pick(REFERRERS),
      shippingAddress: shipTo(customer),
      tags: [],
      createdAt: processedAt,
      processedAt,
      updatedAt: processedAt,
    };
    checkout.completedAt = processedAt;
    checkout.updatedAt = at(t + 1000);
    versions.push({
      at: processedAt,
      topic: "orders/create",
      payload: orderPayload(order, customer, currency),
    });
    versions.push({
      at: processedAt,
      topic: "orders/paid",
      payload: orderPayload(order, customer, currency),
    });
    versions.push({
      at: checkout.updatedAt,
      topic: "checkouts/update",
      payload: checkoutPayload(checkout, customer, currency),
    });
    customer.updatedAt = at(t + 2000);
    versions.push({ at: customer.updatedAt, topic: "customers/update", payload: customerPayload(customer) });
    const later = t + (1 + random() * 20) * 86_400_000;
    if (later < now.getTime() - 3600_000) {
      const fate = random();
      if (fate < 0.05) {
        const full = random() < 0.5;
        const refund: Refund = {
          id: id(),
          amount: full ? order.total : Math.round(order.total * 0.3),
          note: full ? "Returned" : "Damaged item",
          createdAt: at(later),
        };
        order.refunds.push(refund);
        order.financialStatus = full ? "refunded" : "partially_refunded";
        order.updatedAt = at(later + 1000);
        versions.push({
          at: refund.createdAt,
          topic: "refunds/create",
          payload: refundPayload(refund, order, currency),
        });
        versions.push({
          at: order.updatedAt,
          topic: "orders/updated",
          payload: orderPayload(order, customer, currency),
        });
      } else if (fate < 0.07) {
        order.cancelledAt = at(later);
        order.cancelReason = "customer";
        order.financialStatus = "voided";
        order.updatedAt = order.cancelledAt;
        versions.push({
          at: order.updatedAt,
          topic: "orders/cancelled",
          payload: orderPayload(order, customer, currency),
        });
      } else if (fate < 0.8) {
        order.fulfillmentStatus = "fulfilled";
        order.updatedAt = at(t + 86_400_000);
        versions.push({
          at: order.updatedAt,
          topic: "orders/updated",
          payload: orderPayload(order, customer, currency),
        });
      }
    }
    return order;
  }

  versions.sort((a, b) => a.at.getTime() - b.at.getTime());
  const events: WebhookLine[] = versions.map((v, i) => ({
    topic: v.topic,
    shop: domain,
    payload: v.payload,
    eventId: `${seed}-${i}`,
    triggeredAt: v.at.toISOString(),
  }));
  return {
    shop: { domain, name: "Slice Demo Outfitters", currency, ianaTimezone: "America/New_York" },
    now,
    collections,
    products,
    customers,
    orders,
    carts,
    checkouts,
    events,
    theme: { id: 140000000001, name: "Dawn", appEmbed: "on" },
  };
}

// ---- Shopify's REST/webhook shapes --------------------------------------------------------------

export function decimal(minor: number): string {
  const sign = minor < 0 ? "-" : "";
  const digits = String(Math.abs(minor)).padStart(3, "0");
  return `${sign}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const money = (minor: number, currency: string) => ({
  shop_money: { amount: decimal(minor), currency_code: currency },
  presentment_money: { amount: decimal(minor), currency_code: currency },
});

/**
 * shop/update in Shopify's shape (the fields the 2026-07 sample has that the app reads; `domain`
 * is the primary domain's host, `myshopify_domain` the permanent address).
 */
export function shopPayload(shop: Store["shop"], updatedAt: Date) {
  return {
    id: 548380009,
    name: shop.name,
    domain: shop.primaryDomain ?? shop.domain,
    myshopify_domain: shop.domain,
    currency: shop.currency,
    iana_timezone: shop.ianaTimezone,
    updated_at: updatedAt.toISOString(),
  };
}

export function customerPayload(c: Customer) {
  return {
    id: Number(c.id),
    email: c.email,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    first_name: c.firstName,
    last_name: c.lastName,
    state: c.state,
    note: null,
    verified_email: true,
    multipass_identifier: null,
    tax_exempt: false,
    phone: c.phone,
    currency: "USD",
    tags: c.tags.join(", "),
    locale: c.locale,
    email_marketing_consent: {
      state: c.acceptsMarketing ? "subscribed" : "not_subscribed",
      opt_in_level: "single_opt_in",
      consent_updated_at: iso(c.createdAt),
    },
    sms_marketing_consent: null,
    admin_graphql_api_id: `gid://shopify/Customer/${c.id}`,
    default_address: {
      id: Number(c.id) + 1,
      customer_id: Number(c.id),
      address1: c.address?.address1 ?? null,
      address2: c.address?.address2 ?? null,
      zip: c.address?.zip ?? null,
      city: c.city,
      province_code: c.provinceCode,
      country_code: c.countryCode,
      default: true,
    },
  };
}

/** An order as Shopify's orders/* webhooks carry it. */
export function orderPayload(o: Order, c: Customer | null, currency: string) {
  return {
    id: Number(o.id),
    admin_graphql_api_id: `gid://shopify/Order/${o.id}`,
    name: o.name,
    email: o.email,
    contact_email: o.email,
    created_at: iso(o.createdAt),
    updated_at: iso(o.updatedAt),
    processed_at: iso(o.processedAt),
    cancelled_at: iso(o.cancelledAt),
    cancel_reason: o.cancelReason,
    closed_at: null,
    currency,
    presentment_currency: currency,
    total_price: decimal(o.total),
    total_price_set: money(o.total, currency),
    subtotal_price: decimal(o.subtotal),
    total_discounts: decimal(o.totalDiscounts),
    total_tax: decimal(o.totalTax),
    financial_status: o.financialStatus,
    fulfillment_status: o.fulfillmentStatus,
    discount_codes: o.discountCodes.map((code) => ({
      code,
      amount: decimal(o.totalDiscounts),
      type: "percentage",
    })),
    tags: o.tags.join(", "),
    cart_token: o.cartToken,
    checkout_token: o.checkoutToken,
    checkout_id: Number(o.checkoutId),
    source_name: o.sourceName,
    landing_site: o.landingSite,
    referring_site: o.referringSite,
    test: false,
    shipping_address: o.shippingAddress && {
      first_name: c?.firstName ?? null,
      last_name: c?.lastName ?? null,
      name: c ? `${c.firstName} ${c.lastName}` : null,
      address1: o.shippingAddress.address1,
      address2: o.shippingAddress.address2,
      city: o.shippingAddress.city,
      zip: o.shippingAddress.zip,
      province_code: o.shippingAddress.provinceCode,
      country_code: o.shippingAddress.countryCode,
      phone: c?.phone ?? null,
      company: null,
    },
    customer: c
      ? {
          id: Number(c.id),
          email: c.email,
          created_at: iso(c.createdAt),
          updated_at: iso(c.updatedAt),
          first_name: c.firstName,
          last_name: c.lastName,
          state: c.state,
          admin_graphql_api_id: `gid://shopify/Customer/${c.id}`,
        }
      : null,
    line_items: o.lines.map((l) => ({
      id: Number(l.id),
      admin_graphql_api_id: `gid://shopify/LineItem/${l.id}`,
      product_id: Number(l.productId),
      variant_id: Number(l.variantId),
      title: l.title,
      name: l.title,
      variant_title: null,
      sku: l.sku,
      vendor: l.vendor,
      quantity: l.quantity,
      price: decimal(l.price),
      price_set: money(l.price, currency),
      total_discount: decimal(l.totalDiscount),
    })),
    refunds: o.refunds.map((r) => refundPayload(r, o, currency)),
  };
}

function refundPayload(r: Refund, o: Order, currency: string) {
  return {
    id: Number(r.id),
    admin_graphql_api_id: `gid://shopify/Refund/${r.id}`,
    order_id: Number(o.id),
    created_at: iso(r.createdAt),
    note: r.note,
    restock: true,
    transactions: [
      { id: Number(r.id) + 1, kind: "refund", status: "success", amount: decimal(r.amount), currency },
    ],
    refund_line_items: [],
  };
}

/** A cart as Shopify's carts/create and carts/update webhooks carry it. */
export function cartPayload(c: Cart, currency: string) {
  return {
    id: c.token,
    token: c.token,
    note: null,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    line_items: c.lines.map((l) => ({
      id: Number(l.variantId),
      product_id: Number(l.productId),
      variant_id: Number(l.variantId),
      title: l.title,
      quantity: l.quantity,
      price: decimal(l.price),
      line_price: decimal(l.price * l.quantity),
      price_set: money(l.price, currency),
    })),
  };
}

function checkoutPayload(c: Checkout, customer: Customer | null, currency: string) {
  return {
    id: Number(c.id),
    token: c.token,
    cart_token: c.cartToken,
    email: c.email,
    currency,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    completed_at: iso(c.completedAt),
    closed_at: null,
    subtotal_price: decimal(c.subtotal),
    total_price: decimal(c.total),
    abandoned_checkout_url: `https://example.myshopify.com/checkouts/${c.token}/recover`,
    customer: customer
      ? {
          id: Number(customer.id),
          email: customer.email,
          admin_graphql_api_id: `gid://shopify/Customer/${customer.id}`,
        }
      : null,
    line_items: c.lines.map((l) => ({
      product_id: Number(l.productId),
      variant_id: Number(l.variantId),
      title: l.title,
      quantity: l.quantity,
      price: decimal(l.price),
    })),
  };
}
