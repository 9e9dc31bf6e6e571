/**
 * The local Admin API answers as Shopify does for protected customer data and API versions:
 * ACCESS_DENIED on what the app is not approved for, 404 for a version with no schema, and a
 * record of deprecated fields (Shopify answers those; the tests fail on them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminApiStandIn, PROTECTED_FIELDS_BY_TYPE } from "./admin-api";
import { generateStore } from "./store";
import { APP_PROTECTED_DATA, type ProtectedDataAccess } from "../app/protected-data";

const store = generateStore({ seed: 3, customers: 30, shop: "protected-test.myshopify.com" });
const customer = store.customers.find(
  (c) => c.phone && c.address && store.orders.some((o) => o.customerId === c.id),
)!;
const order = store.orders.find((o) => o.customerId === customer.id && o.shippingAddress)!;

const ALL: ProtectedDataAccess = { level1: true, fields: ["name", "email", "phone", "address"] };

interface Answer {
  data: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
}

async function ask(access: ProtectedDataAccess, query: string, variables: Record<string, unknown> = {}) {
  const standIn = new AdminApiStandIn({ store, protectedData: access, restoreRate: 100_000 });
  return (await standIn.graphql(query, variables)) as Answer;
}

const CUSTOMER = `gid://shopify/Customer/${customer.id}`;
const ORDER = `gid://shopify/Order/${order.id}`;

describe("protected customer data in the local Admin API", () => {
  it("defaults to what the app declares: level 1 with name, email and address, never phone", () => {
    expect(APP_PROTECTED_DATA).toEqual({ level1: true, fields: ["name", "email", "address"] });
  });

  it("refuses customer data at all without level 1: customers, orders, checkouts and a customer node", async () => {
    const none: ProtectedDataAccess = { level1: false, fields: [] };
    for (const [query, root, object] of [
      ["{ customers(first: 1) { nodes { id } } }", "customers", "Customer"],
      ["{ orders(first: 1) { nodes { id } } }", "orders", "Order"],
      ["{ abandonedCheckouts(first: 1) { nodes { id } } }", "abandonedCheckouts", "AbandonedCheckout"],
      [`{ node(id: "${CUSTOMER}") { id } }`, "node", "Customer"],
    ] as const) {
      const answer = await ask(none, query);
      expect(answer.errors, query).toHaveLength(1);
      expect(answer.errors![0]).toMatchObject({
        message: expect.stringMatching(
          new RegExp(
            `^This app is not approved to access the ${object} object\\. See https://partners\\.shopify\\.com/.*/customer_data for more details\\.$`,
          ),
        ),
        path: [root],
        extensions: { code: "ACCESS_DENIED" },
      });
      expect(answer.data?.[root] ?? null).toBeNull();
    }
    // Data that is not customer data still answers.
    expect((await ask(none, "{ shop { name } }")).errors).toBeUndefined();
  });

  it("refuses each level-2 field the approval does not cover, and answers the rest of the query", async () => {
    const cases: [string, string, string[]][] = [
      ["name", `{ node(id: "${CUSTOMER}") { ... on Customer { id firstName } } }`, ["node", "firstName"]],
      ["name", `{ node(id: "${CUSTOMER}") { ... on Customer { id lastName } } }`, ["node", "lastName"]],
      [
        "email",
        `{ node(id: "${CUSTOMER}") { ... on Customer { id defaultEmailAddress { emailAddress } } } }`,
        ["node", "defaultEmailAddress"],
      ],
      [
        "phone",
        `{ node(id: "${CUSTOMER}") { ... on Customer { id defaultPhoneNumber { phoneNumber } } } }`,
        ["node", "defaultPhoneNumber"],
      ],
      [
        "address",
        `{ node(id: "${CUSTOMER}") { ... on Customer { id defaultAddress { city } } } }`,
        ["node", "defaultAddress"],
      ],
      ["email", "{ orders(first: 1) { nodes { id email } } }", ["orders", "nodes", "0", "email"]],
      [
        "address",
        "{ orders(first: 1) { nodes { id shippingAddress { zip } } } }",
        ["orders", "nodes", "0", "shippingAddress"],
      ],
    ];
    for (const [field, query, path] of cases) {
      const without: ProtectedDataAccess = { level1: true, fields: ALL.fields.filter((f) => f !== field) };
      const denied = await ask(without, query);
      expect(denied.errors, query).toHaveLength(1);
      const error = denied.errors![0];
      expect(error.message).toMatch(
        /^This app is not approved to use the \w+ field\. See https:\/\/partners\.shopify\.com\//,
      );
      expect(error.path!.map(String)).toEqual(path);
      expect(error.extensions?.code).toBe("ACCESS_DENIED");
      // The node itself is still there, with the refused field null.
      expect(JSON.stringify(denied.data)).toContain('"id":"gid://shopify/');
      // Approved for it: the same query answers without errors.
      const granted = await ask(ALL, query);
      expect(granted.errors, query).toBeUndefined();
    }
  });

  it("answers orders with their email and shipping address when those are approved", async () => {
    const answer = await ask(
      APP_PROTECTED_DATA,
      "{ orders(first: 250) { nodes { id email shippingAddress { zip countryCodeV2 } } } }",
    );
    expect(answer.errors).toBeUndefined();
    const nodes = (answer.data?.orders as { nodes: { id: string; email: string | null }[] }).nodes;
    expect(nodes.find((n) => n.id === ORDER)).toMatchObject({ email: order.email });
  });

  it("refuses a name inside an address when only the address is approved", async () => {
    const answer = await ask(
      { level1: true, fields: ["address"] },
      `{ node(id: "${CUSTOMER}") { ... on Customer { defaultAddress { city name } } } }`,
    );
    expect(answer.errors?.map((e) => e.path?.join("."))).toEqual(["node.defaultAddress.name"]);
  });

  it("refuses the abandoned checkout's recovery URL unless all four fields are approved", async () => {
    const query = "{ abandonedCheckouts(first: 1) { nodes { id abandonedCheckoutUrl } } }";
    const denied = await ask(APP_PROTECTED_DATA, query);
    expect(denied.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/not approved to use the abandonedCheckoutUrl field/),
      extensions: { code: "ACCESS_DENIED" },
    });
    expect((await ask(ALL, query)).errors).toBeUndefined();
    expect(PROTECTED_FIELDS_BY_TYPE.AbandonedCheckout.abandonedCheckoutUrl).toEqual(ALL.fields);
  });

  it("fails a bulk operation that reads a field the approval does not cover (ACCESS_DENIED)", async () => {
    const standIn = new AdminApiStandIn({
      store,
      protectedData: { level1: true, fields: ["email"] },
      bulkDelayMs: 1,
    });
    const run = (await standIn.graphql(
      `mutation Run($query: String!) { bulkOperationRunQuery(query: $query) { bulkOperation { id } userErrors { message } } }`,
      { query: "{ customers { edges { node { id firstName } } } }" },
    )) as { data: { bulkOperationRunQuery: { bulkOperation: { id: string } } } };
    const id = run.data.bulkOperationRunQuery.bulkOperation.id;
    await new Promise((r) => setTimeout(r, 20));
    const status = (await standIn.graphql(
      `query S($id: ID!) { node(id: $id) { ... on BulkOperation { status errorCode url } } }`,
      { id },
    )) as { data: { node: { status: string; errorCode: string | null; url: string | null } } };
    expect(status.data.node).toEqual({ status: "FAILED", errorCode: "ACCESS_DENIED", url: null });
  });
});

describe("API versions and deprecations in the local Admin API", () => {
  const standIn = new AdminApiStandIn({ store, restoreRate: 100_000 });
  beforeAll(async () => {
    await standIn.start();
  });
  afterAll(async () => {
    await standIn.stop();
  });

  it("answers a version it has no schema for with 404, as Shopify answers one that does not exist", async () => {
    for (const version of ["2025-01", "2026-13", "banana"]) {
      const response = await fetch(`${standIn.origin}/admin/api/${version}/graphql.json`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Shopify-Access-Token": "shpat_standin" },
        body: JSON.stringify({ query: "{ shop { name } }" }),
      });
      expect(response.status, version).toBe(404);
      expect(await response.json()).toEqual({ errors: "Not Found" });
    }
    expect(standIn.unknownVersions).toEqual(["2025-01", "2026-13", "banana"]);
    standIn.unknownVersions.length = 0;
    const ok = await fetch(`${standIn.origin}/admin/api/2026-07/graphql.json`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Shopify-Access-Token": "shpat_standin" },
      body: JSON.stringify({ query: "{ shop { name } }" }),
    });
    expect(ok.status).toBe(200);
  });

  it("records a deprecated input field sent in the variables, too", async () => {
    const answer = (await standIn.graphql(
      `mutation Create($d: DiscountCodeBasicInput!) {
        discountCodeBasicCreate(basicCodeDiscount: $d) { codeDiscountNode { id } userErrors { message } }
      }`,
      {
        d: {
          title: "Old style",
          code: "OLD-STYLE",
          startsAt: new Date().toISOString(),
          customerSelection: { all: true },
          customerGets: { value: { percentage: 0.1 }, items: { all: true } },
        },
      },
    )) as Answer;
    expect(answer.errors).toBeUndefined();
    expect(standIn.deprecatedUses.map((d) => d.uses)).toEqual([
      ["The input field DiscountCodeBasicInput.customerSelection is deprecated. Use `context` instead."],
    ]);
    standIn.deprecatedUses.length = 0;
  });

  it("answers a deprecated field as Shopify does, and records it so the test fails", async () => {
    const answer = (await standIn.graphql(
      `{ node(id: "${CUSTOMER}") { ... on Customer { email } } }`,
      {},
    )) as Answer;
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.node).toEqual({ email: customer.email });
    expect(standIn.deprecatedUses).toHaveLength(1);
    expect(standIn.deprecatedUses[0].uses[0]).toMatch(
      /Customer\.email is deprecated\. Use `defaultEmailAddress\.emailAddress`/,
    );
    standIn.deprecatedUses.length = 0;
  });
});
