/**
 * What follows a batch of applied webhooks: the state derived from the shop's copy (segment
 * memberships, code redemptions, referral rewards, privacy scrubs of the inbox). Run by the inbox
 * worker after the batch's applies committed; a failure here is logged and never re-applies an
 * event (everything it writes can be derived again: the relative-time sweep and a recompute
 * correct memberships).
 */
import type { PrismaClient } from "@prisma/client";
import type { AppliedEvent } from "./worker.server";
import type { AdminApi } from "./admin-api.server";
import { afterWebhook } from "../segments/incremental.server";

export async function afterApplied(
  db: PrismaClient,
  events: readonly Pick<AppliedEvent, "shopDomain" | "topic" | "payload">[],
  now: Date,
  adminFor?: (shop: string) => Promise<AdminApi>,
): Promise<void> {
  for (const event of events) await afterWebhook(db, event, now, adminFor);
}
