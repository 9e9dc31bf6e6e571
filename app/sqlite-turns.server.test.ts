/**
 * SQLite write turns between two threads (sqlite-turns.server.ts): the HTTP thread's transaction
 * waits for at most the one background transaction already running, never for a run of them, and
 * a transaction that reads before it writes is never refused while the other thread writes.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { takeTurns, writeTurn } from "./sqlite-turns.server";

const dir = mkdtempSync(path.join(os.tmpdir(), "slice-turns-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A thread running sqlite-turns.test-thread.ts (through tsx, as the tests run TypeScript). */
function background(workerData: Record<string, unknown>): Promise<{ held: number[]; errors: string[] }> {
  const tsx = createRequire(import.meta.url).resolve("tsx/cjs/api");
  const program = path.join(import.meta.dirname, "sqlite-turns.test-thread.ts");
  const thread = new Worker(
    `require(${JSON.stringify(tsx)}).require(${JSON.stringify(program)}, ${JSON.stringify(program)});`,
    { eval: true, workerData },
  );
  return new Promise((resolve, reject) => {
    thread.once("message", resolve);
    thread.once("error", reject);
  });
}

interface Run {
  waits: number[];
  errors: string[];
  backgroundHeld: number[];
  backgroundErrors: string[];
}

/** A new WAL database with the one table both threads write; its path. */
function scratchDatabase(name: string): string {
  const file = path.join(dir, `${name}.sqlite`);
  const setup = new Database(file);
  setup.pragma("journal_mode = WAL");
  setup.exec(`CREATE TABLE "t" ("id" INTEGER PRIMARY KEY, "who" TEXT NOT NULL)`);
  setup.close();
  return file;
}

/** 30 intake-like transactions (read, then write) every 15 ms while the thread writes back to back. */
async function run(name: string, turns: boolean): Promise<Run> {
  const file = scratchDatabase(name);
  const state = new Int32Array(new SharedArrayBuffer(8));
  const db = new Database(file, { timeout: 10_000 });
  if (turns) takeTurns(db, { role: "first", state });
  const thread = background({ file, state, turns, holdMs: 20, forMs: 1_200 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const waits: number[] = [];
  const errors: string[] = [];
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 15));
    const started = performance.now();
    try {
      db.prepare("BEGIN").run();
      db.prepare(`SELECT COUNT(*) FROM "t"`).get();
      db.prepare(`INSERT INTO "t" ("who") VALUES ('intake')`).run();
      db.prepare("COMMIT").run();
      waits.push(performance.now() - started);
    } catch (error) {
      errors.push((error as Error).message);
      if (db.inTransaction) db.prepare("ROLLBACK").run();
    }
  }
  const { held, errors: backgroundErrors } = await thread;
  db.close();
  return { waits, errors, backgroundHeld: held, backgroundErrors };
}

describe("SQLite write turns between the HTTP thread and the background thread", () => {
  it("a webhook's write waits for at most the one background transaction running, and none is refused", async () => {
    const { waits, errors, backgroundHeld, backgroundErrors } = await run("turns", true);
    expect(errors).toEqual([]);
    expect(backgroundErrors).toEqual([]);
    expect(waits).toHaveLength(30);
    // The background thread kept writing, back to back, throughout.
    expect(backgroundHeld.length).toBeGreaterThan(10);
    // Never longer than the longest background transaction (plus its own statements).
    expect(Math.max(...waits)).toBeLessThan(Math.max(...backgroundHeld) + 15);
  });

  it("without turns the same load refuses transactions that read before they write (what the turns prevent)", async () => {
    const { errors, backgroundErrors } = await run("plain", false);
    expect([...errors, ...backgroundErrors].some((e) => /locked|busy/i.test(e))).toBe(true);
  });

  it("intake awaits its turn without blocking the HTTP thread, and the background thread starts nothing meanwhile", async () => {
    const file = scratchDatabase("awaited");
    const state = new Int32Array(new SharedArrayBuffer(8));
    const db = new Database(file, { timeout: 10_000 });
    takeTurns(db, { role: "first", state });
    globalThis.sliceWriteTurns = { role: "first", state };
    try {
      // Transactions of 150 ms, back to back, for 1 s.
      const thread = background({ file, state, turns: true, holdMs: 150, forMs: 1_000 });
      while (Atomics.load(state, 1) !== 1) await new Promise((resolve) => setTimeout(resolve, 1));
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      const started = performance.now();
      const release = await writeTurn();
      const waited = performance.now() - started;
      clearInterval(ticker);
      // The thread's transaction was over, and none started after it while this thread waited.
      expect(Atomics.load(state, 1)).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(Atomics.load(state, 1)).toBe(0);
      db.prepare("BEGIN").run();
      db.prepare(`INSERT INTO "t" ("who") VALUES ('intake')`).run();
      db.prepare("COMMIT").run();
      release();
      // This thread's event loop kept turning while it waited.
      expect(waited).toBeGreaterThan(20);
      expect(ticks).toBeGreaterThan(waited / 5 / 3);
      const { held, errors } = await thread;
      expect(errors).toEqual([]);
      expect(held.length).toBeGreaterThan(1);
    } finally {
      globalThis.sliceWriteTurns = undefined;
      db.close();
    }
  });
});
