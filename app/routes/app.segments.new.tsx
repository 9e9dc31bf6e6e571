import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { builderAction, newSegmentPage } from "../segments/builder.server";
import { SegmentBuilder, previewDoesNotRevalidate } from "../segments/SegmentBuilder";

/**
 * A new segment: blank, a copy of another one's rule (?from=<handle>), or a built-in template
 * (?template=<handle>) with this shop's own numbers, to edit before saving.
 */
export async function loader({ request }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const url = new URL(request.url);
  const page = await newSegmentPage(prisma, shop.domain, {
    from: url.searchParams.get("from"),
    template: url.searchParams.get("template"),
  });
  if (!page) throw new Response("Not found", { status: 404 });
  return page;
}

export const shouldRevalidate = previewDoesNotRevalidate;

export async function action({ request }: ActionFunctionArgs) {
  const shop = await requireShop(request);
  return builderAction(prisma, shop.id, null, await request.formData(), new Date());
}

export default function NewSegment() {
  return <SegmentBuilder data={useLoaderData<typeof loader>()} result={useActionData<typeof action>()} />;
}
