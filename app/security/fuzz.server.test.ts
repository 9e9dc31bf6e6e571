/**
 * Every endpoint fuzzed with hostile input (a seeded generator: app/security/hostile.ts): webhooks
 * with missing, forged and wrong-secret signatures and bodies that are too big; storefront posts
 * signed too long ago (a replay) or not at all; malformed JSON, wrong types in every field, huge
 * and deeply nested bodies; injection and unicode text in every field that is stored. Bad input
 * gets a 4xx whose message names what was wrong, and nothing is stored; accepted text is stored
 * verbatim and goes back out as JSON data or escaped, never as markup or Liquid.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { proxiedRequest } from "../../dev/app-proxy";
import { webhookRequestInit } from "../../dev/webhooks";
import { TEST_SECRET } from "../../dev/testing/setup";
import { acceptWebhook, MAX_WEBHOOK_BYTES } from "../sync/receive.server";
import { storableText } from "../sync/payload";
import { isStorableText } from "../engine/rules";
import { InboxWorker } from "../sync/worker.server";
import { receiveEvents } from "../storefront/events.server";
import { receiveAnswer } from "../storefront/answer.server";
import { receiveCodeRequest } from "../storefront/code.server";
import { decideForUrl, flushExposures } from "../storefront/decide.server";
import { pixelPerClient, pixelPerShop, receivePixel } from "../storefront/pixel.server";
import { ensurePresets } from "../segments/store.server";
import { deeplyNested, hostileValue, INJECTIONS, MALFORMED_JSON, mutate, seeded } from "./hostile";

const SHOP = "fuzz.myshopify.com";
const ORIGIN = "http://127.0.0.1:3999";
const proxy = { appOrigin: ORIGIN, secret: TEST_SECRET, shop: SHOP };
let shopId = 0;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await ensurePresets(prisma, shopId);
});
afterAll(() => prisma.$disconnect());

/** Rows a rejected request might have written, counted. */
async function stored() {
  return {
    inbox: await prisma.webhookEvent.count(),
    visitors: await prisma.visitor.count(),
    events: await prisma.storefrontEvent.count(),
    exposures: await prisma.offerExposure.count(),
    issued: await prisma.discountCode.count({ where: { status: { not: "pool" } } }),
  };
}

/** A 4xx whose JSON `error` (or text) says which field or what was wrong. */
async function expectRefusal(response: Response, status: number | number[], what?: RegExp): Promise<string> {
  const statuses = Array.isArray(status) ? status : [status];
  const text = await response.text();
  expect(statuses, `${response.status} ${text}`).toContain(response.status);
  let message = text;
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === "string") message = body.error;
  } catch {
    // a plain-text or Liquid answer
  }
  expect(message.length, text).toBeGreaterThan(5);
  if (what) expect(message).toMatch(what);
  return message;
}

describe("POST /webhooks", () => {
  const line = { topic: "orders/create", shop: SHOP, payload: { id: 1, note: INJECTIONS[0] } };
  const headersOf = (
    init: ReturnType<typeof webhookRequestInit>,
    overrides: Record<string, string | null> = {},
  ) => {
    const headers = new Map(Object.entries(init.headers).map(([k, v]) => [k.toLowerCase(), v]));
    for (const [k, v] of Object.entries(overrides)) {
      if (v === null) headers.delete(k);
      else headers.set(k, v);
    }
    return (name: string) => headers.get(name) ?? null;
  };
  const deps = { db: prisma, secret: TEST_SECRET };

  it("refuses missing, forged and wrong-secret signatures with 401 and stores nothing", async () => {
    const before = await stored();
    const random = seeded(1);
    const init = webhookRequestInit(line, TEST_SECRET);
    const body = Buffer.from(init.body as string);
    const forgeries: (string | null)[] = [
      null,
      "",
      "not base64 at all",
      createHmac("sha256", "wrong-secret").update(body).digest("base64"),
      createHmac("sha256", TEST_SECRET)
        .update(Buffer.concat([body, Buffer.from(" ")]))
        .digest("base64"),
      createHmac("sha256", TEST_SECRET).update(body).digest("hex"),
      ...Array.from({ length: 20 }, () =>
        Buffer.from(Array.from({ length: 32 }, () => Math.floor(random() * 256))).toString("base64"),
      ),
    ];
    for (const signature of forgeries) {
      const answer = await acceptWebhook(
        "POST",
        headersOf(init, { "x-shopify-hmac-sha256": signature }),
        body,
        deps,
      );
      expect(answer, String(signature)).toEqual({
        status: 401,
        message: "invalid or missing webhook signature",
      });
    }
    // A body changed after signing, as a man in the middle would.
    const tampered = Buffer.from((init.body as string).replace('"id":1', '"id":2'));
    expect((await acceptWebhook("POST", headersOf(init), tampered, deps)).status).toBe(401);
    expect(await stored()).toEqual(before);
  });

  it("refuses a body over the limit with 413, and signed but malformed headers with 400 naming them", async () => {
    const before = await stored();
    const huge = Buffer.alloc(MAX_WEBHOOK_BYTES + 1, 0x20);
    const init = webhookRequestInit(line, TEST_SECRET, huge.toString());
    expect(await acceptWebhook("POST", headersOf(init), huge, deps)).toEqual({
      status: 413,
      message: "payload too large",
    });
    const signed = webhookRequestInit(line, TEST_SECRET);
    const body = Buffer.from(signed.body as string);
    for (const [header, value, named] of [
      ["x-shopify-topic", null, /X-Shopify-Topic/],
      ["x-shopify-topic", "orders/create; DROP", /X-Shopify-Topic/],
      ["x-shopify-shop-domain", null, /X-Shopify-Shop-Domain/],
      ["x-shopify-shop-domain", "evil.com", /X-Shopify-Shop-Domain/],
      ["x-shopify-shop-domain", `${SHOP}\u0000`, /X-Shopify-Shop-Domain/],
    ] as const) {
      const answer = await acceptWebhook("POST", headersOf(signed, { [header]: value }), body, deps);
      expect(answer.status).toBe(400);
      expect(answer.message).toMatch(named);
    }
    expect((await acceptWebhook("GET", headersOf(signed), body, deps)).status).toBe(405);
    expect(await stored()).toEqual(before);
  });

  it("keeps a replayed delivery once, however often it is sent again", async () => {
    const init = webhookRequestInit({ ...line, eventId: "replayed-1" }, TEST_SECRET);
    const body = Buffer.from(init.body as string);
    const answers = [];
    for (let i = 0; i < 5; i++)
      answers.push((await acceptWebhook("POST", headersOf(init), body, deps)).message);
    expect(answers).toEqual(["recorded", ...Array(4).fill("already recorded")]);
    expect(await prisma.webhookEvent.count({ where: { eventId: "replayed-1" } })).toBe(1);
    await prisma.webhookEvent.deleteMany({ where: { eventId: "replayed-1" } });
  });

  it("applies a signed payload with wrong types or hostile text, or keeps it failed with the reason: never half of it", async () => {
    const random = seeded(2);
    const base = {
      id: 7001,
      email: "buyer@example.com",
      currency: "USD",
      total_price: "10.00",
      note: "gift",
      tags: "vip",
      customer: { id: 8001, email: "buyer@example.com", first_name: "Ann", tags: "" },
      line_items: [{ id: 9001, title: "Mug", quantity: 1, price: "10.00", product_id: 5 }],
      created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-01T00:00:00Z",
      processed_at: "2026-01-01T00:00:00Z",
    };
    // A raw NUL byte is refused at the door (PostgreSQL's text cannot hold it).
    const nul = webhookRequestInit(
      { ...line, eventId: "fuzz-nul" },
      TEST_SECRET,
      '{"id":1,"note":"a\u0000b"}',
    );
    expect(await acceptWebhook("POST", headersOf(nul), Buffer.from(nul.body as string), deps)).toEqual({
      status: 400,
      message: "payload: must be JSON text (it holds a NUL byte)",
    });
    const bodies: string[] = [...MALFORMED_JSON.filter((b) => !b.includes("\u0000")), deeplyNested(10_000)];
    for (let i = 0; i < 60; i++)
      bodies.push(JSON.stringify({ ...(mutate(base, random) as object), id: 7100 + i }));
    for (const text of INJECTIONS) {
      const n = bodies.length;
      const items = [{ ...base.line_items[0], id: 9500 + n, title: text }];
      bodies.push(JSON.stringify({ ...base, id: 7200 + n, note: text, tags: text, line_items: items }));
    }
    for (const [i, text] of bodies.entries()) {
      const init = webhookRequestInit({ ...line, eventId: `fuzz-${i}` }, TEST_SECRET, text);
      expect((await acceptWebhook("POST", headersOf(init), Buffer.from(text), deps)).status).toBe(200);
    }
    const worker = new InboxWorker(prisma, { now: () => new Date(Date.now() + 60_000) });
    await worker.drain();
    const events = await prisma.webhookEvent.findMany({ where: { eventId: { startsWith: "fuzz-" } } });
    expect(events).toHaveLength(bodies.length);
    for (const event of events) {
      expect(["done", "failed"], `${event.payload.slice(0, 200)}: ${event.lastError}`).toContain(
        event.status,
      );
      if (event.status === "failed") expect(event.lastError?.length).toBeGreaterThan(5);
    }
    // A failed event wrote nothing: no order with its id.
    const failedIds = events
      .filter((e) => e.status === "failed")
      .map((e) => {
        try {
          return String((JSON.parse(e.payload) as { id?: unknown }).id);
        } catch {
          return null;
        }
      })
      .filter((id): id is string => id !== null);
    expect(await prisma.order.count({ where: { shopId, shopifyId: { in: failedIds } } })).toBe(0);
    // Hostile text that was applied is held verbatim.
    const titles = (await prisma.lineItem.findMany({ where: { shopId, shopifyId: { gte: "9500" } } })).map(
      (l) => l.title,
    );
    for (const text of INJECTIONS) {
      // Shopify's own text is kept: NUL and half surrogate pairs as U+FFFD, all else verbatim.
      expect(titles).toContain(storableText(text));
    }
    await prisma.webhookEvent.deleteMany({ where: { eventId: { startsWith: "fuzz-" } } });
  });
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

function post(
  path: string,
  body: string,
  options: { timestamp?: number; contentType?: string; customerId?: string } = {},
) {
  return proxiedRequest(
    new Request(`https://${SHOP}/apps/slice/${path}`, {
      method: "POST",
      headers: { "content-type": options.contentType ?? "application/json" },
      body,
    }),
    proxy,
    { timestamp: options.timestamp, customerId: options.customerId },
  );
}

const validBatch = () => ({
  visitorId: "fuzz-visitor-000000001",
  consent: { analytics: true },
  context: { landingPage: "/", referrer: "https://example.com/", utmSource: "news" },
  events: [{ type: "page_view", at: new Date().toISOString(), resourceId: "/" }],
});

describe("the storefront endpoints (app proxy)", () => {
  it("refuse a signature made too long ago or for later (a replay), a forged or missing one: 401 naming why", async () => {
    const before = await stored();
    const old = nowSeconds() - 6 * 60;
    const later = nowSeconds() + 6 * 60;
    for (const timestamp of [old, later, nowSeconds() - 86_400 * 365]) {
      const body = JSON.stringify(validBatch());
      await expectRefusal(await receiveEvents(post("events", body, { timestamp }), prisma), 401, /stale/);
      await expectRefusal(
        await receiveCodeRequest(
          post("code", JSON.stringify({ visitorId: "fuzz-visitor-000000001", messageId: 1 }), { timestamp }),
          prisma,
        ),
        401,
        /stale/,
      );
      const answer = await receiveAnswer(
        post("answer", "question=q&answer=a", {
          timestamp,
          contentType: "application/x-www-form-urlencoded",
        }),
        prisma,
      );
      expect(answer.status).toBe(401);
      const decide = new URL(
        proxiedRequest(`/apps/slice/decide?visitor=fuzz-visitor-000000001`, proxy, { timestamp }).url,
      );
      expect(await decideForUrl(decide, prisma)).toEqual({
        status: 401,
        body: { error: "stale app proxy request (timestamp too far from now)" },
      });
    }
    const signed = new URL(post("events", "{}").url);
    const forged = new URL(signed);
    forged.searchParams.set("signature", "0".repeat(64));
    const unsigned = new URL(signed);
    unsigned.searchParams.delete("signature");
    const otherShop = new URL(signed);
    otherShop.searchParams.set("shop", "other.myshopify.com");
    for (const [url, reason] of [
      [forged, /invalid app proxy signature/],
      [unsigned, /missing app proxy signature/],
      [otherShop, /invalid app proxy signature/],
    ] as const) {
      const request = new Request(url, { method: "POST", body: JSON.stringify(validBatch()) });
      await expectRefusal(await receiveEvents(request, prisma), 401, reason);
    }
    expect(await stored()).toEqual(before);
  });

  it("events: malformed JSON, wrong types in every field, huge and deep bodies get 400/413 naming the field; nothing is stored", async () => {
    const before = await stored();
    for (const body of MALFORMED_JSON) {
      const response = await receiveEvents(post("events", body), prisma);
      await expectRefusal(response, 400, /^(body|visitorId|consent|events|context)/);
    }
    await expectRefusal(
      await receiveEvents(post("events", deeplyNested(1000)), prisma),
      400,
      /^(body|visitorId|consent)/,
    );
    await expectRefusal(
      await receiveEvents(post("events", deeplyNested(5000)), prisma),
      413,
      /^body: must be at most/,
    );
    await expectRefusal(
      await receiveEvents(post("events", " ".repeat(20_000)), prisma),
      413,
      /body: must be at most/,
    );
    const random = seeded(3);
    let refused = 0;
    for (let i = 0; i < 150; i++) {
      const response = await receiveEvents(
        post("events", JSON.stringify(mutate(validBatch(), random))),
        prisma,
      );
      if (response.status === 200) continue;
      const message = await expectRefusal(
        response,
        [400, 409],
        /^(body|visitorId|consent|context|cartToken|sentAt|events)/,
      );
      expect(message).toMatch(/: /);
      refused++;
    }
    expect(refused).toBeGreaterThan(50);
    // Whatever was accepted was a valid batch: it is the only thing stored.
    const after = await stored();
    expect(after.inbox).toBe(before.inbox);
  });

  it("events: hostile text in every stored field is kept verbatim, or refused naming the field when no database can hold it", async () => {
    for (const [i, text] of INJECTIONS.entries()) {
      const visitorId = `fuzz-text-visitor-${String(i).padStart(4, "0")}`;
      const batch = {
        visitorId,
        consent: { analytics: true },
        context: { landingPage: text, referrer: text, utmSource: text, utmMedium: text, utmCampaign: text },
        events: [
          { type: "page_view", at: new Date().toISOString(), resourceId: text },
          { type: "answer", at: new Date().toISOString(), resourceId: `q=${text}` },
        ],
      };
      const response = await receiveEvents(post("events", JSON.stringify(batch)), prisma);
      if (!isStorableText(text)) {
        await expectRefusal(
          response,
          400,
          /^(context|events)\.[\w.]+: must be text without NUL characters or broken Unicode/,
        );
        expect(await prisma.visitor.count({ where: { id: visitorId } })).toBe(0);
        continue;
      }
      expect(response.status, text).toBe(200);
      const visitor = await prisma.visitor.findUniqueOrThrow({
        where: { id: visitorId },
        include: { events: true },
      });
      expect(visitor).toMatchObject({
        landingPage: text,
        referrer: text,
        utmSource: text,
        utmMedium: text,
        utmCampaign: text,
      });
      expect(visitor.events.map((e) => e.resourceId).sort()).toEqual([text, `q=${text}`].sort());
    }
  });

  it("the answer form: hostile answers are kept verbatim; the thank-you page is Liquid-safe and escaped", async () => {
    for (const [i, text] of INJECTIONS.entries()) {
      const response = await receiveAnswer(
        post("answer", new URLSearchParams({ question: `q${i}`, answer: text }).toString(), {
          contentType: "application/x-www-form-urlencoded",
        }),
        prisma,
      );
      const page = await response.text();
      expect(page).not.toMatch(/\{\{|\{%|<script|onerror=|onmouseover=/);
      if (!isStorableText(text) || text.trim() !== text) {
        expect([200, 400]).toContain(response.status);
        if (response.status === 400) expect(page).toMatch(/answer: /);
        continue;
      }
      expect(response.status, `${text}: ${page}`).toBe(200);
      expect(
        await prisma.storefrontEvent.count({ where: { type: "answer", resourceId: `q${i}=${text}` } }),
      ).toBe(1);
    }
    for (const body of [
      "",
      "question=",
      "answer=x",
      "question=%00&answer=x",
      `question=q&answer=${"x".repeat(5000)}`,
      "question={{shop}}&answer=x",
    ]) {
      const response = await receiveAnswer(
        post("answer", body, { contentType: "application/x-www-form-urlencoded" }),
        prisma,
      );
      expect([400, 413], body).toContain(response.status);
      const page = await response.text();
      expect(page).toMatch(/question: |answer: |too long/);
      expect(page).not.toMatch(/\{\{|\{%|<b>/);
    }
  });

  it("the code endpoint: malformed bodies get 400 naming the field, huge ones 413; no code is given", async () => {
    const before = await stored();
    for (const body of [...MALFORMED_JSON, deeplyNested(300)]) {
      const response = await receiveCodeRequest(post("code", body), prisma);
      await expectRefusal(response, 400, /^(body|visitorId|messageId)/);
    }
    await expectRefusal(
      await receiveCodeRequest(post("code", "x".repeat(5000)), prisma),
      413,
      /body: must be at most 2048 bytes/,
    );
    const random = seeded(4);
    for (let i = 0; i < 60; i++) {
      const body = mutate({ visitorId: "fuzz-visitor-000000001", messageId: 1 }, random);
      const response = await receiveCodeRequest(post("code", JSON.stringify(body)), prisma);
      expect([400, 403, 404, 429], JSON.stringify(body)).toContain(response.status);
    }
    expect(await stored()).toEqual(before);
  });

  it("decide: bad query parameters get 400 naming them; a stored message's hostile text goes out as JSON data", async () => {
    for (const [query, named] of [
      ["consent=1&visitor=short", /^visitor: /],
      [`consent=1&visitor=${encodeURIComponent(INJECTIONS[0])}`, /^visitor: /],
      ["visitor=fuzz-visitor-000000001&path=nope", /^path: /],
      [`visitor=fuzz-visitor-000000001&path=/${"a".repeat(3000)}`, /^path: /],
      ["visitor=fuzz-visitor-000000001&shown=1;2", /^shown: /],
    ] as const) {
      const answer = await decideForUrl(
        new URL(proxiedRequest(`/apps/slice/decide?${query}`, proxy).url),
        prisma,
      );
      expect(answer.status, query).toBe(400);
      expect((answer.body as { error: string }).error).toMatch(named);
    }
    const headline = `${INJECTIONS[6]} ${INJECTIONS[3]} ${INJECTIONS[8]}`;
    await prisma.message.create({
      data: {
        shopId,
        name: "Hostile",
        segmentHandle: "first-time-visitors",
        format: "popup",
        trigger: "load",
        headline,
        body: INJECTIONS[7],
        active: true,
        holdoutPercent: 0,
      },
    });
    const answer = await decideForUrl(
      new URL(
        proxiedRequest(
          `/apps/slice/decide?visitor=fuzz-new-visitor-0000001&page=index&path=/&consent=1`,
          proxy,
        ).url,
      ),
      prisma,
    );
    expect(answer.body).toMatchObject({ message: { headline, body: INJECTIONS[7] } });
    // What the route sends: JSON, so the script gets a string to set as text, never markup.
    const sent = JSON.stringify(answer.body);
    expect(JSON.parse(sent)).toEqual(answer.body);
  });

  it("refuses any of it from a random generator without ever answering 5xx", async () => {
    const random = seeded(5);
    for (let i = 0; i < 100; i++) {
      const body = JSON.stringify(hostileValue(random));
      for (const [path, handler] of [
        ["events", receiveEvents],
        ["code", receiveCodeRequest],
      ] as const) {
        const response = await handler(post(path, body), prisma);
        expect(response.status, `${path} ${body}`).toBeLessThan(500);
        expect(response.status, `${path} ${body}`).toBeGreaterThanOrEqual(400);
      }
    }
  });
});

describe("the web pixel's endpoint (untrusted, not signed)", () => {
  const pixelPost = (body: string) =>
    new Request(`${ORIGIN}/pixel`, { method: "POST", body, headers: { "content-type": "text/plain" } });
  let n = 0;
  const validPixelBatch = () => ({
    shop: SHOP,
    clientId: `fuzz-pixel-client-${String(++n).padStart(5, "0")}`,
    consent: { analytics: true },
    sentAt: new Date().toISOString(),
    cartToken: "c1-fuzz?key=abc",
    events: [
      { name: "page_viewed", at: new Date().toISOString(), path: "/products/x" },
      { name: "product_viewed", at: new Date().toISOString(), productId: "8001" },
      { name: "search_submitted", at: new Date().toISOString(), query: "linen" },
      { name: "checkout_started", at: new Date().toISOString(), checkoutToken: "tok-fuzz" },
    ],
  });
  beforeAll(async () => {
    pixelPerShop.clear();
    pixelPerClient.clear();
    // The decisions above record exposures after answering (batched every 100 ms): let them land
    // now, so that "nothing is stored" below counts only what the pixel endpoint did.
    await flushExposures();
  });

  it("malformed JSON, wrong types in every field, huge and deep bodies get 400/413 naming the field; nothing is stored", async () => {
    const before = await stored();
    for (const body of MALFORMED_JSON)
      await expectRefusal(
        await receivePixel(pixelPost(body), prisma),
        400,
        /^(body|shop|clientId|consent|events|sentAt)/,
      );
    await expectRefusal(await receivePixel(pixelPost(deeplyNested(1000)), prisma), 400, /^(body|shop)/);
    await expectRefusal(
      await receivePixel(pixelPost(deeplyNested(5000)), prisma),
      413,
      /^body: must be at most/,
    );
    await expectRefusal(
      await receivePixel(pixelPost(" ".repeat(20_000)), prisma),
      413,
      /^body: must be at most/,
    );
    expect(await stored()).toEqual(before);
    const random = seeded(11);
    let refused = 0;
    for (let i = 0; i < 150; i++) {
      const batch = validPixelBatch();
      const response = await receivePixel(pixelPost(JSON.stringify(mutate(batch, random))), prisma);
      if (response.status === 200) continue;
      const message = await expectRefusal(
        response,
        [400, 403, 404, 409],
        /^(body|shop|clientId|key|consent|cartToken|sentAt|events)/,
      );
      expect(message).toMatch(/: /);
      expect(await prisma.storefrontEvent.count({ where: { visitorId: batch.clientId } })).toBe(0);
      refused++;
    }
    expect(refused).toBeGreaterThan(50);
  });

  it("hostile text in the stored fields (path, query) is kept verbatim, or refused naming the field", async () => {
    for (const [i, text] of INJECTIONS.entries()) {
      const clientId = `fuzz-pixel-text-${String(i).padStart(4, "0")}`;
      const batch = {
        ...validPixelBatch(),
        clientId,
        events: [
          { name: "page_viewed", at: new Date().toISOString(), path: `/${text}` },
          { name: "search_submitted", at: new Date().toISOString(), query: `q ${text}` },
        ],
      };
      const response = await receivePixel(pixelPost(JSON.stringify(batch)), prisma);
      if (!isStorableText(text) || !text.trim()) {
        if (response.status !== 200) await expectRefusal(response, 400, /^events\.\d\.(path|query): /);
        continue;
      }
      expect(response.status, text).toBe(200);
      const rows = await prisma.storefrontEvent.findMany({
        where: { visitorId: clientId, type: "page_view" },
      });
      expect(rows.map((r) => r.resourceId)).toEqual([`/${text}`]);
    }
  });

  it("refuses anything from a random generator without ever answering 5xx", async () => {
    const random = seeded(13);
    for (let i = 0; i < 100; i++) {
      const body = JSON.stringify(hostileValue(random));
      const response = await receivePixel(pixelPost(body), prisma);
      expect(response.status, body).toBeGreaterThanOrEqual(400);
      expect(response.status, body).toBeLessThan(500);
    }
  });
});
