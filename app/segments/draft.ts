/**
 * The segment builder's editable form of a rule, and the way back. The builder edits strings
 * (what the merchant typed: "99.50", "2026-01-31", "30"); `toRule` turns them into a rule for the
 * one validator (parseRule), and remembers which row each rule path came from, so a problem the
 * validator names ("match.all.1.value") is shown beside the row that caused it.
 *
 * Pure: used in the browser by the builder and on the server by tests.
 */
import { fromMinorUnits, toMinorUnits } from "../engine/money";
import {
  FIELDS,
  RULE_VERSION,
  UNSTORABLE_MESSAGE,
  operatorsFor,
  type Condition,
  type Field,
  type FieldSpec,
  type Operator,
  type Rule,
  type RuleNode,
} from "../engine/rules";

export type GroupMode = "all" | "any" | "none";

export interface DraftCondition {
  kind: "condition";
  id: string;
  field: Field;
  op: Operator;
  /** One value (text, number, amount in currency units, date YYYY-MM-DD). */
  value: string;
  /** The second bound of "between". */
  value2: string;
  /** Lists: in / not in, bought any of. */
  values: string[];
  days: string;
  /** A product id, for the fields that take one ("views of product X"); "" for any one product. */
  product: string;
}

export interface DraftSegmentRef {
  kind: "segment";
  id: string;
  handle: string;
  /** True: "not in segment" (an exclusion). */
  exclude: boolean;
}

export interface DraftGroup {
  kind: "group";
  id: string;
  mode: GroupMode;
  children: DraftNode[];
}

export type DraftNode = DraftCondition | DraftSegmentRef | DraftGroup;

let counter = 0;
export function newId(): string {
  counter += 1;
  return `n${counter}`;
}

const spec = (field: Field): FieldSpec => FIELDS[field];
/** Takes `days`: a lookback window, or a horizon ahead (the predicted fields). */
export const takesDays = (field: Field): boolean => !!spec(field).windowed || !!spec(field).ahead;

/** What input an operator needs: none, days, one value, two values or a list. */
export function inputOf(_field: Field, op: Operator): "none" | "days" | "one" | "two" | "list" {
  if (op === "isSet" || op === "isNotSet" || op === "isTrue" || op === "isFalse") return "none";
  if (op === "withinLast" || op === "notWithinLast") return "days";
  if (op === "between") return "two";
  if (op === "in" || op === "notIn") return "list";
  return "one";
}

/** The operator a new condition on a field starts with: the one most rules use. */
const FIRST_OP: Record<FieldSpec["type"], Operator> = {
  money: "gte",
  number: "gte",
  date: "withinLast",
  text: "eq",
  tags: "contains",
  boolean: "isTrue",
  ids: "in",
  terms: "contains",
};

export function newCondition(field: Field = "customer.totalSpent"): DraftCondition {
  const op = FIRST_OP[spec(field).type];
  return {
    kind: "condition",
    id: newId(),
    field,
    op,
    value: "",
    value2: "",
    values: [],
    days: takesDays(field) || inputOf(field, op) === "days" ? "30" : "",
    product: "",
  };
}

/** Keeps what still makes sense when the field changes: the operator if allowed, else the first. */
export function withField(c: DraftCondition, field: Field): DraftCondition {
  const op = operatorsFor(field).includes(c.op) ? c.op : FIRST_OP[spec(field).type];
  const sameType = spec(field).type === spec(c.field).type;
  return {
    ...c,
    field,
    op,
    value: sameType ? c.value : "",
    value2: sameType ? c.value2 : "",
    values: sameType ? c.values : [],
    days: spec(field).ahead
      ? spec(field).ahead!.map(String).includes(c.days)
        ? c.days
        : "30"
      : spec(field).windowed
        ? c.days || "30"
        : inputOf(field, op) === "days"
          ? c.days || "30"
          : "",
    product: spec(field).ofProduct ? c.product : "",
  };
}

export function withOperator(c: DraftCondition, op: Operator): DraftCondition {
  const days = takesDays(c.field) || op === "withinLast" || op === "notWithinLast" ? c.days || "30" : "";
  // A single value carries over into a list and back, so switching "is" to "is any of" keeps it.
  const values = inputOf(c.field, op) === "list" && !c.values.length && c.value ? [c.value] : c.values;
  const value = inputOf(c.field, op) === "one" && !c.value && c.values.length ? c.values[0] : c.value;
  return { ...c, op, days, values, value };
}

function dateText(value: unknown): string {
  const text = String(value ?? "");
  return /^\d{4}-\d{2}-\d{2}T00:00:00(\.000)?Z$/.test(text) ? text.slice(0, 10) : text;
}

function conditionToDraft(c: Condition, currency: string): DraftCondition {
  const type = spec(c.field).type;
  const show = (v: unknown) =>
    type === "money" && typeof v === "number"
      ? fromMinorUnits(v, currency)
      : type === "date"
        ? dateText(v)
        : String(v);
  const list = Array.isArray(c.value) ? c.value : [];
  const mode = inputOf(c.field, c.op);
  return {
    kind: "condition",
    id: newId(),
    field: c.field,
    op: c.op,
    value:
      mode === "one" && c.value !== undefined && !Array.isArray(c.value)
        ? show(c.value)
        : mode === "two"
          ? show(list[0])
          : "",
    value2: mode === "two" ? show(list[1]) : "",
    values: mode === "list" ? list.map(String) : [],
    days: c.days !== undefined ? String(c.days) : "",
    product: c.product ?? "",
  };
}

function nodeToDraft(n: RuleNode, currency: string): DraftNode {
  if ("all" in n)
    return { kind: "group", id: newId(), mode: "all", children: n.all.map((x) => nodeToDraft(x, currency)) };
  if ("any" in n)
    return { kind: "group", id: newId(), mode: "any", children: n.any.map((x) => nodeToDraft(x, currency)) };
  if ("segment" in n) return { kind: "segment", id: newId(), handle: n.segment, exclude: false };
  if ("not" in n) {
    const inner = n.not;
    if ("segment" in inner) return { kind: "segment", id: newId(), handle: inner.segment, exclude: true };
    if ("any" in inner)
      return {
        kind: "group",
        id: newId(),
        mode: "none",
        children: inner.any.map((x) => nodeToDraft(x, currency)),
      };
    return { kind: "group", id: newId(), mode: "none", children: [nodeToDraft(inner, currency)] };
  }
  return conditionToDraft(n, currency);
}

/** A rule as the builder shows it: always a group at the top. */
export function ruleToDraft(rule: Rule, currency: string): DraftGroup {
  const top = nodeToDraft(rule.match, currency);
  return top.kind === "group" ? top : { kind: "group", id: newId(), mode: "all", children: [top] };
}

export function emptyDraft(): DraftGroup {
  return { kind: "group", id: newId(), mode: "all", children: [newCondition()] };
}

export interface DraftProblem {
  /** The row (draft node id) it belongs to. */
  id: string;
  /** Which input: field, op, value, days (or "" for the row). */
  input: string;
  message: string;
}

export interface DraftResult {
  rule: Rule;
  /** Rule path ("match.all.1") → draft node id, to place the validator's problems. */
  paths: Record<string, string>;
  /** What cannot even be turned into a rule (an amount that is not a number...). */
  problems: DraftProblem[];
}

const WHOLE = /^-?\d+$/;
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;

function conditionToRule(c: DraftCondition, currency: string, problems: DraftProblem[]): Condition {
  const type = spec(c.field).type;
  const out: Condition = { field: c.field, op: c.op };
  const mode = inputOf(c.field, c.op);
  const num = (text: string, input: string): number | string => {
    const t = text.trim();
    if (type === "money") {
      try {
        if (t === "") throw new Error("empty");
        return toMinorUnits(t, currency);
      } catch {
        problems.push({ id: c.id, input, message: `Enter an amount, like ${moneyExample(currency)}` });
        return t;
      }
    }
    if (spec(c.field).fractional ? !DECIMAL.test(t) : !WHOLE.test(t)) {
      const example = spec(c.field).fractional ? "Enter a number, like 0.5" : "Enter a whole number, like 3";
      problems.push({ id: c.id, input, message: example });
      return t;
    }
    return Number(t);
  };
  if (takesDays(c.field) || mode === "days") {
    const t = c.days.trim();
    if (!/^\d+$/.test(t) || Number(t) < 1)
      problems.push({ id: c.id, input: "days", message: "Enter a number of days, 1 or more" });
    else out.days = Number(t);
  }
  if (spec(c.field).ofProduct && c.product.trim()) out.product = c.product.trim();
  if (mode === "one") {
    if (type === "money" || type === "number") out.value = num(c.value, "value");
    else if (type === "date") {
      const t = c.value.trim();
      out.value = /^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00.000Z` : t;
    } else out.value = c.value.trim();
  } else if (mode === "two") {
    out.value = [num(c.value, "value"), num(c.value2, "value2")] as (string | number)[];
  } else if (mode === "list") {
    out.value = c.values.map((v) => v.trim()).filter(Boolean);
  }
  return out;
}

/** The draft as a rule for parseRule, with the map from rule paths back to rows. */
export function draftToRule(draft: DraftGroup, currency: string): DraftResult {
  const paths: Record<string, string> = {};
  const problems: DraftProblem[] = [];
  const visit = (n: DraftNode, path: string): RuleNode => {
    paths[path] = n.id;
    if (n.kind === "segment") {
      if (n.exclude) {
        paths[`${path}.not`] = n.id;
        return { not: { segment: n.handle } };
      }
      return { segment: n.handle };
    }
    if (n.kind === "condition") return conditionToRule(n, currency, problems);
    if (n.mode === "none") {
      paths[`${path}.not`] = n.id;
      return { not: { any: n.children.map((x, i) => visit(x, `${path}.not.any.${i}`)) } };
    }
    const key = n.mode;
    const children = n.children.map((x, i) => visit(x, `${path}.${key}.${i}`));
    return key === "all" ? { all: children } : { any: children };
  };
  const match = visit(draft, "match");
  return { rule: { version: RULE_VERSION, match }, paths, problems };
}

/**
 * Where a validator problem belongs: the deepest row whose path starts the problem's path, and
 * the input named by what follows ("value", "days", "op", "field").
 */
export function placeProblem(paths: Record<string, string>, path: string, message: string): DraftProblem {
  let best = "match";
  for (const p of Object.keys(paths))
    if ((path === p || path.startsWith(`${p}.`)) && p.length > best.length) best = p;
  const rest = path.slice(best.length + 1);
  const input = ["value", "days", "op", "field", "product"].includes(rest.split(".")[0])
    ? rest.split(".")[0]
    : "";
  return { id: paths[best] ?? paths.match, input, message };
}

/** Edits to the tree, by node id (the builder's state changes through these). */
export function updateNode(
  root: DraftGroup,
  id: string,
  change: (n: DraftNode) => DraftNode | null,
): DraftGroup {
  const visit = (n: DraftNode): DraftNode | null => {
    if (n.id === id) return change(n);
    if (n.kind !== "group") return n;
    return { ...n, children: n.children.map(visit).filter((x): x is DraftNode => x !== null) };
  };
  return (visit(root) as DraftGroup | null) ?? emptyDraft();
}

/** Only letters, digits and dashes: a handle from a name ("VIP in Canada" → "vip-in-canada"). */
export function handleFrom(name: string): string {
  return (
    name
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 64) || "segment"
  );
}

/** "50.00" in USD, "50" in JPY: how an amount is typed in the shop's currency. */
export function moneyExample(currency: string, whole = 50): string {
  return fromMinorUnits(toMinorUnits(String(whole), currency), currency);
}

/**
 * The groups the builder's field picker shows, in the merchant's terms. Every field is in exactly
 * one; a group with no fields is not shown.
 */
export const FIELD_GROUP_TITLES = [
  "Customer",
  "Orders",
  "Products",
  "Browsing",
  "Checkout",
  "Answers",
  "Predicted",
] as const;
export type FieldGroupTitle = (typeof FIELD_GROUP_TITLES)[number];

export function fieldGroupOf(field: Field): FieldGroupTitle {
  const s = spec(field);
  if (field === "visitor.answers") return "Answers";
  if (field.startsWith("predicted.")) return "Predicted";
  if (
    s.group === "Carts and checkouts" ||
    field === "visitor.abandonedCheckoutStep" ||
    field === "visitor.reachedPayment"
  )
    return "Checkout";
  if (field.startsWith("orders.") && s.type === "ids") return "Products";
  if (s.group === "Storefront") return "Browsing";
  return s.group === "Orders" ? "Orders" : "Customer";
}

/** Words a merchant may type for a field besides its label ("spent" finds spend, "email" finds marketing...). */
const FIELD_WORDS: Partial<Record<Field, string>> = {
  "customer.totalSpent": "lifetime value ltv money",
  "customer.averageOrderValue": "aov",
  "customer.acceptsEmailMarketing": "email newsletter subscribed consent",
  "customer.countryCode": "location",
  "customer.provinceCode": "location region",
  "customer.city": "location",
  "orders.spend": "spent money revenue",
  "visitor.visits": "sessions",
  "visitor.searches": "search query",
  "visitor.deviceType": "mobile desktop tablet",
  "checkouts.abandoned": "abandoned checkout",
  "visitor.abandonedCheckoutStep": "abandoned",
  "visitor.answers": "quiz survey form",
  "predicted.orders": "forecast likely buy again repurchase",
  "predicted.probabilityActive": "churn risk alive lapse",
  "predicted.probabilityActiveChange30d": "churn risk falling slipping lapse drop",
  "predicted.value12m": "clv ltv lifetime value forecast",
  "predicted.valueTier": "clv ltv spend tier vip",
  "predicted.daysToNextOrder": "next order date repurchase",
  "predicted.spendPerOrder": "aov forecast",
};

export interface FieldPickerSection {
  title: FieldGroupTitle;
  options: { value: Field; label: string }[];
}

/**
 * The field picker's sections, narrowed to what matches `query`: every word typed must start a
 * word of the field's label, group or synonyms ("spent" finds "Total spent", "views" finds
 * "Page views" and "Views of one product").
 */
export function fieldSections(query: string, fields: readonly Field[]): FieldPickerSection[] {
  const words = query
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const matches = (field: Field) => {
    if (!words.length) return true;
    const haystack = `${spec(field).label} ${fieldGroupOf(field)} ${FIELD_WORDS[field] ?? ""}`
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean);
    return words.every((w) => haystack.some((h) => h.startsWith(w)));
  };
  return FIELD_GROUP_TITLES.map((title) => ({
    title,
    options: fields
      .filter((f) => fieldGroupOf(f) === title && matches(f))
      .map((f) => ({ value: f, label: spec(f).label })),
  })).filter((section) => section.options.length > 0);
}

export function findNode(root: DraftNode, id: string): DraftNode | undefined {
  if (root.id === id) return root;
  if (root.kind !== "group") return undefined;
  for (const child of root.children) {
    const found = findNode(child, id);
    if (found) return found;
  }
  return undefined;
}

const PICKER_NOUNS: Record<NonNullable<FieldSpec["picker"]>, string> = {
  product: "product",
  variant: "variant",
  collection: "collection",
  vendor: "vendor",
  productType: "product type",
  country: "country",
};

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * A problem in the merchant's words, for the row it is on: the one place the validator's
 * developer wording ("must be a list of one or more values", "must be an amount in minor units")
 * becomes what to do ("Pick at least one product", "Enter an amount, like 50.00"). Problems the
 * builder itself found are already worded so and pass through.
 */
export function plainWording(root: DraftGroup, problem: DraftProblem, currency: string): string {
  const { input, message } = problem;
  if (/^[A-Z]/.test(message)) return message;
  const node = findNode(root, problem.id);
  if (!node || node.kind === "group") return capitalized(message);
  if (node.kind === "segment") {
    if (!node.handle || message.includes("not a segment handle")) return "Choose a segment";
    if (message.startsWith("no segment")) return `Choose another segment: "${node.handle}" no longer exists`;
    return capitalized(message);
  }
  const c = node;
  const s = spec(c.field);
  if (input === "days") return "Enter a number of days, 1 or more";
  if (input === "product") return "Pick a product from the list, or leave it empty for any one product";
  if (input === "field") return "Choose a field from the list";
  if (input === "op") return `Choose another comparison: ${message}`;
  if (message === UNSTORABLE_MESSAGE) return "Remove the invisible or broken characters from this text";
  if (message.startsWith("must be one of")) return "Choose one of the listed values";
  if (message.startsWith("must be words to search for")) return "Enter words to search for, not only spaces";
  const mode = inputOf(c.field, c.op);
  if (mode === "list") {
    if (s.picker) return `Pick at least one ${PICKER_NOUNS[s.picker]}`;
    if (s.choices) return "Tick at least one";
    if (s.type === "tags") return "Add at least one tag: type it and press Enter";
    return "Add at least one value: type it and press Enter";
  }
  if (mode === "two") {
    if (c.value.trim() && c.value2.trim()) return "Put the smaller one first";
    return s.type === "money"
      ? `Enter both amounts, like ${moneyExample(currency)} and ${moneyExample(currency, 100)}`
      : "Enter both numbers, like 2 and 5";
  }
  if (mode === "one") {
    if (s.type === "money") return `Enter an amount, like ${moneyExample(currency)}`;
    if (s.type === "number") return "Enter a whole number, like 3";
    if (s.type === "date") return "Pick a date";
    if (s.type === "tags") return "Enter a tag";
    if (s.type === "terms") return "Enter words to search for";
    if (s.choices) return "Choose one of the listed values";
    return "Enter some text";
  }
  return capitalized(message);
}
