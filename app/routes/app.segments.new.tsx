import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { builderAction, builderPage } from "../segments/builder.server";
import { SegmentBuilder, previewDoesNotRevalidate } from "../segments/SegmentBuilder";
import { parseRule } from "../engine/rules";

/** A new segment, blank or starting from another one's rule (?from=<handle>). */
export async function loader({ request }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const page = await builderPage(prisma, shop.domain, null);
  if (!page) throw new Response("Not found", { status: 404 });
  const from = new URL(request.url).searchParams.get("from");
  const base = from
    ? await prisma.segment.findUnique({ where: { shopId_handle: { shopId: shop.id, handle: from } } })
    : null;
  if (base)
    page.segment = { ...page.segment, name: `${base.name} (copy)`, rule: parseRule(JSON.parse(base.rule)) };
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
