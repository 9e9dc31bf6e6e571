/**
 * As-of snapshots: a rule evaluated as if nothing after a moment `at` had happened. Without it
 * `now` only moves the rule's clock (totals stay all-time, "in the last N days" has no upper
 * bound); with it (`EvaluateOptions.asOf`, `CompileOptions.asOf`) the members are those of that
 * moment, as far as the shop's copy can tell. factsAsOf is the definition; sql.ts's as-of mode
 * writes the same filters into the query, and cases.json (cases with `"asOf": true`) holds the
 * two to the same answers on both databases.
 *
 * What existed at `at`:
 * - a customer created at or before it (one with no creation date is taken to have existed);
 *   per visitor, a browser first seen at or before it (its customer, when created later, is a
 *   guest's: no customer facts, orders or checkouts);
 * - orders processed at or before it; one cancelled after it was live then; refunds created after
 *   it are added back (`refunded` minus the later refunds);
 * - checkouts created at or before it; one completed after it (its `completedAt`) was not
 *   completed then. One an order names but with no completion time counts as completed (there is
 *   no date to tell);
 * - storefront events at or before it. A browser's sessions are its count minus its
 *   session_start events after `at` (every session is one such event); its last seen is its last
 *   event at or before `at` (its first seen when none); the "latest browser" (landing page,
 *   referrer, UTM, device and cart) is the latest by that;
 * - the cart, when it has not changed since (`updatedAt` at or before `at`); one changed later is
 *   not known as it was, so there is none;
 * - a checkout token's order (what completes a pixel checkout) processed at or before it.
 * Taken as they are now, because the app keeps no history of them: the customer's tags, country,
 * consent and account state; an order's financial status, lines, discount codes and test flag;
 * products' types and collections; which customer a browser is linked to.
 *
 * Shopify's lifetime figures (lifetime.ts), taken at their own moment: the orders they count that
 * the app does not hold ("hidden", older than the app can read without `read_all_orders`) are
 * older than every order held, so they are taken to have been placed before `at` as well: as of
 * `at` a customer with hidden orders has orders count = live orders held then + hidden, total
 * spent = what the held orders add up to then + the hidden orders' spend (Shopify's amount less
 * what the held orders up to its moment add up to now, when positive), first order unknown, last
 * order the latest held then. As of a moment before the hidden orders themselves this counts them
 * too early: only a shop with `read_all_orders` (no hidden orders) is exact there.
 *
 * Fields that are predictions made from the latest fit (the "Predicted" group) have no value as
 * of a past moment: evaluableAsOf is the one check, and both modes refuse such a rule by name.
 */
import type { BrowserFacts, Facts, OrderFacts, StorefrontEventFacts } from "./evaluate";
import { lifetimeFigures, type ShopifyTotals } from "./lifetime";
import { FIELDS, type Field, type Rule, type RuleNode } from "./rules";

/** Whether a field has a value as of a past moment (a prediction from the latest fit has none). */
export function evaluableAsOf(field: Field): boolean {
  return FIELDS[field].group !== "Predicted";
}

export class NotEvaluableAsOf extends Error {}

/**
 * Refuses a rule (referenced segments included) with a field that has no value as of a past
 * moment, naming it. Both the evaluator and the SQL compiler call it in as-of mode.
 */
export function assertEvaluableAsOf(rule: Rule, resolve?: (handle: string) => Rule | null): void {
  const visit = (n: RuleNode, depth: number) => {
    if (depth > 20) throw new Error("segments nest too deeply");
    if ("all" in n) n.all.forEach((x) => visit(x, depth + 1));
    else if ("any" in n) n.any.forEach((x) => visit(x, depth + 1));
    else if ("not" in n) visit(n.not, depth + 1);
    else if ("segment" in n) {
      const target = resolve?.(n.segment);
      if (target) visit(target.match, depth + 1);
    } else if (!evaluableAsOf(n.field))
      throw new NotEvaluableAsOf(
        `"${FIELDS[n.field].label}" (${n.field}) cannot be evaluated as of a past moment: it is a prediction from the latest fit, not a fact recorded then`,
      );
  };
  visit(rule.match, 0);
}

const before = (d: Date | null | undefined, at: number) => !!d && d.getTime() <= at;

/** The order as it stood at `at` (it was processed by then). */
function orderAt(o: OrderFacts, at: number): OrderFacts {
  const later = (o.refunds ?? []).filter((r) => r.at.getTime() > at).reduce((s, r) => s + r.amount, 0);
  // Cancelled with no date known: taken as cancelled then too.
  const cancelled = o.cancelledAt === undefined ? o.cancelled : before(o.cancelledAt, at);
  return { ...o, cancelled, refunded: o.refunded - later };
}

/**
 * Shopify's lifetime figures moved to `at` (see the file's comment): a snapshot taken at `at`
 * whose hidden orders and their spend are those of the figures taken at their own moment, so
 * lifetimeFigures of the orders as they stood at `at` gives the as-of figures.
 */
function totalsAt(orders: readonly OrderFacts[], then: readonly OrderFacts[], s: ShopifyTotals, at: Date) {
  const hidden = lifetimeFigures(orders, s).hidden;
  if (hidden <= 0) return null;
  const heldBySnapshot = orders
    .filter((o) => !o.cancelled && !o.test && o.processedAt.getTime() <= s.at.getTime())
    .reduce((sum, o) => sum + o.total - o.refunded, 0);
  const hiddenSpend = Math.max(0, s.spent - heldBySnapshot);
  const live = then.filter((o) => !o.cancelled && !o.test);
  const heldThen = then.filter((o) => !o.test).length;
  const spentThen = live.reduce((sum, o) => sum + o.total - o.refunded, 0);
  return { orders: heldThen + hidden, spent: spentThen + hiddenSpend, at } satisfies ShopifyTotals;
}

/** A browser as it was at `at`, with its last seen then; null when first seen after it. */
function browserAt(b: BrowserFacts, at: number): (BrowserFacts & { lastThen: number }) | null {
  if (b.firstSeenAt.getTime() > at) return null;
  let last = -Infinity;
  let laterSessions = 0;
  const events: StorefrontEventFacts[] = [];
  for (const e of b.events) {
    const t = e.at.getTime();
    if (t > at) {
      if (e.type === "session_start") laterSessions++;
      continue;
    }
    events.push(e);
    if (t > last) last = t;
  }
  const lastThen =
    b.lastSeenAt.getTime() <= at ? b.lastSeenAt.getTime() : last > -Infinity ? last : b.firstSeenAt.getTime();
  const cart = b.cart && (b.cart.updatedAt === undefined || b.cart.updatedAt.getTime() <= at) ? b.cart : null;
  return {
    ...b,
    sessions: b.sessions - laterSessions,
    lastSeenAt: new Date(lastThen),
    lastThen,
    cart,
    events,
  };
}

/** The person's storefront side at `at`: their browsers then, combined as facts.server.ts's addBrowser does. */
function visitorAt(facts: Facts, at: number): Pick<Facts, "visitor" | "cart"> {
  const v = facts.visitor;
  if (!v) return { visitor: null, cart: facts.cart };
  const { events, browsers, orderedCheckouts, orderedCheckoutsAt, ...text } = v;
  const all: BrowserFacts[] = browsers ?? [{ ...text, events, cart: facts.cart }];
  // Latest (as of `at`) first; a tie keeps the order given (latest now first).
  const then = all
    .map((b) => browserAt(b, at))
    .filter((b): b is NonNullable<typeof b> => b !== null)
    .sort((a, b) => b.lastThen - a.lastThen);
  if (!then.length) return { visitor: null, cart: null };
  const latest = then[0];
  const ordered = (orderedCheckouts ?? []).filter((t) => {
    const when = orderedCheckoutsAt?.[t];
    return when === undefined || when.getTime() <= at;
  });
  return {
    cart: latest.cart,
    visitor: {
      landingPage: latest.landingPage,
      referrer: latest.referrer,
      utmSource: latest.utmSource,
      utmMedium: latest.utmMedium,
      utmCampaign: latest.utmCampaign,
      deviceType: latest.deviceType,
      sessions: then.reduce((s, b) => s + b.sessions, 0),
      firstSeenAt: new Date(Math.min(...then.map((b) => b.firstSeenAt.getTime()))),
      lastSeenAt: new Date(latest.lastThen),
      events: then.flatMap((b) => b.events),
      orderedCheckouts: ordered,
    },
  };
}

/**
 * The facts as they stood at `at`, or null when the unit did not exist yet: per customer, a
 * customer created after `at`; per visitor, a browser first seen after it. What `evaluate` with
 * `asOf` evaluates (see the file's comment for each part).
 */
export function factsAsOf(facts: Facts, at: Date, unit: "customer" | "visitor" = "customer"): Facts | null {
  const t = at.getTime();
  const customerExisted =
    !!facts.customer && (facts.customer.createdAt === null || before(facts.customer.createdAt, t));
  const storefront = visitorAt(facts, t);
  // The unit itself must have existed (an anonymous person's facts are their storefront's).
  const existed = unit === "customer" && facts.customer ? customerExisted : storefront.visitor !== null;
  if (!existed) return null;
  if (!customerExisted) return { customer: null, orders: [], checkouts: [], ...storefront };
  const orders = facts.orders.filter((o) => o.processedAt.getTime() <= t).map((o) => orderAt(o, t));
  const customer = facts.customer!;
  const shopify = customer.shopifyTotals ? totalsAt(facts.orders, orders, customer.shopifyTotals, at) : null;
  return {
    customer: { ...customer, shopifyTotals: shopify },
    orders,
    checkouts: facts.checkouts
      .filter((k) => k.createdAt.getTime() <= t)
      .map((k) => ({
        ...k,
        // No completion time (an order names it): completed, as there is no date to tell.
        completed:
          k.completed && (k.completedAt === null || k.completedAt === undefined || before(k.completedAt, t)),
      })),
    ...storefront,
  };
}
