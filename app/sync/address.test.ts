import { describe, expect, it } from "vitest";
import { addressHash, normaliseAddress } from "./address";
import { orderFromWebhook } from "./from-webhook";
import { fixtureText } from "../../dev/fixtures";

const home = { address1: "123 Shipping Street", address2: "Apt 4B", zip: "40003", countryCode: "US" };

describe("a shipping address fingerprint", () => {
  it.each([
    ["case and spacing", { ...home, address1: "  123   SHIPPING street " }],
    ["punctuation and abbreviations", { ...home, address1: "123 Shipping St.", address2: "Apt. 4b" }],
    ["a flat written as #4B", { ...home, address2: "#4B" }],
    ["the flat on the first line", { ...home, address1: "123 Shipping St, Unit 4B", address2: null }],
    ["a ZIP+4 and a lower-case country", { ...home, zip: "40003-1234", countryCode: "us" }],
  ])("is the same for the same address typed differently: %s", (_name, typed) => {
    expect(addressHash(typed)).toBe(addressHash(home));
  });

  it("is the same for a German street with ß or abbreviated, and a postcode with or without a space", () => {
    const a = { address1: "Hauptstraße 5", zip: "10115", countryCode: "DE" };
    expect(addressHash({ ...a, address1: "Hauptstr. 5" })).toBe(addressHash(a));
    const uk = { address1: "10 Downing Street", zip: "SW1A 2AA", countryCode: "GB" };
    expect(addressHash({ ...uk, zip: "sw1a2aa" })).toBe(addressHash(uk));
  });

  it("differs for another flat, another house number, another postcode or another country", () => {
    const hash = addressHash(home);
    expect(addressHash({ ...home, address2: "Apt 4C" })).not.toBe(hash);
    expect(addressHash({ ...home, address2: null })).not.toBe(hash);
    expect(addressHash({ ...home, address1: "125 Shipping Street" })).not.toBe(hash);
    expect(addressHash({ ...home, zip: "40004" })).not.toBe(hash);
    expect(addressHash({ ...home, countryCode: "CA" })).not.toBe(hash);
  });

  it("is a SHA-256 hex digest, and null when there is no street line", () => {
    expect(addressHash(home)).toMatch(/^[0-9a-f]{64}$/);
    expect(addressHash(null)).toBeNull();
    expect(addressHash({ address1: " , ", zip: "40003", countryCode: "US" })).toBeNull();
    expect(normaliseAddress(home)).toBe("US|40003|123 shipping st 4b");
  });

  it("is what an order keeps of Shopify's orders/create shipping_address, and null without one", () => {
    const payload = JSON.parse(fixtureText("orders/create")) as Record<string, unknown>;
    // Shopify's sample ships to "123 Shipping Street", 40003, US.
    expect(orderFromWebhook(payload).shippingAddressHash).toBe(
      addressHash({ address1: "123 shipping st.", zip: "40003", countryCode: "US" }),
    );
    expect(orderFromWebhook({ ...payload, shipping_address: null }).shippingAddressHash).toBeNull();
  });
});
