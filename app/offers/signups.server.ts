/**
 * Email sign-ups into Shopify. An email-capture offer (reward "emailCapture") posts the shopper's
 * address as the answer `email=…` (through the storefront's events or answer endpoint). Each such
 * answer also becomes an EmailSignup row, one per shop and email (lower-cased), whatever the
 * number of times it is sent, attributed to the email-capture offer the shopper was shown.
 *
 * A background sync (syncEmailSignups, run by the 15-second pool loop) sends pending rows to
 * Shopify: the customer is looked up by email; an existing one gets their email marketing consent
 * set (customerEmailMarketingConsentUpdate: SUBSCRIBED, single opt-in, when they signed up);
 * otherwise a customer is created with that consent (customerCreate). Shopify then owns the
 * subscription: its marketing emails, unsubscribe links and consent records.
 *
 * When the Admin API fails (down, throttled past the client's own retries, no session), the row
 * stays pending with its attempts, its last error and when to try next (a minute, doubling to six
 * hours); after SIGNUP_MAX_ATTEMPTS it is "failed" with the error kept. Shopify refusing the
 * email itself (userErrors, e.g. "Email is invalid") fails it at once: trying again would not
 * help. A sync that created the customer but crashed before recording it finds that customer
 * next time (or gets TAKEN and looks again), so one email makes one customer.
 */
import type { EmailSignup, Prisma, PrismaClient } from "@prisma/client";
import type { AdminApi } from "../sync/admin-api.server";
import { adminDocument } from "../sync/documents";

/** Attempts before a sign-up Shopify could not be reached for is given up ("failed"). */
export const SIGNUP_MAX_ATTEMPTS = 8;
/** The first retry waits this long; each later one twice as long, up to SIGNUP_RETRY_MAX_MS. */
export const SIGNUP_RETRY_BASE_MS = 60_000;
export const SIGNUP_RETRY_MAX_MS = 6 * 3600_000;
/** Sign-ups sent per shop per pass (the loop comes back every 15 seconds). */
export const SIGNUP_BATCH = 25;

export type ApiSource = AdminApi | (() => Promise<AdminApi>);

const resolveApi = (api: ApiSource): Promise<AdminApi> =>
  typeof api === "function" ? api() : Promise.resolve(api);

/* ---------------------------------------------------------------------------------------------
 * Recording sign-ups
 * ------------------------------------------------------------------------------------------- */

// Deliberately plain: one @, no spaces or quotes, a dot in the domain. Shopify has the last word.
const EMAIL = /^[^\s@"'<>(),;:\\]+@[^\s@"'<>(),;:\\]+\.[^\s@"'<>(),;:\\]{2,}$/;

/** The email of an answer `email=…`, trimmed and lower-cased; null when it is not one. */
export function emailOfAnswer(resourceId: string | null | undefined): string | null {
  if (!resourceId?.startsWith("email=")) return null;
  const email = resourceId.slice("email=".length).trim().toLowerCase();
  return email.length <= 254 && EMAIL.test(email) ? email : null;
}

type SignupWriter = Pick<
  PrismaClient | Prisma.TransactionClient,
  "emailSignup" | "message" | "offerExposure"
>;

/**
 * Records the sign-ups among a visitor's stored events (answers `email=…`); called in the same
 * transaction that stores the events. An email already signed up in this shop changes nothing
 * (its offer and customer are filled in if they were unknown). A shopper who declined tracking
 * is `who = null`: the address they typed to sign up is kept (it is their request, not tracking),
 * linked to no visitor, customer or exposure.
 */
export async function recordEmailSignups(
  db: SignupWriter,
  shopId: number,
  who: { visitorId: string; customerShopifyId: string | null } | null,
  events: readonly { type: string; resourceId?: string | null }[],
  now: Date,
): Promise<number> {
  const emails = [
    ...new Set(events.filter((e) => e.type === "answer").map((e) => emailOfAnswer(e.resourceId))),
  ].filter((e): e is string => e !== null);
  if (!emails.length) return 0;
  const messageId = who ? await signupOffer(db, shopId, who) : await onlySignupOffer(db, shopId);
  for (const email of emails) {
    const existing = await db.emailSignup.findUnique({
      where: { shopId_email: { shopId, email } },
      select: { id: true, messageId: true, customerShopifyId: true },
    });
    if (!existing) {
      // Two batches with the same email at once: the loser's INSERT hits the key and its whole
      // batch runs again (storeBatch), finding this row.
      await db.emailSignup.create({
        data: {
          shopId,
          email,
          messageId,
          visitorId: who?.visitorId ?? null,
          customerShopifyId: who?.customerShopifyId ?? null,
          createdAt: now,
          nextAttemptAt: now,
        },
      });
    } else if (
      (!existing.messageId && messageId) ||
      (!existing.customerShopifyId && who?.customerShopifyId)
    ) {
      await db.emailSignup.update({
        where: { id: existing.id },
        data: {
          messageId: existing.messageId ?? messageId,
          customerShopifyId: existing.customerShopifyId ?? who?.customerShopifyId ?? null,
        },
      });
    }
  }
  return emails.length;
}

/** The shop's email-capture offer when it has exactly one (nothing else can say which it was). */
async function onlySignupOffer(db: SignupWriter, shopId: number): Promise<number | null> {
  const offers = await db.message.findMany({
    where: { shopId, reward: "emailCapture" },
    select: { id: true },
    take: 2,
  });
  return offers.length === 1 ? offers[0].id : null;
}

/** The email-capture offer this visitor (or signed-in customer) was last shown, if any. */
async function signupOffer(
  db: SignupWriter,
  shopId: number,
  who: { visitorId: string; customerShopifyId: string | null },
): Promise<number | null> {
  const offers = await db.message.findMany({
    where: { shopId, reward: "emailCapture" },
    select: { id: true },
  });
  if (!offers.length) return null;
  const units = [`v:${who.visitorId}`, ...(who.customerShopifyId ? [`c:${who.customerShopifyId}`] : [])];
  const shown = await db.offerExposure.findFirst({
    where: { messageId: { in: offers.map((o) => o.id) }, unit: { in: units }, arm: "treatment" },
    orderBy: { at: "desc" },
    select: { messageId: true },
  });
  // With one email-capture offer in the shop, the sign-up is its (an exposure may be lost).
  return shown?.messageId ?? (offers.length === 1 ? offers[0].id : null);
}

/* ---------------------------------------------------------------------------------------------
 * Sending them to Shopify
 * ------------------------------------------------------------------------------------------- */

const FIND_CUSTOMER = adminDocument(
  "offers/signups FIND_CUSTOMER",
  `query SliceSignupCustomer($query: String!) {
  customers(first: 1, query: $query) {
    nodes {
      id
      defaultEmailAddress {
        emailAddress
        marketingState
      }
    }
  }
}`,
);

const UPDATE_CONSENT = adminDocument(
  "offers/signups UPDATE_CONSENT",
  `mutation SliceSignupConsent($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer {
      id
    }
    userErrors {
      field
      message
      code
    }
  }
}`,
);

const CREATE_CUSTOMER = adminDocument(
  "offers/signups CREATE_CUSTOMER",
  `mutation SliceSignupCustomerCreate($input: CustomerInput!) {
  customerCreate(input: $input) {
    customer {
      id
    }
    userErrors {
      field
      message
    }
  }
}`,
);

/** Every GraphQL document this module sends, for the schema test. */
export function signupDocuments(): string[] {
  return [FIND_CUSTOMER, UPDATE_CONSENT, CREATE_CUSTOMER];
}

interface UserError {
  field: string[] | null;
  message: string;
}

/** Shopify refused the sign-up itself: final, not retried. */
class SignupRefused extends Error {
  override name = "SignupRefused";
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
const numericId = (gid: string) => gid.slice(gid.lastIndexOf("/") + 1);
const refusal = (errors: UserError[]) =>
  errors.map((e) => (e.field?.length ? `${e.field.join(".")}: ${e.message}` : e.message)).join("; ");

async function findCustomer(
  api: AdminApi,
  email: string,
): Promise<{ id: string; subscribed: boolean } | null> {
  const data = await api.request<{
    customers: {
      nodes: {
        id: string;
        defaultEmailAddress: { emailAddress: string | null; marketingState: string | null } | null;
      }[];
    };
  }>(FIND_CUSTOMER, { query: `email:"${email}"` });
  // Shopify's search is fuzzy: only the same address counts.
  const match = data.customers.nodes.find(
    (c) => c.defaultEmailAddress?.emailAddress?.toLowerCase() === email,
  );
  return match
    ? { id: match.id, subscribed: match.defaultEmailAddress?.marketingState === "SUBSCRIBED" }
    : null;
}

/** Sends one sign-up to Shopify; returns the customer's id. Throws SignupRefused or the API's error. */
async function sendSignup(api: AdminApi, signup: Pick<EmailSignup, "email" | "createdAt">): Promise<string> {
  const consent = {
    marketingState: "SUBSCRIBED",
    marketingOptInLevel: "SINGLE_OPT_IN",
    consentUpdatedAt: iso(signup.createdAt),
  };
  for (let round = 0; round < 2; round++) {
    const existing = await findCustomer(api, signup.email);
    if (existing) {
      if (existing.subscribed) return existing.id;
      const data = await api.request<{
        customerEmailMarketingConsentUpdate: { customer: { id: string } | null; userErrors: UserError[] };
      }>(UPDATE_CONSENT, { input: { customerId: existing.id, emailMarketingConsent: consent } });
      const result = data.customerEmailMarketingConsentUpdate;
      if (result.userErrors.length || !result.customer) throw new SignupRefused(refusal(result.userErrors));
      return result.customer.id;
    }
    const data = await api.request<{
      customerCreate: { customer: { id: string } | null; userErrors: UserError[] };
    }>(CREATE_CUSTOMER, { input: { email: signup.email, emailMarketingConsent: consent } });
    const result = data.customerCreate;
    if (result.customer && !result.userErrors.length) return result.customer.id;
    // Made meanwhile (by the shopper at checkout, or by an earlier try): look it up again.
    if (round === 0 && result.userErrors.some((e) => /taken/i.test(e.message))) continue;
    throw new SignupRefused(refusal(result.userErrors));
  }
  throw new SignupRefused("the customer could not be found or created");
}

/** When the next try of a sign-up that failed `attempts` times is due. */
export function nextSignupAttempt(attempts: number, now: Date): Date {
  const wait = Math.min(SIGNUP_RETRY_MAX_MS, SIGNUP_RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return new Date(now.getTime() + wait);
}

export interface SignupSyncResult {
  synced: number;
  /** Left pending, to be tried again later. */
  retrying: number;
  /** Given up: refused by Shopify, or out of attempts. */
  failed: number;
}

/**
 * Sends the shop's due pending sign-ups to Shopify (see the module comment). `api` may be a
 * function, so no Admin API client is made when nothing is due; a failure to make one counts as
 * an Admin API failure of every due sign-up.
 */
export async function syncEmailSignups(
  db: PrismaClient,
  api: ApiSource,
  shopId: number,
  now: Date,
  options: { limit?: number } = {},
): Promise<SignupSyncResult> {
  const result: SignupSyncResult = { synced: 0, retrying: 0, failed: 0 };
  const due = await db.emailSignup.findMany({
    where: { shopId, status: "pending", nextAttemptAt: { lte: now } },
    orderBy: [{ nextAttemptAt: "asc" }, { id: "asc" }],
    take: options.limit ?? SIGNUP_BATCH,
  });
  if (!due.length) return result;
  let client: AdminApi | null = null;
  for (const signup of due) {
    // Only the row as read is updated: a pass running at the same time does not count it twice.
    const mark = (data: Prisma.EmailSignupUpdateManyMutationInput) =>
      db.emailSignup.updateMany({
        where: { id: signup.id, status: "pending", attempts: signup.attempts },
        data,
      });
    try {
      client ??= await resolveApi(api);
      const customerId = await sendSignup(client, signup);
      await mark({
        status: "synced",
        attempts: signup.attempts + 1,
        customerShopifyId: numericId(customerId),
        lastError: null,
        syncedAt: now,
      });
      result.synced++;
    } catch (error) {
      const attempts = signup.attempts + 1;
      const message = (error as Error).message || String(error);
      const final = error instanceof SignupRefused || attempts >= SIGNUP_MAX_ATTEMPTS;
      await mark({
        attempts,
        lastError: error instanceof SignupRefused ? `Shopify refused it: ${message}` : message,
        // A failed row's nextAttemptAt says when it was given up.
        ...(final
          ? { status: "failed", nextAttemptAt: now }
          : { nextAttemptAt: nextSignupAttempt(attempts, now) }),
      });
      if (final) result.failed++;
      else result.retrying++;
    }
  }
  return result;
}

/* ---------------------------------------------------------------------------------------------
 * For the merchant
 * ------------------------------------------------------------------------------------------- */

export interface SignupSummary {
  total: number;
  pending: number;
  synced: number;
  failed: number;
  /** The latest error of a sign-up not yet in Shopify (pending or failed), if any. */
  lastError: { email: string; status: string; error: string; attempts: number } | null;
}

/** The sign-ups of one email-capture offer by status, and the latest error, for its results page. */
export async function signupSummary(
  db: PrismaClient,
  shopId: number,
  messageId: number,
): Promise<SignupSummary> {
  const [groups, latest] = await Promise.all([
    db.emailSignup.groupBy({
      by: ["status"],
      where: { shopId, messageId },
      _count: { _all: true },
    }),
    db.emailSignup.findFirst({
      where: { shopId, messageId, status: { in: ["pending", "failed"] }, lastError: { not: null } },
      orderBy: [{ nextAttemptAt: "desc" }, { id: "desc" }],
      select: { email: true, status: true, lastError: true, attempts: true },
    }),
  ]);
  const count = (status: string) => groups.find((g) => g.status === status)?._count._all ?? 0;
  const summary = { pending: count("pending"), synced: count("synced"), failed: count("failed") };
  return {
    total: summary.pending + summary.synced + summary.failed,
    ...summary,
    lastError: latest
      ? { email: latest.email, status: latest.status, error: latest.lastError!, attempts: latest.attempts }
      : null,
  };
}
