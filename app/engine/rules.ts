/**
 * The segment rule language: versioned JSON, validated with zod wherever it enters (admin form,
 * storefront, CLI, database), readable in the UI. A rule is a tree of all/any/not groups over
 * conditions `{ field, op, value?, days? }` and references to other segments (`{ segment }`),
 * which is how a segment excludes another: `{ not: { segment: "vip" } }`.
 *
 * Semantics shared by the evaluator and the SQL compiler (cases.json holds both to it):
 * - a condition on a value that is not set is false, except `isNotSet`; `not` then negates a plain
 *   true/false, so "not country = US" matches customers with no country;
 * - money is integer minor units of the shop currency; order figures exclude cancelled and test
 *   orders and are net of refunds;
 * - `withinLast N days` means at or after now − N×24 h; `notWithinLast` means set and before it;
 * - text comparisons fold ASCII case only (as SQLite's LOWER does), so both databases agree.
 */
import { z } from "zod";
import {
  date as formatDate,
  dateTime as formatDateTime,
  money as formatMoney,
  type ShopFormat,
} from "./format";
import { ABANDONED_STEPS, searchTermOf } from "./pixel-events";
import { PREDICTION_HORIZONS } from "./predict/types";

export const RULE_VERSION = 1;

export const OPERATORS = [
  "eq",
  "neq",
  "lt",
  "lte",
  "gt",
  "gte",
  "between",
  "in",
  "notIn",
  "contains",
  "notContains",
  "isSet",
  "isNotSet",
  "before",
  "after",
  "withinLast",
  "notWithinLast",
  "isTrue",
  "isFalse",
] as const;
export type Operator = (typeof OPERATORS)[number];

export const OPERATOR_LABELS: Record<Operator, string> = {
  eq: "is",
  neq: "is not",
  lt: "is less than",
  lte: "is at most",
  gt: "is more than",
  gte: "is at least",
  between: "is between",
  in: "is any of",
  notIn: "is none of",
  contains: "contains",
  notContains: "does not contain",
  isSet: "is set",
  isNotSet: "is not set",
  before: "is before",
  after: "is after",
  withinLast: "is within the last",
  notWithinLast: "is not within the last",
  isTrue: "is true",
  isFalse: "is false",
};

export type FieldType = "money" | "number" | "date" | "text" | "tags" | "boolean" | "ids" | "terms";

const NUMBER_OPS: Operator[] = ["eq", "neq", "lt", "lte", "gt", "gte", "between"];
const TYPE_OPS: Record<FieldType, Operator[]> = {
  money: [...NUMBER_OPS, "isSet", "isNotSet"],
  number: NUMBER_OPS,
  date: ["before", "after", "withinLast", "notWithinLast", "isSet", "isNotSet"],
  text: ["eq", "neq", "in", "notIn", "contains", "notContains", "isSet", "isNotSet"],
  tags: ["contains", "notContains", "in", "notIn", "isSet", "isNotSet"],
  boolean: ["isTrue", "isFalse"],
  // "bought any of these products": in / notIn over the ids bought in the window.
  ids: ["in", "notIn"],
  // Words the shopper searched for: "contains" is any search containing the text, "is" any search
  // equal to it, "is any of" any search equal to one of them; "is set" is "searched at all".
  terms: ["contains", "notContains", "eq", "in", "notIn", "isSet", "isNotSet"],
};

/** Predicted figures are not set for a customer without a prediction: "is (not) set" applies. */
const PREDICTED_NUMBER_OPS: Operator[] = [...NUMBER_OPS, "isSet", "isNotSet"];

export interface FieldSpec {
  label: string;
  group: "Customer" | "Orders" | "Carts and checkouts" | "Storefront" | "Predicted";
  type: FieldType;
  /** Fields over a lookback window take `days` (7/14/30/90 or any N). */
  windowed?: boolean;
  /** Which picker the UI offers for values. */
  picker?: "product" | "variant" | "collection" | "vendor" | "productType" | "country";
  /** The only values a text field takes (validated, and offered as a choice). */
  choices?: readonly string[];
  /** Takes an optional `product` (a product id) narrowing the condition to that product. */
  ofProduct?: boolean;
  /** How each choice reads ("top10" → "Top 10%"); the rule keeps the choice. */
  choiceLabels?: Readonly<Record<string, string>>;
  /** Takes `days`: the NEXT N days (not a lookback), one of these. */
  ahead?: readonly number[];
  /** Values may have decimals ("at least 0.5 expected orders"); otherwise whole numbers. */
  fractional?: boolean;
  /** The operators it takes, when not its type's. */
  ops?: readonly Operator[];
}

/** How the predicted value tiers read (by predicted 12-month value, within the shop, like Shopify's). */
export const VALUE_TIER_LABELS: Readonly<Record<string, string>> = {
  top10: "Top 10%",
  top25: "Top 10–25%",
  top50: "Top 25–50%",
  rest: "Bottom 50%",
};

export const FIELDS = {
  "customer.totalSpent": { label: "Total spent", group: "Customer", type: "money" },
  "customer.ordersCount": { label: "Number of orders", group: "Customer", type: "number" },
  "customer.averageOrderValue": { label: "Average order value", group: "Customer", type: "money" },
  "customer.firstOrderAt": { label: "First order", group: "Customer", type: "date" },
  "customer.lastOrderAt": { label: "Last order", group: "Customer", type: "date" },
  "customer.createdAt": { label: "Customer since", group: "Customer", type: "date" },
  "customer.countryCode": { label: "Country", group: "Customer", type: "text", picker: "country" },
  "customer.provinceCode": { label: "Province or state", group: "Customer", type: "text" },
  "customer.city": { label: "City", group: "Customer", type: "text" },
  "customer.tags": { label: "Tags", group: "Customer", type: "tags" },
  "customer.acceptsEmailMarketing": { label: "Accepts email marketing", group: "Customer", type: "boolean" },
  "customer.state": { label: "Account state", group: "Customer", type: "text" },
  "orders.count": { label: "Orders", group: "Orders", type: "number", windowed: true },
  "orders.spend": { label: "Spend", group: "Orders", type: "money", windowed: true },
  "orders.products": {
    label: "Bought product",
    group: "Orders",
    type: "ids",
    windowed: true,
    picker: "product",
  },
  "orders.variants": {
    label: "Bought variant",
    group: "Orders",
    type: "ids",
    windowed: true,
    picker: "variant",
  },
  "orders.collections": {
    label: "Bought from collection",
    group: "Orders",
    type: "ids",
    windowed: true,
    picker: "collection",
  },
  "orders.vendors": {
    label: "Bought from vendor",
    group: "Orders",
    type: "ids",
    windowed: true,
    picker: "vendor",
  },
  "orders.productTypes": {
    label: "Bought product type",
    group: "Orders",
    type: "ids",
    windowed: true,
    picker: "productType",
  },
  "orders.usedDiscount": { label: "Used a discount code", group: "Orders", type: "boolean", windowed: true },
  "orders.paymentPending": { label: "Has an unpaid order", group: "Orders", type: "boolean", windowed: true },
  "checkouts.abandoned": {
    label: "Abandoned a checkout",
    group: "Carts and checkouts",
    type: "boolean",
    windowed: true,
  },
  "cart.value": { label: "Cart value", group: "Carts and checkouts", type: "money" },
  "cart.itemCount": { label: "Items in cart", group: "Carts and checkouts", type: "number" },
  "cart.products": { label: "Product in cart", group: "Carts and checkouts", type: "ids", picker: "product" },
  "visitor.sessions": { label: "Sessions", group: "Storefront", type: "number" },
  "visitor.firstSeenAt": { label: "First visit", group: "Storefront", type: "date" },
  "visitor.lastSeenAt": { label: "Last visit", group: "Storefront", type: "date" },
  // From storefront events, over a lookback window: visits are session starts; page views count
  // pages, products and collections viewed; visits per week = floor(visits × 7 / days).
  "visitor.visits": { label: "Visits", group: "Storefront", type: "number", windowed: true },
  "visitor.visitsPerWeek": { label: "Visits per week", group: "Storefront", type: "number", windowed: true },
  "visitor.pageViews": { label: "Page views", group: "Storefront", type: "number", windowed: true },
  "visitor.viewedProducts": {
    label: "Viewed product",
    group: "Storefront",
    type: "ids",
    windowed: true,
    picker: "product",
  },
  "visitor.viewedCollections": {
    label: "Viewed collection",
    group: "Storefront",
    type: "ids",
    windowed: true,
    picker: "collection",
  },
  "visitor.viewedPages": { label: "Viewed page (path)", group: "Storefront", type: "ids", windowed: true },
  // From the Web Pixel's events (pixel-events.ts), guests included. The latest checkout (by its
  // last event in the window), at the furthest step it reached; not set when it was completed.
  "visitor.abandonedCheckoutStep": {
    label: "Checkout left at step",
    group: "Storefront",
    type: "text",
    windowed: true,
    choices: ABANDONED_STEPS,
  },
  // Views of one product in the window: of the given `product`, or else of the most viewed one
  // ("viewed any one product at least 3 times").
  "visitor.productViews": {
    label: "Views of one product",
    group: "Storefront",
    type: "number",
    windowed: true,
    ofProduct: true,
  },
  "visitor.searches": { label: "Searched for", group: "Storefront", type: "terms", windowed: true },
  "visitor.reachedPayment": {
    label: "Reached the payment step",
    group: "Storefront",
    type: "boolean",
    windowed: true,
  },
  /** Answers given in a quiz or form, as "question=answer". */
  "visitor.answers": { label: "Answered (question=answer)", group: "Storefront", type: "ids" },
  "visitor.landingPage": { label: "Landing page", group: "Storefront", type: "text" },
  "visitor.referrer": { label: "Referrer", group: "Storefront", type: "text" },
  "visitor.utmSource": { label: "UTM source", group: "Storefront", type: "text" },
  "visitor.utmMedium": { label: "UTM medium", group: "Storefront", type: "text" },
  "visitor.utmCampaign": { label: "UTM campaign", group: "Storefront", type: "text" },
  "visitor.deviceType": { label: "Device type", group: "Storefront", type: "text" },
  // From the shop's fitted BG/NBD and Gamma-Gamma models (app/engine/predict/, CustomerPrediction):
  // expectations, not promises. A customer with no prediction has none of them set.
  "predicted.orders": {
    label: "Expected orders",
    group: "Predicted",
    type: "number",
    ahead: PREDICTION_HORIZONS,
    fractional: true,
    ops: PREDICTED_NUMBER_OPS,
  },
  "predicted.probabilityActive": {
    label: "Chance still active (%)",
    group: "Predicted",
    type: "number",
    fractional: true,
    ops: PREDICTED_NUMBER_OPS,
  },
  // P(active) now minus P(active) as of the start of the day 30 days before the prediction's, in
  // percentage points (negative: falling), both from the same fit; not set when the customer had
  // no purchase before then.
  "predicted.probabilityActiveChange30d": {
    label: "30-day change in chance still active (points)",
    group: "Predicted",
    type: "number",
    fractional: true,
    ops: PREDICTED_NUMBER_OPS,
  },
  "predicted.value12m": { label: "Predicted 12-month value", group: "Predicted", type: "money" },
  "predicted.valueTier": {
    label: "Predicted value tier",
    group: "Predicted",
    type: "text",
    choices: ["top10", "top25", "top50", "rest"],
    choiceLabels: VALUE_TIER_LABELS,
    ops: ["eq", "neq", "in", "notIn", "isSet", "isNotSet"],
  },
  // Days from now to the expected next order (with fractions; below 0 once that date has passed).
  "predicted.daysToNextOrder": {
    label: "Days until expected next order",
    group: "Predicted",
    type: "number",
    fractional: true,
    ops: PREDICTED_NUMBER_OPS,
  },
  "predicted.spendPerOrder": { label: "Expected spend per order", group: "Predicted", type: "money" },
} satisfies Record<string, FieldSpec>;

export type Field = keyof typeof FIELDS;
export const FIELD_NAMES = Object.keys(FIELDS) as Field[];

/** A field's own spec, with the optional parts typed (FIELDS' entries are inferred narrower). */
export function specOf(field: Field): FieldSpec {
  return FIELDS[field] as FieldSpec;
}

function opsOf(spec: FieldSpec): readonly Operator[] {
  return spec.ops ?? TYPE_OPS[spec.type];
}

export function operatorsFor(field: Field): Operator[] {
  return [...opsOf(specOf(field))];
}

export interface Condition {
  field: Field;
  op: Operator;
  value?: string | number | boolean | (string | number)[];
  days?: number;
  /** A product id, for the fields that take one (`ofProduct`). */
  product?: string;
}
export type RuleNode =
  { all: RuleNode[] } | { any: RuleNode[] } | { not: RuleNode } | { segment: string } | Condition;
export interface Rule {
  version: typeof RULE_VERSION;
  match: RuleNode;
}

/**
 * Text a database can hold: PostgreSQL's text refuses NUL, and half of a UTF-16 surrogate pair
 * alone is not Unicode (the drivers refuse it). Either would fail the query, not match nothing.
 */
// eslint-disable-next-line no-control-regex -- NUL is what it looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export const isStorableText = (text: string) => !UNSTORABLE.test(text);
export const UNSTORABLE_MESSAGE = "must be text without NUL characters or broken Unicode";

const scalar = z.union([z.string().max(500).refine(isStorableText, UNSTORABLE_MESSAGE), z.number().finite()]);
const conditionSchema = z
  .object({
    field: z.string(),
    op: z.string(),
    value: z.union([scalar, z.boolean(), z.array(scalar).max(500)]).optional(),
    days: z.number().int().min(1).max(3650).optional(),
    product: z.string().max(64).optional(),
  })
  .strict();

const nodeSchema: z.ZodType<RuleNode> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(nodeSchema).max(50) }).strict(),
    z.object({ any: z.array(nodeSchema).max(50) }).strict(),
    z.object({ not: nodeSchema }).strict(),
    z.object({ segment: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "is not a segment handle") }).strict(),
    conditionSchema as unknown as z.ZodType<Condition>,
  ]),
);

export const ruleSchema = z.object({ version: z.literal(RULE_VERSION), match: nodeSchema }).strict();

export interface RuleProblem {
  /** Where in the rule, e.g. "match.all.1.value". */
  path: string;
  message: string;
}

export class RuleError extends Error {
  override name = "RuleError";
  constructor(readonly problems: RuleProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join("; "));
  }
}

function checkCondition(c: Condition, path: string, problems: RuleProblem[]): void {
  const spec = (FIELDS as Record<string, FieldSpec>)[c.field];
  if (!spec) {
    problems.push({ path: `${path}.field`, message: `unknown field "${c.field}"` });
    return;
  }
  if (!(OPERATORS as readonly string[]).includes(c.op)) {
    problems.push({ path: `${path}.op`, message: `unknown operator "${c.op}"` });
    return;
  }
  if (!opsOf(spec).includes(c.op)) {
    problems.push({
      path: `${path}.op`,
      message: `"${OPERATOR_LABELS[c.op]}" does not apply to ${spec.label.toLowerCase()}`,
    });
    return;
  }
  if (spec.windowed && c.days === undefined)
    problems.push({ path: `${path}.days`, message: "give the number of days to look back" });
  if (spec.ahead && (c.days === undefined || !spec.ahead.includes(c.days)))
    problems.push({
      path: `${path}.days`,
      message: `${spec.label.toLowerCase()} looks ahead ${spec.ahead.slice(0, -1).join(", ")} or ${spec.ahead.at(-1)} days${c.days === undefined ? "" : `, not ${c.days}`}`,
    });
  if (
    !spec.windowed &&
    !spec.ahead &&
    c.days !== undefined &&
    !["withinLast", "notWithinLast"].includes(c.op)
  )
    problems.push({ path: `${path}.days`, message: `${spec.label.toLowerCase()} has no lookback window` });
  if (c.product !== undefined && !spec.ofProduct)
    problems.push({ path: `${path}.product`, message: `${spec.label.toLowerCase()} takes no product` });
  else if (c.product !== undefined && !/^[1-9][0-9]{0,19}$/.test(c.product))
    problems.push({ path: `${path}.product`, message: "must be a product id (digits)" });
  const v = c.value;
  const need = (ok: boolean, message: string) => ok || problems.push({ path: `${path}.value`, message });
  const numeric = (x: unknown) =>
    typeof x === "number" && (spec.fractional ? Number.isFinite(x) : Number.isInteger(x));
  const numberMessage =
    spec.type === "money"
      ? "must be an amount in minor units (cents)"
      : spec.fractional
        ? "must be a number"
        : "must be a whole number";
  if (spec.choices && v !== undefined) {
    const values = Array.isArray(v) ? v : [v];
    const wrong = values.find((x) => typeof x !== "string" || !spec.choices!.includes(x));
    if (wrong !== undefined && ["eq", "neq", "in", "notIn"].includes(c.op)) {
      need(false, `must be one of ${spec.choices.join(", ")}`);
      return;
    }
  }
  if (spec.type === "terms" && v !== undefined) {
    const values = Array.isArray(v) ? v : [v];
    if (values.some((x) => typeof x === "string" && x.length > 0 && searchTermOf(x) === "")) {
      need(false, "must be words to search for, not only spaces");
      return;
    }
  }
  switch (c.op) {
    case "isSet":
    case "isNotSet":
    case "isTrue":
    case "isFalse":
      need(v === undefined, "takes no value");
      break;
    case "withinLast":
    case "notWithinLast":
      need(v === undefined && c.days !== undefined, "give the number of days in `days`");
      break;
    case "before":
    case "after":
      need(typeof v === "string" && !Number.isNaN(Date.parse(v)), "must be a date (YYYY-MM-DD or ISO time)");
      break;
    case "between":
      need(
        Array.isArray(v) && v.length === 2 && v.every(numeric) && Number(v[0]) <= Number(v[1]),
        spec.fractional
          ? "must be two numbers, the smaller first"
          : "must be two whole numbers, the smaller first",
      );
      break;
    case "in":
    case "notIn":
      need(
        Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string" && x.length > 0),
        "must be a list of one or more values",
      );
      break;
    case "contains":
    case "notContains":
    case "eq":
    case "neq":
      if (spec.type === "text" || spec.type === "tags" || spec.type === "terms")
        need(typeof v === "string" && v.length > 0, "must be some text");
      else need(numeric(v), numberMessage);
      break;
    default:
      need(numeric(v), numberMessage);
  }
}

/** Checks every condition; collects the segments referred to, each with where it is referred to. */
function walk(node: RuleNode, path: string, problems: RuleProblem[], refs: Map<string, string>): void {
  if ("all" in node) node.all.forEach((n, i) => walk(n, `${path}.all.${i}`, problems, refs));
  else if ("any" in node) node.any.forEach((n, i) => walk(n, `${path}.any.${i}`, problems, refs));
  else if ("not" in node) walk(node.not, `${path}.not`, problems, refs);
  else if ("segment" in node) {
    if (!refs.has(node.segment)) refs.set(node.segment, `${path}.segment`);
  } else checkCondition(node, path, problems);
}

/**
 * How deep a rule's JSON may nest: far deeper than any rule a person builds (each group is two
 * levels), far shallower than what would overflow the validator's stack (a few thousand).
 */
export const MAX_RULE_DEPTH = 64;

/** The path where `input` nests deeper than `max` levels, or null; iterative, so any depth is safe. */
function tooDeep(input: unknown, max: number): string | null {
  const stack: [unknown, string[]][] = [[input, []]];
  while (stack.length) {
    const [value, path] = stack.pop()!;
    if (value === null || typeof value !== "object") continue;
    if (path.length >= max) return path.slice(0, 3).join(".") || "rule";
    for (const [key, child] of Object.entries(value)) stack.push([child, [...path, key]]);
  }
  return null;
}

/**
 * The one validator: parses untrusted JSON into a Rule or throws a RuleError naming each wrong
 * field. `resolve` looks up referenced segments, so unknown ones and cycles are refused too.
 */
export function parseRule(input: unknown, resolve?: (handle: string) => Rule | null, self?: string): Rule {
  const deep = tooDeep(input, MAX_RULE_DEPTH);
  if (deep) throw new RuleError([{ path: deep, message: `nested more than ${MAX_RULE_DEPTH} levels deep` }]);
  const parsed = ruleSchema.safeParse(input);
  if (!parsed.success)
    throw new RuleError(
      parsed.error.issues.map((i) => ({ path: i.path.join(".") || "rule", message: i.message })),
    );
  const problems: RuleProblem[] = [];
  const refs = new Map<string, string>();
  walk(parsed.data.match, "match", problems, refs);
  if (resolve) {
    // Problems are placed on the reference in this rule that leads to them.
    const visit = (handle: string, trail: string[], at: string) => {
      if (trail.includes(handle)) {
        problems.push({
          path: at,
          message: `segments refer to each other in a loop: ${[...trail, handle].join(" → ")}`,
        });
        return;
      }
      const target = resolve(handle);
      if (!target) {
        problems.push({ path: at, message: `no segment "${handle}"` });
        return;
      }
      const inner = new Map<string, string>();
      walk(target.match, "match", [], inner);
      for (const next of inner.keys()) visit(next, [...trail, handle], at);
    };
    for (const [handle, at] of refs) visit(handle, self ? [self] : [], at);
  }
  if (problems.length) throw new RuleError(problems);
  return parsed.data as Rule;
}

/**
 * How a rule's values read: a currency code alone (an amount then reads in en-US, dates in UTC), or
 * the shop's format (currency, IANA time zone, the reader's locale).
 */
export type DescribeFormat = string | ShopFormat;

function formatOf(f: DescribeFormat): ShopFormat {
  return typeof f === "string" ? { currency: f, timeZone: "UTC", locale: "en-US" } : f;
}

/**
 * A rule's date value in words: a calendar day ("2026-01-31") is that day wherever the shop is
 * ("Jan 31, 2026"); a moment ("2026-01-31T15:00:00Z") is shown in the shop's time zone.
 */
export function describeDateValue(value: string, f: DescribeFormat): string {
  const shop = formatOf(f);
  if (Number.isNaN(Date.parse(value))) return value;
  return /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? formatDate(value, { ...shop, timeZone: "UTC" })
    : formatDateTime(value, shop);
}

/**
 * A condition in words, as the admin, the CLI and explanations show it: money in the shop's
 * currency ("Total spent is at least $432.95"; the rule keeps minor units), dates in its format.
 */
export function describeCondition(c: Condition, format: DescribeFormat = "USD"): string {
  const f = formatOf(format);
  const spec = FIELDS[c.field];
  const labels = spec ? specOf(c.field).choiceLabels : undefined;
  const one = (v: string | number) =>
    spec?.type === "money" && typeof v === "number"
      ? formatMoney(v, f)
      : spec?.type === "date" && typeof v === "string"
        ? describeDateValue(v, f)
        : typeof v === "string" && labels?.[v]
          ? labels[v]
          : String(v);
  const value = Array.isArray(c.value)
    ? c.value.map(one).join(c.op === "between" ? " and " : ", ")
    : c.value === undefined
      ? ""
      : one(c.value as string | number);
  const window =
    spec && "windowed" in spec && spec.windowed
      ? ` in the last ${c.days} days`
      : spec && specOf(c.field).ahead
        ? ` in the next ${c.days} days`
        : "";
  const days = c.op === "withinLast" || c.op === "notWithinLast" ? ` ${c.days} days` : "";
  const label = c.product !== undefined ? `Views of product ${c.product}` : spec?.label;
  return `${label ?? c.field}${window} ${OPERATOR_LABELS[c.op] ?? c.op}${days}${value ? ` ${value}` : ""}`.trim();
}
