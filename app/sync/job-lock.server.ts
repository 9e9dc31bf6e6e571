/**
 * One process at a time for a shop's background job (its backfill or reconciliation, a segment
 * push, a sweep, a pool refill), across every app instance that shares the database.
 *
 * PostgreSQL: a session-level advisory lock, `pg_try_advisory_lock(hashtext('slice-job'),
 * hashtext(name))`, held on a connection of its own (one per process, outside Prisma's pool, so
 * the lock stays with the session that took it) for as long as the job runs. A process that dies
 * loses its connection and with it the lock, so another instance takes the job over at its next
 * pass. SQLite has one app process (one writer): an in-process set is enough, as before.
 *
 * The two-key form keeps these locks apart from the inbox's one-key entity locks.
 */
import pg from "pg";
import type { PrismaClient } from "@prisma/client";
import { dialectOf } from "../db-url";
import { urlOf } from "../db-hot.server";

export interface JobLocks {
  /**
   * Runs `job` unless another process (or this one) is running the job of that name; says whether
   * it ran. The job's own error is thrown after the lock is released.
   */
  run(name: string, job: () => Promise<void>): Promise<boolean>;
  close(): Promise<void>;
}

const NAMESPACE = "slice-job";

class ProcessJobLocks implements JobLocks {
  protected readonly active = new Set<string>();

  async run(name: string, job: () => Promise<void>): Promise<boolean> {
    if (this.active.has(name)) return false;
    this.active.add(name);
    try {
      if (!(await this.acquire(name))) return false;
      try {
        await job();
      } finally {
        await this.releaseLock(name);
      }
      return true;
    } finally {
      this.active.delete(name);
    }
  }

  protected async acquire(name: string): Promise<boolean> {
    void name;
    return true;
  }

  protected async releaseLock(name: string): Promise<void> {
    void name;
  }

  async close(): Promise<void> {}
}

class AdvisoryJobLocks extends ProcessJobLocks {
  private client: Promise<pg.Client> | null = null;

  constructor(private readonly url: string) {
    super();
  }

  private connection(): Promise<pg.Client> {
    this.client ??= (async () => {
      const client = new pg.Client({ connectionString: this.url });
      // A lost connection has lost its locks too: the next job connects again.
      client.on("error", () => (this.client = null));
      client.on("end", () => (this.client = null));
      await client.connect();
      return client;
    })().catch((error: unknown) => {
      this.client = null;
      throw error;
    });
    return this.client;
  }

  protected override async acquire(name: string): Promise<boolean> {
    const client = await this.connection();
    const { rows } = await client.query<{ ok: boolean }>(
      "SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok",
      [NAMESPACE, name],
    );
    return rows[0]?.ok === true;
  }

  protected override async releaseLock(name: string): Promise<void> {
    const client = await this.connection();
    await client.query("SELECT pg_advisory_unlock(hashtext($1), hashtext($2))", [NAMESPACE, name]);
  }

  override async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await (await client).end().catch(() => {});
  }
}

const locks = new Map<string, JobLocks>();

/** The job locks of the database this client uses (one set per database and process). */
export function jobLocksFor(db: PrismaClient): JobLocks {
  const url = urlOf(db);
  let found = locks.get(url);
  if (!found) {
    found = dialectOf(url) === "postgres" ? new AdvisoryJobLocks(url) : new ProcessJobLocks();
    locks.set(url, found);
  }
  return found;
}

/** A fresh, unshared set (tests stand for a second process with it). */
export function newJobLocks(url: string): JobLocks {
  return dialectOf(url) === "postgres" ? new AdvisoryJobLocks(url) : new ProcessJobLocks();
}

/** Closes every set's connection (the runtime when it stops, tests). */
export async function closeJobLocks(): Promise<void> {
  const open = [...locks.values()];
  locks.clear();
  await Promise.all(open.map((l) => l.close()));
}
