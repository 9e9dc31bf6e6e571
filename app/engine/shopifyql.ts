/**
 * Our rule language → Shopify's customer segment query language (the WHERE-only subset of
 * ShopifyQL that `segmentCreate` takes), where it can be said there; otherwise the list of what
 * cannot, naming each field, so the admin can tell the merchant exactly why.
 *
 * What Shopify's segment language has, and where it was checked:
 * - filters (help.shopify.com, "Shopify-based customer segment filters"): amount_spent,
 *   number_of_orders, last_order_date, customer_added_date, customer_countries, customer_tags,
 *   email_subscription_status, customer_account_status, abandoned_checkout_date,
 *   products_purchased, … There is no first-order-date filter (`first_order_date` is only a sort
 *   key of customerSegmentMembers), no average order value, no storefront sessions or UTM.
 * - syntax seen accepted by a live shop's segmentCreate (API 2025-01): `amount_spent > 100.50`,
 *   `number_of_orders >= 1 AND customer_countries CONTAINS 'CA'`,
 *   `(number_of_orders >= 1) OR (number_of_orders = 0)`, `customer_tags NOT CONTAINS 'x'`,
 *   `last_order_date >= -30d`, `abandoned_checkout_date >= -30d`,
 *   `email_subscription_status = 'SUBSCRIBED'`, `companies IS NULL`.
 * - dates: absolute `YYYY-MM-DD` (unquoted) or offsets like `-30d`, compared as whole days in the
 *   shop's time zone; list filters take CONTAINS / NOT CONTAINS / IS NULL / IS NOT NULL.
 * - functions: before Admin API 2026-10 `products_purchased(id: (1, 2)) = true`; from 2026-10
 *   `products_purchased MATCHES (id IN (1, 2), date >= -30d)` (shopify.dev changelog "Updated
 *   function syntax on the segment query language"). A lookback window on products bought is
 *   only expressed in the 2026-10 syntax here: the older date parameter is undocumented.
 *
 * `not` is pushed down to the conditions (Shopify has no NOT around a group), keeping our rule
 * semantics: a condition on a value that is not set is false, so "not (last order before D)"
 * becomes `last_order_date >= D OR last_order_date IS NULL`.
 *
 * Offsets are relative to Shopify's own today, so a pushed query stays right as time passes
 * without re-pushing; this is why there is no `now` parameter. The differences that remain are
 * of granularity, not meaning: Shopify compares whole days, we compare to the millisecond;
 * `customer_countries` holds every address's country, we hold the default address's.
 */
import { FIELDS, type Condition, type Field, type Rule, type RuleNode } from "./rules";
import { fromMinorUnits } from "./money";

export type FunctionSyntax = "legacy" | "matches";

export interface ShopifyQLOptions {
  resolve: (handle: string) => Rule | null;
  /** The shop currency: money in rules is minor units, Shopify takes decimal amounts. */
  currency?: string;
  /** Function filter syntax; see functionSyntaxFor(). Defaults to "legacy". */
  syntax?: FunctionSyntax;
}

export type ShopifyQLResult = { query: string } | { unsupported: string[] };

/** Shopify changed function filters to MATCHES in Admin API 2026-10. */
export function functionSyntaxFor(apiVersion: string): FunctionSyntax {
  return apiVersion >= "2026-10" || apiVersion === "unstable" ? "matches" : "legacy";
}

/** Shopify rejects longer queries ("Query is too long (maximum is 5000 characters)"). */
export const MAX_QUERY_LENGTH = 5000;

type Expr =
  | { kind: "clause"; text: string }
  | { kind: "and" | "or"; items: Expr[] }
  | { kind: "const"; value: boolean };

class Unsupported {
  constructor(readonly reasons: string[]) {}
}

const TRUE: Expr = { kind: "const", value: true };
const FALSE: Expr = { kind: "const", value: false };
const clause = (text: string): Expr => ({ kind: "clause", text });

function combine(kind: "and" | "or", parts: Expr[]): Expr {
  const items: Expr[] = [];
  for (const p of parts) {
    if (p.kind === "const") {
      // true AND x = x; false AND x = false (and the mirror for OR).
      if (p.value === (kind === "and")) continue;
      return p;
    }
    if (p.kind === kind) items.push(...p.items);
    else items.push(p);
  }
  if (!items.length) return kind === "and" ? TRUE : FALSE;
  return items.length === 1 ? items[0] : { kind, items };
}
const and = (...parts: Expr[]) => combine("and", parts);
const or = (...parts: Expr[]) => combine("or", parts);

function print(e: Expr, parent: "and" | "or" | null = null): string {
  if (e.kind === "clause") return e.text;
  if (e.kind === "const") throw new Error("constants are folded before printing");
  const text = e.items.map((i) => print(i, e.kind)).join(e.kind === "and" ? " AND " : " OR ");
  return parent ? `(${text})` : text;
}

function label(field: Field): string {
  return `${FIELDS[field].label} (${field})`;
}

/** A reason naming the field, e.g. "Average order value (customer.averageOrderValue): …". */
function no(field: Field, why: string): Unsupported {
  return new Unsupported([`${label(field)}: ${why}`]);
}

const WHY: Partial<Record<Field, string>> = {
  "customer.averageOrderValue": "Shopify's segment filters have no average order value",
  "customer.firstOrderAt": "Shopify's segment filters have no first order date (only a last order date)",
  "customer.provinceCode":
    "Shopify's customer_regions filter takes its own region codes, not a province code on its own",
  "customer.city":
    "Shopify's customer_cities filter takes its own city codes (like US-NY-NewYorkCity), not a city name",
  "orders.spend":
    "Shopify's segment filters have no spend within a lookback window, only lifetime amount spent",
  "orders.variants": "Shopify's segment filters have no product variants bought",
  "orders.collections": "Shopify's segment filters have no collections bought",
  "orders.vendors": "Shopify's segment filters have no vendors bought",
  "orders.usedDiscount": "Shopify's segment filters have no discount code use",
  "orders.paymentPending": "Shopify's segment filters have no unpaid orders",
  "cart.value": "Shopify has no live carts in customer segments",
  "cart.itemCount": "Shopify has no live carts in customer segments",
  "cart.products": "Shopify has no live carts in customer segments",
};

const STOREFRONT = "Shopify's segments don't see Slice's storefront visits";

function quoted(field: Field, value: unknown): string | Unsupported {
  const text = String(value);
  // Shopify's grammar has no documented escape inside '…'.
  if (/['\\\n\r]/.test(text)) return no(field, `the value ${JSON.stringify(text)} has a quote or line break`);
  return `'${text}'`;
}

/** A rule date as Shopify's whole-day YYYY-MM-DD, when it is one (midnight UTC or a bare date). */
function day(field: Field, value: unknown): string | Unsupported {
  const text = String(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return text;
  const t = Date.parse(text);
  if (!Number.isNaN(t) && t % 86_400_000 === 0) return new Date(t).toISOString().slice(0, 10);
  return no(field, `Shopify compares whole days; ${text} has a time of day`);
}

type Leaf = (
  c: Condition,
  negated: boolean,
  o: Required<Omit<ShopifyQLOptions, "resolve">>,
) => Expr | Unsupported;

/** amount_spent / number_of_orders: always set for a customer (0 when nothing bought). */
function numeric(attr: string, money: boolean): Leaf {
  return (c, negated, o) => {
    const n = (v: unknown) => (money ? fromMinorUnits(Number(v), o.currency) : String(Number(v)));
    if (c.op === "isSet" || c.op === "isNotSet") return (c.op === "isSet") !== negated ? TRUE : FALSE;
    if (c.op === "between") {
      const [lo, hi] = c.value as number[];
      return negated
        ? or(clause(`${attr} < ${n(lo)}`), clause(`${attr} > ${n(hi)}`))
        : clause(`${attr} BETWEEN ${n(lo)} AND ${n(hi)}`);
    }
    const ops: Record<string, [string, string]> = {
      eq: ["=", "!="],
      neq: ["!=", "="],
      lt: ["<", ">="],
      lte: ["<=", ">"],
      gt: [">", "<="],
      gte: [">=", "<"],
    };
    const pair = ops[c.op];
    if (!pair) return no(c.field, `"${c.op}" has no Shopify equivalent`);
    return clause(`${attr} ${pair[negated ? 1 : 0]} ${n(c.value)}`);
  };
}

/** A date filter that may be unset (IS NULL); false when unset, as in our rules. */
function dated(attr: string): Leaf {
  return (c, negated) => {
    const isNull = clause(`${attr} IS NULL`);
    const isSet = clause(`${attr} IS NOT NULL`);
    const both = (pos: Expr, neg: Expr) => ({ pos, neg });
    let forms: { pos: Expr; neg: Expr };
    switch (c.op) {
      case "isSet":
        forms = both(isSet, isNull);
        break;
      case "isNotSet":
        forms = both(isNull, isSet);
        break;
      case "withinLast":
        forms = both(clause(`${attr} >= -${c.days}d`), or(clause(`${attr} < -${c.days}d`), isNull));
        break;
      case "notWithinLast":
        forms = both(clause(`${attr} < -${c.days}d`), or(clause(`${attr} >= -${c.days}d`), isNull));
        break;
      case "before":
      case "after": {
        const d = day(c.field, c.value);
        if (d instanceof Unsupported) return d;
        // Ours: before D = earlier than D's first instant; after D = any later instant, so D
        // itself counts (whole-day Shopify: >= D).
        forms =
          c.op === "before"
            ? both(clause(`${attr} < ${d}`), or(clause(`${attr} >= ${d}`), isNull))
            : both(clause(`${attr} >= ${d}`), or(clause(`${attr} < ${d}`), isNull));
        break;
      }
      default:
        return no(c.field, `"${c.op}" has no Shopify equivalent`);
    }
    return negated ? forms.neg : forms.pos;
  };
}

/** List filters (customer_tags, customer_countries): CONTAINS each value. */
function listed(attr: string, nullable: boolean, normalise: (v: string) => string = (v) => v): Leaf {
  return (c, negated) => {
    const has = (v: unknown): Expr | Unsupported => {
      const q = quoted(c.field, normalise(String(v)));
      return q instanceof Unsupported ? q : clause(`${attr} CONTAINS ${q}`);
    };
    const hasNot = (v: unknown): Expr | Unsupported => {
      const q = quoted(c.field, normalise(String(v)));
      return q instanceof Unsupported ? q : clause(`${attr} NOT CONTAINS ${q}`);
    };
    const all = (parts: (Expr | Unsupported)[], join: (...e: Expr[]) => Expr) => {
      const bad = parts.filter((p): p is Unsupported => p instanceof Unsupported);
      return bad.length ? new Unsupported(bad.flatMap((b) => b.reasons)) : join(...(parts as Expr[]));
    };
    const values = Array.isArray(c.value) ? c.value : [c.value];
    const present = clause(`${attr} IS NOT NULL`);
    const absent = clause(`${attr} IS NULL`);
    // "Is any of" / "contains": some value is there. Its negation: none of them is.
    const some = () => all(values.map(has), or);
    const none = () => all(values.map(hasNot), and);
    // A text field that is not set fails eq/neq/in/notIn; tags are a list, never "not set"
    // for these operators (no tags = the empty list, which contains nothing).
    const setAnd = (e: Expr | Unsupported) => (nullable && !(e instanceof Unsupported) ? and(present, e) : e);
    const unsetOr = (e: Expr | Unsupported) => (nullable && !(e instanceof Unsupported) ? or(absent, e) : e);
    switch (c.op) {
      case "eq":
      case "in":
      case "contains":
        return negated ? none() : some();
      case "neq":
      case "notIn":
      case "notContains":
        return negated ? unsetOr(some()) : setAnd(none());
      case "isSet":
        return negated ? absent : present;
      case "isNotSet":
        return negated ? present : absent;
      default:
        return no(c.field, `"${c.op}" has no Shopify equivalent`);
    }
  };
}

/** Enum filters with = and != (customer_account_status). */
function enumerated(attr: string, values: Record<string, string>): Leaf {
  return (c, negated) => {
    const wanted = (Array.isArray(c.value) ? c.value : [c.value]).map((v) => String(v).toLowerCase());
    const mapped = wanted.map((v) => values[v]);
    if (c.op === "isSet" || c.op === "isNotSet")
      return no(c.field, "every Shopify customer has an account status");
    if (!["eq", "neq", "in", "notIn"].includes(c.op))
      return no(c.field, `"${c.op}" has no Shopify equivalent`);
    const unknown = wanted.filter((_, i) => !mapped[i]);
    if (unknown.length)
      return no(c.field, `Shopify has no account status ${unknown.map((u) => `"${u}"`).join(", ")}`);
    const positive = c.op === "eq" || c.op === "in";
    return positive !== negated
      ? or(...mapped.map((m) => clause(`${attr} = '${m}'`)))
      : and(...mapped.map((m) => clause(`${attr} != '${m}'`)));
  };
}

const LEAVES: Partial<Record<Field, Leaf>> = {
  "customer.totalSpent": numeric("amount_spent", true),
  "customer.ordersCount": numeric("number_of_orders", false),
  "customer.lastOrderAt": dated("last_order_date"),
  "customer.createdAt": dated("customer_added_date"),
  "customer.countryCode": listed("customer_countries", true, (v) => v.toUpperCase()),
  "customer.tags": listed("customer_tags", false),
  "customer.acceptsEmailMarketing": (c, negated) =>
    clause(`email_subscription_status ${(c.op === "isTrue") !== negated ? "=" : "!="} 'SUBSCRIBED'`),
  "customer.state": enumerated("customer_account_status", {
    enabled: "ENABLED",
    disabled: "DISABLED",
    invited: "INVITED",
    declined: "DECLINED",
  }),
  // Orders in the last N days: only "some" or "none" can be said, through the last order date.
  "orders.count": (c, negated) => {
    const v = Number(c.value);
    const some =
      (c.op === "gte" && v === 1) || (c.op === "gt" && v === 0) || (c.op === "neq" && v === 0)
        ? true
        : (c.op === "eq" && v === 0) || (c.op === "lt" && v === 1) || (c.op === "lte" && v === 0)
          ? false
          : null;
    if (some === null)
      return no(
        c.field,
        "Shopify can only say whether there was an order in the last N days (at least 1, or 0), not how many",
      );
    const recent = clause(`last_order_date >= -${c.days}d`);
    return some !== negated
      ? recent
      : or(clause(`last_order_date < -${c.days}d`), clause("last_order_date IS NULL"));
  },
  "checkouts.abandoned": (c, negated) => {
    const recent = clause(`abandoned_checkout_date >= -${c.days}d`);
    return (c.op === "isTrue") !== negated
      ? recent
      : or(clause(`abandoned_checkout_date < -${c.days}d`), clause("abandoned_checkout_date IS NULL"));
  },
  "orders.products": (c, negated, o) => {
    const ids = (c.value as string[]).map(String);
    const bad = ids.filter((id) => !/^\d{1,20}$/.test(id));
    if (bad.length) return no(c.field, `Shopify takes numeric product ids, not ${bad.join(", ")}`);
    if (ids.length > 500) return no(c.field, "Shopify takes at most 500 product ids");
    if (o.syntax === "legacy")
      return no(
        c.field,
        "Shopify's products_purchased can't be limited to the last N days before Admin API 2026-10",
      );
    const idPart = ids.length === 1 ? `id = ${ids[0]}` : `id IN (${ids.join(", ")})`;
    const bought = c.op === "in";
    return clause(
      `products_purchased ${bought !== negated ? "MATCHES" : "NOT MATCHES"} (${idPart}, date >= -${c.days}d)`,
    );
  },
};

/** Translates a rule, or lists every part Shopify cannot express. */
export function toShopifyQL(rule: Rule, options: ShopifyQLOptions): ShopifyQLResult {
  const o = { currency: options.currency ?? "USD", syntax: options.syntax ?? "legacy" } as const;
  const reasons: string[] = [];
  const visit = (node: RuleNode, negated: boolean, trail: string[]): Expr => {
    if ("all" in node) {
      const parts = node.all.map((n) => visit(n, negated, trail));
      return negated ? or(...parts) : and(...parts);
    }
    if ("any" in node) {
      const parts = node.any.map((n) => visit(n, negated, trail));
      return negated ? and(...parts) : or(...parts);
    }
    if ("not" in node) return visit(node.not, !negated, trail);
    if ("segment" in node) {
      const target = trail.includes(node.segment) ? null : options.resolve(node.segment);
      if (!target) {
        reasons.push(
          `segment "${node.segment}": ${trail.includes(node.segment) ? "refers to itself" : "not found"}`,
        );
        return TRUE;
      }
      // Shopify has no "member of segment X" filter: the other segment's rule goes inline.
      return visit(target.match, negated, [...trail, node.segment]);
    }
    const field = node.field;
    const leaf = LEAVES[field];
    if (!leaf) {
      reasons.push(
        `${label(field)}: ${WHY[field] ?? (field.startsWith("visitor.") ? STOREFRONT : `Shopify's segment filters have nothing for ${FIELDS[field].label.toLowerCase()}`)}`,
      );
      return TRUE;
    }
    const out = leaf(node, negated, o);
    if (out instanceof Unsupported) {
      reasons.push(...out.reasons);
      return TRUE;
    }
    return out;
  };
  const expr = visit(rule.match, false, []);
  if (reasons.length) return { unsupported: [...new Set(reasons)] };
  if (expr.kind === "const")
    return {
      unsupported: [
        expr.value
          ? "the rule matches every customer; a Shopify segment needs at least one condition"
          : "the rule matches no customer",
      ],
    };
  const query = print(expr);
  if (query.length > MAX_QUERY_LENGTH)
    return {
      unsupported: [`the query is ${query.length} characters; Shopify takes at most ${MAX_QUERY_LENGTH}`],
    };
  return { query };
}
