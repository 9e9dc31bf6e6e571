/**
 * What went wrong in the sync, in words a merchant understands: the history import's failure and
 * each webhook event the inbox could not apply. Pure: the raw error text in, a sentence (and what
 * happens next) out. The raw text stays available behind a "Technical details" disclosure.
 */

export interface ExplainedFailure {
  /** What happened, in one sentence a merchant can read. */
  summary: string;
  /** What happens next or what the merchant can do. */
  next: string;
}

const TOPIC_WORDS: Record<string, string> = {
  "orders/create": "A new order",
  "orders/updated": "An order update",
  "orders/paid": "An order payment",
  "orders/cancelled": "An order cancellation",
  "orders/delete": "An order deletion",
  "refunds/create": "A refund",
  "customers/create": "A new customer",
  "customers/update": "A customer update",
  "customers/delete": "A customer deletion",
  "customers/purchasing_summary": "A customer's purchase totals",
  "customers/data_request": "A customer's data request",
  "customers/redact": "A request to erase a customer's data",
  "shop/redact": "A request to erase the shop's data",
  "shop/update": "A change to the shop's settings",
  "carts/create": "A new cart",
  "carts/update": "A cart update",
  "checkouts/create": "A new checkout",
  "checkouts/update": "A checkout update",
  "app/uninstalled": "The uninstall notice",
  "app/scopes_update": "A change to the app's permissions",
};

/** "An order update", "A new cart": what a webhook topic is about; the topic itself when unknown. */
export function topicInWords(topic: string): string {
  return TOPIC_WORDS[topic] ?? `A "${topic}" notification`;
}

/** The error's kind as the inbox records it: "PayloadError: …" → "PayloadError". */
function errorKind(raw: string): { kind: string; detail: string } {
  const match = /^([A-Za-z]*Error|OrderNotYetSynced|UnknownTopic|LeaseLost): ?([\s\S]*)$/.exec(raw);
  return match ? { kind: match[1], detail: match[2] } : { kind: "", detail: raw };
}

/**
 * One failed webhook event in words. `status` "dead" means the inbox gave up retrying it; the
 * merchant can still retry it by hand. Covers every kind the inbox records (inbox.server.ts
 * markFailed writes `${error.name}: ${error.message}`): OrderNotYetSynced, PayloadError,
 * UnknownTopic, Prisma's errors, the Admin API's, and any other Error.
 */
export function explainFailedEvent(
  topic: string,
  lastError: string | null,
  status: string,
): ExplainedFailure {
  const what = topicInWords(topic);
  const gaveUp = status === "dead";
  const retry = gaveUp
    ? "Slice stopped retrying it; choose Retry once the cause is fixed."
    : "Slice will retry automatically.";
  const { kind, detail } = errorKind(lastError ?? "");
  if (kind === "OrderNotYetSynced" || /is not synced yet/.test(detail))
    return {
      summary: `${what} arrived before the order itself.`,
      next: gaveUp
        ? "The order never arrived; the next reconciliation with Shopify fetches it. Choose Retry to apply it now."
        : "Slice will retry automatically once the order is in.",
    };
  if (kind === "PayloadError")
    return {
      summary: `${what} came from Shopify in a shape Slice does not accept, so it was not applied.`,
      next: gaveUp
        ? "Slice stopped retrying it; the next reconciliation with Shopify brings the record up to date."
        : `${retry} If it keeps failing, the next reconciliation with Shopify brings the record up to date.`,
    };
  if (kind === "UnknownTopic")
    return {
      summary: `${what} is of a kind this version of Slice does not handle.`,
      next: "Nothing is lost: it is kept, and an update of the app can apply it.",
    };
  if (
    /^PrismaClient|Prisma/.test(kind) ||
    /database|deadlock|could not serialize|SQLITE_BUSY|timed out/i.test(detail)
  )
    return {
      summary: `${what} could not be saved because Slice's database was busy or unavailable.`,
      next: retry,
    };
  if (kind === "AdminApiError" || /Admin API/.test(detail))
    return { summary: `${what} needed more data from Shopify, and Shopify did not answer.`, next: retry };
  return { summary: `${what} could not be applied because of an unexpected error in Slice.`, next: retry };
}

export type ImportFailureKind = "revoked" | "unreachable" | "scope" | "not-installed" | "bulk" | "unknown";

/**
 * Why the history import failed, in words, and how to retry. The raw message comes from
 * backfill.server.ts (AdminApi errors, bulk operation states, fetch's "fetch failed").
 */
export function explainImportFailure(raw: string): ExplainedFailure & { kind: ImportFailureKind } {
  const retryWords = "Slice tries again on its own, waiting longer each time; choose Retry to start it now.";
  if (/HTTP 401|was refused|could not refresh the offline token|has no access token/i.test(raw))
    return {
      kind: "revoked",
      summary: "Shopify refused the import: the app's access token was revoked or has expired.",
      next: "Open Slice from your Shopify admin (or reinstall it) so Shopify issues a new token, then choose Retry.",
    };
  if (/no offline session|must be installed first/i.test(raw))
    return {
      kind: "not-installed",
      summary: "Slice has no access to your store yet: the installation did not finish.",
      next: "Open Slice from your Shopify admin to finish installing it, then choose Retry.",
    };
  if (/access denied|ACCESS_DENIED|not approved|required access|scope/i.test(raw))
    return {
      kind: "scope",
      summary: "Shopify refused the import: the app lacks a permission it needs to read your history.",
      next: "Approve the app's requested permissions in your Shopify admin, then choose Retry.",
    };
  if (
    /fetch failed|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|socket|network|HTTP 5\d\d|Internal error|INTERNAL_SERVER_ERROR|Service Unavailable/i.test(
      raw,
    )
  )
    return {
      kind: "unreachable",
      summary: "Shopify could not be reached, or did not answer, while importing your history.",
      next: retryWords,
    };
  if (/bulk operation|bulk result/i.test(raw))
    return {
      kind: "bulk",
      summary: "Shopify stopped the export of your history before it finished.",
      next: retryWords,
    };
  return {
    kind: "unknown",
    summary: "The history import stopped because of an unexpected error.",
    next: retryWords,
  };
}

/**
 * How long to wait before the history import's next automatic attempt after `attempts` failures in
 * a row: 1, 2, 4 … minutes, at most 6 hours (never "every 5 minutes forever").
 */
export function importRetryDelayMs(attempts: number): number {
  const minutes = Math.min(360, 2 ** Math.max(0, attempts - 1));
  return minutes * 60_000;
}
