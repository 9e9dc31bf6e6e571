/**
 * The shop's rules across all its storefront messages (decide.ts's SessionPolicy), as the admin's
 * Messages page shows and saves them: the cool-down after a shopper dismisses any message, and
 * whether a corner message or bar may follow a popup in the same browser session.
 */
import type { PrismaClient } from "@prisma/client";
import type { SessionPolicy } from "../engine/decide";
import { forgetShopMessages } from "../storefront/decide.server";

/** The longest cool-down a merchant can set, in days. */
export const MAX_COOLDOWN_DAYS = 365;

export async function readPolicy(db: PrismaClient, shopId: number): Promise<SessionPolicy> {
  const shop = await db.shop.findUniqueOrThrow({
    where: { id: shopId },
    select: { messageCooldownDays: true, messageAfterPopup: true },
  });
  return { cooldownDays: shop.messageCooldownDays, afterPopup: shop.messageAfterPopup };
}

export type PolicyResult =
  | { intent: "policy"; ok: true; policy: SessionPolicy }
  | { intent: "policy"; ok: false; field: "cooldownDays"; message: string };

/**
 * Saves the form's `cooldownDays` (whole days, 0 to 365; 0: the rest of the browser session) and
 * `afterPopup` (a checkbox: present when ticked). The storefront's next decision uses them.
 */
export async function savePolicy(db: PrismaClient, shopId: number, form: FormData): Promise<PolicyResult> {
  const raw = String(form.get("cooldownDays") ?? "").trim();
  const days = Number(raw);
  if (!/^\d+$/.test(raw) || days > MAX_COOLDOWN_DAYS)
    return {
      intent: "policy",
      ok: false,
      field: "cooldownDays",
      message: `must be a whole number of days from 0 to ${MAX_COOLDOWN_DAYS}`,
    };
  const policy = { cooldownDays: days, afterPopup: form.get("afterPopup") === "on" };
  const shop = await db.shop.update({
    where: { id: shopId },
    data: { messageCooldownDays: policy.cooldownDays, messageAfterPopup: policy.afterPopup },
    select: { domain: true },
  });
  forgetShopMessages(shop.domain);
  return { intent: "policy", ok: true, policy };
}
