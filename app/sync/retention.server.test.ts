/**
 * The inbox keeps Shopify's payloads only as long as they are useful: an applied delivery's payload
 * (phone numbers, notes and all, which the app itself never keeps) is trimmed after 7 days, while
 * its event id still keeps a late duplicate out; a failed delivery keeps its payload until applied.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { receiveWebhook } from "./receive.server";
import { InboxWorker } from "./worker.server";
import { PAYLOAD_RETENTION_MS, TRIMMED_PAYLOAD, trimAppliedPayloads } from "./inbox.server";
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
});
