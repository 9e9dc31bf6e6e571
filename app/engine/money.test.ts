import { describe, expect, it } from "vitest";
import { formatMoney, fromMinorUnits, toMinorUnits } from "./money";

describe("money", () => {
  it.each([
    ["19.99", "USD", 1999],
    ["0.5", "USD", 50],
    ["199", "USD", 19900],
    ["1500", "JPY", 1500],
    ["1500.00", "JPY", 1500],
    ["1.234", "KWD", 1234],
    ["-3.10", "EUR", -310],
    [12.5, "USD", 1250],
  ] as const)("converts %s %s to %d minor units exactly", (amount, currency, minor) => {
    expect(toMinorUnits(amount, currency)).toBe(minor);
  });

  it("never goes through a float (0.1 + 0.2 style errors)", () => {
    expect(toMinorUnits("1005.35", "USD")).toBe(100535);
    expect(toMinorUnits("0.29", "USD")).toBe(29);
  });

  it("refuses what is not an amount, naming it", () => {
    expect(() => toMinorUnits("example string", "USD")).toThrow('"example string" is not a decimal amount');
    expect(() => toMinorUnits("1.999", "USD")).toThrow("more decimals than USD allows");
  });

  it("round-trips back to Shopify's decimal strings", () => {
    expect(fromMinorUnits(1999, "USD")).toBe("19.99");
    expect(fromMinorUnits(5, "USD")).toBe("0.05");
    expect(fromMinorUnits(1500, "JPY")).toBe("1500");
    expect(fromMinorUnits(-310, "EUR")).toBe("-3.10");
    expect(formatMoney(123456, "USD")).toBe("$1,234.56");
  });
});
