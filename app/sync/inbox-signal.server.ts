/**
 * "Something new is in the inbox", across processes (PostgreSQL): intake, after a statement that
 * recorded at least one new event committed, sends `NOTIFY slice_inbox`; every process running a
 * worker holds one dedicated connection that `LISTEN`s and wakes its worker at once. A web
 * instance with `SLICE_WORKER=0` and a separate `npm run worker` therefore apply a delivery within
 * milliseconds, not at the worker's next poll.
 *
 * Polling stays the safety net (retries come due by time, and a notification sent while the
 * listener was down is lost): the worker polls every 5 s while the listener is up; while it is
 * down (the connection dropped: a restart, a failover, an idle timeout), the listener wakes the
 * worker every second itself, reconnects with backoff, and wakes it once more when it is back,
 * so nothing recorded meanwhile waits.
 *
 * SQLite has one app process: intake wakes the worker in-process (runtime.server.ts), as before.
 */
import pg from "pg";
import type { HotQueries } from "../db-hot.server";

export const INBOX_CHANNEL = "slice_inbox";
/** The listener's connection, by name in pg_stat_activity. */
export const LISTENER_NAME = "slice-inbox-listen";

/** Tells every listening process that new events were recorded (PostgreSQL; nothing on SQLite). */
export async function signalInbox(q: HotQueries): Promise<void> {
  if (q.dialect !== "postgres") return;
  // The events are committed already: a lost notification only delays them to the next poll.
  await q
    .rows(`SELECT pg_notify('${INBOX_CHANNEL}', '')`)
    .catch((error: Error) => console.error("inbox: NOTIFY failed (workers will poll):", error.message));
}

export interface ListenOptions {
  /** While the listener is down, wake the worker this often (ms): polling as if there were no LISTEN. */
  pollWhileDownMs?: number;
  /** First reconnect delay (ms), doubled after each failure up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

export interface InboxListener {
  /** True while the LISTEN connection is up. */
  readonly listening: boolean;
  /** Resolves once the first LISTEN is in place (or rejects after the first attempt failed; it keeps retrying). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** One LISTEN connection calling `wake` for each notification; reconnects by itself. */
export function listenForInbox(url: string, wake: () => void, options: ListenOptions = {}): InboxListener {
  const { pollWhileDownMs = 1000, retryMs = 250, maxRetryMs = 10_000 } = options;
  let client: pg.Client | null = null;
  let listening = false;
  let closed = false;
  let delay = retryMs;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let pollTimer: NodeJS.Timeout | null = null;

  const down = () => {
    listening = false;
    if (!pollTimer && !closed) {
      pollTimer = setInterval(wake, pollWhileDownMs);
      pollTimer.unref();
    }
  };
  const up = () => {
    listening = true;
    delay = retryMs;
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  };

  const lost = (c: pg.Client, why: string) => {
    if (client !== c || closed) return;
    client = null;
    console.error(`inbox listener: connection lost (${why}); polling until it is back`);
    down();
    c.end().catch(() => {});
    schedule();
  };

  const schedule = () => {
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect().catch(() => {});
    }, delay);
    reconnectTimer.unref();
    delay = Math.min(maxRetryMs, delay * 2);
  };

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, application_name: LISTENER_NAME });
    c.on("error", (error) => lost(c, error.message));
    c.on("end", () => lost(c, "closed by the server"));
    c.on("notification", (message) => {
      if (message.channel === INBOX_CHANNEL) wake();
    });
    client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${INBOX_CHANNEL}`);
    } catch (error) {
      if (client === c) {
        client = null;
        c.end().catch(() => {});
        down();
        schedule();
      }
      throw error;
    }
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    const wasDown = pollTimer !== null;
    up();
    // Whatever was recorded while nobody listened is applied now, not at the next poll.
    if (wasDown) wake();
  };

  down();
  const ready = connect();
  ready.catch((error: Error) => console.error("inbox listener: cannot LISTEN yet:", error.message));

  return {
    get listening() {
      return listening;
    },
    ready,
    async close() {
      closed = true;
      listening = false;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      if (pollTimer) clearInterval(pollTimer);
      reconnectTimer = pollTimer = null;
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
