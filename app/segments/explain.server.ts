/**
 * "Why is this customer in or out?": find the customer the way a merchant knows them (an email, a
 * name, a Shopify gid or the numeric id) and explain the segment's rule against them, each value
 * in the shop's format. The admin's segment page and `segments explain` in the CLI both use it.
 */
import type { PrismaClient } from "@prisma/client";
import type { ShopFormat } from "../engine/format";
import { evaluate, type Reason } from "../engine/evaluate";
import { loadFacts } from "./facts.server";
import { shopSegments } from "./store.server";
import { customerName } from "./people";

export { customerName };

/** What the merchant typed, as a key to look a customer up by. */
export type CustomerKey =
  | { kind: "id"; id: string }
  | { kind: "email"; email: string }
  | { kind: "name"; name: string }
  | { kind: "invalid"; message: string };

const GID = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)(?:\?.*)?$/;

/** "Order" → "an order", "Product" → "a product". */
function article(type: string): string {
  const words = type.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return `${/^[aeiou]/.test(words) ? "an" : "a"} ${words}`;
}

/** How a typed text is read: a gid or digits are ids, text with an @ an email, else a name. */
export function customerKey(text: string): CustomerKey {
  const q = text.trim().replace(/\s+/g, " ");
  if (!q) return { kind: "invalid", message: "Enter a customer's email, name or id." };
  const gid = GID.exec(q);
  if (gid)
    return gid[1] === "Customer"
      ? { kind: "id", id: gid[2] }
      : { kind: "invalid", message: `${q} is the id of ${article(gid[1])}, not of a customer.` };
  if (q.startsWith("gid://"))
    return { kind: "invalid", message: `${q} is not a Shopify customer id (gid://shopify/Customer/…).` };
  if (/^\d{1,20}$/.test(q)) return { kind: "id", id: q };
  if (q.includes("@")) return { kind: "email", email: q.toLowerCase() };
  return { kind: "name", name: q.toLowerCase() };
}

export interface CustomerMatch {
  shopifyId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  ordersCount: number;
  totalSpent: number;
}

/** At most this many customers are listed when a name matches several. */
export const MAX_MATCHES = 20;

interface Row {
  shopifyId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  ordersCount: number | bigint;
  totalSpent: number | bigint;
}

/**
 * The shop's customers (not deleted) a key names, by name then id, at most MAX_MATCHES + 1 (one
 * more tells the caller there are more). Emails and names match whatever their case (ASCII case on
 * SQLite, whose LOWER folds only ASCII); a name is a first name, a last name or both.
 */
export async function findCustomers(
  db: PrismaClient,
  shopId: number,
  key: Exclude<CustomerKey, { kind: "invalid" }>,
): Promise<CustomerMatch[]> {
  const limit = MAX_MATCHES + 1;
  const rows =
    key.kind === "id"
      ? await db.$queryRaw<
          Row[]
        >`SELECT "shopifyId", "email", "firstName", "lastName", "ordersCount", "totalSpent"
          FROM "Customer" WHERE "shopId" = ${shopId} AND "deletedAt" IS NULL AND "shopifyId" = ${key.id}`
      : key.kind === "email"
        ? await db.$queryRaw<
            Row[]
          >`SELECT "shopifyId", "email", "firstName", "lastName", "ordersCount", "totalSpent"
          FROM "Customer" WHERE "shopId" = ${shopId} AND "deletedAt" IS NULL AND LOWER("email") = ${key.email}
          ORDER BY "shopifyId" LIMIT ${limit}`
        : await db.$queryRaw<
            Row[]
          >`SELECT "shopifyId", "email", "firstName", "lastName", "ordersCount", "totalSpent"
          FROM "Customer" WHERE "shopId" = ${shopId} AND "deletedAt" IS NULL
            AND (LOWER("firstName") = ${key.name} OR LOWER("lastName") = ${key.name}
              OR LOWER(TRIM(COALESCE("firstName", '') || ' ' || COALESCE("lastName", ''))) = ${key.name})
          ORDER BY "lastName", "firstName", "shopifyId" LIMIT ${limit}`;
  return rows.map((r) => ({ ...r, ordersCount: Number(r.ordersCount), totalSpent: Number(r.totalSpent) }));
}

/** What was looked for, in words: "the email x@y.com", "the name Ada Lovelace", "the id 123". */
export function lookedFor(key: Exclude<CustomerKey, { kind: "invalid" }>, typed: string): string {
  const text = typed.trim().replace(/\s+/g, " ");
  if (key.kind === "email") return `the email ${text}`;
  if (key.kind === "name") return `the name ${text}`;
  return `the id ${text}`;
}

export type Explanation =
  | { status: "invalid"; query: string; message: string }
  | { status: "missing"; query: string; message: string }
  | { status: "several"; query: string; message: string; matches: CustomerMatch[]; more: boolean }
  | { status: "found"; query: string; customer: CustomerMatch; member: boolean; reasons: Reason[] };

/**
 * Explains a segment's rule for the customer `query` names, at `now`, with values in `format`.
 * Null when the shop or the segment does not exist.
 */
export async function explainMember(
  db: PrismaClient,
  shopDomain: string,
  handle: string,
  query: string,
  now: Date,
  format: ShopFormat,
  /** As of `now`: the customer as they were then (engine/as-of.ts), with what that reads besides. */
  asOf = false,
): Promise<Explanation | null> {
  const shop = await db.shop.findUnique({ where: { domain: shopDomain }, select: { id: true } });
  if (!shop) return null;
  const { rules, resolve } = await shopSegments(db, shop.id);
  const rule = rules.get(handle);
  if (!rule) return null;
  const key = customerKey(query);
  if (key.kind === "invalid") return { status: "invalid", query, message: key.message };
  const matches = await findCustomers(db, shop.id, key);
  if (!matches.length)
    return { status: "missing", query, message: `No customer with ${lookedFor(key, query)} in this shop.` };
  if (matches.length > 1)
    return {
      status: "several",
      query,
      message: `${matches.length > MAX_MATCHES ? `More than ${MAX_MATCHES}` : matches.length} customers have ${lookedFor(key, query)}: pick one.`,
      matches: matches.slice(0, MAX_MATCHES),
      more: matches.length > MAX_MATCHES,
    };
  const customer = matches[0];
  const need = asOf
    ? { lines: true, checkouts: true, visitors: true, events: true, history: true }
    : undefined;
  const facts = (await loadFacts(db, shop.id, [customer.shopifyId], need)).get(customer.shopifyId);
  if (!facts)
    return { status: "missing", query, message: `No customer with ${lookedFor(key, query)} in this shop.` };
  return { status: "found", query, customer, ...evaluate(rule, facts, { now, resolve, format, asOf }) };
}

/** The customer's page in the shop's Shopify admin (the same address chrome's shopifyAdminUrl builds). */
export function customerAdminUrl(shopDomain: string, shopifyId: string): string {
  return `https://admin.shopify.com/store/${shopDomain.replace(/\.myshopify\.com$/, "")}/customers/${shopifyId}`;
}
