/**
 * The hot paths' database access: a transaction commits everything or nothing, values come back as
 * they went in, and on SQLite hot writes share Prisma's one writer so neither waits on the other.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "./db.server";
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

  it("stores a moment as that moment whatever the process's time zone", async () => {
    const shopId = await shopIdOf();
    const at = new Date("2026-11-27T10:00:00.123Z");
    const zone = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      await hotFor(prisma, "apply").run(
        `INSERT INTO "Customer" ("shopId", "shopifyId", "shopifyUpdatedAt") VALUES (?, ?, ?)`,
        [shopId, "zoned", at],
      );
      const row = await prisma.customer.findFirstOrThrow({ where: { shopId, shopifyId: "zoned" } });
      expect(row.shopifyUpdatedAt.toISOString()).toBe(at.toISOString());
      const [read] = await hotFor(prisma).rows<{ at: unknown }>(
        `SELECT "shopifyUpdatedAt" AS "at" FROM "Customer" WHERE "shopId" = ? AND "shopifyId" = ?`,
        [shopId, "zoned"],
      );
      expect(date(read.at).toISOString()).toBe(at.toISOString());
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it("holds a transaction's advisory locks until it ends: a second transaction locking an overlapping key waits (PostgreSQL)", async () => {
    const shopId = await shopIdOf();
    const hot = hotFor(prisma, "apply");
    const order: string[] = [];
    let locked!: () => void;
    const firstLocked = new Promise<void>((resolve) => (locked = resolve));
    const first = hot.transaction(async (tx) => {
      // The transaction's first statement: it goes with BEGIN.
      await tx.lock(["customer:1", "customer:2", "customer:1"]);
      locked();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx.run(`INSERT INTO "Customer" ("shopId", "shopifyId", "shopifyUpdatedAt") VALUES (?, ?, ?)`, [
        shopId,
        "first",
        new Date(),
      ]);
      order.push("first committed");
    });
    await firstLocked;
    const second = hot.transaction(async (tx) => {
      // Not the first statement: the lock follows a read, in the transaction BEGIN opened.
      await tx.rows(`SELECT 1 AS "one"`);
      await tx.lock(["customer:3", "customer:2"]);
      const [row] = await tx.rows<{ n: unknown }>(
        `SELECT count(*) AS "n" FROM "Customer" WHERE "shopId" = ?`,
        [shopId],
      );
      order.push(`second saw ${int(row.n)}`);
    });
    await Promise.all([first, second]);
    // SQLite: one writer; the second transaction starts after the first commits all the same.
    expect(order).toEqual(["first committed", "second saw 1"]);
  });

  it("rolls back a transaction that failed after its first lock, and a key with a quote in it is only a key", async () => {
    const shopId = await shopIdOf();
    const hot = hotFor(prisma, "apply");
    await expect(
      hot.transaction(async (tx) => {
        await tx.lock([`customer:o'brien\\'; DROP TABLE "Customer"; --`]);
        await tx.run(`INSERT INTO "Customer" ("shopId", "shopifyId", "shopifyUpdatedAt") VALUES (?, ?, ?)`, [
          shopId,
          "rolled-back",
          new Date(),
        ]);
        throw new Error("the batch failed");
      }),
    ).rejects.toThrow("the batch failed");
    expect(await prisma.customer.count({ where: { shopId } })).toBe(0);
    // The pool's connection is back, out of any transaction: a later one commits.
    await hot.transaction(async (tx) => {
      await tx.lock([]);
      await tx.run(`INSERT INTO "Customer" ("shopId", "shopifyId", "shopifyUpdatedAt") VALUES (?, ?, ?)`, [
        shopId,
        "kept",
        new Date(),
      ]);
    });
    expect(await prisma.customer.count({ where: { shopId } })).toBe(1);
  });

  it("refuses a lock outside a transaction, where it would be let go at once (PostgreSQL)", async () => {
    if (dialectOfClient(prisma) !== "postgres") return;
    await expect(hotFor(prisma, "apply").lock(["customer:1"])).rejects.toThrow(/inside a transaction/);
  });

  it("runs a statement with the locks and commits with the last one, values written in exactly as bound ones", async () => {
    const shopId = await shopIdOf();
    const at = new Date("2026-11-27T10:00:00.123Z");
    const awkward = [`o'neil`, `back\\slash "quoted"`, null, "a,b {c}", "NULL"];
    const hot = hotFor(prisma, "apply");
    const postgres = dialectOfClient(prisma) === "postgres";
    const { echoed, written } = await hot.transaction(async (tx) => {
      const [echoed] = (await tx.lock(
        ["k"],
        postgres
          ? {
              sql: `SELECT x AS "value" FROM unnest(CAST(? AS text[])) WITH ORDINALITY AS t(x, n) ORDER BY n`,
              params: [awkward],
            }
          : { sql: `SELECT ? AS "value"`, params: [awkward[0]] },
      )) as [{ value: string | null }[]];
      const written = await tx.commitWith<{ shopifyId: string }>(
        `INSERT INTO "Customer" ("shopId", "shopifyId", "email", "shopifyUpdatedAt", "acceptsEmailMarketing")
         VALUES (?, ?, ?, ?, ?) RETURNING "shopifyId"`,
        [shopId, awkward[1], null, at, true],
      );
      return { echoed, written };
    });
    // SQLite has no arrays: it echoes one value.
    expect(echoed.map((r) => r.value)).toEqual(postgres ? awkward : [awkward[0]]);
    expect(written.map((r) => r.shopifyId)).toEqual([awkward[1]]);
    const row = await prisma.customer.findFirstOrThrow({ where: { shopId } });
    expect(row).toMatchObject({ shopifyId: awkward[1], email: null, acceptsEmailMarketing: true });
    expect(row.shopifyUpdatedAt.toISOString()).toBe(at.toISOString());
  });
});
