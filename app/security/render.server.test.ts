/**
 * Hostile text rendered by the built admin (Remix server rendering, as the production server
 * runs it): a segment's and a message's names, a message's headline and a data request's email
 * are shown as text, escaped, both in the HTML and in the loader data Remix writes into the page.
 * Needs `npm run build` (npm test runs it first).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { ensurePresets } from "../segments/store.server";
import { adminAs } from "./admin-request";

const SHOP = "render.myshopify.com";
const SCRIPT = "<script>alert(1)</script>";
const ATTRIBUTE = '" onmouseover="alert(1)';
const LIQUID = "{{ shop.name }}";
let request: Awaited<ReturnType<typeof adminAs>>;
let handle: (request: Request) => Promise<Response>;

beforeAll(async () => {
  const file = path.resolve("build/server/index.js");
  if (!existsSync(file))
    throw new Error("build/server/index.js is missing: run `npm run build` first (npm test does)");
  const build = (await import(pathToFileURL(file).href)) as ServerBuild;
  handle = createRequestHandler(build, "development");
  const shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await ensurePresets(prisma, shopId);
  await prisma.segment.create({
    data: {
      shopId,
      handle: "hostile",
      name: `Seg ${SCRIPT}${ATTRIBUTE}`,
      description: LIQUID,
      rule: '{"version":1,"match":{"all":[]}}',
    },
  });
  await prisma.message.create({
    data: {
      shopId,
      name: `Msg ${SCRIPT}`,
      segmentHandle: "hostile",
      format: "popup",
      trigger: "load",
      headline: `Head ${SCRIPT}${ATTRIBUTE}`,
    },
  });
  await prisma.dataExport.create({
    data: { shopId, customerShopifyId: "1", email: `${SCRIPT}@example.com`, payload: "{}" },
  });
  request = await adminAs(SHOP);
});
afterAll(async () => {
  delete process.env.SLICE_DEV_LOGIN;
  await prisma.$disconnect();
});

describe("the admin's pages with hostile text", () => {
  it("show it escaped, in the HTML and in the page's data", async () => {
    for (const [page, shows] of [
      ["/app/sync", `${SCRIPT}@example.com`],
      ["/app/segments", `Seg ${SCRIPT}${ATTRIBUTE}`],
      ["/app/messages", `Msg ${SCRIPT}`],
    ] as const) {
      const response = await handle(request(page));
      expect(response.status, page).toBe(200);
      const html = await response.text();
      expect(html, page).not.toContain(SCRIPT);
      expect(html, page).not.toContain(ATTRIBUTE);
      // The text is there, as text.
      const escaped = shows
        .replaceAll("&", "&amp;")
        .replaceAll("<", "&lt;")
        .replaceAll(">", "&gt;")
        .replaceAll('"', "&quot;");
      expect(
        html.includes(escaped) ||
          html.includes(JSON.stringify(shows).slice(1, -1).replaceAll("<", "\\u003c")),
        `${page} shows ${shows}`,
      ).toBe(true);
    }
    // The home holds the same shop's data (segment names among them): nothing unescaped either.
    const home = await (await handle(request("/app"))).text();
    expect(home).not.toContain(SCRIPT);
    expect(home).not.toContain(ATTRIBUTE);
  });
});
