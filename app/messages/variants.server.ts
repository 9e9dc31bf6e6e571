/**
 * A message's variants (its A/B test), edited from the message's page: each has a name, a weight
 * (its share of the treated shoppers) and optional headline, text and button label that replace
 * the message's own (empty: the message's own). Every change drops the storefront's cached copy
 * of the shop's messages, so the next decision uses it. A variant is reached through its message
 * and the message through its shop: another shop's variant cannot be read or changed.
 *
 * Discount value overrides (MessageVariant.discountValue) are not offered: codes are made ahead
 * per message (one pool), so every variant gives the message's discount.
 */
import type { PrismaClient } from "@prisma/client";
import { LIMITS } from "../engine/message";
import { forgetShopMessages } from "../storefront/decide.server";

export const VARIANT_NAME_LIMIT = 40;
export const VARIANT_WEIGHT_MAX = 100;

/** The variant form as the merchant fills it in (text as typed). */
export interface VariantValues {
  name: string;
  weight: string;
  headline: string;
  body: string;
  buttonLabel: string;
}

export type VariantField = keyof VariantValues;

export interface VariantProblem {
  field: VariantField;
  /** The input's label, for the banner. */
  label: string;
  message: string;
}

export const VARIANT_LABELS: Record<VariantField, string> = {
  name: "Name",
  weight: "Weight",
  headline: "Headline",
  body: "Text",
  buttonLabel: "Button label",
};

export interface VariantRow {
  id: number;
  name: string;
  weight: number;
  /** Its share of the treated shoppers, in whole percent. */
  share: number;
  /** null: the message's own. */
  headline: string | null;
  body: string | null;
  buttonLabel: string | null;
}

export type VariantActionResult =
  | { ok: true; intent: "variant-save" | "variant-delete"; variantId: number }
  | {
      ok: false;
      intent: "variant-save";
      variantId: number | null;
      problems: VariantProblem[];
      values: VariantValues;
    };

export function blankVariant(): VariantValues {
  return { name: "", weight: "1", headline: "", body: "", buttonLabel: "" };
}

/** A saved variant as its form shows it. */
export function variantValuesOf(v: VariantRow): VariantValues {
  return {
    name: v.name,
    weight: String(v.weight),
    headline: v.headline ?? "",
    body: v.body ?? "",
    buttonLabel: v.buttonLabel ?? "",
  };
}

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
  };
}

interface VariantColumns {
  name: string;
  weight: number;
  headline: string | null;
  body: string | null;
  buttonLabel: string | null;
}

/** The form's values as columns, or every problem, each naming its field. */
export function parseVariant(
  values: VariantValues,
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
  if (problems.length) return { ok: false, problems };
  return { ok: true, columns: { name, weight, headline, body, buttonLabel } };
}

/** The message, if it is this shop's, with its shop's domain. */
async function messageOf(db: PrismaClient, shopId: number, messageId: number) {
  return db.message.findFirst({
    where: { id: messageId, shopId },
    select: { id: true, shop: { select: { domain: true } } },
  });
}

/** A message's variants, oldest first, with each one's share of the treated shoppers. */
export async function listVariants(
  db: PrismaClient,
  shopId: number,
  messageId: number,
): Promise<VariantRow[]> {
  const rows = await db.messageVariant.findMany({
    where: { messageId, message: { shopId } },
    orderBy: { id: "asc" },
  });
  const total = rows.reduce((sum, v) => sum + v.weight, 0);
  return rows.map((v) => ({
    id: v.id,
    name: v.name,
    weight: v.weight,
    share: total > 0 ? Math.round((100 * v.weight) / total) : 0,
    headline: v.headline,
    body: v.body,
    buttonLabel: v.buttonLabel,
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
  const parsed = parseVariant(values);
  if (!parsed.ok) return parsed;
  let id: number;
  if (variantId === null) {
    id = (await db.messageVariant.create({ data: { messageId, ...parsed.columns } })).id;
  } else {
    const { count } = await db.messageVariant.updateMany({
      where: { id: variantId, messageId },
      data: parsed.columns,
    });
    if (!count) return null;
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
  if (count) forgetShopMessages(message.shop.domain);
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
