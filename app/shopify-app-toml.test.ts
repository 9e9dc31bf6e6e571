import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { handlers } from "./sync/handlers.server";

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

  it("has a handler for every topic it subscribes to", () => {
    for (const topic of declared) expect(Object.keys(handlers)).toContain(topic);
  });
});
