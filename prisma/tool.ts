/**
 * Keeps the two databases in step from one schema.
 *
 *   tsx prisma/tool.ts generate          derive prisma/postgres/schema.prisma, generate both clients
 *   tsx prisma/tool.ts migration <name>  write the next migration for SQLite and PostgreSQL
 *   tsx prisma/tool.ts check             exit 1 if the PostgreSQL schema or migrations drifted
 *
 * Prisma 6 fixes the provider per schema and its JS-engine `migrate` does not run on PostgreSQL
 * offline, so `migrate diff` writes the SQL for both dialects and prisma/migrate.ts applies it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, copyFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const prismaBin = path.join(here, "..", "node_modules", "prisma", "build", "index.js");
const sqliteSchema = path.join(here, "schema.prisma");
const pgSchema = path.join(here, "postgres", "schema.prisma");
export const migrationDirs = {
  sqlite: path.join(here, "migrations"),
  postgres: path.join(here, "postgres", "migrations"),
};
const SNAPSHOT = "schema.snapshot.prisma";

export function derivePostgresSchema(source: string): string {
  const header =
    "// GENERATED from ../schema.prisma by `npm run db:generate`; edit that file, not this one.\n";
  const out = source
    .replace(/provider\s*=\s*"sqlite"/, 'provider = "postgresql"')
    .replace(/engineType = "client"\n/, 'engineType = "client"\n  output     = "./generated"\n');
  if (out === source) throw new Error("schema.prisma: could not find the sqlite datasource");
  return header + out;
}

function prisma(args: string[], config: "sqlite" | "postgres"): string {
  return execFileSync(
    process.execPath,
    [prismaBin, ...args, "--config", path.join(here, `${config}.config.ts`)],
    {
      cwd: here,
      encoding: "utf8",
      env: {
        ...process.env,
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
        CHECKPOINT_DISABLE: "1",
        DATABASE_URL:
          config === "sqlite"
            ? "file:./dev.sqlite"
            : (process.env.PG_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/slice"),
      },
    },
  );
}

function writePgSchema(): void {
  writeFileSync(pgSchema, derivePostgresSchema(readFileSync(sqliteSchema, "utf8")));
}

function generate(): void {
  writePgSchema();
  prisma(["generate"], "sqlite");
  prisma(["generate"], "postgres");
}

function listMigrations(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

async function newMigration(name: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error("migration name: use lower_snake_case");
  writePgSchema();
  // The JS schema engine diffs PostgreSQL through a live connection, so start a throwaway one.
  const { startPostgres } = await import("../dev/postgres.js");
  const pg = await startPostgres();
  process.env.PG_DATABASE_URL = pg.url;
  try {
    writeMigration(name);
  } finally {
    await pg.stop();
  }
}

function writeMigration(name: string): void {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  const id = `${stamp}_${name}`;
  for (const dialect of ["sqlite", "postgres"] as const) {
    const dir = migrationDirs[dialect];
    mkdirSync(dir, { recursive: true });
    const snapshot = path.join(dir, SNAPSHOT);
    const schema = dialect === "sqlite" ? sqliteSchema : pgSchema;
    const from = existsSync(snapshot) ? ["--from-schema-datamodel", snapshot] : ["--from-empty"];
    const sql = prisma(["migrate", "diff", ...from, "--to-schema-datamodel", schema, "--script"], dialect);
    mkdirSync(path.join(dir, id), { recursive: true });
    writeFileSync(path.join(dir, id, "migration.sql"), sql);
    copyFileSync(schema, snapshot);
  }
  console.log(`wrote ${id} for sqlite and postgres`);
}

/** Problems that mean the two databases are out of step; empty when they agree. */
export function drift(): string[] {
  const problems: string[] = [];
  const expected = derivePostgresSchema(readFileSync(sqliteSchema, "utf8"));
  if (!existsSync(pgSchema) || readFileSync(pgSchema, "utf8") !== expected)
    problems.push("prisma/postgres/schema.prisma is stale: run npm run db:generate");
  const a = listMigrations(migrationDirs.sqlite);
  const b = listMigrations(migrationDirs.postgres);
  if (a.join() !== b.join())
    problems.push(`migrations differ: sqlite [${a.join(", ")}] vs postgres [${b.join(", ")}]`);
  for (const [dialect, schema] of [
    ["sqlite", readFileSync(sqliteSchema, "utf8")],
    ["postgres", expected],
  ] as const) {
    const snapshot = path.join(migrationDirs[dialect], SNAPSHOT);
    if (!existsSync(snapshot) || readFileSync(snapshot, "utf8") !== schema)
      problems.push(
        `${dialect}: schema changed since the last migration: run npm run db:migration -- <name>`,
      );
  }
  return problems;
}

const invokedDirectly = process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]);
if (invokedDirectly) {
  const [cmd, arg] = process.argv.slice(2);
  if (cmd === "generate") generate();
  else if (cmd === "migration" && arg) await newMigration(arg);
  else if (cmd === "check") {
    const problems = drift();
    for (const p of problems) console.error(p);
    process.exit(problems.length ? 1 : 0);
  } else {
    console.error("usage: tsx prisma/tool.ts generate | migration <name> | check");
    process.exit(2);
  }
}
