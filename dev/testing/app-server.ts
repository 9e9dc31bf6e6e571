/**
 * The real production server (`node build/server.mjs`, built by `npm run build`) as a child
 * process on the test file's database, for tests that kill it, starve it of its database or
 * restart it; and a webhook sender that records which deliveries were acknowledged, as Shopify
 * does (an unanswered or non-2xx delivery is retried, an acknowledged one never is).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import type { PrismaClient } from "@prisma/client";
import { webhookRequestInit, type WebhookLine } from "../webhooks";
import { TEST_SECRET } from "./setup";
import { serverNodeOptions } from "../processes";

export interface AppServer {
  url: string;
  child: ChildProcess;
  /** Everything it printed (for a failing test's message). */
  output(): string;
  /** Ended by a signal or an exit code, or null while it runs. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
  /** SIGKILL: no shutdown hook, no flush, as a crash or an OOM kill. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAppServer(env: Record<string, string> = {}): Promise<AppServer> {
  if (!existsSync("build/server.mjs") || !existsSync("build/server/index.js"))
    throw new Error("build/server.mjs is missing: run `npm run build` first (npm test does)");
  const child = spawn(process.execPath, [...serverNodeOptions(), "build/server.mjs"], {
    env: {
      ...process.env,
      SHOPIFY_API_SECRET: TEST_SECRET,
      NODE_ENV: "production",
      PORT: "0",
      SLICE_WORKER: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[\d.:]+)/.exec(output);
      if (match) resolve(match[1]);
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() =>
      reject(new Error(`build/server.mjs exited (${JSON.stringify(exit)}):\n${output}`)),
    );
    setTimeout(() => reject(new Error(`build/server.mjs did not start in 60 s:\n${output}`)), 60_000).unref();
  });
  return {
    url,
    child,
    output: () => output,
    exited: () => exit,
    async kill() {
      if (exit) return;
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (exit) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export type DeliveryResult = { status: number } | { error: string };

/** Sends each line once, `concurrency` at a time, in order; returns each one's answer (same index). */
export async function sendAll(
  url: string,
  lines: WebhookLine[],
  options: {
    concurrency?: number;
    stopWhen?: () => boolean;
    /** Each answer as it comes. */
    onResult?: (index: number, result: DeliveryResult) => void;
  } = {},
): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = new Array<DeliveryResult>(lines.length);
  let next = 0;
  const lane = async () => {
    while (next < lines.length) {
      const index = next++;
      if (options.stopWhen?.()) {
        results[index] = { error: "not sent" };
        continue;
      }
      try {
        const response = await fetch(`${url}/webhooks`, webhookRequestInit(lines[index], TEST_SECRET));
        await response.arrayBuffer();
        results[index] = { status: response.status };
      } catch (error) {
        results[index] = { error: String((error as Error).cause ?? error) };
      }
      options.onResult?.(index, results[index]);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, lane));
  return results;
}

export const acknowledged = (r: DeliveryResult | undefined): boolean =>
  !!r && "status" in r && r.status >= 200 && r.status < 300;

/**
 * Shopify's retries: sends every line whose last answer was not a 2xx again, until each has
 * one (or `rounds` runs out). Returns how many were sent in all.
 */
export async function deliverUntilAcknowledged(
  url: string,
  lines: WebhookLine[],
  results: (DeliveryResult | undefined)[],
  rounds = 5,
): Promise<number> {
  let sent = 0;
  for (let round = 0; round < rounds; round++) {
    const missing = lines.map((_, i) => i).filter((i) => !acknowledged(results[i]));
    if (!missing.length) return sent;
    const again = await sendAll(
      url,
      missing.map((i) => lines[i]),
    );
    missing.forEach((index, k) => (results[index] = again[k]));
    sent += missing.length;
  }
  const left = lines.filter((_, i) => !acknowledged(results[i])).length;
  if (left) throw new Error(`${left} deliveries still not acknowledged after ${rounds} rounds`);
  return sent;
}

export interface InboxCounts {
  total: number;
  done: number;
  pending: number;
  processing: number;
  failed: number;
  dead: number;
  deliveries: number;
}

export async function inboxCounts(db: PrismaClient): Promise<InboxCounts> {
  const [groups, sum] = await Promise.all([
    db.webhookEvent.groupBy({ by: ["status"], _count: { _all: true } }),
    db.webhookEvent.aggregate({ _sum: { deliveries: true }, _count: { _all: true } }),
  ]);
  const count = (s: string) => groups.find((g) => g.status === s)?._count._all ?? 0;
  return {
    total: sum._count._all,
    done: count("done"),
    pending: count("pending"),
    processing: count("processing"),
    failed: count("failed"),
    dead: count("dead"),
    deliveries: sum._sum.deliveries ?? 0,
  };
}

/** Waits until the inbox holds `events` events, all done; fails with what is left after `timeoutMs`. */
export async function waitForDrain(
  db: PrismaClient,
  events: number,
  timeoutMs: number,
  server?: AppServer,
): Promise<InboxCounts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await inboxCounts(db);
    if (counts.total === events && counts.done === events) return counts;
    if (server?.exited()) throw new Error(`the server exited:\n${server.output()}`);
    if (Date.now() > deadline)
      throw new Error(
        `inbox not drained in ${timeoutMs} ms: ${JSON.stringify(counts)}\n${server?.output() ?? ""}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
