/**
 * What makes a rule's answer change while nothing happens but time: a condition relative to
 * `now` ("no order in 90 days", "abandoned a checkout in the last 7 days") flips for a person
 * exactly when one of their timestamps crosses the window's edge, now − N days. The anchors of a
 * rule say which timestamps (the source) and which N; the sweep re-evaluates only the people
 * whose timestamps crossed an edge since the last sweep.
 */
import type { Condition, Rule, RuleNode } from "./rules";
import { FIELDS } from "./rules";

/** A kind of timestamp a person has, that windows are measured against. */
export type AnchorSource =
  | "orders" // Order.processedAt
  | "customer.firstOrderAt"
  | "customer.lastOrderAt"
  | "customer.createdAt"
  | "checkouts" // Checkout created
  | "events" // StorefrontEvent.occurredAt
  | "visitor.firstSeenAt"
  | "visitor.lastSeenAt"
  | "predicted.nextOrderAt"; // CustomerPrediction.nextOrderAt

export interface Anchor {
  source: AnchorSource;
  days: number;
}

const DATE_FIELDS: Partial<Record<Condition["field"], AnchorSource>> = {
  "customer.firstOrderAt": "customer.firstOrderAt",
  "customer.lastOrderAt": "customer.lastOrderAt",
  "customer.createdAt": "customer.createdAt",
  "visitor.firstSeenAt": "visitor.firstSeenAt",
  "visitor.lastSeenAt": "visitor.lastSeenAt",
};

function anchorOf(c: Condition): Anchor | null {
  if (c.days === undefined) return null;
  const spec = FIELDS[c.field];
  if ("windowed" in spec && spec.windowed) {
    const family = c.field.split(".")[0];
    if (family === "orders") return { source: "orders", days: c.days };
    if (family === "checkouts") return { source: "checkouts", days: c.days };
    if (family === "visitor") return { source: "events", days: c.days };
    return null;
  }
  // "is (not) within the last N days" on a date; before/after a fixed date never moves.
  const source = DATE_FIELDS[c.field];
  if (source && (c.op === "withinLast" || c.op === "notWithinLast")) return { source, days: c.days };
  return null;
}

/**
 * "Days until the expected next order is below N" flips when nextOrderAt − now crosses N, that is
 * when nextOrderAt crosses now + N: an edge N days AHEAD of now, which is days = −N here (each
 * bound of a between its own). Only set and not-set ignore the clock.
 */
function predictedAnchors(c: Condition): Anchor[] {
  if (c.field !== "predicted.daysToNextOrder") return [];
  const values = (Array.isArray(c.value) ? c.value : [c.value]).filter(
    (v): v is number => typeof v === "number",
  );
  return values.map((v) => ({ source: "predicted.nextOrderAt", days: 0 - v }));
}

/** The distinct anchors of a rule, referenced segments included. */
export function timeAnchors(rule: Rule, resolve?: (handle: string) => Rule | null): Anchor[] {
  const found = new Map<string, Anchor>();
  const visit = (n: RuleNode, depth: number) => {
    if (depth > 20) return;
    if ("all" in n) n.all.forEach((x) => visit(x, depth + 1));
    else if ("any" in n) n.any.forEach((x) => visit(x, depth + 1));
    else if ("not" in n) visit(n.not, depth + 1);
    else if ("segment" in n) {
      const target = resolve?.(n.segment);
      if (target) visit(target.match, depth + 1);
    } else {
      for (const a of [anchorOf(n), ...predictedAnchors(n)]) if (a) found.set(`${a.source}:${a.days}`, a);
    }
  };
  visit(rule.match, 0);
  return [...found.values()];
}

const DAY = 86_400_000;

/**
 * The timestamps whose crossing between `from` and `to` can change an answer, per anchor: the
 * window edge moved from from − N to to − N, so a timestamp in that range (both ends included:
 * re-evaluating one person too many is harmless, one too few is not) may have left the window.
 */
export function crossingRange(anchor: Anchor, from: Date, to: Date): { since: Date; until: Date } {
  return {
    since: new Date(from.getTime() - anchor.days * DAY),
    until: new Date(to.getTime() - anchor.days * DAY),
  };
}
