/** What the segment pages show: the size history walked back from joined/left records. */
import { afterAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { MEMBERS_PAGE, segmentDetail, segmentList, sizeHistories, sizeHistory } from "./views.server";

afterAll(() => prisma.$disconnect());

describe("a segment's size history", () => {
  it("shows the size at the end of each day, from who joined and left", async () => {
    const shop = await prisma.shop.create({ data: { domain: "history.myshopify.com" } });
    const segment = await prisma.segment.create({
      data: { shopId: shop.id, handle: "h", name: "h", rule: "{}", size: 4 },
    });
    const now = new Date("2026-06-15T12:00:00Z");
    const at = (daysAgo: number, hour = 10) => new Date(Date.UTC(2026, 5, 15 - daysAgo, hour));
    const change = (id: string, joined: boolean, when: Date) => ({
      segmentId: segment.id,
      customerShopifyId: id,
      joined,
      at: when,
    });
    await prisma.segmentChange.createMany({
      data: [
        change("1", true, at(40)), // before the window: part of the starting size
        change("2", true, at(2)),
        change("3", true, at(2, 23)),
        change("4", true, at(2)),
        change("2", false, at(1)),
        change("5", true, at(0, 1)),
        change("6", true, at(0, 2)),
        change("6", false, at(0, 3)),
      ],
    });
    const points = await sizeHistory(prisma, segment, now, 5);
    expect(points).toEqual([
      { day: "2026-06-11", size: 1, joined: 0, left: 0 },
      { day: "2026-06-12", size: 1, joined: 0, left: 0 },
      { day: "2026-06-13", size: 4, joined: 3, left: 0 },
      { day: "2026-06-14", size: 3, joined: 0, left: 1 },
      { day: "2026-06-15", size: 4, joined: 2, left: 1 },
    ]);
  });

  it("draws every segment of a shop from one query, and no other shop's", async () => {
    const shop = await prisma.shop.create({ data: { domain: "histories.myshopify.com" } });
    const other = await prisma.shop.create({ data: { domain: "histories-other.myshopify.com" } });
    const make = (shopId: number, handle: string, size: number) =>
      prisma.segment.create({ data: { shopId, handle, name: handle, rule: "{}", size } });
    const a = await make(shop.id, "a", 2);
    const b = await make(shop.id, "b", 0);
    const theirs = await make(other.id, "a", 5);
    const now = new Date("2026-06-15T12:00:00Z");
    await prisma.segmentChange.createMany({
      data: [
        { segmentId: a.id, customerShopifyId: "1", joined: true, at: new Date("2026-06-14T10:00:00Z") },
        { segmentId: a.id, customerShopifyId: "2", joined: true, at: new Date("2026-06-15T10:00:00Z") },
        { segmentId: b.id, customerShopifyId: "1", joined: false, at: new Date("2026-06-13T10:00:00Z") },
        { segmentId: theirs.id, customerShopifyId: "9", joined: true, at: new Date("2026-06-15T10:00:00Z") },
      ],
    });
    const histories = await sizeHistories(prisma, shop.id, [a, b], now, 4);
    expect([...histories.keys()]).toEqual([a.id, b.id]);
    expect(histories.get(a.id)!.map((p) => p.size)).toEqual([0, 0, 1, 2]);
    expect(histories.get(b.id)!.map((p) => p.size)).toEqual([1, 0, 0, 0]);
    expect(histories.get(a.id)).toEqual(await sizeHistory(prisma, a, now, 4));
  });
});

describe("a segment's members, a page at a time", () => {
  it("lists 25 a page, who joined most recently first, and clamps a page past the end", async () => {
    const shop = await prisma.shop.create({
      data: { domain: "members-paging.myshopify.com", currency: "EUR" },
    });
    const rule = { version: 1, match: { field: "customer.ordersCount", op: "gte", value: 0 } };
    const segment = await prisma.segment.create({
      data: { shopId: shop.id, handle: "all", name: "All", rule: JSON.stringify(rule), size: 30 },
    });
    const at = (i: number) => new Date(Date.UTC(2026, 5, 1) + i * 3_600_000);
    for (let i = 1; i <= 30; i++)
      await prisma.customer.create({
        data: { shopId: shop.id, shopifyId: String(100 + i), firstName: `C${i}`, shopifyUpdatedAt: at(0) },
      });
    await prisma.segmentMember.createMany({
      data: Array.from({ length: 30 }, (_, k) => ({
        segmentId: segment.id,
        customerShopifyId: String(101 + k),
        since: at(k),
      })),
    });
    const first = await segmentDetail(prisma, shop.domain, "all", { page: 1 });
    expect(first?.memberCount).toBe(30);
    expect(first?.pages).toBe(2);
    expect(first?.members).toHaveLength(MEMBERS_PAGE);
    expect(first?.members[0]).toMatchObject({
      shopifyId: "130",
      firstName: "C30",
      since: at(29).toISOString(),
    });
    const second = await segmentDetail(prisma, shop.domain, "all", { page: 2 });
    expect(second?.members.map((m) => m.shopifyId)).toEqual(["105", "104", "103", "102", "101"]);
    expect((await segmentDetail(prisma, shop.domain, "all", { page: 99 }))?.page).toBe(2);
    expect((await segmentDetail(prisma, shop.domain, "all", { page: Number.NaN }))?.page).toBe(1);
    // The rule reads in the shop's currency.
    expect(first?.lines).toEqual([{ depth: 0, text: "Number of orders is at least 0" }]);
    const list = await segmentList(prisma, shop.domain);
    expect(list[0].trend).toHaveLength(30);
  });
});
