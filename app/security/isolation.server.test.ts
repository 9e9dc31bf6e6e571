/**
 * One shop can never read or change another's data. Signed in as shop A's admin, every admin
 * route is asked for shop B's segments, messages, variants, results, exports and failed events:
 * each answers 404 (or refuses), shows nothing of B's and changes nothing of B's. On the
 * storefront, a request signed for shop B never reaches shop A's visitors, messages or offers;
 * and the CLI works only on the shop named by --shop.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { ensurePresets } from "../segments/store.server";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { main } from "../cli";
import { decideForUrl } from "../storefront/decide.server";
import { receiveEvents } from "../storefront/events.server";
import { receiveCodeRequest } from "../storefront/code.server";
import { receiveAnswer } from "../storefront/answer.server";
import { receivePixel } from "../storefront/pixel.server";
import { applyOrder } from "../sync/apply.server";
import { orderFromWebhook } from "../sync/from-webhook";
import * as home from "../routes/app.sync";
import * as segmentPage from "../routes/app.segments.$handle";
import * as segmentExport from "../routes/app.segments.$handle.export";
import * as segmentEdit from "../routes/app.segments.$handle_.edit";
import * as segmentNew from "../routes/app.segments.new";
import * as segmentPreview from "../routes/app.segments.preview";
import * as segmentOptions from "../routes/app.segments.options";
import * as segmentList from "../routes/app.segments._index";
import * as messagePage from "../routes/app.messages.$id";
import * as messageResults from "../routes/app.messages.$id_.results";
import * as messageList from "../routes/app.messages._index";
import * as messageNew from "../routes/app.messages.new";
import * as messagePreview from "../routes/app.messages.preview";
import * as dataRequest from "../routes/app.data-requests.$id";
import { ADMIN_ORIGIN, adminAs, call, type Answer, type Route } from "./admin-request";

const A = "isolation-a.myshopify.com";
const B = "isolation-b.myshopify.com";
const ORIGIN = ADMIN_ORIGIN;
const now = new Date();
const VISITOR_A = "visitor-of-shop-a-0001";
const GIFT_RULE = JSON.stringify({
  version: 1,
  match: { field: "visitor.answers", op: "in", value: ["intent=gift"] },
});

interface ShopData {
  id: number;
  messageId: number;
  variantId: number;
  failedEventId: number;
  exportId: number;
}
const shops: Record<string, ShopData> = {};

async function makeShop(domain: string, tag: string): Promise<ShopData> {
  const shop = await prisma.shop.create({ data: { domain, backfillStatus: "done" } });
  await ensurePresets(prisma, shop.id);
  await prisma.segment.create({
    data: {
      shopId: shop.id,
      handle: `gift-${tag.toLowerCase()}`,
      name: `Gift buyers of ${tag}`,
      rule: GIFT_RULE,
    },
  });
  await prisma.customer.create({
    data: { shopId: shop.id, shopifyId: "4242", email: `secret-${tag}@example.com`, shopifyUpdatedAt: now },
  });
  await prisma.product.create({
    data: { shopId: shop.id, shopifyId: "9001", title: `Product only ${tag} sells`, shopifyUpdatedAt: now },
  });
  const message = await prisma.message.create({
    data: {
      shopId: shop.id,
      name: `Message of ${tag}`,
      segmentHandle: `gift-${tag.toLowerCase()}`,
      format: "popup",
      trigger: "load",
      headline: `Headline of ${tag}`,
      active: true,
      holdoutPercent: 0,
    },
  });
  const variant = await prisma.messageVariant.create({
    data: { messageId: message.id, name: `Variant of ${tag}`, headline: `Variant headline of ${tag}` },
  });
  const failed = await prisma.webhookEvent.create({
    data: {
      shopDomain: domain,
      topic: "orders/create",
      eventId: `e-${tag}`,
      payload: "{}",
      status: "dead",
      lastError: `error of ${tag}`,
    },
  });
  const exported = await prisma.dataExport.create({
    data: {
      shopId: shop.id,
      customerShopifyId: "4242",
      email: `secret-${tag}@example.com`,
      payload: `{"of":"${tag}"}`,
    },
  });
  return {
    id: shop.id,
    messageId: message.id,
    variantId: variant.id,
    failedEventId: failed.id,
    exportId: exported.id,
  };
}

let adminRequest: Awaited<ReturnType<typeof adminAs>>;
let bBefore = "";

/** Everything of shop B that an admin action could change, as text. */
async function snapshotOfB(): Promise<string> {
  const id = shops[B].id;
  return JSON.stringify([
    await prisma.segment.findMany({ where: { shopId: id }, orderBy: { id: "asc" } }),
    await prisma.message.findMany({ where: { shopId: id }, include: { variants: true } }),
    await prisma.webhookEvent.findMany({ where: { shopDomain: B } }),
    await prisma.dataExport.findMany({ where: { shopId: id } }),
    await prisma.visitor.findMany({ where: { shopId: id } }),
    await prisma.storefrontEvent.findMany({ where: { shopId: id } }),
  ]);
}

beforeAll(async () => {
  shops[A] = await makeShop(A, "A");
  shops[B] = await makeShop(B, "B");
  // Shop A's visitor answered "gift": in A's segment, so A's message is theirs.
  await prisma.visitor.create({
    data: {
      id: VISITOR_A,
      shopId: shops[A].id,
      firstSeenAt: now,
      lastSeenAt: now,
      events: { create: { shopId: shops[A].id, type: "answer", resourceId: "intent=gift", occurredAt: now } },
    },
  });
  adminRequest = await adminAs(A);
  bBefore = await snapshotOfB();
});
afterAll(async () => {
  delete process.env.SLICE_DEV_LOGIN;
  await prisma.$disconnect();
});

/** Nothing of shop B's shows in an answer. */
function expectNothingOfB(answer: Answer) {
  // (Not B's handles: a 404 may repeat the address A asked for.)
  for (const mark of ["of B", "secret-B", "only B sells", "error of B"])
    expect(answer.text, `answer shows "${mark}"`).not.toContain(mark);
}

describe("shop A's admin asking for shop B's data", () => {
  it("gets 404 for B's segment page, edit page, CSV export and its copy as a new segment", async () => {
    const handle = "gift-b";
    for (const [route, path] of [
      [segmentPage.loader, `/app/segments/${handle}`],
      [segmentPage.loader, `/app/segments/${handle}?customer=4242`],
      [segmentExport.loader, `/app/segments/${handle}/export`],
      [segmentEdit.loader, `/app/segments/${handle}/edit`],
    ] as const) {
      const answer = await call(route as Route, adminRequest(path), { handle });
      expect(answer.status, path).toBe(404);
      expectNothingOfB(answer);
    }
    const copy = await call(segmentNew.loader as Route, adminRequest(`/app/segments/new?from=${handle}`));
    // An unknown segment to copy from: a blank builder, with nothing of B's rule or name.
    expect([200, 404]).toContain(copy.status);
    expectNothingOfB(copy);
  });

  it("cannot change, delete or push B's segment", async () => {
    const handle = "gift-b";
    const edit = await call(
      segmentEdit.action as Route,
      adminRequest(`/app/segments/${handle}/edit`, { form: { intent: "delete" } }),
      { handle },
    );
    expect(edit.status).not.toBe(302);
    const push = await call(
      segmentPage.action as Route,
      adminRequest(`/app/segments/${handle}`, { form: { intent: "push-options", tag: "on" } }),
      { handle },
    );
    expect(push.text).not.toContain('"ok":true');
    expect(await snapshotOfB()).toBe(bBefore);
  });

  it("sees only its own segments, products and customers in lists, pickers and previews", async () => {
    const list = await call(segmentList.loader as Route, adminRequest("/app/segments"));
    expect(list.status).toBe(200);
    expect(list.text).toContain("gift-a");
    expectNothingOfB(list);
    const options = await call(
      segmentOptions.loader as Route,
      adminRequest("/app/segments/options?kind=product&q=Product"),
    );
    expect(options.text).toContain("Product only A sells");
    expectNothingOfB(options);
    // A rule naming B's segment: refused as unknown here.
    const preview = await call(
      segmentPreview.action as Route,
      adminRequest("/app/segments/preview", { json: { rule: { version: 1, match: { segment: "gift-b" } } } }),
    );
    expect(preview.text).toContain('no segment \\"gift-b\\"');
    expectNothingOfB(preview);
  });

  it("gets 404 for B's message page and results, and nothing of B's in the message list or preview", async () => {
    const id = String(shops[B].messageId);
    for (const [route, path] of [
      [messagePage.loader, `/app/messages/${id}`],
      [messageResults.loader, `/app/messages/${id}/results?days=30`],
    ] as const) {
      const answer = await call(route as Route, adminRequest(path), { id });
      expect(answer.status, path).toBe(404);
      expectNothingOfB(answer);
    }
    for (const [route, path] of [
      [messageList.loader, "/app/messages"],
      [messagePreview.loader, "/app/messages/preview"],
      [messageNew.loader, "/app/messages/new?segment=gift-b"],
    ] as const) {
      const answer = await call(route as Route, adminRequest(path));
      expectNothingOfB(answer);
    }
  });

  it("cannot pause, edit, delete or change the variants of B's message", async () => {
    const id = String(shops[B].messageId);
    const variantId = String(shops[B].variantId);
    const attempts: [Route, string, Record<string, string>, Record<string, string>][] = [
      [messageList.action as Route, "/app/messages", { intent: "active", id, active: "off" }, {}],
      [messagePage.action as Route, `/app/messages/${id}`, { intent: "delete" }, { id }],
      [
        messagePage.action as Route,
        `/app/messages/${id}`,
        {
          intent: "save",
          name: "Taken over",
          headline: "x",
          segment: "gift-a",
          format: "popup",
          trigger: "load",
        },
        { id },
      ],
      [messagePage.action as Route, `/app/messages/${id}`, { intent: "variant-delete", variantId }, { id }],
      [
        messagePage.action as Route,
        `/app/messages/${id}`,
        { intent: "variant-save", variantId, name: "Taken", weight: "1" },
        { id },
      ],
      [
        messagePage.action as Route,
        `/app/messages/${shops[A].messageId}`,
        { intent: "variant-delete", variantId },
        { id: String(shops[A].messageId) },
      ],
      [messageNew.action as Route, "/app/messages/new", { intent: "active", id, active: "off" }, {}],
    ];
    for (const [route, path, form, params] of attempts) {
      const answer = await call(route, adminRequest(path, { form }), params);
      expect(answer.status, `${path} ${form.intent}`).not.toBe(302);
      expect(answer.text, `${path} ${form.intent}`).not.toContain('"ok":true');
    }
    expect(await snapshotOfB()).toBe(bBefore);
  });

  it("cannot retry B's failed webhook events nor download B's data requests", async () => {
    const retried = await call(
      home.action as Route,
      adminRequest("/app/sync", { form: { intent: "replay", id: String(shops[B].failedEventId) } }),
    );
    expect(retried.text).toContain("0 events queued again");
    const all = await call(home.action as Route, adminRequest("/app/sync", { form: { intent: "replay" } }));
    expect(all.text).toContain("1 event queued again");
    const homePage = await call(home.loader as Route, adminRequest("/app/sync"));
    expect(homePage.text).toContain("secret-A@example.com");
    expectNothingOfB(homePage);
    const download = await call(
      dataRequest.loader as Route,
      adminRequest(`/app/data-requests/${shops[B].exportId}`),
      {
        id: String(shops[B].exportId),
      },
    );
    expect(download.status).toBe(404);
    const mine = await call(
      dataRequest.loader as Route,
      adminRequest(`/app/data-requests/${shops[A].exportId}`),
      {
        id: String(shops[A].exportId),
      },
    );
    expect(mine).toEqual({ status: 200, text: '{"of":"A"}' });
    expect(await snapshotOfB()).toBe(bBefore);
  });
});

describe("the storefront signed for shop B", () => {
  const proxy = (shop: string) => ({ appOrigin: ORIGIN, secret: TEST_SECRET, shop });

  it("decides on B's data only: A's visitor is a stranger at B", async () => {
    const decideUrl = (shop: string) =>
      new URL(
        proxiedRequest(`/apps/slice/decide?visitor=${VISITOR_A}&page=index&path=/&consent=1`, proxy(shop))
          .url,
      );
    const atA = await decideForUrl(decideUrl(A), prisma);
    expect(atA.body).toMatchObject({ message: { id: shops[A].messageId } });
    const atB = await decideForUrl(decideUrl(B), prisma);
    expect(atB).toEqual({ status: 200, body: { message: null } });
  });

  it("cannot add events to A's visitor, take a code for A's offer or answer as A's visitor", async () => {
    const aBefore = await prisma.storefrontEvent.count({ where: { shopId: shops[A].id } });
    const events = await receiveEvents(
      proxiedRequest(
        new Request(`https://${B}/apps/slice/events`, {
          method: "POST",
          body: JSON.stringify({
            visitorId: VISITOR_A,
            consent: { analytics: true },
            context: {},
            events: [{ type: "answer", at: new Date().toISOString(), resourceId: "intent=forged" }],
          }),
        }),
        proxy(B),
      ),
      prisma,
    );
    expect(events.status).toBe(409);
    const code = await receiveCodeRequest(
      proxiedRequest(
        new Request(`https://${B}/apps/slice/code`, {
          method: "POST",
          body: JSON.stringify({ visitorId: VISITOR_A, messageId: shops[A].messageId }),
        }),
        proxy(B),
      ),
      prisma,
    );
    expect(code.status).toBe(404);
    const answer = await receiveAnswer(
      proxiedRequest(
        new Request(`https://${B}/apps/slice/answer`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `question=intent&answer=forged&visitorId=${VISITOR_A}`,
        }),
        proxy(B),
      ),
      prisma,
    );
    expect(answer.status).toBe(409);
    expect(await prisma.storefrontEvent.count({ where: { shopId: shops[A].id } })).toBe(aBefore);
    expect(await prisma.storefrontEvent.count({ where: { resourceId: { contains: "forged" } } })).toBe(0);
    expect(await snapshotOfB()).toBe(bBefore);
  });
});

describe("the CLI", () => {
  it("works only on the shop named by --shop", async () => {
    const lines: string[] = [];
    const out = (line: string) => void lines.push(line);
    await expect(main(["messages", "pause", String(shops[B].messageId), "--shop", A], out)).rejects.toThrow(
      /no message/,
    );
    await expect(main(["segments", "show", "gift-b", "--shop", A], out)).rejects.toThrow();
    await expect(main(["privacy", "show", String(shops[B].exportId), "--shop", A], out)).rejects.toThrow(
      /no data export/,
    );
    expect(await main(["privacy", "list", "--shop", A], out)).toBe(0);
    expect(await main(["messages", "list", "--shop", A], out)).toBe(0);
    expect(lines.join("\n")).not.toMatch(/of B|secret-B/);
    expect(await snapshotOfB()).toBe(bBefore);
  });
});

describe("the web pixel naming shop B", () => {
  const pixelBatch = (shop: string, clientId: string, events: Record<string, unknown>[]) =>
    new Request(`${ORIGIN}/pixel`, {
      method: "POST",
      body: JSON.stringify({
        shop,
        clientId,
        consent: { analytics: true },
        sentAt: new Date().toISOString(),
        events,
      }),
    });

  it("cannot add events to A's visitor", async () => {
    const aBefore = await prisma.storefrontEvent.count({ where: { shopId: shops[A].id } });
    const response = await receivePixel(
      pixelBatch(B, VISITOR_A, [{ name: "page_viewed", at: new Date().toISOString(), path: "/forged" }]),
      prisma,
    );
    expect(response.status).toBe(409);
    expect(await prisma.storefrontEvent.count({ where: { shopId: shops[A].id } })).toBe(aBefore);
    expect(await prisma.visitor.findUniqueOrThrow({ where: { id: VISITOR_A } })).toMatchObject({
      shopId: shops[A].id,
      pixelKeyHash: null,
    });
  });

  it("never links A's order, now or when it arrives later, whatever checkout token it sends", async () => {
    const at = new Date().toISOString();
    const order = (id: number, token: string) =>
      orderFromWebhook({
        id,
        currency: "USD",
        total_price: "10.00",
        checkout_token: token,
        created_at: at,
        line_items: [],
      });
    await prisma.$transaction((tx) => applyOrder(tx, shops[A].id, order(880001, "tok-of-a-now")));
    for (const token of ["tok-of-a-now", "tok-of-a-later"]) {
      const response = await receivePixel(
        pixelBatch(B, `pixel-of-shop-b-${token}`, [{ name: "checkout_completed", at, checkoutToken: token }]),
        prisma,
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ linked: 0 });
    }
    await prisma.$transaction((tx) => applyOrder(tx, shops[A].id, order(880002, "tok-of-a-later")));
    const orders = await prisma.order.findMany({
      where: { shopId: shops[A].id, shopifyId: { in: ["880001", "880002"] } },
    });
    expect(orders.map((o) => o.visitorId)).toEqual([null, null]);
    expect(await prisma.pendingCheckoutLink.count({ where: { shopId: shops[A].id } })).toBe(0);
  });
});
