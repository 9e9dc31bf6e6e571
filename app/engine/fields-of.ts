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

/** The pixel checkout fields an order moves: its checkout token completes that checkout. */
const ORDER_COMPLETES = new Set<Field>(["visitor.abandonedCheckoutStep", "visitor.reachedPayment"]);

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
    // A pixel checkout is completed by the shop's order with its token (sql.ts's ORDERED).
    if (what.includes("orders") && ORDER_COMPLETES.has(f)) return true;
    // A customer's prediction is recomputed when their orders change (refreshPredictions).
    if (family === "predicted" && what.includes("orders")) return true;
    return what.includes(family as Touch);
  });
}

/**
 * Who a segment is about, from what its rule reads: customers only (customer, order and
 * webhook-checkout fields), visitors only (storefront and cart fields: guests' browsers included),
 * or both. A rule that reads nothing matches everyone: both.
 */
export type Audience = "customers" | "visitors" | "both";

export function audienceOf(rule: Rule, resolve?: (handle: string) => Rule | null): Audience {
  const families = new Set([...fieldsOf(rule, resolve)].map((f) => f.split(".")[0]));
  const visitor = families.has("visitor") || families.has("cart");
  const customer =
    families.has("customer") ||
    families.has("orders") ||
    families.has("checkouts") ||
    families.has("predicted");
  return visitor && !customer ? "visitors" : customer && !visitor ? "customers" : "both";
}

/** The segments that count visitors: every one whose rule reads something of the storefront. */
export const countsVisitors = (audience: Audience) => audience !== "customers";
