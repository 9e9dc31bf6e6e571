/**
 * SQLite's WAL checkpoints, off the thread that answers webhooks.
 *
 * By default SQLite checkpoints inside the COMMIT that takes the write-ahead log past 1,000 pages:
 * that commit copies the pages into the database file and syncs it before it returns. On SQLite
 * the server's one thread runs intake and the inbox worker on one connection (server.ts), so a
 * webhook's acknowledgement could wait behind a checkpoint of the worker's pages: measured on the
 * 1,000,000-customer flash sale, COMMITs of 60–200 ms on that thread, a few every second.
 *
 * Here the server's connection stops checkpointing itself (`wal_autocheckpoint = 0`) and a worker
 * thread with its own connection runs a PASSIVE checkpoint every `everyMs`: PASSIVE never waits
 * for the writer or the readers and they never wait for it, so commits on the main thread are
 * only the log's append again. Past RESTART_FRAMES the connection checkpoints its own commits
 * again until the log is rewound (see there), so the log stays bounded under a sale's steady writes. Durability is unchanged: a commit is in the log (synchronous =
 * NORMAL, db.server.ts) whether or not it has been copied into the database file yet.
 */
import type { PrismaClient } from "@prisma/client";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** The thread's whole program: its own connection, a PASSIVE checkpoint on a timer. */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true, timeout: 0 });
let rewinding = false;
const timer = setInterval(() => {
  try {
    const [{ log }] = db.pragma("wal_checkpoint(PASSIVE)");
    // Under steady writes the log is never wholly copied at the moment a writer starts, so it is
    // never rewound and grows. Past the bound the server's connection checkpoints its own commits
    // again until it has rewound the log (little is left to copy by then). Not a RESTART from
    // here: that takes the write lock, and a transaction that has already read (the worker's)
    // gets "database is locked" at once instead of waiting.
    if (!rewinding && log > workerData.restartFrames) {
      rewinding = true;
      parentPort.postMessage("rewind");
    } else if (rewinding && log < workerData.restartFrames / 4) {
      rewinding = false;
      parentPort.postMessage("rewound");
    }
  } catch (error) {
    // Busy (another checkpoint running) or the file gone at shutdown: the next tick tries again.
  }
}, workerData.everyMs);
parentPort.on("message", () => {
  clearInterval(timer);
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch {}
  db.close();
  process.exit(0);
});`;

/**
 * The log's length (pages, about 16 MB) past which the server's connection checkpoints its own
 * commits again until the log is rewound: a PASSIVE checkpoint from another connection copies the
 * pages but cannot rewind a log that writers keep appending to.
 */
const RESTART_FRAMES = 4000;

export interface Checkpoints {
  stop(): Promise<void>;
}

/**
 * Moves `db`'s checkpoints to a thread of their own (the SQLite file `file`); stop() gives the
 * connection its automatic checkpoints back.
 */
export async function startSqliteCheckpoints(
  db: PrismaClient,
  file: string,
  everyMs = 250,
  restartFrames = RESTART_FRAMES,
): Promise<Checkpoints> {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const thread = new Worker(THREAD, {
    eval: true,
    workerData: { driver, file, everyMs, restartFrames },
  });
  thread.unref();
  let stopping = false;
  thread.on("error", (error) => console.error("SQLite checkpoint thread failed:", error.message));
  // Should the thread end on its own, the connection checkpoints itself again: the log never grows unbounded.
  thread.once("exit", () => {
    if (!stopping) void db.$queryRawUnsafe("PRAGMA wal_autocheckpoint = 1000").catch(() => {});
  });
  await db.$queryRawUnsafe("PRAGMA wal_autocheckpoint = 0");
  thread.on("message", (message: string) => {
    if (stopping) return;
    const pages = message === "rewind" ? 1000 : 0;
    void db.$queryRawUnsafe(`PRAGMA wal_autocheckpoint = ${pages}`).catch(() => {});
  });
  return {
    async stop() {
      stopping = true;
      // Held until it has exited: unref'd, a process with nothing else to do would end while the
      // thread's last checkpoint ran (after a large write, seconds), and the caller's await with it.
      thread.ref();
      const exited = new Promise((resolve) => thread.once("exit", resolve));
      thread.postMessage("stop");
      await exited;
      await db.$queryRawUnsafe("PRAGMA wal_autocheckpoint = 1000").catch(() => {});
    },
  };
}
