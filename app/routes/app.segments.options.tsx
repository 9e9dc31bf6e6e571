/** Picker values for the builder: products, variants, collections, vendors, product types, countries. */
import type { LoaderFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { PICKER_KINDS, pickerOptions, type PickerKind } from "../segments/builder.server";

export async function loader({ request }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const url = new URL(request.url);
  const kind = url.searchParams.get("kind") as PickerKind;
  if (!PICKER_KINDS.includes(kind))
    return Response.json({ error: `kind must be one of ${PICKER_KINDS.join(", ")}` }, { status: 400 });
  return { kind, options: await pickerOptions(prisma, shop.id, kind, url.searchParams.get("q") ?? "") };
}
