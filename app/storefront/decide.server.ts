/**
 * The storefront's decision endpoint (`GET /apps/slice/decide`, proxied to `/proxy/decide`): the
 * one message this visitor should see now, if any. The segment engine's real-time evaluator runs
 * over the facts the app holds for this visitor (their storefront visits, views, answers and cart)
 * and, when Shopify signed a logged-in customer, that customer's orders, checkouts and profile.
 *
 * Query: `visitor` (the first-party id), `page` (Shopify's request.page_type), `path`, and
 * `shown` and `dismissed` (ids shown and dismissed in this browser session, which the script keeps
 * in sessionStorage: a session is the browser's notion; absent is none). What the visitor did with
 * messages before (shown, clicked, dismissed) is read from their stored events, and the discount
 * codes they hold from DiscountCode. Read-only: the script sends its events first.
 *
 * The rules across messages are decide()'s (the shop's cool-down after a dismissal, one popup a
 * session, one code per kind); a shopper who holds a usable code is answered a reminder of it in the
 * same shape: the message that gave it with `reminder: true` and `code` (the same code `/code` gives).
 *
 * Hot path: the shop and its active messages and segments are cached in memory for a few seconds
 * (and dropped at once when the admin saves a message here), so a decision costs the visitor's own
 * reads only: on PostgreSQL one statement (decide-read.server.ts) beside the codes held; on SQLite
 * two or three prepared statements for an anonymous visitor. Exposures are written after the
 * answer, in batches, on the hot layer's intake writer.
 */
import type { PrismaClient } from "@prisma/client";
import { assign, type Assignment, type ExperimentSpec } from "../engine/assign";
import {
  audienceRule,
  decide,
  PAGE_TYPES,
  type Format,
  type HeldCode,
  type MessageHistory,
  type PageContext,
  type PageType,
  type SessionPolicy,
  type Skip,
} from "../engine/decide";
import { valueOf, type Facts, type Reason, type StorefrontEventFacts } from "../engine/evaluate";
import { fieldsOf } from "../engine/fields-of";
import { fromColumns, shownOf, specOf, type ShownMessage } from "../engine/message";
import type { Rule } from "../engine/rules";
import type { MessageSpec } from "../engine/decide";
import {
  factsNeededFor,
  joinThisBrowser,
  loadCarts,
  loadFacts,
  VISITOR_COLUMNS,
  withOrderedCheckouts,
  type FactsNeeded,
  type VisitorRow,
} from "../segments/facts.server";
import { date, marks, hotFor, insertMany } from "../db-hot.server";
import { MESSAGE_EVENTS, visitorFactsInOne } from "./decide-read.server";

interface EventRow {
  type: string;
  occurredAt: unknown;
  resourceId: string | null;
}
import { shopSegments } from "../segments/store.server";
import { config } from "../config.server";
import prisma from "../db.server";
import { referralShareUrl } from "../offers/referrals.server";
import { codesLeft, heldCodes, type HeldCodeRow } from "../offers/pool.server";
import { verifyProxyQuery } from "./proxy.server";
import { recordProxyPath } from "./proxy-path.server";

export { MESSAGE_EVENTS };
const MESSAGE_EVENT_TYPES: string[] = Object.values(MESSAGE_EVENTS);

const CACHE_MS = 5_000;

/**
 * The first time a unit is eligible for an offer: its arm, in OfferExposure (the denominator of
 * its conversion rates). Written after the answer, not before it: exposures wait in memory and go
 * to the database together, one multi-row INSERT … ON CONFLICT DO NOTHING every 100 ms (or at 200
 * waiting), so a decision never waits on a write. The arm is a pure function of unit and offer, so
 * nothing about the answer depends on the row. Later decisions for the same unit write nothing
 * (this process remembers recent ones; the database keeps the first).
 */
interface PendingExposure {
  db: PrismaClient;
  row: [number, number, string, string, number | null, string, string | null, Date];
}
const exposed = new Set<string>();
let pending: PendingExposure[] = [];
let flushTimer: ReturnType<typeof setTimeout> | null = null;
let flushing: Promise<void> = Promise.resolve();

function recordExposure(
  db: PrismaClient,
  shopId: number,
  messageId: number,
  unit: string,
  arm: Assignment,
  visitorId: string,
  customerId: string | null,
  now: Date,
): void {
  const key = `${messageId} ${unit}`;
  if (exposed.has(key)) return;
  if (exposed.size > 100_000) exposed.clear();
  exposed.add(key);
  const variantId = arm.arm === "treatment" && arm.variantId ? arm.variantId : null;
  pending.push({ db, row: [shopId, messageId, unit, arm.arm, variantId, visitorId, customerId, now] });
  if (pending.length >= 200) void flushExposures();
  else flushTimer ??= setTimeout(() => void flushExposures(), 100);
}

/** Writes the exposures waiting in memory (the code endpoint and tests call it before reading them). */
export function flushExposures(): Promise<void> {
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = null;
  const batch = pending;
  pending = [];
  flushing = flushing.then(async () => {
    const byDb = new Map<PrismaClient, PendingExposure["row"][]>();
    for (const p of batch) {
      const rows = byDb.get(p.db);
      if (rows) rows.push(p.row);
      else byDb.set(p.db, [p.row]);
    }
    for (const [db, rows] of byDb) {
      try {
        // One multi-row INSERT on the hot layer's intake writer (PostgreSQL: its own pool, so
        // exposures never wait behind the storefront's reads nor the apply workers).
        await insertMany(
          hotFor(db, "intake"),
          "OfferExposure",
          EXPOSURE_COLUMNS,
          rows,
          ` ON CONFLICT ("messageId", "unit") DO NOTHING`,
        );
      } catch (error) {
        // Lost exposures undercount both arms alike; the next decision for the unit records it again.
        for (const r of rows) exposed.delete(`${r[1]} ${r[2]}`);
        console.error("offer exposures not written:", (error as Error).message);
      }
    }
  });
  return flushing;
}

const EXPOSURE_COLUMNS = [
  "shopId",
  "messageId",
  "unit",
  "arm",
  "variantId",
  "visitorId",
  "customerShopifyId",
  "at",
] as const;

/** A shop's active messages and segments, as the decision reads them. */
export interface ShopMessages {
  shopId: number;
  currency: string;
  messages: ShopMessage[];
  /** The shop's rules across messages: the cool-down after a dismissal, a corner or bar after a popup. */
  policy: SessionPolicy;
  /** The format of each of the shop's messages, paused ones too (what was shown this session). */
  formats: Map<number, Format>;
  /** Where the shop's storefront links point (its primary domain once known). */
  storefront: { domain: string; primaryDomain: string | null };
  resolve: (handle: string) => Rule | null;
  need: FactsNeeded;
  loadedAt: number;
}

export interface ShopMessage {
  spec: MessageSpec;
  shown: ShownMessage;
  /** Its experiment: the holdout share and the variants (a single implicit one when it has none). */
  experiment: ExperimentSpec;
  variants: Map<number, { headline: string | null; body: string | null; buttonLabel: string | null }>;
  /** A first-purchase discount: never offered to someone who has ordered (Shopify's checkout would refuse the code). */
  firstPurchase: boolean;
  /** A discount it gives needs a code from the pool: without one it is not offered. */
  needsCode: boolean;
  /**
   * It may be shown to a shopper without analytics consent: its audience reads nothing about the
   * shopper (a segment of everyone) and it gives nothing that needs to know who they are (no code,
   * no email sign-up). Page targeting is context, not tracking, and still applies.
   */
  untargeted: boolean;
  codesLeft: number;
}

const shops = new Map<string, ShopMessages | null>();
const loadedAt = new Map<string, number>();
/** The read of a shop's messages under way, which every decision needing it shares. */
const reloading = new Map<string, Promise<ShopMessages | null>>();
/** Counts forgetShopMessages calls: a read begun before one is not kept (it may predate the save). */
let generation = 0;
/**
 * A shop's cached messages are read again in the background this long before they expire, while
 * decisions go on with the cached ones: with steady traffic no decision waits for the read. Before
 * this, every decision arriving after the expiry began its own read (five or more Prisma queries)
 * until one finished: at 500/s that was a pile-up every 5 s on the Prisma pool, the storefront-pg
 * bench's p99 (bench/results/storefront-pg-2026-12-05-pglat16-*.txt).
 */
const REFRESH_AHEAD_MS = 1_000;

/** Drop a shop's cached messages and segments (after the admin saves one), so the next decision reads them fresh. */
export function forgetShopMessages(domain?: string): void {
  generation++;
  if (domain === undefined) {
    shops.clear();
    loadedAt.clear();
    reloading.clear();
  } else {
    shops.delete(domain);
    loadedAt.delete(domain);
    reloading.delete(domain);
  }
}

async function shopMessages(db: PrismaClient, domain: string, now: number): Promise<ShopMessages | null> {
  const cached = shops.get(domain);
  const age = now - (loadedAt.get(domain) ?? 0);
  if (cached === undefined || age >= CACHE_MS) return reloadShopMessages(db, domain, now);
  if (age >= CACHE_MS - REFRESH_AHEAD_MS && !reloading.has(domain))
    reloadShopMessages(db, domain, now).catch((error: Error) =>
      console.error(`messages of ${domain} not read again (the cached ones stay):`, error.message),
    );
  return cached;
}

/** One read of the shop's messages at a time; it replaces the cached ones unless they were forgotten meanwhile. */
function reloadShopMessages(db: PrismaClient, domain: string, now: number): Promise<ShopMessages | null> {
  const running = reloading.get(domain);
  if (running) return running;
  const from = generation;
  const read: Promise<ShopMessages | null> = loadShopMessages(db, domain, now)
    .then((value) => {
      if (generation === from) {
        shops.set(domain, value);
        loadedAt.set(domain, now);
      }
      return value;
    })
    .finally(() => {
      if (reloading.get(domain) === read) reloading.delete(domain);
    });
  reloading.set(domain, read);
  return read;
}

/** A shop's active messages and its segments' rules, read now (no cache). */
export async function loadShopMessages(
  db: PrismaClient,
  domain: string,
  now: number,
): Promise<ShopMessages | null> {
  const shop = await db.shop.findUnique({
    where: { domain },
    select: {
      id: true,
      currency: true,
      uninstalledAt: true,
      domain: true,
      primaryDomain: true,
      messageCooldownDays: true,
      messageAfterPopup: true,
    },
  });
  let value: ShopMessages | null = null;
  if (shop && !shop.uninstalledAt) {
    const [rows, segments, formats] = await Promise.all([
      db.message.findMany({
        where: { shopId: shop.id, active: true },
        orderBy: { id: "asc" },
        include: { variants: { orderBy: { id: "asc" } } },
      }),
      shopSegments(db, shop.id),
      db.message.findMany({ where: { shopId: shop.id }, select: { id: true, format: true } }),
    ]);
    // Codes each discount offer can still give (a shop has a handful of offers: a count per pool).
    const left = new Map(
      await Promise.all(rows.map(async (r) => [r.id, await codesLeft(db, r, new Date(now))] as const)),
    );
    const messages: ShopMessages["messages"] = [];
    for (const row of rows) {
      try {
        const m = fromColumns(row);
        messages.push({
          spec: specOf(row.id, m),
          shown: shownOf(row.id, m),
          experiment: {
            id: row.id,
            holdout: m.holdoutPercent / 100,
            variants: row.variants.length
              ? row.variants.map((v) => ({ id: v.id, weight: v.weight }))
              : [{ id: 0, weight: 1 }],
          },
          variants: new Map(row.variants.map((v) => [v.id, v])),
          firstPurchase: m.reward.kind === "firstPurchase",
          needsCode: left.get(row.id) != null,
          codesLeft: left.get(row.id) ?? 0,
          untargeted: false,
        });
      } catch (e) {
        // A row that no longer validates (edited by hand) is left out, not shown half-broken.
        console.error(`message ${row.id} is not valid and is not shown:`, (e as Error).message);
      }
    }
    const fields = messages.flatMap((m) => {
      const rule = audienceRule(m.spec, segments.resolve);
      const read = rule ? [...fieldsOf(rule, segments.resolve)] : [];
      m.untargeted = !!rule && read.length === 0 && m.shown.reward === "none";
      return read;
    });
    value = {
      shopId: shop.id,
      currency: shop.currency,
      messages,
      policy: { cooldownDays: shop.messageCooldownDays, afterPopup: shop.messageAfterPopup },
      storefront: { domain: shop.domain, primaryDomain: shop.primaryDomain },
      formats: new Map(
        formats.filter((f) => isFormat(f.format)).map((f) => [f.id, f.format as Format] as const),
      ),
      resolve: segments.resolve,
      need: factsNeededFor(fields),
      loadedAt: now,
    };
  }
  return value;
}

const isFormat = (f: string): f is Format => f === "popup" || f === "corner" || f === "bar";

/**
 * A discount offer whose pool is empty is not offered (rather than a broken code): the pool
 * refills in the background, and the Admin API may be down meanwhile. The offer whose code the
 * shopper already holds needs no new one (it may remind them of theirs).
 */
const hasCodes =
  (held: HeldCode[] = []) =>
  (m: ShopMessage): boolean =>
    !m.needsCode || m.codesLeft > 0 || held.some((c) => c.usable && c.messageId === m.spec.id);

/** The ids in a `shown=` or `dismissed=` parameter, or the error naming it. */
function idsParam(params: URLSearchParams, name: "shown" | "dismissed"): number[] | string {
  const text = params.get(name) ?? "";
  if (!/^(\d{1,9}(,\d{1,9}){0,49})?$/.test(text))
    return `${name}: must be up to 50 message ids separated by commas`;
  return text ? text.split(",").map(Number) : [];
}

/** The codes the shopper holds, read only when the shop has an offer that gives one. */
async function shopperCodes(
  db: PrismaClient,
  shop: ShopMessages,
  visitorId: string | null,
  customerId: string | null,
  now: Date,
): Promise<HeldCodeRow[]> {
  return shop.messages.some((m) => m.spec.codeKind)
    ? heldCodes(db, shop.shopId, { visitorId, customerId }, now)
    : [];
}

/**
 * The decision's reads: the visitor's facts and message history, and the codes they hold when the
 * shop has an offer that gives one. PostgreSQL reads all of it in one statement (one round trip,
 * decide-read.server.ts); SQLite, in process, by parts beside heldCodes.
 */
async function shopperFactsAndCodes(
  db: PrismaClient,
  shop: ShopMessages,
  visitorId: string,
  customerId: string | null,
  now: Date,
): Promise<{ facts: Facts; history: MessageHistory; codes: HeldCodeRow[] }> {
  const reader = hotFor(db);
  if (reader.dialect === "postgres")
    return visitorFactsInOne(reader, shop, visitorId, customerId, now, {
      codes: shop.messages.some((m) => m.spec.codeKind),
    });
  const [read, codes] = await Promise.all([
    visitorFactsByParts(db, shop, visitorId, customerId, now),
    shopperCodes(db, shop, visitorId, customerId, now),
  ]);
  return { ...read, codes };
}

/**
 * A first-purchase offer is for people who have never ordered: by the customer's lifetime figures
 * (Shopify's count included, so orders older than the 60 days the app may hold count too).
 */
const offerableTo =
  (facts: Facts, now: Date) =>
  (m: ShopMessage): boolean =>
    !m.firstPurchase || valueOf("customer.ordersCount", ORDERS_COUNT, facts, now) === 0;
const ORDERS_COUNT = { field: "customer.ordersCount", op: "eq", value: 0 } as const;

/** Why a message was not the one: the decision's reasons, an offer out of codes, a first-purchase offer to a buyer. */
export type ExplainSkip = Skip | "no codes left" | "has ordered before";

/** Shopify's `request.page_type` values this targets by; any other (404, password, account...) is "other". */
export function pageTypeOf(raw: string | null): PageType {
  if (raw === "list-collections") return "collection";
  return (PAGE_TYPES as readonly string[]).includes(raw ?? "") ? (raw as PageType) : "other";
}

export interface DecideAnswer {
  status: number;
  body: { message: ShownMessage | null } | { error: string };
}

const VISITOR_ID = /^[A-Za-z0-9_-]{16,64}$/;

/** The whole endpoint on a URL (the route and server.ts's fast path both call it). */
export async function decideForUrl(url: URL, db: PrismaClient, now = new Date()): Promise<DecideAnswer> {
  const check = verifyProxyQuery(url.searchParams, config.apiSecret, now);
  if (!check.ok) return { status: 401, body: { error: check.reason } };
  const params = url.searchParams;
  void recordProxyPath(db, check.identity, now);
  // Analytics consent (Shopify's Customer Privacy API, read by the script) only when the request
  // says so: anything else is a shopper who has not consented, or not yet.
  const consent = params.get("consent") ?? "0";
  if (consent !== "0" && consent !== "1")
    return { status: 400, body: { error: 'consent: must be "0" or "1"' } };
  if (consent === "0") return decideWithoutConsent(db, check.identity.shop, params, now);
  const visitorId = params.get("visitor") ?? "";
  if (!VISITOR_ID.test(visitorId))
    return { status: 400, body: { error: "visitor: must be 16 to 64 letters, digits, - or _" } };
  const path = params.get("path") ?? "/";
  if (path.length > 2048 || !path.startsWith("/"))
    return { status: 400, body: { error: 'path: must start with "/" and be at most 2048 characters' } };
  const shown = idsParam(params, "shown");
  if (typeof shown === "string") return { status: 400, body: { error: shown } };
  const dismissed = idsParam(params, "dismissed");
  if (typeof dismissed === "string") return { status: 400, body: { error: dismissed } };
  const page: PageContext = { type: pageTypeOf(params.get("page")), path };

  const shop = await shopMessages(db, check.identity.shop, now.getTime());
  if (!shop) return { status: 404, body: { error: "shop: not installed" } };
  if (!shop.messages.length) return { status: 200, body: { message: null } };

  const customerId = check.identity.customerId;
  const { facts, history, codes } = await shopperFactsAndCodes(db, shop, visitorId, customerId, now);
  history.shownThisSession = shown;
  history.dismissedThisSession = dismissed;
  history.codes = codes;
  const { chosen, reminder } = chooseMessage(shop, { facts, page, history, now, reasons: false });
  if (!chosen) return { status: 200, body: { message: null } };
  const unit = unitOf(visitorId, customerId);
  const held = reminder ? codes.find((c) => c.usable && c.messageId === chosen.spec.id) : undefined;
  if (held) {
    // A reminder of the code they hold: its message, in the variant they were given it for.
    const applyPath = `/discount/${encodeURIComponent(held.code)}`;
    return {
      status: 200,
      body: {
        message: {
          ...shownVariant(chosen, held.variantId ?? variantOf(assign(unit, chosen.experiment))),
          reminder: true,
          code: {
            code: held.code,
            expiresAt: held.expiresAt.toISOString(),
            applyPath,
            ...(held.kind === "referral" ? { shareUrl: referralShareUrl(shop.storefront, held.code) } : {}),
          },
        },
      },
    };
  }
  // Eligible: assigned to an arm (sticky per customer, else per browser), the first time recorded.
  const arm = assign(unit, chosen.experiment);
  recordExposure(db, shop.shopId, chosen.spec.id, unit, arm, visitorId, customerId, now);
  return { status: 200, body: { message: shownFor(chosen, arm) } };
}

/** The experiment's unit: the signed-in customer (the same arm on every browser), else the browser. */
export function unitOf(visitorId: string, customerId: string | null): string {
  return customerId ? `c:${customerId}` : `v:${visitorId}`;
}

/** What the shopper is shown of the chosen message in their arm: nothing when held out, else their variant. */
export function shownFor(chosen: ShopMessage, arm: Assignment): ShownMessage | null {
  return arm.arm === "holdout" ? null : shownVariant(chosen, arm.variantId);
}

const variantOf = (a: Assignment): number | null => (a.arm === "treatment" ? a.variantId : null);

/** The message as shown in a variant (its headline, text and button label), or as it is. */
function shownVariant(chosen: ShopMessage, variantId: number | null): ShownMessage {
  const variant = variantId === null ? undefined : chosen.variants.get(variantId);
  return variant
    ? {
        ...chosen.shown,
        variantId: variantId!,
        headline: variant.headline ?? chosen.shown.headline,
        body: variant.body ?? chosen.shown.body,
        button:
          chosen.shown.button && variant.buttonLabel
            ? { ...chosen.shown.button, label: variant.buttonLabel }
            : chosen.shown.button,
      }
    : chosen.shown;
}

/**
 * The decision for a shopper without analytics consent: no visitor or customer id is read or stored
 * (the signed logged_in_customer_id is ignored), no behaviour targets anything, no exposure or
 * arm is recorded. Only untargeted messages (see ShopMessage.untargeted) on page targeting, caps
 * within this browser session and priority; counted in aggregate when shown (events.server.ts).
 */
async function decideWithoutConsent(
  db: PrismaClient,
  domain: string,
  params: URLSearchParams,
  now: Date,
): Promise<DecideAnswer> {
  const path = params.get("path") ?? "/";
  if (path.length > 2048 || !path.startsWith("/"))
    return { status: 400, body: { error: 'path: must start with "/" and be at most 2048 characters' } };
  const shown = idsParam(params, "shown");
  if (typeof shown === "string") return { status: 400, body: { error: shown } };
  const dismissed = idsParam(params, "dismissed");
  if (typeof dismissed === "string") return { status: 400, body: { error: dismissed } };
  const shop = await shopMessages(db, domain, now.getTime());
  if (!shop) return { status: 404, body: { error: "shop: not installed" } };
  const untargeted = shop.messages.filter((m) => m.untargeted);
  if (!untargeted.length) return { status: 200, body: { message: null } };
  const { chosen } = chooseMessage(
    { ...shop, messages: untargeted },
    {
      facts: { customer: null, orders: [], checkouts: [], cart: null, visitor: null },
      page: { type: pageTypeOf(params.get("page")), path },
      // This browser session's shown and dismissed messages (the script keeps them without an id):
      // the caps, the popup rule and the rest-of-session cool-down hold without consent too.
      history: {
        lastShownAt: {},
        shownThisSession: shown,
        dismissed,
        dismissedThisSession: dismissed,
        converted: [],
      },
      now,
      reasons: false,
    },
  );
  return { status: 200, body: { message: chosen ? chosen.shown : null } };
}

export interface Explanation {
  /** The message this visitor would see, with the segment conditions that put them in its audience. */
  chosen: { id: number; headline: string; reasons: Reason[]; reminder: boolean } | null;
  /** Every other active message and why it was not chosen. */
  skipped: { id: number; headline: string; why: ExplainSkip }[];
}

/**
 * The decision for a visitor and/or signed-in customer on a page, explained: for support, the CLI
 * (`slice messages explain`) and the admin. The same facts, codes held, session rules and the same
 * decide() as the storefront; `shown` and `dismissed` stand for this browser session's.
 */
export async function explainDecision(
  db: PrismaClient,
  domain: string,
  who: {
    visitorId?: string;
    customerId?: string;
    page: PageContext;
    shown?: number[];
    dismissed?: number[];
    now: Date;
  },
): Promise<Explanation | null> {
  const shop = await loadShopMessages(db, domain, who.now.getTime());
  if (!shop) return null;
  const [{ facts, history }, codes] = await Promise.all([
    visitorFacts(db, shop, who.visitorId ?? "explain-no-visitor", who.customerId ?? null, who.now),
    shopperCodes(db, shop, who.visitorId ?? null, who.customerId ?? null, who.now),
  ]);
  history.shownThisSession = who.shown ?? [];
  history.dismissedThisSession = who.dismissed ?? [];
  history.codes = codes;
  return chooseMessage(shop, { facts, page: who.page, history, now: who.now }).explain();
}

/**
 * The storefront's choice for a person's facts and message history on a page: the one function
 * the decision endpoint, `messages explain` and the admin's preview all call. Offers out of codes
 * (unless the person holds one of theirs) and first-purchase offers to a buyer are left out, then
 * decide() picks under the shop's session rules. `reminder`: the choice is a reminder of a code the
 * person holds. `explain()` says why every other message was not the one (computed only when asked:
 * the endpoint does not). `reasons: false` (the endpoints): the segment conditions' reasons are not
 * written, so `explain()` lists none for the chosen message.
 */
export function chooseMessage(
  shop: Pick<ShopMessages, "messages" | "resolve" | "policy" | "formats">,
  input: { facts: Facts; page: PageContext; history: MessageHistory; now: Date; reasons?: false },
): { chosen: ShopMessage | null; reminder: boolean; explain: () => Explanation } {
  const { facts, now } = input;
  const full = {
    ...input,
    resolve: shop.resolve,
    policy: shop.policy,
    formatOf: (id: number) => shop.formats.get(id) ?? null,
  };
  const withCodes = hasCodes(input.history.codes);
  const offerable = shop.messages.filter(withCodes).filter(offerableTo(facts, now));
  const decision = decide(
    offerable.map((m) => m.spec),
    full,
  );
  const chosen = (decision.message && offerable.find((m) => m.spec.id === decision.message!.id)) || null;
  const explain = (): Explanation => {
    // A first-purchase offer left out for a buyer: its own reason when it had one anyway (not in
    // its segment, not on this page...), else that the customer has ordered before.
    const buyer = shop.messages.filter((m) => withCodes(m) && !offerableTo(facts, now)(m));
    const without = buyer.length
      ? decide(
          buyer.map((m) => m.spec),
          full,
        ).skipped
      : [];
    const buyerWhy = (id: number): ExplainSkip =>
      without.find((s) => s.id === id)?.why ?? "has ordered before";
    const headline = (id: number) => shop.messages.find((m) => m.spec.id === id)?.shown.headline ?? "";
    const dry = shop.messages.filter((m) => !withCodes(m));
    return {
      chosen: decision.message
        ? {
            id: decision.message.id,
            headline: headline(decision.message.id),
            reasons: decision.reasons,
            reminder: decision.reminder,
          }
        : null,
      skipped: [
        ...decision.skipped.map((s) => ({ ...s, headline: headline(s.id) })),
        ...dry.map((m) => ({ id: m.spec.id, headline: m.shown.headline, why: "no codes left" as const })),
        ...buyer.map((m) => ({ id: m.spec.id, headline: m.shown.headline, why: buyerWhy(m.spec.id) })),
      ],
    };
  };
  return { chosen, reminder: decision.reminder, explain };
}

/**
 * What the app knows of this visitor now: the signed-in customer's facts (all their visitors
 * included) merged with this browser's visitor row, and the history of messages shown to either.
 * A visitor the app has never stored (a first page, or no consent for analytics) is on their first
 * session, with nothing bought.
 *
 * PostgreSQL reads it all in one statement (decide-read.server.ts: one round trip, not up to ten in
 * four waves); SQLite, in process, reads the parts with prepared statements (visitorFactsByParts),
 * which is faster there than one statement building JSON.
 */
export function visitorFacts(
  db: PrismaClient,
  shop: Pick<ShopMessages, "shopId" | "need">,
  visitorId: string,
  customerId: string | null,
  now: Date,
): Promise<{ facts: Facts; history: MessageHistory }> {
  const reader = hotFor(db);
  return reader.dialect === "postgres"
    ? visitorFactsInOne(reader, shop, visitorId, customerId, now)
    : visitorFactsByParts(db, shop, visitorId, customerId, now);
}

/** visitorFacts from its parts: loadFacts for the customer, then this browser's rows (SQLite's way). */
export async function visitorFactsByParts(
  db: PrismaClient,
  shop: Pick<ShopMessages, "shopId" | "need">,
  visitorId: string,
  customerId: string | null,
  now: Date,
): Promise<{ facts: Facts; history: MessageHistory }> {
  const { shopId, need } = shop;
  const reader = hotFor(db);
  const [rows, customerFacts, customerVisitors] = await Promise.all([
    reader.rows<VisitorRow>(`SELECT ${VISITOR_COLUMNS} FROM "Visitor" WHERE "id" = ?`, [visitorId]),
    customerId ? loadFacts(db, shopId, [customerId], need).then((f) => f.get(customerId) ?? null) : null,
    // The customer's other browsers: their message history counts too (dismissed on the phone stays dismissed).
    customerId
      ? reader.rows<{ id: string }>(
          `SELECT "id" FROM "Visitor" WHERE "shopId" = ? AND "customerShopifyId" = ? LIMIT 50`,
          [shopId, customerId],
        )
      : [],
  ]);
  const row = rows[0];
  const visitor =
    row && row.shopId === shopId
      ? {
          ...row,
          firstSeenAt: date(row.firstSeenAt),
          lastSeenAt: date(row.lastSeenAt),
          sessions: Number(row.sessions),
        }
      : null;
  const visitorIds = [...new Set([visitorId, ...customerVisitors.map((v) => v.id)])];
  const linked = !!visitor && !!customerFacts?.visitor && visitor.customerShopifyId === customerId;
  const wantOwnEvents = need.events && !linked;
  const messageTypes = marks(MESSAGE_EVENT_TYPES.length);
  const [events, carts, otherHistory] = await Promise.all([
    // This visitor's events when the rules read them (message history among them), or only the
    // message history of this browser and the customer's others.
    wantOwnEvents
      ? reader.rows<EventRow>(
          `SELECT "type", "occurredAt", "resourceId" FROM "StorefrontEvent" WHERE "shopId" = ? AND "visitorId" = ?`,
          [shopId, visitorId],
        )
      : reader.rows<EventRow>(
          `SELECT "type", "occurredAt", "resourceId" FROM "StorefrontEvent"
           WHERE "shopId" = ? AND "visitorId" IN (${marks(visitorIds.length)}) AND "type" IN (${messageTypes})`,
          [shopId, ...visitorIds, ...MESSAGE_EVENT_TYPES],
        ),
    // Only a visitor the customer's facts did not already include brings its own cart.
    need.visitors && visitor?.cartToken && !linked ? loadCarts(db, shopId, [visitor.cartToken]) : null,
    wantOwnEvents && visitorIds.length > 1
      ? reader.rows<EventRow>(
          `SELECT "type", "occurredAt", "resourceId" FROM "StorefrontEvent"
           WHERE "shopId" = ? AND "visitorId" IN (${marks(visitorIds.length - 1)}) AND "type" IN (${messageTypes})`,
          [shopId, ...visitorIds.slice(1), ...MESSAGE_EVENT_TYPES],
        )
      : [],
  ]);
  const cart = visitor?.cartToken ? (carts?.get(visitor.cartToken) ?? null) : null;

  const ownEvents: StorefrontEventFacts[] = wantOwnEvents
    ? events.map((e) => ({ type: e.type, at: date(e.occurredAt), resourceId: e.resourceId }))
    : [];
  const facts: Facts = customerFacts ?? {
    customer: null,
    orders: [],
    checkouts: [],
    cart: null,
    visitor: null,
  };
  if (!linked) {
    // This browser's visitor (or a visitor not stored yet) joins the customer's facts.
    joinThisBrowser(facts, visitor, ownEvents, now);
    if (cart) facts.cart = cart;
    // This browser's checkouts too: completed when the shop holds their order (facts.server.ts).
    if (ownEvents.length) await withOrderedCheckouts(db, shopId, [facts]);
  }
  const history: MessageHistory = { lastShownAt: {}, shownThisSession: [], dismissed: [], converted: [] };
  for (const e of [...events, ...otherHistory]) {
    const id = Number(e.resourceId);
    if (!Number.isInteger(id)) continue;
    if (e.type === MESSAGE_EVENTS.shown) {
      const at = date(e.occurredAt);
      const last = history.lastShownAt[id];
      if (!last || Date.parse(last) < at.getTime()) history.lastShownAt[id] = at.toISOString();
    } else if (e.type === MESSAGE_EVENTS.dismissed) {
      history.dismissed.push(id);
      // The shop's cool-down runs from the latest dismissal of any message, on any of their browsers.
      const at = date(e.occurredAt);
      if (!history.lastDismissedAt || Date.parse(history.lastDismissedAt) < at.getTime())
        history.lastDismissedAt = at.toISOString();
    } else if (e.type === MESSAGE_EVENTS.clicked) history.converted.push(id);
  }
  return { facts, history };
}

/** server.ts's fast path: the decision for a request line's URL, with no router in between. */
export async function decideFromNode(url: string): Promise<{ status: number; body: string }> {
  const answer = await decideForUrl(new URL(url, "http://app.invalid"), prisma);
  return { status: answer.status, body: JSON.stringify(answer.body) };
}
