/** What the segment pages show, read in one place (routes stay thin). */
import type { PrismaClient } from "@prisma/client";
import { dialectOfClient } from "../db.server";
import { describeCondition, type DescribeFormat, type RuleNode } from "../engine/rules";
import { audienceOf, type Audience } from "../engine/fields-of";
import type { ShopFormat } from "../engine/format";
import { shopSegments } from "./store.server";

export interface RuleLine {
  depth: number;
  text: string;
}

/** A rule as indented lines of words, money and dates in the shop's format. */
export function ruleLines(node: RuleNode, f: DescribeFormat = "USD", depth = 0): RuleLine[] {
  if ("all" in node)
    return [{ depth, text: "All of these:" }, ...node.all.flatMap((n) => ruleLines(n, f, depth + 1))];
  if ("any" in node)
    return [{ depth, text: "Any of these:" }, ...node.any.flatMap((n) => ruleLines(n, f, depth + 1))];
  if ("not" in node) return [{ depth, text: "Not:" }, ...ruleLines(node.not, f, depth + 1)];
  if ("segment" in node) return [{ depth, text: `In segment "${node.segment}"` }];
  return [{ depth, text: describeCondition(node, f) }];
}

/**
 * Who a segment is about and how many: customers (its members), visitors seen in the last 30 days
 * (null when the rule reads nothing of the storefront, or they were not counted yet), and the
 * reach its size limits are held to (the visitors for a visitor segment, the larger of the two
 * when it reads both, the customers otherwise).
 */
export interface Sizes {
  audience: Audience;
  size: number;
  visitorSize: number | null;
  reach: number;
}

export function sizesOf(segment: { size: number; visitorSize: number | null }, audience: Audience): Sizes {
  const visitors = audience === "customers" ? null : segment.visitorSize;
  const reach =
    visitors === null ? segment.size : audience === "visitors" ? visitors : Math.max(segment.size, visitors);
  return { audience, size: segment.size, visitorSize: visitors, reach };
}

export async function segmentList(db: PrismaClient, shopDomain: string, now = new Date()) {
  const shop = await db.shop.findUnique({ where: { domain: shopDomain }, select: { id: true } });
  if (!shop) return [];
  const since = new Date(now.getTime() - 7 * 86_400_000);
  const { segments, rules, resolve } = await shopSegments(db, shop.id);
  const histories = await sizeHistories(db, shop.id, segments, now);
  const changes = await db.segmentChange.groupBy({
    by: ["segmentId", "joined"],
    where: { segmentId: { in: segments.map((s) => s.id) }, at: { gte: since } },
    _count: { _all: true },
  });
  return segments.map((s) => {
    const joined = changes.find((c) => c.segmentId === s.id && c.joined)?._count._all ?? 0;
    const left = changes.find((c) => c.segmentId === s.id && !c.joined)?._count._all ?? 0;
    return {
      handle: s.handle,
      name: s.name,
      description: s.description,
      ...sizesOf(s, audienceOf(rules.get(s.handle)!, resolve)),
      minSize: s.minSize,
      maxSize: s.maxSize,
      preset: s.preset !== null,
      computedAt: s.computedAt?.toISOString() ?? null,
      weekTrend: joined - left,
      /** Members at the end of each of the last 30 days (UTC), oldest first. */
      trend: (histories.get(s.id) ?? []).map((p) => p.size),
    };
  });
}

/** Members a page of the segment page lists. */
export const MEMBERS_PAGE = 25;

export interface MemberRow {
  shopifyId: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  ordersCount: number;
  totalSpent: number;
  /** When they joined the segment (ISO). */
  since: string;
}

/**
 * A segment as its page shows it: the rule in words (in `format`), its sizes and 30-day history,
 * and one page of members, those who joined most recently first (ties by customer id).
 */
export async function segmentDetail(
  db: PrismaClient,
  shopDomain: string,
  handle: string,
  options: { page?: number; format?: ShopFormat; now?: Date } = {},
) {
  const now = options.now ?? new Date();
  const shop = await db.shop.findUnique({
    where: { domain: shopDomain },
    select: { id: true, currency: true },
  });
  if (!shop) return null;
  const { segments, rules, resolve } = await shopSegments(db, shop.id);
  const segment = segments.find((s) => s.handle === handle);
  if (!segment) return null;
  const rule = rules.get(handle)!;
  const memberCount = await db.segmentMember.count({ where: { segmentId: segment.id } });
  const pages = Math.max(1, Math.ceil(memberCount / MEMBERS_PAGE));
  const page = Math.min(Math.max(1, Math.floor(options.page ?? 1) || 1), pages);
  const joined = await db.segmentMember.findMany({
    where: { segmentId: segment.id },
    orderBy: [{ since: "desc" }, { customerShopifyId: "asc" }],
    skip: (page - 1) * MEMBERS_PAGE,
    take: MEMBERS_PAGE,
  });
  const people = await db.customer.findMany({
    where: { shopId: shop.id, shopifyId: { in: joined.map((m) => m.customerShopifyId) } },
    select: {
      shopifyId: true,
      email: true,
      firstName: true,
      lastName: true,
      ordersCount: true,
      totalSpent: true,
    },
  });
  const byId = new Map(people.map((p) => [p.shopifyId, p]));
  const members: MemberRow[] = joined.map((m) => {
    const p = byId.get(m.customerShopifyId);
    return {
      shopifyId: m.customerShopifyId,
      firstName: p?.firstName ?? null,
      lastName: p?.lastName ?? null,
      email: p?.email ?? null,
      ordersCount: p?.ordersCount ?? 0,
      totalSpent: p?.totalSpent ?? 0,
      since: m.since.toISOString(),
    };
  });
  return {
    handle: segment.handle,
    name: segment.name,
    description: segment.description,
    ...sizesOf(segment, audienceOf(rule, resolve)),
    visitorsAt: segment.visitorsAt?.toISOString() ?? null,
    minSize: segment.minSize,
    maxSize: segment.maxSize,
    computedAt: segment.computedAt?.toISOString() ?? null,
    lines: ruleLines(rule.match, options.format ?? shop.currency),
    history: await sizeHistory(db, segment, now),
    members,
    memberCount,
    page,
    pages,
    pageSize: MEMBERS_PAGE,
  };
}

export interface SizePoint {
  /** The day (UTC), YYYY-MM-DD. */
  day: string;
  /** Members at the end of that day. */
  size: number;
  joined: number;
  left: number;
}

const DAY = 86_400_000;

/**
 * How a segment grew and shrank over the last `days` days, from its joined/left history: the
 * size at the end of each day, walked back from today's size. One grouped query, whatever the churn.
 */
export async function sizeHistory(
  db: PrismaClient,
  segment: { id: number; size: number },
  now: Date,
  days = 30,
): Promise<SizePoint[]> {
  const changes = await dailyChanges(db, `"segmentId" = ?`, segment.id, now, days);
  return walkBack(segment.size, changes.get(segment.id), now, days);
}

/**
 * sizeHistory for every segment of a shop (the list's sparklines), in one grouped query whatever
 * the number of segments: segment id → its points.
 */
export async function sizeHistories(
  db: PrismaClient,
  shopId: number,
  segments: { id: number; size: number }[],
  now: Date,
  days = 30,
): Promise<Map<number, SizePoint[]>> {
  const changes = await dailyChanges(
    db,
    `"segmentId" IN (SELECT "id" FROM "Segment" WHERE "shopId" = ?)`,
    shopId,
    now,
    days,
  );
  return new Map(segments.map((s) => [s.id, walkBack(s.size, changes.get(s.id), now, days)]));
}

type DayChanges = Map<number, { joined: number; left: number }>;

/** Joined and left per segment and UTC day (days since the epoch) over the last `days` days. */
async function dailyChanges(
  db: PrismaClient,
  which: string,
  param: number,
  now: Date,
  days: number,
): Promise<Map<number, DayChanges>> {
  const today = Math.floor(now.getTime() / DAY);
  const since = new Date((today - days + 1) * DAY);
  const sqlite = dialectOfClient(db) === "sqlite";
  const bucket = sqlite ? `CAST("at" / ${DAY} AS INTEGER)` : `FLOOR(EXTRACT(EPOCH FROM "at") / 86400)`;
  const rows = await db.$queryRawUnsafe<
    { segmentId: number; day: number | bigint; joined: number | bigint; left: number | bigint }[]
  >(
    `SELECT "segmentId", ${bucket} AS day,
            SUM(CASE WHEN "joined" THEN 1 ELSE 0 END) AS joined,
            SUM(CASE WHEN "joined" THEN 0 ELSE 1 END) AS "left"
       FROM "SegmentChange" WHERE ${sqlite ? which : which.replace("?", "$1")} AND "at" >= ${sqlite ? "?" : "$2"}
      GROUP BY "segmentId", ${bucket}`,
    param,
    sqlite ? since.getTime() : since,
  );
  const bySegment = new Map<number, DayChanges>();
  for (const r of rows) {
    const segmentId = Number(r.segmentId);
    const days = bySegment.get(segmentId) ?? new Map();
    days.set(Number(r.day), { joined: Number(r.joined), left: Number(r.left) });
    bySegment.set(segmentId, days);
  }
  return bySegment;
}

/** The size at the end of each day, walked back from today's size. */
function walkBack(size: number, byDay: DayChanges | undefined, now: Date, days: number): SizePoint[] {
  const today = Math.floor(now.getTime() / DAY);
  const points: SizePoint[] = [];
  for (let d = today; d > today - days; d--) {
    const change = byDay?.get(d) ?? { joined: 0, left: 0 };
    points.push({ day: new Date(d * DAY).toISOString().slice(0, 10), size, ...change });
    size -= change.joined - change.left;
  }
  return points.reverse();
}
