/**
 * SQLite write turns between the threads of one process: the HTTP thread first.
 *
 * On SQLite the server runs its background work (the inbox worker, its membership pass, the
 * scheduler) on a thread of its own with its own connection (server.ts), so that applying never
 * holds the thread that acknowledges webhooks. SQLite still has one writer at a time. Left to
 * SQLite's busy handler, a waiting connection sleeps and polls (1, 2, 5, 10, 15, 20 … ms), and the
 * worker, which writes back to back, could take the lock again and again while intake sleeps.
 * Here both threads share a few integers (a SharedArrayBuffer):
 *
 * - the HTTP thread (`first`) counts itself waiting before each BEGIN, waits (Atomics.wait, woken
 *   the moment the other thread commits) only while the background thread holds a write, and is
 *   counted out again when its COMMIT or ROLLBACK ends the transaction;
 * - the background thread (`after`) does not BEGIN while the HTTP thread waits or writes, and says
 *   when it holds a write.
 *
 * So a webhook's INSERT waits at most for the one background transaction already running (the
 * worker keeps those short while webhooks arrive, worker.server.ts), never behind a queue of them.
 * Every BEGIN becomes `BEGIN IMMEDIATE`: with two writer connections a deferred transaction that
 * read first could not take the write lock later ("database is locked" at once, whatever the busy
 * timeout); an immediate one waits for it at its start. The integers are only the order of turns:
 * SQLite's own lock (and the busy timeout) still decides, so a thread that dies holding a turn
 * delays the other by at most `MAX_WAIT_MS`, never forever.
 */
import type Database from "better-sqlite3";

/** Node has Atomics.waitAsync (V8); TypeScript's lib names it from ES2024 on. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeout: number,
    ): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** Turns awaited ahead of their BEGIN on this thread (writeTurn), in order. */
const taken = new WeakMap<Int32Array, { begun: boolean }[]>();

/**
 * The HTTP thread's turn, awaited without blocking its event loop: resolves once the background
 * thread holds no write, and from then on keeps it from starting one; this thread's next BEGIN takes
 * the turn (sqlite's lock itself is taken there). Resolves to a release for when no transaction
 * follows (nothing to write, or a failure before BEGIN); it does nothing once BEGIN took the turn.
 * Without turns (PostgreSQL, tests, the background on the same thread) it resolves at once.
 * Intake (intake.server.ts) awaits it before it takes its batch, so that what arrives meanwhile
 * goes in the same INSERT.
 */
export async function writeTurn(): Promise<() => void> {
  const turns = globalThis.sliceWriteTurns;
  if (turns?.role !== "first" || !taken.has(turns.state)) return () => {};
  const { state } = turns;
  const turn = { begun: false };
  taken.get(state)!.push(turn);
  Atomics.add(state, WAITING, 1);
  const deadline = Date.now() + MAX_WAIT_MS;
  for (let holding; (holding = Atomics.load(state, HOLDING)) > 0 && Date.now() < deadline;) {
    const wait = waitAsync(state, HOLDING, holding, deadline - Date.now());
    if (wait.async) await wait.value;
  }
  return () => {
    if (turn.begun) return;
    turn.begun = true;
    const queue = taken.get(state)!;
    queue.splice(queue.indexOf(turn), 1);
    Atomics.sub(state, WAITING, 1);
    Atomics.notify(state, WAITING);
  };
}

export interface SqliteWriteTurns {
  /** `first`: the thread that answers HTTP; `after`: the background thread, which gives way. */
  role: "first" | "after";
  /**
   * Two integers on a SharedArrayBuffer (`new Int32Array(new SharedArrayBuffer(8))`, made by
   * server.ts): [0] the HTTP thread's transactions waiting or running; [1] the background
   * connections writing or about to (the background thread's, and a predictive fit's thread,
   * app/predict/fit-thread.server.ts, which takes its turns as an `after` connection too).
   */
  state: Int32Array;
}

const WAITING = 0;
const HOLDING = 1;
/** The longest one thread waits on the other's turn before it leaves the rest to SQLite's lock. */
const MAX_WAIT_MS = 10_000;

declare global {
  /** Set by server.ts in each thread before its first transaction when the turns are taken. */
  var sliceWriteTurns: SqliteWriteTurns | undefined;
}

/**
 * Makes `connection`'s transactions take turns with the other thread's (see above): its BEGIN
 * becomes BEGIN IMMEDIATE, preceded by the wait of `turns.role`; COMMIT and ROLLBACK end the turn.
 */
export function takeTurns(connection: Database.Database, turns: SqliteWriteTurns): void {
  const { role, state } = turns;
  const prepare = connection.prepare.bind(connection) as Database.Database["prepare"];
  const wrap = (
    statement: Database.Statement,
    before: () => void,
    after: () => void,
    orElse?: () => Database.RunResult,
  ) => {
    const run = statement.run;
    statement.run = function (this: Database.Statement, ...params: unknown[]) {
      before();
      try {
        return run.apply(this, params as never);
      } catch (error) {
        // BEGIN IMMEDIATE refused after the busy timeout (another process holds the lock): BEGIN
        // as SQLite alone would, so that the refusal comes from the transaction's first write,
        // which its caller rolls back (Prisma's adapter never releases its mutex when BEGIN
        // itself throws: every later transaction on the connection would wait forever).
        if (orElse && (error as { code?: string }).code?.startsWith("SQLITE_BUSY")) return orElse();
        throw error;
      } finally {
        // Ended (committed, rolled back) or never begun: the turn is over.
        if (!connection.inTransaction) after();
      }
    } as Database.Statement["run"];
    return statement;
  };
  let inTurn = false;
  taken.set(state, []);
  const start =
    role === "first"
      ? () => {
          // Counted already by the awaited turn (`writeTurn`), or now.
          const early = taken.get(state)!.shift();
          if (early) early.begun = true;
          else Atomics.add(state, WAITING, 1);
          inTurn = true;
          const deadline = Date.now() + MAX_WAIT_MS;
          for (let holding; (holding = Atomics.load(state, HOLDING)) > 0 && Date.now() < deadline;)
            Atomics.wait(state, HOLDING, holding, deadline - Date.now());
        }
      : () => {
          const deadline = Date.now() + MAX_WAIT_MS;
          for (;;) {
            const waiting = Atomics.load(state, WAITING);
            if (waiting <= 0 || Date.now() >= deadline) break;
            Atomics.wait(state, WAITING, waiting, 50);
          }
          Atomics.add(state, HOLDING, 1);
          inTurn = true;
        };
  const end = () => {
    if (!inTurn) return;
    inTurn = false;
    if (role === "first") {
      Atomics.sub(state, WAITING, 1);
      Atomics.notify(state, WAITING);
    } else {
      Atomics.sub(state, HOLDING, 1);
      Atomics.notify(state, HOLDING);
    }
  };
  connection.prepare = ((sql: string) => {
    if (sql === "BEGIN") return wrap(prepare("BEGIN IMMEDIATE"), start, end, () => prepare("BEGIN").run());
    // The background thread's turn ends as its COMMIT starts: the commit is an append to the log,
    // which the HTTP thread's BEGIN IMMEDIATE waits out in SQLite's busy handler, and a checkpoint
    // SQLite runs after it (while the log is being rewound, sqlite-checkpoint.server.ts) would
    // otherwise be waited for too, though it does not keep another connection from writing.
    if (sql === "COMMIT" || sql === "ROLLBACK")
      return wrap(prepare(sql), role === "after" ? end : () => {}, end);
    return prepare(sql);
  }) as Database.Database["prepare"];
}
