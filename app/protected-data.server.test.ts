/**
 * The app runs with exactly the protected customer data it declares (app/protected-data.ts): the
 * whole backfill and a reconciliation pass succeed against a local Admin API approved for that and
 * nothing more, each declared field is one they cannot do without, and the README says the same.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import prisma from "./db.server";
import { AdminApi } from "./sync/admin-api.server";
import { runBackfill } from "./sync/backfill.server";
import { reconcile } from "./sync/reconcile.server";
import { AdminApiStandIn } from "../dev/admin-api";
import { generateStore } from "../dev/store";
import { heldPicture, storePicture } from "../dev/testing/compare";
import { APP_PROTECTED_DATA, PROTECTED_DATA_USES, type ProtectedDataAccess } from "./protected-data";

const store = generateStore({ seed: 11, customers: 60, shop: "protected-data.myshopify.com" });
const SHOP = store.shop.domain;
const fast = { pollMs: 5, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 10))) };

async function withStandIn<T>(access: ProtectedDataAccess, run: (api: AdminApi) => Promise<T>): Promise<T> {
  const standIn = new AdminApiStandIn({
    store,
    protectedData: access,
    bulkDelayMs: 5,
    restoreRate: 100_000,
    maximumAvailable: 1000,
  });
  await standIn.start();
  try {
    return await run(
      new AdminApi({
        shop: SHOP,
        accessToken: "shpat_standin",
        origin: standIn.origin,
        sleep: async () => {},
      }),
    );
  } finally {
    await standIn.stop();
  }
}

beforeEach(async () => {
  await prisma.shop.deleteMany();
});
afterAll(async () => {
  await prisma.$disconnect();
});

describe("protected customer data the app declares", () => {
  it("is enough for the whole backfill and a reconciliation pass, and the copy is exact", async () => {
    await withStandIn(APP_PROTECTED_DATA, async (api) => {
      await runBackfill(prisma, api, SHOP, fast);
      await prisma.shop.update({
        where: { domain: SHOP },
        data: { reconciledAt: new Date(store.now.getTime() - 400 * 86_400_000) },
      });
      expect((await reconcile(prisma, api, SHOP, store.now)).repaired).toBe(0);
    });
    const options = { checkouts: "abandoned" as const, carts: false, products: true };
    expect(await heldPicture(prisma, SHOP, options)).toEqual(storePicture(store, options));
    const held = await prisma.customer.findFirstOrThrow({ where: { email: { not: null } } });
    expect(held.firstName).not.toBeNull();
  });

  it.each(APP_PROTECTED_DATA.fields.map((f) => [f]))(
    "needs %s: without it the backfill fails with Shopify's ACCESS_DENIED",
    async (field) => {
      const without = { level1: true, fields: APP_PROTECTED_DATA.fields.filter((f) => f !== field) };
      await expect(withStandIn(without, (api) => runBackfill(prisma, api, SHOP, fast))).rejects.toThrow(
        /ACCESS_DENIED/,
      );
    },
  );

  it("needs level 1: without it nothing about customers can be read", async () => {
    await expect(
      withStandIn({ level1: false, fields: [] }, (api) => runBackfill(prisma, api, SHOP, fast)),
    ).rejects.toThrow(/not approved to access the \w+ object|ACCESS_DENIED/);
  });

  it("never asks for a phone number", () => {
    expect(APP_PROTECTED_DATA.fields).not.toContain("phone");
  });

  it("is what the README's section lists, field by field", () => {
    const readme = readFileSync("README.md", "utf8");
    const section = /\n#### Protected customer data\n([\s\S]*?)(?=\n#{2,4} )/.exec(readme)?.[1] ?? "";
    expect(section).not.toBe("");
    const listed = [...section.matchAll(/^- \*\*([a-z ]+)\*\*/gm)].map((m) => m[1]);
    expect(listed).toEqual([...PROTECTED_DATA_USES.map((u) => u.data), "phone"]);
    expect(section).toContain("- **phone**: not read.");
  });
});
