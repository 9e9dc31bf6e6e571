/**
 * The code endpoint's limits: fresh visitor ids from one address cannot drain an offer's pool of
 * discount codes (each is a first-time visitor the decision puts in the treatment), and no shop
 * hands out more than its ceiling a minute whoever asks. A refusal is a 429 with Retry-After and
 * says which limit it was; other addresses and other shops are not held up.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { createMessage } from "../messages/store.server";
import { ensurePresets } from "../segments/store.server";
import { receiveCodeRequest } from "./code.server";
import { perClient, perShop, TokenBuckets } from "./rate-limit.server";

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
afterAll(() => prisma.$disconnect());
beforeEach(() => {
  perClient.clear();
  perShop.clear();
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
