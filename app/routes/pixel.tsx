/**
 * The web pixel's endpoint on the app's own host (not the app proxy): untrusted, CORS open with
 * no credentials. Limits, validation, consent and storage are all in receivePixel; the production
 * server answers this path before the router (pixelFromNode).
 */
import type { ActionFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { receivePixel } from "../storefront/pixel.server";

export const action = ({ request }: ActionFunctionArgs) => receivePixel(request, prisma);

export const loader = () =>
  Response.json(
    { error: "use POST" },
    { status: 405, headers: { Allow: "POST, OPTIONS", "Access-Control-Allow-Origin": "*" } },
  );
