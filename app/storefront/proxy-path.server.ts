/**
 * Where the app proxy really is on a shop's storefront. Shopify's default is `[app_proxy]` in
 * shopify.app.toml (`/apps/slice`), but a merchant can change the prefix (apps, a, community,
 * tools) and the subpath in their admin, and Shopify then signs that path into every proxied
 * request as `path_prefix`. The theme app extension cannot ask Shopify where the proxy is, so the
 * app tells it: the path is kept on the shop (`Shop.proxyPath`) and in an app-data metafield on
 * the app's installation, which the app embed and the form read as
 * `app.metafields.slice.proxy_path.value` (falling back to /apps/slice until one is known).
 *
 * Written only when it changes: one read of the shop row per process and shop, then nothing
 * until a request arrives signed with another path.
 */
import type { PrismaClient } from "@prisma/client";
import { adminApiFor, type AdminApi } from "../sync/admin-api.server";
import { adminDocument } from "../sync/documents";
import type { ProxyIdentity } from "./proxy.server";

export const PROXY_PATH_METAFIELD = { namespace: "slice", key: "proxy_path" } as const;
/** What the extension assumes until the app has recorded a path (shopify.app.toml's). */
export const DEFAULT_PROXY_PATH = "/apps/slice";
/** Shopify's prefixes, then the merchant's subpath (letters, digits, - and _). */
const PROXY_PATH = /^\/(apps|a|community|tools)\/[A-Za-z0-9_-]{1,100}$/;
/** After a failed write, wait this long before trying again (the Admin API may be down). */
const RETRY_MS = 60_000;

export const CURRENT_INSTALLATION = adminDocument(
  "CURRENT_INSTALLATION",
  `query SliceAppInstallation {
  currentAppInstallation {
    id
  }
}`,
);

export const SET_PROXY_PATH = adminDocument(
  "SET_PROXY_PATH",
  `mutation SliceSetProxyPath($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields {
      id
    }
    userErrors {
      field
      message
      code
    }
  }
}`,
);

/** By shop domain: the path known to be recorded, or when the last write failed. */
const known = new Map<string, string>();
const failedAt = new Map<string, number>();
const writing = new Map<string, Promise<void>>();

/** Forget what this process knows (tests). */
export function forgetProxyPaths(): void {
  known.clear();
  failedAt.clear();
  writing.clear();
}

/**
 * Records the signed `path_prefix` of a proxied request when it differs from the one recorded.
 * Never throws and never delays the request (callers do not wait for it); the returned promise
 * settles when any write is done.
 */
export function recordProxyPath(
  db: PrismaClient,
  identity: Pick<ProxyIdentity, "shop" | "pathPrefix">,
  now = new Date(),
  adminFor: (shop: string) => Promise<AdminApi> = (shop) => adminApiFor(db, shop),
): Promise<void> {
  const { shop, pathPrefix } = identity;
  if (!PROXY_PATH.test(pathPrefix) || known.get(shop) === pathPrefix) return Promise.resolve();
  if (now.getTime() - (failedAt.get(shop) ?? -Infinity) < RETRY_MS) return Promise.resolve();
  const running = writing.get(shop);
  if (running) return running;
  const work = (async () => {
    try {
      const row = await db.shop.findUnique({
        where: { domain: shop },
        select: { id: true, proxyPath: true },
      });
      if (!row) return;
      if (row.proxyPath === pathPrefix) {
        known.set(shop, pathPrefix);
        return;
      }
      const admin = await adminFor(shop);
      const installation = await admin.request<{ currentAppInstallation: { id: string } }>(
        CURRENT_INSTALLATION,
      );
      const data = await admin.request<{
        metafieldsSet: { userErrors: { field: string[] | null; message: string }[] };
      }>(SET_PROXY_PATH, {
        metafields: [
          {
            ownerId: installation.currentAppInstallation.id,
            ...PROXY_PATH_METAFIELD,
            type: "single_line_text_field",
            value: pathPrefix,
          },
        ],
      });
      const errors = data.metafieldsSet.userErrors;
      if (errors.length) throw new Error(errors.map((e) => `${e.field?.join(".")}: ${e.message}`).join("; "));
      await db.shop.update({ where: { id: row.id }, data: { proxyPath: pathPrefix } });
      known.set(shop, pathPrefix);
      failedAt.delete(shop);
    } catch (error) {
      failedAt.set(shop, now.getTime());
      console.error(`app proxy path ${pathPrefix} for ${shop} not recorded:`, (error as Error).message);
    } finally {
      writing.delete(shop);
    }
  })();
  writing.set(shop, work);
  return work;
}
