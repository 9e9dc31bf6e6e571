/**
 * First-purchase discount codes in Shopify, against the local Admin API stand-in (real 2026-07
 * schema, Shopify's validations and messages) and its checkout helper: a function-backed
 * discount is created with its first code, a pool is added in bulk, a code is usable once, by a
 * guest or a customer with no previous order (the Discount Function decides, run at the stand-in's
 * checkout), and only until it expires.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "../sync/admin-api.server";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import {
  addCodes,
  bulkCreationResult,
  CODE_ALPHABET,
  createDiscount,
  discountForCode,
  DiscountError,
  FIRST_ORDER_FUNCTION_HANDLE,
  generateCodes,
  MAX_CODES_PER_CALL,
  toDecimal,
  waitForBulkCreation,
  type NewDiscount,
} from "./discounts.server";

const store = generateStore({ seed: 31, customers: 60, shop: "discount-test.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 2000, bulkDelayMs: 5 });
const noWait = async () => {};
const api = () =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: standIn.origin, sleep: noWait });
const quickPoll = { sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), intervalMs: 5 };

const DAY = 86_400_000;
const NOW = new Date();
const welcome = (overrides: Partial<NewDiscount> = {}): NewDiscount => ({
  title: "Welcome: 15% off your first order",
  kind: "percentage",
  value: 15,
  firstOrderOnly: true,
  startsAt: new Date(NOW.getTime() - DAY),
  endsAt: new Date(NOW.getTime() + 30 * DAY),
  code: "WELCOME-FIRST",
  ...overrides,
});

/** A seeded [0, 1) source, so generated codes are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ordered = store.customers.find((c) =>
  store.orders.some((o) => o.customerId === c.id && !o.cancelledAt),
)!;
const neverOrdered = store.customers.find((c) => !store.orders.some((o) => o.customerId === c.id))!;

beforeAll(async () => {
  await standIn.start();
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});
beforeEach(() => {
  standIn.discounts.clear();
  standIn.discountCodes.clear();
  standIn.codeBulkCreations.clear();
  standIn.segments.clear();
  standIn.invalidDocuments.length = 0;
});

describe("first-purchase discount", () => {
  it("is created as a function-backed discount with its first code and 250 codes added in one call, every new document valid on 2026-07 with no deprecated field", async () => {
    const { discountId, code } = await createDiscount(api(), welcome());
    expect(code).toBe("WELCOME-FIRST");

    const pool = generateCodes("WELCOME", MAX_CODES_PER_CALL, seeded(7));
    const bulkId = await addCodes(api(), discountId, pool);
    const result = await waitForBulkCreation(api(), bulkId, quickPoll);
    expect(result).toEqual({ done: true, created: pool, failed: [] });

    // What Shopify now holds: one discount, 251 codes, open to every buyer (guests too), its
    // terms in the function's metafield, no customer segment.
    expect(MAX_CODES_PER_CALL).toBe(250);
    const held = standIn.discounts.get(discountId)!;
    expect(held.codes.map((c) => c.code)).toEqual(["WELCOME-FIRST", ...pool]);
    expect(held).toMatchObject({
      usageLimit: 1,
      appliesOncePerCustomer: true,
      eligible: { kind: "all" },
      app: { functionHandle: FIRST_ORDER_FUNCTION_HANDLE, discountClasses: ["ORDER"] },
    });
    expect(Object.fromEntries(held.app!.metafields)).toEqual({
      "app--1234567890--slice.first-order": {
        type: "json",
        value: JSON.stringify({ kind: "percentage", value: "15", minimumSubtotal: null }),
      },
    });
    expect(standIn.segments.size).toBe(0);

    expect(await discountForCode(api(), pool[42].toLowerCase())).toMatchObject({
      discountId,
      title: "Welcome: 15% off your first order",
      status: "ACTIVE",
      usageLimit: 1,
      usageCount: 0,
    });
    expect(await discountForCode(api(), "NOT-A-CODE")).toBeNull();

    // Every document is validated on 2026-07 in app/sync/documents.test.ts; what was sent here too:
    expect(standIn.invalidDocuments).toEqual([]);
    expect(standIn.deprecatedUses).toEqual([]);
  });

  it("reads back from Shopify (2026-07) as a DiscountCodeApp open to all buyers, with its function's configuration", async () => {
    const { discountId } = await createDiscount(
      api(),
      welcome({ code: "READ-BACK", kind: "amount", value: 1250, minimumSubtotal: 4000 }),
    );
    const read = (await standIn.graphql(
      `query Read($id: ID!) {
        discountNode(id: $id) {
          id
          metafield(namespace: "$app:slice", key: "first-order") { jsonValue }
          discount {
            __typename
            ... on DiscountCodeApp {
              title status appliesOncePerCustomer usageLimit discountClasses
              codes(first: 5) { nodes { code asyncUsageCount } }
              context { __typename ... on DiscountBuyerSelectionAll { all } }
              appDiscountType { functionId }
            }
          }
        }
      }`,
      { id: discountId },
      "2026-07",
    )) as { data: unknown; errors?: unknown };
    expect(read.errors).toBeUndefined();
    expect(read.data).toEqual({
      discountNode: {
        id: discountId,
        metafield: { jsonValue: { kind: "amount", value: "12.50", minimumSubtotal: "40.00" } },
        discount: {
          __typename: "DiscountCodeApp",
          title: "Welcome: 15% off your first order",
          status: "ACTIVE",
          appliesOncePerCustomer: true,
          usageLimit: 1,
          discountClasses: ["ORDER"],
          codes: { nodes: [{ code: "READ-BACK", asyncUsageCount: 0 }] },
          context: { __typename: "DiscountBuyerSelectionAll", all: "ALL" },
          appDiscountType: { functionId: FIRST_ORDER_FUNCTION_HANDLE },
        },
      },
    });
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("is refused by Shopify (the stand-in) for another function, a class the function cannot give, or bad configuration", async () => {
    const sent = `mutation M($d: DiscountCodeAppInput!) {
      discountCodeAppCreate(codeAppDiscount: $d) { codeAppDiscount { discountId } userErrors { field code } }
    }`;
    const base = {
      title: "x",
      code: "BAD-APP",
      startsAt: NOW.toISOString(),
      functionHandle: FIRST_ORDER_FUNCTION_HANDLE,
      discountClasses: ["ORDER"],
      context: { all: "ALL" },
    };
    const create = async (d: Record<string, unknown>) =>
      (
        (await standIn.graphql(sent, { d: { ...base, ...d } }, "2026-07")) as {
          data: { discountCodeAppCreate: { codeAppDiscount: unknown; userErrors: { field: string[] }[] } };
        }
      ).data.discountCodeAppCreate;
    expect(await create({ functionHandle: "someone-elses" })).toEqual({
      codeAppDiscount: null,
      userErrors: [{ field: ["codeAppDiscount", "functionHandle"], code: "INVALID" }],
    });
    expect((await create({ discountClasses: ["SHIPPING"] })).userErrors).toEqual([
      { field: ["codeAppDiscount", "discountClasses"], code: "INVALID" },
    ]);
    expect(
      (
        await create({
          metafields: [{ namespace: "$app:slice", key: "first-order", type: "json", value: "{" }],
        })
      ).userErrors,
    ).toEqual([{ field: ["codeAppDiscount", "metafields", "0", "value"], code: "INVALID" }]);
    expect(standIn.discounts.size).toBe(0);
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("refuses a code that is already taken with Shopify's userError naming the code field", async () => {
    await createDiscount(api(), welcome({ code: "WELCOME-TAKEN" }));
    const refused = await createDiscount(api(), welcome({ code: "welcome-taken" })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DiscountError);
    expect((refused as DiscountError).userErrors).toEqual([
      {
        field: ["codeAppDiscount", "code"],
        message: "Code must be unique. Please try a different code.",
        code: "TAKEN",
      },
    ]);
    expect((refused as DiscountError).message).toContain(
      "codeAppDiscount.code: Code must be unique. Please try a different code.",
    );
    expect(standIn.discounts.size).toBe(1);
  });

  it("reports a pooled code Shopify refused as taken, so it is never offered", async () => {
    const { discountId } = await createDiscount(api(), welcome({ code: "POOL-FIRST" }));
    const bulkId = await addCodes(api(), discountId, ["POOL-A", "POOL-FIRST", "POOL-B"]);
    const result = await waitForBulkCreation(api(), bulkId, quickPoll);
    expect(result.created).toEqual(["POOL-A", "POOL-B"]);
    expect(result.failed).toEqual([
      {
        code: "POOL-FIRST",
        errors: [
          { field: ["code"], message: "Code must be unique. Please try a different code.", code: "TAKEN" },
        ],
      },
    ]);
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("reads a bulk creation Shopify has not run yet as not done, with nothing to offer", async () => {
    const slow = new AdminApiStandIn({
      store,
      restoreRate: 100_000,
      maximumAvailable: 2000,
      bulkDelayMs: 5_000,
    });
    const origin = await slow.start();
    try {
      const slowApi = new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin, sleep: noWait });
      const { discountId } = await createDiscount(slowApi, welcome({ code: "SLOW-FIRST" }));
      const bulkId = await addCodes(slowApi, discountId, ["SLOW-A"]);
      expect(await bulkCreationResult(slowApi, bulkId)).toEqual({ done: false, created: [], failed: [] });
    } finally {
      await slow.stop();
    }
  });

  it("refuses an end before the start and a percentage over 100% with Shopify's userErrors", async () => {
    const backwards = await createDiscount(
      api(),
      welcome({ code: "BACKWARDS", endsAt: new Date(NOW.getTime() - 2 * DAY) }),
    ).catch((e: unknown) => e);
    expect((backwards as DiscountError).userErrors).toEqual([
      {
        field: ["codeAppDiscount", "endsAt"],
        message: "Ends at needs to be after starts_at",
        code: "INVALID",
      },
    ]);
    // The app refuses 150% itself; sent anyway, Shopify's answer names the percentage.
    await expect(createDiscount(api(), welcome({ code: "TOO-MUCH", value: 150 }))).rejects.toThrow(
      RangeError,
    );
    const raw = (await standIn.graphql(
      `mutation Raw($d: DiscountCodeBasicInput!) {
        discountCodeBasicCreate(basicCodeDiscount: $d) { codeDiscountNode { id } userErrors { field message code } }
      }`,
      {
        d: {
          title: "Too much",
          code: "TOO-MUCH",
          startsAt: NOW.toISOString(),
          context: { all: "ALL" },
          customerGets: { value: { percentage: 1.5 }, items: { all: true } },
        },
      },
    )) as { data: { discountCodeBasicCreate: { codeDiscountNode: null; userErrors: unknown[] } } };
    expect(raw.data.discountCodeBasicCreate).toEqual({
      codeDiscountNode: null,
      userErrors: [
        {
          field: ["basicCodeDiscount", "customerGets", "value", "percentage"],
          message: "Value must be between 0.0 and 1.0",
          code: "VALUE_OUTSIDE_RANGE",
        },
      ],
    });
    expect(standIn.discounts.size).toBe(0);
  });

  it("sends more than 250 codes in one call nowhere: the app refuses before Shopify would", async () => {
    const { discountId } = await createDiscount(api(), welcome({ code: "MANY" }));
    const requests = standIn.requests.length;
    await expect(addCodes(api(), discountId, generateCodes("X", 251, seeded(1)))).rejects.toThrow(
      /at most 250 codes/,
    );
    expect(standIn.requests.length).toBe(requests);
    const direct = (await standIn.graphql(
      `mutation Add($id: ID!, $codes: [DiscountRedeemCodeInput!]!) {
        discountRedeemCodeBulkAdd(discountId: $id, codes: $codes) { bulkCreation { id } userErrors { field code } }
      }`,
      { id: discountId, codes: generateCodes("X", 251, seeded(1)).map((code) => ({ code })) },
      "2026-07",
    )) as { data: { discountRedeemCodeBulkAdd: unknown } };
    expect(direct.data.discountRedeemCodeBulkAdd).toEqual({
      bulkCreation: null,
      userErrors: [{ field: ["codes"], code: "TOO_MANY_ARGUMENTS" }],
    });
  });
});

describe("at checkout", () => {
  it("a code is usable once: the second use is refused, even by someone else", async () => {
    const { code } = await createDiscount(api(), welcome({ code: "ONCE-ONLY" }));
    expect(
      standIn.redeem({ code, customerId: null, email: "new.shopper@example.com", subtotal: 8000 }),
    ).toEqual({
      ok: true,
      discountAmount: 1200,
    });
    expect(standIn.redeem({ code, customerId: null, email: "friend@example.com", subtotal: 8000 })).toEqual({
      ok: false,
      reason: "usage_limit_reached",
    });
    expect(await discountForCode(api(), code)).toMatchObject({ usageCount: 1 });
  });

  it("a guest's first order gets the code; a signed-in customer with orders is refused; one with none gets it", async () => {
    const { discountId } = await createDiscount(api(), welcome({ code: "FIRST-ORDER" }));
    const bulkId = await addCodes(api(), discountId, ["FIRST-ORDER-2", "FIRST-ORDER-3"]);
    await waitForBulkCreation(api(), bulkId, quickPoll);
    expect(
      standIn.redeem({ code: "FIRST-ORDER", customerId: ordered.id, email: ordered.email, subtotal: 5000 }),
    ).toEqual({ ok: false, reason: "customer_not_eligible" });
    expect(
      standIn.redeem({
        code: "FIRST-ORDER",
        customerId: null,
        email: "first.timer@example.com",
        subtotal: 5000,
      }),
    ).toEqual({ ok: true, discountAmount: 750 });
    expect(
      standIn.redeem({
        code: "FIRST-ORDER-2",
        customerId: neverOrdered.id,
        email: neverOrdered.email,
        subtotal: 5000,
      }),
    ).toEqual({ ok: true, discountAmount: 750 });
  });

  it("a guest typing the email of a customer with orders is not known to the function: Shopify cannot refuse them, once per code and per email", async () => {
    const { discountId, code } = await createDiscount(api(), welcome({ code: "GUEST-KNOWN" }));
    await waitForBulkCreation(api(), await addCodes(api(), discountId, ["GUEST-KNOWN-2"]), quickPoll);
    // Not signed in: Shopify's buyer identity carries no customer, so the function sees a guest.
    expect(standIn.redeem({ code, customerId: null, email: ordered.email, subtotal: 5000 })).toEqual({
      ok: true,
      discountAmount: 750,
    });
    // The code is then used up, and the discount's other codes are refused to the same email
    // (once per customer), signed in or not.
    expect(standIn.redeem({ code, customerId: null, email: ordered.email, subtotal: 5000 })).toEqual({
      ok: false,
      reason: "usage_limit_reached",
    });
    expect(
      standIn.redeem({ code: "GUEST-KNOWN-2", customerId: null, email: ordered.email, subtotal: 5000 }),
    ).toEqual({ ok: false, reason: "already_used_by_customer" });
  });

  it("a segment-limited code (the way before) is refused to a guest whose email is no customer's", async () => {
    const segment = (await standIn.graphql(
      `mutation S($q: String!) { segmentCreate(name: "No orders", query: $q) { segment { id } } }`,
      { q: "number_of_orders = 0" },
    )) as { data: { segmentCreate: { segment: { id: string } } } };
    await standIn.graphql(
      `mutation B($d: DiscountCodeBasicInput!) { discountCodeBasicCreate(basicCodeDiscount: $d) { userErrors { message } } }`,
      {
        d: {
          title: "Segment only",
          code: "SEGMENT-ONLY",
          startsAt: new Date(NOW.getTime() - DAY).toISOString(),
          context: { customerSegments: { add: [segment.data.segmentCreate.segment.id] } },
          customerGets: { value: { percentage: 0.15 }, items: { all: true } },
        },
      },
    );
    expect(
      standIn.redeem({
        code: "SEGMENT-ONLY",
        customerId: null,
        email: "first.timer@example.com",
        subtotal: 5000,
      }),
    ).toEqual({ ok: false, reason: "customer_not_eligible" });
  });

  it("a deactivated function-backed discount's codes are refused from then on", async () => {
    const { discountId, code } = await createDiscount(api(), welcome({ code: "DEACTIVATED" }));
    const answer = (await standIn.graphql(
      `mutation D($id: ID!) { discountCodeDeactivate(id: $id) { codeDiscountNode { codeDiscount { ... on DiscountCodeApp { status } } } userErrors { message } } }`,
      { id: discountId },
      "2026-07",
    )) as { data: { discountCodeDeactivate: unknown } };
    expect(answer.data.discountCodeDeactivate).toEqual({
      codeDiscountNode: { codeDiscount: { status: "EXPIRED" } },
      userErrors: [],
    });
    expect(standIn.redeem({ code, customerId: null, email: "c@example.com", subtotal: 5000 })).toEqual({
      ok: false,
      reason: "expired",
    });
  });

  it("the function's minimum subtotal and amount off hold at checkout", async () => {
    const { code } = await createDiscount(
      api(),
      welcome({ code: "FN-TEN-OFF", kind: "amount", value: 1000, minimumSubtotal: 5000, usesPerCode: null }),
    );
    expect(standIn.redeem({ code, customerId: null, email: "b@example.com", subtotal: 4999 })).toEqual({
      ok: false,
      reason: "minimum_subtotal_not_met",
    });
    expect(standIn.redeem({ code, customerId: null, email: "b@example.com", subtotal: 5000 })).toEqual({
      ok: true,
      discountAmount: 1000,
    });
  });

  it("an expired code is refused, and one whose discount has not started", async () => {
    const { code } = await createDiscount(
      api(),
      welcome({
        code: "EXPIRED",
        startsAt: new Date(NOW.getTime() - 10 * DAY),
        endsAt: new Date(NOW.getTime() - DAY),
      }),
    );
    expect(await discountForCode(api(), code)).toMatchObject({ status: "EXPIRED" });
    expect(standIn.redeem({ code, customerId: null, email: "late@example.com", subtotal: 5000 })).toEqual({
      ok: false,
      reason: "expired",
    });
    const later = await createDiscount(
      api(),
      welcome({ code: "LATER", startsAt: new Date(NOW.getTime() + DAY), endsAt: null }),
    );
    expect(
      standIn.redeem({ code: later.code, customerId: null, email: "early@example.com", subtotal: 5000 }),
    ).toEqual({
      ok: false,
      reason: "not_started",
    });
  });

  it("an amount off needs the minimum subtotal and never exceeds the order", async () => {
    const { code } = await createDiscount(
      api(),
      welcome({ code: "TEN-OFF", kind: "amount", value: 1000, minimumSubtotal: 5000, firstOrderOnly: false }),
    );
    expect(standIn.discounts.values().next().value).toMatchObject({
      value: { kind: "amount", amount: 1000 },
      minimumSubtotal: 5000,
      eligible: { kind: "all" },
    });
    expect(standIn.redeem({ code, customerId: null, email: "a@example.com", subtotal: 4999 })).toEqual({
      ok: false,
      reason: "minimum_subtotal_not_met",
    });
    expect(standIn.redeem({ code, customerId: null, email: "a@example.com", subtotal: 5000 })).toEqual({
      ok: true,
      discountAmount: 1000,
    });
    expect(standIn.invalidDocuments).toEqual([]);
  });
});

describe("generated codes", () => {
  it("use only unambiguous characters, carry the prefix and never repeat within a batch", () => {
    const codes = generateCodes("welcome", 2000, seeded(3));
    expect(codes).toHaveLength(2000);
    expect(new Set(codes).size).toBe(2000);
    for (const code of codes) expect(code).toMatch(/^WELCOME-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
    expect(CODE_ALPHABET).not.toMatch(/[01OIL]/);
    expect(generateCodes("", 1, seeded(3))[0]).toMatch(/^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
  });

  it("draw again when the source repeats itself, and give up on one that only repeats", () => {
    // The first two draws of eight characters are the same code; the third differs.
    const values = [...Array(16).fill(0), ...Array(8).fill(0.5)];
    let i = 0;
    const repeating = () => values[i++ % values.length];
    expect(generateCodes("R", 2, repeating)).toEqual(["R-2222-2222", "R-HHHH-HHHH"]);
    expect(() => generateCodes("R", 2, () => 0)).toThrow(/repeating/);
  });

  it("amounts are sent in the currency's own decimals", () => {
    expect(toDecimal(1050, "USD")).toBe("10.50");
    expect(toDecimal(5, "EUR")).toBe("0.05");
    expect(toDecimal(500, "JPY")).toBe("500");
  });
});
