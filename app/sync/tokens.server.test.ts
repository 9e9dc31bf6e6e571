import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminApiStandIn } from "../../dev/admin-api";
import { generateStore } from "../../dev/store";

const store = generateStore({ seed: 7, customers: 30, shop: "tokens-test.myshopify.com" });
const SHOP = store.shop.domain;
const standIn = new AdminApiStandIn({ store, restoreRate: 100_000, maximumAvailable: 5000, bulkDelayMs: 5 });
await standIn.start();
process.env.SLICE_ADMIN_API_ORIGIN = standIn.origin;
const { default: prisma } = await import("../db.server");
const { installInProcess } = await import("../../dev/testing/install");

afterAll(async () => {
  await standIn.stop();
  await prisma.$disconnect();
});

describe("smoke", () => {
  it("installs", async () => {
    await installInProcess(SHOP);
    console.log(await prisma.session.findMany(), standIn.tokens.log, await prisma.shop.findMany());
  });
});
