/**
 * The question form without JavaScript: the theme's form posts `question` and `answer` to
 * `/apps/slice/answer`; the answer is kept (it is what the shopper asked us to keep, so no
 * analytics consent is needed) and the shopper gets a thank-you page rendered in the shop's own
 * theme (Shopify renders an app proxy's `application/liquid` answer inside the theme layout).
 *
 * The app proxy forwards no cookies, so without the script there is no visitor id: the answer is
 * stored on a visitor of its own, linked to the customer when Shopify signed one in
 * (logged_in_customer_id) and therefore useful to segments; an anonymous one is kept unlinked.
 */
import type { PrismaClient } from "@prisma/client";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { requireAppProxy, type ProxyIdentity } from "./proxy.server";
import { readLimited, storeBatch, VisitorOfAnotherShop } from "./events.server";
import { updateMembership } from "../segments/store.server";
import { isStorableText, UNSTORABLE_MESSAGE } from "../engine/rules";

const MAX_FORM_BYTES = 4 * 1024;

const form = z.object({
  question: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9_-]{0,59}$/, "must be a question key (letters, digits, - or _)"),
  answer: z
    .string()
    .trim()
    .min(1, "choose an answer")
    .max(150, "must be at most 150 characters")
    .refine(isStorableText, UNSTORABLE_MESSAGE),
  visitorId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,64}$/)
    .optional(),
});

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function page(title: string, text: string, status: number): Response {
  // Liquid: Shopify renders it in the theme's layout. Values are escaped before they get here,
  // and `{{`/`{%` cannot appear in them (they are escaped as HTML, not as Liquid, so keep them out).
  const safe = (s: string) => escape(s).replace(/[{}]/g, "");
  return new Response(
    `<div class="slice-answer" style="max-width:40rem;margin:3rem auto;padding:0 1rem">
  <h1>${safe(title)}</h1>
  <p role="status">${safe(text)}</p>
  <p><a href="/">Continue shopping</a></p>
</div>`,
    { status, headers: { "Content-Type": "application/liquid", "Cache-Control": "no-store" } },
  );
}

export async function receiveAnswer(request: Request, db: PrismaClient, now = new Date()): Promise<Response> {
  if (request.method !== "POST")
    return page("Nothing to send", "Answer the question on the page, then send it.", 405);
  let identity: ProxyIdentity;
  try {
    identity = requireAppProxy(request, now);
  } catch (refused) {
    if (refused instanceof Response) return page("Not sent", "This form could not be verified.", 401);
    throw refused;
  }
  const body = await readLimited(request, MAX_FORM_BYTES);
  if (body === null)
    return page("Not sent", `The answer is too long (at most ${MAX_FORM_BYTES} bytes).`, 413);
  const parsed = form.safeParse(Object.fromEntries(new URLSearchParams(body)));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return page("Not sent", `${issue.path.join(".")}: ${issue.message}`, 400);
  }
  const shop = await db.shop.findUnique({
    where: { domain: identity.shop },
    select: { id: true, uninstalledAt: true },
  });
  if (!shop || shop.uninstalledAt) return page("Not sent", "This shop does not use Slice.", 404);
  const { question, answer, visitorId } = parsed.data;
  const result = await storeBatch(
    db,
    shop.id,
    identity,
    {
      visitorId: visitorId ?? `form-${randomBytes(12).toString("base64url")}`,
      consent: { analytics: false },
      context: {},
      events: [{ type: "answer", at: now.toISOString(), resourceId: `${question}=${answer}` }],
    },
    now,
  ).catch((e: unknown) => {
    if (e instanceof VisitorOfAnotherShop) return null;
    throw e;
  });
  if (!result) return page("Not sent", "visitorId: belongs to another shop", 409);
  if (result.customerId)
    try {
      await updateMembership(db, shop.id, [result.customerId], ["visitor"], now);
    } catch (e) {
      console.error("storefront answer: membership update failed", e);
    }
  return page("Thank you", "Your answer was saved.", 200);
}
