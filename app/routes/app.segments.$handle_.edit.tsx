import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { builderAction, builderPage } from "../segments/builder.server";
import { SegmentBuilder, previewDoesNotRevalidate } from "../segments/SegmentBuilder";

export async function loader({ request, params }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const page = await builderPage(prisma, shop.domain, params.handle ?? "");
  if (!page) throw new Response(`There is no segment "${params.handle}" in this shop.`, { status: 404 });
  return page;
}

export const shouldRevalidate = previewDoesNotRevalidate;

export async function action({ request, params }: ActionFunctionArgs) {
  const shop = await requireShop(request);
  return builderAction(prisma, shop.id, params.handle ?? "", await request.formData(), new Date());
}

export default function EditSegment() {
  const data = useLoaderData<typeof loader>();
  // A fresh builder per segment, so moving between segments does not keep the last one's draft.
  return <SegmentBuilder key={data.existing} data={data} result={useActionData<typeof action>()} />;
}
