/**
 * On PostgreSQL a delivery recorded by any app instance wakes the workers of every other one at
 * once (NOTIFY slice_inbox, one LISTEN connection per worker process), rather than at their next
 * poll; and when the listening connection is cut, it comes back by itself, catches up on what was
 * recorded meanwhile, and is woken again by the next delivery.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PrismaClient } from "@prisma/client";
import prisma, { createPrismaClient, dialect } from "../db.server";
import { closeHot } from "../db-hot.server";
import { insertDeliveries } from "./intake.server";
import { InboxWorker } from "./worker.server";
import { LISTENER_NAME, listenForInbox, type InboxListener } from "./inbox-signal.server";
import { fixtureText } from "../../dev/fixtures";

const url = process.env.DATABASE_URL!;
const postgres = dialect === "postgres";
const REASON = "LISTEN/NOTIFY is PostgreSQL's; on SQLite the one app process wakes its worker in-process";
const onPostgres = (name: string) => (postgres ? name : `${name} (skipped: ${REASON})`);
const SHOP = "signal-shop.myshopify.com";
/** Far longer than any wait below: a prompt apply can only come from a notification. */
const POLL_MS = 60_000;

const other: PrismaClient = createPrismaClient(url);
const workers: InboxWorker[] = [];
const listeners: InboxListener[] = [];

async function stopAll() {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
  await Promise.all(workers.splice(0).map((w) => w.stop()));
}

afterEach(stopAll);
afterAll(async () => {
  await stopAll();
  await other.$disconnect();
  await prisma.$disconnect();
  await closeHot();
});

beforeEach(async () => {
  await prisma.webhookEvent.deleteMany();
});

let serial = 0;
function delivery() {
  const customer = JSON.parse(fixtureText("customers/create")) as Record<string, unknown>;
  customer.id = 7_000_000 + ++serial;
  return {
    shopDomain: SHOP,
    topic: "customers/create",
    eventId: `signal-${serial}-${Date.now()}`,
    webhookId: null,
    triggeredAt: new Date(),
    apiVersion: "2026-07",
    payload: JSON.stringify(customer),
  };
}

/** A worker on its own Prisma client (another "instance") that only a notification can wake in time. */
async function listeningWorker(options: { pollWhileDownMs?: number } = {}) {
  const done: { id: number; at: number }[] = [];
  const worker = new InboxWorker(other, {
    pollMs: POLL_MS,
    onDone: (event) => done.push({ id: event.id, at: performance.now() }),
  });
  workers.push(worker);
  const listener = listenForInbox(url, () => worker.wake(), { retryMs: 100, ...options });
  listeners.push(listener);
  await listener.ready;
  worker.start();
  // Its first drain (of an empty inbox) is over: from here on it sleeps for the whole poll.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { worker, listener, done };
}

async function until(what: string, test: () => boolean | Promise<boolean>, ms = 5_000): Promise<number> {
  const start = performance.now();
  while (!(await test())) {
    if (performance.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
}

describe("workers woken by LISTEN/NOTIFY", () => {
  it.skipIf(!postgres)(
    onPostgres(
      "a delivery recorded through one client is applied by another instance's sleeping worker within milliseconds",
    ),
    async () => {
      const { done } = await listeningWorker();
      const waits: number[] = [];
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        await insertDeliveries(prisma, [delivery()]);
        await until("the other worker applied the delivery", () => done.length === i + 1);
        waits.push(done[i].at - start);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Far under the 60 s poll (and the 5 s the runtime polls at with LISTEN up).
      expect(Math.max(...waits)).toBeLessThan(1_000);
      const rows = await prisma.webhookEvent.findMany({ select: { status: true } });
      expect(rows.map((r) => r.status)).toEqual(Array(5).fill("done"));
    },
  );

  it.skipIf(!postgres)(
    onPostgres(
      "a cut listening connection comes back by itself: what was recorded meanwhile is applied, and the next delivery wakes it again",
    ),
    async () => {
      // While it is down the listener would poll once a minute here: only its reconnect can apply in time.
      const { listener, done } = await listeningWorker({ pollWhileDownMs: POLL_MS });
      expect(listener.listening).toBe(true);
      const cut = await prisma.$queryRawUnsafe<{ cut: boolean }[]>(
        `SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity
         WHERE application_name = $1 AND datname = current_database()`,
        LISTENER_NAME,
      );
      expect(cut.length).toBeGreaterThanOrEqual(1);
      await until("the listener noticed", () => !listener.listening);
      // Recorded while nobody listens: its notification is lost.
      await insertDeliveries(prisma, [delivery()]);
      await until("the listener is back", () => listener.listening);
      await until("what was recorded while it was down is applied", () => done.length === 1, 2_000);
      // The worker is asleep again (its drain found nothing more): only a notification wakes it now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const start = performance.now();
      await insertDeliveries(prisma, [delivery()]);
      await until("the next delivery is applied", () => done.length === 2);
      expect(done[1].at - start).toBeLessThan(1_000);
    },
  );

  it.skipIf(!postgres)(onPostgres("a repeated delivery (nothing new recorded) wakes nobody"), async () => {
    const { worker } = await listeningWorker();
    const wake = worker.wake.bind(worker);
    let wakes = 0;
    worker.wake = () => {
      wakes++;
      wake();
    };
    const d = delivery();
    await insertDeliveries(prisma, [d]);
    await until("the first delivery woke the worker", () => wakes >= 1);
    const after = wakes;
    expect(await insertDeliveries(prisma, [d, d])).toEqual(["duplicate", "duplicate"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(wakes).toBe(after);
  });
});
