import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { handlers } from "./sync/handlers.server";
import { ADMIN_API_VERSION } from "./sync/admin-api.server";
import { API_VERSION } from "./shopify.server";

const toml = readFileSync("shopify.app.toml", "utf8");
const declared = [...toml.matchAll(/"([a-z_]+\/[a-z_]+)"/g)].map((m) => m[1]);

describe("shopify.app.toml", () => {
  it("subscribes to every topic the issue names", () => {
    for (const topic of [
      "orders/create",
      "orders/updated",
      "orders/paid",
      "orders/cancelled",
      "refunds/create",
      "customers/create",
      "customers/update",
      "customers/delete",
      "carts/create",
      "carts/update",
      "checkouts/create",
      "checkouts/update",
      "app/uninstalled",
      "app/scopes_update",
      "customers/data_request",
      "customers/redact",
      "shop/redact",
      // Issue 13: deleted orders, the shop's currency and time zone, Shopify's lifetime figures.
      "orders/delete",
      "shop/update",
      "customers/purchasing_summary",
    ])
      expect(declared).toContain(topic);
  });

  it("receives webhooks in the Admin API version the app calls (2026-07)", () => {
    const webhookVersion = /^\[webhooks\][^[]*?api_version = "([^"]+)"/m.exec(toml)?.[1];
    expect(webhookVersion).toBe("2026-07");
    expect(ADMIN_API_VERSION).toBe(webhookVersion);
    expect(API_VERSION).toBe(webhookVersion);
  });

  it("asks for read_all_orders (orders older than 60 days), in the toml and the SCOPES default", async () => {
    const scopes = /^scopes = "([^"]*)"/m.exec(toml)?.[1].split(",") ?? [];
    expect(scopes).toEqual(expect.arrayContaining(["read_orders", "read_all_orders"]));
    const { config } = await import("./config.server");
    if (!process.env.SCOPES) expect([...config.scopes].sort()).toEqual([...scopes].sort());
  });

  it("has a handler for every topic it subscribes to", () => {
    for (const topic of declared) expect(Object.keys(handlers)).toContain(topic);
  });
});

describe("shopify.app.toml: the web pixel", () => {
  it("asks for write_pixels and read_customer_events (webPixelCreate needs both), in the toml and the SCOPES default", async () => {
    const scopes = /^scopes = "([^"]*)"/m.exec(toml)?.[1].split(",") ?? [];
    expect(scopes).toEqual(expect.arrayContaining(["write_pixels", "read_customer_events"]));
    const { config } = await import("./config.server");
    if (!process.env.SCOPES)
      expect(config.scopes).toEqual(expect.arrayContaining(["write_pixels", "read_customer_events"]));
  });

  it("declares the pixel extension as Shopify's template does: strict, analytics consent, its settings", () => {
    const pixel = readFileSync("extensions/slice-pixel/shopify.extension.toml", "utf8");
    expect(pixel).toMatch(/^type = "web_pixel_extension"$/m);
    expect(pixel).toMatch(/^runtime_context = "strict"$/m);
    expect(pixel).toMatch(
      /^\[customer_privacy\]\nanalytics = true\nmarketing = false\npreferences = false\nsale_of_data = "disabled"$/m,
    );
    expect(pixel).toMatch(/^\[settings\.fields\.shop\]$/m);
    expect(pixel).toMatch(/^\[settings\.fields\.endpoint\]$/m);
  });
});
