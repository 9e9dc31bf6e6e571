/**
 * The storefront events endpoint, called as Shopify's app proxy calls it (signed by the local
 * proxy in dev/app-proxy.ts): a valid batch is stored; unsigned, tampered, stale, oversized or
 * malformed input is refused with a clear 4xx and nothing is stored; without analytics consent
 * nothing about the shopper is kept (only aggregate counts); the logged-in customer comes only from the signature;
 * and a linked customer's segments follow their visits.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { proxiedRequest, signAppProxyQuery, startAppProxy } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { action } from "../routes/proxy.events";
import { MAX_BODY_BYTES, receiveEvents } from "./events.server";

const SHOP = "events.myshopify.com";
const now = new Date("2031-03-10T12:00:00.000Z");
const proxy = { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP };
let shopId = 0;
let counter = 0;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
});
afterAll(() => prisma.$disconnect());

let visitorId = "";
beforeEach(() => {
  visitorId = `visitor-${String(++counter).padStart(4, "0")}-abcdefgh`;
});

const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();

function batch(overrides: Record<string, unknown> = {}) {
  return {
    visitorId,
    consent: { analytics: true },
    context: {
      landingPage: "/products/linen-shirt",
      referrer: "https://www.google.com/",
      utmSource: "newsletter",
      utmMedium: "email",
      utmCampaign: "spring",
      deviceType: "mobile",
    },
    cartToken: "c1-7a2b3c4d?key=9f8e7d",
    events: [
      { type: "session_start", at: minutesAgo(3) },
      { type: "page_view", at: minutesAgo(3), resourceId: "/products/linen-shirt" },
      { type: "product_view", at: minutesAgo(3), resourceId: "8001" },
      { type: "collection_view", at: minutesAgo(2), resourceId: "501" },
      { type: "cart_update", at: minutesAgo(1) },
      { type: "answer", at: minutesAgo(1), resourceId: "style=relaxed" },
    ],
    ...overrides,
  };
}

interface Send {
  customerId?: string;
  timestamp?: number;
  body?: string;
  at?: Date;
}

/** POST /apps/slice/events through the local app proxy, handled at `now`. */
function send(payload: unknown, { customerId, timestamp, body, at = now }: Send = {}) {
  return receiveEvents(signed(payload, { customerId, timestamp, body }), prisma, at);
}

function signed(payload: unknown, { customerId, timestamp, body }: Send = {}) {
  const storefront = new Request(`https://${SHOP}/apps/slice/events`, {
    method: "POST",
    body: body ?? JSON.stringify(payload),
    headers: { "content-type": "text/plain;charset=UTF-8" },
  });
  return proxiedRequest(storefront, proxy, {
    customerId,
    timestamp: timestamp ?? Math.floor(now.getTime() / 1000),
  });
}

/** The same request with its query changed after signing. */
function withQuery(request: Request, change: (q: URLSearchParams) => void): Request {
  const url = new URL(request.url);
  change(url.searchParams);
  return new Request(url, { method: "POST", body: request.body, duplex: "half" } as RequestInit);
}

async function stored(id = visitorId) {
  const [visitor, events] = await Promise.all([
    prisma.visitor.findUnique({ where: { id } }),
    prisma.storefrontEvent.findMany({ where: { visitorId: id }, orderBy: { id: "asc" } }),
  ]);
  return { visitor, events };
}

async function expectNothingStored() {
  expect(await stored()).toEqual({ visitor: null, events: [] });
}

describe("POST /apps/slice/events", () => {
  it("stores a valid signed batch: the visitor with its first visit's context, and every event", async () => {
    const response = await send(batch());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 6 });
    const { visitor, events } = await stored();
    expect(visitor).toMatchObject({
      shopId,
      customerShopifyId: null,
      cartToken: "c1-7a2b3c4d",
      sessions: 1,
      firstSeenAt: new Date(minutesAgo(3)),
      lastSeenAt: new Date(minutesAgo(1)),
      landingPage: "/products/linen-shirt",
      referrer: "https://www.google.com/",
      utmSource: "newsletter",
      utmMedium: "email",
      utmCampaign: "spring",
      deviceType: "mobile",
    });
    expect(events.map((e) => [e.type, e.resourceId, e.occurredAt.toISOString()])).toEqual(
      batch().events.map((e) => [e.type, e.resourceId ?? null, e.at]),
    );

    // A later visit adds its session and moves lastSeenAt; the first visit's context stays.
    const later = await send(
      batch({
        context: { landingPage: "/collections/sale", utmSource: "ads", deviceType: "desktop" },
        events: [{ type: "session_start", at: minutesAgo(0) }],
      }),
    );
    expect(later.status).toBe(200);
    expect((await stored()).visitor).toMatchObject({
      sessions: 2,
      lastSeenAt: now,
      firstSeenAt: new Date(minutesAgo(3)),
      landingPage: "/products/linen-shirt",
      utmSource: "newsletter",
      deviceType: "mobile",
    });
  });

  it("is the route Shopify's proxy reaches (/proxy/events)", async () => {
    // The route handles the request at the real time: sign it and date its event now.
    const storefront = new Request(`https://${SHOP}/apps/slice/events`, {
      method: "POST",
      body: JSON.stringify(batch({ events: [{ type: "session_start", at: new Date().toISOString() }] })),
    });
    const request = proxiedRequest(storefront, proxy);
    expect(new URL(request.url).pathname).toBe("/proxy/events");
    const response = await action({ request, params: {}, context: {} });
    expect(response.status).toBe(200);
    expect((await stored()).events).toHaveLength(1);
  });

  it("counts both of a new visitor's first batches when they arrive at once", async () => {
    const visit = (m: number) => batch({ events: [{ type: "session_start", at: minutesAgo(m) }] });
    const answers = await Promise.all([send(visit(2)), send(visit(1)), send(visit(3))]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const { visitor, events } = await stored();
    expect(events).toHaveLength(3);
    expect(visitor).toMatchObject({
      sessions: 3,
      firstSeenAt: new Date(minutesAgo(3)),
      lastSeenAt: new Date(minutesAgo(1)),
    });
  });

  it("works over HTTP through the local app proxy, with the logged-in customer it signs", async () => {
    // A minimal app server handing each request to the route, as Remix does.
    const app = createServer((req, res) => {
      const request = new Request(new URL(req.url!, "http://127.0.0.1"), {
        method: req.method,
        body: Readable.toWeb(req) as ReadableStream<Uint8Array>,
        duplex: "half",
      } as RequestInit);
      void action({ request, params: {}, context: {} }).then(async (answer) => {
        res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
      });
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    const shopDomain = await startAppProxy({
      ...proxy,
      appOrigin: `http://127.0.0.1:${(app.address() as AddressInfo).port}`,
      customerOf: () => "9001",
    });
    try {
      const answer = await fetch(`${shopDomain.url}/apps/slice/events`, {
        method: "POST",
        body: JSON.stringify(
          batch({ events: [{ type: "page_view", at: new Date().toISOString(), resourceId: "/" }] }),
        ),
      });
      expect(answer.status).toBe(200);
      expect((await stored()).visitor?.customerShopifyId).toBe("9001");
    } finally {
      await shopDomain.close();
      await new Promise((resolve) => app.close(resolve));
    }
  });

  describe("refuses unsigned or altered requests with 401, storing nothing", () => {
    it("a tampered signature", async () => {
      const request = withQuery(signed(batch()), (q) => {
        const s = q.get("signature")!;
        q.set("signature", (s[0] === "0" ? "1" : "0") + s.slice(1));
      });
      const response = await receiveEvents(request, prisma, now);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "invalid app proxy signature" });
      await expectNothingStored();
    });

    it("a missing signature", async () => {
      const response = await receiveEvents(
        withQuery(signed(batch()), (q) => q.delete("signature")),
        prisma,
        now,
      );
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "missing app proxy signature" });
      await expectNothingStored();
    });

    it("a request signed with another secret", async () => {
      const storefront = new Request(`https://${SHOP}/apps/slice/events`, {
        method: "POST",
        body: JSON.stringify(batch()),
      });
      const request = proxiedRequest(
        storefront,
        { ...proxy, secret: "someone-elses-secret" },
        { timestamp: now.getTime() / 1000 },
      );
      expect((await receiveEvents(request, prisma, now)).status).toBe(401);
      await expectNothingStored();
    });

    it("a stale timestamp (a replay of a captured request)", async () => {
      const response = await send(batch(), { timestamp: Math.floor(now.getTime() / 1000) - 6 * 60 });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: "stale app proxy request (timestamp too far from now)",
      });
      await expectNothingStored();
    });
  });

  it("dates events by the server's clock when the shopper's clock is hours off (sentAt)", async () => {
    // A phone three hours fast: its times are all in the future by the server's clock.
    const fast = (m: number) => new Date(now.getTime() + 3 * 3600_000 - m * 60_000).toISOString();
    const response = await send(
      batch({
        sentAt: fast(0),
        events: [
          { type: "session_start", at: fast(2) },
          { type: "page_view", at: fast(2), resourceId: "/" },
          { type: "message_shown", at: fast(1), resourceId: "7" },
        ],
      }),
    );
    expect(response.status).toBe(200);
    const stored = await prisma.storefrontEvent.findMany({ where: { visitorId }, orderBy: { id: "asc" } });
    expect(stored.map((e) => [e.type, e.occurredAt.toISOString()])).toEqual([
      ["session_start", minutesAgo(2)],
      ["page_view", minutesAgo(2)],
      ["message_shown", minutesAgo(1)],
    ]);
  });

  describe("refuses bad input with a 4xx naming the field, storing nothing", () => {
    it("a body over 16 KB: 413", async () => {
      const big = batch({ context: { landingPage: "/" + "x".repeat(MAX_BODY_BYTES) } });
      const response = await send(big);
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({ error: "body: must be at most 16384 bytes" });
      await expectNothingStored();
    });

    it.each([
      ["not JSON", "{ visitorId: ", "body: must be JSON"],
      [
        "an unknown event type",
        { events: [{ type: "purchase", at: minutesAgo(1) }] },
        "events.0.type: must be one of",
      ],
      [
        "a bad type further down",
        { events: [...batch().events.slice(0, 3), { type: "click", at: minutesAgo(1) }] },
        "events.3.type: must be one of",
      ],
      [
        "a time in the future",
        { events: [{ type: "page_view", at: minutesAgo(-30) }] },
        "events.0.at: is in the future",
      ],
      [
        "a time older than 7 days",
        { events: [{ type: "page_view", at: minutesAgo(8 * 24 * 60) }] },
        "events.0.at: is more than 7 days old",
      ],
      [
        "a time that is not ISO",
        { events: [{ type: "page_view", at: "yesterday" }] },
        "events.0.at: must be an ISO",
      ],
      [
        "more than 50 events",
        { events: Array.from({ length: 51 }, () => ({ type: "page_view", at: minutesAgo(1) })) },
        "events: must hold at most 50 events",
      ],
      ["a short visitor id", { visitorId: "abc" }, "visitorId: must be 16 to 64"],
      [
        "a visitor id with odd characters",
        { visitorId: "visitor/../../etc/passwd" },
        "visitorId: must be 16 to 64",
      ],
      [
        "a resource id over 200 characters",
        { events: [{ type: "product_view", at: minutesAgo(1), resourceId: "9".repeat(201) }] },
        "events.0.resourceId: must be at most 200 characters",
      ],
      [
        "a product view without a product",
        { events: [{ type: "product_view", at: minutesAgo(1) }] },
        "events.0.resourceId",
      ],
      ["missing consent", { consent: undefined }, "consent: Required"],
      [
        "a message event without the message's id",
        { events: [{ type: "message_dismissed", at: minutesAgo(1), resourceId: "welcome" }] },
        "events.0.resourceId: must be the message id for message_dismissed",
      ],
      ["a sentAt that is not a time", { sentAt: "now" }, "sentAt: must be an ISO"],
      ["an unknown device type", { context: { deviceType: "fridge" } }, "context.deviceType:"],
    ])("%s", async (_name, change, error) => {
      const body = typeof change === "string" ? change : undefined;
      const response = await send(typeof change === "string" ? null : batch(change), { body });
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { error: string };
      expect(answer.error.startsWith(error)).toBe(true);
      await expectNothingStored();
    });

    it("a visitor id already used by another shop: 409", async () => {
      const other = await prisma.shop.create({ data: { domain: "other-events.myshopify.com" } });
      await prisma.visitor.create({
        data: { id: visitorId, shopId: other.id, firstSeenAt: now, lastSeenAt: now },
      });
      const response = await send(batch());
      expect(response.status).toBe(409);
      expect(await prisma.storefrontEvent.count({ where: { visitorId } })).toBe(0);
      expect(await prisma.visitor.findUnique({ where: { id: visitorId } })).toMatchObject({
        shopId: other.id,
      });
    });

    it("a shop that has not installed the app: 404", async () => {
      const storefront = new Request("https://nobody.myshopify.com/apps/slice/events", {
        method: "POST",
        body: JSON.stringify(batch()),
      });
      const request = proxiedRequest(
        storefront,
        { ...proxy, shop: "nobody.myshopify.com" },
        { timestamp: now.getTime() / 1000 },
      );
      expect((await receiveEvents(request, prisma, now)).status).toBe(404);
      await expectNothingStored();
    });
  });

  describe("without analytics consent", () => {
    // More in consent.server.test.ts: the counts, the signed customer, /decide.
    it("stores no visitor and no event, answers included: they are only counted", async () => {
      const response = await send(batch({ consent: { analytics: false } }));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true, stored: 0, counted: 1 });
      await expectNothingStored();
    });

    it("adds nothing to a visitor who consented before", async () => {
      await send(batch({ events: [{ type: "session_start", at: minutesAgo(10) }] }));
      const before = (await stored()).visitor;
      await send(batch({ consent: { analytics: false }, cartToken: "c1-other" }));
      const { visitor, events } = await stored();
      expect(visitor).toEqual(before);
      expect(events.map((e) => e.type)).toEqual(["session_start"]);
    });
  });

  describe("the logged-in customer", () => {
    it("links the visitor to the customer in the signed logged_in_customer_id", async () => {
      await send(batch(), { customerId: "7001" });
      expect((await stored()).visitor?.customerShopifyId).toBe("7001");
      // A later anonymous request (logged out) keeps the link.
      await send(batch({ events: [] }));
      expect((await stored()).visitor?.customerShopifyId).toBe("7001");
    });

    it("is never taken from an unsigned query parameter or from the body", async () => {
      const added = withQuery(signed(batch()), (q) => q.set("logged_in_customer_id", "7002"));
      expect((await receiveEvents(added, prisma, now)).status).toBe(401);
      await expectNothingStored();

      const response = await send({ ...batch(), logged_in_customer_id: "7003", customerId: "7003" });
      expect(response.status).toBe(200);
      expect((await stored()).visitor?.customerShopifyId).toBeNull();
    });
  });

  it("keeps a linked customer's segments current: three visits in 7 days joins 'visits >= 3'", async () => {
    const customer = "8001";
    await prisma.customer.create({ data: { shopId, shopifyId: customer, shopifyUpdatedAt: now } });
    const segment = await prisma.segment.create({
      data: {
        shopId,
        handle: "frequent-visitors",
        name: "Frequent visitors",
        minSize: 0,
        rule: JSON.stringify({
          version: 1,
          match: { field: "visitor.visits", op: "gte", value: 3, days: 7 },
        }),
      },
    });
    const isMember = async () =>
      (await prisma.segmentMember.count({
        where: { segmentId: segment.id, customerShopifyId: customer },
      })) === 1;

    for (const [i, daysAgo] of [5, 3].entries()) {
      const at = new Date(now.getTime() - daysAgo * 24 * 3600_000);
      const response = await send(batch({ events: [{ type: "session_start", at: at.toISOString() }] }), {
        customerId: customer,
      });
      expect(response.status, `visit ${i + 1}`).toBe(200);
      expect(await isMember()).toBe(false);
    }
    await send(batch({ events: [{ type: "session_start", at: minutesAgo(5) }] }), { customerId: customer });
    expect(await isMember()).toBe(true);
    expect(
      await prisma.segmentChange.count({ where: { segmentId: segment.id, customerShopifyId: customer } }),
    ).toBeGreaterThanOrEqual(1);
  });
});

// The signing function is the one the tests use; keep it honest about the app's secret.
it("signs with the app's configured secret", () => {
  const request = signed(batch());
  const q = new URL(request.url).searchParams;
  expect(q.get("signature")).toBe(signAppProxyQuery(q, process.env.SHOPIFY_API_SECRET!));
});
