/**
 * The admin's message form on the server: what the merchant typed becomes the one MessageInput,
 * every refusal names the form input it belongs to and hands back what was typed, and the list's
 * kill switch and counts are what the storefront will act on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { ensurePresets } from "../segments/store.server";
import { MESSAGE_EVENTS } from "../storefront/decide.server";
import { createMessage, getMessage } from "./store.server";
import {
  blankValues,
  inputOfValues,
  isoOfLocal,
  localOfIso,
  messageAction,
  messageFormPage,
  messageList,
  saveMessageForm,
  valuesOf,
  type MessageFormValues,
} from "./admin.server";

let shopId = 0;
const now = new Date("2026-11-20T12:00:00Z");

beforeAll(async () => {
  const shop = await prisma.shop.create({ data: { domain: "messages-admin.myshopify.com" } });
  shopId = shop.id;
  await ensurePresets(prisma, shopId);
});
afterAll(() => prisma.$disconnect());

/** A form as the browser posts it (checkboxes present only when ticked). */
function post(values: MessageFormValues, intent = "save"): FormData {
  const form = new FormData();
  form.set("intent", intent);
  for (const [key, value] of Object.entries(values)) {
    if (Array.isArray(value)) for (const v of value) form.append(key, String(v));
    else if (typeof value === "boolean") {
      if (value) form.set(key, "on");
    } else form.set(key, value);
  }
  return form;
}

function filled(overrides: Partial<MessageFormValues> = {}): MessageFormValues {
  return {
    ...blankValues("cart-abandoners"),
    name: "Cart nudge",
    headline: "Your cart is waiting",
    body: "Check out before it sells out.",
    buttonLabel: "Go to cart",
    buttonUrl: "/cart",
    ...overrides,
  };
}

describe("the message form", () => {
  it("a message with a missing headline is refused naming content.headline and the input is kept", async () => {
    const values = filled({ headline: "  ", name: "Kept as typed" });
    const result = await saveMessageForm(prisma, shopId, null, post(values));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { field: "content.headline", message: "give a headline", input: "headline", label: "Headline" },
    ]);
    expect(result.values).toEqual(values);
    expect(await prisma.message.count({ where: { shopId, name: "Kept as typed" } })).toBe(0);
  });

  it("seconds typed as words are refused naming trigger.seconds, along with the validator's other problems", async () => {
    const values = filled({ trigger: "delay", seconds: "soon", priority: "high", name: "" });
    const result = await saveMessageForm(prisma, shopId, null, post(values));
    if (result.ok) throw new Error("saved");
    const byField = Object.fromEntries(result.problems.map((p) => [p.field, [p.input, p.message]]));
    expect(byField).toEqual({
      "trigger.seconds": ["seconds", "must be a number"],
      priority: ["priority", "must be a number"],
      name: ["name", "give the message a name"],
    });
    expect(result.values.seconds).toBe("soon");
  });

  it("an empty number of seconds for a delay trigger is refused naming trigger.seconds", async () => {
    const result = await saveMessageForm(prisma, shopId, null, post(filled({ seconds: "" })));
    if (result.ok) throw new Error("saved");
    expect(result.problems.map((p) => [p.field, p.input, p.message])).toEqual([
      ["trigger.seconds", "seconds", "give the number of seconds"],
    ]);
  });

  it("each wrong URL text, page type and button link is shown on its own input", async () => {
    const values = filled({
      pathContains: "/sale, /cart\n" + Array.from({ length: 10 }, (_, i) => `/p${i}`).join(","),
      pageTypes: ["product", "checkout"],
      buttonUrl: "javascript:alert(1)",
      everyDays: "0",
    });
    const result = await saveMessageForm(prisma, shopId, null, post(values));
    if (result.ok) throw new Error("saved");
    const inputs = Object.fromEntries(result.problems.map((p) => [p.field, p.input]));
    expect(inputs).toMatchObject({
      "pages.pathContains": "pathContains",
      "pages.types.1": "pageTypes",
      "content.button.url": "buttonUrl",
      "cap.everyDays": "everyDays",
    });
  });

  it("a message for a segment the shop does not have is refused naming the segment", async () => {
    const result = await saveMessageForm(prisma, shopId, null, post(filled({ segment: "no-such-segment" })));
    if (result.ok) throw new Error("saved");
    expect(result.problems.map((p) => [p.field, p.input])).toEqual([["segment", "segment"]]);
  });

  it("a filled-in form is saved as typed: URL texts split on commas and lines, no day limit when empty, priority 0 when empty", async () => {
    const values = filled({
      trigger: "scroll",
      percent: " 40 ",
      priority: "",
      everyDays: "",
      pageTypes: ["product", "collection"],
      pathContains: "/collections/sale,\n/products/ ",
      oncePerSession: false,
      format: "corner",
      imageUrl: "https://cdn.example.com/cart.png",
      alsoAll: ["first-time-visitors"],
      anyOf: ["cart-abandoners", "lapsed-customers"],
      exclude: ["high-spend-repeat"],
      startsAt: "2026-12-01T09:00",
      endsAt: "2026-12-24T18:30",
      reward: "referral",
      discountType: "percentage",
      discountValue: "15",
      validDays: "14",
      minimumSubtotal: "40.00",
      referrerRewardType: "amount",
      referrerRewardValue: "5.00",
      holdoutPercent: "20",
    });
    const response = await messageAction(prisma, shopId, null, post(values));
    if (!(response instanceof Response)) throw new Error(JSON.stringify(response));
    expect(response.status).toBe(302);
    // Back to the list, with nothing added to its address (the form shows a toast as it goes).
    expect(response.headers.get("Location")).toBe("/app/messages");
    const { id } = await prisma.message.findFirstOrThrow({ where: { shopId }, orderBy: { id: "desc" } });
    const row = await getMessage(prisma, shopId, id);
    expect(row?.input).toEqual({
      name: "Cart nudge",
      segment: "cart-abandoners",
      format: "corner",
      trigger: { on: "scroll", percent: 40 },
      priority: 0,
      pages: { types: ["product", "collection"], pathContains: ["/collections/sale", "/products/"] },
      cap: { oncePerSession: false, everyDays: null },
      content: {
        headline: "Your cart is waiting",
        body: "Check out before it sells out.",
        button: { label: "Go to cart", url: "/cart" },
        imageUrl: "https://cdn.example.com/cart.png",
      },
      audience: {
        alsoAll: ["first-time-visitors"],
        anyOf: ["cart-abandoners", "lapsed-customers"],
        exclude: ["high-spend-repeat"],
      },
      schedule: { startsAt: "2026-12-01T09:00:00.000Z", endsAt: "2026-12-24T18:30:00.000Z" },
      reward: {
        kind: "referral",
        discount: { type: "percentage", value: 15, validDays: 14, minimumSubtotal: 4000 },
        referrerReward: { type: "amount", value: 500 },
      },
      holdoutPercent: 20,
      active: true,
    });
    // Opened again, the form shows what was saved, and saving it unchanged changes nothing.
    const page = await messageFormPage(prisma, shopId, id);
    expect(page?.values).toEqual(valuesOf(row!.input));
    const again = await saveMessageForm(prisma, shopId, id, post(page!.values));
    expect(again).toEqual({ ok: true, id });
    expect((await getMessage(prisma, shopId, id))?.input).toEqual(row?.input);
  });

  it("a first-purchase discount of 5.00 USD is saved as 500 minor units and shown back as 5.00", async () => {
    const values = filled({
      name: "Five off",
      reward: "firstPurchase",
      discountType: "amount",
      discountValue: "5.00",
      minimumSubtotal: "25",
    });
    const saved = await saveMessageForm(prisma, shopId, null, post(values));
    if (!saved.ok) throw new Error(JSON.stringify(saved.problems));
    const row = await getMessage(prisma, shopId, saved.id);
    expect(row?.input.reward).toEqual({
      kind: "firstPurchase",
      discount: { type: "amount", value: 500, validDays: 7, minimumSubtotal: 2500 },
    });
    const page = await messageFormPage(prisma, shopId, saved.id);
    expect(page?.values).toMatchObject({
      reward: "firstPurchase",
      discountType: "amount",
      discountValue: "5.00",
      minimumSubtotal: "25.00",
    });
    expect(page?.shop.currency).toBe("USD");
    // An amount with more decimals than the currency has is refused, not rounded.
    const refused = await saveMessageForm(prisma, shopId, null, post({ ...values, discountValue: "5.001" }));
    if (refused.ok) throw new Error("saved");
    expect(refused.problems.map((p) => [p.field, p.input])).toEqual([
      ["reward.discount.value", "discountValue"],
    ]);
  });

  it("a discount percentage over 100 is refused naming reward.discount.value", async () => {
    const values = filled({ reward: "firstPurchase", discountType: "percentage", discountValue: "120" });
    const result = await saveMessageForm(prisma, shopId, null, post(values));
    if (result.ok) throw new Error("saved");
    expect(result.problems.map((p) => [p.field, p.input, p.message])).toEqual([
      ["reward.discount.value", "discountValue", "must be at most 100%"],
    ]);
    expect(result.values.discountValue).toBe("120");
  });

  it("an end before the start is refused naming schedule.endsAt", async () => {
    const values = filled({ startsAt: "2026-12-10T09:00", endsAt: "2026-12-01T09:00" });
    const result = await saveMessageForm(prisma, shopId, null, post(values));
    if (result.ok) throw new Error("saved");
    expect(result.problems.map((p) => [p.field, p.input, p.message])).toEqual([
      ["schedule.endsAt", "endsAt", "must be after the start"],
    ]);
  });

  it("a segment both required and excluded is refused naming audience.exclude", async () => {
    const values = filled({ anyOf: ["lapsed-customers"], exclude: ["lapsed-customers"] });
    const result = await saveMessageForm(prisma, shopId, null, post(values));
    if (result.ok) throw new Error("saved");
    expect(result.problems.map((p) => [p.field, p.input])).toEqual([["audience.exclude", "exclude"]]);
    expect(result.values.exclude).toEqual(["lapsed-customers"]);
  });

  it("a holdout over 50% and an image that is not https are refused on their inputs", async () => {
    const values = filled({ holdoutPercent: "60", imageUrl: "http://example.com/a.png" });
    const result = await saveMessageForm(prisma, shopId, null, post(values));
    if (result.ok) throw new Error("saved");
    expect(result.problems.map((p) => [p.field, p.input])).toEqual([
      ["content.imageUrl", "imageUrl"],
      ["holdoutPercent", "holdoutPercent"],
    ]);
  });

  it("dates are read in the shop's time zone and shown back in it", () => {
    expect(isoOfLocal("2026-12-01T09:00", "Europe/Berlin")).toBe("2026-12-01T08:00:00.000Z");
    expect(isoOfLocal("2026-07-01T09:00", "America/New_York")).toBe("2026-07-01T13:00:00.000Z");
    expect(localOfIso("2026-07-01T13:00:00.000Z", "America/New_York")).toBe("2026-07-01T09:00");
    expect(localOfIso("2026-12-01T08:00:30Z", "Europe/Berlin")).toBe("2026-12-01T09:00:30");
    expect(isoOfLocal("2026-02-30T09:00", "UTC")).toBeNull();
    const shop = { currency: "JPY", timeZone: "Asia/Tokyo" };
    const { input, problems } = inputOfValues(
      filled({
        startsAt: "2026-12-01T09:00",
        reward: "firstPurchase",
        discountType: "amount",
        discountValue: "500",
      }),
      shop,
    );
    expect(problems).toEqual([]);
    expect(input).toMatchObject({
      schedule: { startsAt: "2026-12-01T00:00:00.000Z", endsAt: null },
      reward: { discount: { type: "amount", value: 500 } },
    });
  });

  it("editing a message through the form keeps its reward, audience, schedule and holdout", async () => {
    const created = await createMessage(prisma, shopId, {
      name: "Set up elsewhere",
      segment: "first-time-visitors",
      format: "popup",
      trigger: { on: "load" },
      content: { headline: "Welcome", imageUrl: "https://cdn.example.com/w.png" },
      audience: { alsoAll: [], anyOf: ["cart-abandoners"], exclude: ["high-spend-repeat"] },
      schedule: { startsAt: "2026-12-01T09:15:00+01:00", endsAt: null },
      reward: {
        kind: "firstPurchase",
        discount: { type: "amount", value: 1250, validDays: 30, minimumSubtotal: 5000 },
      },
      holdoutPercent: 25,
      active: false,
    });
    const before = (await getMessage(prisma, shopId, created))!.input;
    const page = await messageFormPage(prisma, shopId, created);
    // The merchant changes only the headline.
    const saved = await saveMessageForm(
      prisma,
      shopId,
      created,
      post({ ...page!.values, headline: "Hello" }),
    );
    expect(saved).toEqual({ ok: true, id: created });
    const after = (await getMessage(prisma, shopId, created))!.input;
    expect(after).toEqual({ ...before, content: { ...before.content, headline: "Hello" } });
    expect(after.schedule.startsAt).toBe("2026-12-01T08:15:00.000Z");
  });

  it("a message with no button label and no link has no button", async () => {
    const result = await saveMessageForm(
      prisma,
      shopId,
      null,
      post(filled({ buttonLabel: "", buttonUrl: " ", name: "No button" })),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect((await getMessage(prisma, shopId, result.id))?.input.content.button).toBeNull();
  });
});

describe("the message list", () => {
  it("pausing a message from the list takes it off, switching it on puts it back, and the list says so", async () => {
    const saved = await saveMessageForm(prisma, shopId, null, post(filled({ name: "Switchable" })));
    if (!saved.ok) throw new Error("not saved");
    const kill = new FormData();
    kill.set("intent", "active");
    kill.set("id", String(saved.id));
    kill.set("active", "off");
    expect(await messageAction(prisma, shopId, null, kill)).toEqual({ ok: true, active: false });
    expect((await messageList(prisma, shopId, now)).find((m) => m.id === saved.id)?.active).toBe(false);
    kill.set("active", "on");
    expect(await messageAction(prisma, shopId, null, kill)).toEqual({ ok: true, active: true });
    expect((await getMessage(prisma, shopId, saved.id))?.input.active).toBe(true);
  });

  it("shows each message's shown, clicked and dismissed counts for the last 30 days only", async () => {
    const saved = await saveMessageForm(prisma, shopId, null, post(filled({ name: "Counted" })));
    if (!saved.ok) throw new Error("not saved");
    await prisma.visitor.create({
      data: { id: "v-counted", shopId, firstSeenAt: now, lastSeenAt: now },
    });
    const day = 24 * 3600 * 1000;
    const event = (type: string, daysAgo: number) => ({
      shopId,
      visitorId: "v-counted",
      type,
      resourceId: String(saved.id),
      occurredAt: new Date(now.getTime() - daysAgo * day),
    });
    await prisma.storefrontEvent.createMany({
      data: [
        event(MESSAGE_EVENTS.shown, 1),
        event(MESSAGE_EVENTS.shown, 2),
        event(MESSAGE_EVENTS.shown, 3),
        event(MESSAGE_EVENTS.shown, 45),
        event(MESSAGE_EVENTS.clicked, 1),
        event(MESSAGE_EVENTS.dismissed, 2),
      ],
    });
    const row = (await messageList(prisma, shopId, now)).find((m) => m.id === saved.id);
    expect(row).toMatchObject({
      name: "Counted",
      reward: null,
      holdoutPercent: 10,
      segmentName: "Cart abandoners",
      format: "Popup",
      trigger: "After 5 s",
      shown: 3,
      clicked: 1,
      dismissed: 1,
    });
  });

  it("marks a message whose segment was deleted", async () => {
    const saved = await saveMessageForm(
      prisma,
      shopId,
      null,
      post(filled({ name: "Orphan", segment: "lapsed-customers" })),
    );
    if (!saved.ok) throw new Error("not saved");
    await prisma.segment.delete({ where: { shopId_handle: { shopId, handle: "lapsed-customers" } } });
    const row = (await messageList(prisma, shopId, now)).find((m) => m.id === saved.id);
    expect(row?.segmentName).toBeNull();
    expect((await messageFormPage(prisma, shopId, saved.id))?.existing?.segmentMissing).toBe(true);
  });

  it("deleting a message goes back to the list and the message is gone", async () => {
    const saved = await saveMessageForm(prisma, shopId, null, post(filled({ name: "Short-lived" })));
    if (!saved.ok) throw new Error("not saved");
    const form = new FormData();
    form.set("intent", "delete");
    const response = await messageAction(prisma, shopId, saved.id, form);
    expect(response instanceof Response && response.headers.get("Location")).toBe("/app/messages?deleted=1");
    expect(await getMessage(prisma, shopId, saved.id)).toBeNull();
  });
});
