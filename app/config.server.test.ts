import { describe, expect, it } from "vitest";
import { devLoginEnabled } from "./config.server";

describe("the development sign-in", () => {
  it("is on only when asked for outside production", () => {
    expect(devLoginEnabled({ SLICE_DEV_LOGIN: "1", NODE_ENV: "development" })).toBe(true);
    expect(devLoginEnabled({ SLICE_DEV_LOGIN: "0", NODE_ENV: "development" })).toBe(false);
    expect(devLoginEnabled({ NODE_ENV: "development" })).toBe(false);
  });

  it("fails closed in production whatever the flag says", () => {
    expect(devLoginEnabled({ SLICE_DEV_LOGIN: "1", NODE_ENV: "production" })).toBe(false);
  });
});
