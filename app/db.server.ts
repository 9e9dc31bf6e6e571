/**
 * The one Prisma client. SQLite (embedded default) or PostgreSQL, chosen by DATABASE_URL.
 * Both go through Prisma's JS query engine with a driver adapter: nothing is downloaded.
 */
import { PrismaClient } from "@prisma/client";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { createRequire } from "node:module";
import path from "node:path";
import { dialectOf, sqlitePath, type Dialect } from "./db-url";

export type { Dialect };
export type Db = PrismaClient;

/** The PostgreSQL client is generated beside its schema (Prisma fixes the provider per client). */
function loadPgClient(): typeof PrismaClient {
  const require = createRequire(path.join(process.cwd(), "package.json"));
  return (require(path.join(process.cwd(), "prisma/postgres/generated")) as { PrismaClient: typeof PrismaClient })
    .PrismaClient;
}

export function createPrismaClient(url: string): PrismaClient {
  const dialect = dialectOf(url);
  if (dialect === "sqlite") {
    const adapter = new PrismaBetterSQLite3({ url: `file:${sqlitePath(url)}` }, { timestampFormat: "unixepoch-ms" });
    return new PrismaClient({ adapter });
  }
  const PgClient = loadPgClient();
  return new PgClient({ adapter: new PrismaPg({ connectionString: url, max: 10, idleTimeoutMillis: 10_000 }) });
}

export const databaseUrl = process.env.DATABASE_URL ?? "file:./dev.sqlite";
export const dialect: Dialect = dialectOf(databaseUrl);

declare global {
  // Survives Vite's module reloads in development: one client per process.
  var slicePrisma: PrismaClient | undefined;
}

const prisma: PrismaClient = (globalThis.slicePrisma ??= createPrismaClient(databaseUrl));

export default prisma;
