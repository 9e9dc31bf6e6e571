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
}

/** What this visitor has done with messages (kept by the app, keyed by message id). */
export interface MessageHistory {
  /** When each message was last shown to this visitor. */
  lastShownAt: Record<number, string | undefined>;
  /** Messages shown in the current session. */
  shownThisSession: number[];
  dismissed: number[];
  converted: number[];
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
  | "lower priority";

export interface Decision {
  message: MessageSpec | null;
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
  },
): Decision {
  const { facts, page, history, now, resolve } = input;
  const skipped: Decision["skipped"] = [];
  const candidates: { message: MessageSpec; reasons: Reason[] }[] = [];
  for (const m of messages) {
    const why = blocked(m, page, history, now);
    if (why) {
      skipped.push({ id: m.id, why });
      continue;
    }
    const rule = audienceRule(m, resolve);
    const result = rule ? evaluate(rule, facts, { now, resolve }) : { member: false, reasons: [] };
    if (!result.member) skipped.push({ id: m.id, why: "not in segment" });
    else candidates.push({ message: m, reasons: result.reasons });
  }
  candidates.sort((a, b) => b.message.priority - a.message.priority || a.message.id - b.message.id);
  const [winner, ...rest] = candidates;
  for (const r of rest) skipped.push({ id: r.message.id, why: "lower priority" });
  return { message: winner?.message ?? null, skipped, reasons: winner?.reasons ?? [] };
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
function blocked(m: MessageSpec, page: PageContext, history: MessageHistory, now: Date): Skip | null {
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
  if (history.converted.includes(m.id)) return "converted";
  if (m.cap.oncePerSession && history.shownThisSession.includes(m.id)) return "shown this session";
  const last = history.lastShownAt[m.id];
  if (m.cap.everyDays !== null && last && now.getTime() - Date.parse(last) < m.cap.everyDays * DAY)
    return "shown recently";
  return null;
}
