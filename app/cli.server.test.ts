import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
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

describe("npm run slice -- segments create|update|delete and list --now", () => {
  const shop = "cli-edit.myshopify.com";
  let shopId = 0;
  const write = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  };
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const code = await main(["segments", ...args, "--shop", shop], (l) => out.push(l));
    return { code, out };
  };
  beforeAll(async () => {
    const { ensurePresets } = await import("./segments/store.server");
    shopId = (await prisma.shop.create({ data: { domain: shop } })).id;
    const people = [
      ["21", "CA", 5000, "2026-05-20T00:00:00Z"],
      ["22", "CA", 9000, "2026-01-10T00:00:00Z"],
      ["23", "US", 70000, "2026-05-25T00:00:00Z"],
    ] as const;
    for (const [id, countryCode, totalSpent, lastOrderAt] of people)
      await prisma.customer.create({
        data: {
          shopId,
          shopifyId: id,
          countryCode,
          ordersCount: 1,
          totalSpent,
          lastOrderAt: new Date(lastOrderAt),
          shopifyUpdatedAt: new Date(0),
        },
      });
    await ensurePresets(prisma, shopId);
  });

  it("creates a segment from a file with the admin's validation, updates it, and deletes it", async () => {
    const file = write("canada.json", {
      name: "Canadians",
      description: "Everyone in Canada",
      rule: { version: 1, match: { field: "customer.countryCode", op: "eq", value: "CA" } },
    });
    expect(await run("create", file)).toEqual({
      code: 0,
      out: [expect.stringMatching(/^created canadians: 2 members/)],
    });
    const saved = await prisma.segment.findUniqueOrThrow({
      where: { shopId_handle: { shopId, handle: "canadians" } },
    });
    expect(saved).toMatchObject({
      name: "Canadians",
      description: "Everyone in Canada",
      size: 2,
      minSize: 200,
    });

    // Only the keys it changes; a bare rule is the rule alone.
    const rule = write("big.json", {
      version: 1,
      match: {
        all: [
          { field: "customer.countryCode", op: "eq", value: "CA" },
          { field: "customer.totalSpent", op: "gte", value: 6000 },
        ],
      },
    });
    expect((await run("update", "canadians", rule)).out[0]).toMatch(/^updated canadians: 1 member /);
    expect(
      await run("update", "canadians", write("rename.json", { name: "Canadian big spenders", maxSize: 900 })),
    ).toMatchObject({ code: 0 });
    expect(
      await prisma.segment.findUniqueOrThrow({ where: { shopId_handle: { shopId, handle: "canadians" } } }),
    ).toMatchObject({
      name: "Canadian big spenders",
      description: "Everyone in Canada",
      maxSize: 900,
      size: 1,
    });

    expect(await run("delete", "canadians")).toEqual({ code: 0, out: ["deleted canadians"] });
    expect(await prisma.segment.count({ where: { shopId, handle: "canadians" } })).toBe(0);
  });

  it("names the file and the JSON path of each problem, and saves nothing", async () => {
    const bad = write("bad.json", {
      name: "Bad",
      rule: {
        version: 1,
        match: {
          all: [
            { field: "customer.countryCode", op: "eq", value: "CA" },
            { field: "customer.totalSpent", op: "gte", value: "lots" },
          ],
        },
      },
    });
    await expect(run("create", bad)).rejects.toThrow(
      `${bad}: rule.match.all[1].value: must be an amount in minor units (cents)`,
    );
    await expect(
      run("create", write("nameless.json", { rule: { version: 1, match: { all: [] } } })),
    ).rejects.toThrow("nameless.json: name: is missing");
    await expect(run("create", write("typo.json", { name: "X", rul: {} }))).rejects.toThrow(
      'typo.json: (the whole file): unknown key "rul"',
    );
    await expect(run("create", write("notjson.json", "{ name: "))).rejects.toThrow(
      "notjson.json: is not JSON",
    );
    await expect(
      run(
        "create",
        write("size.json", { name: "X", minSize: "ten", rule: { version: 1, match: { all: [] } } }),
      ),
    ).rejects.toThrow("size.json: minSize: Expected number, received string");
    await expect(
      run(
        "create",
        write("taken.json", {
          name: "X",
          handle: "high-spend-repeat",
          rule: { version: 1, match: { all: [] } },
        }),
      ),
    ).rejects.toThrow('taken.json: handle: another segment already uses the handle "high-spend-repeat"');
    await expect(run("update", "nope", bad)).rejects.toThrow('no segment "nope" to update');
    await expect(main(["segments", "create", "--shop", shop])).rejects.toThrow("needs a segment file");
    await expect(run("create", path.join(dir, "missing.json"))).rejects.toThrow("cannot read");
    expect(await prisma.segment.count({ where: { shopId, name: { in: ["Bad", "X"] } } })).toBe(0);
  });

  it("refuses to delete a built-in segment, one an active message shows to, or one another segment uses", async () => {
    await expect(run("delete", "high-spend-repeat")).rejects.toThrow(
      '"high-spend-repeat" is a built-in segment',
    );
    await run(
      "create",
      write("us.json", {
        name: "Americans",
        rule: { version: 1, match: { field: "customer.countryCode", op: "eq", value: "US" } },
      }),
    );
    const message = await prisma.message.create({
      data: {
        shopId,
        name: "Welcome",
        segmentHandle: "high-spend-repeat",
        format: "popup",
        trigger: "load",
        headline: "Hi",
        active: true,
        exclude: '["americans"]',
      },
    });
    await expect(run("delete", "americans")).rejects.toThrow(
      `"americans" is used by active message #${message.id} "Welcome": pause it first`,
    );
    await prisma.message.update({ where: { id: message.id }, data: { active: false } });
    await run(
      "create",
      write("on-us.json", {
        name: "Not Americans",
        rule: { version: 1, match: { not: { segment: "americans" } } },
      }),
    );
    await expect(run("delete", "americans")).rejects.toThrow('"not-americans" refers to this segment');
    await run("delete", "not-americans");
    expect((await run("delete", "americans")).out).toEqual(["deleted americans"]);
  });

  it("lists sizes with the rule's clock at --now", async () => {
    await run(
      "create",
      write("recent.json", {
        name: "Ordered recently",
        rule: { version: 1, match: { field: "customer.lastOrderAt", op: "withinLast", days: 30 } },
      }),
    );
    const sizeIn = (lines: string[]) =>
      Number(
        lines
          .find((l) => l.startsWith("ordered-recently "))!
          .trim()
          .split(/\s+/)[1],
      );
    const june = await run("list", "--now", "2026-06-01T00:00:00Z");
    expect(june.out[0]).toBe(
      "sizes with the clock at 2026-06-01T00:00:00.000Z (data recorded after it still counts)",
    );
    expect(sizeIn(june.out)).toBe(2);
    // The rule's clock, not a snapshot: orders placed after --now still count (until --as-of).
    expect(sizeIn((await run("list", "--now", "2026-02-01T00:00:00Z")).out)).toBe(3);
    expect(sizeIn((await run("list", "--now", "2027-01-01T00:00:00Z")).out)).toBe(0);
  });

  it("prints the usage with help", async () => {
    const out: string[] = [];
    expect(await main(["help"], (l) => out.push(l))).toBe(0);
    expect(out[0]).toContain("segments update <handle> <file.json> --shop DOMAIN");
  });
});
