/**
 * Fitting per shop (issue 17, item 2): the summaries computed in SQL from a shop's orders, the
 * holdout check, what is stored when a shop has too little history or cannot see all of it, every
 * customer's predictions written and refreshed, and a deleted or redacted customer's prediction
 * gone. Runs on SQLite and PostgreSQL. The shop's customers are drawn from known BG/NBD
 * parameters (dev/testing/predict-shop.ts) and written as orders: the fit recovers them from the
 * stored orders and predicts the holdout within a few percent.
 */
import { beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { hotFor } from "../db-hot.server";
import { eraseCustomer } from "../privacy/customer-data.server";
import { deleteCustomer } from "../sync/apply.server";
import { customerGid, drawOrders, writeDrawnShop } from "../../dev/testing/predict-shop";
import {
  currentFit,
  fitShop,
  hiddenOrdersMessage,
  latestFit,
  LIMITED_HISTORY_MESSAGE,
  refreshPredictions,
  value12mOf,
} from "./fit.server";
import { predictCustomer } from "../engine/predict/predict";
import { afterApplied } from "../sync/after-apply.server";
import {
  agoAt,
  agoDayOf,
  DAY_MS,
  holdoutSplit,
  readSummaries,
  summariesOf,
  summaryAt,
} from "./summaries.server";
import { probabilityActive } from "../engine/predict/bgnbd";

const NOW = new Date("2026-11-25T12:00:00Z");
const day = (iso: string) => new Date(`${iso}T00:00:00Z`);

async function shop(domain: string, scope = "read_orders,read_all_orders,read_customers") {
  const { id } = await prisma.shop.create({ data: { domain, backfillStatus: "done" } });
  await prisma.session.create({
    data: { id: `offline_${domain}`, shop: domain, state: "", isOnline: false, scope, accessToken: "t" },
  });
  return id;
}

let order = 0;
async function orderOf(
  shopId: number,
  customer: string | null,
  processedAt: string,
  totalPrice: number,
  extra: { totalRefunded?: number; cancelledAt?: Date; test?: boolean } = {},
) {
  const at = new Date(processedAt);
  await prisma.order.create({
    data: {
      shopId,
      shopifyId: String(++order),
      customerShopifyId: customer,
      currency: "USD",
      totalPrice,
      processedAt: at,
      shopifyCreatedAt: at,
      shopifyUpdatedAt: at,
      ...extra,
    },
  });
}

async function customer(shopId: number, shopifyId: string, deletedAt?: Date) {
  return (
    await prisma.customer.create({
      data: { shopId, shopifyId, shopifyUpdatedAt: new Date("2026-01-01"), deletedAt },
      select: { id: true },
    })
  ).id;
}

describe("a customer's summary, computed in SQL from the shop's orders", () => {
  let shopId = 0;
  const ids: Record<string, number> = {};
  beforeAll(async () => {
    shopId = await shop("summaries.myshopify.com");
    for (const c of ["ann", "ben", "cat", "dan", "eve"]) ids[c] = await customer(shopId, c);
    ids.gone = await customer(shopId, "gone", new Date("2026-10-01"));
    // ann: three purchase days; two orders on 2026-03-10 are one purchase of their summed value.
    await orderOf(shopId, "ann", "2026-01-05T09:00:00Z", 5000);
    await orderOf(shopId, "ann", "2026-03-10T08:00:00Z", 3000);
    await orderOf(shopId, "ann", "2026-03-10T23:59:00Z", 1000, { totalRefunded: 500 });
    await orderOf(shopId, "ann", "2026-09-20T10:00:00Z", 6000);
    // Not purchases: cancelled, test, after now.
    await orderOf(shopId, "ann", "2026-06-01T10:00:00Z", 9999, { cancelledAt: new Date("2026-06-02") });
    await orderOf(shopId, "ann", "2026-07-01T10:00:00Z", 9999, { test: true });
    await orderOf(shopId, "ann", "2026-12-01T10:00:00Z", 9999);
    // ben: one purchase only. cat: none. dan: only in the holdout. eve: a repeat in the holdout.
    await orderOf(shopId, "ben", "2026-04-01T10:00:00Z", 2500);
    await orderOf(shopId, "dan", "2026-10-01T10:00:00Z", 4000);
    await orderOf(shopId, "eve", "2026-02-01T10:00:00Z", 1000);
    await orderOf(shopId, "eve", "2026-05-01T10:00:00Z", 2000);
    await orderOf(shopId, "eve", "2026-10-15T10:00:00Z", 4000);
    await orderOf(shopId, "eve", "2026-11-25T08:00:00Z", 4000); // today: after the holdout's end
    // A guest order and a deleted customer's order: nobody's summary.
    await orderOf(shopId, null, "2026-05-01T10:00:00Z", 7000);
    await orderOf(shopId, "gone", "2026-05-01T10:00:00Z", 7000);
  });

  it("counts purchase days (orders on one day are one purchase), days between first and last, age, and the mean net value of the repeats", async () => {
    const s = await readSummaries(hotFor(prisma), shopId, NOW, { page: 2 });
    const byId = new Map(Array.from(s.ids, (id, i) => [id, i]));
    expect([...byId.keys()].sort((a, b) => a - b)).toEqual([ids.ann, ids.ben, ids.dan, ids.eve]);
    const at = (name: string) => {
      const i = byId.get(ids[name])!;
      return { x: s.all.x[i], tx: s.all.tx[i], T: s.all.T[i], mean: s.all.mean[i] };
    };
    const days = (from: string, to: Date) => (to.getTime() - day(from).getTime()) / DAY_MS;
    expect(at("ann")).toEqual({
      x: 2,
      tx: days("2026-01-05", day("2026-09-20")),
      T: days("2026-01-05", NOW),
      // 2026-03-10: 3000 + (1000 − 500 refunded); 2026-09-20: 6000.
      mean: (3500 + 6000) / 2,
    });
    expect(at("ben")).toEqual({ x: 0, tx: 0, T: days("2026-04-01", NOW), mean: 0 });
    expect(at("eve").x).toBe(3);
  });

  it("as of the cut-off, has the summary of each customer who had bought by then and their purchase days in the holdout", async () => {
    const split = holdoutSplit(NOW, 90); // cut-off 2026-08-27, holdout to 2026-11-25 (today excluded)
    expect(new Date(split.cutDay * DAY_MS).toISOString()).toBe("2026-08-27T00:00:00.000Z");
    const s = await readSummaries(hotFor(prisma), shopId, NOW, { split });
    const cal = s.calibration!;
    // dan's first purchase is after the cut-off: not in the check.
    expect(cal.columns.length).toBe(3);
    const rows = Array.from({ length: cal.columns.length }, (_, j) => ({
      x: cal.columns.x[j],
      tx: cal.columns.tx[j],
      T: cal.columns.T[j],
      holdout: cal.holdoutRepeats[j],
    })).sort((a, b) => a.T - b.T);
    const days = (from: string, to: string) => (day(to).getTime() - day(from).getTime()) / DAY_MS;
    expect(rows).toEqual([
      { x: 0, tx: 0, T: days("2026-04-01", "2026-08-27"), holdout: 0 }, // ben
      { x: 1, tx: days("2026-02-01", "2026-05-01"), T: days("2026-02-01", "2026-08-27"), holdout: 1 }, // eve
      { x: 1, tx: days("2026-01-05", "2026-03-10"), T: days("2026-01-05", "2026-08-27"), holdout: 1 }, // ann
    ]);
  });

  it("reads a few customers' summaries by id (customers without a purchase have none)", async () => {
    const found = await summariesOf(hotFor(prisma, "read"), shopId, [ids.ann, ids.cat, ids.gone], NOW);
    expect([...found.keys()]).toEqual([ids.ann]);
    expect(found.get(ids.ann)!.x).toBe(2);
  });
});

describe("a customer's summary as of 30 days before, in the same pass", () => {
  // NOW is 2026-11-25T12:00Z: the fall is measured from the start of 2026-10-26 (UTC), 30 days
  // before NOW's day; purchase days before it count.
  const THEN = "2026-10-26T00:00:00.000Z";
  let shopId = 0;
  const ids: Record<string, number> = {};
  beforeAll(async () => {
    shopId = await shop("summaries-ago.myshopify.com");
    for (const c of ["ann", "fay", "gus", "hal"]) ids[c] = await customer(shopId, c);
    // ann: two purchase days before then, a third after.
    await orderOf(shopId, "ann", "2026-03-01T10:00:00Z", 5000);
    await orderOf(shopId, "ann", "2026-07-01T10:00:00Z", 5000);
    await orderOf(shopId, "ann", "2026-11-20T10:00:00Z", 5000);
    // fay: a first purchase long ago, one in the last millisecond before then (it counts), and one
    // at that very moment (it does not: that day is after).
    await orderOf(shopId, "fay", "2026-01-10T10:00:00Z", 3000);
    await orderOf(shopId, "fay", "2026-10-25T23:59:59.999Z", 3000);
    await orderOf(shopId, "fay", THEN, 3000);
    // gus: his first order at that moment: no purchase before then.
    await orderOf(shopId, "gus", THEN, 3000);
    // hal: a purchase before, and one later on that day: only the first counts then.
    await orderOf(shopId, "hal", "2026-05-05T10:00:00Z", 3000);
    await orderOf(shopId, "hal", "2026-10-26T13:00:00Z", 3000);
  });

  it("has each customer's purchase days before the start of the day 30 days back, their age then, and none for a customer who had not bought", async () => {
    expect(new Date(agoDayOf(NOW) * DAY_MS).toISOString()).toBe(THEN);
    const s = await readSummaries(hotFor(prisma), shopId, NOW, { page: 2 });
    const byId = new Map(Array.from(s.ids, (id, i) => [id, i]));
    const ago = (name: string) => agoAt(s.all, s.ago, byId.get(ids[name])!);
    const days = (from: string, to: string) => (day(to).getTime() - day(from).getTime()) / DAY_MS;
    expect(ago("ann")).toEqual({
      x: 1,
      tx: days("2026-03-01", "2026-07-01"),
      T: days("2026-03-01", "2026-10-26"),
    });
    expect(ago("fay")).toEqual({
      x: 1,
      tx: days("2026-01-10", "2026-10-25"),
      T: days("2026-01-10", "2026-10-26"),
    });
    expect(ago("gus")).toBeNull();
    expect(ago("hal")).toEqual({ x: 0, tx: 0, T: days("2026-05-05", "2026-10-26") });
    // Now: fay's and hal's later days count.
    expect(s.all.x[byId.get(ids.fay)!]).toBe(2);
    expect(s.all.x[byId.get(ids.hal)!]).toBe(1);
    // The same as the summaries computed with `now` just before that moment (T to a millisecond).
    const then = await readSummaries(hotFor(prisma), shopId, new Date(new Date(THEN).getTime() - 1));
    for (const name of ["ann", "fay", "hal"]) {
      const j = Array.from(then.ids).indexOf(ids[name]);
      const a = ago(name)!;
      expect({ x: a.x, tx: a.tx }, name).toEqual({ x: then.all.x[j], tx: then.all.tx[j] });
      expect(a.T, name).toBeCloseTo(then.all.T[j], 6);
    }
    expect(Array.from(then.ids)).not.toContain(ids.gus);
  });

  it("is read for a few customers by id too", async () => {
    const found = await summariesOf(hotFor(prisma, "read"), shopId, [ids.ann, ids.gus], NOW);
    expect(found.get(ids.ann)!.ago).toEqual({ x: 1, tx: 122, T: 239 });
    expect(found.get(ids.gus)!.ago).toBeNull();
  });
});

describe("a shop with too little history", () => {
  it("is told how many customers with repeat orders it has and how many are needed, and keeps the fit in use", async () => {
    const shopId = await shop("young.myshopify.com");
    for (const c of ["a", "b", "c"]) await customer(shopId, c);
    await orderOf(shopId, "a", "2026-10-01T10:00:00Z", 1000);
    await orderOf(shopId, "a", "2026-10-20T10:00:00Z", 1000);
    await orderOf(shopId, "b", "2026-10-02T10:00:00Z", 1000);
    const result = await fitShop(prisma, shopId, NOW);
    expect(result.fit.status).toBe("insufficient");
    expect(result.fit.message).toBe("not enough history yet: 1 customers with repeat orders, 100 needed");
    expect(result.fit).toMatchObject({ customers: 2, repeatCustomers: 1 });
    expect(await currentFit(prisma, shopId)).toBeNull();
    expect((await latestFit(prisma, shopId))?.message).toBe(result.fit.message);
    expect(await prisma.customerPrediction.count({ where: { shopId } })).toBe(0);
  });

  it("without read_all_orders is not fitted on 60 days of orders, and says so", async () => {
    const shopId = await shop("sixty-days.myshopify.com", "read_orders,read_customers");
    await customer(shopId, "a");
    await orderOf(shopId, "a", "2026-10-01T10:00:00Z", 1000);
    const result = await fitShop(prisma, shopId, NOW);
    expect(result.fit.status).toBe("insufficient");
    expect(result.fit.message).toBe(LIMITED_HISTORY_MESSAGE);
    expect(result.fit.message).toContain("read_all_orders");
  });

  it("whose older orders Shopify counts were never imported is not fitted on what is held, and says so", async () => {
    const shopId = await shop("half-imported.myshopify.com");
    for (const [c, firstOrderAt] of [
      ["a", null],
      ["b", new Date("2026-10-01T10:00:00Z")],
    ] as const)
      await prisma.customer.create({
        data: {
          shopId,
          shopifyId: c,
          shopifyUpdatedAt: new Date("2026-01-01"),
          ordersCount: 3,
          firstOrderAt,
        },
      });
    await orderOf(shopId, "b", "2026-10-01T10:00:00Z", 1000);
    const result = await fitShop(prisma, shopId, NOW);
    expect(result.fit.status).toBe("insufficient");
    expect(result.fit.message).toBe(hiddenOrdersMessage(1, 2));
    expect(result.fit.message).toContain("1 of the 2 customers who have ordered have older orders");
  });
});

describe("a shop with two years of customers buying as BG/NBD says", () => {
  const params = { r: 0.5, alpha: 40, a: 0.6, b: 2.5 };
  const customers = 1500;
  let shopId = 0;
  beforeAll(async () => {
    shopId = await shop("fitted.myshopify.com");
    const orders = drawOrders({ customers, params, now: NOW, days: 730, acquisitionDays: 600, seed: 17 });
    await writeDrawnShop(prisma, shopId, customers, orders);
  });

  it("is fitted, checked on its last 90 days, and every customer who bought gets predictions with a value tier", async () => {
    const result = await fitShop(prisma, shopId, NOW);
    expect(result.fit.status, result.fit.message ?? "").toBe("ready");
    expect(result.fit.customers).toBe(customers);
    expect(result.predictions).toBe(customers);
    const cal = result.fit.calibration!;
    expect(cal.holdoutDays).toBe(90);
    expect(cal.cutoff).toBe("2026-08-27T00:00:00.000Z");
    expect(cal.byFrequency.map((b) => b.x)).toEqual(["0", "1", "2", "3", "4", "5", "6+"]);
    expect(cal.byFrequency.reduce((n, b) => n + b.customers, 0)).toBe(cal.customers);
    expect(cal.actual).toBeGreaterThan(0);
    // Drawn from BG/NBD itself: the holdout's repeat orders are predicted within a few percent,
    // and the parameters come back from the orders as stored (1,500 customers: r 0.484, alpha 38.5,
    // a 0.556, b 2.48 for 0.5, 40, 0.6, 2.5; the holdout +5%).
    expect(Math.abs(cal.error!)).toBeLessThan(0.1);
    const fitted = result.fit.models!.bgnbd;
    for (const k of ["r", "alpha", "a", "b"] as const)
      expect(Math.abs(fitted[k] / params[k] - 1), k).toBeLessThan(0.15);

    const fit = await currentFit(prisma, shopId);
    expect(fit?.id).toBe(result.fit.id);
    // The tiers rank the 12-month value computed alone; it is exactly predictCustomer's.
    const s = await readSummaries(hotFor(prisma), shopId, NOW);
    for (let i = 0; i < s.all.length; i += 37) {
      const summary = summaryAt(s.all, i);
      expect(value12mOf(fit!.models, summary)).toBe(predictCustomer(fit!.models, summary).value12m);
    }
    expect(fit?.tiers).toEqual(result.fit.tiers);
    const rows = await prisma.customerPrediction.findMany({ where: { shopId } });
    expect(rows).toHaveLength(customers);
    expect(rows.every((r) => r.fitId === fit!.id && r.computedAt.getTime() === NOW.getTime())).toBe(true);
    const top10 = rows.filter((r) => r.valueTier === "top10");
    // By rank: the top 10% are about a tenth of the shop (ties at a threshold may add a few).
    expect(top10.length / customers).toBeGreaterThanOrEqual(0.1);
    expect(top10.length / customers).toBeLessThan(0.12);
    for (const r of top10) expect(r.value12m).toBeGreaterThanOrEqual(Math.round(fit!.tiers.top10));
  });

  it("keeps each customer's P(active) as of 30 days before, from the same parameters; none for a customer with no order by then", async () => {
    const fit = (await currentFit(prisma, shopId))!;
    const s = await readSummaries(hotFor(prisma), shopId, NOW);
    const rows = new Map(
      (await prisma.customerPrediction.findMany({ where: { shopId } })).map((r) => [r.customerId, r]),
    );
    let none = 0;
    let quietFell = 0;
    for (let i = 0; i < s.all.length; i++) {
      const row = rows.get(s.ids[i])!;
      const then = agoAt(s.all, s.ago, i);
      if (!then) {
        none++;
        expect(row.probabilityActive30dAgo).toBeNull();
        continue;
      }
      expect(row.probabilityActive30dAgo).toBe(probabilityActive(fit.models.bgnbd, then));
      // No purchase since: the same purchases, 30 days older. A repeat buyer's chance can only have
      // fallen; a one-time buyer's stays 1.
      if (then.x === s.all.x[i]) {
        expect(row.probabilityActive).toBeLessThanOrEqual(row.probabilityActive30dAgo!);
        if (then.x === 0) expect(row.probabilityActive30dAgo).toBe(1);
        else if (row.probabilityActive < row.probabilityActive30dAgo!) quietFell++;
      }
    }
    // Every customer was acquired in the first 600 of the 730 days: all had bought by then.
    expect(none).toBe(0);
    expect(quietFell).toBeGreaterThan(0);
  });

  it("a later fit replaces every prediction and keeps the earlier fit's row", async () => {
    const later = new Date(NOW.getTime() + 2 * DAY_MS);
    const result = await fitShop(prisma, shopId, later);
    expect(result.fit.status).toBe("ready");
    expect(await prisma.predictionFit.count({ where: { shopId } })).toBe(2);
    const fitIds = await prisma.customerPrediction.groupBy({
      by: ["fitId"],
      where: { shopId },
      _count: true,
    });
    expect(fitIds).toEqual([{ fitId: result.fit.id, _count: customers }]);
  });

  it("a customer's new order refreshes their prediction with the fit in use; one with no order left loses it", async () => {
    const fit = (await currentFit(prisma, shopId))!;
    const [one, two] = await prisma.customer.findMany({
      where: { shopId, shopifyId: { in: [customerGid(3), customerGid(4)] } },
      orderBy: { id: "asc" },
      select: { id: true, shopifyId: true },
    });
    const before = await prisma.customerPrediction.findUniqueOrThrow({ where: { customerId: one.id } });
    const at = new Date(fit.fittedAt.getTime() + 3_600_000);
    await orderOf(shopId, one.shopifyId, at.toISOString(), 5000);
    await prisma.order.updateMany({
      where: { shopId, customerShopifyId: two.shopifyId },
      data: { cancelledAt: at },
    });
    await refreshPredictions(prisma, shopId, [one.id, two.id], at);
    const after = await prisma.customerPrediction.findUniqueOrThrow({ where: { customerId: one.id } });
    expect(after.computedAt).toEqual(at);
    expect(after.fitId).toBe(fit.id);
    expect(after).not.toEqual(before);
    // P(active) as of 30 days before this refresh, from the fit in use.
    const { ago } = (await summariesOf(hotFor(prisma, "read"), shopId, [one.id], at)).get(one.id)!;
    expect(after.probabilityActive30dAgo).toBe(ago ? probabilityActive(fit.models.bgnbd, ago) : null);
    expect(await prisma.customerPrediction.findUnique({ where: { customerId: two.id } })).toBeNull();
  });

  it("an applied order webhook refreshes its customer's prediction in the after-apply pipeline", async () => {
    const [customer] = await prisma.customer.findMany({
      where: { shopId, shopifyId: customerGid(5) },
      select: { id: true, shopifyId: true },
    });
    const before = await prisma.customerPrediction.findUniqueOrThrow({ where: { customerId: customer.id } });
    const at = new Date(before.computedAt.getTime() + 7_200_000);
    await orderOf(shopId, customer.shopifyId, at.toISOString(), 7000);
    const { shopifyId } = await prisma.order.findFirstOrThrow({
      where: { shopId, customerShopifyId: customer.shopifyId },
      orderBy: { processedAt: "desc" },
    });
    const payload = JSON.stringify({ id: Number(shopifyId), customer: { id: Number(customer.shopifyId) } });
    await afterApplied(prisma, [{ shopDomain: "fitted.myshopify.com", topic: "orders/create", payload }], at);
    const after = await prisma.customerPrediction.findUniqueOrThrow({ where: { customerId: customer.id } });
    expect(after.computedAt).toEqual(at);
    // One more purchase day: P(active) is back at its after-purchase value and more orders are expected.
    expect(after.orders365).not.toBe(before.orders365);
    // The fall over 30 days is recomputed with it: as of 30 days before this refresh.
    const fit = (await currentFit(prisma, shopId))!;
    const { ago } = (await summariesOf(hotFor(prisma, "read"), shopId, [customer.id], at)).get(customer.id)!;
    expect(after.probabilityActive30dAgo).toBe(ago ? probabilityActive(fit.models.bgnbd, ago) : null);
  });

  it("a deleted customer's and a redacted customer's predictions are gone", async () => {
    const [deleted, redacted] = await prisma.customer.findMany({
      where: { shopId, shopifyId: { in: [customerGid(10), customerGid(11)] } },
      orderBy: { id: "asc" },
      select: { id: true, shopifyId: true },
    });
    expect(
      await prisma.customerPrediction.count({ where: { customerId: { in: [deleted.id, redacted.id] } } }),
    ).toBe(2);
    await prisma.$transaction((tx) => deleteCustomer(tx, shopId, deleted.shopifyId, new Date("2027-01-01")));
    await eraseCustomer(
      prisma,
      { id: shopId, domain: "fitted.myshopify.com" },
      {
        customerId: redacted.shopifyId,
        email: null,
        orderIds: [],
      },
    );
    expect(
      await prisma.customerPrediction.count({ where: { customerId: { in: [deleted.id, redacted.id] } } }),
    ).toBe(0);
  });
});
