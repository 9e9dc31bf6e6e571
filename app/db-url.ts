/** What DATABASE_URL names: the embedded SQLite file or a PostgreSQL server. */
import path from "node:path";

export type Dialect = "sqlite" | "postgres";

export function dialectOf(url: string): Dialect {
  if (url.startsWith("file:")) return "sqlite";
  if (/^postgres(ql)?:\/\//.test(url)) return "postgres";
  throw new Error(`DATABASE_URL must start with file: or postgresql:// (got "${url.slice(0, 20)}…")`);
}

/** `file:./dev.sqlite` → an absolute path; relative paths are relative to prisma/, as Prisma's are. */
export function sqlitePath(url: string): string {
  const file = url.replace(/^file:/, "").replace(/\?.*$/, "");
  return path.isAbsolute(file) ? file : path.join(process.cwd(), "prisma", file);
}
