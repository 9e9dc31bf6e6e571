/**
 * Until Shopify grants read_all_orders the admin says what is missing and what it affects: the
 * home page always, a segment's page when its rule reads order history. The granted scopes come
 * from the shop's offline session, as the Shopify library stores them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { ensurePresets } from "../segments/store.server";
import * as home from "../routes/app.sync";
import * as segmentPage from "../routes/app.segments.$handle";
import { adminAs, call } from "../security/admin-request";
import { orderHistoryAccess } from "./scopes.server";
import { builderPage, newSegmentPage } from "../segments/builder.server";
import { orderHistoryConditions } from "../engine/lifetime";
import { presets } from "../engine/presets";

const LIMITED = "history-limited.myshopify.com";
const GRANTED = "history-granted.myshopify.com";
const WITHOUT =
  "read_customers,write_customers,read_orders,read_products,read_discounts,write_discounts,write_app_proxy";

async function install(domain: string, scope: string) {
  await prisma.session.deleteMany({ where: { shop: domain } });
  await prisma.shop.deleteMany({ where: { domain } });
  const shop = await prisma.shop.create({ data: { domain, backfillStatus: "done" } });
  await prisma.session.create({
    data: {
      id: `offline_${domain}`,
      shop: domain,
      state: "",
      isOnline: false,
      scope,
      accessToken: "shpat_test",
    },
  });
  await ensurePresets(prisma, shop.id);
}

beforeAll(async () => {
  await install(LIMITED, WITHOUT);
  await install(GRANTED, `${WITHOUT},read_all_orders`);
});
afterAll(() => prisma.$disconnect());

describe("read_all_orders in the admin", () => {
  it("reads the granted scopes from the offline session", async () => {
    expect(await orderHistoryAccess(prisma, LIMITED)).toMatchObject({ limited: true });
    expect(await orderHistoryAccess(prisma, GRANTED)).toMatchObject({ limited: false });
    expect((await orderHistoryAccess(prisma, GRANTED)).granted).toContain("read_all_orders");
  });

  it("the segment builder says it too, where the merchant writes conditions", async () => {
    expect((await newSegmentPage(prisma, LIMITED, { from: null, template: null }))?.orderHistoryLimited).toBe(
      true,
    );
    expect((await builderPage(prisma, LIMITED, "high-spend-repeat"))?.orderHistoryLimited).toBe(true);
    expect((await newSegmentPage(prisma, GRANTED, { from: null, template: null }))?.orderHistoryLimited).toBe(
      false,
    );
  });

  it("the home page says what is missing until it is granted", async () => {
    const limited = await call(home.loader, (await adminAs(LIMITED))("/app/sync"));
    expect(JSON.parse(limited.text).orderHistory).toMatchObject({ limited: true });
    const granted = await call(home.loader, (await adminAs(GRANTED))("/app/sync"));
    expect(JSON.parse(granted.text).orderHistory).toMatchObject({ limited: false });
  });

  it("a segment that reads order history lists the conditions affected; others and granted shops say nothing", async () => {
    const page = async (shop: string, handle: string) =>
      JSON.parse(
        (await call(segmentPage.loader, (await adminAs(shop))(`/app/segments/${handle}`), { handle })).text,
      ).orderHistory as string[] | null;
    expect(await page(LIMITED, "lapsed-customers")).toEqual([expect.stringMatching(/last order/i)]);
    expect((await page(LIMITED, "first-time-customers"))?.length).toBe(2);
    expect(await page(LIMITED, "cart-abandoners")).toBeNull();
    expect(await page(GRANTED, "lapsed-customers")).toBeNull();
  });

  it("names lifetime fields, windows over 60 days and referenced segments; not short windows", () => {
    const rules = new Map(presets({ topSpendThreshold: 100 }).map((p) => [p.handle, p.rule]));
    const resolve = (h: string) => rules.get(h) ?? null;
    const fields = (match: object) =>
      orderHistoryConditions({ version: 1, match } as never, resolve).map(
        (c) => `${c.field}:${c.days ?? ""}`,
      );
    expect(fields({ field: "orders.products", op: "in", value: ["1"], days: 90 })).toEqual([
      "orders.products:90",
    ]);
    expect(fields({ field: "orders.products", op: "in", value: ["1"], days: 60 })).toEqual([]);
    expect(fields({ not: { segment: "high-spend-repeat" } })).toEqual([
      "customer.ordersCount:",
      "customer.totalSpent:",
    ]);
    expect(fields({ field: "visitor.sessions", op: "gte", value: 2 })).toEqual([]);
  });
});
