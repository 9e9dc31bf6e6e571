import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import prisma from "./db.server";
import { main, UsageError } from "./cli";
import { receiveWebhook } from "./sync/receive.server";
import { TEST_SECRET } from "../dev/testing/setup";

let server: http.Server;
let url = "";
const dir = mkdtempSync(path.join(os.tmpdir(), "slice-cli-"));

beforeAll(async () => {
  // The webhook endpoint as the app runs it, on a real socket.
  server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const response = await receiveWebhook(
      new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body: Buffer.concat(chunks) }),
      { db: prisma, secret: TEST_SECRET },
    );
    res.writeHead(response.status).end(await response.text());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await prisma.$disconnect();
});

describe("npm run slice -- store generate / webhooks replay", () => {
  it("writes a store's history as JSONL and replays it, signed, with duplicates: each event held once", async () => {
    const file = path.join(dir, "history.jsonl");
    const out: string[] = [];
    expect(
      await main(["store", "generate", "--customers", "15", "--seed", "4", "--out", file], (l) =>
        out.push(l),
      ),
    ).toBe(0);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(out[0]).toContain(`wrote ${lines.length} webhooks`);
    expect(JSON.parse(lines[0])).toMatchObject({
      topic: expect.any(String),
      shop: "slice-demo.myshopify.com",
    });

    const code = await main(
      [
        "webhooks",
        "replay",
        file,
        "--url",
        url,
        "--secret",
        TEST_SECRET,
        "--duplicates",
        "0.3",
        "--reorder",
        "0.2",
      ],
      (l) => out.push(l),
    );
    expect(code).toBe(0);
    expect(out.at(-1)).toMatch(/^sent \d+ deliveries of \d+ webhooks: \d+ accepted, 0 rejected$/);
    expect(await prisma.webhookEvent.count()).toBe(lines.length);
    const { _sum } = await prisma.webhookEvent.aggregate({ _sum: { deliveries: true } });
    expect(_sum.deliveries).toBeGreaterThan(lines.length);
  });

  it("reports webhooks the app refused, and exits non-zero", async () => {
    const file = path.join(dir, "one.jsonl");
    await main(["store", "generate", "--customers", "1", "--out", file], () => {});
    const out: string[] = [];
    expect(
      await main(["webhooks", "replay", file, "--url", url, "--secret", "wrong"], (l) => out.push(l)),
    ).toBe(1);
    expect(out.join("\n")).toContain("HTTP 401 invalid or missing webhook signature");
  });

  it("says what is wrong with the command line", async () => {
    await expect(main(["webhooks", "replay"])).rejects.toThrow(UsageError);
    await expect(main(["webhooks", "replay", "x.jsonl"])).rejects.toThrow("needs --url");
    await expect(main(["store", "generate", "--customers", "many"])).rejects.toThrow(
      "--customers must be a number",
    );
    await expect(main(["segments", "frobnicate"])).rejects.toThrow('unknown command "segments frobnicate"');
  });
});
