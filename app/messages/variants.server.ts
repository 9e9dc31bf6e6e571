/**
 * A message's variants (its A/B test), edited from the message's page: each has a name, a weight
 * (its share of the treated shoppers) and optional headline, text and button label that replace
 * the message's own (empty: the message's own). Every change drops the storefront's cached copy
 * of the shop's messages, so the next decision uses it. A variant is reached through its message
 * and the message through its shop: another shop's variant cannot be read or changed.
 *
 * A variant of a first-purchase offer may also test the reward: its own discount value (a percent,
 * or an amount in the shop's currency, as the message's discount is). Such a variant gets a code
 * pool of its own (pool.server.ts); when its value changes or it is deleted, its codes not yet given
 * out are retired.
 */
import type { PrismaClient } from "@prisma/client";
import { LIMITS } from "../engine/message";
import { fromMinorUnits, toMinorUnits } from "../engine/money";
import { retirePool } from "../offers/pool.server";
import { forgetShopMessages } from "../storefront/decide.server";
import {
  discountText,
  VARIANT_LABELS,
  VARIANT_NAME_LIMIT,
  VARIANT_WEIGHT_MAX,
  type VariantDiscountTerms,
  type VariantField,
  type VariantProblem,
  type VariantActionResult,
  type VariantRow,
  type VariantValues,
} from "./variant-values";

export * from "./variant-values";

function text(form: FormData, key: string): string {
  const v = form.get(key);
  return typeof v === "string" ? v : "";
}

export function readVariantForm(form: FormData): VariantValues {
  return {
    name: text(form, "name"),
    weight: text(form, "weight"),
    headline: text(form, "headline"),
    body: text(form, "body"),
    buttonLabel: text(form, "buttonLabel"),
    discount: text(form, "discount"),
  };
}

interface VariantColumns {
  name: string;
  weight: number;
  headline: string | null;
  body: string | null;
  buttonLabel: string | null;
  discountValue: number | null;
}

/** The form's values as columns, or every problem, each naming its field. */
export function parseVariant(
  values: VariantValues,
  terms: VariantDiscountTerms | null = null,
): { ok: true; columns: VariantColumns } | { ok: false; problems: VariantProblem[] } {
  const problems: VariantProblem[] = [];
  const problem = (field: VariantField, message: string) =>
    problems.push({ field, label: VARIANT_LABELS[field], message });
  const name = values.name.trim();
  if (!name) problem("name", "give the variant a name");
  else if (name.length > VARIANT_NAME_LIMIT)
    problem("name", `must be at most ${VARIANT_NAME_LIMIT} characters`);
  const weightText = values.weight.trim();
  const weight = Number(weightText);
  if (!/^\d+$/.test(weightText) || weight < 1 || weight > VARIANT_WEIGHT_MAX)
    problem("weight", `must be a whole number from 1 to ${VARIANT_WEIGHT_MAX}`);
  const override = (field: "headline" | "body" | "buttonLabel", limit: number): string | null => {
    const s = values[field].trim();
    if (s.length > limit) problem(field, `must be at most ${limit} characters`);
    return s ? s : null;
  };
  const headline = override("headline", LIMITS.headline);
  const body = override("body", LIMITS.body);
  const buttonLabel = override("buttonLabel", LIMITS.buttonLabel);
  let discountValue: number | null = null;
  const discount = (values.discount ?? "").trim();
  if (discount && !terms)
    problem("discount", "only a first-purchase discount offer can test its discount per variant");
  else if (discount && terms?.type === "percentage") {
    discountValue = Number(discount.replace(/%$/, ""));
    if (!/^\d+%?$/.test(discount) || discountValue < 1 || discountValue > 100)
      problem("discount", "must be a whole percent from 1 to 100");
  } else if (discount && terms) {
    try {
      discountValue = toMinorUnits(discount, terms.currency);
      if (discountValue < 1) problem("discount", "must be more than nothing");
    } catch {
      problem(
        "discount",
        `must be an amount in ${terms.currency}, like ${fromMinorUnits(500, terms.currency)}`,
      );
    }
  }
  if (problems.length) return { ok: false, problems };
  return { ok: true, columns: { name, weight, headline, body, buttonLabel, discountValue } };
}

/** The message, if it is this shop's, with its shop's domain and the terms of its discount. */
async function messageOf(db: PrismaClient, shopId: number, messageId: number) {
  const row = await db.message.findFirst({
    where: { id: messageId, shopId },
    select: {
      id: true,
      reward: true,
      discountKind: true,
      shop: { select: { domain: true, currency: true } },
    },
  });
  return row && { ...row, terms: discountTermsOf(row.reward, row.discountKind, row.shop.currency) };
}

/** The terms a variant's own discount is read against: only first-purchase offers have them. */
export function discountTermsOf(
  reward: string,
  discountKind: string,
  currency: string,
): VariantDiscountTerms | null {
  return reward === "firstPurchase"
    ? { type: discountKind === "amount" ? "amount" : "percentage", currency }
    : null;
}

/** A message's variants, oldest first, with each one's share of the treated shoppers. */
export async function listVariants(
  db: PrismaClient,
  shopId: number,
  messageId: number,
): Promise<VariantRow[]> {
  const [rows, message] = await Promise.all([
    db.messageVariant.findMany({ where: { messageId, message: { shopId } }, orderBy: { id: "asc" } }),
    messageOf(db, shopId, messageId),
  ]);
  const terms = message?.terms ?? null;
  const total = rows.reduce((sum, v) => sum + v.weight, 0);
  return rows.map((v) => ({
    id: v.id,
    name: v.name,
    weight: v.weight,
    share: total > 0 ? Math.round((100 * v.weight) / total) : 0,
    headline: v.headline,
    body: v.body,
    buttonLabel: v.buttonLabel,
    // A value left from when the offer gave a discount is not shown (nor used: poolsOf ignores it).
    discountValue: terms ? v.discountValue : null,
    discountText: terms && v.discountValue !== null ? discountText(v.discountValue, terms) : null,
  }));
}

/**
 * Creates (variantId null) or edits a variant of the shop's message. Refused with the fields named;
 * null when the message (or the variant in it) is not this shop's.
 */
export async function saveVariant(
  db: PrismaClient,
  shopId: number,
  messageId: number,
  variantId: number | null,
  values: VariantValues,
): Promise<{ ok: true; id: number } | { ok: false; problems: VariantProblem[] } | null> {
  const message = await messageOf(db, shopId, messageId);
  if (!message) return null;
  const parsed = parseVariant(values, message.terms);
  if (!parsed.ok) return parsed;
  let id: number;
  if (variantId === null) {
    id = (await db.messageVariant.create({ data: { messageId, ...parsed.columns } })).id;
  } else {
    const before = await db.messageVariant.findFirst({ where: { id: variantId, messageId } });
    if (!before) return null;
    await db.messageVariant.update({ where: { id: variantId }, data: parsed.columns });
    // Codes made for its old discount are not given out any more.
    if (before.discountValue !== parsed.columns.discountValue) await retirePool(db, messageId, variantId);
    id = variantId;
  }
  forgetShopMessages(message.shop.domain);
  return { ok: true, id };
}

/** Deletes a variant of the shop's message; false when there is no such variant there. */
export async function deleteVariant(
  db: PrismaClient,
  shopId: number,
  messageId: number,
  variantId: number,
): Promise<boolean> {
  const message = await messageOf(db, shopId, messageId);
  if (!message) return false;
  const { count } = await db.messageVariant.deleteMany({ where: { id: variantId, messageId } });
  if (count) {
    await retirePool(db, messageId, variantId);
    forgetShopMessages(message.shop.domain);
  }
  return count > 0;
}

/** Whether a post is for the variants (its intent starts with "variant-"). */
export function isVariantIntent(form: FormData): boolean {
  const intent = form.get("intent");
  return typeof intent === "string" && intent.startsWith("variant-");
}

/**
 * The variant forms' action: intent "variant-save" (variantId empty for a new one) or
 * "variant-delete". A message or variant that is not this shop's is a 404.
 */
export async function variantAction(
  db: PrismaClient,
  shopId: number,
  messageId: number,
  form: FormData,
): Promise<VariantActionResult> {
  const intent = form.get("intent");
  const rawId = text(form, "variantId").trim();
  const variantId = rawId === "" ? null : Number(rawId);
  if (variantId !== null && !(/^\d+$/.test(rawId) && Number.isSafeInteger(variantId)))
    throw new Response("Which variant?", { status: 400 });
  const missing = () =>
    new Response("There is no such variant of this message in this shop.", { status: 404 });
  if (intent === "variant-delete") {
    if (variantId === null) throw new Response("Which variant?", { status: 400 });
    if (!(await deleteVariant(db, shopId, messageId, variantId))) throw missing();
    return { ok: true, intent, variantId };
  }
  if (intent !== "variant-save") throw new Response(`Unknown intent "${String(intent)}"`, { status: 400 });
  const values = readVariantForm(form);
  const saved = await saveVariant(db, shopId, messageId, variantId, values);
  if (!saved) throw missing();
  if (!saved.ok) return { ok: false, intent, variantId, problems: saved.problems, values };
  return { ok: true, intent, variantId: saved.id };
}
