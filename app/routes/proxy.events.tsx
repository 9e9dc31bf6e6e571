/**
 * The storefront's events, through Shopify's app proxy (`/apps/slice/events` on the shop's domain).
 * Signature, limits, consent and storage are all in receiveEvents.
 */
import type { ActionFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { receiveEvents } from "../storefront/events.server";

export const action = ({ request }: ActionFunctionArgs) => receiveEvents(request, prisma);

export const loader = () => Response.json({ error: "use POST" }, { status: 405, headers: { Allow: "POST" } });
