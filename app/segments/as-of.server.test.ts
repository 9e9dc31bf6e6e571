/**
 * As-of snapshots on a whole shop, in the real database: for every field of the rule language and
 * several moments, the SQL compiler's as-of members (per customer and per visitor) are exactly
 * those the evaluator finds as of that moment on facts read back with their history. The shop is
 * generated so that the moments fall among its orders, cancellations, refunds, checkouts, carts,
 * customers and browsers (customers with two browsers, guests), where cases.json holds one person
 * each. A moment after everything gives what the rule gives today. And the CLI's --as-of.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "../db.server";
import { main, UsageError } from "../cli";
import { evaluate } from "../engine/evaluate";
import { parseRule, type Rule } from "../engine/rules";
import { compile } from "../engine/sql";
import { refreshCustomerStats } from "../sync/apply.server";
import { joinList } from "../sync/records";
import { loadFacts, loadVisitorFacts, type FactsNeeded } from "./facts.server";

const SHOP = "as-of.myshopify.com";
const DAY = 86_400_000;
const START = Date.parse("2026-01-01T00:00:00Z");
const SPAN = 150 * DAY;
const MOMENTS = [
  "2026-02-01T00:00:00Z",
  "2026-03-15T00:00:00Z",
  "2026-04-20T12:00:00Z",
  "2026-05-10T00:00:00Z",
];
/** After everything: the snapshot is today's shop. */
const AFTER = "2026-09-01T00:00:00Z";
const HISTORY: FactsNeeded = { lines: true, checkouts: true, visitors: true, events: true, history: true };

let shopId = 0;
const customerIds: string[] = [];
const visitorIds: string[] = [];

/** A small deterministic generator (mulberry32). */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  const r = random(17);
  const at = (from = START, span = SPAN) => new Date(Math.floor(from + r() * span));
  const pick = <T>(list: readonly T[]) => list[Math.floor(r() * list.length)];
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  let n = 0;
  const browser = async (customerShopifyId: string | null, from: number) => {
    const id = `b${++n}`;
    visitorIds.push(id);
    const first = at(from, SPAN - (from - START));
    const events: { type: string; resourceId: string | null; occurredAt: Date }[] = [];
    const count = Math.floor(r() * 8);
    for (let i = 0; i < count; i++) {
      const type = pick([
        "session_start",
        "session_start",
        "page_view",
        "product_view",
        "product_view",
        "collection_view",
        "search",
        "answer",
        "checkout_started",
        "checkout_address",
        "checkout_payment",
      ]);
      const resourceId =
        type === "product_view"
          ? pick(["1", "2", "3"])
          : type === "page_view"
            ? pick(["/a", "/b"])
            : type === "collection_view"
              ? pick(["10", "11"])
              : type === "search"
                ? pick(["boots", "red boot", "hat"])
                : type === "answer"
                  ? pick(["size=m", "size=l"])
                  : type.startsWith("checkout_")
                    ? pick(["tok1", "tok2", `tok-${id}`])
                    : null;
      // Never before the browser's first contact, as the pixel intake records them.
      events.push({ type, resourceId, occurredAt: at(first.getTime(), 40 * DAY) });
    }
    const last = new Date(Math.max(first.getTime(), ...events.map((e) => e.occurredAt.getTime())));
    const cartToken = r() < 0.6 ? `cart-${id}` : null;
    await prisma.visitor.create({
      data: {
        id,
        shopId,
        customerShopifyId,
        cartToken,
        firstSeenAt: first,
        lastSeenAt: last,
        sessions: events.filter((e) => e.type === "session_start").length,
        landingPage: pick(["/a", "/b", null]),
        utmSource: pick(["mail", null]),
        deviceType: pick(["mobile", "desktop"]),
      },
    });
    if (events.length)
      await prisma.storefrontEvent.createMany({ data: events.map((e) => ({ shopId, visitorId: id, ...e })) });
    if (cartToken) {
      const cart = await prisma.cart.create({
        data: {
          shopId,
          token: cartToken,
          totalPrice: Math.floor(r() * 5000),
          itemCount: Math.floor(r() * 3),
          shopifyUpdatedAt: at(),
        },
      });
      await prisma.cartLine.create({
        data: { cartId: cart.id, productId: pick(["1", "3"]), title: "item", quantity: 1, price: 0 },
      });
    }
  };
  for (let c = 0; c < 40; c++) {
    const id = String(1000 + c);
    customerIds.push(id);
    const createdAt = r() < 0.1 ? null : at(START - 30 * DAY, SPAN);
    const withTotals = r() < 0.25;
    await prisma.customer.create({
      data: {
        shopId,
        shopifyId: id,
        countryCode: pick(["US", "CA", null]),
        tags: joinList(pick([[], ["vip"]])),
        shopifyCreatedAt: createdAt,
        shopifyUpdatedAt: new Date(0),
        shopifyOrdersCount: withTotals ? Math.floor(r() * 6) : null,
        shopifySpent: withTotals ? Math.floor(r() * 30000) : null,
        shopifyTotalsAt: withTotals ? at() : null,
      },
    });
    const from = createdAt ? createdAt.getTime() : START;
    for (let o = Math.floor(r() * 4); o > 0; o--) {
      const processedAt = at(from, START + SPAN - from);
      const total = 1000 + Math.floor(r() * 6000);
      const refunds =
        r() < 0.3 ? [{ amount: Math.floor(total / 4), createdAt: at(processedAt.getTime(), 60 * DAY) }] : [];
      const order = await prisma.order.create({
        data: {
          shopId,
          shopifyId: `o${++n}`,
          customerShopifyId: id,
          currency: "USD",
          totalPrice: total,
          totalRefunded: refunds.reduce((s, x) => s + x.amount, 0),
          cancelledAt: r() < 0.15 ? at(processedAt.getTime(), 30 * DAY) : null,
          test: r() < 0.05,
          discountCodes: joinList(r() < 0.3 ? ["welcome10"] : []),
          financialStatus: pick(["paid", "paid", "pending"]),
          checkoutToken: r() < 0.3 ? pick(["tok1", "tok2"]) : null,
          processedAt,
          shopifyCreatedAt: processedAt,
          shopifyUpdatedAt: processedAt,
        },
      });
      await prisma.lineItem.create({
        data: {
          shopId,
          orderId: order.id,
          shopifyId: `l${++n}`,
          productId: pick(["1", "2", "3"]),
          title: "item",
          quantity: 1,
          price: total,
        },
      });
      for (const x of refunds)
        await prisma.refund.create({ data: { shopId, orderId: order.id, shopifyId: `r${++n}`, ...x } });
    }
    await prisma.$transaction((tx) => refreshCustomerStats(tx, shopId, id));
    for (let k = Math.floor(r() * 3); k > 0; k--) {
      const createdAt = at();
      const done = r();
      await prisma.checkout.create({
        data: {
          shopId,
          shopifyId: `k${++n}`,
          customerShopifyId: id,
          currency: "USD",
          totalPrice: 0,
          completedAt: done < 0.4 ? at(createdAt.getTime(), 20 * DAY) : null,
          orderShopifyId: done > 0.9 ? `o${n}` : null,
          shopifyCreatedAt: createdAt,
          shopifyUpdatedAt: createdAt,
        },
      });
    }
    for (let b = Math.floor(r() * 3); b > 0; b--) await browser(id, START);
  }
  for (let g = 0; g < 8; g++) await browser(null, START);
  // A guest's order completing a checkout of the pixel's.
  const guestOrderAt = new Date("2026-03-01T00:00:00Z");
  await prisma.order.create({
    data: {
      shopId,
      shopifyId: "guest-order",
      currency: "USD",
      totalPrice: 100,
      checkoutToken: "tok2",
      processedAt: guestOrderAt,
      shopifyCreatedAt: guestOrderAt,
      shopifyUpdatedAt: guestOrderAt,
    },
  });
}, 120_000);

afterAll(() => prisma.$disconnect());

const rule = (match: unknown): Rule => parseRule({ version: 1, match });
const RULES: [string, Rule][] = (
  [
    ["total spent", { field: "customer.totalSpent", op: "gte", value: 5000 }],
    ["orders count", { field: "customer.ordersCount", op: "gte", value: 2 }],
    ["average order", { field: "customer.averageOrderValue", op: "gte", value: 3000 }],
    ["first order recent", { field: "customer.firstOrderAt", op: "withinLast", days: 60 }],
    ["first order unknown", { field: "customer.firstOrderAt", op: "isNotSet" }],
    ["last order not recent", { field: "customer.lastOrderAt", op: "notWithinLast", days: 30 }],
    ["not in the US", { not: { field: "customer.countryCode", op: "eq", value: "US" } }],
    ["orders in 30 days", { field: "orders.count", op: "gte", value: 1, days: 30 }],
    ["spend in 90 days", { field: "orders.spend", op: "gte", value: 4000, days: 90 }],
    ["bought", { field: "orders.products", op: "in", value: ["1", "2"], days: 90 }],
    ["not bought", { field: "orders.products", op: "notIn", value: ["3"], days: 60 }],
    ["discount", { field: "orders.usedDiscount", op: "isTrue", days: 90 }],
    ["pending", { field: "orders.paymentPending", op: "isTrue", days: 90 }],
    ["abandoned checkout", { field: "checkouts.abandoned", op: "isTrue", days: 30 }],
    ["cart value", { field: "cart.value", op: "gte", value: 2000 }],
    ["cart items", { field: "cart.itemCount", op: "gte", value: 1 }],
    ["cart products", { field: "cart.products", op: "in", value: ["3"] }],
    ["sessions", { field: "visitor.sessions", op: "gte", value: 2 }],
    ["visits", { field: "visitor.visits", op: "gte", value: 1, days: 14 }],
    ["page views", { field: "visitor.pageViews", op: "gte", value: 2, days: 30 }],
    ["viewed", { field: "visitor.viewedProducts", op: "in", value: ["1"], days: 30 }],
    ["product views", { field: "visitor.productViews", op: "gte", value: 2, days: 30 }],
    ["left checkout", { field: "visitor.abandonedCheckoutStep", op: "isSet", days: 30 }],
    ["reached payment", { field: "visitor.reachedPayment", op: "isTrue", days: 30 }],
    ["searched", { field: "visitor.searches", op: "contains", value: "boot", days: 30 }],
    ["answered", { field: "visitor.answers", op: "in", value: ["size=m"] }],
    ["first seen", { field: "visitor.firstSeenAt", op: "withinLast", days: 30 }],
    ["last seen", { field: "visitor.lastSeenAt", op: "withinLast", days: 7 }],
    ["landing page", { field: "visitor.landingPage", op: "eq", value: "/a" }],
    ["utm", { field: "visitor.utmSource", op: "isSet" }],
    ["device", { field: "visitor.deviceType", op: "eq", value: "mobile" }],
    [
      "mixed",
      {
        any: [
          {
            all: [
              { field: "customer.ordersCount", op: "eq", value: 0 },
              { field: "visitor.sessions", op: "gte", value: 1 },
            ],
          },
          { not: { field: "customer.tags", op: "contains", value: "vip" } },
        ],
      },
    ],
  ] as const
).map(([name, match]) => [name, rule(match)]);

async function bySql(r: Rule, now: Date, unit: "customer" | "visitor", asOf: boolean): Promise<string[]> {
  const { sql, params } = compile(r, dialectOfClient(prisma), { now, shopId, unit, asOf });
  const rows = await prisma.$queryRawUnsafe<{ id: string }[]>(sql, ...params);
  return rows.map((x) => String(x.id)).sort();
}

async function byEvaluator(
  r: Rule,
  now: Date,
  unit: "customer" | "visitor",
  asOf: boolean,
): Promise<string[]> {
  const facts =
    unit === "customer"
      ? await loadFacts(prisma, shopId, customerIds, HISTORY)
      : await loadVisitorFacts(prisma, shopId, visitorIds, HISTORY);
  return [...facts]
    .filter(([, f]) => evaluate(r, f, { now, asOf, unit, reasons: false }).member)
    .map(([id]) => id)
    .sort();
}

describe("as of a moment, on a whole shop", () => {
  it("has customers with two browsers, guests, and people who did not exist yet at the first moment", async () => {
    const facts = await loadFacts(prisma, shopId, customerIds, HISTORY);
    expect([...facts.values()].filter((f) => (f.visitor?.browsers?.length ?? 0) >= 2).length).toBeGreaterThan(
      3,
    );
    expect(await prisma.visitor.count({ where: { shopId, customerShopifyId: null } })).toBe(8);
    const first = new Date(MOMENTS[0]);
    expect(
      await prisma.customer.count({ where: { shopId, shopifyCreatedAt: { gt: first } } }),
    ).toBeGreaterThan(5);
  });

  it.each(RULES)("%s: the SQL compiler and the evaluator agree at every moment", async (_name, r) => {
    for (const moment of MOMENTS) {
      const now = new Date(moment);
      for (const unit of ["customer", "visitor"] as const)
        expect(await bySql(r, now, unit, true), `${moment} per ${unit}`).toEqual(
          await byEvaluator(r, now, unit, true),
        );
    }
  });

  it("differs from the clock alone where later records count, and equals it after everything", async () => {
    let differ = 0;
    for (const [name, r] of RULES) {
      for (const moment of MOMENTS) {
        const now = new Date(moment);
        if (
          (await bySql(r, now, "customer", true)).join() !== (await bySql(r, now, "customer", false)).join()
        )
          differ++;
      }
      const after = new Date(AFTER);
      for (const unit of ["customer", "visitor"] as const)
        expect(await bySql(r, after, unit, true), `${name} per ${unit}`).toEqual(
          await bySql(r, after, unit, false),
        );
    }
    expect(differ).toBeGreaterThan(RULES.length);
  });
});

describe("npm run slice -- segments … --as-of", () => {
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const code = await main(["segments", ...args, "--shop", SHOP], (l) => out.push(l));
    return { code, out };
  };
  beforeAll(async () => {
    await prisma.segment.create({
      data: {
        shopId,
        handle: "spent-5000",
        name: "Spent 5000",
        rule: JSON.stringify({ version: 1, match: { field: "customer.totalSpent", op: "gte", value: 5000 } }),
      },
    });
  });
  const sizeIn = (lines: string[]) =>
    Number(
      lines
        .find((l) => l.startsWith("spent-5000 "))!
        .trim()
        .split(/\s+/)[1],
    );

  it("lists, shows and exports the members of that moment, not only with its clock", async () => {
    const moment = "2026-03-15T00:00:00Z";
    const expected = await bySql(RULES[0][1], new Date(moment), "customer", true);
    const clockOnly = await bySql(RULES[0][1], new Date(moment), "customer", false);
    expect(expected.length).toBeLessThan(clockOnly.length);
    const list = await run("list", "--as-of", moment);
    expect(list.out[0]).toBe("sizes as of 2026-03-15T00:00:00.000Z (nothing recorded after it counts)");
    expect(sizeIn(list.out)).toBe(expected.length);
    expect(sizeIn((await run("list", "--now", moment)).out)).toBe(clockOnly.length);
    const show = await run("show", "spent-5000", "--as-of", moment);
    expect(show.out).toContain(`members as of 2026-03-15T00:00:00.000Z: ${expected.length}`);
    const exported = await run("export", "spent-5000", "--as-of", moment);
    expect(
      exported.out
        .slice(1)
        .map((l) => l.split(",")[0])
        .sort(),
    ).toEqual(expected);
  });

  it("explains a customer as they were then", async () => {
    const moment = new Date("2026-03-15T00:00:00Z");
    const facts = await loadFacts(prisma, shopId, customerIds, HISTORY);
    // Someone whose total spent then differs from today's.
    const id = customerIds.find((c) => {
      const f = facts.get(c)!;
      const then = evaluate(RULES[0][1], f, { now: moment, asOf: true }).member;
      return then !== evaluate(RULES[0][1], f, { now: moment }).member && f.customer?.createdAt !== null;
    })!;
    expect(id).toBeDefined();
    const asOf = await run("explain", "spent-5000", id, "--as-of", moment.toISOString());
    const clock = await run("explain", "spent-5000", id, "--now", moment.toISOString());
    expect(asOf.out[0]).not.toBe(clock.out[0]);
    expect(asOf.out[1]).toMatch(/Total spent is at least/);
  });

  it("refuses --now with --as-of, a bad time, and --as-of where it means nothing", async () => {
    await expect(
      run("list", "--now", "2026-03-01T00:00:00Z", "--as-of", "2026-03-01T00:00:00Z"),
    ).rejects.toThrow("give --now (the rule's clock) or --as-of (a snapshot), not both");
    await expect(run("show", "spent-5000", "--as-of", "last week")).rejects.toThrow(
      '--as-of must be an ISO time (got "last week")',
    );
    await expect(run("push", "spent-5000", "--as-of", "2026-03-01T00:00:00Z")).rejects.toThrow(UsageError);
  });
});
