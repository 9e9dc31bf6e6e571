/**
 * Property: for random rules over a generated store, the SQL compiler's members are exactly the
 * customers the evaluator admits, one by one, from facts read back from the same database; and
 * per visitor (guests and signed-in browsers, the Web Pixel's checkout, search and product events
 * among theirs), the visitors it selects are exactly those the evaluator admits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "../db.server";
import { compile } from "../engine/sql";
import { evaluate } from "../engine/evaluate";
import { parseRule, type Condition, type Rule, type RuleNode } from "../engine/rules";
import { factsNeededFor, loadFacts, loadVisitorFacts } from "./facts.server";
import { fieldsOf } from "../engine/fields-of";
import { generateStore } from "../../dev/store";
import { ingestStore } from "../../dev/testing/ingest";
import { mulberry32 } from "../../dev/webhooks";

const store = generateStore({ seed: 21, customers: 150, shop: "property.myshopify.com" });
const now = store.now;
let shopId = 0;

beforeAll(async () => {
  shopId = await ingestStore(prisma, store);
  // Storefront visitors for a third of the customers, some with a cart, some with two visits.
  const random = mulberry32(5);
  const carts = store.carts.map((c) => c.token);
  for (const [i, c] of store.customers.entries()) {
    if (random() > 0.33) continue;
    for (let k = 0; k < (random() < 0.3 ? 2 : 1); k++) {
      const lastSeen = new Date(now.getTime() - Math.floor(random() * 60) * 86_400_000 - k * 1000);
      await prisma.visitor.create({
        data: {
          id: `v-${i}-${k}`,
          shopId,
          customerShopifyId: c.id,
          cartToken: random() < 0.5 ? carts[Math.floor(random() * carts.length)] : null,
          sessions: 1 + Math.floor(random() * 6),
          firstSeenAt: new Date(lastSeen.getTime() - Math.floor(random() * 90) * 86_400_000),
          lastSeenAt: lastSeen,
          utmSource: random() < 0.5 ? ["google", "Instagram", "newsletter"][Math.floor(random() * 3)] : null,
          deviceType: random() < 0.5 ? "mobile" : "desktop",
          landingPage: random() < 0.5 ? "/collections/sale" : "/",
        },
      });
      // What the visitor did on the storefront, spread over the last 60 days.
      const events = Array.from({ length: Math.floor(random() * 12) }, () => {
        const type = ["session_start", "page_view", "product_view", "collection_view", "answer"][
          Math.floor(random() * 5)
        ];
        const resourceId =
          type === "product_view"
            ? store.products[Math.floor(random() * store.products.length)].id
            : type === "collection_view"
              ? store.collections[Math.floor(random() * store.collections.length)].id
              : type === "page_view"
                ? ["/pages/About", "/pages/faq", "/blogs/news"][Math.floor(random() * 3)]
                : type === "answer"
                  ? ["skin=dry", "skin=Oily", "goal=gift"][Math.floor(random() * 3)]
                  : null;
        return {
          shopId,
          visitorId: `v-${i}-${k}`,
          type,
          resourceId,
          occurredAt: new Date(now.getTime() - Math.floor(random() * 60 * 86_400_000)),
        };
      });
      if (events.length) await prisma.storefrontEvent.createMany({ data: events });
    }
  }
  // Guests' browsers, and the Web Pixel's events (checkouts at their steps, searches, product
  // views) for every browser: the pixel fields and the per-visitor query have data to split.
  const pixel = mulberry32(11);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(pixel() * xs.length)];
  for (let g = 0; g < 60; g++) {
    const lastSeen = new Date(now.getTime() - Math.floor(pixel() * 45) * 86_400_000);
    await prisma.visitor.create({
      data: {
        id: `guest-${g}`,
        shopId,
        cartToken: pixel() < 0.3 ? pick(carts) : null,
        sessions: 1 + Math.floor(pixel() * 4),
        firstSeenAt: new Date(lastSeen.getTime() - Math.floor(pixel() * 30) * 86_400_000),
        lastSeenAt: lastSeen,
      },
    });
  }
  const browsers = await prisma.visitor.findMany({ where: { shopId }, select: { id: true } });
  const steps = ["started", "contact", "address", "shipping", "payment", "completed"];
  for (const { id } of browsers) {
    const data: {
      shopId: number;
      visitorId: string;
      type: string;
      resourceId: string | null;
      occurredAt: Date;
    }[] = [];
    const at = () => new Date(now.getTime() - Math.floor(pixel() * 30 * 86_400_000));
    for (let k = Math.floor(pixel() * 3); k > 0; k--) {
      // A checkout: its steps in order up to where it was left, a few minutes apart.
      const token = `tok-${id}-${k}`;
      const start = at().getTime();
      const reached = Math.floor(pixel() * steps.length);
      for (let s = 0; s <= reached; s++)
        data.push({
          shopId,
          visitorId: id,
          type: `checkout_${steps[s]}`,
          resourceId: token,
          occurredAt: new Date(start + s * 60_000),
        });
    }
    for (let k = Math.floor(pixel() * 3); k > 0; k--)
      data.push({ shopId, visitorId: id, type: "search", resourceId: pick(SEARCHES), occurredAt: at() });
    for (let k = Math.floor(pixel() * 5); k > 0; k--)
      data.push({
        shopId,
        visitorId: id,
        type: "product_view",
        resourceId: pick(store.products.slice(0, 3)).id,
        occurredAt: at(),
      });
    if (data.length) await prisma.storefrontEvent.createMany({ data });
  }
  // Some of the pixel's checkouts (finished or not by its events) have their order in the shop
  // (the webhook's checkout token): completed for the pixel fields, in the SQL and in the facts.
  const checkouts = await prisma.storefrontEvent.groupBy({
    by: ["resourceId"],
    where: { shopId, type: { startsWith: "checkout_" } },
    orderBy: { resourceId: "asc" },
  });
  const orders = await prisma.order.findMany({
    where: { shopId },
    select: { id: true },
    orderBy: { id: "asc" },
  });
  const tokenOrders = mulberry32(13);
  let next = 0;
  for (const { resourceId } of checkouts)
    if (resourceId && tokenOrders() < 0.3 && next < orders.length)
      await prisma.order.update({ where: { id: orders[next++].id }, data: { checkoutToken: resourceId } });
  expect(next).toBeGreaterThan(10);
}, 180_000);

const SEARCHES = ["linen shirt", "winter boots", "boots", "gift card"];

afterAll(() => prisma.$disconnect());

function randomRule(random: () => number): Rule {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const days = () => pick([1, 7, 14, 30, 90, 365]);
  const product = () => pick(store.products).id;
  const condition = (): Condition =>
    pick<() => Condition>([
      () => ({
        field: "customer.totalSpent",
        op: pick(["gt", "lte", "gte"] as const),
        value: Math.floor(random() * 40000),
      }),
      () => ({
        field: "customer.ordersCount",
        op: pick(["eq", "gte", "lt"] as const),
        value: Math.floor(random() * 4),
      }),
      () => ({
        field: "customer.averageOrderValue",
        op: pick(["gt", "isSet", "isNotSet"] as const),
        value: Math.floor(random() * 8000),
      }),
      () => ({
        field: "customer.lastOrderAt",
        op: pick(["withinLast", "notWithinLast"] as const),
        days: days(),
      }),
      () => ({
        field: "customer.firstOrderAt",
        op: "before",
        value: new Date(now.getTime() - random() * 300 * 86_400_000).toISOString(),
      }),
      () => ({
        field: "customer.countryCode",
        op: pick(["eq", "neq"] as const),
        value: pick(["US", "CA", "GB", "de"]),
      }),
      () => ({ field: "customer.countryCode", op: "in", value: ["US", "FR"] }),
      () => ({ field: "customer.city", op: "contains", value: pick(["on", "Ber", "york"]) }),
      () => ({ field: "customer.tags", op: pick(["contains", "notContains"] as const), value: "newsletter" }),
      () => ({ field: "customer.acceptsEmailMarketing", op: pick(["isTrue", "isFalse"] as const) }),
      () => ({
        field: "orders.count",
        op: pick(["gte", "eq"] as const),
        value: Math.floor(random() * 3),
        days: days(),
      }),
      () => ({
        field: "orders.spend",
        op: "between",
        value: [1000, 1000 + Math.floor(random() * 20000)],
        days: days(),
      }),
      () => ({
        field: "orders.products",
        op: pick(["in", "notIn"] as const),
        value: [product(), product()],
        days: days(),
      }),
      () => ({ field: "orders.collections", op: "in", value: [pick(store.collections).id], days: days() }),
      () => ({ field: "orders.vendors", op: "in", value: ["acme"], days: days() }),
      () => ({ field: "orders.usedDiscount", op: pick(["isTrue", "isFalse"] as const), days: days() }),
      () => ({ field: "checkouts.abandoned", op: "isTrue", days: pick([30, 90, 365]) }),
      () => ({ field: "cart.itemCount", op: "gte", value: 1 + Math.floor(random() * 3) }),
      () => ({ field: "cart.value", op: "gt", value: Math.floor(random() * 8000) }),
      () => ({ field: "cart.products", op: "in", value: [product()] }),
      () => ({ field: "visitor.sessions", op: "gte", value: 1 + Math.floor(random() * 6) }),
      () => ({ field: "visitor.firstSeenAt", op: "withinLast", days: days() }),
      () => ({ field: "visitor.utmSource", op: pick(["eq", "isNotSet"] as const), value: "instagram" }),
      () => ({ field: "visitor.deviceType", op: "eq", value: "mobile" }),
      () => ({
        field: "visitor.visits",
        op: pick(["gte", "eq"] as const),
        value: Math.floor(random() * 3),
        days: days(),
      }),
      () => ({ field: "visitor.visitsPerWeek", op: "gte", value: Math.floor(random() * 2), days: days() }),
      () => ({
        field: "visitor.pageViews",
        op: pick(["gt", "lt"] as const),
        value: Math.floor(random() * 4),
        days: days(),
      }),
      () => ({
        field: "visitor.viewedProducts",
        op: pick(["in", "notIn"] as const),
        value: [product()],
        days: days(),
      }),
      () => ({
        field: "visitor.viewedCollections",
        op: "in",
        value: [pick(store.collections).id],
        days: days(),
      }),
      () => ({ field: "visitor.viewedPages", op: "in", value: ["/pages/about"], days: days() }),
      () => ({
        field: "visitor.answers",
        op: pick(["in", "notIn"] as const),
        value: [pick(["skin=oily", "goal=gift"])],
      }),
      () => ({
        field: "orders.productTypes",
        op: "in",
        value: [pick(store.products).productType],
        days: days(),
      }),
      () => {
        const op = pick(["eq", "neq", "in", "notIn", "isSet", "isNotSet"] as const);
        const step = () => pick(["started", "contact", "address", "shipping", "payment"]);
        const value = op === "in" || op === "notIn" ? [step(), step()] : step();
        return { field: "visitor.abandonedCheckoutStep", op, value, days: days() };
      },
      () => ({
        field: "visitor.productViews",
        op: pick(["gte", "lt", "eq"] as const),
        value: Math.floor(random() * 4),
        days: days(),
        ...(random() < 0.5 ? { product: pick(store.products.slice(0, 3)).id } : {}),
      }),
      () => {
        const op = pick(["contains", "notContains", "eq", "in", "isSet", "isNotSet"] as const);
        const term = () => pick(["Boots", "linen  SHIRT", "gift", "winter boots"]);
        return {
          field: "visitor.searches",
          op,
          value: op === "in" ? [term(), term()] : term(),
          days: days(),
        };
      },
      () => ({ field: "visitor.reachedPayment", op: pick(["isTrue", "isFalse"] as const), days: days() }),
    ])();
  const node = (depth: number): RuleNode => {
    const r = random();
    if (depth > 1 || r < 0.45) {
      const c = condition();
      if (c.op === "isSet" || c.op === "isNotSet") delete c.value;
      return c;
    }
    const children = Array.from({ length: 1 + Math.floor(random() * 3) }, () => node(depth + 1));
    return r < 0.7 ? { all: children } : r < 0.9 ? { any: children } : { not: children[0] };
  };
  return parseRule({ version: 1, match: node(0) });
}

describe("SQL membership equals the evaluator's", () => {
  it("for 200 random rules over a generated store, customer by customer", async () => {
    const ids = (
      await prisma.customer.findMany({ where: { shopId, deletedAt: null }, select: { shopifyId: true } })
    ).map((c) => c.shopifyId);
    const everything = await loadFacts(prisma, shopId, ids);
    const random = mulberry32(77);
    let nonTrivial = 0;
    for (let i = 0; i < 200; i++) {
      const rule = randomRule(random);
      const { sql, params } = compile(rule, dialectOfClient(prisma), { now, shopId });
      const bySql = new Set(
        (await prisma.$queryRawUnsafe<{ id: string }[]>(sql, ...params)).map((r) => r.id),
      );
      const byEvaluator = new Set(ids.filter((id) => evaluate(rule, everything.get(id)!, { now }).member));
      // The webhook path loads only what the rule reads: it must come to the same answer.
      const partial = await loadFacts(prisma, shopId, ids, factsNeededFor(fieldsOf(rule)));
      const byPartial = ids.filter(
        (id) => evaluate(rule, partial.get(id)!, { now }).member !== byEvaluator.has(id),
      );
      expect({ rule: JSON.stringify(rule.match), partialDiffers: byPartial }).toEqual({
        rule: JSON.stringify(rule.match),
        partialDiffers: [],
      });
      const differ = ids.filter((id) => bySql.has(id) !== byEvaluator.has(id));
      expect({ rule: JSON.stringify(rule.match), differ }).toEqual({
        rule: JSON.stringify(rule.match),
        differ: [],
      });
      if (bySql.size > 0 && bySql.size < ids.length) nonTrivial++;
    }
    // The rules must actually split the customers, or the property says little.
    expect(nonTrivial).toBeGreaterThan(70);
  });
});

describe("per visitor, SQL selects exactly the visitors the evaluator admits", () => {
  it("for 200 random rules, guests and signed-in browsers alike", async () => {
    const ids = (await prisma.visitor.findMany({ where: { shopId }, select: { id: true } })).map((v) => v.id);
    expect(ids.filter((id) => id.startsWith("guest-")).length).toBe(60);
    const everything = await loadVisitorFacts(prisma, shopId, ids);
    const random = mulberry32(78);
    let nonTrivial = 0;
    for (let i = 0; i < 200; i++) {
      const rule = randomRule(random);
      const { sql, params } = compile(rule, dialectOfClient(prisma), { now, shopId, unit: "visitor" });
      const bySql = new Set(
        (await prisma.$queryRawUnsafe<{ id: string }[]>(sql, ...params)).map((r) => r.id),
      );
      const byEvaluator = new Set(ids.filter((id) => evaluate(rule, everything.get(id)!, { now }).member));
      const differ = ids.filter((id) => bySql.has(id) !== byEvaluator.has(id));
      expect({ rule: JSON.stringify(rule.match), differ }).toEqual({
        rule: JSON.stringify(rule.match),
        differ: [],
      });
      if (bySql.size > 0 && bySql.size < ids.length) nonTrivial++;
    }
    expect(nonTrivial).toBeGreaterThan(70);
  });

  it("counts the recent visitors only, when asked for them", async () => {
    const rule = parseRule({
      version: 1,
      match: { field: "visitor.reachedPayment", op: "isFalse", days: 30 },
    });
    const since = new Date(now.getTime() - 14 * 86_400_000);
    const { sql, params } = compile(rule, dialectOfClient(prisma), {
      now,
      shopId,
      unit: "visitor",
      seenSince: since,
    });
    const bySql = (await prisma.$queryRawUnsafe<{ id: string }[]>(sql, ...params)).map((r) => r.id).sort();
    const facts = await loadVisitorFacts(
      prisma,
      shopId,
      (
        await prisma.visitor.findMany({ where: { shopId, lastSeenAt: { gte: since } }, select: { id: true } })
      ).map((v) => v.id),
    );
    const byEvaluator = [...facts.keys()]
      .filter((id) => evaluate(rule, facts.get(id)!, { now }).member)
      .sort();
    expect(bySql).toEqual(byEvaluator);
    expect(bySql.length).toBeGreaterThan(5);
  });
});
