/** A small HTTP load generator: closed-loop (as fast as it goes) and open-loop (a fixed rate). */
import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { webhookRequestInit, type WebhookLine } from "../dev/webhooks";

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** openLoop: this generator's own CPU time per request, and its event loop's delay p99 (ms). */
  clientCpuMs?: number;
  clientDelayP99?: number;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarise(latencies: number[], ok: number, failed: number, seconds: number): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    sent: latencies.length,
    ok,
    failed,
    seconds,
    perSecond: latencies.length / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
  };
}

/** Pre-signs every request so the generator spends its time sending, not hashing. */
export function signAll(url: string, lines: WebhookLine[], secret: string): [string, RequestInit][] {
  return lines.map((line) => [url, webhookRequestInit(line, secret)]);
}

async function send([url, init]: [string, RequestInit]): Promise<[number, boolean]> {
  const started = performance.now();
  try {
    const response = await fetch(url, init);
    await response.arrayBuffer();
    return [performance.now() - started, response.ok];
  } catch {
    return [performance.now() - started, false];
  }
}

export async function closedLoop(
  requests: [string, RequestInit][],
  concurrency: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const [ms, good] = await send(requests[next++]);
        latencies.push(ms);
        if (good) ok++;
        else failed++;
      }
    }),
  );
  return summarise(latencies, ok, failed, (performance.now() - started) / 1000);
}

const keepAlive = new http.Agent({ keepAlive: true });

/**
 * One POST on node:http with a keep-alive agent: about a third of fetch's CPU per request
 * (measured on this machine: 0.16 against 0.5–0.8 ms), which matters when the generator shares
 * two cores with the server it measures.
 */
async function sendHttp([url, init]: [string, RequestInit]): Promise<[number, boolean]> {
  const started = performance.now();
  const target = new URL(url);
  const body = Buffer.from((init.body as string | undefined) ?? "");
  return new Promise((resolve) => {
    const request = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: init.method ?? "GET",
        agent: keepAlive,
        headers: { ...(init.headers as Record<string, string>), "Content-Length": String(body.length) },
      },
      (response) => {
        response.on("data", () => {});
        response.on("end", () => resolve([performance.now() - started, (response.statusCode ?? 500) < 300]));
      },
    );
    request.on("error", () => resolve([performance.now() - started, false]));
    request.end(body);
  });
}

/**
 * Sends at `rate` requests per second whatever the answers do, as Shopify's delivery does.
 * `client: "http"` sends on node:http (lighter than fetch, see sendHttp).
 */
export async function openLoop(
  requests: [string, RequestInit][],
  rate: number,
  options: { client?: "fetch" | "http" } = {},
): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const inFlight: Promise<void>[] = [];
  const sender = options.client === "http" ? sendHttp : send;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let sent = 0;
  while (sent < requests.length) {
    const due = Math.min(requests.length, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (sent < due) {
      inFlight.push(
        sender(requests[sent++]).then(([ms, good]) => {
          latencies.push(ms);
          if (good) ok++;
          else failed++;
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  delay.disable();
  const used = process.cpuUsage(cpu);
  return {
    ...summarise(latencies, ok, failed, (performance.now() - started) / 1000),
    clientCpuMs: (used.user + used.system) / 1000 / Math.max(requests.length, 1),
    clientDelayP99: delay.percentile(99) / 1e6,
  };
}
