/**
 * The code endpoint's limits: fresh visitor ids from one address cannot drain an offer's pool of
 * discount codes (each is a first-time visitor the decision puts in the treatment), and no shop
 * hands out more than its ceiling a minute whoever asks. A refusal is a 429 with Retry-After and
 * says which limit it was; other addresses and other shops are not held up.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import prisma from "../db.server";
import { closeHot } from "../db-hot.server";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { createMessage } from "../messages/store.server";
import { ensurePresets } from "../segments/store.server";
import { receiveCodeRequest } from "./code.server";
import {
  perClient,
  perShop,
  pruneRateLimits,
  SharedBuckets,
  takeInTurn,
  TokenBuckets,
  type Take,
} from "./rate-limit.server";

const SHOP = "limits.myshopify.com";
const OTHER = "limits-other.myshopify.com";
const now = new Date("2031-05-01T12:00:00Z");
let shopId = 0;
let offerId = 0;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await ensurePresets(prisma, shopId);
  offerId = await createMessage(prisma, shopId, {
    name: "Welcome",
    segment: "first-time-visitors",
    format: "popup",
    trigger: { on: "load" },
    content: { headline: "A welcome gift", body: "", button: null },
    reward: {
      kind: "firstPurchase",
      discount: { type: "percentage", value: 10, validDays: 7, minimumSubtotal: 0 },
    },
    active: true,
  });
  // A pool of 100 codes, and 100 fresh visitors the decision put in the treatment.
  await prisma.discountCode.createMany({
    data: Array.from({ length: 100 }, (_, i) => ({
      shopId,
      messageId: offerId,
      code: `WELCOME-${String(i).padStart(4, "0")}`,
      shopifyDiscountId: "gid://shopify/DiscountCodeNode/1",
      status: "pool",
      expiresAt: new Date(now.getTime() + 30 * 86_400_000),
    })),
  });
  await prisma.offerExposure.createMany({
    data: Array.from({ length: 100 }, (_, i) => ({
      shopId,
      messageId: offerId,
      unit: `v:${visitor(i)}`,
      arm: "treatment",
      visitorId: visitor(i),
      at: now,
    })),
  });
});
/**
 * A second app instance on the same database: the app's modules loaded afresh (nothing held in
 * one module's memory is seen by the other), with a Prisma client and hot connections of its own.
 */
vi.resetModules();
const second = {
  db: await import("../db.server"),
  limits: await import("./rate-limit.server"),
  code: await import("./code.server"),
  hot: await import("../db-hot.server"),
};
const instanceB = second.db.createPrismaClient(process.env.DATABASE_URL!);

afterAll(async () => {
  await instanceB.$disconnect();
  await second.db.default.$disconnect();
  await prisma.$disconnect();
  await closeHot();
  await second.hot.closeHot();
});
beforeEach(async () => {
  await perClient.clear(prisma);
  await perShop.clear(prisma);
});

function visitor(i: number): string {
  return `fresh-visitor-${String(i).padStart(6, "0")}`;
}

function ask(i: number, address: string, shop = SHOP, at = now): Promise<Response> {
  return receiveCodeRequest(
    proxiedRequest(
      new Request(`https://${shop}/apps/slice/code`, {
        method: "POST",
        headers: { "x-forwarded-for": address },
        body: JSON.stringify({ visitorId: visitor(i), messageId: offerId }),
      }),
      { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop },
      { timestamp: Math.floor(at.getTime() / 1000) },
    ),
    prisma,
    at,
  );
}

const issued = () => prisma.discountCode.count({ where: { messageId: offerId, status: "issued" } });

describe("the code endpoint's rate limits", () => {
  it("one address making fresh visitor ids gets 20 codes, then 429 with Retry-After, and the pool keeps the rest", async () => {
    const statuses: number[] = [];
    let refused: Response | null = null;
    for (let i = 0; i < 30; i++) {
      const response = await ask(i, "203.0.113.7");
      statuses.push(response.status);
      if (response.status === 429) refused ??= response;
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.slice(20)).toEqual(Array(10).fill(429));
    expect(refused!.headers.get("retry-after")).toBe("6");
    expect(await refused!.json()).toEqual({
      error: "too many code requests from this address: try again in 6 s",
    });
    expect(await issued()).toBe(20);

    // Another shopper elsewhere is not held up; the same address is again after its wait.
    expect((await ask(50, "198.51.100.20")).status).toBe(200);
    expect((await ask(51, "203.0.113.7", SHOP, new Date(now.getTime() + 6_000))).status).toBe(200);
  });

  it("a shop hands out at most 60 codes at once whoever asks; another shop is not held up", async () => {
    const before = await issued();
    const statuses: number[] = [];
    for (let i = 0; i < 65; i++) statuses.push((await ask(i % 40, `192.0.2.${i}`)).status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const refused = await ask(0, "192.0.2.200");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { error: string }).error).toMatch(
      /too many code requests for this shop/,
    );
    expect(await issued()).toBeLessThanOrEqual(before + 60);
    // The other shop's own bucket: it is only refused for not being installed.
    expect((await ask(0, "192.0.2.1", OTHER)).status).toBe(404);
  });

  it("an unsigned request is refused 401 before it can spend anyone's allowance", async () => {
    for (let i = 0; i < 30; i++) {
      const unsigned = new Request(`http://127.0.0.1:3999/proxy/code?shop=${SHOP}`, {
        method: "POST",
        headers: { "x-forwarded-for": "203.0.113.99" },
        body: JSON.stringify({ visitorId: visitor(i), messageId: offerId }),
      });
      expect((await receiveCodeRequest(unsigned, prisma, now)).status).toBe(401);
    }
    expect((await ask(90, "203.0.113.99")).status).toBe(200);
  });
});

describe("rate limits shared by every instance", () => {
  it("two instances asking at once for one key together let through exactly the limit, and say how long to wait", async () => {
    const options = { capacity: 20, perSecond: 10 / 60 };
    const limitA = new SharedBuckets("test-shared", options);
    const limitB = new second.limits.SharedBuckets("test-shared", options);
    await limitA.clear(prisma);
    const take = (i: number, at: Date) =>
      i % 2 ? limitB.take(instanceB, "203.0.113.50", at) : limitA.take(prisma, "203.0.113.50", at);
    // PostgreSQL: all at once. SQLite is one app process (one writer): two in one process would only
    // wait on each other's file lock, so there the two instances take turns.
    const takes =
      second.db.dialect === "postgres"
        ? await Promise.all(Array.from({ length: 60 }, (_, i) => take(i, now)))
        : await Array.from({ length: 60 }).reduce<Promise<Take[]>>(
            async (done, _, i) => [...(await done), await take(i, now)],
            Promise.resolve([]),
          );
    expect(takes.filter((t) => t.ok)).toHaveLength(20);
    expect(takes.filter((t) => !t.ok)).toEqual(Array(40).fill({ ok: false, retryAfterSeconds: 6 }));
    // Refilled for both: one token after 6 s, whichever instance asks.
    const later = new Date(now.getTime() + 6_000);
    expect(await take(1, later)).toEqual({ ok: true });
    expect(await take(0, later)).toEqual({ ok: false, retryAfterSeconds: 6 });
    // Another key has its own bucket.
    expect(await limitB.take(instanceB, "198.51.100.1", later)).toEqual({ ok: true });
  });

  it("the code endpoint: an address's 20 codes are 20 across two instances, not 20 each", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const receive = i % 2 ? second.code.receiveCodeRequest : receiveCodeRequest;
      const response = await receive(
        proxiedRequest(
          new Request(`https://${SHOP}/apps/slice/code`, {
            method: "POST",
            headers: { "x-forwarded-for": "203.0.113.77" },
            body: JSON.stringify({ visitorId: visitor(60 + i), messageId: offerId }),
          }),
          { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP },
          { timestamp: Math.floor(now.getTime() / 1000) },
        ),
        i % 2 ? instanceB : prisma,
        now,
      );
      statuses.push(response.status);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    expect(statuses.slice(20)).toEqual(Array(10).fill(429));
  });

  it("two limits taken in turn (one statement on PostgreSQL): the second is drawn on only when the first lets through, exactly across instances", async () => {
    const client = new SharedBuckets("test-turn-client", { capacity: 3, perSecond: 1 / 60 });
    const shop = new SharedBuckets("test-turn-shop", { capacity: 5, perSecond: 1 / 60 });
    const clientB = new second.limits.SharedBuckets("test-turn-client", { capacity: 3, perSecond: 1 / 60 });
    const shopB = new second.limits.SharedBuckets("test-turn-shop", { capacity: 5, perSecond: 1 / 60 });
    await client.clear(prisma);
    await shop.clear(prisma);
    const take = (i: number, address: string) =>
      i % 2
        ? second.limits.takeInTurn(
            instanceB,
            [
              [clientB, address],
              [shopB, "s"],
            ],
            now,
          )
        : takeInTurn(
            prisma,
            [
              [client, address],
              [shop, "s"],
            ],
            now,
          );
    const all = async (address: string, n: number) =>
      second.db.dialect === "postgres"
        ? Promise.all(Array.from({ length: n }, (_, i) => take(i, address)))
        : Array.from({ length: n }).reduce<Promise<Take[][]>>(
            async (done, _, i) => [...(await done), await take(i, address)],
            Promise.resolve([]),
          );
    // One address asking 8 times at once: 3 let through by both limits, 5 refused by the address's
    // own limit without drawing on the shop's.
    const first = await all("198.51.100.7", 8);
    expect(first.filter((t) => t.length === 2 && t.every((x) => x.ok))).toHaveLength(3);
    expect(first.filter((t) => t.length === 1)).toEqual(
      Array(5).fill([{ ok: false, retryAfterSeconds: 60 }]),
    );
    const held = async (key: string) => (await prisma.rateLimitBucket.findUnique({ where: { key } }))?.tokens;
    expect(await held("test-turn-shop:s")).toBe(2);
    // Another address: its own limit lets it through, the shop's 2 left are taken, then the shop's refuses.
    const another = await all("198.51.100.8", 3);
    expect(another.filter((t) => t.length === 2 && t[1].ok)).toHaveLength(2);
    expect(another.filter((t) => t.length === 2 && !t[1].ok)).toEqual([
      [{ ok: true }, { ok: false, retryAfterSeconds: 60 }],
    ]);
  });

  it("a clock that lags on one instance neither refills a bucket nor moves its time back", async () => {
    const limit = new SharedBuckets("test-clock", { capacity: 2, perSecond: 1 });
    const lagging = new second.limits.SharedBuckets("test-clock", { capacity: 2, perSecond: 1 });
    await limit.clear(prisma);
    const at = (s: number) => new Date(now.getTime() + s * 1000);
    expect((await limit.take(prisma, "k", at(10))).ok).toBe(true);
    expect((await limit.take(prisma, "k", at(10))).ok).toBe(true);
    // Another instance 5 s behind: still empty, and it does not credit those 5 s later.
    expect(await lagging.take(instanceB, "k", at(5))).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect((await limit.take(prisma, "k", at(10.5))).ok).toBe(false);
    expect((await limit.take(prisma, "k", at(11))).ok).toBe(true);
  });

  it("old buckets are pruned (a missing bucket is a full one); recent ones are kept", async () => {
    const limit = new SharedBuckets("test-prune", { capacity: 1, perSecond: 1 });
    await limit.clear(prisma);
    await limit.take(prisma, "old", now);
    await limit.take(prisma, "recent", new Date(now.getTime() + 3_000_000));
    const pruned = await pruneRateLimits(prisma, new Date(now.getTime() + 3_700_000));
    expect(pruned).toBeGreaterThanOrEqual(1);
    const keys = (
      await prisma.rateLimitBucket.findMany({ where: { key: { startsWith: "test-prune:" } } })
    ).map((b) => b.key);
    expect(keys).toEqual(["test-prune:recent"]);
  });
});

describe("token buckets", () => {
  it("refill at their rate, never above capacity, and say how long to wait", () => {
    const buckets = new TokenBuckets({ capacity: 2, perSecond: 0.5 });
    const t = (s: number) => new Date(now.getTime() + s * 1000);
    expect(buckets.take("a", t(0))).toEqual({ ok: true });
    expect(buckets.take("a", t(0))).toEqual({ ok: true });
    expect(buckets.take("a", t(0))).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(buckets.take("a", t(1))).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(buckets.take("a", t(2))).toEqual({ ok: true });
    expect(buckets.take("b", t(2))).toEqual({ ok: true });
    // After a long idle time: back to capacity, not beyond.
    expect([1, 2, 3].map(() => buckets.take("a", t(1000)).ok)).toEqual([true, true, false]);
  });

  it("forget idle keys past their maximum, so fresh keys cannot fill the memory", () => {
    const buckets = new TokenBuckets({ capacity: 1, perSecond: 1, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) buckets.take(`key-${i}`, now);
    expect((buckets as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(100);
  });
});
