/**
 * Sessions and tokens never appear in the logs. Everything written to the console, stdout and
 * stderr is captured while a shop installs (its offline session stored, the install hook run),
 * the real background work runs against an Admin API that refuses the token, an admin request
 * arrives with a signed session token that cannot be exchanged, and a webhook's handler fails:
 * the access token, the session ids, the session token and the app's secret are in none of it.
 */
import { createHmac, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { format } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { Session } from "@shopify/shopify-api";
import { webhookRequestInit } from "../../dev/webhooks";
import { TEST_SECRET } from "../../dev/testing/setup";

/**
 * The app's modules, loaded once the local Admin API listens: the settings are read when they
 * load, and this file runs the real background work (SLICE_WORKER=1) against that Admin API.
 */
async function loadApp(adminOrigin: string) {
  process.env.SLICE_WORKER = "1";
  process.env.SLICE_ADMIN_API_ORIGIN = adminOrigin;
  const [db, shopify, settings, install, receive, runtime] = await Promise.all([
    import("../db.server"),
    import("../shopify.server"),
    import("../config.server"),
    import("../sync/install.server"),
    import("../sync/receive.server"),
    import("../sync/runtime.server"),
  ]);
  return {
    prisma: db.default,
    authenticate: shopify.authenticate,
    sessionStorage: shopify.sessionStorage,
    config: settings.config,
    onInstalled: install.onInstalled,
    receiveWebhook: receive.receiveWebhook,
    ...runtime,
  };
}
let app: Awaited<ReturnType<typeof loadApp>>;

const SHOP = "logs.myshopify.com";
const ACCESS_TOKEN = `shpat_${randomUUID().replaceAll("-", "")}`;
const REFRESH_TOKEN = `shprt_${randomUUID().replaceAll("-", "")}`;
const OFFLINE_ID = `offline_${SHOP}`;
const ONLINE_ID = `${SHOP}_${randomUUID()}`;
const ONLINE_TOKEN = `shpua_${randomUUID().replaceAll("-", "")}`;

const captured: string[] = [];
const restore: (() => void)[] = [];
let admin: http.Server;
const adminCalls: string[] = [];

function capture() {
  for (const level of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const spy = vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      captured.push(format(...args));
    });
    restore.push(() => spy.mockRestore());
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return write(chunk, ...(rest as [BufferEncoding, () => void]));
    }) as typeof stream.write;
    restore.push(() => void (stream.write = write as typeof stream.write));
  }
}

/** A session token (id_token) as Shopify's admin signs it: valid, but it cannot be exchanged here. */
function sessionToken(): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({
    iss: `https://${SHOP}/admin`,
    dest: `https://${SHOP}`,
    aud: app.config.apiKey,
    sub: "42",
    exp: now + 60,
    nbf: now - 5,
    iat: now - 5,
    jti: randomUUID(),
    sid: randomUUID(),
  })}`;
  return `${body}.${createHmac("sha256", TEST_SECRET).update(body).digest("base64url")}`;
}

beforeAll(async () => {
  // An Admin API that refuses the token, the way Shopify does, and shows what it was sent.
  admin = http.createServer((req, res) => {
    adminCalls.push(req.url ?? "");
    res.writeHead(401, { "Content-Type": "application/json" }).end(
      JSON.stringify({
        errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
      }),
    );
  });
  await new Promise<void>((resolve) => admin.listen(0, "127.0.0.1", resolve));
  app = await loadApp(`http://127.0.0.1:${(admin.address() as AddressInfo).port}`);
  capture();
});

afterAll(async () => {
  await app.stopBackgroundWork();
  for (const undo of restore.reverse()) undo();
  await new Promise((resolve) => admin.close(resolve));
  await app.prisma.$disconnect();
});

async function until(done: () => boolean, what: string) {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(done(), `${what}; logged:\n${captured.join("")}`).toBe(true);
}

describe("the logs", () => {
  it("never show an access token, a session id or token, nor the app's secret", async () => {
    // Install: the library stores the offline (and an online) session, then the install hook runs.
    const offline = new Session({ id: OFFLINE_ID, shop: SHOP, state: "state", isOnline: false });
    offline.accessToken = ACCESS_TOKEN;
    offline.refreshToken = REFRESH_TOKEN;
    offline.scope = app.config.scopes.join(",");
    await app.sessionStorage.storeSession(offline);
    const online = new Session({ id: ONLINE_ID, shop: SHOP, state: "state", isOnline: true });
    online.accessToken = ONLINE_TOKEN;
    await app.sessionStorage.storeSession(online);
    await app.onInstalled(app.prisma, SHOP);

    // The real background work: the backfill is refused by the Admin API and logged.
    expect(app.startBackgroundWork()).not.toBeNull();
    await until(
      () => captured.some((line) => line.includes(`sync job for ${SHOP} failed`)),
      "the backfill failed",
    );
    expect(adminCalls.length).toBeGreaterThan(0);

    // A webhook whose handler fails (an order without its required fields) is logged with its reason.
    const line = { topic: "orders/create", shop: SHOP, payload: { id: 1, note: ACCESS_TOKEN.slice(0, 4) } };
    const response = await app.receiveWebhook(
      new Request("http://127.0.0.1/webhooks", webhookRequestInit(line, TEST_SECRET)),
      app.webhookDeps(),
    );
    expect(response.status).toBe(200);
    await until(() => captured.some((line) => line.includes("webhook orders/create")), "the webhook failed");

    // An admin request with a valid session token that cannot be exchanged (no Shopify here).
    const token = sessionToken();
    const request = new Request(
      `${app.config.appUrl}/app?shop=${SHOP}&host=${Buffer.from(`${SHOP}/admin`).toString("base64url")}&embedded=1&id_token=${token}`,
    );
    await app.authenticate.admin(request).catch((thrown: unknown) => thrown);

    const all = captured.join("\n");
    expect(all.length).toBeGreaterThan(0);
    for (const [name, secret] of [
      ["the offline access token", ACCESS_TOKEN],
      ["the refresh token", REFRESH_TOKEN],
      ["the online access token", ONLINE_TOKEN],
      ["the online session id", ONLINE_ID],
      ["the session token", token],
      ["the session token's signature", token.split(".")[2]],
      ["the app's secret", TEST_SECRET],
    ] as const)
      expect(all.includes(secret), `${name} is in the logs:\n${all}`).toBe(false);
  });
});
