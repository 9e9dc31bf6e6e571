/**
 * The local app proxy signs exactly as Shopify does (checked against Shopify's own documented
 * example) and forwards a storefront request the way Shopify's proxy does.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forwardToApp, proxiedRequest, signAppProxyQuery, startAppProxy } from "./app-proxy";

// shopify.dev, "Authenticate app proxies": shared secret "hush", and the forwarded query with its
// signature. The page now shows the shop as "{shop}.myshopify.com"; the signature was computed for
// the earlier version's "shop-name.myshopify.com" (the only value that reproduces it).
const DOCUMENTED_QUERY =
  "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555";
const DOCUMENTED_SIGNATURE = "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb";

describe("signAppProxyQuery", () => {
  it("reproduces the signature in Shopify's documentation (repeated keys joined with a comma)", () => {
    expect(signAppProxyQuery(new URLSearchParams(DOCUMENTED_QUERY), "hush")).toBe(DOCUMENTED_SIGNATURE);
    expect(
      signAppProxyQuery(
        {
          timestamp: "1317327555",
          shop: "shop-name.myshopify.com",
          path_prefix: "/apps/awesome_reviews",
          logged_in_customer_id: "1",
          extra: ["1", "2"],
        },
        "hush",
      ),
    ).toBe(DOCUMENTED_SIGNATURE);
  });

  it("sorts the key=value strings, as Shopify's Ruby reference does, not the keys", () => {
    // "utm2=..." sorts before "utm=..." ("2" is below "="), though the key "utm" sorts first.
    const hmac = (message: string) => createHmac("sha256", "k").update(message).digest("hex");
    expect(signAppProxyQuery({ utm: "x", utm2: "y", b: "z" }, "k")).toBe(hmac("b=zutm2=yutm=x"));
  });

  it("ignores an existing signature parameter and depends on every other one and the secret", () => {
    const withSignature = new URLSearchParams(`${DOCUMENTED_QUERY}&signature=${DOCUMENTED_SIGNATURE}`);
    expect(signAppProxyQuery(withSignature, "hush")).toBe(DOCUMENTED_SIGNATURE);
    expect(signAppProxyQuery(new URLSearchParams(DOCUMENTED_QUERY), "other")).not.toBe(DOCUMENTED_SIGNATURE);
    const changed = new URLSearchParams(
      DOCUMENTED_QUERY.replace("logged_in_customer_id=1", "logged_in_customer_id=2"),
    );
    expect(signAppProxyQuery(changed, "hush")).not.toBe(DOCUMENTED_SIGNATURE);
  });
});

describe("proxiedRequest", () => {
  const options = { appOrigin: "http://127.0.0.1:3999", secret: "s3cret", shop: "demo.myshopify.com" };

  it("maps /apps/slice/... to /proxy/... and adds Shopify's signed parameters", () => {
    const request = proxiedRequest("/apps/slice/events/x?extra=1", options, {
      customerId: "42",
      timestamp: 1700000000,
    });
    const url = new URL(request.url);
    expect(url.origin + url.pathname).toBe("http://127.0.0.1:3999/proxy/events/x");
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      extra: "1",
      shop: "demo.myshopify.com",
      logged_in_customer_id: "42",
      path_prefix: "/apps/slice",
      timestamp: "1700000000",
    });
    expect(url.searchParams.get("signature")).toBe(signAppProxyQuery(url.searchParams, "s3cret"));
  });

  it("replaces whatever the shopper put in shop, logged_in_customer_id or signature", () => {
    const request = proxiedRequest(
      "/apps/slice/events?shop=evil.myshopify.com&logged_in_customer_id=7&signature=abc",
      options,
    );
    const url = new URL(request.url);
    expect(url.searchParams.getAll("shop")).toEqual(["demo.myshopify.com"]);
    expect(url.searchParams.getAll("logged_in_customer_id")).toEqual([""]);
    expect(url.searchParams.getAll("signature")).toHaveLength(1);
  });

  it("refuses a path outside the proxy's prefix", () => {
    expect(() => proxiedRequest("/cart", options)).toThrow(/not under/);
    expect(() => proxiedRequest("/apps/slicer/x", options)).toThrow(/not under/);
  });
});

describe("forwardToApp", () => {
  let origin = "";
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.setHeader("set-cookie", "a=b");
      res.end(JSON.stringify({ method: req.method, url: req.url, body, type: req.headers["content-type"] }));
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("forwards method, body and content type to the app, and strips Set-Cookie from the answer", async () => {
    const storefront = new Request("https://demo.myshopify.com/apps/slice/events", {
      method: "POST",
      body: '{"a":1}',
      headers: { "content-type": "text/plain;charset=UTF-8", cookie: "_session_id=x" },
    });
    const response = await forwardToApp(storefront, {
      appOrigin: origin,
      secret: "s",
      shop: "demo.myshopify.com",
    });
    expect(response.headers.get("set-cookie")).toBeNull();
    const echoed = (await response.json()) as { method: string; url: string; body: string; type: string };
    expect(echoed).toMatchObject({ method: "POST", body: '{"a":1}', type: "text/plain;charset=UTF-8" });
    expect(echoed.url).toMatch(/^\/proxy\/events\?shop=demo\.myshopify\.com&/);
  });
  it("serves the shop's domain locally: /apps/slice/* forwarded and signed, the rest to the storefront", async () => {
    const proxy = await startAppProxy({
      appOrigin: origin,
      secret: "s",
      shop: "demo.myshopify.com",
      customerOf: (request) => /demo_customer=(\d+)/.exec(request.headers.get("cookie") ?? "")?.[1] ?? null,
      fallback: (_req, res) => void res.writeHead(200, { "content-type": "text/html" }).end("<h1>store</h1>"),
    });
    try {
      const answer = await fetch(`${proxy.url}/apps/slice/events?x=1`, {
        method: "POST",
        body: "hello",
        headers: { cookie: "demo_customer=42" },
      });
      expect(answer.headers.get("set-cookie")).toBeNull();
      const echoed = (await answer.json()) as { method: string; url: string; body: string };
      expect(echoed).toMatchObject({ method: "POST", body: "hello" });
      const query = new URL(echoed.url, "http://x").searchParams;
      expect(query.get("x")).toBe("1");
      expect(query.get("logged_in_customer_id")).toBe("42");
      expect(query.get("signature")).toBe(signAppProxyQuery(query, "s"));
      expect(await (await fetch(`${proxy.url}/products/shirt`)).text()).toBe("<h1>store</h1>");
    } finally {
      await proxy.close();
    }
  });
});

describe("shopify.app.toml", () => {
  it("declares the app proxy this stand-in plays: /apps/slice/* to <app url>/proxy, with its scope", () => {
    const toml = readFileSync("shopify.app.toml", "utf8");
    const section = toml.slice(toml.indexOf("[app_proxy]")).split(/\n\[(?!app_proxy)/)[0];
    expect(section).toMatch(/^url = "https:\/\/[^"]+\/proxy"$/m);
    expect(section).toMatch(/^subpath = "slice"$/m);
    expect(section).toMatch(/^prefix = "apps"$/m);
    expect(toml).toMatch(/^scopes = "[^"]*\bwrite_app_proxy\b/m);
  });
});
