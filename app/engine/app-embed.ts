/**
 * Whether the app embed is switched on in a theme, from the theme's config/settings_data.json as
 * Shopify stores it: an auto-generated comment header, then JSON whose `current.blocks` holds each
 * activated app embed, keyed by a generated id, with `type`
 * "shopify://apps/<app handle>/blocks/<block handle>/<extension uuid>" and a `disabled` flag. An
 * embed the merchant never activated is absent. Pure.
 */

export type AppEmbedState = "on" | "off" | "missing" | "unknown";

/** The app embed block's handle: extensions/slice-storefront/blocks/slice-embed.liquid. */
export const APP_EMBED_BLOCK = "slice-embed";

/** Shopify writes a `/* … *\/` header above the JSON of a theme's config files. */
function withoutCommentHeader(content: string): string {
  return content.replace(/^\s*\/\*[\s\S]*?\*\/\s*/, "");
}

export function appEmbedState(settingsData: string | null, blockHandle = APP_EMBED_BLOCK): AppEmbedState {
  if (settingsData === null) return "unknown";
  let data: unknown;
  try {
    data = JSON.parse(withoutCommentHeader(settingsData));
  } catch {
    return "unknown";
  }
  const current = (data as { current?: unknown } | null)?.current;
  // `current` may be the name of a preset (a string) when the theme uses one unchanged: no embeds.
  if (!current || typeof current !== "object") return "missing";
  const blocks =
    (current as { blocks?: Record<string, { type?: unknown; disabled?: unknown }> }).blocks ?? {};
  const pattern = new RegExp(`^shopify://apps/[^/]+/blocks/${blockHandle}/[^/]+$`);
  const ours = Object.values(blocks).filter((b) => typeof b?.type === "string" && pattern.test(b.type));
  if (!ours.length) return "missing";
  return ours.some((b) => b.disabled !== true) ? "on" : "off";
}

/**
 * The theme editor opened on App embeds with the app's embed switched on for the merchant to save
 * (shopify.dev, theme app extensions: "activateAppId={api_key}/{handle}", context=apps).
 */
export function activateEmbedUrl(shopDomain: string, apiKey: string, blockHandle = APP_EMBED_BLOCK): string {
  const id = `${apiKey}/${blockHandle}`;
  return `https://${shopDomain}/admin/themes/current/editor?context=apps&activateAppId=${encodeURIComponent(id).replace(/%2F/g, "/")}`;
}
