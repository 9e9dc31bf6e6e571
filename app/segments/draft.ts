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
    days: spec(field).windowed || inputOf(field, op) === "days" ? "30" : "",
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
    days: spec(field).windowed ? c.days || "30" : inputOf(field, op) === "days" ? c.days || "30" : "",
    product: spec(field).ofProduct ? c.product : "",
  };
}

export function withOperator(c: DraftCondition, op: Operator): DraftCondition {
  const days = spec(c.field).windowed || op === "withinLast" || op === "notWithinLast" ? c.days || "30" : "";
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
        problems.push({ id: c.id, input, message: `enter an amount, like 100 or 99.50` });
        return t;
      }
    }
    if (!WHOLE.test(t)) {
      problems.push({ id: c.id, input, message: "enter a whole number" });
      return t;
    }
    return Number(t);
  };
  if (spec(c.field).windowed || mode === "days") {
    const t = c.days.trim();
    if (!/^\d+$/.test(t) || Number(t) < 1)
      problems.push({ id: c.id, input: "days", message: "enter a number of days, 1 or more" });
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
