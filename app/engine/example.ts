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
import {
  abandonedCheckoutStep,
  evaluate,
  PAYMENT_REACHED,
  test,
  valueOf,
  VIEWS,
  type Facts,
  type OrderFacts,
  type StorefrontEventFacts,
} from "./evaluate";
import { lifetimeFigures } from "./lifetime";
import { fromMinorUnits } from "./money";
import {
  ABANDONED_STEPS,
  CHECKOUT_EVENT_TYPES,
  CHECKOUT_STEPS,
  checkoutStepOf,
  PIXEL_EVENT_TYPES,
  searchTermOf,
  type CheckoutStep,
} from "./pixel-events";
import { FIELDS, type Condition, type Field, type FieldSpec, type Rule, type RuleNode } from "./rules";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** Session length as the pixel endpoint counts it: a page view after 30 quiet minutes starts a new one. */
const SESSION_GAP = 30 * MINUTE;
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
      for (const literal of way) if (!holds(literal, facts, now)) makeHold(literal, way, facts, now);
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

/**
 * Tries values for the condition's field, least surprising first (and, for storefront events, a few
 * places in the lookback window), until one makes it hold. A change that keeps the way's other
 * conditions as they were is preferred ("no checkout in the last 7 days" and "left one at payment
 * in the last 30" puts that checkout 15 days back, not yesterday).
 */
function makeHold(literal: Literal, way: Literal[], facts: Facts, now: Date): void {
  const c = literal.condition;
  const others = way.filter((l) => l !== literal && holds(l, facts, now));
  let fallback: Facts | null = null;
  for (const v of candidates(c, now)) {
    if (test(c, v, now) !== literal.holds) continue;
    for (const change of changes(c, v, now)) {
      const trial = structuredClone(facts);
      if (!change(trial) || !holds(literal, trial, now)) continue;
      if (others.every((l) => holds(l, trial, now))) {
        Object.assign(facts, trial);
        return;
      }
      fallback ??= trial;
    }
  }
  if (fallback) Object.assign(facts, fallback);
}

/** The ways of giving the field the value v: one for most fields, one per place in the window for events. */
function changes(c: Condition, v: Value, now: Date): ((facts: Facts) => boolean)[] {
  if (PIXEL_FIELDS.has(c.field)) return pixelChanges(c, v, now);
  // Views over a window: just now, or else where the rule's other conditions still hold.
  if (PLACED.has(c.field) && c.days)
    return [undefined, ...placesIn(c.days)].map((age) => (facts: Facts) => set(c, v, facts, now, age));
  return [(facts: Facts) => set(c, v, facts, now)];
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
      // A field of fixed values (the checkout step) tries each of them.
      const choices: readonly string[] | undefined = (FIELDS[c.field] as FieldSpec).choices;
      return [...new Set([...list.map(String), ...(choices ?? ["example"])]), null];
    }
    case "terms":
      // Searches as the pixel stores them; [] is "searched for none of these".
      return [...list.map((x) => [searchTermOf(String(x))]), [], ["example"]];
    case "tags":
    case "ids":
      return [...list.map((x) => [String(x)]), [], ["example"]];
    default:
      // A kind of field this builder does not know: no value to try (no example for the rule).
      return [];
  }
}

/** The fields of page, product and collection views, whose events set() places `age` ago. */
const PLACED = new Set<Field>([
  "visitor.pageViews",
  "visitor.viewedProducts",
  "visitor.viewedCollections",
  "visitor.viewedPages",
]);

/**
 * Makes the field's value v in the facts; false when this field cannot be given an example value.
 * `age`: how long ago the views it adds are (PLACED fields; a few minutes when not given).
 */
function set(c: Condition, v: Value, facts: Facts, now: Date, age?: number): boolean {
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
      const views = events(VIEWS, days);
      visitor.events = visitor.events.filter((e) => !views.slice(num).includes(e));
      for (let i = views.length; i < num; i++)
        addEvent({ type: "page_view", at: new Date(t - (age ?? MINUTE) - i * MINUTE), resourceId: "/" });
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
      if (ids.length) addEvent({ type, at: new Date(t - (age ?? 10 * MINUTE)), resourceId: ids[0] });
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

/** The fields over the Web Pixel's events (pixel-events.ts), each given a value by pixelChanges. */
const PIXEL_FIELDS = new Set<Field>([
  "visitor.abandonedCheckoutStep",
  "visitor.productViews",
  "visitor.searches",
  "visitor.reachedPayment",
]);
const PRODUCT_VIEW = PIXEL_EVENT_TYPES.product_viewed;
const SEARCH = PIXEL_EVENT_TYPES.search_submitted;
const COMPLETED = PIXEL_EVENT_TYPES.checkout_completed;
/** The product an example views when the rule names none. */
const EXAMPLE_PRODUCT = "1";

/** How long ago, inside a window of `days`, an example's events may be: recent, mid-window, near its start. */
function placesIn(days: number): number[] {
  const span = days * DAY;
  return [...new Set([HOUR, span / 2, span - HOUR])].filter((age) => age > 0 && age < span);
}

/**
 * Ways of giving a pixel-event field the value v, as the pixel would have stored it: checkout
 * steps under a checkout token (CONTRACTS C2), product views of a numeric product id, searches
 * as searchTermOf stores them. One way per place in the window where events are added.
 */
function pixelChanges(c: Condition, v: Value, now: Date): ((facts: Facts) => boolean)[] {
  const t = now.getTime();
  const since = t - (c.days ?? 0) * DAY;
  const inWindow = (e: StorefrontEventFacts) => e.at.getTime() >= since;
  const add = (facts: Facts, type: string, ms: number, resourceId: string | null) => {
    const visitor = facts.visitor!;
    const at = new Date(ms);
    visitor.events.push({ type, at, resourceId });
    if (at < visitor.firstSeenAt) visitor.firstSeenAt = at;
    if (at > visitor.lastSeenAt) visitor.lastSeenAt = at;
  };
  const drop = (facts: Facts, gone: (e: StorefrontEventFacts) => boolean) => {
    facts.visitor!.events = facts.visitor!.events.filter((e) => !gone(e));
  };
  const checkoutEvents = (facts: Facts) =>
    facts.visitor!.events.filter((e) => inWindow(e) && e.resourceId && checkoutStepOf(e.type));
  /** A new checkout token taken to `step`, a minute a step, its last event at `last`. */
  const addCheckout = (facts: Facts, step: CheckoutStep, last: number) => {
    const tokens = new Set(
      facts.visitor!.events.filter((e) => checkoutStepOf(e.type)).map((e) => e.resourceId),
    );
    const token = `example-checkout-${tokens.size + 1}`;
    const types = CHECKOUT_EVENT_TYPES.slice(0, CHECKOUT_STEPS.indexOf(step) + 1);
    types.forEach((type, i) => add(facts, type, last - (types.length - 1 - i) * MINUTE, token));
  };
  const visitorOnly = (change: (facts: Facts) => boolean) => (facts: Facts) =>
    !!facts.visitor && change(facts);
  const places = placesIn(c.days ?? 1);
  switch (c.field) {
    case "visitor.abandonedCheckoutStep": {
      if (v === null)
        return [
          // No checkout in the window; or else every checkout in it completed.
          (facts: Facts) => (drop(facts, (e) => inWindow(e) && !!checkoutStepOf(e.type)), true),
          (facts: Facts) => {
            const open = new Map<string, number>();
            for (const e of checkoutEvents(facts))
              open.set(e.resourceId!, Math.max(open.get(e.resourceId!) ?? since, e.at.getTime()));
            for (const [token, last] of open) add(facts, COMPLETED, last, token);
            return true;
          },
        ].map(visitorOnly);
      const step = ABANDONED_STEPS.find((s) => s === v);
      if (!step) return [];
      // The latest checkout is the one left at this step: after any other in the window.
      return places.map((age) =>
        visitorOnly((facts) => {
          const latest = Math.max(-Infinity, ...checkoutEvents(facts).map((e) => e.at.getTime()));
          addCheckout(facts, step, Math.min(t, Math.max(t - age, latest + MINUTE)));
          return true;
        }),
      );
    }
    case "visitor.reachedPayment":
      if (v === true)
        return places.map((age) => visitorOnly((facts) => (addCheckout(facts, "payment", t - age), true)));
      return [
        visitorOnly((facts) => (drop(facts, (e) => inWindow(e) && PAYMENT_REACHED.includes(e.type)), true)),
      ];
    case "visitor.productViews": {
      const n = typeof v === "number" ? v : 0;
      const views = (facts: Facts) =>
        facts.visitor!.events.filter((e) => e.type === PRODUCT_VIEW && inWindow(e) && e.resourceId);
      return places.map((age) =>
        visitorOnly((facts) => {
          // At most n views of each product in question (the newest kept), then n of one of them.
          const seen = new Map<string, number>();
          const extra = new Set<StorefrontEventFacts>();
          for (const e of views(facts).sort((a, b) => b.at.getTime() - a.at.getTime())) {
            if (c.product !== undefined && e.resourceId !== c.product) continue;
            const count = (seen.get(e.resourceId!) ?? 0) + 1;
            seen.set(e.resourceId!, count);
            if (count > n) extra.add(e);
          }
          drop(facts, (e) => extra.has(e));
          if (n === 0) return true;
          const product =
            c.product ?? [...seen.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? EXAMPLE_PRODUCT;
          const have = views(facts).filter((e) => e.resourceId === product).length;
          // Spread over the hour before the place chosen.
          for (let i = have; i < n; i++)
            add(facts, PRODUCT_VIEW, t - age - ((i + 1) * HOUR) / (n + 1), product);
          return true;
        }),
      );
    }
    case "visitor.searches": {
      const terms = Array.isArray(v) ? v : [];
      if (terms.length)
        return places.map((age) => visitorOnly((facts) => (add(facts, SEARCH, t - age, terms[0]), true)));
      // None of the searches the condition is about: drop each one that alone changes its answer.
      const none = test(c, [], now);
      return [
        visitorOnly((facts) => {
          drop(facts, (e) => e.type === SEARCH && inWindow(e) && test(c, [e.resourceId ?? ""], now) !== none);
          return true;
        }),
      ];
    }
    default:
      return [];
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
  // A checkout left, as Shopify's webhooks or the Web Pixel's checkout events tell it.
  if ((facts.checkouts.some((k) => !k.completed) || checkoutLeftAt(facts)) && !facts.cart) {
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
  // Events placed back in a window (a checkout yesterday, searches an hour ago) were visits of
  // their own: a session starts wherever 30 quiet minutes end, as the pixel endpoint counts them.
  if (visitor) {
    const before = structuredClone(facts);
    const sorted = [...visitor.events].sort((a, b) => a.at.getTime() - b.at.getTime());
    let group: StorefrontEventFacts[] = [];
    const close = () => {
      if (group.length && !group.some((e) => e.type === "session_start"))
        visitor.events.push({ type: "session_start", at: group[0].at, resourceId: null });
    };
    for (const e of sorted) {
      if (group.length && e.at.getTime() - group[group.length - 1].at.getTime() > SESSION_GAP) {
        close();
        group = [];
      }
      group.push(e);
    }
    close();
    const starts = visitor.events.filter((e) => e.type === "session_start").length;
    visitor.sessions = Math.max(visitor.sessions, starts);
    if (!member(facts)) Object.assign(facts, before);
  }
  void now;
  return added;
}

/** The checkout steps in words, as describePerson says where a checkout was left. */
const STEP_WORDS: Record<(typeof ABANDONED_STEPS)[number], string> = {
  started: "the start",
  contact: "contact details",
  address: "the address",
  shipping: "shipping",
  payment: "payment",
};

/**
 * Where the visitor left their latest checkout, in words, from the pixel's checkout events: the
 * evaluator's own answer (abandonedCheckoutStep, over all their events); null when there is no
 * checkout or the latest was completed.
 */
export function checkoutLeftAt(facts: Facts): string | null {
  const checkout = (facts.visitor?.events ?? []).filter((e) => CHECKOUT_EVENT_TYPES.includes(e.type));
  // A checkout whose order the shop holds was completed, as the segment fields say, even when the
  // pixel never sent checkout_completed.
  const step = abandonedCheckoutStep(checkout, new Set(facts.visitor?.orderedCheckouts ?? []));
  return step ? STEP_WORDS[step as keyof typeof STEP_WORDS] : null;
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
  const views = v?.events.filter((e) => e.type === PRODUCT_VIEW).length ?? 0;
  if (views) out.push(`${views} product view${views === 1 ? "" : "s"}`);
  // The pixel's searches, newest first (at most three).
  const searches = [
    ...new Set(
      (v?.events ?? [])
        .filter((e) => e.type === SEARCH && e.resourceId)
        .sort((a, b) => b.at.getTime() - a.at.getTime())
        .map((e) => `“${e.resourceId}”`),
    ),
  ];
  if (searches.length)
    out.push(`searched for ${searches.slice(0, 3).join(", ")}${searches.length > 3 ? " and more" : ""}`);
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
