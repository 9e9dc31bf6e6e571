/**
 * Slice's first-purchase Discount Function: its logic (pure), its input query against the
 * Discount Function schema (API 2026-07), every output it can produce against the schema's output
 * type, the extension's layout as the Shopify CLI expects it, and the input Shopify would give it
 * for a guest and for a signed-in customer (built by the query itself over the schema).
 */
import { NoDeprecatedCustomRule, parse, validate } from "graphql";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildFunctionInput,
  discountFunctionSchema,
  FUNCTION_DIR,
  FUNCTION_HANDLE,
  functionInputQuery,
  validateFunctionQuery,
  validateRunResult,
  type CheckoutFacts,
} from "../../dev/discount-function";
import { FIRST_ORDER_FUNCTION_HANDLE, FIRST_ORDER_METAFIELD } from "../../app/offers/discounts.server";
import {
  cartLinesDiscountsGenerateRun,
  parseConfig,
  type FirstOrderConfig,
  type RunInput,
} from "./src/cart_lines_discounts_generate_run";
import * as entry from "./src/index";

const input = (
  config: unknown,
  customer: { numberOfOrders: number } | null,
  overrides: Partial<RunInput> = {},
): RunInput => ({
  cart: {
    buyerIdentity: { isAuthenticated: customer !== null, customer },
    cost: { subtotalAmount: { amount: "80.00", currencyCode: "USD" } },
  },
  discount: { discountClasses: ["ORDER"], metafield: { jsonValue: config } },
  presentmentCurrencyRate: "1.0",
  triggeringDiscountCode: "WELCOME-AAAA-BBBB",
  ...overrides,
});

const FIFTEEN: FirstOrderConfig = { kind: "percentage", value: "15", minimumSubtotal: null };
const TEN_OFF_FROM_50: FirstOrderConfig = { kind: "amount", value: "10.00", minimumSubtotal: "50.00" };

describe("the first-purchase function", () => {
  it("gives a guest the discount on the order subtotal", () => {
    expect(cartLinesDiscountsGenerateRun(input(FIFTEEN, null))).toEqual({
      operations: [
        {
          orderDiscountsAdd: {
            selectionStrategy: "FIRST",
            candidates: [
              {
                targets: [{ orderSubtotal: { excludedCartLineIds: [] } }],
                value: { percentage: { value: "15" } },
              },
            ],
          },
        },
      ],
    });
  });

  it("gives a signed-in customer with no orders the discount, and one with orders nothing", () => {
    expect(cartLinesDiscountsGenerateRun(input(FIFTEEN, { numberOfOrders: 0 })).operations).toHaveLength(1);
    expect(cartLinesDiscountsGenerateRun(input(FIFTEEN, { numberOfOrders: 1 }))).toEqual({ operations: [] });
    expect(cartLinesDiscountsGenerateRun(input(FIFTEEN, { numberOfOrders: 12 }))).toEqual({ operations: [] });
  });

  it("takes a fixed amount in the cart's currency, from a minimum Shopify checks in the shop's", () => {
    const result = cartLinesDiscountsGenerateRun(
      input(TEN_OFF_FROM_50, null, { presentmentCurrencyRate: "0.9" }),
    );
    expect(result.operations[0].orderDiscountsAdd.candidates[0]).toEqual({
      targets: [{ orderSubtotal: { excludedCartLineIds: [] } }],
      value: { fixedAmount: { amount: "9.00" } },
      conditions: [{ orderMinimumSubtotal: { minimumAmount: "50.00", excludedCartLineIds: [] } }],
    });
  });

  it("gives nothing when the discount has no ORDER class", () => {
    expect(
      cartLinesDiscountsGenerateRun(
        input(FIFTEEN, null, {
          discount: { discountClasses: ["PRODUCT"], metafield: { jsonValue: FIFTEEN } },
        }),
      ),
    ).toEqual({ operations: [] });
  });

  it("fails with the reason when its configuration is missing or wrong (Shopify logs it, applies nothing)", () => {
    expect(() =>
      cartLinesDiscountsGenerateRun(
        input(null, null, { discount: { discountClasses: ["ORDER"], metafield: null } }),
      ),
    ).toThrow(/no metafield \$app:slice.first-order/);
    expect(() => parseConfig({ kind: "bogo", value: "1" })).toThrow(/kind must be "percentage" or "amount"/);
    expect(() => parseConfig({ kind: "percentage", value: "150" })).toThrow(/at most 100/);
    expect(() => parseConfig({ kind: "amount", value: 10 })).toThrow(
      /value must be a positive decimal string/,
    );
    expect(() => parseConfig({ kind: "amount", value: "10", minimumSubtotal: 5 })).toThrow(/minimumSubtotal/);
    expect(() => parseConfig([])).toThrow(/JSON object/);
  });

  it("produces only outputs valid against the schema's CartLinesDiscountsGenerateRunResult", () => {
    const configs: FirstOrderConfig[] = [
      FIFTEEN,
      TEN_OFF_FROM_50,
      { kind: "percentage", value: "12.5", minimumSubtotal: "0" },
      { kind: "amount", value: "500", minimumSubtotal: null },
    ];
    const buyers = [null, { numberOfOrders: 0 }, { numberOfOrders: 3 }];
    const classes: RunInput["discount"]["discountClasses"][] = [["ORDER"], ["PRODUCT"], ["ORDER", "PRODUCT"]];
    let checked = 0;
    for (const config of configs)
      for (const buyer of buyers)
        for (const discountClasses of classes)
          for (const rate of ["1.0", "0.9", "151.2"]) {
            const output = cartLinesDiscountsGenerateRun(
              input(config, buyer, {
                discount: { discountClasses, metafield: { jsonValue: config } },
                presentmentCurrencyRate: rate,
              }),
            );
            expect(validateRunResult(output)).toEqual([]);
            checked++;
          }
    expect(checked).toBe(108);
    // The check can fail: a wrong enum, a missing field, two operations in one.
    expect(
      validateRunResult({
        operations: [{ orderDiscountsAdd: { selectionStrategy: "ALL", candidates: [] } }],
      }),
    ).not.toEqual([]);
    expect(validateRunResult({ operations: [{ orderDiscountsAdd: { candidates: [] } }] })).not.toEqual([]);
    expect(
      validateRunResult({
        operations: [
          {
            orderDiscountsAdd: { selectionStrategy: "FIRST", candidates: [] },
            productDiscountsAdd: { selectionStrategy: "FIRST", candidates: [] },
          },
        ],
      }),
    ).toEqual(["operations.0: must set exactly one operation, not 2"]);
  });
});

describe("the extension", () => {
  const toml = readFileSync(path.join(FUNCTION_DIR, "shopify.extension.toml"), "utf8");
  const value = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "m").exec(toml)?.[1];

  it("is laid out as the Shopify CLI expects a JavaScript Discount Function on API 2026-07", () => {
    expect(value("api_version")).toBe("2026-07");
    expect(value("type")).toBe("function");
    expect(value("handle")).toBe(FUNCTION_HANDLE);
    expect(FIRST_ORDER_FUNCTION_HANDLE).toBe(FUNCTION_HANDLE);
    expect(value("target")).toBe("cart.lines.discounts.generate.run");
    expect(existsSync(path.join(FUNCTION_DIR, value("input_query")!))).toBe(true);
    // The export is the function's name in kebab case, exported from src/index.
    const exported = value("export")!.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    expect(typeof (entry as Record<string, unknown>)[exported]).toBe("function");
    const pkg = JSON.parse(readFileSync(path.join(FUNCTION_DIR, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies["@shopify/shopify_function"]).toBeDefined();
    const locale = JSON.parse(
      readFileSync(path.join(FUNCTION_DIR, "locales", "en.default.json"), "utf8"),
    ) as {
      name: string;
    };
    expect(locale.name).toBeTruthy();
  });

  it("asks for valid input with no deprecated field, and reads the metafield the app writes", () => {
    expect(validateFunctionQuery(functionInputQuery())).toEqual([]);
    expect(
      validate(discountFunctionSchema(), parse(functionInputQuery()), [NoDeprecatedCustomRule]).map(
        (e) => e.message,
      ),
    ).toEqual([]);
    expect(functionInputQuery()).toContain(
      `metafield(namespace: "${FIRST_ORDER_METAFIELD.namespace}", key: "${FIRST_ORDER_METAFIELD.key}")`,
    );
    expect(
      validateFunctionQuery("query { cart { buyerIdentity { customer { ordersCount } } } }"),
    ).not.toEqual([]);
  });

  it("gets from Shopify (the stand-in) a guest as no customer, and a signed-in customer with their order count", () => {
    const facts = (customer: CheckoutFacts["customer"]): CheckoutFacts => ({
      subtotal: 8050,
      currency: "EUR",
      customer,
      discountClasses: ["ORDER"],
      metafields: new Map([["app--1.slice.first-order", { type: "json", value: JSON.stringify(FIFTEEN) }]]),
      appNamespace: (ns) => `app--1.${ns.replace(/^\$app:?/, "")}`,
      code: "WELCOME-AAAA-BBBB",
    });
    expect(buildFunctionInput(facts(null))).toEqual({
      cart: {
        buyerIdentity: { isAuthenticated: false, customer: null },
        cost: { subtotalAmount: { amount: "80.50", currencyCode: "EUR" } },
      },
      discount: { discountClasses: ["ORDER"], metafield: { jsonValue: FIFTEEN } },
      presentmentCurrencyRate: "1.0",
      triggeringDiscountCode: "WELCOME-AAAA-BBBB",
    });
    expect(buildFunctionInput(facts({ numberOfOrders: 2 })).cart.buyerIdentity).toEqual({
      isAuthenticated: true,
      customer: { numberOfOrders: 2 },
    });
  });
});
