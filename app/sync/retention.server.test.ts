/**
 * The inbox keeps Shopify's payloads only as long as they are useful: an applied delivery's payload
 * (phone numbers, notes and all, which the app itself never keeps) is trimmed after 7 days, while
 * its event id still keeps a late duplicate out; a failed delivery keeps its payload until applied.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { receiveWebhook } from "./receive.server";
import { InboxWorker } from "./worker.server";
import {
  inboxStats,
  PAYLOAD_RETENTION_MS,
  replay,
  TRIMMED_PAYLOAD,
  trimAppliedPayloads,
} from "./inbox.server";
import { inboxRetentionDays } from "../config.server";
import { webhookRequestInit, type WebhookLine } from "../../dev/webhooks";
import { fixtureText } from "../../dev/fixtures";
import { TEST_SECRET } from "../../dev/testing/setup";

const SHOP = "retention-shop.myshopify.com";
const DAY = 24 * 3_600_000;

function deliver(line: WebhookLine, eventId?: string) {
  const init = webhookRequestInit({ ...line, ...(eventId ? { eventId } : {}) }, TEST_SECRET);
  return receiveWebhook(new Request("http://127.0.0.1/webhooks", init), { db: prisma, secret: TEST_SECRET });
}

beforeEach(async () => {
  await prisma.webhookEvent.deleteMany();
  await prisma.shop.deleteMany();
});

afterAll(() => prisma.$disconnect());

describe("the inbox's retention of payloads", () => {
  it("trims an applied delivery's payload after 7 days, keeps a failed one's, and still refuses the event again", async () => {
    const customer = JSON.parse(fixtureText("customers/create")) as Record<string, unknown>;
    customer.phone = "+16135551111";
    customer.note = "Prefers calls after 6pm";
    const applied = await deliver(
      { topic: "customers/create", shop: SHOP, payload: JSON.stringify(customer) },
      "evt-applied",
    );
    expect(applied.status).toBe(200);
    const start = new Date(Date.now() + 60_000);
    await new InboxWorker(prisma, { now: () => start }).drain();
    // An order whose JSON cannot be read fails and is kept for a retry, payload and all.
    await deliver({ topic: "orders/create", shop: SHOP, payload: '{"id": "not a number"' }, "evt-failed");
    await new InboxWorker(prisma, { now: () => start }).drain();
    const rows = () =>
      prisma.webhookEvent.findMany({
        orderBy: { id: "asc" },
        select: { eventId: true, status: true, payload: true },
      });
    expect((await rows()).map((r) => r.status)).toEqual(["done", "failed"]);

    // Within the retention nothing changes.
    expect(await trimAppliedPayloads(prisma, new Date(start.getTime() + 6 * DAY))).toBe(0);
    expect((await rows())[0].payload).toContain("+16135551111");

    // After it, the applied payload is gone; the failed one is whole.
    const later = new Date(start.getTime() + PAYLOAD_RETENTION_MS + DAY);
    expect(await trimAppliedPayloads(prisma, later)).toBe(1);
    const [done, failed] = await rows();
    expect(done).toEqual({ eventId: "evt-applied", status: "done", payload: TRIMMED_PAYLOAD });
    expect(failed.payload).toBe('{"id": "not a number"');
    expect(await trimAppliedPayloads(prisma, later)).toBe(0);

    // Shopify delivering the same event again is still one event, not applied twice.
    await deliver(
      { topic: "customers/create", shop: SHOP, payload: JSON.stringify(customer) },
      "evt-applied",
    );
    expect(await prisma.webhookEvent.count({ where: { eventId: "evt-applied" } })).toBe(1);
    expect((await rows())[0].payload).toBe(TRIMMED_PAYLOAD);
    // What the app keeps of the customer never held the phone or the note.
    const held = await prisma.customer.findFirstOrThrow();
    expect(JSON.stringify(held)).not.toMatch(/6135551111|after 6pm/);
  });

  it("keeps payloads as many days as SLICE_INBOX_RETENTION_DAYS says, keeps a dead one's until it is replayed and applied, and the sync page's counts do not move", async () => {
    const customer = fixtureText("customers/create");
    for (const id of ["evt-a", "evt-b"])
      await deliver({ topic: "customers/create", shop: SHOP, payload: customer }, id);
    await deliver({ topic: "customers/create", shop: SHOP, payload: customer }, "evt-a"); // a duplicate
    await deliver({ topic: "orders/create", shop: SHOP, payload: '{"id": "not a number"' }, "evt-dead");
    const start = new Date(Date.now() + 60_000);
    await new InboxWorker(prisma, { now: () => start }).drain();
    await prisma.webhookEvent.updateMany({ where: { eventId: "evt-dead" }, data: { status: "dead" } });
    const before = await inboxStats(prisma, SHOP);
    expect(before).toMatchObject({ done: 2, dead: 1, duplicates: 1 });

    const thirtyDays = inboxRetentionDays({ SLICE_INBOX_RETENTION_DAYS: "30" }) * DAY;
    expect(await trimAppliedPayloads(prisma, new Date(start.getTime() + 29 * DAY), thirtyDays)).toBe(0);
    const later = new Date(start.getTime() + 31 * DAY);
    expect(await trimAppliedPayloads(prisma, later, thirtyDays)).toBe(2);
    const payloads = await prisma.webhookEvent.findMany({
      orderBy: { id: "asc" },
      select: { payload: true },
    });
    expect(payloads.map((p) => p.payload)).toEqual([
      TRIMMED_PAYLOAD,
      TRIMMED_PAYLOAD,
      '{"id": "not a number"',
    ]);
    expect(await inboxStats(prisma, SHOP)).toEqual(before);

    // Replayed and applied (its payload mended by hand, as support would): trimmed only after its own retention.
    const dead = await prisma.webhookEvent.findFirstOrThrow({ where: { eventId: "evt-dead" } });
    await prisma.webhookEvent.update({
      where: { id: dead.id },
      data: { topic: "customers/create", payload: customer },
    });
    expect(await replay(prisma, SHOP, dead.id)).toBe(1);
    await new InboxWorker(prisma, { now: () => later }).drain();
    expect(await trimAppliedPayloads(prisma, new Date(later.getTime() + 29 * DAY), thirtyDays)).toBe(0);
    expect(await trimAppliedPayloads(prisma, new Date(later.getTime() + 31 * DAY), thirtyDays)).toBe(1);
  });
});
