/**
 * Before each test file: its own empty database (copied from the migrated template), and the
 * app's settings for tests. Runs before the file imports anything from app/.
 */
import { afterAll, expect, inject } from "vitest";
import type { StandInRecord } from "../admin-api";
import { copyFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import pg from "pg";

export const TEST_SECRET = "slice-test-secret";

process.env.SHOPIFY_API_KEY ??= "slice-test-key";
process.env.SHOPIFY_API_SECRET = TEST_SECRET;
process.env.SHOPIFY_APP_URL ??= "http://127.0.0.1:3999";
process.env.SLICE_WORKER = "0";

const kind = inject("dbKind");
const template = inject("dbTemplate");

if (kind === "sqlite") {
  const file = path.join(path.dirname(template), `${randomUUID()}.sqlite`);
  copyFileSync(template, file);
  process.env.DATABASE_URL = `file:${file}`;
} else {
  const name = `t_${randomUUID().replaceAll("-", "")}`;
  const client = new pg.Client({ connectionString: template });
  await client.connect();
  await client.query(`CREATE DATABASE ${name} TEMPLATE slice_template`);
  await client.end();
  const url = new URL(template);
  url.pathname = `/${name}`;
  process.env.DATABASE_URL = url.toString();
}

// Every local Admin API stand-in a test file made: no document it was sent may be invalid for, or
// use a field deprecated in, the version the app calls, and none may ask for a version it has no
// schema for. (A test that sends a bad document on purpose empties the record it checked.)
afterAll(() => {
  const standIns = (globalThis as { sliceStandIns?: Set<StandInRecord> }).sliceStandIns;
  for (const s of standIns ?? []) {
    expect(s.invalidDocuments, "documents the Admin API would refuse").toEqual([]);
    expect(s.deprecatedUses, "deprecated Admin API fields").toEqual([]);
    expect(s.unknownVersions, "Admin API versions with no schema").toEqual([]);
  }
  standIns?.clear();
});
