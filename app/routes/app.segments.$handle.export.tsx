/**
 * A segment's members now as CSV, the same export as `npm run slice -- segments export`, streamed
 * a page at a time (any size, bounded memory). The admin fetches it with its session token (see
 * app/download.ts): inside Shopify's admin a plain link carries none.
 */
import type { LoaderFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { linesToStream, segmentExport } from "../segments/export.server";

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const handle = params.handle ?? "";
  const found = await segmentExport(prisma, shop, handle, new Date(), "csv");
  if (!found) throw new Response(`There is no segment "${handle}" in this shop.`, { status: 404 });
  return new Response(linesToStream(found.lines), {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${found.handle}.csv"`,
      "Cache-Control": "no-store",
    },
  });
}
