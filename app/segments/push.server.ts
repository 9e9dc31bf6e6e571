/**
 * Acting on segments outside the app: a segment pushed to Shopify, so Shopify Email, Flow and ad
 * audiences can use it, three ways the merchant can combine:
 *
 * - a customer tag `slice:<handle>` on exactly the segment's members;
 * - the app-owned customer metafield `$app:slice.segments` (list.single_line_text_field): the
 *   handles of every segment with "metafield" on that the customer is in;
 * - a Shopify customer segment (segmentCreate / segmentUpdate) with the rule in Shopify's segment
 *   language, when it can be said there (engine/shopifyql.ts).
 *
 * Tags and metafields are kept in sync from the membership history: a pass takes the customers
 * with a SegmentChange after `pushCursor` (everyone who was ever a member when the cursor is 0:
 * first push, or a mode switched on or off), reads their tags and metafield from Shopify, and
 * writes only the differences from what membership says now. A pass is idempotent, so a crash
 * midway only means the next pass redoes the reading; a pass with no new changes makes no calls.
 * All calls go through the one Admin API client (sync/admin-api.server.ts), which waits for the
 * cost bucket and retries throttling and 5xx.
 */
import { startShopLoop, type ShopLoop } from "./shop-loop.server";
import type { PrismaClient, Segment } from "@prisma/client";
import { z } from "zod";
import { ADMIN_API_VERSION, AdminApiError, adminApiFor, type AdminApi } from "../sync/admin-api.server";
import { functionSyntaxFor, toShopifyQL, type ShopifyQLResult } from "../engine/shopifyql";
import { shopSegments } from "./store.server";
import { adminDocument, adminDocumentFamily } from "../sync/documents";

export const TAG_PREFIX = "slice:";
export const METAFIELD = {
  namespace: "$app:slice",
  key: "segments",
  type: "list.single_line_text_field",
} as const;

/** Customers read from Shopify per request, and writes per request (metafieldsSet takes 25). */
const READ_BATCH = 100;
const WRITE_BATCH = 25;

export const tagFor = (handle: string) => `${TAG_PREFIX}${handle}`;
const customerGid = (id: string) => `gid://shopify/Customer/${id}`;
const idOfGid = (gid: string) => gid.slice(gid.lastIndexOf("/") + 1);

export interface PushOutcome {
  handle: string;
  /** Customers whose tag or metafield this pass looked at. */
  checked: number;
  tagged: number;
  untagged: number;
  metafieldsWritten: number;
  metafieldsDeleted: number;
  /** Customers in the history that Shopify no longer has. */
  gone: number;
  shopifySegmentId: string | null;
  error: string | null;
}

interface UserError {
  field?: string[] | null;
  message: string;
  code?: string | null;
}

const READ = adminDocument(
  "segments/push READ",
  `query SliceMemberState($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Customer {
      id
      tags
      metafield(namespace: "${METAFIELD.namespace}", key: "${METAFIELD.key}") {
        value
      }
    }
  }
}`,
);

const SET_METAFIELDS = adminDocument(
  "segments/push SET_METAFIELDS",
  `mutation SliceSetMetafields($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields {
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

const DELETE_METAFIELDS = adminDocument(
  "segments/push DELETE_METAFIELDS",
  `mutation SliceDeleteMetafields($metafields: [MetafieldIdentifierInput!]!) {
  metafieldsDelete(metafields: $metafields) {
    deletedMetafields {
      key
    }
    userErrors {
      field
      message
    }
  }
}`,
);

const CREATE_DEFINITION = adminDocument(
  "segments/push CREATE_DEFINITION",
  `mutation SliceMetafieldDefinition($definition: MetafieldDefinitionInput!) {
  metafieldDefinitionCreate(definition: $definition) {
    createdDefinition {
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

const SEGMENT_FIELDS = `segment {
      id
      name
      query
    }
    userErrors {
      field
      message
    }`;
const SEGMENT_CREATE = adminDocument(
  "segments/push SEGMENT_CREATE",
  `mutation SliceSegmentCreate($name: String!, $query: String!) {
  segmentCreate(name: $name, query: $query) {
    ${SEGMENT_FIELDS}
  }
}`,
);
const SEGMENT_UPDATE = adminDocument(
  "segments/push SEGMENT_UPDATE",
  `mutation SliceSegmentUpdate($id: ID!, $name: String, $query: String) {
  segmentUpdate(id: $id, name: $name, query: $query) {
    ${SEGMENT_FIELDS}
  }
}`,
);
const SEGMENT_READ = adminDocument(
  "segments/push SEGMENT_READ",
  `query SliceSegment($id: ID!) {
  segment(id: $id) {
    id
    name
    query
  }
}`,
);

/** One document adding (or removing) a tag on up to WRITE_BATCH customers, as aliased mutations. */
function buildTagDocument(mutation: "tagsAdd" | "tagsRemove", count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$id${i}: ID!`).join(", ");
  const calls = Array.from(
    { length: count },
    (_, i) =>
      `  c${i}: ${mutation}(id: $id${i}, tags: $tags) {\n    userErrors {\n      field\n      message\n    }\n  }`,
  ).join("\n");
  const name = mutation === "tagsAdd" ? "SliceTagsAdd" : "SliceTagsRemove";
  return `mutation ${name}($tags: [String!]!, ${vars}) {\n${calls}\n}`;
}

/** Every shape a tag batch takes: either mutation, one customer up to WRITE_BATCH. */
const tagDocument = adminDocumentFamily("segments/push tagDocument", buildTagDocument, [
  ["tagsAdd", 1],
  ["tagsAdd", WRITE_BATCH],
  ["tagsRemove", 1],
  ["tagsRemove", WRITE_BATCH],
]);

/** Every GraphQL document this module sends, for the schema test. */
export function pushDocuments(): string[] {
  return [
    READ,
    SET_METAFIELDS,
    DELETE_METAFIELDS,
    CREATE_DEFINITION,
    SEGMENT_CREATE,
    SEGMENT_UPDATE,
    SEGMENT_READ,
    tagDocument("tagsAdd", 1),
    tagDocument("tagsRemove", WRITE_BATCH),
  ];
}

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Shopify's messages, once each, as one sentence. */
const messages = (errors: UserError[]) =>
  [...new Set(errors.map((e) => e.message.replace(/\.$/, "")))].join("; ");

/** The Shopify segment a Slice segment becomes: its name, and its query or why there is none. */
export async function shopifyQueryFor(
  db: PrismaClient,
  shopId: number,
  handle: string,
): Promise<ShopifyQLResult | null> {
  const shop = await db.shop.findUnique({ where: { id: shopId }, select: { currency: true } });
  const { rules, resolve } = await shopSegments(db, shopId);
  const rule = rules.get(handle);
  if (!rule || !shop) return null;
  return toShopifyQL(rule, {
    resolve,
    currency: shop.currency,
    syntax: functionSyntaxFor(ADMIN_API_VERSION),
  });
}

export const shopifySegmentName = (segment: Pick<Segment, "name">) => `Slice: ${segment.name}`;

async function findSegment(db: PrismaClient, shopId: number, handle: string): Promise<Segment> {
  const segment = await db.segment.findUnique({ where: { shopId_handle: { shopId, handle } } });
  if (!segment) throw new Error(`no segment "${handle}" in this shop`);
  return segment;
}

/**
 * Turns tag and metafield sync on or off. Either way the next pass is a full one (cursor 0):
 * switched on, every member gets the tag; switched off, every tag and metafield entry this
 * segment put in Shopify is taken back.
 */
export async function setPushOptions(
  db: PrismaClient,
  shopId: number,
  handle: string,
  options: { tag?: boolean; metafield?: boolean },
): Promise<void> {
  const segment = await findSegment(db, shopId, handle);
  const tag = options.tag ?? segment.pushTag;
  const metafield = options.metafield ?? segment.pushMetafield;
  if (tag === segment.pushTag && metafield === segment.pushMetafield) return;
  await db.segment.update({
    where: { id: segment.id },
    data: { pushTag: tag, pushMetafield: metafield, pushCursor: 0, pushError: null },
  });
}

/** Shops whose app metafield definition exists (created once per process; "taken" counts as done). */
const definitionReady = new Set<string>();

/** Forgets which shops have the definition, so the next write creates it again (tests). */
export function forgetMetafieldDefinitions(): void {
  definitionReady.clear();
}

async function ensureDefinition(admin: AdminApi): Promise<string | null> {
  const shop = `${admin.options.origin ?? "https://"}|${admin.options.shop}`;
  if (definitionReady.has(shop)) return null;
  const result = await admin.request<{
    metafieldDefinitionCreate: { userErrors: UserError[] };
  }>(CREATE_DEFINITION, {
    definition: {
      namespace: METAFIELD.namespace,
      key: METAFIELD.key,
      type: METAFIELD.type,
      ownerType: "CUSTOMER",
      name: "Slice segments",
      description: "The Slice segments this customer is in (kept in sync by the Slice app).",
      access: { admin: "MERCHANT_READ" },
    },
  });
  // TAKEN: the definition exists already (an earlier run, or another process): that is success.
  const errors = result.metafieldDefinitionCreate.userErrors.filter((e) => e.code !== "TAKEN");
  if (errors.length) return `Shopify refused the app metafield definition: ${messages(errors)}`;
  definitionReady.add(shop);
  return null;
}

interface CustomerState {
  id: string;
  tags: string[];
  metafield: string | null;
}

async function readCustomers(admin: AdminApi, ids: string[]): Promise<Map<string, CustomerState>> {
  const found = new Map<string, CustomerState>();
  for (const batch of chunks(ids, READ_BATCH)) {
    const data = await admin.request<{
      nodes: ({ id: string; tags: string[]; metafield: { value: string } | null } | null)[];
    }>(READ, { ids: batch.map(customerGid) }, 5 + batch.length);
    for (const node of data.nodes)
      if (node?.id)
        found.set(idOfGid(node.id), {
          id: idOfGid(node.id),
          tags: node.tags,
          metafield: node.metafield?.value ?? null,
        });
  }
  return found;
}

async function writeTags(
  admin: AdminApi,
  mutation: "tagsAdd" | "tagsRemove",
  tag: string,
  ids: string[],
): Promise<{ done: number; gone: number; errors: UserError[] }> {
  let done = 0;
  let gone = 0;
  const errors: UserError[] = [];
  for (const batch of chunks(ids, WRITE_BATCH)) {
    const variables: Record<string, unknown> = { tags: [tag] };
    batch.forEach((id, i) => (variables[`id${i}`] = customerGid(id)));
    const data = await admin.request<Record<string, { userErrors: UserError[] } | null>>(
      tagDocument(mutation, batch.length),
      variables,
      12 * batch.length,
    );
    batch.forEach((_, i) => {
      const userErrors = data[`c${i}`]?.userErrors ?? [];
      // Deleted in Shopify since we last heard of them: nothing to tag.
      if (userErrors.some((e) => /does not exist/i.test(e.message))) gone++;
      else if (userErrors.length) errors.push(...userErrors);
      else done++;
    });
  }
  return { done, gone, errors };
}

async function writeMetafields(
  admin: AdminApi,
  values: Map<string, string[]>,
): Promise<{ written: number; deleted: number; errors: UserError[] }> {
  let written = 0;
  let deleted = 0;
  const errors: UserError[] = [];
  const sets = [...values].filter(([, handles]) => handles.length);
  const deletes = [...values].filter(([, handles]) => !handles.length).map(([id]) => id);
  if (sets.length) {
    const refused = await ensureDefinition(admin);
    if (refused) return { written, deleted, errors: [{ message: refused }] };
  }
  for (const batch of chunks(sets, WRITE_BATCH)) {
    let inputs = batch.map(([id, handles]) => ({
      ownerId: customerGid(id),
      namespace: METAFIELD.namespace,
      key: METAFIELD.key,
      type: METAFIELD.type,
      value: JSON.stringify(handles),
    }));
    // metafieldsSet is all-or-nothing: drop owners Shopify no longer has and try once more.
    for (let attempt = 0; attempt < 2 && inputs.length; attempt++) {
      const data = await admin.request<{ metafieldsSet: { userErrors: UserError[] } }>(
        SET_METAFIELDS,
        { metafields: inputs },
        10 + inputs.length,
      );
      const userErrors = data.metafieldsSet.userErrors;
      if (!userErrors.length) {
        written += inputs.length;
        break;
      }
      const goneIndexes = new Set(
        userErrors
          .filter((e) => e.field?.[2] === "ownerId" && /does not exist/i.test(e.message))
          .map((e) => Number(e.field?.[1])),
      );
      if (goneIndexes.size !== userErrors.length || attempt === 1) {
        errors.push(...userErrors.filter((e) => !goneIndexes.has(Number(e.field?.[1]))));
        break;
      }
      inputs = inputs.filter((_, i) => !goneIndexes.has(i));
    }
  }
  for (const batch of chunks(deletes, WRITE_BATCH)) {
    const data = await admin.request<{ metafieldsDelete: { userErrors: UserError[] } }>(
      DELETE_METAFIELDS,
      {
        metafields: batch.map((id) => ({
          ownerId: customerGid(id),
          namespace: METAFIELD.namespace,
          key: METAFIELD.key,
        })),
      },
      10 + batch.length,
    );
    if (data.metafieldsDelete.userErrors.length) errors.push(...data.metafieldsDelete.userErrors);
    else deleted += batch.length;
  }
  return { written, deleted, errors };
}

/**
 * Tags and metafields need a pass when a mode is on and there is history past the cursor (or a
 * full pass is pending, cursor 0), or when both were just switched off (cursor 0) after
 * something had been pushed: then the pass takes back what this segment put there.
 */
function needsPass(segment: Segment, upTo: number): boolean {
  const syncing = segment.pushTag || segment.pushMetafield;
  if (syncing) return segment.pushCursor === 0 || upTo > segment.pushCursor;
  return segment.pushCursor === 0 && segment.pushedAt !== null;
}

function parseList(value: string | null): string[] {
  if (value === null) return [];
  try {
    const list: unknown = JSON.parse(value);
    return Array.isArray(list) ? list.map(String) : [];
  } catch {
    return [];
  }
}

/** Who this pass must look at: the customers changed since the cursor, or everyone ever in it. */
async function affectedCustomers(db: PrismaClient, segment: Segment, upTo: number): Promise<string[]> {
  const since = segment.pushCursor;
  const changed = await db.segmentChange.findMany({
    where: { segmentId: segment.id, id: { gt: since, lte: upTo } },
    select: { customerShopifyId: true },
    distinct: ["customerShopifyId"],
  });
  const ids = new Set(changed.map((c) => c.customerShopifyId));
  if (since === 0) {
    const members = await db.segmentMember.findMany({
      where: { segmentId: segment.id },
      select: { customerShopifyId: true },
    });
    for (const m of members) ids.add(m.customerShopifyId);
  }
  return [...ids].sort();
}

/** What Shopify should hold for these customers, from membership now. */
async function desiredState(db: PrismaClient, shopId: number, segment: Segment, ids: string[]) {
  const live = new Set<string>();
  const memberOf = new Set<string>();
  const handles = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const batch of chunks(ids, 500)) {
    const customers = await db.customer.findMany({
      where: { shopId, shopifyId: { in: batch }, deletedAt: null },
      select: { shopifyId: true },
    });
    for (const c of customers) live.add(c.shopifyId);
    const memberships = await db.segmentMember.findMany({
      where: {
        customerShopifyId: { in: batch },
        segment: { shopId, OR: [{ pushMetafield: true }, { id: segment.id }] },
      },
      select: {
        customerShopifyId: true,
        segment: { select: { id: true, handle: true, pushMetafield: true } },
      },
    });
    for (const m of memberships) {
      if (!live.has(m.customerShopifyId)) continue;
      if (m.segment.id === segment.id) memberOf.add(m.customerShopifyId);
      if (m.segment.pushMetafield) handles.get(m.customerShopifyId)!.push(m.segment.handle);
    }
  }
  for (const list of handles.values()) list.sort();
  return { memberOf, handles };
}

/**
 * One pass for one segment: tags and metafields from the history since the cursor, and the
 * Shopify segment's query when the rule may have changed. Records pushedAt and pushError.
 */
export async function pushSegment(
  db: PrismaClient,
  admin: AdminApi,
  shopId: number,
  handle: string,
  now: Date,
): Promise<PushOutcome> {
  const segment = await findSegment(db, shopId, handle);
  const outcome: PushOutcome = {
    handle,
    checked: 0,
    tagged: 0,
    untagged: 0,
    metafieldsWritten: 0,
    metafieldsDeleted: 0,
    gone: 0,
    shopifySegmentId: segment.shopifySegmentId,
    error: null,
  };
  const problems: string[] = [];
  const last = await db.segmentChange.findFirst({
    where: { segmentId: segment.id },
    orderBy: { id: "desc" },
    select: { id: true },
  });
  const upTo = last?.id ?? 0;
  let cursor = segment.pushCursor;
  if (needsPass(segment, upTo)) {
    const ids = await affectedCustomers(db, segment, upTo);
    const tag = tagFor(handle);
    const { memberOf, handles } = await desiredState(db, shopId, segment, ids);
    let failed = false;
    for (const page of chunks(ids, READ_BATCH * 5)) {
      const held = await readCustomers(admin, page);
      outcome.checked += page.length;
      outcome.gone += page.length - held.size;
      const add: string[] = [];
      const remove: string[] = [];
      const metafields = new Map<string, string[]>();
      for (const state of held.values()) {
        const hasTag = state.tags.some((t) => t.toLowerCase() === tag);
        const wantTag = segment.pushTag && memberOf.has(state.id);
        if (wantTag && !hasTag) add.push(state.id);
        if (!wantTag && hasTag) remove.push(state.id);
        const want = handles.get(state.id) ?? [];
        const have = parseList(state.metafield);
        if (JSON.stringify(want) !== JSON.stringify(have)) metafields.set(state.id, want);
      }
      const added = await writeTags(admin, "tagsAdd", tag, add);
      const removed = await writeTags(admin, "tagsRemove", tag, remove);
      const written = await writeMetafields(admin, metafields);
      outcome.tagged += added.done;
      outcome.untagged += removed.done;
      outcome.gone += added.gone + removed.gone;
      outcome.metafieldsWritten += written.written;
      outcome.metafieldsDeleted += written.deleted;
      const tagErrors = [...added.errors, ...removed.errors];
      if (tagErrors.length) problems.push(`Shopify refused the tag ${tag}: ${messages(tagErrors)}.`);
      if (written.errors.length)
        problems.push(
          written.errors.length === 1 && written.errors[0].message.startsWith("Shopify refused")
            ? `${written.errors[0].message}.`
            : `Shopify refused the app metafield: ${messages(written.errors)}.`,
        );
      failed ||= tagErrors.length > 0 || written.errors.length > 0;
    }
    // Refused writes are tried again next pass: the cursor moves only when everything landed.
    if (!failed) cursor = upTo;
  }
  let shopifySegmentId = segment.shopifySegmentId;
  if (shopifySegmentId && (!segment.pushedAt || segment.updatedAt > segment.pushedAt)) {
    const synced = await syncShopifySegment(db, admin, shopId, segment, false);
    shopifySegmentId = synced.id;
    if (synced.error) problems.push(synced.error);
  }
  const stillOn = segment.pushTag || segment.pushMetafield || shopifySegmentId !== null;
  outcome.error = problems.length ? problems.join(" ") : null;
  outcome.shopifySegmentId = shopifySegmentId;
  await db.segment.update({
    where: { id: segment.id },
    data: {
      pushCursor: cursor,
      // Off and cleaned up: nothing of this segment is left in Shopify.
      pushedAt: stillOn || problems.length ? now : null,
      pushError: outcome.error,
      shopifySegmentId,
      // So that "changed since pushed" (updatedAt > pushedAt) means a later edit, not this write.
      updatedAt: now,
    },
  });
  return outcome;
}

/**
 * Creates the Shopify segment, or brings its query up to date. With `create` false it only
 * updates one that exists. Unexpressible rules and Shopify's userErrors come back as a message.
 */
async function syncShopifySegment(
  db: PrismaClient,
  admin: AdminApi,
  shopId: number,
  segment: Segment,
  create: boolean,
): Promise<{ id: string | null; error: string | null }> {
  const translated = await shopifyQueryFor(db, shopId, segment.handle);
  if (!translated || "unsupported" in translated)
    return {
      id: segment.shopifySegmentId,
      error: `Shopify can't have this segment: ${translated ? translated.unsupported.join("; ") : "no rule"}.`,
    };
  const name = shopifySegmentName(segment);
  if (segment.shopifySegmentId) {
    const held = await admin.request<{ segment: { id: string; name: string; query: string } | null }>(
      SEGMENT_READ,
      { id: segment.shopifySegmentId },
      2,
    );
    if (held.segment && held.segment.query === translated.query) return { id: held.segment.id, error: null };
    if (held.segment) {
      const updated = await admin.request<{ segmentUpdate: { userErrors: UserError[] } }>(
        SEGMENT_UPDATE,
        { id: segment.shopifySegmentId, query: translated.query },
        12,
      );
      const errors = updated.segmentUpdate.userErrors;
      return {
        id: segment.shopifySegmentId,
        error: errors.length ? `Shopify refused the segment update: ${messages(errors)}.` : null,
      };
    }
    if (!create)
      return {
        id: null,
        error: "The Shopify segment was deleted in Shopify; create it again to keep it in sync.",
      };
  }
  const created = await admin.request<{
    segmentCreate: { segment: { id: string } | null; userErrors: UserError[] };
  }>(SEGMENT_CREATE, { name, query: translated.query }, 12);
  const errors = created.segmentCreate.userErrors;
  if (errors.length || !created.segmentCreate.segment)
    return { id: null, error: `Shopify refused the segment: ${messages(errors)}.` };
  return { id: created.segmentCreate.segment.id, error: null };
}

/** The admin's "Create Shopify segment" button (and "update" once it exists). */
export async function createShopifySegment(
  db: PrismaClient,
  admin: AdminApi,
  shopId: number,
  handle: string,
  now: Date,
): Promise<{ shopifySegmentId: string | null; error: string | null }> {
  const segment = await findSegment(db, shopId, handle);
  let result: { id: string | null; error: string | null };
  try {
    result = await syncShopifySegment(db, admin, shopId, segment, true);
  } catch (error) {
    if (!(error instanceof AdminApiError)) throw error;
    result = { id: segment.shopifySegmentId, error: `Shopify could not be reached: ${error.message}` };
  }
  // With tags and metafields off and never pushed, there is nothing to take back from Shopify:
  // start their cursor at the present so that pushedAt doesn't read as "cleanup pending".
  const quiet = !segment.pushTag && !segment.pushMetafield && segment.pushedAt === null;
  const last = quiet
    ? await db.segmentChange.findFirst({
        where: { segmentId: segment.id },
        orderBy: { id: "desc" },
        select: { id: true },
      })
    : null;
  await db.segment.update({
    where: { id: segment.id },
    data: {
      pushCursor: last ? last.id : undefined,
      shopifySegmentId: result.id,
      pushError: result.error,
      pushedAt: result.id ? now : segment.pushedAt,
      updatedAt: now,
    },
  });
  return { shopifySegmentId: result.id, error: result.error };
}

/** Segments with something to push: new history since the cursor, a full pass pending, or a rule edit. */
export async function dueSegments(db: PrismaClient, shopId: number): Promise<Segment[]> {
  const candidates = await db.segment.findMany({
    where: {
      shopId,
      OR: [
        { pushTag: true },
        { pushMetafield: true },
        { shopifySegmentId: { not: null } },
        { pushedAt: { not: null } },
      ],
    },
    orderBy: { id: "asc" },
  });
  const due: Segment[] = [];
  for (const s of candidates) {
    const last = await db.segmentChange.findFirst({
      where: { segmentId: s.id },
      orderBy: { id: "desc" },
      select: { id: true },
    });
    const newer = needsPass(s, last?.id ?? 0);
    const ruleMayHaveChanged = s.shopifySegmentId !== null && (!s.pushedAt || s.updatedAt > s.pushedAt);
    if (newer || ruleMayHaveChanged) due.push(s);
  }
  return due;
}

/** Every due segment of a shop, one after another. Safe to run again at any time. */
export async function pushDue(
  db: PrismaClient,
  admin: AdminApi,
  shopId: number,
  now: Date,
): Promise<PushOutcome[]> {
  const outcomes: PushOutcome[] = [];
  for (const segment of await dueSegments(db, shopId)) {
    try {
      outcomes.push(await pushSegment(db, admin, shopId, segment.handle, now));
    } catch (error) {
      if (!(error instanceof AdminApiError)) throw error;
      // Shopify unreachable or refusing the call itself: say so, keep the cursor, try next time.
      const message = `Shopify could not be reached: ${error.message}`;
      await db.segment.update({ where: { id: segment.id }, data: { pushError: message } });
      outcomes.push({
        handle: segment.handle,
        checked: 0,
        tagged: 0,
        untagged: 0,
        metafieldsWritten: 0,
        metafieldsDeleted: 0,
        gone: 0,
        shopifySegmentId: segment.shopifySegmentId,
        error: message,
      });
    }
  }
  return outcomes;
}

/** The segment page's "Shopify" card. */
export async function pushView(db: PrismaClient, shopDomain: string, handle: string) {
  const shop = await db.shop.findUnique({ where: { domain: shopDomain }, select: { id: true } });
  if (!shop) return null;
  const segment = await db.segment.findUnique({ where: { shopId_handle: { shopId: shop.id, handle } } });
  if (!segment) return null;
  const translated = await shopifyQueryFor(db, shop.id, handle);
  const pending =
    segment.pushTag || segment.pushMetafield
      ? await db.segmentChange.count({ where: { segmentId: segment.id, id: { gt: segment.pushCursor } } })
      : 0;
  const store = shopDomain.replace(/\.myshopify\.com$/, "");
  return {
    tag: tagFor(handle),
    pushTag: segment.pushTag,
    pushMetafield: segment.pushMetafield,
    metafield: `${METAFIELD.namespace}.${METAFIELD.key}`,
    shopifyQuery: translated && "query" in translated ? translated.query : null,
    unsupported: translated && "unsupported" in translated ? translated.unsupported : [],
    shopifySegmentId: segment.shopifySegmentId,
    shopifySegmentName: shopifySegmentName(segment),
    shopifySegmentUrl: segment.shopifySegmentId
      ? `https://admin.shopify.com/store/${store}/customers/segments/${idOfGid(segment.shopifySegmentId)}`
      : null,
    pushedAt: segment.pushedAt?.toISOString() ?? null,
    pushError: segment.pushError,
    /** A full pass is waiting (just switched on or off), or history not yet pushed. */
    waiting: (segment.pushTag || segment.pushMetafield) && (segment.pushCursor === 0 || pending > 0),
    pendingChanges: pending,
  };
}

const pushForm = z.discriminatedUnion("intent", [
  z.object({
    intent: z.literal("push-options"),
    tag: z.enum(["on", "off"]).optional(),
    metafield: z.enum(["on", "off"]).optional(),
  }),
  z.object({ intent: z.literal("shopify-segment") }),
]);

/** The segment page's "Shopify" card actions, parsed once here (zod) and carried out. */
export async function applyPushForm(
  db: PrismaClient,
  shopDomain: string,
  handle: string,
  input: Record<string, unknown>,
  adminFor: (shop: string) => Promise<AdminApi> = (shop) => adminApiFor(db, shop),
  now = new Date(),
): Promise<{ ok: boolean; message: string }> {
  const parsed = pushForm.safeParse(input);
  if (!parsed.success) return { ok: false, message: "That isn't a push action this page knows." };
  const shop = await db.shop.findUnique({ where: { domain: shopDomain }, select: { id: true } });
  if (!shop) return { ok: false, message: `Slice has no data for ${shopDomain}.` };
  const form = parsed.data;
  if (form.intent === "push-options") {
    const on = (v: "on" | "off" | undefined) => (v === undefined ? undefined : v === "on");
    await setPushOptions(db, shop.id, handle, { tag: on(form.tag), metafield: on(form.metafield) });
    return { ok: true, message: "Saved: Shopify is brought up to date in the background within a minute." };
  }
  const result = await createShopifySegment(db, await adminFor(shopDomain), shop.id, handle, now);
  return result.error
    ? { ok: false, message: result.error }
    : { ok: true, message: "The Shopify segment is up to date." };
}

/** The background loop: every `everyMs`, pushDue for each installed shop with anything to push. */
export function startPushLoop(
  db: PrismaClient,
  adminFor: (shop: string) => Promise<AdminApi>,
  everyMs = 30_000,
): ShopLoop {
  return startShopLoop(db, {
    everyMs,
    doing: "pushing segments",
    where: {
      segments: {
        some: {
          OR: [
            { pushTag: true },
            { pushMetafield: true },
            { shopifySegmentId: { not: null } },
            { pushedAt: { not: null } },
          ],
        },
      },
    },
    work: async (shop, now) => pushDue(db, await adminFor(shop.domain), shop.id, now),
  });
}
