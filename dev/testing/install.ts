/**
 * Installs a shop as Shopify does for an embedded app: App Bridge's session token (signed with the
 * app's secret) reaches `authenticate.admin`, and the library exchanges it for an expiring offline
 * token at the stand-in's `/admin/oauth/access_token`, stores the session and runs afterAuth (the
 * app's onInstalled). No token is written into the Session table by hand.
 *
 * In-process (tests): the app's modules must load after SLICE_ADMIN_API_ORIGIN points at the
 * stand-in, so they are imported here, when first called. Over HTTP (the demo): the running app
 * server's /app page does the same with the token in `id_token`.
 */
import { signSessionToken } from "../oauth";

export interface InstallTarget {
  shop: string;
  apiKey: string;
  apiSecret: string;
  appUrl: string;
}

function embeddedUrl(target: InstallTarget, path: string, token: string): string {
  const host = Buffer.from(`${target.shop}/admin`).toString("base64url");
  const url = new URL(path, target.appUrl);
  url.searchParams.set("embedded", "1");
  url.searchParams.set("shop", target.shop);
  url.searchParams.set("host", host);
  url.searchParams.set("id_token", token);
  return url.toString();
}

/** In this process, through the app's one shopifyApp (tests). */
export async function installInProcess(shop: string): Promise<void> {
  const { config } = await import("../../app/config.server");
  const { authenticate } = await import("../../app/shopify.server");
  const token = signSessionToken({
    shop,
    apiKey: config.apiKey,
    apiSecret: config.apiSecret,
    now: Date.now(),
  });
  const request = new Request(
    embeddedUrl(
      { shop, apiKey: config.apiKey, apiSecret: config.apiSecret, appUrl: config.appUrl },
      "/app",
      token,
    ),
    { headers: { Authorization: `Bearer ${token}` } },
  );
  try {
    await authenticate.admin(request);
  } catch (thrown) {
    if (thrown instanceof Response)
      throw new Error(
        `install of ${shop} failed: authenticate.admin answered ${thrown.status} ${await thrown.text()}`,
      );
    throw thrown;
  }
}

/** Through a running app server's embedded admin page (the demo). */
export async function installOverHttp(target: InstallTarget): Promise<void> {
  const token = signSessionToken({ ...target, now: Date.now() });
  // As the admin's iframe loads it (the library turns away requests that look like bots).
  const response = await fetch(embeddedUrl(target, "/app", token), {
    redirect: "manual",
    headers: {
      Accept: "text/html",
      "User-Agent":
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    },
  });
  await response.arrayBuffer();
  if (response.status !== 200)
    throw new Error(`install of ${target.shop} through ${target.appUrl}/app failed: HTTP ${response.status}`);
}
