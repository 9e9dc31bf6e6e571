/**
 * Downloads inside Shopify's admin: the segment CSV and the data-request JSON are fetched by the
 * admin page, and App Bridge adds `Authorization: Bearer <session token>` to that fetch; there is
 * no cookie in the admin's iframe. A request with only a session token signed as Shopify signs it
 * (HS256 with the app's secret, Shopify's claims) gets the file; an expired, forged or foreign
 * token is refused with 401 (and App Bridge's retry header), never given the file.
 */
import { createHmac, randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { LoaderFunctionArgs } from "@remix-run/node";
import { Session } from "@shopify/shopify-api";
import prisma from "../db.server";
import { config } from "../config.server";
import { sessionStorage } from "../shopify.server";
import { exportCustomerData } from "../privacy/customer-data.server";
import { loader as segmentExport } from "./app.segments.$handle.export";
import { loader as dataRequest } from "./app.data-requests.$id";
import { TEST_SECRET } from "../../dev/testing/setup";

const SHOP = "downloads.myshopify.com";
let exportId = 0;

interface Claims {
  iss: string;
  dest: string;
  aud: string;
  sub: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  sid: string;
}

/** A session token as Shopify's admin signs it (App Bridge's id token), with claims overridden. */
function sessionToken(overrides: Partial<Claims> = {}, secret = TEST_SECRET): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const claims: Claims = {
    iss: `https://${SHOP}/admin`,
    dest: `https://${SHOP}`,
    aud: config.apiKey,
    sub: "42",
    exp: now + 60,
    nbf: now - 5,
    iat: now - 5,
    jti: randomUUID(),
    sid: randomUUID(),
    ...overrides,
  };
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

/** A fetch from the admin page: the app's URL, the session token in the header, no cookie. */
function args(path: string, params: Record<string, string>, token?: string): LoaderFunctionArgs {
  const headers = new Headers({ Accept: "*/*" });
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return { request: new Request(`${config.appUrl}${path}`, { headers }), params, context: {} };
}

/** The loader's answer, whether returned or thrown (Remix sends a thrown Response as is). */
async function answer(load: Promise<Response>): Promise<Response> {
  return load.catch((thrown: unknown) => {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  });
}

beforeAll(async () => {
  // Installed: the offline session token exchange left, with the app's scopes.
  const session = new Session({ id: `offline_${SHOP}`, shop: SHOP, state: "", isOnline: false });
  session.accessToken = `shpat_${randomUUID().replaceAll("-", "")}`;
  session.scope = config.scopes.join(",");
  session.expires = new Date(Date.now() + 60 * 60_000);
  await sessionStorage.storeSession(session);
  const shop = await prisma.shop.create({ data: { domain: SHOP } });
  for (const [id, countryCode, firstName] of [
    ["101", "US", "Ada"],
    ["102", "US", "=SUM(A1)"],
    ["103", "CA", "Bo"],
  ])
    await prisma.customer.create({
      data: {
        shopId: shop.id,
        shopifyId: id,
        email: `c${id}@example.com`,
        firstName,
        countryCode,
        shopifyUpdatedAt: new Date(),
      },
    });
  await prisma.segment.create({
    data: {
      shopId: shop.id,
      handle: "americans",
      name: "Americans",
      rule: JSON.stringify({ version: 1, match: { field: "customer.countryCode", op: "eq", value: "US" } }),
    },
  });
  exportId = (
    await exportCustomerData(
      prisma,
      shop.id,
      { customerId: "101", email: "c101@example.com", orderIds: [] },
      "req-1",
      new Date(),
    )
  ).id;
});

afterEach(() => {
  delete process.env.SLICE_DEV_LOGIN;
});

afterAll(async () => {
  await prisma.$disconnect();
});

describe("downloads from inside Shopify's admin (session token only)", () => {
  it("gives the segment's CSV to a fetch with a valid session token and no cookie", async () => {
    const response = await answer(
      segmentExport(args("/app/segments/americans/export", { handle: "americans" }, sessionToken())),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("Content-Disposition")).toBe('attachment; filename="americans.csv"');
    const lines = (await response.text()).trimEnd().split("\n");
    expect(lines[0]).toBe(
      "shopifyId,email,firstName,lastName,countryCode,ordersCount,totalSpent,currency,lastOrderAt",
    );
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual(["101", "102"]);
    expect(lines[2]).toContain("'=SUM(A1)");
  });

  it("gives the data request's JSON to a fetch with a valid session token and no cookie", async () => {
    const response = await answer(
      dataRequest(args(`/app/data-requests/${exportId}`, { id: String(exportId) }, sessionToken())),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Disposition")).toBe(
      `attachment; filename="data-request-${exportId}.json"`,
    );
    const json = JSON.parse(await response.text()) as { request: { id: string; customerId: string } };
    expect(json.request).toMatchObject({ id: "req-1", customerId: "101" });
  });

  it("takes the session token over the development sign-in's login page when both are on", async () => {
    process.env.SLICE_DEV_LOGIN = "1";
    const response = await answer(
      segmentExport(args("/app/segments/americans/export", { handle: "americans" }, sessionToken())),
    );
    expect(response.status).toBe(200);
    expect((await response.text()).split("\n")[1]).toMatch(/^101,/);
  });

  it.each([
    ["an expired token", () => sessionToken({ exp: Math.floor(Date.now() / 1000) - 120 })],
    ["a token not valid yet", () => sessionToken({ nbf: Math.floor(Date.now() / 1000) + 600 })],
    ["a token signed with another secret (forged)", () => sessionToken({}, "not-the-app-secret")],
    ["a token for another app", () => sessionToken({ aud: "someone-elses-app" })],
    [
      "a token whose claims were changed after signing",
      () => {
        const [head, , signature] = sessionToken().split(".");
        const claims = Buffer.from(
          JSON.stringify({
            ...JSON.parse(Buffer.from(sessionToken().split(".")[1], "base64url").toString()),
            dest: "https://other.myshopify.com",
          }),
        ).toString("base64url");
        return `${head}.${claims}.${signature}`;
      },
    ],
    ["a token that is not a JWT", () => "not-a-token"],
  ])("refuses %s with 401 and no file", async (_name, token) => {
    for (const [load, path, params] of [
      [segmentExport, "/app/segments/americans/export", { handle: "americans" }],
      [dataRequest, `/app/data-requests/${exportId}`, { id: String(exportId) }],
    ] as const) {
      const response = await answer(load(args(path, params, token())));
      expect(response.status).toBe(401);
      // App Bridge fetches a new session token and retries once when it sees this header.
      expect(response.headers.get("X-Shopify-Retry-Invalid-Session-Request")).toBe("1");
      expect(await response.text()).toBe("");
    }
  });

  it("sends a request with neither a session token nor a cookie to authenticate, without the file", async () => {
    const response = await answer(
      segmentExport(args("/app/segments/americans/export", { handle: "americans" })),
    );
    expect(response.status).toBeGreaterThanOrEqual(300);
    expect(response.status).not.toBe(200);
    expect(await response.text()).not.toContain("101");
  });

  it("answers 404 for a segment the shop does not have, with the token valid", async () => {
    const response = await answer(
      segmentExport(args("/app/segments/nope/export", { handle: "nope" }, sessionToken())),
    );
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('There is no segment "nope" in this shop.');
  });
});
