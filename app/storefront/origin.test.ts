import { describe, expect, it } from "vitest";
import { primaryDomainHost, storefrontOrigin } from "./origin";

describe("the storefront's origin", () => {
  it("is the primary domain once known, else the myshopify domain, over https", () => {
    expect(storefrontOrigin({ domain: "a.myshopify.com", primaryDomain: null })).toBe(
      "https://a.myshopify.com",
    );
    expect(storefrontOrigin({ domain: "a.myshopify.com", primaryDomain: "www.a.example" })).toBe(
      "https://www.a.example",
    );
  });

  it("is plain http only for a loopback host (the local demo storefront)", () => {
    expect(storefrontOrigin({ domain: "a.myshopify.com", primaryDomain: "127.0.0.1:3001" })).toBe(
      "http://127.0.0.1:3001",
    );
  });

  it("takes a host name only: lower-cased, no scheme, path, spaces or empty labels", () => {
    expect(primaryDomainHost(" WWW.Shop.example ")).toBe("www.shop.example");
    expect(primaryDomainHost("shop.example:8443")).toBe("shop.example:8443");
    for (const bad of [
      "https://shop.example",
      "shop.example/x",
      "shop example",
      "",
      "-a.example",
      "a..b",
      null,
    ])
      expect(primaryDomainHost(bad)).toBeNull();
  });
});
