/**
 * Who just-applied webhooks touched, and what about them: the input of updateMembership. A batch
 * of events is read together: the people named in the payloads directly, then one query per kind
 * of indirect reference (refunds' orders, carts' visitors, deleted orders' tombstones).
 */
import type { PrismaClient } from "@prisma/client";
import type { Touch } from "../engine/fields-of";
import { parseJson, resourceId, shopifyId } from "../sync/payload";
import { hotFor, inChunks, marks } from "../db-hot.server";
import type { AdminApi } from "../sync/admin-api.server";
import { afterApplied } from "../sync/after-apply.server";

export interface Touched {
  customers: string[];
  what: Touch[];
}

/** An applied event; `parsed` is its payload through parseJson when the caller has it already. */
export interface TouchEvent {
  topic: string;
  payload: string;
  parsed?: unknown;
}

type Loose = Record<string, unknown> & { customer?: { id?: unknown; admin_graphql_api_id?: unknown } | null };

/** What one event needs looked up before its customers are known. */
type Pending =
  | { kind: "known"; touched: Touched }
  | { kind: "deleted order"; orderId: string }
  | { kind: "refund"; orderId: string }
  | { kind: "cart"; token: string };

const NOBODY: Touched = { customers: [], what: [] };

/** One event's direct reading of its payload (throws on a payload without the id it needs). */
function pendingOf({ topic, payload: raw, parsed }: TouchEvent): Pending {
  const payload = (parsed ?? parseJson(raw)) as Loose;
  const customerOf = (p: Loose) => (p.customer ? [resourceId(p.customer)] : []);
  const known = (customers: string[], what: Touch[]): Pending => ({
    kind: "known",
    touched: { customers, what },
  });
  const [resource] = topic.split("/");
  // The order is gone: its customer is on the tombstone.
  if (topic === "orders/delete")
    return { kind: "deleted order", orderId: resourceId(payload as { id?: unknown }) };
  if (topic === "customers/purchasing_summary") {
    const id = shopifyId(payload.customerId);
    return known(id ? [id] : [], ["customer", "orders"]);
  }
  switch (resource) {
    case "orders":
      return known(customerOf(payload), ["orders", "customer"]);
    case "customers":
      return known(payload.id !== undefined ? [resourceId(payload as { id?: unknown })] : [], [
        "customer",
        "orders",
      ]);
    case "checkouts":
      return known(customerOf(payload), ["checkouts"]);
    case "refunds":
      return { kind: "refund", orderId: shopifyId(payload.order_id) ?? "" };
    case "carts":
      return { kind: "cart", token: String(payload.token ?? "") };
    default:
      return known([], []);
  }
}

/**
 * Who each of these events (all of one shop) touched, in their order: one query per kind of
 * indirect reference for the whole batch. An event whose payload names nobody readable touches
 * nobody (it was applied; its membership effect is left to the sweep and recomputes).
 */
export async function touchedByEvents(
  db: PrismaClient,
  shopId: number,
  events: readonly TouchEvent[],
): Promise<Touched[]> {
  const pending = events.map((e): Pending => {
    try {
      return pendingOf(e);
    } catch (error) {
      console.error(`segments: who ${e.topic} touched is unknown:`, (error as Error).message);
      return { kind: "known", touched: NOBODY };
    }
  });
  const wanted = (kind: Pending["kind"]) => [
    ...new Set(
      pending.flatMap((p) =>
        p.kind === kind && p.kind !== "known" ? [p.kind === "cart" ? p.token : p.orderId] : [],
      ),
    ),
  ];
  const reader = hotFor(db);
  const [tombstones, orders, visitors] = await Promise.all([
    inChunks<{ key: string; customerShopifyId: string | null }>(reader, wanted("deleted order"), (chunk) => ({
      sql: `SELECT "shopifyId" AS "key", "customerShopifyId" FROM "DeletedOrder"
            WHERE "shopId" = ? AND "shopifyId" IN (${marks(chunk.length)})`,
      params: [shopId, ...chunk],
    })),
    inChunks<{ key: string; customerShopifyId: string | null }>(reader, wanted("refund"), (chunk) => ({
      sql: `SELECT "shopifyId" AS "key", "customerShopifyId" FROM "Order"
            WHERE "shopId" = ? AND "shopifyId" IN (${marks(chunk.length)})`,
      params: [shopId, ...chunk],
    })),
    inChunks<{ key: string; customerShopifyId: string }>(reader, wanted("cart"), (chunk) => ({
      sql: `SELECT "cartToken" AS "key", "customerShopifyId" FROM "Visitor"
            WHERE "shopId" = ? AND "cartToken" IN (${marks(chunk.length)}) AND "customerShopifyId" IS NOT NULL`,
      params: [shopId, ...chunk],
    })),
  ]);
  const byKey = (rows: { key: string; customerShopifyId: string | null }[]) => {
    const map = new Map<string, string[]>();
    for (const r of rows) {
      if (!r.customerShopifyId) continue;
      const list = map.get(r.key) ?? [];
      list.push(r.customerShopifyId);
      map.set(r.key, list);
    }
    return map;
  };
  const [ofTombstone, ofOrder, ofCart] = [byKey(tombstones), byKey(orders), byKey(visitors)];
  return pending.map((p): Touched => {
    switch (p.kind) {
      case "known":
        return p.touched;
      case "deleted order":
        return { customers: ofTombstone.get(p.orderId) ?? [], what: ["orders", "customer"] };
      case "refund":
        return { customers: ofOrder.get(p.orderId) ?? [], what: ["orders", "customer"] };
      case "cart":
        return { customers: ofCart.get(p.token) ?? [], what: ["cart"] };
    }
  });
}

/** Who one just-applied webhook touched. */
export async function touchedBy(
  db: PrismaClient,
  shopId: number,
  topic: string,
  raw: string,
): Promise<Touched> {
  // One event: its payload errors are the caller's to see.
  pendingOf({ topic, payload: raw });
  const [touched] = await touchedByEvents(db, shopId, [{ topic, payload: raw }]);
  return touched;
}

/**
 * The worker's after-apply step for one event (tests and benches call it): the pipeline of
 * app/sync/after-apply.server.ts for a batch of one.
 */
export async function afterWebhook(
  db: PrismaClient,
  event: { shopDomain: string; topic: string; payload: string },
  now: Date,
  adminFor?: (shop: string) => Promise<AdminApi>,
): Promise<void> {
  await afterApplied(db, [event], now, adminFor);
}
