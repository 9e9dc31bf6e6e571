/**
 * "Why is this customer in or out?" finds the customer the way a merchant knows them (email, name,
 * Shopify gid or numeric id), says what it looked for when nobody matches, lists the customers to
 * pick from when several do, and shows each condition's value in the shop's format.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { main } from "../cli";
import { CliError } from "./cli.server";
import { customerKey, explainMember } from "./explain.server";

const SHOP = "explain-lookup.myshopify.com";
const NOW = new Date("2026-10-30T12:00:00Z");
const FORMAT = { currency: "EUR", timeZone: "America/New_York", locale: "en-US" };

beforeAll(async () => {
  const shop = await prisma.shop.create({
    data: { domain: SHOP, currency: "EUR", ianaTimezone: "America/New_York" },
  });
  const customer = (shopifyId: string, data: Record<string, unknown>) =>
    prisma.customer.create({
      data: { shopId: shop.id, shopifyId, shopifyUpdatedAt: NOW, ...data },
    });
  await customer("1001", {
    email: "Ada.Lovelace@Example.com",
    firstName: "Ada",
    lastName: "Lovelace",
  });
  const order = (shopifyId: string, customerShopifyId: string, totalPrice: number, at: Date) =>
    prisma.order.create({
      data: {
        shopId: shop.id,
        shopifyId,
        customerShopifyId,
        currency: "EUR",
        totalPrice,
        processedAt: at,
        shopifyCreatedAt: at,
        shopifyUpdatedAt: at,
      },
    });
  await customer("1002", { email: "grace@example.com", firstName: "Grace", lastName: "Hopper" });
  await customer("1003", { email: "ada.b@example.com", firstName: "Ada", lastName: "Byron" });
  await order("1", "1001", 121612, new Date("2026-09-01T10:00:00Z"));
  await order("2", "1001", 100000, new Date("2026-10-25T14:09:20Z"));
  await order("3", "1002", 500, new Date("2025-01-01T10:00:00Z"));
  await customer("1004", {
    email: "gone@example.com",
    firstName: "Gone",
    lastName: "Away",
    deletedAt: NOW,
  });
  await prisma.segment.create({
    data: {
      shopId: shop.id,
      handle: "big-spenders",
      name: "Big spenders",
      rule: JSON.stringify({
        version: 1,
        match: {
          all: [
            { field: "customer.totalSpent", op: "gte", value: 100000 },
            { field: "customer.lastOrderAt", op: "withinLast", days: 30 },
          ],
        },
      }),
    },
  });
});

afterAll(() => prisma.$disconnect());

const explain = (query: string) => explainMember(prisma, SHOP, "big-spenders", query, NOW, FORMAT);

describe("explaining a segment for a customer", () => {
  it("finds the customer by email whatever its case, with each value formatted", async () => {
    const found = await explain("  ada.lovelace@example.COM ");
    expect(found?.status).toBe("found");
    if (found?.status !== "found") return;
    expect(found.customer.shopifyId).toBe("1001");
    expect(found.member).toBe(true);
    expect(found.reasons).toEqual([
      {
        condition: "Total spent is at least €1,000.00",
        field: "customer.totalSpent",
        value: "€2,216.12",
        met: true,
      },
      {
        condition: "Last order is within the last 30 days",
        field: "customer.lastOrderAt",
        value: "Oct 25, 2026, 10:09 AM",
        met: true,
      },
    ]);
  });

  it("finds the customer by a Shopify gid or the numeric id", async () => {
    for (const query of ["gid://shopify/Customer/1002", "1002"]) {
      const found = await explain(query);
      expect(found?.status).toBe("found");
      if (found?.status === "found") {
        expect(found.customer.firstName).toBe("Grace");
        expect(found.member).toBe(false);
        expect(found.reasons[0].value).toBe("€5.00");
        expect(found.reasons[1].value).toBe("Jan 1, 2025, 5:00 AM");
      }
    }
  });

  it("finds the customer by full, first or last name, ignoring case", async () => {
    for (const query of ["grace hopper", "HOPPER", "Grace"]) {
      const found = await explain(query);
      expect(found?.status === "found" && found.customer.shopifyId).toBe("1002");
    }
  });

  it("lists the customers to pick from when a name matches several", async () => {
    const several = await explain("ada");
    expect(several?.status).toBe("several");
    if (several?.status !== "several") return;
    expect(several.message).toBe("2 customers have the name ada: pick one.");
    expect(several.matches.map((m) => m.shopifyId)).toEqual(["1003", "1001"]);
    expect(several.more).toBe(false);
  });

  it("says what it looked for when no customer matches, and skips deleted customers", async () => {
    expect(await explain("x@y.com")).toMatchObject({
      status: "missing",
      message: "No customer with the email x@y.com in this shop.",
    });
    expect(await explain("Nobody Here")).toMatchObject({
      message: "No customer with the name Nobody Here in this shop.",
    });
    expect(await explain("gid://shopify/Customer/999")).toMatchObject({
      message: "No customer with the id gid://shopify/Customer/999 in this shop.",
    });
    expect(await explain("gone@example.com")).toMatchObject({ status: "missing" });
    expect(await explain("gid://shopify/Order/1001")).toMatchObject({
      status: "invalid",
      message: "gid://shopify/Order/1001 is the id of an order, not of a customer.",
    });
    expect(await explainMember(prisma, SHOP, "no-such-segment", "1001", NOW, FORMAT)).toBeNull();
  });
});

describe("reading what the merchant typed", () => {
  it("tells ids, gids, emails and names apart", () => {
    expect(customerKey("123")).toEqual({ kind: "id", id: "123" });
    expect(customerKey("gid://shopify/Customer/123")).toEqual({ kind: "id", id: "123" });
    expect(customerKey("A@B.co")).toEqual({ kind: "email", email: "a@b.co" });
    expect(customerKey(" Ada   Lovelace ")).toEqual({ kind: "name", name: "ada lovelace" });
    expect(customerKey("  ").kind).toBe("invalid");
    expect(customerKey("gid://shopify/Customer/abc").kind).toBe("invalid");
  });
});

describe("npm run slice -- segments explain", () => {
  const run = async (...args: string[]) => {
    const lines: string[] = [];
    const code = await main(
      ["segments", "explain", "big-spenders", ...args, "--shop", SHOP, "--now", NOW.toISOString()],
      (l) => lines.push(l),
    );
    return { code, lines };
  };

  it("explains by email, name, gid or id, with values in the shop's currency and zone and the admin link", async () => {
    for (const who of [
      ["ada.lovelace@example.com"],
      ["Ada", "Lovelace"],
      ["gid://shopify/Customer/1001"],
      ["1001"],
    ])
      expect(await run(...who)).toEqual({
        code: 0,
        lines: [
          "Ada Lovelace <Ada.Lovelace@Example.com> (customer 1001) is in big-spenders",
          "  ✓ Total spent is at least €1,000.00 (is €2,216.12)",
          "  ✓ Last order is within the last 30 days (is Oct 25, 2026, 10:09 AM)",
          "https://admin.shopify.com/store/explain-lookup/customers/1001",
        ],
      });
  });

  it("lists the customers a name matches, and says who was not found", async () => {
    expect(await run("ada")).toEqual({
      code: 1,
      lines: [
        "2 customers have the name ada: pick one.",
        "  1003             Ada Byron <ada.b@example.com>",
        "  1001             Ada Lovelace <Ada.Lovelace@Example.com>",
      ],
    });
    await expect(run("x@y.com")).rejects.toThrow(
      new CliError("No customer with the email x@y.com in this shop."),
    );
  });
});
