/**
 * Once per test run and project: a migrated template database that each test file copies, so
 * every file starts from an empty, current schema in milliseconds.
 */
import type { TestProject } from "vitest/node";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { migrate } from "../../prisma/migrate";
import { startPostgres, type RunningPostgres } from "../postgres";

declare module "vitest" {
  export interface ProvidedContext {
    dbKind: "sqlite" | "postgres";
    /** SQLite: path of the migrated template file. PostgreSQL: server URL (template db: slice_template). */
    dbTemplate: string;
  }
}

let postgres: RunningPostgres | null = null;
let dir: string | null = null;

export async function setup(project: TestProject) {
  const kind = project.config.env?.SLICE_TEST_DB === "postgres" ? "postgres" : "sqlite";
  if (kind === "sqlite") {
    dir = mkdtempSync(path.join(os.tmpdir(), "slice-test-"));
    const file = path.join(dir, "template.sqlite");
    await migrate(`file:${file}`);
    project.provide("dbKind", "sqlite");
    project.provide("dbTemplate", file);
    return;
  }
  postgres = await startPostgres();
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  await client.query("CREATE DATABASE slice_template");
  await client.end();
  await migrate(postgres.databaseUrl("slice_template"));
  project.provide("dbKind", "postgres");
  project.provide("dbTemplate", postgres.url);
}

export async function teardown() {
  if (postgres) await postgres.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
