/**
 * Money is integer minor units plus an ISO 4217 currency. Shopify sends decimal strings
 * ("199.00"); they are converted exactly, never through a float.
 */

/** Minor-unit exponents that differ from 2. */
const EXPONENTS: Record<string, number> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
};

export function currencyExponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

export function isCurrencyCode(value: unknown): value is string {
  return typeof value === "string" && /^[A-Z]{3}$/.test(value);
}

/** "19.99" USD → 1999; "1500" JPY → 1500. Throws, naming the value, on anything else. */
export function toMinorUnits(amount: string | number, currency: string): number {
  const text = typeof amount === "number" ? String(amount) : amount.trim();
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new Error(`"${amount}" is not a decimal amount`);
  const [, minus, whole, fraction = ""] = match;
  const exponent = currencyExponent(currency);
  const kept = fraction.slice(0, exponent).padEnd(exponent, "0");
  if (/[1-9]/.test(fraction.slice(exponent)))
    throw new Error(`"${amount}" has more decimals than ${currency} allows`);
  const minor = Number(whole) * 10 ** exponent + Number(kept || "0");
  if (!Number.isSafeInteger(minor) || minor > 2_147_483_647)
    throw new Error(`"${amount}" is too large to store`);
  return minus ? -minor : minor;
}

/** 1999, "USD" → "19.99" (for display and for the Admin API). */
export function fromMinorUnits(minor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  const sign = minor < 0 ? "-" : "";
  const digits = String(Math.abs(minor)).padStart(exponent + 1, "0");
  return exponent === 0 ? sign + digits : `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

export function formatMoney(minor: number, currency: string, locale = "en-US"): string {
  const value = Number(fromMinorUnits(minor, currency));
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency }).format(value);
  } catch {
    return `${fromMinorUnits(minor, currency)} ${currency}`;
  }
}
