import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { AdminApi } from "./admin-api.server";
import { runBackfill } from "./backfill.server";
import { onInstalled } from "./install.server";
import { syncState } from "./status.server";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";

const store = generateStore({ seed: 3, customers: 40, shop: "install-test.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, bulkDelayMs: 5, restoreRate: 100_000, maximumAvailable: 1000 });
const noWait = async () => {};
const fast = { pollMs: 5, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 10))) };
const api = (origin = standIn.origin) =>
  new AdminApi({ shop: SHOP, accessToken: "shpat_standin", origin, sleep: noWait, maxRetries: 0 });

beforeAll(async () => {
  await standIn.start();
});
afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});
beforeEach(async () => {
  await prisma.shop.deleteMany();
});

const builtIns = async () => {
  const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
  return {
    segments: await prisma.segment.count({ where: { shopId: shop.id, preset: { not: null } } }),
    messages: await prisma.message.count({ where: { shopId: shop.id } }),
  };
};

describe("install", () => {
  it("creates the built-in segments and starter messages before the history import runs", async () => {
    await onInstalled(prisma, SHOP);
    const held = await builtIns();
    expect(held.segments).toBeGreaterThan(5);
    expect(held.messages).toBeGreaterThan(0);
    // Paused: nothing shows on the storefront until the merchant switches one on.
    expect(await prisma.message.count({ where: { active: true } })).toBe(0);
  });

  it("keeps the built-ins when the import fails because Shopify cannot be reached, and says so in words", async () => {
    await onInstalled(prisma, SHOP);
    const before = await builtIns();
    // Nothing listens on the stand-in's old port: fetch fails as it does when Shopify is unreachable.
    const down = new AdminApiStandIn({ store });
    await down.start();
    const origin = down.origin;
    await down.stop();
    await expect(runBackfill(prisma, api(origin), SHOP, fast)).rejects.toThrow();
    expect(await builtIns()).toEqual(before);
    const state = await syncState(prisma, SHOP);
    expect(state.backfill.status).toBe("failed");
    expect(state.backfill.failure?.summary).toBe(
      "Shopify could not be reached, or did not answer, while importing your history.",
    );
    expect(state.backfill.failure?.summary).not.toMatch(/fetch failed/);
    // Backoff: the next automatic attempt is a minute away, then two, not every 5 minutes forever.
    expect(state.backfill.attempts).toBe(1);
    const wait = Date.parse(state.backfill.retryAt!) - Date.now();
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    await expect(runBackfill(prisma, api(origin), SHOP, fast)).rejects.toThrow();
    const again = await syncState(prisma, SHOP);
    expect(again.backfill.attempts).toBe(2);
    expect(Date.parse(again.backfill.retryAt!) - Date.now()).toBeGreaterThan(110_000);
  });

  it("builds built-ins even for a shop whose first import fails with a revoked token, and a retry then imports", async () => {
    await prisma.shop.create({ data: { domain: SHOP } });
    standIn.tokens.revokeAll();
    await expect(runBackfill(prisma, api(), SHOP, fast)).rejects.toThrow(/401/);
    const state = await syncState(prisma, SHOP);
    expect(state.backfill.failure?.kind).toBe("revoked");
    expect(state.backfill.failure?.summary).toMatch(/access token was revoked/);
    expect((await builtIns()).segments).toBeGreaterThan(5);
    // The merchant reopens the app (a new token), then Retry: the import runs and clears the backoff.
    standIn.tokens.addLegacyToken("shpat_standin");
    await runBackfill(prisma, api(), SHOP, fast);
    const done = await syncState(prisma, SHOP);
    expect(done.backfill).toMatchObject({ status: "done", failure: null, attempts: 0, retryAt: null });
    expect(done.counts.customers).toBe(store.customers.length);
  });

  it("gives the top-spend built-in, created before the history, its threshold from the history", async () => {
    await onInstalled(prisma, SHOP);
    const before = await prisma.segment.findMany({ select: { handle: true, rule: true } });
    await runBackfill(prisma, api(), SHOP, fast);
    const after = await prisma.segment.findMany({ select: { handle: true, rule: true } });
    const changed = after.filter((s) => before.find((b) => b.handle === s.handle)?.rule !== s.rule);
    expect(changed.length).toBe(1);
    expect(changed[0].rule).not.toMatch(/"value":1\b/);
  });
});
