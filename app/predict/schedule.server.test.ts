/**
 * A shop's models are fitted again daily and as soon as a history import has finished since the
 * last fit, never before the first import; `slice predict fit|show` runs and shows a fit.
 */
import { beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { main, UsageError } from "../cli";
import { drawOrders, writeDrawnShop } from "../../dev/testing/predict-shop";
import { fitDue, fitIfDue, FIT_EVERY_MS } from "./schedule.server";
import { membersBySql, shopSegments } from "../segments/store.server";
import { predictedPresets, RETIRED_PRESET_RULES } from "../engine/presets";

const NOW = new Date("2026-11-25T12:00:00Z");
const HOUR = 3_600_000;

describe("when a shop is fitted again", () => {
  it("is due with no fit yet, a day after the last, or when a history import finished since", () => {
    expect(fitDue(null, null, NOW)).toBe(true);
    const last = new Date(NOW.getTime() - HOUR);
    expect(fitDue(new Date(NOW.getTime() - 2 * HOUR), last, NOW)).toBe(false);
    expect(fitDue(new Date(NOW.getTime() - HOUR / 2), last, NOW)).toBe(true);
    expect(fitDue(null, new Date(NOW.getTime() - FIT_EVERY_MS), NOW)).toBe(true);
    expect(fitDue(null, new Date(NOW.getTime() - FIT_EVERY_MS + 1), NOW)).toBe(false);
  });

  it("fits after the history import, not again the same day, and again after a new import", async () => {
    const { id: shopId } = await prisma.shop.create({
      data: { domain: "schedule.myshopify.com", backfillStatus: "running" },
    });
    expect(await fitIfDue(prisma, shopId, NOW)).toBe(false);
    await prisma.shop.update({ where: { id: shopId }, data: { backfillStatus: "done", backfillAt: NOW } });
    const later = new Date(NOW.getTime() + HOUR);
    expect(await fitIfDue(prisma, shopId, later)).toBe(true);
    expect(await fitIfDue(prisma, shopId, new Date(later.getTime() + HOUR))).toBe(false);
    await prisma.shop.update({
      where: { id: shopId },
      data: { backfillAt: new Date(later.getTime() + 2 * HOUR) },
    });
    expect(await fitIfDue(prisma, shopId, new Date(later.getTime() + 3 * HOUR))).toBe(true);
    expect(await prisma.predictionFit.count({ where: { shopId } })).toBe(2);
  });
});

describe("npm run slice -- predict", () => {
  beforeAll(async () => {
    const { id } = await prisma.shop.create({
      data: { domain: "cli-predict.myshopify.com", backfillStatus: "done" },
    });
    const params = { r: 0.5, alpha: 40, a: 0.6, b: 2.5 };
    await writeDrawnShop(
      prisma,
      id,
      600,
      drawOrders({ customers: 600, params, now: NOW, days: 730, seed: 5 }),
    );
  });

  it("fits the shop and shows the fit, its holdout check and tiers", async () => {
    const out: string[] = [];
    const args = ["--shop", "cli-predict.myshopify.com", "--now", NOW.toISOString()];
    expect(await main(["predict", "fit", ...args], (l) => out.push(String(l)))).toBe(0);
    const text = out.join("\n");
    expect(text).toMatch(/fit #\d+, 2026-11-25T12:00:00.000Z: ready/);
    expect(text).toContain("customers with orders 600");
    expect(text).toMatch(/BG\/NBD: r [\d.e+-]+, alpha/);
    expect(text).toContain("holdout check: fitted on orders before 2026-08-27, the 90 days after");
    expect(text).toContain("predictions held: 600 customers");
    // The first ready fit creates the predicted presets and fills them: each segment's stored
    // members are what the compiler finds with the new predictions, the top 10% about a tenth.
    expect(text).toMatch(/segments recomputed with the new predictions: .*predicted-top-10/);
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: "cli-predict.myshopify.com" } });
    const { rules, resolve } = await shopSegments(prisma, shop.id);
    for (const handle of ["likely-to-buy-30d", "valuable-slipping-away", "predicted-top-10"]) {
      const segment = await prisma.segment.findUniqueOrThrow({
        where: { shopId_handle: { shopId: shop.id, handle } },
        include: { _count: { select: { members: true } } },
      });
      const expected = await membersBySql(prisma, shop.id, rules.get(handle)!, NOW, resolve);
      expect(segment._count.members, handle).toBe(expected.size);
      expect(segment.size, handle).toBe(expected.size);
    }
    const top = await prisma.segment.findUniqueOrThrow({
      where: { shopId_handle: { shopId: shop.id, handle: "predicted-top-10" } },
    });
    expect(top.size).toBeGreaterThanOrEqual(50);
    expect(top.size).toBeLessThanOrEqual(70);
    // Only the predicted presets are made then, and only by the first ready fit: one the merchant
    // deletes stays deleted after the next day's fit.
    expect(await prisma.segment.count({ where: { shopId: shop.id } })).toBe(3);
    await prisma.segment.delete({ where: { id: top.id } });
    // A preset made by an earlier version of the app, never edited, follows its new definition at
    // the next fit; one the merchant edited keeps their rule.
    const retired = RETIRED_PRESET_RULES.find((r) => r.handle === "valuable-slipping-away")!;
    await prisma.segment.update({
      where: { shopId_handle: { shopId: shop.id, handle: "valuable-slipping-away" } },
      data: { rule: JSON.stringify(retired.rule), description: retired.description },
    });
    const edited = JSON.stringify({
      version: 1,
      match: { field: "predicted.orders", op: "gte", value: 0.8, days: 30 },
    });
    await prisma.segment.update({
      where: { shopId_handle: { shopId: shop.id, handle: "likely-to-buy-30d" } },
      data: { rule: edited },
    });
    const next = new Date(NOW.getTime() + 86_400_000);
    expect(
      await main(["predict", "fit", "--shop", "cli-predict.myshopify.com", "--now", next.toISOString()]),
    ).toBe(0);
    expect(await prisma.segment.count({ where: { shopId: shop.id, handle: "predicted-top-10" } })).toBe(0);
    const current = predictedPresets().find((p) => p.handle === "valuable-slipping-away")!;
    const slipping = await prisma.segment.findUniqueOrThrow({
      where: { shopId_handle: { shopId: shop.id, handle: "valuable-slipping-away" } },
      include: { _count: { select: { members: true } } },
    });
    expect(slipping).toMatchObject({ rule: JSON.stringify(current.rule), description: current.description });
    const upgraded = await shopSegments(prisma, shop.id);
    expect(slipping._count.members).toBe(
      (await membersBySql(prisma, shop.id, current.rule, next, upgraded.resolve)).size,
    );
    expect(
      (
        await prisma.segment.findUniqueOrThrow({
          where: { shopId_handle: { shopId: shop.id, handle: "likely-to-buy-30d" } },
        })
      ).rule,
    ).toBe(edited);
    const shown: string[] = [];
    expect(
      await main(["predict", "show", "--shop", "cli-predict.myshopify.com"], (l) => shown.push(String(l))),
    ).toBe(0);
    expect(shown.join("\n")).toContain("top 10% from $");
  });

  it("names what is wrong with the command line", async () => {
    await expect(main(["predict", "fit"])).rejects.toThrow(UsageError);
    await expect(main(["predict", "fit"])).rejects.toThrow("predict fit needs --shop");
    await expect(main(["predict", "show", "--shop", "x.myshopify.com", "--now", "soon"])).rejects.toThrow(
      '--now must be an ISO time (got "soon")',
    );
    await expect(main(["predict", "show", "--shop", "nowhere.myshopify.com"])).rejects.toThrow(
      "no shop nowhere.myshopify.com in this database",
    );
  });
});
