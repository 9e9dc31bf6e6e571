/**
 * The baselines endpoints are measured against: a bare node:http server that does only the check
 * Shopify's signature requires, and nothing else.
 *
 * - Default (`BASELINE` unset or `webhook`): reads the body, checks the webhook HMAC, answers 200.
 *   What Slice adds over this is the cost of Remix, the inbox write and the worker sharing the machine.
 * - `BASELINE=app-proxy`: checks a GET's app proxy signature (the app's own verifier) and answers
 *   `{"message":null}`, what a storefront decision costs with no decision in it.
 * - `BASELINE=pixel`: reads a web pixel batch, parses its JSON and answers `{"ok":true}` with the
 *   CORS header, what the pixel endpoint costs with no validation or storage in it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhook } from "../app/sync/verify.server";
import { verifyProxyQuery } from "../app/storefront/proxy.server";

const secret = process.env.SHOPIFY_API_SECRET ?? "bench-secret";

function webhook(req: http.IncomingMessage, res: http.ServerResponse) {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const ok = verifyWebhook(
      Buffer.concat(chunks),
      String(req.headers["x-shopify-hmac-sha256"] ?? ""),
      secret,
    );
    res.writeHead(ok ? 200 : 401, { "Content-Type": "text/plain" });
    res.end(ok ? "recorded" : "invalid");
  });
}

function appProxy(req: http.IncomingMessage, res: http.ServerResponse) {
  const query = new URL(req.url ?? "/", "http://baseline.invalid").searchParams;
  const check = verifyProxyQuery(query, secret, new Date());
  res.writeHead(check.ok ? 200 : 401, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify(check.ok ? { message: null } : { error: check.reason }));
}

function pixel(req: http.IncomingMessage, res: http.ServerResponse) {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    let ok = true;
    try {
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      ok = false;
    }
    res.writeHead(ok ? 200 : 400, {
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      "Access-Control-Allow-Origin": "*",
    });
    res.end(JSON.stringify(ok ? { ok: true } : { error: "body: must be JSON" }));
  });
}

const server = http.createServer(
  process.env.BASELINE === "app-proxy" ? appProxy : process.env.BASELINE === "pixel" ? pixel : webhook,
);
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address() as AddressInfo;
  console.log(`listening ${address.port}`);
});
