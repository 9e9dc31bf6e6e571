/**
 * The baseline a webhook endpoint is measured against: a bare node:http server that reads the
 * body, checks the HMAC and answers 200, and does nothing else. What Slice adds over this is the
 * cost of Remix, the inbox write and the worker sharing the machine.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhook } from "../app/sync/verify.server";

const secret = process.env.SHOPIFY_API_SECRET ?? "bench-secret";
const server = http.createServer((req, res) => {
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
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address() as AddressInfo;
  console.log(`listening ${address.port}`);
});
