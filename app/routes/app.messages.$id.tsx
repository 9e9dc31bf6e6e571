import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { messageAction, messageFormPage } from "../messages/admin.server";
import { MessageForm } from "../messages/MessageForm";

function idOf(param: string | undefined): number {
  const id = Number(param);
  if (!/^\d+$/.test(param ?? "") || !Number.isSafeInteger(id))
    throw new Response(`There is no message "${param}" in this shop.`, { status: 404 });
  return id;
}

/** One storefront message: edit it, pause it or switch it on, delete it. */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const page = await messageFormPage(prisma, shop.id, idOf(params.id));
  if (!page) throw new Response(`There is no message "${params.id}" in this shop.`, { status: 404 });
  return page;
}

export async function action({ request, params }: ActionFunctionArgs) {
  const shop = await requireShop(request);
  return messageAction(prisma, shop.id, idOf(params.id), await request.formData());
}

export default function EditMessage() {
  const data = useLoaderData<typeof loader>();
  // A fresh form per message, so moving between messages does not keep the last one's edits.
  return <MessageForm key={data.existing?.id} data={data} result={useActionData<typeof action>()} />;
}
