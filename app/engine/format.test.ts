import { describe, expect, it } from "vitest";
import {
  date,
  dateTime,
  isoInZone,
  localeFromAcceptLanguage,
  money,
  moneyDecimal,
  relative,
  safeLocale,
  safeTimeZone,
} from "./format";

const ny = { currency: "USD", timeZone: "America/New_York", locale: "en-US" };

describe("figures in the shop's currency, time zone and the reader's locale", () => {
  it("shows money in the shop's currency and the reader's locale", () => {
    expect(money(186870, ny)).toBe("$1,868.70");
    expect(money(186870, { ...ny, currency: "EUR", locale: "de-DE" })).toBe("1.868,70\u00a0€");
    expect(money(1500, { ...ny, currency: "JPY", locale: "ja-JP" })).toBe("￥1,500");
  });

  it("exports money in the currency's decimal units", () => {
    expect(moneyDecimal(186870, "USD")).toBe("1868.70");
    expect(moneyDecimal(1500, "JPY")).toBe("1500");
    expect(moneyDecimal(1234, "KWD")).toBe("1.234");
  });

  it("shows days and moments in the shop's time zone, not the server's", () => {
    // 02:30 UTC on Oct 26 is still Oct 25 in New York.
    expect(date("2026-10-26T02:30:00.000Z", ny)).toBe("Oct 25, 2026");
    expect(dateTime("2026-10-25T14:09:20.000Z", ny)).toMatch(/^Oct 25, 2026, 10:09\sAM$/);
  });

  it("writes ISO 8601 with the shop's offset, through daylight saving changes", () => {
    expect(isoInZone("2026-10-25T14:09:20.000Z", "America/New_York")).toBe("2026-10-25T10:09:20-04:00");
    expect(isoInZone("2026-12-25T14:09:20.000Z", "America/New_York")).toBe("2026-12-25T09:09:20-05:00");
    expect(isoInZone("2026-07-01T00:00:00.000Z", "Asia/Kolkata")).toBe("2026-07-01T05:30:00+05:30");
    expect(isoInZone("2026-07-01T00:00:00.000Z", "UTC")).toBe("2026-07-01T00:00:00+00:00");
  });

  it("says how long ago, in words", () => {
    const now = new Date("2026-12-05T12:00:00Z");
    expect(relative("2026-12-05T09:00:00Z", now, ny)).toBe("3 hours ago");
    expect(relative("2026-12-04T12:00:00Z", now, ny)).toBe("yesterday");
  });

  it("falls back to safe defaults for a locale or zone the runtime does not know", () => {
    expect(safeLocale("not a locale!")).toBe("en-US");
    expect(safeLocale("fr-ca")).toBe("fr-CA");
    expect(safeTimeZone("Mars/Olympus")).toBe("UTC");
    expect(localeFromAcceptLanguage("fr-CA,fr;q=0.9,en;q=0.8")).toBe("fr-CA");
    expect(localeFromAcceptLanguage("*")).toBeNull();
  });
});

describe("ISO times for many rows in one zone", () => {
  it("writes the same text as isoInZone, across daylight-saving changes and odd offsets", async () => {
    const { isoInZoneFor } = await import("./format");
    for (const zone of [
      "America/New_York",
      "Asia/Kathmandu",
      "Australia/Lord_Howe",
      "Pacific/Chatham",
      "UTC",
    ]) {
      const iso = isoInZoneFor(zone);
      // Every ~9 hours for two years, seconds and milliseconds included.
      for (let i = 0; i < 2_000; i++) {
        const at = new Date(Date.UTC(2026, 0, 1) + i * 33_333_331 + (i % 1000));
        if (iso(at) !== isoInZone(at, zone))
          expect(`${zone} ${iso(at)}`).toBe(`${zone} ${isoInZone(at, zone)}`);
      }
    }
    expect(isoInZoneFor("America/New_York")("2026-03-08T07:00:00Z")).toBe("2026-03-08T03:00:00-04:00");
    expect(isoInZoneFor("America/New_York")("2026-03-08T06:59:59Z")).toBe("2026-03-08T01:59:59-05:00");
  });
});
