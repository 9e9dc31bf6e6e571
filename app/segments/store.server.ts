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
import { presets } from "../engine/presets";
import { audienceOf, countsVisitors, fieldsOf, touches, type Touch } from "../engine/fields-of";
import { factsNeededFor, loadFacts } from "./facts.server";

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
/** Total spent at the shop's 90th percentile of customers who ordered (the "high spend" line). */
export async function topSpendThreshold(db: PrismaClient, shopId: number): Promise<number> {
  // The 90th percentile computed in the database: one row read, not every buyer's spend.
  const where = { shopId, deletedAt: null, ordersCount: { gt: 0 } };
  const buyers = await db.customer.count({ where });
  if (!buyers) return 1;
  const [row] = await db.customer.findMany({
    where,
    select: { totalSpent: true },
    orderBy: { totalSpent: "asc" },
    skip: Math.min(buyers - 1, Math.floor(0.9 * buyers)),
    take: 1,
  });
  return Math.max(1, row?.totalSpent ?? 1);
}

export async function ensurePresets(db: PrismaClient, shopId: number): Promise<number> {
  let created = 0;
  for (const p of presets({ topSpendThreshold: await topSpendThreshold(db, shopId) })) {
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

/**
 * One segment's members replaced by what its compiled SQL selects at `now`, set-based inside the
 * database (no member list through the app): the selection goes to a temporary table, and the
 * joins, leaves, history and size are written from it by four statements.
 */
async function replaceMembers(
  db: PrismaClient,
  segment: Segment,
  query: { sql: string; params: unknown[] },
  now: Date,
): Promise<{ size: number; joined: number; left: number }> {
  const sqlite = dialectOfClient(db) === "sqlite";
  const at = sqlite ? now.getTime() : now;
  const p = (n: number, cast = "") => (sqlite ? "?" : `$${n}${cast}`);
  const ts = sqlite ? "" : "::timestamp";
  const [yes, no] = sqlite ? ["1", "0"] : ["TRUE", "FALSE"];
  return db.$transaction(
    async (tx) => {
      if (sqlite) {
        await tx.$executeRawUnsafe(`CREATE TEMP TABLE IF NOT EXISTS slice_selected (id TEXT PRIMARY KEY)`);
        await tx.$executeRawUnsafe(`DELETE FROM slice_selected`);
      } else
        await tx.$executeRawUnsafe(`CREATE TEMP TABLE slice_selected (id TEXT PRIMARY KEY) ON COMMIT DROP`);
      const size = await tx.$executeRawUnsafe(
        `INSERT INTO slice_selected (id) ${query.sql}`,
        ...query.params,
      );
      const left = await tx.$executeRawUnsafe(
        `INSERT INTO "SegmentChange" ("segmentId", "customerShopifyId", "joined", "at")
         SELECT m."segmentId", m."customerShopifyId", ${no}, ${p(2, ts)} FROM "SegmentMember" m
          WHERE m."segmentId" = ${p(1)} AND NOT EXISTS (SELECT 1 FROM slice_selected s WHERE s.id = m."customerShopifyId")`,
        ...(sqlite ? [at, segment.id] : [segment.id, at]),
      );
      if (left)
        await tx.$executeRawUnsafe(
          `DELETE FROM "SegmentMember" WHERE "segmentId" = ${p(1)}
             AND "customerShopifyId" NOT IN (SELECT id FROM slice_selected)`,
          segment.id,
        );
      const joined = await tx.$executeRawUnsafe(
        `INSERT INTO "SegmentChange" ("segmentId", "customerShopifyId", "joined", "at")
         SELECT ${p(1)}, s.id, ${yes}, ${p(2, ts)} FROM slice_selected s
          WHERE NOT EXISTS (SELECT 1 FROM "SegmentMember" m WHERE m."segmentId" = ${p(1)} AND m."customerShopifyId" = s.id)`,
        ...(sqlite ? [segment.id, at, segment.id] : [segment.id, at]),
      );
      if (joined)
        await tx.$executeRawUnsafe(
          `INSERT INTO "SegmentMember" ("segmentId", "customerShopifyId", "since")
           SELECT ${p(1)}, s.id, ${p(2, ts)} FROM slice_selected s
            WHERE NOT EXISTS (SELECT 1 FROM "SegmentMember" m WHERE m."segmentId" = ${p(1)} AND m."customerShopifyId" = s.id)`,
          ...(sqlite ? [segment.id, at, segment.id] : [segment.id, at]),
        );
      await tx.segment.update({ where: { id: segment.id }, data: { size, computedAt: now } });
      return { size, joined, left };
    },
    { timeout: 10 * 60_000, maxWait: 60_000 },
  );
}

export async function recompute(db: PrismaClient, shopId: number, now: Date, handles?: string[]) {
  const { segments, rules, resolve } = await shopSegments(db, shopId);
  const result: Record<string, { size: number; joined: number; left: number; visitors: number | null }> = {};
  for (const segment of segments) {
    if (handles && !handles.includes(segment.handle)) continue;
    const query = compile(rules.get(segment.handle)!, dialectOfClient(db), { now, shopId, resolve });
    const members = await replaceMembers(db, segment, query, now);
    const visitors = await recountVisitors(db, shopId, segment, rules.get(segment.handle)!, resolve, now);
    result[segment.handle] = { ...members, visitors };
  }
  return result;
}

/** How far back a visitor counts as recent: segment pages count the visitors seen in this window. */
export const RECENT_VISITOR_DAYS = 30;

/**
 * How many visitors (browsers) seen in the last 30 days match a rule at `now`: each with its own
 * storefront events and cart, and its linked customer's facts (none for a guest). One COUNT in
 * the database, driven by the (shopId, lastSeenAt) index; no visitor list through the app.
 */
export async function countVisitors(
  db: PrismaClient,
  shopId: number,
  rule: Rule,
  now: Date,
  resolve: ShopSegments["resolve"],
): Promise<number> {
  const seenSince = new Date(now.getTime() - RECENT_VISITOR_DAYS * 86_400_000);
  const { sql, params } = compile(rule, dialectOfClient(db), {
    now,
    shopId,
    resolve,
    unit: "visitor",
    seenSince,
  });
  const [row] = await db.$queryRawUnsafe<{ n: number | bigint }[]>(
    `SELECT COUNT(*) AS n FROM (${sql}) matched`,
    ...params,
  );
  return Number(row?.n ?? 0);
}

/**
 * A segment's visitor count brought up to `now` (recompute and sweep call it): counted for the
 * segments whose rule reads the storefront, cleared (null) for those about customers only.
 */
export async function recountVisitors(
  db: PrismaClient,
  shopId: number,
  segment: Segment,
  rule: Rule,
  resolve: ShopSegments["resolve"],
  now: Date,
): Promise<number | null> {
  if (!countsVisitors(audienceOf(rule, resolve))) {
    if (segment.visitorSize !== null)
      await db.segment.update({ where: { id: segment.id }, data: { visitorSize: null, visitorsAt: null } });
    return null;
  }
  const visitorSize = await countVisitors(db, shopId, rule, now, resolve);
  await db.segment.update({ where: { id: segment.id }, data: { visitorSize, visitorsAt: now } });
  return visitorSize;
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

/**
 * These people, in these segments, evaluated one by one at `now`; the difference written.
 *
 * On PostgreSQL several workers may re-evaluate one customer at once (each after applying one of
 * its events): the whole pass holds a transaction-level advisory lock per customer, taken before
 * the facts are read, so the later pass reads what the earlier one wrote and the newer facts, and a
 * segment's size never moves twice for one join or leave.
 */
export async function reevaluate(
  db: PrismaClient,
  shopId: number,
  customerIds: string[],
  segments: Segment[],
  shop: ShopSegments,
  now: Date,
): Promise<number> {
  if (!customerIds.length || !segments.length) return 0;
  // Its reads and writes bind the ids in IN lists, which Prisma on SQLite refuses past 999
  // parameters: a longer list goes 500 people at a time (each chunk its own pass).
  if (customerIds.length > 500) {
    let changed = 0;
    for (let i = 0; i < customerIds.length; i += 500)
      changed += await reevaluate(db, shopId, customerIds.slice(i, i + 500), segments, shop, now);
    return changed;
  }
  if (dialectOfClient(db) !== "postgres")
    return evaluateAndWrite(
      db,
      db,
      (write) => db.$transaction(write),
      shopId,
      customerIds,
      segments,
      shop,
      now,
    );
  return db.$transaction(
    async (tx) => {
      await tx.$queryRawUnsafe(
        `SELECT count(pg_advisory_xact_lock(h))::int AS held FROM (
           SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY 1 OFFSET 0
         ) AS keys`,
        customerIds.map((id) => `${shopId}#members:${id}`),
      );
      return evaluateAndWrite(db, tx, (write) => write(tx), shopId, customerIds, segments, shop, now);
    },
    { timeout: 60_000 },
  );
}

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

async function evaluateAndWrite(
  db: PrismaClient,
  read: Tx | PrismaClient,
  inTransaction: (write: (tx: Tx) => Promise<void>) => Promise<void>,
  shopId: number,
  customerIds: string[],
  segments: Segment[],
  { rules, resolve }: ShopSegments,
  now: Date,
): Promise<number> {
  const [facts, held] = await Promise.all([
    loadFacts(
      db,
      shopId,
      customerIds,
      factsNeededFor(segments.flatMap((s) => [...fieldsOf(rules.get(s.handle)!, resolve)])),
    ),
    read.segmentMember.findMany({
      where: { segmentId: { in: segments.map((s) => s.id) }, customerShopifyId: { in: customerIds } },
      select: { segmentId: true, customerShopifyId: true },
    }),
  ]);
  const heldBy = new Set(held.map((h) => `${h.segmentId} ${h.customerShopifyId}`));
  const joined: { segmentId: number; customerShopifyId: string }[] = [];
  const left: { segmentId: number; customerShopifyId: string }[] = [];
  for (const segment of segments) {
    const rule = rules.get(segment.handle)!;
    for (const id of customerIds) {
      const member = facts.has(id) && evaluate(rule, facts.get(id)!, { now, resolve }).member;
      const was = heldBy.has(`${segment.id} ${id}`);
      if (member && !was) joined.push({ segmentId: segment.id, customerShopifyId: id });
      else if (!member && was) left.push({ segmentId: segment.id, customerShopifyId: id });
    }
  }
  if (!joined.length && !left.length) return 0;
  // Usually one or two segments move: one transaction for all of them.
  await inTransaction(async (tx) => {
    for (const segment of segments) {
      const out = left.filter((l) => l.segmentId === segment.id).map((l) => l.customerShopifyId);
      const into = joined.filter((j) => j.segmentId === segment.id).length;
      if (out.length)
        await tx.segmentMember.deleteMany({
          where: { segmentId: segment.id, customerShopifyId: { in: out } },
        });
      // The size moves by the difference (no COUNT over a large segment on every webhook).
      if (out.length || into)
        await tx.segment.update({
          where: { id: segment.id },
          data: { size: { increment: into - out.length } },
        });
    }
    if (joined.length) await tx.segmentMember.createMany({ data: joined.map((j) => ({ ...j, since: now })) });
    await tx.segmentChange.createMany({
      data: [
        ...joined.map((j) => ({ ...j, joined: true, at: now })),
        ...left.map((l) => ({ ...l, joined: false, at: now })),
      ],
    });
  });
  return joined.length + left.length;
}
