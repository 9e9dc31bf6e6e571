import { describe, expect, it } from "vitest";
import { conversionSentence, pointsRange, revenueSentence, smallSegmentWords } from "./PooledEstimate";

const f = { currency: "USD", timeZone: "America/New_York", locale: "en-US" };

describe("the pooled lift in words", () => {
  it("says the offer raised conversion, by how many points, with its interval", () => {
    expect(conversionSentence(4, { estimate: 0.012, interval: [0.003, 0.021], significant: true }, f)).toBe(
      "Across its 4 groups of shoppers, this offer raised conversion by 1.2 points (95% interval +0.3 to +2.1 points).",
    );
    expect(conversionSentence(2, { estimate: -0.02, interval: [-0.035, -0.005], significant: true }, f)).toBe(
      "Across its 2 groups of shoppers, this offer lowered conversion by 2.0 points (95% interval -3.5 to -0.5 points).",
    );
  });

  it("says there is no clear effect yet when the interval includes no change", () => {
    expect(conversionSentence(1, { estimate: 0.004, interval: [-0.003, 0.011], significant: false }, f)).toBe(
      "Across its 1 group of shoppers, this offer changed conversion by +0.4 points, but the 95% interval -0.3 to +1.1 points includes no change: no clear effect yet.",
    );
  });

  it("gives revenue per shopper in the shop's currency and points in the reader's locale", () => {
    expect(revenueSentence({ estimate: 85, interval: [-10.4, 180], significant: false }, f)).toBe(
      "Revenue per shopper: +$0.85 against the held-out shoppers (95% interval -$0.10 to +$1.80, which includes no change).",
    );
    expect(
      revenueSentence(
        { estimate: 85, interval: [10, 180], significant: true },
        { ...f, currency: "EUR", locale: "fr-FR" },
      ),
    ).toBe(
      "Revenue per shopper: +0,85\u00a0€ against the held-out shoppers (95% interval +0,10\u00a0€ to +1,80\u00a0€).",
    );
    expect(pointsRange({ estimate: 0.0123, interval: [-0.004, 0.03] }, { locale: "de-DE" } as typeof f)).toBe(
      "+1,2 (-0,4 to +3,0)",
    );
  });
});

describe("what a segment's size means for measuring it", () => {
  it("flags only segments under 20 as too small, and says smaller ones are measured with an offer's others", () => {
    expect(smallSegmentWords(12, 200, "members", f)).toMatchObject({
      badge: "Too small to measure",
      tone: "warning",
    });
    expect(smallSegmentWords(12, 200, "members", f).text).toMatch(
      /^12 members is under 20: with a 10% holdout/,
    );
    const small = smallSegmentWords(150, 1200, "people", f);
    expect(small.badge).toBe("Measured with others");
    expect(small.text).toMatch(
      /^150 people is under 1,200: .* measured together with the other groups an offer reaches/,
    );
  });
});
