/** The builder's live preview: size, sample and overlap of the rule being edited. POST JSON. */
import type { ActionFunctionArgs } from "@remix-run/node";
import { z } from "zod";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { previewRule } from "../segments/builder.server";

const body = z.object({ rule: z.unknown(), self: z.string().nullish() });

export async function action({ request }: ActionFunctionArgs) {
  const shop = await requireShop(request);
  const parsed = body.safeParse(await request.json().catch(() => null));
  if (!parsed.success)
    return Response.json(
      { ok: false, problems: [{ path: "rule", message: "send { rule }" }] },
      { status: 400 },
    );
  return previewRule(prisma, shop.id, parsed.data.rule, new Date(), parsed.data.self ?? undefined);
}
