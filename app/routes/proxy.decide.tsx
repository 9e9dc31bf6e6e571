/**
 * The storefront's decision, through Shopify's app proxy (`GET /apps/slice/decide`). In production
 * server.ts answers this path before the router (decideFromNode); the route serves `remix vite:dev`
 * and any request that reaches the router.
 */
import type { LoaderFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { decideForUrl } from "../storefront/decide.server";

export async function loader({ request }: LoaderFunctionArgs) {
  const answer = await decideForUrl(new URL(request.url), prisma);
  return Response.json(answer.body, { status: answer.status, headers: { "Cache-Control": "no-store" } });
}

export const action = () => Response.json({ error: "use GET" }, { status: 405, headers: { Allow: "GET" } });
