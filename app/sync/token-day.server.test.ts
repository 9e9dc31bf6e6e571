/**
 * The proof for "background work stops within an hour": a simulated day of background work on a
 * shop installed through the library's token exchange, with no admin visit. Every 20 minutes of
 * app time (and the stand-in's, which issues 60-minute tokens on the same clock): reconciliation,
 * a code pool refill, a segment push to Shopify, an email sign-up sent to Shopify, and a call on a
 * client held since the start of the day (a long job). Twice Shopify's clock jumps 45 minutes
 * ahead of the app's, so tokens the app still thinks valid are refused (401) and refreshed mid-call. Every job keeps working, and the only token exchange is the install.
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { adminDocument } from "./documents";

const SHOP_NAME = adminDocument("token day test: shop name", "query { shop { name } }");

const store = generateStore({ seed: 77, customers: 60, shop: "token-day.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 5000, bulkDelayMs: 5 });
await standIn.start();
process.env.SLICE_ADMIN_API_ORIGIN = standIn.origin;
const { default: prisma } = await import("../db.server");
const { installInProcess } = await import("../../dev/testing/install");
const { adminApiFor } = await import("./admin-api.server");
const { runBackfill } = await import("./backfill.server");
const { reconcile } = await import("./reconcile.server");
const { refillPools, retirePool } = await import("../offers/pool.server");
const { syncEmailSignups } = await import("../offers/signups.server");
const { pushSegment, setPushOptions } = await import("../segments/push.server");
const { createMessage } = await import("../messages/store.server");
const { receiveEvents } = await import("../storefront/events.server");

const MINUTE = 60_000;
vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });

afterAll(async () => {
  vi.useRealTimers();
  await standIn.stop();
  await prisma.$disconnect();
});

async function signUp(email: string, at: Date, visitorId: string) {
  const storefront = new Request(`https://${SHOP}/apps/slice/events`, {
    method: "POST",
    body: JSON.stringify({
      visitorId,
      consent: { analytics: false },
      events: [{ type: "answer", at: at.toISOString(), resourceId: `email=${email}` }],
    }),
    headers: { "content-type": "text/plain;charset=UTF-8" },
  });
  const proxy = { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP };
  const request = proxiedRequest(storefront, proxy, { timestamp: Math.floor(at.getTime() / 1000) });
  expect((await receiveEvents(request, prisma, at)).status).toBe(200);
}

describe("a day of background work on expiring offline tokens", () => {
  it("reconciles, refills pools, pushes segments and sends sign-ups all day across 24 token expiries, with no admin visit", async () => {
    await installInProcess(SHOP);
    await runBackfill(prisma, await adminApiFor(prisma, SHOP), SHOP, {
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
    });
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    expect(shop.backfillStatus).toBe("done");
    // The largest segment: its members get the tag, then lose it, then get it again.
    const segment = await prisma.segment.findFirstOrThrow({
      where: { shopId: shop.id },
      orderBy: { size: "desc" },
    });
    expect(segment.size).toBeGreaterThan(0);
    const offerId = await createMessage(prisma, shop.id, {
      name: "Welcome 10%",
      segment: segment.handle,
      format: "popup",
      trigger: { on: "load" },
      content: { headline: "10% off your first order", body: "", button: null },
      reward: {
        kind: "firstPurchase",
        discount: { type: "percentage", value: 10, validDays: 7, minimumSubtotal: 0 },
      },
      active: true,
    });
    await createMessage(prisma, shop.id, {
      name: "Join the list",
      segment: segment.handle,
      format: "popup",
      trigger: { on: "load" },
      content: { headline: "Sign up", body: "", button: null },
      reward: { kind: "emailCapture" },
      active: true,
    });
    // A job that holds its client all day (as a long backfill would).
    const longJob = await adminApiFor(prisma, SHOP);

    const steps = (24 * 60) / 20;
    let codes = 0;
    let pushed = 0;
    for (let step = 1; step <= steps; step++) {
      vi.setSystemTime(Date.now() + 20 * MINUTE);
      // Twice, Shopify's clock jumps 45 minutes ahead of the app's: tokens expire early for the app.
      if (step === 37 || step === 56) standIn.advanceClock(45 * MINUTE);
      const now = new Date();
      const where = `step ${step} (${(step * 20) / 60} h)`;

      const reconciled = await reconcile(prisma, await adminApiFor(prisma, SHOP), SHOP, now);
      expect(reconciled.checked, where).toBeGreaterThanOrEqual(0);

      // The shoppers took the pool (retired here): it is made again in Shopify.
      await retirePool(prisma, offerId);
      const refills = await refillPools(prisma, await adminApiFor(prisma, SHOP), shop.id, now, {
        target: 4,
        poll: { intervalMs: 5 },
      });
      expect(refills.length, where).toBe(1);
      codes += refills[0].added;

      await setPushOptions(prisma, shop.id, segment.handle, { tag: step % 2 === 1 });
      const outcome = await pushSegment(
        prisma,
        await adminApiFor(prisma, SHOP),
        shop.id,
        segment.handle,
        now,
      );
      expect(outcome.error, where).toBeNull();
      pushed += outcome.tagged + outcome.untagged;

      await signUp(`day-${step}@example.com`, now, `day-visitor-${String(step).padStart(6, "0")}`);
      expect(await syncEmailSignups(prisma, () => adminApiFor(prisma, SHOP), shop.id, now), where).toEqual({
        synced: 1,
        retrying: 0,
        failed: 0,
      });

      expect(await longJob.request(SHOP_NAME), where).toEqual({
        shop: { name: store.shop.name },
      });
    }

    const log = standIn.tokens.log;
    expect(log.filter((l) => l.grant.endsWith("token-exchange")).length).toBe(1); // the install, no admin visit
    const refreshes = log.filter((l) => l.grant === "refresh_token" && l.status === 200).length;
    expect(refreshes).toBeGreaterThanOrEqual(24);
    expect(refreshes).toBeLessThanOrEqual(40);
    expect(log.filter((l) => l.status !== 200)).toEqual([]);
    // Shopify's clock ahead: some calls were refused and went through after a refresh.
    expect(standIn.unauthorized).toBeGreaterThan(0);
    expect(codes).toBeGreaterThanOrEqual(4 * steps);
    expect(pushed).toBeGreaterThan(0);
    expect(await prisma.emailSignup.count({ where: { shopId: shop.id, status: "synced" } })).toBe(steps);
    expect(standIn.invalidDocuments).toEqual([]);
  }, 600_000);
});
