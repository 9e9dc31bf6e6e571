/**
 * Exports of any size: a segment of 100,000 members exported as CSV and JSON from the CLI and as
 * the admin's streamed CSV, on SQLite and PostgreSQL. (Re-reading the members with one IN list
 * failed on SQLite past 996 of them: its limit is 999 bound parameters.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma, { dialectOfClient, refreshPlannerStatistics } from "../db.server";
import { main } from "../cli";
import { EXPORT_PAGE, linesToStream, segmentExport } from "./export.server";

const SHOP = "big-export.myshopify.com";
const MEMBERS = 100_000;
const OTHERS = 300;
/** Fixed-width ids, so their text order is their number order. */
const idOf = (i: number) => String(7_000_000_000_000 + i);
const lastOrderAt = new Date("2026-05-01T10:00:00.000Z");

/** The shop's customers, written by one set-based statement (not one insert per customer). */
async function buildCustomers(shopId: number, count: number) {
  const sqlite = dialectOfClient(prisma) === "sqlite";
  const at = sqlite ? lastOrderAt.getTime() : lastOrderAt;
  const columns = `"shopId", "shopifyId", "email", "firstName", "lastName", "countryCode", "ordersCount", "totalSpent", "lastOrderAt", "shopifyUpdatedAt", "syncedAt"`;
  const values = (n: string, shop: string, time: string) =>
    `${shop}, CAST(7000000000000 + ${n} AS TEXT), 'c' || ${n} || '@example.com', 'First' || ${n}, 'Last',
     CASE WHEN ${n} <= ${MEMBERS} THEN 'US' ELSE 'CA' END, ${n} % 5, ${n} * 100, ${time}, ${time}, ${time}`;
  if (sqlite)
    await prisma.$executeRawUnsafe(
      `INSERT INTO "Customer" (${columns})
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       SELECT ${values("i", "?", "?")} FROM n`,
      count,
      shopId,
      at,
      at,
      at,
    );
  else
    await prisma.$executeRawUnsafe(
      `INSERT INTO "Customer" (${columns})
       SELECT ${values("i", "$1", "$2::timestamp")} FROM generate_series(1, $3::int) AS i`,
      shopId,
      at,
      count,
    );
}

beforeAll(async () => {
  const shop = await prisma.shop.create({
    data: { domain: SHOP, currency: "EUR", ianaTimezone: "America/New_York" },
  });
  await buildCustomers(shop.id, MEMBERS + OTHERS);
  // Customer-entered text that must reach the file intact and harmless.
  await prisma.customer.update({
    where: { shopId_shopifyId: { shopId: shop.id, shopifyId: idOf(1) } },
    data: { firstName: '=HYPERLINK("http://x")', lastName: "O'Neil, Jr." },
  });
  // As after a backfill: the planner knows the shop's size.
  await refreshPlannerStatistics(prisma);
  await prisma.segment.create({
    data: {
      shopId: shop.id,
      handle: "americans",
      name: "Americans",
      rule: JSON.stringify({ version: 1, match: { field: "customer.countryCode", op: "eq", value: "US" } }),
    },
  });
  await prisma.segment.create({
    data: {
      shopId: shop.id,
      handle: "nobody",
      name: "Nobody",
      rule: JSON.stringify({ version: 1, match: { field: "customer.countryCode", op: "eq", value: "JP" } }),
    },
  });
}, 120_000);

afterAll(async () => {
  await prisma.$disconnect();
});

function expectAllMembersInOrder(ids: string[]) {
  expect(ids.length).toBe(MEMBERS);
  expect(ids[0]).toBe(idOf(1));
  expect(ids[MEMBERS - 1]).toBe(idOf(MEMBERS));
  // Every member once, in id order, across every page boundary.
  for (let i = 0; i < ids.length; i++) if (ids[i] !== idOf(i + 1)) expect(ids[i]).toBe(idOf(i + 1));
}

describe("exporting a segment of 100,000 customers", () => {
  it("writes every member as CSV from the CLI, a line at a time, formulas defused, money in decimal units and times with the shop's offset", async () => {
    const lines: string[] = [];
    expect(await main(["segments", "export", "americans", "--shop", SHOP], (l) => lines.push(l))).toBe(0);
    expect(lines[0]).toBe(
      "shopifyId,email,firstName,lastName,countryCode,ordersCount,totalSpent,currency,lastOrderAt",
    );
    expect(lines[1]).toBe(
      `${idOf(1)},c1@example.com,"'=HYPERLINK(""http://x"")","O'Neil, Jr.",US,1,1.00,EUR,2026-05-01T06:00:00-04:00`,
    );
    expect(lines[2]).toBe(`${idOf(2)},c2@example.com,First2,Last,US,2,2.00,EUR,2026-05-01T06:00:00-04:00`);
    expectAllMembersInOrder(lines.slice(1).map((l) => l.slice(0, l.indexOf(","))));
  });

  it("writes every member as JSON from the CLI, in the export's shape", async () => {
    const lines: string[] = [];
    const now = "2026-06-01T00:00:00.000Z";
    await main(["segments", "export", "americans", "--shop", SHOP, "--format", "json", "--now", now], (l) =>
      lines.push(l),
    );
    const text = lines.join("\n");
    const json = JSON.parse(text) as { segment: string; at: string; count: number; customers: object[] };
    expect(Object.keys(json).sort()).toEqual(["at", "count", "customers", "segment"]);
    expect(json.segment).toBe("americans");
    expect(json.at).toBe("2026-05-31T20:00:00-04:00");
    expect(json.count).toBe(MEMBERS);
    expect(json.customers[1]).toEqual({
      shopifyId: idOf(2),
      email: "c2@example.com",
      firstName: "First2",
      lastName: "Last",
      countryCode: "US",
      ordersCount: 2,
      totalSpent: "2.00",
      currency: "EUR",
      lastOrderAt: "2026-05-01T06:00:00-04:00",
    });
    expectAllMembersInOrder(json.customers.map((c) => (c as { shopifyId: string }).shopifyId));
    // The text JSON.stringify would write, streamed.
    expect(text).toBe(
      JSON.stringify(
        { segment: json.segment, at: json.at, customers: json.customers, count: MEMBERS },
        null,
        2,
      ),
    );
  });

  it("streams the admin's CSV, a page read only when the client takes the one before", async () => {
    const found = await segmentExport(prisma, SHOP, "americans", new Date(), "csv");
    expect(found).not.toBeNull();
    const reader = linesToStream(found!.lines).getReader();
    const first = await reader.read();
    // A 64 KB chunk is a few pages: the rest of the 100,000 members has not been read yet.
    const firstText = new TextDecoder().decode(first.value);
    expect(firstText.split("\n").length).toBeLessThan(4 * EXPORT_PAGE);
    const chunks = [firstText];
    for (let next = await reader.read(); !next.done; next = await reader.read())
      chunks.push(new TextDecoder().decode(next.value));
    const lines = chunks.join("").trimEnd().split("\n");
    expect(lines.length).toBe(MEMBERS + 1);
    expectAllMembersInOrder(lines.slice(1).map((l) => l.slice(0, l.indexOf(","))));
  });

  it("exports an empty segment as a header, or an empty list", async () => {
    const csv: string[] = [];
    await main(["segments", "export", "nobody", "--shop", SHOP], (l) => csv.push(l));
    expect(csv).toEqual([
      "shopifyId,email,firstName,lastName,countryCode,ordersCount,totalSpent,currency,lastOrderAt",
    ]);
    const json: string[] = [];
    await main(["segments", "export", "nobody", "--shop", SHOP, "--format", "json"], (l) => json.push(l));
    expect(JSON.parse(json.join("\n"))).toMatchObject({ segment: "nobody", count: 0, customers: [] });
  });
});
