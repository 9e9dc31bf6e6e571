/**
 * A fresh demo's offers have results: the demo's simulated shoppers (dev/shoppers.ts), replayed
 * through the real storefront code on a small generated shop, give the welcome offer treated and
 * held-out shoppers through the real assignment, orders, and a lift with its 95% interval; and
 * the same seed gives the same figures.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma, { dialect } from "../db.server";
import { closeHot } from "../db-hot.server";
import { AdminApi } from "../sync/admin-api.server";
import { insertDeliveries } from "../sync/intake.server";
import { InboxWorker } from "../sync/worker.server";
import { afterWebhook } from "../segments/incremental.server";
import { ensurePresets, recompute as recomputeSegments } from "../segments/store.server";
import { ensureStarterMessages } from "../messages/store.server";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { ingestStore } from "../../dev/testing/ingest";
import { deliveriesOf } from "../../dev/testing/compare";
import { TEST_SECRET } from "../../dev/testing/setup";
import { appCodeMaker, replayShoppers } from "../../dev/shoppers";
import { offerResults, liftInWords } from "./results.server";

const DAY = 86_400_000;
const END = new Date("2026-12-04T18:00:00Z");
const store = generateStore({ customers: 30, seed: 5, now: new Date("2026-11-25T12:00:00Z") });
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 5000, bulkDelayMs: 5 });
let shopId = 0;

// The demo is the embedded default's: it runs on SQLite only (the same storefront and results code
// is tested on PostgreSQL by their own tests), so this replay of 1,150 shoppers runs there only.
describe.skipIf(dialect === "postgres")("the demo's replayed shoppers (SQLite: the demo's database)", () => {
  beforeAll(async () => {
    await standIn.start();
    shopId = await ingestStore(prisma, store);
    await ensurePresets(prisma, shopId);
    await ensureStarterMessages(prisma, shopId, true);
    await recomputeSegments(prisma, shopId, END);
  }, 120_000);

  afterAll(async () => {
    await standIn.stop();
    await closeHot();
    await prisma.$disconnect();
  });

  it("a fresh demo's welcome offer shows a lift with its interval, from shoppers who really were assigned", async () => {
    const api = new AdminApi({
      shop: store.shop.domain,
      accessToken: "shpat_standin",
      origin: standIn.origin,
      sleep: async () => {},
    });
    const replay = await replayShoppers({
      db: prisma,
      store,
      secret: TEST_SECRET,
      // The smallest number of first-time visitors whose 10% holdout reaches the 100 a lift needs.
      visitors: 1150,
      days: 21,
      end: END,
      seed: 2026,
      makeCodes: await appCodeMaker(prisma, api),
      redeem: (input) => standIn.redeem(input),
      deliver: async (lines) => {
        await insertDeliveries(prisma, deliveriesOf(lines));
      },
      settle: async () => {
        // As the server's worker: each applied event updates memberships and redeems the codes it used.
        await new InboxWorker(prisma, {
          now: () => new Date("2031-01-01"),
          afterApply: (event) => afterWebhook(prisma, event, END, async () => api),
        }).drain();
      },
    });
    expect(replay.refused.slice(0, 5)).toEqual([]);
    expect(replay.orders).toBeGreaterThan(30);

    const welcome = await prisma.message.findFirstOrThrow({
      where: { shopId, segmentHandle: "first-time-visitors" },
    });
    const results = await offerResults(
      prisma,
      shopId,
      welcome.id,
      { from: new Date(END.getTime() - 30 * DAY), to: END },
      END,
    );
    expect(results).not.toBeNull();
    const r = results!;
    // Every first-time visitor was decided for; 10% held out by the real assignment.
    expect(r.treatment.units + r.holdout.units).toBe(1150);
    expect(r.holdout.units).toBeGreaterThanOrEqual(100);
    expect(r.holdout.units / 1150).toBeGreaterThan(0.07);
    expect(r.holdout.units / 1150).toBeLessThan(0.13);
    // Not every treated shopper saw it (a third leave before the 5 s delay): fewer impressions.
    expect(r.impressions).toBeLessThan(r.treatment.units);
    expect(r.impressions).toBeGreaterThan(r.treatment.units * 0.5);
    expect(r.codes.issued).toBe(r.impressions);
    expect(r.codes.redeemed).toBeGreaterThan(0);
    // The lift: with its interval, and around the effect built into the shoppers.
    expect(r.lift.status).toBe("ok");
    if (r.lift.status !== "ok") return;
    expect(r.lift.absoluteInterval[0]).toBeLessThan(r.lift.absoluteLift);
    expect(r.lift.absoluteInterval[1]).toBeGreaterThan(r.lift.absoluteLift);
    console.log(
      `welcome offer: ${r.treatment.conversions}/${r.treatment.units} treated, ${r.holdout.conversions}/${r.holdout.units} held out, ${r.impressions} impressions: ${liftInWords(r.lift)}`,
    );
    expect(r.lift.absoluteLift).toBeGreaterThan(0);
    expect(liftInWords(r.lift)).toMatch(/^\+\d+\.\d pp \(95% CI [+−±]\d+\.\d to \+\d+\.\d pp\)$/);
    // The cart reminder had its returning cart abandoners too (but those holding the welcome code,
    // who are reminded of that code instead).
    const reminder = await prisma.message.findFirstOrThrow({
      where: { shopId, segmentHandle: "cart-abandoners" },
    });
    const cart = await offerResults(
      prisma,
      shopId,
      reminder.id,
      { from: new Date(END.getTime() - 30 * DAY), to: END },
      END,
    );
    expect(cart!.treatment.units + cart!.holdout.units).toBeGreaterThan(replay.returnVisits / 2);
    expect(cart!.treatment.units + cart!.holdout.units).toBeLessThanOrEqual(replay.returnVisits);
    expect(cart!.treatment.conversions + cart!.holdout.conversions).toBeGreaterThan(0);
  }, 600_000);
});
