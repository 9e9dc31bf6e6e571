/**
 * The app proxy's real path: a merchant can move it (prefix and subpath), Shopify signs where it is
 * into every proxied request (`path_prefix`), and the app mirrors it into the app-data metafield
 * the theme app extension reads (`app.metafields.slice.proxy_path`), only when it changes. Against
 * the Admin API stand-in, which validates every document against the 2026-07 schema.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { parse, TypeInfo, visit, visitWithTypeInfo } from "graphql";
import prisma from "../db.server";
import { AdminApiStandIn, adminSchema, validateAdminDocument } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";
import { proxiedRequest } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { AdminApi } from "../sync/admin-api.server";
import {
  CURRENT_INSTALLATION,
  forgetProxyPaths,
  PROXY_PATH_METAFIELD,
  recordProxyPath,
  SET_PROXY_PATH,
} from "./proxy-path.server";
import { verifyProxyQuery } from "./proxy.server";
import { loader as proxyPage } from "../routes/proxy._index";
import * as home from "../routes/app.sync";
import { adminAs, call } from "../security/admin-request";

const SHOP = "proxy-path.myshopify.com";
const store = generateStore({ seed: 3, customers: 5, shop: SHOP });
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 2000 });
const admin = async () =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin: standIn.origin, sleep: async () => {} });
const now = new Date("2031-07-01T00:00:00Z");
const identity = (pathPrefix: string) => ({ shop: SHOP, pathPrefix });
const recorded = async () =>
  (await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP }, select: { proxyPath: true } })).proxyPath;
const theme = () => standIn.appMetafields()[PROXY_PATH_METAFIELD.namespace]?.[PROXY_PATH_METAFIELD.key];
let writesBefore = 0;
const allWrites = () => standIn.requests.filter((r) => r.query.includes("metafieldsSet")).length;
/** metafieldsSet calls in this test. */
const writes = () => allWrites() - writesBefore;

beforeAll(async () => {
  await standIn.start();
  await prisma.shop.create({ data: { domain: SHOP } });
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});
beforeEach(async () => {
  forgetProxyPaths();
  standIn.metafields.clear();
  writesBefore = allWrites();
  await prisma.shop.update({ where: { domain: SHOP }, data: { proxyPath: null } });
});

describe("the app proxy's path", () => {
  it("sends documents valid against the 2026-07 Admin schema, with no deprecated field", () => {
    const schema = adminSchema();
    for (const doc of [CURRENT_INSTALLATION, SET_PROXY_PATH]) {
      expect(validateAdminDocument(doc)).toEqual([]);
      const deprecated: string[] = [];
      const info = new TypeInfo(schema);
      visit(
        parse(doc),
        visitWithTypeInfo(info, {
          Field() {
            const field = info.getFieldDef();
            if (field?.deprecationReason) deprecated.push(field.name);
          },
        }),
      );
      expect(deprecated).toEqual([]);
    }
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("records a moved path in the app-data metafield the theme reads, once, and again when it moves back", async () => {
    await recordProxyPath(prisma, identity("/tools/offers"), now, admin);
    expect(theme()).toEqual({ value: "/tools/offers", type: "single_line_text_field" });
    expect(await recorded()).toBe("/tools/offers");
    const after = writes();
    expect(after).toBe(1);

    // The same path again (every request carries it): nothing is written.
    await recordProxyPath(prisma, identity("/tools/offers"), now, admin);
    forgetProxyPaths(); // another process, which reads the shop row instead
    await recordProxyPath(prisma, identity("/tools/offers"), now, admin);
    expect(writes()).toBe(after);

    await recordProxyPath(prisma, identity("/apps/slice"), now, admin);
    expect(theme()?.value).toBe("/apps/slice");
    expect(await recorded()).toBe("/apps/slice");
    expect(writes()).toBe(after + 1);
    expect(standIn.invalidDocuments).toEqual([]);
  });

  it("takes the path from the signed query as the local proxy (Shopify) sends it", async () => {
    const request = proxiedRequest(
      "/community/slice-offers/decide?visitor=x",
      {
        appOrigin: "http://127.0.0.1:3999",
        secret: TEST_SECRET,
        shop: SHOP,
        prefix: "community",
        subpath: "slice-offers",
      },
      { timestamp: Math.floor(now.getTime() / 1000) },
    );
    expect(new URL(request.url).pathname).toBe("/proxy/decide");
    const check = verifyProxyQuery(new URL(request.url).searchParams, TEST_SECRET, now);
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    await recordProxyPath(prisma, check.identity, now, admin);
    expect(theme()?.value).toBe("/community/slice-offers");
  });

  it("ignores a path that is not one of Shopify's prefixes and a subpath", async () => {
    for (const path of ["", "/apps", "/shop/slice", "/apps/slice/decide", '/apps/"><script>'])
      await recordProxyPath(prisma, identity(path), now, admin);
    expect(writes()).toBe(0);
    expect(await recorded()).toBeNull();
  });

  it("keeps the last path when Shopify cannot be reached, and tries again a minute later", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const down = async (): Promise<AdminApi> => {
      throw new Error("connect ECONNREFUSED");
    };
    await recordProxyPath(prisma, identity("/a/slice"), now, down);
    expect(await recorded()).toBeNull();
    expect(error.mock.calls[0].join(" ")).toContain(
      "app proxy path /a/slice for proxy-path.myshopify.com not recorded",
    );
    // Within the minute: not even tried.
    await recordProxyPath(prisma, identity("/a/slice"), new Date(now.getTime() + 30_000), admin);
    expect(writes()).toBe(0);
    await recordProxyPath(prisma, identity("/a/slice"), new Date(now.getTime() + 61_000), admin);
    expect(await recorded()).toBe("/a/slice");
    error.mockRestore();
  });

  it("the proxy's own page refuses an unsigned request, and says where Slice answers once it is recorded", async () => {
    const unsigned = await proxyPage({
      request: new Request("http://127.0.0.1:3999/proxy?shop=proxy-path.myshopify.com&path_prefix=/tools/x"),
      params: {},
      context: {},
    }).catch((thrown: unknown) => thrown as Response);
    expect(unsigned.status).toBe(401);

    await prisma.shop.update({ where: { domain: SHOP }, data: { proxyPath: "/tools/offers" } });
    const request = proxiedRequest("/tools/offers", {
      appOrigin: "http://127.0.0.1:3999",
      secret: TEST_SECRET,
      shop: SHOP,
      prefix: "tools",
      subpath: "offers",
    });
    const page = await proxyPage({ request, params: {}, context: {} });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("application/liquid");
    expect(await page.text()).toContain("Slice answers at /tools/offers on this store.");

    // The merchant sees it on the admin's home page too.
    const shown = await call(home.loader, (await adminAs(SHOP))("/app/sync"));
    expect(JSON.parse(shown.text).storefront).toEqual({
      origin: `https://${SHOP}`,
      proxyPath: "/tools/offers",
      defaultPath: "/apps/slice",
    });
    // Once the shop's primary domain is known, the address to open is on it.
    await prisma.shop.update({ where: { domain: SHOP }, data: { primaryDomain: "www.proxy-path.example" } });
    const onDomain = await call(home.loader, (await adminAs(SHOP))("/app/sync"));
    expect(JSON.parse(onDomain.text).storefront.origin).toBe("https://www.proxy-path.example");
  });
});
