import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { messageAction, messageFormPage } from "../messages/admin.server";
import { MessageForm } from "../messages/MessageForm";
import { isVariantIntent, listVariants, variantAction } from "../messages/variants.server";
import { VariantsCard } from "../messages/VariantsCard";
import { BlockStack, Page } from "@shopify/polaris";
import { overlapWarnings } from "../messages/overlap.server";
import { OverlapBanners } from "../messages/MessagePolicy";

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
  const [variants, overlaps] = await Promise.all([
    listVariants(prisma, shop.id, page.existing!.id),
    overlapWarnings(prisma, shop.id, new Date(), page.existing!.id),
  ]);
  return { ...page, variants, overlaps };
}

export async function action({ request, params }: ActionFunctionArgs) {
  const shop = await requireShop(request);
  if (
    !(await prisma.message.findFirst({
      where: { id: idOf(params.id), shopId: shop.id },
      select: { id: true },
    }))
  )
    throw new Response(`There is no message "${params.id}" in this shop.`, { status: 404 });
  const form = await request.formData();
  // The variants card's own forms (through fetchers): their result never reaches the message form.
  if (isVariantIntent(form)) return variantAction(prisma, shop.id, idOf(params.id), form);
  return messageAction(prisma, shop.id, idOf(params.id), form);
}

export default function EditMessage() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  // A fresh form per message, so moving between messages does not keep the last one's edits.
  return (
    <>
      {data.overlaps.length > 0 && (
        <Page>
          <BlockStack gap="300">
            <OverlapBanners warnings={data.overlaps} />
          </BlockStack>
        </Page>
      )}
      <MessageForm
        key={data.existing?.id}
        data={data}
        result={result && "intent" in result ? undefined : result}
      />
      <Page>
        <VariantsCard
          key={data.existing?.id}
          variants={data.variants}
          hasButton={data.values.buttonLabel !== ""}
          terms={
            data.values.reward === "firstPurchase"
              ? {
                  type: data.values.discountType === "amount" ? "amount" : "percentage",
                  currency: data.shop.currency,
                }
              : null
          }
        />
      </Page>
    </>
  );
}
