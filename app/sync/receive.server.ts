/**
 * The webhook endpoint's whole job: check the signature on the raw bytes, record the delivery in
 * the inbox, answer. Applying it is the worker's job, so Shopify gets its 200 in milliseconds.
 */
import type { PrismaClient } from "@prisma/client";
import { recordDelivery } from "./inbox.server";
import { verifyWebhook } from "./verify.server";
import { createHash } from "node:crypto";

export const MAX_WEBHOOK_BYTES = 5 * 1024 * 1024;
const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;
const TOPIC = /^[a-z_]+\/[a-z_]+$/;

function text(status: number, message: string): Response {
  return new Response(message, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

export async function receiveWebhook(
  request: Request,
  deps: { db: PrismaClient; secret: string; onRecorded?: () => void },
): Promise<Response> {
  if (request.method !== "POST") return text(405, "webhooks are POSTed");
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_WEBHOOK_BYTES) return text(413, "payload too large");
  const body = Buffer.from(await request.arrayBuffer());
  if (body.length > MAX_WEBHOOK_BYTES) return text(413, "payload too large");
  if (!verifyWebhook(body, request.headers.get("x-shopify-hmac-sha256"), deps.secret))
    return text(401, "invalid or missing webhook signature");

  const topic = request.headers.get("x-shopify-topic") ?? "";
  const shopDomain = (request.headers.get("x-shopify-shop-domain") ?? "").toLowerCase();
  if (!TOPIC.test(topic)) return text(400, "missing or malformed X-Shopify-Topic");
  if (!SHOP_DOMAIN.test(shopDomain)) return text(400, "missing or malformed X-Shopify-Shop-Domain");
  const webhookId = request.headers.get("x-shopify-webhook-id");
  // Shopify repeats the event id on every retry of the same event; without one, the body decides.
  const eventId =
    request.headers.get("x-shopify-event-id") ??
    webhookId ??
    `sha256:${createHash("sha256").update(topic).update("\n").update(body).digest("hex")}`;
  const triggered = request.headers.get("x-shopify-triggered-at");
  const triggeredAt = triggered && !Number.isNaN(Date.parse(triggered)) ? new Date(triggered) : null;

  const result = await recordDelivery(deps.db, {
    shopDomain,
    topic,
    eventId,
    webhookId,
    triggeredAt,
    apiVersion: request.headers.get("x-shopify-api-version"),
    payload: body.toString("utf8"),
  });
  if (result === "new") deps.onRecorded?.();
  return text(200, result === "new" ? "recorded" : "already recorded");
}
