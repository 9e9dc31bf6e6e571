/**
 * Sends webhooks exactly as Shopify does: the raw JSON body, signed with the app secret
 * (base64 HMAC-SHA256), with Shopify's headers. Replays a JSONL file of
 * `{ "topic", "shop", "payload" }` lines with optional duplicates, reordering and delays.
 */
import { createHash, createHmac } from "node:crypto";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { topicAccessScopes } from "./fixtures";

export interface WebhookLine {
  topic: string;
  shop: string;
  payload: unknown;
  /** Shopify's X-Shopify-Event-Id; derived from the line when absent, so a repeat is a duplicate. */
  eventId?: string;
  triggeredAt?: string;
}

export const API_VERSION = "2026-07";

export function eventIdOf(line: WebhookLine, body: string): string {
  return (
    line.eventId ??
    createHash("sha256").update(`${line.shop}\n${line.topic}\n${body}`).digest("hex").slice(0, 32)
  );
}

export function webhookRequestInit(
  line: WebhookLine,
  secret: string,
  bodyOverride?: string,
): RequestInit & { headers: Record<string, string> } {
  const body =
    bodyOverride ?? (typeof line.payload === "string" ? line.payload : JSON.stringify(line.payload));
  const eventId = eventIdOf(line, body);
  return {
    method: "POST",
    body,
    headers: {
      "Content-Type": "application/json",
      "X-Shopify-Hmac-Sha256": createHmac("sha256", secret).update(body).digest("base64"),
      "X-Shopify-Topic": line.topic,
      "X-Shopify-Shop-Domain": line.shop,
      "X-Shopify-Webhook-Id": `wh-${eventId}-${Math.random().toString(36).slice(2, 8)}`,
      "X-Shopify-Event-Id": eventId,
      "X-Shopify-Triggered-At": line.triggeredAt ?? new Date().toISOString(),
      "X-Shopify-API-Version": API_VERSION,
    },
  };
}

/**
 * Why Shopify would not send this topic to an app holding `granted`, or null when it would: a topic
 * whose metadata lists access_scopes needs read (or write) access to one of those resources.
 */
export function topicRefusal(topic: string, granted: readonly string[]): string | null {
  const resources = topicAccessScopes(topic);
  if (!resources.length) return null;
  const ok = resources.some((r) => granted.includes(`read_${r}`) || granted.includes(`write_${r}`));
  return ok
    ? null
    : `the webhook topic ${topic} needs ${resources.map((r) => `read_${r}`).join(" or ")}; granted: ${granted.join(",") || "none"}`;
}

export class WebhookScopeError extends Error {
  override name = "WebhookScopeError";
}

/** Sends one delivery; with `granted`, a topic those scopes do not allow is refused (never sent). */
export async function sendWebhook(
  url: string,
  line: WebhookLine,
  secret: string,
  granted?: readonly string[],
): Promise<Response> {
  const refusal = granted ? topicRefusal(line.topic, granted) : null;
  if (refusal) throw new WebhookScopeError(refusal);
  return fetch(url, webhookRequestInit(line, secret));
}

export interface ReplayOptions {
  url: string;
  secret: string;
  /** Share of deliveries sent twice (0..1). */
  duplicates?: number;
  /** Share of deliveries swapped with a later neighbour (0..1). */
  reorder?: number;
  /** Milliseconds to wait between deliveries. */
  delayMs?: number;
  concurrency?: number;
  seed?: number;
  /** The app's granted scopes (e.g. the stand-in's grantedScopes()): topics they do not allow are not sent. */
  scopes?: readonly string[];
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The delivery order a flaky network would produce: some repeated, some swapped. */
export function deliveryPlan<T>(
  lines: T[],
  options: Pick<ReplayOptions, "duplicates" | "reorder" | "seed">,
): T[] {
  const random = mulberry32(options.seed ?? 1);
  const out: T[] = [];
  for (const line of lines) {
    out.push(line);
    if (random() < (options.duplicates ?? 0)) out.push(line);
  }
  for (let i = 0; i < out.length - 1; i++) {
    if (random() < (options.reorder ?? 0)) {
      const j = Math.min(out.length - 1, i + 1 + Math.floor(random() * 5));
      [out[i], out[j]] = [out[j], out[i]];
    }
  }
  return out;
}

export interface ReplayResult {
  sent: number;
  accepted: number;
  rejected: { status: number; body: string; topic: string }[];
  /** Lines not sent because the granted scopes do not allow their topic (as Shopify would not). */
  refused: { topic: string; reason: string }[];
  latenciesMs: number[];
}

export async function replayLines(lines: WebhookLine[], options: ReplayOptions): Promise<ReplayResult> {
  const result: ReplayResult = { sent: 0, accepted: 0, rejected: [], refused: [], latenciesMs: [] };
  const granted = options.scopes;
  const allowed = granted
    ? lines.filter((line) => {
        const reason = topicRefusal(line.topic, granted);
        if (reason) result.refused.push({ topic: line.topic, reason });
        return !reason;
      })
    : lines;
  const plan = deliveryPlan(allowed, options);
  let next = 0;
  const worker = async () => {
    while (next < plan.length) {
      const line = plan[next++];
      const started = performance.now();
      const response = await sendWebhook(options.url, line, options.secret);
      result.latenciesMs.push(performance.now() - started);
      result.sent++;
      if (response.ok) result.accepted++;
      else result.rejected.push({ status: response.status, body: await response.text(), topic: line.topic });
      await response.arrayBuffer().catch(() => undefined);
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return result;
}

export async function readJsonl(file: string): Promise<WebhookLine[]> {
  const lines: WebhookLine[] = [];
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (!text.trim()) continue;
    const line = JSON.parse(text) as Partial<WebhookLine>;
    if (typeof line.topic !== "string" || typeof line.shop !== "string" || line.payload === undefined)
      throw new Error(`${file}:${n}: each line needs "topic", "shop" and "payload"`);
    lines.push(line as WebhookLine);
  }
  return lines;
}
