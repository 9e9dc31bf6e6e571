import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { messageAction, messageFormPage } from "../messages/admin.server";
import { MessageForm } from "../messages/MessageForm";

/** A new storefront message (?segment=<handle> starts it for that segment). */
export async function loader({ request }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const segment = new URL(request.url).searchParams.get("segment");
  const page = await messageFormPage(prisma, shop.id, null, segment);
  if (!page) throw new Response("Not found", { status: 404 });
  return page;
}

export async function action({ request }: ActionFunctionArgs) {
  const shop = await requireShop(request);
  return messageAction(prisma, shop.id, null, await request.formData());
}

export default function NewMessage() {
  return <MessageForm data={useLoaderData<typeof loader>()} result={useActionData<typeof action>()} />;
}
