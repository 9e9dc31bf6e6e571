/**
 * Expiring offline tokens on a real install: the shop is installed through the library's token
 * exchange against the stand-in, background work keeps its token through the library's refresh
 * (before expiry, and after a 401 mid-job), one refresh per shop at a time, a refresh lost to
 * another instance re-reads the stored session; the stand-in's refusals; the app's lifecycle
 * (app/uninstalled at once, a late uninstall after a reinstall, app/scopes_update, a reinstall's
 * fresh backfill).
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import { AdminApiStandIn } from "../../dev/admin-api";
import { adminDocument } from "./documents";
import { generateStore } from "../../dev/store";
import { signSessionToken, REFRESH_TOKEN_TTL_S } from "../../dev/oauth";
import {
  replayLines,
  sendWebhook,
  topicRefusal,
  WebhookScopeError,
  webhookRequestInit,
} from "../../dev/webhooks";
import { TEST_SECRET } from "../../dev/testing/setup";

const store = generateStore({ seed: 7, customers: 30, shop: "tokens-test.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 5000, bulkDelayMs: 5 });
await standIn.start();
// The app's modules read this when they load: the library's token endpoint is the stand-in's.
process.env.SLICE_ADMIN_API_ORIGIN = standIn.origin;
const { default: prisma } = await import("../db.server");
const { config } = await import("../config.server");
const { installInProcess } = await import("../../dev/testing/install");
const { ADMIN_API_VERSION, AdminApi, AdminApiError, adminApiFor } = await import("./admin-api.server");
const { tokenStats } = await import("./offline-token.server");
const { receiveWebhook } = await import("./receive.server");
const { InboxWorker } = await import("./worker.server");

const MINUTE = 60_000;
const SHOP_NAME = adminDocument("tokens test: shop name", "query { shop { name } }");
const refreshes = () =>
  standIn.tokens.log.filter((l) => l.grant === "refresh_token" && l.status === 200).length;
const exchanges = () =>
  standIn.tokens.log.filter((l) => l.grant.endsWith("token-exchange") && l.status === 200).length;
const offline = () => prisma.session.findUniqueOrThrow({ where: { id: `offline_${SHOP}` } });

/** POSTs to the stand-in's token endpoint as the library does (JSON). */
async function tokenEndpoint(body: Record<string, string>) {
  const response = await fetch(`${standIn.origin}/admin/oauth/access_token`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
const client = { client_id: config.apiKey, client_secret: config.apiSecret };

async function graphqlWith(token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${standIn.origin}/admin/api/${ADMIN_API_VERSION}/graphql.json`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Shopify-Access-Token": token },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A webhook as Shopify signs it, through the app's real endpoint. */
async function deliver(topic: string, payload: unknown, triggeredAt: Date, eventId: string) {
  const init = webhookRequestInit(
    { topic, shop: SHOP, payload, eventId, triggeredAt: triggeredAt.toISOString() },
    TEST_SECRET,
  );
  const response = await receiveWebhook(new Request("http://127.0.0.1/webhooks", init), {
    db: prisma,
    secret: TEST_SECRET,
  });
  expect(response.status).toBe(200);
}

// The app's clock (and the stand-in's, which follows it) only moves forward in this file.
vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
const travel = (ms: number) => vi.setSystemTime(Date.now() + ms);
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});

describe("expiring offline tokens", () => {
  it("a shop installs through the library's token exchange: an expiring offline token and its refresh token, nothing written by hand", async () => {
    await installInProcess(SHOP);
    const session = await offline();
    expect(session.accessToken).toMatch(/^shpat_/);
    expect(session.refreshToken).toMatch(/^shprt_/);
    const ttl = session.expires!.getTime() - Date.now();
    expect(ttl).toBeGreaterThan(59 * MINUTE);
    expect(ttl).toBeLessThanOrEqual(60 * MINUTE);
    expect(session.refreshTokenExpires!.getTime() - Date.now()).toBeGreaterThan(89 * 24 * 60 * MINUTE);
    expect(session.scope).toBe(standIn.grantedScopes().join(","));
    expect(exchanges()).toBe(1);
    // afterAuth ran: the shop exists and waits for its backfill.
    expect(await prisma.shop.findUnique({ where: { domain: SHOP } })).toMatchObject({
      backfillStatus: "pending",
    });
    expect(await (await adminApiFor(prisma, SHOP)).request(SHOP_NAME)).toEqual({
      shop: { name: store.shop.name },
    });
  });

  it("background work refreshes a token within 5 minutes of expiry through the library before calling Shopify, with no admin visit", async () => {
    const before = await offline();
    travel(56 * MINUTE);
    const api = await adminApiFor(prisma, SHOP);
    expect(await api.request(SHOP_NAME)).toEqual({ shop: { name: store.shop.name } });
    expect(refreshes()).toBe(1);
    expect(exchanges()).toBe(1);
    expect(standIn.unauthorized).toBe(0);
    const after = await offline();
    expect(after.accessToken).not.toBe(before.accessToken);
    // Shopify rotates the refresh token: the one used is retired once its replacement's token is used.
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(
      await tokenEndpoint({ ...client, grant_type: "refresh_token", refresh_token: before.refreshToken! }),
    ).toEqual({
      status: 400,
      body: {
        error: "invalid_grant",
        error_description: "The refresh token is invalid, expired or revoked.",
      },
    });
  });

  it("a token Shopify refuses in the middle of a long job (its clock ahead of ours) is refreshed once and the call retried", async () => {
    const api = await adminApiFor(prisma, SHOP);
    expect(await api.request(SHOP_NAME)).toBeTruthy();
    const refreshed = refreshes();
    standIn.advanceClock(61 * MINUTE);
    try {
      expect(await api.request(SHOP_NAME)).toEqual({ shop: { name: store.shop.name } });
      expect(standIn.unauthorized).toBe(1);
      expect(refreshes()).toBe(refreshed + 1);
      // The same client goes on with the new token.
      expect(await api.request(SHOP_NAME)).toBeTruthy();
      expect(standIn.unauthorized).toBe(1);
    } finally {
      standIn.advanceClock(-61 * MINUTE);
    }
  });

  it("concurrent jobs of one shop in one process share one refresh", async () => {
    const refreshed = refreshes();
    travel(2 * 60 * MINUTE);
    const answers = await Promise.all(
      Array.from({ length: 8 }, async () => (await adminApiFor(prisma, SHOP)).request(SHOP_NAME)),
    );
    expect(answers).toHaveLength(8);
    expect(refreshes()).toBe(refreshed + 1);
  });

  it("a refresh lost to another instance (its refresh retired ours) re-reads the session that instance stored", async () => {
    travel(2 * 60 * MINUTE);
    const stored = await offline();
    // Another instance refreshes with the stored refresh token and uses its new token at once...
    const other = await tokenEndpoint({
      ...client,
      grant_type: "refresh_token",
      refresh_token: stored.refreshToken!,
    });
    expect(other.status).toBe(200);
    expect((await graphqlWith(other.body.access_token as string, SHOP_NAME)).status).toBe(200);
    // ...and stores it a moment after this instance has read the old session.
    const recovered = tokenStats.recoveredFromStorage;
    setTimeout(() => {
      prisma.session
        .update({
          where: { id: stored.id },
          data: {
            accessToken: other.body.access_token as string,
            refreshToken: other.body.refresh_token as string,
            expires: new Date(Date.now() + 60 * MINUTE),
          },
        })
        .catch((error) => console.error("the other instance's write failed", error));
    }, 150);
    const api = await adminApiFor(prisma, SHOP);
    expect(await api.request(SHOP_NAME)).toEqual({ shop: { name: store.shop.name } });
    expect(tokenStats.recoveredFromStorage).toBe(recovered + 1);
    expect(standIn.tokens.log.at(-1)).toMatchObject({
      grant: "refresh_token",
      status: 400,
      error: "invalid_grant",
    });
  });

  it("a refused token with nothing to refresh it gives an error naming the shop and the 401", async () => {
    const api = new AdminApi({ shop: SHOP, accessToken: "shpat_unknown", origin: standIn.origin });
    await expect(api.request(SHOP_NAME)).rejects.toThrow(AdminApiError);
    await expect(api.request(SHOP_NAME)).rejects.toThrow(
      /HTTP 401, the access token of tokens-test\.myshopify\.com was refused/,
    );
  });
});

describe("the stand-in refuses as Shopify does", () => {
  const exchange = (subject: string, extra: Record<string, string> = {}) =>
    tokenEndpoint({
      ...client,
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: subject,
      subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
      requested_token_type: "urn:shopify:params:oauth:token-type:offline-access-token",
      expiring: "1",
      ...extra,
    });
  const sessionToken = (over: Partial<Parameters<typeof signSessionToken>[0]> = {}) =>
    signSessionToken({
      shop: SHOP,
      apiKey: config.apiKey,
      apiSecret: config.apiSecret,
      now: standIn.now(),
      ...over,
    });

  it("issues an expiring offline token for a valid session token: 3600 s, a refresh token for 90 days, the granted scopes", async () => {
    const { status, body } = await exchange(sessionToken());
    expect(status).toBe(200);
    expect(body).toMatchObject({
      expires_in: 3600,
      refresh_token_expires_in: REFRESH_TOKEN_TTL_S,
      scope: standIn.grantedScopes().join(","),
    });
    expect(Object.keys(body).sort()).toEqual([
      "access_token",
      "expires_in",
      "refresh_token",
      "refresh_token_expires_in",
      "scope",
    ]);
  });

  it("refuses a session token signed with another secret, for another app, another shop or expired: 400 invalid_subject_token", async () => {
    for (const token of [
      sessionToken({ apiSecret: "not-the-secret" }),
      sessionToken({ apiKey: "another-app" }),
      sessionToken({ shop: "elsewhere.myshopify.com" }),
      sessionToken({ now: standIn.now() - 5 * MINUTE }),
      "not.a.jwt",
    ]) {
      const { status, body } = await exchange(token);
      expect({ status, error: body.error }).toEqual({ status: 400, error: "invalid_subject_token" });
    }
  });

  it("refuses a wrong client secret (401 invalid_client) and an unknown grant (400 unsupported_grant_type)", async () => {
    expect(
      (
        await tokenEndpoint({
          ...client,
          client_secret: "guess",
          grant_type: "refresh_token",
          refresh_token: "x",
        })
      ).body.error,
    ).toBe("invalid_client");
    expect(
      (
        await tokenEndpoint({
          ...client,
          client_secret: "guess",
          grant_type: "refresh_token",
          refresh_token: "x",
        })
      ).status,
    ).toBe(401);
    const other = await tokenEndpoint({ ...client, grant_type: "password" });
    expect({ status: other.status, error: other.body.error }).toEqual({
      status: 400,
      error: "unsupported_grant_type",
    });
  });

  it("refuses an unknown refresh token and one past its 90 days (400 invalid_grant); allows a retry of a used one until its replacement is used", async () => {
    expect(
      (await tokenEndpoint({ ...client, grant_type: "refresh_token", refresh_token: "shprt_nope" })).body
        .error,
    ).toBe("invalid_grant");
    const first = (await exchange(sessionToken())).body;
    const a = await tokenEndpoint({
      ...client,
      grant_type: "refresh_token",
      refresh_token: first.refresh_token as string,
    });
    // The answer was lost: the same refresh token works again while its replacement is unused.
    const b = await tokenEndpoint({
      ...client,
      grant_type: "refresh_token",
      refresh_token: first.refresh_token as string,
    });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.refresh_token_expires_in).toBeLessThanOrEqual(REFRESH_TOKEN_TTL_S);
    const old = (await exchange(sessionToken())).body;
    standIn.advanceClock(REFRESH_TOKEN_TTL_S * 1000 + MINUTE);
    try {
      expect(
        (
          await tokenEndpoint({
            ...client,
            grant_type: "refresh_token",
            refresh_token: old.refresh_token as string,
          })
        ).body.error,
      ).toBe("invalid_grant");
    } finally {
      standIn.advanceClock(-(REFRESH_TOKEN_TTL_S * 1000 + MINUTE));
    }
  });

  it("answers 401 to an expired or unknown access token, as Shopify's Admin API does", async () => {
    const token = (await exchange(sessionToken())).body.access_token as string;
    expect((await graphqlWith(token, SHOP_NAME)).status).toBe(200);
    standIn.advanceClock(60 * MINUTE);
    try {
      expect(await graphqlWith(token, SHOP_NAME)).toEqual({
        status: 401,
        body: { errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" },
      });
    } finally {
      standIn.advanceClock(-60 * MINUTE);
    }
    expect((await graphqlWith("shpat_made_up", SHOP_NAME)).status).toBe(401);
  });

  it("answers ACCESS_DENIED naming the scope for a field, a nested object or a mutation the token's scopes do not allow", async () => {
    const saved = standIn.grantedScopes();
    standIn.setGrantedScopes(["read_products", "read_orders"]);
    try {
      const token = (await exchange(sessionToken())).body.access_token as string;
      const customers = await graphqlWith(token, "query { customers(first: 1) { nodes { id } } }");
      expect(customers.status).toBe(200);
      expect(customers.body.data).toBeNull();
      expect(customers.body.errors).toEqual([
        {
          message: "Access denied for customers field. Required access: `read_customers` access scope.",
          locations: [{ line: 1, column: 9 }],
          path: ["customers"],
          extensions: {
            code: "ACCESS_DENIED",
            documentation: "https://shopify.dev/api/usage/access-scopes",
            requiredAccess: "`read_customers` access scope.",
          },
        },
      ]);
      const nested = await graphqlWith(token, "query { orders(first: 1) { nodes { id customer { id } } } }");
      expect((nested.body.errors as { path: string[] }[]).map((e) => e.path)).toEqual([
        ["orders", "nodes", "customer"],
      ]);
      expect(
        (await graphqlWith(token, "query { products(first: 1) { nodes { id } } }")).body.errors,
      ).toBeUndefined();
      const mutation = await graphqlWith(
        token,
        `mutation { discountCodeDeactivate(id: "gid://shopify/DiscountCodeNode/1") { userErrors { message } } }`,
      );
      expect((mutation.body.errors as { message: string }[])[0].message).toBe(
        "Access denied for discountCodeDeactivate field. Required access: `write_discounts` access scope.",
      );
      // A write scope includes its read scope.
      standIn.setGrantedScopes(["write_customers"]);
      const writer = (await exchange(sessionToken())).body.access_token as string;
      expect(
        (await graphqlWith(writer, "query { customers(first: 1) { nodes { id } } }")).body.errors,
      ).toBeUndefined();
    } finally {
      standIn.setGrantedScopes(saved);
    }
  });

  it("fails a bulk operation that reads what the token's scopes do not allow (ACCESS_DENIED), and the backfill says so", async () => {
    const saved = standIn.grantedScopes();
    standIn.setGrantedScopes(["read_products", "read_orders"]);
    try {
      const token = (await exchange(sessionToken())).body.access_token as string;
      const api = new AdminApi({
        shop: SHOP,
        accessToken: token,
        origin: standIn.origin,
        sleep: async () => {},
      });
      const { runBackfill } = await import("./backfill.server");
      await expect(
        runBackfill(prisma, api, SHOP, { sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))) }),
      ).rejects.toThrow(/bulk operation gid:\/\/shopify\/BulkOperation\/\d+ failed: ACCESS_DENIED/);
    } finally {
      standIn.setGrantedScopes(saved);
    }
  });

  it("does not send a webhook topic whose access scopes the app was not granted", async () => {
    expect(topicRefusal("orders/create", ["read_customers"])).toBe(
      "the webhook topic orders/create needs read_orders or read_marketplace_orders; granted: read_customers",
    );
    expect(topicRefusal("orders/create", ["write_orders"])).toBeNull();
    expect(topicRefusal("app/uninstalled", [])).toBeNull();
    await expect(
      sendWebhook(
        "http://127.0.0.1:9/webhooks",
        { topic: "customers/create", shop: SHOP, payload: {} },
        TEST_SECRET,
        ["read_orders"],
      ),
    ).rejects.toThrow(WebhookScopeError);
    const replay = await replayLines([{ topic: "orders/create", shop: SHOP, payload: {} }], {
      url: "http://127.0.0.1:9/webhooks",
      secret: TEST_SECRET,
      scopes: ["read_customers"],
    });
    expect({ sent: replay.sent, refused: replay.refused.map((r) => r.topic) }).toEqual({
      sent: 0,
      refused: ["orders/create"],
    });
  });
});

describe("the app's lifecycle on a shop", () => {
  it("app/scopes_update stores the new scopes on the session, where the admin and the background work read them", async () => {
    const current = ["read_customers", "write_customers", "read_orders", "read_products", "write_discounts"];
    await deliver(
      "app/scopes_update",
      {
        id: 1,
        shop_id: "gid://shopify/Shop/1",
        previous: standIn.grantedScopes(),
        current,
        updated_at: new Date().toISOString(),
      },
      new Date(),
      "scopes-1",
    );
    await new InboxWorker(prisma).drain();
    expect((await offline()).scope).toBe(current.join(","));
    const { grantedScopesOf } = await import("./lifecycle.server");
    expect(await grantedScopesOf(prisma, SHOP)).toEqual(current);
  });

  it("app/uninstalled takes effect when received: sessions gone, no background client, the shop marked", async () => {
    const held = await adminApiFor(prisma, SHOP); // a job running when the merchant uninstalls
    expect(await held.request(SHOP_NAME)).toBeTruthy();
    const uninstalledAt = new Date();
    await deliver("app/uninstalled", { id: 1, domain: SHOP }, uninstalledAt, "uninstall-1");
    // Before any worker ran.
    expect(await prisma.session.count({ where: { shop: SHOP } })).toBe(0);
    expect((await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).uninstalledAt).toEqual(
      uninstalledAt,
    );
    await expect(adminApiFor(prisma, SHOP)).rejects.toThrow(/no offline session for tokens-test/);
    // Shopify revokes the app's tokens: the running job's next call fails as an Admin API error.
    standIn.tokens.revokeAll();
    await expect(held.request(SHOP_NAME)).rejects.toThrow(AdminApiError);
    await expect(held.request(SHOP_NAME)).rejects.toThrow(/no offline session for tokens-test/);
    await new InboxWorker(prisma).drain();
  });

  it("a quick reinstall keeps its new session when the uninstall is delivered again late, and starts over with a fresh backfill", async () => {
    await prisma.shop.update({
      where: { domain: SHOP },
      data: { backfillStatus: "done", reconciledAt: new Date() },
    });
    const uninstall = (await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).uninstalledAt!;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await installInProcess(SHOP);
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    expect(shop).toMatchObject({ uninstalledAt: null, backfillStatus: "pending", reconciledAt: null });
    // Shopify's retry of the old uninstall, and a replay applied by the worker: both stale.
    await deliver("app/uninstalled", { id: 1, domain: SHOP }, uninstall, "uninstall-1");
    await deliver("app/uninstalled", { id: 1, domain: SHOP }, uninstall, "uninstall-replayed");
    await new InboxWorker(prisma).drain();
    expect(await prisma.session.count({ where: { shop: SHOP } })).toBe(1);
    expect((await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } })).uninstalledAt).toBeNull();
    expect(await (await adminApiFor(prisma, SHOP)).request(SHOP_NAME)).toBeTruthy();
    const events = await prisma.webhookEvent.findMany({
      where: { topic: "app/uninstalled" },
      select: { status: true },
    });
    expect(events.every((e) => e.status === "done")).toBe(true);
  });
});
