/** Which fields a rule reads (referenced segments included): the incremental updater's filter. */
import type { Field, Rule, RuleNode } from "./rules";

export function fieldsOf(rule: Rule, resolve?: (handle: string) => Rule | null, depth = 0): Set<Field> {
  const out = new Set<Field>();
  const visit = (n: RuleNode) => {
    if ("all" in n) n.all.forEach(visit);
    else if ("any" in n) n.any.forEach(visit);
    else if ("not" in n) visit(n.not);
    else if ("segment" in n) {
      const target = depth < 20 ? resolve?.(n.segment) : null;
      if (target) for (const f of fieldsOf(target, resolve, depth + 1)) out.add(f);
    } else out.add(n.field);
  };
  visit(rule.match);
  return out;
}

/** The field families a kind of change can move. */
export type Touch = "customer" | "orders" | "checkouts" | "cart" | "visitor";

export function touches(rule: Rule, what: Touch[], resolve?: (handle: string) => Rule | null): boolean {
  const fields = [...fieldsOf(rule, resolve)];
  return fields.some((f) => {
    const family = f.split(".")[0];
    // Order changes move the customer's derived figures (spend, count, first/last order) too.
    if (
      family === "customer" &&
      what.includes("orders") &&
      /totalSpent|ordersCount|averageOrderValue|OrderAt/.test(f)
    )
      return true;
    return what.includes(family as Touch);
  });
}
