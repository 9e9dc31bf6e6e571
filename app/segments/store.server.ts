/**
 * Segments and their members. A full recompute runs the compiled SQL for a whole shop; an
 * incremental update re-evaluates only the people a change touched, and only the segments that
 * read what changed. Either way the difference is written as joined/left history.
 */
import type { PrismaClient, Segment } from "@prisma/client";
import { dialectOfClient } from "../db.server";
import { compile } from "../engine/sql";
import { evaluate } from "../engine/evaluate";
import { parseRule, type Rule } from "../engine/rules";
import { percentile, presets } from "../engine/presets";
import { touches, type Touch } from "../engine/fields-of";
import { loadFacts } from "./facts.server";

export interface ShopSegments {
  segments: Segment[];
  rules: Map<string, Rule>;
  resolve: (handle: string) => Rule | null;
}

/**
 * Parsed rules by their stored text: every webhook reads the shop's segments, and validating
 * each rule again would cost more than the rest of the update. Text in, same rule out.
 */
const parsed = new Map<string, Rule>();
function ruleOf(text: string): Rule {
  let rule = parsed.get(text);
  if (!rule) {
    rule = parseRule(JSON.parse(text));
    if (parsed.size > 5000) parsed.clear();
    parsed.set(text, rule);
  }
  return rule;
}

export async function shopSegments(db: PrismaClient, shopId: number): Promise<ShopSegments> {
  const segments = await db.segment.findMany({ where: { shopId }, orderBy: { id: "asc" } });
  const rules = new Map(segments.map((s) => [s.handle, ruleOf(s.rule)]));
  return { segments, rules, resolve: (handle) => rules.get(handle) ?? null };
}

/** Creates the built-in segments a shop does not have yet; the spend threshold from its own data. */
export async function ensurePresets(db: PrismaClient, shopId: number): Promise<number> {
  const buyers = await db.customer.findMany({
    where: { shopId, deletedAt: null, ordersCount: { gt: 0 } },
    select: { totalSpent: true },
  });
  const topSpendThreshold = Math.max(
    1,
    percentile(
      buyers.map((b) => b.totalSpent),
      0.9,
    ),
  );
  let created = 0;
  for (const p of presets({ topSpendThreshold })) {
    const exists = await db.segment.findUnique({
      where: { shopId_handle: { shopId, handle: p.handle } },
      select: { id: true },
    });
    if (exists) continue;
    await db.segment.create({
      data: {
        shopId,
        handle: p.handle,
        name: p.name,
        description: p.description,
        rule: JSON.stringify(p.rule),
        preset: p.handle,
      },
    });
    created++;
  }
  return created;
}

async function applyDiff(
  db: PrismaClient,
  segment: Segment,
  members: Set<string>,
  scope: string[] | null,
  now: Date,
): Promise<{ joined: number; left: number }> {
  const held = await db.segmentMember.findMany({
    where: { segmentId: segment.id, ...(scope ? { customerShopifyId: { in: scope } } : {}) },
    select: { customerShopifyId: true },
  });
  const before = new Set(held.map((h) => h.customerShopifyId));
  const joined = [...members].filter((id) => !before.has(id));
  const left = [...before].filter((id) => !members.has(id));
  if (!joined.length && !left.length && segment.computedAt) return { joined: 0, left: 0 };
  await db.$transaction(async (tx) => {
    for (let i = 0; i < left.length; i += 500)
      await tx.segmentMember.deleteMany({
        where: { segmentId: segment.id, customerShopifyId: { in: left.slice(i, i + 500) } },
      });
    for (let i = 0; i < joined.length; i += 500)
      await tx.segmentMember.createMany({
        data: joined
          .slice(i, i + 500)
          .map((customerShopifyId) => ({ segmentId: segment.id, customerShopifyId, since: now })),
      });
    const changes = [
      ...joined.map((customerShopifyId) => ({
        segmentId: segment.id,
        customerShopifyId,
        joined: true,
        at: now,
      })),
      ...left.map((customerShopifyId) => ({
        segmentId: segment.id,
        customerShopifyId,
        joined: false,
        at: now,
      })),
    ];
    for (let i = 0; i < changes.length; i += 500)
      await tx.segmentChange.createMany({ data: changes.slice(i, i + 500) });
    // The size moves by the difference (no COUNT over a large segment on every webhook).
    await tx.segment.update({
      where: { id: segment.id },
      data: scope
        ? { size: { increment: joined.length - left.length } }
        : { size: before.size + joined.length - left.length, computedAt: now },
    });
  });
  return { joined: joined.length, left: left.length };
}

/** Members of a segment for a whole shop, from SQL. */
export async function membersBySql(
  db: PrismaClient,
  shopId: number,
  rule: Rule,
  now: Date,
  resolve: ShopSegments["resolve"],
) {
  const { sql, params } = compile(rule, dialectOfClient(db), { now, shopId, resolve });
  const rows = await db.$queryRawUnsafe<{ id: string }[]>(sql, ...params);
  return new Set(rows.map((r) => r.id));
}

export async function recompute(db: PrismaClient, shopId: number, now: Date, handles?: string[]) {
  const { segments, rules, resolve } = await shopSegments(db, shopId);
  const result: Record<string, { size: number; joined: number; left: number }> = {};
  for (const segment of segments) {
    if (handles && !handles.includes(segment.handle)) continue;
    const members = await membersBySql(db, shopId, rules.get(segment.handle)!, now, resolve);
    const diff = await applyDiff(db, segment, members, null, now);
    result[segment.handle] = { size: members.size, ...diff };
  }
  return result;
}

/** After a change to some people: re-evaluate just them, in just the segments that read what changed. */
export async function updateMembership(
  db: PrismaClient,
  shopId: number,
  customerIds: string[],
  what: Touch[],
  now: Date,
): Promise<number> {
  if (!customerIds.length) return 0;
  const shop = await shopSegments(db, shopId);
  const affected = shop.segments.filter((s) => touches(shop.rules.get(s.handle)!, what, shop.resolve));
  return reevaluate(db, shopId, customerIds, affected, shop, now);
}

/** These people, in these segments, evaluated one by one at `now`; the difference written. */
export async function reevaluate(
  db: PrismaClient,
  shopId: number,
  customerIds: string[],
  segments: Segment[],
  { rules, resolve }: ShopSegments,
  now: Date,
): Promise<number> {
  if (!customerIds.length || !segments.length) return 0;
  const facts = await loadFacts(db, shopId, customerIds);
  let changed = 0;
  for (const segment of segments) {
    const rule = rules.get(segment.handle)!;
    const members = new Set(
      customerIds.filter((id) => facts.has(id) && evaluate(rule, facts.get(id)!, { now, resolve }).member),
    );
    const diff = await applyDiff(db, segment, members, customerIds, now);
    changed += diff.joined + diff.left;
  }
  return changed;
}
