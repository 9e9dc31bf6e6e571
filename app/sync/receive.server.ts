/**
 * The webhook endpoint's whole job: check the signature on the raw bytes, record the delivery in
 * the inbox, answer. Applying it is the worker's job, so Shopify gets its 200 in milliseconds.
 */
import type { PrismaClient } from "@prisma/client";
import { recordDelivery, type Delivery } from "./inbox.server";
import { verifyWebhook } from "./verify.server";
import { createHash } from "node:crypto";
import { applyUninstall } from "./lifecycle.server";

export const MAX_WEBHOOK_BYTES = 5 * 1024 * 1024;
const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;
const TOPIC = /^[a-z_]+\/[a-z_]+$/;

export interface WebhookDeps {
  db: PrismaClient;
  secret: string;
  /** How a delivery is written; defaults to one insert (the server passes its group-commit batcher). */
  record?: (delivery: Delivery) => Promise<"new" | "duplicate">;
  /** Called after every accepted delivery, new or repeated (the worker gives way to intake). */
  onDelivery?: (result: "new" | "duplicate") => void;
}

export interface WebhookAnswer {
  status: number;
  message: string;
}

/** The whole decision, on the raw bytes and a header lookup: used by the Remix route and the server's fast path. */
export async function acceptWebhook(
  method: string,
  header: (name: string) => string | null,
  body: Buffer,
  deps: WebhookDeps,
): Promise<WebhookAnswer> {
  if (method !== "POST") return { status: 405, message: "webhooks are POSTed" };
  if (body.length > MAX_WEBHOOK_BYTES) return { status: 413, message: "payload too large" };
  if (!verifyWebhook(body, header("x-shopify-hmac-sha256"), deps.secret))
    return { status: 401, message: "invalid or missing webhook signature" };

  // JSON text never holds a raw NUL byte, and PostgreSQL's text cannot: refused, not a 500 forever retried.
  if (body.includes(0)) return { status: 400, message: "payload: must be JSON text (it holds a NUL byte)" };
  const topic = header("x-shopify-topic") ?? "";
  const shopDomain = (header("x-shopify-shop-domain") ?? "").toLowerCase();
  if (!TOPIC.test(topic)) return { status: 400, message: "missing or malformed X-Shopify-Topic" };
  if (!SHOP_DOMAIN.test(shopDomain))
    return { status: 400, message: "missing or malformed X-Shopify-Shop-Domain" };
  const webhookId = header("x-shopify-webhook-id");
  // Shopify repeats the event id on every retry of the same event; without one, the body decides.
  const eventId =
    header("x-shopify-event-id") ??
    webhookId ??
    `sha256:${createHash("sha256").update(topic).update("\n").update(body).digest("hex")}`;
  const triggered = header("x-shopify-triggered-at");
  const triggeredAt = triggered && !Number.isNaN(Date.parse(triggered)) ? new Date(triggered) : null;

  const delivery: Delivery = {
    shopDomain,
    topic,
    eventId,
    webhookId,
    triggeredAt,
    apiVersion: header("x-shopify-api-version"),
    payload: body.toString("utf8"),
  };
  const result = await (deps.record ? deps.record(delivery) : recordDelivery(deps.db, delivery));
  // An uninstall takes effect now (sessions gone, loops stop), not when the worker reaches it;
  // the worker applies it again from the inbox, a no-op then (or if this fails).
  if (topic === "app/uninstalled")
    await applyUninstall(deps.db, shopDomain, triggeredAt ?? new Date()).catch((error) =>
      console.error(`app/uninstalled for ${shopDomain}: left to the worker:`, (error as Error).message),
    );
  deps.onDelivery?.(result);
  return { status: 200, message: result === "new" ? "recorded" : "already recorded" };
}

export async function receiveWebhook(request: Request, deps: WebhookDeps): Promise<Response> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  const answer =
    declared > MAX_WEBHOOK_BYTES
      ? { status: 413, message: "payload too large" }
      : await acceptWebhook(
          request.method,
          (name) => request.headers.get(name),
          Buffer.from(await request.arrayBuffer()),
          deps,
        );
  return new Response(answer.message, {
    status: answer.status,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}
