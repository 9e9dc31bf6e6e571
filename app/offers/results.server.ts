/**
 * How an offer did: what shoppers saw and clicked, and whether it made the treated convert more
 * than the holdout, by how much and how sure we are (lift.ts), for the offer and each variant.
 *
 * The experiment's unit is what decide.server.ts recorded in OfferExposure: "c:<customer id>" for
 * a signed-in customer, else "v:<visitor id>", with its arm and the time it was first eligible.
 * A unit counts in a range when it was first exposed in it. It converted when it placed an order
 * (not a test, not cancelled) at or after its exposure and at most ATTRIBUTION_WINDOW_DAYS later.
 * A unit's orders:
 * - "c:<id>": the orders of that customer;
 * - "v:<id>": the orders the web pixel tied to the visitor (`Order.visitorId`: its checkout_completed
 *   matched the order's checkout token, so Buy it now and Shop Pay orders too), the orders with
 *   the visitor's cart token, the orders of the customer the visitor is linked to, and the orders
 *   that redeemed a discount code issued to the visitor.
 * Its revenue is the sum of those orders' totals less their refunds.
 *
 * By segment: the exposed customer units ("c:<id>") that are members of each of the shop's segments
 * now (membership as of the time of the report, not at exposure: a customer who left a segment
 * since is not counted in it, one who joined since is), and the visitor units ("v:") as one row
 * of their own (segments hold customers). A unit in two segments counts in both.
 *
 * Measuring small segments (engine/pooled.ts): `pooled` is the offer's lift stratified over disjoint
 * groups of its units (each customer unit in the smallest of its segments, by exposed units; the
 * customers in no segment; the visitors not signed in), adjusted with each unit's orders and spend
 * in the PRE_PERIOD_DAYS before its exposure (CUPED); each segment row's `shrunk` is its own lift
 * (with the offer's θ and pooled variances) shrunk toward the offer's across those groups.
 *
 * Reads go through the driver (db-hot.server.ts) with SQL that is the same in both dialects,
 * except the day bucket of the daily series and the pre-period's start. Ranges are [from, to).
 */
import type { PrismaClient } from "@prisma/client";
import { compareArms, type Comparison } from "../engine/lift";
import {
  addValues,
  emptyMoments,
  groupEstimate,
  randomEffects,
  shrink,
  stratifiedDifference,
  type GroupMoments,
  type ShrunkEstimate,
  type StratifiedEstimate,
} from "../engine/pooled";
import { hotFor, date, type HotQueries } from "../db-hot.server";

/** An order counts for a unit up to this many days after the unit's first exposure. */
export const ATTRIBUTION_WINDOW_DAYS = 30;
const DAY_MS = 24 * 3600_000;
const WINDOW_MS = ATTRIBUTION_WINDOW_DAYS * DAY_MS;
/** A unit's orders and spend in this many days before its first exposure adjust its outcome (CUPED). */
export const PRE_PERIOD_DAYS = 90;

export interface DateRange {
  from: Date;
  to: Date;
}

export interface ArmResult {
  /** Units first exposed in the range. */
  units: number;
  /** Of those, units with at least one attributed order. */
  conversions: number;
  /** conversions / units, or null with no units. */
  rate: number | null;
  /** Minor units: the converting units' attributed orders, totals less refunds. */
  revenue: number;
}

export interface CodeResult {
  /** Codes handed to a shopper in the range (issued, possibly redeemed since). */
  issued: number;
  /** Codes used in an order in the range. */
  redeemed: number;
  /** Minor units: the discounts of the (non-test, not cancelled) orders that used those codes. */
  discountCost: number;
  /** Those orders, and their totals less refunds (minor units). */
  orders: number;
  revenue: number;
}

export interface EngagementResult {
  impressions: number;
  clicks: number;
  dismissals: number;
  /** clicks / impressions, or null before any impression. */
  clickRate: number | null;
}

export interface VariantResult extends EngagementResult {
  variantId: number;
  name: string;
  /** The variant's treated units. */
  treatment: ArmResult;
  codes: CodeResult;
  /** This variant against the whole holdout. */
  lift: Comparison;
}

export interface SegmentResult {
  /** The segment's handle; null for the row of visitors not signed in. */
  handle: string | null;
  name: string;
  treatment: ArmResult;
  holdout: ArmResult;
  /** The segment's treated against its own held out. */
  lift: Comparison;
  /**
   * The segment's lift shrunk toward the offer's (empirical Bayes), for conversion (a rate
   * difference) and revenue per unit (minor units); null while the offer's pooled estimate is not
   * ready or the segment has no one in an arm.
   */
  shrunk: { conversion: ShrunkEstimate; revenuePerUnit: ShrunkEstimate } | null;
}

/** A pooled difference, treatment − holdout: a rate difference, or minor units per unit. */
export interface PooledMetric {
  estimate: number;
  standardError: number;
  interval: [number, number];
  significant: boolean;
  /** Without the pre-period adjustment. */
  unadjustedStandardError: number;
  /** Variance with the adjustment / without: the share of shoppers that give the same precision. */
  varianceRatio: number;
}

export type PooledResults =
  | { status: "not enough data"; need: string }
  | {
      status: "ok";
      /** The disjoint groups the estimate is pooled over, with their share of the units. */
      strata: { key: string; name: string; units: number; weight: number }[];
      conversion: PooledMetric;
      revenuePerUnit: PooledMetric;
      prePeriodDays: number;
      /** Units with at least one order in their pre-period (the adjustment's information). */
      unitsWithHistory: number;
      /** τ (the sd of the groups' true conversion lifts, as a rate difference), for the words. */
      conversionSpread: number;
    };

/** The name of the by-segment row of the visitor units (not signed in, so in no segment). */
export const VISITORS_ROW_NAME = "Visitors not signed in";

export interface DailyPoint {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  impressions: number;
  clicks: number;
  exposures: { treatment: number; holdout: number };
  /** Units whose first attributed order was on that day. */
  conversions: { treatment: number; holdout: number };
}

export interface OfferResults extends EngagementResult {
  messageId: number;
  name: string;
  reward: string;
  segmentHandle: string;
  holdoutPercent: number;
  currency: string;
  range: { from: string; to: string };
  attributionWindowDays: number;
  treatment: ArmResult;
  holdout: ArmResult;
  codes: CodeResult;
  /** Treatment against holdout, with revenue. */
  lift: Comparison;
  variants: VariantResult[];
  /** Each segment with at least one exposed unit (by id), then the visitors not signed in. */
  bySegment: SegmentResult[];
  daily: DailyPoint[];
  /** The lift pooled over the offer's groups, adjusted with the pre-period (engine/pooled.ts). */
  pooled: PooledResults;
}

type Num = number | string | bigint | null;

/** The offer's results, or null when the shop has no such message. */
export async function offerResults(
  db: PrismaClient,
  shopId: number,
  messageId: number,
  range: DateRange,
  now: Date,
): Promise<OfferResults | null> {
  const message = await db.message.findFirst({
    where: { id: messageId, shopId },
    select: {
      id: true,
      name: true,
      reward: true,
      segmentHandle: true,
      holdoutPercent: true,
      variants: { select: { id: true, name: true }, orderBy: { id: "asc" } },
      shop: { select: { currency: true } },
    },
  });
  if (!message) return null;
  const reader = hotFor(db);
  const to = new Date(Math.min(range.to.getTime(), now.getTime()));
  const from = range.from;

  const [events, exposures, conversions, codes, members, history] = await Promise.all([
    eventCounts(reader, shopId, messageId, from, to),
    exposureCounts(reader, messageId, from, to),
    unitConversions(reader, shopId, messageId, from, to, now),
    codeResults(reader, shopId, messageId, from, to),
    exposedMembers(reader, shopId, messageId, from, to),
    prePeriod(reader, shopId, messageId, from, to),
  ]);

  const days = dayList(from, to);
  const daily = new Map<string, DailyPoint>(
    days.map((day) => [
      day,
      {
        day,
        impressions: 0,
        clicks: 0,
        exposures: { treatment: 0, holdout: 0 },
        conversions: { treatment: 0, holdout: 0 },
      },
    ]),
  );

  // Engagement, overall and by variant (an event's variant is its visitor's exposure's).
  const engagement = new Map<number | null, EngagementResult>();
  const engagementOf = (variantId: number | null) => {
    let e = engagement.get(variantId);
    if (!e) engagement.set(variantId, (e = emptyEngagement()));
    return e;
  };
  const overall = emptyEngagement();
  for (const row of events) {
    const n = Number(row.n);
    const day = dayOf(Number(row.day));
    const point = daily.get(day);
    for (const e of [overall, engagementOf(row.variantId === null ? null : Number(row.variantId))]) {
      if (row.type === "message_shown") e.impressions += n;
      else if (row.type === "message_clicked") e.clicks += n;
      else e.dismissals += n;
    }
    if (point && row.type === "message_shown") point.impressions += n;
    if (point && row.type === "message_clicked") point.clicks += n;
  }

  // Exposures: the arms' denominators.
  const treatment = emptyArm();
  const holdout = emptyArm();
  const variantArms = new Map<number, ArmResult>(message.variants.map((v) => [v.id, emptyArm()]));
  const visitors = { treatment: emptyArm(), holdout: emptyArm() };
  for (const row of exposures) {
    const n = Number(row.n);
    const arm = row.arm === "holdout" ? holdout : treatment;
    arm.units += n;
    if (row.kind === "v") visitors[row.arm === "holdout" ? "holdout" : "treatment"].units += n;
    if (row.arm !== "holdout" && row.variantId !== null) variantArms.get(Number(row.variantId))!.units += n;
    const point = daily.get(dayOf(Number(row.day)));
    if (point) point.exposures[row.arm === "holdout" ? "holdout" : "treatment"] += n;
  }

  // Conversions: a unit's attributed orders within the window (computed once, grouped below by
  // arm, variant, day and segment).
  const converted = new Map<string, ConvertedUnit>();
  for (const unit of conversions) {
    converted.set(unit.unit, unit);
    const side = unit.arm === "holdout" ? "holdout" : "treatment";
    addConversion(side === "holdout" ? holdout : treatment, unit);
    const variant = unit.variantId === null ? undefined : variantArms.get(unit.variantId);
    if (side === "treatment" && variant) addConversion(variant, unit);
    const point = daily.get(dayOf(Math.floor(unit.firstOrderAt / DAY_MS)));
    if (point) point.conversions[side] += 1;
    if (unit.unit.startsWith("v:")) addConversion(visitors[side], unit);
  }
  for (const arm of [treatment, holdout, ...variantArms.values()]) arm.rate = rateOf(arm);

  // By segment: the exposed customers who are members now (not necessarily when exposed).
  const segments = new Map<
    number,
    { handle: string; name: string; treatment: ArmResult; holdout: ArmResult }
  >();
  for (const row of members) {
    const segmentId = Number(row.segmentId);
    let segment = segments.get(segmentId);
    if (!segment) {
      segment = { handle: row.handle, name: row.name, treatment: emptyArm(), holdout: emptyArm() };
      segments.set(segmentId, segment);
    }
    const arm = segment[row.arm === "holdout" ? "holdout" : "treatment"];
    arm.units += 1;
    const unit = converted.get(row.unit);
    if (unit) addConversion(arm, unit);
  }
  const groups: Omit<SegmentResult, "lift" | "shrunk">[] = [...segments.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, segment]) => segment);
  if (visitors.treatment.units || visitors.holdout.units) {
    groups.push({ handle: null, name: VISITORS_ROW_NAME, ...visitors });
  }
  const compare = (t: ArmResult) =>
    compareArms({
      treatment: { units: t.units, conversions: t.conversions, revenue: t.revenue },
      holdout: { units: holdout.units, conversions: holdout.conversions, revenue: holdout.revenue },
    });

  const lift = compare(treatment);
  const customerUnits = { treatment: 0, holdout: 0 };
  for (const row of exposures) {
    if (row.kind === "c") customerUnits[row.arm === "holdout" ? "holdout" : "treatment"] += Number(row.n);
  }
  const pooled = pooledResults(lift, members, converted, history, customerUnits, visitors);
  const bySegment = groups.map((group): SegmentResult => {
    group.treatment.rate = rateOf(group.treatment);
    group.holdout.rate = rateOf(group.holdout);
    return {
      ...group,
      lift: compareArms({ treatment: group.treatment, holdout: group.holdout }),
      shrunk: pooled.shrunk(group.handle),
    };
  });

  return {
    messageId: message.id,
    name: message.name,
    reward: message.reward,
    segmentHandle: message.segmentHandle,
    holdoutPercent: message.holdoutPercent,
    currency: message.shop.currency,
    range: { from: from.toISOString(), to: to.toISOString() },
    attributionWindowDays: ATTRIBUTION_WINDOW_DAYS,
    ...withClickRate(overall),
    treatment,
    holdout,
    codes: codes.total,
    lift,
    variants: message.variants.map((v) => {
      const arm = variantArms.get(v.id)!;
      return {
        variantId: v.id,
        name: v.name,
        ...withClickRate(engagement.get(v.id) ?? emptyEngagement()),
        treatment: arm,
        codes: codes.byVariant.get(v.id) ?? emptyCodes(),
        lift: compare(arm),
      };
    }),
    bySegment,
    daily: [...daily.values()],
    pooled: pooled.results,
  };
}

/** Each unit exposed in the range that bought in its pre-period: its arm, orders and spend (minor units). */
export function unitHistory(db: PrismaClient, shopId: number, messageId: number, range: DateRange) {
  return prePeriod(hotFor(db), shopId, messageId, range.from, range.to);
}

/** A pooled stratum's name: its group's, or that of the small groups merged (into it). */
function strataName(key: string, names: Map<string, string>): string {
  if (key === "rest") return "Smaller groups together";
  if (key.endsWith("+rest")) return `${names.get(key.slice(0, -"+rest".length))} and smaller groups`;
  return names.get(key) ?? key;
}

/** The name of the group of exposed customers who are in none of the shop's segments. */
export const NO_SEGMENT_ROW_NAME = "Customers in no segment";
const VISITORS_KEY = "visitors";
const NO_SEGMENT_KEY = "no-segment";

interface UnitValues {
  converted: number;
  revenue: number;
  orders: number;
  spend: number;
}

/**
 * The pooled estimate and a function giving each segment row's shrunk one. Strata: each exposed
 * customer unit in the smallest of its segments (fewest exposed units; the lowest id on a tie), the
 * customers in none, the visitors. Only units that converted or bought before carry values; the
 * others count in n with y = x = 0.
 */
function pooledResults(
  lift: Comparison,
  members: MemberRow[],
  converted: Map<string, ConvertedUnit>,
  history: Map<string, { arm: string; orders: number; spend: number }>,
  customerUnits: { treatment: number; holdout: number },
  visitors: { treatment: ArmResult; holdout: ArmResult },
): {
  results: PooledResults;
  shrunk: (handle: string | null) => SegmentResult["shrunk"];
} {
  if (lift.status !== "ok") {
    return { results: { status: "not enough data", need: lift.need }, shrunk: () => null };
  }
  const valuesOf = (unit: string): UnitValues | null => {
    const c = converted.get(unit);
    const h = history.get(unit);
    if (!c && !h) return null;
    return { converted: c ? 1 : 0, revenue: c?.revenue ?? 0, orders: h?.orders ?? 0, spend: h?.spend ?? 0 };
  };
  const armOf = (arm: string) => (arm === "holdout" ? "holdout" : "treatment");

  // Segment sizes among the exposed, each segment's rows, each unit's segments.
  const size = new Map<number, number>();
  const names = new Map<number, { handle: string; name: string }>();
  const unitSegments = new Map<string, { arm: string; segments: number[] }>();
  for (const row of members) {
    const id = Number(row.segmentId);
    size.set(id, (size.get(id) ?? 0) + 1);
    names.set(id, { handle: row.handle, name: row.name });
    let u = unitSegments.get(row.unit);
    if (!u) unitSegments.set(row.unit, (u = { arm: row.arm, segments: [] }));
    u.segments.push(id);
  }
  const smallest = (ids: number[]) =>
    ids.reduce((a, b) => (size.get(b)! < size.get(a)! || (size.get(b) === size.get(a) && b < a) ? b : a));

  type Pair = { conversion: GroupMoments; revenue: GroupMoments; name: string };
  const strata = new Map<string, Pair>();
  const pairOf = (key: string, name: string, map = strata): Pair => {
    let p = map.get(key);
    if (!p) {
      p = {
        name,
        conversion: { key, treatment: emptyMoments(), holdout: emptyMoments() },
        revenue: { key, treatment: emptyMoments(), holdout: emptyMoments() },
      };
      map.set(key, p);
    }
    return p;
  };
  const add = (p: Pair, arm: "treatment" | "holdout", v: UnitValues | null, count: boolean) => {
    if (count) {
      p.conversion[arm].n += 1;
      p.revenue[arm].n += 1;
    }
    if (v) {
      addValues(p.conversion[arm], v.converted, v.orders);
      addValues(p.revenue[arm], v.revenue, v.spend);
    }
  };

  // Customers in segments.
  const inSegments = { treatment: 0, holdout: 0 };
  for (const [unit, u] of unitSegments) {
    const id = smallest(u.segments);
    const arm = armOf(u.arm);
    inSegments[arm] += 1;
    add(pairOf(`segment-${id}`, names.get(id)!.name), arm, valuesOf(unit), true);
  }
  // Customers in no segment, and visitors: counted from the exposures, valued from their units.
  const noSegment = pairOf(NO_SEGMENT_KEY, NO_SEGMENT_ROW_NAME);
  const visitorStratum = pairOf(VISITORS_KEY, VISITORS_ROW_NAME);
  for (const arm of ["treatment", "holdout"] as const) {
    for (const p of [noSegment.conversion, noSegment.revenue])
      p[arm].n = customerUnits[arm] - inSegments[arm];
    for (const p of [visitorStratum.conversion, visitorStratum.revenue]) p[arm].n = visitors[arm].units;
  }
  const valued = new Map<string, string>();
  for (const unit of [...converted.keys(), ...history.keys()]) {
    if (valued.has(unit) || unitSegments.has(unit)) continue;
    valued.set(unit, unit);
    const arm = armOf(converted.get(unit)?.arm ?? history.get(unit)!.arm);
    add(unit.startsWith("v:") ? visitorStratum : noSegment, arm, valuesOf(unit), false);
  }
  for (const [key, p] of strata)
    if (p.conversion.treatment.n + p.conversion.holdout.n === 0) strata.delete(key);

  // Segments by id, then the customers in none, then the visitors (the same order in both databases).
  const rank = (key: string) =>
    key === NO_SEGMENT_KEY
      ? Infinity
      : key === VISITORS_KEY
        ? Infinity
        : Number(key.slice("segment-".length));
  const all = [...strata.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || (a === VISITORS_KEY ? 1 : 0) - (b === VISITORS_KEY ? 1 : 0))
    .map(([, p]) => p);
  const conversion = stratifiedDifference(all.map((p) => p.conversion));
  const revenue = stratifiedDifference(all.map((p) => p.revenue));
  if (!conversion || !revenue) {
    return {
      results: { status: "not enough data", need: "at least 2 visitors in each group" },
      shrunk: () => null,
    };
  }
  const priors = { conversion: randomEffects(conversion.strata), revenue: randomEffects(revenue.strata) };

  // Each segment row's own moments (a unit in two segments counts in both, as in bySegment).
  const rows = new Map<string, Pair>();
  for (const row of members) {
    add(pairOf(row.handle, row.name, rows), armOf(row.arm), valuesOf(row.unit), true);
  }
  const shrunkOf = (p: Pair) => {
    const c = groupEstimate(p.conversion, conversion.theta, conversion.pooledVariance);
    const r = groupEstimate(p.revenue, revenue.theta, revenue.pooledVariance);
    if (!c || !r) return null;
    return { conversion: shrink(c, priors.conversion), revenuePerUnit: shrink(r, priors.revenue) };
  };
  const metric = (e: StratifiedEstimate): PooledMetric => ({
    estimate: e.estimate,
    standardError: e.standardError,
    interval: e.interval,
    significant: e.significant,
    unadjustedStandardError: e.unadjustedStandardError,
    varianceRatio: e.varianceRatio,
  });
  const nameOf = new Map([...strata.entries()].map(([key, p]) => [key, p.name]));
  return {
    results: {
      status: "ok",
      strata: conversion.strata.map((s) => ({
        key: s.key,
        name: strataName(s.key, nameOf),
        units: s.units,
        weight: s.weight,
      })),
      conversion: metric(conversion),
      revenuePerUnit: metric(revenue),
      prePeriodDays: PRE_PERIOD_DAYS,
      unitsWithHistory: history.size,
      conversionSpread: Math.sqrt(priors.conversion?.tau2 ?? 0),
    },
    shrunk: (handle) => {
      if (handle === null) return shrunkOf(visitorStratum);
      const p = rows.get(handle);
      return p ? shrunkOf(p) : null;
    },
  };
}

export interface OfferOverviewRow {
  messageId: number;
  name: string;
  reward: string;
  segmentHandle: string;
  active: boolean;
  impressions: number;
  clickRate: number | null;
  treatment: ArmResult;
  holdout: ArmResult;
  lift: Comparison;
  /** The lift in words, e.g. "+2.9 pp (95% CI +0.4 to +5.4 pp)" or "Not enough data yet: …". */
  liftSummary: string;
  codesIssued: number;
  codesRedeemed: number;
  /** Minor units: the treated units' attributed revenue. */
  revenue: number;
  /** The lift pooled over the offer's groups with the pre-period adjustment (OfferResults.pooled). */
  pooled: PooledResults;
}

/** One row per offer (every message of the shop: each has a holdout), newest first. */
export async function offersOverview(
  db: PrismaClient,
  shopId: number,
  range: DateRange,
  now: Date,
): Promise<OfferOverviewRow[]> {
  const messages = await db.message.findMany({
    where: { shopId },
    select: { id: true, active: true },
    orderBy: { id: "desc" },
  });
  const rows: OfferOverviewRow[] = [];
  for (const m of messages) {
    const r = await offerResults(db, shopId, m.id, range, now);
    if (!r) continue;
    rows.push({
      messageId: r.messageId,
      name: r.name,
      reward: r.reward,
      segmentHandle: r.segmentHandle,
      active: m.active,
      impressions: r.impressions,
      clickRate: r.clickRate,
      treatment: r.treatment,
      holdout: r.holdout,
      lift: r.lift,
      liftSummary: liftInWords(r.lift),
      codesIssued: r.codes.issued,
      codesRedeemed: r.codes.redeemed,
      revenue: r.treatment.revenue,
      pooled: r.pooled,
    });
  }
  return rows;
}

/** Percentage points with a sign and one decimal: 0.0291 -> "+2.9". */
export function pointsOf(x: number): string {
  const pp = Math.round(x * 1000) / 10;
  return `${pp > 0 ? "+" : pp < 0 ? "−" : "±"}${Math.abs(pp).toFixed(1)}`;
}

/** "+2.9 pp (95% CI +0.4 to +5.4 pp)", or "Not enough data yet: <what is missing>". */
export function liftInWords(lift: Comparison): string {
  if (lift.status !== "ok") return `Not enough data yet: ${lift.need}`;
  const [low, high] = lift.absoluteInterval;
  return `${pointsOf(lift.absoluteLift)} pp (95% CI ${pointsOf(low)} to ${pointsOf(high)} pp)`;
}

// ---------------------------------------------------------------------------------------------
// Queries.

const MESSAGE_EVENT_TYPES = ["message_shown", "message_clicked", "message_dismissed"];

/** The UTC day number (days since 1970-01-01) of a DateTime column, in each dialect. */
function dayNumber(reader: HotQueries, column: string): string {
  return reader.dialect === "sqlite"
    ? `CAST(${column} / 86400000 AS INTEGER)`
    : `CAST(floor(extract(epoch from ${column}) / 86400) AS INTEGER)`;
}

interface EventRow {
  type: string;
  variantId: Num;
  day: Num;
  n: Num;
}

function eventCounts(reader: HotQueries, shopId: number, messageId: number, from: Date, to: Date) {
  // An event's variant: the one its visitor was exposed to (the lowest if it had two units).
  return reader.rows<EventRow>(
    `SELECT ev."type" AS "type", x."variantId" AS "variantId", ${dayNumber(reader, 'ev."occurredAt"')} AS "day",
       COUNT(*) AS "n"
     FROM "StorefrontEvent" ev
     LEFT JOIN (SELECT "visitorId", MIN("variantId") AS "variantId" FROM "OfferExposure"
                WHERE "messageId" = ? GROUP BY "visitorId") x ON x."visitorId" = ev."visitorId"
     WHERE ev."shopId" = ? AND ev."resourceId" = ? AND ev."type" IN (?, ?, ?)
       AND ev."occurredAt" >= ? AND ev."occurredAt" < ?
     GROUP BY ev."type", x."variantId", ${dayNumber(reader, 'ev."occurredAt"')}`,
    [messageId, shopId, String(messageId), ...MESSAGE_EVENT_TYPES, from, to],
  );
}

interface ExposureRow {
  arm: string;
  /** "c" for a customer unit, "v" for a visitor unit. */
  kind: string;
  variantId: Num;
  day: Num;
  n: Num;
}

function exposureCounts(reader: HotQueries, messageId: number, from: Date, to: Date) {
  return reader.rows<ExposureRow>(
    `SELECT "arm", SUBSTR("unit", 1, 1) AS "kind", "variantId", ${dayNumber(reader, '"at"')} AS "day",
       COUNT(*) AS "n"
     FROM "OfferExposure"
     WHERE "messageId" = ? AND "at" >= ? AND "at" < ?
     GROUP BY "arm", SUBSTR("unit", 1, 1), "variantId", ${dayNumber(reader, '"at"')}`,
    [messageId, from, to],
  );
}

interface PairRow {
  exposureId: Num;
  unit: string;
  arm: string;
  variantId: Num;
  at: unknown;
  orderId: Num;
  processedAt: unknown;
  net: Num;
}

interface ConvertedUnit {
  /** The exposure's unit, "c:<customer id>" or "v:<visitor id>". */
  unit: string;
  arm: string;
  variantId: number | null;
  revenue: number;
  /** Milliseconds. */
  firstOrderAt: number;
}

/**
 * Each converted unit exposed in [from, to): its attributed orders within the window. The
 * candidate (exposure, order) pairs come from one query per way an order can be a unit's (each
 * can use its own index; UNION drops a pair found twice); the window's end, whose arithmetic
 * differs between the dialects, is applied here.
 */
async function unitConversions(
  reader: HotQueries,
  shopId: number,
  messageId: number,
  from: Date,
  to: Date,
  now: Date,
): Promise<ConvertedUnit[]> {
  const select = `SELECT e."id" AS "exposureId", e."unit" AS "unit", e."arm" AS "arm", e."variantId" AS "variantId", e."at" AS "at",
      o."id" AS "orderId", o."processedAt" AS "processedAt", o."totalPrice" - o."totalRefunded" AS "net"`;
  // Each branch starts from the shop's orders in the range (their index on processedAt) and finds
  // the exposure by its unique (messageId, unit): no scan of the orders per exposure. CROSS JOIN
  // keeps that order in SQLite, whose planner would otherwise loop over the shop's visitors first
  // (in PostgreSQL it is an ordinary join).
  const where = `o."shopId" = ? AND o."processedAt" >= ? AND o."processedAt" <= ? AND o."test" = ?
       AND o."cancelledAt" IS NULL AND e."at" >= ? AND e."at" < ? AND o."processedAt" >= e."at"`;
  const lastOrder = new Date(Math.min(to.getTime() + WINDOW_MS, now.getTime()));
  const params = [messageId, shopId, from, lastOrder, false, from, to];
  const rows = await reader.rows<PairRow>(
    `${select}
     FROM "Order" o CROSS JOIN "OfferExposure" e
     WHERE e."messageId" = ? AND e."unit" = 'c:' || o."customerShopifyId" AND ${where}
     UNION
     ${select}
     FROM "Order" o CROSS JOIN "Visitor" v CROSS JOIN "OfferExposure" e
     WHERE v."shopId" = o."shopId" AND v."cartToken" = o."cartToken"
       AND e."messageId" = ? AND e."unit" = 'v:' || v."id" AND ${where}
     UNION
     ${select}
     FROM "Order" o CROSS JOIN "Visitor" v CROSS JOIN "OfferExposure" e
     WHERE v."shopId" = o."shopId" AND v."customerShopifyId" = o."customerShopifyId"
       AND e."messageId" = ? AND e."unit" = 'v:' || v."id" AND ${where}
     UNION
     ${select}
     FROM "Order" o CROSS JOIN "OfferExposure" e
     WHERE o."visitorId" IS NOT NULL AND e."messageId" = ? AND e."unit" = 'v:' || o."visitorId" AND ${where}
     UNION
     ${select}
     FROM "DiscountCode" d CROSS JOIN "Order" o CROSS JOIN "OfferExposure" e
     WHERE d."shopId" = o."shopId" AND d."status" = 'redeemed' AND o."shopifyId" = d."orderShopifyId"
       AND e."messageId" = ? AND e."unit" = 'v:' || d."visitorId" AND ${where}`,
    [...params, ...params, ...params, ...params, ...params],
  );
  const units = new Map<number, ConvertedUnit & { orders: Set<number> }>();
  for (const row of rows) {
    const at = date(row.at).getTime();
    const processedAt = date(row.processedAt).getTime();
    if (processedAt > at + WINDOW_MS) continue;
    const id = Number(row.exposureId);
    let unit = units.get(id);
    if (!unit) {
      unit = {
        unit: row.unit,
        arm: row.arm,
        variantId: row.variantId === null ? null : Number(row.variantId),
        revenue: 0,
        firstOrderAt: processedAt,
        orders: new Set(),
      };
      units.set(id, unit);
    }
    const orderId = Number(row.orderId);
    if (unit.orders.has(orderId)) continue;
    unit.orders.add(orderId);
    unit.revenue += Number(row.net);
    unit.firstOrderAt = Math.min(unit.firstOrderAt, processedAt);
  }
  return [...units.values()].map(({ orders: _orders, ...unit }) => unit);
}

interface HistoryRow {
  unit: string;
  arm: string;
  orders: Num;
  spend: Num;
}

/**
 * Each unit exposed in [from, to) that bought in the PRE_PERIOD_DAYS before its exposure: its
 * orders (not test, not cancelled) and their totals less refunds. A customer unit's orders; a
 * visitor's orders tied to it by the web pixel or placed by the customer it is linked to (its cart
 * tokens are of carts it may not have had yet). One query; UNION drops an order found twice.
 */
async function prePeriod(
  reader: HotQueries,
  shopId: number,
  messageId: number,
  from: Date,
  to: Date,
): Promise<Map<string, { arm: string; orders: number; spend: number }>> {
  const start =
    reader.dialect === "sqlite"
      ? `e."at" - ${PRE_PERIOD_DAYS * DAY_MS}`
      : `e."at" - interval '${PRE_PERIOD_DAYS} days'`;
  const select = `SELECT e."unit" AS "unit", e."arm" AS "arm", o."id" AS "orderId",
      o."totalPrice" - o."totalRefunded" AS "net"`;
  const where = `o."shopId" = ? AND o."processedAt" >= ? AND o."processedAt" < ? AND o."test" = ?
       AND o."cancelledAt" IS NULL AND e."at" >= ? AND e."at" < ?
       AND o."processedAt" < e."at" AND o."processedAt" >= ${start}`;
  const params = [
    messageId,
    shopId,
    new Date(from.getTime() - PRE_PERIOD_DAYS * DAY_MS),
    to,
    false,
    from,
    to,
  ];
  const rows = await reader.rows<HistoryRow>(
    `SELECT p."unit" AS "unit", p."arm" AS "arm", COUNT(*) AS "orders", SUM(p."net") AS "spend" FROM (
       ${select}
       FROM "Order" o CROSS JOIN "OfferExposure" e
       WHERE e."messageId" = ? AND e."unit" = 'c:' || o."customerShopifyId" AND ${where}
       UNION
       ${select}
       FROM "Order" o CROSS JOIN "OfferExposure" e
       WHERE o."visitorId" IS NOT NULL AND e."messageId" = ? AND e."unit" = 'v:' || o."visitorId" AND ${where}
       UNION
       ${select}
       FROM "Order" o CROSS JOIN "Visitor" v CROSS JOIN "OfferExposure" e
       WHERE v."shopId" = o."shopId" AND v."customerShopifyId" = o."customerShopifyId"
         AND e."messageId" = ? AND e."unit" = 'v:' || v."id" AND ${where}
     ) p GROUP BY p."unit", p."arm"`,
    [...params, ...params, ...params],
  );
  return new Map(
    rows.map((r) => [r.unit, { arm: r.arm, orders: Number(r.orders), spend: Number(r.spend ?? 0) }]),
  );
}

interface MemberRow {
  segmentId: Num;
  handle: string;
  name: string;
  unit: string;
  arm: string;
}

/**
 * The offer's customer units exposed in [from, to) that are members of one of the shop's segments
 * now (SegmentMember holds current membership only), one row per (segment, unit). Starts from the
 * shop's segments' members and finds each one's exposure by its unique (messageId, unit).
 */
function exposedMembers(reader: HotQueries, shopId: number, messageId: number, from: Date, to: Date) {
  return reader.rows<MemberRow>(
    `SELECT s."id" AS "segmentId", s."handle" AS "handle", s."name" AS "name", e."unit" AS "unit", e."arm" AS "arm"
     FROM "Segment" s CROSS JOIN "SegmentMember" sm CROSS JOIN "OfferExposure" e
     WHERE s."shopId" = ? AND sm."segmentId" = s."id"
       AND e."messageId" = ? AND e."unit" = 'c:' || sm."customerShopifyId" AND e."at" >= ? AND e."at" < ?`,
    [shopId, messageId, from, to],
  );
}

interface CodeCountRow {
  variantId: Num;
  issued: Num;
  redeemed: Num;
}

interface CodeOrderRow {
  variantId: Num;
  orderId: Num;
  discounts: Num;
  net: Num;
}

async function codeResults(reader: HotQueries, shopId: number, messageId: number, from: Date, to: Date) {
  const [counts, orders] = await Promise.all([
    reader.rows<CodeCountRow>(
      `SELECT "variantId",
         SUM(CASE WHEN "issuedAt" >= ? AND "issuedAt" < ? THEN 1 ELSE 0 END) AS "issued",
         SUM(CASE WHEN "status" = 'redeemed' AND "redeemedAt" >= ? AND "redeemedAt" < ? THEN 1 ELSE 0 END) AS "redeemed"
       FROM "DiscountCode"
       WHERE "messageId" = ? AND "shopId" = ? AND "status" IN ('issued', 'redeemed')
       GROUP BY "variantId"`,
      [from, to, from, to, messageId, shopId],
    ),
    reader.rows<CodeOrderRow>(
      `SELECT d."variantId" AS "variantId", o."id" AS "orderId", o."totalDiscounts" AS "discounts",
         o."totalPrice" - o."totalRefunded" AS "net"
       FROM "DiscountCode" d
       JOIN "Order" o ON o."shopId" = d."shopId" AND o."shopifyId" = d."orderShopifyId"
       WHERE d."messageId" = ? AND d."shopId" = ? AND d."status" = 'redeemed'
         AND d."redeemedAt" >= ? AND d."redeemedAt" < ?
         AND o."test" = ? AND o."cancelledAt" IS NULL`,
      [messageId, shopId, from, to, false],
    ),
  ]);
  const total = emptyCodes();
  const byVariant = new Map<number, CodeResult>();
  const of = (variantId: Num) => {
    if (variantId === null) return null;
    let c = byVariant.get(Number(variantId));
    if (!c) byVariant.set(Number(variantId), (c = emptyCodes()));
    return c;
  };
  for (const row of counts) {
    for (const c of [total, of(row.variantId)]) {
      if (!c) continue;
      c.issued += Number(row.issued ?? 0);
      c.redeemed += Number(row.redeemed ?? 0);
    }
  }
  // An order that used two of the offer's codes counts once.
  const seen = new Set<number>();
  for (const row of orders) {
    const orderId = Number(row.orderId);
    if (seen.has(orderId)) continue;
    seen.add(orderId);
    for (const c of [total, of(row.variantId)]) {
      if (!c) continue;
      c.orders += 1;
      c.discountCost += Number(row.discounts);
      c.revenue += Number(row.net);
    }
  }
  return { total, byVariant };
}

// ---------------------------------------------------------------------------------------------

function emptyArm(): ArmResult {
  return { units: 0, conversions: 0, rate: null, revenue: 0 };
}

function addConversion(arm: ArmResult, unit: ConvertedUnit): void {
  arm.conversions += 1;
  arm.revenue += unit.revenue;
}

function emptyCodes(): CodeResult {
  return { issued: 0, redeemed: 0, discountCost: 0, orders: 0, revenue: 0 };
}

function emptyEngagement(): EngagementResult {
  return { impressions: 0, clicks: 0, dismissals: 0, clickRate: null };
}

function withClickRate(e: EngagementResult): EngagementResult {
  return { ...e, clickRate: e.impressions ? e.clicks / e.impressions : null };
}

function rateOf(arm: ArmResult): number | null {
  return arm.units ? arm.conversions / arm.units : null;
}

function dayOf(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
}

/** Every UTC day that [from, to) touches. */
function dayList(from: Date, to: Date): string[] {
  const days: string[] = [];
  const last = Math.floor((to.getTime() - 1) / DAY_MS);
  for (let d = Math.floor(from.getTime() / DAY_MS); d <= last && days.length < 400; d++) days.push(dayOf(d));
  return days;
}

/** What a message did with shoppers who gave no analytics consent: counted only, never a unit. */
export interface UntrackedCounts {
  shown: number;
  clicked: number;
  dismissed: number;
}

/**
 * Shoppers without analytics consent see only untargeted messages and are counted in aggregate
 * (`AnonymousCount`: per day and message, no id of any kind), so they are in no arm of the
 * experiment and in no lift. The results page shows these counts beside the experiment's.
 */
export async function untrackedCounts(
  db: PrismaClient,
  shopId: number,
  messageId: number,
  range: { from: Date; to: Date },
): Promise<UntrackedCounts> {
  const rows = await db.anonymousCount.groupBy({
    by: ["type"],
    where: {
      shopId,
      resourceId: String(messageId),
      day: { gte: range.from.toISOString().slice(0, 10), lte: range.to.toISOString().slice(0, 10) },
    },
    _sum: { count: true },
  });
  const of = (type: string) => rows.find((r) => r.type === type)?._sum.count ?? 0;
  return { shown: of("message_shown"), clicked: of("message_clicked"), dismissed: of("message_dismissed") };
}
