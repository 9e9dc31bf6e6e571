/**
 * `npm run slice -- segments explain <handle> <email|name|gid|id> --shop DOMAIN [--now ISO]`: the
 * admin's "Why is this customer in or out?" in a terminal, with the same lookup, and values in the
 * shop's currency and time zone (en-US).
 */
import prisma from "../db.server";
import { safeTimeZone } from "../engine/format";
import { CliError } from "./cli.server";
import { customerAdminUrl, customerName, explainMember } from "./explain.server";

export async function explainCommand(
  /** asOf: explained as of `now` (--as-of), not only with the clock at it. */
  options: { shop: string; handle?: string; customer?: string; now: Date; asOf?: boolean },
  out: (line: string) => unknown,
): Promise<number> {
  const shop = await prisma.shop.findUnique({
    where: { domain: options.shop },
    select: { currency: true, ianaTimezone: true },
  });
  if (!shop) throw new CliError(`no shop "${options.shop}" in this database (DATABASE_URL)`);
  if (!options.handle) throw new CliError("segments explain needs a segment handle");
  if (!options.customer)
    throw new CliError("segments explain needs a customer: an email, a name, a Shopify gid or a numeric id");
  const format = { currency: shop.currency, timeZone: safeTimeZone(shop.ianaTimezone), locale: "en-US" };
  const found = await explainMember(
    prisma,
    options.shop,
    options.handle,
    options.customer,
    options.now,
    format,
    options.asOf,
  );
  if (!found) throw new CliError(`no segment "${options.handle}" in ${options.shop}; see: segments list`);
  if (found.status === "invalid" || found.status === "missing") throw new CliError(found.message);
  if (found.status === "several") {
    out(found.message);
    for (const c of found.matches)
      out(`  ${c.shopifyId.padEnd(16)} ${customerName(c)}${c.email ? ` <${c.email}>` : ""}`);
    if (found.more) out("  … and more: give an email or an id");
    return 1;
  }
  const c = found.customer;
  out(
    `${customerName(c)}${c.email ? ` <${c.email}>` : ""} (customer ${c.shopifyId}) is ${found.member ? "in" : "not in"} ${options.handle}`,
  );
  if (options.asOf && !found.reasons.length && !found.member)
    out(`  (not a customer yet at ${options.now.toISOString()}: created later)`);
  for (const r of found.reasons) out(`  ${r.met ? "✓" : "✗"} ${r.condition} (is ${r.value})`);
  for (const note of new Set(found.reasons.map((r) => r.note).filter(Boolean)))
    out(`  Predicted values: ${note}.`);
  out(customerAdminUrl(options.shop, c.shopifyId));
  return 0;
}
