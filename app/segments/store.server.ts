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
import { predictedPresets, presets, RETIRED_PRESET_RULES } from "../engine/presets";
import { audienceOf, countsVisitors, fieldsOf, touches, type Touch } from "../engine/fields-of";
import { factsAndHeldInOne, factsNeededFor, loadFacts } from "./facts.server";
import { hotFor, insertMany, marks, urlOf, type HotQueries } from "../db-hot.server";
import type { Facts } from "../engine/evaluate";

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

/**
 * Creates the preset segments the shop does not have (by handle). `which`: every preset (install,
 * history import), or only the predicted ones (the shop's first ready fit).
 */
export async function ensurePresets(
  db: PrismaClient,
  shopId: number,
  which: "all" | "predicted" = "all",
): Promise<number> {
  let created = 0;
  // The predicted segments once the shop has a ready fit (before it they would stay empty).
  const predicted = (await db.predictionFit.count({ where: { shopId, status: "ready" } })) > 0;
  const list =
    which === "predicted"
      ? predicted
        ? predictedPresets()
        : []
      : presets({ topSpendThreshold: await topSpendThreshold(db, shopId), predicted });
  for (const p of list) {
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

/**
 * Moves the shop's predicted presets whose rule is still an earlier definition (RETIRED_PRESET_RULES:
 * the merchant never edited them) to the current one, with its description; returns their handles.
 * Run at each fit (`refit`); a retired rule of another preset would need the shop's figures (the
 * top-spend threshold) to build its current rule, and is not upgraded here.
 * The caller recomputes them. An edited preset, or one the merchant deleted, is left alone.
 */
export async function upgradeUntouchedPresets(db: PrismaClient, shopId: number): Promise<string[]> {
  const current = new Map(predictedPresets().map((p) => [p.handle, p] as const));
  const upgraded: string[] = [];
  for (const old of RETIRED_PRESET_RULES) {
    const now = current.get(old.handle);
    if (!now) continue;
    const where = { shopId, handle: old.handle, preset: old.handle, rule: JSON.stringify(old.rule) };
    // The description too, unless the merchant wrote their own.
    await db.segment.updateMany({
      where: { ...where, description: old.description },
      data: { description: now.description },
    });
    const { count } = await db.segment.updateMany({ where, data: { rule: JSON.stringify(now.rule) } });
    if (count) upgraded.push(old.handle);
  }
  return upgraded;
}

/** Members of a segment for a whole shop, from SQL. */
export async function membersBySql(
  db: PrismaClient,
  shopId: number,
  rule: Rule,
  now: Date,
  resolve: ShopSegments["resolve"],
  /** As of `now`: the members of that moment (engine/as-of.ts), not only its clock. */
  asOf = false,
) {
  const { sql, params } = compile(rule, dialectOfClient(db), { now, shopId, resolve, asOf });
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
  /** As of `now`: the visitors of that moment (engine/as-of.ts). */
  asOf = false,
): Promise<number> {
  const seenSince = new Date(now.getTime() - RECENT_VISITOR_DAYS * 86_400_000);
  const { sql, params } = compile(rule, dialectOfClient(db), {
    now,
    shopId,
    resolve,
    unit: "visitor",
    seenSince,
    asOf,
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

/** What a membership pass needs of a segment (a full Segment row will do). */
export interface SegmentRef {
  id: number;
  handle: string;
}

/** A shop's rules by handle, and how a `segment` condition finds another segment's rule. */
export type SegmentRules = Pick<ShopSegments, "rules" | "resolve">;

/** A shop's segments as the hot path sees them: read with prepared SQL, derived once per rule set. */
export interface MembershipSegments extends SegmentRules {
  segments: SegmentRef[];
  /** The segments a kind of change can move (touches(), computed once per kind). */
  affectedBy(what: readonly Touch[]): SegmentRef[];
}

/**
 * The parsed segments of a shop, by database and shop, with the text they were made from: only a
 * change of any of the shop's (id, handle, rule) rows (a segment saved, created or deleted)
 * derives them again.
 */
const hotShops = new Map<string, { text: string; segments: MembershipSegments }>();

type SegmentRow = { id: number; handle: string; rule: string };

const SEGMENT_ROWS = `SELECT "id", "handle", "rule" FROM "Segment" WHERE "shopId" = ? ORDER BY "id"`;

/** A shop's segments as they are now (one prepared read; parsed again only when they changed). */
export async function membershipSegments(db: PrismaClient, shopId: number): Promise<MembershipSegments> {
  return segmentsFrom(db, shopId, await hotFor(db).rows<SegmentRow>(SEGMENT_ROWS, [shopId]));
}

/**
 * A shop's segments as this process last read them, without a read (read once if it never did).
 * A guess: the membership pass checks it under its locks (updateMemberships).
 */
export async function lastKnownSegments(db: PrismaClient, shopId: number): Promise<MembershipSegments> {
  return hotShops.get(`${urlOf(db)} ${shopId}`)?.segments ?? membershipSegments(db, shopId);
}

/** The segments these rows make: the same object as last time when the rows are the same. */
function segmentsFrom(db: PrismaClient, shopId: number, rows: readonly SegmentRow[]): MembershipSegments {
  const key = `${urlOf(db)} ${shopId}`;
  const text = rows.map((r) => `${r.id}\u0000${r.handle}\u0000${r.rule}`).join("\u0001");
  const cached = hotShops.get(key);
  if (cached?.text === text) return cached.segments;
  const segments = rows.map((r) => ({ id: Number(r.id), handle: r.handle }));
  const rules = new Map(rows.map((r) => [r.handle, ruleOf(r.rule)]));
  const resolve = (handle: string) => rules.get(handle) ?? null;
  const byTouch = new Map<string, SegmentRef[]>();
  const shop: MembershipSegments = {
    segments,
    rules,
    resolve,
    affectedBy(what) {
      const touchKey = [...new Set(what)].sort().join(" ");
      let affected = byTouch.get(touchKey);
      if (!affected) {
        affected = segments.filter((s) => touches(rules.get(s.handle)!, [...what], resolve));
        byTouch.set(touchKey, affected);
      }
      return affected;
    },
  };
  if (hotShops.size > 1000) hotShops.clear();
  hotShops.set(key, { text, segments: shop });
  return shop;
}

/** A pass found the shop's segments changed since they were read: the passes run again with these. */
class SegmentsChanged extends Error {
  override name = "SegmentsChanged";
  constructor(readonly segments: MembershipSegments) {
    super("the shop's segments changed while its memberships were being updated");
  }
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
  return updateMemberships(db, shopId, new Map(customerIds.map((id) => [id, what])), now);
}

/**
 * After a batch of changes: each touched person re-evaluated in the segments that read what
 * changed about them (what each was touched by, united over the batch), all in one pass: facts
 * read together, the held memberships read together, every segment's joins and leaves written
 * in one transaction (500 people per pass).
 */
export async function updateMemberships(
  db: PrismaClient,
  shopId: number,
  touched: ReadonlyMap<string, readonly Touch[]>,
  now: Date,
): Promise<number> {
  if (!touched.size) return 0;
  // The shop's segments as this process last read them: each pass reads them again under its
  // locks, in the same round trip as the locks, and when they changed the passes run again with
  // the new ones, so that no membership is written from a rule no longer saved.
  let shop = await lastKnownSegments(db, shopId);
  // A guess until read under a pass's locks, or read just now.
  let read = false;
  for (let attempt = 1; ; attempt++) {
    const people = new Map<string, SegmentRef[]>();
    for (const [id, what] of touched) {
      const affected = shop.affectedBy(what);
      if (affected.length) people.set(id, affected);
    }
    if (!people.size) {
      // No pass to check the guess: a segment saved since could read what changed. Read them.
      if (read) return 0;
      shop = await membershipSegments(db, shopId);
      read = true;
      continue;
    }
    try {
      return await inPasses(db, shopId, people, shop, now, true);
    } catch (error) {
      if (!(error instanceof SegmentsChanged) || attempt >= 5) throw error;
      shop = error.segments;
      read = true;
    }
  }
}

/**
 * These people, in these segments, evaluated one by one at `now`; the difference written (the
 * sweep calls it with the people whose dates crossed a window edge).
 */
export async function reevaluate(
  db: PrismaClient,
  shopId: number,
  customerIds: string[],
  segments: SegmentRef[],
  shop: SegmentRules,
  now: Date,
): Promise<number> {
  if (!customerIds.length || !segments.length) return 0;
  return inPasses(db, shopId, new Map(customerIds.map((id) => [id, segments])), shop, now);
}

/**
 * PostgreSQL: read a pass's facts and held memberships in ONE statement (factsAndHeldInOne), in
 * the pass's transaction after its locks, instead of loadFacts's waves of parallel reads on the
 * read pool (SLICE_FACTS_IN_ONE=0). Measured on the 2-core bench machine, quiet, two runs each
 * (bench/results/flash-sale-pg-2026-12-05-facts-in-one-ab.txt): 15.5 statements a delivery
 * against 22.8, 3.9–4.2 ms of the app's CPU against 4.8–4.9, the same p50 (6.0–6.7 ms against
 * 6.6–6.9). With the database across a network each of loadFacts's waves is a round trip more.
 */
const FACTS_IN_ONE = process.env.SLICE_FACTS_IN_ONE !== "0";

/** Passes of 500 people (bound values per statement stay well under the databases' caps). */
async function inPasses(
  db: PrismaClient,
  shopId: number,
  people: Map<string, SegmentRef[]>,
  shop: SegmentRules,
  now: Date,
  /** Check under each pass's locks that the shop's segments are still `shop` (SegmentsChanged). */
  check = false,
): Promise<number> {
  const all = [...people];
  let changed = 0;
  for (let i = 0; i < all.length; i += 500)
    changed += await evaluatePass(db, shopId, new Map(all.slice(i, i + 500)), shop, now, check);
  return changed;
}

/**
 * One pass, in one transaction on the hot path's `apply` connection: the people's facts and held
 * memberships read, each evaluated in its segments, the joins and leaves written (members
 * deleted and inserted, sizes moved by the difference, the history appended), per segment a
 * statement of each kind, not one per person.
 *
 * Several workers may re-evaluate one customer at once (each after applying one of its events).
 * On SQLite the transaction holds the process's one writer from before the facts are read until
 * the writes commit. On PostgreSQL the pass first takes a transaction-level advisory lock per
 * customer (one statement, in a fixed order), so the later pass reads what the earlier one wrote
 * and the newer facts. Either way a segment's size never moves twice for one join or leave.
 */
async function evaluatePass(
  db: PrismaClient,
  shopId: number,
  people: Map<string, SegmentRef[]>,
  shop: SegmentRules,
  now: Date,
  check: boolean,
): Promise<number> {
  const { rules, resolve } = shop;
  const ids = [...people.keys()];
  const segmentsById = new Map<number, SegmentRef>();
  for (const list of people.values()) for (const s of list) segmentsById.set(s.id, s);
  if (!ids.length || !segmentsById.size) return 0;
  const segments = [...segmentsById.values()].sort((a, b) => a.id - b.id);
  const need = factsNeededFor(segments.flatMap((s) => [...fieldsOf(rules.get(s.handle)!, resolve)]));
  const hot = hotFor(db, "apply");
  return hot.transaction(
    async (tx) => {
      const keys = ids.map((id) => `${shopId}#members:${id}`);
      if (check) {
        // The segments as they are now, read once the locks are held (the same round trip).
        const [rows] = (await tx.lock(keys, { sql: SEGMENT_ROWS, params: [shopId] })) as [SegmentRow[]];
        const current = segmentsFrom(db, shopId, rows);
        if (current !== shop) throw new SegmentsChanged(current);
      } else await tx.lock(keys);
      const segmentIds = segments.map((s) => s.id);
      const heldBy = new Set<string>();
      let facts: Map<string, Facts>;
      if (tx.dialect === "postgres" && FACTS_IN_ONE) {
        // One statement, after the locks: the facts and the held memberships (one round trip, not five waves).
        const read = await factsAndHeldInOne(tx, shopId, ids, need, segmentIds);
        facts = read.facts;
        for (const [id, list] of read.held) for (const segmentId of list) heldBy.add(`${segmentId} ${id}`);
      } else {
        const [loaded, held] = await Promise.all([
          loadFacts(db, shopId, ids, need),
          tx.rows<{ segmentId: number; customerShopifyId: string }>(
            `SELECT "segmentId", "customerShopifyId" FROM "SegmentMember"
            WHERE "segmentId" IN (${marks(segmentIds.length)}) AND "customerShopifyId" IN (${marks(ids.length)})`,
            [...segmentIds, ...ids],
          ),
        ]);
        facts = loaded;
        for (const h of held) heldBy.add(`${h.segmentId} ${h.customerShopifyId}`);
      }
      const joined = new Map<number, string[]>();
      const left = new Map<number, string[]>();
      const add = (to: Map<number, string[]>, segmentId: number, id: string) => {
        const list = to.get(segmentId);
        if (list) list.push(id);
        else to.set(segmentId, [id]);
      };
      for (const [id, mine] of people) {
        const f = facts.get(id);
        for (const segment of mine) {
          const member =
            !!f && evaluate(rules.get(segment.handle)!, f, { now, resolve, reasons: false }).member;
          const was = heldBy.has(`${segment.id} ${id}`);
          if (member && !was) add(joined, segment.id, id);
          else if (!member && was) add(left, segment.id, id);
        }
      }
      if (!joined.size && !left.size) return 0;
      // History in segment order, each segment's people in the order they were given.
      const pairs = (of: Map<number, string[]>) =>
        segments.flatMap((s) => (of.get(s.id) ?? []).map((id) => [s.id, id] as const));
      const [joins, leaves] = [pairs(joined), pairs(left)];
      if (tx.dialect === "postgres") return writeChanges(tx, segments, joins, leaves, now);
      let changed = 0;
      for (const segment of segments) {
        const out = left.get(segment.id) ?? [];
        const into = joined.get(segment.id) ?? [];
        if (out.length)
          await tx.run(
            `DELETE FROM "SegmentMember" WHERE "segmentId" = ? AND "customerShopifyId" IN (${marks(out.length)})`,
            [segment.id, ...out],
          );
        // The size moves by the difference (no COUNT over a large segment on every webhook).
        if (out.length || into.length)
          await tx.run(`UPDATE "Segment" SET "size" = "size" + ? WHERE "id" = ?`, [
            into.length - out.length,
            segment.id,
          ]);
        changed += out.length + into.length;
      }
      if (joins.length)
        await insertMany(
          tx,
          "SegmentMember",
          ["segmentId", "customerShopifyId", "since"],
          joins.map(([segmentId, id]) => [segmentId, id, now]),
        );
      await insertMany(
        tx,
        "SegmentChange",
        ["segmentId", "customerShopifyId", "joined", "at"],
        [
          ...joins.map(([segmentId, id]) => [segmentId, id, true, now]),
          ...leaves.map(([segmentId, id]) => [segmentId, id, false, now]),
        ],
      );
      return changed;
    },
    { genericPlans: true },
  );
}

/**
 * PostgreSQL: a pass's joins and leaves written in ONE statement (data-modifying CTEs): the
 * leavers' memberships deleted, the joiners' inserted, each segment's size moved by its
 * difference, and the history appended (joins then leaves, in the order given). The SQLite path
 * above writes the same rows with a statement of each kind per segment (in process, those cost
 * microseconds; here each was a round trip). Returns the joins and leaves written.
 */
async function writeChanges(
  tx: HotQueries,
  segments: readonly SegmentRef[],
  joins: readonly (readonly [number, string])[],
  leaves: readonly (readonly [number, string])[],
  now: Date,
): Promise<number> {
  const delta = new Map<number, number>();
  for (const [segmentId] of joins) delta.set(segmentId, (delta.get(segmentId) ?? 0) + 1);
  for (const [segmentId] of leaves) delta.set(segmentId, (delta.get(segmentId) ?? 0) - 1);
  const moved = segments.filter((s) => delta.has(s.id));
  const history = [...joins.map((j) => [...j, true] as const), ...leaves.map((l) => [...l, false] as const)];
  // The pass's last statement: its COMMIT goes with it, in one round trip.
  await tx.commitWith(
    `WITH "gone" AS (
       DELETE FROM "SegmentMember" m USING unnest(?::integer[], ?::text[]) AS x("segmentId", "customerShopifyId")
        WHERE m."segmentId" = x."segmentId" AND m."customerShopifyId" = x."customerShopifyId" RETURNING 1
     ), "came" AS (
       INSERT INTO "SegmentMember" ("segmentId", "customerShopifyId", "since")
       SELECT x."segmentId", x."customerShopifyId", ?::timestamp FROM unnest(?::integer[], ?::text[]) AS x("segmentId", "customerShopifyId")
       RETURNING 1
     ), "sized" AS (
       UPDATE "Segment" g SET "size" = g."size" + d."delta" FROM unnest(?::integer[], ?::integer[]) AS d("id", "delta")
        WHERE g."id" = d."id" RETURNING 1
     ), "history" AS (
       INSERT INTO "SegmentChange" ("segmentId", "customerShopifyId", "joined", "at")
       SELECT x."segmentId", x."customerShopifyId", x."joined", ?::timestamp
         FROM unnest(?::integer[], ?::text[], ?::boolean[]) WITH ORDINALITY AS x("segmentId", "customerShopifyId", "joined", n)
        ORDER BY n
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM "gone")::int AS "gone", (SELECT count(*) FROM "came")::int AS "came",
            (SELECT count(*) FROM "sized")::int AS "sized", (SELECT count(*) FROM "history")::int AS "history"`,
    [
      leaves.map(([segmentId]) => segmentId),
      leaves.map(([, id]) => id),
      now,
      joins.map(([segmentId]) => segmentId),
      joins.map(([, id]) => id),
      moved.map((s) => s.id),
      moved.map((s) => delta.get(s.id)!),
      now,
      history.map(([segmentId]) => segmentId),
      history.map(([, id]) => id),
      history.map(([, , joined]) => joined),
    ],
  );
  return joins.length + leaves.length;
}
