/**
 * Rules → Shopify segment queries: a table of what a merchant's rule becomes in Shopify, and of
 * what Shopify cannot take, naming the field. Every query is also checked against the local
 * stand-in's segment grammar (dev/admin-api.ts), which answers segmentCreate as Shopify does.
 */
import { describe, expect, it } from "vitest";
import { functionSyntaxFor, toShopifyQL, type FunctionSyntax } from "./shopifyql";
import { parseRule, type Rule, type RuleNode } from "./rules";
import { presets } from "./presets";
import { segmentQueryErrors } from "../../dev/admin-api";

const rule = (match: RuleNode): Rule => parseRule({ version: 1, match });
const segments: Record<string, Rule> = {
  vip: rule({ field: "customer.totalSpent", op: "gte", value: 50000 }),
  subscribed: rule({ field: "customer.acceptsEmailMarketing", op: "isTrue" }),
  browsers: rule({ field: "visitor.sessions", op: "gte", value: 3 }),
};
const resolve = (handle: string) => segments[handle] ?? null;

const expressible: [string, RuleNode, string, FunctionSyntax?][] = [
  [
    "money in shop currency units",
    { field: "customer.totalSpent", op: "gt", value: 10050 },
    "amount_spent > 100.50",
  ],
  [
    "money between",
    { field: "customer.totalSpent", op: "between", value: [100, 99999] },
    "amount_spent BETWEEN 1.00 AND 999.99",
  ],
  ["order count", { field: "customer.ordersCount", op: "gte", value: 2 }, "number_of_orders >= 2"],
  ["order count is not", { field: "customer.ordersCount", op: "neq", value: 0 }, "number_of_orders != 0"],
  ["tag", { field: "customer.tags", op: "contains", value: "vip" }, "customer_tags CONTAINS 'vip'"],
  [
    "no such tag",
    { field: "customer.tags", op: "notContains", value: "wholesale" },
    "customer_tags NOT CONTAINS 'wholesale'",
  ],
  [
    "any of these tags",
    { field: "customer.tags", op: "in", value: ["gold", "silver"] },
    "customer_tags CONTAINS 'gold' OR customer_tags CONTAINS 'silver'",
  ],
  ["has tags", { field: "customer.tags", op: "isSet" }, "customer_tags IS NOT NULL"],
  [
    "country, upper-cased",
    { field: "customer.countryCode", op: "eq", value: "ca" },
    "customer_countries CONTAINS 'CA'",
  ],
  [
    "country is not: the country must be set",
    { field: "customer.countryCode", op: "neq", value: "US" },
    "customer_countries IS NOT NULL AND customer_countries NOT CONTAINS 'US'",
  ],
  [
    "country none of",
    { field: "customer.countryCode", op: "notIn", value: ["US", "CA"] },
    "customer_countries IS NOT NULL AND customer_countries NOT CONTAINS 'US' AND customer_countries NOT CONTAINS 'CA'",
  ],
  [
    "email consent",
    { field: "customer.acceptsEmailMarketing", op: "isTrue" },
    "email_subscription_status = 'SUBSCRIBED'",
  ],
  [
    "no email consent",
    { field: "customer.acceptsEmailMarketing", op: "isFalse" },
    "email_subscription_status != 'SUBSCRIBED'",
  ],
  [
    "account state",
    { field: "customer.state", op: "eq", value: "enabled" },
    "customer_account_status = 'ENABLED'",
  ],
  [
    "account state none of",
    { field: "customer.state", op: "notIn", value: ["disabled", "declined"] },
    "customer_account_status != 'DISABLED' AND customer_account_status != 'DECLINED'",
  ],
  [
    "last order within",
    { field: "customer.lastOrderAt", op: "withinLast", days: 30 },
    "last_order_date >= -30d",
  ],
  ["lapsed", { field: "customer.lastOrderAt", op: "notWithinLast", days: 90 }, "last_order_date < -90d"],
  ["never ordered", { field: "customer.lastOrderAt", op: "isNotSet" }, "last_order_date IS NULL"],
  [
    "last order before a day",
    { field: "customer.lastOrderAt", op: "before", value: "2026-01-01" },
    "last_order_date < 2026-01-01",
  ],
  [
    "after a day counts that day (ours: any later instant)",
    { field: "customer.lastOrderAt", op: "after", value: "2026-01-01T00:00:00Z" },
    "last_order_date >= 2026-01-01",
  ],
  [
    "customer since",
    { field: "customer.createdAt", op: "withinLast", days: 7 },
    "customer_added_date >= -7d",
  ],
  [
    "ordered in the window",
    { field: "orders.count", op: "gte", value: 1, days: 14 },
    "last_order_date >= -14d",
  ],
  [
    "no order in the window, never ordered included",
    { field: "orders.count", op: "eq", value: 0, days: 60 },
    "last_order_date < -60d OR last_order_date IS NULL",
  ],
  [
    "abandoned checkout",
    { field: "checkouts.abandoned", op: "isTrue", days: 7 },
    "abandoned_checkout_date >= -7d",
  ],
  [
    "bought a product in 30 days (2026-10 syntax)",
    { field: "orders.products", op: "in", value: ["501"], days: 30 },
    "products_purchased MATCHES (id = 501, date >= -30d)",
    "matches",
  ],
  [
    "bought none of these",
    { field: "orders.products", op: "notIn", value: ["501", "502"], days: 90 },
    "products_purchased NOT MATCHES (id IN (501, 502), date >= -90d)",
    "matches",
  ],
  [
    "all and any, with parentheses",
    {
      all: [
        { field: "customer.ordersCount", op: "gte", value: 1 },
        {
          any: [
            { field: "customer.countryCode", op: "eq", value: "CA" },
            { field: "customer.totalSpent", op: "gt", value: 50000 },
          ],
        },
      ],
    },
    "number_of_orders >= 1 AND (customer_countries CONTAINS 'CA' OR amount_spent > 500.00)",
  ],
  [
    "not is pushed down (De Morgan)",
    {
      not: {
        all: [
          { field: "customer.tags", op: "contains", value: "vip" },
          { field: "customer.ordersCount", op: "gt", value: 3 },
        ],
      },
    },
    "customer_tags NOT CONTAINS 'vip' OR number_of_orders <= 3",
  ],
  [
    "not of a date keeps customers without one",
    { not: { field: "customer.lastOrderAt", op: "before", value: "2025-06-01" } },
    "last_order_date >= 2025-06-01 OR last_order_date IS NULL",
  ],
  [
    "not between",
    { not: { field: "customer.ordersCount", op: "between", value: [2, 5] } },
    "number_of_orders < 2 OR number_of_orders > 5",
  ],
  [
    "a referenced segment is inlined",
    {
      all: [{ segment: "subscribed" }, { not: { segment: "vip" } }],
    },
    "email_subscription_status = 'SUBSCRIBED' AND amount_spent < 500.00",
  ],
];

describe("toShopifyQL", () => {
  it.each(expressible)("%s", (_name, match, query, syntax) => {
    const result = toShopifyQL(rule(match), { resolve, syntax });
    expect(result).toEqual({ query });
    expect(segmentQueryErrors(query, syntax ?? "legacy")).toEqual([]);
  });

  const refused: [string, RuleNode, string[], FunctionSyntax?][] = [
    [
      "average order value",
      { field: "customer.averageOrderValue", op: "gt", value: 100 },
      [
        "Average order value (customer.averageOrderValue): Shopify's segment filters have no average order value",
      ],
    ],
    [
      "first order date",
      { field: "customer.firstOrderAt", op: "withinLast", days: 30 },
      [
        "First order (customer.firstOrderAt): Shopify's segment filters have no first order date (only a last order date)",
      ],
    ],
    [
      "storefront behaviour, each field named once",
      {
        any: [
          { field: "visitor.sessions", op: "gte", value: 3 },
          { field: "visitor.utmSource", op: "eq", value: "tiktok" },
          { field: "visitor.sessions", op: "lt", value: 9 },
        ],
      },
      [
        "Sessions (visitor.sessions): Shopify's segments don't see Slice's storefront visits",
        "UTM source (visitor.utmSource): Shopify's segments don't see Slice's storefront visits",
      ],
    ],
    [
      "products in a window before API 2026-10",
      { field: "orders.products", op: "in", value: ["501"], days: 30 },
      [
        "Bought product (orders.products): Shopify's products_purchased can't be limited to the last N days before Admin API 2026-10",
      ],
      "legacy",
    ],
    [
      "order counts other than some/none",
      { field: "orders.count", op: "gte", value: 3, days: 30 },
      [
        "Orders (orders.count): Shopify can only say whether there was an order in the last N days (at least 1, or 0), not how many",
      ],
    ],
    [
      "a quote in a value",
      { field: "customer.tags", op: "contains", value: "o'brien" },
      [`Tags (customer.tags): the value "o'brien" has a quote or line break`],
    ],
    [
      "a time of day",
      { field: "customer.lastOrderAt", op: "before", value: "2026-01-01T15:30:00Z" },
      [
        "Last order (customer.lastOrderAt): Shopify compares whole days; 2026-01-01T15:30:00Z has a time of day",
      ],
    ],
    [
      "a referenced segment that can't be expressed",
      { all: [{ field: "customer.ordersCount", op: "gte", value: 1 }, { segment: "browsers" }] },
      ["Sessions (visitor.sessions): Shopify's segments don't see Slice's storefront visits"],
    ],
  ];

  it.each(refused)("refuses %s, naming the field", (_name, match, reasons, syntax) => {
    expect(toShopifyQL(rule(match), { resolve, syntax })).toEqual({ unsupported: reasons });
  });

  it("refuses a rule that matches every customer", () => {
    const everyone = rule({ field: "customer.totalSpent", op: "isSet" });
    expect(toShopifyQL(everyone, { resolve })).toEqual({
      unsupported: ["the rule matches every customer; a Shopify segment needs at least one condition"],
    });
  });

  it("writes money in the shop currency's units", () => {
    const r = rule({ field: "customer.totalSpent", op: "gte", value: 15000 });
    expect(toShopifyQL(r, { resolve, currency: "JPY" })).toEqual({ query: "amount_spent >= 15000" });
    expect(toShopifyQL(r, { resolve, currency: "KWD" })).toEqual({ query: "amount_spent >= 15.000" });
  });

  it("chooses the function syntax by Admin API version", () => {
    expect(functionSyntaxFor("2026-01")).toBe("legacy");
    expect(functionSyntaxFor("2026-10")).toBe("matches");
    expect(functionSyntaxFor("2027-01")).toBe("matches");
  });

  it("says for each built-in segment whether Shopify can have it", () => {
    const results = Object.fromEntries(
      presets({ topSpendThreshold: 25000 }).map((p) => [p.handle, toShopifyQL(p.rule, { resolve })]),
    );
    for (const [handle, result] of Object.entries(results)) {
      if ("query" in result) expect(segmentQueryErrors(result.query, "legacy"), handle).toEqual([]);
      else expect(result.unsupported.length, handle).toBeGreaterThan(0);
    }
    expect(results["high-spend-repeat"]).toEqual({
      query: "number_of_orders >= 2 AND amount_spent >= 250.00",
    });
    expect(results["first-time-visitors"]).toMatchObject({
      unsupported: [expect.stringContaining("(visitor.")],
    });
  });
});
