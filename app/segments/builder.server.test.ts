/**
 * The builder's server side: the live preview agrees with the membership a saved segment gets,
 * saving refuses bad input with the field named, and segments other segments are built on are
 * protected.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { generateStore } from "../../dev/store";
import { ingestStore } from "../../dev/testing/ingest";
import type { Rule } from "../engine/rules";
import {
  deleteSegment,
  labelsFor,
  newSegmentPage,
  pickerOptions,
  previewRule,
  saveSegment,
} from "./builder.server";
import { ensurePresets, membersBySql, recompute, shopSegments, topSpendThreshold } from "./store.server";

const store = generateStore({ seed: 41, customers: 90, shop: "builder.myshopify.com" });
const now = store.now;
let shopId = 0;

beforeAll(async () => {
  shopId = await ingestStore(prisma, store);
  await ensurePresets(prisma, shopId);
  await recompute(prisma, shopId, now);
});
afterAll(() => prisma.$disconnect());

const repeatBuyers: Rule = { version: 1, match: { field: "customer.ordersCount", op: "gte", value: 2 } };

function form(overrides: Record<string, unknown> = {}) {
  return {
    name: "Repeat buyers",
    description: "",
    handle: "repeat-buyers",
    minSize: "10",
    maxSize: "5000",
    rule: JSON.stringify(repeatBuyers),
    ...overrides,
  };
}

describe("the segment builder", () => {
  it("previews the size and a sample of exactly the customers the saved segment will have", async () => {
    const { resolve } = await shopSegments(prisma, shopId);
    const expected = await membersBySql(prisma, shopId, repeatBuyers, now, resolve);
    expect(expected.size).toBeGreaterThan(3);
    const result = await previewRule(prisma, shopId, repeatBuyers, now);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.preview.size).toBe(expected.size);
    expect(result.preview.sample.length).toBe(Math.min(8, expected.size));
    for (const c of result.preview.sample) expect(expected.has(c.shopifyId)).toBe(true);
  });

  it("shows how much a draft overlaps the shop's other segments", async () => {
    const { segments, rules } = await shopSegments(prisma, shopId);
    const highSpend = segments.find((s) => s.handle === "high-spend-repeat")!;
    expect(highSpend.size).toBeGreaterThan(0);
    const result = await previewRule(prisma, shopId, rules.get("high-spend-repeat"), now);
    if (!result.ok) throw new Error("preview failed");
    const same = result.preview.overlap.find((o) => o.handle === "high-spend-repeat");
    expect(same).toMatchObject({ size: highSpend.size, shared: highSpend.size });
    // Every high spender has 2+ orders, so all of them are repeat buyers too.
    const wider = await previewRule(prisma, shopId, repeatBuyers, now);
    if (!wider.ok) throw new Error("preview failed");
    expect(wider.preview.overlap.find((o) => o.handle === "high-spend-repeat")?.shared).toBe(highSpend.size);
  });

  it("refuses a draft rule with each problem's place named", async () => {
    const result = await previewRule(
      prisma,
      shopId,
      {
        version: 1,
        match: { all: [{ field: "customer.totalSpnt", op: "gte", value: 1 }, { segment: "nope" }] },
      },
      now,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.path)).toEqual(["match.all.0.field", "match.all.1.segment"]);
  });

  it("saves a new segment and computes its members at once", async () => {
    const saved = await saveSegment(prisma, shopId, null, form(), now);
    expect(saved).toMatchObject({ ok: true, handle: "repeat-buyers" });
    const segment = await prisma.segment.findUniqueOrThrow({
      where: { shopId_handle: { shopId, handle: "repeat-buyers" } },
      include: { _count: { select: { members: true } } },
    });
    const { resolve } = await shopSegments(prisma, shopId);
    const expected = await membersBySql(prisma, shopId, repeatBuyers, now, resolve);
    expect(segment._count.members).toBe(expected.size);
    expect(segment.size).toBe(expected.size);
    expect(segment.minSize).toBe(10);
  });

  it("refuses bad input with the field named and saves nothing", async () => {
    const before = await prisma.segment.count({ where: { shopId } });
    const missing = await saveSegment(prisma, shopId, null, form({ name: " ", handle: "Bad Handle" }), now);
    expect(missing).toEqual({
      ok: false,
      fields: {
        name: "give the segment a name",
        handle: "use lower-case letters, digits and dashes, starting with a letter or digit",
      },
      problems: [],
    });
    const band = await saveSegment(
      prisma,
      shopId,
      null,
      form({ handle: "band", minSize: "500", maxSize: "100" }),
      now,
    );
    expect(band).toMatchObject({
      ok: false,
      fields: { maxSize: "must be more than the smallest useful size" },
    });
    const taken = await saveSegment(prisma, shopId, null, form({ handle: "lapsed-customers" }), now);
    expect(taken).toMatchObject({
      ok: false,
      fields: { handle: 'another segment already uses the handle "lapsed-customers"' },
    });
    const reserved = await saveSegment(prisma, shopId, null, form({ handle: "new" }), now);
    expect(reserved).toMatchObject({
      ok: false,
      fields: { handle: '"new" is reserved: choose another handle' },
    });
    const badRule = await saveSegment(
      prisma,
      shopId,
      null,
      form({
        handle: "bad-rule",
        rule: JSON.stringify({ version: 1, match: { field: "customer.ordersCount", op: "gte" } }),
      }),
      now,
    );
    expect(badRule).toEqual({
      ok: false,
      fields: {},
      problems: [{ path: "match.value", message: "must be a whole number" }],
    });
    const selfRef = await saveSegment(
      prisma,
      shopId,
      null,
      form({ handle: "loop", rule: JSON.stringify({ version: 1, match: { segment: "loop" } }) }),
      now,
    );
    expect(selfRef).toEqual({
      ok: false,
      fields: {},
      problems: [{ path: "match.segment", message: "segments refer to each other in a loop: loop → loop" }],
    });
    expect(await prisma.segment.count({ where: { shopId } })).toBe(before);
  });

  it("keeps segments that others are built on: no renaming the handle, no deleting", async () => {
    const notRepeat: Rule = {
      version: 1,
      match: {
        all: [{ field: "customer.ordersCount", op: "gte", value: 1 }, { not: { segment: "repeat-buyers" } }],
      },
    };
    const saved = await saveSegment(
      prisma,
      shopId,
      null,
      form({ name: "One-time buyers", handle: "one-timers", rule: JSON.stringify(notRepeat) }),
      now,
    );
    expect(saved.ok).toBe(true);
    const renamed = await saveSegment(prisma, shopId, "repeat-buyers", form({ handle: "repeaters" }), now);
    expect(renamed).toMatchObject({
      ok: false,
      fields: { handle: 'other segments refer to "repeat-buyers": keep its handle' },
    });
    expect(await deleteSegment(prisma, shopId, "repeat-buyers")).toEqual({
      ok: false,
      message: '"one-timers" refers to this segment: change it first',
    });

    // Editing the base segment recomputes the one built on it.
    const three: Rule = { version: 1, match: { field: "customer.ordersCount", op: "gte", value: 3 } };
    expect(
      (await saveSegment(prisma, shopId, "repeat-buyers", form({ rule: JSON.stringify(three) }), now)).ok,
    ).toBe(true);
    const { resolve, rules } = await shopSegments(prisma, shopId);
    const expected = await membersBySql(prisma, shopId, rules.get("one-timers")!, now, resolve);
    const held = await prisma.segmentMember.count({ where: { segment: { shopId, handle: "one-timers" } } });
    expect(held).toBe(expected.size);

    // The builder's Delete refuses a segment an active message shows to, as the CLI does.
    const message = await prisma.message.create({
      data: {
        shopId,
        name: "Thanks",
        segmentHandle: "one-timers",
        format: "popup",
        trigger: "load",
        headline: "Hi",
        active: true,
      },
    });
    expect(await deleteSegment(prisma, shopId, "one-timers")).toEqual({
      ok: false,
      message: `"one-timers" is used by active message #${message.id} "Thanks": pause it first`,
    });
    await prisma.message.delete({ where: { id: message.id } });
    expect(await deleteSegment(prisma, shopId, "one-timers")).toEqual({ ok: true });
    expect(await deleteSegment(prisma, shopId, "repeat-buyers")).toEqual({ ok: true });
    expect(
      await prisma.segmentMember.count({ where: { segment: { shopId, handle: "repeat-buyers" } } }),
    ).toBe(0);
  });

  it("offers products, collections and countries from the shop's own copy, ignoring case", async () => {
    const product = store.products[0];
    const q = product.title.slice(0, 4).toLowerCase();
    const products = await pickerOptions(prisma, shopId, "product", q);
    expect(products.map((p) => p.value)).toContain(product.id);
    const countries = await pickerOptions(prisma, shopId, "country", "");
    expect(countries.length).toBeGreaterThan(0);
    const us = await pickerOptions(prisma, shopId, "country", "united st");
    expect(us).toEqual([{ value: "US", label: "United States (US)" }]);
    const vendors = await pickerOptions(prisma, shopId, "vendor", "");
    expect(vendors.map((v) => v.value)).toContain(product.vendor);
  });

  it("starts a new segment from a template with the shop's own numbers, or from a copy", async () => {
    const high = await newSegmentPage(prisma, store.shop.domain, {
      from: null,
      template: "high-spend-repeat",
    });
    // The shop already has it: the copy gets a name of its own.
    expect(high?.segment.name).toBe("High-spend repeat customers (2)");
    expect(JSON.stringify(high?.segment.rule)).toContain(String(await topSpendThreshold(prisma, shopId)));
    const collection = await newSegmentPage(prisma, store.shop.domain, {
      from: null,
      template: "bought-collection-30d",
    });
    expect(collection?.segment.rule?.match).toEqual({
      field: "orders.collections",
      op: "in",
      value: [],
      days: 30,
    });
    const copy = await newSegmentPage(prisma, store.shop.domain, {
      from: "lapsed-customers",
      template: null,
    });
    expect(copy?.segment).toMatchObject({ name: "Lapsed customers (copy)", handle: "" });
  });
});

describe("the segment builder, on pixel events", () => {
  const leftAtPayment: Rule = {
    version: 1,
    match: { field: "visitor.abandonedCheckoutStep", op: "eq", value: "payment", days: 7 },
  };

  it("previews and saves a visitor segment with its visitors counted, guests included", async () => {
    const buyer = store.customers[0].id;
    for (const [id, customer, step] of [
      ["builder-guest-1", null, "checkout_payment"],
      ["builder-guest-2", null, "checkout_shipping"],
      ["builder-signed-in", buyer, "checkout_payment"],
    ] as const) {
      await prisma.visitor.create({
        data: { id, shopId, customerShopifyId: customer, firstSeenAt: now, lastSeenAt: now, sessions: 1 },
      });
      await prisma.storefrontEvent.createMany({
        data: ["checkout_started", step].map((type) => ({
          shopId,
          visitorId: id,
          type,
          resourceId: `token-${id}`,
          occurredAt: new Date(now.getTime() - 86_400_000),
        })),
      });
    }
    const result = await previewRule(prisma, shopId, leftAtPayment, now);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.preview).toMatchObject({ size: 1, audience: "visitors", visitors: 2 });
    expect(result.preview.sample.map((p) => p.shopifyId)).toEqual([buyer]);

    const saved = await saveSegment(
      prisma,
      shopId,
      null,
      form({ name: "Left at payment", handle: "left-at-payment", rule: JSON.stringify(leftAtPayment) }),
      now,
    );
    expect(saved).toMatchObject({ ok: true, size: 1 });
    const segment = await prisma.segment.findUniqueOrThrow({
      where: { shopId_handle: { shopId, handle: "left-at-payment" } },
    });
    expect({ size: segment.size, visitorSize: segment.visitorSize }).toEqual({ size: 1, visitorSize: 2 });
  });

  it("counts no visitors for a rule about customers only", async () => {
    const result = await previewRule(prisma, shopId, repeatBuyers, now);
    if (!result.ok) throw new Error("preview failed");
    expect(result.preview).toMatchObject({ audience: "customers", visitors: null });
  });

  it("refuses a checkout step that does not exist and a product on the wrong field, naming each", async () => {
    const result = await previewRule(
      prisma,
      shopId,
      {
        version: 1,
        match: {
          all: [
            { field: "visitor.abandonedCheckoutStep", op: "eq", value: "review", days: 7 },
            { field: "visitor.visits", op: "gte", value: 2, days: 7, product: "1" },
          ],
        },
      },
      now,
    );
    expect(result).toEqual({
      ok: false,
      problems: [
        { path: "match.all.0.value", message: "must be one of started, contact, address, shipping, payment" },
        { path: "match.all.1.product", message: "visits takes no product" },
      ],
    });
  });

  it("names the product a view count is of", async () => {
    const product = await prisma.product.findFirstOrThrow({ where: { shopId } });
    const labels = await labelsFor(prisma, shopId, {
      version: 1,
      match: { field: "visitor.productViews", op: "gte", value: 3, days: 7, product: product.shopifyId },
    });
    expect(labels).toEqual({ [product.shopifyId]: product.title });
  });
});
