/**
 * SQLite's checkpoints on their own thread (sqlite-checkpoint.server.ts): the server's commits no
 * longer copy the log into the database file, yet the file still receives every commit, and the
 * connection checkpoints itself again once the thread is stopped.
 */
import Database from "better-sqlite3";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "./db.server";
import { closeHot, hotFor, insertMany, urlOf } from "./db-hot.server";
import { sqlitePath } from "./db-url";
import { startSqliteCheckpoints } from "./sqlite-checkpoint.server";

const SHOP = "checkpoints.myshopify.com";
const sqlite = dialectOfClient(prisma) === "sqlite";

afterAll(async () => {
  await prisma.shop.deleteMany({ where: { domain: SHOP } });
  await closeHot();
  await prisma.$disconnect();
});

/** The shop's customers in the database file read without its log (a copy of the file alone). */
function rowsInFileAlone(file: string, shopId: number): number {
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-checkpoint-"));
  try {
    copyFileSync(file, path.join(dir, "alone.sqlite"));
    const db = new Database(path.join(dir, "alone.sqlite"));
    try {
      return Number(
        (db.prepare(`SELECT COUNT(*) AS n FROM "Customer" WHERE "shopId" = ?`).get(shopId) as { n: number })
          .n,
      );
    } finally {
      db.close();
    }
  } catch {
    return -1; // copied mid-checkpoint: try again
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const autocheckpoint = async () =>
  Number(
    Object.values(
      (await prisma.$queryRawUnsafe<Record<string, unknown>[]>("PRAGMA wal_autocheckpoint"))[0],
    )[0],
  );

describe.skipIf(!sqlite)("SQLite checkpoints off the server's thread", () => {
  it("copies committed pages into the database file from its own thread while the server's connection never checkpoints, and hands checkpoints back when stopped", async () => {
    const file = sqlitePath(urlOf(prisma));
    const checkpoints = await startSqliteCheckpoints(prisma, file, 50);
    try {
      expect(await autocheckpoint()).toBe(0);
      const shop = await prisma.shop.create({ data: { domain: SHOP } });
      // About 2 MB of new rows: well past the 1,000 pages at which a commit would checkpoint.
      await hotFor(prisma, "apply").transaction((tx) =>
        insertMany(
          tx,
          "Customer",
          ["shopId", "shopifyId", "email", "firstName", "shopifyUpdatedAt"],
          Array.from({ length: 4000 }, (_, i) => [
            shop.id,
            `cp${i}`,
            `cp${i}@example.com`,
            "x".repeat(400),
            new Date(),
          ]),
        ),
      );
      // The commit only appended to the log; the thread copies it into the database file itself,
      // which alone (without its log) then holds the rows.
      let inFile = 0;
      for (let i = 0; i < 100 && inFile < 4000; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        inFile = rowsInFileAlone(file, shop.id);
      }
      expect(inFile).toBe(4000);
    } finally {
      await checkpoints.stop();
    }
    expect(await autocheckpoint()).toBe(1000);
  });

  it("keeps the log bounded under steady writes, and a transaction that reads before it writes never finds the database locked", async () => {
    const file = sqlitePath(urlOf(prisma));
    const checkpoints = await startSqliteCheckpoints(prisma, file, 10, 500);
    const hot = hotFor(prisma, "apply");
    let largest = 0;
    try {
      const shop = await prisma.shop.upsert({
        where: { domain: SHOP },
        create: { domain: SHOP },
        update: {},
      });
      // About 16 MB in 160 transactions, each reading first (as the worker's apply does), with the
      // event loop turning between them; the log may pass 500 pages (2 MB) only briefly.
      for (let t = 0; t < 160; t++) {
        await hot.transaction(async (tx) => {
          await tx.rows(`SELECT COUNT(*) AS n FROM "Customer" WHERE "shopId" = ?`, [shop.id]);
          await insertMany(
            tx,
            "Customer",
            ["shopId", "shopifyId", "email", "firstName", "shopifyUpdatedAt"],
            Array.from({ length: 200 }, (_, i) => [
              shop.id,
              `st${t}-${i}`,
              null,
              "y".repeat(400),
              new Date(),
            ]),
          );
        });
        largest = Math.max(largest, statSync(`${file}-wal`).size);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      await checkpoints.stop();
    }
    expect(largest).toBeLessThan(8 * 1024 * 1024);
  });
});
