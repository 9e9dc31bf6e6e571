/**
 * Applies a run of claimed webhooks set-based, in the caller's one hot transaction: every event is
 * parsed first, what the copy holds for the run's keys is read with one SELECT per table, the
 * events are applied in claim order to that picture in memory (exactly the rules of
 * apply.server.ts: the `updatedAt` guard, tombstones, placeholder customers, Shopify's lifetime
 * figures with their own version, refunds as immutable facts, checkout ↔ order links), and the
 * result is written with a few statements per table: multi-row upserts, one DELETE of the
 * replaced lines and one INSERT of the new ones, the refunds, then the derived figures of every
 * customer touched. About 25 statements for a run of 250 events, where applying them one by one
 * took about ten Prisma calls each.
 *
 * Within a run the newest version of a record wins whatever the order of its events: an older
 * one is "stale" (a stale order copy still brings refunds it lists, a stale customer copy still
 * brings Shopify's lifetime figures when they are newer). A refund whose order is anywhere in the
 * run applies; one whose order is nowhere fails for that event only (OrderNotYetSynced, retried).
 * An event that does not parse, or fails in any other way, fails alone: it changes nothing in
 * the picture, and the rest of the run applies.
 *
 * The topics handled here are the busy ones (orders, refunds, customers, carts, checkouts,
 * purchasing summaries); the rare ones (deletions, privacy requests, the shop's own events) keep
 * the per-event path of handlers.server.ts.
 */
import {
  bool,
  date,
  dateOrNull,
  int,
  insertMany,
  marks,
  type HotQueries,
  type Statement,
} from "../db-hot.server";
import { lifetimeFigures, type ShopifyTotals } from "../engine/lifetime";
import {
  compare,
  customerData,
  orderColumns,
  OrderNotYetSynced,
  shopifyTotalsOf,
  UNKNOWN_VERSION,
  type Outcome,
} from "./apply.server";
import {
  cartFromWebhook,
  checkoutFromWebhook,
  customerFromWebhook,
  orderFromWebhook,
  purchasingSummaryFromWebhook,
  refundFromWebhook,
  refundOrderId,
} from "./from-webhook";
import type { ShopRef } from "./handlers.server";
import { parsedOnce } from "./payload";
import type { CartRecord, CheckoutRecord, CustomerRecord, OrderRecord, RefundRecord } from "./records";

export interface BatchInput {
  id: number;
  topic: string;
  payload: string;
}

/** What applying one event of the run did: its outcome, or why it failed (kept for a retry). */
export type BatchResult = { id: number; outcome: string } | { id: number; error: unknown };

type Parsed =
  | { kind: "order"; record: OrderRecord }
  | { kind: "customer"; record: CustomerRecord }
  | { kind: "summary"; customerShopifyId: string; totals: ShopifyTotals }
  | { kind: "cart"; record: CartRecord }
  | { kind: "checkout"; record: CheckoutRecord }
  | { kind: "refund"; orderShopifyId: string; payload: unknown };

function parse(id: number, topic: string, text: string, shop: ShopRef): Parsed {
  const payload = parsedOnce(id, text);
  if (topic.startsWith("orders/") && topic !== "orders/delete")
    return { kind: "order", record: orderFromWebhook(payload) };
  if (topic === "refunds/create") return { kind: "refund", orderShopifyId: refundOrderId(payload), payload };
  if (topic === "customers/purchasing_summary") {
    const s = purchasingSummaryFromWebhook(payload);
    return { kind: "summary", customerShopifyId: s.customerShopifyId, totals: s.totals };
  }
  if (topic === "customers/create" || topic === "customers/update")
    return { kind: "customer", record: customerFromWebhook(payload) };
  if (topic.startsWith("carts/")) return { kind: "cart", record: cartFromWebhook(payload, shop.currency) };
  if (topic.startsWith("checkouts/")) return { kind: "checkout", record: checkoutFromWebhook(payload) };
  throw new Error(`topic "${topic}" is not applied in batches`);
}

/** A customer row as the copy holds it (every column the apply writes). */
interface CustomerRow {
  shopifyId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  state: string | null;
  tags: string;
  acceptsEmailMarketing: boolean;
  countryCode: string | null;
  provinceCode: string | null;
  city: string | null;
  ordersCount: number;
  totalSpent: number;
  firstOrderAt: Date | null;
  lastOrderAt: Date | null;
  shopifyOrdersCount: number | null;
  shopifySpent: number | null;
  shopifyTotalsAt: Date | null;
  shopifyCreatedAt: Date | null;
  shopifyUpdatedAt: Date;
  deletedAt: Date | null;
}

const CUSTOMER_COLUMNS = [
  "email",
  "firstName",
  "lastName",
  "state",
  "tags",
  "acceptsEmailMarketing",
  "countryCode",
  "provinceCode",
  "city",
  "ordersCount",
  "totalSpent",
  "firstOrderAt",
  "lastOrderAt",
  "shopifyOrdersCount",
  "shopifySpent",
  "shopifyTotalsAt",
  "shopifyCreatedAt",
  "shopifyUpdatedAt",
  "deletedAt",
] as const;

/** An order as far as the apply needs to know it. */
interface OrderHead {
  customerShopifyId: string | null;
  currency: string;
  shopifyUpdatedAt: Date;
  checkoutToken: string | null;
  checkoutShopifyId: string | null;
}

interface CheckoutRow {
  shopifyId: string;
  token: string | null;
  cartToken: string | null;
  customerShopifyId: string | null;
  email: string | null;
  currency: string;
  totalPrice: number;
  subtotalPrice: number;
  itemCount: number;
  completedAt: Date | null;
  orderShopifyId: string | null;
  shopifyCreatedAt: Date;
  shopifyUpdatedAt: Date;
}

const CHECKOUT_COLUMNS = [
  "token",
  "cartToken",
  "customerShopifyId",
  "email",
  "currency",
  "totalPrice",
  "subtotalPrice",
  "itemCount",
  "completedAt",
  "orderShopifyId",
  "shopifyCreatedAt",
  "shopifyUpdatedAt",
] as const;

const unique = <T>(values: Iterable<T | null | undefined>): T[] =>
  [...new Set(values)].filter((v): v is T => v !== null && v !== undefined);

/**
 * An IN list padded to a power of two (with its first value repeated), so that a statement is
 * prepared once per size class rather than once per length.
 */
function inList<V extends string | number>(values: readonly V[]): { marks: string; params: V[] } {
  let size = 8;
  while (size < values.length) size *= 2;
  const params = [...values];
  while (params.length < size) params.push(values[0]);
  return { marks: params.map(() => "?").join(", "), params };
}

/** Rows of `sql` (with one `(#)` for an IN list of `values`), 256 values at a time. */
async function rowsIn<T>(
  q: HotQueries,
  sql: string,
  before: readonly unknown[],
  values: readonly (string | number)[],
): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < values.length; i += 256) {
    const { marks, params } = inList(values.slice(i, i + 256));
    out.push(...(await q.rows<T>(sql.replace("(#)", `(${marks})`), [...before, ...params])));
  }
  return out;
}

async function runIn(
  q: HotQueries,
  sql: string,
  before: readonly unknown[],
  values: readonly (string | number)[],
): Promise<number> {
  let changed = 0;
  for (let i = 0; i < values.length; i += 256) {
    const { marks, params } = inList(values.slice(i, i + 256));
    changed += await q.run(sql.replace("(#)", `(${marks})`), [...before, ...params]);
  }
  return changed;
}

/** Multi-row INSERTs in power-of-two chunks (a bounded number of distinct statements to prepare). */
async function insertRows(
  q: HotQueries,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  tail = "",
): Promise<void> {
  let at = 0;
  while (at < rows.length) {
    let size = 256;
    while (size > rows.length - at) size /= 2;
    await insertMany(q, table, columns, rows.slice(at, at + size), tail);
    at += size;
  }
}

/**
 * insertRows with `RETURNING ${returning}`: the rows written (inserted or updated), so that the
 * row ids the lines need come back with the upsert, not by a SELECT after it (a round trip each
 * on PostgreSQL).
 */
async function upsertReturning<T>(
  q: HotQueries,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  tail: string,
  returning: string,
): Promise<T[]> {
  const out: T[] = [];
  const row = `(${columns.map(() => "?").join(", ")})`;
  const widest = Math.max(1, Math.min(256, Math.floor(30_000 / columns.length)));
  let at = 0;
  while (at < rows.length) {
    let size = 256;
    while (size > rows.length - at || size > widest) size /= 2;
    const part = rows.slice(at, at + size);
    out.push(
      ...(await q.rows<T>(
        `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES ${Array.from(
          { length: part.length },
          () => row,
        ).join(", ")}${tail} RETURNING ${returning}`,
        part.flat(),
      )),
    );
    at += size;
  }
  return out;
}

const updateAll = (columns: readonly string[]) => columns.map((c) => `"${c}" = excluded."${c}"`).join(", ");

const HELD_ORDERS = `SELECT "id", "shopifyId", "customerShopifyId", "currency", "shopifyUpdatedAt", "checkoutToken", "checkoutShopifyId"
  FROM "Order" WHERE "shopId" = ? AND "shopifyId" IN (#)`;
const HELD_TOMBSTONES = `SELECT "shopifyId" FROM "DeletedOrder" WHERE "shopId" = ? AND "shopifyId" IN (#)`;
/** The customers of the run (a WHERE clause's condition follows). */
const HELD_CUSTOMERS = `SELECT "shopifyId", ${CUSTOMER_COLUMNS.map((c) => `"${c}"`).join(", ")}
  FROM "Customer" WHERE "shopId" = ? AND`;

/** What the copy holds for a run's orders, their tombstones, and the run's and its orders' customers. */
interface HeldRows {
  orderRows: Record<string, unknown>[];
  deletedRows: Record<string, unknown>[];
  customerRows: Record<string, unknown>[];
}

/**
 * The reads of HeldRows as three statements for one round trip (lists of at most 256 ids): the
 * customers are the run's and those of the orders the copy holds (a sub-select, as the orders are
 * read in the same message).
 */
function heldReads(shopId: number, orderIds: readonly string[], customerIds: readonly string[]): Statement[] {
  const list = (values: readonly string[]) => marks(values.length);
  const none = `SELECT NULL WHERE FALSE`;
  // Two SELECTs, not one with an OR: each is an index lookup (an OR with a sub-select is a scan of
  // the shop's customers).
  const customers = [
    ...(customerIds.length
      ? [{ sql: `${HELD_CUSTOMERS} "shopifyId" IN (${list(customerIds)})`, params: [shopId, ...customerIds] }]
      : []),
    ...(orderIds.length
      ? [
          {
            sql: `${HELD_CUSTOMERS} "shopifyId" IN (SELECT "customerShopifyId" FROM "Order" WHERE "shopId" = ? AND "shopifyId" IN (${list(orderIds)}))`,
            params: [shopId, shopId, ...orderIds],
          },
        ]
      : []),
  ];
  return [
    orderIds.length
      ? { sql: HELD_ORDERS.replace("(#)", `(${list(orderIds)})`), params: [shopId, ...orderIds] }
      : { sql: none },
    orderIds.length
      ? { sql: HELD_TOMBSTONES.replace("(#)", `(${list(orderIds)})`), params: [shopId, ...orderIds] }
      : { sql: none },
    {
      sql: customers.map((c) => c.sql).join("\nUNION\n"),
      params: customers.flatMap((c) => c.params),
    },
  ];
}

/**
 * PostgreSQL: the advisory entity locks of every key, in one statement (as each handler of
 * handlers.server.ts takes them), and the `then` reads run once they are held, in the same round
 * trip (their rows returned in order).
 */
async function lockEntities(
  q: HotQueries,
  shopDomain: string,
  keys: readonly string[],
  ...then: Statement[]
): Promise<unknown[][]> {
  if (q.dialect !== "postgres" || (!keys.length && !then.length)) return [];
  return q.lock(
    unique(keys).map((k) => `${shopDomain}:${k}`),
    ...then,
  );
}

function blankCustomer(shopifyId: string): CustomerRow {
  return {
    shopifyId,
    email: null,
    firstName: null,
    lastName: null,
    state: null,
    tags: "",
    acceptsEmailMarketing: false,
    countryCode: null,
    provinceCode: null,
    city: null,
    ordersCount: 0,
    totalSpent: 0,
    firstOrderAt: null,
    lastOrderAt: null,
    shopifyOrdersCount: null,
    shopifySpent: null,
    shopifyTotalsAt: null,
    shopifyCreatedAt: null,
    shopifyUpdatedAt: UNKNOWN_VERSION,
    deletedAt: null,
  };
}

const ORDER_COLUMNS = Object.keys(orderColumns({ discountCodes: [], tags: [] } as unknown as OrderRecord));
/** A webhook without tokens (none today, the Admin API copy) keeps the ones held. */
const KEEP_IF_NULL = new Set(["cartToken", "checkoutToken", "checkoutShopifyId"]);

/**
 * Applies `events` (all of one shop, each of a topic appliedInBatches, in claim order) on `q`, which
 * must be a transaction: nothing is committed here. Returns each event's result, in the same order.
 */
export async function applyBatch(
  q: HotQueries,
  shop: ShopRef,
  events: readonly BatchInput[],
  now: Date,
): Promise<BatchResult[]> {
  const shopId = shop.id;
  const results = new Map<number, BatchResult>();
  const fail = (id: number, error: unknown) => results.set(id, { id, error });
  const done = (id: number, outcome: string) => results.set(id, { id, outcome });

  // 1. Parse everything: an event that does not parse fails alone.
  const parsed: { id: number; p: Parsed }[] = [];
  for (const e of events) {
    try {
      parsed.push({ id: e.id, p: parse(e.id, e.topic, e.payload, shop) });
    } catch (error) {
      fail(e.id, error);
    }
  }

  // The newest version of each record in the run: an older one is stale whatever its place.
  const newest = new Map<string, number>();
  const noteVersion = (key: string, at: Date) => {
    if (at.getTime() > (newest.get(key) ?? -Infinity)) newest.set(key, at.getTime());
  };
  const orderIds: string[] = [];
  const refundOrderIds: string[] = [];
  const customerIds: string[] = [];
  const cartTokens: string[] = [];
  const checkoutIds: string[] = [];
  const checkoutTokens: string[] = [];
  for (const { p } of parsed) {
    switch (p.kind) {
      case "order":
        noteVersion(`order:${p.record.shopifyId}`, p.record.updatedAt);
        orderIds.push(p.record.shopifyId);
        customerIds.push(...unique([p.record.customerShopifyId]));
        checkoutIds.push(...unique([p.record.checkoutShopifyId]));
        checkoutTokens.push(...unique([p.record.checkoutToken]));
        break;
      case "refund":
        refundOrderIds.push(p.orderShopifyId);
        break;
      case "customer":
        noteVersion(`customer:${p.record.shopifyId}`, p.record.updatedAt);
        customerIds.push(p.record.shopifyId);
        break;
      case "summary":
        customerIds.push(p.customerShopifyId);
        break;
      case "cart":
        noteVersion(`cart:${p.record.token}`, p.record.updatedAt);
        cartTokens.push(p.record.token);
        break;
      case "checkout":
        noteVersion(`checkout:${p.record.shopifyId}`, p.record.updatedAt);
        checkoutIds.push(p.record.shopifyId);
        checkoutTokens.push(...unique([p.record.token]));
        customerIds.push(...unique([p.record.customerShopifyId]));
        break;
    }
  }
  const isOlder = (key: string, at: Date) => (newest.get(key) ?? -Infinity) > at.getTime();

  // 2. PostgreSQL: hold every entity of the run (as each handler does for its event), in one statement.
  const allOrderIds = unique([...orderIds, ...refundOrderIds]);
  // ... and, when each list fits one statement, read the copy's orders, tombstones and customers in
  // the same round trip, once the locks are held.
  const runCustomers = unique(customerIds);
  const withLocks = allOrderIds.length <= 256 && runCustomers.length <= 256;
  let held: HeldRows | null = null;
  if (q.dialect === "postgres") {
    const refundOwners = refundOrderIds.length
      ? await rowsIn<{ customerShopifyId: string | null }>(
          q,
          `SELECT "customerShopifyId" FROM "Order" WHERE "shopId" = ? AND "shopifyId" IN (#)`,
          [shopId],
          unique(refundOrderIds),
        )
      : [];
    const reads =
      withLocks && (allOrderIds.length || runCustomers.length)
        ? heldReads(shopId, allOrderIds, runCustomers)
        : [];
    const results = await lockEntities(
      q,
      shop.domain,
      [
        ...allOrderIds.map((id) => `order:${id}`),
        ...unique([...customerIds, ...refundOwners.map((o) => o.customerShopifyId)]).map(
          (id) => `customer:${id}`,
        ),
        ...unique(checkoutTokens).map((t) => `checkout:token:${t}`),
        ...unique(checkoutIds).map((id) => `checkout:id:${id}`),
        ...unique(cartTokens).map((t) => `cart:${t}`),
      ],
      ...reads,
    );
    if (reads.length) {
      const [orderRows, deletedRows, customerRows] = results as Record<string, unknown>[][];
      held = { orderRows, deletedRows, customerRows };
    }
  }

  // 3. What the copy holds for the run's keys, one SELECT per table (or read with the locks, above).
  const orders = new Map<string, OrderHead>();
  const orderRowIds = new Map<string, number>();
  for (const r of held
    ? held.orderRows
    : allOrderIds.length
      ? await rowsIn<Record<string, unknown>>(q, HELD_ORDERS, [shopId], allOrderIds)
      : []) {
    const id = String(r.shopifyId);
    orderRowIds.set(id, int(r.id));
    orders.set(id, {
      customerShopifyId: (r.customerShopifyId as string | null) ?? null,
      currency: String(r.currency),
      shopifyUpdatedAt: date(r.shopifyUpdatedAt),
      checkoutToken: (r.checkoutToken as string | null) ?? null,
      checkoutShopifyId: (r.checkoutShopifyId as string | null) ?? null,
    });
  }
  const heldOrders = new Set(orders.keys());
  const deleted = new Set(
    (held
      ? held.deletedRows
      : allOrderIds.length
        ? await rowsIn<Record<string, unknown>>(q, HELD_TOMBSTONES, [shopId], allOrderIds)
        : []
    ).map((r) => String(r.shopifyId)),
  );

  const customers = new Map<string, CustomerRow>();
  const wantedCustomers = unique([...customerIds, ...[...orders.values()].map((o) => o.customerShopifyId)]);
  for (const r of held
    ? held.customerRows
    : wantedCustomers.length
      ? await rowsIn<Record<string, unknown>>(
          q,
          `${HELD_CUSTOMERS} "shopifyId" IN (#)`,
          [shopId],
          wantedCustomers,
        )
      : [])
    customers.set(String(r.shopifyId), {
      shopifyId: String(r.shopifyId),
      email: (r.email as string | null) ?? null,
      firstName: (r.firstName as string | null) ?? null,
      lastName: (r.lastName as string | null) ?? null,
      state: (r.state as string | null) ?? null,
      tags: String(r.tags ?? ""),
      acceptsEmailMarketing: bool(r.acceptsEmailMarketing),
      countryCode: (r.countryCode as string | null) ?? null,
      provinceCode: (r.provinceCode as string | null) ?? null,
      city: (r.city as string | null) ?? null,
      ordersCount: int(r.ordersCount),
      totalSpent: int(r.totalSpent),
      firstOrderAt: dateOrNull(r.firstOrderAt),
      lastOrderAt: dateOrNull(r.lastOrderAt),
      shopifyOrdersCount: r.shopifyOrdersCount === null ? null : int(r.shopifyOrdersCount),
      shopifySpent: r.shopifySpent === null ? null : int(r.shopifySpent),
      shopifyTotalsAt: dateOrNull(r.shopifyTotalsAt),
      shopifyCreatedAt: dateOrNull(r.shopifyCreatedAt),
      shopifyUpdatedAt: date(r.shopifyUpdatedAt),
      deletedAt: dateOrNull(r.deletedAt),
    });

  const carts = new Map<string, Date>();
  for (const r of cartTokens.length
    ? await rowsIn<{ token: string; shopifyUpdatedAt: unknown }>(
        q,
        `SELECT "token", "shopifyUpdatedAt" FROM "Cart" WHERE "shopId" = ? AND "token" IN (#)`,
        [shopId],
        unique(cartTokens),
      )
    : [])
    carts.set(r.token, date(r.shopifyUpdatedAt));

  // Checkouts named by the run's checkouts and orders (an order links the checkout it completed).
  const checkouts = new Map<string, CheckoutRow>();
  const checkoutRow = (r: Record<string, unknown>): CheckoutRow => ({
    shopifyId: String(r.shopifyId),
    token: (r.token as string | null) ?? null,
    cartToken: (r.cartToken as string | null) ?? null,
    customerShopifyId: (r.customerShopifyId as string | null) ?? null,
    email: (r.email as string | null) ?? null,
    currency: String(r.currency),
    totalPrice: int(r.totalPrice),
    subtotalPrice: int(r.subtotalPrice),
    itemCount: int(r.itemCount),
    completedAt: dateOrNull(r.completedAt),
    orderShopifyId: (r.orderShopifyId as string | null) ?? null,
    shopifyCreatedAt: date(r.shopifyCreatedAt),
    shopifyUpdatedAt: date(r.shopifyUpdatedAt),
  });
  const checkoutSelect = `SELECT "shopifyId", ${CHECKOUT_COLUMNS.map((c) => `"${c}"`).join(", ")} FROM "Checkout" WHERE "shopId" = ?`;
  if (checkoutIds.length)
    for (const r of await rowsIn<Record<string, unknown>>(
      q,
      `${checkoutSelect} AND "shopifyId" IN (#)`,
      [shopId],
      unique(checkoutIds),
    ))
      checkouts.set(String(r.shopifyId), checkoutRow(r));
  if (checkoutTokens.length)
    for (const r of await rowsIn<Record<string, unknown>>(
      q,
      `${checkoutSelect} AND "token" IN (#)`,
      [shopId],
      unique(checkoutTokens),
    ))
      checkouts.set(String(r.shopifyId), checkoutRow(r));

  // Orders held that completed one of the run's checkouts (a checkout names the order that completed it).
  const completing: { shopifyId: string; checkoutToken: string | null; checkoutShopifyId: string | null }[] =
    [];
  const runCheckouts = parsed.flatMap(({ p }) => (p.kind === "checkout" ? [p.record] : []));
  if (runCheckouts.length) {
    const tokens = unique(runCheckouts.map((c) => c.token));
    // By token (indexed); by checkout id only for a checkout without a token: "checkoutShopifyId"
    // has no index, so that lookup reads all the shop's orders. A webhook order names its checkout
    // by both (checkout_token and checkout_id), so with a token the token finds it.
    const ids = unique(runCheckouts.filter((c) => !c.token).map((c) => c.shopifyId));
    const select = `SELECT "shopifyId", "checkoutToken", "checkoutShopifyId" FROM "Order" WHERE "shopId" = ?`;
    if (tokens.length)
      completing.push(
        ...(await rowsIn<(typeof completing)[number]>(
          q,
          `${select} AND "checkoutToken" IN (#)`,
          [shopId],
          tokens,
        )),
      );
    if (ids.length)
      completing.push(
        ...(await rowsIn<(typeof completing)[number]>(
          q,
          `${select} AND "checkoutShopifyId" IN (#)`,
          [shopId],
          ids,
        )),
      );
  }

  // 4. Apply in claim order to the picture in memory. Nothing below writes until every event is decided.
  const dirtyCustomers = new Set<string>();
  const figuresOf = new Set<string>(); // customers whose derived figures are recomputed
  const appliedOrders = new Map<string, OrderRecord>();
  const refundMerges = new Map<string, RefundRecord[]>(); // order -> refunds to upsert
  const refundedTotals = new Set<string>(); // orders whose totalRefunded is recomputed
  const appliedCarts = new Map<string, CartRecord>();
  const appliedCheckouts = new Set<string>(); // checkouts whose lines are replaced
  const checkoutLines = new Map<string, CheckoutRecord["lines"]>();
  const dirtyCheckouts = new Set<string>();

  const mergeRefunds = (orderShopifyId: string, refunds: RefundRecord[]) => {
    const list = refundMerges.get(orderShopifyId) ?? [];
    list.push(...refunds);
    refundMerges.set(orderShopifyId, list);
    refundedTotals.add(orderShopifyId);
  };
  const touchCustomer = (embedded: CustomerRecord | null, id: string | null) => {
    if (!id || customers.has(id)) return;
    customers.set(id, {
      ...blankCustomer(id),
      ...(embedded ? customerData(embedded) : {}),
      shopifyUpdatedAt: UNKNOWN_VERSION,
    });
    dirtyCustomers.add(id);
  };
  const applyTotals = (id: string, totals: ShopifyTotals): Outcome => {
    const held = customers.get(id);
    if (held?.deletedAt) return "stale";
    if (held?.shopifyTotalsAt) {
      const outcome = compare(held.shopifyTotalsAt, totals.at);
      if (outcome) return outcome;
    }
    const row = held ?? blankCustomer(id);
    row.shopifyOrdersCount = totals.orders;
    row.shopifySpent = totals.spent;
    row.shopifyTotalsAt = totals.at;
    customers.set(id, row);
    dirtyCustomers.add(id);
    figuresOf.add(id);
    return "applied";
  };

  const applyOrder = (o: OrderRecord): Outcome => {
    // Shopify never restores a deleted order: any copy of it arriving later is stale.
    if (deleted.has(o.shopifyId)) return "stale";
    const held = orders.get(o.shopifyId);
    const outcome =
      (held && compare(held.shopifyUpdatedAt, o.updatedAt)) ||
      (isOlder(`order:${o.shopifyId}`, o.updatedAt) ? "stale" : null);
    if (outcome) {
      // Refunds are immutable facts keyed by id: even a stale copy may bring one we lack.
      if (o.refunds?.length) staleRefunds.push({ orderShopifyId: o.shopifyId, refunds: o.refunds });
      return outcome;
    }
    touchCustomer(o.customer, o.customerShopifyId);
    orders.set(o.shopifyId, {
      customerShopifyId: o.customerShopifyId,
      currency: o.currency,
      shopifyUpdatedAt: o.updatedAt,
      checkoutToken: o.checkoutToken ?? held?.checkoutToken ?? null,
      checkoutShopifyId: o.checkoutShopifyId ?? held?.checkoutShopifyId ?? null,
    });
    appliedOrders.set(o.shopifyId, o);
    if (held || o.refunds?.length) mergeRefunds(o.shopifyId, o.refunds ?? []);
    if (o.checkoutToken || o.checkoutShopifyId)
      for (const c of checkouts.values())
        if (
          (o.checkoutToken && c.token === o.checkoutToken) ||
          (o.checkoutShopifyId && c.shopifyId === o.checkoutShopifyId)
        ) {
          c.orderShopifyId = o.shopifyId;
          dirtyCheckouts.add(c.shopifyId);
        }
    if (o.customerShopifyId) figuresOf.add(o.customerShopifyId);
    if (held?.customerShopifyId && held.customerShopifyId !== o.customerShopifyId)
      figuresOf.add(held.customerShopifyId);
    return "applied";
  };
  const staleRefunds: { orderShopifyId: string; refunds: RefundRecord[] }[] = [];

  const applyCustomer = (c: CustomerRecord): Outcome => {
    const held = customers.get(c.shopifyId);
    const older = isOlder(`customer:${c.shopifyId}`, c.updatedAt);
    if (held) {
      const outcome = compare(held.shopifyUpdatedAt, c.updatedAt) || (older ? "stale" : null);
      if (held.deletedAt && held.deletedAt >= c.updatedAt) return "stale";
      if (!outcome) {
        Object.assign(held, customerData(c), { deletedAt: null });
        dirtyCustomers.add(c.shopifyId);
      }
      // Shopify's lifetime figures have a version of their own (a purchasing summary may be newer).
      const totals = c.shopifyTotals ? applyTotals(c.shopifyId, c.shopifyTotals) : null;
      return outcome ? (totals === "applied" ? "applied" : outcome) : "applied";
    }
    if (older) {
      const totals = c.shopifyTotals ? applyTotals(c.shopifyId, c.shopifyTotals) : null;
      return totals === "applied" ? "applied" : "stale";
    }
    customers.set(c.shopifyId, { ...blankCustomer(c.shopifyId), ...customerData(c) });
    dirtyCustomers.add(c.shopifyId);
    if (c.shopifyTotals) applyTotals(c.shopifyId, c.shopifyTotals);
    else figuresOf.add(c.shopifyId);
    return "applied";
  };

  const applyCart = (c: CartRecord): Outcome => {
    const held = carts.get(c.token);
    const outcome =
      (held && compare(held, c.updatedAt)) || (isOlder(`cart:${c.token}`, c.updatedAt) ? "stale" : null);
    if (outcome) return outcome;
    carts.set(c.token, c.updatedAt);
    appliedCarts.set(c.token, c);
    return "applied";
  };

  const completedBy = (c: CheckoutRecord): string | null => {
    const matches = (o: { checkoutToken: string | null; checkoutShopifyId: string | null }) =>
      (c.token && o.checkoutToken === c.token) || o.checkoutShopifyId === c.shopifyId;
    for (const [shopifyId, o] of orders) if (matches(o)) return shopifyId;
    for (const o of completing) if (!orders.has(o.shopifyId) && matches(o)) return o.shopifyId;
    return null;
  };
  const applyCheckout = (c: CheckoutRecord): Outcome => {
    const held = checkouts.get(c.shopifyId);
    const outcome =
      (held && compare(held.shopifyUpdatedAt, c.updatedAt)) ||
      (isOlder(`checkout:${c.shopifyId}`, c.updatedAt) ? "stale" : null);
    if (outcome) return outcome;
    touchCustomer(c.customer, c.customerShopifyId);
    checkouts.set(c.shopifyId, {
      shopifyId: c.shopifyId,
      token: c.token ?? held?.token ?? null,
      cartToken: c.cartToken ?? held?.cartToken ?? null,
      customerShopifyId: c.customerShopifyId,
      email: c.email,
      currency: c.currency,
      totalPrice: c.totalPrice,
      subtotalPrice: c.subtotalPrice,
      itemCount: c.lines.reduce((s, l) => s + l.quantity, 0),
      completedAt: c.completedAt,
      orderShopifyId: completedBy(c),
      shopifyCreatedAt: c.createdAt,
      shopifyUpdatedAt: c.updatedAt,
    });
    dirtyCheckouts.add(c.shopifyId);
    appliedCheckouts.add(c.shopifyId);
    checkoutLines.set(c.shopifyId, c.lines);
    return "applied";
  };

  const refunds: { id: number; orderShopifyId: string; payload: unknown }[] = [];
  for (const { id, p } of parsed) {
    switch (p.kind) {
      case "order":
        done(id, applyOrder(p.record));
        break;
      case "customer":
        done(id, applyCustomer(p.record));
        break;
      case "summary":
        done(id, applyTotals(p.customerShopifyId, p.totals));
        break;
      case "cart":
        done(id, applyCart(p.record));
        break;
      case "checkout":
        done(id, applyCheckout(p.record));
        break;
      case "refund":
        // After every order of the run: a refund whose order is anywhere in it applies.
        refunds.push({ id, orderShopifyId: p.orderShopifyId, payload: p.payload });
        break;
    }
  }
  for (const r of refunds) {
    try {
      const order = orders.get(r.orderShopifyId);
      // A refund of an order Shopify deleted has nothing left to change.
      if (!order && deleted.has(r.orderShopifyId)) {
        done(r.id, "stale");
        continue;
      }
      if (!order)
        throw new OrderNotYetSynced(`order ${r.orderShopifyId} is not synced yet; the refund waits for it`);
      const { refund } = refundFromWebhook(r.payload, order.currency);
      mergeRefunds(r.orderShopifyId, [refund]);
      if (order.customerShopifyId) figuresOf.add(order.customerShopifyId);
      done(r.id, "applied");
    } catch (error) {
      fail(r.id, error);
    }
  }
  for (const s of staleRefunds) {
    const order = orders.get(s.orderShopifyId);
    if (!order) continue;
    mergeRefunds(s.orderShopifyId, s.refunds);
    if (order.customerShopifyId) figuresOf.add(order.customerShopifyId);
  }

  // 5. Write: orders, their lines, refunds, then carts, checkouts, and the customers last (with
  // their figures derived from the orders as now written).
  const at = now;
  if (appliedOrders.size) {
    const keep = (c: string) =>
      KEEP_IF_NULL.has(c) ? `"${c}" = COALESCE(excluded."${c}", "Order"."${c}")` : `"${c}" = excluded."${c}"`;
    for (const r of await upsertReturning<{ id: unknown; shopifyId: string }>(
      q,
      "Order",
      ["shopId", "shopifyId", ...ORDER_COLUMNS, "syncedAt"],
      [...appliedOrders.values()].map((o) => [shopId, o.shopifyId, ...Object.values(orderColumns(o)), at]),
      ` ON CONFLICT ("shopId", "shopifyId") DO UPDATE SET ${[...ORDER_COLUMNS, "syncedAt"].map(keep).join(", ")}`,
      `"id", "shopifyId"`,
    ))
      orderRowIds.set(r.shopifyId, int(r.id));
  }
  const needIds = unique([...appliedOrders.keys(), ...refundMerges.keys()]).filter(
    (id) => !orderRowIds.has(id),
  );
  if (needIds.length)
    for (const r of await rowsIn<{ id: unknown; shopifyId: string }>(
      q,
      `SELECT "id", "shopifyId" FROM "Order" WHERE "shopId" = ? AND "shopifyId" IN (#)`,
      [shopId],
      needIds,
    ))
      orderRowIds.set(r.shopifyId, int(r.id));
  const rowId = (shopifyId: string) => {
    const id = orderRowIds.get(shopifyId);
    if (id === undefined) throw new Error(`order ${shopifyId} was written but is not there`);
    return id;
  };
  const replaced = [...appliedOrders.keys()].filter((id) => heldOrders.has(id)).map(rowId);
  if (replaced.length) await runIn(q, `DELETE FROM "LineItem" WHERE "orderId" IN (#)`, [], replaced);
  const lines = [...appliedOrders.values()].flatMap((o) =>
    o.lines.map((l) => [
      shopId,
      rowId(o.shopifyId),
      l.shopifyId,
      l.productId,
      l.variantId,
      l.title,
      l.variantTitle,
      l.sku,
      l.vendor,
      l.quantity,
      l.price,
      l.totalDiscount,
    ]),
  );
  if (lines.length)
    await insertRows(
      q,
      "LineItem",
      [
        "shopId",
        "orderId",
        "shopifyId",
        "productId",
        "variantId",
        "title",
        "variantTitle",
        "sku",
        "vendor",
        "quantity",
        "price",
        "totalDiscount",
      ],
      lines,
    );
  const refundRows = new Map<string, unknown[]>(); // by refund id: one row each (the last copy's amount)
  for (const [orderShopifyId, list] of refundMerges)
    for (const r of list)
      refundRows.set(r.shopifyId, [shopId, rowId(orderShopifyId), r.shopifyId, r.amount, r.createdAt]);
  if (refundRows.size)
    await insertRows(
      q,
      "Refund",
      ["shopId", "orderId", "shopifyId", "amount", "createdAt"],
      [...refundRows.values()],
      ` ON CONFLICT ("shopId", "shopifyId") DO UPDATE SET "amount" = excluded."amount"`,
    );
  if (refundedTotals.size)
    await runIn(
      q,
      `UPDATE "Order" SET "totalRefunded" = COALESCE((SELECT SUM("amount") FROM "Refund" WHERE "Refund"."orderId" = "Order"."id"), 0)
       WHERE "shopId" = ? AND "shopifyId" IN (#)`,
      [shopId],
      [...refundedTotals],
    );

  if (appliedCarts.size) {
    const ids = await upsertReturning<{ id: unknown; token: string }>(
      q,
      "Cart",
      [
        "shopId",
        "token",
        "currency",
        "totalPrice",
        "itemCount",
        "shopifyCreatedAt",
        "shopifyUpdatedAt",
        "syncedAt",
      ],
      [...appliedCarts.values()].map((c) => [
        shopId,
        c.token,
        c.currency,
        c.lines.reduce((s, l) => s + l.price * l.quantity, 0),
        c.lines.reduce((s, l) => s + l.quantity, 0),
        c.createdAt,
        c.updatedAt,
        at,
      ]),
      ` ON CONFLICT ("shopId", "token") DO UPDATE SET ${updateAll(["currency", "totalPrice", "itemCount", "shopifyCreatedAt", "shopifyUpdatedAt", "syncedAt"])}`,
      `"id", "token"`,
    );
    const cartId = new Map(ids.map((r) => [r.token, int(r.id)]));
    await runIn(
      q,
      `DELETE FROM "CartLine" WHERE "cartId" IN (#)`,
      [],
      ids.map((r) => int(r.id)),
    );
    const cartLines = [...appliedCarts.values()].flatMap((c) =>
      c.lines.map((l) => [cartId.get(c.token), l.productId, l.variantId, l.title, l.quantity, l.price]),
    );
    if (cartLines.length)
      await insertRows(
        q,
        "CartLine",
        ["cartId", "productId", "variantId", "title", "quantity", "price"],
        cartLines,
      );
  }

  if (dirtyCheckouts.size) {
    const written = await upsertReturning<{ id: unknown; shopifyId: string }>(
      q,
      "Checkout",
      ["shopId", "shopifyId", ...CHECKOUT_COLUMNS, "syncedAt"],
      [...dirtyCheckouts].map((id) => {
        const c = checkouts.get(id)!;
        return [shopId, id, ...CHECKOUT_COLUMNS.map((k) => c[k]), at];
      }),
      ` ON CONFLICT ("shopId", "shopifyId") DO UPDATE SET ${updateAll([...CHECKOUT_COLUMNS, "syncedAt"])}`,
      `"id", "shopifyId"`,
    );
    if (appliedCheckouts.size) {
      // The applied checkouts are among the dirty ones just written.
      const ids = written.filter((r) => appliedCheckouts.has(r.shopifyId));
      const checkoutId = new Map(ids.map((r) => [r.shopifyId, int(r.id)]));
      await runIn(
        q,
        `DELETE FROM "CheckoutLine" WHERE "checkoutId" IN (#)`,
        [],
        ids.map((r) => int(r.id)),
      );
      const rows = [...appliedCheckouts].flatMap((id) =>
        (checkoutLines.get(id) ?? []).map((l) => [
          checkoutId.get(id),
          l.productId,
          l.variantId,
          l.title,
          l.quantity,
          l.price,
        ]),
      );
      if (rows.length)
        await insertRows(
          q,
          "CheckoutLine",
          ["checkoutId", "productId", "variantId", "title", "quantity", "price"],
          rows,
        );
    }
  }

  // A web pixel's checkout_completed that arrived before its order: the order gets its visitor
  // (the rule of storefront/checkout-link.server.ts, for every order of the run at once).
  const withTokens = [...appliedOrders.values()].filter((o) => o.checkoutToken);
  if (withTokens.length) {
    const links = await rowsIn<{ checkoutToken: string; visitorId: string; orderShopifyId: string | null }>(
      q,
      `SELECT "checkoutToken", "visitorId", "orderShopifyId" FROM "PendingCheckoutLink" WHERE "shopId" = ? AND "checkoutToken" IN (#)`,
      [shopId],
      unique(withTokens.map((o) => o.checkoutToken)),
    );
    for (const link of links) {
      const o = withTokens.find(
        (w) =>
          w.checkoutToken === link.checkoutToken &&
          (!link.orderShopifyId || link.orderShopifyId === w.shopifyId),
      );
      if (!o) continue;
      const [visitor] = await q.rows<{ shopId: unknown }>(`SELECT "shopId" FROM "Visitor" WHERE "id" = ?`, [
        link.visitorId,
      ]);
      await q.run(`DELETE FROM "PendingCheckoutLink" WHERE "shopId" = ? AND "checkoutToken" = ?`, [
        shopId,
        link.checkoutToken,
      ]);
      if (!visitor || int(visitor.shopId) !== shopId) continue;
      const linked = await q.run(
        `UPDATE "Order" SET "visitorId" = ? WHERE "id" = ? AND "visitorId" IS NULL`,
        [link.visitorId, rowId(o.shopifyId)],
      );
      if (linked && o.customerShopifyId)
        await q.run(`UPDATE "Visitor" SET "customerShopifyId" = ? WHERE "id" = ?`, [
          o.customerShopifyId,
          link.visitorId,
        ]);
    }
  }

  // The derived figures of every customer touched (refreshCustomerStats, for all of them at once).
  const recompute = [...figuresOf].filter((id) => customers.has(id));
  if (recompute.length) {
    const held = await rowsIn<Record<string, unknown>>(
      q,
      `SELECT "customerShopifyId", "totalPrice", "totalRefunded", "processedAt", "cancelledAt", "test"
       FROM "Order" WHERE "shopId" = ? AND "customerShopifyId" IN (#)`,
      [shopId],
      recompute,
    );
    const byCustomer = new Map<string, Parameters<typeof lifetimeFigures>[0][number][]>();
    for (const r of held) {
      const id = String(r.customerShopifyId);
      const list = byCustomer.get(id) ?? [];
      list.push({
        processedAt: date(r.processedAt),
        total: int(r.totalPrice),
        refunded: int(r.totalRefunded),
        cancelled: r.cancelledAt !== null,
        test: bool(r.test),
      });
      byCustomer.set(id, list);
    }
    for (const id of recompute) {
      const c = customers.get(id)!;
      const life = lifetimeFigures(byCustomer.get(id) ?? [], shopifyTotalsOf(c));
      if (
        c.ordersCount !== life.ordersCount ||
        c.totalSpent !== life.totalSpent ||
        c.firstOrderAt?.getTime() !== life.firstOrderAt?.getTime() ||
        c.lastOrderAt?.getTime() !== life.lastOrderAt?.getTime()
      ) {
        c.ordersCount = life.ordersCount;
        c.totalSpent = life.totalSpent;
        c.firstOrderAt = life.firstOrderAt;
        c.lastOrderAt = life.lastOrderAt;
        dirtyCustomers.add(id);
      }
    }
  }
  if (dirtyCustomers.size)
    await insertRows(
      q,
      "Customer",
      ["shopId", "shopifyId", ...CUSTOMER_COLUMNS, "syncedAt"],
      [...dirtyCustomers].map((id) => {
        const c = customers.get(id)!;
        return [shopId, id, ...CUSTOMER_COLUMNS.map((k) => c[k]), at];
      }),
      ` ON CONFLICT ("shopId", "shopifyId") DO UPDATE SET ${updateAll([...CUSTOMER_COLUMNS, "syncedAt"])}`,
    );

  return events.map((e) => results.get(e.id) ?? { id: e.id, error: new Error("not applied") });
}

/**
 * The run's "done" marks, in its transaction: one UPDATE per outcome, each row only while this
 * claim still holds it. Returns the number of rows marked (fewer than asked: a lease was lost).
 */
export async function markDone(
  q: HotQueries,
  done: readonly { id: number; outcome: string; lockedUntil: Date }[],
  now: Date,
): Promise<number> {
  const groups = new Map<string, { outcome: string; lockedUntil: Date; ids: number[] }>();
  for (const d of done) {
    const key = `${d.outcome}\u0000${d.lockedUntil.getTime()}`;
    const g = groups.get(key) ?? { outcome: d.outcome, lockedUntil: d.lockedUntil, ids: [] };
    g.ids.push(d.id);
    groups.set(key, g);
  }
  let marked = 0;
  for (const g of groups.values())
    marked += await runIn(
      q,
      `UPDATE "WebhookEvent" SET "status" = 'done', "outcome" = ?, "processedAt" = ?, "lockedUntil" = NULL, "lastError" = NULL
       WHERE "status" = 'processing' AND "lockedUntil" = ? AND "id" IN (#)`,
      [g.outcome, now, g.lockedUntil],
      g.ids,
    );
  return marked;
}
