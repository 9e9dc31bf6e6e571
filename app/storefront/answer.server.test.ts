/**
 * The question form posted without JavaScript, through the app proxy: the answer is kept (on the
 * signed-in customer when there is one, so segments on answers see it), the shopper gets a
 * thank-you page in the theme, and unsigned or malformed posts are refused and store nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { receiveAnswer } from "./answer.server";

const SHOP = "answers.myshopify.com";
const now = new Date("2031-03-10T12:00:00.000Z");
const proxy = { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: SHOP };
let shopId = 0;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await prisma.customer.create({ data: { shopId, shopifyId: "4242", shopifyUpdatedAt: now } });
  await prisma.segment.create({
    data: {
      shopId,
      handle: "gift-buyers",
      name: "Shopping for a gift",
      rule: JSON.stringify({
        version: 1,
        match: { field: "visitor.answers", op: "in", value: ["intent=gift"] },
      }),
    },
  });
});
afterAll(() => prisma.$disconnect());

function post(body: string, customerId?: string, timestamp = Math.floor(now.getTime() / 1000)) {
  return proxiedRequest(
    new Request(`https://${SHOP}/apps/slice/answer`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    }),
    proxy,
    { customerId, timestamp },
  );
}

const answers = () =>
  prisma.storefrontEvent.findMany({ where: { shopId, type: "answer" }, select: { resourceId: true } });

describe("the question form without JavaScript", () => {
  it("keeps a signed-in customer's answer, puts them in the segments built on it and thanks them", async () => {
    const response = await receiveAnswer(post("question=intent&answer=gift", "4242"), prisma, now);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/liquid");
    expect(await response.text()).toContain("Your answer was saved.");
    const visitor = await prisma.visitor.findFirstOrThrow({ where: { shopId, customerShopifyId: "4242" } });
    expect(visitor.sessions).toBe(0);
    expect(await answers()).toEqual([{ resourceId: "intent=gift" }]);
    const member = await prisma.segmentMember.findMany({
      where: { segment: { shopId, handle: "gift-buyers" } },
      select: { customerShopifyId: true },
    });
    expect(member).toEqual([{ customerShopifyId: "4242" }]);
  });

  it("keeps an anonymous answer unlinked", async () => {
    const response = await receiveAnswer(post("question=intent&answer=treat+myself"), prisma, now);
    expect(response.status).toBe(200);
    expect((await answers()).map((a) => a.resourceId)).toContain("intent=treat myself");
  });

  it("refuses an unsigned, tampered or stale post, and a malformed one with the field named", async () => {
    const before = (await answers()).length;
    const tampered = new URL(post("question=intent&answer=gift", "4242").url);
    tampered.searchParams.set("logged_in_customer_id", "1");
    const forged = new Request(tampered, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "question=intent&answer=gift",
    });
    expect((await receiveAnswer(forged, prisma, now)).status).toBe(401);
    const stale = post("question=intent&answer=gift", undefined, Math.floor(now.getTime() / 1000) - 3600);
    expect((await receiveAnswer(stale, prisma, now)).status).toBe(401);
    const missing = await receiveAnswer(post("question=intent"), prisma, now);
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain("answer: Required");
    const badKey = await receiveAnswer(post("question=%7B%7Bshop%7D%7D&answer=x"), prisma, now);
    expect(badKey.status).toBe(400);
    expect(await badKey.text()).not.toContain("{{");
    const long = await receiveAnswer(post(`question=intent&answer=${"x".repeat(5000)}`), prisma, now);
    expect(long.status).toBe(413);
    expect((await answers()).length).toBe(before);
  });
});
