/**
 * Discount codes in Shopify for storefront offers: a first-purchase discount (one unique code
 * per visitor, used once, only on a first order, with an expiry) and, later, referral rewards.
 * Codes are made ahead in a pool, so a shopper never waits on the Admin API: one create mutation
 * makes the discount with its first code, then `discountRedeemCodeBulkAdd` adds up to 250 more per
 * call (API 2026-07; 100 in 2025-01). Each code then belongs to the one discount, and its usage
 * limit (1) applies per code, as Shopify's price rule usage limit does.
 *
 * "First order only" is Slice's Discount Function (extensions/slice-first-order): the discount is
 * made with `discountCodeAppCreate` (Admin API 2026-07) backed by the function's handle, its terms
 * (percentage or amount, minimum subtotal) in the discount's metafield `$app:slice.first-order`,
 * `context: { all: ALL }` (every buyer may enter it, guests included) and the ORDER discount class.
 * At checkout the function gives the discount to a guest or a customer with no orders and nothing
 * to a signed-in customer with orders. A customer segment (`number_of_orders = 0`, the way before)
 * holds only customers, so Shopify refused the code to a first-time shopper checking out as a
 * guest: most of them.
 *
 * Every call goes through the one Admin API client (sync/admin-api.server.ts), which waits for the
 * cost bucket and retries throttling and 5xx.
 */
import type { AdminApi } from "../sync/admin-api.server";
import { adminDocument } from "../sync/documents";
import type { FirstOrderConfig } from "../../extensions/slice-first-order/src/cart_lines_discounts_generate_run";

/** Codes per discountRedeemCodeBulkAdd call: the 2026-07 schema's maximum (2025-01: 100). */
export const MAX_CODES_PER_CALL = 250;

/** The Discount Function's handle (extensions/slice-first-order/shopify.extension.toml). */
export const FIRST_ORDER_FUNCTION_HANDLE = "slice-first-order";

/** The discount metafield that holds the function's configuration (FirstOrderConfig). */
export const FIRST_ORDER_METAFIELD = { namespace: "$app:slice", key: "first-order" } as const;

/** Letters and digits that cannot be read as one another: no 0/O, 1/I/L. */
export const CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

export interface DiscountUserError {
  field: string[] | null;
  message: string;
  code?: string | null;
}

/** Shopify refused the discount; `userErrors` are its own, field paths included. */
export class DiscountError extends Error {
  override name = "DiscountError";
  constructor(readonly userErrors: DiscountUserError[]) {
    super(
      `Shopify refused the discount: ${userErrors
        .map((e) => (e.field?.length ? `${e.field.join(".")}: ${e.message}` : e.message))
        .join("; ")}`,
    );
  }
}

export interface NewDiscount {
  /** Shown to the merchant in Shopify's admin and to the customer at checkout. */
  title: string;
  kind: "percentage" | "amount";
  /** percentage: percent off (15 is 15%); amount: minor units of `currency` (1000 is 10.00). */
  value: number;
  /** The shop's currency: amounts are in it. Read from Shopify when not given and needed. */
  currency?: string;
  /**
   * First order only: a function-backed discount (the Discount Function gives it to guests and to
   * customers without orders). Otherwise an ordinary amount off discount for everyone.
   */
  firstOrderOnly: boolean;
  startsAt: Date;
  endsAt: Date | null;
  /** Minor units of `currency`. */
  minimumSubtotal?: number;
  /** The discount's first code. */
  code: string;
  /** Uses per code; 1 unless said. null: unlimited. */
  usesPerCode?: number | null;
  combinesWith?: { productDiscounts?: boolean; orderDiscounts?: boolean; shippingDiscounts?: boolean };
}

const USER_ERRORS = `userErrors {
      field
      message
      code
    }`;

const CREATE = adminDocument(
  "offers/discounts CREATE",
  `mutation SliceDiscountCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode {
      id
      codeDiscount {
        ... on DiscountCodeBasic {
          codes(first: 1) {
            nodes {
              code
            }
          }
        }
      }
    }
    ${USER_ERRORS}
  }
}`,
);

const CREATE_FIRST_ORDER = adminDocument(
  "offers/discounts CREATE_FIRST_ORDER",
  `mutation SliceFirstOrderDiscountCreate($discount: DiscountCodeAppInput!) {
  discountCodeAppCreate(codeAppDiscount: $discount) {
    codeAppDiscount {
      discountId
      codes(first: 1) {
        nodes {
          code
        }
      }
    }
    ${USER_ERRORS}
  }
}`,
);

const BULK_ADD = adminDocument(
  "offers/discounts BULK_ADD",
  `mutation SliceDiscountCodesAdd($discountId: ID!, $codes: [DiscountRedeemCodeInput!]!) {
  discountRedeemCodeBulkAdd(discountId: $discountId, codes: $codes) {
    bulkCreation {
      id
    }
    ${USER_ERRORS}
  }
}`,
);

const BULK_READ = adminDocument(
  "offers/discounts BULK_READ",
  `query SliceDiscountCodesAdded($id: ID!, $after: String) {
  discountRedeemCodeBulkCreation(id: $id) {
    done
    codesCount
    importedCount
    failedCount
    codes(first: 100, after: $after) {
      nodes {
        code
        discountRedeemCode {
          id
        }
        errors {
          field
          message
          code
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
}`,
);

const BY_CODE = adminDocument(
  "offers/discounts BY_CODE",
  `query SliceDiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount {
      ... on DiscountCodeBasic {
        title
        status
        startsAt
        endsAt
        usageLimit
        asyncUsageCount
      }
      ... on DiscountCodeApp {
        title
        status
        startsAt
        endsAt
        usageLimit
        asyncUsageCount
      }
    }
  }
}`,
);

const SHOP_CURRENCY = adminDocument(
  "offers/discounts SHOP_CURRENCY",
  `query SliceShopCurrency {
  shop {
    currencyCode
  }
}`,
);

/** Digits after the point in a currency's amounts (2 for USD, 0 for JPY). */
function fractionDigits(currency: string): number {
  return (
    new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}

/** Minor units as Shopify's Decimal string: 1050 USD → "10.50", 500 JPY → "500". */
export function toDecimal(minor: number, currency: string): string {
  if (!Number.isInteger(minor)) throw new RangeError(`an amount in minor units must be whole: ${minor}`);
  const digits = fractionDigits(currency);
  if (digits === 0) return String(minor);
  const sign = minor < 0 ? "-" : "";
  const text = String(Math.abs(minor)).padStart(digits + 1, "0");
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

async function shopCurrency(api: AdminApi): Promise<string> {
  const data = await api.request<{ shop: { currencyCode: string } }>(SHOP_CURRENCY);
  return data.shop.currencyCode;
}

/**
 * Creates a code discount on the whole order with its first code: first order only, the
 * function-backed one (discountCodeAppCreate); otherwise an amount off for everyone. Throws
 * DiscountError with Shopify's userErrors (a taken code, an end before the start, a percentage
 * out of range...), and RangeError for a value the app should never send.
 */
export async function createDiscount(
  api: AdminApi,
  input: NewDiscount,
): Promise<{ discountId: string; code: string }> {
  if (input.kind === "percentage" && !(input.value > 0 && input.value <= 100))
    throw new RangeError(`a percentage off must be over 0 and at most 100: ${input.value}`);
  if (input.kind === "amount" && !(Number.isInteger(input.value) && input.value > 0))
    throw new RangeError(`an amount off must be a positive whole number of minor units: ${input.value}`);
  const needsCurrency = input.kind === "amount" || input.minimumSubtotal !== undefined;
  const currency = needsCurrency ? (input.currency ?? (await shopCurrency(api))) : (input.currency ?? "USD");
  const usesPerCode = input.usesPerCode === undefined ? 1 : input.usesPerCode;
  const combinesWith = {
    productDiscounts: input.combinesWith?.productDiscounts ?? false,
    orderDiscounts: input.combinesWith?.orderDiscounts ?? false,
    shippingDiscounts: input.combinesWith?.shippingDiscounts ?? false,
  };
  if (input.firstOrderOnly) {
    const config: FirstOrderConfig = {
      kind: input.kind,
      value: input.kind === "percentage" ? String(input.value) : toDecimal(input.value, currency),
      minimumSubtotal:
        input.minimumSubtotal !== undefined && input.minimumSubtotal > 0
          ? toDecimal(input.minimumSubtotal, currency)
          : null,
    };
    const data = await api.request<{
      discountCodeAppCreate: {
        codeAppDiscount: { discountId: string; codes: { nodes: { code: string }[] } } | null;
        userErrors: DiscountUserError[];
      };
    }>(CREATE_FIRST_ORDER, {
      discount: {
        title: input.title,
        code: input.code,
        functionHandle: FIRST_ORDER_FUNCTION_HANDLE,
        discountClasses: ["ORDER"],
        context: { all: "ALL" },
        startsAt: iso(input.startsAt),
        endsAt: input.endsAt ? iso(input.endsAt) : null,
        appliesOncePerCustomer: true,
        usageLimit: usesPerCode,
        combinesWith,
        metafields: [{ ...FIRST_ORDER_METAFIELD, type: "json", value: JSON.stringify(config) }],
      },
    });
    const result = data.discountCodeAppCreate;
    if (!result.codeAppDiscount || result.userErrors.length) throw new DiscountError(result.userErrors);
    return {
      discountId: result.codeAppDiscount.discountId,
      code: result.codeAppDiscount.codes.nodes[0]?.code ?? input.code,
    };
  }
  const discount = {
    title: input.title,
    code: input.code,
    startsAt: iso(input.startsAt),
    endsAt: input.endsAt ? iso(input.endsAt) : null,
    context: { all: "ALL" },
    customerGets: {
      value:
        input.kind === "percentage"
          ? { percentage: Math.round(input.value * 100) / 10_000 }
          : { discountAmount: { amount: toDecimal(input.value, currency), appliesOnEachItem: false } },
      items: { all: true },
    },
    appliesOncePerCustomer: true,
    usageLimit: usesPerCode,
    ...(input.minimumSubtotal !== undefined
      ? {
          minimumRequirement: {
            subtotal: { greaterThanOrEqualToSubtotal: toDecimal(input.minimumSubtotal, currency) },
          },
        }
      : {}),
    combinesWith,
  };
  const data = await api.request<{
    discountCodeBasicCreate: {
      codeDiscountNode: { id: string; codeDiscount: { codes?: { nodes: { code: string }[] } } } | null;
      userErrors: DiscountUserError[];
    };
  }>(CREATE, { discount });
  const result = data.discountCodeBasicCreate;
  if (!result.codeDiscountNode || result.userErrors.length) throw new DiscountError(result.userErrors);
  return {
    discountId: result.codeDiscountNode.id,
    code: result.codeDiscountNode.codeDiscount.codes?.nodes[0]?.code ?? input.code,
  };
}

/**
 * Adds codes to a discount in one discountRedeemCodeBulkAdd call (at most MAX_CODES_PER_CALL)
 * and returns the bulk creation's id. Shopify creates them asynchronously and may refuse some
 * (a code taken meanwhile): read `bulkCreationResult` before offering any of them.
 */
export async function addCodes(api: AdminApi, discountId: string, codes: string[]): Promise<string> {
  if (!codes.length) throw new RangeError("no codes to add");
  if (codes.length > MAX_CODES_PER_CALL)
    throw new RangeError(`at most ${MAX_CODES_PER_CALL} codes per call, not ${codes.length}`);
  const data = await api.request<{
    discountRedeemCodeBulkAdd: { bulkCreation: { id: string } | null; userErrors: DiscountUserError[] };
  }>(BULK_ADD, { discountId, codes: codes.map((code) => ({ code })) });
  const result = data.discountRedeemCodeBulkAdd;
  if (!result.bulkCreation || result.userErrors.length) throw new DiscountError(result.userErrors);
  return result.bulkCreation.id;
}

export interface BulkCreationResult {
  done: boolean;
  /** Codes Shopify created: these, and only these, may be offered. */
  created: string[];
  /** Codes Shopify refused, with why. */
  failed: { code: string; errors: DiscountUserError[] }[];
}

/** Where a discountRedeemCodeBulkAdd stands; `created` and `failed` are complete once `done`. */
export async function bulkCreationResult(api: AdminApi, bulkCreationId: string): Promise<BulkCreationResult> {
  const result: BulkCreationResult = { done: false, created: [], failed: [] };
  let after: string | null = null;
  for (;;) {
    const data: {
      discountRedeemCodeBulkCreation: {
        done: boolean;
        codes: {
          nodes: { code: string; discountRedeemCode: { id: string } | null; errors: DiscountUserError[] }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      } | null;
    } = await api.request(BULK_READ, { id: bulkCreationId, after });
    const creation = data.discountRedeemCodeBulkCreation;
    if (!creation) throw new Error(`no discount code bulk creation ${bulkCreationId}`);
    result.done = creation.done;
    if (!creation.done) return { done: false, created: [], failed: [] };
    for (const node of creation.codes.nodes) {
      if (node.discountRedeemCode) result.created.push(node.code);
      else result.failed.push({ code: node.code, errors: node.errors });
    }
    if (!creation.codes.pageInfo.hasNextPage) return result;
    after = creation.codes.pageInfo.endCursor;
  }
}

/** Polls a bulk creation until Shopify has run it (it usually takes seconds). */
export async function waitForBulkCreation(
  api: AdminApi,
  bulkCreationId: string,
  options: { sleep?: (ms: number) => Promise<void>; intervalMs?: number; timeoutMs?: number } = {},
): Promise<BulkCreationResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const interval = options.intervalMs ?? 1000;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const result = await bulkCreationResult(api, bulkCreationId);
    if (result.done) return result;
    if (Date.now() > deadline)
      throw new Error(
        `discount code bulk creation ${bulkCreationId} not done after ${options.timeoutMs ?? 120_000} ms`,
      );
    await sleep(interval);
  }
}

export interface CodeDiscount {
  discountId: string;
  title: string;
  status: "ACTIVE" | "EXPIRED" | "SCHEDULED";
  startsAt: string;
  endsAt: string | null;
  usageLimit: number | null;
  /** Uses of the whole discount, all codes together (Shopify counts it asynchronously). */
  usageCount: number;
}

/** The discount a code belongs to, or null when Shopify has no such code. */
export async function discountForCode(api: AdminApi, code: string): Promise<CodeDiscount | null> {
  const data = await api.request<{
    codeDiscountNodeByCode: {
      id: string;
      codeDiscount: {
        title?: string;
        status?: CodeDiscount["status"];
        startsAt?: string;
        endsAt?: string | null;
        usageLimit?: number | null;
        asyncUsageCount?: number;
      };
    } | null;
  }>(BY_CODE, { code });
  const node = data.codeDiscountNodeByCode;
  if (!node || node.codeDiscount.title === undefined) return null;
  return {
    discountId: node.id,
    title: node.codeDiscount.title,
    status: node.codeDiscount.status!,
    startsAt: node.codeDiscount.startsAt!,
    endsAt: node.codeDiscount.endsAt ?? null,
    usageLimit: node.codeDiscount.usageLimit ?? null,
    usageCount: node.codeDiscount.asyncUsageCount ?? 0,
  };
}

/**
 * `n` codes like `WELCOME-7KQ4-M2XD`: the prefix (upper-cased; may be empty), then two groups of
 * four from CODE_ALPHABET (31^8, about 8.5e11 codes), none repeated in the batch. `random` returns
 * [0, 1) as Math.random does; pass crypto-backed randomness in production, a seeded one in tests.
 * Uniqueness against codes already in Shopify is Shopify's to check (TAKEN).
 */
export function generateCodes(prefix: string, n: number, random: () => number): string[] {
  const head = prefix.trim().toUpperCase();
  if (!/^[A-Z0-9-]*$/.test(head))
    throw new RangeError(`a code prefix may have letters, digits and "-": ${prefix}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`not a number of codes: ${n}`);
  const char = () =>
    CODE_ALPHABET[Math.min(CODE_ALPHABET.length - 1, Math.floor(random() * CODE_ALPHABET.length))];
  const group = () => char() + char() + char() + char();
  const codes = new Set<string>();
  // A fair source repeats about once in a million batches of 1000; a broken one must not hang us.
  for (let attempts = 0; codes.size < n; attempts++) {
    if (attempts > n * 20 + 100)
      throw new Error("the random source keeps repeating itself: codes would collide");
    codes.add(`${head ? `${head}-` : ""}${group()}-${group()}`);
  }
  return [...codes];
}
