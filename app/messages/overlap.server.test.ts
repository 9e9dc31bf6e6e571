/**
 * The admin's overlap warning, through the Messages list's and a message's loaders as a signed-in
 * merchant: two active messages that reach the same people are named, with how many customers
 * both reach, which one wins and why; messages whose pages, audiences or status keep them apart
 * are not. And the shop's settings across messages, saved through the list's action.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { adminAs, call } from "../security/admin-request";
import { ensurePresets } from "../segments/store.server";
import { createMessage } from "./store.server";
import { overlapWarnings, type OverlapWarning } from "./overlap.server";
import * as list from "../routes/app.messages._index";
import * as page from "../routes/app.messages.$id";

const SHOP = "overlap-admin.myshopify.com";
const OTHER = "overlap-other.myshopify.com";
let shopId = 0;
const ids: Record<string, number> = {};

const message = (
  name: string,
  segment: string,
  over: {
    format?: "popup" | "corner" | "bar";
    priority?: number;
    pages?: ("cart" | "product")[];
    code?: boolean;
    active?: boolean;
  } = {},
) =>
  createMessage(prisma, shopId, {
    name,
    segment,
    format: over.format ?? "popup",
    trigger: { on: "load" },
    priority: over.priority ?? 0,
    pages: { types: over.pages ?? [], pathContains: [] },
    content: { headline: name, body: "", button: null },
    ...(over.code
      ? {
          reward: {
            kind: "firstPurchase" as const,
            discount: { type: "percentage" as const, value: 10, validDays: 7, minimumSubtotal: 0 },
          },
        }
      : {}),
    active: over.active ?? true,
  });

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await prisma.shop.create({ data: { domain: OTHER } });
  await ensurePresets(prisma, shopId);
  ids.welcome15 = await message("Welcome 15%", "first-time-visitors", { priority: 5, code: true });
  ids.welcome10 = await message("Welcome 10%", "first-time-visitors", { priority: 3, code: true });
  ids.returning = await message("Come back", "returning-non-buyers", { format: "corner" });
  ids.paused = await message("Old welcome", "first-time-visitors", { active: false });
  ids.vip = await message("VIP invite", "high-spend-repeat", { format: "corner", priority: 10 });
  ids.lapsed = await message("We miss you", "lapsed-customers", { format: "bar", priority: 10 });
  // The same audience (of customers only, none of them members yet) on pages that never meet.
  await prisma.segment.create({
    data: {
      shopId,
      handle: "subscribed",
      name: "Subscribed",
      rule: JSON.stringify({ version: 1, match: { field: "customer.acceptsEmailMarketing", op: "isTrue" } }),
    },
  });
  ids.cartOnly = await message("Cart note", "subscribed", { format: "bar", pages: ["cart"], priority: 1 });
  ids.productOnly = await message("Product note", "subscribed", { pages: ["product"], priority: 1 });
  // Three customers are both high-spend repeat customers and lapsed ones, one only lapsed.
  const segments = await prisma.segment.findMany({ where: { shopId } });
  const seg = (h: string) => segments.find((s) => s.handle === h)!.id;
  for (const c of ["501", "502", "503"])
    for (const h of ["high-spend-repeat", "lapsed-customers"])
      await prisma.segmentMember.create({
        data: { segmentId: seg(h), customerShopifyId: c, since: new Date() },
      });
  await prisma.segmentMember.create({
    data: { segmentId: seg("lapsed-customers"), customerShopifyId: "504", since: new Date() },
  });
});
afterAll(() => prisma.$disconnect());

const pair = (w: OverlapWarning) => [w.winner.name, w.other.name];

describe("the overlap warning", () => {
  it("names each pair of active messages that reach the same people, the winner first, with why and how many", async () => {
    const warnings = await overlapWarnings(prisma, shopId, new Date());
    expect(warnings.map(pair)).toEqual([
      ["VIP invite", "We miss you"],
      ["Welcome 15%", "Welcome 10%"],
    ]);
    const [vip, welcome] = warnings;
    expect(vip).toMatchObject({
      customers: 3,
      basis: "members in common",
      visitorsToo: false,
      pages: null,
      why: "both have priority 10, and it was created first",
    });
    expect(welcome).toMatchObject({
      // A segment of visitors: the app cannot count the visitors who are not customers.
      customers: null,
      basis: "same segment",
      visitorsToo: true,
      why: "its priority is higher (5 over 3)",
    });
    expect(welcome.then).toEqual([
      '"Welcome 10%" is not shown later in the same browser session (one popup a session).',
      `A shopper given "Welcome 15%"'s code is never given "Welcome 10%"'s (one first-purchase code per shopper); while their code is unused they are reminded of it instead.`,
      'If the shopper dismisses "Welcome 15%", nothing is shown for 1 day (the shop\'s cool-down).',
    ]);
    // Not warned: first-time vs returning visitors (sessions 1 and at least 2), the paused one, the
    // cart-only and product-only notes (no page in common), and segments with no one in common.
    const named = warnings.flatMap(pair);
    for (const n of ["Come back", "Old welcome", "Cart note", "Product note"]) expect(named).not.toContain(n);
  });

  it("shows the warnings on the Messages list and on each message's page, with a link to each", async () => {
    const as = await adminAs(SHOP);
    const listed = JSON.parse((await call(list.loader, as("/app/messages"))).text) as {
      overlaps: OverlapWarning[];
    };
    expect(listed.overlaps.map(pair)).toEqual([
      ["VIP invite", "We miss you"],
      ["Welcome 15%", "Welcome 10%"],
    ]);
    const on = async (id: number) =>
      (
        JSON.parse((await call(page.loader, as(`/app/messages/${id}`), { id: String(id) })).text) as {
          overlaps: OverlapWarning[];
        }
      ).overlaps.map(pair);
    expect(await on(ids.welcome10)).toEqual([["Welcome 15%", "Welcome 10%"]]);
    expect(await on(ids.lapsed)).toEqual([["VIP invite", "We miss you"]]);
    expect(await on(ids.returning)).toEqual([]);
    // Another shop sees none of this shop's messages.
    const other = await call(page.loader, (await adminAs(OTHER))(`/app/messages/${ids.welcome10}`), {
      id: String(ids.welcome10),
    });
    expect(other.status).toBe(404);
    expect(
      JSON.parse((await call(list.loader, (await adminAs(OTHER))("/app/messages"))).text).overlaps,
    ).toEqual([]);
  });

  it("saves the shop's cool-down and the corner-after-popup setting, refusing a bad cool-down naming it", async () => {
    const as = await adminAs(SHOP);
    const save = async (form: Record<string, string>) =>
      JSON.parse(
        (await call(list.action, as("/app/messages", { form: { intent: "policy", ...form } }))).text,
      );
    expect(await save({ cooldownDays: "-1" })).toEqual({
      intent: "policy",
      ok: false,
      field: "cooldownDays",
      message: "must be a whole number of days from 0 to 365",
    });
    expect(await save({ cooldownDays: "400" })).toMatchObject({ ok: false, field: "cooldownDays" });
    expect(await save({ cooldownDays: "3", afterPopup: "on" })).toEqual({
      intent: "policy",
      ok: true,
      policy: { cooldownDays: 3, afterPopup: true },
    });
    const listed = JSON.parse((await call(list.loader, as("/app/messages"))).text);
    expect(listed.policy).toEqual({ cooldownDays: 3, afterPopup: true });
    // The warning's consequences follow the settings.
    const welcome = (listed.overlaps as OverlapWarning[]).find((w) => w.winner.id === ids.welcome15)!;
    expect(welcome.then.at(-1)).toBe(
      'If the shopper dismisses "Welcome 15%", nothing is shown for 3 days (the shop\'s cool-down).',
    );
    const vip = (listed.overlaps as OverlapWarning[]).find((w) => w.winner.id === ids.vip)!;
    expect(vip.then[0]).toBe(
      'If the shopper dismisses "VIP invite", nothing is shown for 3 days (the shop\'s cool-down).',
    );
    expect(await save({ cooldownDays: "0" })).toMatchObject({
      ok: true,
      policy: { cooldownDays: 0, afterPopup: false },
    });
    expect((await prisma.shop.findUniqueOrThrow({ where: { id: shopId } })).messageCooldownDays).toBe(0);
  });
});
