/** CSV of a segment's members now, the same export as `npm run slice -- segments export`. */
import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireAdmin } from "../auth.server";
import { segmentCsv } from "../segments/cli.server";

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const csv = await segmentCsv(shop, params.handle ?? "", new Date());
  if (csv === null)
    throw new Response(`There is no segment "${params.handle}" in this shop.`, { status: 404 });
  return new Response(csv, {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${params.handle}.csv"`,
    },
  });
}
