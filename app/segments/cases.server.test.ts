/**
 * cases.json on the SQL compiler, in the real database (SQLite and PostgreSQL): each case's facts
 * are written as the sync writes them (customer stats derived by the sync's own code), the
 * compiled query runs, and the customer's membership must be the case's expected answer. A case
 * with a visitor runs per visitor too: that visitor (linked to the customer, or a guest's, linked
 * to none) must be selected exactly when the case expects it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "../db.server";
import {
  cancelledAtOf,
  cases,
  completedAtOf,
  DEFAULT_NOW,
  refundedOf,
  refundsOf,
  shopifyTotalsOf,
  type JsonEvent,
  type JsonFacts,
  type JsonPrediction,
} from "../engine/cases";
import { compile } from "../engine/sql";
import { evaluate } from "../engine/evaluate";
import { loadFacts, loadVisitorFacts } from "./facts.server";
import { refreshCustomerStats } from "../sync/apply.server";
import { joinList } from "../sync/records";

const CUSTOMER = "1001";

/** Writes one case's facts as a shop of its own; returns the shop id. */
async function store(name: string, f: JsonFacts, guest: boolean): Promise<number> {
  const shop = await prisma.shop.create({
    data: { domain: `case-${Math.random().toString(36).slice(2)}.myshopify.com`, name },
  });
  if (guest && (f.customer || f.orders.length || f.checkouts.length || !f.visitor))
    throw new Error(`${name}: a guest is a visitor with no customer, orders or checkouts`);
  // Orders that are not the customer's: a guest checkout's in this shop, or another shop's.
  for (const o of f.shopOrders ?? []) {
    const at = new Date(o.processedAt ?? DEFAULT_NOW);
    const other = o.otherShop
      ? await prisma.shop.create({
          data: { domain: `case-other-${Math.random().toString(36).slice(2)}.myshopify.com`, name },
        })
      : shop;
    await prisma.order.create({
      data: {
        shopId: other.id,
        shopifyId: `guest-${o.checkoutToken}`,
        customerShopifyId: null,
        checkoutToken: o.checkoutToken,
        currency: "USD",
        totalPrice: 1000,
        cancelledAt: o.cancelled ? at : null,
        test: Boolean(o.test),
        financialStatus: "paid",
        processedAt: at,
        shopifyCreatedAt: at,
        shopifyUpdatedAt: at,
      },
    });
  }
  const c = f.customer ?? {};
  const customer = guest
    ? null
    : await prisma.customer.create({
        data: {
          shopId: shop.id,
          shopifyId: CUSTOMER,
          countryCode: (c.countryCode as string | null) ?? null,
          provinceCode: (c.provinceCode as string | null) ?? null,
          city: (c.city as string | null) ?? null,
          state: (c.state as string | null) ?? null,
          tags: joinList((c.tags as string[]) ?? []),
          acceptsEmailMarketing: Boolean(c.acceptsEmailMarketing),
          shopifyCreatedAt: c.createdAt ? new Date(String(c.createdAt)) : null,
          shopifyUpdatedAt: new Date(0),
          // Shopify's lifetime figures, as the sync stores them (refreshCustomerStats combines them below).
          shopifyOrdersCount: shopifyTotalsOf(c)?.orders ?? null,
          shopifySpent: shopifyTotalsOf(c)?.spent ?? null,
          shopifyTotalsAt: shopifyTotalsOf(c)?.at ?? null,
        },
      });
  if (customer && f.prediction) await storePrediction(shop.id, customer.id, f.prediction);
  let n = 0;
  const collections = new Map<string, Set<string>>();
  const types = new Map<string, string | null>();
  for (const o of f.orders) {
    const processedAt = new Date(String(o.processedAt));
    const order = await prisma.order.create({
      data: {
        shopId: shop.id,
        shopifyId: String(++n),
        customerShopifyId: CUSTOMER,
        currency: "USD",
        totalPrice: Number(o.total ?? 0),
        totalRefunded: refundedOf(o),
        cancelledAt: cancelledAtOf(o),
        test: Boolean(o.test),
        checkoutToken: (o.checkoutToken as string | undefined) ?? null,
        discountCodes: joinList((o.discountCodes as string[]) ?? []),
        financialStatus: o.financialStatus === undefined ? "paid" : (o.financialStatus as string | null),
        processedAt,
        shopifyCreatedAt: processedAt,
        shopifyUpdatedAt: processedAt,
      },
    });
    for (const r of refundsOf(o))
      await prisma.refund.create({
        data: {
          shopId: shop.id,
          orderId: order.id,
          shopifyId: String(++n),
          amount: r.amount,
          createdAt: r.at,
        },
      });
    for (const l of (o.lines as Record<string, unknown>[]) ?? []) {
      await prisma.lineItem.create({
        data: {
          shopId: shop.id,
          orderId: order.id,
          shopifyId: String(++n),
          productId: (l.productId as string | null) ?? null,
          variantId: (l.variantId as string | null) ?? null,
          vendor: (l.vendor as string | null) ?? null,
          title: "item",
          quantity: 1,
          price: 0,
        },
      });
      if (l.productId && l.productType !== undefined)
        types.set(String(l.productId), l.productType as string | null);
      if (l.productId)
        for (const id of (l.collectionIds as string[]) ?? []) {
          const set = collections.get(String(l.productId)) ?? new Set<string>();
          set.add(id);
          collections.set(String(l.productId), set);
        }
    }
  }
  for (const [product, productType] of types)
    await prisma.product.create({
      data: {
        shopId: shop.id,
        shopifyId: product,
        title: "item",
        productType,
        shopifyUpdatedAt: new Date(0),
      },
    });
  for (const [product, ids] of collections)
    await prisma.productCollection.createMany({
      data: [...ids].map((id) => ({ shopId: shop.id, productShopifyId: product, collectionShopifyId: id })),
    });
  await prisma.$transaction((tx) => refreshCustomerStats(tx, shop.id, CUSTOMER));
  for (const k of f.checkouts) {
    const at = new Date(k.createdAt);
    await prisma.checkout.create({
      data: {
        shopId: shop.id,
        shopifyId: String(++n),
        customerShopifyId: CUSTOMER,
        currency: "USD",
        totalPrice: 0,
        completedAt: completedAtOf(k),
        shopifyCreatedAt: at,
        shopifyUpdatedAt: at,
      },
    });
  }
  if (f.cart && !f.visitor) throw new Error(`${name}: a cart needs a visitor to belong to`);
  if (f.visitor) {
    const v = f.visitor;
    const cartToken = f.cart ? `cart-${shop.id}` : null;
    await prisma.visitor.create({
      data: {
        id: `visitor-${shop.id}`,
        shopId: shop.id,
        customerShopifyId: guest ? null : CUSTOMER,
        cartToken,
        sessions: Number(v.sessions ?? 0),
        firstSeenAt: new Date(String(v.firstSeenAt)),
        lastSeenAt: new Date(String(v.lastSeenAt)),
        landingPage: (v.landingPage as string | null) ?? null,
        referrer: (v.referrer as string | null) ?? null,
        utmSource: (v.utmSource as string | null) ?? null,
        utmMedium: (v.utmMedium as string | null) ?? null,
        utmCampaign: (v.utmCampaign as string | null) ?? null,
        deviceType: (v.deviceType as string | null) ?? null,
      },
    });
    const events = (v.events as JsonEvent[] | undefined) ?? [];
    if (events.length)
      await prisma.storefrontEvent.createMany({
        data: events.map((e) => ({
          shopId: shop.id,
          visitorId: `visitor-${shop.id}`,
          type: e.type,
          resourceId: e.resourceId ?? null,
          occurredAt: new Date(e.at),
        })),
      });
    if (f.cart && cartToken) {
      const cart = await prisma.cart.create({
        data: {
          shopId: shop.id,
          token: cartToken,
          totalPrice: f.cart.value,
          itemCount: f.cart.itemCount,
          shopifyUpdatedAt: new Date(f.cart.updatedAt ?? 0),
        },
      });
      await prisma.cartLine.createMany({
        data: f.cart.productIds.map((productId) => ({
          cartId: cart.id,
          productId,
          title: "item",
          quantity: 1,
          price: 0,
        })),
      });
    }
  }
  return shop.id;
}

/** A case's prediction as the fit stores it: its PredictionFit (date, holdout check) and CustomerPrediction. */
async function storePrediction(shopId: number, customerId: number, p: JsonPrediction): Promise<void> {
  const fittedAt = new Date(p.fittedAt);
  const fit = await prisma.predictionFit.create({
    data: {
      shopId,
      fittedAt,
      cutoff: new Date(fittedAt.getTime() - 90 * 86_400_000),
      status: "ready",
      calibration: JSON.stringify({ error: p.holdoutError, holdoutDays: 90 }),
    },
  });
  await prisma.customerPrediction.create({
    data: {
      customerId,
      shopId,
      fitId: fit.id,
      probabilityActive: p.probabilityActive,
      probabilityActive30dAgo: p.probabilityActive30dAgo ?? null,
      orders7: p.orders["7"],
      orders30: p.orders["30"],
      orders60: p.orders["60"],
      orders90: p.orders["90"],
      orders180: p.orders["180"],
      orders365: p.orders["365"],
      spendPerOrder: p.spendPerOrder,
      value12m: p.value12m,
      valueTier: p.valueTier,
      nextOrderAt: p.nextOrderAt === null ? null : new Date(p.nextOrderAt),
      computedAt: fittedAt,
    },
  });
}

const shops = new Map<string, number>();

beforeAll(async () => {
  for (const c of cases) shops.set(c.name, await store(c.name, c.facts, c.guest === true));
}, 120_000);

afterAll(() => prisma.$disconnect());

describe("cases.json on the SQL compiler", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const { sql, params } = compile(c.rule, dialectOfClient(prisma), {
      now: new Date(c.now ?? DEFAULT_NOW),
      shopId: shops.get(c.name)!,
      asOf: c.asOf,
    });
    const rows = await prisma.$queryRawUnsafe<{ id: string }[]>(sql, ...params);
    expect(rows.map((r) => r.id)).toEqual(c.expected && !c.guest ? [CUSTOMER] : []);
  });
});

describe("cases.json on the SQL compiler, per visitor", () => {
  const withVisitor = cases.filter((c) => c.facts.visitor);
  it("holds guests among its cases", () => {
    expect(withVisitor.filter((c) => c.guest).length).toBeGreaterThanOrEqual(20);
  });
  it.each(withVisitor.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const shopId = shops.get(c.name)!;
    const { sql, params } = compile(c.rule, dialectOfClient(prisma), {
      now: new Date(c.now ?? DEFAULT_NOW),
      shopId,
      unit: "visitor",
      asOf: c.asOf,
    });
    const rows = await prisma.$queryRawUnsafe<{ id: string }[]>(sql, ...params);
    expect(rows.map((r) => r.id)).toEqual((c.visitorExpected ?? c.expected) ? [`visitor-${shopId}`] : []);
  });
});

describe("cases.json on facts read back from the database", () => {
  // What the storefront decision and the admin preview evaluate: facts loaded by facts.server.ts
  // (checkout tokens with an order in the shop among them), per customer and per visitor.
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const shopId = shops.get(c.name)!;
    const now = new Date(c.now ?? DEFAULT_NOW);
    // As of a moment: with what the as-of mode reads besides (refunds, completion times …).
    const need = c.asOf
      ? { lines: true, checkouts: true, visitors: true, events: true, history: true }
      : undefined;
    if (!c.guest) {
      const facts = (await loadFacts(prisma, shopId, [CUSTOMER], need)).get(CUSTOMER)!;
      expect(evaluate(c.rule, facts, { now, asOf: c.asOf }).member).toBe(c.expected);
    }
    if (c.facts.visitor) {
      const id = `visitor-${shopId}`;
      const facts = (await loadVisitorFacts(prisma, shopId, [id], need)).get(id)!;
      expect(evaluate(c.rule, facts, { now, asOf: c.asOf, unit: "visitor" }).member).toBe(
        c.visitorExpected ?? c.expected,
      );
    }
  });
});
