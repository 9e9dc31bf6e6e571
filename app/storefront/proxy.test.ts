/**
 * The app's check of Shopify's app proxy signature: Shopify's documented example passes, and a
 * changed, missing, duplicated or stale signature is refused with the reason.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { proxiedRequest, signAppProxyQuery } from "../../dev/app-proxy";
import { TEST_SECRET } from "../../dev/testing/setup";
import { MAX_CLOCK_SKEW_SECONDS, requireAppProxy, verifyProxyQuery } from "./proxy.server";

// shopify.dev, "Authenticate app proxies" (secret "hush"); see dev/app-proxy.test.ts.
const DOCUMENTED =
  "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb";
const documentedNow = new Date(1317327555 * 1000);

describe("verifyProxyQuery", () => {
  it("accepts Shopify's documented example and returns the signed identity", () => {
    expect(verifyProxyQuery(new URLSearchParams(DOCUMENTED), "hush", documentedNow)).toEqual({
      ok: true,
      identity: {
        shop: "shop-name.myshopify.com",
        customerId: "1",
        pathPrefix: "/apps/awesome_reviews",
        timestamp: 1317327555,
      },
    });
  });

  it.each([
    ["another secret", DOCUMENTED, "nope", "invalid app proxy signature"],
    [
      "a changed customer",
      DOCUMENTED.replace("customer_id=1", "customer_id=2"),
      "hush",
      "invalid app proxy signature",
    ],
    ["an added parameter", `${DOCUMENTED}&extra=3`, "hush", "invalid app proxy signature"],
    ["no signature", DOCUMENTED.replace(/&signature=.*/, ""), "hush", "missing app proxy signature"],
    ["two signatures", `${DOCUMENTED}&signature=00`, "hush", "missing app proxy signature"],
    [
      "a short signature",
      DOCUMENTED.replace(/signature=.*/, "signature=4c68"),
      "hush",
      "invalid app proxy signature",
    ],
  ])("refuses %s", (_name, query, secret, reason) => {
    expect(verifyProxyQuery(new URLSearchParams(query), secret, documentedNow)).toEqual({
      ok: false,
      reason,
    });
  });

  it("refuses a correctly signed request whose timestamp is more than 5 minutes off (a replay)", () => {
    const params = new URLSearchParams(DOCUMENTED);
    const late = new Date(documentedNow.getTime() + (MAX_CLOCK_SKEW_SECONDS + 1) * 1000);
    const early = new Date(documentedNow.getTime() - (MAX_CLOCK_SKEW_SECONDS + 1) * 1000);
    const justInTime = new Date(documentedNow.getTime() + MAX_CLOCK_SKEW_SECONDS * 1000);
    expect(verifyProxyQuery(params, "hush", late)).toMatchObject({ ok: false, reason: /stale/ });
    expect(verifyProxyQuery(params, "hush", early)).toMatchObject({ ok: false, reason: /stale/ });
    expect(verifyProxyQuery(params, "hush", justInTime)).toMatchObject({ ok: true });
  });

  it("signs the sorted key=value strings: a signature over the sorted keys is refused", () => {
    const params = new URLSearchParams(
      "shop=a.myshopify.com&timestamp=1317327555&utm=x&utm2=y&path_prefix=/apps/slice",
    );
    params.set("signature", signAppProxyQuery(params, "hush"));
    expect(verifyProxyQuery(params, "hush", documentedNow)).toMatchObject({ ok: true });
    const byKeys = "path_prefix=/apps/sliceshop=a.myshopify.comtimestamp=1317327555utm=xutm2=y";
    params.set("signature", createHmac("sha256", "hush").update(byKeys).digest("hex"));
    expect(verifyProxyQuery(params, "hush", documentedNow)).toEqual({
      ok: false,
      reason: "invalid app proxy signature",
    });
  });

  it("reads an empty logged_in_customer_id as nobody logged in", () => {
    const params = new URLSearchParams(
      DOCUMENTED.replace("logged_in_customer_id=1", "logged_in_customer_id="),
    );
    params.set("signature", signAppProxyQuery(params, "hush"));
    expect(verifyProxyQuery(params, "hush", documentedNow)).toMatchObject({
      ok: true,
      identity: { customerId: null },
    });
  });
});

describe("requireAppProxy", () => {
  const options = { appOrigin: "http://127.0.0.1:3999", secret: TEST_SECRET, shop: "proxy.myshopify.com" };

  it("uses the app's API secret from its config", () => {
    const request = proxiedRequest("/apps/slice/events", options, { customerId: "5" });
    expect(requireAppProxy(request)).toMatchObject({ shop: "proxy.myshopify.com", customerId: "5" });
  });

  it("throws a 401 response with the reason when the signature is wrong", async () => {
    const request = proxiedRequest("/apps/slice/events", { ...options, secret: "not-the-app-secret" });
    let thrown: unknown;
    try {
      requireAppProxy(request);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Response);
    expect((thrown as Response).status).toBe(401);
    expect(await (thrown as Response).json()).toEqual({ error: "invalid app proxy signature" });
  });
});
