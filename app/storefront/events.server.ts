/**
 * The storefront's events endpoint (`POST /apps/slice/events`, proxied to `/proxy/events`): a batch
 * of what one visitor did, sent by the theme extension's script (with `sendBeacon` on page hide).
 *
 * Order of checks, each refusing before anything is stored: the app proxy signature (401), the
 * body's size (413), its shape (400, naming the field), the shop (404). Then the visitor and the
 * events are written in one transaction, and a visitor linked to a customer has that customer's
 * segment membership brought up to date.
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { z } from "zod";
import { updateMembership } from "../segments/store.server";
import { recordEmailSignups } from "../offers/signups.server";
import { requireAppProxy, type ProxyIdentity } from "./proxy.server";
import { recordProxyPath } from "./proxy-path.server";
import { hotFor, insertMany } from "../db-hot.server";
import { isStorableText, UNSTORABLE_MESSAGE } from "../engine/rules";

export const MAX_BODY_BYTES = 16 * 1024;
export const MAX_EVENTS = 50;
/** Clients' clocks run a little fast or slow; beyond this an event's time is not believed. */
export const MAX_FUTURE_MS = 5 * 60_000;
/** A batch can wait in a closed tab's queue, but not for longer than this. */
export const MAX_AGE_MS = 7 * 24 * 3600_000;

export const EVENT_TYPES = [
  "session_start",
  "page_view",
  "product_view",
  "collection_view",
  "cart_update",
  "answer",
  "message_shown",
  "message_clicked",
  "message_dismissed",
] as const;

/**
 * What is counted without consent for analytics, in aggregate only (`AnonymousCount`: per shop,
 * day, type and message or answer; no visitor, customer, cart or any other id): untargeted
 * messages shown, clicked and dismissed, and the question form's answers. Nothing else is kept.
 */
export const COUNTED_WITHOUT_CONSENT: readonly string[] = [
  "answer",
  "message_shown",
  "message_clicked",
  "message_dismissed",
];

const text = (max: number, min = 0) =>
  z
    .string()
    .min(min, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .refine(isStorableText, UNSTORABLE_MESSAGE);

function batchSchema(now: Date) {
  const event = z
    .object({
      type: z.enum(EVENT_TYPES, {
        errorMap: () => ({ message: `must be one of ${EVENT_TYPES.join(", ")}` }),
      }),
      at: z.string().datetime({ offset: true, message: "must be an ISO 8601 time with a zone" }),
      resourceId: text(200, 1).optional(),
    })
    .superRefine((e, ctx) => {
      if ((e.type === "product_view" || e.type === "collection_view") && !e.resourceId)
        ctx.addIssue({ code: "custom", path: ["resourceId"], message: `is required for ${e.type}` });
      if (e.type.startsWith("message_") && !/^\d{1,9}$/.test(e.resourceId ?? ""))
        ctx.addIssue({
          code: "custom",
          path: ["resourceId"],
          message: `must be the message id for ${e.type}`,
        });
      if (e.type === "answer" && !e.resourceId?.includes("="))
        ctx.addIssue({
          code: "custom",
          path: ["resourceId"],
          message: 'must be "question=answer" for answer',
        });
    });
  return z
    .object({
      /** Required with consent; without it the script sends none, and one sent is ignored. */
      visitorId: z
        .string()
        .regex(/^[A-Za-z0-9_-]{16,64}$/, "must be 16 to 64 letters, digits, - or _")
        .optional(),
      consent: z.object({ analytics: z.boolean() }),
      context: z
        .object({
          landingPage: text(2048).optional(),
          referrer: text(2048).optional(),
          utmSource: text(200).optional(),
          utmMedium: text(200).optional(),
          utmCampaign: text(200).optional(),
          deviceType: z.enum(["desktop", "mobile", "tablet"]).optional(),
        })
        .default({}),
      cartToken: z
        .string()
        .regex(/^[A-Za-z0-9_\-.:~=?&]{1,200}$/, "must be a cart token (at most 200 url-safe characters)")
        .optional(),
      /**
       * The browser's clock when it sent the batch. Shoppers' clocks are often minutes or hours off:
       * each event's time is moved by the difference between this and the server's clock, so a
       * wrong clock neither loses a batch nor misdates it. Without it, times are taken as given.
       */
      sentAt: z
        .string()
        .datetime({ offset: true, message: "must be an ISO 8601 time with a zone" })
        .optional(),
      events: z.array(event).max(MAX_EVENTS, `must hold at most ${MAX_EVENTS} events`),
    })
    .superRefine((batch, ctx) => {
      if (batch.consent.analytics && !batch.visitorId)
        ctx.addIssue({ code: "custom", path: ["visitorId"], message: "is required with analytics consent" });
    })
    .transform((batch, ctx) => {
      const skew = batch.sentAt ? now.getTime() - Date.parse(batch.sentAt) : 0;
      const events = batch.events.map((e, i) => {
        const at = Date.parse(e.at) + skew;
        if (at > now.getTime() + MAX_FUTURE_MS)
          ctx.addIssue({ code: "custom", path: ["events", i, "at"], message: "is in the future" });
        else if (at < now.getTime() - MAX_AGE_MS)
          ctx.addIssue({ code: "custom", path: ["events", i, "at"], message: "is more than 7 days old" });
        return { ...e, at: new Date(at).toISOString() };
      });
      return { ...batch, events };
    });
}

export type EventBatch = z.infer<ReturnType<typeof batchSchema>>;

function json(body: unknown, status: number): Response {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store" } });
}

/** The body as text, refusing (null) as soon as it passes `limit` bytes, declared or not. */
export async function readLimited(request: Request, limit: number): Promise<string | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) return null;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export async function receiveEvents(request: Request, db: PrismaClient, now = new Date()): Promise<Response> {
  if (request.method !== "POST") return json({ error: "use POST" }, 405);
  let identity: ProxyIdentity;
  try {
    identity = requireAppProxy(request, now);
  } catch (refused) {
    if (refused instanceof Response) return refused;
    throw refused;
  }

  // Any content type: sendBeacon sends a string as text/plain.
  const body = await readLimited(request, MAX_BODY_BYTES);
  if (body === null) return json({ error: `body: must be at most ${MAX_BODY_BYTES} bytes` }, 413);
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return json({ error: "body: must be JSON" }, 400);
  }
  const parsed = batchSchema(now).safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
    return json({ error: problems[0], problems }, 400);
  }

  const shop = await db.shop.findUnique({
    where: { domain: identity.shop },
    select: { id: true, uninstalledAt: true },
  });
  if (!shop || shop.uninstalledAt) return json({ error: "shop: not installed" }, 404);

  void recordProxyPath(db, identity, now);
  if (!parsed.data.consent.analytics) {
    const counted = await countWithoutConsent(db, shop.id, parsed.data.events);
    // An email the shopper typed to sign up is kept without any id: it is their request.
    await recordEmailSignups(db, shop.id, null, parsed.data.events, now);
    return json({ ok: true, stored: 0, counted }, 200);
  }
  let result: StoreResult;
  try {
    result = await storeBatch(db, shop.id, identity, parsed.data, now);
  } catch (e) {
    if (e instanceof VisitorOfAnotherShop) return json({ error: "visitorId: belongs to another shop" }, 409);
    throw e;
  }

  if (result.customerId) {
    // The events are stored and must not be sent again (they would count twice), so a failure
    // here is logged, not refused: the customer's next update (a later batch, a webhook) or a
    // full recompute brings their membership right.
    try {
      await updateMembership(db, shop.id, [result.customerId], ["visitor", "cart"], now);
    } catch (e) {
      console.error("storefront events: membership update failed", e);
    }
  }
  return json({ ok: true, stored: result.stored }, 200);
}

/** The visitor id is another shop's: a request signed for this shop never writes to it. */
export class VisitorOfAnotherShop extends Error {}

interface StoreResult {
  stored: number;
  customerId: string | null;
}

/** `/cart.js` tokens carry a `?key=...` suffix that the cart webhooks' token does not. */
function cartTokenOf(token: string | undefined): string | undefined {
  return token?.split("?")[0] || undefined;
}

export async function storeBatch(
  db: PrismaClient,
  shopId: number,
  identity: ProxyIdentity,
  batch: EventBatch,
  now: Date,
): Promise<StoreResult> {
  // Called for what may be stored with the shopper's ids: a batch with analytics consent (a batch
  // without it is only counted: countWithoutConsent), or the no-JavaScript form's answer that
  // the shopper posted themselves (answer.server.ts).
  const visitorId = batch.visitorId;
  if (!visitorId) throw new Error("storeBatch: a batch to store needs its visitor id");
  const events = batch.events;

  // A clock a little fast is believed up to now, no further.
  const times = events.map((e) => Math.min(Date.parse(e.at), now.getTime()));
  const first = new Date(times.length ? Math.min(...times) : now.getTime());
  const last = new Date(times.length ? Math.max(...times) : now.getTime());
  const sessions = events.filter((e) => e.type === "session_start").length;
  const context = batch.context;
  const cartToken = cartTokenOf(batch.cartToken);

  const write = (tx: Prisma.TransactionClient) => async () => {
    // Lock the visitor's row (a no-op write) before reading it: two batches of one visitor at
    // once would otherwise both read the old first/last seen and the later write would undo the
    // earlier (seen on PostgreSQL). A new visitor has no row to lock; its racing INSERTs meet on
    // the key and the loser runs again below, and then finds the row.
    await tx.visitor.updateMany({ where: { id: visitorId }, data: { sessions: { increment: 0 } } });
    const existing = await tx.visitor.findUnique({
      where: { id: visitorId },
      select: {
        shopId: true,
        firstSeenAt: true,
        lastSeenAt: true,
        customerShopifyId: true,
        landingPage: true,
        referrer: true,
        utmSource: true,
        utmMedium: true,
        utmCampaign: true,
        deviceType: true,
      },
    });
    if (existing && existing.shopId !== shopId) throw new VisitorOfAnotherShop();
    // The link to a customer only ever comes from the signed logged_in_customer_id; a later
    // anonymous visit (logged out) keeps it, a different logged-in customer takes the device over.
    const customerShopifyId = identity.customerId ?? existing?.customerShopifyId ?? null;
    const contextFields = {
      landingPage: context.landingPage ?? null,
      referrer: context.referrer ?? null,
      utmSource: context.utmSource ?? null,
      utmMedium: context.utmMedium ?? null,
      utmCampaign: context.utmCampaign ?? null,
      deviceType: context.deviceType ?? null,
    };
    if (!existing) {
      await tx.visitor.create({
        data: {
          id: visitorId,
          shopId,
          customerShopifyId,
          firstSeenAt: first,
          lastSeenAt: last,
          sessions,
          cartToken: cartToken ?? null,
          ...contextFields,
        },
      });
    } else {
      // Landing page, referrer, UTM and device describe the first visit: written once, by the
      // first batch that reported any of them.
      const noContextYet = [
        existing.landingPage,
        existing.referrer,
        existing.utmSource,
        existing.utmMedium,
        existing.utmCampaign,
        existing.deviceType,
      ].every((v) => v === null);
      await tx.visitor.update({
        where: { id: visitorId },
        data: {
          customerShopifyId,
          firstSeenAt: first < existing.firstSeenAt ? first : existing.firstSeenAt,
          lastSeenAt: last > existing.lastSeenAt ? last : existing.lastSeenAt,
          sessions: { increment: sessions },
          ...(cartToken ? { cartToken } : {}),
          ...(noContextYet ? contextFields : {}),
        },
      });
    }
    if (events.length)
      await tx.storefrontEvent.createMany({
        data: events.map((e, i) => ({
          shopId,
          visitorId,
          type: e.type,
          resourceId: e.resourceId ?? null,
          occurredAt: new Date(times[i]),
          receivedAt: now,
        })),
      });
    // An email left in an email-capture form is also a sign-up for Shopify (offers/signups.server.ts).
    await recordEmailSignups(tx, shopId, { visitorId, customerShopifyId }, events, now);
    return { stored: events.length, customerId: customerShopifyId };
  };

  try {
    return await db.$transaction((tx) => write(tx)());
  } catch (e) {
    // Two first batches of a new visitor at once: the loser's INSERT hits the key; run it again
    // and it updates the row the winner created.
    if ((e as { code?: string }).code === "P2002") return db.$transaction((tx) => write(tx)());
    throw e;
  }
}

/**
 * A batch without analytics consent: the countable events (COUNTED_WITHOUT_CONSENT) added to
 * their day's aggregate counts, and nothing else (the visitor id, cart token, context and signed
 * customer are not read). An answer to an "email" question is not counted: its value is the
 * address, kept as a sign-up with no id (recordEmailSignups).
 * One statement per batch; concurrent batches add up (INSERT … ON CONFLICT DO UPDATE).
 */
export async function countWithoutConsent(
  db: PrismaClient,
  shopId: number,
  events: EventBatch["events"],
): Promise<number> {
  const counts = new Map<string, { day: string; type: string; resourceId: string; count: number }>();
  for (const e of events) {
    if (!COUNTED_WITHOUT_CONSENT.includes(e.type) || !e.resourceId) continue;
    if (e.type === "answer" && /^email=/i.test(e.resourceId)) continue;
    const day = e.at.slice(0, 10);
    const key = `${day} ${e.type} ${e.resourceId}`;
    const row = counts.get(key) ?? { day, type: e.type, resourceId: e.resourceId, count: 0 };
    row.count += 1;
    counts.set(key, row);
  }
  const rows = [...counts.values()];
  if (!rows.length) return 0;
  // On the hot layer's intake writer (db-hot.server.ts): every page of a shopper without consent
  // sends one.
  await insertMany(
    hotFor(db, "intake"),
    "AnonymousCount",
    ["shopId", "day", "type", "resourceId", "count"],
    rows.map((r) => [shopId, r.day, r.type, r.resourceId, r.count]),
    ` ON CONFLICT ("shopId", "day", "type", "resourceId")
    DO UPDATE SET "count" = "AnonymousCount"."count" + excluded."count"`,
  );
  return rows.reduce((sum, r) => sum + r.count, 0);
}
