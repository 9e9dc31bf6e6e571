/**
 * The format a page's figures are shown in: the shop's currency and IANA time zone (its row), in
 * the reader's locale (Shopify's admin passes the staff member's as ?locale= when it loads the app;
 * later requests carry the browser's Accept-Language). Read once here for the app layout and any
 * loader that writes text for people on the server (rule lines, explanations).
 */
import type { PrismaClient } from "@prisma/client";
import { localeFromAcceptLanguage, safeLocale, safeTimeZone, type ShopFormat } from "../engine/format";

export async function readerFormat(
  db: PrismaClient,
  shopDomain: string,
  request: Request,
): Promise<ShopFormat> {
  const held = await db.shop.findUnique({
    where: { domain: shopDomain },
    select: { currency: true, ianaTimezone: true },
  });
  const locale = new URL(request.url).searchParams.get("locale");
  return {
    currency: held?.currency ?? "USD",
    timeZone: safeTimeZone(held?.ianaTimezone),
    locale: locale
      ? safeLocale(locale)
      : (localeFromAcceptLanguage(request.headers.get("Accept-Language")) ?? "en-US"),
  };
}
