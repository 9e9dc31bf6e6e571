/**
 * The decision endpoint as the storefront calls it (GET /apps/slice/decide, signed by the local app
 * proxy as Shopify signs it): each kind of visitor gets the message meant for them, from the facts
 * the app holds; what they did with messages before (dismissed, clicked, shown) is respected; a
 * paused message is not shown; unsigned or malformed requests are refused with the reason.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { signAppProxyQuery } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { ensurePresets } from "../segments/store.server";
import {
  createMessage,
  ensureStarterMessages,
  listMessages,
  setMessageActive,
} from "../messages/store.server";
import { decideForUrl, explainDecision, flushExposures, forgetShopMessages } from "./decide.server";
import { applyShopifyTotals } from "../sync/apply.server";
import { storeBatch } from "./events.server";
import { loader } from "../routes/proxy.decide";

const SHOP = "decide.myshopify.com";
const now = new Date("2031-05-01T12:00:00.000Z");
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);
let shopId = 0;
let counter = 0;
let visitorId = "";
const ids: Record<string, number> = {};

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  // Buyers so the top-10% spend line is meaningful: 20 customers who spent 10..200, two orders each.
  for (let i = 1; i <= 20; i++) await customerWithOrders(String(9000 + i), [i * 500, i * 500]);
  await ensurePresets(prisma, shopId);
  await ensureStarterMessages(prisma, shopId, true);
  // No holdout and no code pool unless a test asks for them: each test's visitor must see its message.
  await prisma.message.updateMany({ where: { shopId }, data: { holdoutPercent: 0, reward: "none" } });
  for (const m of await listMessages(prisma, shopId)) ids[m.input.segment] = m.id;
});
afterAll(() => prisma.$disconnect());
beforeEach(() => {
  visitorId = `decide-visitor-${String(++counter).padStart(4, "0")}`;
});

async function customerWithOrders(id: string, totals: number[]) {
  await prisma.customer.create({
    data: {
      shopId,
      shopifyId: id,
      shopifyUpdatedAt: daysAgo(400),
      shopifyCreatedAt: daysAgo(400),
      ordersCount: totals.length,
      totalSpent: totals.reduce((a, b) => a + b, 0),
    },
  });
  for (const [i, total] of totals.entries())
    await prisma.order.create({
      data: {
        shopId,
        shopifyId: `${id}-${i}`,
        customerShopifyId: id,
        currency: "USD",
        totalPrice: total,
        processedAt: daysAgo(100 + i * 30),
        shopifyCreatedAt: daysAgo(100 + i * 30),
        shopifyUpdatedAt: daysAgo(100 + i * 30),
      },
    });
}

interface Ask {
  page?: string;
  path?: string;
  shown?: string;
  customerId?: string;
  at?: Date;
  visitor?: string;
  /** The script's reading of analytics consent; "1" (given) unless a test says otherwise. */
  consent?: string;
}

/** The query Shopify's proxy forwards: the script's parameters plus shop, customer, prefix, timestamp and signature. */
function url({
  page = "index",
  path = "/",
  shown,
  customerId,
  visitor = visitorId,
  at = now,
  consent = "1",
}: Ask = {}) {
  const query = new URLSearchParams({ visitor, page, path, consent });
  if (shown !== undefined) query.set("shown", shown);
  query.set("shop", SHOP);
  query.set("logged_in_customer_id", customerId ?? "");
  query.set("path_prefix", "/apps/slice");
  query.set("timestamp", String(Math.floor(at.getTime() / 1000)));
  query.set("signature", signAppProxyQuery(query, TEST_SECRET));
  return new URL(`http://127.0.0.1:3999/proxy/decide?${query}`);
}

async function ask(options: Ask = {}) {
  const answer = await decideForUrl(url({ ...options, at: options.at ?? now }), prisma, options.at ?? now);
  expect(answer.status).toBe(200);
  return (answer.body as { message: { id: number; headline: string } | null }).message;
}

const identity = (customerId: string | null = null) => ({
  shop: SHOP,
  customerId,
  pathPrefix: "/apps/slice",
  timestamp: 0,
});

async function events(
  list: { type: string; at: Date; resourceId?: string }[],
  options: { analytics?: boolean; cartToken?: string; customerId?: string } = {},
) {
  await storeBatch(
    prisma,
    shopId,
    identity(options.customerId ?? null),
    {
      visitorId,
      consent: { analytics: options.analytics ?? true },
      context: {},
      cartToken: options.cartToken,
      events: list.map((e) => ({
        type: e.type as "page_view",
        at: e.at.toISOString(),
        resourceId: e.resourceId,
      })),
    },
    now,
  );
}

describe("the decision endpoint", () => {
  it("shows a first-time visitor the first-purchase welcome, before anything of theirs is stored", async () => {
    expect(await prisma.visitor.count({ where: { id: visitorId } })).toBe(0);
    expect((await ask())?.id).toBe(ids["first-time-visitors"]);
    // And once their first session is stored.
    await events([
      { type: "session_start", at: now },
      { type: "page_view", at: now, resourceId: "/" },
    ]);
    expect((await ask())?.id).toBe(ids["first-time-visitors"]);
  });

  it("shows a returning visitor with items in their cart the cart reminder, and a second visit alone gets nothing", async () => {
    await events([
      { type: "session_start", at: daysAgo(3) },
      { type: "session_start", at: now },
    ]);
    expect(await ask()).toBeNull();
    const cart = await prisma.cart.create({
      data: { shopId, token: `cart-${visitorId}`, shopifyUpdatedAt: now, itemCount: 2, totalPrice: 5000 },
    });
    await prisma.cartLine.create({
      data: { cartId: cart.id, title: "Shirt", quantity: 2, price: 2500, productId: "77" },
    });
    await events([{ type: "cart_update", at: now }], { cartToken: `cart-${visitorId}?key=abc` });
    const message = await ask();
    expect(message?.id).toBe(ids["cart-abandoners"]);
    expect(message).toMatchObject({
      format: "popup",
      trigger: { on: "exit" },
      headline: "Your cart is waiting",
    });
  });

  it("shows a logged-in high-spend repeat customer the referral invite, recognised only through the signature", async () => {
    const message = await ask({ customerId: "9020" });
    expect(message?.id).toBe(ids["high-spend-repeat"]);
    expect(message).toMatchObject({
      format: "corner",
      headline: "Thanks for being one of our best customers",
    });
    // A modest repeat customer is not in the top 10%: and not a first-time visitor either (they bought).
    expect(await ask({ customerId: "9002" })).toBeNull();
  });

  it("never shows a message again after the visitor dismissed it", async () => {
    const id = ids["first-time-visitors"];
    expect((await ask())?.id).toBe(id);
    await events([{ type: "message_dismissed", at: now, resourceId: String(id) }]);
    expect(await ask()).toBeNull();
    expect(await ask({ at: new Date(now.getTime() + 60 * 86_400_000) })).toBeNull();
  });

  it("never shows a message again after the visitor clicked it", async () => {
    const id = ids["first-time-visitors"];
    await events([{ type: "message_clicked", at: now, resourceId: String(id) }]);
    expect(await ask()).toBeNull();
  });

  it("keeps to the caps: once per browser session, and not again within the message's days", async () => {
    const id = ids["first-time-visitors"];
    expect(await ask({ shown: String(id) })).toBeNull();
    await events([{ type: "message_shown", at: now, resourceId: String(id) }]);
    // The starter welcome waits 7 days between showings.
    expect(await ask({ shown: "" })).toBeNull();
  });

  it("keeps a logged-in customer's dismissal on one browser for their others", async () => {
    const id = ids["high-spend-repeat"];
    await events([{ type: "message_dismissed", at: now, resourceId: String(id) }], { customerId: "9020" });
    visitorId = `decide-visitor-${String(++counter).padStart(4, "0")}`;
    expect(await ask({ customerId: "9020" })).toBeNull();
    expect((await ask({ customerId: "9019" }))?.id).toBe(id);
  });

  it("targets pages: a message for the cart page is not shown on a product page", async () => {
    const id = await createMessage(prisma, shopId, {
      name: "Cart page note",
      segment: "first-time-visitors",
      format: "bar",
      trigger: { on: "load" },
      priority: 50,
      pages: { types: ["cart"], pathContains: [] },
      content: { headline: "Free shipping over $50", body: "", button: null },
      active: true,
    });
    expect((await ask({ page: "cart", path: "/cart" }))?.id).toBe(id);
    expect((await ask({ page: "product", path: "/products/shirt" }))?.id).toBe(ids["first-time-visitors"]);
    await setMessageActive(prisma, shopId, id, false);
  });

  it("shows a guest who left checkout at payment, as the Web Pixel stored it, the payment reminder", async () => {
    const id = await createMessage(prisma, shopId, {
      name: "Still deciding?",
      segment: "reached-payment-no-order",
      format: "corner",
      trigger: { on: "load" },
      priority: 60,
      pages: { types: [], pathContains: [] },
      content: { headline: "Your checkout is saved", body: "", button: null },
      active: true,
    });
    const checkout = async (visitor: string, steps: string[]) => {
      await prisma.visitor.create({
        data: { id: visitor, shopId, firstSeenAt: daysAgo(1), lastSeenAt: daysAgo(1), sessions: 1 },
      });
      await prisma.storefrontEvent.createMany({
        data: steps.map((step, i) => ({
          shopId,
          visitorId: visitor,
          type: `checkout_${step}`,
          resourceId: `token-${visitor}`,
          occurredAt: new Date(daysAgo(1).getTime() + i * 60_000),
        })),
      });
    };
    await checkout(visitorId, ["started", "contact", "shipping", "payment"]);
    expect((await ask())?.id).toBe(id);
    // The same steps, then the order: completed, so no reminder.
    await checkout(`${visitorId}-bought`, ["started", "payment", "completed"]);
    expect((await ask({ visitor: `${visitorId}-bought` }))?.id).not.toBe(id);
    await setMessageActive(prisma, shopId, id, false);
  });

  it("shows no payment reminder once the order of that checkout arrived by webhook, though the pixel missed checkout_completed; the explanation agrees", async () => {
    const id = await createMessage(prisma, shopId, {
      name: "Still deciding? (webhook order)",
      segment: "reached-payment-no-order",
      format: "corner",
      trigger: { on: "load" },
      priority: 60,
      pages: { types: [], pathContains: [] },
      content: { headline: "Your checkout is saved", body: "", button: null },
      active: true,
    });
    // Everyone treated: the question is who is in its audience, not the holdout's draw.
    await prisma.message.update({ where: { id }, data: { holdoutPercent: 0 } });
    forgetShopMessages();
    const token = `token-${visitorId}`;
    await prisma.visitor.create({
      data: { id: visitorId, shopId, firstSeenAt: daysAgo(1), lastSeenAt: daysAgo(1), sessions: 1 },
    });
    // The pixel saw the checkout up to payment; its checkout_completed never came (tab closed).
    await prisma.storefrontEvent.createMany({
      data: ["started", "contact", "payment"].map((step, i) => ({
        shopId,
        visitorId,
        type: `checkout_${step}`,
        resourceId: token,
        occurredAt: new Date(daysAgo(1).getTime() + i * 60_000),
      })),
    });
    const order = (shop: number, shopifyId: string) =>
      prisma.order.create({
        data: {
          shopId: shop,
          shopifyId,
          customerShopifyId: null,
          checkoutToken: token,
          currency: "USD",
          totalPrice: 4200,
          processedAt: daysAgo(1),
          shopifyCreatedAt: daysAgo(1),
          shopifyUpdatedAt: daysAgo(1),
        },
      });
    const explained = async () =>
      (await explainDecision(prisma, SHOP, { visitorId, page: { type: "index", path: "/" }, now }))?.chosen
        ?.id;
    // Another shop's order with the same token is not this shop's: still a reminder.
    const other = await prisma.shop.create({ data: { domain: "decide-other.myshopify.com" } });
    await order(other.id, `${visitorId}-elsewhere`);
    expect((await ask())?.id).toBe(id);
    expect(await explained()).toBe(id);
    // The guest's order arrives by webhook (orders/create), with the checkout's token.
    await order(shopId, `${visitorId}-order`);
    expect((await ask())?.id).not.toBe(id);
    expect(await explained()).not.toBe(id);
    await setMessageActive(prisma, shopId, id, false);
  });

  it("stops showing a paused message at once (the kill switch)", async () => {
    const id = ids["first-time-visitors"];
    await setMessageActive(prisma, shopId, id, false);
    expect(await ask()).toBeNull();
    await setMessageActive(prisma, shopId, id, true);
    expect((await ask())?.id).toBe(id);
  });

  it("reads a shop's messages once for all the decisions waiting on them, and again before they expire while decisions go on", async () => {
    const id = ids["first-time-visitors"];
    let reads = 0;
    // The client the decisions get, counting the reads of the shop's messages (two findMany a read).
    const counting = new Proxy(prisma, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (key !== "message") return value;
        return new Proxy(value as typeof prisma.message, {
          get(model, method) {
            const fn = Reflect.get(model, method);
            if (method !== "findMany") return fn;
            return (...args: Parameters<typeof prisma.message.findMany>) => {
              reads++;
              return model.findMany(...args);
            };
          },
        });
      },
    });
    const decideAt = async (at: Date, visitor = visitorId) => {
      const answer = await decideForUrl(url({ at, visitor }), counting, at);
      return (answer.body as { message: { id: number } | null }).message?.id ?? null;
    };
    forgetShopMessages();
    // Twenty decisions at once with nothing cached: one read between them (before: twenty).
    const first = await Promise.all(
      Array.from({ length: 20 }, (_, i) => decideAt(now, `${visitorId}-${String(i).padStart(3, "0")}`)),
    );
    expect(first).toEqual(Array(20).fill(id));
    expect(reads).toBe(2);
    // Paused without the admin's forget (another instance saved it): 4.5 s on, the cached messages
    // still answer, and a read has begun in the background.
    await prisma.message.update({ where: { id }, data: { active: false } });
    expect(await decideAt(new Date(now.getTime() + 4_500))).toBe(id);
    // Once it lands, the decisions read the paused state, within the 5 s and with no wait.
    let paused: number | null = id;
    for (let i = 0; i < 100 && paused !== null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      paused = await decideAt(new Date(now.getTime() + 4_600));
    }
    expect(paused).toBeNull();
    // One read in the background, whatever the number of decisions meanwhile.
    expect(reads).toBe(4);
    await prisma.message.update({ where: { id }, data: { active: true } });
    forgetShopMessages();
  });

  it("holds out a share of eligible visitors: they see nothing, sticky, each recorded once with their arm", async () => {
    const id = ids["first-time-visitors"];
    await prisma.message.update({ where: { id }, data: { holdoutPercent: 50 } });
    forgetShopMessages();
    const visitors = Array.from({ length: 60 }, (_, i) => `holdout-visitor-${String(i).padStart(4, "0")}`);
    const first = await Promise.all(visitors.map((visitor) => ask({ visitor })));
    const again = await Promise.all(visitors.map((visitor) => ask({ visitor })));
    expect(again.map((m) => m?.id ?? null)).toEqual(first.map((m) => m?.id ?? null));
    const heldOut = first.filter((m) => m === null).length;
    expect(heldOut).toBeGreaterThan(15);
    expect(heldOut).toBeLessThan(45);
    await flushExposures(); // written just after the answers
    const exposures = await prisma.offerExposure.findMany({
      where: { messageId: id, unit: { in: visitors.map((v) => `v:${v}`) } },
    });
    expect(exposures).toHaveLength(60);
    for (const [i, visitor] of visitors.entries())
      expect(exposures.find((e) => e.unit === `v:${visitor}`)?.arm).toBe(first[i] ? "treatment" : "holdout");
    // A signed-in customer is the unit, whichever browser they use.
    const asCustomer = await ask({ customerId: "9001", visitor: "holdout-phone-000001" });
    const elsewhere = await ask({ customerId: "9001", visitor: "holdout-laptop-00001" });
    expect(asCustomer?.id ?? null).toBe(elsewhere?.id ?? null);
    await prisma.message.update({ where: { id }, data: { holdoutPercent: 0 } });
    forgetShopMessages();
  });

  it("does not offer a first-purchase discount when no codes are left in its pool", async () => {
    const id = ids["first-time-visitors"];
    await prisma.message.update({
      where: { id },
      data: { reward: "firstPurchase", discountKind: "percentage", discountValue: 10 },
    });
    forgetShopMessages();
    expect(await ask()).toBeNull();
    await prisma.discountCode.create({
      data: {
        shopId,
        messageId: id,
        code: "WELCOME-TEST-0001",
        shopifyDiscountId: "gid://shopify/DiscountCodeNode/1",
        status: "pool",
        // The offer's codes are valid 7 days: a pooled code needs more than that left to be given.
        expiresAt: new Date(now.getTime() + 8 * 86_400_000),
      },
    });
    forgetShopMessages();
    expect(await ask()).toMatchObject({ id, reward: "firstPurchase" });
    await prisma.message.update({ where: { id }, data: { reward: "none" } });
    forgetShopMessages();
  });

  it("never offers a first-purchase discount to a customer whose only orders are older than the app holds", async () => {
    const id = ids["first-time-visitors"];
    await prisma.message.update({
      where: { id },
      data: { reward: "firstPurchase", discountKind: "percentage", discountValue: 10 },
    });
    // Shopify counts one order (older than the 60 days an app without read_all_orders sees); the app holds none.
    await prisma.customer.create({
      data: { shopId, shopifyId: "9600", shopifyUpdatedAt: daysAgo(90), shopifyCreatedAt: daysAgo(400) },
    });
    await prisma.$transaction((tx) =>
      applyShopifyTotals(tx, shopId, "9600", { orders: 1, spent: 4200, at: daysAgo(90) }),
    );
    // And one who truly never ordered, for contrast.
    await prisma.customer.create({
      data: { shopId, shopifyId: "9601", shopifyUpdatedAt: daysAgo(90), shopifyCreatedAt: daysAgo(90) },
    });
    await prisma.$transaction((tx) =>
      applyShopifyTotals(tx, shopId, "9601", { orders: 0, spent: 0, at: daysAgo(90) }),
    );
    forgetShopMessages();
    expect(await ask({ customerId: "9601", visitor: "lifetime-new-buyer-01" })).toMatchObject({
      id,
      reward: "firstPurchase",
    });
    expect(await ask({ customerId: "9600", visitor: "lifetime-old-buyer-01" })).toBeNull();
    // Even where the segment lets a buyer in (a first-purchase offer on high spenders), it is not made.
    const vip = ids["high-spend-repeat"];
    await prisma.customer.create({
      data: { shopId, shopifyId: "9602", shopifyUpdatedAt: daysAgo(90), shopifyCreatedAt: daysAgo(900) },
    });
    await prisma.$transaction((tx) =>
      applyShopifyTotals(tx, shopId, "9602", { orders: 2, spent: 1_000_000, at: daysAgo(90) }),
    );
    const explain = () =>
      explainDecision(prisma, SHOP, {
        customerId: "9602",
        visitorId: "lifetime-old-buyer-02",
        page: { type: "index", path: "/" },
        now,
      });
    expect((await explain())?.chosen?.id).toBe(vip);
    await prisma.message.update({
      where: { id: vip },
      data: { reward: "firstPurchase", discountKind: "percentage", discountValue: 10 },
    });
    await prisma.discountCode.create({
      data: {
        shopId,
        messageId: vip,
        code: "WELCOME-TEST-VIP1",
        shopifyDiscountId: "gid://shopify/DiscountCodeNode/2",
        status: "pool",
        expiresAt: new Date(now.getTime() + 400 * 86_400_000),
      },
    });
    forgetShopMessages();
    const explained = await explain();
    expect(explained?.chosen?.id).not.toBe(vip);
    expect(explained?.skipped.find((s) => s.id === vip)?.why).toBe("has ordered before");
    expect(await ask({ customerId: "9602", visitor: "lifetime-old-buyer-03" })).toBeNull();
    // For anyone else it says why the offer was not theirs as before.
    expect(explained?.skipped.find((s) => s.id === id)?.why).toBe("not in segment");
    await prisma.message.updateMany({ where: { id: { in: [id, vip] } }, data: { reward: "none" } });
    forgetShopMessages();
  });

  it("refuses unsigned, tampered and malformed requests with the reason", async () => {
    const good = url();
    const unsigned = new URL(good);
    unsigned.searchParams.delete("signature");
    expect(await decideForUrl(unsigned, prisma, now)).toEqual({
      status: 401,
      body: { error: "missing app proxy signature" },
    });
    const tampered = new URL(good);
    tampered.searchParams.set("logged_in_customer_id", "9020");
    expect((await decideForUrl(tampered, prisma, now)).status).toBe(401);
    expect(await decideForUrl(url({ visitor: "short" }), prisma, now)).toEqual({
      status: 400,
      body: { error: "visitor: must be 16 to 64 letters, digits, - or _" },
    });
    expect((await decideForUrl(url({ path: "https://evil.example/" }), prisma, now)).body).toEqual({
      error: 'path: must start with "/" and be at most 2048 characters',
    });
    expect((await decideForUrl(url({ shown: "1;2" }), prisma, now)).status).toBe(400);
  });

  it("answers through the route with no caching", async () => {
    forgetShopMessages();
    const response = await loader({ request: new Request(url({ at: new Date() })), params: {}, context: {} });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});
