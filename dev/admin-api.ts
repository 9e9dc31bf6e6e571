/**
 * A local stand-in for Shopify's Admin GraphQL API, built on Shopify's real schema of the
 * version in the request's path (dev/fixtures/shopify-admin-schema: 2026-07). Every request is
 * validated against that schema; an invalid document gets the errors Shopify would give and is
 * remembered in `invalidDocuments`, a document that uses a deprecated field is answered (as
 * Shopify does) but remembered in `deprecatedUses`, and a version with no schema here gets 404;
 * the test setup fails a test file that leaves any of them behind. It is approved for the
 * protected customer data the app declares (app/protected-data.ts) unless told otherwise, and
 * refuses the rest with ACCESS_DENIED. It answers from a generated store, runs bulk operations to
 * a JSONL file, and charges query cost from a leaky bucket, answering THROTTLED when it runs dry.
 */
import {
  buildClientSchema,
  execute,
  getNamedType,
  GraphQLError,
  isInputObjectType,
  isInputType,
  isListType,
  isNonNullType,
  typeFromAST,
  type GraphQLInputType,
  NoDeprecatedCustomRule,
  parse,
  validate,
  Kind,
  type DocumentNode,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type IntrospectionQuery,
  type SelectionSetNode,
} from "graphql";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { ADMIN_SCHEMA_VERSIONS, adminSchemaPath } from "./fixtures";
import { INVALID_ACCESS_TOKEN, TokenAuthority } from "./oauth";
import { accessDenied } from "./access-scopes";
import { decimal, settingsDataJson, type Address, type Customer, type Store } from "./store";
import { applyOrderDiscount, FUNCTION_HANDLE, runFirstOrderFunction } from "./discount-function";
import { APP_PROTECTED_DATA, type ProtectedDataAccess, type ProtectedField } from "../app/protected-data";

/** The version the app calls (app/sync/admin-api.server.ts) and the one schema kept here. */
export const ADMIN_API_SCHEMA_VERSION: string = ADMIN_SCHEMA_VERSIONS[0];

const cachedSchemas = new Map<string, GraphQLSchema>();

/** Whether the stand-in has Shopify's schema for this API version (else it answers 404). */
export function hasAdminSchema(version: string): boolean {
  return (ADMIN_SCHEMA_VERSIONS as readonly string[]).includes(version);
}

export function adminSchema(version: string = ADMIN_API_SCHEMA_VERSION): GraphQLSchema {
  let schema = cachedSchemas.get(version);
  if (!schema) {
    if (!hasAdminSchema(version)) throw new Error(`no Admin schema for API version ${version}`);
    const json = JSON.parse(gunzipSync(readFileSync(adminSchemaPath(version))).toString("utf8")) as {
      data: IntrospectionQuery;
    };
    schema = buildClientSchema(json.data);
    cachedSchemas.set(version, schema);
  }
  return schema;
}

/** Uses of deprecated fields, arguments and enum values (graphql's NoDeprecatedCustomRule). */
export function deprecatedUsesIn(document: DocumentNode, version = ADMIN_API_SCHEMA_VERSION): string[] {
  return validate(adminSchema(version), document, [NoDeprecatedCustomRule]).map((e) => e.message);
}

/**
 * Deprecated input fields in the variables a document is sent with (NoDeprecatedCustomRule sees
 * only those written in the document itself).
 */
export function deprecatedInputsIn(
  document: DocumentNode,
  variables: Args,
  version = ADMIN_API_SCHEMA_VERSION,
): string[] {
  const schema = adminSchema(version);
  const out: string[] = [];
  const walk = (type: GraphQLInputType, value: unknown): void => {
    if (value === null || value === undefined) return;
    if (isNonNullType(type)) return walk(type.ofType, value);
    if (isListType(type)) {
      for (const item of Array.isArray(value) ? value : [value]) walk(type.ofType, item);
      return;
    }
    if (!isInputObjectType(type) || typeof value !== "object") return;
    const fields = type.getFields();
    for (const [key, inner] of Object.entries(value as Args)) {
      const field = fields[key];
      if (!field) continue;
      if (field.deprecationReason != null)
        out.push(`The input field ${type.name}.${key} is deprecated. ${field.deprecationReason}`);
      walk(field.type, inner);
    }
  };
  for (const def of document.definitions)
    if (def.kind === Kind.OPERATION_DEFINITION)
      for (const v of def.variableDefinitions ?? []) {
        const type = typeFromAST(schema, v.type);
        if (type && isInputType(type)) walk(type, variables[v.variable.name.value]);
      }
  return out;
}

/**
 * Errors (as messages) of a document against the real Admin schema, deprecated fields included;
 * empty when valid and free of deprecations.
 */
export function validateAdminDocument(source: string, version = ADMIN_API_SCHEMA_VERSION): string[] {
  let document: DocumentNode;
  try {
    document = parse(source);
  } catch (error) {
    return [(error as Error).message];
  }
  const errors = validate(adminSchema(version), document).map((e) => e.message);
  return errors.length ? errors : deprecatedUsesIn(document, version);
}

/**
 * Every stand-in made in this process, on globalThis so that the test setup (dev/testing/setup.ts)
 * can check what each recorded without importing this module.
 */
export interface StandInRecord {
  invalidDocuments: { query: string; errors: string[] }[];
  deprecatedUses: { query: string; uses: string[] }[];
  unknownVersions: string[];
}
const g = globalThis as { sliceStandIns?: Set<StandInRecord> };
const standIns = (g.sliceStandIns ??= new Set<StandInRecord>());

export interface StandInOptions {
  store: Store;
  /** A non-expiring offline token the stand-in accepts as well (older tests use it directly). */
  accessToken?: string;
  /** The scopes granted to the app on the shop; default: the scopes in shopify.app.toml. */
  scopes?: string[];
  /** The app's client id and secret, for the token endpoint; default: the environment's. */
  apiKey?: string;
  apiSecret?: string;
  /** Leaky bucket, as Shopify's: points available and restored per second. */
  maximumAvailable?: number;
  restoreRate?: number;
  /** How long a bulk operation "runs" before it completes. */
  bulkDelayMs?: number;
  /** Answer this many requests with HTTP 503 first (fault injection). */
  failFirst?: number;
  /** The app's API client id: `$app:x` namespaces resolve to `app--<id>--x`, as Shopify does. */
  apiClientId?: string;
  /** How many segments the shop may have (Shopify's limit is in the thousands). */
  segmentLimit?: number;
  /**
   * The protected customer data the app is approved for (level 1; level-2 fields). Defaults to
   * what the app declares it needs (app/protected-data.ts), so tests run with exactly that.
   */
  protectedData?: ProtectedDataAccess;
}

/** The scopes shopify.app.toml asks for: what a merchant who granted everything gave the app. */
export const TOML_SCOPES: string[] = appTomlScopes(
  fileURLToPath(new URL("../shopify.app.toml", import.meta.url)),
);

/** The web pixel extension's settings fields (its toml's `[settings.fields.<key>]`). */
export interface PixelSettingField {
  key: string;
  type: string;
  min: number | null;
}

/** The `[settings.fields.<key>]` sections of a web pixel extension's shopify.extension.toml. */
export function pixelSettingsFields(file: string): PixelSettingField[] {
  const toml = readFileSync(file, "utf8");
  return [...toml.matchAll(/^\[settings\.fields\.([A-Za-z0-9_]+)\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/gm)].map(
    ([, key, body]) => ({
      key,
      type: /^type\s*=\s*"([^"]+)"/m.exec(body)?.[1] ?? "",
      min: Number(/name\s*=\s*"min",\s*value\s*=\s*"(\d+)"/.exec(body)?.[1] ?? NaN) || null,
    }),
  );
}

/**
 * What is wrong with a web pixel's settings against its definition: an object holding every
 * field, each a string (single_line_text_field) at least `min` long, and no other key.
 */
export function webPixelSettingsProblems(value: unknown, fields: PixelSettingField[]): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return ["settings must be an object"];
  const settings = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const f of fields) {
    const v = settings[f.key];
    if (v === undefined || v === null) problems.push(`${f.key} is required`);
    else if (f.type === "single_line_text_field" && (typeof v !== "string" || v.includes("\n")))
      problems.push(`${f.key} must be a single line of text`);
    else if (f.min !== null && String(v).length < f.min) problems.push(`${f.key} is too short`);
  }
  for (const key of Object.keys(settings))
    if (!fields.some((f) => f.key === key)) problems.push(`${key} is not a setting of the web pixel`);
  return problems;
}

export const PIXEL_SETTINGS_FIELDS = pixelSettingsFields(
  fileURLToPath(new URL("../extensions/slice-pixel/shopify.extension.toml", import.meta.url)),
);

/** How far back orders are visible to an app without `read_all_orders`. */
export const ORDERS_WITHOUT_READ_ALL_DAYS = 60;

interface StandInMetafield {
  id: string;
  namespace: string;
  key: string;
  type: string;
  value: string;
  createdAt: string;
  updatedAt: string;
}

interface StandInDefinition {
  id: string;
  name: string;
  namespace: string;
  key: string;
  ownerType: string;
  type: string;
  description: string | null;
}

interface StandInSegment {
  __typename: "Segment";
  id: string;
  name: string;
  query: string;
  creationDate: string;
  lastEditDate: string;
}

interface WebPixelError {
  field: string[] | null;
  message: string;
  code: string;
}

interface UserError {
  field: string[] | null;
  message: string;
  code?: string | null;
  elementIndex?: number | null;
}

export interface StandInEmailConsent {
  marketingState: string;
  marketingOptInLevel: string | null;
  consentUpdatedAt: string;
}

/** One redeem code of a code discount; Shopify keeps codes unique per shop, ignoring case. */
export interface StandInRedeemCode {
  id: string;
  code: string;
  discountId: string;
  /** Times the code was used at checkout (Shopify's `asyncUsageCount`, exact here). */
  usageCount: number;
}

/**
 * A code discount: an amount off one (DiscountCodeBasic) as discountCodeBasicCreate stores it, or
 * a function-backed one (DiscountCodeApp, `app` set) as discountCodeAppCreate stores it, whose
 * value is whatever its Discount Function decides at checkout (`value` null).
 */
export interface StandInDiscount {
  id: string;
  /** discountCodeAppCreate: the function, its discount classes and the discount's metafields. */
  app: {
    functionHandle: string;
    discountClasses: string[];
    /** By "namespace.key", the namespace resolved ($app:x → app--<client id>--x). */
    metafields: Map<string, { type: string; value: string }>;
  } | null;
  title: string;
  startsAt: string;
  endsAt: string | null;
  appliesOncePerCustomer: boolean;
  /** Uses per code (Shopify's price rule `usage_limit` is per discount code); null: unlimited. */
  usageLimit: number | null;
  eligible: { kind: "all" } | { kind: "customers"; ids: string[] } | { kind: "segments"; ids: string[] };
  value:
    | { kind: "percentage"; percentage: number }
    | { kind: "amount"; amount: number; appliesOnEachItem: boolean }
    | null;
  /** The items input as given; the checkout helper discounts the whole subtotal whatever it says. */
  items: Args;
  /** Minor units of the shop currency. */
  minimumSubtotal: number | null;
  minimumQuantity: number | null;
  combinesWith: { productDiscounts: boolean; orderDiscounts: boolean; shippingDiscounts: boolean };
  createdAt: string;
  updatedAt: string;
  codes: StandInRedeemCode[];
  /** Who used it at checkout, for appliesOncePerCustomer. */
  redeemedBy: { customerId: string | null; email: string }[];
}

interface StandInCodeBulkCreation {
  id: string;
  discountId: string;
  createdAt: string;
  done: boolean;
  results: { code: string; redeemCode: StandInRedeemCode | null; errors: UserError[] }[];
}

export type RedeemResult =
  | { ok: true; discountAmount: number }
  | {
      ok: false;
      reason:
        | "unknown_code"
        | "not_started"
        | "expired"
        | "usage_limit_reached"
        | "already_used_by_customer"
        | "customer_not_eligible"
        | "minimum_subtotal_not_met";
    };

/** Metafield types the stand-in knows (a subset of Shopify's list), with how a value is checked. */
const METAFIELD_TYPES: Record<string, (value: string) => string | null> = {
  single_line_text_field: (v) => (/[\r\n]/.test(v) ? "Value must be a single line of text." : null),
  multi_line_text_field: () => null,
  "list.single_line_text_field": (v) => {
    let list: unknown;
    try {
      list = JSON.parse(v);
    } catch {
      return "Value is invalid JSON.";
    }
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string"))
      return "Value must be an array of strings.";
    if (list.some((x) => /[\r\n]/.test(x as string))) return "Value must be a single line of text.";
    return list.length > 128 ? "Value has a maximum of 128 items." : null;
  },
  number_integer: (v) => (/^-?\d+$/.test(v) ? null : "Value must be an integer."),
  boolean: (v) => (v === "true" || v === "false" ? null : "Value must be true or false."),
  json: (v) => {
    try {
      JSON.parse(v);
      return null;
    } catch {
      return "Value is invalid JSON.";
    }
  },
  date: (v) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? null : "Value must be in “YYYY-MM-DD” format."),
};
const RESERVED_NAMESPACES = ["shopify_standard", "protected", "shopify-l10n-fields"];

/** Shopify tag lists: comma-split, trimmed, one of each ignoring case (first spelling kept), sorted. */
function normaliseTags(tags: string[]): string[] {
  const seen = new Map<string, string>();
  for (const t of tags.flatMap((x) => x.split(",")).map((x) => x.trim()))
    if (t && !seen.has(t.toLowerCase())) seen.set(t.toLowerCase(), t);
  return [...seen.values()].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
}

/** `tag:vip`, `tag:'a b'`, `tag:"slice:x"` terms of a customer search. */
/** The values a search query gives a field (`field:value`, quoted or not). */
function searchedValues(query: string, field: string): string[] {
  const pattern = new RegExp(`(?:^|\\s)${field}:(?:'([^']*)'|"([^"]*)"|(\\S+))`, "g");
  return [...query.matchAll(pattern)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function searchedTags(query: string): string[] {
  return [...query.matchAll(/(?:^|\s)tag:(?:'([^']*)'|"([^"]*)"|(\S+))/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

interface BulkOperation {
  __typename: "BulkOperation";
  id: string;
  status: string;
  errorCode: string | null;
  /** Why it failed with ACCESS_DENIED (Shopify gives only the code; kept for tests). */
  deniedMessage: string | null;
  objectCount: string;
  rootObjectCount: string;
  fileSize: string | null;
  url: string | null;
  partialDataUrl: string | null;
  query: string;
  type: "QUERY";
  createdAt: string;
  completedAt: string | null;
  jsonl: string;
}

const gid = (type: string, id: string) => `gid://shopify/${type}/${id}`;
const mailingAddress = (a: Address) => ({
  __typename: "MailingAddress",
  address1: a.address1,
  address2: a.address2,
  city: a.city,
  provinceCode: a.provinceCode,
  zip: a.zip,
  countryCodeV2: a.countryCode,
});
const bag = (minor: number, currency: string) => ({
  shopMoney: { amount: decimal(minor), currencyCode: currency },
  presentmentMoney: { amount: decimal(minor), currencyCode: currency },
});

type Args = Record<string, unknown>;

/** Cursor pagination and Shopify's `updated_at:>='…'` search over a list. */
function connection<T extends object>(items: T[], args: Args, toNode: (item: T) => unknown) {
  const updated = (i: T) => (i as { updatedAt?: Date }).updatedAt?.getTime() ?? 0;
  let list = items;
  const query = typeof args.query === "string" ? args.query : "";
  const since = /updated_at:>=?'?([^'\s]+)'?/.exec(query);
  if (since) {
    const t = Date.parse(since[1]);
    list = list.filter((i) => updated(i) >= t);
  }
  if (args.sortKey === "UPDATED_AT") list = [...list].sort((a, b) => updated(a) - updated(b));
  const offset =
    typeof args.after === "string" ? Number(Buffer.from(args.after, "base64").toString()) + 1 : 0;
  const first = typeof args.first === "number" ? args.first : list.length;
  const page = list.slice(offset, offset + first);
  const edges = page.map((item, i) => ({
    cursor: Buffer.from(String(offset + i)).toString("base64"),
    node: toNode(item),
  }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: offset + first < list.length,
      hasPreviousPage: offset > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** A rough version of Shopify's calculated query cost: connections cost `first` times their contents. */
export function queryCost(document: DocumentNode, variables: Args = {}): number {
  const cost = (set: SelectionSetNode | undefined): number => {
    if (!set) return 0;
    let total = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.INLINE_FRAGMENT) total += cost(s.selectionSet);
      else if (s.kind === Kind.FIELD) {
        const firstArg = s.arguments?.find((a) => a.name.value === "first");
        if (firstArg) {
          const n =
            firstArg.value.kind === Kind.INT
              ? Number(firstArg.value.value)
              : firstArg.value.kind === Kind.VARIABLE
                ? Number(variables[firstArg.value.name.value] ?? 10)
                : 10;
          total += 2 + n * Math.max(1, cost(s.selectionSet));
        } else if (s.selectionSet) total += 1 + cost(s.selectionSet);
      }
    }
    return total;
  };
  let total = 0;
  for (const def of document.definitions)
    if (def.kind === Kind.OPERATION_DEFINITION)
      // Shopify charges each mutation field 10 points, aliased batches included.
      total +=
        (def.operation === "mutation"
          ? 10 * def.selectionSet.selections.filter((s) => s.kind === Kind.FIELD).length
          : 0) + cost(def.selectionSet);
  return Math.max(1, total);
}

/** The scopes `shopify.app.toml` asks for (the stand-in grants them unless told otherwise). */
export function appTomlScopes(file = "shopify.app.toml"): string[] {
  const toml = readFileSync(file, "utf8");
  const section = toml.split(/^\[access_scopes\]\s*$/m)[1] ?? "";
  const line = /^\s*scopes\s*=\s*"([^"]*)"/m.exec(section);
  if (!line) throw new Error(`${file}: no [access_scopes] scopes = "..."`);
  return line[1]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export class AdminApiStandIn {
  readonly invalidDocuments: { query: string; errors: string[] }[] = [];
  /** Documents that used a deprecated field: Shopify answers them, the tests fail on them. */
  readonly deprecatedUses: { query: string; uses: string[] }[] = [];
  /** Requests for an API version the stand-in has no schema for (answered 404, as Shopify does). */
  readonly unknownVersions: string[] = [];
  readonly requests: { query: string; cost: number; throttled: boolean }[] = [];
  private server: http.Server | null = null;
  origin = "";
  private available: number;
  private lastRefill = Date.now();
  private readonly bulk = new Map<string, BulkOperation>();
  private bulkSeq = 0;
  private failuresLeft: number;
  /** Metafields by owner id, then "namespace.key". */
  readonly metafields = new Map<string, Map<string, StandInMetafield>>();
  readonly definitions = new Map<string, StandInDefinition>();
  readonly segments = new Map<string, StandInSegment>();
  /** Code discounts by DiscountCodeNode id, and their redeem codes by lower-cased code. */
  readonly discounts = new Map<string, StandInDiscount>();
  readonly discountCodes = new Map<string, StandInRedeemCode>();
  readonly codeBulkCreations = new Map<string, StandInCodeBulkCreation>();
  /** Email marketing consent set through the API, by customer id (else it follows acceptsMarketing). */
  readonly emailConsents = new Map<string, StandInEmailConsent>();
  private seq = 1000;
  /** How many segments the shop may have; a test sets 0 to see Shopify's refusal. */
  segmentLimit: number;
  /** The version in the request's path: the segment grammar changed in 2026-10. */
  private apiVersion = ADMIN_API_SCHEMA_VERSION;

  /** Issues and checks tokens (dev/oauth.ts) on the stand-in's clock. */
  readonly tokens: TokenAuthority;
  private granted: string[];
  private clockOffset = 0;
  /** The scopes of the request being answered (a bulk query is checked against them). */
  private requestScopes: readonly string[] = [];
  /** Every Admin API request refused with 401 (an expired or unknown token). */
  unauthorized = 0;

  constructor(private readonly options: StandInOptions) {
    standIns.add(this);
    this.granted = [...(options.scopes ?? appTomlScopes())];
    this.tokens = new TokenAuthority({
      shop: options.store.shop.domain,
      apiKey: options.apiKey ?? process.env.SHOPIFY_API_KEY ?? "slice-dev-api-key",
      apiSecret: options.apiSecret ?? process.env.SHOPIFY_API_SECRET ?? "slice-dev-secret",
      now: () => this.now(),
      scopes: () => this.grantedScopes(),
    });
    this.tokens.addLegacyToken(options.accessToken ?? "shpat_standin");
    this.available = options.maximumAvailable ?? 1000;
    this.failuresLeft = options.failFirst ?? 0;
    this.segmentLimit = options.segmentLimit ?? 6000;
  }

  /**
   * The orders the app may read: all of them with `read_all_orders`, else only those created in the
   * last 60 days (of the store's clock). Every way to an order goes through this: the orders query,
   * `order(id)` and `node`, a customer's `orders`, bulk operations (they run the same root).
   */
  private visibleOrders(orders: Store["orders"]): Store["orders"] {
    if (this.grantedScopes().includes("read_all_orders")) return orders;
    const since = this.store.now.getTime() - ORDERS_WITHOUT_READ_ALL_DAYS * 86_400_000;
    return orders.filter((o) => o.createdAt.getTime() >= since);
  }

  get store(): Store {
    return this.options.store;
  }

  /** The stand-in's clock (ms): the real clock plus what a test moved it by. Tokens expire on it. */
  now(): number {
    return Date.now() + this.clockOffset;
  }

  /** Moves the stand-in's clock forward (tokens issued before may expire). */
  advanceClock(ms: number): void {
    this.clockOffset += ms;
  }

  /** The access scopes the app holds on the shop now. */
  grantedScopes(): string[] {
    return [...this.granted];
  }

  /** The merchant changed what the app may do (tokens issued from now on carry these scopes). */
  setGrantedScopes(scopes: string[]): void {
    this.granted = [...scopes];
  }

  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.origin;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private refill(): void {
    const now = Date.now();
    const max = this.options.maximumAvailable ?? 1000;
    this.available = Math.min(
      max,
      this.available + ((now - this.lastRefill) / 1000) * (this.options.restoreRate ?? 50),
    );
    this.lastRefill = now;
  }

  private throttleStatus() {
    return {
      maximumAvailable: this.options.maximumAvailable ?? 1000,
      currentlyAvailable: Math.floor(this.available),
      restoreRate: this.options.restoreRate ?? 50,
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const send = (status: number, body: unknown, type = "application/json") => {
      res.writeHead(status, { "Content-Type": type });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    const bulkFile = /^\/bulk\/(\d+)\.jsonl$/.exec(url.pathname);
    if (bulkFile) {
      const op = this.bulk.get(gid("BulkOperation", bulkFile[1]));
      if (!op) return send(404, "not found", "text/plain");
      // Streamed in small chunks, so that lines straddle chunk boundaries as they do for real.
      res.writeHead(200, { "Content-Type": "application/jsonl" });
      for (let i = 0; i < op.jsonl.length; i += 4096) res.write(op.jsonl.slice(i, i + 4096));
      res.end();
      return;
    }
    if (url.pathname === "/admin/oauth/access_token" && req.method === "POST") {
      const raw = await readBody(req);
      let fields: Record<string, string | undefined>;
      try {
        fields = /json/.test(req.headers["content-type"] ?? "")
          ? (JSON.parse(raw) as Record<string, string | undefined>)
          : Object.fromEntries(new URLSearchParams(raw));
      } catch {
        return send(400, { error: "invalid_request", error_description: "The body is not valid JSON." });
      }
      const answer = this.tokens.answer(fields);
      return send(answer.status, answer.body);
    }
    if (!/^\/admin\/api\/[\w-]+\/graphql\.json$/.test(url.pathname) || req.method !== "POST")
      return send(404, { errors: "Not Found" });
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      return send(503, { errors: "Service Unavailable" });
    }
    const token = req.headers["x-shopify-access-token"];
    const grant = this.tokens.check(typeof token === "string" ? token : undefined);
    if (!grant) {
      this.unauthorized++;
      return send(401, { errors: INVALID_ACCESS_TOKEN });
    }
    const chunks: Buffer[] = [Buffer.from(await readBody(req))];
    let body: { query?: string; variables?: Args };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return send(400, { errors: "Invalid JSON" });
    }
    const version = /^\/admin\/api\/([\w-]+)\//.exec(url.pathname)?.[1] ?? "";
    if (!hasAdminSchema(version)) {
      // Shopify answers a version that does not exist with 404 and no GraphQL at all.
      this.unknownVersions.push(version);
      return send(404, { errors: "Not Found" });
    }
    send(200, await this.graphql(body.query ?? "", body.variables ?? {}, version, grant.scopes));
  }

  /** Runs one GraphQL request as Shopify would answer it, with the scopes of the request's token. */
  async graphql(
    query: string,
    variables: Args,
    apiVersion = ADMIN_API_SCHEMA_VERSION,
    scopes: readonly string[] = this.granted,
  ): Promise<unknown> {
    if (!hasAdminSchema(apiVersion)) {
      this.unknownVersions.push(apiVersion);
      return { errors: "Not Found" };
    }
    this.apiVersion = apiVersion;
    this.requestScopes = scopes;
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      this.invalidDocuments.push({ query, errors: [(error as Error).message] });
      return { errors: [{ message: (error as Error).message }] };
    }
    const errors = validate(adminSchema(apiVersion), document);
    if (errors.length) {
      this.invalidDocuments.push({ query, errors: errors.map((e) => e.message) });
      return {
        errors: errors.map((e) => ({
          message: e.message,
          extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
        })),
      };
    }
    const deprecated = [
      ...deprecatedUsesIn(document, apiVersion),
      ...deprecatedInputsIn(document, variables, apiVersion),
    ];
    if (deprecated.length) this.deprecatedUses.push({ query, uses: deprecated });
    const cost = queryCost(document, variables);
    this.refill();
    const denied = accessDenied(adminSchema(apiVersion), document, variables, scopes);
    if (denied.length) {
      this.requests.push({ query, cost, throttled: false });
      return {
        errors: denied,
        data: null,
        extensions: {
          cost: { requestedQueryCost: cost, actualQueryCost: 1, throttleStatus: this.throttleStatus() },
        },
      };
    }
    if (cost > 1000) {
      this.requests.push({ query, cost, throttled: false });
      return {
        errors: [
          {
            message: `Query cost is ${cost}, which exceeds the single query max cost limit (1000).`,
            extensions: { code: "MAX_COST_EXCEEDED", cost, maxCost: 1000 },
          },
        ],
        extensions: {
          cost: { requestedQueryCost: cost, actualQueryCost: null, throttleStatus: this.throttleStatus() },
        },
      };
    }
    if (cost > this.available) {
      this.requests.push({ query, cost, throttled: true });
      return {
        errors: [
          {
            message: "Throttled",
            extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/rate-limits" },
          },
        ],
        extensions: {
          cost: { requestedQueryCost: cost, actualQueryCost: null, throttleStatus: this.throttleStatus() },
        },
      };
    }
    this.available -= cost;
    this.requests.push({ query, cost, throttled: false });
    const result = await execute({
      schema: adminSchema(apiVersion),
      document,
      variableValues: variables,
      rootValue: this.root(),
      contextValue: this.context(),
      fieldResolver,
    });
    return {
      ...result,
      extensions: {
        cost: { requestedQueryCost: cost, actualQueryCost: cost, throttleStatus: this.throttleStatus() },
      },
    };
  }

  /** What the app is approved for (protected customer data), for the field resolver. */
  private context(): StandInContext {
    return {
      access: this.options.protectedData ?? APP_PROTECTED_DATA,
      dashboard: `https://partners.shopify.com/0/apps/${this.options.apiClientId ?? "0"}/customer_data`,
    };
  }

  private root() {
    const store = this.store;
    const cur = store.shop.currency;
    const customersById = new Map(store.customers.map((c) => [c.id, c]));
    const emailConsent = (c: Store["customers"][number]): StandInEmailConsent =>
      this.emailConsents.get(c.id) ?? {
        marketingState: c.acceptsMarketing ? "SUBSCRIBED" : "NOT_SUBSCRIBED",
        marketingOptInLevel: "SINGLE_OPT_IN",
        consentUpdatedAt: c.createdAt.toISOString(),
      };
    const customerNode = (c: Store["customers"][number]) => ({
      __typename: "Customer",
      id: gid("Customer", c.id),
      legacyResourceId: c.id,
      email: c.email,
      firstName: c.firstName,
      lastName: c.lastName,
      displayName: `${c.firstName} ${c.lastName}`,
      phone: c.phone,
      state: c.state.toUpperCase(),
      tags: () => c.tags,
      note: null,
      locale: c.locale,
      verifiedEmail: true,
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
      emailMarketingConsent: emailConsent(c),
      smsMarketingConsent: null,
      // 2026-07's successors of the deprecated email, phone and consent fields.
      defaultEmailAddress: c.email
        ? {
            emailAddress: c.email,
            marketingState: emailConsent(c).marketingState,
            marketingOptInLevel: emailConsent(c).marketingOptInLevel,
            marketingUpdatedAt: emailConsent(c).consentUpdatedAt,
            validFormat: true,
          }
        : null,
      defaultPhoneNumber: c.phone ? { phoneNumber: c.phone } : null,
      defaultAddress: c.address
        ? { ...mailingAddress(c.address), city: c.city, provinceCode: c.provinceCode }
        : null,
      // Lifetime figures: Shopify gives them whatever the app's order scopes.
      numberOfOrders: () => String(store.orders.filter((o) => o.customerId === c.id).length),
      orders: (args: Args) =>
        connection(
          this.visibleOrders(store.orders.filter((o) => o.customerId === c.id)),
          args,
          (o: Store["orders"][number]) => orderNode(o),
        ),
      amountSpent: () => ({
        amount: decimal(
          store.orders
            .filter((o) => o.customerId === c.id && !o.cancelledAt)
            .reduce((s, o) => s + o.total - o.refunds.reduce((r, x) => r + x.amount, 0), 0),
        ),
        currencyCode: cur,
      }),
      metafield: (args: Args) => {
        const m = this.metafields
          .get(gid("Customer", c.id))
          ?.get(`${this.namespace(args.namespace as string | undefined)}.${String(args.key)}`);
        return m ? this.metafieldNode(m, gid("Customer", c.id)) : null;
      },
    });
    const lineNode = (l: Store["orders"][number]["lines"][number]) => ({
      __typename: "LineItem",
      id: gid("LineItem", l.id),
      title: l.title,
      name: l.title,
      variantTitle: null,
      sku: l.sku,
      vendor: l.vendor,
      quantity: l.quantity,
      product: { id: gid("Product", l.productId) },
      variant: { id: gid("ProductVariant", l.variantId) },
      originalUnitPriceSet: bag(l.price, cur),
      totalDiscountSet: bag(l.totalDiscount, cur),
    });
    const orderNode = (o: Store["orders"][number]) => {
      const customer = o.customerId ? customersById.get(o.customerId) : undefined;
      return {
        __typename: "Order",
        id: gid("Order", o.id),
        legacyResourceId: o.id,
        name: o.name,
        email: o.email,
        createdAt: o.createdAt.toISOString(),
        updatedAt: o.updatedAt.toISOString(),
        processedAt: o.processedAt.toISOString(),
        cancelledAt: o.cancelledAt?.toISOString() ?? null,
        cancelReason: o.cancelReason?.toUpperCase() ?? null,
        closedAt: null,
        test: false,
        tags: o.tags,
        discountCodes: o.discountCodes,
        discountCode: o.discountCodes[0] ?? null,
        sourceName: o.sourceName,
        checkoutToken: o.checkoutToken,
        landingPageUrl: o.landingSite ? `https://${store.shop.domain}${o.landingSite}` : null,
        referrerUrl: o.referringSite,
        // 2026-07's successor of landingPageUrl and referrerUrl: the visit that led to the order.
        customerJourneySummary: {
          ready: true,
          customerOrderIndex: null,
          lastVisit:
            o.landingSite || o.referringSite
              ? {
                  id: gid("CustomerVisit", o.id),
                  landingPage: o.landingSite ? `https://${store.shop.domain}${o.landingSite}` : null,
                  referrerUrl: o.referringSite,
                  occurredAt: o.createdAt.toISOString(),
                  source: o.referringSite ? new URL(o.referringSite).hostname : "direct",
                }
              : null,
          firstVisit: null,
        },
        displayFinancialStatus: o.financialStatus.toUpperCase(),
        displayFulfillmentStatus: o.fulfillmentStatus ? "FULFILLED" : "UNFULFILLED",
        currencyCode: cur,
        customer: customer ? customerNode(customer) : null,
        shippingAddress: o.shippingAddress ? mailingAddress(o.shippingAddress) : null,
        totalPriceSet: bag(o.total, cur),
        subtotalPriceSet: bag(o.subtotal, cur),
        totalDiscountsSet: bag(o.totalDiscounts, cur),
        totalTaxSet: bag(o.totalTax, cur),
        refunds: o.refunds.map((r) => ({
          __typename: "Refund",
          id: gid("Refund", r.id),
          createdAt: r.createdAt.toISOString(),
          note: r.note,
          totalRefundedSet: bag(r.amount, cur),
        })),
        lineItems: (args: Args) => connection(o.lines, args, lineNode),
      };
    };
    const checkoutNode = (c: Store["checkouts"][number]) => {
      const customer = c.customerId ? customersById.get(c.customerId) : undefined;
      return {
        __typename: "AbandonedCheckout",
        id: gid("AbandonedCheckout", c.id),
        abandonedCheckoutUrl: `https://${store.shop.domain}/checkouts/${c.token}/recover`,
        createdAt: c.createdAt.toISOString(),
        updatedAt: c.updatedAt.toISOString(),
        completedAt: c.completedAt?.toISOString() ?? null,
        customer: customer ? customerNode(customer) : null,
        totalPriceSet: bag(c.total, cur),
        subtotalPriceSet: bag(c.subtotal, cur),
        lineItems: (args: Args) =>
          connection(c.lines, args, (l) => ({
            __typename: "AbandonedCheckoutLineItem",
            id: gid("AbandonedCheckoutLineItem", `${c.id}${l.variantId.slice(-4)}`),
            title: l.title,
            quantity: l.quantity,
            product: { id: gid("Product", l.productId) },
            variant: { id: gid("ProductVariant", l.variantId) },
            originalUnitPriceSet: bag(l.price, cur),
          })),
      };
    };
    const collectionNode = (c: Store["collections"][number]) => ({
      __typename: "Collection",
      id: gid("Collection", c.id),
      title: c.title,
      handle: c.handle,
      products: (args: Args) =>
        connection(
          store.products.filter((p) => p.collectionIds.includes(c.id)),
          args,
          productNode,
        ),
    });
    const productNode = (p: Store["products"][number]): Record<string, unknown> => ({
      __typename: "Product",
      id: gid("Product", p.id),
      title: p.title,
      handle: p.handle,
      vendor: p.vendor,
      productType: p.productType,
      tags: p.tags,
      updatedAt: p.updatedAt.toISOString(),
      collections: (args: Args) =>
        connection(
          store.collections.filter((c) => p.collectionIds.includes(c.id)),
          args,
          collectionNode,
        ),
    });
    const orderById = (id: string) => {
      const o = this.visibleOrders(store.orders).find((x) => x.id === id);
      return o ? orderNode(o) : null;
    };
    const nodeOf = (id: string): unknown => {
      const customer = /^gid:\/\/shopify\/Customer\/(\d+)$/.exec(id);
      if (customer) {
        const c = customersById.get(customer[1]);
        return c ? customerNode(c) : null;
      }
      const order = /^gid:\/\/shopify\/Order\/(\d+)$/.exec(id);
      if (order) return orderById(order[1]);
      const discount = this.discounts.get(id);
      if (discount) return discountCodeNode(discount);
      return (
        this.bulk.get(id) ?? this.segments.get(id) ?? this.bulkCreationNode(id, discountCodeNode) ?? null
      );
    };
    const customerOf = (id: string) => {
      const c = customersById.get(id.slice(id.lastIndexOf("/") + 1));
      return c ? customerNode(c) : null;
    };
    const discountCodeNode = (d: StandInDiscount) => ({
      __typename: "DiscountCodeNode",
      id: d.id,
      codeDiscount: d.app ? this.codeAppNode(d, customerOf) : this.codeBasicNode(d, customerOf),
      metafield: (args: Args) => {
        const m = d.app?.metafields.get(
          `${this.namespace(args.namespace as string | undefined)}.${args.key}`,
        );
        return m
          ? {
              __typename: "Metafield",
              namespace: this.namespace(args.namespace as string | undefined),
              key: args.key,
              ...m,
              jsonValue: m.type === "json" ? JSON.parse(m.value) : m.value,
            }
          : null;
      },
    });
    // Shopify lists only checkouts that were not completed as abandoned.
    const abandoned = store.checkouts.filter((c) => !c.completedAt);
    return {
      shop: {
        __typename: "Shop",
        name: store.shop.name,
        currencyCode: cur,
        ianaTimezone: store.shop.ianaTimezone,
        myshopifyDomain: store.shop.domain,
        // A shop without a domain of its own has its myshopify.com address as its primary domain.
        primaryDomain: (() => {
          const host = store.shop.primaryDomain ?? store.shop.domain;
          const loopback = /^(127\.[\d.]+|localhost)(:\d+)?$/.test(host);
          return {
            __typename: "Domain",
            id: "gid://shopify/Domain/1",
            host,
            url: `${loopback ? "http" : "https"}://${host}`,
            sslEnabled: !loopback,
          };
        })(),
      },
      // The shop's themes (read_themes): only the published MAIN one, with its settings_data.json.
      themes: (args: Args) => {
        const roles = (args.roles as string[] | undefined) ?? null;
        const theme = store.theme;
        const list = !roles || roles.includes("MAIN") ? [theme] : [];
        return connection(list, args, (t) => ({
          __typename: "OnlineStoreTheme",
          id: `gid://shopify/OnlineStoreTheme/${t.id}`,
          name: t.name,
          role: "MAIN",
          processing: false,
          processingFailed: false,
          createdAt: store.now.toISOString(),
          updatedAt: store.now.toISOString(),
          prefix: "/t/1",
          themeStoreId: 887,
          files: (fileArgs: Args) => {
            const content = settingsDataJson(t);
            const files = [{ filename: "config/settings_data.json", content }].filter(
              (f) => !fileArgs.filenames || (fileArgs.filenames as string[]).includes(f.filename),
            );
            return connection(files, fileArgs, (f) => ({
              __typename: "OnlineStoreThemeFile",
              filename: f.filename,
              contentType: "application/json",
              size: String(Buffer.byteLength(f.content)),
              checksumMd5: null,
              createdAt: store.now.toISOString(),
              updatedAt: store.now.toISOString(),
              body: { __typename: "OnlineStoreThemeFileBodyText", content: f.content },
            }));
          },
        }));
      },
      customers: (args: Args) => {
        const query = typeof args.query === "string" ? args.query : "";
        const tags = searchedTags(query).map((t) => t.toLowerCase());
        const emails = searchedValues(query, "email").map((e) => e.toLowerCase());
        const list = store.customers.filter(
          (c) =>
            tags.every((t) => c.tags.some((x) => x.toLowerCase() === t)) &&
            emails.every((e) => c.email.toLowerCase() === e),
        );
        return connection(list, args, customerNode);
      },
      nodes: (args: Args) => (args.ids as string[]).map((id) => nodeOf(id)),
      segment: (args: Args) => this.segments.get(String(args.id)) ?? null,
      segments: (args: Args) => connection([...this.segments.values()], args, (x) => x),
      customerCreate: (args: Args) => {
        const created = this.createCustomer(args.input as Args);
        return {
          customer: created.customer ? customerNode(created.customer) : null,
          userErrors: created.userErrors,
        };
      },
      customerEmailMarketingConsentUpdate: (args: Args) => {
        const input = args.input as Args;
        const updated = this.updateEmailConsent(
          String(input.customerId),
          input.emailMarketingConsent as Args,
        );
        return {
          customer: updated.customer ? customerNode(updated.customer) : null,
          userErrors: updated.userErrors,
        };
      },
      tagsAdd: (args: Args) => this.changeTags(String(args.id), args.tags as string[], "add", nodeOf),
      tagsRemove: (args: Args) => this.changeTags(String(args.id), args.tags as string[], "remove", nodeOf),
      metafieldDefinitionCreate: (args: Args) => this.createDefinition(args.definition as Args),
      metafieldsSet: (args: Args) => this.setMetafields(args.metafields as Args[]),
      // The app's own installation: app-data metafields hang on it (theme app extensions read
      // them as `app.metafields.<namespace>.<key>`).
      currentAppInstallation: () => ({
        __typename: "AppInstallation",
        id: this.appInstallationId,
        accessScopes: this.grantedScopes().map((handle) => ({
          __typename: "AccessScope",
          handle,
          description: handle,
        })),
        metafield: (args: Args) => {
          const m = this.metafields
            .get(this.appInstallationId)
            ?.get(`${this.namespace(args.namespace as string | undefined)}.${String(args.key)}`);
          return m ? this.metafieldNode(m, this.appInstallationId) : null;
        },
      }),
      metafieldsDelete: (args: Args) => this.deleteMetafields(args.metafields as Args[]),
      webPixelCreate: (args: Args) => this.createWebPixel(args.webPixel as Args),
      webPixelUpdate: (args: Args) => this.updateWebPixel(String(args.id), args.webPixel as Args),
      webPixel: (args: Args) =>
        this.webPixel && (args.id === undefined || args.id === null || args.id === this.webPixel.id)
          ? this.webPixel
          : null,
      segmentCreate: (args: Args) => this.createSegment(args),
      segmentUpdate: (args: Args) => this.updateSegment(args),
      orders: (args: Args) => connection(this.visibleOrders(store.orders), args, orderNode),
      order: (args: Args) => orderById(String(args.id).replace(/^gid:\/\/shopify\/Order\//, "")),
      abandonedCheckouts: (args: Args) => connection(abandoned, args, checkoutNode),
      products: (args: Args) => connection(store.products, args, productNode),
      collections: (args: Args) => connection(store.collections, args, collectionNode),
      node: (args: Args) => nodeOf(String(args.id)),
      currentBulkOperation: () => [...this.bulk.values()].at(-1) ?? null,
      bulkOperationRunQuery: (args: Args) => this.runBulk(String(args.query)),
      discountCodeBasicCreate: (args: Args) => {
        const created = this.createCodeBasic(args.basicCodeDiscount as Args);
        return {
          codeDiscountNode: created.discount ? discountCodeNode(created.discount) : null,
          userErrors: created.userErrors,
        };
      },
      discountCodeAppCreate: (args: Args) => {
        const created = this.createCodeApp(args.codeAppDiscount as Args);
        return {
          codeAppDiscount: created.discount ? this.codeAppNode(created.discount, customerOf) : null,
          userErrors: created.userErrors,
        };
      },
      discountRedeemCodeBulkAdd: (args: Args) =>
        this.bulkAddCodes(String(args.discountId), args.codes as { code: string }[], discountCodeNode),
      discountCodeDeactivate: (args: Args) => {
        const deactivated = this.deactivateCodeDiscount(String(args.id));
        return {
          codeDiscountNode: deactivated.discount ? discountCodeNode(deactivated.discount) : null,
          userErrors: deactivated.userErrors,
        };
      },
      codeDiscountNodeByCode: (args: Args) => {
        const code = this.discountCodes.get(String(args.code).toLowerCase());
        return code ? discountCodeNode(this.discounts.get(code.discountId)!) : null;
      },
      codeDiscountNode: (args: Args) => {
        const d = this.discounts.get(String(args.id));
        return d ? discountCodeNode(d) : null;
      },
      discountNode: (args: Args) => {
        const d = this.discounts.get(String(args.id));
        if (!d) return null;
        const node = discountCodeNode(d);
        return {
          __typename: "DiscountNode",
          id: d.id,
          discount: node.codeDiscount,
          metafield: node.metafield,
        };
      },
      discountRedeemCodeBulkCreation: (args: Args) =>
        this.bulkCreationNode(String(args.id), discountCodeNode),
    };
  }

  /** `$app:x` → `app--<client id>--x`; no namespace → the app-reserved `app--<client id>`. */
  private namespace(input: string | null | undefined): string {
    const app = `app--${this.options.apiClientId ?? "1234567890"}`;
    if (input === undefined || input === null) return app;
    return input.startsWith("$app:") ? `${app}--${input.slice(5)}` : input;
  }

  private nextId(type: string): string {
    return gid(type, String(++this.seq));
  }

  private metafieldNode(m: StandInMetafield, ownerId: string) {
    return {
      __typename: "Metafield",
      ...m,
      jsonValue: () => (m.type.startsWith("list.") || m.type === "json" ? JSON.parse(m.value) : m.value),
      compareDigest: Buffer.from(`${m.id}:${m.updatedAt}`).toString("base64"),
      ownerType: "CUSTOMER",
      owner: () => this.root().nodes({ ids: [ownerId] })[0],
    };
  }

  /** tagsAdd / tagsRemove on customers (the only taggable resource the stand-in keeps). */
  /** customerCreate: an email or phone is needed; emails are unique per shop, as in Shopify. */
  private createCustomer(input: Args): { customer: Customer | null; userErrors: UserError[] } {
    const email = typeof input.email === "string" ? input.email.trim() : "";
    const refused = (field: string, message: string) => ({
      customer: null,
      userErrors: [{ field: [field], message }],
    });
    if (!email && !input.phone && !input.firstName && !input.lastName)
      return refused("customer", "A name, phone number, or email address must be present");
    if (email && !/^[^\s@]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/i.test(email))
      return refused("email", "Email is invalid");
    if (email && this.store.customers.some((c) => c.email.toLowerCase() === email.toLowerCase()))
      return refused("email", "Email has already been taken");
    const consent = input.emailMarketingConsent as Args | null | undefined;
    if (consent && !email)
      return refused("email", "An email address is required to set the email marketing consent state.");
    const now = new Date();
    const customer: Customer = {
      id: String(9_000_000_000_000 + ++this.seq),
      email,
      firstName: typeof input.firstName === "string" ? input.firstName : "",
      lastName: typeof input.lastName === "string" ? input.lastName : "",
      phone: typeof input.phone === "string" ? input.phone : null,
      state: "disabled",
      tags: [],
      acceptsMarketing: consent?.marketingState === "SUBSCRIBED",
      countryCode: "",
      provinceCode: null,
      city: "",
      address: null,
      locale: typeof input.locale === "string" ? input.locale : "en",
      createdAt: now,
      updatedAt: now,
    };
    this.store.customers.push(customer);
    if (consent) this.emailConsents.set(customer.id, this.consentOf(consent, now));
    return { customer, userErrors: [] };
  }

  private consentOf(consent: Args, now: Date): StandInEmailConsent {
    return {
      marketingState: String(consent.marketingState),
      marketingOptInLevel:
        typeof consent.marketingOptInLevel === "string" ? consent.marketingOptInLevel : null,
      consentUpdatedAt:
        typeof consent.consentUpdatedAt === "string" ? consent.consentUpdatedAt : now.toISOString(),
    };
  }

  /** customerEmailMarketingConsentUpdate, with its userErrors (code INVALID). */
  private updateEmailConsent(
    customerId: string,
    consent: Args,
  ): { customer: Customer | null; userErrors: UserError[] } {
    const match = /^gid:\/\/shopify\/Customer\/(\d+)$/.exec(customerId);
    const customer = match ? this.store.customers.find((c) => c.id === match[1]) : undefined;
    const refused = (field: string[], message: string) => ({
      customer: null,
      userErrors: [{ field, message, code: "INVALID" }],
    });
    if (!customer) return refused(["input", "customerId"], "Customer not found");
    if (!customer.email) return refused(["input", "customerId"], "Customer must have an email address");
    const now = new Date();
    const next = this.consentOf(consent, now);
    if (Date.parse(next.consentUpdatedAt) > now.getTime() + 60_000)
      return refused(
        ["input", "emailMarketingConsent", "consentUpdatedAt"],
        "Consent updated at cannot be in the future",
      );
    this.emailConsents.set(customer.id, next);
    customer.acceptsMarketing = next.marketingState === "SUBSCRIBED";
    customer.updatedAt = now;
    return { customer, userErrors: [] };
  }

  private changeTags(id: string, tags: string[], change: "add" | "remove", nodeOf: (id: string) => unknown) {
    const match = /^gid:\/\/shopify\/(\w+)\/(\d+)$/.exec(id);
    if (!match || !["Customer", "Product", "Order", "DraftOrder", "Article"].includes(match[1]))
      throw new GraphQLError("invalid id", { extensions: { code: "RESOURCE_NOT_FOUND" } });
    const customer =
      match[1] === "Customer" ? this.store.customers.find((c) => c.id === match[2]) : undefined;
    if (!customer)
      return { node: null, userErrors: [{ field: ["id"], message: `${match[1]} does not exist` }] };
    const given = normaliseTags(tags);
    const long = given.find((t) => t.length > 255);
    if (long)
      return {
        node: null,
        userErrors: [{ field: ["tags"], message: "Tags is too long (maximum is 255 characters)" }],
      };
    const drop = new Set(given.map((t) => t.toLowerCase()));
    const next =
      change === "add"
        ? normaliseTags([...customer.tags, ...given])
        : customer.tags.filter((t) => !drop.has(t.toLowerCase()));
    if (next.join("\n") !== customer.tags.join("\n")) {
      customer.tags = next;
      customer.updatedAt = new Date();
    }
    return { node: nodeOf(id), userErrors: [] };
  }

  private ownerTypeName(ownerType: string): string {
    return (
      ownerType.charAt(0) +
      ownerType
        .slice(1)
        .toLowerCase()
        .replace(/_(\w)/g, (_, c: string) => c.toUpperCase())
    );
  }

  private createDefinition(input: Args) {
    const errors: UserError[] = [];
    const namespace = this.namespace(input.namespace as string | undefined);
    const key = String(input.key);
    const name = String(input.name ?? "");
    const type = String(input.type);
    const ownerType = String(input.ownerType);
    const lengths = (field: string, label: string, value: string, min: number, max: number) => {
      if (value.length < min)
        errors.push({
          field: ["definition", field],
          message: `${label} is too short (minimum is ${min} characters)`,
          code: "TOO_SHORT",
        });
      else if (value.length > max)
        errors.push({
          field: ["definition", field],
          message: `${label} is too long (maximum is ${max} characters)`,
          code: "TOO_LONG",
        });
      else if (field !== "name" && !/^[A-Za-z0-9_-]+$/.test(value))
        errors.push({
          field: ["definition", field],
          message: `${label} contains one or more invalid characters.`,
          code: "INVALID_CHARACTER",
        });
    };
    lengths("namespace", "Namespace", namespace, 3, 255);
    lengths("key", "Key", key, 2, 64);
    if (!name.trim())
      errors.push({ field: ["definition", "name"], message: "Name can't be blank", code: "BLANK" });
    else lengths("name", "Name", name, 1, 255);
    if (!METAFIELD_TYPES[type])
      errors.push({
        field: ["definition", "type"],
        message: `Type name ${type} is not a valid type. Valid types are: ${Object.keys(METAFIELD_TYPES).sort().join(", ")}.`,
        code: "INCLUSION",
      });
    const access = input.access as { admin?: string } | undefined;
    if (access?.admin && !namespace.startsWith("app--"))
      errors.push({
        field: ["definition", "access", "admin"],
        message: "Admin access can only be specified for app-owned metafield definitions.",
        code: "ADMIN_ACCESS_INPUT_NOT_ALLOWED",
      });
    const slot = `${ownerType}|${namespace}|${key}`;
    if (!errors.length && this.definitions.has(slot))
      errors.push({
        field: ["definition", "key"],
        message: `Key is in use for ${this.ownerTypeName(ownerType)} metafields on the '${namespace}' namespace.`,
        code: "TAKEN",
      });
    if (errors.length) return { createdDefinition: null, userErrors: errors };
    const definition: StandInDefinition = {
      id: this.nextId("MetafieldDefinition"),
      name,
      namespace,
      key,
      ownerType,
      type,
      description: (input.description as string | undefined) ?? null,
    };
    this.definitions.set(slot, definition);
    return {
      createdDefinition: {
        __typename: "MetafieldDefinition",
        ...definition,
        type: { name: type, category: type.includes("text") ? "TEXT" : "OTHER" },
        pinnedPosition: null,
        validations: [],
      },
      userErrors: [],
    };
  }

  /** This app's installation on the shop (`currentAppInstallation`), owner of its app-data metafields. */
  readonly appInstallationId = "gid://shopify/AppInstallation/1";

  /**
   * The app-data metafields as the theme sees them: `app.metafields.<namespace>.<key>` is a
   * metafield drop whose `value` is the value (single-line text as is).
   */
  appMetafields(): Record<string, Record<string, { value: string; type: string }>> {
    const out: Record<string, Record<string, { value: string; type: string }>> = {};
    for (const m of this.metafields.get(this.appInstallationId)?.values() ?? [])
      (out[m.namespace] ??= {})[m.key] = { value: m.value, type: m.type };
    return out;
  }

  /** metafieldsSet on customers and on the app installation: at most 25, checked against definitions, all or nothing. */
  private setMetafields(inputs: Args[]) {
    if (inputs.length > 25)
      return {
        metafields: null,
        userErrors: [
          {
            field: ["metafields"],
            message: "Exceeded the maximum metafields input limit of 25.",
            code: "LESS_THAN_OR_EQUAL_TO",
            elementIndex: null,
          },
        ],
      };
    const errors: UserError[] = [];
    const planned: {
      ownerId: string;
      slot: string;
      namespace: string;
      key: string;
      type: string;
      value: string;
    }[] = [];
    inputs.forEach((m, i) => {
      const at = (field: string) => ["metafields", String(i), field];
      const fail = (field: string, message: string, code: string | null) =>
        errors.push({ field: at(field), message, code, elementIndex: null });
      const ownerId = String(m.ownerId);
      const namespace = this.namespace(m.namespace as string | undefined);
      const key = String(m.key);
      const value = String(m.value);
      if (RESERVED_NAMESPACES.includes(namespace))
        return fail("namespace", `Namespace ${namespace} is a reserved namespace`, null);
      if (namespace.length < 3)
        return fail("namespace", "Namespace is too short (minimum is 3 characters)", "TOO_SHORT");
      if (namespace.length > 255)
        return fail("namespace", "Namespace is too long (maximum is 255 characters)", "TOO_LONG");
      if (key.length < 2) return fail("key", "Key is too short (minimum is 2 characters)", "TOO_SHORT");
      if (key.length > 64) return fail("key", "Key is too long (maximum is 64 characters)", "TOO_LONG");
      const customer = /^gid:\/\/shopify\/Customer\/(\d+)$/.exec(ownerId);
      const app = ownerId === this.appInstallationId;
      if (!app && (!customer || !this.store.customers.some((c) => c.id === customer[1])))
        return fail("ownerId", "Owner does not exist.", "INVALID_VALUE");
      const definition = app ? undefined : this.definitions.get(`CUSTOMER|${namespace}|${key}`);
      const type = (m.type as string | undefined) ?? definition?.type;
      if (!type) return fail("type", "Type can't be blank", "BLANK");
      if (definition && definition.type !== type)
        return fail(
          "type",
          `Type must be ${definition.type}, the type of the metafield definition.`,
          "INVALID_TYPE",
        );
      const check = METAFIELD_TYPES[type];
      if (!check) return fail("type", `Type name ${type} is not a valid type.`, "INVALID_TYPE");
      if (!value) return fail("value", "Value can't be blank", "BLANK");
      const problem = check(value);
      if (problem) return fail("value", problem, "INVALID_VALUE");
      planned.push({ ownerId, slot: `${namespace}.${key}`, namespace, key, type, value });
    });
    if (errors.length) return { metafields: [], userErrors: errors };
    const now = new Date().toISOString();
    const written = planned.map((p) => {
      const owned = this.metafields.get(p.ownerId) ?? new Map<string, StandInMetafield>();
      this.metafields.set(p.ownerId, owned);
      const before = owned.get(p.slot);
      const m: StandInMetafield = {
        id: before?.id ?? this.nextId("Metafield"),
        namespace: p.namespace,
        key: p.key,
        type: p.type,
        value: p.value,
        createdAt: before?.createdAt ?? now,
        updatedAt: before && before.value === p.value ? before.updatedAt : now,
      };
      owned.set(p.slot, m);
      return this.metafieldNode(m, p.ownerId);
    });
    return { metafields: written, userErrors: [] };
  }

  /**
   * The app's web pixel on this shop (webPixelCreate): one per app and shop, its settings checked
   * against the extension's `[settings]` fields in extensions/slice-pixel/shopify.extension.toml,
   * as Shopify checks them.
   */
  webPixel: { id: string; settings: string } | null = null;

  private pixelSettings(input: Args | undefined): { settings: string | null; userErrors: WebPixelError[] } {
    const raw = input?.settings;
    let value: unknown = raw;
    if (typeof raw === "string")
      try {
        value = JSON.parse(raw);
      } catch {
        return {
          settings: null,
          userErrors: [
            {
              field: ["webPixel", "settings"],
              message: "Settings is not valid JSON",
              code: "INVALID_CONFIGURATION_JSON",
            },
          ],
        };
      }
    const problems = webPixelSettingsProblems(value, PIXEL_SETTINGS_FIELDS);
    if (problems.length)
      return {
        settings: null,
        userErrors: [
          { field: ["webPixel", "settings"], message: problems.join("; "), code: "INVALID_SETTINGS" },
        ],
      };
    return { settings: JSON.stringify(value), userErrors: [] };
  }

  private createWebPixel(input: Args | undefined) {
    if (this.webPixel)
      return { webPixel: null, userErrors: [{ field: null, message: "Web pixel is taken.", code: "TAKEN" }] };
    const { settings, userErrors } = this.pixelSettings(input);
    if (!settings) return { webPixel: null, userErrors };
    this.webPixel = { id: this.nextId("WebPixel"), settings };
    return { webPixel: this.webPixel, userErrors: [] };
  }

  private updateWebPixel(id: string, input: Args | undefined) {
    if (!this.webPixel || this.webPixel.id !== id)
      return {
        webPixel: null,
        userErrors: [{ field: ["id"], message: "Web pixel not found.", code: "NOT_FOUND" }],
      };
    const { settings, userErrors } = this.pixelSettings(input);
    if (!settings) return { webPixel: null, userErrors };
    this.webPixel = { id, settings };
    return { webPixel: this.webPixel, userErrors: [] };
  }

  private deleteMetafields(inputs: Args[]) {
    const deleted = inputs.map((m) => {
      const namespace = this.namespace(m.namespace as string);
      const owned = this.metafields.get(String(m.ownerId));
      const slot = `${namespace}.${String(m.key)}`;
      if (!owned?.delete(slot)) return null;
      return { ownerId: String(m.ownerId), namespace, key: String(m.key) };
    });
    return { deletedMetafields: deleted, userErrors: [] };
  }

  private checkSegment(name: string | undefined, query: string | undefined): UserError[] {
    const errors: UserError[] = [];
    if (name !== undefined) {
      if (!name.trim()) errors.push({ field: ["name"], message: "Name can't be blank" });
      else if (name.length > 255)
        errors.push({ field: ["name"], message: "Name is too long (maximum is 255 characters)" });
    }
    if (query !== undefined) {
      if (!query.trim()) errors.push({ field: ["query"], message: "Query can't be blank" });
      else if (query.length > 5000)
        errors.push({ field: ["query"], message: "Query is too long (maximum is 5000 characters)" });
      else if (!errors.length) {
        const syntax = this.apiVersion >= "2026-10" || this.apiVersion === "unstable" ? "matches" : "legacy";
        for (const message of segmentQueryErrors(query, syntax))
          errors.push({ field: ["query"], message: `Query ${message}` });
      }
    }
    return errors;
  }

  /** A name already in use gets " (1)", " (2)", … as Shopify does. */
  private uniqueName(name: string, except?: string): string {
    const taken = new Set([...this.segments.values()].filter((x) => x.id !== except).map((x) => x.name));
    if (!taken.has(name)) return name;
    const base = name.replace(/ \(\d+\)$/, "");
    for (let n = 1; ; n++) if (!taken.has(`${base} (${n})`)) return `${base} (${n})`;
  }

  private createSegment(args: Args) {
    const name = args.name as string;
    const query = args.query as string;
    const errors = this.checkSegment(name, query);
    if (!errors.length && this.segments.size >= this.segmentLimit)
      errors.push({
        field: null,
        message: "Segment limit reached. Delete an existing segment to create more.",
      });
    if (errors.length) return { segment: null, userErrors: errors };
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const segment: StandInSegment = {
      __typename: "Segment",
      id: this.nextId("Segment"),
      name: this.uniqueName(name),
      query,
      creationDate: now,
      lastEditDate: now,
    };
    this.segments.set(segment.id, segment);
    return { segment, userErrors: [] };
  }

  private updateSegment(args: Args) {
    const segment = this.segments.get(String(args.id));
    if (!segment)
      return { segment: null, userErrors: [{ field: ["id"], message: "Segment does not exist" }] };
    const name = (args.name as string | null | undefined) ?? undefined;
    const query = (args.query as string | null | undefined) ?? undefined;
    if (name === undefined && query === undefined)
      return {
        segment: null,
        userErrors: [{ field: null, message: "At least one attribute to change must be present" }],
      };
    const errors = this.checkSegment(name, query);
    if (errors.length) return { segment: null, userErrors: errors };
    if (name !== undefined) segment.name = this.uniqueName(name, segment.id);
    if (query !== undefined) segment.query = query;
    segment.lastEditDate = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    return { segment, userErrors: [] };
  }

  /* -------------------------------------------------------------------------------------------
   * Code discounts: discountCodeBasicCreate, discountRedeemCodeBulkAdd and the queries that read
   * them back, plus `redeem`, what Shopify's checkout checks when a shopper enters a code.
   * Messages marked "live" are the ones a live shop returns; the others are in Shopify's style.
   * ----------------------------------------------------------------------------------------- */

  private codeBasicNode(d: StandInDiscount, customerOf: (id: string) => unknown) {
    const cur = this.store.shop.currency;
    const money = (minor: number) => ({ amount: decimal(minor), currencyCode: cur });
    const now = Date.now();
    const status =
      Date.parse(d.startsAt) > now
        ? "SCHEDULED"
        : d.endsAt && Date.parse(d.endsAt) <= now
          ? "EXPIRED"
          : "ACTIVE";
    const value = d.value!; // a basic discount always has its value
    const off =
      value.kind === "percentage"
        ? `${Math.round(value.percentage * 10000) / 100}% off entire order`
        : `${decimal(value.amount)} ${cur} off entire order`;
    const ids = (list: unknown, type: string) =>
      ((list as string[] | undefined) ?? []).map((id) => ({ __typename: type, id }));
    const items = d.items;
    const products = items.products as Args | undefined;
    const collections = items.collections as Args | undefined;
    return {
      __typename: "DiscountCodeBasic",
      title: d.title,
      status,
      startsAt: d.startsAt,
      endsAt: d.endsAt,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      appliesOncePerCustomer: d.appliesOncePerCustomer,
      usageLimit: d.usageLimit,
      asyncUsageCount: d.codes.reduce((sum, c) => sum + c.usageCount, 0),
      codes: (args: Args) => connection(d.codes, args, (c) => this.redeemCodeNode(c)),
      codesCount: { count: d.codes.length, precision: "EXACT" },
      combinesWith: d.combinesWith,
      // 2026-07's successor of customerSelection (which it still answers, deprecated).
      context:
        d.eligible.kind === "all"
          ? { __typename: "DiscountBuyerSelectionAll", all: "ALL" }
          : d.eligible.kind === "segments"
            ? {
                __typename: "DiscountCustomerSegments",
                segments: d.eligible.ids.map((id) => this.segments.get(id)).filter(Boolean),
              }
            : {
                __typename: "DiscountCustomers",
                customers: d.eligible.ids.map((id) => customerOf(id)).filter(Boolean),
              },
      customerSelection:
        d.eligible.kind === "all"
          ? { __typename: "DiscountCustomerAll", allCustomers: true }
          : d.eligible.kind === "segments"
            ? {
                __typename: "DiscountCustomerSegments",
                segments: d.eligible.ids.map((id) => this.segments.get(id)).filter(Boolean),
              }
            : {
                __typename: "DiscountCustomers",
                customers: d.eligible.ids.map((id) => customerOf(id)).filter(Boolean),
              },
      customerGets: {
        appliesOnOneTimePurchase: true,
        appliesOnSubscription: false,
        value:
          value.kind === "percentage"
            ? { __typename: "DiscountPercentage", percentage: value.percentage }
            : {
                __typename: "DiscountAmount",
                amount: money(value.amount),
                appliesOnEachItem: value.appliesOnEachItem,
              },
        items: items.all
          ? { __typename: "AllDiscountItems", allItems: true }
          : collections
            ? {
                __typename: "DiscountCollections",
                collections: (args: Args) => connection(ids(collections.add, "Collection"), args, (x) => x),
              }
            : {
                __typename: "DiscountProducts",
                products: (args: Args) => connection(ids(products?.productsToAdd, "Product"), args, (x) => x),
                productVariants: (args: Args) =>
                  connection(ids(products?.productVariantsToAdd, "ProductVariant"), args, (x) => x),
              },
      },
      discountClass: items.all ? "ORDER" : "PRODUCT",
      hasTimelineComment: false,
      minimumRequirement:
        d.minimumSubtotal !== null
          ? { __typename: "DiscountMinimumSubtotal", greaterThanOrEqualToSubtotal: money(d.minimumSubtotal) }
          : d.minimumQuantity !== null
            ? {
                __typename: "DiscountMinimumQuantity",
                greaterThanOrEqualToQuantity: String(d.minimumQuantity),
              }
            : null,
      recurringCycleLimit: 1,
      shareableUrls: [],
      shortSummary: off,
      summary: `${off}${d.appliesOncePerCustomer ? " • One use per customer" : ""}`,
      totalSales: null,
    };
  }

  private redeemCodeNode(c: StandInRedeemCode) {
    return {
      __typename: "DiscountRedeemCode",
      id: c.id,
      code: c.code,
      asyncUsageCount: c.usageCount,
      createdBy: null,
    };
  }

  /** A function-backed code discount as the Admin API shows it (DiscountCodeApp). */
  private codeAppNode(d: StandInDiscount, customerOf: (id: string) => unknown) {
    const app = d.app!;
    const now = Date.now();
    const status =
      Date.parse(d.startsAt) > now
        ? "SCHEDULED"
        : d.endsAt && Date.parse(d.endsAt) <= now
          ? "EXPIRED"
          : "ACTIVE";
    const context =
      d.eligible.kind === "all"
        ? { __typename: "DiscountBuyerSelectionAll", all: "ALL" }
        : d.eligible.kind === "segments"
          ? {
              __typename: "DiscountCustomerSegments",
              segments: d.eligible.ids.map((id) => this.segments.get(id)).filter(Boolean),
            }
          : {
              __typename: "DiscountCustomers",
              customers: d.eligible.ids.map((id) => customerOf(id)).filter(Boolean),
            };
    return {
      __typename: "DiscountCodeApp",
      discountId: d.id,
      title: d.title,
      status,
      startsAt: d.startsAt,
      endsAt: d.endsAt,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      appliesOncePerCustomer: d.appliesOncePerCustomer,
      appliesOnOneTimePurchase: true,
      appliesOnSubscription: false,
      usageLimit: d.usageLimit,
      asyncUsageCount: d.codes.reduce((sum, c) => sum + c.usageCount, 0),
      codes: (args: Args) => connection(d.codes, args, (c) => this.redeemCodeNode(c)),
      codesCount: { count: d.codes.length, precision: "EXACT" },
      combinesWith: d.combinesWith,
      context,
      discountClasses: app.discountClasses,
      appDiscountType: {
        __typename: "AppDiscountType",
        functionId: app.functionHandle,
        title: app.functionHandle,
        description: null,
        appKey: this.options.apiClientId ?? "1234567890",
        discountClasses: app.discountClasses,
        targetType: "LINE_ITEM",
      },
      errorHistory: null,
      hasTimelineComment: false,
      recurringCycleLimit: 1,
      shareableUrls: [],
      tags: [],
      totalSales: null,
    };
  }

  /**
   * discountCodeAppCreate (2026-07): a code discount whose value its Discount Function decides.
   * The function is found by `functionHandle` (only this app's, slice-first-order); `context` says
   * who may use it (all buyers, customers or segments; default all); `discountClasses` what it may
   * discount (what the function's target can give); the discount's metafields are the function's
   * configuration. Every problem is reported, and nothing is created when there is one.
   */
  private createCodeApp(input: Args): { discount: StandInDiscount | null; userErrors: UserError[] } {
    const errors: UserError[] = [];
    const at = (...field: string[]) => ["codeAppDiscount", ...field];
    const fail = (field: string[], message: string, code: string) => errors.push({ field, message, code });
    const { title, code } = this.titleAndCode(input, at, fail);

    const handle = typeof input.functionHandle === "string" ? input.functionHandle : null;
    const functionId = input.functionId !== undefined && input.functionId !== null;
    if (functionId && handle)
      fail(
        at("functionId"),
        "Only one of functionId or functionHandle can be set",
        "MULTIPLE_FUNCTION_IDENTIFIERS",
      );
    else if (functionId)
      fail(
        at("functionId"),
        "The stand-in knows functions by handle only (functionId is deprecated)",
        "INVALID",
      );
    else if (!handle)
      fail(at("functionHandle"), "Function handle can't be blank", "MISSING_FUNCTION_IDENTIFIER");
    else if (handle !== FUNCTION_HANDLE)
      fail(
        at("functionHandle"),
        `Function ${handle} not found. Ensure that it is released in the current app.`,
        "INVALID",
      );

    const classes = (input.discountClasses as string[] | null | undefined) ?? [];
    // The function's one target (cart.lines.discounts.generate.run) gives product and order discounts.
    if (!classes.length) fail(at("discountClasses"), "Discount classes can't be blank", "BLANK");
    for (const c of classes)
      if (c === "SHIPPING")
        fail(at("discountClasses"), "The function does not support the SHIPPING discount class", "INVALID");

    const startsAt = typeof input.startsAt === "string" ? input.startsAt : null;
    const endsAt = typeof input.endsAt === "string" ? input.endsAt : null;
    if (!startsAt) fail(at("startsAt"), "Starts at can't be blank", "BLANK");
    else if (Number.isNaN(Date.parse(startsAt))) fail(at("startsAt"), "Starts at is invalid", "INVALID");
    if (endsAt && Number.isNaN(Date.parse(endsAt))) fail(at("endsAt"), "Ends at is invalid", "INVALID");
    else if (startsAt && endsAt && Date.parse(endsAt) <= Date.parse(startsAt))
      fail(at("endsAt"), "Ends at needs to be after starts_at", "INVALID");

    // `context` is a oneOf input: the schema already refused more than one choice.
    // The deprecated customerSelection is still read when `context` is not given.
    const selection = (input.customerSelection as Args | null | undefined) ?? null;
    const context = (input.context as Args | null | undefined) ?? selection ?? { all: "ALL" };
    if (selection && input.context)
      fail(at("context"), "Only one of context or customerSelection can be set", "CONFLICT");
    const customers = ((context.customers as Args | null | undefined)?.add as string[] | undefined) ?? [];
    const segments =
      ((context.customerSegments as Args | null | undefined)?.add as string[] | undefined) ?? [];
    if (context.markets) fail(at("context", "markets"), "The stand-in does not model markets", "INVALID");
    for (const id of segments)
      if (!this.segments.has(id))
        fail(
          at("context", "customerSegments", "add"),
          `Customer segment with id: ${id.slice(id.lastIndexOf("/") + 1)} is invalid`,
          "INVALID",
        );
    for (const id of customers) {
      const match = /^gid:\/\/shopify\/Customer\/(\d+)$/.exec(id);
      if (!match || !this.store.customers.some((c) => c.id === match[1]))
        fail(
          at("context", "customers", "add"),
          `Customer with id: ${id.slice(id.lastIndexOf("/") + 1)} is invalid`,
          "INVALID",
        );
    }

    const usageLimit = typeof input.usageLimit === "number" ? input.usageLimit : null;
    if (usageLimit !== null && usageLimit < 1)
      fail(at("usageLimit"), "Usage limit must be greater than 0", "GREATER_THAN");

    const metafields = new Map<string, { type: string; value: string }>();
    ((input.metafields as Args[] | null | undefined) ?? []).forEach((m, i) => {
      const field = (name: string) => at("metafields", String(i), name);
      const namespace = this.namespace(m.namespace as string | undefined);
      const key = typeof m.key === "string" ? m.key : "";
      const type = typeof m.type === "string" ? m.type : "";
      const value = typeof m.value === "string" ? m.value : "";
      if (key.length < 2)
        return fail(field("key"), "Key is too short (minimum is 2 characters)", "TOO_SHORT");
      if (!type) return fail(field("type"), "Type can't be blank", "BLANK");
      if (type === "json") {
        try {
          JSON.parse(value);
        } catch {
          return fail(field("value"), "Value is invalid JSON.", "INVALID");
        }
      } else if (!METAFIELD_TYPES[type])
        return fail(field("type"), `Type name ${type} is not a valid type.`, "INVALID");
      if (!value) return fail(field("value"), "Value can't be blank", "BLANK");
      metafields.set(`${namespace}.${key}`, { type, value });
    });

    if (errors.length || !startsAt || !handle) return { discount: null, userErrors: errors };
    const combines = (input.combinesWith as Args | null | undefined) ?? {};
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const discount: StandInDiscount = {
      id: this.nextId("DiscountCodeNode"),
      app: { functionHandle: handle, discountClasses: classes, metafields },
      title,
      startsAt,
      endsAt,
      appliesOncePerCustomer: input.appliesOncePerCustomer === true,
      usageLimit,
      eligible: segments.length
        ? { kind: "segments", ids: segments }
        : customers.length
          ? { kind: "customers", ids: customers }
          : { kind: "all" },
      value: null,
      items: {},
      minimumSubtotal: null,
      minimumQuantity: null,
      combinesWith: {
        productDiscounts: combines.productDiscounts === true,
        orderDiscounts: combines.orderDiscounts === true,
        shippingDiscounts: combines.shippingDiscounts === true,
      },
      createdAt: now,
      updatedAt: now,
      codes: [],
      redeemedBy: [],
    };
    this.discounts.set(discount.id, discount);
    this.addRedeemCode(discount, code);
    return { discount, userErrors: [] };
  }

  /**
   * A code discount's title and code as Shopify checks them on create: both required, at most 255
   * characters, and the code unique in the shop ignoring case, across every code discount.
   */
  private titleAndCode(
    input: Args,
    at: (...field: string[]) => string[],
    fail: (field: string[], message: string, code: string) => void,
  ): { title: string; code: string } {
    const title = typeof input.title === "string" ? input.title : "";
    const code = typeof input.code === "string" ? input.code.trim() : "";
    if (!title.trim()) fail(at("title"), "Title can't be blank", "BLANK");
    else if (title.length > 255)
      fail(at("title"), "Title is too long (maximum is 255 characters)", "TOO_LONG");
    if (!code) fail(at("code"), "Code can't be blank", "BLANK");
    else if (code.length > 255) fail(at("code"), "Code is too long (maximum is 255 characters)", "TOO_LONG");
    else if (this.discountCodes.has(code.toLowerCase()))
      fail(at("code"), "Code must be unique. Please try a different code.", "TAKEN");
    return { title, code };
  }

  /** discountCodeBasicCreate: every problem is reported, and nothing is created when there is one. */
  private createCodeBasic(input: Args): { discount: StandInDiscount | null; userErrors: UserError[] } {
    const errors: UserError[] = [];
    const at = (...field: string[]) => ["basicCodeDiscount", ...field];
    const fail = (field: string[], message: string, code: string) => errors.push({ field, message, code });
    const { title, code } = this.titleAndCode(input, at, fail);

    const startsAt = typeof input.startsAt === "string" ? input.startsAt : null;
    const endsAt = typeof input.endsAt === "string" ? input.endsAt : null;
    if (!startsAt) fail(at("startsAt"), "Starts at can't be blank", "BLANK");
    else if (Number.isNaN(Date.parse(startsAt))) fail(at("startsAt"), "Starts at is invalid", "INVALID");
    if (endsAt && Number.isNaN(Date.parse(endsAt))) fail(at("endsAt"), "Ends at is invalid", "INVALID");
    // live
    else if (startsAt && endsAt && Date.parse(endsAt) <= Date.parse(startsAt))
      fail(at("endsAt"), "Ends at needs to be after starts_at", "INVALID");

    const gets = (input.customerGets as Args | null | undefined) ?? null;
    const valueInput = (gets?.value as Args | null | undefined) ?? null;
    let value: StandInDiscount["value"] | null = null;
    if (!gets) fail(at("customerGets"), "Customer gets can't be blank", "BLANK");
    else {
      const given = ["percentage", "discountAmount", "discountOnQuantity"].filter(
        (k) => valueInput?.[k] !== null && valueInput?.[k] !== undefined,
      );
      if (!given.length) fail(at("customerGets", "value"), "Value can't be blank", "BLANK");
      else if (given.length > 1)
        fail(at("customerGets", "value"), "Only one of percentage or discountAmount can be set", "CONFLICT");
      else if (given[0] === "discountOnQuantity")
        fail(
          at("customerGets", "value", "discountOnQuantity"),
          "discountOnQuantity is only permitted with bxgy discounts.",
          "INVALID",
        );
      else if (given[0] === "percentage") {
        const percentage = Number(valueInput!.percentage);
        // live
        if (!(percentage >= 0 && percentage <= 1))
          fail(
            at("customerGets", "value", "percentage"),
            "Value must be between 0.0 and 1.0",
            "VALUE_OUTSIDE_RANGE",
          );
        else value = { kind: "percentage", percentage };
      } else {
        const amountInput = valueInput!.discountAmount as Args;
        const amount = Number(amountInput.amount);
        if (amountInput.amount === null || amountInput.amount === undefined || Number.isNaN(amount))
          fail(at("customerGets", "value", "discountAmount", "amount"), "Value can't be blank", "BLANK");
        // live: Shopify keeps the value as a negative number, hence the wording
        else if (amount < 0)
          fail(
            at("customerGets", "value", "discountAmount", "amount"),
            "Value must be less than or equal to 0",
            "LESS_THAN_OR_EQUAL_TO",
          );
        else
          value = {
            kind: "amount",
            amount: Math.round(amount * 100),
            appliesOnEachItem: amountInput.appliesOnEachItem === true,
          };
      }
      const items = gets.items as Args | null | undefined;
      if (!items || (items.all !== true && !items.products && !items.collections))
        fail(at("customerGets", "items"), "Items in 'customer get' must be defined", "BLANK");
    }

    // Who may use it: `context` (2026-07; `all: ALL`) or the deprecated `customerSelection`.
    const viaContext = input.context !== undefined && input.context !== null;
    const selectionField = viaContext ? "context" : "customerSelection";
    const selection = ((viaContext ? input.context : input.customerSelection) as Args | null | undefined) ?? {
      all: true,
    };
    const customers = ((selection.customers as Args | null | undefined)?.add as string[] | undefined) ?? [];
    const segments =
      ((selection.customerSegments as Args | null | undefined)?.add as string[] | undefined) ?? [];
    const everyone = selection.all === true || selection.all === "ALL";
    const chosen = [everyone, customers.length > 0, segments.length > 0].filter(Boolean).length;
    if (chosen === 0) fail(at(selectionField), "Customer selection can't be blank", "BLANK");
    else if (chosen > 1)
      fail(
        at(selectionField),
        "Only one of all customers, customers or customer segments can be selected",
        "CONFLICT",
      );
    for (const id of segments)
      if (!this.segments.has(id))
        fail(
          at(selectionField, "customerSegments", "add"),
          `Customer segment with id: ${id.slice(id.lastIndexOf("/") + 1)} is invalid`,
          "INVALID",
        );
    for (const id of customers) {
      const match = /^gid:\/\/shopify\/Customer\/(\d+)$/.exec(id);
      if (!match || !this.store.customers.some((c) => c.id === match[1]))
        fail(
          at(selectionField, "customers", "add"),
          `Customer with id: ${id.slice(id.lastIndexOf("/") + 1)} is invalid`,
          "INVALID",
        );
    }

    const usageLimit = typeof input.usageLimit === "number" ? input.usageLimit : null;
    if (usageLimit !== null && usageLimit < 1)
      fail(at("usageLimit"), "Usage limit must be greater than 0", "GREATER_THAN");

    const minimum = (input.minimumRequirement as Args | null | undefined) ?? null;
    const subtotal = (minimum?.subtotal as Args | null | undefined)?.greaterThanOrEqualToSubtotal;
    const quantity = (minimum?.quantity as Args | null | undefined)?.greaterThanOrEqualToQuantity;
    const hasSubtotal = subtotal !== null && subtotal !== undefined;
    const hasQuantity = quantity !== null && quantity !== undefined;
    // live (captured on free shipping codes, which share the minimum requirement)
    if (hasSubtotal && hasQuantity) {
      fail(
        at("minimumRequirement", "subtotal", "greaterThanOrEqualToSubtotal"),
        "Minimum subtotal cannot be defined when minimum quantity is.",
        "CONFLICT",
      );
      fail(
        at("minimumRequirement", "quantity", "greaterThanOrEqualToQuantity"),
        "Minimum quantity cannot be defined when minimum subtotal is.",
        "CONFLICT",
      );
    } else if (hasSubtotal && !(Number(subtotal) >= 0))
      fail(
        at("minimumRequirement", "subtotal", "greaterThanOrEqualToSubtotal"),
        "Minimum subtotal must be greater than or equal to 0",
        "GREATER_THAN_OR_EQUAL_TO",
      );

    if (errors.length || !value || !startsAt) return { discount: null, userErrors: errors };
    const combines = (input.combinesWith as Args | null | undefined) ?? {};
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const discount: StandInDiscount = {
      id: this.nextId("DiscountCodeNode"),
      app: null,
      title,
      startsAt,
      endsAt,
      appliesOncePerCustomer: input.appliesOncePerCustomer === true,
      usageLimit,
      eligible: segments.length
        ? { kind: "segments", ids: segments }
        : customers.length
          ? { kind: "customers", ids: customers }
          : { kind: "all" },
      value,
      items: gets!.items as Args,
      minimumSubtotal: hasSubtotal ? Math.round(Number(subtotal) * 100) : null,
      minimumQuantity: hasQuantity ? Number(quantity) : null,
      combinesWith: {
        productDiscounts: combines.productDiscounts === true,
        orderDiscounts: combines.orderDiscounts === true,
        shippingDiscounts: combines.shippingDiscounts === true,
      },
      createdAt: now,
      updatedAt: now,
      codes: [],
      redeemedBy: [],
    };
    this.discounts.set(discount.id, discount);
    this.addRedeemCode(discount, code);
    return { discount, userErrors: [] };
  }

  private addRedeemCode(discount: StandInDiscount, code: string): StandInRedeemCode {
    const redeemCode: StandInRedeemCode = {
      id: this.nextId("DiscountRedeemCode"),
      code,
      discountId: discount.id,
      usageCount: 0,
    };
    discount.codes.push(redeemCode);
    this.discountCodes.set(code.toLowerCase(), redeemCode);
    return redeemCode;
  }

  /**
   * discountCodeDeactivate: as on Shopify, the discount ends now (`endsAt` is set to the current
   * time, its status becomes EXPIRED), so checkout refuses its codes from then on. Deactivating
   * one that has already ended changes nothing.
   */
  private deactivateCodeDiscount(id: string): { discount: StandInDiscount | null; userErrors: UserError[] } {
    const discount = this.discounts.get(id);
    if (!discount)
      return {
        discount: null,
        userErrors: [{ field: ["id"], message: "Discount does not exist", code: null }],
      };
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    if (!discount.endsAt || Date.parse(discount.endsAt) > Date.parse(now)) {
      discount.endsAt = now;
      discount.updatedAt = now;
    }
    return { discount, userErrors: [] };
  }

  /**
   * discountRedeemCodeBulkAdd: at most 250 codes a call from API 2026-07, 100 before (each
   * schema's documented maximum: "Maximum: 250 codes." in 2026-07, 100 in 2025-01).
   * As on Shopify it is asynchronous: the creation is answered `done: false`, and each code is
   * created or refused (TAKEN, BLANK, TOO_LONG) when it runs, `bulkDelayMs` later.
   */
  private bulkAddCodes(
    discountId: string,
    codes: { code: string }[],
    discountCodeNode: (d: StandInDiscount) => unknown,
  ) {
    const discount = this.discounts.get(discountId);
    if (!discount)
      return {
        bulkCreation: null,
        userErrors: [{ field: ["discountId"], message: "Discount does not exist", code: null }],
      };
    if (!codes.length)
      return {
        bulkCreation: null,
        userErrors: [{ field: ["codes"], message: "Codes can't be blank", code: "BLANK" }],
      };
    const most = this.apiVersion >= "2026-07" ? 250 : 100;
    if (codes.length > most)
      return {
        bulkCreation: null,
        userErrors: [
          {
            field: ["codes"],
            message: `Codes can't be more than ${most} per request`,
            code: "TOO_MANY_ARGUMENTS",
          },
        ],
      };
    const creation: StandInCodeBulkCreation = {
      id: this.nextId("DiscountRedeemCodeBulkCreation"),
      discountId,
      createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      done: false,
      results: codes.map((c) => ({ code: c.code, redeemCode: null, errors: [] })),
    };
    this.codeBulkCreations.set(creation.id, creation);
    setTimeout(() => {
      for (const result of creation.results) {
        const code = result.code.trim();
        const fail = (message: string, code: string) =>
          result.errors.push({ field: ["code"], message, code });
        if (!code) fail("Code can't be blank", "BLANK");
        else if (code.length > 255) fail("Code is too long (maximum is 255 characters)", "TOO_LONG");
        else if (this.discountCodes.has(code.toLowerCase()))
          fail("Code must be unique. Please try a different code.", "TAKEN");
        else result.redeemCode = this.addRedeemCode(discount, code);
      }
      discount.updatedAt = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      creation.done = true;
    }, this.options.bulkDelayMs ?? 20);
    return { bulkCreation: this.bulkCreationNode(creation.id, discountCodeNode), userErrors: [] };
  }

  private bulkCreationNode(id: string, discountCodeNode: (d: StandInDiscount) => unknown) {
    const creation = this.codeBulkCreations.get(id);
    if (!creation) return null;
    const imported = creation.results.filter((r) => r.redeemCode).length;
    return {
      __typename: "DiscountRedeemCodeBulkCreation",
      id: creation.id,
      done: creation.done,
      createdAt: creation.createdAt,
      codesCount: creation.results.length,
      importedCount: imported,
      failedCount: creation.done ? creation.results.length - imported : 0,
      discountCode: () => {
        const d = this.discounts.get(creation.discountId);
        return d ? discountCodeNode(d) : null;
      },
      codes: (args: Args) =>
        connection(creation.results, args, (r) => ({
          __typename: "DiscountRedeemCodeBulkCreationCode",
          code: r.code,
          errors: r.errors,
          discountRedeemCode: r.redeemCode ? this.redeemCodeNode(r.redeemCode) : null,
        })),
    };
  }

  /** Orders that count as "previous orders": not cancelled, the customer's or a guest's by email. */
  private previousOrders(customerId: string | null, email: string): number {
    const mail = email.trim().toLowerCase();
    return this.store.orders.filter(
      (o) =>
        !o.cancelledAt &&
        ((customerId !== null && o.customerId === customerId) ||
          (!o.customerId && !!o.email && o.email.toLowerCase() === mail)),
    ).length;
  }

  /**
   * Whether a buyer is in a Shopify segment; the checkout helper knows `number_of_orders` only.
   * A segment's members are customers: a guest whose email is no customer's is in none.
   */
  private inSegmentAtCheckout(query: string, customerId: string | null, email: string): boolean {
    if (customerId === null) return false;
    const term = /^\s*number_of_orders\s*(=|!=|<=|>=|<|>)\s*(\d+)\s*$/.exec(query);
    if (!term)
      throw new Error(
        `The stand-in's checkout cannot evaluate the segment query "${query}" (it knows number_of_orders comparisons)`,
      );
    const n = this.previousOrders(customerId, email);
    const k = Number(term[2]);
    return { "=": n === k, "!=": n !== k, "<": n < k, "<=": n <= k, ">": n > k, ">=": n >= k }[term[1]]!;
  }

  /**
   * What Shopify's checkout checks when a shopper enters a code, for tests and the demo: the code
   * exists, the discount has started and not ended, the code's usage limit is not used up, the
   * buyer has not used the discount before (appliesOncePerCustomer), the buyer is eligible (all,
   * listed customers, or members of the discount's segments: "first order only" is the segment
   * `number_of_orders = 0`, counting non-cancelled orders), and the subtotal meets the minimum.
   * A buyer without `customerId` (a guest) is matched to a customer by email for the segments and
   * once-per-customer; a guest whose email is no customer's is in no segment, so a segment-limited
   * code is refused to them.
   *
   * A function-backed discount (discountCodeAppCreate) runs its Discount Function instead of the
   * value and minimum checks, as Shopify does: its input is built from the cart and the buyer by
   * the function's own input query (dev/discount-function.ts), its output checked against the
   * function schema and applied. A guest is a buyer with no customer (`buyerIdentity.customer`
   * null, not authenticated) even when their email is a customer's: Shopify's buyer identity
   * carries a customer only once the buyer has signed in. A signed-in customer carries their
   * `numberOfOrders` (non-cancelled orders). No discount from the function: the code is refused
   * as not eligible (Shopify: "code isn't valid for the items in your cart").
   *
   * Money is in minor units; the discount is taken off the whole subtotal. On success the code's
   * usage goes up by one. The order webhook that follows is the caller's to send.
   */
  redeem(input: {
    code: string;
    customerId: string | null;
    email: string;
    subtotal: number;
    at?: Date;
  }): RedeemResult {
    const redeemCode = this.discountCodes.get(input.code.trim().toLowerCase());
    if (!redeemCode) return { ok: false, reason: "unknown_code" };
    const d = this.discounts.get(redeemCode.discountId)!;
    const at = (input.at ?? new Date()).getTime();
    if (at < Date.parse(d.startsAt)) return { ok: false, reason: "not_started" };
    if (d.endsAt && at >= Date.parse(d.endsAt)) return { ok: false, reason: "expired" };
    if (d.usageLimit !== null && redeemCode.usageCount >= d.usageLimit)
      return { ok: false, reason: "usage_limit_reached" };
    const email = input.email.trim().toLowerCase();
    const customerId =
      input.customerId ?? this.store.customers.find((c) => c.email.toLowerCase() === email)?.id ?? null;
    if (
      d.appliesOncePerCustomer &&
      d.redeemedBy.some((r) => (customerId !== null && r.customerId === customerId) || r.email === email)
    )
      return { ok: false, reason: "already_used_by_customer" };
    const eligible =
      d.eligible.kind === "all" ||
      (d.eligible.kind === "customers"
        ? customerId !== null && d.eligible.ids.includes(gid("Customer", customerId))
        : d.eligible.ids.some((id) => {
            const segment = this.segments.get(id);
            return !!segment && this.inSegmentAtCheckout(segment.query, customerId, email);
          }));
    if (!eligible) return { ok: false, reason: "customer_not_eligible" };
    if (d.app) {
      const signedIn = input.customerId;
      const output = runFirstOrderFunction({
        subtotal: input.subtotal,
        currency: this.store.shop.currency,
        customer: signedIn === null ? null : { numberOfOrders: this.previousOrders(signedIn, "") },
        discountClasses: d.app.discountClasses,
        metafields: d.app.metafields,
        appNamespace: (ns) => this.namespace(ns),
        code: redeemCode.code,
      });
      const applied = applyOrderDiscount(output, input.subtotal);
      if (applied.amount === null)
        return {
          ok: false,
          reason: applied.reason === "no_discount" ? "customer_not_eligible" : "minimum_subtotal_not_met",
        };
      redeemCode.usageCount++;
      d.redeemedBy.push({ customerId, email });
      return { ok: true, discountAmount: applied.amount };
    }
    const value = d.value!; // a basic discount always has its value
    if (d.minimumSubtotal !== null && input.subtotal < d.minimumSubtotal)
      return { ok: false, reason: "minimum_subtotal_not_met" };
    const discountAmount =
      value.kind === "percentage"
        ? Math.round(input.subtotal * value.percentage)
        : Math.min(value.amount, input.subtotal);
    redeemCode.usageCount++;
    d.redeemedBy.push({ customerId, email });
    return { ok: true, discountAmount };
  }

  private async runBulk(query: string) {
    const running = [...this.bulk.values()].find((b) => b.status === "RUNNING" || b.status === "CREATED");
    if (running)
      return {
        bulkOperation: null,
        userErrors: [
          {
            field: ["query"],
            message: `A bulk query operation for this app and shop is already in progress: ${running.id}.`,
          },
        ],
      };
    let bulkDocument: DocumentNode = { kind: Kind.DOCUMENT, definitions: [] };
    let errors: string[];
    try {
      bulkDocument = parse(query);
      errors = validate(adminSchema(this.apiVersion), bulkDocument).map((e) => e.message);
    } catch (error) {
      errors = [(error as Error).message];
    }
    if (errors.length) {
      this.invalidDocuments.push({ query, errors });
      return {
        bulkOperation: null,
        userErrors: [{ field: ["query"], message: `Invalid bulk query: ${errors.join("; ")}` }],
      };
    }
    const deprecated = deprecatedUsesIn(bulkDocument, this.apiVersion);
    if (deprecated.length) this.deprecatedUses.push({ query, uses: deprecated });
    const seq = ++this.bulkSeq;
    const id = gid("BulkOperation", String(seq));
    // Shopify accepts the operation, then fails it with ACCESS_DENIED when the token's scopes do
    // not allow what it reads (BulkOperationErrorCode.ACCESS_DENIED).
    const scopeDenied =
      accessDenied(adminSchema(this.apiVersion), bulkDocument, {}, this.requestScopes).length > 0;
    const result = await execute({
      schema: adminSchema(this.apiVersion),
      document: bulkDocument,
      rootValue: this.root(),
      contextValue: this.context(),
      fieldResolver,
    });
    // A bulk query touching protected customer data the app is not approved for fails as a whole.
    const protectedDenied = (result.errors ?? []).find((e) => e.extensions?.code === "ACCESS_DENIED");
    const denied = scopeDenied || !!protectedDenied;
    const lines: string[] = [];
    let roots = 0;
    // Flatten as Shopify does: each node on its own line, nested connections' nodes after their
    // parent with `__parentId`.
    const emit = (node: Record<string, unknown>, parentId: string | null) => {
      const own: Record<string, unknown> = {};
      const nested: Record<string, unknown>[] = [];
      for (const [key, value] of Object.entries(node)) {
        const conn = value as { edges?: { node: Record<string, unknown> }[] } | null;
        if (conn && typeof conn === "object" && Array.isArray(conn.edges))
          nested.push(...conn.edges.map((e) => e.node));
        else own[key] = value;
      }
      if (parentId) own.__parentId = parentId;
      lines.push(JSON.stringify(own));
      for (const child of nested) emit(child, String(own.id));
    };
    const data = (result.data ?? {}) as Record<string, { edges: { node: Record<string, unknown> }[] }>;
    for (const rootConnection of Object.values(data)) {
      for (const edge of rootConnection.edges) {
        roots++;
        emit(edge.node, null);
      }
    }
    const jsonl = lines.length ? `${lines.join("\n")}\n` : "";
    const op: BulkOperation = {
      __typename: "BulkOperation",
      id,
      status: "RUNNING",
      errorCode: null,
      deniedMessage:
        protectedDenied?.message ??
        (scopeDenied ? "Access denied: the token's scopes do not allow this query" : null),
      objectCount: String(lines.length),
      rootObjectCount: String(roots),
      fileSize: String(Buffer.byteLength(jsonl)),
      url: null,
      partialDataUrl: null,
      query,
      type: "QUERY",
      createdAt: new Date().toISOString(),
      completedAt: null,
      jsonl,
    };
    this.bulk.set(id, op);
    setTimeout(() => {
      op.completedAt = new Date().toISOString();
      if (denied) {
        Object.assign(op, {
          status: "FAILED",
          errorCode: "ACCESS_DENIED",
          objectCount: "0",
          rootObjectCount: "0",
        });
        Object.assign(op, { fileSize: null, jsonl: "" });
        return;
      }
      op.status = "COMPLETED";
      op.url = lines.length ? `${this.origin}/bulk/${seq}.jsonl` : null;
    }, this.options.bulkDelayMs ?? 20);
    return { bulkOperation: op, userErrors: [] };
  }
}

/* ---------------------------------------------------------------------------------------------
 * Protected customer data (shopify.dev "Work with protected customer data"). Level 1: the objects
 * that are customer data at all; level 2: the fields that hold a name, email, phone or address.
 * An app not approved for one gets ACCESS_DENIED on that field (null in `data`, an error with its
 * path), as Shopify answers; the abandoned checkout's recovery URL needs all four fields
 * (changelog, December 2026).
 * ------------------------------------------------------------------------------------------- */

const CUSTOMER_DATA_OBJECTS = new Set(["Customer", "Order", "AbandonedCheckout", "DraftOrder"]);

const ALL_FOUR: ProtectedField[] = ["name", "email", "phone", "address"];

export const PROTECTED_FIELDS_BY_TYPE: Record<string, Record<string, ProtectedField[]>> = {
  Customer: {
    firstName: ["name"],
    lastName: ["name"],
    displayName: ["name"],
    email: ["email"],
    defaultEmailAddress: ["email"],
    phone: ["phone"],
    defaultPhoneNumber: ["phone"],
    smsMarketingConsent: ["phone"],
    defaultAddress: ["address"],
    addresses: ["address"],
    addressesV2: ["address"],
  },
  Order: {
    email: ["email"],
    phone: ["phone"],
    shippingAddress: ["address"],
    billingAddress: ["address"],
  },
  AbandonedCheckout: {
    shippingAddress: ["address"],
    billingAddress: ["address"],
    abandonedCheckoutUrl: ALL_FOUR,
  },
  DraftOrder: {
    email: ["email"],
    phone: ["phone"],
    shippingAddress: ["address"],
    billingAddress: ["address"],
  },
  MailingAddress: { firstName: ["name"], lastName: ["name"], name: ["name"], phone: ["phone"] },
};

interface StandInContext {
  access: ProtectedDataAccess;
  /** Where Shopify's messages send the developer (the app's page in the Partner Dashboard). */
  dashboard: string;
}

function protectedDataDenied(message: string, ctx: StandInContext): GraphQLError {
  return new GraphQLError(`${message} See ${ctx.dashboard} for more details.`, {
    extensions: { code: "ACCESS_DENIED", documentation: ctx.dashboard },
  });
}

/** The customer-data object a field enters (its type, its connection's, or the node's), if any. */
function customerDataObject(info: GraphQLResolveInfo, value: unknown): string | null {
  const named = getNamedType(info.returnType).name.replace(/(Connection|Edge)$/, "");
  if (CUSTOMER_DATA_OBJECTS.has(named)) return named;
  const typenames = (Array.isArray(value) ? value : [value]).map(
    (v) => (v as { __typename?: string } | null)?.__typename,
  );
  return typenames.find((t): t is string => !!t && CUSTOMER_DATA_OBJECTS.has(t)) ?? null;
}

const fieldResolver: GraphQLFieldResolver<Record<string, unknown>, StandInContext | undefined, Args> = (
  source,
  args,
  ctx,
  info,
) => {
  if (ctx) {
    const needs = PROTECTED_FIELDS_BY_TYPE[info.parentType.name]?.[info.fieldName];
    if (needs && !(ctx.access.level1 && needs.every((f) => ctx.access.fields.includes(f))))
      throw protectedDataDenied(`This app is not approved to use the ${info.fieldName} field.`, ctx);
  }
  const raw = source?.[info.fieldName];
  const value = typeof raw === "function" ? (raw as (a: Args) => unknown)(args) : raw;
  // Level 1 is checked where a query enters customer data (not again on every field inside it).
  if (ctx && !ctx.access.level1 && !CUSTOMER_DATA_OBJECTS.has(info.parentType.name)) {
    const object = customerDataObject(info, value);
    if (object) throw protectedDataDenied(`This app is not approved to access the ${object} object.`, ctx);
  }
  return value;
};

/* ---------------------------------------------------------------------------------------------
 * Customer segment queries, as segmentCreate / segmentUpdate check them. The grammar is the
 * WHERE-only segment language (shopify.dev "Segment query language reference", help.shopify.com
 * "Shopify-based customer segment filters"); the messages are the ones a live shop returns
 * for "not a valid segment query ???" ("Line 1 Column 6: 'valid' is unexpected.", "Line 1 Column
 * 4: 'a' filter cannot be found."): columns count from 0. Shopify reports every problem it finds;
 * this reports the first.
 * Function filters take `products_purchased(id: (1, 2)) = true` before Admin API 2026-10 and
 * `products_purchased MATCHES (id IN (1, 2), date >= -30d)` from it.
 * ------------------------------------------------------------------------------------------- */

type FilterType = "number" | "integer" | "date" | "list" | "enum" | "string" | "function";
const SEGMENT_FILTERS: Record<string, { type: FilterType; values?: string[] }> = {
  amount_spent: { type: "number" },
  number_of_orders: { type: "integer" },
  last_order_date: { type: "date" },
  customer_added_date: { type: "date" },
  abandoned_checkout_date: { type: "date" },
  customer_tags: { type: "list" },
  customer_countries: { type: "list" },
  customer_regions: { type: "list" },
  customer_cities: { type: "list" },
  companies: { type: "list" },
  customer_email_domain: { type: "string" },
  customer_language: { type: "string" },
  email_subscription_status: {
    type: "enum",
    values: ["SUBSCRIBED", "NOT_SUBSCRIBED", "PENDING", "UNSUBSCRIBED", "REDACTED", "INVALID"],
  },
  sms_subscription_status: {
    type: "enum",
    values: ["SUBSCRIBED", "NOT_SUBSCRIBED", "PENDING", "UNSUBSCRIBED", "REDACTED"],
  },
  customer_account_status: { type: "enum", values: ["ENABLED", "DISABLED", "INVITED", "DECLINED"] },
  products_purchased: { type: "function" },
  orders_placed: { type: "function" },
};
const FUNCTION_PARAMS: Record<string, Record<string, "ids" | "date" | "string" | "integer">> = {
  products_purchased: { id: "ids", tag: "string", date: "date", quantity: "integer" },
  orders_placed: { date: "date", financial_status: "string", sum_amount: "integer", count: "integer" },
};
const OPERATORS_OF: Record<Exclude<FilterType, "function">, string[]> = {
  number: ["=", "!=", "<", "<=", ">", ">=", "BETWEEN", "IS NULL", "IS NOT NULL"],
  integer: ["=", "!=", "<", "<=", ">", ">=", "BETWEEN", "IS NULL", "IS NOT NULL"],
  date: ["=", "!=", "<", "<=", ">", ">=", "BETWEEN", "IS NULL", "IS NOT NULL"],
  list: ["CONTAINS", "NOT CONTAINS", "IS NULL", "IS NOT NULL"],
  enum: ["=", "!="],
  string: ["=", "!=", "IS NULL", "IS NOT NULL"],
};

interface Token {
  kind: "word" | "number" | "string" | "date" | "offset" | "op" | "punct" | "bad" | "end";
  text: string;
  column: number;
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  const patterns: [Token["kind"], RegExp][] = [
    ["string", /^'[^'\n]*'/],
    ["date", /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?)?/],
    ["offset", /^[+-]\d+[dwmy]\b/],
    ["number", /^-?\d+(?:\.\d+)?/],
    ["op", /^(?:!=|<=|>=|=|<|>)/],
    ["punct", /^[(),:]/],
    ["word", /^[A-Za-z_][A-Za-z0-9_.]*/],
  ];
  let i = 0;
  while (i < query.length) {
    if (/\s/.test(query[i])) {
      i++;
      continue;
    }
    const rest = query.slice(i);
    const hit = patterns.find(([, re]) => re.test(rest));
    // A character the grammar has no place for is reported when the parser reaches it.
    const text = hit ? hit[1].exec(rest)![0] : query[i];
    tokens.push({ kind: hit ? hit[0] : "bad", text, column: i });
    i += text.length;
  }
  tokens.push({ kind: "end", text: "", column: query.length });
  return tokens;
}

/** Errors (without the "Query " prefix segmentCreate adds) of a segment query; empty when valid. */
export function segmentQueryErrors(query: string, syntax: "legacy" | "matches"): string[] {
  const tokens = tokenize(query);
  let at = 0;
  const peek = () => tokens[at];
  const word = (t: Token, w: string) => t.kind === "word" && t.text.toUpperCase() === w;
  class Bad extends Error {}
  const unexpected = (t: Token): never => {
    throw new Bad(
      t.kind === "end"
        ? `Line 1 Column ${t.column}: unexpected end of query.`
        : `Line 1 Column ${t.column}: '${t.text}' is unexpected.`,
    );
  };
  const expect = (ok: boolean) => (ok ? tokens[at++] : unexpected(peek()));
  const value = (type: string, filter: string, values?: string[]) => {
    const t = peek();
    const ok =
      type === "number"
        ? t.kind === "number"
        : type === "integer"
          ? t.kind === "number" && !t.text.includes(".")
          : type === "date"
            ? t.kind === "date" || t.kind === "offset" || word(t, "TODAY") || word(t, "YESTERDAY")
            : t.kind === "string";
    if (!ok) unexpected(t);
    if (values && !values.includes(t.text.slice(1, -1)))
      throw new Bad(`Line 1 Column ${t.column}: ${t.text} is not a valid value for ${filter}.`);
    at++;
  };
  const idList = () => {
    if (peek().kind === "number") return void at++;
    expect(peek().text === "(");
    expect(peek().kind === "number");
    while (peek().text === ",") {
      at++;
      expect(peek().kind === "number");
    }
    expect(peek().text === ")");
  };
  const functionCall = (name: string) => {
    const params = FUNCTION_PARAMS[name];
    if (syntax === "matches") {
      if (word(peek(), "NOT")) at++;
      expect(word(peek(), "MATCHES"));
      expect(peek().text === "(");
      if (peek().text !== ")")
        for (;;) {
          const p = expect(peek().kind === "word");
          const type = params[p.text];
          if (!type) throw new Bad(`Line 1 Column ${p.column}: '${p.text}' is not a parameter of ${name}.`);
          if (type === "ids" && (word(peek(), "IN") || word(peek(), "NOT"))) {
            if (word(peek(), "NOT")) at++;
            expect(word(peek(), "IN"));
            idList();
          } else if (word(peek(), "BETWEEN")) {
            at++;
            value(type === "ids" ? "integer" : type, name);
            expect(word(peek(), "AND"));
            value(type === "ids" ? "integer" : type, name);
          } else {
            expect(peek().kind === "op");
            if (type === "ids") expect(peek().kind === "number");
            else value(type, name);
          }
          if (peek().text !== ",") break;
          at++;
        }
      expect(peek().text === ")");
      return;
    }
    expect(peek().text === "(");
    if (peek().text !== ")")
      for (;;) {
        const p = expect(peek().kind === "word");
        const type = params[p.text];
        if (!type) throw new Bad(`Line 1 Column ${p.column}: '${p.text}' is not a parameter of ${name}.`);
        expect(peek().text === ":");
        if (type === "ids") idList();
        else value(type, name);
        if (peek().text !== ",") break;
        at++;
      }
    expect(peek().text === ")");
    expect(peek().text === "=");
    expect(word(peek(), "TRUE") || word(peek(), "FALSE"));
  };
  const condition = () => {
    const t = peek();
    if (t.kind !== "word") return unexpected(t);
    const filter = SEGMENT_FILTERS[t.text];
    if (!filter) throw new Bad(`Line 1 Column ${t.column}: '${t.text}' filter cannot be found.`);
    at++;
    if (filter.type === "function") return functionCall(t.text);
    const next = peek();
    let op: string;
    if (word(next, "IS")) {
      at++;
      const not = word(peek(), "NOT") ? (at++, " NOT") : "";
      expect(word(peek(), "NULL"));
      op = `IS${not} NULL`;
    } else if (word(next, "NOT")) {
      at++;
      expect(word(peek(), "CONTAINS"));
      op = "NOT CONTAINS";
    } else if (word(next, "CONTAINS") || word(next, "BETWEEN")) {
      at++;
      op = next.text.toUpperCase();
    } else if (next.kind === "op") {
      at++;
      op = next.text;
    } else return unexpected(next);
    if (!OPERATORS_OF[filter.type].includes(op))
      throw new Bad(`Line 1 Column ${next.column}: ${t.text} does not support operator '${op}'`);
    if (op.startsWith("IS")) return;
    const type = filter.type === "list" || filter.type === "enum" ? "string" : filter.type;
    value(type, t.text, filter.values);
    if (op === "BETWEEN") {
      expect(word(peek(), "AND"));
      value(type, t.text);
    }
  };
  const primary = () => {
    if (peek().text === "(") {
      at++;
      disjunction();
      expect(peek().text === ")");
    } else condition();
  };
  const conjunction = () => {
    primary();
    while (word(peek(), "AND")) {
      at++;
      primary();
    }
  };
  const disjunction = () => {
    conjunction();
    while (word(peek(), "OR")) {
      at++;
      conjunction();
    }
  };
  try {
    disjunction();
    expect(peek().kind === "end");
    return [];
  } catch (error) {
    if (error instanceof Bad) return [error.message];
    throw error;
  }
}
