/**
 * What the segment builder needs from the database: the live size, a sample and the overlap of
 * a draft rule while it is edited, saving (validated by the one validator, parseRule) and the
 * picker options. Routes stay thin; everything here takes the Prisma client and a shop id.
 */
import { orderHistoryAccess } from "../sync/scopes.server";
import type { PrismaClient } from "@prisma/client";
import { redirect } from "@remix-run/node";
import { z } from "zod";
import { dialectOfClient } from "../db.server";
import { compile } from "../engine/sql";
import {
  FIELDS,
  isStorableText,
  RuleError,
  parseRule,
  UNSTORABLE_MESSAGE,
  type Rule,
  type RuleNode,
  type RuleProblem,
} from "../engine/rules";
import { countVisitors, recompute, shopSegments, topSpendThreshold } from "./store.server";
import { audienceOf, countsVisitors, type Audience } from "../engine/fields-of";
import { presets } from "../engine/presets";

export interface Preview {
  size: number;
  /** Who the rule is about, from what it reads. */
  audience: Audience;
  /** Visitors seen in the last 30 days who match (guests included); null for a customers-only rule. */
  visitors: number | null;
  sample: {
    shopifyId: string;
    name: string;
    email: string | null;
    ordersCount: number;
    totalSpent: number;
  }[];
  overlap: { handle: string; name: string; size: number; shared: number }[];
}

export type PreviewResult = { ok: true; preview: Preview } | { ok: false; problems: RuleProblem[] };

function problemsOf(error: unknown): RuleProblem[] {
  if (error instanceof RuleError) return error.problems;
  throw error;
}

/** Size, a sample of members and overlap with the shop's other segments, for a rule not yet saved. */
export async function previewRule(
  db: PrismaClient,
  shopId: number,
  input: unknown,
  now: Date,
  self?: string,
): Promise<PreviewResult> {
  const { segments, resolve } = await shopSegments(db, shopId);
  let rule: Rule;
  try {
    rule = parseRule(input, resolve, self);
  } catch (error) {
    return { ok: false, problems: problemsOf(error) };
  }
  const dialect = dialectOfClient(db);
  const { sql, params } = compile(rule, dialect, { now, shopId, resolve });
  const [{ n }] = await db.$queryRawUnsafe<{ n: bigint | number }[]>(
    `SELECT COUNT(*) AS n FROM (${sql}) t`,
    ...params,
  );
  const ids = await db.$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM (${sql}) t LIMIT 8`, ...params);
  const audience = audienceOf(rule, resolve);
  const visitors = countsVisitors(audience) ? await countVisitors(db, shopId, rule, now, resolve) : null;
  const people = await db.customer.findMany({
    where: { shopId, shopifyId: { in: ids.map((r) => r.id) } },
    select: {
      shopifyId: true,
      firstName: true,
      lastName: true,
      email: true,
      ordersCount: true,
      totalSpent: true,
    },
    orderBy: { totalSpent: "desc" },
  });
  const others = segments.filter((s) => s.handle !== self);
  let overlap: Preview["overlap"] = [];
  if (others.length && Number(n) > 0) {
    const at = (i: number) => (dialect === "sqlite" ? "?" : `$${params.length + i + 1}`);
    const rows = await db.$queryRawUnsafe<{ segmentId: number; shared: bigint | number }[]>(
      `SELECT sm."segmentId" AS "segmentId", COUNT(*) AS shared FROM "SegmentMember" sm
       WHERE sm."customerShopifyId" IN (${sql}) AND sm."segmentId" IN (${others.map((_, i) => at(i)).join(", ")})
       GROUP BY sm."segmentId"`,
      ...params,
      ...others.map((s) => s.id),
    );
    overlap = rows
      .map((r) => {
        const s = others.find((o) => o.id === Number(r.segmentId))!;
        return { handle: s.handle, name: s.name, size: s.size, shared: Number(r.shared) };
      })
      .filter((o) => o.shared > 0)
      .sort((a, b) => b.shared - a.shared);
  }
  return {
    ok: true,
    preview: {
      size: Number(n),
      audience,
      visitors,
      sample: people.map((p) => ({
        shopifyId: p.shopifyId,
        name: `${p.firstName ?? ""} ${p.lastName ?? ""}`.trim() || `Customer ${p.shopifyId}`,
        email: p.email,
        ordersCount: p.ordersCount,
        totalSpent: p.totalSpent,
      })),
      overlap,
    },
  };
}

const HANDLE = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Paths under /app/segments/ that are pages, not segments. */
const RESERVED = new Set(["new", "preview", "options"]);

export const segmentForm = z.object({
  name: z
    .string()
    .trim()
    .min(1, "give the segment a name")
    .max(120, "keep the name under 120 characters")
    .refine(isStorableText, UNSTORABLE_MESSAGE),
  description: z
    .string()
    .trim()
    .max(500, "keep the description under 500 characters")
    .refine(isStorableText, UNSTORABLE_MESSAGE)
    .default(""),
  handle: z
    .string()
    .trim()
    .regex(HANDLE, "use lower-case letters, digits and dashes, starting with a letter or digit"),
  minSize: z.coerce.number().int("must be a whole number").min(0, "cannot be negative"),
  maxSize: z.coerce.number().int("must be a whole number").min(1, "must be 1 or more"),
  rule: z.string().min(1, "the rule is missing"),
});
export type SegmentForm = z.infer<typeof segmentForm>;

export type SaveResult =
  | { ok: true; handle: string; size: number }
  | { ok: false; fields: Record<string, string>; problems: RuleProblem[] };

/** Handles of the segments whose rules refer to `handle`, directly or through others. */
export function dependentsOf(rules: Map<string, Rule>, handle: string): string[] {
  const refersTo = (node: RuleNode, target: string): boolean =>
    "all" in node
      ? node.all.some((n) => refersTo(n, target))
      : "any" in node
        ? node.any.some((n) => refersTo(n, target))
        : "not" in node
          ? refersTo(node.not, target)
          : "segment" in node && node.segment === target;
  const out = new Set<string>();
  const visit = (target: string) => {
    for (const [h, r] of rules)
      if (!out.has(h) && h !== handle && refersTo(r.match, target)) {
        out.add(h);
        visit(h);
      }
  };
  visit(handle);
  return [...out];
}

/**
 * Creates (`existing` null) or updates a segment from the builder's form. Refused with each wrong
 * field named; on success the segment and the segments built on it are recomputed at `now`.
 */
export async function saveSegment(
  db: PrismaClient,
  shopId: number,
  existing: string | null,
  form: Record<string, unknown>,
  now: Date,
): Promise<SaveResult> {
  const fields: Record<string, string> = {};
  const parsed = segmentForm.safeParse(form);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) fields[String(issue.path[0])] ??= issue.message;
    return { ok: false, fields, problems: [] };
  }
  const f = parsed.data;
  if (f.maxSize <= f.minSize) fields.maxSize = "must be more than the smallest useful size";
  const { segments, rules, resolve } = await shopSegments(db, shopId);
  const current = existing ? segments.find((s) => s.handle === existing) : undefined;
  if (existing && !current) fields.handle = `there is no segment "${existing}" any more`;
  if (RESERVED.has(f.handle)) fields.handle = `"${f.handle}" is reserved: choose another handle`;
  if (segments.some((s) => s.handle === f.handle && s.handle !== existing))
    fields.handle = `another segment already uses the handle "${f.handle}"`;
  if (existing && f.handle !== existing && dependentsOf(rules, existing).length)
    fields.handle = `other segments refer to "${existing}": keep its handle`;
  let rule: Rule | null = null;
  let problems: RuleProblem[] = [];
  try {
    rule = parseRule(JSON.parse(f.rule), resolve, f.handle);
  } catch (error) {
    problems = error instanceof SyntaxError ? [{ path: "rule", message: "is not JSON" }] : problemsOf(error);
  }
  if (!rule || Object.keys(fields).length) return { ok: false, fields, problems };
  const data = {
    name: f.name,
    description: f.description,
    handle: f.handle,
    minSize: f.minSize,
    maxSize: f.maxSize,
    rule: JSON.stringify(rule),
  };
  if (current) {
    const ruleChanged = current.rule !== data.rule;
    await db.segment.update({
      where: { id: current.id },
      // A new rule starts a new sweep from now: the recompute below settles everything before it.
      data: ruleChanged ? { ...data, sweptAt: now } : data,
    });
  } else await db.segment.create({ data: { shopId, ...data, sweptAt: now } });
  const after = new Map(rules);
  after.set(f.handle, rule);
  const result = await recompute(db, shopId, now, [f.handle, ...dependentsOf(after, f.handle)]);
  return { ok: true, handle: f.handle, size: result[f.handle]?.size ?? 0 };
}

const handlesIn = (json: string): string[] => {
  try {
    const list: unknown = JSON.parse(json);
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
};

/**
 * Deletes a segment (from the builder and `segments delete` alike), unless it is built in (the app
 * creates built-ins again at install), an active message shows to it (as its segment or in its
 * audience), or another segment's rule refers to it; each refusal says which.
 */
export async function deleteSegment(
  db: PrismaClient,
  shopId: number,
  handle: string,
): Promise<{ ok: true } | { ok: false; message: string }> {
  const { segments, rules } = await shopSegments(db, shopId);
  const segment = segments.find((s) => s.handle === handle);
  if (!segment) return { ok: false, message: `there is no segment "${handle}"` };
  if (segment.preset)
    return {
      ok: false,
      message: `"${handle}" is a built-in segment: it cannot be deleted (the app creates it again at install); change its rule instead`,
    };
  const messages = await db.message.findMany({
    where: { shopId, active: true },
    select: { id: true, name: true, segmentHandle: true, alsoAll: true, anyOf: true, exclude: true },
    orderBy: { id: "asc" },
  });
  const targeting = messages.filter(
    (m) =>
      m.segmentHandle === handle ||
      [m.alsoAll, m.anyOf, m.exclude].some((list) => handlesIn(list).includes(handle)),
  );
  if (targeting.length)
    return {
      ok: false,
      message: `"${handle}" is used by active ${targeting.length > 1 ? "messages" : "message"} ${targeting
        .map((m) => `#${m.id} "${m.name}"`)
        .join(", ")}: pause ${targeting.length > 1 ? "them" : "it"} first`,
    };
  const dependents = dependentsOf(rules, handle);
  if (dependents.length)
    return {
      ok: false,
      message: `${dependents.map((d) => `"${d}"`).join(", ")} ${dependents.length > 1 ? "refer" : "refers"} to this segment: change ${dependents.length > 1 ? "them" : "it"} first`,
    };
  await db.segment.delete({ where: { id: segment.id } });
  return { ok: true };
}

export type PickerKind = "product" | "variant" | "collection" | "vendor" | "productType" | "country";
export const PICKER_KINDS: PickerKind[] = [
  "product",
  "variant",
  "collection",
  "vendor",
  "productType",
  "country",
];

export interface PickerOption {
  value: string;
  label: string;
}

const LIMIT = 20;

/** "Contains, ignoring case" on both databases (SQLite's LIKE already folds ASCII case). */
function containsText(db: PrismaClient, q: string): { contains: string } {
  return (dialectOfClient(db) === "postgres" ? { contains: q, mode: "insensitive" } : { contains: q }) as {
    contains: string;
  };
}

/** Search the shop's own copy for picker values: products, variants, collections, vendors... */
export async function pickerOptions(
  db: PrismaClient,
  shopId: number,
  kind: PickerKind,
  query: string,
): Promise<PickerOption[]> {
  const q = query.trim();
  switch (kind) {
    case "product": {
      const rows = await db.product.findMany({
        where: { shopId, ...(q ? { title: containsText(db, q) } : {}) },
        select: { shopifyId: true, title: true },
        orderBy: { title: "asc" },
        take: LIMIT,
      });
      return rows.map((r) => ({ value: r.shopifyId, label: r.title }));
    }
    case "collection": {
      const rows = await db.collection.findMany({
        where: { shopId, ...(q ? { title: containsText(db, q) } : {}) },
        select: { shopifyId: true, title: true },
        orderBy: { title: "asc" },
        take: LIMIT,
      });
      return rows.map((r) => ({ value: r.shopifyId, label: r.title }));
    }
    case "variant": {
      const rows = await db.lineItem.findMany({
        where: { shopId, variantId: { not: null }, ...(q ? { title: containsText(db, q) } : {}) },
        select: { variantId: true, title: true, variantTitle: true },
        distinct: ["variantId"],
        take: LIMIT,
      });
      return rows.map((r) => ({
        value: r.variantId!,
        label: r.variantTitle ? `${r.title} — ${r.variantTitle}` : r.title,
      }));
    }
    case "vendor":
    case "productType": {
      const column = kind === "vendor" ? "vendor" : "productType";
      const rows = await db.product.findMany({
        where: { shopId, [column]: q ? containsText(db, q) : { not: null } },
        select: { [column]: true },
        distinct: [column],
        take: LIMIT,
      });
      return rows
        .map((r) => (r as Record<string, string | null>)[column])
        .filter((v): v is string => !!v)
        .map((v) => ({ value: v, label: v }));
    }
    case "country": {
      // A shop has customers in at most a few hundred countries: filter by code or English name.
      const rows = await db.customer.findMany({
        where: { shopId, countryCode: { not: null } },
        select: { countryCode: true },
        distinct: ["countryCode"],
      });
      const names = new Intl.DisplayNames(["en"], { type: "region" });
      const name = (code: string) => {
        try {
          return names.of(code) ?? code;
        } catch {
          return code;
        }
      };
      const needle = q.toLowerCase();
      return rows
        .map((r) => r.countryCode!)
        .map((v) => ({ value: v, label: `${name(v)} (${v})` }))
        .filter((o) => !needle || o.label.toLowerCase().includes(needle))
        .sort((a, b) => a.label.localeCompare(b.label))
        .slice(0, 60);
    }
  }
}

/** Labels for the ids a rule already names, so the builder shows "Linen shirt", not 7340. */
export async function labelsFor(db: PrismaClient, shopId: number, rule: Rule | null) {
  const ids = new Set<string>();
  const visit = (n: RuleNode) => {
    if ("all" in n) n.all.forEach(visit);
    else if ("any" in n) n.any.forEach(visit);
    else if ("not" in n) visit(n.not);
    else if (!("segment" in n) && Array.isArray(n.value) && FIELDS[n.field].type === "ids")
      n.value.forEach((v) => ids.add(String(v)));
    if (!("all" in n || "any" in n || "not" in n || "segment" in n) && n.product) ids.add(n.product);
  };
  if (rule) visit(rule.match);
  if (!ids.size) return {};
  // A rule can name thousands of ids (500 per condition): a chunk per statement, as Prisma on
  // SQLite refuses an IN list past 999 bound parameters.
  const list = [...ids];
  const products: { shopifyId: string; title: string }[] = [];
  const collections: { shopifyId: string; title: string }[] = [];
  const variants: { variantId: string | null; title: string; variantTitle: string | null }[] = [];
  for (let i = 0; i < list.length; i += 500) {
    const chunk = list.slice(i, i + 500);
    const [p, c, v] = await Promise.all([
      db.product.findMany({
        where: { shopId, shopifyId: { in: chunk } },
        select: { shopifyId: true, title: true },
      }),
      db.collection.findMany({
        where: { shopId, shopifyId: { in: chunk } },
        select: { shopifyId: true, title: true },
      }),
      db.lineItem.findMany({
        where: { shopId, variantId: { in: chunk } },
        select: { variantId: true, title: true, variantTitle: true },
        distinct: ["variantId"],
      }),
    ]);
    products.push(...p);
    collections.push(...c);
    variants.push(...v);
  }
  const labels: Record<string, string> = {};
  for (const p of products) labels[p.shopifyId] = p.title;
  for (const c of collections) labels[c.shopifyId] = c.title;
  for (const v of variants)
    if (v.variantId) labels[v.variantId] = v.variantTitle ? `${v.title} — ${v.variantTitle}` : v.title;
  return labels;
}

/** What the builder page starts from: the segment (or a blank one), the shop currency and the other segments. */
export async function builderPage(db: PrismaClient, shopDomain: string, handle: string | null) {
  const shop = await db.shop.findUnique({
    where: { domain: shopDomain },
    select: { id: true, currency: true },
  });
  if (!shop) return null;
  const { segments, rules } = await shopSegments(db, shop.id);
  const current = handle ? segments.find((s) => s.handle === handle) : undefined;
  if (handle && !current) return null;
  const rule = current ? rules.get(current.handle)! : null;
  // Segments this one may refer to: all others except those built on it (that would be a loop).
  const dependents = current ? new Set(dependentsOf(rules, current.handle)) : new Set<string>();
  return {
    currency: shop.currency,
    existing: current?.handle ?? null,
    // Built-in segments are edited, never deleted (install creates them again).
    builtIn: Boolean(current?.preset),
    segment: {
      name: current?.name ?? "",
      description: current?.description ?? "",
      handle: current?.handle ?? "",
      minSize: current?.minSize ?? 200,
      maxSize: current?.maxSize ?? 5000,
      size: current?.size ?? null,
      rule,
    },
    others: segments
      .filter((s) => s.handle !== current?.handle && !dependents.has(s.handle))
      .map((s) => ({ handle: s.handle, name: s.name, size: s.size })),
    dependents: [...dependents],
    labels: await labelsFor(db, shop.id, rule),
    // Until Shopify grants read_all_orders, conditions on order history see only 60 days: say so
    // where the merchant writes them.
    orderHistoryLimited: (await orderHistoryAccess(db, shopDomain)).limited,
  };
}

/** The builder form's POST: save (then show the segment) or delete (then the list). */
export async function builderAction(
  db: PrismaClient,
  shopId: number,
  existing: string | null,
  form: FormData,
  now: Date,
): Promise<Response | SaveResult | { ok: false; message: string }> {
  if (form.get("intent") === "delete" && existing) {
    const deleted = await deleteSegment(db, shopId, existing);
    return deleted.ok ? redirect("/app/segments") : deleted;
  }
  const saved = await saveSegment(db, shopId, existing, Object.fromEntries(form), now);
  return saved.ok ? redirect(`/app/segments/${saved.handle}`) : saved;
}

/** The built-in segments as templates, with this shop's own numbers (and the collection to pick). */
export async function segmentTemplates(db: PrismaClient, shopId: number) {
  return presets({
    topSpendThreshold: await topSpendThreshold(db, shopId),
    collectionId: "",
    predicted: true,
  });
}

/** The builder for a new segment: blank, a copy of `from`, or the built-in `template`. */
export async function newSegmentPage(
  db: PrismaClient,
  shopDomain: string,
  start: { from: string | null; template: string | null },
) {
  const page = await builderPage(db, shopDomain, null);
  if (!page) return null;
  const shop = await db.shop.findUniqueOrThrow({ where: { domain: shopDomain }, select: { id: true } });
  if (start.from) {
    const { segments, rules } = await shopSegments(db, shop.id);
    const base = segments.find((s) => s.handle === start.from);
    if (base) page.segment = { ...page.segment, name: `${base.name} (copy)`, rule: rules.get(base.handle)! };
  } else if (start.template) {
    const preset = (await segmentTemplates(db, shop.id)).find((p) => p.handle === start.template);
    if (preset) {
      const taken = page.others.some((o) => o.handle === preset.handle);
      page.segment = {
        ...page.segment,
        name: taken ? `${preset.name} (2)` : preset.name,
        description: preset.description,
        rule: preset.rule,
      };
    }
  }
  page.labels = { ...page.labels, ...(await labelsFor(db, shop.id, page.segment.rule)) };
  return page;
}
