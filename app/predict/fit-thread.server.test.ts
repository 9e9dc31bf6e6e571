/**
 * The fit off the app's thread (fit-thread.server.ts): on SQLite a thread of its own with its own
 * connection reads, fits and writes, and gives the same predictions as the fit on the app's thread;
 * the app's own transactions keep working while it writes. On PostgreSQL `offThread` is the fit as
 * before (the background work already has threads of its own): the same tests pass there too.
 */
import { beforeAll, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import prisma from "../db.server";
import { hotFor, urlOf } from "../db-hot.server";
import { sqlitePath } from "../db-url";
import { takeTurns } from "../sqlite-turns.server";
import { drawOrders, writeDrawnShop } from "../../dev/testing/predict-shop";
import { fitShop } from "./fit.server";

const NOW = new Date("2026-11-25T12:00:00Z");

async function shop(domain: string) {
  const { id } = await prisma.shop.create({ data: { domain, backfillStatus: "done" } });
  await prisma.session.create({
    data: {
      id: `offline_${domain}`,
      shop: domain,
      state: "",
      isOnline: false,
      scope: "read_orders,read_all_orders,read_customers",
      accessToken: "t",
    },
  });
  return id;
}

/** A shop's prediction rows, without the fit's id (two fits give two ids). */
async function predictions(shopId: number) {
  const rows = await prisma.customerPrediction.findMany({
    where: { shopId },
    orderBy: { customerId: "asc" },
  });
  return rows.map(({ fitId, ...rest }) => (void fitId, rest));
}

describe("the fit on a thread of its own", () => {
  const customers = 800;
  let shopId = 0;
  beforeAll(async () => {
    shopId = await shop("threaded.myshopify.com");
    const params = { r: 0.5, alpha: 40, a: 0.6, b: 2.5 };
    const orders = drawOrders({ customers, params, now: NOW, days: 730, acquisitionDays: 600, seed: 5 });
    await writeDrawnShop(prisma, shopId, customers, orders);
  });

  it("gives every customer the same predictions as the fit on the app's thread, in many short transactions", async () => {
    const here = await fitShop(prisma, shopId, NOW);
    expect(here.fit.status, here.fit.message ?? "").toBe("ready");
    const before = await predictions(shopId);
    expect(before).toHaveLength(customers);

    // 0.05 ms a transaction: a few dozen rows each, so the turn-taking runs many times.
    const lines: string[] = [];
    const off = await fitShop(prisma, shopId, NOW, {
      offThread: true,
      writeHoldMs: 0.05,
      log: (l) => lines.push(l),
    });
    expect(off.fit.status, off.fit.message ?? "").toBe("ready");
    expect(off.fit.models).toEqual(here.fit.models);
    expect(off.fit.tiers).toEqual(here.fit.tiers);
    expect(off.fit.calibration).toEqual(here.fit.calibration);
    expect(off.predictions).toBe(customers);
    expect(await predictions(shopId)).toEqual(before);
    const fitIds = await prisma.customerPrediction.groupBy({
      by: ["fitId"],
      where: { shopId },
      _count: true,
    });
    expect(fitIds).toEqual([{ fitId: off.fit.id, _count: customers }]);
    // The thread's log lines reach the caller.
    expect(lines.some((l) => l.startsWith("summaries: 800 customers"))).toBe(true);
    if (hotFor(prisma).dialect === "sqlite") expect(off.writes!.chunks).toBeGreaterThan(5);
  });

  it("removes the rows of customers it no longer covers", async () => {
    const [gone] = await prisma.customer.findMany({ where: { shopId }, take: 1, orderBy: { id: "asc" } });
    await prisma.order.deleteMany({ where: { shopId, customerShopifyId: gone.shopifyId } });
    const off = await fitShop(prisma, shopId, NOW, { offThread: true });
    expect(off.fit.status).toBe("ready");
    expect(off.predictions).toBe(customers - 1);
    expect(await prisma.customerPrediction.findUnique({ where: { customerId: gone.id } })).toBeNull();
    expect(await prisma.customerPrediction.count({ where: { shopId } })).toBe(customers - 1);
  });

  it("never refuses a transaction of the app's thread that reads, then writes, while it writes", async () => {
    // The pattern SQLite refuses at once (SQLITE_BUSY_SNAPSHOT) when another connection commits
    // between the read and the write: the fit's thread takes its turn with the app's transactions.
    const hot = hotFor(prisma, "apply");
    let running = true;
    let done = 0;
    const failures: string[] = [];
    const app = (async () => {
      while (running) {
        try {
          await hot.transaction(async (tx) => {
            const [row] = await tx.rows<{ n: number }>(
              `SELECT COUNT(*) AS "n" FROM "CustomerPrediction" WHERE "shopId" = ?`,
              [shopId],
            );
            await new Promise((resolve) => setTimeout(resolve, 1));
            await tx.run(`UPDATE "Shop" SET "backfillStatus" = ? WHERE "id" = ?`, [
              Number(row.n) >= 0 ? "done" : "none",
              shopId,
            ]);
          });
          done++;
        } catch (error) {
          failures.push((error as Error).message);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const off = await fitShop(prisma, shopId, NOW, { offThread: true, writeHoldMs: 0.05 });
    running = false;
    await app;
    expect(off.fit.status, off.fit.message ?? "").toBe("ready");
    expect(failures).toEqual([]);
    expect(done).toBeGreaterThan(0);
  });

  it("in the server's layout (write turns, every transaction IMMEDIATE) fits from the background thread while the HTTP thread's writes go first", async () => {
    if (hotFor(prisma).dialect !== "sqlite") return;
    expect((await fitShop(prisma, shopId, NOW)).fit.status).toBe("ready");
    const before = await predictions(shopId);
    const state = new Int32Array(new SharedArrayBuffer(8));
    // The HTTP thread: short write transactions that take their turn first, while the fit runs.
    const http = new Database(sqlitePath(urlOf(prisma)), { timeout: 10_000 });
    takeTurns(http, { role: "first", state });
    let writes = 0;
    const failures: string[] = [];
    const writer = setInterval(() => {
      try {
        http.prepare("BEGIN").run();
        http.prepare(`DELETE FROM "CustomerPrediction" WHERE "customerId" = -1`).run();
        http.prepare("COMMIT").run();
        writes++;
      } catch (error) {
        failures.push((error as Error).message);
        if (http.inTransaction) http.prepare("ROLLBACK").run();
      }
    }, 2);
    const tsx = createRequire(import.meta.url).resolve("tsx/cjs/api");
    const program = path.join(import.meta.dirname, "fit-thread.test-thread.ts");
    const thread = new Worker(
      `require(${JSON.stringify(tsx)}).require(${JSON.stringify(program)}, ${JSON.stringify(program)});`,
      { eval: true, workerData: { state, shopId, now: NOW.toISOString() } },
    );
    const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
      thread.once("message", resolve);
      thread.once("error", reject);
    });
    clearInterval(writer);
    http.close();
    await thread.terminate();
    expect(result.error).toBeUndefined();
    expect(result.status, String(result.message)).toBe("ready");
    expect(result.chunks).toBeGreaterThan(5);
    expect(await predictions(shopId)).toEqual(before);
    expect(failures).toEqual([]);
    expect(writes).toBeGreaterThan(0);
    // Every turn taken was given back: the HTTP thread waits for no one now.
    expect([...state]).toEqual([0, 0]);
  });
});
