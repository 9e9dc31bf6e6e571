/**
 * Every webhook topic lands here (see shopify.app.toml); the inbox and its worker do the rest.
 * In production the server hands POST /webhooks to the same function directly (server.ts).
 */
import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveWebhook } from "../sync/receive.server";
import { webhookDeps } from "../sync/runtime.server";

export const action = ({ request }: ActionFunctionArgs) => receiveWebhook(request, webhookDeps());
