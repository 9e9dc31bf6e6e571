/**
 * Applies prisma/migrations (SQLite) or prisma/postgres/migrations (PostgreSQL) in order and
 * records each in `_prisma_migrations`, as `prisma migrate deploy` would. One mechanism for both
 * databases, because Prisma 6's JS-engine `migrate deploy` does not run on PostgreSQL offline.
 *
 *   tsx prisma/migrate.ts            migrate the database named by DATABASE_URL
 */
import Database from "better-sqlite3";
import pg from "pg";
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dialectOf, sqlitePath, type Dialect } from "../app/db-url";

const here = path.dirname(fileURLToPath(import.meta.url));

export { dialectOf, sqlitePath, type Dialect };

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

function migrations(dialect: Dialect): Migration[] {
  const dir =
    dialect === "sqlite" ? path.join(here, "migrations") : path.join(here, "postgres", "migrations");
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

const LEDGER = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMP,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMP,
  "started_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

function checkApplied(applied: Map<string, string>, all: Migration[]): void {
  for (const m of all) {
    const sum = applied.get(m.name);
    if (sum && sum !== m.checksum)
      throw new Error(`migration ${m.name} was changed after it was applied to this database`);
  }
}

/** Applies what is missing; returns the names applied. */
export async function migrate(url: string): Promise<string[]> {
  const dialect = dialectOf(url);
  const all = migrations(dialect);
  const done: string[] = [];
  if (dialect === "sqlite") {
    const file = sqlitePath(url);
    mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    try {
      db.pragma("journal_mode = WAL");
      db.exec(LEDGER);
      const rows = db
        .prepare(`SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL`)
        .all() as { migration_name: string; checksum: string }[];
      const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
      checkApplied(applied, all);
      for (const m of all.filter((m) => !applied.has(m.name))) {
        db.transaction(() => {
          db.exec(m.sql);
          db.prepare(
            `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES (?, ?, CURRENT_TIMESTAMP, ?, 1)`,
          ).run(randomUUID(), m.checksum, m.name);
        })();
        done.push(m.name);
      }
    } finally {
      db.close();
    }
    return done;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // One migrator at a time, even with several app instances starting together.
    await client.query("SELECT pg_advisory_lock(727274)");
    await client.query(LEDGER);
    const { rows } = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL`,
    );
    const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
    checkApplied(applied, all);
    for (const m of all.filter((m) => !applied.has(m.name))) {
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ($1, $2, CURRENT_TIMESTAMP, $3, 1)`,
          [randomUUID(), m.checksum, m.name],
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${m.name} failed: ${(error as Error).message}`);
      }
      done.push(m.name);
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock(727274)").catch(() => {});
    await client.end();
  }
  return done;
}

const invokedDirectly = process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]);
if (invokedDirectly) {
  migrate(process.env.DATABASE_URL ?? "file:./dev.sqlite").then(
    (applied) => console.log(applied.length ? `applied ${applied.join(", ")}` : "database is up to date"),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
