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
    ])
      expect(declared).toContain(topic);
  });

  it("receives webhooks in the Admin API version the app calls (2026-07)", () => {
    const webhookVersion = /^\[webhooks\][^[]*?api_version = "([^"]+)"/m.exec(toml)?.[1];
    expect(webhookVersion).toBe("2026-07");
    expect(ADMIN_API_VERSION).toBe(webhookVersion);
    expect(API_VERSION).toBe(webhookVersion);
  });

  it("has a handler for every topic it subscribes to", () => {
    for (const topic of declared) expect(Object.keys(handlers)).toContain(topic);
  });
});
