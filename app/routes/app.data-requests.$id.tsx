/**
 * One customers/data_request export as a JSON file, for the merchant to send on (home page's "Data
 * requests"). The admin fetches it with its session token (see app/download.ts).
 */
import type { LoaderFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { readExport } from "../privacy/customer-data.server";

export async function loader({ request, params }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const id = /^\d{1,15}$/.test(params.id ?? "") ? Number(params.id) : 0;
  const found = await readExport(prisma, shop.id, id);
  if (!found) throw new Response(`There is no data request "${params.id}" in this shop.`, { status: 404 });
  return new Response(found.payload, {
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Disposition": `attachment; filename="data-request-${found.id}.json"`,
      "Cache-Control": "no-store",
    },
  });
}
