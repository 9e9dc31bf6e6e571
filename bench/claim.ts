/**
 * The inbox's claim (`claimDue`, app/sync/inbox.server.ts) against the size of the backlog, on
 * SQLite: `npx tsx bench/claim.ts`. A fresh migrated database holds DONE applied events and a
 * backlog of pending ones; each claim takes 50 (the worker's batch while intake is busy) and the
 * next claim finds the rest. Quoted: CPU time of this process per claim (SQLite runs in process),
 * so a busy machine does not move it much. "before" is the claim as it was, "now" as it is (the app's `claimDue` is checked to claim the same events) (candidates ordered by
 * id: every due event gathered and sorted per claim), "now" the index-ordered claim.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPrismaClient } from "../app/db.server";
import { closeHot } from "../app/db-hot.server";
import { claimDue } from "../app/sync/inbox.server";
import { migrate } from "../prisma/migrate";

const BEFORE = `UPDATE "WebhookEvent" SET "status" = 'processing', "lockedUntil" = ?
    WHERE "id" IN (
      SELECT "id" FROM (
        SELECT "id" FROM (
          SELECT "id" FROM "WebhookEvent"
          WHERE "status" IN ('pending', 'failed') AND "nextAttemptAt" <= ?
          ORDER BY "id" LIMIT ?
        ) AS due
        UNION ALL
        SELECT "id" FROM (
          SELECT "id" FROM "WebhookEvent"
          WHERE "status" = 'processing' AND "lockedUntil" < ?
          ORDER BY "id" LIMIT ?
        ) AS expired
      ) AS candidates
      ORDER BY "id" LIMIT ?
    )
    RETURNING "id", "shopDomain", "topic", "payload", "triggeredAt", "attempts", "lockedUntil"`;

/** The claim as app/sync/inbox.server.ts has it now (held equal to it by the "same events" column). */
const NOW = `UPDATE "WebhookEvent" SET "status" = 'processing', "lockedUntil" = ?
    WHERE "id" IN (
      SELECT "id" FROM (
        SELECT "id" FROM (
          SELECT "id" FROM "WebhookEvent"
          WHERE "status" = 'pending' AND "nextAttemptAt" <= ?
          ORDER BY "nextAttemptAt", "id" LIMIT ?
        ) AS due
        UNION ALL
        SELECT "id" FROM (
          SELECT "id" FROM "WebhookEvent"
          WHERE "status" = 'failed' AND "nextAttemptAt" <= ?
          ORDER BY "nextAttemptAt", "id" LIMIT ?
        ) AS retries
        UNION ALL
        SELECT "id" FROM (
          SELECT "id" FROM "WebhookEvent"
          WHERE "status" = 'processing' AND "lockedUntil" < ?
          ORDER BY "lockedUntil", "id" LIMIT ?
        ) AS expired
      ) AS candidates
      ORDER BY "id" LIMIT ?
    )
    RETURNING "id", "shopDomain", "topic", "payload", "triggeredAt", "attempts", "lockedUntil"`;

const DONE = Number(process.env.SLICE_BENCH_DONE ?? 500_000);
const BATCH = 50;
const dir = mkdtempSync(path.join(os.tmpdir(), "slice-bench-claim-"));

async function fresh(backlog: number): Promise<string> {
  const file = path.join(dir, `claim-${backlog}.sqlite`);
  rmSync(file, { force: true });
  await migrate(`file:${file}`);
  const raw = new Database(file);
  raw.pragma("synchronous = NORMAL");
  const insert =
    raw.prepare(`INSERT INTO "WebhookEvent" ("shopDomain", "topic", "eventId", "webhookId", "payload",
    "status", "attempts", "deliveries", "nextAttemptAt", "receivedAt", "processedAt") VALUES (?, 'orders/create', ?, ?, '{}', ?, 0, 1, ?, ?, ?)`);
  const start = Date.now() - 3_600_000;
  raw.transaction(() => {
    for (let i = 0; i < DONE + backlog; i++) {
      const done = i < DONE;
      const at = start + Math.floor(i / 10);
      insert.run(
        "bench.myshopify.com",
        `e${i}`,
        `w${i}`,
        done ? "done" : "pending",
        at,
        at,
        done ? at : null,
      );
    }
  })();
  raw.pragma("wal_checkpoint(TRUNCATE)");
  raw.close();
  return `file:${file}`;
}

const lines: string[] = [];
const out = (line: string) => {
  lines.push(line);
  console.log(line);
};
out(
  `claim of ${BATCH} at a backlog of N pending events, ${DONE.toLocaleString("en")} done events beside them; load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
out("backlog   before: CPU ms a claim (wall)   now: CPU ms a claim (wall)   same events claimed");
for (const backlog of [1_000, 10_000, 40_000, 100_000]) {
  const url = await fresh(backlog);
  const db = createPrismaClient(url);
  await db.$connect();
  const raw = new Database(url.slice(5));
  raw.pragma("busy_timeout = 10000");
  const now = new Date();
  const lease = now.getTime() + 300_000;
  const t = now.getTime();
  const measure = (sql: string, params: number[]) => {
    const statement = raw.prepare(sql);
    let cpu = 0;
    let wall = 0;
    let first: number[] = [];
    // 21 claims, the first (warming the cache) not counted; each rolled back: all see the same backlog.
    for (let i = 0; i <= 20; i++) {
      raw.exec("BEGIN");
      const started = performance.now();
      const used = process.cpuUsage();
      const rows = statement.all(...params) as { id: number }[];
      const d = process.cpuUsage(used);
      if (i > 0) {
        cpu += (d.user + d.system) / 1000;
        wall += performance.now() - started;
      } else first = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
      raw.exec("ROLLBACK");
    }
    return { cpu: cpu / 20, wall: wall / 20, first };
  };
  const b = measure(BEFORE, [lease, t, BATCH, t, BATCH, BATCH]);
  const n = measure(NOW, [lease, t, BATCH, t, BATCH, t, BATCH, BATCH]);
  raw.close();
  // The app's claimDue claims these very events.
  const claimed = (await claimDue(db, BATCH, now)).map((c) => c.id);
  const same =
    JSON.stringify(b.first) === JSON.stringify(n.first) &&
    JSON.stringify(n.first) === JSON.stringify(claimed);
  const [beforeCpu, beforeWall, nowCpu, nowWall] = [b.cpu * 20, b.wall * 20, n.cpu * 20, n.wall * 20];
  out(
    `${backlog.toString().padStart(7)}   ${(beforeCpu / 20).toFixed(3).padStart(8)} (${(beforeWall / 20).toFixed(3)})${" ".repeat(14)}${(nowCpu / 20).toFixed(3).padStart(8)} (${(nowWall / 20).toFixed(3)})${" ".repeat(12)}${same ? "yes" : "NO"}`,
  );
  await db.$disconnect();
  await closeHot();
}
rmSync(dir, { recursive: true, force: true });
