/**
 * An offer's results as a merchant reads them: which orders count for which shopper (by customer,
 * by cart token, by a redeemed code; after the exposure and within the window; not test or
 * cancelled orders; refunds taken off), the code figures, and a simulated population assigned
 * with the real assign() whose true lift the reported 95% interval finds (and an A/A population
 * where it finds none).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { closeHot } from "../db-hot.server";
import { assign, type ExperimentSpec } from "../engine/assign";
import { mulberry32 } from "../../dev/webhooks";
import {
  ATTRIBUTION_WINDOW_DAYS,
  liftInWords,
  offerResults,
  offersOverview,
  PRE_PERIOD_DAYS,
  unitHistory,
  untrackedCounts,
} from "./results.server";

const DAY = 24 * 3600_000;
const NOW = new Date("2026-11-25T12:00:00Z");
const LAST_30 = { from: new Date(NOW.getTime() - 30 * DAY), to: NOW };
let shopId = 0;
let orderSeq = 0;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: "results-test.myshopify.com" } })).id;
});
afterAll(async () => {
  await closeHot();
  await prisma.$disconnect();
});

async function createOffer(name: string, variants: string[] = []) {
  const message = await prisma.message.create({
    data: {
      shopId,
      name,
      segmentHandle: "first-time-visitors",
      format: "popup",
      trigger: "load",
      headline: name,
      reward: "firstPurchase",
      holdoutPercent: 10,
      active: true,
      variants: { create: variants.map((v) => ({ name: v })) },
    },
    include: { variants: { orderBy: { id: "asc" } } },
  });
  return message;
}

interface OrderInput {
  customerShopifyId?: string;
  cartToken?: string;
  at: Date;
  totalPrice?: number;
  totalRefunded?: number;
  totalDiscounts?: number;
  cancelled?: boolean;
  test?: boolean;
  shopifyId?: string;
  visitorId?: string;
}

function orderRow(o: OrderInput) {
  return {
    shopId,
    shopifyId: o.shopifyId ?? `gid://shopify/Order/${++orderSeq}`,
    currency: "USD",
    customerShopifyId: o.customerShopifyId ?? null,
    cartToken: o.cartToken ?? null,
    visitorId: o.visitorId ?? null,
    totalPrice: o.totalPrice ?? 5000,
    totalRefunded: o.totalRefunded ?? 0,
    totalDiscounts: o.totalDiscounts ?? 0,
    cancelledAt: o.cancelled ? o.at : null,
    test: o.test ?? false,
    processedAt: o.at,
    shopifyCreatedAt: o.at,
    shopifyUpdatedAt: o.at,
  };
}

const visitorRow = (
  id: string,
  at: Date,
  extra: { cartToken?: string; customerShopifyId?: string } = {},
) => ({
  id,
  shopId,
  firstSeenAt: at,
  lastSeenAt: at,
  cartToken: extra.cartToken ?? null,
  customerShopifyId: extra.customerShopifyId ?? null,
});

describe("which orders count for an offer", () => {
  const exposedAt = new Date(NOW.getTime() - 20 * DAY);
  const after = (days: number) => new Date(exposedAt.getTime() + days * DAY);
  let offer: Awaited<ReturnType<typeof createOffer>>;
  let other: Awaited<ReturnType<typeof createOffer>>;

  beforeAll(async () => {
    offer = await createOffer("Attribution");
    other = await createOffer("Another offer");
    const exposures = [
      // A signed-in customer: one order before the exposure, one inside the window, one after it.
      { unit: "c:cust-a", arm: "treatment", visitorId: "visitor-a-0000000", customerShopifyId: "cust-a" },
      // Anonymous visitors: found by cart token, by their linked customer, by a redeemed code.
      { unit: "v:visitor-b-0000000", arm: "treatment", visitorId: "visitor-b-0000000" },
      { unit: "v:visitor-c-0000000", arm: "treatment", visitorId: "visitor-c-0000000" },
      { unit: "v:visitor-d-0000000", arm: "treatment", visitorId: "visitor-d-0000000" },
      // Only a cancelled and a test order.
      { unit: "v:visitor-e-0000000", arm: "treatment", visitorId: "visitor-e-0000000" },
      // Never ordered.
      { unit: "v:visitor-f-0000000", arm: "treatment", visitorId: "visitor-f-0000000" },
      // Held out, and ordered.
      { unit: "c:cust-h", arm: "holdout", visitorId: "visitor-h-0000000", customerShopifyId: "cust-h" },
    ];
    await prisma.offerExposure.createMany({
      data: exposures.map((e) => ({
        shopId,
        messageId: offer.id,
        at: exposedAt,
        customerShopifyId: null,
        variantId: null,
        ...e,
      })),
    });
    // Exposed before the range: not in it, whatever it ordered.
    await prisma.offerExposure.create({
      data: {
        shopId,
        messageId: offer.id,
        unit: "c:cust-old",
        arm: "treatment",
        visitorId: "visitor-old-00000",
        customerShopifyId: "cust-old",
        at: new Date(NOW.getTime() - 40 * DAY),
      },
    });
    await prisma.visitor.createMany({
      data: [
        visitorRow("visitor-b-0000000", exposedAt, { cartToken: "cart-b" }),
        visitorRow("visitor-c-0000000", exposedAt, { customerShopifyId: "cust-c" }),
        visitorRow("visitor-d-0000000", exposedAt),
        visitorRow("visitor-e-0000000", exposedAt, { cartToken: "cart-e" }),
        visitorRow("visitor-f-0000000", exposedAt, { cartToken: "cart-f" }),
      ],
    });
    await prisma.order.createMany({
      data: [
        orderRow({ customerShopifyId: "cust-a", at: after(-1), totalPrice: 1111 }),
        orderRow({ customerShopifyId: "cust-a", at: after(2), totalPrice: 10000, totalRefunded: 2500 }),
        orderRow({ customerShopifyId: "cust-a", at: after(ATTRIBUTION_WINDOW_DAYS + 1), totalPrice: 2222 }),
        orderRow({ cartToken: "cart-b", at: after(1), totalPrice: 4000 }),
        orderRow({ customerShopifyId: "cust-c", at: after(3), totalPrice: 3000 }),
        orderRow({
          shopifyId: "gid://shopify/Order/code-d",
          at: after(4),
          totalPrice: 4500,
          totalDiscounts: 500,
        }),
        orderRow({ cartToken: "cart-e", at: after(1), cancelled: true }),
        orderRow({ cartToken: "cart-e", at: after(2), test: true }),
        orderRow({ customerShopifyId: "cust-h", at: after(5), totalPrice: 6000 }),
        orderRow({ customerShopifyId: "cust-old", at: after(1), totalPrice: 9999 }),
      ],
    });
    const code = (c: string, messageId: number, extra: { status: string } & Record<string, unknown>) => ({
      shopId,
      messageId,
      code: c,
      shopifyDiscountId: "gid://shopify/DiscountCodeNode/1",
      expiresAt: after(7),
      ...extra,
    });
    await prisma.discountCode.createMany({
      data: [
        code("WELCOME-D", offer.id, {
          status: "redeemed",
          visitorId: "visitor-d-0000000",
          issuedAt: exposedAt,
          orderShopifyId: "gid://shopify/Order/code-d",
          redeemedAt: after(4),
        }),
        code("WELCOME-F", offer.id, {
          status: "issued",
          visitorId: "visitor-f-0000000",
          issuedAt: exposedAt,
        }),
        code("WELCOME-P", offer.id, { status: "pool" }),
        code("OTHER-1", other.id, { status: "issued", visitorId: "visitor-x-0000000", issuedAt: exposedAt }),
      ],
    });
    await prisma.storefrontEvent.createMany({
      data: [
        ...["b", "c", "d", "e"].map((v) => ({
          shopId,
          visitorId: `visitor-${v}-0000000`,
          type: "message_shown",
          resourceId: String(offer.id),
          occurredAt: exposedAt,
        })),
        {
          shopId,
          visitorId: "visitor-b-0000000",
          type: "message_clicked",
          resourceId: String(offer.id),
          occurredAt: after(0.01),
        },
        {
          shopId,
          visitorId: "visitor-e-0000000",
          type: "message_dismissed",
          resourceId: String(offer.id),
          occurredAt: after(0.01),
        },
        // Another offer's impression, and one before the range.
        {
          shopId,
          visitorId: "visitor-b-0000000",
          type: "message_shown",
          resourceId: String(other.id),
          occurredAt: exposedAt,
        },
        {
          shopId,
          visitorId: "visitor-b-0000000",
          type: "message_shown",
          resourceId: String(offer.id),
          occurredAt: new Date(NOW.getTime() - 45 * DAY),
        },
      ],
    });
  });

  it("counts a customer's order inside the window, not one before the exposure or after the window, less its refund", async () => {
    const r = (await offerResults(prisma, shopId, offer.id, LAST_30, NOW))!;
    expect(r.treatment.units).toBe(6);
    expect(r.holdout.units).toBe(1);
    // a (customer), b (cart token), c (linked customer), d (code); not e (cancelled, test), not f.
    expect(r.treatment.conversions).toBe(4);
    expect(r.treatment.revenue).toBe(10000 - 2500 + 4000 + 3000 + 4500);
    expect(r.holdout).toEqual({ units: 1, conversions: 1, rate: 1, revenue: 6000 });
  });

  it("finds an anonymous visitor's order by its cart token, its linked customer, or a code it was given", async () => {
    for (const [visitor, price] of [
      ["visitor-b-0000000", 4000],
      ["visitor-c-0000000", 3000],
      ["visitor-d-0000000", 4500],
    ] as const) {
      await prisma.offerExposure.deleteMany({ where: { messageId: other.id } });
      await prisma.offerExposure.create({
        data: {
          shopId,
          messageId: other.id,
          unit: `v:${visitor}`,
          arm: "treatment",
          visitorId: visitor,
          at: exposedAt,
        },
      });
      const r = (await offerResults(prisma, shopId, other.id, LAST_30, NOW))!;
      expect([visitor, r.treatment.conversions, r.treatment.revenue]).toEqual([visitor, 1, price]);
    }
    for (const visitor of ["visitor-e-0000000", "visitor-f-0000000"]) {
      await prisma.offerExposure.deleteMany({ where: { messageId: other.id } });
      await prisma.offerExposure.create({
        data: {
          shopId,
          messageId: other.id,
          unit: `v:${visitor}`,
          arm: "treatment",
          visitorId: visitor,
          at: exposedAt,
        },
      });
      const r = (await offerResults(prisma, shopId, other.id, LAST_30, NOW))!;
      expect([visitor, r.treatment.conversions]).toEqual([visitor, 0]);
    }
    await prisma.offerExposure.deleteMany({ where: { messageId: other.id } });
  });

  it("reports impressions, clicks and dismissals in the range, the codes and what they cost", async () => {
    const r = (await offerResults(prisma, shopId, offer.id, LAST_30, NOW))!;
    expect([r.impressions, r.clicks, r.dismissals, r.clickRate]).toEqual([4, 1, 1, 0.25]);
    expect(r.codes).toEqual({ issued: 2, redeemed: 1, discountCost: 500, orders: 1, revenue: 4500 });
    const day = r.daily.find((d) => d.day === exposedAt.toISOString().slice(0, 10))!;
    expect(day).toMatchObject({ impressions: 4, clicks: 1, exposures: { treatment: 6, holdout: 1 } });
    expect(r.daily.reduce((n, d) => n + d.conversions.treatment, 0)).toBe(4);
    expect(r.daily.reduce((n, d) => n + d.conversions.holdout, 0)).toBe(1);
    expect(r.daily).toHaveLength(31);
  });

  it("counts what shoppers without tracking consent were shown apart, in the range, never in an arm", async () => {
    const day = (d: Date) => d.toISOString().slice(0, 10);
    const old = new Date(NOW.getTime() - 40 * 24 * 3600_000);
    await prisma.anonymousCount.createMany({
      data: [
        { shopId, day: day(exposedAt), type: "message_shown", resourceId: String(offer.id), count: 7 },
        { shopId, day: day(NOW), type: "message_shown", resourceId: String(offer.id), count: 2 },
        { shopId, day: day(NOW), type: "message_clicked", resourceId: String(offer.id), count: 1 },
        { shopId, day: day(old), type: "message_shown", resourceId: String(offer.id), count: 50 },
        { shopId, day: day(NOW), type: "message_shown", resourceId: String(offer.id + 1000), count: 9 },
      ],
    });
    try {
      expect(await untrackedCounts(prisma, shopId, offer.id, LAST_30)).toEqual({
        shown: 9,
        clicked: 1,
        dismissed: 0,
      });
      const r = (await offerResults(prisma, shopId, offer.id, LAST_30, NOW))!;
      expect(r.impressions).toBe(4);
    } finally {
      await prisma.anonymousCount.deleteMany({ where: { shopId } });
    }
  });

  it("says there is not enough data yet, and why, with a tiny holdout", async () => {
    const r = (await offerResults(prisma, shopId, offer.id, LAST_30, NOW))!;
    expect(r.lift).toEqual({
      status: "not enough data",
      need: "at least 100 visitors in each group (treatment has 6, holdout has 1)",
    });
    expect(liftInWords(r.lift)).toBe(
      "Not enough data yet: at least 100 visitors in each group (treatment has 6, holdout has 1)",
    );
    const overview = await offersOverview(prisma, shopId, LAST_30, NOW);
    expect(overview.find((o) => o.messageId === offer.id)).toMatchObject({
      impressions: 4,
      codesIssued: 2,
      codesRedeemed: 1,
      liftSummary: expect.stringContaining("Not enough data yet"),
      // Pooling over groups does not make a 7-shopper offer measurable: it says the same.
      pooled: {
        status: "not enough data",
        need: "at least 100 visitors in each group (treatment has 6, holdout has 1)",
      },
    });
    expect(r.bySegment.every((s) => s.shrunk === null)).toBe(true);
  });

  it("is null for another shop's offer", async () => {
    expect(await offerResults(prisma, shopId + 1000, offer.id, LAST_30, NOW)).toBeNull();
  });
});

describe("results by segment", () => {
  it("counts each segment's current members among the exposed, and the visitors not signed in in a row of their own", async () => {
    const offer = await createOffer("By segment");
    const exposedAt = new Date(NOW.getTime() - 10 * DAY);
    const after = (days: number) => new Date(exposedAt.getTime() + days * DAY);
    const segment = (handle: string, name: string, members: string[]) =>
      prisma.segment.create({
        data: {
          shopId,
          handle,
          name,
          rule: JSON.stringify({ version: 1, match: { field: "customer.ordersCount", op: "gte", value: 1 } }),
          members: { create: members.map((customerShopifyId) => ({ customerShopifyId, since: exposedAt })) },
        },
      });
    // s3 is in both segments; s5 is in none; "Nobody exposed" has a member the offer never met.
    await segment("seg-vip", "VIPs", ["seg-cust-1", "seg-cust-2", "seg-cust-3"]);
    await segment("seg-lapsed", "Lapsed", ["seg-cust-3", "seg-cust-4"]);
    await segment("seg-unseen", "Nobody exposed", ["seg-cust-9"]);
    const customer = (id: string, arm: string) => ({
      unit: `c:${id}`,
      arm,
      visitorId: `visitor-${id}`,
      customerShopifyId: id,
    });
    const visitor = (id: string, arm: string) => ({ unit: `v:${id}`, arm, visitorId: id });
    await prisma.offerExposure.createMany({
      data: [
        customer("seg-cust-1", "treatment"), // converts
        customer("seg-cust-2", "treatment"),
        customer("seg-cust-3", "holdout"), // converts
        customer("seg-cust-4", "treatment"), // converts
        customer("seg-cust-5", "treatment"), // converts, in no segment
        visitor("visitor-s6-000000", "treatment"), // converts, by cart token
        visitor("visitor-s7-000000", "holdout"),
        visitor("visitor-s8-000000", "holdout"),
      ].map((e) => ({ shopId, messageId: offer.id, at: exposedAt, ...e })),
    });
    await prisma.visitor.createMany({
      data: [
        visitorRow("visitor-s6-000000", exposedAt, { cartToken: "seg-cart-6" }),
        visitorRow("visitor-s7-000000", exposedAt, { cartToken: "seg-cart-7" }),
        visitorRow("visitor-s8-000000", exposedAt),
      ],
    });
    await prisma.order.createMany({
      data: [
        orderRow({ customerShopifyId: "seg-cust-1", at: after(1), totalPrice: 1000 }),
        orderRow({ customerShopifyId: "seg-cust-3", at: after(2), totalPrice: 3000 }),
        orderRow({ customerShopifyId: "seg-cust-4", at: after(3), totalPrice: 4000 }),
        orderRow({ customerShopifyId: "seg-cust-5", at: after(1), totalPrice: 5000 }),
        orderRow({ cartToken: "seg-cart-6", at: after(1), totalPrice: 6000 }),
        // seg-cust-2: only before the exposure.
        orderRow({ customerShopifyId: "seg-cust-2", at: after(-1), totalPrice: 2000 }),
      ],
    });

    const r = (await offerResults(prisma, shopId, offer.id, LAST_30, NOW))!;
    const arm = (units: number, conversions: number, revenue: number) => ({
      units,
      conversions,
      rate: units ? conversions / units : null,
      revenue,
    });
    expect(r.bySegment.map(({ lift: _lift, shrunk: _shrunk, ...row }) => row)).toEqual([
      { handle: "seg-vip", name: "VIPs", treatment: arm(2, 1, 1000), holdout: arm(1, 1, 3000) },
      { handle: "seg-lapsed", name: "Lapsed", treatment: arm(1, 1, 4000), holdout: arm(1, 1, 3000) },
      { handle: null, name: "Visitors not signed in", treatment: arm(1, 1, 6000), holdout: arm(2, 0, 0) },
    ]);
    expect(r.bySegment[0].lift).toEqual({
      status: "not enough data",
      need: "at least 100 visitors in each group (treatment has 2, holdout has 1)",
    });
    // The whole offer is unchanged by the grouping.
    expect([r.treatment.units, r.treatment.conversions, r.holdout.units, r.holdout.conversions]).toEqual([
      5, 4, 3, 1,
    ]);
  });
});

/**
 * A population of `units` shoppers exposed over the range, assigned with the real assign() (10%
 * holdout, two equal variants); each converts with its arm's true rate, by an order placed within
 * the window, found by customer id or by cart token.
 */
async function simulate(seed: number, rates: { treatment: number; holdout: number }, units = 5000) {
  const offer = await createOffer(`Simulation ${seed} ${rates.treatment}/${rates.holdout}`, ["A", "B"]);
  const experiment: ExperimentSpec = {
    id: offer.id,
    holdout: 0.1,
    variants: offer.variants.map((v) => ({ id: v.id, weight: 1 })),
  };
  const random = mulberry32(seed);
  const exposures = [];
  const visitors = [];
  const orders = [];
  for (let i = 0; i < units; i++) {
    const tag = `${offer.id}-${i}`;
    const visitorId = `sim-visitor-${offer.id}-${String(i).padStart(6, "0")}`;
    const signedIn = random() < 0.4;
    const unit = signedIn ? `c:sim-customer-${tag}` : `v:${visitorId}`;
    const arm = assign(unit, experiment);
    const at = new Date(LAST_30.from.getTime() + random() * 25 * DAY);
    exposures.push({
      shopId,
      messageId: offer.id,
      unit,
      arm: arm.arm,
      variantId: arm.arm === "treatment" ? arm.variantId : null,
      visitorId,
      customerShopifyId: signedIn ? `sim-customer-${tag}` : null,
      at,
    });
    if (!signedIn) visitors.push(visitorRow(visitorId, at, { cartToken: `sim-cart-${tag}` }));
    if (random() < rates[arm.arm]) {
      const orderAt = new Date(Math.min(at.getTime() + random() * 10 * DAY, NOW.getTime() - 1));
      orders.push(
        orderRow(
          signedIn
            ? { customerShopifyId: `sim-customer-${tag}`, at: orderAt, totalPrice: 4000 }
            : { cartToken: `sim-cart-${tag}`, at: orderAt, totalPrice: 4000 },
        ),
      );
    }
  }
  for (let i = 0; i < exposures.length; i += 1000)
    await prisma.offerExposure.createMany({ data: exposures.slice(i, i + 1000) });
  for (let i = 0; i < visitors.length; i += 1000)
    await prisma.visitor.createMany({ data: visitors.slice(i, i + 1000) });
  await prisma.order.createMany({ data: orders });
  const truth = {
    treatment: exposures.filter((e) => e.arm === "treatment").length,
    holdout: exposures.filter((e) => e.arm === "holdout").length,
  };
  return { offer, truth, result: (await offerResults(prisma, shopId, offer.id, LAST_30, NOW))! };
}

// Seeds 1 to 5, fixed before running; with 95% intervals, 4 of 5 is the bar (a 2% chance of
// failing when the method is right, and a clear failure when attribution or assignment is off).
const SEEDS = [1, 2, 3, 4, 5];

describe("a simulated offer with a true lift of +3 percentage points (8% against 5%)", () => {
  it("reports an interval that contains +3 pp, the exposures and conversions the database holds", async () => {
    const outcomes = [];
    for (const seed of SEEDS) {
      const { truth, result } = await simulate(seed, { treatment: 0.08, holdout: 0.05 });
      expect(result.treatment.units).toBe(truth.treatment);
      expect(result.holdout.units).toBe(truth.holdout);
      // The holdout is about 10% of the population (assign()'s hash, 5000 units: within 4 sd).
      expect(Math.abs(truth.holdout / 5000 - 0.1)).toBeLessThan(0.017);
      expect(result.variants.reduce((n, v) => n + v.treatment.units, 0)).toBe(truth.treatment);
      expect(result.treatment.revenue).toBe(result.treatment.conversions * 4000);
      expect(result.lift.status).toBe("ok");
      if (result.lift.status !== "ok") continue;
      const [low, high] = result.lift.absoluteInterval;
      outcomes.push({
        seed,
        lift: result.lift.absoluteLift,
        low,
        high,
        contains: low <= 0.03 && 0.03 <= high,
      });
    }
    console.log("A/B simulation (true +3 pp):", liftTable(outcomes));
    expect(outcomes.filter((o) => o.contains).length).toBeGreaterThanOrEqual(4);
  });

  it("finds no significant lift when both arms convert at 5% (A/A)", async () => {
    const outcomes = [];
    for (const seed of SEEDS) {
      const { result } = await simulate(1000 + seed, { treatment: 0.05, holdout: 0.05 });
      if (result.lift.status !== "ok") throw new Error(`not enough data: ${result.lift.need}`);
      const [low, high] = result.lift.absoluteInterval;
      outcomes.push({
        seed: 1000 + seed,
        lift: result.lift.absoluteLift,
        low,
        high,
        contains: low <= 0 && 0 <= high,
      });
      expect(result.lift.significant).toBe(!(low <= 0 && 0 <= high));
    }
    console.log("A/A simulation (true 0 pp):", liftTable(outcomes));
    expect(outcomes.filter((o) => o.contains).length).toBeGreaterThanOrEqual(4);
  });
});

function liftTable(rows: { seed: number; lift: number; low: number; high: number }[]): string {
  const pp = (x: number) => (x * 100).toFixed(2);
  return rows.map((r) => `\n  seed ${r.seed}: ${pp(r.lift)} pp [${pp(r.low)}, ${pp(r.high)}]`).join("");
}

describe("an order the web pixel tied to the visitor (Order.visitorId)", () => {
  it("counts a Buy it now order (no cart token, no customer, no code) for the visitor who saw the offer, and only for them", async () => {
    const exposedAt = new Date(NOW.getTime() - 10 * DAY);
    const offer = await createOffer("Pixel attribution");
    await prisma.visitor.createMany({
      data: [visitorRow("visitor-px-000000", exposedAt), visitorRow("visitor-py-000000", exposedAt)],
    });
    await prisma.offerExposure.createMany({
      data: ["visitor-px-000000", "visitor-py-000000"].map((visitorId) => ({
        shopId,
        messageId: offer.id,
        unit: `v:${visitorId}`,
        arm: "treatment",
        visitorId,
        at: exposedAt,
      })),
    });
    await prisma.order.create({
      data: {
        ...orderRow({ at: new Date(exposedAt.getTime() + DAY), totalPrice: 7300 }),
        visitorId: "visitor-px-000000",
      },
    });
    const r = (await offerResults(prisma, shopId, offer.id, LAST_30, NOW))!;
    expect(r.treatment.units).toBe(2);
    expect(r.treatment.conversions).toBe(1);
    expect(r.treatment.revenue).toBe(7300);
  });
});

/**
 * Small segments measured together: 1,200 customers (60, 150 and 400 of them in three segments, a
 * fourth overlapping two of those, the rest in none) and 600 visitors, 10% held out by assign().
 * Loyal shoppers (40%) bought in the 90 days before they saw the offer and are likelier to buy
 * again (15% against 3%); the offer adds 4 points to everyone's chance.
 */
describe("an offer measured over its small segments, adjusted with what each shopper bought before", () => {
  it("finds each unit's orders in the 90 days before its exposure, pools the lift over the segments, narrows it with the pre-period and shrinks each segment's", async () => {
    const offer = await createOffer("Small segments");
    // A fixed experiment id and unit names: the same arms whichever tests ran before.
    const experiment: ExperimentSpec = { id: 4242, holdout: 0.1, variants: [{ id: 0, weight: 1 }] };
    const random = mulberry32(4242);
    const exposedFrom = LAST_30.from.getTime();
    const exposures = [];
    const visitors = [];
    const orders: ReturnType<typeof orderRow>[] = [];
    const expected = new Map<string, { arm: string; orders: number; spend: number }>();
    const segmentOf = (i: number) => (i < 60 ? 0 : i < 210 ? 1 : i < 610 ? 2 : -1);
    const handles = ["small-a", "small-b", "small-c", "small-d"];
    const membersOf: string[][] = [[], [], [], []];
    let truthUnits = 0;
    for (let i = 0; i < 1800; i++) {
      const customer = i < 1200;
      const id = customer ? `small-cust-${i}` : `small-visitor-${String(i).padStart(6, "0")}`;
      const unit = customer ? `c:${id}` : `v:${id}`;
      const arm = assign(unit, experiment).arm;
      const at = new Date(exposedFrom + random() * 25 * DAY);
      exposures.push({
        shopId,
        messageId: offer.id,
        unit,
        arm,
        variantId: null,
        visitorId: customer ? `small-v-${i}` : id,
        customerShopifyId: customer ? id : null,
        at,
      });
      if (customer) {
        const s = segmentOf(i);
        if (s >= 0) membersOf[s].push(id);
        if (i < 20 || (i >= 210 && i < 240)) membersOf[3].push(id);
      } else {
        visitors.push(visitorRow(id, at, { cartToken: `small-cart-${i}` }));
      }
      const owner = customer ? { customerShopifyId: id } : { visitorId: id };
      const loyal = random() < 0.4;
      if (loyal) {
        const n = 1 + Math.floor(random() * 3);
        let spend = 0;
        for (let k = 0; k < n; k++) {
          const price = 2000 + Math.floor(random() * 8000);
          spend += price;
          orders.push(
            orderRow({ ...owner, at: new Date(at.getTime() - (1 + random() * 85) * DAY), totalPrice: price }),
          );
        }
        expected.set(unit, { arm, orders: n, spend });
        // Outside the pre-period (100 days before), cancelled, or a test: never counted.
        orders.push(orderRow({ ...owner, at: new Date(at.getTime() - 100 * DAY), totalPrice: 9999 }));
        orders.push(orderRow({ ...owner, at: new Date(at.getTime() - 2 * DAY), cancelled: true }));
        orders.push(orderRow({ ...owner, at: new Date(at.getTime() - 2 * DAY), test: true }));
      }
      const p = (loyal ? 0.15 : 0.03) + (arm === "treatment" ? 0.04 : 0);
      if (random() < p) {
        const orderAt = new Date(Math.min(at.getTime() + random() * 5 * DAY, NOW.getTime() - 1));
        const later = customer ? { customerShopifyId: id } : { cartToken: `small-cart-${i}` };
        orders.push(orderRow({ ...later, at: orderAt, totalPrice: 4000 }));
      }
      truthUnits++;
    }
    for (let i = 0; i < exposures.length; i += 1000)
      await prisma.offerExposure.createMany({ data: exposures.slice(i, i + 1000) });
    await prisma.visitor.createMany({ data: visitors });
    for (let i = 0; i < orders.length; i += 1000)
      await prisma.order.createMany({ data: orders.slice(i, i + 1000) });
    for (const [k, handle] of handles.entries()) {
      await prisma.segment.create({
        data: {
          shopId,
          handle: `${handle}-${offer.id}`,
          name: `Small ${"ABCD"[k]}`,
          rule: JSON.stringify({ version: 1, match: { field: "customer.ordersCount", op: "gte", value: 1 } }),
          members: {
            create: membersOf[k].map((customerShopifyId) => ({ customerShopifyId, since: LAST_30.from })),
          },
        },
      });
    }

    // The pre-period, from the database, is exactly what was bought in it.
    const history = await unitHistory(prisma, shopId, offer.id, LAST_30);
    expect(PRE_PERIOD_DAYS).toBe(90);
    expect(history.size).toBe(expected.size);
    expect(new Map([...history].sort())).toEqual(new Map([...expected].sort()));

    const r = (await offerResults(prisma, shopId, offer.id, LAST_30, NOW))!;
    expect(r.treatment.units + r.holdout.units).toBe(truthUnits);
    if (r.pooled.status !== "ok") throw new Error(`not pooled: ${r.pooled.need}`);
    const pooled = r.pooled;
    // Strata: each customer in the smallest of its segments (D, 50, before A, 60, and C, 400), the
    // customers in no segment, the visitors.
    expect(pooled.strata.map((s) => [s.name, s.units])).toEqual([
      ["Small A", 40],
      ["Small B", 150],
      ["Small C", 370],
      ["Small D", 50],
      ["Customers in no segment", 590],
      ["Visitors not signed in", 600],
    ]);
    expect(pooled.strata.reduce((sum, s) => sum + s.weight, 0)).toBeCloseTo(1, 12);
    expect(pooled.unitsWithHistory).toBe(expected.size);
    // The true lift is +4 points; the pre-period narrows the interval.
    const [low, high] = pooled.conversion.interval;
    console.log(
      `pooled conversion lift ${(pooled.conversion.estimate * 100).toFixed(2)} pp [${(low * 100).toFixed(2)}, ${(high * 100).toFixed(2)}], ` +
        `variance ratio ${pooled.conversion.varianceRatio.toFixed(3)}; revenue ${pooled.revenuePerUnit.varianceRatio.toFixed(3)}; ` +
        `plain ${liftInWords(r.lift)}`,
    );
    expect(low).toBeLessThanOrEqual(0.04);
    expect(high).toBeGreaterThanOrEqual(0.04);
    expect(pooled.conversion.varianceRatio).toBeLessThan(1);
    expect(pooled.conversion.standardError).toBeLessThan(pooled.conversion.unadjustedStandardError);
    expect(pooled.revenuePerUnit.varianceRatio).toBeLessThan(1);

    // Every segment row, even one of 60 or 50 shoppers, has a shrunk estimate.
    const rows = r.bySegment.filter((s) => s.handle === null || s.handle.endsWith(`-${offer.id}`));
    expect(rows.map((s) => [s.name, s.treatment.units + s.holdout.units])).toEqual([
      ["Small A", 60],
      ["Small B", 150],
      ["Small C", 400],
      ["Small D", 50],
      ["Visitors not signed in", 600],
    ]);
    for (const row of rows) {
      expect(row.shrunk).not.toBeNull();
      const c = row.shrunk!.conversion;
      expect(c.shrinkage).toBeGreaterThanOrEqual(0);
      expect(c.shrinkage).toBeLessThanOrEqual(1);
      expect(c.interval[1] - c.interval[0]).toBeLessThanOrEqual(c.rawInterval[1] - c.rawInterval[0] + 1e-12);
    }
    const a = rows[0].shrunk!.conversion;
    expect(rows[0].lift.status).toBe("not enough data");
    expect(a.interval[1] - a.interval[0]).toBeLessThan(a.rawInterval[1] - a.rawInterval[0]);
  });
});
