/**
 * What the segment page shows of a shop's predictions: why there are none when no fit is ready,
 * the fit in use with its holdout check, a later fit that did not replace it, and the listed
 * members' predicted figures.
 */
import { afterAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { predictionView, readsPredictions } from "./prediction-view.server";

const format = { currency: "USD", timeZone: "UTC", locale: "en-US" };

async function shopWithCustomers(n: number) {
  const shop = await prisma.shop.create({
    data: { domain: `predict-view-${Math.random().toString(36).slice(2)}.myshopify.com`, name: "p" },
  });
  const customers = [];
  for (let i = 0; i < n; i++)
    customers.push(
      await prisma.customer.create({
        data: { shopId: shop.id, shopifyId: String(9000 + i), shopifyUpdatedAt: new Date(0) },
      }),
    );
  return { shop, customers };
}

afterAll(() => prisma.$disconnect());

describe("the segment page's predictions", () => {
  it("are read only for a rule on predicted fields, referenced segments included", () => {
    const predicted = {
      version: 1 as const,
      match: { field: "predicted.valueTier" as const, op: "eq" as const, value: "top10" },
    };
    const plain = { version: 1 as const, match: { segment: "top" } };
    expect(readsPredictions(predicted)).toBe(true);
    expect(readsPredictions(plain, (h) => (h === "top" ? predicted : null))).toBe(true);
    expect(
      readsPredictions({ version: 1, match: { field: "customer.ordersCount", op: "gte", value: 1 } }),
    ).toBe(false);
  });

  it("say why there are none when no fit is ready", async () => {
    const { shop, customers } = await shopWithCustomers(1);
    expect((await predictionView(prisma, shop.id, [customers[0].shopifyId], format)).inUse).toBeNull();
    await prisma.predictionFit.create({
      data: {
        shopId: shop.id,
        fittedAt: new Date("2026-12-01T03:00:00Z"),
        cutoff: new Date("2026-09-02T03:00:00Z"),
        status: "insufficient",
        message: "not enough history yet: 12 customers with repeat orders, 100 needed",
      },
    });
    const view = await predictionView(prisma, shop.id, [customers[0].shopifyId], format);
    expect(view.inUse).toBeNull();
    expect(view.latest?.message).toBe("not enough history yet: 12 customers with repeat orders, 100 needed");
    expect(view.members).toEqual({});
  });

  it("show the fit in use with its holdout check, a later fit that did not replace it, and members' figures", async () => {
    const { shop, customers } = await shopWithCustomers(2);
    const ready = await prisma.predictionFit.create({
      data: {
        shopId: shop.id,
        fittedAt: new Date("2026-11-30T03:00:00Z"),
        cutoff: new Date("2026-09-01T03:00:00Z"),
        status: "ready",
        bgnbd: JSON.stringify({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }),
        gammaGamma: JSON.stringify({ p: 6.25, q: 3.74, gamma: 15.44 }),
        logLikelihood: -9582.4,
        customers: 2357,
        repeatCustomers: 1133,
        calibration: JSON.stringify({
          cutoff: "2026-09-01T03:00:00.000Z",
          holdoutDays: 90,
          customers: 2357,
          predicted: 1359,
          actual: 1306,
          error: -0.031,
          byFrequency: [{ x: "0", customers: 1411, predicted: 0.23, actual: 0.24 }],
        }),
      },
    });
    await prisma.predictionFit.create({
      data: {
        shopId: shop.id,
        fittedAt: new Date("2026-12-01T03:00:00Z"),
        cutoff: new Date("2026-09-02T03:00:00Z"),
        status: "failed",
        message: "the fit did not converge",
      },
    });
    await prisma.customerPrediction.create({
      data: {
        customerId: customers[0].id,
        shopId: shop.id,
        fitId: ready.id,
        probabilityActive: 0.8,
        orders7: 0.1,
        orders30: 0.4,
        orders60: 0.7,
        orders90: 1,
        orders180: 1.8,
        orders365: 3.1,
        spendPerOrder: 4200,
        value12m: 13020,
        valueTier: "top25",
        nextOrderAt: null,
        computedAt: ready.fittedAt,
      },
    });
    const view = await predictionView(
      prisma,
      shop.id,
      customers.map((c) => c.shopifyId),
      format,
    );
    expect(view.inUse).toMatchObject({ status: "ready", customers: 2357, logLikelihood: -9582.4 });
    expect(view.inUse?.bgnbd?.r).toBe(0.243);
    expect(view.latest?.message).toBe("the fit did not converge");
    expect(view.calibration?.actual).toBe(1306);
    expect(view.note).toBe(
      "an expectation, not a promise: model fitted Nov 30, 2026; on the shop's last 90 days it expected 3.1% fewer repeat orders than there were",
    );
    expect(view.members).toEqual({
      [customers[0].shopifyId]: { value12m: 13020, probabilityActive: 0.8, orders30: 0.4 },
    });
  });
});
