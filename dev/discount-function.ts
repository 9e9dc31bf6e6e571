/**
 * Shopify's side of Slice's Discount Function (extensions/slice-first-order), for the Admin API
 * stand-in's checkout and the tests: the Discount Function schema (API 2026-07, from
 * dev/fixtures), the function's input built by running its own input query against that schema
 * over a cart and a buyer (as Shopify does before it calls the function), and every output
 * checked against the schema's output type before it is applied. Built to WebAssembly the same
 * logic runs in Shopify; here it runs as TypeScript.
 */
import {
  buildClientSchema,
  coerceInputValue,
  executeSync,
  isInputObjectType,
  parse,
  validate,
  type GraphQLSchema,
  type IntrospectionQuery,
} from "graphql";
import { readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { FIXTURES_DIR } from "./fixtures";
import { decimal } from "./store";
import {
  cartLinesDiscountsGenerateRun,
  type CartLinesDiscountsGenerateRunResult,
  type RunInput,
} from "../extensions/slice-first-order/src/cart_lines_discounts_generate_run";

export const FUNCTION_DIR = path.resolve(FIXTURES_DIR, "..", "..", "extensions", "slice-first-order");
export const FUNCTION_HANDLE = "slice-first-order";

let cached: GraphQLSchema | null = null;

/** The Discount Function API 2026-07 schema (input `Input`, results on `MutationRoot`). */
export function discountFunctionSchema(): GraphQLSchema {
  if (!cached) {
    const file = path.join(FIXTURES_DIR, "shopify-functions-schema", "discount_2026-07.json.gz");
    const json = JSON.parse(gunzipSync(readFileSync(file)).toString("utf8")) as { data: IntrospectionQuery };
    cached = buildClientSchema(json.data);
  }
  return cached;
}

/** The function's input query, as shipped in the extension. */
export function functionInputQuery(): string {
  return readFileSync(path.join(FUNCTION_DIR, "src", "cart_lines_discounts_generate_run.graphql"), "utf8");
}

/** Errors of an input query against the function schema (empty when valid). */
export function validateFunctionQuery(source: string): string[] {
  try {
    return validate(discountFunctionSchema(), parse(source)).map((e) => e.message);
  } catch (error) {
    return [(error as Error).message];
  }
}

/**
 * Errors of a cart.lines.discounts.generate.run result against the schema's
 * CartLinesDiscountsGenerateRunResult (types, required fields, enums), and Shopify's rule that
 * each CartOperation sets exactly one operation (it is a oneOf input in Shopify's reference; the
 * introspection does not say so).
 */
export function validateRunResult(result: unknown): string[] {
  const type = discountFunctionSchema().getType("CartLinesDiscountsGenerateRunResult");
  if (!type || !isInputObjectType(type)) throw new Error("CartLinesDiscountsGenerateRunResult is missing");
  const errors: string[] = [];
  coerceInputValue(result, type, (pathTo, _value, error) =>
    errors.push(`${pathTo.length ? `${pathTo.join(".")}: ` : ""}${error.message}`),
  );
  const operations = (result as { operations?: unknown })?.operations;
  if (Array.isArray(operations))
    operations.forEach((op, i) => {
      const set = op && typeof op === "object" ? Object.values(op).filter((v) => v != null).length : 0;
      if (set !== 1) errors.push(`operations.${i}: must set exactly one operation, not ${set}`);
    });
  return errors;
}

/** What Shopify knows at checkout, in the stand-in's terms. */
export interface CheckoutFacts {
  /** Minor units of the shop currency (the stand-in's carts are in the shop currency: rate 1). */
  subtotal: number;
  currency: string;
  /** The signed-in customer's non-cancelled orders; null for a guest. */
  customer: { numberOfOrders: number } | null;
  discountClasses: string[];
  /** The discount's metafields by "namespace.key" (namespaces as stored, `$app:` resolved). */
  metafields: Map<string, { type: string; value: string }>;
  /** How `$app:x` resolves for this app (app--<client id>--x). */
  appNamespace: (input: string) => string;
  code: string;
}

/** The function's input: its input query run against the schema over the checkout's facts. */
export function buildFunctionInput(facts: CheckoutFacts): RunInput {
  const money = (minor: number) => ({ amount: decimal(minor), currencyCode: facts.currency });
  const metafield = (args: { namespace?: string; key: string }) => {
    const m = facts.metafields.get(`${facts.appNamespace(args.namespace ?? "$app")}.${args.key}`);
    if (!m) return null;
    return { type: m.type, value: m.value, jsonValue: m.type === "json" ? JSON.parse(m.value) : m.value };
  };
  const root = {
    cart: {
      buyerIdentity: {
        // A guest has no customer and is not authenticated; a signed-in customer is both.
        isAuthenticated: facts.customer !== null,
        customer: facts.customer,
        email: null,
        phone: null,
      },
      cost: { subtotalAmount: money(facts.subtotal), totalAmount: money(facts.subtotal) },
      lines: [],
    },
    discount: { discountClasses: facts.discountClasses, metafield },
    presentmentCurrencyRate: "1.0",
    triggeringDiscountCode: facts.code,
    enteredDiscountCodes: [{ code: facts.code, rejectable: true }],
  };
  const result = executeSync({
    schema: discountFunctionSchema(),
    document: parse(functionInputQuery()),
    rootValue: root,
  });
  if (result.errors?.length)
    throw new Error(
      `the function's input could not be built: ${result.errors.map((e) => e.message).join("; ")}`,
    );
  return result.data as unknown as RunInput;
}

/** Runs the function as Shopify would: input from its query, output checked against the schema. */
export function runFirstOrderFunction(facts: CheckoutFacts): CartLinesDiscountsGenerateRunResult {
  const output = cartLinesDiscountsGenerateRun(buildFunctionInput(facts));
  const errors = validateRunResult(output);
  if (errors.length) throw new Error(`the function's output is not a valid result: ${errors.join("; ")}`);
  return output;
}

/**
 * What an order discount output takes off a subtotal (minor units), as Shopify applies it: the
 * first candidate whose conditions hold (selection strategy FIRST), a percentage of the subtotal
 * or a fixed amount up to the subtotal. null: nothing applies (with why).
 */
export function applyOrderDiscount(
  output: CartLinesDiscountsGenerateRunResult,
  subtotal: number,
): { amount: number } | { amount: null; reason: "no_discount" | "minimum_subtotal_not_met" } {
  const candidates = output.operations.flatMap((op) => op.orderDiscountsAdd?.candidates ?? []);
  if (!candidates.length) return { amount: null, reason: "no_discount" };
  const minor = (d: string) => Math.round(Number(d) * 100);
  for (const c of candidates) {
    const met = (c.conditions ?? []).every((k) => subtotal >= minor(k.orderMinimumSubtotal.minimumAmount));
    if (!met) continue;
    if ("percentage" in c.value)
      return { amount: Math.round((subtotal * Number(c.value.percentage.value)) / 100) };
    return { amount: Math.min(minor(c.value.fixedAmount.amount), subtotal) };
  }
  return { amount: null, reason: "minimum_subtotal_not_met" };
}
