import { afterAll, beforeEach, describe, expect, it } from "vitest";
import prisma from "../db.server";
import * as syncPage from "../routes/app.sync";
import { adminAs, call, type Route } from "../security/admin-request";
import { listExports } from "./customer-data.server";

const A = "requests-a.myshopify.com";
const B = "requests-b.myshopify.com";

afterAll(async () => {
  await prisma.$disconnect();
});

let ids: { a: number; b: number; shopA: number };
beforeEach(async () => {
  await prisma.shop.deleteMany({ where: { domain: { in: [A, B] } } });
  const shopA = await prisma.shop.create({ data: { domain: A } });
  const shopB = await prisma.shop.create({ data: { domain: B } });
  const received = new Date("2026-10-01T12:00:00Z");
  const a = await prisma.dataExport.create({
    data: { shopId: shopA.id, email: "ask@example.com", payload: "{}", createdAt: received },
  });
  const b = await prisma.dataExport.create({
    data: { shopId: shopB.id, payload: "{}", createdAt: received },
  });
  ids = { a: a.id, b: b.id, shopA: shopA.id };
});

describe("data requests on the sync health page", () => {
  it("are due 30 days after they were received", async () => {
    const [row] = await listExports(prisma, ids.shopA);
    expect(row.dueAt).toBe("2026-10-31T12:00:00.000Z");
    expect(row.sentAt).toBeNull();
  });

  it("are marked sent with who and when, and can be marked not sent again", async () => {
    const admin = await adminAs(A);
    const sent = await call(
      syncPage.action as Route,
      admin("/app/sync", { form: { intent: "sent", id: String(ids.a) } }),
    );
    expect(sent.status).toBe(200);
    const [row] = await listExports(prisma, ids.shopA);
    expect(row.sentAt).not.toBeNull();
    expect(row.sentBy).toBe(`${A} (development sign-in)`);
    await call(
      syncPage.action as Route,
      admin("/app/sync", { form: { intent: "unsent", id: String(ids.a) } }),
    );
    expect((await listExports(prisma, ids.shopA))[0].sentAt).toBeNull();
  });

  it("cannot mark another shop's request, and say which id was wrong", async () => {
    const admin = await adminAs(A);
    const other = await call(
      syncPage.action as Route,
      admin("/app/sync", { form: { intent: "sent", id: String(ids.b) } }),
    );
    expect(other.status).toBe(404);
    expect(other.text).toContain(`There is no data request "${ids.b}" in this shop.`);
    expect(await prisma.dataExport.count({ where: { sentAt: { not: null } } })).toBe(0);
    const bad = await call(
      syncPage.action as Route,
      admin("/app/sync", { form: { intent: "sent", id: "x1" } }),
    );
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('id: must be a data request id (got "x1")');
  });
});
