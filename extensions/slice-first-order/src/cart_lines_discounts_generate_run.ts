/**
 * Slice's first-purchase Discount Function (target cart.lines.discounts.generate.run, API
 * 2026-07). Shopify runs it at checkout when a shopper enters one of the discount's codes; it is
 * pure: the input is what src/cart_lines_discounts_generate_run.graphql asks for, the output one
 * CartLinesDiscountsGenerateRunResult.
 *
 * - A guest (no customer in `cart.buyerIdentity`) gets the discount: Shopify's checkout has no
 *   customer to count orders for, and the code is single-use and once per customer anyway.
 * - A customer with no orders (`numberOfOrders` 0) gets it.
 * - A customer with orders gets nothing: no operation, so Shopify does not apply the code.
 * The discount's terms are the discount's own metafield `$app:slice.first-order` (JSON, written by
 * the app's discountCodeAppCreate): percentage or amount off the order subtotal, optionally from a
 * minimum subtotal. Amounts are in the shop's currency; a fixed amount is converted to the cart's
 * currency with `presentmentCurrencyRate`, and the minimum is a condition Shopify checks in the
 * shop's currency.
 */

/** The terms in the discount's metafield, as the app writes them (app/offers/discounts.server.ts). */
export interface FirstOrderConfig {
  kind: "percentage" | "amount";
  /** percentage: percent off, e.g. "15"; amount: a decimal in the shop's currency, e.g. "10.00". */
  value: string;
  /** A decimal in the shop's currency, or null: no minimum. */
  minimumSubtotal: string | null;
}

export type DiscountClass = "PRODUCT" | "ORDER" | "SHIPPING";

/** The function's input, as its input query shapes it. */
export interface RunInput {
  cart: {
    buyerIdentity: {
      isAuthenticated: boolean;
      customer: { numberOfOrders: number } | null;
    } | null;
    cost: { subtotalAmount: { amount: string; currencyCode: string } };
  };
  discount: {
    discountClasses: DiscountClass[];
    metafield: { jsonValue: unknown } | null;
  };
  presentmentCurrencyRate: string;
  triggeringDiscountCode: string | null;
}

export interface OrderDiscountCandidate {
  targets: { orderSubtotal: { excludedCartLineIds: string[] } }[];
  value: { percentage: { value: string } } | { fixedAmount: { amount: string } };
  conditions?: { orderMinimumSubtotal: { minimumAmount: string; excludedCartLineIds: string[] } }[];
}

export interface CartLinesDiscountsGenerateRunResult {
  operations: { orderDiscountsAdd: { selectionStrategy: "FIRST"; candidates: OrderDiscountCandidate[] } }[];
}

const DECIMAL = /^\d+(\.\d+)?$/;

/** The discount's terms from its metafield; throws naming what is wrong (Shopify logs it). */
export function parseConfig(json: unknown): FirstOrderConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new Error("metafield $app:slice.first-order: must be a JSON object");
  const { kind, value, minimumSubtotal } = json as Record<string, unknown>;
  if (kind !== "percentage" && kind !== "amount")
    throw new Error(
      `metafield $app:slice.first-order: kind must be "percentage" or "amount", not ${JSON.stringify(kind)}`,
    );
  if (typeof value !== "string" || !DECIMAL.test(value) || Number(value) <= 0)
    throw new Error(
      `metafield $app:slice.first-order: value must be a positive decimal string, not ${JSON.stringify(value)}`,
    );
  if (kind === "percentage" && Number(value) > 100)
    throw new Error(`metafield $app:slice.first-order: a percentage must be at most 100, not ${value}`);
  if (
    minimumSubtotal !== null &&
    minimumSubtotal !== undefined &&
    (typeof minimumSubtotal !== "string" || !DECIMAL.test(minimumSubtotal))
  )
    throw new Error(
      `metafield $app:slice.first-order: minimumSubtotal must be a decimal string or null, not ${JSON.stringify(minimumSubtotal)}`,
    );
  return { kind, value, minimumSubtotal: (minimumSubtotal as string | null | undefined) ?? null };
}

/** Whether the buyer may have a first-order discount: a guest, or a customer without orders. */
export function isFirstOrder(buyer: RunInput["cart"]["buyerIdentity"]): boolean {
  return !buyer?.customer || buyer.customer.numberOfOrders === 0;
}

/** `amount` (shop currency) in the cart's currency, to the cent. */
function inCartCurrency(amount: string, rate: string): string {
  const converted = Number(amount) * Number(rate);
  if (!Number.isFinite(converted) || converted < 0)
    throw new Error(`presentmentCurrencyRate is not a rate: ${rate}`);
  return converted.toFixed(2);
}

export function cartLinesDiscountsGenerateRun(input: RunInput): CartLinesDiscountsGenerateRunResult {
  if (!input.discount.discountClasses.includes("ORDER")) return { operations: [] };
  if (!input.discount.metafield) throw new Error("the discount has no metafield $app:slice.first-order");
  const config = parseConfig(input.discount.metafield.jsonValue);
  if (!isFirstOrder(input.cart.buyerIdentity)) return { operations: [] };
  const candidate: OrderDiscountCandidate = {
    targets: [{ orderSubtotal: { excludedCartLineIds: [] } }],
    value:
      config.kind === "percentage"
        ? { percentage: { value: config.value } }
        : { fixedAmount: { amount: inCartCurrency(config.value, input.presentmentCurrencyRate) } },
    ...(config.minimumSubtotal !== null && Number(config.minimumSubtotal) > 0
      ? {
          conditions: [
            { orderMinimumSubtotal: { minimumAmount: config.minimumSubtotal, excludedCartLineIds: [] } },
          ],
        }
      : {}),
  };
  return { operations: [{ orderDiscountsAdd: { selectionStrategy: "FIRST", candidates: [candidate] } }] };
}
