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

describe("npm run slice -- segments", () => {
  const shop = "cli-segments.myshopify.com";
  beforeAll(async () => {
    const { ensurePresets } = await import("./segments/store.server");
    const row = await prisma.shop.create({ data: { domain: shop } });
    const people = [
      ["11", "ann@example.com", "US", 3, 90000],
      ["12", "bob@example.com", "US", 1, 2000],
      ["13", "=cmd@example.com", "CA", 0, 0],
    ] as const;
    for (const [id, email, countryCode, ordersCount, totalSpent] of people)
      await prisma.customer.create({
        data: {
          shopId: row.id,
          shopifyId: id,
          email,
          countryCode,
          ordersCount,
          totalSpent,
          shopifyUpdatedAt: new Date(0),
        },
      });
    await ensurePresets(prisma, row.id);
    await prisma.segment.create({
      data: {
        shopId: row.id,
        handle: "us-customers",
        name: "US customers",
        rule: JSON.stringify({ version: 1, match: { field: "customer.countryCode", op: "eq", value: "US" } }),
      },
    });
  });

  it("lists, shows and exports a segment's members at a given moment", async () => {
    const out: string[] = [];
    expect(await main(["segments", "list", "--shop", shop], (l) => out.push(l))).toBe(0);
    expect(out.some((l) => l.startsWith("high-spend-repeat"))).toBe(true);
    expect(out.some((l) => l.startsWith("us-customers"))).toBe(true);

    out.length = 0;
    await main(["segments", "show", "us-customers", "--shop", shop, "--now", "2026-06-01T00:00:00Z"], (l) =>
      out.push(l),
    );
    expect(out.join("\n")).toContain("Country is US");
    expect(out.at(-1)).toBe("members at 2026-06-01T00:00:00.000Z: 2");

    // A segment that reads the storefront counts its recent visitors too, guests included.
    const row = await prisma.shop.findUniqueOrThrow({ where: { domain: shop } });
    const at = new Date("2026-05-30T00:00:00Z");
    await prisma.visitor.create({
      data: { id: "cli-guest", shopId: row.id, firstSeenAt: at, lastSeenAt: at, sessions: 1 },
    });
    await prisma.storefrontEvent.create({
      data: {
        shopId: row.id,
        visitorId: "cli-guest",
        type: "search",
        resourceId: "linen shirt",
        occurredAt: at,
      },
    });
    await prisma.segment.create({
      data: {
        shopId: row.id,
        handle: "searched-linen",
        name: "Searched linen",
        rule: JSON.stringify({
          version: 1,
          match: { field: "visitor.searches", op: "contains", value: "Linen", days: 7 },
        }),
      },
    });
    out.length = 0;
    await main(["segments", "show", "searched-linen", "--shop", shop, "--now", "2026-06-01T00:00:00Z"], (l) =>
      out.push(l),
    );
    expect(out.slice(-2)).toEqual([
      "members at 2026-06-01T00:00:00.000Z: 0",
      "visitors seen in the 30 days to 2026-06-01T00:00:00.000Z: 1",
    ]);

    out.length = 0;
    await main(["segments", "export", "us-customers", "--shop", shop], (l) => out.push(l));
    expect(out[0]).toBe(
      "shopifyId,email,firstName,lastName,countryCode,ordersCount,totalSpent,currency,lastOrderAt",
    );
    expect(out.slice(1).map((l) => l.split(",")[0])).toEqual(["11", "12"]);

    out.length = 0;
    await main(["segments", "export", "high-spend-repeat", "--shop", shop, "--format", "json"], (l) =>
      out.push(l),
    );
    const json = JSON.parse(out.join("\n"));
    expect(json.customers.map((c: { shopifyId: string }) => c.shopifyId)).toEqual(["11"]);
  });

  it("defuses spreadsheet formulas in exported text", async () => {
    const row = await prisma.shop.findUniqueOrThrow({ where: { domain: shop } });
    await prisma.segment.create({
      data: {
        shopId: row.id,
        handle: "canadians",
        name: "Canadians",
        rule: JSON.stringify({ version: 1, match: { field: "customer.countryCode", op: "eq", value: "CA" } }),
      },
    });
    const out: string[] = [];
    await main(["segments", "export", "canadians", "--shop", shop], (l) => out.push(l));
    expect(out[1]).toContain("'=cmd@example.com");
  });

  it("says what is wrong", async () => {
    await expect(main(["segments", "export", "nope", "--shop", shop])).rejects.toThrow('no segment "nope"');
    await expect(main(["segments", "list", "--shop", "other.myshopify.com"])).rejects.toThrow(
      'no shop "other.myshopify.com"',
    );
    await expect(main(["segments", "list"])).rejects.toThrow("needs --shop");
    await expect(main(["segments", "show", "x", "--shop", shop, "--now", "yesterday"])).rejects.toThrow(
      "--now must be an ISO time",
    );
  });
});
