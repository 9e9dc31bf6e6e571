/**
 * Whether the app embed is on in the shop's published theme, read through the Admin API (themes
 * with role MAIN → its config/settings_data.json; needs read_themes) and cached on the Shop row for
 * a short while: the home asks on every load, the Admin API is asked at most once a minute unless
 * the merchant says they turned it on.
 */
import type { PrismaClient } from "@prisma/client";
import { adminDocument } from "../sync/documents";
import type { AdminApi } from "../sync/admin-api.server";
import { appEmbedState, type AppEmbedState } from "../engine/app-embed";

export const MAIN_THEME_SETTINGS = adminDocument(
  "storefront/app-embed MAIN_THEME_SETTINGS",
  `query SliceMainThemeSettings {
  themes(first: 1, roles: [MAIN]) {
    nodes {
      id
      name
      files(first: 1, filenames: ["config/settings_data.json"]) {
        nodes {
          filename
          body {
            ... on OnlineStoreThemeFileBodyText { content }
          }
        }
      }
    }
  }
}`,
);

interface ThemeSettingsAnswer {
  themes: {
    nodes: {
      id: string;
      name: string;
      files: { nodes: { filename: string; body: { content?: string } | null }[] };
    }[];
  };
}

/** How long a reading of the theme stands before the Admin API is asked again. */
export const APP_EMBED_CACHE_MS = 60_000;

export interface AppEmbedStatus {
  state: AppEmbedState;
  themeName: string | null;
  checkedAt: string | null;
}

/** Reads the published theme now (no cache). */
export async function readAppEmbed(
  api: AdminApi,
): Promise<{ state: AppEmbedState; themeName: string | null }> {
  const { themes } = await api.request<ThemeSettingsAnswer>(MAIN_THEME_SETTINGS, {}, 5);
  const theme = themes.nodes[0];
  if (!theme) return { state: "missing", themeName: null };
  const file = theme.files.nodes.find((f) => f.filename === "config/settings_data.json");
  return { state: appEmbedState(file?.body?.content ?? null), themeName: theme.name };
}

/**
 * The embed's state, from the cache when it is fresh (and `force` is not set), otherwise from the
 * Admin API. A failed read (Shopify down, read_themes not granted) is "unknown", never an error
 * page: the home then offers the deep link and a "Check again".
 */
export async function appEmbedStatus(
  db: PrismaClient,
  shopDomain: string,
  api: () => Promise<AdminApi>,
  options: { now?: Date; force?: boolean } = {},
): Promise<AppEmbedStatus> {
  const now = options.now ?? new Date();
  const shop = await db.shop.findUnique({
    where: { domain: shopDomain },
    select: { id: true, appEmbed: true, appEmbedCheckedAt: true },
  });
  if (!shop) return { state: "unknown", themeName: null, checkedAt: null };
  const fresh =
    shop.appEmbedCheckedAt && now.getTime() - shop.appEmbedCheckedAt.getTime() < APP_EMBED_CACHE_MS;
  if (fresh && !options.force && shop.appEmbed)
    return {
      state: shop.appEmbed as AppEmbedState,
      themeName: null,
      checkedAt: shop.appEmbedCheckedAt!.toISOString(),
    };
  let read: { state: AppEmbedState; themeName: string | null };
  try {
    read = await readAppEmbed(await api());
  } catch (error) {
    console.error(`app embed of ${shopDomain}:`, (error as Error).message);
    read = { state: "unknown", themeName: null };
  }
  await db.shop.update({ where: { id: shop.id }, data: { appEmbed: read.state, appEmbedCheckedAt: now } });
  return { ...read, checkedAt: now.toISOString() };
}
