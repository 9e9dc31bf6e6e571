/** The app's settings, read once from the environment and checked. */
import { z } from "zod";

const schema = z.object({
  SHOPIFY_API_KEY: z.string().min(1).default("slice-dev-api-key"),
  SHOPIFY_API_SECRET: z.string().min(1).default("slice-dev-secret"),
  SHOPIFY_APP_URL: z.string().url().default("http://localhost:3000"),
  SCOPES: z
    .string()
    .default(
      "read_customers,write_customers,read_orders,read_all_orders,write_discounts,read_discounts,read_products,write_app_proxy,write_pixels,read_customer_events,read_themes",
    ),
  /** Admin API origin override, for the local stand-in (dev/admin-api). Never set in production. */
  SLICE_ADMIN_API_ORIGIN: z.string().url().optional(),
  SLICE_DEV_LOGIN: z.enum(["0", "1"]).default("0"),
  SLICE_WORKER: z.enum(["0", "1"]).default("1"),
  SLICE_RECONCILE_MINUTES: z.coerce.number().int().min(1).default(15),
  NODE_ENV: z.string().default("development"),
});

/** The development defaults: anyone can read them here, so production refuses to start with them. */
export const DEV_API_KEY = "slice-dev-api-key";
export const DEV_API_SECRET = "slice-dev-secret";

/**
 * What is wrong with the environment for production, or null: the app's key and secret must be set
 * and not the development defaults (with a known secret anyone could sign webhooks and app proxy
 * requests as Shopify).
 */
export function productionProblems(e: NodeJS.ProcessEnv): string | null {
  if (e.NODE_ENV !== "production") return null;
  const problems: string[] = [];
  for (const [name, fallback] of [
    ["SHOPIFY_API_KEY", DEV_API_KEY],
    ["SHOPIFY_API_SECRET", DEV_API_SECRET],
  ] as const) {
    const value = e[name]?.trim();
    if (!value) problems.push(`${name} is not set`);
    else if (value === fallback) problems.push(`${name} is the development default`);
  }
  return problems.length
    ? `Slice cannot start in production: ${problems.join("; ")}. Set them to the app's client id and client secret (Partner Dashboard → the app → Client credentials).`
    : null;
}

/**
 * How many days an applied webhook keeps its payload in the inbox (`SLICE_INBOX_RETENTION_DAYS`,
 * default 7): a whole number from 1 to 3650, else an error naming the setting and the value.
 */
export function inboxRetentionDays(e: Partial<NodeJS.ProcessEnv>): number {
  const raw = e.SLICE_INBOX_RETENTION_DAYS?.trim();
  if (raw === undefined || raw === "") return 7;
  const days = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(days) || days < 1 || days > 3650)
    throw new Error(
      `SLICE_INBOX_RETENTION_DAYS must be a whole number of days from 1 to 3650 (how long an applied webhook keeps its payload); it is "${raw}"`,
    );
  return days;
}

const problem = productionProblems(process.env);
if (problem) throw new Error(problem);

const env = schema.parse(process.env);

export const config = {
  apiKey: env.SHOPIFY_API_KEY,
  apiSecret: env.SHOPIFY_API_SECRET,
  appUrl: env.SHOPIFY_APP_URL,
  scopes: env.SCOPES.split(",").map((s) => s.trim()),
  adminApiOrigin: env.SLICE_ADMIN_API_ORIGIN ?? null,
  customShopDomains: env.SLICE_ADMIN_API_ORIGIN ? [/^[a-z0-9-]+\.myshopify\.com$/] : undefined,
  workerEnabled: env.SLICE_WORKER === "1",
  reconcileEveryMs: env.SLICE_RECONCILE_MINUTES * 60_000,
  inboxRetentionMs: inboxRetentionDays(process.env) * 24 * 3_600_000,
  nodeEnv: env.NODE_ENV,
};

/**
 * The development-only sign-in (for the demo, without a Shopify store). It fails closed: in
 * production it is off whatever the flag says.
 */
export function devLoginEnabled(e: NodeJS.ProcessEnv = process.env): boolean {
  return e.SLICE_DEV_LOGIN === "1" && e.NODE_ENV !== "production";
}
