/**
 * The production server: the built Remix app on node:http, plus the app's background work (the
 * webhook inbox worker and the sync scheduler) on a worker thread of the same process.
 * On PostgreSQL `SLICE_WORKERS=N` runs N such threads, and `node build/server.mjs --worker`
 * (npm run worker) runs the background work alone, without HTTP: any number of these and of app
 * instances share one inbox (claims with FOR UPDATE SKIP LOCKED, per-shop jobs under advisory locks).
 *
 * It converts requests for Remix itself rather than through Express: webhook intake is the hot
 * path, and the Express adapter more than doubled the time to acknowledge one.
 */
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import compression from "compression";
import serveStatic from "serve-static";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
// Types only: server.ts is compiled alone (esbuild, not bundled), the app is loaded from the build.
import type { SqliteWriteTurns } from "./app/sqlite-turns.server";

/**
 * The worker thread's whole program: load the same build, start its background work. On SQLite
 * its connection takes write turns with the HTTP thread's (app/sqlite-turns.server.ts).
 */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
if (workerData.turns) globalThis.sliceWriteTurns = { role: "after", state: workerData.turns };
import(workerData.build).then(async (build) => {
  build.entry.module.startBackgroundWork();
  parentPort.on("message", async (message) => {
    if (message !== "stop") return;
    await build.entry.module.stopBackgroundWork();
    process.exit(0);
  });
  parentPort.postMessage("started");
});`;

/** The same limit as app/sync/receive.server.ts (checked there too). */
const MAX_WEBHOOK_BYTES = 5 * 1024 * 1024;

/**
 * Every other request's body (admin forms and the builder's JSON, storefront posts), read whole
 * before Remix sees it: far above what any of them needs, so that no request can fill the memory.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** The web pixel's batches (the same limit as app/storefront/pixel.server.ts, checked there too). */
const MAX_PIXEL_BYTES = 16 * 1024;

/** The body, or null as soon as it is (declared or found) longer than `limit`: the rest is not read. */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  if (Number(req.headers["content-length"] ?? "0") > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: Buffer | null) => {
      req.off("data", onData).off("end", onEnd).off("error", reject);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        done(null);
      } else chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks));
    req.on("data", onData).on("end", onEnd).on("error", reject);
  });
}

/** 413, then the connection is closed (the unread rest of the body is never read). */
export function tooLarge(req: http.IncomingMessage, res: http.ServerResponse, limit: number): void {
  res
    .writeHead(413, { "Content-Type": "text/plain; charset=utf-8", Connection: "close" })
    .end(`request body too large: at most ${limit} bytes`, () => req.destroy());
}

/** Runs the inbox worker and the sync scheduler on a worker thread of this process. */
async function startBackgroundThread(build: string, turns?: Int32Array): Promise<Worker> {
  const thread = new Worker(THREAD, { eval: true, workerData: { build, turns } });
  await new Promise<void>((resolve, reject) => {
    thread.once("message", () => resolve());
    thread.once("error", reject);
  });
  thread.on("error", (error) => console.error("background thread failed:", error));
  return thread;
}

function toRequest(
  req: http.IncomingMessage,
  origin: string,
  body: Buffer | null,
  signal: AbortSignal,
): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  return new Request(new URL(req.url ?? "/", origin), {
    method: req.method,
    headers,
    body: body as BodyInit | null,
    signal,
  });
}

async function send(res: http.ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of response.headers) {
    if (key === "set-cookie") continue;
    headers[key] = value;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers["set-cookie"] = cookies;
  res.writeHead(response.status, response.statusText, headers);
  if (!response.body) return void res.end();
  const stream = Readable.fromWeb(response.body as WebReadableStream);
  await new Promise<void>((resolve, reject) => {
    stream.on("error", reject).pipe(res).on("finish", resolve).on("error", reject);
  });
}

export async function startServer(options: {
  port: number;
  host?: string;
  quiet?: boolean;
  /** false: no background work here (another process runs it, or a test drives it). */
  background?: boolean;
}) {
  const buildUrl = pathToFileURL(path.resolve("build/server/index.js")).href;
  const background = options.background !== false && process.env.SLICE_WORKER !== "0";
  const sqlite = (process.env.DATABASE_URL ?? "file:").startsWith("file:");
  // SQLite: the background work on a thread of its own too, with its own connection, so that the
  // worker's applies and membership passes never hold the thread that acknowledges webhooks
  // (measured on the 1,000,000-customer flash sale: the event loop blocked 100–800 ms at a time).
  // SQLite has one writer: the two connections take turns, this thread's first
  // (app/sqlite-turns.server.ts). Set before the build is loaded: its client connects at once.
  // SLICE_SQLITE_THREAD=0 keeps the background work on this thread (the comparison).
  const turns =
    background && sqlite && process.env.SLICE_SQLITE_THREAD !== "0"
      ? new Int32Array(new SharedArrayBuffer(8))
      : undefined;
  if (turns)
    (globalThis as { sliceWriteTurns?: SqliteWriteTurns }).sliceWriteTurns = { role: "first", state: turns };
  const build = (await import(buildUrl)) as ServerBuild;
  const handle = createRequestHandler(build, process.env.NODE_ENV);
  const entry = build.entry.module as unknown as {
    startBackgroundWork(): void;
    stopBackgroundWork(): Promise<void>;
    webhookFromNode(
      method: string,
      headers: http.IncomingHttpHeaders,
      body: Buffer,
    ): Promise<{ status: number; message: string }>;
    decideFromNode(url: string): Promise<{ status: number; body: string }>;
    flushExposures(): Promise<void>;
    pixelFromNode(
      method: string,
      body: string | null,
    ): Promise<{ status: number; headers: Record<string, string>; body: string }>;
  };
  // Hashed build assets never change under their name: cache them for a year.
  const assets = serveStatic("build/client", { immutable: true, maxAge: "1y", index: false });
  const publicFiles = serveStatic("build/client", { maxAge: "1h", index: false });
  const compress = compression();
  const host = options.host ?? "127.0.0.1";

  const remix = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const controller = new AbortController();
    res.on("close", () => controller.abort());
    let body: Buffer | null = null;
    if (req.method !== "GET" && req.method !== "HEAD") {
      body = await readBody(req, MAX_REQUEST_BYTES);
      if (!body) return tooLarge(req, res, MAX_REQUEST_BYTES);
    }
    const origin = `http://${req.headers.host ?? host}`;
    await send(res, await handle(toRequest(req, origin, body, controller.signal)));
  };

  const intake = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    let answer: { status: number; message: string };
    if (declared > MAX_WEBHOOK_BYTES) answer = { status: 413, message: "payload too large" };
    else {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_WEBHOOK_BYTES) break;
        chunks.push(chunk as Buffer);
      }
      answer =
        size > MAX_WEBHOOK_BYTES
          ? { status: 413, message: "payload too large" }
          : await entry.webhookFromNode("POST", req.headers, Buffer.concat(chunks));
    }
    res.writeHead(answer.status, { "Content-Type": "text/plain; charset=utf-8" }).end(answer.message);
  };

  const server = http.createServer((req, res) => {
    const fail = (error: unknown) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" }).end("Internal error");
      else res.destroy();
    };
    // Webhook intake is the hot path: straight to the app's intake, no router, no compression.
    if (req.method === "POST" && (req.url === "/webhooks" || req.url?.startsWith("/webhooks?")))
      return void intake(req, res).catch(fail);
    // The storefront's decision is the other hot path: every page view of every shopper asks.
    if (req.method === "GET" && req.url?.startsWith("/proxy/decide?"))
      return void entry
        .decideFromNode(req.url)
        .then((answer) =>
          res
            .writeHead(answer.status, { "Content-Type": "application/json", "Cache-Control": "no-store" })
            .end(answer.body),
        )
        .catch(fail);
    // The web pixel's batches: every shopper's page views, answered before the router too.
    if (
      (req.method === "POST" || req.method === "OPTIONS") &&
      (req.url === "/pixel" || req.url?.startsWith("/pixel?"))
    )
      return void (async () => {
        const body = req.method === "POST" ? await readBody(req, MAX_PIXEL_BYTES) : Buffer.alloc(0);
        const answer = await entry.pixelFromNode(req.method ?? "POST", body && body.toString("utf8"));
        res.writeHead(
          answer.status,
          answer.status === 413 ? { ...answer.headers, Connection: "close" } : answer.headers,
        );
        res.end(answer.body, () => {
          if (answer.status === 413) req.destroy();
        });
      })().catch(fail);
    compress(req as never, res as never, () => {
      const next = () => void remix(req, res).catch(fail);
      if (req.url?.startsWith("/assets/")) assets(req, res, next);
      else publicFiles(req, res, next);
    });
  });
  server.keepAliveTimeout = 65_000;
  // PostgreSQL: SLICE_WORKERS threads. SQLite: one thread taking write turns with this one (above),
  // or, with SLICE_SQLITE_THREAD=0, this thread and its one connection.
  if (background && sqlite && !turns) entry.startBackgroundWork();
  const threadCount = background ? (sqlite ? (turns ? 1 : 0) : backgroundThreads()) : 0;
  const threads = await Promise.all(
    Array.from({ length: threadCount }, () => startBackgroundThread(buildUrl, turns)),
  );
  await new Promise<void>((resolve) => server.listen(options.port, host, resolve));
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  if (!options.quiet) console.log(`Slice is listening on ${url}`);
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // The decisions' exposures waiting in memory (written every 100 ms) go to the database first.
      await entry.flushExposures();
      if (threads.length)
        await Promise.all(
          threads.map((thread) => {
            thread.postMessage("stop");
            return new Promise((resolve) => thread.once("exit", resolve));
          }),
        );
      else if (background) await entry.stopBackgroundWork();
    },
  };
}

/** How many background threads an instance runs on PostgreSQL (SLICE_WORKERS, default 1). */
function backgroundThreads(): number {
  const n = Number(process.env.SLICE_WORKERS ?? "1");
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`SLICE_WORKERS must be 1–64 (got "${n}")`);
  return n;
}

/**
 * Background work only (npm run worker): the inbox worker, the scheduler and the loops, no HTTP.
 * PostgreSQL only: on SQLite the one app process is the one writer.
 */
export async function startWorkerProcess(options: { quiet?: boolean } = {}) {
  if ((process.env.DATABASE_URL ?? "file:").startsWith("file:"))
    throw new Error("npm run worker needs PostgreSQL (DATABASE_URL=postgresql://…): SQLite has one writer");
  const buildUrl = pathToFileURL(path.resolve("build/server/index.js")).href;
  const threads = await Promise.all(
    Array.from({ length: backgroundThreads() }, () => startBackgroundThread(buildUrl)),
  );
  if (!options.quiet)
    console.log(`Slice worker is running (${threads.length} thread(s), pid ${process.pid})`);
  return {
    async close() {
      await Promise.all(
        threads.map((thread) => {
          thread.postMessage("stop");
          return new Promise((resolve) => thread.once("exit", resolve));
        }),
      );
    },
  };
}

// Run as `node build/server.mjs` (npm start): plain Node, no TypeScript loader in the request path.
const invokedDirectly =
  process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (invokedDirectly && process.argv.includes("--worker")) {
  const running = await startWorkerProcess();
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} else if (invokedDirectly) {
  const running = await startServer({
    port: Number(process.env.PORT ?? 3000),
    host: process.env.HOST ?? "127.0.0.1",
  });
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
