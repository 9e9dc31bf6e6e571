/**
 * A local stand-in for Shopify's app proxy: a request for `/apps/slice/...` on the shop's domain
 * is forwarded to the app's `/proxy/...` with the query Shopify adds (`shop`, `logged_in_customer_id`,
 * `path_prefix`, `timestamp`) and the `signature` Shopify computes. Used by the tests and the demo
 * storefront. Written apart from the app's verifier on purpose, so each checks the other.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";

/**
 * Shopify's app proxy signature: hex HMAC-SHA256 (key: the app's API secret) of the query
 * parameters other than `signature`, each `key=value` with a repeated key's values joined by ",",
 * sorted, concatenated with no separator.
 */
export function signAppProxyQuery(
  params: URLSearchParams | Record<string, string | string[]>,
  secret: string,
): string {
  const entries: [string, string][] =
    params instanceof URLSearchParams
      ? [...params]
      : Object.entries(params).flatMap(([k, v]) =>
          Array.isArray(v) ? v.map((x): [string, string] => [k, x]) : [[k, v]],
        );
  const grouped: Record<string, string[]> = {};
  for (const [k, v] of entries) if (k !== "signature") (grouped[k] ??= []).push(v);
  // Shopify's reference (Ruby): pairs.collect { "k=v" }.sort.join — the pairs sorted by bytes.
  const message = Object.entries(grouped)
    .map(([k, v]) => Buffer.from(`${k}=${v.join(",")}`))
    .sort(Buffer.compare)
    .join("");
  return createHmac("sha256", secret).update(message, "utf8").digest("hex");
}

export interface AppProxyOptions {
  /** The app's origin, e.g. http://127.0.0.1:3000 (its `[app_proxy] url` is `<origin>/proxy`). */
  appOrigin: string;
  secret: string;
  shop: string;
  prefix?: string;
  subpath?: string;
}

export interface ForwardOptions {
  /** The logged-in customer's numeric id; empty (Shopify sends the key with no value) when absent. */
  customerId?: string | null;
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
}

/**
 * The request Shopify would send the app for a storefront request to `/apps/<subpath>/...`
 * (a path, or a full URL on the shop's domain): same method, body and content type; cookies dropped.
 */
export function proxiedRequest(
  storefront: Request | string,
  options: AppProxyOptions,
  forward: ForwardOptions = {},
): Request {
  const original =
    typeof storefront === "string" ? new Request(new URL(storefront, `https://${options.shop}`)) : storefront;
  const url = new URL(original.url);
  const pathPrefix = `/${options.prefix ?? "apps"}/${options.subpath ?? "slice"}`;
  if (url.pathname !== pathPrefix && !url.pathname.startsWith(`${pathPrefix}/`))
    throw new Error(`${url.pathname} is not under the app proxy's ${pathPrefix}`);
  const target = new URL(`/proxy${url.pathname.slice(pathPrefix.length)}`, options.appOrigin);
  const query = new URLSearchParams(url.search);
  // Shopify sets these itself: whatever the shopper put there is replaced.
  for (const key of ["shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature"])
    query.delete(key);
  query.append("shop", options.shop);
  query.append("logged_in_customer_id", forward.customerId ?? "");
  query.append("path_prefix", pathPrefix);
  query.append("timestamp", String(forward.timestamp ?? Math.floor(Date.now() / 1000)));
  query.append("signature", signAppProxyQuery(query, options.secret));
  target.search = query.toString();

  const headers = new Headers();
  const contentType = original.headers.get("content-type");
  if (contentType) headers.set("content-type", contentType);
  headers.set("x-forwarded-host", options.shop);
  headers.set("x-forwarded-for", original.headers.get("x-forwarded-for") ?? "127.0.0.1");
  const hasBody = !["GET", "HEAD"].includes(original.method);
  return new Request(target, {
    method: original.method,
    headers,
    body: hasBody ? original.body : undefined,
    ...(hasBody ? { duplex: "half" } : {}),
  } as RequestInit);
}

/** Forwards a storefront request to the running app, as Shopify's proxy does, and returns its answer. */
export async function forwardToApp(
  storefront: Request | string,
  options: AppProxyOptions,
  forward: ForwardOptions = {},
): Promise<Response> {
  const response = await fetch(proxiedRequest(storefront, options, forward));
  // Shopify strips Set-Cookie from proxied responses.
  const headers = new Headers(response.headers);
  headers.delete("set-cookie");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

export interface AppProxyServerOptions extends AppProxyOptions {
  port?: number;
  host?: string;
  /**
   * Who is logged in, as Shopify knows from its own session cookie (the app never sees cookies):
   * the demo storefront decides, e.g. from a cookie of its own. Default: nobody.
   */
  customerOf?: (request: Request) => string | null;
  /** Everything not under the proxy's prefix (the storefront's own pages); default 404. */
  fallback?: (request: IncomingMessage, response: ServerResponse) => void;
}

/**
 * The shop's domain, locally: an HTTP server that forwards `/apps/<subpath>/*` to the app as
 * Shopify's proxy does and hands every other request to `fallback` (the demo storefront).
 */
export async function startAppProxy(
  options: AppProxyServerOptions,
): Promise<{ url: string; close: () => Promise<void> }> {
  const pathPrefix = `/${options.prefix ?? "apps"}/${options.subpath ?? "slice"}`;
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    if (path !== pathPrefix && !path.startsWith(`${pathPrefix}/`) && !path.startsWith(`${pathPrefix}?`)) {
      if (options.fallback) return options.fallback(req, res);
      return void res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
    const hasBody = !["GET", "HEAD"].includes(req.method ?? "GET");
    const headers = new Headers();
    for (const [key, value] of Object.entries(req.headers))
      if (typeof value === "string") headers.set(key, value);
      else if (Array.isArray(value)) headers.set(key, value.join(", "));
    const storefront = new Request(new URL(path, `https://${options.shop}`), {
      method: req.method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
      ...(hasBody ? { duplex: "half" } : {}),
    } as RequestInit);
    forwardToApp(storefront, options, { customerId: options.customerOf?.(storefront) ?? null })
      .then(async (answer) => {
        const out: Record<string, string> = {};
        answer.headers.forEach((value, key) => {
          if (key !== "content-encoding" && key !== "content-length" && key !== "transfer-encoding")
            out[key] = value;
        });
        res.writeHead(answer.status, out);
        res.end(Buffer.from(await answer.arrayBuffer()));
      })
      .catch((error: unknown) => {
        // As Shopify does when the app is down or too slow: a gateway error, not a hang.
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        res.end(`app proxy: ${String(error)}`);
      });
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
