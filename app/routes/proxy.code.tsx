/** A shopper's own discount code for an offer they were shown (`POST /apps/slice/code`); see code.server.ts. */
import type { ActionFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { receiveCodeRequest } from "../storefront/code.server";

export const action = ({ request }: ActionFunctionArgs) => receiveCodeRequest(request, prisma);

export const loader = () => Response.json({ error: "use POST" }, { status: 405, headers: { Allow: "POST" } });
