/** The one shopifyApp() instance: OAuth, sessions, embedded-admin and app-proxy authentication. */
import "@shopify/shopify-app-remix/adapters/node";
import { ApiVersion, AppDistribution, shopifyApp } from "@shopify/shopify-app-remix/server";
import { PrismaSessionStorage } from "@shopify/shopify-app-session-storage-prisma";
import prisma from "./db.server";
import { config } from "./config.server";
import { onInstalled } from "./sync/install.server";
import { routeShopifyToStandIn } from "./dev-shopify-fetch.server";

// Development and tests: the library's token endpoint and clients talk to the local stand-in.
if (config.adminApiOrigin && config.nodeEnv !== "production")
  routeShopifyToStandIn(config.adminApiOrigin, config.nodeEnv);

export const API_VERSION = ApiVersion.July26;

const shopify = shopifyApp({
  apiKey: config.apiKey,
  apiSecretKey: config.apiSecret,
  apiVersion: API_VERSION,
  scopes: config.scopes,
  appUrl: config.appUrl,
  authPathPrefix: "/auth",
  sessionStorage: new PrismaSessionStorage(prisma),
  distribution: AppDistribution.AppStore,
  future: { unstable_newEmbeddedAuthStrategy: true, expiringOfflineAccessTokens: true },
  hooks: {
    afterAuth: async ({ session }) => {
      await onInstalled(prisma, session.shop);
    },
  },
  ...(config.customShopDomains ? { customShopDomains: config.customShopDomains } : {}),
});

export default shopify;
export const addDocumentResponseHeaders = shopify.addDocumentResponseHeaders;
export const authenticate = shopify.authenticate;
export const unauthenticated = shopify.unauthenticated;
export const login = shopify.login;
export const sessionStorage = shopify.sessionStorage;
