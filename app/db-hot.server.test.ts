/**
 * The hot paths' database access: a transaction commits everything or nothing, values come back as
 * they went in, and on SQLite hot writes share Prisma's one writer so neither waits on the other.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "./db.server";
import { bool, closeHot, date, hotFor, insertMany, int } from "./db-hot.server";

const SHOP = "hot-layer.myshopify.com";

beforeEach(async () => {
  await prisma.shop.deleteMany();
});

afterAll(async () => {
  await closeHot();
  await prisma.$disconnect();
});

const shopIdOf = async () => (await prisma.shop.create({ data: { domain: SHOP } })).id;

describe("the hot-path layer", () => {
  it("commits a transaction's writes together, readable by Prisma and by the hot reads", async () => {
    const shopId = await shopIdOf();
    const at = new Date("2026-11-27T10:00:00.123Z");
    const hot = hotFor(prisma, "apply");
    const written = await hot.transaction(async (tx) => {
      const n = await insertMany(
        tx,
        "Customer",
        ["shopId", "shopifyId", "email", "acceptsEmailMarketing", "shopifyUpdatedAt", "totalSpent"],
        Array.from({ length: 450 }, (_, i) => [
          shopId,
          `c${i}`,
          `c${i}@example.com`,
          i % 2 === 0,
          at,
          i * 100,
        ]),
      );
      // The transaction reads its own writes.
      const [row] = await tx.rows<{ n: unknown }>(`SELECT COUNT(*) AS n FROM "Customer" WHERE "shopId" = ?`, [
        shopId,
      ]);
      expect(int(row.n)).toBe(450);
      return n;
    });
    expect(written).toBe(450);
    expect(await prisma.customer.count({ where: { shopId } })).toBe(450);
    const [c] = await hotFor(prisma).rows<{
      acceptsEmailMarketing: unknown;
      shopifyUpdatedAt: unknown;
      totalSpent: unknown;
    }>(
      `SELECT "acceptsEmailMarketing", "shopifyUpdatedAt", "totalSpent" FROM "Customer" WHERE "shopId" = ? AND "shopifyId" = ?`,
      [shopId, "c4"],
    );
    expect(bool(c.acceptsEmailMarketing)).toBe(true);
    expect(date(c.shopifyUpdatedAt).toISOString()).toBe(at.toISOString());
    expect(int(c.totalSpent)).toBe(400);
  });

  it("rolls back everything a failed transaction wrote, and the failure reaches the caller", async () => {
    const shopId = await shopIdOf();
    const hot = hotFor(prisma, "apply");
    await expect(
      hot.transaction(async (tx) => {
        await tx.run(`INSERT INTO "Customer" ("shopId", "shopifyId", "shopifyUpdatedAt") VALUES (?, ?, ?)`, [
          shopId,
          "kept-not",
          new Date(),
        ]);
        // The same key again: a unique violation.
        await tx.run(`INSERT INTO "Customer" ("shopId", "shopifyId", "shopifyUpdatedAt") VALUES (?, ?, ?)`, [
          shopId,
          "kept-not",
          new Date(),
        ]);
      }),
    ).rejects.toThrow(/unique|UNIQUE/);
    expect(await prisma.customer.count({ where: { shopId } })).toBe(0);
    // The connection is usable after the rollback.
    expect(
      await hot.run(`INSERT INTO "Customer" ("shopId", "shopifyId", "shopifyUpdatedAt") VALUES (?, ?, ?)`, [
        shopId,
        "after",
        new Date(),
      ]),
    ).toBe(1);
    expect(await prisma.customer.count({ where: { shopId } })).toBe(1);
  });

  it("runs beside Prisma's own transactions without either waiting forever on the other", async () => {
    const shopId = await shopIdOf();
    const hot = hotFor(prisma, "apply");
    // A Prisma transaction that awaits while it holds the writer, and hot transactions started meanwhile.
    const slow = prisma.$transaction(async (tx) => {
      await tx.customer.create({ data: { shopId, shopifyId: "prisma-1", shopifyUpdatedAt: new Date() } });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await tx.customer.create({ data: { shopId, shopifyId: "prisma-2", shopifyUpdatedAt: new Date() } });
    });
    const fast = Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        hot.transaction((tx) =>
          tx.run(`INSERT INTO "Customer" ("shopId", "shopifyId", "shopifyUpdatedAt") VALUES (?, ?, ?)`, [
            shopId,
            `hot-${i}`,
            new Date(),
          ]),
        ),
      ),
    );
    await Promise.all([slow, fast]);
    expect(await prisma.customer.count({ where: { shopId } })).toBe(7);
  });
});
