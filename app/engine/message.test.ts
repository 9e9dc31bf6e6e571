import { describe, expect, it } from "vitest";
import {
  MessageError,
  fromColumns,
  parseMessage,
  referralTerms,
  starterMessages,
  toColumns,
} from "./message";

const valid = {
  name: "Welcome",
  segment: "first-time-visitors",
  format: "popup",
  trigger: { on: "delay", seconds: 5 },
  content: { headline: "Hello", body: "10% off", button: { label: "Shop", url: "/collections/all" } },
};

function problems(input: unknown) {
  try {
    parseMessage(input);
  } catch (e) {
    if (e instanceof MessageError) return e.problems;
    throw e;
  }
  return [];
}

describe("parseMessage", () => {
  it("accepts a message and fills the defaults: paused, any page, once per session", () => {
    expect(parseMessage(valid)).toMatchObject({
      active: false,
      priority: 0,
      pages: { types: [], pathContains: [] },
      cap: { oncePerSession: true, everyDays: null },
    });
  });

  it("names each field that is wrong", () => {
    expect(
      problems({
        ...valid,
        name: " ",
        format: "modal",
        trigger: { on: "scroll", percent: 150 },
        content: { headline: "", button: { label: "Go", url: "javascript:alert(1)" } },
      }),
    ).toEqual([
      { field: "name", message: "give the message a name" },
      { field: "format", message: "must be one of popup, corner, bar" },
      { field: "trigger.percent", message: "must be at most 100%" },
      { field: "content.headline", message: "give a headline" },
      {
        field: "content.button.url",
        message: 'must be a path on your shop (starting with "/") or an https:// address',
      },
    ]);
  });

  it("refuses an unknown trigger, page type, cap and extra fields", () => {
    expect(problems({ ...valid, trigger: { on: "hover" } })).toEqual([
      { field: "trigger.on", message: "must be one of load, delay, scroll, exit, addToCart" },
    ]);
    expect(problems({ ...valid, pages: { types: ["checkout"] } })[0].field).toBe("pages.types.0");
    expect(problems({ ...valid, cap: { everyDays: 0 } })).toEqual([
      { field: "cap.everyDays", message: "must be at least 1 day" },
    ]);
    expect(problems({ ...valid, html: "<b>" })).toEqual([{ field: "message", message: 'unknown "html"' }]);
  });

  it("allows links on the shop and https only", () => {
    const withUrl = (url: string) =>
      problems({ ...valid, content: { headline: "x", button: { label: "Go", url } } });
    expect(withUrl("/cart")).toEqual([]);
    expect(withUrl("https://example.com/refer?x=1")).toEqual([]);
    expect(withUrl("//evil.example")).toHaveLength(1);
    expect(withUrl("http://example.com")).toHaveLength(1);
  });

  it("round-trips through the stored columns", () => {
    for (const m of [
      ...starterMessages(),
      parseMessage({ ...valid, pages: { types: ["cart", "product"], pathContains: ["/sale"] } }),
    ])
      expect(fromColumns(toColumns(m))).toEqual(m);
  });

  it("gives a referral's friend and referrer each their own reward, the friend's to both when none is said", () => {
    const discount = { type: "percentage", value: 15, validDays: 30, minimumSubtotal: 0 };
    const apart = parseMessage({
      ...valid,
      reward: { kind: "referral", discount, referrerReward: { type: "amount", value: 1000 } },
    });
    expect(apart.reward).toMatchObject({
      discount: { value: 15 },
      referrerReward: { type: "amount", value: 1000 },
    });
    expect(fromColumns(toColumns(apart))).toEqual(apart);
    if (apart.reward.kind !== "referral") throw new Error("not a referral");
    expect(referralTerms(apart.reward, (minor) => `$${(minor / 100).toFixed(2)}`)).toBe(
      "Give 15%, get $10.00",
    );
    const single = parseMessage({ ...valid, reward: { kind: "referral", discount } });
    expect(single.reward).toMatchObject({ referrerReward: { type: "percentage", value: 15 } });
    // Stored before the two were apart: null columns read as the friend's discount.
    const old = { ...toColumns(single), referrerRewardKind: null, referrerRewardValue: null };
    expect(fromColumns(old).reward).toEqual(single.reward);
    expect(
      problems({
        ...valid,
        reward: { kind: "referral", discount, referrerReward: { type: "percentage", value: 0 } },
      }),
    ).toEqual([{ field: "reward.referrerReward.value", message: "must be at least 1" }]);
  });
});
