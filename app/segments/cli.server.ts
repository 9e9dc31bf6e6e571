/** `npm run slice -- segments …`: the same database and compiler as the app, from a terminal. */
import prisma from "../db.server";
import { describeCondition, type RuleNode } from "../engine/rules";
import { safeTimeZone, type ShopFormat } from "../engine/format";
import { countVisitors, membersBySql, RECENT_VISITOR_DAYS, shopSegments } from "./store.server";
import { audienceOf, countsVisitors } from "../engine/fields-of";
import { segmentExport } from "./export.server";
import { pushSegment, setPushOptions } from "./push.server";
import { adminApiFor, type AdminApi } from "../sync/admin-api.server";
import { createOrUpdateSegment, deleteSegmentCommand } from "./cli-edit.server";

export class CliError extends Error {}

function describe(node: RuleNode, f: ShopFormat, indent = "  "): string[] {
  if ("all" in node) return [`${indent}all of:`, ...node.all.flatMap((n) => describe(n, f, indent + "  "))];
  if ("any" in node) return [`${indent}any of:`, ...node.any.flatMap((n) => describe(n, f, indent + "  "))];
  if ("not" in node) return [`${indent}not:`, ...describe(node.not, f, indent + "  ")];
  if ("segment" in node) return [`${indent}in segment "${node.segment}"`];
  return [`${indent}${describeCondition(node, f)}`];
}

export async function segmentsCommand(
  command: "list" | "show" | "export" | "push" | "create" | "update" | "delete",
  options: {
    shop: string;
    handle?: string;
    now: Date;
    /** list: sizes computed at this time (--now or --as-of) instead of the sizes last stored. */
    at?: Date;
    /** As of `now` (--as-of): the members of that moment, not only the rule's clock at it. */
    asOf?: boolean;
    /** create / update: the segment file's path and text. */
    file?: { path: string; text: string };
    format: "csv" | "json";
    /** push: switch tag / metafield sync on or off first. */
    tag?: boolean;
    metafield?: boolean;
  },
  /** Awaited for each line: an export of any size is written as it is read (see segments/export). */
  out: (line: string) => unknown,
  adminFor: (shop: string) => Promise<AdminApi> = (shop) => adminApiFor(prisma, shop),
): Promise<number> {
  const shop = await prisma.shop.findUnique({
    where: { domain: options.shop },
    select: { id: true, currency: true, ianaTimezone: true },
  });
  if (!shop) throw new CliError(`no shop "${options.shop}" in this database (DATABASE_URL)`);
  if (command === "create" || command === "update") {
    if (!options.file) throw new CliError(`segments ${command} needs a segment file (JSON)`);
    if (command === "update" && !options.handle) throw new CliError("segments update needs a segment handle");
    return createOrUpdateSegment(
      prisma,
      shop.id,
      command === "update" ? options.handle! : null,
      options.file.path,
      options.file.text,
      options.now,
      out,
    );
  }
  if (command === "delete") {
    if (!options.handle) throw new CliError("segments delete needs a segment handle");
    return deleteSegmentCommand(prisma, shop.id, options.handle, out);
  }
  const { segments, rules, resolve } = await shopSegments(prisma, shop.id);
  if (command === "list" && options.at) return listAt(shop.id, options.at, options.asOf === true, out);
  if (command === "list") {
    if (!segments.length)
      out(`${options.shop} has no segments yet (they are created after the first backfill)`);
    for (const s of segments)
      out(
        `${s.handle.padEnd(28)} ${String(s.size).padStart(7)}  ${s.name}${s.computedAt ? `  (computed ${s.computedAt.toISOString()})` : ""}`,
      );
    return 0;
  }
  const segment = segments.find((s) => s.handle === options.handle);
  if (!options.handle || !segment)
    throw new CliError(
      options.handle
        ? `no segment "${options.handle}" in ${options.shop}; see: segments list`
        : `segments ${command} needs a segment handle`,
    );
  if (command === "push") return push(shop.id, segment.handle, options, out, adminFor);
  if (command === "show") {
    const asOf = options.asOf === true;
    const members = await membersBySql(
      prisma,
      shop.id,
      rules.get(segment.handle)!,
      options.now,
      resolve,
      asOf,
    );
    out(`${segment.name} (${segment.handle})`);
    if (segment.description) out(segment.description);
    const f = { currency: shop.currency, timeZone: safeTimeZone(shop.ianaTimezone), locale: "en-US" };
    out(describe(rules.get(segment.handle)!.match, f).join("\n"));
    out(`members ${asOf ? "as of" : "at"} ${options.now.toISOString()}: ${members.size}`);
    const rule = rules.get(segment.handle)!;
    // A segment that reads the storefront counts the visitors (browsers, guests included) too.
    if (countsVisitors(audienceOf(rule, resolve)))
      out(
        `visitors seen in the ${RECENT_VISITOR_DAYS} days to ${options.now.toISOString()}: ${await countVisitors(prisma, shop.id, rule, options.now, resolve, asOf)}`,
      );
    return 0;
  }
  const found = await segmentExport(
    prisma,
    options.shop,
    segment.handle,
    options.now,
    options.format,
    options.asOf === true,
  );
  for await (const line of found!.lines) await out(line);
  return 0;
}

/**
 * Each segment's size with now = `at`. With the clock only (--now): windows ("in the last 30
 * days", "no order in 90 days") are measured back from `at`, and what is recorded after `at`
 * (orders, visits, customer changes) still counts. As of `at` (--as-of): a snapshot, nothing after
 * `at` counts (engine/as-of.ts says what the shop's copy can and cannot tell of the past).
 */
async function listAt(
  shopId: number,
  at: Date,
  asOf: boolean,
  out: (line: string) => unknown,
): Promise<number> {
  const { segments, rules, resolve } = await shopSegments(prisma, shopId);
  out(
    asOf
      ? `sizes as of ${at.toISOString()} (nothing recorded after it counts)`
      : `sizes with the clock at ${at.toISOString()} (data recorded after it still counts)`,
  );
  for (const s of segments) {
    const size = (await membersBySql(prisma, shopId, rules.get(s.handle)!, at, resolve, asOf)).size;
    out(`${s.handle.padEnd(28)} ${String(size).padStart(7)}  ${s.name}`);
  }
  return 0;
}

/** One push pass now: what was written to Shopify, and Shopify's refusals (exit 1 when any). */
async function push(
  shopId: number,
  handle: string,
  options: { shop: string; now: Date; tag?: boolean; metafield?: boolean },
  out: (line: string) => unknown,
  adminFor: (shop: string) => Promise<AdminApi>,
): Promise<number> {
  if (options.tag !== undefined || options.metafield !== undefined)
    await setPushOptions(prisma, shopId, handle, { tag: options.tag, metafield: options.metafield });
  const segment = await prisma.segment.findUniqueOrThrow({ where: { shopId_handle: { shopId, handle } } });
  if (!segment.pushTag && !segment.pushMetafield && !segment.shopifySegmentId && !segment.pushedAt) {
    out(`${handle}: nothing to push (tag and metafield sync are off; turn one on with --tag or --metafield)`);
    return 0;
  }
  const r = await pushSegment(prisma, await adminFor(options.shop), shopId, handle, options.now);
  out(
    `${handle}: checked ${r.checked} customers; tag added ${r.tagged}, removed ${r.untagged}; ` +
      `metafield written ${r.metafieldsWritten}, deleted ${r.metafieldsDeleted}` +
      (r.gone ? `; ${r.gone} no longer in Shopify` : "") +
      (r.shopifySegmentId ? `; Shopify segment ${r.shopifySegmentId}` : ""),
  );
  if (r.error) out(`error: ${r.error}`);
  return r.error ? 1 : 0;
}
