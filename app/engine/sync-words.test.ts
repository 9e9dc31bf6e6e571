import { describe, expect, it } from "vitest";
import { explainFailedEvent, explainImportFailure, importRetryDelayMs, topicInWords } from "./sync-words";

describe("failed webhook events in a merchant's words", () => {
  it("says an order update came before its order, and that Slice retries", () => {
    const words = explainFailedEvent(
      "refunds/create",
      "OrderNotYetSynced: order 450789469 is not synced yet; the refund waits for it",
      "failed",
    );
    expect(words.summary).toBe("A refund arrived before the order itself.");
    expect(words.next).toMatch(/retry automatically/);
  });

  it("explains a payload Shopify sent in a shape Slice does not accept, without the raw error", () => {
    const words = explainFailedEvent(
      "orders/updated",
      "PayloadError: order.line_items: Expected array",
      "failed",
    );
    expect(words.summary).toBe(
      "An order update came from Shopify in a shape Slice does not accept, so it was not applied.",
    );
    expect(`${words.summary} ${words.next}`).not.toMatch(/Expected array|PayloadError/);
  });

  it("says when Slice gave up, and that Retry is the merchant's way to apply it", () => {
    const words = explainFailedEvent("customers/update", "Error: something odd", "dead");
    expect(words.summary).toMatch(/^A customer update could not be applied/);
    expect(words.next).toMatch(/stopped retrying.*Retry/);
  });

  it("names each kind the inbox records: unknown topic, database, Admin API, any other error", () => {
    expect(explainFailedEvent("x/y", 'UnknownTopic: no handler for topic "x/y"', "failed").summary).toBe(
      'A "x/y" notification is of a kind this version of Slice does not handle.',
    );
    expect(
      explainFailedEvent("carts/update", "PrismaClientKnownRequestError: Transaction failed", "failed")
        .summary,
    ).toMatch(/database was busy/);
    expect(
      explainFailedEvent("customers/create", "AdminApiError: Admin API: HTTP 503", "failed").summary,
    ).toMatch(/Shopify did not answer/);
    expect(
      explainFailedEvent("app/scopes_update", 'Error: app/scopes_update: "current" must be a list', "failed")
        .summary,
    ).toBe("A change to the app's permissions could not be applied because of an unexpected error in Slice.");
    expect(explainFailedEvent("orders/create", null, "failed").summary).toMatch(/^A new order/);
  });

  it("has words for every topic the app subscribes to", () => {
    for (const topic of ["orders/paid", "checkouts/update", "shop/update", "customers/purchasing_summary"])
      expect(topicInWords(topic)).not.toMatch(/notification/);
  });
});

describe("a failed history import in words", () => {
  it("never shows a bare 'fetch failed': Shopify could not be reached, and how to retry", () => {
    const words = explainImportFailure("fetch failed");
    expect(words.kind).toBe("unreachable");
    expect(words.summary).toBe(
      "Shopify could not be reached, or did not answer, while importing your history.",
    );
    expect(words.next).toMatch(/Retry/);
  });

  it("says the access token was revoked on a 401", () => {
    const words = explainImportFailure(
      "Admin API: HTTP 401, the access token of a.myshopify.com was refused (invalid or expired)",
    );
    expect(words.kind).toBe("revoked");
    expect(words.summary).toMatch(/access token was revoked/);
  });

  it("tells apart a missing permission, an unfinished install and a stopped export", () => {
    expect(explainImportFailure("Admin API: Access denied for bulkOperationRunQuery field.").kind).toBe(
      "scope",
    );
    expect(
      explainImportFailure("no offline session for a.myshopify.com: the app must be installed first").kind,
    ).toBe("not-installed");
    expect(explainImportFailure("bulk operation gid://shopify/BulkOperation/1 failed: TIMEOUT").kind).toBe(
      "bulk",
    );
    expect(explainImportFailure("something else").kind).toBe("unknown");
  });
});

describe("the import's automatic retries back off", () => {
  it("waits 1, 2, 4 … minutes, at most 6 hours", () => {
    expect([1, 2, 3, 4].map(importRetryDelayMs)).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(importRetryDelayMs(30)).toBe(6 * 3600_000);
  });
});
