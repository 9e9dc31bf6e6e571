/**
 * A described example person built to match a segment's rule: for the admin's "What each segment
 * would see" when the shop has no real member of a segment yet (a new shop has no cart
 * abandoners). Pure: the rule, `now` and the segments it references are parameters.
 *
 * How: the rule is put in disjunctive form (each `any` a choice, `not` pushed down to its
 * conditions, referenced segments expanded), and for each way of matching, starting from a new
 * visitor on their first session, every condition is made true in turn by giving the person the
 * least that satisfies it (one more session, an item in the cart, a checkout started and not
 * completed, orders...), repeated until the evaluator, the same one the storefront runs, says the
 * example is a member. A rule no example can match (e.g. "sessions is 1 and sessions is 2") gets
 * null. describePerson says in words who the example (or a real sample) is.
 */
import { evaluate, test, valueOf, type Facts, type OrderFacts, type StorefrontEventFacts } from "./evaluate";
import { lifetimeFigures } from "./lifetime";
import { fromMinorUnits } from "./money";
import { FIELDS, type Condition, type Field, type Rule, type RuleNode } from "./rules";
import { ABANDONED_STEPS, CHECKOUT_EVENT_TYPES } from "./pixel-events";

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Ways of matching tried at most (a rule of many `any` groups has many). */
const MAX_WAYS = 64;
/** Rounds of making conditions true: one condition may undo another (an order count, then a spend). */
const MAX_ROUNDS = 6;
/** A cart item's and an order's price in an example, in minor units, when the rule does not say. */
const ITEM_PRICE = 2_500;

type Value = ReturnType<typeof valueOf>;
interface Literal {
  condition: Condition;
  /** false: the condition must be false (it was under a `not`). */
  holds: boolean;
}

export interface Example {
  facts: Facts;
  /** The example's conditions that a real shopper in this state has too (e.g. their cart kept its items). */
  companions: string[];
}

/** An anonymous visitor on their first session, now: what an example starts from. */
export function newVisitorFacts(now: Date): Facts {
  return {
    customer: null,
    orders: [],
    checkouts: [],
    cart: null,
    visitor: {
      sessions: 1,
      firstSeenAt: now,
      lastSeenAt: now,
      landingPage: "/",
      referrer: null,
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
      deviceType: "desktop",
      events: [
        { type: "session_start", at: now, resourceId: null },
        { type: "page_view", at: now, resourceId: "/" },
      ],
    },
  };
}

/** Example facts that match the rule, or null when none could be built. */
export function exampleFor(
  rule: Rule,
  options: { now: Date; resolve: (handle: string) => Rule | null },
): Example | null {
  const { now, resolve } = options;
  const member = (facts: Facts) => {
    try {
      return evaluate(rule, facts, { now, resolve }).member;
    } catch {
      return false;
    }
  };
  for (const way of waysOf(rule.match, resolve, true, 0)) {
    const facts = newVisitorFacts(now);
    for (let round = 0; round < MAX_ROUNDS && !member(facts); round++)
      for (const literal of way) if (!holds(literal, facts, now)) makeHold(literal, facts, now);
    if (!member(facts)) continue;
    return { facts, companions: addCompanions(facts, now, member) };
  }
  return null;
}

/** The rule as ways of matching: lists of conditions that must all hold (or all fail). */
function waysOf(
  node: RuleNode,
  resolve: (handle: string) => Rule | null,
  positive: boolean,
  depth: number,
): Literal[][] {
  if (depth > 20) return [];
  if ("segment" in node) {
    const target = resolve(node.segment);
    return target ? waysOf(target.match, resolve, positive, depth + 1) : [];
  }
  if ("not" in node) return waysOf(node.not, resolve, !positive, depth + 1);
  if ("all" in node || "any" in node) {
    const children = "all" in node ? node.all : node.any;
    // all (or not any): every child; any (or not all): one of them.
    const every = "all" in node === positive;
    const parts = children.map((c) => waysOf(c, resolve, positive, depth + 1));
    if (!every) return parts.flat().slice(0, MAX_WAYS);
    let ways: Literal[][] = [[]];
    for (const part of parts) {
      const next: Literal[][] = [];
      for (const w of ways) for (const p of part) if (next.length < MAX_WAYS) next.push([...w, ...p]);
      ways = next;
    }
    return ways;
  }
  return [[{ condition: node, holds: positive }]];
}

function holds(literal: Literal, facts: Facts, now: Date): boolean {
  const c = literal.condition;
  return test(c, valueOf(c.field, c, facts, now), now) === literal.holds;
}

/** Tries values for the condition's field, least surprising first, until one makes it hold. */
function makeHold(literal: Literal, facts: Facts, now: Date): void {
  const c = literal.condition;
  for (const v of candidates(c, now)) {
    if (test(c, v, now) !== literal.holds) continue;
    const before = structuredClone(facts);
    if (set(c, v, facts, now) && holds(literal, facts, now)) return;
    Object.assign(facts, before);
  }
}

function candidates(c: Condition, now: Date): Value[] {
  const list = Array.isArray(c.value) ? c.value : c.value === undefined ? [] : [c.value];
  switch (FIELDS[c.field].type) {
    case "number":
    case "money": {
      const base = list.map(Number).filter(Number.isFinite);
      const out = [...base.flatMap((b) => [b, b + 1, b - 1]), 0, 1, 2, 3];
      if (c.op === "between" && base.length === 2) out.unshift(Math.round((base[0] + base[1]) / 2));
      return [...new Set(out.filter((n) => n >= 0).map(Math.round))];
    }
    case "date": {
      const days = c.days ?? 0;
      const at = (ms: number) => new Date(ms);
      const given = list.map((x) => Date.parse(String(x))).filter(Number.isFinite);
      return [
        ...(days
          ? [at(now.getTime() - Math.max(HOUR, (days * DAY) / 2)), at(now.getTime() - (days + 1) * DAY)]
          : []),
        at(now.getTime() - HOUR),
        ...given.flatMap((t) => [at(t + DAY), at(t - DAY)]),
        at(now.getTime() - 400 * DAY),
        null,
      ];
    }
    case "boolean":
      return [true, false];
    case "text": {
      // A field with fixed choices (the checkout step left at) tries those, not a made-up word.
      const spec = FIELDS[c.field];
      const choices = "choices" in spec ? spec.choices : ["example"];
      return [...new Set([...list.map(String), ...choices]), null];
    }
    case "tags":
    case "ids":
      return [...list.map((x) => [String(x)]), [], ["example"]];
    default:
      // A kind of field this builder does not know: no value to try (no example for the rule).
      return [];
  }
}

/** Makes the field's value v in the facts; false when this field cannot be given an example value. */
function set(c: Condition, v: Value, facts: Facts, now: Date): boolean {
  const field: Field = c.field;
  const t = now.getTime();
  const since = t - (c.days ?? 0) * DAY;
  const num = typeof v === "number" ? v : 0;
  const when = v instanceof Date ? v : null;
  const ids = Array.isArray(v) ? v : [];
  const text = typeof v === "string" ? v : null;
  const visitor = facts.visitor!;
  const customer = () =>
    (facts.customer ??= {
      createdAt: new Date(t - 400 * DAY),
      countryCode: null,
      provinceCode: null,
      city: null,
      tags: [],
      acceptsEmailMarketing: false,
      state: "enabled",
      shopifyTotals: null,
    });
  const live = () => facts.orders.filter((o) => !o.cancelled && !o.test);
  const inWindow = () => live().filter((o) => o.processedAt.getTime() >= since);
  const order = (at: Date, total = averageTotal(facts)): OrderFacts => {
    customer();
    const o: OrderFacts = {
      processedAt: at,
      total,
      refunded: 0,
      cancelled: false,
      test: false,
      discountCodes: [],
      financialStatus: "paid",
      lines: [],
    };
    facts.orders.push(o);
    return o;
  };
  // A new order outside any short window unless one is asked for: 40, 70, 100... days ago.
  const olderOrder = () => order(new Date(t - (40 + 30 * live().length) * DAY));
  const windowOrder = () => inWindow()[0] ?? order(new Date(Math.max(since, t - 2 * DAY)));
  const spread = (orders: OrderFacts[], total: number) => {
    orders.forEach((o, i) => {
      o.refunded = 0;
      o.total = Math.floor(total / orders.length) + (i === 0 ? total % orders.length : 0);
    });
  };
  const events = (types: string[], days?: number) =>
    visitor.events.filter(
      (e) => types.includes(e.type) && (days === undefined || e.at.getTime() >= t - days * DAY),
    );
  const addEvent = (e: StorefrontEventFacts) => {
    visitor.events.push(e);
    if (e.at < visitor.firstSeenAt) visitor.firstSeenAt = e.at;
  };
  const cart = () => (facts.cart ??= { value: ITEM_PRICE, itemCount: 1, productIds: [] });
  switch (field) {
    case "customer.ordersCount": {
      const orders = live();
      if (orders.length > num) facts.orders = facts.orders.filter((o) => !orders.slice(num).includes(o));
      while (live().length < num) olderOrder();
      return true;
    }
    case "customer.totalSpent":
      if (num > 0 && !live().length) olderOrder();
      spread(live(), num);
      return true;
    case "customer.averageOrderValue":
      if (!live().length) olderOrder();
      for (const o of live()) [o.total, o.refunded] = [num, 0];
      return true;
    case "customer.firstOrderAt":
    case "customer.lastOrderAt": {
      if (!when) {
        facts.orders = [];
        return true;
      }
      if (!live().length) order(when);
      const first = field === "customer.firstOrderAt";
      for (const o of live()) if (first ? o.processedAt < when : o.processedAt > when) o.processedAt = when;
      const sorted = live().sort((a, b) => a.processedAt.getTime() - b.processedAt.getTime());
      sorted[first ? 0 : sorted.length - 1].processedAt = when;
      return true;
    }
    case "customer.createdAt":
      customer().createdAt = when;
      return true;
    case "customer.countryCode":
    case "customer.provinceCode":
    case "customer.city":
    case "customer.state": {
      const key = field.slice("customer.".length) as "countryCode" | "provinceCode" | "city" | "state";
      customer()[key] = text;
      return true;
    }
    case "customer.tags":
      customer().tags = ids;
      return true;
    case "customer.acceptsEmailMarketing":
      customer().acceptsEmailMarketing = v === true;
      return true;
    case "orders.count": {
      const w = inWindow();
      for (const o of w.slice(num)) o.processedAt = new Date(since - 10 * DAY);
      for (let i = w.length; i < num; i++) order(new Date(Math.max(since, t - (i + 1) * DAY)));
      return true;
    }
    case "orders.spend":
      if (num > 0 && !inWindow().length) windowOrder();
      spread(inWindow(), num);
      return true;
    case "orders.products":
    case "orders.variants":
    case "orders.collections":
    case "orders.vendors":
    case "orders.productTypes": {
      const wanted = new Set(ids);
      const matches = (l: OrderFacts["lines"][number]) =>
        field === "orders.collections"
          ? l.collectionIds.some((x) => wanted.has(x))
          : wanted.has(String(lineKey(field, l)));
      // notIn: the window's lines without these; in: one line with it.
      for (const o of inWindow()) o.lines = o.lines.filter((l) => !matches(l));
      if (!ids.length) return true;
      const line = { productId: null, variantId: null, vendor: null, productType: null, collectionIds: [] };
      windowOrder().lines.push(
        field === "orders.collections"
          ? { ...line, collectionIds: [ids[0]] }
          : { ...line, [lineKeyName(field)]: ids[0] },
      );
      return true;
    }
    case "orders.usedDiscount":
      if (v === true) windowOrder().discountCodes = ["WELCOME10"];
      else for (const o of inWindow()) o.discountCodes = [];
      return true;
    case "orders.paymentPending":
      if (v === true) windowOrder().financialStatus = "pending";
      else for (const o of inWindow()) o.financialStatus = "paid";
      return true;
    case "checkouts.abandoned":
      if (v === true)
        facts.checkouts.push({
          createdAt: new Date(Math.max(since, t - Math.min(DAY, ((c.days ?? 0) * DAY) / 2))),
          completed: false,
        });
      else for (const k of facts.checkouts) if (k.createdAt.getTime() >= since) k.completed = true;
      return true;
    case "cart.value":
      if (v === null) facts.cart = null;
      else cart().value = num;
      return true;
    case "cart.itemCount":
      if (num === 0) facts.cart = null;
      else Object.assign(cart(), { itemCount: num, value: Math.max(cart().value, num * ITEM_PRICE) });
      return true;
    case "cart.products":
      if (!ids.length) {
        if (facts.cart) facts.cart.productIds = [];
        return true;
      }
      cart().productIds = ids;
      cart().itemCount = Math.max(cart().itemCount, ids.length);
      return true;
    case "visitor.sessions": {
      if (num < 1) return false;
      visitor.sessions = num;
      // A session a day back from now: the first of them is the first visit.
      visitor.events = visitor.events.filter((e) => e.type !== "session_start");
      for (let i = 0; i < num; i++)
        addEvent({ type: "session_start", at: new Date(t - i * DAY), resourceId: null });
      visitor.firstSeenAt = new Date(Math.min(visitor.firstSeenAt.getTime(), t - (num - 1) * DAY));
      return true;
    }
    case "visitor.visits":
    case "visitor.visitsPerWeek": {
      const days = c.days ?? 7;
      const visits = field === "visitor.visits" ? num : Math.ceil((num * days) / 7);
      const inside = events(["session_start"], days);
      visitor.events = visitor.events.filter((e) => !inside.slice(Math.max(visits, 0)).includes(e));
      for (let i = inside.length; i < visits; i++)
        addEvent({
          type: "session_start",
          at: new Date(t - ((i * days) / Math.max(visits, 1)) * DAY),
          resourceId: null,
        });
      visitor.sessions = Math.max(visitor.sessions, events(["session_start"]).length);
      return true;
    }
    case "visitor.pageViews": {
      const days = c.days;
      const views = events(["page_view", "product_view", "collection_view"], days);
      visitor.events = visitor.events.filter((e) => !views.slice(num).includes(e));
      for (let i = views.length; i < num; i++)
        addEvent({ type: "page_view", at: new Date(t - (i + 1) * 60_000), resourceId: "/" });
      return true;
    }
    case "visitor.viewedProducts":
    case "visitor.viewedCollections":
    case "visitor.viewedPages":
    case "visitor.answers": {
      const type = {
        "visitor.viewedProducts": "product_view",
        "visitor.viewedCollections": "collection_view",
        "visitor.viewedPages": "page_view",
        "visitor.answers": "answer",
      }[field];
      const wanted = new Set(ids.map((x) => x.toLowerCase()));
      visitor.events = visitor.events.filter(
        (e) => e.type !== type || !wanted.has((e.resourceId ?? "").toLowerCase()),
      );
      if (ids.length) addEvent({ type, at: new Date(t - 10 * 60_000), resourceId: ids[0] });
      return true;
    }
    case "visitor.abandonedCheckoutStep":
    case "visitor.reachedPayment": {
      // The Web Pixel's checkout events: one per step, resourceId the checkout token.
      const inside = events(CHECKOUT_EVENT_TYPES, c.days);
      const leftAt = (step: number) => {
        const start = t - Math.min(HOUR, ((c.days ?? 7) * DAY) / 2);
        for (let i = 0; i <= step; i++)
          addEvent({
            type: CHECKOUT_EVENT_TYPES[i],
            at: new Date(start + i * 60_000),
            resourceId: "example-checkout",
          });
      };
      const payment = ABANDONED_STEPS.indexOf("payment");
      if (field === "visitor.reachedPayment") {
        // Reached: a checkout left at payment; not: the window's checkouts stopped before it.
        if (v === true) leftAt(payment);
        else
          visitor.events = visitor.events.filter(
            (e) => !inside.includes(e) || CHECKOUT_EVENT_TYPES.indexOf(e.type) < payment,
          );
        return true;
      }
      // Left at a step: the window's checkouts completed, then one left at that step, the latest.
      const step = text === null ? -1 : (ABANDONED_STEPS as readonly string[]).indexOf(text);
      if (text !== null && step < 0) return false;
      for (const token of new Set(inside.map((e) => e.resourceId)))
        if (token) addEvent({ type: "checkout_completed", at: new Date(t - 2 * HOUR), resourceId: token });
      if (step >= 0) leftAt(step);
      return true;
    }
    case "visitor.firstSeenAt":
      if (!when) return false;
      visitor.firstSeenAt = when;
      if (visitor.lastSeenAt < when) visitor.lastSeenAt = when;
      return true;
    case "visitor.lastSeenAt":
      if (!when) return false;
      visitor.lastSeenAt = when;
      if (visitor.firstSeenAt > when) visitor.firstSeenAt = when;
      return true;
    case "visitor.landingPage":
    case "visitor.referrer":
    case "visitor.utmSource":
    case "visitor.utmMedium":
    case "visitor.utmCampaign":
    case "visitor.deviceType": {
      const key = field.slice("visitor.".length) as
        "landingPage" | "referrer" | "utmSource" | "utmMedium" | "utmCampaign" | "deviceType";
      visitor[key] = text;
      return true;
    }
    default:
      // A field this builder does not know yet: no example for a rule that needs it.
      return false;
  }
}

type LineKey = "productId" | "variantId" | "vendor" | "productType";
function lineKeyName(field: Field): LineKey {
  return (
    (
      {
        "orders.products": "productId",
        "orders.variants": "variantId",
        "orders.vendors": "vendor",
      } as Partial<Record<Field, LineKey>>
    )[field] ?? "productType"
  );
}
function lineKey(field: Field, line: OrderFacts["lines"][number]): string | null {
  return line[lineKeyName(field)];
}

function averageTotal(facts: Facts): number {
  const live = facts.orders.filter((o) => !o.cancelled && !o.test);
  return live.length ? Math.round(live.reduce((s, o) => s + o.total, 0) / live.length) : ITEM_PRICE * 2;
}

/**
 * What a real shopper in the example's state has too, when the rule allows it: a shopper who left
 * a checkout still has its items in their cart (Shopify keeps the cart until the order is placed).
 */
function addCompanions(facts: Facts, now: Date, member: (f: Facts) => boolean): string[] {
  const added: string[] = [];
  if (facts.checkouts.some((k) => !k.completed) && !facts.cart) {
    facts.cart = { value: ITEM_PRICE, itemCount: 1, productIds: [] };
    if (member(facts))
      added.push(
        "their cart still holds the item they took to checkout (Shopify keeps a cart until the order is placed)",
      );
    else facts.cart = null;
  }
  // A shopper who started a checkout a day ago was on the storefront then: first seen then, and
  // this is another visit (kept only when the rule still matches, e.g. not "sessions is 1").
  const started = facts.checkouts.filter((k) => !k.completed).map((k) => k.createdAt.getTime());
  const visitor = facts.visitor;
  if (visitor && started.length && Math.min(...started) < visitor.firstSeenAt.getTime()) {
    const before = structuredClone(facts);
    const at = new Date(Math.min(...started));
    visitor.firstSeenAt = at;
    visitor.sessions += 1;
    visitor.events.push({ type: "session_start", at, resourceId: null });
    if (!member(facts)) Object.assign(facts, before);
  }
  void now;
  return added;
}

/**
 * The Web Pixel's checkout events (CONTRACTS C2: one row per step, resourceId the checkout token)
 * and the step each stands for, in order. The same names as app/engine/pixel-events.ts (the
 * segments branch) — to be read from there once both are merged.
 */
const CHECKOUT_STEP_EVENTS: Record<string, string> = {
  checkout_started: "the start",
  checkout_contact: "contact details",
  checkout_address: "the address",
  checkout_shipping: "shipping",
  checkout_payment: "payment",
  checkout_completed: "",
};
const STEP_ORDER = Object.keys(CHECKOUT_STEP_EVENTS);

/**
 * Where the visitor's latest checkout that was not completed stopped, from pixel events; null:
 * none. A checkout whose order the shop holds (`orderedCheckouts`) was completed, as the segment
 * fields say, even when the pixel never sent checkout_completed.
 */
export function checkoutLeftAt(facts: Facts): string | null {
  const tokens = new Map<string, { step: number; at: number }>();
  const ordered = new Set(facts.visitor?.orderedCheckouts ?? []);
  for (const e of facts.visitor?.events ?? []) {
    const seen = STEP_ORDER.indexOf(e.type);
    if (seen < 0 || !e.resourceId) continue;
    const step = ordered.has(e.resourceId) ? STEP_ORDER.indexOf("checkout_completed") : seen;
    const t = tokens.get(e.resourceId) ?? { step: -1, at: 0 };
    tokens.set(e.resourceId, { step: Math.max(t.step, step), at: Math.max(t.at, e.at.getTime()) });
  }
  const open = [...tokens.values()]
    .filter((t) => STEP_ORDER[t.step] !== "checkout_completed")
    .sort((a, b) => b.at - a.at);
  return open.length ? CHECKOUT_STEP_EVENTS[STEP_ORDER[open[0].step]] : null;
}

/** Whole days or hours ago, in words. */
export function ago(at: Date, now: Date): string {
  const ms = now.getTime() - at.getTime();
  if (ms < HOUR) return "just now";
  if (ms < DAY) {
    const h = Math.round(ms / HOUR);
    return `${h} hour${h === 1 ? "" : "s"} ago`;
  }
  const d = Math.round(ms / DAY);
  return `${d} day${d === 1 ? "" : "s"} ago`;
}

const ordinal = (n: number) => {
  const s =
    n % 100 >= 11 && n % 100 <= 13
      ? "th"
      : (({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th");
  return `${n}${s}`;
};

/**
 * Who this person is, in a few short phrases (no name, email or address: as anonymous as the
 * admin's other samples): visits, cart, checkout, orders and spend.
 */
export function describePerson(facts: Facts, options: { now: Date; currency: string }): string[] {
  const { now, currency } = options;
  const out: string[] = [];
  const v = facts.visitor;
  if (v)
    out.push(
      v.sessions <= 1
        ? `on their first visit (first seen ${ago(v.firstSeenAt, now)})`
        : `on their ${ordinal(v.sessions)} visit (first seen ${ago(v.firstSeenAt, now)})`,
    );
  const views = v?.events.filter((e) => e.type === "product_view").length ?? 0;
  if (views) out.push(`${views} product view${views === 1 ? "" : "s"}`);
  if (facts.cart && facts.cart.itemCount > 0)
    out.push(
      `cart: ${facts.cart.itemCount} item${facts.cart.itemCount === 1 ? "" : "s"}, ${fromMinorUnits(facts.cart.value, currency)} ${currency}`,
    );
  // A customer seen without a browser: nothing to say of visits or a cart.
  else if (v) out.push("empty cart");
  const open = facts.checkouts
    .filter((k) => !k.completed)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const step = checkoutLeftAt(facts);
  if (step) out.push(`left a checkout at ${step}`);
  else if (open.length) out.push(`started a checkout ${ago(open[0].createdAt, now)} and did not complete it`);
  // The lifetime figures the evaluator uses (Shopify's own counts included).
  const life = lifetimeFigures(facts.orders, facts.customer?.shopifyTotals ?? null);
  const count = life.ordersCount;
  if (!count) out.push("no orders");
  else
    out.push(
      `${count} order${count === 1 ? "" : "s"}, ${fromMinorUnits(life.totalSpent, currency)} ${currency} spent${life.lastOrderAt ? `, last ${ago(life.lastOrderAt, now)}` : ""}`,
    );
  return out;
}
