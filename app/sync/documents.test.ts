/**
 * The one test over every Admin GraphQL document the app can send: it loads every module of app/
 * that declares documents (adminDocument / adminDocumentFamily, the only way to make what
 * AdminApi.request accepts) and validates each against Shopify's Admin schema of the version the
 * app calls, with no deprecated field, argument or enum value.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "graphql";
import { ADMIN_API_SCHEMA_VERSION, queryCost, validateAdminDocument } from "../../dev/admin-api";
import { ADMIN_API_VERSION } from "./admin-api.server";
import { registeredDocuments } from "./documents";

const APP = path.resolve(__dirname, "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [full] : [];
  });
}

const files = sources(APP);
const declaring = files.filter(
  (f) =>
    !f.endsWith(path.join("sync", "documents.ts")) &&
    /\badminDocument(Family)?\(/.test(readFileSync(f, "utf8")),
);
// Loading a module registers its documents.
await Promise.all(declaring.map((f) => import(f)));
const documents = registeredDocuments();

describe("every Admin GraphQL document the app can send", () => {
  it("is checked against the schema of the version the app calls (2026-07)", () => {
    expect(ADMIN_API_VERSION).toBe("2026-07");
    expect(ADMIN_API_SCHEMA_VERSION).toBe(ADMIN_API_VERSION);
  });

  it("comes from the registry: every sender module is loaded, and nothing forges an AdminDocument", () => {
    // The sync, the segment push and the three offer modules declare documents today.
    for (const module of [
      "queries.ts",
      "push.server.ts",
      "discounts.server.ts",
      "referrals.server.ts",
      "signups.server.ts",
    ])
      expect(declaring.map((f) => path.basename(f))).toContain(module);
    const forged = files.filter(
      (f) =>
        !f.endsWith(path.join("sync", "documents.ts")) && /as AdminDocument\b/.test(readFileSync(f, "utf8")),
    );
    expect(forged).toEqual([]);
    expect(documents.length).toBeGreaterThanOrEqual(35);
  });

  it.each(documents.map((d) => [d.name, d] as const))(
    "%s is valid on 2026-07 and uses no deprecated field",
    (_name, document) => {
      expect(validateAdminDocument(document.source, ADMIN_API_VERSION)).toEqual([]);
    },
  );

  it.each(documents.filter((d) => d.kind === "request").map((d) => [d.name, d] as const))(
    "%s stays under the 1,000-point single query limit",
    (_name, document) => {
      expect(queryCost(parse(document.source))).toBeLessThanOrEqual(1000);
    },
  );

  it("notices a deprecated field and a field that does not exist", () => {
    expect(validateAdminDocument("{ customers(first: 1) { nodes { email } } }")[0]).toMatch(
      /Customer\.email is deprecated/,
    );
    expect(validateAdminDocument("{ shop { nameThatDoesNotExist } }")[0]).toContain("nameThatDoesNotExist");
  });
});
