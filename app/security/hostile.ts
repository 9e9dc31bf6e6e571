/**
 * Bad input for the fuzz tests: a small seeded generator (the same seed, the same inputs, so a
 * failure can be replayed) of malformed JSON, wrong types, huge and deeply nested bodies, and the
 * text that has broken apps before: SQL, Liquid and HTML injection, template strings, NUL bytes,
 * right-to-left and zero-width characters, emoji and lone surrogates.
 */

import { mulberry32 } from "../../dev/webhooks";

/** A tiny deterministic PRNG (mulberry32, as the webhook replayer uses). */
export const seeded = mulberry32;

export const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)];

/** Text that must be stored verbatim and never run as SQL, Liquid or HTML. */
export const INJECTIONS = [
  `'; DROP TABLE "Customer";--`,
  `" OR 1=1 --`,
  `') OR ('1'='1`,
  `{{ shop.name }}`,
  `{% raw %}{{ 7*7 }}{% endraw %}`,
  `{%- assign x = 1 -%}`,
  `<script>alert(1)</script>`,
  `"><img src=x onerror=alert(1)>`,
  `" onmouseover="alert(1)`,
  "${process.exit(1)}",
  "`${7*7}`",
  "a\u0000b",
  "\u202eevil\u202c",
  "zero\u200bwidth\u200d",
  "emoji 🧨👩🏽‍💻",
  "lone \ud800 surrogate",
  "back\\slash and 'quote' and \"double\"",
  "%27%3B--",
  "../../etc/passwd",
] as const;

/** Values of every JSON type but the one a field wants. */
export const WRONG_TYPES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  Number.MAX_SAFE_INTEGER + 2,
  "",
  "1",
  [],
  [1, 2],
  {},
  { $gt: "" },
  "x".repeat(10_000),
];

/** Bodies that are not JSON at all, or not the JSON expected. */
export const MALFORMED_JSON = [
  "",
  "{",
  "}",
  "[",
  "nul",
  '{"a":}',
  "{'single':'quotes'}",
  '{"a":1,}',
  "\u0000",
  "\ufeff{}",
  "NaN",
  "[]",
  '"a string"',
  "123",
  "null",
  "true",
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
] as const;

/** JSON nested `depth` levels deep: `{"a":{"a":…}}`. */
export function deeplyNested(depth: number, key = "a"): string {
  return `${`{"${key}":`.repeat(depth)}1${"}".repeat(depth)}`;
}

/** One random hostile value: an injection string, a wrong type, or a random short unicode string. */
export function hostileValue(random: () => number): unknown {
  const r = random();
  if (r < 0.5) return pick(random, INJECTIONS);
  if (r < 0.8) return pick(random, WRONG_TYPES);
  const length = Math.floor(random() * 12);
  let text = "";
  for (let i = 0; i < length; i++) text += String.fromCharCode(Math.floor(random() * 0xffff));
  return text;
}

/** A copy of `value` with one field (at any depth) replaced by a hostile value, or removed. */
export function mutate(value: unknown, random: () => number): unknown {
  if (value === null || typeof value !== "object") return hostileValue(random);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  const keys = Object.keys(copy);
  if (!keys.length) return hostileValue(random);
  const key = pick(random, keys);
  const target = copy as Record<string, unknown>;
  const r = random();
  if (r < 0.15 && !Array.isArray(copy)) delete target[key];
  else if (r < 0.55) target[key] = mutate(target[key], random);
  else target[key] = hostileValue(random);
  return copy;
}
