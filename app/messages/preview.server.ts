/**
 * "What each segment would see": for each of the shop's segments, a real person in it, or an
 * example built to match its rule, and the message the storefront's decision would show them on
 * the home page now, with why every other active message was not the one.
 *
 * The sample:
 * - for a segment about storefront behaviour (visits, views, answers, cart, checkouts), a real
 *   recent visitor: the shop's latest RECENT_VISITORS visitors, newest first, whose facts, read by
 *   the decision's own visitorFacts (with their linked customer, as when signed in), are in the
 *   segment by the evaluator;
 * - for any other segment, a real member customer (its evaluator facts checked too) with their
 *   latest browser, else a recent visitor as above;
 * - else an example built to match the rule (engine/example.ts), said to be one, with what was
 *   assumed.
 * Then chooseMessage, the storefront's own choice, over those facts and that person's message
 * history (dismissed, converted, last shown) in a new browser session.
 *
 * Like the storefront it considers active messages only. It writes nothing: no exposure, no code,
 * no visitor or event (every read here is a read).
 */
import type { PrismaClient } from "@prisma/client";
import type { MessageHistory, PageContext } from "../engine/decide";
import type { Facts, Reason } from "../engine/evaluate";
import { evaluate } from "../engine/evaluate";
import { ago, describePerson, exampleFor } from "../engine/example";
import { fieldsOf } from "../engine/fields-of";
import { FORMAT_LABELS, FORMATS } from "../engine/message";
import type { Rule } from "../engine/rules";
import { shopSegments } from "../segments/store.server";
import { assign } from "../engine/assign";
import {
  chooseMessage,
  loadShopMessages,
  shownFor,
  unitOf,
  visitorFacts,
  type ExplainSkip,
  type Explanation,
} from "../storefront/decide.server";

/** The home page, where every preview is made. */
export const PREVIEW_PAGE: PageContext = { type: "index", path: "/" };

/** How many of the shop's most recent visitors are looked at for a real sample (bounded work). */
export const RECENT_VISITORS = 300;
/** How many member customers are tried (their evaluator facts must agree with the membership row). */
const MEMBERS_TRIED = 20;
/** Everything the facts can hold: a segment's rule may read more than the active messages do. */
const ALL_FACTS = { lines: true, checkouts: true, visitors: true, events: true };

/** Why a message was not the one shown, in the merchant's words. */
export const SKIP_TEXT: Record<ExplainSkip, string> = {
  "not running": "Outside its start and end dates",
  "not in segment": "Not in its audience",
  "not on this page": "Not shown on the home page",
  dismissed: "Dismissed it before",
  converted: "Already took the offer",
  "shown this session": "Already shown this session",
  "shown recently": "Shown recently (its frequency limit)",
  "cool-down": "Dismissed a message recently: nothing is shown for the shop's cool-down",
  "popup this session": "A popup was already shown this session (at most one per session)",
  "after a popup": "A popup was already shown this session, and the shop shows nothing after one",
  "code already held": "Already holds a code for this kind of offer (one per shopper)",
  "lower priority": "Another message has a higher priority",
  "no codes left": "Its discount codes have run out (the app makes more while Shopify is reachable)",
  "has ordered before":
    "A first-purchase offer, and this customer has ordered before (Shopify's lifetime count included)",
};

export interface PreviewMessage {
  id: number;
  name: string;
  headline: string;
  /** "Popup", "Corner message", "Sticky bar". */
  format: string;
}

/** Who a segment was tried with. `about`: a few anonymous phrases (visits, cart, checkout, orders). */
export type PreviewSample =
  | { kind: "visitor"; visitorId: string; customerId: string | null; lastSeen: string; about: string[] }
  | { kind: "customer"; customerId: string; about: string[] }
  | { kind: "example"; customer: boolean; about: string[]; assumed: string[] }
  | { kind: "none"; why: string };

export interface SegmentPreview {
  handle: string;
  name: string;
  sample: PreviewSample;
  /**
   * The message the sample would see, with the segment conditions that put them in its audience;
   * for a real person their arm of its experiment (held out: the storefront shows them nothing)
   * and the variant they would see (its headline is the one shown). An example has no arm.
   */
  message:
    | (PreviewMessage & { reasons: Reason[]; arm: "treatment" | "holdout" | null; variant: string | null })
    | null;
  /** Every other active message and why it was not the one. */
  skipped: (PreviewMessage & { why: ExplainSkip; reason: string })[];
}

interface Person {
  facts: Facts;
  history: MessageHistory;
  /** The experiment unit of a real person (unitOf); an example has none. */
  unit: string | null;
}

/** Each of the shop's segments (by name) and what a sample of it would see on the home page now. */
export async function previewBySegment(
  db: PrismaClient,
  shopId: number,
  now: Date,
): Promise<SegmentPreview[]> {
  const [shop, segments, messages, { resolve }] = await Promise.all([
    db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { domain: true, currency: true } }),
    db.segment.findMany({
      where: { shopId },
      select: { id: true, handle: true, name: true },
      orderBy: [{ name: "asc" }, { id: "asc" }],
    }),
    db.message.findMany({
      where: { shopId },
      select: {
        id: true,
        name: true,
        headline: true,
        format: true,
        variants: { select: { id: true, name: true } },
      },
    }),
    shopSegments(db, shopId),
  ]);
  const live = await loadShopMessages(db, shop.domain, now.getTime());
  const byId = new Map(messages.map((m) => [m.id, m]));
  const variantNames = new Map(messages.flatMap((m) => m.variants.map((v) => [v.id, v.name] as const)));
  const described = (id: number, headline: string): PreviewMessage => {
    const m = byId.get(id);
    const format = m?.format ?? "";
    return {
      id,
      name: m?.name ?? `Message ${id}`,
      headline: headline || m?.headline || "",
      format: (FORMATS as readonly string[]).includes(format)
        ? FORMAT_LABELS[format as (typeof FORMATS)[number]]
        : format,
    };
  };
  const about = (facts: Facts) => describePerson(facts, { now, currency: shop.currency });
  const visitors = recentVisitors(db, shopId, now);

  const previews: SegmentPreview[] = [];
  for (const segment of segments) {
    const rule = resolve(segment.handle);
    let sample: PreviewSample = { kind: "none", why: "Its rule could not be read" };
    let person: Person | null = null;
    if (rule) {
      const isMember = (facts: Facts) => {
        try {
          return evaluate(rule, facts, { now, resolve }).member;
        } catch {
          return false;
        }
      };
      const tryVisitor = async () => {
        const found = await visitors.find(isMember);
        if (!found) return false;
        person = found.person;
        sample = {
          kind: "visitor",
          visitorId: found.id,
          customerId: found.customerId,
          lastSeen: ago(found.lastSeenAt, now),
          about: about(found.person.facts),
        };
        return true;
      };
      const tryMember = async () => {
        const found = await memberCustomer(db, shopId, segment.id, now, isMember);
        if (!found) return false;
        person = found.person;
        // Without a browser of theirs, the visit visitorFacts counts is the preview's own: not theirs to describe.
        const facts = found.browser ? found.person.facts : { ...found.person.facts, visitor: null };
        sample = { kind: "customer", customerId: found.customerId, about: about(facts) };
        return true;
      };
      // A segment about storefront behaviour is what a browser shows: a real visitor or an example
      // of one (a member customer seen without their browser has no cart or visits to show).
      const real = readsBehaviour(rule, resolve)
        ? await tryVisitor()
        : (await tryMember()) || (await tryVisitor());
      if (!real) {
        const example = exampleFor(rule, { now, resolve });
        if (example) {
          person = {
            facts: example.facts,
            history: { lastShownAt: {}, shownThisSession: [], dismissed: [], converted: [] },
            unit: null,
          };
          sample = {
            kind: "example",
            // A rule on customer figures makes the example a signed-in customer.
            customer: example.facts.customer !== null,
            about: about(example.facts),
            assumed: example.companions,
          };
        } else
          sample = {
            kind: "none",
            why: "No recent visitor or customer is in it, and no example could be built for its rule",
          };
      }
    }
    const who: Person | null = person;
    const choice =
      who && live
        ? chooseMessage(live, { facts: who.facts, page: PREVIEW_PAGE, history: who.history, now })
        : null;
    const explanation: Explanation | null = choice ? choice.explain() : null;
    // A real person's own arm of the chosen offer's experiment: their variant, or held out.
    const arm = choice?.chosen && who?.unit ? assign(who.unit, choice.chosen.experiment) : null;
    const shown = choice?.chosen && arm ? shownFor(choice.chosen, arm) : null;
    previews.push({
      handle: segment.handle,
      name: segment.name,
      sample,
      message: explanation?.chosen
        ? {
            ...described(explanation.chosen.id, shown?.headline ?? explanation.chosen.headline),
            reasons: explanation.chosen.reasons,
            arm: arm?.arm ?? null,
            variant: shown?.variantId
              ? (variantNames.get(shown.variantId) ?? `Variant ${shown.variantId}`)
              : null,
          }
        : null,
      skipped: (explanation?.skipped ?? []).map((s) => ({
        ...described(s.id, s.headline),
        why: s.why,
        reason: SKIP_TEXT[s.why] ?? s.why,
      })),
    });
  }
  return previews;
}

/** A rule about storefront behaviour (visits, views, answers, cart, checkouts): tried on visitors first. */
function readsBehaviour(rule: Rule, resolve: (handle: string) => Rule | null): boolean {
  return [...fieldsOf(rule, resolve)].some(
    (f) => f.startsWith("visitor.") || f.startsWith("cart.") || f.startsWith("checkouts."),
  );
}

/**
 * The shop's most recent visitors, newest first, their facts read as the decision reads them
 * (visitorFacts; a visitor linked to a customer with that customer, as when signed in), loaded a
 * page at a time only as far as a search needs, and kept for the next segment's search.
 */
function recentVisitors(db: PrismaClient, shopId: number, now: Date) {
  const PAGE = 25;
  const loaded: { id: string; customerId: string | null; lastSeenAt: Date; person: Person }[] = [];
  let exhausted = false;
  const more = async () => {
    const rows = await db.visitor.findMany({
      where: { shopId },
      orderBy: [{ lastSeenAt: "desc" }, { id: "asc" }],
      skip: loaded.length,
      take: Math.min(PAGE, RECENT_VISITORS - loaded.length),
      select: { id: true, customerShopifyId: true, lastSeenAt: true },
    });
    if (rows.length < PAGE || loaded.length + rows.length >= RECENT_VISITORS) exhausted = true;
    const people = await Promise.all(
      rows.map((r) => visitorFacts(db, { shopId, need: ALL_FACTS }, r.id, r.customerShopifyId, now)),
    );
    rows.forEach((r, i) =>
      loaded.push({
        id: r.id,
        customerId: r.customerShopifyId,
        lastSeenAt: r.lastSeenAt,
        person: { ...people[i], unit: unitOf(r.id, r.customerShopifyId) },
      }),
    );
  };
  return {
    async find(isMember: (facts: Facts) => boolean) {
      for (let i = 0; ; i++) {
        if (i >= loaded.length) {
          if (exhausted) return null;
          await more();
          if (i >= loaded.length) return null;
        }
        if (isMember(loaded[i].person.facts)) return loaded[i];
      }
    },
  };
}

/** A member customer whose facts the evaluator agrees are in the segment, with their latest browser. */
async function memberCustomer(
  db: PrismaClient,
  shopId: number,
  segmentId: number,
  now: Date,
  isMember: (facts: Facts) => boolean,
): Promise<{ customerId: string; browser: boolean; person: Person } | null> {
  const members = await db.segmentMember.findMany({
    where: { segmentId },
    orderBy: { customerShopifyId: "asc" },
    take: MEMBERS_TRIED,
    select: { customerShopifyId: true },
  });
  for (const { customerShopifyId: customerId } of members) {
    const browser = await db.visitor.findFirst({
      where: { shopId, customerShopifyId: customerId },
      orderBy: { lastSeenAt: "desc" },
      select: { id: true },
    });
    const person = await visitorFacts(
      db,
      { shopId, need: ALL_FACTS },
      browser?.id ?? "preview-no-visitor",
      customerId,
      now,
    );
    if (isMember(person.facts))
      return { customerId, browser: !!browser, person: { ...person, unit: unitOf("", customerId) } };
  }
  return null;
}
