/** A small HTTP load generator: closed-loop (as fast as it goes) and open-loop (a fixed rate). */
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

/** Sends at `rate` requests per second whatever the answers do, as Shopify's delivery does. */
export async function openLoop(requests: [string, RequestInit][], rate: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  let sent = 0;
  while (sent < requests.length) {
    const due = Math.min(requests.length, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (sent < due) {
      inFlight.push(
        send(requests[sent++]).then(([ms, good]) => {
          latencies.push(ms);
          if (good) ok++;
          else failed++;
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  return summarise(latencies, ok, failed, (performance.now() - started) / 1000);
}
