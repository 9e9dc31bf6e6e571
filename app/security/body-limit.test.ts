/**
 * The production server reads every request body (other than webhooks, which have their own
 * limit) before Remix sees it: a body over the limit, declared or streamed without a length, is
 * answered 413 and the rest is never read, so no request can fill the server's memory.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBody, tooLarge } from "../../server";

const LIMIT = 64 * 1024;
let server: http.Server;
let url = "";

beforeAll(async () => {
  server = http.createServer((req, res) => {
    void readBody(req, LIMIT).then((body) => {
      if (!body) return tooLarge(req, res, LIMIT);
      res.writeHead(200, { "Content-Type": "text/plain" }).end(`read ${body.length} bytes`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/app/segments/preview`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A body streamed in chunks with no Content-Length, as a client that lies about nothing would. */
function streamed(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const chunk = new Uint8Array(Math.min(16 * 1024, bytes - sent)).fill(0x7b);
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

describe("the request body limit", () => {
  it("reads a body under the limit whole", async () => {
    const response = await fetch(url, { method: "POST", body: "x".repeat(LIMIT) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`read ${LIMIT} bytes`);
  });

  it("answers 413 naming the limit to a body declared over it, without reading it", async () => {
    const response = await fetch(url, { method: "POST", body: "x".repeat(LIMIT + 1) });
    expect(response.status).toBe(413);
    expect(await response.text()).toBe(`request body too large: at most ${LIMIT} bytes`);
  });

  it("answers 413 to a streamed body without a length once it passes the limit", async () => {
    const response = await fetch(url, {
      method: "POST",
      body: streamed(50 * LIMIT),
      duplex: "half",
    } as RequestInit & { duplex: "half" });
    expect(response.status).toBe(413);
  });
});
