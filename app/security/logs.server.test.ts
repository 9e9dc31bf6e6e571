/**
 * Sessions and tokens never appear in the logs. Everything written to the console, stdout and
 * stderr is captured while a shop installs (its offline session stored, the install hook run),
 * the real background work runs against an Admin API that refuses the token, an admin request
 * arrives with a signed session token that cannot be exchanged, and a webhook's handler fails:
 * the access token, the session ids, the session token and the app's secret are in none of it.
 */
import { createHmac, randomUUID } from "node:crypto";
import http from "node:http";
import { format } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// Before the app's modules load: this file runs the real background work against a local Admin API.
const ADMIN_PORT = vi.hoisted(() => {
  const port = 41_000 + (process.pid % 2000);
  process.env.SLICE_WORKER = "1";
  process.env.SLICE_ADMIN_API_ORIGIN = `http://127.0.0.1:${port}`;
  return port;
});

import { Session } from "@shopify/shopify-api";
import prisma from "../db.server";
import { authenticate, sessionStorage } from "../shopify.server";
import { config } from "../config.server";
import { onInstalled } from "../sync/install.server";
import { receiveWebhook } from "../sync/receive.server";
import { startBackgroundWork, stopBackgroundWork, webhookDeps } from "../sync/runtime.server";
import { webhookRequestInit } from "../../dev/webhooks";
import { TEST_SECRET } from "../../dev/testing/setup";

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
    aud: config.apiKey,
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
    res
      .writeHead(401, { "Content-Type": "application/json" })
      .end(
        JSON.stringify({
          errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
        }),
      );
  });
  await new Promise<void>((resolve) => admin.listen(ADMIN_PORT, "127.0.0.1", resolve));
  capture();
});

afterAll(async () => {
  await stopBackgroundWork();
  for (const undo of restore.reverse()) undo();
  await new Promise((resolve) => admin.close(resolve));
  await prisma.$disconnect();
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
    offline.scope = config.scopes.join(",");
    await sessionStorage.storeSession(offline);
    const online = new Session({ id: ONLINE_ID, shop: SHOP, state: "state", isOnline: true });
    online.accessToken = ONLINE_TOKEN;
    await sessionStorage.storeSession(online);
    await onInstalled(prisma, SHOP);

    // The real background work: the backfill is refused by the Admin API and logged.
    expect(startBackgroundWork()).not.toBeNull();
    await until(
      () => captured.some((line) => line.includes(`sync job for ${SHOP} failed`)),
      "the backfill failed",
    );
    expect(adminCalls.length).toBeGreaterThan(0);

    // A webhook whose handler fails (an order without its required fields) is logged with its reason.
    const line = { topic: "orders/create", shop: SHOP, payload: { id: 1, note: ACCESS_TOKEN.slice(0, 4) } };
    const response = await receiveWebhook(
      new Request("http://127.0.0.1/webhooks", webhookRequestInit(line, TEST_SECRET)),
      webhookDeps(),
    );
    expect(response.status).toBe(200);
    await until(() => captured.some((line) => line.includes("webhook orders/create")), "the webhook failed");

    // An admin request with a valid session token that cannot be exchanged (no Shopify here).
    const token = sessionToken();
    const request = new Request(
      `${config.appUrl}/app?shop=${SHOP}&host=${Buffer.from(`${SHOP}/admin`).toString("base64url")}&embedded=1&id_token=${token}`,
    );
    await authenticate.admin(request).catch((thrown: unknown) => thrown);

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
