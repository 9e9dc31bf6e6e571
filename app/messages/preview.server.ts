/**
 * "What each segment would see": for each of the shop's segments, the message one of its members
 * would be shown on the home page now, explained by the storefront's own decision
 * (explainDecision: the same facts and the same decide()). The member is a sample customer of the
 * segment (the first by id) or, for a segment with no member customers (visitor-only segments
 * such as first-time visitors), a made-up anonymous visitor on their first visit.
 *
 * Like the storefront it considers active messages only, and it records nothing (no exposure).
 */
import type { PrismaClient } from "@prisma/client";
import type { PageContext } from "../engine/decide";
import type { Reason } from "../engine/evaluate";
import { FORMAT_LABELS, FORMATS } from "../engine/message";
import { explainDecision, type ExplainSkip } from "../storefront/decide.server";

/** The home page, where every preview is made. */
export const PREVIEW_PAGE: PageContext = { type: "index", path: "/" };

/** A visitor id the app never gives out: nothing is stored for it, so it is on its first visit. */
export const NEW_VISITOR_ID = "slice-preview-new-visitor";

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

export interface SegmentPreview {
  handle: string;
  name: string;
  /** The sample: a member customer's Shopify id, or a new anonymous visitor. */
  sample: { kind: "customer"; customerId: string } | { kind: "visitor" };
  /** The message the sample would see, with the segment conditions that put them in its audience. */
  message: (PreviewMessage & { reasons: Reason[] }) | null;
  /** Every other active message and why it was not the one. */
  skipped: (PreviewMessage & { why: ExplainSkip; reason: string })[];
}

/** Each of the shop's segments (by name) and what a sample member would see on the home page now. */
export async function previewBySegment(
  db: PrismaClient,
  shopId: number,
  now: Date,
): Promise<SegmentPreview[]> {
  const [shop, segments, messages] = await Promise.all([
    db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { domain: true } }),
    db.segment.findMany({
      where: { shopId },
      select: { id: true, handle: true, name: true },
      orderBy: [{ name: "asc" }, { id: "asc" }],
    }),
    db.message.findMany({
      where: { shopId },
      select: { id: true, name: true, headline: true, format: true },
    }),
  ]);
  const byId = new Map(messages.map((m) => [m.id, m]));
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
  const previews: SegmentPreview[] = [];
  for (const segment of segments) {
    const member = await db.segmentMember.findFirst({
      where: { segmentId: segment.id },
      orderBy: { customerShopifyId: "asc" },
      select: { customerShopifyId: true },
    });
    const explanation = await explainDecision(
      db,
      shop.domain,
      member
        ? { customerId: member.customerShopifyId, page: PREVIEW_PAGE, now }
        : { visitorId: NEW_VISITOR_ID, page: PREVIEW_PAGE, now },
    );
    previews.push({
      handle: segment.handle,
      name: segment.name,
      sample: member ? { kind: "customer", customerId: member.customerShopifyId } : { kind: "visitor" },
      message: explanation?.chosen
        ? {
            ...described(explanation.chosen.id, explanation.chosen.headline),
            reasons: explanation.chosen.reasons,
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
