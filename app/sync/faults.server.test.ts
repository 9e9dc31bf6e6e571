/**
 * Faults between the app and Shopify, beyond what backfill.server.test.ts already covers (pacing
 * by the cost bucket, THROTTLED, 503 at the start, 1-in-7 webhooks lost and repaired):
 *
 * - the Admin API failing in the middle of work: 500/502/503, a 200 whose body is a GraphQL
 *   `errors` answer (INTERNAL_SERVER_ERROR), THROTTLED, the connection reset with no answer, on
 *   any call, bulk operation polls and reconciliation pages included; a bulk result download cut
 *   midway;
 * - clock skew: Shopify's timestamps minutes or hours ahead of or behind the app's clock.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "./admin-api.server";
import { runBackfill } from "./backfill.server";
import { reconcile } from "./reconcile.server";
import { InboxWorker } from "./worker.server";
import { receiveWebhook } from "./receive.server";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore, type Store } from "../../dev/store";
import { deliveryPlan, webhookRequestInit, type WebhookLine } from "../../dev/webhooks";
import { deliveriesOf, heldPicture, pictureDifferences, storePicture } from "../../dev/testing/compare";
import { insertDeliveries } from "./intake.server";
import { TEST_SECRET } from "../../dev/testing/setup";

type Fault = "500" | "502" | "503" | "graphql-internal" | "throttled" | "reset";

/**
 * Shopify's Admin API with faults: a proxy in front of the stand-in that answers some requests
 * itself (an error status, a GraphQL error body, or a dropped connection) and forwards the rest.
 */
class FaultyAdminApi {
  private server: http.Server | null = null;
  origin = "";
  /** Each fault injected, with the operation it hit. */
  readonly injected: { operation: string; fault: Fault }[] = [];
  private count = 0;

  constructor(
    private readonly target: AdminApiStandIn,
    /** Whether the n-th call fails; the kind of failure turns round FAULTS, one after another. */
    private readonly failing: (n: number, operation: string) => boolean,
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const operation = /(?:query|mutation)\s+(\w+)/.exec(body.toString("utf8"))?.[1] ?? "?";
    if (this.failing(++this.count, operation)) {
      const fault = FAULTS[this.injected.length % FAULTS.length];
      this.injected.push({ operation, fault });
      const json = (status: number, value: unknown): void =>
        void res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(value));
      switch (fault) {
        case "reset":
          return void req.socket.destroy();
        case "graphql-internal":
          // What Shopify sends when it fails inside a query: HTTP 200 with only `errors`.
          return json(200, {
            errors: [
              {
                message: "Internal error. Looks like something went wrong on our end.",
                extensions: { code: "INTERNAL_SERVER_ERROR", requestId: "faulty-1" },
              },
            ],
          });
        case "throttled":
          return json(200, {
            errors: [{ message: "Throttled", extensions: { code: "THROTTLED" } }],
            extensions: {
              cost: {
                requestedQueryCost: 50,
                actualQueryCost: null,
                throttleStatus: { maximumAvailable: 1000, currentlyAvailable: 0, restoreRate: 50_000 },
              },
            },
          });
        default:
          return json(Number(fault), {
            errors: fault === "503" ? "Service Unavailable" : "Internal Server Error",
          });
      }
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers))
      if (typeof value === "string" && !["host", "content-length", "connection"].includes(key))
        headers[key] = value;
    const answer = await fetch(`${this.target.origin}${req.url}`, { method: req.method, headers, body });
    res
      .writeHead(answer.status, { "Content-Type": answer.headers.get("content-type") ?? "application/json" })
      .end(Buffer.from(await answer.arrayBuffer()));
  }
}

const FAULTS: Fault[] = ["503", "graphql-internal", "reset", "500", "throttled", "502"];
/** Every third call fails: no call fails twice in a row, and every kind of call fails some time. */
const everyThird = (n: number): boolean => n % 3 === 0;
/** Every second call fails (a retry is the next call, so it gets through). */
const everySecond = (n: number): boolean => n % 2 === 0;
/** Backoff waits, shortened: these tests are about outcomes, not about how long they wait. */
const shortSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 5)));

const store = generateStore({ seed: 17, customers: 60, shop: "faults.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, bulkDelayMs: 30, restoreRate: 100_000, maximumAvailable: 1000 });
const apiAt = (origin: string) =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin, sleep: shortSleep });
const diff = async (s: Store, options: Parameters<typeof storePicture>[1]) =>
  pictureDifferences(await heldPicture(prisma, s.shop.domain, options), storePicture(s, options));

beforeAll(async () => {
  await standIn.start();
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});
beforeEach(async () => {
  await prisma.shop.deleteMany();
  await prisma.webhookEvent.deleteMany();
});

describe("the Admin API failing in the middle of work", () => {
  it("finishes a backfill with the exact store when calls fail with 5xx, GraphQL errors, THROTTLED and resets", async () => {
    const faulty = new FaultyAdminApi(standIn, everySecond);
    await faulty.start();
    try {
      await runBackfill(prisma, apiAt(faulty.origin), SHOP, { pollMs: 10, sleep: shortSleep });
    } finally {
      await faulty.stop();
    }
    const options = { checkouts: "abandoned" as const, carts: false, products: true };
    expect(await diff(store, options)).toEqual([]);
    // Each kind of fault hit the calls, bulk operation polls included.
    expect(new Set(faulty.injected.map((f) => f.fault))).toEqual(new Set(FAULTS));
    expect(faulty.injected.filter((f) => f.operation === "SliceBulkStatus").length).toBeGreaterThan(0);
    expect(faulty.injected.filter((f) => f.operation === "SliceBulkRun").length).toBeGreaterThan(0);
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("finishes after a bulk result download cut midway: the failed backfill is run again and ends exact", async () => {
    let cut = 0;
    // The first download of the orders' JSONL stops after 20 KB with the connection reset.
    const cutting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (cut++ !== 0 || !response.body) return response;
      const reader = response.body.getReader();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done || sent > 20_000) {
            await reader.cancel();
            return controller.error(new TypeError("terminated: other side closed"));
          }
          sent += value.length;
          controller.enqueue(value);
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const api = apiAt(standIn.origin);
    await expect(
      runBackfill(prisma, api, SHOP, { pollMs: 10, sleep: shortSleep, fetch: cutting, phases: ["orders"] }),
    ).rejects.toThrow(/terminated/);
    expect((await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).backfillStatus).toBe("failed");
    // The scheduler runs a failed backfill again (runtime.server.ts); every write is order-safe.
    await runBackfill(prisma, api, SHOP, { pollMs: 10, sleep: shortSleep, fetch: cutting });
    const options = { checkouts: "abandoned" as const, carts: false, products: true };
    expect(await diff(store, options)).toEqual([]);
  });

  it("repairs lost webhooks by reconciliation while its pages and line-item calls fail", async () => {
    const lost = new Set(store.events.filter((_, i) => i % 5 === 2));
    await insertDeliveries(prisma, deliveriesOf(store.events.filter((e) => !lost.has(e))));
    await new InboxWorker(prisma, { now: () => new Date("2031-01-01T00:00:00Z") }).drain();
    await prisma.shop.update({
      where: { domain: SHOP },
      data: { reconciledAt: new Date(store.now.getTime() - 400 * 86_400_000), currency: store.shop.currency },
    });
    const faulty = new FaultyAdminApi(standIn, everyThird);
    await faulty.start();
    try {
      const result = await reconcile(prisma, apiAt(faulty.origin), SHOP, store.now);
      expect(result.repaired).toBeGreaterThan(0);
    } finally {
      await faulty.stop();
    }
    const options = { checkouts: "abandoned" as const, carts: false, products: false };
    expect(await diff(store, options)).toEqual([]);
    expect(faulty.injected.filter((f) => f.operation === "SliceRecentOrders").length).toBeGreaterThan(0);
    expect(new Set(faulty.injected.map((f) => f.fault)).size).toBeGreaterThanOrEqual(3);
  });
});

describe("the Admin API's cost limit", () => {
  it("paces a reconciliation that costs several buckets' worth and ends with the exact store", async () => {
    const lost = new Set(store.events.filter((_, i) => i % 5 === 2));
    await insertDeliveries(prisma, deliveriesOf(store.events.filter((e) => !lost.has(e))));
    await new InboxWorker(prisma, { now: () => new Date("2031-01-01T00:00:00Z") }).drain();
    await prisma.shop.update({
      where: { domain: SHOP },
      data: { reconciledAt: new Date(store.now.getTime() - 400 * 86_400_000), currency: store.shop.currency },
    });
    // Shopify's standard bucket size, restored fast enough for a test: the pass costs more than
    // the bucket holds, so it must wait for points (or be THROTTLED and back off).
    const tight = new AdminApiStandIn({ store, maximumAvailable: 1000, restoreRate: 1000 });
    await tight.start();
    try {
      await reconcile(
        prisma,
        new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: tight.origin }),
        SHOP,
        store.now,
      );
    } finally {
      await tight.stop();
    }
    const spent = tight.requests.filter((r) => !r.throttled).reduce((sum, r) => sum + r.cost, 0);
    expect(spent).toBeGreaterThan(3000);
    const options = { checkouts: "abandoned" as const, carts: false, products: false };
    expect(await diff(store, options)).toEqual([]);
  });
});

describe("clock skew between Shopify and the app", () => {
  const HOUR = 3_600_000;
  const MINUTE = 60_000;

  it.each([
    ["3 hours ahead of", 3 * HOUR],
    ["7 minutes ahead of", 7 * MINUTE],
    ["7 minutes behind", -7 * MINUTE],
    ["3 hours behind", -3 * HOUR],
  ])(
    "applies webhooks in Shopify's order and drops none when Shopify's clock is %s the app's",
    async (_, skewMs) => {
      const appNow = Date.now();
      // A day of history ending at Shopify's "now", which is off from the app's clock.
      const skewed = generateStore({
        seed: 23,
        customers: 30,
        days: 1,
        now: new Date(appNow + skewMs),
        shop: "skew.myshopify.com",
      });
      const plan: WebhookLine[] = deliveryPlan(skewed.events, { duplicates: 0.1, reorder: 0.2, seed: 2 });
      for (const line of plan) {
        const response = await receiveWebhook(
          new Request("http://127.0.0.1/webhooks", webhookRequestInit(line, TEST_SECRET)),
          {
            db: prisma,
            secret: TEST_SECRET,
          },
        );
        expect(response.status).toBe(200);
      }
      // The app's clock runs on from its own now (retries of a refund that came before its order fall due).
      let clock = appNow;
      const worker = new InboxWorker(prisma, { now: () => new Date(clock) });
      for (let i = 0; i < 8; i++) {
        await worker.drain();
        clock += HOUR;
      }
      const events = await prisma.webhookEvent.groupBy({ by: ["status"], _count: { _all: true } });
      expect(events.map((g) => [g.status, g._count._all])).toEqual([["done", skewed.events.length]]);
      const options = { checkouts: "all" as const, carts: true, products: false };
      expect(await diff(skewed, options)).toEqual([]);
    },
  );

  it.each([
    ["behind", -5 * MINUTE],
    ["ahead of", 5 * MINUTE],
  ])(
    "reconciliation repairs webhooks lost right after its last pass when the app's clock is 5 minutes %s Shopify's",
    async (_, skewMs) => {
      // The last pass ran at Shopify time `last` (the app wrote its own clock's time); every
      // third webhook after it was lost.
      const byTime = [...store.events].sort(
        (a, b) => Date.parse(a.triggeredAt!) - Date.parse(b.triggeredAt!),
      );
      const last = Date.parse(byTime[Math.floor(byTime.length * 0.85)].triggeredAt!);
      const lost = new Set(
        byTime.filter(
          (e, i) => Date.parse(e.triggeredAt!) >= last && i % 3 === 0 && !e.topic.startsWith("carts/"),
        ),
      );
      expect(lost.size).toBeGreaterThan(10);
      await insertDeliveries(prisma, deliveriesOf(store.events.filter((e) => !lost.has(e))));
      await new InboxWorker(prisma, { now: () => new Date("2031-01-01T00:00:00Z") }).drain();
      await prisma.shop.update({
        where: { domain: SHOP },
        data: { reconciledAt: new Date(last + skewMs), currency: store.shop.currency },
      });
      const options = { checkouts: "abandoned" as const, carts: false, products: false };
      expect(await diff(store, options)).not.toEqual([]);
      await reconcile(prisma, apiAt(standIn.origin), SHOP, new Date(store.now.getTime() + skewMs));
      expect(await diff(store, options)).toEqual([]);
    },
  );
});
