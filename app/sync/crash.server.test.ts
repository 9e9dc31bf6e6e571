/**
 * The real server (`node build/server.mjs`) killed with SIGKILL while it is receiving and applying
 * a store's webhook history, then started again: Shopify retries every delivery that was not
 * acknowledged, and the copy must end equal to the store, nothing lost, nothing applied twice.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import prisma, { dialect } from "../db.server";
import { generateStore } from "../../dev/store";
import { deliveryPlan } from "../../dev/webhooks";
import { heldPicture, pictureDifferences, storePicture } from "../../dev/testing/compare";
import {
  acknowledged,
  deliverUntilAcknowledged,
  inboxCounts,
  sendAll,
  startAppServer,
  waitForDrain,
  type AppServer,
  type DeliveryResult,
} from "../../dev/testing/app-server";

const running: AppServer[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
});
afterAll(() => prisma.$disconnect());

describe("the app process killed mid-processing", () => {
  it(
    "loses no acknowledged webhook and applies none twice after a restart",
    { timeout: 300_000 },
    async () => {
      const store = generateStore({ seed: 21, customers: 150, shop: "crash.myshopify.com" });
      const plan = deliveryPlan(store.events, { duplicates: 0.1, reorder: 0.1, seed: 4 });
      const first = await startAppServer();
      running.push(first);

      // Most of the first 40% is received and some of it applied; the rest is still arriving when
      // the process is killed, so some requests are in flight and some never reach it.
      const head = Math.floor(plan.length * 0.4);
      const results: (DeliveryResult | undefined)[] = await sendAll(first.url, plan.slice(0, head));
      while ((await inboxCounts(prisma)).done < 100) await new Promise((resolve) => setTimeout(resolve, 10));
      let killed = false;
      const rest = sendAll(first.url, plan.slice(head), { concurrency: 4, stopWhen: () => killed });
      // Killed in the middle of work: while the worker holds events it claimed, or events wait
      // for it. The batched worker keeps up with this sender, so a count read before the kill
      // could be stale by the time the signal lands; the process is frozen (SIGSTOP) first, the
      // inbox read while nothing in it can commit, and only a process caught mid-work is killed.
      // Caught holding claimed events if that happens within a few seconds; waiting ones otherwise.
      const started = Date.now();
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        first.child.kill("SIGSTOP");
        const counts = await inboxCounts(prisma);
        const waited = Date.now() - started;
        if (counts.processing > 0 || (counts.pending > 0 && waited > 3_000) || waited > 60_000) break;
        first.child.kill("SIGCONT");
      }
      await first.kill();
      killed = true;
      results.push(...(await rest));
      expect(first.exited()?.signal).toBe("SIGKILL");

      // Every acknowledged delivery is in the inbox: a 200 is only sent after the write committed.
      const atKill = await inboxCounts(prisma);
      const held = new Set(
        (await prisma.webhookEvent.findMany({ select: { eventId: true } })).map((e) => e.eventId),
      );
      const ackedIds = new Set(plan.filter((_, i) => acknowledged(results[i])).map((l) => l.eventId!));
      expect([...ackedIds].filter((id) => !held.has(id))).toEqual([]);
      expect(atKill.done).toBeGreaterThan(0);
      expect(atKill.pending + atKill.processing + atKill.failed).toBeGreaterThan(0);
      const unanswered = results.filter((r) => !acknowledged(r)).length;
      expect(unanswered).toBeGreaterThan(0);

      // Restarted: Shopify retries what was never acknowledged. Events the dead process had
      // claimed are claimed again when their lease runs out.
      // On PostgreSQL the new instance runs two worker threads: the events the dead one had
      // claimed must still be applied once.
      const second = await startAppServer(dialect === "postgres" ? { SLICE_WORKERS: "2" } : {});
      running.push(second);
      const resent = await deliverUntilAcknowledged(second.url, plan, results);
      const final = await waitForDrain(prisma, store.events.length, 180_000, second);

      // One row per event, every delivery counted (a request in flight at the kill may have been
      // stored and then retried: counted twice, as Shopify did send it twice), none failed.
      expect(final).toMatchObject({
        total: store.events.length,
        done: store.events.length,
        failed: 0,
        dead: 0,
      });
      expect(final.deliveries).toBeGreaterThanOrEqual(plan.length);
      expect(final.deliveries).toBeLessThanOrEqual(plan.length + resent);
      // Equal to the store: counts, spend and refund sums would be off if anything applied twice.
      const options = { checkouts: "all" as const, carts: true, products: false };
      const picture = await heldPicture(prisma, store.shop.domain, options);
      expect(pictureDifferences(picture, storePicture(store, options))).toEqual([]);
      expect(second.exited()).toBeNull();
      console.log(
        `killed with ${atKill.done} done, ${atKill.processing} processing, ${atKill.pending} pending of ${atKill.total}; ` +
          `${unanswered} unanswered, ${resent} resent; final ${final.total} events, ${final.deliveries} deliveries`,
      );
    },
  );
});
