/**
 * The facts the evaluator needs, read from the shop's copy: for one customer (storefront,
 * "why is this customer in this segment") or for many at once (checks and recompute).
 * Built from the same rows the SQL compiler reads, the same way (cases.json holds them equal).
 */
import type { PrismaClient } from "@prisma/client";
import type { Facts, OrderFacts, StorefrontEventFacts } from "../engine/evaluate";
import { FIELDS, type Field } from "../engine/rules";
import { splitList } from "../sync/records";

/** Which parts of the facts to read; everything when not given. */
export interface FactsNeeded {
  lines: boolean;
  checkouts: boolean;
  visitors: boolean;
  events: boolean;
}

const EVERYTHING: FactsNeeded = { lines: true, checkouts: true, visitors: true, events: true };

/** What the given fields read: a webhook's update loads only that (the rest stays empty). */
export function factsNeededFor(fields: Iterable<Field>): FactsNeeded {
  const need: FactsNeeded = { lines: false, checkouts: false, visitors: false, events: false };
  for (const f of fields) {
    if (FIELDS[f].type === "ids" && f.startsWith("orders.")) need.lines = true;
    if (f.startsWith("checkouts.")) need.checkouts = true;
    if (f.startsWith("visitor.") || f.startsWith("cart.")) need.visitors = true;
    if (f.startsWith("visitor.") && ("windowed" in FIELDS[f] || f === "visitor.answers")) need.events = true;
  }
  return need;
}

export async function loadFacts(
  db: PrismaClient,
  shopId: number,
  customerIds: string[],
  need: FactsNeeded = EVERYTHING,
): Promise<Map<string, Facts>> {
  const [customers, orders, checkouts, visitors] = await Promise.all([
    db.customer.findMany({
      where: { shopId, shopifyId: { in: customerIds }, deletedAt: null },
      select: {
        shopifyId: true,
        shopifyCreatedAt: true,
        countryCode: true,
        provinceCode: true,
        city: true,
        tags: true,
        acceptsEmailMarketing: true,
        state: true,
      },
    }),
    db.order.findMany({
      where: { shopId, customerShopifyId: { in: customerIds } },
      select: {
        customerShopifyId: true,
        processedAt: true,
        totalPrice: true,
        totalRefunded: true,
        cancelledAt: true,
        test: true,
        discountCodes: true,
        financialStatus: true,
        ...(need.lines ? { lineItems: { select: { productId: true, variantId: true, vendor: true } } } : {}),
      },
    }),
    need.checkouts
      ? db.checkout.findMany({
          where: { shopId, customerShopifyId: { in: customerIds } },
          select: {
            customerShopifyId: true,
            shopifyCreatedAt: true,
            completedAt: true,
            orderShopifyId: true,
          },
        })
      : [],
    need.visitors || need.events
      ? db.visitor.findMany({
          where: { shopId, customerShopifyId: { in: customerIds } },
          orderBy: { lastSeenAt: "desc" },
        })
      : [],
  ]);
  // Only the products these orders bought: their collections and types.
  const productIds = [...new Set(orders.flatMap((o) => (o.lineItems ?? []).map((l) => l.productId)))].filter(
    (p): p is string => !!p,
  );
  // Many customers buy many products: look them up in chunks (the database caps bound values).
  const chunks = Array.from({ length: Math.ceil(productIds.length / 500) }, (_, i) =>
    productIds.slice(i * 500, i * 500 + 500),
  );
  const [collections, products, carts, events] = await Promise.all([
    Promise.all(
      chunks.map((ids) =>
        db.productCollection.findMany({
          where: { shopId, productShopifyId: { in: ids } },
          select: { productShopifyId: true, collectionShopifyId: true },
        }),
      ),
    ).then((parts) => parts.flat()),
    Promise.all(
      chunks.map((ids) =>
        db.product.findMany({
          where: { shopId, shopifyId: { in: ids } },
          select: { shopifyId: true, productType: true },
        }),
      ),
    ).then((parts) => parts.flat()),
    loadCarts(db, shopId, visitors),
    need.events && visitors.length
      ? db.storefrontEvent.findMany({
          where: { shopId, visitorId: { in: visitors.map((v) => v.id) } },
          select: { visitorId: true, type: true, occurredAt: true, resourceId: true },
        })
      : [],
  ]);
  const collectionsOf = new Map<string, string[]>();
  for (const pc of collections) {
    const list = collectionsOf.get(pc.productShopifyId) ?? [];
    list.push(pc.collectionShopifyId);
    collectionsOf.set(pc.productShopifyId, list);
  }
  const typeOf = new Map(products.map((p) => [p.shopifyId, p.productType]));
  const eventsOf = new Map<string, StorefrontEventFacts[]>();
  for (const e of events) {
    const list = eventsOf.get(e.visitorId) ?? [];
    list.push({ type: e.type, at: e.occurredAt, resourceId: e.resourceId });
    eventsOf.set(e.visitorId, list);
  }
  const facts = new Map<string, Facts>();
  for (const c of customers)
    facts.set(c.shopifyId, {
      customer: {
        createdAt: c.shopifyCreatedAt,
        countryCode: c.countryCode,
        provinceCode: c.provinceCode,
        city: c.city,
        tags: splitList(c.tags),
        acceptsEmailMarketing: c.acceptsEmailMarketing,
        state: c.state,
      },
      orders: [],
      checkouts: [],
      cart: null,
      visitor: null,
    });
  for (const o of orders) {
    const f = facts.get(o.customerShopifyId ?? "");
    if (!f) continue;
    const order: OrderFacts = {
      processedAt: o.processedAt,
      total: o.totalPrice,
      refunded: o.totalRefunded,
      cancelled: o.cancelledAt !== null,
      test: o.test,
      discountCodes: splitList(o.discountCodes),
      financialStatus: o.financialStatus,
      lines: (o.lineItems ?? []).map((l) => ({
        productId: l.productId,
        variantId: l.variantId,
        vendor: l.vendor,
        productType: l.productId ? (typeOf.get(l.productId) ?? null) : null,
        collectionIds: l.productId ? (collectionsOf.get(l.productId) ?? []) : [],
      })),
    };
    f.orders.push(order);
  }
  for (const k of checkouts) {
    facts.get(k.customerShopifyId ?? "")?.checkouts.push({
      createdAt: k.shopifyCreatedAt,
      completed: k.completedAt !== null || k.orderShopifyId !== null,
    });
  }
  // Visitors: sessions summed, first/last over all; text and cart from the latest one.
  for (const v of visitors) {
    const f = facts.get(v.customerShopifyId ?? "");
    if (!f) continue;
    if (!f.visitor) {
      const { landingPage, referrer, utmSource, utmMedium, utmCampaign, deviceType } = v;
      const text = { landingPage, referrer, utmSource, utmMedium, utmCampaign, deviceType };
      f.visitor = { ...text, firstSeenAt: v.firstSeenAt, lastSeenAt: v.lastSeenAt, sessions: 0, events: [] };
      f.cart = v.cartToken ? (carts.get(v.cartToken) ?? null) : null;
    }
    const visitor = f.visitor;
    visitor.sessions += v.sessions;
    if (v.firstSeenAt < visitor.firstSeenAt) visitor.firstSeenAt = v.firstSeenAt;
    if (v.lastSeenAt > visitor.lastSeenAt) visitor.lastSeenAt = v.lastSeenAt;
    visitor.events.push(...(eventsOf.get(v.id) ?? []));
  }
  return facts;
}

async function loadCarts(db: PrismaClient, shopId: number, visitors: { cartToken: string | null }[]) {
  const tokens = [...new Set(visitors.map((v) => v.cartToken).filter((t): t is string => !!t))];
  const carts = tokens.length
    ? await db.cart.findMany({
        where: { shopId, token: { in: tokens } },
        include: { lines: { select: { productId: true } } },
      })
    : [];
  return new Map(
    carts.map((c) => [
      c.token,
      {
        value: c.totalPrice,
        itemCount: c.itemCount,
        productIds: c.lines.map((l) => l.productId).filter((p): p is string => !!p),
      },
    ]),
  );
}
