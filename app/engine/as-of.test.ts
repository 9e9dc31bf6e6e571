import { describe, expect, it } from "vitest";
import { factsAsOf, assertEvaluableAsOf, NotEvaluableAsOf } from "./as-of";
import { evaluate, type BrowserFacts, type Facts } from "./evaluate";
import { FIELDS, type Field, type Rule } from "./rules";
import { compile } from "./sql";

const at = (iso: string) => new Date(iso);
const T = at("2026-03-01T00:00:00Z");

function browser(over: Partial<BrowserFacts>): BrowserFacts {
  return {
    firstSeenAt: at("2026-01-01T00:00:00Z"),
    lastSeenAt: at("2026-01-01T00:00:00Z"),
    sessions: 0,
    landingPage: null,
    referrer: null,
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    deviceType: null,
    cart: null,
    events: [],
    ...over,
  };
}

/** A customer with two browsers: the phone, seen before T, and a laptop first seen after it. */
function twoBrowsers(): Facts {
  const phone = browser({
    firstSeenAt: at("2026-01-10T00:00:00Z"),
    lastSeenAt: at("2026-03-20T00:00:00Z"),
    sessions: 2,
    landingPage: "/phone",
    deviceType: "mobile",
    cart: { value: 1500, itemCount: 1, productIds: ["1"], updatedAt: at("2026-02-01T00:00:00Z") },
    events: [
      { type: "session_start", at: at("2026-01-10T00:00:00Z"), resourceId: null },
      { type: "session_start", at: at("2026-03-20T00:00:00Z"), resourceId: null },
    ],
  });
  const laptop = browser({
    firstSeenAt: at("2026-04-01T00:00:00Z"),
    lastSeenAt: at("2026-04-02T00:00:00Z"),
    sessions: 1,
    landingPage: "/laptop",
    deviceType: "desktop",
    events: [{ type: "session_start", at: at("2026-04-01T00:00:00Z"), resourceId: null }],
  });
  return {
    customer: {
      createdAt: at("2026-01-01T00:00:00Z"),
      countryCode: null,
      provinceCode: null,
      city: null,
      tags: [],
      acceptsEmailMarketing: false,
      state: null,
    },
    orders: [],
    checkouts: [],
    cart: null,
    visitor: {
      // Combined now: the laptop is the latest browser.
      sessions: 3,
      firstSeenAt: phone.firstSeenAt,
      lastSeenAt: laptop.lastSeenAt,
      landingPage: "/laptop",
      referrer: null,
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
      deviceType: "desktop",
      events: [...laptop.events, ...phone.events],
      browsers: [laptop, phone],
    },
  };
}

describe("a customer as of a moment", () => {
  it("is made again from the browsers that existed then: the latest then gives the landing page, device and cart", () => {
    const then = factsAsOf(twoBrowsers(), T)!;
    expect(then.visitor).toMatchObject({
      landingPage: "/phone",
      deviceType: "mobile",
      sessions: 1,
      firstSeenAt: at("2026-01-10T00:00:00Z"),
      lastSeenAt: at("2026-01-10T00:00:00Z"),
    });
    expect(then.cart?.value).toBe(1500);
    expect(then.visitor!.events).toHaveLength(1);
  });

  it("after everything is the customer as now", () => {
    const now = factsAsOf(twoBrowsers(), at("2026-05-01T00:00:00Z"))!;
    expect(now.visitor).toMatchObject({
      landingPage: "/laptop",
      sessions: 3,
      lastSeenAt: at("2026-04-02T00:00:00Z"),
    });
  });

  it("has no storefront side before their first browser, and does not exist before they were created", () => {
    expect(factsAsOf(twoBrowsers(), at("2026-01-05T00:00:00Z"))!.visitor).toBeNull();
    expect(factsAsOf(twoBrowsers(), at("2025-12-01T00:00:00Z"))).toBeNull();
    const rule: Rule = { version: 1, match: { field: "visitor.sessions", op: "eq", value: 0 } };
    expect(evaluate(rule, twoBrowsers(), { now: at("2025-12-01T00:00:00Z"), asOf: true }).member).toBe(false);
    expect(evaluate(rule, twoBrowsers(), { now: at("2026-01-05T00:00:00Z"), asOf: true }).member).toBe(true);
  });

  it("without asOf, `now` only moves the clock: what came later still counts", () => {
    const rule: Rule = { version: 1, match: { field: "visitor.landingPage", op: "eq", value: "/laptop" } };
    expect(evaluate(rule, twoBrowsers(), { now: T }).member).toBe(true);
    expect(evaluate(rule, twoBrowsers(), { now: T, asOf: true }).member).toBe(false);
  });
});

describe("fields with no value as of a past moment", () => {
  // The "Predicted" group's fields come from the fit in use, made at its own date: there is no
  // prediction "as of" an earlier moment, so a rule reading one is refused, naming the field.
  it("refuses a rule with a predicted field, by name, in the evaluator and the SQL compiler", () => {
    const rule: Rule = {
      version: 1,
      match: { any: [{ field: "customer.ordersCount", op: "gt", value: 0 }, { segment: "predicted" }] },
    };
    const resolve = () =>
      ({ version: 1, match: { field: "predicted.value12m", op: "gt", value: 100 } }) as Rule;
    const message = /\(predicted.value12m\) cannot be evaluated as of a past moment/;
    expect(() => assertEvaluableAsOf(rule, resolve)).toThrow(NotEvaluableAsOf);
    expect(() => evaluate(rule, twoBrowsers(), { now: T, asOf: true, resolve })).toThrow(message);
    expect(() => compile(rule, "sqlite", { now: T, shopId: 1, asOf: true, resolve })).toThrow(message);
    // Without asOf the same rule is evaluated as usual.
    expect(() => evaluate(rule, twoBrowsers(), { now: T, resolve })).not.toThrow();
  });

  it("accepts every field outside the Predicted group, and refuses every one in it", () => {
    for (const f of Object.keys(FIELDS) as Field[]) {
      const check = () => assertEvaluableAsOf({ version: 1, match: { field: f, op: "isSet" } });
      if (FIELDS[f].group === "Predicted") expect(check).toThrow(NotEvaluableAsOf);
      else expect(check).not.toThrow();
    }
    expect(
      (Object.keys(FIELDS) as Field[]).filter((f) => FIELDS[f].group === "Predicted").length,
    ).toBeGreaterThan(4);
  });
});
