/**
 * A flash sale as Shopify would deliver it to Slice: an hour of webhooks for a big shop
 * (bench/generate-store.ts), mostly orders of its existing customers, some of new ones, each
 * order with the cart and checkout before it and the updates after it (paid, fulfilled, a few
 * refunded or cancelled), plus carts and checkouts that never become orders.
 *
 * Every payload is Shopify's own sample for its topic (dev/fixtures/webhooks) with this sale's
 * ids, customers, products, prices and times written over it, as bench/segments.ts's
 * `orderCreate`/`customerUpdate` make theirs: the bodies are as big as Shopify's (an order ~12 kB).
 * Deterministic for a seed; two seeds never share an id, a token or an event id.
 *
 * The deliveries come in time order (each version after the one before it; a refund after its
 * order): reordering and duplicates are the exactly-once tests' business, and a refund that
 * arrives first would make the drain wait out a retry's backoff, which measures the backoff.
 */
import { fixtureText } from "../dev/fixtures";
import { mulberry32, type WebhookLine } from "../dev/webhooks";
import { PRODUCTS, productId, VENDORS, variantId } from "./generate-store";
import type { PickedCustomer } from "./segments";

type Json = Record<string, unknown>;

export interface FlashSaleOptions {
  /** How many deliveries (the history is cut at this many, in time order). */
  events: number;
  /** Existing customers the orders go to (most orders); a few go to new customers. */
  customers: readonly PickedCustomer[];
  shop: string;
  /** The sale ends five minutes before this; it lasts `minutes`. */
  now: Date;
  minutes?: number;
  seed?: number;
}

export interface FlashSale {
  lines: Required<WebhookLine>[];
  /** What the history touches: customers (new and existing), orders, carts, checkouts (Shopify ids, tokens). */
  touched: { customers: Set<string>; orders: Set<string>; carts: Set<string>; checkouts: Set<string> };
  counts: Record<string, number>;
}

const iso = (t: number) => new Date(t).toISOString();
const decimal = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;
const money = (minor: number) => ({
  shop_money: { amount: decimal(minor), currency_code: "USD" },
  presentment_money: { amount: decimal(minor), currency_code: "USD" },
});
const priceOf = (p: number) => 1999 + (p % 40) * 250;

interface Item {
  product: number;
  quantity: number;
}

interface Buyer {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  state: string;
  tags: string;
  countryCode: string | null;
  provinceCode: string | null;
  city: string | null;
  acceptsEmailMarketing: boolean;
  createdAt: number;
}

function buyerOf(c: PickedCustomer): Buyer {
  return {
    id: c.shopifyId,
    email: c.email ?? `${c.shopifyId}@example.com`,
    firstName: c.firstName ?? "",
    lastName: c.lastName ?? "",
    state: c.state ?? "enabled",
    tags: c.tags.split("|").filter(Boolean).join(", "),
    countryCode: c.countryCode,
    provinceCode: c.provinceCode,
    city: c.city,
    acceptsEmailMarketing: !!c.acceptsEmailMarketing,
    createdAt: c.shopifyCreatedAt,
  };
}

/** The records these deliveries write (a prefix of a sale: what a drain stopped early applied). */
export function touchedBy(lines: readonly WebhookLine[]): FlashSale["touched"] {
  const touched: FlashSale["touched"] = {
    customers: new Set(),
    orders: new Set(),
    carts: new Set(),
    checkouts: new Set(),
  };
  for (const line of lines) {
    const p = line.payload as {
      id?: unknown;
      token?: unknown;
      order_id?: unknown;
      customer?: { id?: unknown } | null;
    };
    const [resource] = line.topic.split("/");
    if (p.customer?.id !== undefined) touched.customers.add(String(p.customer.id));
    if (resource === "customers") touched.customers.add(String(p.id));
    else if (resource === "orders") touched.orders.add(String(p.id));
    else if (resource === "refunds") touched.orders.add(String(p.order_id));
    else if (resource === "carts") touched.carts.add(String(p.token));
    else if (resource === "checkouts") touched.checkouts.add(String(p.id));
  }
  return touched;
}

export function flashSaleHistory(options: FlashSaleOptions): FlashSale {
  const seed = options.seed ?? 1;
  const random = mulberry32(0xf1a5 + seed);
  const minutes = options.minutes ?? 60;
  const end = options.now.getTime() - 5 * 60_000;
  const start = end - minutes * 60_000;
  // Ids of this seed's records: disjoint from the generated store's and from other seeds'.
  const base = seed * 10_000_000;
  const templates = {
    order: JSON.parse(fixtureText("orders/create")) as Json,
    customer: JSON.parse(fixtureText("customers/create")) as Json,
    cart: JSON.parse(fixtureText("carts/create")) as Json,
    checkout: JSON.parse(fixtureText("checkouts/create")) as Json,
  };
  const orderLine = (templates.order.line_items as Json[])[0];
  const cartLine = (templates.cart.line_items as Json[])[0];
  const checkoutLine = (templates.checkout.line_items as Json[])[0];

  const versions: { at: number; topic: string; payload: Json }[] = [];
  const touched: FlashSale["touched"] = {
    customers: new Set(),
    orders: new Set(),
    carts: new Set(),
    checkouts: new Set(),
  };
  const push = (at: number, topic: string, payload: Json) => {
    if (at < end) versions.push({ at, topic, payload });
  };

  const customerBody = (b: Buyer, updatedAt: number): Json => ({
    ...templates.customer,
    id: Number(b.id),
    admin_graphql_api_id: `gid://shopify/Customer/${b.id}`,
    email: b.email,
    first_name: b.firstName,
    last_name: b.lastName,
    state: b.state,
    tags: b.tags,
    created_at: iso(b.createdAt),
    updated_at: iso(updatedAt),
    email_marketing_consent: {
      state: b.acceptsEmailMarketing ? "subscribed" : "not_subscribed",
      opt_in_level: "single_opt_in",
      consent_updated_at: null,
    },
    addresses: [],
    default_address: {
      ...(templates.customer.default_address as Json),
      id: Number(b.id) + 1,
      customer_id: Number(b.id),
      first_name: b.firstName,
      last_name: b.lastName,
      city: b.city,
      province_code: b.provinceCode,
      country_code: b.countryCode,
    },
  });

  const cartBody = (token: string, items: Item[], createdAt: number, updatedAt: number): Json => ({
    ...templates.cart,
    id: token,
    token,
    created_at: iso(createdAt),
    updated_at: iso(updatedAt),
    line_items: items.map((it) => {
      const price = priceOf(it.product);
      return {
        ...cartLine,
        id: Number(variantId(it.product, 0)),
        key: `${variantId(it.product, 0)}:${token}`,
        product_id: Number(productId(it.product)),
        variant_id: Number(variantId(it.product, 0)),
        title: `Bench product ${it.product}`,
        vendor: VENDORS[it.product % VENDORS.length],
        sku: `SKU-${it.product}`,
        quantity: it.quantity,
        price: decimal(price),
        original_price: decimal(price),
        discounted_price: decimal(price),
        line_price: decimal(price * it.quantity),
        original_line_price: decimal(price * it.quantity),
        total_discount: "0.00",
        discounts: [],
        price_set: money(price),
        discounted_price_set: money(price),
        line_price_set: money(price * it.quantity),
        original_line_price_set: money(price * it.quantity),
      };
    }),
  });

  const total = (items: Item[]) => items.reduce((s, it) => s + priceOf(it.product) * it.quantity, 0);

  const checkoutBody = (
    c: { id: number; token: string; cartToken: string },
    buyer: Buyer | null,
    items: Item[],
    createdAt: number,
    updatedAt: number,
    completedAt: number | null,
  ): Json => ({
    ...templates.checkout,
    id: c.id,
    token: c.token,
    cart_token: c.cartToken,
    email: buyer?.email ?? null,
    currency: "USD",
    presentment_currency: "USD",
    created_at: iso(createdAt),
    updated_at: iso(updatedAt),
    completed_at: completedAt === null ? null : iso(completedAt),
    closed_at: null,
    subtotal_price: decimal(total(items)),
    total_line_items_price: decimal(total(items)),
    total_price: decimal(total(items)),
    total_tax: "0.00",
    total_discounts: "0.00",
    discount_codes: [],
    abandoned_checkout_url: `https://${options.shop}/checkouts/${c.token}/recover`,
    customer: buyer
      ? {
          ...(templates.checkout.customer as Json),
          id: Number(buyer.id),
          email: buyer.email,
          first_name: buyer.firstName,
          last_name: buyer.lastName,
          state: buyer.state,
          created_at: iso(buyer.createdAt),
          updated_at: iso(buyer.createdAt),
          admin_graphql_api_id: `gid://shopify/Customer/${buyer.id}`,
          default_address: null,
        }
      : null,
    line_items: items.map((it) => ({
      ...checkoutLine,
      key: `${c.token}-${it.product}`,
      product_id: Number(productId(it.product)),
      variant_id: Number(variantId(it.product, 0)),
      title: `Bench product ${it.product}`,
      presentment_title: `Bench product ${it.product}`,
      variant_title: null,
      presentment_variant_title: null,
      sku: `SKU-${it.product}`,
      vendor: VENDORS[it.product % VENDORS.length],
      quantity: it.quantity,
      price: decimal(priceOf(it.product)),
      variant_price: decimal(priceOf(it.product)),
      tax_lines: [],
    })),
  });

  interface OrderState {
    n: number;
    buyer: Buyer;
    items: Item[];
    createdAt: number;
    cartToken: string;
    checkout: { id: number; token: string };
    financialStatus: string;
    fulfillmentStatus: string | null;
    cancelledAt: number | null;
    refunds: { id: number; amount: number; at: number; full: boolean }[];
  }
  const orderId = (o: OrderState) => 5_950_000_000_000 + base + o.n;
  const refundBody = (o: OrderState, r: OrderState["refunds"][number]): Json => ({
    id: r.id,
    admin_graphql_api_id: `gid://shopify/Refund/${r.id}`,
    order_id: orderId(o),
    created_at: iso(r.at),
    processed_at: iso(r.at),
    note: r.full ? "Returned" : "Damaged item",
    restock: true,
    user_id: null,
    duties: [],
    order_adjustments: [],
    refund_line_items: [],
    transactions: [
      {
        id: r.id + 1,
        order_id: orderId(o),
        kind: "refund",
        gateway: "bogus",
        status: "success",
        amount: decimal(r.amount),
        currency: "USD",
        created_at: iso(r.at),
        parent_id: null,
        test: false,
      },
    ],
  });
  const orderBody = (o: OrderState, updatedAt: number): Json => {
    const id = orderId(o);
    const sum = total(o.items);
    const refunded = o.refunds.reduce((s, r) => s + r.amount, 0);
    return {
      ...templates.order,
      id,
      admin_graphql_api_id: `gid://shopify/Order/${id}`,
      name: `#F${base + o.n}`,
      order_number: base + o.n,
      number: base + o.n,
      email: o.buyer.email,
      contact_email: o.buyer.email,
      created_at: iso(o.createdAt),
      processed_at: iso(o.createdAt),
      updated_at: iso(updatedAt),
      cancelled_at: o.cancelledAt === null ? null : iso(o.cancelledAt),
      cancel_reason: o.cancelledAt === null ? null : "customer",
      closed_at: null,
      currency: "USD",
      presentment_currency: "USD",
      financial_status: o.financialStatus,
      fulfillment_status: o.fulfillmentStatus,
      total_price: decimal(sum),
      subtotal_price: decimal(sum),
      total_line_items_price: decimal(sum),
      current_total_price: decimal(sum - refunded),
      current_subtotal_price: decimal(sum - refunded),
      total_price_set: money(sum),
      subtotal_price_set: money(sum),
      total_discounts: "0.00",
      total_tax: "0.00",
      discount_codes: [],
      tags: "flash-sale",
      cart_token: o.cartToken,
      checkout_token: o.checkout.token,
      checkout_id: o.checkout.id,
      source_name: "web",
      test: false,
      refunds: o.refunds.map((r) => refundBody(o, r)),
      line_items: o.items.map((it, i) => {
        const lineId = 17_500_000_000_000 + (base + o.n) * 10 + i;
        return {
          ...orderLine,
          id: lineId,
          admin_graphql_api_id: `gid://shopify/LineItem/${lineId}`,
          product_id: Number(productId(it.product)),
          variant_id: Number(variantId(it.product, 0)),
          title: `Bench product ${it.product}`,
          name: `Bench product ${it.product}`,
          variant_title: null,
          sku: `SKU-${it.product}`,
          vendor: VENDORS[it.product % VENDORS.length],
          quantity: it.quantity,
          price: decimal(priceOf(it.product)),
          price_set: money(priceOf(it.product)),
          total_discount: "0.00",
          discount_allocations: [],
          tax_lines: [],
        };
      }),
      customer: {
        ...(templates.order.customer as Json),
        id: Number(o.buyer.id),
        admin_graphql_api_id: `gid://shopify/Customer/${o.buyer.id}`,
        email: o.buyer.email,
        first_name: o.buyer.firstName,
        last_name: o.buyer.lastName,
        state: o.buyer.state,
        created_at: iso(o.buyer.createdAt),
        updated_at: iso(o.createdAt),
        default_address: null,
      },
    };
  };

  // Popular products sell far more than the rest (the sale's hero products first).
  const product = () => Math.floor(PRODUCTS * Math.pow(random(), 3));
  const basket = (): Item[] => {
    const size = 1 + Math.floor(Math.pow(random(), 2) * 4);
    const items: Item[] = [];
    for (let i = 0; i < size; i++) {
      const p = product();
      if (!items.some((it) => it.product === p))
        items.push({ product: p, quantity: random() < 0.85 ? 1 : 2 });
    }
    return items;
  };

  let stories = 0;
  let newCustomers = 0;
  // Enough stories to fill the history (about 5 deliveries a story), then cut in time order.
  while (versions.length < options.events * 1.15 + 20) {
    const n = stories++;
    const t = start + Math.floor(random() * (end - start - 60_000));
    const cartToken = `fs${seed.toString(16)}x${n.toString(16).padStart(20, "0")}`;
    const checkout = {
      id: 32_000_000_000_000 + base + n,
      token: `fc${seed.toString(16)}x${n.toString(16).padStart(28, "0")}`,
      cartToken,
    };
    const items = basket();
    const buys = random() < 0.7;
    // A shopper: mostly a known customer; some new ones sign up and buy in the sale.
    let buyer: Buyer | null = null;
    if (buys || random() < 0.5) {
      if (random() < 0.15 || !options.customers.length) {
        const id = String(6_900_000_000_000 + base + newCustomers++);
        buyer = {
          id,
          email: `flash.${seed}.${id}@example.com`,
          firstName: "Flash",
          lastName: `Buyer ${newCustomers}`,
          state: "enabled",
          tags: "",
          countryCode: "US",
          provinceCode: "NY",
          city: "New York",
          acceptsEmailMarketing: random() < 0.5,
          createdAt: t,
        };
        push(t, "customers/create", customerBody(buyer, t));
      } else buyer = buyerOf(options.customers[Math.floor(random() * options.customers.length)]);
      touched.customers.add(buyer.id);
    }
    touched.carts.add(cartToken);
    push(t + 5_000, "carts/create", cartBody(cartToken, items.slice(0, 1), t + 5_000, t + 5_000));
    if (items.length > 1) push(t + 40_000, "carts/update", cartBody(cartToken, items, t + 5_000, t + 40_000));
    const checks = buys || random() < 0.5;
    if (checks) {
      touched.checkouts.add(String(checkout.id));
      push(
        t + 60_000,
        "checkouts/create",
        checkoutBody(checkout, buyer, items, t + 60_000, t + 60_000, null),
      );
    }
    if (!buys || !buyer) {
      if (checks && buyer)
        push(
          t + 90_000,
          "checkouts/update",
          checkoutBody(checkout, buyer, items, t + 60_000, t + 90_000, null),
        );
      continue;
    }
    const placed = t + 120_000;
    const o: OrderState = {
      n,
      buyer,
      items,
      createdAt: placed,
      cartToken,
      checkout,
      financialStatus: "pending",
      fulfillmentStatus: null,
      cancelledAt: null,
      refunds: [],
    };
    touched.orders.add(String(orderId(o)));
    push(placed, "orders/create", orderBody(o, placed));
    push(
      placed + 500,
      "checkouts/update",
      checkoutBody(checkout, buyer, items, t + 60_000, placed + 500, placed),
    );
    o.financialStatus = "paid";
    push(placed + 1_000, "orders/paid", orderBody(o, placed + 1_000));
    // Shopify sends customers/update as the customer's totals change.
    if (random() < 0.6) push(placed + 2_000, "customers/update", customerBody(buyer, placed + 2_000));
    const fate = random();
    const later = placed + Math.floor((5 + random() * 30) * 60_000);
    if (fate < 0.05) {
      const full = random() < 0.5;
      const refund = {
        id: 940_000_000_000 + base + n,
        amount: full ? total(items) : Math.round(total(items) * 0.3),
        at: later,
        full,
      };
      o.refunds.push(refund);
      o.financialStatus = full ? "refunded" : "partially_refunded";
      push(later, "refunds/create", refundBody(o, refund));
      push(later + 1_000, "orders/updated", orderBody(o, later + 1_000));
    } else if (fate < 0.08) {
      o.cancelledAt = later;
      o.financialStatus = "voided";
      push(later, "orders/cancelled", orderBody(o, later));
    } else if (fate < 0.5) {
      o.fulfillmentStatus = "fulfilled";
      push(later, "orders/updated", orderBody(o, later));
    }
  }
  versions.sort((a, b) => a.at - b.at);
  const kept = versions.slice(0, options.events);
  const counts: Record<string, number> = {};
  for (const v of kept) counts[v.topic] = (counts[v.topic] ?? 0) + 1;
  counts["new customers"] = newCustomers;
  return {
    lines: kept.map((v, i) => ({
      topic: v.topic,
      shop: options.shop,
      payload: v.payload,
      eventId: `flash-${seed}-${i}`,
      triggeredAt: iso(v.at),
    })),
    touched,
    counts,
  };
}
