/**
 * "Something new is in the inbox", across processes (PostgreSQL): intake's statement that records
 * deliveries also sends `NOTIFY slice_inbox` (signalledInsert); every process running a
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

export const INBOX_CHANNEL = "slice_inbox";
/** The listener's connection, by name in pg_stat_activity. */
export const LISTENER_NAME = "slice-inbox-listen";

/**
 * PostgreSQL: an `INSERT … ON CONFLICT DO UPDATE … RETURNING` of inbox rows that also notifies
 * every listening process when it inserted a row, in the same statement (no round trip of its own
 * on the webhook's path). A repeat delivery only updates its row (its `xmax` is then set) and
 * notifies nobody. The notification goes out when the statement commits, once however many rows
 * it inserted (PostgreSQL folds identical notifications of a transaction), and not at all when it
 * rolls back. `insert` ends with its RETURNING list (one column is added to it).
 */
export function signalledInsert(insert: string): string {
  return `WITH "recorded" AS (${insert}, ("xmax" = 0) AS "inserted")
    SELECT "recorded".*, CASE WHEN "inserted" THEN pg_notify('${INBOX_CHANNEL}', '') IS NULL END AS "signalled"
      FROM "recorded"`;
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
