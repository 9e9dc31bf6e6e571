/**
 * Discount codes in Shopify for storefront offers: a first-purchase discount (one unique code
 * per visitor, used once, only by a customer with no previous order, with an expiry) and, later,
 * referral rewards. Codes are made ahead in a pool, so a shopper never waits on the Admin API:
 * one `discountCodeBasicCreate` makes the discount with its first code, then
 * `discountRedeemCodeBulkAdd` adds up to 100 more per call. Each code then belongs to the one
 * discount, and its usage limit (1) applies per code, as Shopify's price rule usage limit does.
 *
 * "First order only" is said in Shopify with a customer segment: the discount's
 * `context.customerSegments` (2026-07; `customerSelection` is deprecated) gets a segment whose
 * query is `number_of_orders = 0`, created once per shop. Every call goes through the one Admin API client
 * (sync/admin-api.server.ts), which waits for the cost bucket and retries throttling and 5xx.
 */
import type { AdminApi } from "../sync/admin-api.server";
import { adminDocument } from "../sync/documents";

/** Codes per discountRedeemCodeBulkAdd call: 100, within every version's maximum (later ones: 250). */
export const MAX_CODES_PER_CALL = 100;

/** The Shopify segment that makes a discount "first order only". */
export const FIRST_ORDER_SEGMENT = {
  name: "Slice: customers with no orders",
  query: "number_of_orders = 0",
} as const;

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
  /** Only customers with no previous order may use it (the `number_of_orders = 0` segment). */
  firstOrderOnly: boolean;
  startsAt: Date;
  endsAt: Date | null;
  /** Minor units of `currency`. */
  minimumSubtotal?: number;
  /** The discount's first code. */
  code: string;
  /** Uses per code; 1 unless said. null: unlimited. */
  usesPerCode?: number | null;
  /** The segment that means "no previous order", when the caller already knows its id. */
  firstOrderSegmentId?: string;
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
    codes(first: ${MAX_CODES_PER_CALL}, after: $after) {
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
    }
  }
}`,
);

const SEGMENTS = adminDocument(
  "offers/discounts SEGMENTS",
  `query SliceSegmentsList($after: String) {
  segments(first: 250, after: $after) {
    nodes {
      id
      query
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}`,
);

const SEGMENT_CREATE = adminDocument(
  "offers/discounts SEGMENT_CREATE",
  `mutation SliceFirstOrderSegment($name: String!, $query: String!) {
  segmentCreate(name: $name, query: $query) {
    segment {
      id
    }
    userErrors {
      field
      message
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

/** Every GraphQL document this module sends, for the schema test. */
export function discountDocuments(): string[] {
  return [CREATE, BULK_ADD, BULK_READ, BY_CODE, SEGMENTS, SEGMENT_CREATE, SHOP_CURRENCY];
}

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
const normaliseQuery = (q: string) => q.replace(/\s+/g, " ").trim().toLowerCase();

/**
 * The id of the shop's "no previous order" segment, made when the shop has none. Found by its
 * query, so a merchant's own segment saying the same thing is used rather than duplicated.
 */
export async function firstOrderSegment(api: AdminApi): Promise<string> {
  const wanted = normaliseQuery(FIRST_ORDER_SEGMENT.query);
  let after: string | null = null;
  for (;;) {
    const page: {
      segments: {
        nodes: { id: string; query: string }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    } = await api.request(SEGMENTS, { after });
    const found = page.segments.nodes.find((s) => normaliseQuery(s.query) === wanted);
    if (found) return found.id;
    if (!page.segments.pageInfo.hasNextPage) break;
    after = page.segments.pageInfo.endCursor;
  }
  const created = await api.request<{
    segmentCreate: { segment: { id: string } | null; userErrors: DiscountUserError[] };
  }>(SEGMENT_CREATE, { name: FIRST_ORDER_SEGMENT.name, query: FIRST_ORDER_SEGMENT.query });
  if (!created.segmentCreate.segment) throw new DiscountError(created.segmentCreate.userErrors);
  return created.segmentCreate.segment.id;
}

async function shopCurrency(api: AdminApi): Promise<string> {
  const data = await api.request<{ shop: { currencyCode: string } }>(SHOP_CURRENCY);
  return data.shop.currencyCode;
}

/**
 * Creates an amount off code discount on the whole order, with its first code. Throws
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
  const segmentId = input.firstOrderOnly
    ? (input.firstOrderSegmentId ?? (await firstOrderSegment(api)))
    : null;
  const usesPerCode = input.usesPerCode === undefined ? 1 : input.usesPerCode;
  const discount = {
    title: input.title,
    code: input.code,
    startsAt: iso(input.startsAt),
    endsAt: input.endsAt ? iso(input.endsAt) : null,
    context: segmentId ? { customerSegments: { add: [segmentId] } } : { all: "ALL" },
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
    combinesWith: {
      productDiscounts: input.combinesWith?.productDiscounts ?? false,
      orderDiscounts: input.combinesWith?.orderDiscounts ?? false,
      shippingDiscounts: input.combinesWith?.shippingDiscounts ?? false,
    },
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
