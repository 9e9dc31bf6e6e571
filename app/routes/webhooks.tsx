/** Every webhook topic lands here (see shopify.app.toml); the inbox and its worker do the rest. */
import type { ActionFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { config } from "../config.server";
import { receiveWebhook } from "../sync/receive.server";
import { notifyInbox } from "../sync/runtime.server";

export const action = ({ request }: ActionFunctionArgs) =>
  receiveWebhook(request, {
    db: prisma,
    secret: config.apiSecret,
    onRecorded: notifyInbox,
  });
