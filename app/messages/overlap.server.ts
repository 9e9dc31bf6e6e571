/**
 * The admin's warning about active messages that reach the same people: for each pair of active
 * messages whose pages, dates and audiences can meet (engine/overlap.ts), how many people both
 * reach where the app can count them (customers in both audiences now, from SegmentMember), and
 * which one the storefront shows when both apply, and why (decide()'s order), with what the rules
 * across messages then do to the other one.
 *
 * Visitors who are not customers are not members of any segment the app stores, so an audience
 * that reads storefront behaviour, carts or checkouts (fields a guest can have) may reach more
 * people than the count: the warning says so ("may overlap" when no customer is in both).
 */
import type { PrismaClient } from "@prisma/client";
import { dialectOfClient } from "../db.server";
import { audienceRule, type MessageSpec } from "../engine/decide";
import { fieldsOf } from "../engine/fields-of";
import { specOf } from "../engine/message";
import { audiencesExclude, schedulesMeet, sharedPageTypes, winnerOf } from "../engine/overlap";
import type { Rule } from "../engine/rules";
import { shopSegments } from "../segments/store.server";
import { listMessages } from "./store.server";

export interface OverlapWarning {
  /** The two messages, the winner first. */
  winner: { id: number; name: string };
  other: { id: number; name: string };
  /** Why the winner is shown when both apply. */
  why: string;
  /** Customers in both audiences now; null when they share a segment of visitors only (not countable). */
  customers: number | null;
  /** "same segment", "members in common" (customers counted), or "may overlap" (only guests could be in both). */
  basis: "same segment" | "members in common" | "may overlap";
  /** Guests (visitors who are not customers) may be in both as well: the count is a lower bound. */
  visitorsToo: boolean;
  /** The page types both can be shown on; null: every page. */
  pages: string[] | null;
  /** What the rules across messages then do to the other message, in the merchant's words. */
  then: string[];
}

/** Fields a guest (a visitor who is not a customer) can have: an audience reading only these can hold guests. */
const GUEST_FAMILIES = new Set(["visitor", "cart", "checkouts"]);

function readsGuests(rule: Rule, resolve: (h: string) => Rule | null): boolean {
  const fields = [...fieldsOf(rule, resolve)];
  // A rule that reads nothing (everyone) holds guests too.
  return !fields.length || fields.some((f) => GUEST_FAMILIES.has(f.split(".")[0]));
}

/** Customers in both audiences now, from the stored memberships. */
async function customersInBoth(
  db: PrismaClient,
  segmentIds: Map<string, number>,
  a: MessageSpec,
  b: MessageSpec,
): Promise<number> {
  const all = [...new Set([a.segment, b.segment, ...a.audience.alsoAll, ...b.audience.alsoAll])];
  const idOf = (h: string) => segmentIds.get(h) ?? -1;
  const [first, ...rest] = all.map(idOf);
  const params: number[] = [first];
  const where: string[] = [`m0."segmentId" = ?`];
  const exists = (ids: number[], not = false) => {
    params.push(...ids);
    where.push(
      `${not ? "NOT " : ""}EXISTS (SELECT 1 FROM "SegmentMember" x WHERE x."customerShopifyId" = m0."customerShopifyId" AND x."segmentId" IN (${ids.map(() => "?").join(", ")}))`,
    );
  };
  for (const id of rest) exists([id]);
  for (const anyOf of [a.audience.anyOf, b.audience.anyOf]) if (anyOf.length) exists(anyOf.map(idOf));
  const exclude = [...a.audience.exclude, ...b.audience.exclude];
  if (exclude.length) exists(exclude.map(idOf), true);
  const sql = `SELECT count(*) AS n FROM "SegmentMember" m0 WHERE ${where.join(" AND ")}`;
  let n = 0;
  const rows = await db.$queryRawUnsafe<{ n: unknown }[]>(
    dialectOfClient(db) === "sqlite" ? sql : sql.replace(/\?/g, () => `$${++n}`),
    ...params,
  );
  return Number(rows[0]?.n ?? 0);
}

const FORMAT_WORDS = { popup: "popup", corner: "corner message", bar: "bar" } as const;

/** What the session rules do to the other message when both apply (and a shopper sees the winner). */
function consequences(
  w: MessageSpec & { name: string },
  o: MessageSpec & { name: string },
  afterPopup: boolean,
  cooldownDays: number,
): string[] {
  const then: string[] = [];
  if (w.format === "popup" && o.format === "popup")
    then.push(`"${o.name}" is not shown later in the same browser session (one popup a session).`);
  else if (w.format === "popup")
    then.push(
      afterPopup
        ? `"${o.name}" (a ${FORMAT_WORDS[o.format]}) may follow on a later page of the session: the shop allows a corner message or bar after a popup.`
        : `"${o.name}" (a ${FORMAT_WORDS[o.format]}) is not shown later in the session: the shop shows nothing after a popup.`,
    );
  if (w.codeKind && w.codeKind === o.codeKind)
    then.push(
      `A shopper given "${w.name}"'s code is never given "${o.name}"'s (one ${w.codeKind === "referral" ? "referral" : "first-purchase"} code per shopper); while their code is unused they are reminded of it instead.`,
    );
  then.push(
    cooldownDays > 0
      ? `If the shopper dismisses "${w.name}", nothing is shown for ${cooldownDays} day${cooldownDays === 1 ? "" : "s"} (the shop's cool-down).`
      : `If the shopper dismisses "${w.name}", nothing more is shown in that session.`,
  );
  return then;
}

/**
 * The warnings for a shop's active messages (or only those involving `messageId`), the pairs with
 * the most people in common first.
 */
export async function overlapWarnings(
  db: PrismaClient,
  shopId: number,
  now: Date,
  messageId?: number,
): Promise<OverlapWarning[]> {
  const [rows, segments, shop] = await Promise.all([
    listMessages(db, shopId),
    shopSegments(db, shopId),
    db.shop.findUniqueOrThrow({
      where: { id: shopId },
      select: { messageCooldownDays: true, messageAfterPopup: true },
    }),
  ]);
  const segmentIds = new Map(segments.segments.map((s) => [s.handle, s.id]));
  const active = rows
    .filter((r) => r.input.active)
    .map((r) => ({ ...specOf(r.id, r.input), name: r.input.name }))
    .filter((m) => audienceRule(m, segments.resolve));
  const warnings: OverlapWarning[] = [];
  for (const [i, a] of active.entries())
    for (const b of active.slice(i + 1)) {
      if (messageId !== undefined && a.id !== messageId && b.id !== messageId) continue;
      const pages = sharedPageTypes(a, b);
      if (pages?.length === 0 || !schedulesMeet(a, b, now)) continue;
      if (audiencesExclude(a, b, segments.resolve)) continue;
      const sameAudience =
        a.segment === b.segment && JSON.stringify(a.audience) === JSON.stringify(b.audience);
      const customers = await customersInBoth(db, segmentIds, a, b);
      const guests =
        readsGuests(audienceRule(a, segments.resolve)!, segments.resolve) &&
        readsGuests(audienceRule(b, segments.resolve)!, segments.resolve);
      if (!sameAudience && !customers && !guests) continue;
      const { winner, why } = winnerOf(a, b);
      const [w, o] = winner === a.id ? [a, b] : [b, a];
      warnings.push({
        winner: { id: w.id, name: w.name },
        other: { id: o.id, name: o.name },
        why,
        customers: customers || (guests ? null : 0),
        basis: sameAudience ? "same segment" : customers ? "members in common" : "may overlap",
        visitorsToo: guests,
        pages,
        then: consequences(w, o, shop.messageAfterPopup, shop.messageCooldownDays),
      });
    }
  return warnings.sort((x, y) => (y.customers ?? 0) - (x.customers ?? 0));
}
