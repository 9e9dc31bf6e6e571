import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import {
  DEV_API_KEY,
  DEV_API_SECRET,
  devLoginEnabled,
  inboxRetentionDays,
  productionProblems,
} from "./config.server";

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

describe("the inbox's retention setting", () => {
  it("is 7 days unless set, takes a whole number of days, and refuses anything else naming the setting and the value", () => {
    expect(inboxRetentionDays({})).toBe(7);
    expect(inboxRetentionDays({ SLICE_INBOX_RETENTION_DAYS: "" })).toBe(7);
    expect(inboxRetentionDays({ SLICE_INBOX_RETENTION_DAYS: "30" })).toBe(30);
    expect(inboxRetentionDays({ SLICE_INBOX_RETENTION_DAYS: " 1 " })).toBe(1);
    for (const bad of ["0", "-3", "2.5", "7d", "seven", "99999"])
      expect(() => inboxRetentionDays({ SLICE_INBOX_RETENTION_DAYS: bad })).toThrow(
        `SLICE_INBOX_RETENTION_DAYS must be a whole number of days from 1 to 3650 (how long an applied webhook keeps its payload); it is "${bad}"`,
      );
  });
});

describe("production secrets", () => {
  const key = "a-real-client-id";
  const secret = "a-real-client-secret";

  it("refuses a missing or development API key or secret in production, naming each", () => {
    expect(
      productionProblems({ NODE_ENV: "production", SHOPIFY_API_KEY: key, SHOPIFY_API_SECRET: secret }),
    ).toBeNull();
    expect(productionProblems({ NODE_ENV: "production", SHOPIFY_API_KEY: key })).toMatch(
      /^Slice cannot start in production: SHOPIFY_API_SECRET is not set\./,
    );
    expect(
      productionProblems({
        NODE_ENV: "production",
        SHOPIFY_API_KEY: DEV_API_KEY,
        SHOPIFY_API_SECRET: DEV_API_SECRET,
      }),
    ).toMatch(/SHOPIFY_API_KEY is the development default; SHOPIFY_API_SECRET is the development default/);
    expect(
      productionProblems({ NODE_ENV: "production", SHOPIFY_API_KEY: " ", SHOPIFY_API_SECRET: secret }),
    ).toMatch(/SHOPIFY_API_KEY is not set/);
    // Development and tests keep their defaults.
    expect(productionProblems({ NODE_ENV: "development" })).toBeNull();
  });

  it("the built server stops at start in production without a secret, with the reason", () => {
    if (!existsSync("build/server.mjs"))
      throw new Error("build/server.mjs is missing: run `npm run build` first");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: "production",
      PORT: "0",
      SHOPIFY_API_KEY: key,
    };
    delete env.SHOPIFY_API_SECRET;
    const run = spawnSync(process.execPath, ["build/server.mjs"], { env, encoding: "utf8", timeout: 60_000 });
    expect(run.status).not.toBe(0);
    expect(run.stdout).not.toMatch(/listening on/);
    expect(run.stderr).toMatch(/Slice cannot start in production: SHOPIFY_API_SECRET is not set/);
    const dev = spawnSync(process.execPath, ["build/server.mjs"], {
      env: { ...env, SHOPIFY_API_SECRET: DEV_API_SECRET },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(dev.status).not.toBe(0);
    expect(dev.stderr).toMatch(/SHOPIFY_API_SECRET is the development default/);
  });
});
