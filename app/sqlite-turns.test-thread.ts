/**
 * The background thread of sqlite-turns.server.test.ts: write transactions back to back on its own
 * connection, each reading first and busy for `holdMs`, taking turns as the server's background
 * thread does (`turns: false`: plain transactions, what SQLite alone would do).
 */
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { takeTurns } from "./sqlite-turns.server";

const { file, state, turns, holdMs, forMs } = workerData as {
  file: string;
  state: Int32Array;
  turns: boolean;
  holdMs: number;
  forMs: number;
};
const db = new Database(file, { timeout: 10_000 });
if (turns) takeTurns(db, { role: "after", state });
const held: number[] = [];
const errors: string[] = [];
const until = Date.now() + forMs;
while (Date.now() < until) {
  try {
    db.prepare("BEGIN").run();
    const started = performance.now();
    db.prepare(`SELECT COUNT(*) FROM "t"`).get();
    while (performance.now() - started < holdMs); // the apply's work, holding the write
    db.prepare(`INSERT INTO "t" ("who") VALUES ('background')`).run();
    db.prepare("COMMIT").run();
    held.push(performance.now() - started);
  } catch (error) {
    errors.push((error as Error).message);
    if (db.inTransaction) db.prepare("ROLLBACK").run();
  }
}
db.close();
parentPort!.postMessage({ held, errors });
