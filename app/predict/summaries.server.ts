/**
 * Customers' summaries for the predictive models (app/engine/predict/types.ts has the definition),
 * computed in SQL per customer from the shop's orders and streamed page by page into columns:
 * the orders never come into memory, and what does is 32 bytes a customer (plus 4 for its id, and
 * the calibration's columns when asked for).
 *
 * One statement per page of customer ids (`Customer.id` in (lo, hi]), on both databases:
 *   purchase days per customer (orders not cancelled, not test, processed at or before `now`; the
 *   UTC day of processedAt, several orders on one day summed into one purchase of their net value,
 *   totalPrice − totalRefunded, as Customer.totalSpent counts it),
 *   then per customer: first and last day, how many, their net, the first day's net (excluded from
 *   the repeat purchases' mean), and the same over the days before the calibration cut-off plus the
 *   days in the holdout period [cut-off, start of `now`'s day), and how many days and the last one
 *   before the "ago" day (`agoDayOf`: FALL_DAYS before `now`'s day; the summary as of its start
 *   gives P(active) then, and its fall since, predicted.probabilityActiveChange30d).
 * Deleted customers (tombstones) and orders without a customer are left out; a customer with no
 * such order has no summary.
 */
import { int, type HotQueries } from "../db-hot.server";
import type { Dialect } from "../db-url";
import { FALL_DAYS } from "../engine/predicted";
import type { Summary, SummaryColumns, ValueSummary } from "../engine/predict/types";

export const DAY_MS = 86_400_000;

/** Customers per page: a page is a few hundred kilobytes of rows, and a short statement. */
export const SUMMARY_PAGE = 10_000;

/** The calibration / holdout split, in whole UTC days since 1970-01-01. */
export interface HoldoutSplit {
  /** The cut-off's day: summaries as of its start (00:00 UTC) use the days before it. */
  cutDay: number;
  /** The holdout's end (exclusive): the day of `now`, whose orders are still coming in. */
  endDay: number;
}

export interface CalibrationColumns {
  /** Summaries as of the cut-off, for the customers whose first purchase was before it. */
  columns: SummaryColumns;
  /** Their purchase days in the holdout period [cutDay, endDay): all repeat purchases. */
  holdoutRepeats: Uint16Array;
}

/**
 * Each customer's purchases as of the start (00:00 UTC) of the day FALL_DAYS before `now`'s day
 * (8 bytes a customer): repeat purchases (-1: no purchase before then) and the days from the
 * first purchase day to the last one before then. Their age then is `all`'s T less `offset`.
 */
export interface AgoColumns {
  x: Int32Array;
  tx: Int32Array;
  /** Days from that moment to `now` (FALL_DAYS and the part of `now`'s day gone). */
  offset: number;
}

/**
 * The day (UTC days since 1970) whose start the fall in P(active) is measured from: FALL_DAYS
 * before `now`'s. Whole days, as purchases are (and as the holdout's cut-off is).
 */
export function agoDayOf(now: Date): number {
  return Math.floor(now.getTime() / DAY_MS) - FALL_DAYS;
}

export interface ShopSummaries {
  /** Customer.id of each row of `all`. */
  ids: Int32Array;
  /** Summaries as of `now`. */
  all: SummaryColumns;
  /** The same customers' purchases as of the start of agoDayOf(now), row for row with `all`. */
  ago: AgoColumns;
  calibration: CalibrationColumns | null;
}

interface SummaryRow {
  id: number | string;
  first: number | string;
  last: number | string;
  days: number | string;
  net: number | string;
  firstNet: number | string;
  calDays: number | string;
  calLast: number | string | null;
  calNet: number | string;
  holdDays: number | string;
  agoDays: number | string;
  agoLast: number | string | null;
}

// CROSS JOIN: SQLite then keeps the customers (a page of ids) outside and reaches each one's
// orders through Order(shopId, customerShopifyId, processedAt). With a plain JOIN its planner chose
// to walk every order of the shop by processedAt for each page (measured at 1M customers: hours).
// `"shopId" + 0`: the page is a range of Customer.id (the primary key); with a plain equality
// SQLite walked all of the shop's customers through a (shopId, …) index for every page.
function dayOf(dialect: Dialect): string {
  // SQLite keeps DateTime as integer milliseconds (db.server.ts); PostgreSQL's timestamp(3) is UTC.
  return dialect === "sqlite"
    ? `(o."processedAt" / ${DAY_MS})`
    : `(CAST(o."processedAt" AS date) - DATE '1970-01-01')`;
}

/**
 * The summaries statement. Parameters: cutDay ×3, cutDay, endDay, agoDay ×2 (agoDayOf(now)),
 * shopId, then the customers (`range`: lo, hi; `ids`: the ids), then test = false, now.
 */
export function summarySql(dialect: Dialect, customers: { range: true } | { ids: number }): string {
  const which =
    "range" in customers
      ? `c."id" > ? AND c."id" <= ?`
      : `c."id" IN (${Array.from({ length: customers.ids }, () => "?").join(", ")})`;
  return `SELECT w."cid" AS "id", MIN(w."d") AS "first", MAX(w."d") AS "last", COUNT(*) AS "days",
  SUM(w."net") AS "net", SUM(CASE WHEN w."d" = w."f" THEN w."net" ELSE 0 END) AS "firstNet",
  SUM(CASE WHEN w."d" < ? THEN 1 ELSE 0 END) AS "calDays",
  MAX(CASE WHEN w."d" < ? THEN w."d" END) AS "calLast",
  SUM(CASE WHEN w."d" < ? THEN w."net" ELSE 0 END) AS "calNet",
  SUM(CASE WHEN w."d" >= ? AND w."d" < ? THEN 1 ELSE 0 END) AS "holdDays",
  SUM(CASE WHEN w."d" < ? THEN 1 ELSE 0 END) AS "agoDays",
  MAX(CASE WHEN w."d" < ? THEN w."d" END) AS "agoLast"
FROM (
  SELECT p."cid", p."d", p."net", MIN(p."d") OVER (PARTITION BY p."cid") AS "f"
  FROM (
    SELECT c."id" AS "cid", ${dayOf(dialect)} AS "d", SUM(o."totalPrice" - o."totalRefunded") AS "net"
    FROM "Customer" c CROSS JOIN "Order" o
    WHERE c."shopId" + 0 = ? AND ${which} AND c."deletedAt" IS NULL
      AND o."shopId" = c."shopId" AND o."customerShopifyId" = c."shopifyId"
      AND o."cancelledAt" IS NULL AND o."test" = ? AND o."processedAt" <= ?
    GROUP BY c."id", ${dayOf(dialect)}
  ) p
) w
GROUP BY w."cid"`;
}

/** Columns with room for `capacity` customers; `length` counts those filled. */
export function emptyColumns(capacity: number): SummaryColumns {
  return {
    length: 0,
    x: new Float64Array(capacity),
    tx: new Float64Array(capacity),
    T: new Float64Array(capacity),
    mean: new Float64Array(capacity),
  };
}

/** The filled part of columns (views on the same memory, no copy). */
function trimmed(c: SummaryColumns): SummaryColumns {
  return {
    length: c.length,
    x: c.x.subarray(0, c.length),
    tx: c.tx.subarray(0, c.length),
    T: c.T.subarray(0, c.length),
    mean: c.mean.subarray(0, c.length),
  };
}

export function summaryAt(c: SummaryColumns, i: number): ValueSummary {
  return { x: c.x[i], tx: c.tx[i], T: c.T[i], mean: c.mean[i] };
}

/** The split for a cut-off `holdoutDays` whole days before the start of `now`'s UTC day. */
export function holdoutSplit(now: Date, holdoutDays: number): HoldoutSplit {
  const endDay = Math.floor(now.getTime() / DAY_MS);
  return { cutDay: endDay - holdoutDays, endDay };
}

interface Filling {
  ids: Int32Array;
  all: SummaryColumns;
  ago: AgoColumns;
  calibration: CalibrationColumns | null;
}

function grown(c: SummaryColumns, capacity: number): SummaryColumns {
  const copy = emptyColumns(capacity);
  copy.length = c.length;
  for (const k of ["x", "tx", "T", "mean"] as const) copy[k].set(c[k].subarray(0, c.length));
  return copy;
}

/** Room for `capacity` customers' purchases as of the start of agoDayOf(now). */
export function emptyAgo(capacity: number, now: Date): AgoColumns {
  return {
    x: new Int32Array(capacity),
    tx: new Int32Array(capacity),
    offset: (now.getTime() - agoDayOf(now) * DAY_MS) / DAY_MS,
  };
}

/** A customer's summary as of the start of agoDayOf(now); null with no purchase before then. */
export function agoAt(all: SummaryColumns, ago: AgoColumns, i: number): Summary | null {
  return ago.x[i] < 0 ? null : { x: ago.x[i], tx: ago.tx[i], T: all.T[i] - ago.offset };
}

/** Room for at least `needed` customers (only when the customers' order counts were behind). */
function grow(out: Filling, needed: number): void {
  const capacity = Math.max(needed, Math.ceil(out.ids.length * 1.25));
  const ids = new Int32Array(capacity);
  ids.set(out.ids.subarray(0, out.all.length));
  out.ids = ids;
  out.all = grown(out.all, capacity);
  const ago = { ...out.ago, x: new Int32Array(capacity), tx: new Int32Array(capacity) };
  ago.x.set(out.ago.x.subarray(0, out.all.length));
  ago.tx.set(out.ago.tx.subarray(0, out.all.length));
  out.ago = ago;
  if (out.calibration) {
    const repeats = new Uint16Array(capacity);
    repeats.set(out.calibration.holdoutRepeats.subarray(0, out.calibration.columns.length));
    out.calibration = { columns: grown(out.calibration.columns, capacity), holdoutRepeats: repeats };
  }
}

/** Adds a page's rows to the columns. */
function take(rows: SummaryRow[], nowMs: number, split: HoldoutSplit | null, out: Filling): void {
  for (const r of rows) {
    const first = int(r.first);
    const days = int(r.days);
    const x = days - 1;
    const firstNet = int(r.firstNet);
    const i = out.all.length++;
    out.ids[i] = int(r.id);
    out.all.x[i] = x;
    out.all.tx[i] = int(r.last) - first;
    out.all.T[i] = (nowMs - first * DAY_MS) / DAY_MS;
    out.all.mean[i] = x > 0 ? (int(r.net) - firstNet) / x : 0;
    const agoDays = int(r.agoDays);
    out.ago.x[i] = agoDays - 1; // -1: no purchase before then
    out.ago.tx[i] = agoDays > 0 ? int(r.agoLast) - first : 0;
    const cal = out.calibration;
    if (!cal || !split || first >= split.cutDay) continue;
    const cx = int(r.calDays) - 1;
    const j = cal.columns.length++;
    cal.columns.x[j] = cx;
    cal.columns.tx[j] = int(r.calLast) - first;
    cal.columns.T[j] = split.cutDay - first;
    cal.columns.mean[j] = cx > 0 ? (int(r.calNet) - firstNet) / cx : 0;
    cal.holdoutRepeats[j] = int(r.holdDays);
  }
}

function params(split: HoldoutSplit | null, now: Date): number[] {
  // Without a split every day counts as "before the cut-off" and none as in the holdout (a day far
  // beyond any order's, and within PostgreSQL's integer).
  const cut = split?.cutDay ?? 2_000_000_000;
  const ago = agoDayOf(now);
  return [cut, cut, cut, cut, split?.endDay ?? cut, ago, ago];
}

/**
 * Every customer's summary as of `now` (and, with `split`, as of its cut-off with their holdout
 * purchases), one page of customer ids at a time, read on `q` (the app's reader, or the fit
 * thread's own connection: fit-thread.server.ts). `onPage` is told after each page (progress,
 * and a chance for the caller to give way to other work).
 */
export async function readSummaries(
  q: HotQueries,
  shopId: number,
  now: Date,
  options: { split?: HoldoutSplit | null; page?: number; onPage?: (done: number) => unknown } = {},
): Promise<ShopSummaries> {
  const split = options.split ?? null;
  const page = options.page ?? SUMMARY_PAGE;
  // Customers with an order (the sync keeps ordersCount with every order) bound those with a
  // summary: the columns are made that long once, and grow only if that count was behind.
  const [bounds] = await q.rows<{ lo: unknown; hi: unknown; n: unknown }>(
    `SELECT MIN("id") AS "lo", MAX("id") AS "hi", SUM(CASE WHEN "ordersCount" > 0 THEN 1 ELSE 0 END) AS "n"
     FROM "Customer" WHERE "shopId" = ? AND "deletedAt" IS NULL`,
    [shopId],
  );
  const capacity = int(bounds?.n);
  const out: Filling = {
    ids: new Int32Array(capacity),
    all: emptyColumns(capacity),
    ago: emptyAgo(capacity, now),
    calibration: split
      ? { columns: emptyColumns(capacity), holdoutRepeats: new Uint16Array(capacity) }
      : null,
  };
  if (bounds?.lo !== null && bounds?.lo !== undefined) {
    const sql = summarySql(q.dialect, { range: true });
    const lo = int(bounds.lo);
    const hi = int(bounds.hi);
    for (let from = lo - 1; from < hi; from += page) {
      const rows = await q.rows<SummaryRow>(sql, [
        ...params(split, now),
        shopId,
        from,
        Math.min(from + page, hi),
        false,
        now,
      ]);
      if (out.all.length + rows.length > out.ids.length) grow(out, out.all.length + rows.length);
      take(rows, now.getTime(), split, out);
      await options.onPage?.(out.all.length);
    }
  }
  return {
    ids: out.ids.subarray(0, out.all.length),
    all: trimmed(out.all),
    ago: {
      x: out.ago.x.subarray(0, out.all.length),
      tx: out.ago.tx.subarray(0, out.all.length),
      offset: out.ago.offset,
    },
    calibration: out.calibration
      ? {
          columns: trimmed(out.calibration.columns),
          holdoutRepeats: out.calibration.holdoutRepeats.subarray(0, out.calibration.columns.length),
        }
      : null,
  };
}

/** A customer's summary as of `now`, and as of the start of agoDayOf(now) (null: no purchase before). */
export interface SummaryNowAndAgo extends ValueSummary {
  ago: Summary | null;
}

/** These customers' summaries as of `now` (those with no order have none), by Customer.id. */
export async function summariesOf(
  q: HotQueries,
  shopId: number,
  customerIds: readonly number[],
  now: Date,
): Promise<Map<number, SummaryNowAndAgo>> {
  const found = new Map<number, SummaryNowAndAgo>();
  const ids = [...new Set(customerIds)];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const rows = await q.rows<SummaryRow>(summarySql(q.dialect, { ids: chunk.length }), [
      ...params(null, now),
      shopId,
      ...chunk,
      false,
      now,
    ]);
    const out = {
      ids: new Int32Array(rows.length),
      all: emptyColumns(rows.length),
      ago: emptyAgo(rows.length, now),
      calibration: null,
    };
    take(rows, now.getTime(), null, out);
    for (let j = 0; j < out.all.length; j++)
      found.set(out.ids[j], { ...summaryAt(out.all, j), ago: agoAt(out.all, out.ago, j) });
  }
  return found;
}
