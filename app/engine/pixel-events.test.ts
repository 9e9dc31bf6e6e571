import { describe, expect, it } from "vitest";
import { CHECKOUT_STEPS, PIXEL_EVENT_TYPES, checkoutStepOf, searchTermOf } from "./pixel-events";

describe("the pixel's stored events", () => {
  it("map each checkout event to its step, in order, and nothing else to a step", () => {
    expect(CHECKOUT_STEPS).toEqual(["started", "contact", "address", "shipping", "payment", "completed"]);
    expect(checkoutStepOf(PIXEL_EVENT_TYPES.checkout_started)).toBe("started");
    expect(checkoutStepOf(PIXEL_EVENT_TYPES.checkout_contact_info_submitted)).toBe("contact");
    expect(checkoutStepOf(PIXEL_EVENT_TYPES.checkout_address_info_submitted)).toBe("address");
    expect(checkoutStepOf(PIXEL_EVENT_TYPES.checkout_shipping_info_submitted)).toBe("shipping");
    expect(checkoutStepOf(PIXEL_EVENT_TYPES.payment_info_submitted)).toBe("payment");
    expect(checkoutStepOf(PIXEL_EVENT_TYPES.checkout_completed)).toBe("completed");
    expect(checkoutStepOf(PIXEL_EVENT_TYPES.cart_viewed)).toBeNull();
    expect(checkoutStepOf("checkout_review")).toBeNull();
  });

  it("store a search as trimmed, single-spaced, ASCII lower case, at most 200 characters", () => {
    expect(searchTermOf("  Winter\t\n BOOTS  ")).toBe("winter boots");
    expect(searchTermOf("ÉPÉE Sword")).toBe("ÉpÉe sword"); // ASCII letters only, as SQLite folds
    expect(searchTermOf("a".repeat(250))).toHaveLength(200);
    // Never half of a character at the cut.
    expect(searchTermOf(`${"a".repeat(199)}😀`)).toBe("a".repeat(199));
    expect(searchTermOf("   ")).toBe("");
  });
});
