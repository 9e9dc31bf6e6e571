/**
 * The web pixel's real code (its bundle, in dev/web-pixels.ts) talking to the real endpoint: a
 * shopper's visit across pages (the key kept between them), a Buy it now checkout to its order,
 * stored as CONTRACTS C2 says, and the order linked to the browser when it arrives.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import prisma from "../db.server";
import { buildPixel } from "../../dev/pixel-build";
import { checkout, loadPixel, productVariant } from "../../dev/web-pixels";
import { applyOrder } from "../sync/apply.server";
import { orderFromWebhook } from "../sync/from-webhook";
import { pixelPerClient, receivePixel } from "./pixel.server";

const SHOP = "pixel-harness.myshopify.com";
const CLIENT = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const code = buildPixel();
let shopId = 0;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
});
afterAll(() => prisma.$disconnect());

it("a visit across pages, Buy it now, checkout and the order: stored and linked to the browser", async () => {
  pixelPerClient.clear();
  const localStorage = new Map<string, string>();
  const statuses: number[] = [];
  const page = (path: string) =>
    loadPixel({
      code,
      settings: { shop: SHOP, endpoint: "https://app.example/pixel" },
      clientId: CLIENT,
      url: `https://${SHOP}${path}`,
      localStorage,
      handler: async (request) => {
        const response = await receivePixel(request, prisma);
        statuses.push(response.status);
        return response;
      },
    });
  const home = page("/");
  home.publish("page_viewed", {});
  await home.idle();
  const product = page("/products/linen");
  product.publish("page_viewed", {});
  product.publish("product_viewed", { productVariant: productVariant("8001") });
  await product.idle();
  // Buy it now: straight to checkout, no cart.
  const checkoutPage = page("/checkouts/cn/tok-bin");
  checkoutPage.publish("page_viewed", {});
  for (const name of [
    "checkout_started",
    "checkout_contact_info_submitted",
    "checkout_address_info_submitted",
    "checkout_shipping_info_submitted",
    "payment_info_submitted",
  ] as const)
    checkoutPage.publish(name, { checkout: checkout("tok-bin", ["8001"]) });
  checkoutPage.publish("checkout_completed", { checkout: checkout("tok-bin", ["8001"], "77001") });
  await checkoutPage.idle();
  expect(statuses.every((s) => s === 200)).toBe(true);
  expect(statuses.length).toBeGreaterThanOrEqual(3);

  const rows = await prisma.storefrontEvent.findMany({
    where: { shopId, visitorId: CLIENT },
    orderBy: [{ occurredAt: "asc" }, { id: "asc" }],
    select: { type: true, resourceId: true },
  });
  expect(rows.map((r) => r.type)).toEqual([
    "session_start",
    "page_view",
    "page_view",
    "product_view",
    "page_view",
    "checkout_started",
    "checkout_contact",
    "checkout_address",
    "checkout_shipping",
    "checkout_payment",
    "checkout_completed",
  ]);
  expect(rows.at(-1)).toEqual({ type: "checkout_completed", resourceId: "tok-bin" });

  // The order webhook comes after the pixel's event: the order is the browser's then.
  const at = new Date().toISOString();
  await prisma.$transaction((tx) =>
    applyOrder(
      tx,
      shopId,
      orderFromWebhook({
        id: 77001,
        currency: "USD",
        total_price: "25.00",
        checkout_token: "tok-bin",
        created_at: at,
        updated_at: at,
        line_items: [],
      }),
    ),
  );
  const order = await prisma.order.findUniqueOrThrow({
    where: { shopId_shopifyId: { shopId, shopifyId: "77001" } },
  });
  expect(order.visitorId).toBe(CLIENT);
});
