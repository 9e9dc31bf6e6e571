/**
 * `openLoop` on a worker thread of its own: node:http with keep-alive, GET or POST, at a fixed rate.
 *
 * Why: a bench that also holds the generated store, the Admin API stand-in and the demo storefront
 * in its own process has a heap of 300–450 MB; its scavenges there took up to 65 ms and a major GC
 * 430 ms (measured with bench/loop-probe.mjs during storefront-pg), and every answer arriving
 * meanwhile was timed that much late: the load generator's stalls were counted as the server's.
 * A thread has its own heap (a few MB here) and its own event loop, so the main thread's garbage
 * does not stop the clock.
 */
import { Worker } from "node:worker_threads";
import { percentile, type LoadResult } from "./load";

/** The thread's whole program (plain JavaScript: no TypeScript loader needed in the thread). */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const { monitorEventLoopDelay } = require("node:perf_hooks");
const { requests, rate } = workerData;
const agent = new http.Agent({ keepAlive: true });
const latencies = new Float64Array(requests.length);
let ok = 0;
let failed = 0;
function send(i) {
  const [url, method, body] = requests[i];
  const target = new URL(url);
  const payload = Buffer.from(body ?? "");
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (good) => {
      latencies[i] = performance.now() - started;
      if (good) ok++;
      else failed++;
      resolve();
    };
    const request = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method, agent,
        headers: payload.length ? { "Content-Length": String(payload.length) } : {} },
      (response) => {
        response.on("data", () => {});
        response.on("end", () => done((response.statusCode ?? 500) < 300));
      },
    );
    request.on("error", () => done(false));
    request.end(payload);
  });
}
(async () => {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const inFlight = [];
  const started = performance.now();
  let sent = 0;
  while (sent < requests.length) {
    const due = Math.min(requests.length, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (sent < due) inFlight.push(send(sent++));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  delay.disable();
  agent.destroy();
  parentPort.postMessage({ latencies, ok, failed, seconds: (performance.now() - started) / 1000,
    delayP99: delay.percentile(99) / 1e6 });
})();
`;

/** Sends `requests` at `rate` a second from a thread of its own; the same result as openLoop. */
export async function openLoopOnThread(requests: [string, RequestInit][], rate: number): Promise<LoadResult> {
  const cpu = process.cpuUsage();
  const thread = new Worker(THREAD, {
    eval: true,
    workerData: {
      rate,
      requests: requests.map(([url, init]) => [url, init.method ?? "GET", (init.body as string) ?? null]),
    },
  });
  const answer = await new Promise<{
    latencies: Float64Array;
    ok: number;
    failed: number;
    seconds: number;
    delayP99: number;
  }>((resolve, reject) => {
    thread.once("message", resolve);
    thread.once("error", reject);
  });
  await thread.terminate();
  const used = process.cpuUsage(cpu);
  const sorted = [...answer.latencies].sort((a, b) => a - b);
  return {
    sent: sorted.length,
    ok: answer.ok,
    failed: answer.failed,
    seconds: answer.seconds,
    perSecond: sorted.length / answer.seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    clientCpuMs: (used.user + used.system) / 1000 / Math.max(requests.length, 1),
    clientDelayP99: answer.delayP99,
  };
}
