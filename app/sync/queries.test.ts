import { describe, expect, it } from "vitest";
import { ALL_DOCUMENTS, BULK_QUERIES } from "./queries";
import { queryCost, validateAdminDocument } from "../../dev/admin-api";
import { parse } from "graphql";

describe("every Admin GraphQL document the app sends", () => {
  it.each(Object.entries(ALL_DOCUMENTS))("%s validates against Shopify's Admin schema", (_name, document) => {
    expect(validateAdminDocument(document)).toEqual([]);
  });

  it.each(Object.entries(BULK_QUERIES))(
    "bulk query %s validates against Shopify's Admin schema",
    (_name, document) => {
      expect(validateAdminDocument(document)).toEqual([]);
    },
  );

  it.each(Object.entries(ALL_DOCUMENTS))(
    "%s stays under the 1,000-point single query limit",
    (_name, document) => {
      expect(queryCost(parse(document))).toBeLessThanOrEqual(1000);
    },
  );

  it("notices a field that does not exist", () => {
    expect(validateAdminDocument("{ shop { nameThatDoesNotExist } }")[0]).toContain("nameThatDoesNotExist");
  });
});
