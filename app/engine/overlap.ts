/**
 * Whether two active messages can reach the same shopper on the same page, and which one the
 * decision (decide.ts) shows then. Pure: the admin's overlap warning (messages/overlap.server.ts)
 * adds the counts of customers both audiences hold now.
 *
 * - Pages: their page types must share one (no types: every page). Path texts never keep two
 *   messages apart (one path can contain both texts).
 * - Dates: both running at some time from `now` on.
 * - Audiences: both rules together must be satisfiable as far as a simple check can tell: the
 *   conditions every member must meet (the top-level "all of these", through segment references)
 *   are compared field by field: numbers must leave a value both allow (sessions is 1 and sessions
 *   at least 2 cannot both hold), a yes/no field cannot be required both true and false, and a
 *   segment one requires cannot be excluded by the other. What this cannot rule out "may overlap".
 * - The winner is decide()'s order: the higher priority, then the earlier created (lower id).
 */
import type { MessageSpec, PageType } from "./decide";
import { audienceRule } from "./decide";
import { FIELDS, type Condition, type Rule, type RuleNode } from "./rules";

/** The page types two messages can both be shown on (null: every page for both). */
export function sharedPageTypes(a: MessageSpec, b: MessageSpec): PageType[] | null {
  if (!a.pages.types.length && !b.pages.types.length) return null;
  if (!a.pages.types.length) return b.pages.types;
  if (!b.pages.types.length) return a.pages.types;
  return a.pages.types.filter((t) => b.pages.types.includes(t));
}

/** Both are running at some moment from `now` on. */
export function schedulesMeet(a: MessageSpec, b: MessageSpec, now: Date): boolean {
  const start = Math.max(
    now.getTime(),
    a.schedule.startsAt ? Date.parse(a.schedule.startsAt) : -Infinity,
    b.schedule.startsAt ? Date.parse(b.schedule.startsAt) : -Infinity,
  );
  const end = Math.min(
    a.schedule.endsAt ? Date.parse(a.schedule.endsAt) : Infinity,
    b.schedule.endsAt ? Date.parse(b.schedule.endsAt) : Infinity,
  );
  return start < end;
}

interface Must {
  conditions: Condition[];
  segments: Set<string>;
  excluded: Set<string>;
}

/** What every member of the rule must meet: its top-level conjunction, through segment references. */
function mustOf(node: RuleNode, resolve: (h: string) => Rule | null, out: Must, depth = 0): void {
  if (depth > 20) return;
  if ("all" in node) for (const n of node.all) mustOf(n, resolve, out, depth + 1);
  else if ("segment" in node) {
    out.segments.add(node.segment);
    const target = resolve(node.segment);
    if (target) mustOf(target.match, resolve, out, depth + 1);
  } else if ("not" in node) {
    const inner = node.not;
    if ("segment" in inner) out.excluded.add(inner.segment);
    else if ("any" in inner) for (const n of inner.any) if ("segment" in n) out.excluded.add(n.segment);
  } else if ("field" in node) out.conditions.push(node);
}

const numeric = (c: Condition): number | null => (typeof c.value === "number" ? c.value : null);

/** The interval of values a numeric condition allows: [low, high] with open ends as flags. */
function interval(c: Condition): { lo: number; loOpen: boolean; hi: number; hiOpen: boolean } | null {
  const v = numeric(c);
  if (v === null) return null;
  switch (c.op) {
    case "eq":
      return { lo: v, loOpen: false, hi: v, hiOpen: false };
    case "gt":
      return { lo: v, loOpen: true, hi: Infinity, hiOpen: false };
    case "gte":
      return { lo: v, loOpen: false, hi: Infinity, hiOpen: false };
    case "lt":
      return { lo: -Infinity, loOpen: false, hi: v, hiOpen: true };
    case "lte":
      return { lo: -Infinity, loOpen: false, hi: v, hiOpen: false };
    default:
      return null;
  }
}

const label = (c: Condition) => FIELDS[c.field]?.label ?? c.field;

/**
 * Why two audiences cannot both hold for one shopper, in the merchant's words; null when they may.
 */
export function audiencesExclude(
  a: Pick<MessageSpec, "segment" | "audience">,
  b: Pick<MessageSpec, "segment" | "audience">,
  resolve: (h: string) => Rule | null,
): string | null {
  const ra = audienceRule(a, resolve);
  const rb = audienceRule(b, resolve);
  if (!ra || !rb) return "a segment no longer exists";
  const must: Must = { conditions: [], segments: new Set([a.segment, b.segment]), excluded: new Set() };
  mustOf(ra.match, resolve, must);
  mustOf(rb.match, resolve, must);
  for (const s of must.segments)
    if (must.excluded.has(s)) return `one requires segment "${s}", the other excludes it`;
  const byField = new Map<string, Condition[]>();
  for (const c of must.conditions) {
    const key = `${c.field}|${c.days ?? ""}`;
    byField.set(key, [...(byField.get(key) ?? []), c]);
  }
  for (const list of byField.values()) {
    const flags = new Set(list.filter((c) => c.op === "isTrue" || c.op === "isFalse").map((c) => c.op));
    if (flags.size === 2) return `${label(list[0])} cannot be both yes and no`;
    // Numbers in rules are whole (counts, amounts in minor units): the whole values both allow.
    let lo = -Infinity;
    let hi = Infinity;
    for (const c of list) {
      const i = interval(c);
      if (!i) continue;
      lo = Math.max(lo, i.loOpen ? Math.floor(i.lo) + 1 : Math.ceil(i.lo));
      hi = Math.min(hi, i.hiOpen ? Math.ceil(i.hi) - 1 : Math.floor(i.hi));
    }
    if (lo > hi) return `${label(list[0])} cannot meet both audiences' conditions`;
    const eqs = new Set(list.filter((c) => c.op === "eq" && numeric(c) === null).map((c) => String(c.value)));
    if (eqs.size > 1)
      return `${label(list[0])} cannot be both ${[...eqs]
        .sort()
        .map((v) => `"${v}"`)
        .join(" and ")}`;
  }
  return null;
}

/** Which of two messages the decision shows when both apply, and why, in the merchant's words. */
export function winnerOf(
  a: Pick<MessageSpec, "id" | "priority">,
  b: Pick<MessageSpec, "id" | "priority">,
): { winner: number; loser: number; why: string } {
  if (a.priority !== b.priority) {
    const [w, l] = a.priority > b.priority ? [a, b] : [b, a];
    return { winner: w.id, loser: l.id, why: `its priority is higher (${w.priority} over ${l.priority})` };
  }
  const [w, l] = a.id < b.id ? [a, b] : [b, a];
  return {
    winner: w.id,
    loser: l.id,
    why: `both have priority ${w.priority}, and it was created first`,
  };
}
