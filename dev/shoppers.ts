/**
 * Simulated shoppers for the demo: weeks of storefront visits that end at `end` (the demo's clock),
 * so a fresh demo's offer results are not empty. Each shopper goes through the app's real
 * storefront code, called as its endpoints call it but on the replay's clock: the web pixel's
 * batches (`receivePixelBody`: visits, product views, cart additions, checkouts), the decision
 * (`decideForUrl`: the segment, the offer, the arm from assign(), the exposure), the code endpoint
 * (`receiveCodeRequest`: a first-purchase code from the offer's pool) and the message events
 * (`receiveEvents`: shown, clicked, dismissed), each request signed as Shopify's app proxy signs
 * it. Carts and orders reach the app as Shopify's webhooks (`deliver`), and the orders join the
 * store the Admin API stand-in serves; a code used at checkout is checked by `redeem` (the
 * stand-in's, as Shopify's checkout checks it). Nothing is written to the database directly.
 *
 * The effect is built into the shoppers, not into the rows: whatever the decision answers, a
 * shopper who saw the welcome offer orders more often than one who did not (more again after
 * clicking), and a returning cart abandoner reminded of their cart more often than one who was
 * not. Held-out shoppers see nothing and order at the base rate, so the results page finds a
 * lift, with its interval, only through the real assignment. Seeded: the same seed gives the same
 * shoppers, decisions and orders.
 *
 * Three passes on the replay's clock, a few shoppers side by side: first visits; (the carts
 * applied) the cart abandoners' return visits; then the orders. The rate limits are
 * started afresh before each pixel or code call, made one at a time (they guard against abuse in
 * real time; the replay's clock runs weeks in minutes and starts again at each pass).
 */
import type { PrismaClient } from "@prisma/client";
import type { AdminApi } from "../app/sync/admin-api.server";
import { proxiedRequest } from "./app-proxy";
import { cartPayload, orderPayload, type Store } from "./store";
import { mulberry32, type WebhookLine } from "./webhooks";

const DAY = 86_400_000;
const MINUTE = 60_000;

export interface ShopperReplayOptions {
  db: PrismaClient;
  store: Store;
  /** The app's API secret: app proxy requests are signed with it. */
  secret: string;
  /** How Shopify's webhooks (carts, orders) reach the app; resolves once they are received. */
  deliver: (lines: WebhookLine[]) => Promise<void>;
  /** Resolves once every webhook delivered so far has been applied. */
  settle: () => Promise<void>;
  /** Makes a first-purchase discount with its codes in Shopify (the pool's makeBatch on an Admin API client). */
  makeCodes: (input: { messageId: number; startsAt: Date; endsAt: Date; codes: number }) => Promise<number>;
  /** Shopify's checkout's check of a discount code (the stand-in's `redeem`). */
  redeem: (input: {
    code: string;
    customerId: string | null;
    email: string;
    subtotal: number;
    at: Date;
  }) => { ok: true; discountAmount: number } | { ok: false; reason: string };
  /** Shoppers replayed side by side. Default 6. */
  concurrency?: number;
  /** First-time visitors (about 55% add to cart, most of those come back). Default 2,400. */
  visitors?: number;
  /** The visits are spread over the `days` before `end`. Default 21. */
  days?: number;
  end: Date;
  seed?: number;
}

export interface ShopperReplayResult {
  visitors: number;
  returnVisits: number;
  decisions: number;
  impressions: number;
  codes: number;
  orders: number;
  /** Requests the app refused (status and error), by what was asked: none when all is well. */
  refused: string[];
  /** Where the time went (ms): making codes, each endpoint, webhooks delivered and applied. */
  timingMs?: Record<string, number>;
}

interface Visitor {
  index: number;
  id: string;
  ip: string;
  key?: string;
  firstAt: number;
  /** The visit's product, and whether it went into the cart. */
  product: Store["products"][number];
  cart: { token: string; id: string } | null;
  /** Leaves before a delayed popup appears, or never makes an exit move. */
  leavesEarly: boolean;
  /** A uniform draw fixed per shopper: orders when it falls under the shopper's rate. */
  propensity: number;
  clickDraw: number;
  /** The rest of the shopper's draws, made up front so that shoppers replayed side by side stay seeded. */
  draws: {
    orderHours: number;
    comesBack: boolean;
    returnHours: number;
    afterReturnHours: number;
    returnPropensity: number;
    quantity: number;
    checkoutToken: string;
  };
  welcome: { shown: boolean; clicked: boolean; code: string | null };
  reminder: { shown: boolean; clicked: boolean };
  returnAt: number | null;
  order: { at: number; code: string | null; viaCart: boolean } | null;
}

/** Conversion rates of the simulated shoppers (what the results page should find again). */
export const SHOPPER_RATES = {
  /** A first-time visitor who did not see the welcome offer (held out, or left before it). */
  base: 0.02,
  shownWelcome: 0.14,
  clickedWelcome: 0.3,
  /** A returning cart abandoner not reminded of their cart (or code). */
  cartBase: 0.04,
  shownReminder: 0.1,
  clickedReminder: 0.2,
} as const;

function hex(random: () => number, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += Math.floor(random() * 16).toString(16);
  return s;
}

/** A uuid-shaped id, as Shopify's `_shopify_y` client id. */
function uuid(random: () => number): string {
  const h = hex(random, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

export async function replayShoppers(options: ShopperReplayOptions): Promise<ShopperReplayResult> {
  // The app's modules, loaded now: the caller has pointed DATABASE_URL and the secret at the app.
  const { decideForUrl, flushExposures } = await import("../app/storefront/decide.server");
  const { receivePixelBody, pixelPerClient, pixelPerShop } = await import("../app/storefront/pixel.server");
  const { receiveEvents } = await import("../app/storefront/events.server");
  const { receiveCodeRequest } = await import("../app/storefront/code.server");
  const rateLimits = await import("../app/storefront/rate-limit.server");

  const { db, store } = options;
  const shopDomain = store.shop.domain;
  const random = mulberry32(options.seed ?? 2026);
  const count = options.visitors ?? 2400;
  const days = options.days ?? 21;
  const end = options.end.getTime();
  const start = end - days * DAY;
  const timing = { codes: 0, pixel: 0, decide: 0, code: 0, events: 0, webhooks: 0 };
  const timed = async <T>(what: keyof typeof timing, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      // SQLite has one writer: beside the running server (the demo), a call may wait past the busy
      // timeout on a loaded machine. Such a call failed whole (one transaction) and is made again.
      for (let attempt = 1; ; attempt++) {
        try {
          return await work();
        } catch (error) {
          if (attempt >= 4 || !/database is locked|SQLITE_BUSY/i.test(String((error as Error).message)))
            throw error;
          await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
        }
      }
    } finally {
      timing[what] += performance.now() - t0;
    }
  };
  const result: ShopperReplayResult = {
    visitors: count,
    returnVisits: 0,
    decisions: 0,
    impressions: 0,
    codes: 0,
    orders: 0,
    refused: [],
  };
  const shop = await db.shop.findUniqueOrThrow({ where: { domain: shopDomain }, select: { id: true } });
  const messages = await db.message.findMany({
    where: { shopId: shop.id, active: true },
    select: { id: true, reward: true, segmentHandle: true },
  });
  const welcome = messages.find(
    (m) => m.segmentHandle === "first-time-visitors" && m.reward === "firstPurchase",
  );
  const reminder = messages.find((m) => m.segmentHandle === "cart-abandoners");

  const proxy = { appOrigin: "http://slice.invalid", secret: options.secret, shop: shopDomain };
  const signed = (path: string, at: number, init: RequestInit & { ip: string }) =>
    proxiedRequest(
      new Request(new URL(`/apps/slice${path}`, `https://${shopDomain}`), {
        method: init.method ?? "GET",
        body: init.body,
        headers: { "content-type": "application/json", "x-forwarded-for": init.ip },
      }),
      proxy,
      { timestamp: Math.floor(at / 1000) },
    );
  const refused = async (what: string, response: Response) => {
    if (response.ok) return false;
    result.refused.push(`${what}: ${response.status} ${await response.text()}`);
    return true;
  };
  const iso = (t: number) => new Date(t).toISOString();
  /**
   * The rate limits are kept out of the replay: they guard the app's real clock, while the
   * replay's runs weeks in minutes, and back and forth a little between shoppers replayed side by
   * side (a bucket read at an earlier time than its last would count as overdrawn). So the pixel
   * and code endpoints are called one at a time, each with the limits started afresh.
   */
  const freshLimits = async () => {
    for (const buckets of [pixelPerClient, pixelPerShop]) buckets.clear();
    // The code endpoint's buckets are shared through the database (rate-limit.server.ts).
    for (const buckets of [rateLimits.perClient, rateLimits.perShop]) await buckets.clear(db);
  };
  /** The rate-limited endpoints are called one at a time, each with the limits started afresh. */
  let queue: Promise<unknown> = Promise.resolve();
  const limited = <T>(call: () => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      await freshLimits();
      return call();
    });
    queue = run.catch(() => undefined);
    return run;
  };
  /** Runs `work` for each item, a few at a time, in the items' order. */
  const sideBySide = async <T>(items: T[], work: (item: T, index: number) => Promise<void>) => {
    let next = 0;
    const lane = async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i], i);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 6 }, lane));
  };

  /** The web pixel's batch for a visitor (it keeps the key the endpoint gave its first batch). */
  async function pixel(
    v: Visitor,
    at: number,
    events: Record<string, unknown>[],
    cartToken?: string,
  ): Promise<void> {
    const body = {
      shop: shopDomain,
      clientId: v.id,
      ...(v.key ? { key: v.key } : {}),
      consent: { analytics: true },
      ...(cartToken ? { cartToken } : {}),
      sentAt: iso(at),
      events,
    };
    const response = await limited(() =>
      timed("pixel", () => receivePixelBody(JSON.stringify(body), db, new Date(at))),
    );
    if (await refused(`pixel ${events.map((e) => e.name).join(",")}`, response)) return;
    const answer = (await response.json()) as { key?: string };
    if (answer.key) v.key = answer.key;
  }

  /** The storefront's decision for this visitor on the home page: the message id, or null. */
  async function decide(v: Visitor, at: number): Promise<number | null> {
    const request = signed(`/decide?visitor=${v.id}&consent=1&page=index&path=%2F`, at, { ip: v.ip });
    const answer = await timed("decide", () => decideForUrl(new URL(request.url), db, new Date(at)));
    result.decisions++;
    if (answer.status !== 200) {
      result.refused.push(`decide: ${answer.status} ${JSON.stringify(answer.body)}`);
      return null;
    }
    const body = answer.body as { message: { id: number } | null };
    return body.message?.id ?? null;
  }

  async function messageEvent(v: Visitor, at: number, type: string, messageId: number) {
    const request = signed("/events", at, {
      ip: v.ip,
      method: "POST",
      body: JSON.stringify({
        visitorId: v.id,
        consent: { analytics: true },
        sentAt: iso(at),
        events: [{ type, at: iso(at), resourceId: String(messageId) }],
      }),
    });
    await refused(`events ${type}`, await timed("events", () => receiveEvents(request, db, new Date(at))));
  }

  /** slice-draw.js asks for the shopper's code as a discount offer opens: no code, no offer. */
  async function claimCode(v: Visitor, at: number, messageId: number): Promise<string | null> {
    const request = signed("/code", at, {
      ip: v.ip,
      method: "POST",
      body: JSON.stringify({ visitorId: v.id, messageId }),
    });
    const response = await limited(() => timed("code", () => receiveCodeRequest(request, db, new Date(at))));
    if (await refused("code", response)) return null;
    const answer = (await response.json()) as { code?: string };
    return answer.code ?? null;
  }

  // What was delivered before (the shop's history) is applied first: the replay does not race it.
  await options.settle();

  // Shoppers, in time order.
  const products = store.products.filter((p) => p.price > 0);
  const visitors: Visitor[] = [];
  for (let i = 0; i < count; i++) {
    const firstAt = Math.round(start + ((i + random()) / count) * (days - 1.5) * DAY);
    const hasCart = random() < 0.55;
    visitors.push({
      index: i,
      id: uuid(random),
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      firstAt,
      product: products[Math.floor(random() * products.length)],
      cart: hasCart ? { token: hex(random, 32), id: hex(random, 16) } : null,
      leavesEarly: random() < 0.35,
      propensity: random(),
      clickDraw: random(),
      draws: {
        orderHours: 0.2 + random() * 72,
        comesBack: random() < 0.85,
        returnHours: 3 + random() * 40,
        afterReturnHours: 0.1 + random() * 24,
        returnPropensity: random(),
        quantity: 1 + Math.floor(random() * 2),
        checkoutToken: hex(random, 32),
      },
      welcome: { shown: false, clicked: false, code: null },
      reminder: { shown: false, clicked: false },
      returnAt: null,
      order: null,
    });
  }

  // Codes for the welcome offer, made ahead as its pool makes them: a batch of 250 for every 2 days,
  // lasting 9 days, so each is offered (while the offer's 7 days of use are left) for its 2 days.
  const batchDayOf = (at: number) => Math.floor(at / DAY / 2) * 2;
  async function codesFor(day: number) {
    if (!welcome) return;
    const made = await timed("codes", () =>
      options
        .makeCodes({
          messageId: welcome.id,
          startsAt: new Date(day * DAY),
          endsAt: new Date((day + 9) * DAY),
          codes: 250,
        })
        .catch((error: Error) => {
          result.refused.push(`welcome codes for ${iso(day * DAY)}: ${error.message}`);
          return 0;
        }),
    );
    if (!made) result.refused.push(`no welcome codes made for ${iso(day * DAY)}`);
  }

  // Pass 1: first visits. The home page (a new session), the decision, the popup after its 5 s
  // delay for those who stay (with their code, shown, then clicked or closed), a product and,
  // for some, the cart.
  for (const day of new Set(visitors.map((v) => batchDayOf(v.firstAt)))) await codesFor(day);
  await sideBySide(visitors, async (v) => {
    let t = v.firstAt;
    await pixel(v, t, [{ name: "page_viewed", at: iso(t), path: "/" }]);
    const chosen = await decide(v, t + 800);
    if (welcome && chosen === welcome.id && !v.leavesEarly) {
      t += 6_000;
      const code = await claimCode(v, t, welcome.id);
      if (code) {
        result.codes++;
        result.impressions++;
        v.welcome = { shown: true, clicked: v.clickDraw < 0.3, code };
        await messageEvent(v, t, "message_shown", welcome.id);
        if (v.welcome.clicked) await messageEvent(v, t + 4_000, "message_clicked", welcome.id);
        else if (v.clickDraw < 0.8) await messageEvent(v, t + 4_000, "message_dismissed", welcome.id);
      }
    }
    t += 40_000;
    const path = `/products/${v.product.handle}`;
    const browse = [
      { name: "page_viewed", at: iso(t), path },
      { name: "product_viewed", at: iso(t + 500), productId: v.product.id },
    ];
    if (v.cart) browse.push({ name: "product_added_to_cart", at: iso(t + 30_000), productId: v.product.id });
    await pixel(v, t + 30_000, browse, v.cart ? `${v.cart.token}?key=${v.cart.id}` : undefined);

    const rate = v.welcome.clicked
      ? SHOPPER_RATES.clickedWelcome
      : v.welcome.shown
        ? SHOPPER_RATES.shownWelcome
        : SHOPPER_RATES.base;
    if (v.propensity < rate) {
      // Orders within a few days; those who used their code pay with it.
      const at = Math.min(t + v.draws.orderHours * 3600_000, end - 5 * MINUTE);
      v.order = { at, code: v.welcome.code, viaCart: !!v.cart };
    } else if (v.cart && v.draws.comesBack) {
      v.returnAt = Math.min(t + v.draws.returnHours * 3600_000, end - 30 * MINUTE);
    }
  });
  await flushExposures();
  // The carts, as Shopify's carts/create webhooks (applied before the shoppers come back to them).
  const cartLines: WebhookLine[] = visitors
    .filter((v) => v.cart)
    .map((v) => {
      const at = new Date(v.firstAt + 70_000);
      const p = v.product;
      return {
        topic: "carts/create",
        shop: shopDomain,
        eventId: `demo-cart-${v.cart!.token}`,
        triggeredAt: at.toISOString(),
        payload: cartPayload(
          {
            token: v.cart!.token,
            lines: [{ productId: p.id, variantId: p.variantId, title: p.title, quantity: 1, price: p.price }],
            createdAt: at,
            updatedAt: at,
          },
          store.shop.currency,
        ),
      };
    });
  await timed("webhooks", async () => {
    await options.deliver(cartLines);
    await options.settle();
  });

  // Pass 2: the cart abandoners come back (a new session): the cart reminder waits for an exit move.
  const returning = visitors.filter((v) => v.returnAt !== null).sort((a, b) => a.returnAt! - b.returnAt!);
  await sideBySide(returning, async (v) => {
    const t = v.returnAt!;
    result.returnVisits++;
    await pixel(v, t, [{ name: "page_viewed", at: iso(t), path: "/" }], `${v.cart!.token}?key=${v.cart!.id}`);
    const chosen = await decide(v, t + 800);
    // The cart reminder; or, for a shopper holding the welcome code, the welcome offer again as a
    // reminder of their code (the decision answers it before any other message).
    const shown = chosen !== null && (chosen === reminder?.id || chosen === welcome?.id) && !v.leavesEarly;
    if (shown) {
      v.reminder = { shown: true, clicked: v.clickDraw < 0.35 };
      result.impressions++;
      await messageEvent(v, t + 20_000, "message_shown", chosen);
      await messageEvent(v, t + 24_000, v.reminder.clicked ? "message_clicked" : "message_dismissed", chosen);
    }
    const rate = v.reminder.clicked
      ? SHOPPER_RATES.clickedReminder
      : v.reminder.shown
        ? SHOPPER_RATES.shownReminder
        : SHOPPER_RATES.cartBase;
    if (v.draws.returnPropensity < rate)
      v.order = {
        at: Math.min(t + v.draws.afterReturnHours * 3600_000, end - 5 * MINUTE),
        code: v.welcome.code,
        viaCart: true,
      };
  });
  await flushExposures();

  // Pass 3: the orders, through Shopify's checkout (the code checked as Shopify checks it), its
  // orders/create webhook and the pixel's checkout events (which tie the order to the browser).
  const buyers = visitors.filter((v) => v.order).sort((a, b) => a.order!.at - b.order!.at);
  const orderLines: WebhookLine[] = [];
  for (const [i, v] of buyers.entries()) {
    const { at, viaCart } = v.order!;
    const p = v.product;
    const quantity = v.draws.quantity;
    const subtotal = p.price * quantity;
    const email = `shopper-${v.index}@example.com`;
    let code = v.order!.code;
    let discount = 0;
    if (code) {
      const check = options.redeem({ code, customerId: null, email, subtotal, at: new Date(at) });
      if (check.ok) discount = check.discountAmount;
      else {
        result.refused.push(`checkout refused code ${code}: ${check.reason}`);
        code = null;
      }
    }
    const seq = i + 1;
    result.orders++;
    const id = String(9_300_000_000 + seq);
    const checkoutToken = v.draws.checkoutToken;
    const when = new Date(at);
    const order: Store["orders"][number] = {
      id,
      name: `#S${1000 + seq}`,
      customerId: null,
      email,
      lines: [
        {
          id: `${id}0`,
          productId: p.id,
          variantId: p.variantId,
          title: p.title,
          sku: p.handle,
          vendor: p.vendor,
          quantity,
          price: p.price,
          totalDiscount: 0,
        },
      ],
      subtotal,
      totalDiscounts: discount,
      totalTax: 0,
      total: subtotal - discount,
      discountCodes: code ? [code] : [],
      financialStatus: "paid",
      fulfillmentStatus: null,
      cancelledAt: null,
      cancelReason: null,
      refunds: [],
      cartToken: viaCart && v.cart ? v.cart.token : null,
      checkoutToken,
      checkoutId: String(8_300_000_000 + seq),
      sourceName: "web",
      landingSite: "/",
      referringSite: null,
      shippingAddress: null,
      tags: [],
      createdAt: when,
      processedAt: when,
      updatedAt: when,
    };
    store.orders.push(order);
    orderLines.push({
      topic: "orders/create",
      shop: shopDomain,
      eventId: `demo-order-${id}`,
      triggeredAt: when.toISOString(),
      payload: orderPayload(order, null, store.shop.currency),
    });
  }
  await sideBySide(buyers, (v, i) =>
    pixel(v, v.order!.at, [
      { name: "checkout_started", at: iso(v.order!.at - 3 * MINUTE), checkoutToken: v.draws.checkoutToken },
      {
        name: "checkout_completed",
        at: iso(v.order!.at),
        checkoutToken: v.draws.checkoutToken,
        orderId: String(9_300_000_000 + i + 1),
      },
    ]),
  );
  await timed("webhooks", async () => {
    await options.deliver(orderLines);
    await options.settle();
  });
  result.timingMs = Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, Math.round(v)]));
  return result;
}

/**
 * `makeCodes` as the app's pool refill makes a batch (app/offers/pool.server.ts's makeBatch: a
 * first-purchase discount in Shopify with the offer's terms, its codes added in bulk, stored as the
 * offer's pool), on the replay's clock.
 */
export async function appCodeMaker(db: PrismaClient, api: AdminApi) {
  const { makeBatch } = await import("../app/offers/pool.server");
  const { generateCodes } = await import("../app/offers/discounts.server");
  const { fromColumns } = await import("../app/engine/message");
  const random = mulberry32(7);
  return async (input: { messageId: number; startsAt: Date; endsAt: Date; codes: number }) => {
    const row = await db.message.findUniqueOrThrow({ where: { id: input.messageId } });
    const offer = fromColumns(row);
    if (offer.reward.kind !== "firstPurchase") return 0;
    const { discount } = offer.reward;
    return makeBatch(db, api, {
      shopId: row.shopId,
      messageId: row.id,
      codes: generateCodes("WELCOME", input.codes, random),
      // Shopify's bulk code creation, checked every 100 ms (the stand-in's takes a few hundred).
      poll: { intervalMs: 100 },
      discount: {
        title: `Slice: ${offer.name} (${input.startsAt.toISOString().slice(0, 10)})`,
        kind: discount.type,
        value: discount.value,
        firstOrderOnly: true,
        startsAt: input.startsAt,
        endsAt: input.endsAt,
        minimumSubtotal: discount.minimumSubtotal || undefined,
      },
    });
  };
}
