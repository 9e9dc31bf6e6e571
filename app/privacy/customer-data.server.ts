/**
 * Shopify's mandatory privacy webhooks, for everything Slice holds about a customer:
 *
 * - customers/data_request: `exportCustomerData` gathers it all as JSON into a DataExport row,
 *   which the merchant downloads from the admin home (or the CLI) and sends on;
 * - customers/redact: `eraseCustomer` removes it from every table that holds it;
 * - shop/redact: `eraseShop` removes the shop and everything of it, including the tables that are
 *   not tied to the Shop row by a foreign key (sign-ups, referral rewards, exports, sessions).
 *
 * "Linked to the customer" means: their Shopify id; their email; the orders Shopify names; the
 * storefront visitors signed in as them (and those visitors' events, carts and offer exposures).
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { parseJson, shopifyId } from "../sync/payload";

type Db = Prisma.TransactionClient | PrismaClient;

/** Ids per statement: SQLite refuses more than 999 bound parameters (a customer's orders can pass it). */
const CHUNK = 500;

/** A query run once per chunk of a list, one statement at a time; the rows of all of them. */
async function inChunks<T, V>(values: readonly V[], find: (chunk: V[]) => Promise<T[]>): Promise<T[]> {
  const rows: T[] = [];
  for (let i = 0; i < values.length; i += CHUNK) rows.push(...(await find(values.slice(i, i + CHUNK))));
  return rows;
}

/** A write run once per chunk of a list; how many rows all of them changed. */
async function countInChunks<V>(
  values: readonly V[],
  write: (chunk: V[]) => Promise<{ count: number }>,
): Promise<{ count: number }> {
  let count = 0;
  for (let i = 0; i < values.length; i += CHUNK) count += (await write(values.slice(i, i + CHUNK))).count;
  return { count };
}

/** Rows found more than one way, once each. */
function unique<T extends { id: number }>(rows: T[]): T[] {
  return [...new Map(rows.map((r) => [r.id, r])).values()];
}

export interface CustomerRef {
  /** The customer's Shopify id, when Shopify gave one. */
  customerId: string | null;
  email: string | null;
  /** Orders Shopify names in the request (orders_requested / orders_to_redact). */
  orderIds: string[];
}

/** Where the customer's data is, as ids: the same search for the export and the erasure. */
async function locate(db: Db, shopId: number, who: CustomerRef) {
  const email = who.email?.trim() || null;
  const customerOr: Prisma.CustomerWhereInput[] = [];
  if (who.customerId) customerOr.push({ shopifyId: who.customerId });
  if (email) customerOr.push({ email: { equals: email } });
  const customers = customerOr.length
    ? await db.customer.findMany({ where: { shopId, OR: customerOr }, select: { shopifyId: true } })
    : [];
  const customerIds = [
    ...new Set([...(who.customerId ? [who.customerId] : []), ...customers.map((c) => c.shopifyId)]),
  ];

  // A customer's orders (and their checkouts and carts) can number past SQLite's 999 bound
  // parameters: each list is looked up a chunk at a time, one way of finding them per statement.
  type OrderRef = { id: number; shopifyId: string; cartToken: string | null };
  const orderSelect = { id: true, shopifyId: true, cartToken: true } as const;
  const orders = unique<OrderRef>([
    ...(await inChunks(customerIds, (chunk) =>
      db.order.findMany({ where: { shopId, customerShopifyId: { in: chunk } }, select: orderSelect }),
    )),
    ...(email ? await db.order.findMany({ where: { shopId, email }, select: orderSelect }) : []),
    ...(await inChunks(who.orderIds, (chunk) =>
      db.order.findMany({ where: { shopId, shopifyId: { in: chunk } }, select: orderSelect }),
    )),
  ]);

  type CheckoutRef = { id: number; cartToken: string | null };
  const checkoutSelect = { id: true, cartToken: true } as const;
  const checkouts = unique<CheckoutRef>([
    ...(await inChunks(customerIds, (chunk) =>
      db.checkout.findMany({ where: { shopId, customerShopifyId: { in: chunk } }, select: checkoutSelect }),
    )),
    ...(email ? await db.checkout.findMany({ where: { shopId, email }, select: checkoutSelect }) : []),
    ...(await inChunks(
      orders.map((o) => o.shopifyId),
      (chunk) =>
        db.checkout.findMany({ where: { shopId, orderShopifyId: { in: chunk } }, select: checkoutSelect }),
    )),
  ]);

  const visitors = await inChunks(customerIds, (chunk) =>
    db.visitor.findMany({
      where: { shopId, customerShopifyId: { in: chunk } },
      select: { id: true, cartToken: true },
    }),
  );
  const visitorIds = visitors.map((v) => v.id);
  const cartTokens = [
    ...new Set(
      [...orders, ...checkouts, ...visitors].map((r) => r.cartToken).filter((t): t is string => !!t),
    ),
  ];
  const carts = unique<{ id: number }>([
    ...(await inChunks(cartTokens, (chunk) =>
      db.cart.findMany({ where: { shopId, token: { in: chunk } }, select: { id: true } }),
    )),
    ...(await inChunks(visitorIds, (chunk) =>
      db.cart.findMany({ where: { shopId, visitorId: { in: chunk } }, select: { id: true } }),
    )),
  ]);

  const units = [...customerIds.map((id) => `c:${id}`), ...visitorIds.map((id) => `v:${id}`)];
  // Rows that name the person by customer id or by one of their visitors.
  const person: { customerShopifyId?: { in: string[] }; visitorId?: { in: string[] } }[] = [
    ...(customerIds.length ? [{ customerShopifyId: { in: customerIds } }] : []),
    ...(visitorIds.length ? [{ visitorId: { in: visitorIds } }] : []),
  ];
  const exposureOr: Prisma.OfferExposureWhereInput[] = [
    ...(units.length ? [{ unit: { in: units } }] : []),
    ...person,
  ];
  const signupOr: Prisma.EmailSignupWhereInput[] = [...person, ...(email ? [{ email }] : [])];
  const friendOr: Prisma.ReferralRewardWhereInput[] = [
    ...(customerIds.length ? [{ friendCustomerId: { in: customerIds } }] : []),
    ...(email ? [{ friendEmail: email }] : []),
  ];
  const exportOr: Prisma.DataExportWhereInput[] = [
    ...(customerIds.length ? [{ customerShopifyId: { in: customerIds } }] : []),
    ...(email ? [{ email }] : []),
  ];
  return {
    email,
    customerIds,
    orderRowIds: orders.map((o) => o.id),
    checkoutRowIds: checkouts.map((c) => c.id),
    cartRowIds: carts.map((c) => c.id),
    visitorIds,
    exposureOr,
    codeOr: person satisfies Prisma.DiscountCodeWhereInput[],
    signupOr,
    friendOr,
    exportOr,
  };
}

const none = { id: -1 };

const PRIVACY_TOPICS = ["customers/redact", "customers/data_request"];
const REDACTED = '{"redacted":true}';

/** Inbox rows whose payload names the customer (by id, in a gid or as a number, or by email). */
function mentionsOf(customerIds: string[], email: string | null): Prisma.WebhookEventWhereInput[] {
  return [
    ...customerIds.flatMap((id) =>
      [`Customer/${id}"`, `"id":${id},`, `"id":${id}}`, `"customer_id":${id}`, `"${id}"`].map((text) => ({
        payload: { contains: text },
      })),
    ),
    ...(email ? [{ payload: { contains: `"${email}"` } }] : []),
  ];
}

/**
 * After customers/redact (the worker's after-apply step, outside its transaction): deletes the
 * inbox's applied or failed deliveries that name a redacted customer (a failed one would bring
 * the customer back when retried), a slice of ids at a time so that no statement runs long, then
 * keeps the privacy requests themselves as the record that they were received and applied,
 * without whom they were about. Picks up any redact a previous pass did not finish.
 */
export async function scrubInbox(db: PrismaClient, shopDomain: string, slice = 5000): Promise<number> {
  const requests = await db.webhookEvent.findMany({
    where: { shopDomain, topic: "customers/redact", status: "done", NOT: { payload: REDACTED } },
    select: { id: true, payload: true },
  });
  let deleted = 0;
  for (const request of requests) {
    let customer: { id?: unknown; email?: unknown } = {};
    try {
      customer = (parseJson(request.payload) as { customer?: typeof customer }).customer ?? {};
    } catch {
      // Not JSON: it names nobody.
    }
    const id = shopifyId(customer.id);
    const email = typeof customer.email === "string" && customer.email.trim() ? customer.email.trim() : null;
    const mentions = mentionsOf(id ? [id] : [], email);
    if (mentions.length) {
      const { _min, _max } = await db.webhookEvent.aggregate({
        where: { shopDomain },
        _min: { id: true },
        _max: { id: true },
      });
      for (let from = _min.id ?? 0; from <= (_max.id ?? -1); from += slice) {
        const { count } = await db.webhookEvent.deleteMany({
          where: {
            shopDomain,
            id: { gte: from, lt: from + slice },
            status: { in: ["done", "failed", "dead"] },
            topic: { notIn: PRIVACY_TOPICS },
            OR: mentions,
          },
        });
        deleted += count;
      }
      await db.webhookEvent.updateMany({
        where: { shopDomain, topic: "customers/data_request", OR: mentions },
        data: { payload: REDACTED },
      });
    }
    await db.webhookEvent.update({ where: { id: request.id }, data: { payload: REDACTED } });
  }
  return deleted;
}

/** Everything Slice holds about one customer of one shop, as plain JSON-ready data. */
export async function customerData(db: Db, shopId: number, who: CustomerRef) {
  const at = await locate(db, shopId, who);
  const { customerIds, visitorIds } = at;
  const [
    customers,
    orders,
    checkouts,
    carts,
    visitors,
    memberships,
    membershipHistory,
    offerExposures,
    discountCodes,
    referralsAsReferrer,
    referralsAsFriend,
    emailSignups,
  ] = await Promise.all([
    db.customer.findMany({ where: { shopId, shopifyId: { in: customerIds } } }),
    // A chunk of orders at a time, then in the order they were placed.
    inChunks(at.orderRowIds, (chunk) =>
      db.order.findMany({ where: { id: { in: chunk } }, include: { lineItems: true, refunds: true } }),
    ).then((rows) => rows.sort((a, b) => a.processedAt.getTime() - b.processedAt.getTime() || a.id - b.id)),
    inChunks(at.checkoutRowIds, (chunk) =>
      db.checkout.findMany({ where: { id: { in: chunk } }, include: { lines: true } }),
    ),
    inChunks(at.cartRowIds, (chunk) =>
      db.cart.findMany({ where: { id: { in: chunk } }, include: { lines: true } }),
    ),
    inChunks(visitorIds, (chunk) =>
      db.visitor.findMany({
        where: { id: { in: chunk } },
        include: { events: { orderBy: { occurredAt: "asc" } } },
      }),
    ),
    db.segmentMember.findMany({
      where: { customerShopifyId: { in: customerIds }, segment: { shopId } },
      select: { since: true, segment: { select: { handle: true, name: true } } },
    }),
    db.segmentChange.findMany({
      where: { customerShopifyId: { in: customerIds }, segment: { shopId } },
      select: { joined: true, at: true, segment: { select: { handle: true } } },
      orderBy: { id: "asc" },
    }),
    db.offerExposure.findMany({ where: at.exposureOr.length ? { shopId, OR: at.exposureOr } : none }),
    db.discountCode.findMany({
      where: at.codeOr.length ? { shopId, OR: at.codeOr } : none,
      select: {
        code: true,
        messageId: true,
        status: true,
        expiresAt: true,
        issuedAt: true,
        redeemedAt: true,
        orderShopifyId: true,
        visitorId: true,
        customerShopifyId: true,
      },
    }),
    // As the referrer: their friends' orders, without naming the friends (that is their data).
    db.referralReward.findMany({
      where: customerIds.length ? { shopId, referrerCustomerId: { in: customerIds } } : none,
      omit: { friendCustomerId: true, friendEmail: true },
    }),
    // As the friend: the referrer is somebody else; the code they used is enough.
    db.referralReward.findMany({
      where: at.friendOr.length ? { shopId, OR: at.friendOr } : none,
      omit: { referrerCustomerId: true, rewardCode: true, rewardDiscountId: true },
    }),
    db.emailSignup.findMany({ where: at.signupOr.length ? { shopId, OR: at.signupOr } : none }),
  ]);
  const answers = visitors.flatMap((v) =>
    v.events.filter((e) => e.type === "answer").map((e) => ({ answer: e.resourceId, at: e.occurredAt })),
  );
  return {
    customers,
    orders,
    checkouts,
    carts,
    visitors,
    answers,
    segmentMemberships: memberships.map((m) => ({
      segment: m.segment.handle,
      name: m.segment.name,
      since: m.since,
    })),
    segmentHistory: membershipHistory.map((c) => ({
      segment: c.segment.handle,
      change: c.joined ? "joined" : "left",
      at: c.at,
    })),
    offerExposures,
    discountCodes,
    referralRewards: { asReferrer: referralsAsReferrer, asFriend: referralsAsFriend },
    emailSignups,
  };
}

/** JSON with Shopify's big integers and dates as strings (BigInt has no JSON form). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** customers/data_request: keeps the export for the merchant, returns its id. */
export async function exportCustomerData(
  db: Db,
  shopId: number,
  who: CustomerRef,
  requestId: string | null,
  now: Date,
): Promise<{ id: number; counts: Record<string, number> }> {
  const data = await customerData(db, shopId, who);
  const counts = {
    customers: data.customers.length,
    orders: data.orders.length,
    checkouts: data.checkouts.length,
    carts: data.carts.length,
    visitors: data.visitors.length,
    events: data.visitors.reduce((n, v) => n + v.events.length, 0),
    segmentMemberships: data.segmentMemberships.length,
    offerExposures: data.offerExposures.length,
    discountCodes: data.discountCodes.length,
    referralRewards: data.referralRewards.asReferrer.length + data.referralRewards.asFriend.length,
    emailSignups: data.emailSignups.length,
  };
  const payload = toJson({
    request: { id: requestId, customerId: who.customerId, email: who.email, ordersRequested: who.orderIds },
    generatedAt: now.toISOString(),
    counts,
    ...data,
  });
  const row = await db.dataExport.create({
    data: { shopId, customerShopifyId: who.customerId, email: who.email, requestId, payload, createdAt: now },
    select: { id: true },
  });
  return { id: row.id, counts };
}

/** customers/redact: erases the customer from every table; returns how many rows each lost. */
export async function eraseCustomer(
  db: Db,
  shop: { id: number; domain: string },
  who: CustomerRef,
): Promise<Record<string, number>> {
  const shopId = shop.id;
  const at = await locate(db, shopId, who);
  const { customerIds, visitorIds } = at;
  const counts: Record<string, number> = {};
  const note = (name: string) => (r: { count: number }) => void (counts[name] = r.count);
  // Exposures and codes first: they are found through the visitors about to go.
  if (at.exposureOr.length)
    await db.offerExposure.deleteMany({ where: { shopId, OR: at.exposureOr } }).then(note("offerExposures"));
  // A code stays in its pool's accounting (issued or redeemed, never offered again) without its holder.
  if (at.codeOr.length)
    await db.discountCode
      .updateMany({
        where: { shopId, OR: at.codeOr },
        data: { visitorId: null, customerShopifyId: null, orderShopifyId: null },
      })
      .then(note("discountCodes"));
  if (customerIds.length)
    await db.referralReward
      .deleteMany({ where: { shopId, referrerCustomerId: { in: customerIds } } })
      .then(note("referralsAsReferrer"));
  // As a friend: the referrer's reward stays theirs, without the friend.
  if (at.friendOr.length)
    await db.referralReward
      .updateMany({ where: { shopId, OR: at.friendOr }, data: { friendCustomerId: null, friendEmail: null } })
      .then(note("referralsAsFriend"));
  if (at.signupOr.length)
    await db.emailSignup.deleteMany({ where: { shopId, OR: at.signupOr } }).then(note("emailSignups"));
  if (at.exportOr.length)
    await db.dataExport.deleteMany({ where: { shopId, OR: at.exportOr } }).then(note("dataExports"));
  if (customerIds.length) {
    // A deleted order's tombstone keeps its id (so it never comes back), not whose it was.
    await db.deletedOrder
      .updateMany({
        where: { shopId, customerShopifyId: { in: customerIds } },
        data: { customerShopifyId: null },
      })
      .then(note("deletedOrders"));
    const inShop = { customerShopifyId: { in: customerIds }, segment: { shopId } };
    await db.segmentMember.deleteMany({ where: inShop }).then(note("segmentMembers"));
    await db.segmentChange.deleteMany({ where: inShop }).then(note("segmentChanges"));
  }
  // Line items, refunds, cart and checkout lines and storefront events go with their parents.
  await countInChunks(at.cartRowIds, (chunk) => db.cart.deleteMany({ where: { id: { in: chunk } } })).then(
    note("carts"),
  );
  await countInChunks(at.checkoutRowIds, (chunk) =>
    db.checkout.deleteMany({ where: { id: { in: chunk } } }),
  ).then(note("checkouts"));
  await countInChunks(at.orderRowIds, (chunk) => db.order.deleteMany({ where: { id: { in: chunk } } })).then(
    note("orders"),
  );
  // The web pixel's links to these browsers: on any order left (another customer's), and pending.
  await countInChunks(visitorIds, (chunk) =>
    db.order.updateMany({ where: { shopId, visitorId: { in: chunk } }, data: { visitorId: null } }),
  );
  await countInChunks(visitorIds, (chunk) =>
    db.pendingCheckoutLink.deleteMany({ where: { shopId, visitorId: { in: chunk } } }),
  );
  await countInChunks(visitorIds, (chunk) => db.visitor.deleteMany({ where: { id: { in: chunk } } })).then(
    note("visitors"),
  );
  // Their predictions (issue 17) are keyed by the customer's row, which goes next.
  if (customerIds.length) {
    const rows = await db.customer.findMany({
      where: { shopId, shopifyId: { in: customerIds } },
      select: { id: true },
    });
    await db.customerPrediction
      .deleteMany({ where: { shopId, customerId: { in: rows.map((r) => r.id) } } })
      .then(note("customerPredictions"));
  }
  await db.customer.deleteMany({ where: { shopId, shopifyId: { in: customerIds } } }).then(note("customers"));
  // The inbox's copies of the customer's data (the payloads of applied deliveries) are erased
  // after this transaction, by scrubInbox: scanning every payload of a large shop takes longer
  // than an apply transaction may last.
  return counts;
}

/** shop/redact: the shop and everything of it. Tables without a foreign key to Shop go by shopId. */
export async function eraseShop(db: Db, shop: { id: number; domain: string }): Promise<void> {
  await db.referralReward.deleteMany({ where: { shopId: shop.id } });
  await db.emailSignup.deleteMany({ where: { shopId: shop.id } });
  await db.dataExport.deleteMany({ where: { shopId: shop.id } });
  await db.session.deleteMany({ where: { shop: shop.domain } });
  // Every other event of the shop (its payloads hold customers' data); not the one being applied.
  await db.webhookEvent.deleteMany({ where: { shopDomain: shop.domain, status: { not: "processing" } } });
  await db.shop.deleteMany({ where: { id: shop.id } });
}

export interface DataExportRow {
  id: number;
  customerId: string | null;
  email: string | null;
  requestId: string | null;
  createdAt: string;
  bytes: number;
  /** Shopify gives the merchant 30 days from the request to send the customer their data. */
  dueAt: string;
  /** When the merchant marked the file as sent, and who did; null until then. */
  sentAt: string | null;
  sentBy: string | null;
}

/** Days a merchant has to answer a customer's data request (Shopify's customers/data_request). */
export const DATA_REQUEST_DAYS = 30;

/** The shop's data-request exports, newest first (for the admin home and the CLI). */
export async function listExports(db: Db, shopId: number, take = 20): Promise<DataExportRow[]> {
  const rows = await db.dataExport.findMany({
    where: { shopId },
    orderBy: { id: "desc" },
    take,
    select: {
      id: true,
      customerShopifyId: true,
      email: true,
      requestId: true,
      createdAt: true,
      payload: true,
      sentAt: true,
      sentBy: true,
    },
  });
  return rows.map((r) => ({
    id: r.id,
    customerId: r.customerShopifyId,
    email: r.email,
    requestId: r.requestId,
    createdAt: r.createdAt.toISOString(),
    bytes: Buffer.byteLength(r.payload),
    dueAt: new Date(r.createdAt.getTime() + DATA_REQUEST_DAYS * 86_400_000).toISOString(),
    sentAt: r.sentAt?.toISOString() ?? null,
    sentBy: r.sentBy,
  }));
}

/**
 * The merchant sent (or un-sent) the customer their file: stored with who and when. Only this
 * shop's export; false when there is none with that id.
 */
export async function markExportSent(
  db: Db,
  shopId: number,
  id: number,
  by: string | null,
  now = new Date(),
): Promise<boolean> {
  if (!Number.isSafeInteger(id) || id <= 0) return false;
  const { count } = await db.dataExport.updateMany({
    where: { id, shopId },
    data: by === null ? { sentAt: null, sentBy: null } : { sentAt: now, sentBy: by },
  });
  return count === 1;
}

/** One export's JSON, only when it is this shop's (another shop's id reads as missing). */
export async function readExport(
  db: Db,
  shopId: number,
  id: number,
): Promise<{ id: number; payload: string } | null> {
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  return db.dataExport.findFirst({ where: { id, shopId }, select: { id: true, payload: true } });
}
