/** What the segment pages show, read in one place (routes stay thin). */
import type { PrismaClient } from "@prisma/client";
import { dialectOfClient } from "../db.server";
import { describeCondition, type RuleNode } from "../engine/rules";
import { evaluate, type Reason } from "../engine/evaluate";
import { audienceOf, type Audience } from "../engine/fields-of";
import { loadFacts } from "./facts.server";
import { shopSegments } from "./store.server";

export interface RuleLine {
  depth: number;
  text: string;
}

export function ruleLines(node: RuleNode, depth = 0): RuleLine[] {
  if ("all" in node)
    return [{ depth, text: "All of these:" }, ...node.all.flatMap((n) => ruleLines(n, depth + 1))];
  if ("any" in node)
    return [{ depth, text: "Any of these:" }, ...node.any.flatMap((n) => ruleLines(n, depth + 1))];
  if ("not" in node) return [{ depth, text: "Not:" }, ...ruleLines(node.not, depth + 1)];
  if ("segment" in node) return [{ depth, text: `In segment "${node.segment}"` }];
  return [{ depth, text: describeCondition(node) }];
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

export async function segmentList(db: PrismaClient, shopDomain: string) {
  const shop = await db.shop.findUnique({ where: { domain: shopDomain }, select: { id: true } });
  if (!shop) return [];
  const since = new Date(Date.now() - 7 * 86_400_000);
  const { segments, rules, resolve } = await shopSegments(db, shop.id);
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
    };
  });
}

export async function segmentDetail(
  db: PrismaClient,
  shopDomain: string,
  handle: string,
  customerId: string | null,
) {
  const shop = await db.shop.findUnique({ where: { domain: shopDomain }, select: { id: true } });
  if (!shop) return null;
  const { segments, rules, resolve } = await shopSegments(db, shop.id);
  const segment = segments.find((s) => s.handle === handle);
  if (!segment) return null;
  const rule = rules.get(handle)!;
  const sample = await db.segmentMember.findMany({
    where: { segmentId: segment.id },
    take: 10,
    orderBy: { since: "desc" },
  });
  const people = await db.customer.findMany({
    where: { shopId: shop.id, shopifyId: { in: sample.map((m) => m.customerShopifyId) } },
    select: {
      shopifyId: true,
      email: true,
      firstName: true,
      lastName: true,
      ordersCount: true,
      totalSpent: true,
    },
  });
  let why:
    | { customerId: string; member: boolean; reasons: Reason[] }
    | { customerId: string; missing: true }
    | null = null;
  if (customerId) {
    const facts = await loadFacts(db, shop.id, [customerId]);
    const f = facts.get(customerId);
    why = f
      ? { customerId, ...evaluate(rule, f, { now: new Date(), resolve }) }
      : { customerId, missing: true };
  }
  return {
    handle: segment.handle,
    name: segment.name,
    description: segment.description,
    ...sizesOf(segment, audienceOf(rule, resolve)),
    visitorsAt: segment.visitorsAt?.toISOString() ?? null,
    minSize: segment.minSize,
    maxSize: segment.maxSize,
    computedAt: segment.computedAt?.toISOString() ?? null,
    lines: ruleLines(rule.match),
    history: await sizeHistory(db, segment, new Date()),
    sample: people,
    why,
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
  const today = Math.floor(now.getTime() / DAY);
  const since = new Date((today - days + 1) * DAY);
  const bucket =
    dialectOfClient(db) === "sqlite"
      ? `CAST("at" / ${DAY} AS INTEGER)`
      : `FLOOR(EXTRACT(EPOCH FROM "at") / 86400)`;
  const rows = await db.$queryRawUnsafe<
    { day: number | bigint; joined: number | bigint; left: number | bigint }[]
  >(
    `SELECT ${bucket} AS day,
            SUM(CASE WHEN "joined" THEN 1 ELSE 0 END) AS joined,
            SUM(CASE WHEN "joined" THEN 0 ELSE 1 END) AS "left"
       FROM "SegmentChange" WHERE "segmentId" = ${dialectOfClient(db) === "sqlite" ? "?" : "$1"} AND "at" >= ${dialectOfClient(db) === "sqlite" ? "?" : "$2"}
      GROUP BY ${bucket}`,
    segment.id,
    dialectOfClient(db) === "sqlite" ? since.getTime() : since,
  );
  const byDay = new Map(rows.map((r) => [Number(r.day), { joined: Number(r.joined), left: Number(r.left) }]));
  const points: SizePoint[] = [];
  let size = segment.size;
  for (let d = today; d > today - days; d--) {
    const change = byDay.get(d) ?? { joined: 0, left: 0 };
    points.push({ day: new Date(d * DAY).toISOString().slice(0, 10), size, ...change });
    size -= change.joined - change.left;
  }
  return points.reverse();
}
