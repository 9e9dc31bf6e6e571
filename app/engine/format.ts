/**
 * How the admin, exports and the CLI show money, numbers and times: in the shop's currency and
 * time zone, in the reader's locale. Pure (no Node, no Remix): every function takes what it needs.
 */
import { formatMoney as moneyIn, fromMinorUnits } from "./money";

/** What a figure is shown in: the shop's currency and IANA time zone, the reader's locale. */
export interface ShopFormat {
  currency: string;
  timeZone: string;
  locale: string;
}

export const DEFAULT_FORMAT: ShopFormat = { currency: "USD", timeZone: "UTC", locale: "en-US" };

/** A BCP 47 tag the runtime accepts ("en", "fr-CA"), or "en-US" for anything else. */
export function safeLocale(tag: string | null | undefined): string {
  if (!tag) return "en-US";
  try {
    return Intl.getCanonicalLocales(tag.trim())[0] ?? "en-US";
  } catch {
    return "en-US";
  }
}

/** A time zone the runtime knows, or "UTC". */
export function safeTimeZone(zone: string | null | undefined): string {
  if (!zone) return "UTC";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone;
  } catch {
    return "UTC";
  }
}

/** The first language of an Accept-Language header ("fr-CA,fr;q=0.9" → "fr-CA"). */
export function localeFromAcceptLanguage(header: string | null | undefined): string | null {
  const first = header?.split(",")[0]?.split(";")[0]?.trim();
  return first && first !== "*" ? safeLocale(first) : null;
}

/** 186870 minor units → "$1,868.70" (in the shop's currency and the reader's locale). */
export function money(minor: number, f: ShopFormat): string {
  return moneyIn(minor, f.currency, f.locale);
}

/** 186870 → "1868.70": the currency's decimal units, for exports and machine-readable output. */
export function moneyDecimal(minor: number, currency: string): string {
  return fromMinorUnits(minor, currency);
}

export function count(n: number, f: Pick<ShopFormat, "locale">): string {
  return new Intl.NumberFormat(f.locale).format(n);
}

/** 0.1234 → "12.3%"; digits after the point default to 1. */
export function percent(ratio: number, f: Pick<ShopFormat, "locale">, digits = 1): string {
  return new Intl.NumberFormat(f.locale, {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(ratio);
}

function toDate(at: Date | string | number): Date {
  return at instanceof Date ? at : new Date(at);
}

/** "Oct 25, 2026": the calendar day in the shop's time zone. */
export function date(at: Date | string | number, f: ShopFormat): string {
  return new Intl.DateTimeFormat(f.locale, { dateStyle: "medium", timeZone: f.timeZone }).format(toDate(at));
}

/** "Oct 25, 2026, 10:09 AM": a moment, in the shop's time zone. */
export function dateTime(at: Date | string | number, f: ShopFormat): string {
  return new Intl.DateTimeFormat(f.locale, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: f.timeZone,
  }).format(toDate(at));
}

/** A formatter that reads a moment's wall-clock parts in `timeZone` (built once per zone). */
function wallClock(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** Minutes east of UTC that `clock`'s zone is at `at`. */
function offsetOn(clock: Intl.DateTimeFormat, at: Date): number {
  const parts = clock.formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return Math.round((local - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/** Minutes east of UTC of `timeZone` at `at` (e.g. -240 for New York in summer). */
export function offsetMinutes(at: Date, timeZone: string): number {
  return offsetOn(wallClock(timeZone), at);
}

/** `at` written as the wall-clock time `offset` minutes east of UTC, with that offset. */
function isoWithOffset(at: Date, offset: number): string {
  const local = new Date(Math.floor(at.getTime() / 1000) * 1000 + offset * 60_000);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${local.toISOString().slice(0, 19)}${sign}${hh}:${mm}`;
}

/**
 * ISO 8601 with the shop's offset: 2026-10-25T14:09:20.000Z in America/New_York →
 * "2026-10-25T10:09:20-04:00" (for exports: exact, sortable and readable in the shop's time).
 */
export function isoInZone(at: Date | string | number, timeZone: string): string {
  const d = toDate(at);
  return isoWithOffset(d, offsetMinutes(d, timeZone));
}

/** "3 hours ago", "in 2 days": how far `at` is from `now`, in the reader's locale. */
export function relative(at: Date | string | number, now: Date, f: Pick<ShopFormat, "locale">): string {
  const seconds = (toDate(at).getTime() - now.getTime()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(f.locale, { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(Math.round(seconds), "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return rtf.format(Math.round(seconds / 3600), "hour");
  if (abs < 30 * 86_400) return rtf.format(Math.round(seconds / 86_400), "day");
  if (abs < 365 * 86_400) return rtf.format(Math.round(seconds / (30 * 86_400)), "month");
  return rtf.format(Math.round(seconds / (365 * 86_400)), "year");
}

/**
 * isoInZone for many times in one zone (an export's rows): the same text, with the zone's
 * formatter built once and each hour's offset remembered (building an Intl.DateTimeFormat per
 * call cost about 90 µs, 9 s for 100,000 rows).
 */
export function isoInZoneFor(timeZone: string): (at: Date | string | number) => string {
  const clock = wallClock(timeZone);
  const offsets = new Map<number, number>();
  const offsetAt = (d: Date): number => {
    // Offsets change on whole quarter hours: one per quarter hour is exact.
    const quarter = Math.floor(d.getTime() / 900_000);
    let offset = offsets.get(quarter);
    if (offset === undefined) {
      offset = offsetOn(clock, new Date(quarter * 900_000));
      if (offsets.size > 10_000) offsets.clear();
      offsets.set(quarter, offset);
    }
    return offset;
  };
  return (at) => {
    const d = toDate(at);
    return isoWithOffset(d, offsetAt(d));
  };
}

/** A difference of two rates in percentage points, signed: 0.0123 → "+1.2", −0.004 → "−0.4", 0 → "0.0". */
export function points(difference: number, f: Pick<ShopFormat, "locale">, digits = 1): string {
  return new Intl.NumberFormat(f.locale, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    signDisplay: "exceptZero",
  }).format(difference * 100);
}

/** A difference of money, signed: 85 → "+$0.85", −10 → "-$0.10" (minor units, rounded to whole ones). */
export function signedMoney(minor: number, f: ShopFormat): string {
  const rounded = Math.round(minor);
  return `${rounded > 0 ? "+" : ""}${money(rounded, f)}`;
}

/** The symbol an amount in the shop's currency is written with ("$", "€", "CA$"), or the code. */
export function currencySymbol(f: Pick<ShopFormat, "currency" | "locale">): string {
  try {
    const parts = new Intl.NumberFormat(f.locale, {
      style: "currency",
      currency: f.currency,
      currencyDisplay: "narrowSymbol",
    }).formatToParts(0);
    return parts.find((p) => p.type === "currency")?.value ?? f.currency;
  } catch {
    return f.currency;
  }
}
