/**
 * Storefront messages in the database: created, edited, paused and deleted from the admin (and
 * tests and the CLI) through these functions only, each validated by parseMessage and checked
 * against the shop's segments. Every change drops the storefront's cached copy of the shop's
 * messages, so the next decision uses it.
 */
import type { Message, PrismaClient } from "@prisma/client";
import {
  MessageError,
  fromColumns,
  parseMessage,
  starterMessages,
  toColumns,
  type MessageInput,
} from "../engine/message";
import { retirePool } from "../offers/pool.server";
import { forgetShopMessages, MESSAGE_EVENTS } from "../storefront/decide.server";

export interface MessageRow {
  id: number;
  input: MessageInput;
  createdAt: Date;
  updatedAt: Date;
  /** The segment's name, or null when the segment no longer exists. */
  segmentName: string | null;
}

export interface MessageStats {
  shown: number;
  clicked: number;
  dismissed: number;
}

async function shopOf(db: PrismaClient, shopId: number): Promise<string> {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { domain: true } });
  return shop.domain;
}

/** Validates input and that its segment exists; throws MessageError naming the field. */
async function validated(db: PrismaClient, shopId: number, input: unknown): Promise<MessageInput> {
  const message = parseMessage(input);
  const segment = await db.segment.findUnique({
    where: { shopId_handle: { shopId, handle: message.segment } },
    select: { id: true },
  });
  if (!segment)
    throw new MessageError([{ field: "segment", message: `no segment "${message.segment}" in this shop` }]);
  return message;
}

export async function createMessage(db: PrismaClient, shopId: number, input: unknown): Promise<number> {
  const message = await validated(db, shopId, input);
  const row = await db.message.create({ data: { shopId, ...toColumns(message) } });
  forgetShopMessages(await shopOf(db, shopId));
  return row.id;
}

export async function updateMessage(
  db: PrismaClient,
  shopId: number,
  id: number,
  input: unknown,
): Promise<void> {
  const message = await validated(db, shopId, input);
  const data = toColumns(message);
  const before = await db.message.findFirst({ where: { id, shopId } });
  if (!before) throw new MessageError([{ field: "message", message: `no message ${id} in this shop` }]);
  await db.message.update({ where: { id }, data });
  // Codes made for other terms are not given out any more (the pool refills with the new ones).
  const terms = ["reward", "discountKind", "discountValue", "codeValidDays", "minimumSubtotal"] as const;
  if (terms.some((k) => before[k] !== data[k])) await retirePool(db, id);
  forgetShopMessages(await shopOf(db, shopId));
}

/** The kill switch (and its undo): a paused message is never shown, from the next decision on. */
export async function setMessageActive(
  db: PrismaClient,
  shopId: number,
  id: number,
  active: boolean,
): Promise<void> {
  const { count } = await db.message.updateMany({ where: { id, shopId }, data: { active } });
  if (!count) throw new MessageError([{ field: "message", message: `no message ${id} in this shop` }]);
  forgetShopMessages(await shopOf(db, shopId));
}

export async function deleteMessage(db: PrismaClient, shopId: number, id: number): Promise<void> {
  await db.message.deleteMany({ where: { id, shopId } });
  forgetShopMessages(await shopOf(db, shopId));
}

function rowOf(m: Message, names: Map<string, string>): MessageRow {
  return {
    id: m.id,
    input: fromColumns(m),
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    segmentName: names.get(m.segmentHandle) ?? null,
  };
}

export async function listMessages(db: PrismaClient, shopId: number): Promise<MessageRow[]> {
  const [messages, segments] = await Promise.all([
    db.message.findMany({ where: { shopId }, orderBy: [{ priority: "desc" }, { id: "asc" }] }),
    db.segment.findMany({ where: { shopId }, select: { handle: true, name: true } }),
  ]);
  const names = new Map(segments.map((s) => [s.handle, s.name]));
  return messages.map((m) => rowOf(m, names));
}

export async function getMessage(db: PrismaClient, shopId: number, id: number): Promise<MessageRow | null> {
  const m = await db.message.findFirst({ where: { id, shopId } });
  if (!m) return null;
  const segment = await db.segment.findUnique({
    where: { shopId_handle: { shopId, handle: m.segmentHandle } },
    select: { handle: true, name: true },
  });
  return rowOf(m, new Map(segment ? [[segment.handle, segment.name]] : []));
}

/** Shown, clicked and dismissed counts per message since `since`, from the storefront's events. */
export async function messageStats(
  db: PrismaClient,
  shopId: number,
  since: Date,
): Promise<Map<number, MessageStats>> {
  const rows = await db.storefrontEvent.groupBy({
    by: ["type", "resourceId"],
    where: { shopId, type: { in: Object.values(MESSAGE_EVENTS) }, occurredAt: { gte: since } },
    _count: { _all: true },
  });
  const stats = new Map<number, MessageStats>();
  for (const r of rows) {
    const id = Number(r.resourceId);
    const s = stats.get(id) ?? { shown: 0, clicked: 0, dismissed: 0 };
    if (r.type === MESSAGE_EVENTS.shown) s.shown += r._count._all;
    if (r.type === MESSAGE_EVENTS.clicked) s.clicked += r._count._all;
    if (r.type === MESSAGE_EVENTS.dismissed) s.dismissed += r._count._all;
    stats.set(id, s);
  }
  return stats;
}

/**
 * A new shop's starter messages (welcome, cart reminder, referral invite), paused unless `active`:
 * the merchant switches them on. Only for a shop with no messages yet; needs its preset segments.
 */
export async function ensureStarterMessages(
  db: PrismaClient,
  shopId: number,
  active = false,
): Promise<number> {
  if (await db.message.count({ where: { shopId } })) return 0;
  const handles = new Set(
    (await db.segment.findMany({ where: { shopId }, select: { handle: true } })).map((s) => s.handle),
  );
  const starters = starterMessages().filter((m) => handles.has(m.segment));
  await db.message.createMany({ data: starters.map((m) => ({ shopId, ...toColumns({ ...m, active }) })) });
  forgetShopMessages(await shopOf(db, shopId));
  return starters.length;
}
