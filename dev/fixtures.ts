/**
 * Shopify's sample webhook payloads, topic metadata and API schemas, kept in this repository under
 * dev/fixtures (copied once from their public sources: dev/fixtures/SOURCES.md). Nothing here reads
 * outside the repository: a clone on its own has everything it needs.
 */
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const WEBHOOKS = path.join(FIXTURES_DIR, "webhooks");

/** The raw text of a sample, e.g. fixtureText("orders/create"). */
export function fixtureText(topic: string): string {
  return readFileSync(path.join(WEBHOOKS, `${topic.replace("/", "__")}.json`), "utf8");
}

export function fixtureTopics(): string[] {
  return readdirSync(WEBHOOKS)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.replace(/\.json$/, "").replace("__", "/"))
    .sort();
}

export function exemplarText(resource: "orders" | "carts" | "checkouts" | "customers"): string {
  return readFileSync(
    path.join(WEBHOOKS, "gadget-anonymized-exemplars", "2025-04", `${resource}__1.json`),
    "utf8",
  );
}

/** The Admin API versions whose schema is here (dev/fixtures/shopify-admin-schema/<version>.json.gz). */
export const ADMIN_SCHEMA_VERSIONS = ["2026-07"] as const;

export function adminSchemaPath(version: string = ADMIN_SCHEMA_VERSIONS[0]): string {
  const file = path.join(FIXTURES_DIR, "shopify-admin-schema", `${version}.json.gz`);
  if (!existsSync(file)) throw new Error(`Shopify's Admin schema is missing at ${file}`);
  return file;
}

/**
 * The resources a webhook topic needs access to (`access_scopes` of its 2026-07 metadata, e.g.
 * ["orders", "marketplace_orders"]: read or write access to any one of them); [] when it needs none.
 */
export function topicAccessScopes(topic: string): string[] {
  const file = path.join(WEBHOOKS, "shopify-docs-metadata", "2026-07", `${topic.replace("/", "__")}.json`);
  if (!existsSync(file)) throw new Error(`no 2026-07 metadata for the webhook topic "${topic}" (${file})`);
  const meta = JSON.parse(readFileSync(file, "utf8")) as { access_scopes?: string[] };
  return meta.access_scopes ?? [];
}
