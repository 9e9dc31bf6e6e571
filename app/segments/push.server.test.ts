/**
 * Pushing segments to Shopify, against the local Admin API stand-in (real schema, Shopify's
 * validation and messages) on SQLite and PostgreSQL: the tag follows who joins and leaves, the
 * app metafield lists a customer's segments, a Shopify segment gets the translated query, and
 * whatever Shopify refuses is told to the merchant in pushError.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "../sync/admin-api.server";
import { AdminApiStandIn, segmentQueryErrors, validateAdminDocument } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import type { RuleNode } from "../engine/rules";
import { recompute, updateMembership } from "./store.server";
import {
  applyPushForm,
  createShopifySegment,
  dueSegments,
  forgetMetafieldDefinitions,
  pushDocuments,
  pushDue,
  pushSegment,
  pushView,
  setPushOptions,
} from "./push.server";
import { segmentsCommand } from "./cli.server";
import { main, UsageError } from "../cli";

const store = generateStore({ seed: 23, customers: 40, shop: "push-test.myshopify.com" });
const SHOP = store.shop.domain;
// Every third customer is a VIP, in Shopify and in the app's copy alike.
store.customers.forEach((c, i) => i % 3 === 0 && c.tags.push("vip"));
const originalTags = new Map(store.customers.map((c) => [c.id, [...c.tags]]));
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 2000 });
const noWait = async () => {};
const api = () =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: standIn.origin, sleep: noWait });
const NOW = new Date();
const APP_NAMESPACE = "app--1234567890--slice";

beforeAll(async () => {
  await standIn.start();
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});
beforeEach(async () => {
  await prisma.shop.deleteMany();
  for (const c of store.customers) c.tags = [...originalTags.get(c.id)!];
  standIn.metafields.clear();
  standIn.definitions.clear();
  standIn.segments.clear();
  standIn.segmentLimit = 6000;
  forgetMetafieldDefinitions();
});

/** The shop as the app holds it: every fourth customer accepts email marketing. */
async function seed() {
  const shop = await prisma.shop.create({ data: { domain: SHOP, currency: "USD" } });
  await prisma.customer.createMany({
    data: store.customers.map((c, i) => ({
      shopId: shop.id,
      shopifyId: c.id,
      email: c.email,
      tags: c.tags.length ? `|${c.tags.join("|")}|` : "",
      acceptsEmailMarketing: i % 4 === 0,
      countryCode: c.countryCode,
      shopifyUpdatedAt: c.updatedAt,
    })),
  });
  return shop.id;
}

async function segment(shopId: number, handle: string, match: RuleNode) {
  await prisma.segment.create({
    data: { shopId, handle, name: handle.replace(/-/g, " "), rule: JSON.stringify({ version: 1, match }) },
  });
  await recompute(prisma, shopId, NOW, [handle]);
}

const subscribed: RuleNode = { field: "customer.acceptsEmailMarketing", op: "isTrue" };
const vips: RuleNode = { field: "customer.tags", op: "contains", value: "vip" };

async function members(handle: string): Promise<string[]> {
  const rows = await prisma.segmentMember.findMany({
    where: { segment: { handle } },
    select: { customerShopifyId: true },
  });
  return rows.map((r) => r.customerShopifyId).sort();
}
const tagged = (tag: string) =>
  store.customers
    .filter((c) => c.tags.includes(tag))
    .map((c) => c.id)
    .sort();
const metafieldOf = (id: string) =>
  standIn.metafields.get(`gid://shopify/Customer/${id}`)?.get(`${APP_NAMESPACE}.segments`) ?? null;

/** Someone opts in or out, and the incremental updater runs, as after a customers/update webhook. */
async function setConsent(shopId: number, id: string, acceptsEmailMarketing: boolean) {
  await prisma.customer.update({
    where: { shopId_shopifyId: { shopId, shopifyId: id } },
    data: { acceptsEmailMarketing },
  });
  await updateMembership(prisma, shopId, [id], ["customer"], NOW);
}

describe("push to Shopify", () => {
  it("sends only documents that are valid against the Admin schema", () => {
    for (const doc of pushDocuments()) expect(validateAdminDocument(doc)).toEqual([]);
  });

  it("tags members with slice:<handle>; a join adds it, a leave removes it, a re-run sends nothing", async () => {
    const shopId = await seed();
    await segment(shopId, "subscribers", subscribed);
    const before = await members("subscribers");
    expect(before.length).toBeGreaterThan(5);
    await setPushOptions(prisma, shopId, "subscribers", { tag: true });

    const first = await pushSegment(prisma, api(), shopId, "subscribers", NOW);
    expect(first).toMatchObject({ tagged: before.length, untagged: 0, error: null });
    expect(tagged("slice:subscribers")).toEqual(before);

    const joiner = store.customers.find((c) => !before.includes(c.id))!.id;
    const leaver = before[0];
    await setConsent(shopId, joiner, true);
    await setConsent(shopId, leaver, false);
    const second = await pushSegment(prisma, api(), shopId, "subscribers", NOW);
    // Incremental: only the two people in the new history were looked at.
    expect(second).toMatchObject({ checked: 2, tagged: 1, untagged: 1, error: null });
    expect(tagged("slice:subscribers")).toEqual(await members("subscribers"));
    expect(tagged("slice:subscribers")).toContain(joiner);
    expect(tagged("slice:subscribers")).not.toContain(leaver);
    // The customers' own tags are left alone.
    for (const c of store.customers) expect(c.tags).toEqual(expect.arrayContaining(originalTags.get(c.id)!));

    const requests = standIn.requests.length;
    const third = await pushSegment(prisma, api(), shopId, "subscribers", NOW);
    expect(third).toMatchObject({ checked: 0, tagged: 0, untagged: 0, error: null });
    expect(standIn.requests.length).toBe(requests);
    expect(await dueSegments(prisma, shopId)).toEqual([]);

    const row = await prisma.segment.findFirstOrThrow({ where: { handle: "subscribers" } });
    const lastChange = await prisma.segmentChange.findFirstOrThrow({ orderBy: { id: "desc" } });
    expect(row).toMatchObject({ pushCursor: lastChange.id, pushError: null });
    expect(row.pushedAt?.getTime()).toBe(NOW.getTime());
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("switching the tag off takes it back from everyone", async () => {
    const shopId = await seed();
    await segment(shopId, "subscribers", subscribed);
    await setPushOptions(prisma, shopId, "subscribers", { tag: true });
    await pushDue(prisma, api(), shopId, NOW);
    expect(tagged("slice:subscribers").length).toBeGreaterThan(0);

    await setPushOptions(prisma, shopId, "subscribers", { tag: false });
    expect((await dueSegments(prisma, shopId)).map((s) => s.handle)).toEqual(["subscribers"]);
    const [outcome] = await pushDue(prisma, api(), shopId, NOW);
    expect(outcome.error).toBeNull();
    expect(tagged("slice:subscribers")).toEqual([]);
    const row = await prisma.segment.findFirstOrThrow({ where: { handle: "subscribers" } });
    expect(row.pushedAt).toBeNull();
    expect(await dueSegments(prisma, shopId)).toEqual([]);
  });

  it("keeps the app metafield listing every synced segment a customer is in", async () => {
    const shopId = await seed();
    await segment(shopId, "vips", vips);
    await segment(shopId, "subscribers", subscribed);
    await setPushOptions(prisma, shopId, "vips", { metafield: true });
    await setPushOptions(prisma, shopId, "subscribers", { metafield: true });
    const outcomes = await pushDue(prisma, api(), shopId, NOW);
    expect(outcomes.map((o) => o.error)).toEqual([null, null]);

    const inVips = new Set(await members("vips"));
    const inSubscribers = new Set(await members("subscribers"));
    const both = [...inVips].filter((id) => inSubscribers.has(id));
    expect(both.length).toBeGreaterThan(0);
    for (const c of store.customers) {
      const expected = [inSubscribers.has(c.id) && "subscribers", inVips.has(c.id) && "vips"].filter(Boolean);
      const m = metafieldOf(c.id);
      if (!expected.length) expect(m, c.id).toBeNull();
      else
        expect(m, c.id).toMatchObject({
          type: "list.single_line_text_field",
          value: JSON.stringify(expected),
        });
    }
    // The definition was made once, app-owned, on customers.
    expect([...standIn.definitions.values()]).toEqual([
      expect.objectContaining({
        namespace: APP_NAMESPACE,
        key: "segments",
        ownerType: "CUSTOMER",
        type: "list.single_line_text_field",
      }),
    ]);

    // Leaving one segment drops its handle; leaving the last one removes the metafield.
    const [id] = both;
    await setConsent(shopId, id, false);
    await pushDue(prisma, api(), shopId, NOW);
    expect(metafieldOf(id)?.value).toBe(JSON.stringify(["vips"]));
    await prisma.customer.update({
      where: { shopId_shopifyId: { shopId, shopifyId: id } },
      data: { tags: "" },
    });
    await updateMembership(prisma, shopId, [id], ["customer"], NOW);
    forgetMetafieldDefinitions(); // a restarted process: the definition exists ("taken"), which is fine
    const again = await pushDue(prisma, api(), shopId, NOW);
    expect(again.map((o) => [o.handle, o.error])).toEqual([["vips", null]]);
    expect(metafieldOf(id)).toBeNull();
    expect(standIn.definitions.size).toBe(1);
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("creates a Shopify segment with the translated query and keeps it in step with the rule", async () => {
    const shopId = await seed();
    await segment(shopId, "north-american-vips", {
      all: [vips, { field: "customer.countryCode", op: "in", value: ["US", "CA"] }],
    });
    const created = await createShopifySegment(prisma, api(), shopId, "north-american-vips", NOW);
    expect(created.error).toBeNull();
    const held = standIn.segments.get(created.shopifySegmentId!);
    expect(held).toMatchObject({
      name: "Slice: north american vips",
      query:
        "customer_tags CONTAINS 'vip' AND (customer_countries CONTAINS 'US' OR customer_countries CONTAINS 'CA')",
    });
    const view = await pushView(prisma, SHOP, "north-american-vips");
    expect(view).toMatchObject({
      shopifySegmentId: created.shopifySegmentId,
      shopifySegmentUrl: expect.stringMatching(
        /^https:\/\/admin\.shopify\.com\/store\/push-test\/customers\/segments\/\d+$/,
      ),
      unsupported: [],
    });
    expect(await dueSegments(prisma, shopId)).toEqual([]);

    // The merchant edits the rule: the next pass updates the Shopify segment's query.
    await prisma.segment.update({
      where: { shopId_handle: { shopId, handle: "north-american-vips" } },
      data: {
        rule: JSON.stringify({
          version: 1,
          match: { field: "customer.tags", op: "contains", value: "gold" },
        }),
      },
    });
    const [outcome] = await pushDue(prisma, api(), shopId, NOW);
    expect(outcome.error).toBeNull();
    expect(standIn.segments.get(created.shopifySegmentId!)?.query).toBe("customer_tags CONTAINS 'gold'");
    expect(standIn.segments.size).toBe(1);
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("refuses a rule Shopify can't express, naming the field", async () => {
    const shopId = await seed();
    await segment(shopId, "big-baskets", {
      all: [subscribed, { field: "customer.averageOrderValue", op: "gt", value: 10000 }],
    });
    const result = await createShopifySegment(prisma, api(), shopId, "big-baskets", NOW);
    expect(result).toEqual({
      shopifySegmentId: null,
      error:
        "Shopify can't have this segment: Average order value (customer.averageOrderValue): Shopify's segment filters have no average order value.",
    });
    expect(standIn.segments.size).toBe(0);
    const view = await pushView(prisma, SHOP, "big-baskets");
    expect(view).toMatchObject({
      shopifyQuery: null,
      unsupported: [expect.stringContaining("customer.averageOrderValue")],
      pushError: result.error,
    });
  });

  it("tells the merchant what Shopify refused, in pushError", async () => {
    const shopId = await seed();
    await segment(shopId, "subscribers", subscribed);
    standIn.segmentLimit = 0;
    const refused = await createShopifySegment(prisma, api(), shopId, "subscribers", NOW);
    expect(refused.error).toBe(
      "Shopify refused the segment: Segment limit reached. Delete an existing segment to create more.",
    );

    // Someone else's definition holds our key with another type: every write is refused, the
    // reason is shown, and the history stays unpushed so the next pass tries again.
    standIn.definitions.set(`CUSTOMER|${APP_NAMESPACE}|segments`, {
      id: "gid://shopify/MetafieldDefinition/1",
      name: "Old",
      namespace: APP_NAMESPACE,
      key: "segments",
      ownerType: "CUSTOMER",
      type: "single_line_text_field",
      description: null,
    });
    await setPushOptions(prisma, shopId, "subscribers", { metafield: true });
    const [outcome] = await pushDue(prisma, api(), shopId, NOW);
    expect(outcome.error).toBe(
      "Shopify refused the app metafield: Type must be single_line_text_field, the type of the metafield definition.",
    );
    const row = await prisma.segment.findFirstOrThrow({ where: { handle: "subscribers" } });
    expect(row).toMatchObject({ pushError: outcome.error, pushCursor: 0 });
    expect(await dueSegments(prisma, shopId)).toHaveLength(1);
  });

  it("skips customers Shopify no longer has", async () => {
    const shopId = await seed();
    await segment(shopId, "subscribers", subscribed);
    const before = await members("subscribers");
    const at = store.customers.findIndex((c) => c.id === before[0]);
    const [removed] = store.customers.splice(at, 1);
    try {
      await setPushOptions(prisma, shopId, "subscribers", { tag: true, metafield: true });
      const outcome = await pushSegment(prisma, api(), shopId, "subscribers", NOW);
      expect(outcome).toMatchObject({ gone: 1, tagged: before.length - 1, error: null });
    } finally {
      store.customers.splice(at, 0, removed);
    }
  });

  it("waits for Shopify's cost bucket instead of failing", async () => {
    const shopId = await seed();
    // Seeded without a creation date: everyone matches.
    await segment(shopId, "everyone", { field: "customer.createdAt", op: "isNotSet" });
    expect((await members("everyone")).length).toBe(store.customers.length);
    // A bucket that holds one batch of 25 tag writes at a time and refills in a fraction of a second.
    const tight = new AdminApiStandIn({ store, maximumAvailable: 320, restoreRate: 2000 });
    await tight.start();
    const waits: number[] = [];
    try {
      const client = new AdminApi({
        shop: SHOP,
        accessToken: "shpat_standin",
        origin: tight.origin,
        sleep: (ms) => (waits.push(ms), new Promise((r) => setTimeout(r, ms))),
      });
      await setPushOptions(prisma, shopId, "everyone", { tag: true });
      const outcome = await pushSegment(prisma, client, shopId, "everyone", NOW);
      expect(outcome).toMatchObject({ tagged: store.customers.length, error: null });
      expect(waits.length).toBeGreaterThan(0);
      expect(tight.requests.every((r) => r.cost <= 320)).toBe(true);
    } finally {
      await tight.stop();
    }
  });

  it("the stand-in answers bad segment queries as Shopify does", async () => {
    const create = async (query: string, version = "2026-07") => {
      const result = (await standIn.graphql(
        `mutation Create($name: String!, $query: String!) {
          segmentCreate(name: $name, query: $query) { segment { id } userErrors { field message } }
        }`,
        { name: "Grammar check", query },
        version,
      )) as { data: { segmentCreate: { userErrors: { field: string[]; message: string }[] } } };
      return result.data.segmentCreate.userErrors.map((e) => e.message);
    };
    expect(await create("not a valid segment query ???")).toEqual([
      "Query Line 1 Column 0: 'not' filter cannot be found.",
    ]);
    expect(await create("number_of_orders >= 1 xyz")).toEqual([
      "Query Line 1 Column 22: 'xyz' is unexpected.",
    ]);
    expect(await create("customer_tags = 'vip'")).toEqual([
      "Query Line 1 Column 14: customer_tags does not support operator '='",
    ]);
    expect(await create("email_subscription_status = 'YES'")).toEqual([
      "Query Line 1 Column 28: 'YES' is not a valid value for email_subscription_status.",
    ]);
    // Function filters: `= true` before 2026-10, MATCHES from it.
    expect(await create("products_purchased MATCHES (id = 1)")).toEqual([
      "Query Line 1 Column 19: 'MATCHES' is unexpected.",
    ]);
    expect(await create("products_purchased(id: (1, 2)) = true")).toEqual([]);
    // 2026-10's grammar (the stand-in has no 2026-10 schema, so it is checked on the grammar itself).
    expect(segmentQueryErrors("products_purchased MATCHES (id IN (1, 2), date >= -30d)", "matches")).toEqual(
      [],
    );
    expect(await create("")).toEqual(["Query can't be blank"]);
  });

  it("takes the segment page's card actions, refusing anything else", async () => {
    const shopId = await seed();
    await segment(shopId, "subscribers", subscribed);
    const act = (input: Record<string, unknown>) =>
      applyPushForm(prisma, SHOP, "subscribers", input, async () => api(), NOW);
    expect(await act({ intent: "push-options", tag: "maybe" })).toMatchObject({ ok: false });
    expect(await act({ intent: "delete-everything" })).toMatchObject({ ok: false });
    expect(await act({ intent: "push-options", tag: "on" })).toMatchObject({ ok: true });
    expect(await act({ intent: "shopify-segment" })).toEqual({
      ok: true,
      message: "The Shopify segment is up to date.",
    });
    const view = await pushView(prisma, SHOP, "subscribers");
    expect(view).toMatchObject({
      pushTag: true,
      pushMetafield: false,
      waiting: true,
      shopifyQuery: "email_subscription_status = 'SUBSCRIBED'",
      shopifySegmentId: expect.stringMatching(/^gid:\/\/shopify\/Segment\/\d+$/),
    });
  });

  it("runs from the command line", async () => {
    await segment(await seed(), "subscribers", subscribed);
    const lines: string[] = [];
    const code = await segmentsCommand(
      "push",
      { shop: SHOP, handle: "subscribers", now: NOW, format: "csv", tag: true },
      (l) => lines.push(l),
      async () => api(),
    );
    const count = (await members("subscribers")).length;
    expect({ code, lines }).toEqual({
      code: 0,
      lines: [
        `subscribers: checked ${count} customers; tag added ${count}, removed 0; metafield written 0, deleted 0`,
      ],
    });
    expect(tagged("slice:subscribers")).toHaveLength(count);
    await expect(main(["segments", "push", "subscribers", "--shop", SHOP, "--tag", "yes"])).rejects.toThrow(
      new UsageError('--tag must be on or off (got "yes")'),
    );
  });
});
