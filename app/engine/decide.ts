/**
 * decide(): which one message a storefront visitor should see now, if any. Pure: the visitor's
 * facts, the page, what this visitor has already seen, dismissed or converted on, and `now` are
 * all parameters. The storefront's decision endpoint calls it with facts read for the visitor
 * (and the signed-in customer); the answer names the trigger the script waits for (on load, after
 * N seconds, at N% scroll, on exit intent, on add to cart).
 *
 * Rules, in order:
 * - a message applies to its segment's members only (the one evaluator, evaluate.ts);
 * - page targeting: page types (empty = every page) and URL paths that must contain a given text;
 * - never again after the visitor dismissed it or converted on it;
 * - frequency caps: at most once per session, and/or not again within N days of last showing;
 * - across all messages, for the browser session and the shop's policy (SessionPolicy):
 *   - after the shopper dismissed any message, nothing for the cool-down (`cooldownDays` since
 *     the last stored dismissal; a dismissal in this browser session always counts, so 0 days
 *     means the rest of the session);
 *   - at most one popup per session; after a popup, a corner message or bar only if the shop
 *     allows it (`afterPopup`);
 * - discount codes (MessageSpec.codeKind): a shopper (customer, else visitor) holds at most one
 *   code per kind (first-purchase, referral). Another message of a kind they hold a code of is
 *   never a candidate ("code already held"). If their code can still be used (not redeemed, not
 *   expired), they are reminded of it: the message that gave the code is a candidate
 *   (`reminder: true`) wherever it may appear (its dates, pages, caps and the session rules; not
 *   after they dismissed it; a click on it is not a use of the code, so it does not stop the
 *   reminder), also once they have left its audience (a first-time visitor who comes back), at
 *   its own priority or, when another offer of that kind would have been shown, at that one's if
 *   higher (the reminder takes its place);
 * - of the messages left, the highest priority wins (ties: the earliest created, i.e. lowest id),
 *   so a merchant's narrow micro-segment message can sit above a broad fallback.
 */
import { evaluate, type Facts, type Reason } from "./evaluate";
import type { Rule, RuleNode } from "./rules";

export const PAGE_TYPES = [
  "index",
  "product",
  "collection",
  "cart",
  "search",
  "page",
  "blog",
  "article",
  "other",
] as const;
export type PageType = (typeof PAGE_TYPES)[number];

export type Format = "popup" | "corner" | "bar";

export type Trigger =
  | { on: "load" }
  | { on: "delay"; seconds: number }
  | { on: "scroll"; percent: number }
  | { on: "exit" }
  | { on: "addToCart" };

export interface MessageSpec {
  id: number;
  /** The segment whose members see it. */
  segment: string;
  /** Further audience: also in all of these segments, in at least one of these, in none of these. */
  audience: { alsoAll: string[]; anyOf: string[]; exclude: string[] };
  /** When it runs (ISO times; null: from now on / no end). */
  schedule: { startsAt: string | null; endsAt: string | null };
  format: Format;
  trigger: Trigger;
  priority: number;
  pages: { types: PageType[]; pathContains: string[] };
  cap: { oncePerSession: boolean; everyDays: number | null };
  /** The kind of discount code it gives (a shopper holds at most one per kind); null: none. */
  codeKind?: CodeKind | null;
}

/** Discount codes a shopper may hold one of: a first-purchase code, a referral code. */
export type CodeKind = "firstPurchase" | "referral";

/** A code the shopper holds: the message that gave it, and whether it can still be used. */
export interface HeldCode {
  kind: CodeKind;
  messageId: number;
  /** Issued, not redeemed, not expired. */
  usable: boolean;
}

/** The shop's rules across all its messages (Shop.messageCooldownDays, messageAfterPopup). */
export interface SessionPolicy {
  /** Days nothing is shown after the shopper dismissed a message; 0: the rest of the session. */
  cooldownDays: number;
  /** A corner message or bar may follow a popup in the same session. */
  afterPopup: boolean;
}

export const DEFAULT_POLICY: SessionPolicy = { cooldownDays: 1, afterPopup: false };

/** What this visitor has done with messages (kept by the app, keyed by message id). */
export interface MessageHistory {
  /** When each message was last shown to this visitor. */
  lastShownAt: Record<number, string | undefined>;
  /** Messages shown in the current session. */
  shownThisSession: number[];
  dismissed: number[];
  converted: number[];
  /** Messages dismissed in this browser session (the script's `dismissed=`; kept without consent too). */
  dismissedThisSession?: number[];
  /** When the shopper last dismissed any message (stored events, on any of the customer's browsers). */
  lastDismissedAt?: string | null;
  /** The discount codes the shopper holds, at most one per kind. */
  codes?: HeldCode[];
}

export interface PageContext {
  type: PageType;
  path: string;
}

export type Skip =
  | "not running"
  | "not in segment"
  | "not on this page"
  | "dismissed"
  | "converted"
  | "shown this session"
  | "shown recently"
  | "cool-down"
  | "popup this session"
  | "after a popup"
  | "code already held"
  | "lower priority";

export interface Decision {
  message: MessageSpec | null;
  /** The message is a reminder of the code the shopper holds from it (not a new offer). */
  reminder: boolean;
  /** Why each other message was not chosen: shown in the admin's preview, and in tests. */
  skipped: { id: number; why: Skip }[];
  /** The chosen message's segment conditions, met and unmet. */
  reasons: Reason[];
}

const DAY = 86_400_000;

export function decide(
  messages: MessageSpec[],
  input: {
    facts: Facts;
    page: PageContext;
    history: MessageHistory;
    now: Date;
    resolve: (handle: string) => Rule | null;
    /** The shop's rules across messages (default: DEFAULT_POLICY). */
    policy?: SessionPolicy;
    /** The format of a message shown this session, also one not among `messages` (default: from them). */
    formatOf?: (id: number) => Format | null;
    /**
     * false: the choice only, `reasons` left empty. The storefront's answer shows none, and
     * writing them (each condition's value formatted in the shop's locale) was a fifth of the
     * decision's CPU at 500/s (bench/results/storefront-pg-2026-12-05-pglat16-profile-*.txt).
     */
    reasons?: false;
  },
): Decision {
  const { facts, page, history, now, resolve } = input;
  const policy = input.policy ?? DEFAULT_POLICY;
  const formatOf = input.formatOf ?? ((id: number) => messages.find((m) => m.id === id)?.format ?? null);
  const across = sessionRule(history, policy, now, formatOf);
  const held = new Map((history.codes ?? []).map((c) => [c.kind, c]));
  // Per kind of code held and still usable: the message that gave it, when it may appear now.
  const remindable = new Map<CodeKind, MessageSpec>();
  for (const c of held.values()) {
    const giver = c.usable ? messages.find((m) => m.id === c.messageId && m.codeKind === c.kind) : undefined;
    if (giver && !(blocked(giver, page, history, now, true) ?? across(giver))) remindable.set(c.kind, giver);
  }
  const skipped: Decision["skipped"] = [];
  const candidates: { message: MessageSpec; reasons: Reason[]; reminder: boolean }[] = [];
  // Messages of a kind whose code is held, that would have been shown: they call for the reminder.
  const triggers = new Map<CodeKind, { message: MessageSpec; reasons: Reason[] }[]>();
  const pendingSkips = new Map<number, Skip>();
  for (const m of messages) {
    const code = m.codeKind ? held.get(m.codeKind) : undefined;
    const giver = code && m.codeKind ? remindable.get(m.codeKind) : undefined;
    // Taking a code (its button) is not using it: the message that gave it may still remind.
    const why = blocked(m, page, history, now, giver?.id === m.id) ?? across(m);
    if (why) {
      skipped.push({ id: m.id, why });
      continue;
    }
    if (code && !giver) {
      // Used or expired, or its message cannot appear now: no second code of the kind, no reminder.
      skipped.push({ id: m.id, why: "code already held" });
      continue;
    }
    const rule = audienceRule(m, resolve);
    const result = rule
      ? evaluate(rule, facts, { now, resolve, reasons: input.reasons })
      : { member: false, reasons: [] };
    if (!result.member) {
      if (giver) pendingSkips.set(m.id, "not in segment");
      else skipped.push({ id: m.id, why: "not in segment" });
    } else if (giver && m.codeKind) {
      triggers.set(m.codeKind, [
        ...(triggers.get(m.codeKind) ?? []),
        { message: m, reasons: result.reasons },
      ]);
      if (m.id !== giver.id) pendingSkips.set(m.id, "code already held");
    } else candidates.push({ message: m, reasons: result.reasons, reminder: false });
  }
  const reminding = new Set<number>();
  for (const [kind, giver] of remindable) {
    const calls = triggers.get(kind) ?? [];
    const top = calls.reduce<(typeof calls)[number] | null>(
      (a, b) => (!a || b.message.priority > a.message.priority ? b : a),
      null,
    );
    const own = calls.find((c) => c.message.id === giver.id);
    reminding.add(giver.id);
    pendingSkips.delete(giver.id);
    candidates.push({
      message: { ...giver, priority: Math.max(giver.priority, top?.message.priority ?? -Infinity) },
      reasons: (own ?? top)?.reasons ?? [],
      reminder: true,
    });
  }
  for (const [id, why] of pendingSkips) if (!reminding.has(id)) skipped.push({ id, why });
  candidates.sort((a, b) => b.message.priority - a.message.priority || a.message.id - b.message.id);
  const [winner, ...rest] = candidates;
  for (const r of rest) skipped.push({ id: r.message.id, why: "lower priority" });
  const chosen = winner ? (messages.find((m) => m.id === winner.message.id) ?? null) : null;
  return { message: chosen, reminder: winner?.reminder ?? false, skipped, reasons: winner?.reasons ?? [] };
}

/**
 * The rules across all messages for this browser session and the shop's policy: the cool-down
 * after any dismissal, at most one popup, and a corner or bar after a popup only if allowed.
 */
function sessionRule(
  history: MessageHistory,
  policy: SessionPolicy,
  now: Date,
  formatOf: (id: number) => Format | null,
): (m: MessageSpec) => Skip | null {
  const last = history.lastDismissedAt ? Date.parse(history.lastDismissedAt) : NaN;
  const cooling =
    (history.dismissedThisSession ?? []).length > 0 ||
    (policy.cooldownDays > 0 && !Number.isNaN(last) && now.getTime() - last < policy.cooldownDays * DAY);
  const popupShown = history.shownThisSession.some((id) => formatOf(id) === "popup");
  return (m) => {
    if (cooling) return "cool-down";
    if (popupShown && m.format === "popup") return "popup this session";
    if (popupShown && !policy.afterPopup) return "after a popup";
    return null;
  };
}

/**
 * A message's audience as one rule: its segment, and also every `alsoAll` segment, and at least one
 * `anyOf` segment, and none of the `exclude` ones. Null when its segment no longer exists.
 */
export function audienceRule(
  m: Pick<MessageSpec, "segment" | "audience">,
  resolve: (h: string) => Rule | null,
): Rule | null {
  const own = resolve(m.segment);
  if (!own) return null;
  const { alsoAll, anyOf, exclude } = m.audience;
  if (!alsoAll.length && !anyOf.length && !exclude.length) return own;
  const all: RuleNode[] = [{ segment: m.segment }, ...alsoAll.map((segment) => ({ segment }))];
  if (anyOf.length) all.push({ any: anyOf.map((segment) => ({ segment })) });
  if (exclude.length) all.push({ not: { any: exclude.map((segment) => ({ segment })) } });
  return { ...own, match: { all } };
}

/** The cheap checks first: dates, page, dismissals, conversions and caps (no evaluation needed). */
function blocked(
  m: MessageSpec,
  page: PageContext,
  history: MessageHistory,
  now: Date,
  reminding = false,
): Skip | null {
  const t = now.getTime();
  if (
    (m.schedule.startsAt && t < Date.parse(m.schedule.startsAt)) ||
    (m.schedule.endsAt && t >= Date.parse(m.schedule.endsAt))
  )
    return "not running";
  if (m.pages.types.length && !m.pages.types.includes(page.type)) return "not on this page";
  if (m.pages.pathContains.length && !m.pages.pathContains.some((p) => page.path.includes(p)))
    return "not on this page";
  if (history.dismissed.includes(m.id)) return "dismissed";
  if (!reminding && history.converted.includes(m.id)) return "converted";
  if (m.cap.oncePerSession && history.shownThisSession.includes(m.id)) return "shown this session";
  const last = history.lastShownAt[m.id];
  if (m.cap.everyDays !== null && last && now.getTime() - Date.parse(last) < m.cap.everyDays * DAY)
    return "shown recently";
  return null;
}
