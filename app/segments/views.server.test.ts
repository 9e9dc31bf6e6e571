/** What the segment pages show: the size history walked back from joined/left records. */
import { afterAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { sizeHistory } from "./views.server";

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
});
