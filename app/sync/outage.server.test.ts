/**
 * The database unavailable for a few seconds while the real server (`node build/server.mjs`)
 * receives and applies webhooks. PostgreSQL: every connection of the app's database cut and new
 * ones refused. SQLite: another connection holds the write lock for longer than the app's busy
 * timeout (SQLITE_BUSY). A delivery the app could not store must not get a 2xx (Shopify retries
 * it); the process keeps running; after recovery everything is applied, the copy equal to the store.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import pg from "pg";
import prisma, { databaseUrl, dialect } from "../db.server";
import { sqlitePath } from "../db-url";
import { hotFor } from "../db-hot.server";
import { generateStore } from "../../dev/store";
import { deliveryPlan, type WebhookLine } from "../../dev/webhooks";
import { heldPicture, pictureDifferences, storePicture } from "../../dev/testing/compare";
import {
  acknowledged,
  deliverUntilAcknowledged,
  sendAll,
  startAppServer,
  waitForDrain,
  type AppServer,
  type DeliveryResult,
} from "../../dev/testing/app-server";

const running: AppServer[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
});
afterAll(() => prisma.$disconnect());

/** Makes the app's database unavailable; resolves once it is; the returned function ends it. */
type Outage = () => Promise<() => Promise<void>>;

const postgresOutage: Outage = async () => {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = "/postgres";
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
  await admin.query(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [name],
  );
  return async () => {
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    await admin.end();
  };
};

const sqliteOutage: Outage = async () => {
  // Held (by the caller) for longer than the app's busy timeout (10 s, db.server.ts): its writes
  // fail with SQLITE_BUSY.
  const other = new Database(sqlitePath(databaseUrl));
  other.exec("BEGIN EXCLUSIVE");
  return async () => {
    other.exec("COMMIT");
    other.close();
  };
};

async function outageWhileReceiving(outage: Outage, holdMs: number): Promise<void> {
  const store = generateStore({ seed: 33, customers: 100, shop: "outage.myshopify.com" });
  const plan: WebhookLine[] = deliveryPlan(store.events, { duplicates: 0.1, reorder: 0.1, seed: 8 });
  const server = await startAppServer();
  running.push(server);
  const third = Math.floor(plan.length / 3);
  const results: (DeliveryResult | undefined)[] = await sendAll(server.url, plan.slice(0, third));
  // Cut while the worker is still applying the first third and the second third is arriving.
  const end = await outage();
  let refusedSoFar = 0;
  const during = sendAll(server.url, plan.slice(third, 2 * third), {
    concurrency: 4,
    onResult: (_, result) => void (acknowledged(result) || refusedSoFar++),
  });
  // At least `holdMs`, and until the app has had to refuse a delivery (on SQLite which of the
  // worker's and intake's statements meets the lock first varies), at most a minute.
  const started = Date.now();
  while (Date.now() - started < holdMs || (refusedSoFar === 0 && Date.now() - started < 60_000))
    await new Promise((resolve) => setTimeout(resolve, 100));
  await end();
  results.push(...(await during));
  results.push(...(await sendAll(server.url, plan.slice(2 * third))));

  const answers = results.slice(third, 2 * third);
  const refused = answers.filter((r) => !acknowledged(r));
  // Not stored: a 5xx (retried by Shopify), never a 4xx (which Shopify would also retry, but
  // which says the request was wrong) and never a dropped connection from a crashed process.
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.filter((r) => !r || !("status" in r) || r.status < 500)).toEqual([]);
  expect(server.exited()).toBeNull();
  // Everything acknowledged is stored.
  const held = new Set(
    (await prisma.webhookEvent.findMany({ select: { eventId: true } })).map((e) => e.eventId),
  );
  expect(
    plan.filter((l, i) => acknowledged(results[i]) && !held.has(l.eventId!)).map((l) => l.eventId),
  ).toEqual([]);

  // Shopify retries the refused ones; after recovery everything is applied.
  const resent = await deliverUntilAcknowledged(server.url, plan, results);
  const final = await waitForDrain(prisma, store.events.length, 150_000, server);
  expect(final).toMatchObject({ failed: 0, dead: 0 });
  // Each acknowledged delivery counted once (one refused after its write committed may count twice).
  expect(final.deliveries).toBeGreaterThanOrEqual(plan.length);
  expect(final.deliveries).toBeLessThanOrEqual(plan.length + resent);
  const options = { checkouts: "all" as const, carts: true, products: false };
  const picture = await heldPicture(prisma, store.shop.domain, options);
  expect(pictureDifferences(picture, storePicture(store, options))).toEqual([]);
  expect(server.exited()).toBeNull();
  console.log(
    `${dialect}: ${refused.length} of ${answers.length} deliveries refused during the outage, ${resent} resent`,
  );
}

describe("the database briefly unavailable", () => {
  it.runIf(dialect === "postgres")(
    "answers 5xx while PostgreSQL refuses connections, keeps running, and applies everything after",
    { timeout: 240_000 },
    () => outageWhileReceiving(postgresOutage, 2500),
  );

  it.runIf(dialect === "postgres")(
    "keeps the process alive when the connections of its raw read pool are cut, and reads again after",
    async () => {
      // The pool behind segment facts and the storefront's decision (db-hot.server.ts): an idle
      // connection ended by the server must not become an unhandled 'error' event.
      const reader = hotFor(prisma);
      expect(await reader.rows<{ one: number }>("SELECT 1 AS one", [])).toEqual([{ one: 1 }]);
      const end = await postgresOutage();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await expect(reader.rows("SELECT 1 AS one", [])).rejects.toThrow();
      await end();
      expect(await reader.rows<{ one: number }>("SELECT 1 AS one", [])).toEqual([{ one: 1 }]);
    },
  );

  it.runIf(dialect === "sqlite")(
    "answers 5xx while another connection holds SQLite's write lock, keeps running, and applies everything after",
    { timeout: 240_000 },
    () => outageWhileReceiving(sqliteOutage, 12_000),
  );
});
