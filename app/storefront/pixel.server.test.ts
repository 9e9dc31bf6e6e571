/**
 * The web pixel's endpoint, called as the pixel calls it (untrusted, no signature): each standard
 * event becomes its row (CONTRACTS C2) with sessions; a browser adds events only to its own client
 * id (the key); every refusal has its status and names the field, and stores nothing; without
 * analytics consent nothing is kept; a checkout_completed links the order only when the app's own
 * order agrees (now, or when the order arrives later), never another shop's order.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "../db.server";
import { hotFor } from "../db-hot.server";
import { applyOrder } from "../sync/apply.server";
import { orderFromWebhook } from "../sync/from-webhook";
import { action } from "../routes/pixel";
import {
  isUniqueViolation,
  MAX_PIXEL_BODY_BYTES,
  pixelFromNode,
  pixelPerClient,
  pixelPerShop,
  receivePixel,
} from "./pixel.server";
import { forgetStalePendingLinks } from "./checkout-link.server";

const SHOP = "pixel.myshopify.com";
const OTHER = "pixel-other.myshopify.com";
const now = new Date("2031-03-10T12:00:00.000Z");
let shopId = 0;
let otherShopId = 0;
let counter = 0;
let clientId = "";

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  otherShopId = (await prisma.shop.create({ data: { domain: OTHER } })).id;
  await prisma.shop.create({ data: { domain: "pixel-gone.myshopify.com", uninstalledAt: now } });
});
afterAll(() => prisma.$disconnect());
beforeEach(() => {
  clientId = `client-${String(++counter).padStart(4, "0")}-0a1b2c3d4e`;
  pixelPerClient.clear();
  pixelPerShop.clear();
});

const minutesAgo = (m: number, from = now) => new Date(from.getTime() - m * 60_000).toISOString();

function batch(overrides: Record<string, unknown> = {}) {
  return {
    shop: SHOP,
    clientId,
    consent: { analytics: true },
    sentAt: now.toISOString(),
    events: [{ name: "page_viewed", at: minutesAgo(2), path: "/products/linen-shirt" }],
    ...overrides,
  };
}

function post(payload: unknown, { body, at = now }: { body?: string; at?: Date } = {}) {
  const request = new Request("https://app.example/pixel", {
    method: "POST",
    body: body ?? JSON.stringify(payload),
    headers: { "content-type": "text/plain;charset=UTF-8" },
  });
  return receivePixel(request, prisma, at);
}

async function stored(id = clientId) {
  return prisma.storefrontEvent.findMany({
    where: { visitorId: id },
    orderBy: [{ occurredAt: "asc" }, { id: "asc" }],
    select: { type: true, resourceId: true },
  });
}

async function firstContact(): Promise<string> {
  const response = await post(batch());
  expect(response.status).toBe(200);
  const body = (await response.json()) as { key: string };
  expect(body.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return body.key;
}

describe("storing a pixel's events", () => {
  it("a first batch makes the visitor with a session, keeps the page view and gives the browser its key", async () => {
    const response = await post(batch());
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
    const body = (await response.json()) as { stored: number; key: string };
    expect(body.stored).toBe(2);
    expect(await stored()).toEqual([
      { type: "session_start", resourceId: null },
      { type: "page_view", resourceId: "/products/linen-shirt" },
    ]);
    const visitor = await prisma.visitor.findUniqueOrThrow({ where: { id: clientId } });
    expect(visitor.shopId).toBe(shopId);
    expect(visitor.sessions).toBe(1);
    expect(visitor.pixelKeyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(visitor.pixelKeyHash).not.toContain(body.key);
  });

  it("maps every standard event to its stored type and resource (CONTRACTS C2)", async () => {
    const key = await firstContact();
    const events = [
      { name: "product_viewed", at: minutesAgo(1.9), productId: "8001" },
      { name: "collection_viewed", at: minutesAgo(1.8), collectionId: "501" },
      { name: "search_submitted", at: minutesAgo(1.7), query: "  Linen\t SHIRT  Été " },
      { name: "product_added_to_cart", at: minutesAgo(1.6), productId: "8001" },
      { name: "product_removed_from_cart", at: minutesAgo(1.5), productId: "8002" },
      { name: "cart_viewed", at: minutesAgo(1.4) },
      { name: "checkout_started", at: minutesAgo(1.3), checkoutToken: "tok-1" },
      { name: "checkout_contact_info_submitted", at: minutesAgo(1.2), checkoutToken: "tok-1" },
      { name: "checkout_address_info_submitted", at: minutesAgo(1.1), checkoutToken: "tok-1" },
      { name: "checkout_shipping_info_submitted", at: minutesAgo(1.0), checkoutToken: "tok-1" },
      { name: "payment_info_submitted", at: minutesAgo(0.9), checkoutToken: "tok-1" },
      { name: "checkout_completed", at: minutesAgo(0.8), checkoutToken: "tok-1", orderId: "9001" },
    ];
    const response = await post(batch({ key, events, cartToken: "gid://shopify/Cart/c1-abc?key=xyz" }));
    expect(response.status).toBe(200);
    expect((await stored()).slice(2)).toEqual([
      { type: "product_view", resourceId: "8001" },
      { type: "collection_view", resourceId: "501" },
      { type: "search", resourceId: "linen shirt Été" },
      { type: "cart_add", resourceId: "8001" },
      { type: "cart_remove", resourceId: "8002" },
      { type: "cart_view", resourceId: null },
      { type: "checkout_started", resourceId: "tok-1" },
      { type: "checkout_contact", resourceId: "tok-1" },
      { type: "checkout_address", resourceId: "tok-1" },
      { type: "checkout_shipping", resourceId: "tok-1" },
      { type: "checkout_payment", resourceId: "tok-1" },
      { type: "checkout_completed", resourceId: "tok-1" },
    ]);
    const visitor = await prisma.visitor.findUniqueOrThrow({ where: { id: clientId } });
    expect(visitor.cartToken).toBe("c1-abc");
  });

  it("starts a new session only after 30 minutes without an event", async () => {
    const key = await firstContact();
    const later = new Date(now.getTime() + 20 * 60_000);
    await post(
      batch({
        key,
        sentAt: later.toISOString(),
        events: [{ name: "page_viewed", at: later.toISOString(), path: "/a" }],
      }),
      { at: later },
    );
    const muchLater = new Date(later.getTime() + 31 * 60_000);
    pixelPerClient.clear();
    await post(
      batch({
        key,
        sentAt: muchLater.toISOString(),
        events: [{ name: "page_viewed", at: muchLater.toISOString(), path: "/b" }],
      }),
      { at: muchLater },
    );
    expect((await stored()).map((e) => e.type)).toEqual([
      "session_start",
      "page_view",
      "page_view",
      "session_start",
      "page_view",
    ]);
    expect((await prisma.visitor.findUniqueOrThrow({ where: { id: clientId } })).sessions).toBe(2);
  });

  it("dates events by the app's clock when the browser's is hours off", async () => {
    const fast = new Date(now.getTime() + 5 * 3600_000);
    const response = await post(
      batch({
        sentAt: fast.toISOString(),
        events: [{ name: "page_viewed", at: minutesAgo(1, fast), path: "/" }],
      }),
    );
    expect(response.status).toBe(200);
    const event = await prisma.storefrontEvent.findFirstOrThrow({
      where: { visitorId: clientId, type: "page_view" },
    });
    expect(event.occurredAt.toISOString()).toBe(minutesAgo(1));
  });

  it("without analytics consent stores nothing about the shopper", async () => {
    const response = await post(batch({ consent: { analytics: false } }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ stored: 0 });
    expect(await prisma.visitor.findUnique({ where: { id: clientId } })).toBeNull();
    expect(await stored()).toEqual([]);
  });
});

describe("a browser adds only to its own client id", () => {
  it("a batch with the key is stored; without it or with another it is 403 naming clientId and nothing is stored", async () => {
    const key = await firstContact();
    const more = { events: [{ name: "product_viewed", at: minutesAgo(1), productId: "8001" }] };
    expect((await post(batch({ key, ...more }))).status).toBe(200);
    for (const wrong of [{}, { key: "A".repeat(43) }]) {
      const response = await post(batch({ ...wrong, ...more }));
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: string }).error).toMatch(/^clientId: /);
    }
    expect((await stored()).map((e) => e.type)).toEqual(["session_start", "page_view", "product_view"]);
  });

  it("a visitor the theme script made (no key yet) is claimed by the pixel's first batch", async () => {
    await prisma.visitor.create({
      data: {
        id: clientId,
        shopId,
        firstSeenAt: new Date(minutesAgo(60)),
        lastSeenAt: new Date(minutesAgo(10)),
      },
    });
    const response = await post(batch());
    expect(response.status).toBe(200);
    const { key } = (await response.json()) as { key: string };
    expect(key).toBeTruthy();
    // Within 30 minutes of its last event: the same session.
    expect((await stored()).map((e) => e.type)).toEqual(["page_view"]);
    expect((await post(batch())).status).toBe(403);
  });

  it("batches arriving together share a transaction: a refused one stores nothing, the others are stored", async () => {
    const key = await firstContact();
    const owner = clientId;
    const others = Array.from({ length: 12 }, (_, i) => `${owner}-g${i}`);
    const answers = await Promise.all([
      post(batch({ clientId: owner })), // no key: refused
      ...others.map((id) => post(batch({ clientId: id }))),
      post(batch({ clientId: owner, key, events: [{ name: "cart_viewed", at: minutesAgo(1) }] })),
    ]);
    expect(answers.map((a) => a.status)).toEqual([403, ...others.map(() => 200), 200]);
    for (const id of others)
      expect((await stored(id)).map((e) => e.type)).toEqual(["session_start", "page_view"]);
    expect((await stored(owner)).map((e) => e.type)).toEqual(["session_start", "page_view", "cart_view"]);
  });

  it("a group's batches of one known visitor update it once: sessions, first and last seen, its cart, and what the theme script recorded kept", async () => {
    await prisma.visitor.create({
      data: {
        id: clientId,
        shopId,
        firstSeenAt: new Date(minutesAgo(180)),
        lastSeenAt: new Date(minutesAgo(120)),
        sessions: 1,
        landingPage: "/landing",
        utmSource: "mail",
      },
    });
    const key = await firstContact(); // claims it: a new session (two hours since its last event)
    const answers = await Promise.all([
      post(
        batch({
          key,
          cartToken: "gid://shopify/Cart/c9-abc?key=k1",
          events: [{ name: "page_viewed", at: minutesAgo(1.5), path: "/cart" }],
        }),
      ),
      post(batch({ key, events: [{ name: "product_viewed", at: minutesAgo(1.2), productId: "8002" }] })),
      post(batch({ key, events: [{ name: "cart_viewed", at: minutesAgo(1) }] })),
      post(batch({ clientId: `${clientId}-new`, events: [{ name: "cart_viewed", at: minutesAgo(1) }] })),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    const visitor = await prisma.visitor.findUniqueOrThrow({ where: { id: clientId } });
    expect(visitor).toMatchObject({
      sessions: 2,
      firstSeenAt: new Date(minutesAgo(180)),
      lastSeenAt: new Date(minutesAgo(1)),
      cartToken: "c9-abc",
      landingPage: "/landing",
      utmSource: "mail",
    });
    expect((await stored()).map((e) => e.type)).toEqual([
      "session_start",
      "page_view",
      "page_view",
      "product_view",
      "cart_view",
    ]);
    expect(await prisma.visitor.findUniqueOrThrow({ where: { id: `${clientId}-new` } })).toMatchObject({
      sessions: 0,
      firstSeenAt: new Date(minutesAgo(1)),
      lastSeenAt: new Date(minutesAgo(1)),
    });
  });

  it("a known visitor's customer and cart are kept by a batch that carries neither, and its last event time never goes back", async () => {
    const key = await firstContact();
    await prisma.visitor.update({
      where: { id: clientId },
      data: { customerShopifyId: "7001", cartToken: "c1-kept" },
    });
    const response = await post(
      batch({ key, events: [{ name: "product_viewed", at: minutesAgo(30), productId: "8003" }] }),
    );
    expect(response.status).toBe(200);
    expect(await prisma.visitor.findUniqueOrThrow({ where: { id: clientId } })).toMatchObject({
      customerShopifyId: "7001",
      cartToken: "c1-kept",
      lastSeenAt: new Date(minutesAgo(2)),
      sessions: 1,
    });
  });

  it("a first batch whose client id another process created meanwhile is recognised (its group is run again)", async () => {
    await prisma.visitor.create({ data: { id: clientId, shopId, firstSeenAt: now, lastSeenAt: now } });
    const sqlite = dialectOfClient(prisma) === "sqlite";
    const insert = (columns: string[], values: unknown[]) =>
      prisma.$executeRawUnsafe(
        `INSERT INTO "Visitor" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns
          .map((_, i) => (sqlite ? "?" : `$${i + 1}`))
          .join(", ")})`,
        ...values,
      );
    const t = sqlite ? now.getTime() : now;
    const failure = (write: Promise<unknown>) =>
      write.then(
        () => null,
        (e: unknown) => e,
      );
    // The same client id again: raw SQL (the pixel's writes) and Prisma's own query.
    expect(
      isUniqueViolation(
        await failure(insert(["id", "shopId", "firstSeenAt", "lastSeenAt"], [clientId, shopId, t, t])),
      ),
    ).toBe(true);
    expect(
      isUniqueViolation(
        await failure(
          prisma.visitor.create({ data: { id: clientId, shopId, firstSeenAt: now, lastSeenAt: now } }),
        ),
      ),
    ).toBe(true);
    // Any other failure is not run again.
    expect(isUniqueViolation(await failure(insert(["id", "shopId"], [`${clientId}-x`, shopId])))).toBe(false);
  });

  it("a unique violation is recognised from the hot layer's driver too (the pixel's writes run there)", async () => {
    await prisma.visitor.create({ data: { id: clientId, shopId, firstSeenAt: now, lastSeenAt: now } });
    const hot = hotFor(prisma, "intake");
    const failure = (sql: string, params: unknown[]) =>
      hot.run(sql, params).then(
        () => null,
        (e: unknown) => e,
      );
    const again = await failure(
      `INSERT INTO "Visitor" ("id", "shopId", "firstSeenAt", "lastSeenAt") VALUES (?, ?, ?, ?)`,
      [clientId, shopId, now, now],
    );
    expect(again).not.toBeNull();
    expect(isUniqueViolation(again)).toBe(true);
    // A missing NOT NULL value is another failure: not run again.
    const other = await failure(`INSERT INTO "Visitor" ("id", "shopId") VALUES (?, ?)`, [
      `${clientId}-x`,
      shopId,
    ]);
    expect(other).not.toBeNull();
    expect(isUniqueViolation(other)).toBe(false);
  });

  it("another shop's client id is refused (409) and not written", async () => {
    await prisma.visitor.create({
      data: { id: clientId, shopId: otherShopId, firstSeenAt: now, lastSeenAt: now },
    });
    const response = await post(batch());
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: string }).error).toMatch(/^clientId: /);
    expect(await stored()).toEqual([]);
  });
});

describe("refusals: status, the field named, nothing stored", () => {
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ["an oversized body", () => post(null, { body: "x".repeat(MAX_PIXEL_BODY_BYTES + 1) }), 413, /^body: /],
    ["not JSON", () => post(null, { body: "{nope" }), 400, /^body: must be JSON/],
    [
      "an unknown event",
      () => post(batch({ events: [{ name: "clicked", at: minutesAgo(1) }] })),
      400,
      /^events\.0\.name: must be one of/,
    ],
    [
      "a product view without its product",
      () => post(batch({ events: [{ name: "product_viewed", at: minutesAgo(1) }] })),
      400,
      /^events\.0\.productId: is required/,
    ],
    [
      "a checkout step without its token",
      () => post(batch({ events: [{ name: "checkout_started", at: minutesAgo(1) }] })),
      400,
      /^events\.0\.checkoutToken: is required/,
    ],
    [
      "a gid where a numeric id goes",
      () =>
        post(
          batch({
            events: [{ name: "product_viewed", at: minutesAgo(1), productId: "gid://shopify/Product/1" }],
          }),
        ),
      400,
      /^events\.0\.productId: must be a numeric/,
    ],
    ["an unknown field", () => post(batch({ email: "a@b.c" })), 400, /^body: Unrecognized key/],
    ["a bad client id", () => post(batch({ clientId: "x" })), 400, /^clientId: /],
    ["no shop", () => post(batch({ shop: "https://evil.example" })), 400, /^shop: /],
    [
      "an event in the future",
      () => post(batch({ events: [{ name: "page_viewed", at: minutesAgo(-60), path: "/" }] })),
      400,
      /^events\.0\.at: is in the future/,
    ],
    [
      "too many events",
      () =>
        post(
          batch({ events: Array.from({ length: 51 }, () => ({ name: "cart_viewed", at: minutesAgo(1) })) }),
        ),
      400,
      /^events: must hold at most 50/,
    ],
    ["an unknown shop", () => post(batch({ shop: "nobody.myshopify.com" })), 404, /^shop: not installed/],
    [
      "an uninstalled shop",
      () => post(batch({ shop: "pixel-gone.myshopify.com" })),
      404,
      /^shop: not installed/,
    ],
  ];
  for (const [what, send, status, message] of cases)
    it(`${what}: ${status}`, async () => {
      const response = await send();
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: string }).error).toMatch(message);
      expect(await prisma.visitor.findUnique({ where: { id: clientId } })).toBeNull();
    });

  it("one bad event refuses the whole batch", async () => {
    const events = [
      { name: "page_viewed", at: minutesAgo(2), path: "/" },
      { name: "product_viewed", at: minutesAgo(1), productId: "x" },
    ];
    expect((await post(batch({ events }))).status).toBe(400);
    expect(await stored()).toEqual([]);
  });

  it("a client id sending too often gets 429 with Retry-After", async () => {
    const key = await firstContact();
    let response: Response | null = null;
    for (let i = 0; i < 25; i++) {
      response = await post(batch({ key }));
      if (response.status === 429) break;
    }
    expect(response?.status).toBe(429);
    expect(Number(response?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await response!.json()) as { error: string }).error).toMatch(/^clientId: too many/);
  });

  it("OPTIONS is answered for CORS with no credentials; GET is 405", async () => {
    const preflight = await receivePixel(
      new Request("https://app.example/pixel", { method: "OPTIONS" }),
      prisma,
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    const get = await receivePixel(new Request("https://app.example/pixel"), prisma);
    expect(get.status).toBe(405);
  });

  it("the production server's fast path answers as the endpoint does: JSON with CORS, 204, 405 and 413", async () => {
    const stored = await pixelFromNode("POST", JSON.stringify(batch()), prisma);
    expect(stored.status).toBe(200);
    expect(stored.headers).toMatchObject({
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      "Access-Control-Allow-Origin": "*",
    });
    expect(JSON.parse(stored.body)).toMatchObject({ ok: true, stored: 2, key: expect.any(String) });
    const refused = await pixelFromNode("POST", JSON.stringify(batch({ clientId: "x" })), prisma);
    expect([refused.status, JSON.parse(refused.body).error]).toEqual([
      400,
      expect.stringMatching(/^clientId: /),
    ]);
    expect(await pixelFromNode("OPTIONS", "", prisma)).toMatchObject({ status: 204, body: "" });
    expect(await pixelFromNode("GET", "", prisma)).toMatchObject({
      status: 405,
      headers: { Allow: "POST, OPTIONS" },
    });
    const tooLarge = await pixelFromNode("POST", null, prisma);
    expect([tooLarge.status, JSON.parse(tooLarge.body).error]).toEqual([
      413,
      expect.stringMatching(/^body: /),
    ]);
  });

  it("the route hands the request to the endpoint", async () => {
    const request = new Request("https://app.example/pixel", {
      method: "POST",
      body: JSON.stringify(batch()),
    });
    const response = await action({ request, params: {}, context: {} });
    expect(response.status).toBe(200);
  });
});

function orderPayload(id: string, checkoutToken: string, customerId: string | null) {
  const at = minutesAgo(1);
  return {
    id: Number(id),
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    name: `#${id}`,
    currency: "USD",
    total_price: "50.00",
    subtotal_price: "50.00",
    total_discounts: "0.00",
    total_tax: "0.00",
    financial_status: "paid",
    checkout_token: checkoutToken,
    created_at: at,
    processed_at: at,
    updated_at: at,
    customer: customerId
      ? {
          id: Number(customerId),
          admin_graphql_api_id: `gid://shopify/Customer/${customerId}`,
          email: null,
          updated_at: at,
        }
      : null,
    line_items: [],
  };
}

async function storeOrder(shop: number, id: string, checkoutToken: string, customerId: string | null = null) {
  await prisma.$transaction((tx) =>
    applyOrder(tx, shop, orderFromWebhook(orderPayload(id, checkoutToken, customerId))),
  );
  return prisma.order.findUniqueOrThrow({ where: { shopId_shopifyId: { shopId: shop, shopifyId: id } } });
}

const completed = (token: string, orderId?: string) => ({
  events: [
    {
      name: "checkout_completed",
      at: minutesAgo(0.5),
      checkoutToken: token,
      ...(orderId ? { orderId } : {}),
    },
  ],
});

describe("checkout_completed and the order (CONTRACTS C5)", () => {
  it("links the order the app holds with that checkout token, and the visitor to its customer", async () => {
    const token = `tok-${clientId}`;
    await storeOrder(shopId, `${70000 + counter}`, token, "4401");
    const response = await post(batch(completed(token, `${70000 + counter}`)));
    expect(await response.json()).toMatchObject({ linked: 1 });
    const order = await prisma.order.findFirstOrThrow({ where: { shopId, checkoutToken: token } });
    expect(order.visitorId).toBe(clientId);
    expect((await prisma.visitor.findUniqueOrThrow({ where: { id: clientId } })).customerShopifyId).toBe(
      "4401",
    );
  });

  it("does not link when the order id disagrees with the token's order", async () => {
    const token = `tok-${clientId}`;
    await storeOrder(shopId, `${71000 + counter}`, token);
    await post(batch(completed(token, "123")));
    expect(
      (await prisma.order.findFirstOrThrow({ where: { shopId, checkoutToken: token } })).visitorId,
    ).toBeNull();
  });

  it("an order that arrives later (orders/create, backfill) is linked then", async () => {
    const token = `tok-${clientId}`;
    const orderId = `${72000 + counter}`;
    expect(await (await post(batch(completed(token, orderId)))).json()).toMatchObject({ linked: 0 });
    expect(await prisma.pendingCheckoutLink.count({ where: { shopId, checkoutToken: token } })).toBe(1);
    const order = await storeOrder(shopId, orderId, token, "4402");
    expect(order.visitorId).toBe(clientId);
    expect((await prisma.visitor.findUniqueOrThrow({ where: { id: clientId } })).customerShopifyId).toBe(
      "4402",
    );
    expect(await prisma.pendingCheckoutLink.count({ where: { shopId, checkoutToken: token } })).toBe(0);
  });

  it("a later order with the token but another id is not linked", async () => {
    const token = `tok-${clientId}`;
    await post(batch(completed(token, "555")));
    const order = await storeOrder(shopId, `${73000 + counter}`, token);
    expect(order.visitorId).toBeNull();
  });

  it("another shop's order with the same checkout token is never linked, now or later", async () => {
    const token = `tok-${clientId}`;
    await storeOrder(otherShopId, `${74000 + counter}`, token);
    await post(batch(completed(token)));
    expect(
      (await prisma.order.findFirstOrThrow({ where: { shopId: otherShopId, checkoutToken: token } }))
        .visitorId,
    ).toBeNull();
    const later = await storeOrder(otherShopId, `${74500 + counter}`, token);
    expect(later.visitorId).toBeNull();
  });

  it("an order already linked to another browser keeps it", async () => {
    const token = `tok-${clientId}`;
    const first = clientId;
    await storeOrder(shopId, `${75000 + counter}`, token);
    await post(batch(completed(token)));
    clientId = `${first}-2`;
    await post(batch(completed(token)));
    expect((await prisma.order.findFirstOrThrow({ where: { shopId, checkoutToken: token } })).visitorId).toBe(
      first,
    );
  });

  it("pending links whose order never came are forgotten after 30 days", async () => {
    const token = `tok-${clientId}`;
    await post(batch(completed(token)));
    expect(await forgetStalePendingLinks(prisma, new Date(now.getTime() + 29 * 86_400_000))).toBe(0);
    expect(await forgetStalePendingLinks(prisma, new Date(now.getTime() + 31 * 86_400_000))).toBeGreaterThan(
      0,
    );
    expect(await prisma.pendingCheckoutLink.count({ where: { shopId, checkoutToken: token } })).toBe(0);
  });
});
