/**
 * A segment's members as CSV or JSON, streamed: the admin's Export CSV (an HTTP response) and
 * `npm run slice -- segments export` (the terminal) write the same file (money in decimal units
 * with a currency column, times with the shop's offset: see ExportFormat). Both read the members
 * a page at a time, in the order of their Shopify id (keyset: each page starts after the last id
 * of the one before), and write each page before reading the next. Memory stays at one page whatever the segment's size,
 * and no statement binds a list of ids (SQLite refuses more than 999 parameters: re-reading the
 * members with one IN list failed past 996 of them).
 *
 * Each page is the segment's compiled SQL at the same `now`, limited to a range of ids. A
 * customer who changes while a large export runs is in it as the page that reads them finds them.
 */
import type { PrismaClient } from "@prisma/client";
import { dialectOfClient } from "../db.server";
import { dateOrNull } from "../db-hot.server";
import { compile } from "../engine/sql";
import { isoInZone, isoInZoneFor, moneyDecimal, safeTimeZone } from "../engine/format";
import type { Rule } from "../engine/rules";
import { shopSegments, type ShopSegments } from "./store.server";

/** Customers per page (window): a few ms per statement, and one page in memory at a time. */
export const EXPORT_PAGE = 1000;

export const EXPORT_COLUMNS = [
  "shopifyId",
  "email",
  "firstName",
  "lastName",
  "countryCode",
  "ordersCount",
  "totalSpent",
  "currency",
  "lastOrderAt",
] as const;

/**
 * What an export's figures are written in: money in the currency's decimal units ("1868.70", with
 * the currency in its own column), times as ISO 8601 with the shop's offset
 * ("2026-10-25T10:09:20-04:00"): exact for a spreadsheet or a script, and in the shop's time.
 */
export interface ExportFormat {
  currency: string;
  timeZone: string;
}

/** One member as the file writes them (the CSV's columns, the JSON's keys, in that order). */
export type ExportRecord = Record<(typeof EXPORT_COLUMNS)[number], string | number | null>;

/** Writes rows in one format (the zone's time formatter is built once, not per row). */
export function exportRecords(f: ExportFormat): (r: ExportRow) => ExportRecord {
  const iso = isoInZoneFor(f.timeZone);
  return (r) => ({
    shopifyId: r.shopifyId,
    email: r.email,
    firstName: r.firstName,
    lastName: r.lastName,
    countryCode: r.countryCode,
    ordersCount: r.ordersCount,
    totalSpent: moneyDecimal(r.totalSpent, f.currency),
    currency: f.currency,
    lastOrderAt: r.lastOrderAt ? iso(r.lastOrderAt) : null,
  });
}

export interface ExportRow {
  shopifyId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  countryCode: string | null;
  ordersCount: number;
  totalSpent: number;
  lastOrderAt: Date | null;
}

/**
 * The export's rows, a page at a time, in the order of the customers' Shopify ids.
 *
 * Pages are windows of the shop's customers (keyset on the Shopify id, through the unique index
 * on shop and id): one statement finds where the next `pageSize` customers end, and one runs the
 * segment's SQL limited to that range, joined to the columns. Each statement is bounded by the
 * window whatever the rule selects, and binds no member ids. (A "next members after the cursor"
 * page instead let PostgreSQL's planner, guessing the rule's selectivity, scan and sort the rest of
 * the table for every page: 80 ms a page at 100,000 customers, quadratic in the segment's size.)
 */
export async function* exportPages(
  db: PrismaClient,
  shopId: number,
  rule: Rule,
  now: Date,
  resolve: ShopSegments["resolve"],
  pageSize = EXPORT_PAGE,
  /** As of `now`: the members of that moment (engine/as-of.ts), not only its clock. */
  asOf = false,
): AsyncGenerator<ExportRow[]> {
  const dialect = dialectOfClient(db);
  const { sql, params } = compile(rule, dialect, { now, shopId, resolve, asOf });
  const at = (n: number, cast = "") => (dialect === "sqlite" ? "?" : `$${n}${cast}`);
  const windowEnd = `SELECT "shopifyId" AS id FROM "Customer" WHERE "shopId" = ${at(1)} AND "shopifyId" > ${at(2)}
    ORDER BY "shopifyId" LIMIT 1 OFFSET ${at(3, "::int")}`;
  const rows = (bounded: boolean) => {
    const n = params.length;
    return `SELECT x."shopifyId", x."email", x."firstName", x."lastName", x."countryCode", x."ordersCount",
        x."totalSpent", x."lastOrderAt"
      FROM (SELECT m.id FROM (${sql}) m WHERE m.id > ${at(n + 1)}${bounded ? ` AND m.id <= ${at(n + 2)}` : ""}) p
      JOIN "Customer" x ON x."shopId" = ${at(bounded ? n + 3 : n + 2)} AND x."shopifyId" = p.id
      ORDER BY x."shopifyId"`;
  };
  let after = "";
  for (;;) {
    const [end] = await db.$queryRawUnsafe<{ id: string }[]>(windowEnd, shopId, after, pageSize - 1);
    const found = await db.$queryRawUnsafe<RawRow[]>(
      rows(end !== undefined),
      ...params,
      after,
      ...(end ? [end.id] : []),
      shopId,
    );
    if (found.length) yield found.map(exportRow);
    if (!end) return;
    after = end.id;
  }
}

interface RawRow {
  shopifyId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  countryCode: string | null;
  ordersCount: number | bigint;
  totalSpent: number | bigint;
  lastOrderAt: Date | number | bigint | null;
}

function exportRow(r: RawRow): ExportRow {
  return {
    shopifyId: r.shopifyId,
    email: r.email,
    firstName: r.firstName,
    lastName: r.lastName,
    countryCode: r.countryCode,
    ordersCount: Number(r.ordersCount),
    totalSpent: Number(r.totalSpent),
    lastOrderAt: dateOrNull(r.lastOrderAt),
  };
}

/** One CSV cell: quoted when needed, and spreadsheet formulas in customer-entered text defused. */
export function csvCell(value: unknown): string {
  const text =
    value === null || value === undefined ? "" : value instanceof Date ? value.toISOString() : String(value);
  // Defuse spreadsheet formulas (=, +, -, @, and a tab or carriage return before them, as
  // OWASP lists) from customer-entered text.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvLine(record: ExportRecord): string {
  return EXPORT_COLUMNS.map((c) => csvCell(record[c])).join(",");
}

/** The CSV, as lines without their newline: the header, then one line per member. */
export async function* csvLines(pages: AsyncIterable<ExportRow[]>, f: ExportFormat): AsyncGenerator<string> {
  const record = exportRecords(f);
  yield EXPORT_COLUMNS.join(",");
  for await (const rows of pages) for (const row of rows) yield csvLine(record(row));
}

/**
 * The JSON export, as lines: the same text as `JSON.stringify({ segment, at, customers, count },
 * null, 2)`. The count comes last, after the customers it counts, so it is always the number of
 * customers in the file.
 */
export async function* jsonLines(
  handle: string,
  now: Date,
  pages: AsyncIterable<ExportRow[]>,
  f: ExportFormat,
): AsyncGenerator<string> {
  yield "{";
  yield `  "segment": ${JSON.stringify(handle)},`;
  yield `  "at": ${JSON.stringify(isoInZone(now, f.timeZone))},`;
  const record = exportRecords(f);
  let count = 0;
  let previous: string | null = null;
  for await (const rows of pages)
    for (const row of rows) {
      // A customer's line gets its comma once the next one is known to follow.
      yield previous === null ? `  "customers": [` : `${previous},`;
      previous = `    ${JSON.stringify(record(row), null, 2).replaceAll("\n", "\n    ")}`;
      count++;
    }
  if (previous === null) yield `  "customers": [],`;
  else {
    yield previous;
    yield "  ],";
  }
  yield `  "count": ${count}`;
  yield "}";
}

export interface SegmentExport {
  handle: string;
  /** Lines of the file, each without its newline. */
  lines: AsyncGenerator<string>;
}

/**
 * A shop's segment as an export in the given format, ready to stream; null when the shop or the
 * segment does not exist. Nothing is read until the lines are.
 */
export async function segmentExport(
  db: PrismaClient,
  shopDomain: string,
  handle: string,
  now: Date,
  format: "csv" | "json",
  /** As of `now` (the CLI's --as-of). */
  asOf = false,
): Promise<SegmentExport | null> {
  const shop = await db.shop.findUnique({
    where: { domain: shopDomain },
    select: { id: true, currency: true, ianaTimezone: true },
  });
  if (!shop) return null;
  const { rules, resolve } = await shopSegments(db, shop.id);
  const rule = rules.get(handle);
  if (!rule) return null;
  const f = { currency: shop.currency, timeZone: safeTimeZone(shop.ianaTimezone) };
  const pages = exportPages(db, shop.id, rule, now, resolve, EXPORT_PAGE, asOf);
  return { handle, lines: format === "csv" ? csvLines(pages, f) : jsonLines(handle, now, pages, f) };
}

/**
 * Lines as a byte stream for an HTTP response: a page is read when the client has taken the one
 * before (the stream pulls), so a slow download holds one page in memory, not the segment.
 */
export function linesToStream(lines: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let text = "";
        // Batch lines into chunks of about 64 KB: one enqueue per line would cost more than the export.
        while (text.length < 65_536) {
          const next = await lines.next();
          if (next.done) {
            if (text) controller.enqueue(encoder.encode(text));
            controller.close();
            return;
          }
          text += next.value + "\n";
        }
        controller.enqueue(encoder.encode(text));
      },
      async cancel() {
        await lines.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}
