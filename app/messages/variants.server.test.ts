/**
 * A message's variants from the admin: created, edited and deleted through the page's action,
 * refused with the field named, each share of the treated shoppers computed from the weights, the
 * storefront's cache dropped so the next decision uses them, and another shop's variant out of reach.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import prisma from "../db.server";
import type * as decideServer from "../storefront/decide.server";
import { forgetShopMessages } from "../storefront/decide.server";
import { starterMessages } from "../engine/message";
import { ensurePresets } from "../segments/store.server";
import { createMessage } from "./store.server";
import { listVariants, saveVariant, variantAction, type VariantValues } from "./variants.server";

// The storefront's cache of the shop's messages: dropped on every change, so the next decision uses it.
vi.mock("../storefront/decide.server", async (original) => ({
  ...(await original<typeof decideServer>()),
  forgetShopMessages: vi.fn(),
}));

let shopId = 0;
let otherShopId = 0;
let messageId = 0;
let otherMessageId = 0;

beforeAll(async () => {
  const shop = await prisma.shop.create({ data: { domain: "variants-admin.myshopify.com" } });
  const other = await prisma.shop.create({ data: { domain: "variants-other.myshopify.com" } });
  shopId = shop.id;
  otherShopId = other.id;
  await ensurePresets(prisma, shopId);
  await ensurePresets(prisma, otherShopId);
  const welcome = starterMessages().find((m) => m.segment === "first-time-visitors")!;
  messageId = await createMessage(prisma, shopId, welcome);
  otherMessageId = await createMessage(prisma, otherShopId, welcome);
});
afterAll(() => prisma.$disconnect());

function post(intent: string, values: Partial<VariantValues> & { variantId?: string }): FormData {
  const form = new FormData();
  form.set("intent", intent);
  for (const [key, value] of Object.entries(values)) form.set(key, value);
  return form;
}

async function refusal(p: Promise<unknown>): Promise<Response> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Response) return e;
    throw e;
  }
  throw new Error("not refused");
}

describe("a message's variants", () => {
  it("may test their own discount on a first-purchase offer, refused with the field named when it is not a percent", async () => {
    const blank = { weight: "1", headline: "", body: "", buttonLabel: "" };
    const saved = await saveVariant(prisma, shopId, messageId, null, {
      ...blank,
      name: "Fifteen",
      discount: "15",
    });
    if (!saved?.ok) throw new Error("refused");
    const row = (await listVariants(prisma, shopId, messageId)).find((v) => v.id === saved.id)!;
    expect(row).toMatchObject({ discountValue: 15, discountText: "15%" });
    for (const discount of ["0", "101", "12.5", "ten"]) {
      const r = await saveVariant(prisma, shopId, messageId, saved.id, {
        ...blank,
        name: "Fifteen",
        discount,
      });
      expect(r && !r.ok && r.problems).toEqual([
        { field: "discount", label: "Discount", message: "must be a whole percent from 1 to 100" },
      ]);
    }
    // A plain message gives no code: a discount per variant is refused there.
    const plain = await createMessage(prisma, shopId, {
      ...starterMessages().find((m) => m.segment === "first-time-visitors")!,
      reward: { kind: "none" },
    });
    const refused = await saveVariant(prisma, shopId, plain, null, { ...blank, name: "X", discount: "20" });
    expect(refused && !refused.ok && refused.problems[0]).toMatchObject({
      field: "discount",
      message: "only a first-purchase discount offer can test its discount per variant",
    });
    expect(
      await saveVariant(prisma, shopId, messageId, saved.id, { ...blank, name: "Fifteen", discount: "" }),
    ).toEqual({
      ok: true,
      id: saved.id,
    });
    await prisma.messageVariant.delete({ where: { id: saved.id } });
  });

  it("creates two variants, lists them with their shares, edits one and deletes the other", async () => {
    vi.mocked(forgetShopMessages).mockClear();
    const a = await variantAction(
      prisma,
      shopId,
      messageId,
      post("variant-save", { name: "Control", weight: "1", headline: "", body: "", buttonLabel: "" }),
    );
    expect(a).toMatchObject({ ok: true, intent: "variant-save" });
    const b = await variantAction(
      prisma,
      shopId,
      messageId,
      post("variant-save", {
        name: "  Urgent  ",
        weight: "3",
        headline: "Only today: 10% off",
        body: "  ",
        buttonLabel: "Get it",
      }),
    );
    if (!a.ok || !b.ok) throw new Error("refused");
    expect(await listVariants(prisma, shopId, messageId)).toEqual([
      {
        id: a.variantId,
        name: "Control",
        weight: 1,
        share: 25,
        headline: null,
        body: null,
        buttonLabel: null,
        discountValue: null,
        discountText: null,
      },
      {
        id: b.variantId,
        name: "Urgent",
        weight: 3,
        share: 75,
        headline: "Only today: 10% off",
        body: null,
        buttonLabel: "Get it",
        discountValue: null,
        discountText: null,
      },
    ]);

    const edited = await variantAction(
      prisma,
      shopId,
      messageId,
      post("variant-save", {
        variantId: String(a.variantId),
        name: "Plain",
        weight: "3",
        headline: "",
        body: "Just the usual.",
        buttonLabel: "",
      }),
    );
    expect(edited).toEqual({ ok: true, intent: "variant-save", variantId: a.variantId });
    const rows = await listVariants(prisma, shopId, messageId);
    expect(rows.map((v) => [v.name, v.weight, v.share, v.body])).toEqual([
      ["Plain", 3, 50, "Just the usual."],
      ["Urgent", 3, 50, null],
    ]);

    expect(
      await variantAction(
        prisma,
        shopId,
        messageId,
        post("variant-delete", { variantId: String(b.variantId) }),
      ),
    ).toEqual({ ok: true, intent: "variant-delete", variantId: b.variantId });
    expect((await listVariants(prisma, shopId, messageId)).map((v) => [v.name, v.share])).toEqual([
      ["Plain", 100],
    ]);
    // Two creates, an edit and a delete: each dropped this shop's cached messages.
    expect(vi.mocked(forgetShopMessages).mock.calls).toEqual(Array(4).fill(["variants-admin.myshopify.com"]));
  });

  it("refuses a variant with the fields named, and keeps what was typed", async () => {
    vi.mocked(forgetShopMessages).mockClear();
    const values = {
      name: "x".repeat(41),
      weight: "0",
      headline: "h".repeat(121),
      body: "b".repeat(401),
      buttonLabel: "l".repeat(41),
      discount: "",
    };
    const result = await variantAction(prisma, shopId, messageId, post("variant-save", values));
    if (result.ok) throw new Error("saved");
    expect(result.values).toEqual(values);
    expect(result.problems).toEqual([
      { field: "name", label: "Name", message: "must be at most 40 characters" },
      { field: "weight", label: "Weight", message: "must be a whole number from 1 to 100" },
      { field: "headline", label: "Headline", message: "must be at most 120 characters" },
      { field: "body", label: "Text", message: "must be at most 400 characters" },
      { field: "buttonLabel", label: "Button label", message: "must be at most 40 characters" },
    ]);
    for (const [name, weight, field] of [
      ["  ", "1", "name"],
      ["Ok", "1.5", "weight"],
      ["Ok", "101", "weight"],
      ["Ok", "", "weight"],
      ["Ok", "two", "weight"],
    ]) {
      const r = await saveVariant(prisma, shopId, messageId, null, {
        name,
        weight,
        headline: "",
        body: "",
        buttonLabel: "",
        discount: "",
      });
      expect(r && !r.ok && r.problems.map((p) => p.field)).toEqual([field]);
    }
    expect(await prisma.messageVariant.count({ where: { messageId } })).toBe(1);
    // Nothing changed: the cache stays.
    expect(forgetShopMessages).not.toHaveBeenCalled();
  });

  it("another shop's variant cannot be edited or deleted, nor a variant added to its message", async () => {
    const theirs = await saveVariant(prisma, otherShopId, otherMessageId, null, {
      name: "Theirs",
      weight: "1",
      headline: "",
      body: "",
      buttonLabel: "",
      discount: "",
    });
    if (!theirs?.ok) throw new Error("refused");
    const values = { name: "Hijacked", weight: "5", headline: "", body: "", buttonLabel: "", discount: "" };
    // Through our message, their variant is not found.
    expect(
      (
        await refusal(
          variantAction(
            prisma,
            shopId,
            messageId,
            post("variant-save", { ...values, variantId: String(theirs.id) }),
          ),
        )
      ).status,
    ).toBe(404);
    // Nor through their message, from our shop.
    expect(await saveVariant(prisma, shopId, otherMessageId, theirs.id, values)).toBeNull();
    expect(await saveVariant(prisma, shopId, otherMessageId, null, values)).toBeNull();
    expect(
      (
        await refusal(
          variantAction(
            prisma,
            shopId,
            otherMessageId,
            post("variant-delete", { variantId: String(theirs.id) }),
          ),
        )
      ).status,
    ).toBe(404);
    expect(await listVariants(prisma, shopId, otherMessageId)).toEqual([]);
    expect(
      await prisma.messageVariant.findMany({ where: { messageId: otherMessageId }, select: { name: true } }),
    ).toEqual([{ name: "Theirs" }]);
  });
});
