/**
 * Turning Shopify's JSON into typed values without losing anything on the way.
 * Integer ids above 2^53 are common; JSON.parse would round them, so such numbers are kept as
 * their exact digits.
 */
import { isSafeNumber } from "lossless-json";
import { z } from "zod";

const LONG_INTEGER = /[-\d]\d{15,}(?![.\deE])/;

/**
 * JSON text → value; a number that a double cannot hold exactly (Shopify's 18-digit ids) becomes
 * its digits, as text. What lossless-json's parser gives, at the speed of JSON.parse: the numbers
 * that would lose digits are quoted first (unsafeNumbersQuoted), then V8's own parser reads it.
 */
export function parseJson(text: string): unknown {
  const value = JSON.parse(LONG_INTEGER.test(text) ? unsafeNumbersQuoted(text) : text);
  return UNSTORABLE_ESCAPE.test(text) ? storableStrings(value) : value;
}

/** The payloads parsedOnce read last, by event id, with their text (a batch's worth). */
const recentlyParsed = new Map<number, { text: string; value: unknown }>();
const RECENT_PAYLOADS = 512;

/**
 * parseJson of an inbox event's payload that more than one step reads: the batched apply, then
 * the after-apply pipeline, read each payload of a batch, and the second read finds the first's
 * value (kept by the event's id, for the same text: the claimed event's own string, so the check
 * is a pointer comparison; by id because hashing a long text costs more than the check). The
 * value is shared: callers only read it.
 */
export function parsedOnce(eventId: number, text: string): unknown {
  const known = recentlyParsed.get(eventId);
  if (known && known.text === text) return known.value;
  const value = parseJson(text);
  recentlyParsed.delete(eventId);
  if (recentlyParsed.size >= RECENT_PAYLOADS) recentlyParsed.delete(recentlyParsed.keys().next().value!);
  recentlyParsed.set(eventId, { text, value });
  return value;
}

const QUOTE = 34;
const BACKSLASH = 92;
/** A character of a JSON number token: 0-9 . e E + - */
const inNumber = (c: number) =>
  (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;

/**
 * The text with every number token outside strings that a double does not hold exactly (not
 * isSafeNumber: more than 15 digits, or an exponent beyond a double's range) put in quotes. Strings are skipped whole (escaped quotes
 * inside them included); text that is not JSON is returned as it is, for JSON.parse to refuse.
 */
export function unsafeNumbersQuoted(text: string): string {
  let out = "";
  let copied = 0;
  const end = text.length;
  let i = 0;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // To the closing quote: one not preceded by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return text;
        let slashes = 0;
        while (text.charCodeAt(j - 1 - slashes) === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
      }
      i = j + 1;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      let exponent = false;
      for (let d = text.charCodeAt(j); j < end && inNumber(d); d = text.charCodeAt(++j))
        if (d === 101 || d === 69) exponent = true;
      // Fewer than 16 characters without an exponent: at most 15 digits, which a double holds.
      if (j - i >= 16 || exponent) {
        const token = text.slice(i, j);
        if (!isSafeNumber(token)) {
          out += `${text.slice(copied, i)}"${token}"`;
          copied = j;
        }
      }
      i = j;
    } else i++;
  }
  return copied ? out + text.slice(copied) : text;
}

/** A JSON escape for NUL or a UTF-16 surrogate: the only way such characters get into a string. */
const UNSTORABLE_ESCAPE = /\\u(0000|[dD][89a-fA-F])/;
// eslint-disable-next-line no-control-regex -- NUL is what it looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text as a database can hold it: NUL (PostgreSQL's text refuses it) and half a surrogate pair
 * (not Unicode; the drivers refuse it) become U+FFFD. Without this, one such character in a
 * payload, or an error message cut in the middle of an emoji, fails every write of the row.
 */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, "\ufffd");
}

function storableStrings(value: unknown): unknown {
  if (typeof value === "string") return storableText(value);
  if (Array.isArray(value)) return value.map(storableStrings);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), storableStrings(v)]));
  return value;
}

/** A Shopify id from a number, a numeric string or a gid ("gid://shopify/Order/123" → "123"). */
export function shopifyId(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : null;
  if (typeof value === "string") {
    const gid = /^gid:\/\/shopify\/\w+\/(\d+)(?:\?.*)?$/.exec(value);
    return gid ? gid[1] : value;
  }
  return null;
}

/** Prefer the exact id in admin_graphql_api_id when it is a real gid; else the (lossless) id. */
export function resourceId(obj: { id?: unknown; admin_graphql_api_id?: unknown }): string {
  const gid =
    typeof obj.admin_graphql_api_id === "string"
      ? /^gid:\/\/shopify\/\w+\/(\d+)$/.exec(obj.admin_graphql_api_id)
      : null;
  const id = gid ? gid[1] : shopifyId(obj.id);
  if (!id) throw new Error("id is missing");
  return id;
}

export const idValue = z.union([z.string(), z.number()]);
export const nullableString = z
  .string()
  .nullish()
  .transform((v) => v ?? null);
export const dateTime = z
  .string()
  .refine(
    (v) => !Number.isNaN(Date.parse(v)),
    (v) => ({ message: `"${v}" is not a date` }),
  )
  .transform((v) => new Date(v));
export const nullableDate = dateTime.nullish().transform((v) => v ?? null);
export const amount = z.union([z.string(), z.number()], {
  errorMap: (_issue, ctx) => ({ message: ctx.data === undefined ? "Required" : "must be a decimal amount" }),
});

/** zod's issues as one readable sentence naming each field ("total_price: Required"). */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "payload"}: ${i.message}`)
    .join("; ");
}

export class PayloadError extends Error {
  override name = "PayloadError";
}

export function parseWith<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new PayloadError(`${what}: ${describeZodError(result.error)}`);
  return result.data;
}
