/**
 * An address under /app that matches no page: a 404 inside the admin's frame (the layout and its
 * navigation stay; routes/app.tsx's error boundary draws the page).
 */
import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireAdmin } from "../auth.server";

export async function loader({ request }: LoaderFunctionArgs) {
  await requireAdmin(request);
  throw new Response("There is no page at this address. It may have moved, or the link may be mistyped.", {
    status: 404,
  });
}

export default function NotFound() {
  return null;
}
