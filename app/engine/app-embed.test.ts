import { describe, expect, it } from "vitest";
import { activateEmbedUrl, appEmbedState } from "./app-embed";
import { settingsDataJson } from "../../dev/store";

const theme = (appEmbed: "on" | "off" | "missing") => ({ id: 1, name: "Dawn", appEmbed });

describe("whether the app embed is on in the published theme", () => {
  it("reads Shopify's settings_data.json (comment header included): on, off, never activated", () => {
    expect(appEmbedState(settingsDataJson(theme("on")))).toBe("on");
    expect(appEmbedState(settingsDataJson(theme("off")))).toBe("off");
    expect(appEmbedState(settingsDataJson(theme("missing")))).toBe("missing");
  });

  it("ignores other apps' embeds and tells an unreadable file from a missing embed", () => {
    const other = JSON.stringify({
      current: { blocks: { "1": { type: "shopify://apps/reviews/blocks/stars/abc", disabled: false } } },
    });
    expect(appEmbedState(other)).toBe("missing");
    expect(appEmbedState("{ not json")).toBe("unknown");
    expect(appEmbedState(null)).toBe("unknown");
    expect(appEmbedState(JSON.stringify({ current: "Default" }))).toBe("missing");
  });
});

describe("the deep link that switches the embed on", () => {
  it("opens the theme editor's App embeds with the app's embed activated", () => {
    expect(activateEmbedUrl("demo.myshopify.com", "abc123")).toBe(
      "https://demo.myshopify.com/admin/themes/current/editor?context=apps&activateAppId=abc123/slice-embed",
    );
  });
});
