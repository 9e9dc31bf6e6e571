/**
 * A variant's form values, labels and display, shared by the variants card (browser) and
 * variants.server.ts: what the merchant types, and how a saved variant reads back.
 */
import { formatMoney, fromMinorUnits } from "../engine/money";

export const VARIANT_NAME_LIMIT = 40;
export const VARIANT_WEIGHT_MAX = 100;

/** The variant form as the merchant fills it in (text as typed). */
export interface VariantValues {
  name: string;
  weight: string;
  headline: string;
  body: string;
  buttonLabel: string;
  /** Its own discount value as typed (percent, or an amount in the shop's currency); empty: the message's. */
  discount: string;
}

/** The message's discount terms a variant's discount is read against (null: it gives no discount code). */
export interface VariantDiscountTerms {
  type: "percentage" | "amount";
  currency: string;
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
  discount: "Discount",
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
  /** Its own discount in minor units or percent (null: the message's), and as the merchant reads it. */
  discountValue: number | null;
  discountText: string | null;
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
  return { name: "", weight: "1", headline: "", body: "", buttonLabel: "", discount: "" };
}

/** A saved variant as its form shows it. */
export function variantValuesOf(v: VariantRow, terms: VariantDiscountTerms | null): VariantValues {
  return {
    name: v.name,
    weight: String(v.weight),
    headline: v.headline ?? "",
    body: v.body ?? "",
    buttonLabel: v.buttonLabel ?? "",
    discount:
      v.discountValue === null || !terms
        ? ""
        : terms.type === "amount"
          ? fromMinorUnits(v.discountValue, terms.currency)
          : String(v.discountValue),
  };
}

/** A discount value as the merchant reads it: "15%" or "$5.00". */
export function discountText(value: number, terms: VariantDiscountTerms): string {
  return terms.type === "percentage" ? `${value}%` : formatMoney(value, terms.currency);
}
