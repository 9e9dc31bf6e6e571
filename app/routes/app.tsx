import type { HeadersFunction, LoaderFunctionArgs } from "@remix-run/node";
import { Link, Outlet, useLoaderData, useLocation, useRouteError } from "@remix-run/react";
import { boundary } from "@shopify/shopify-app-remix/server";
import { AppProvider as ShopifyAppProvider } from "@shopify/shopify-app-remix/react";
import { NavMenu } from "@shopify/app-bridge-react";
import { AppProvider as PolarisProvider, Frame, Navigation, TopBar } from "@shopify/polaris";
import { ChatIcon, HomeIcon, PersonSegmentIcon } from "@shopify/polaris-icons";
import polarisStyles from "@shopify/polaris/build/esm/styles.css?url";
import enTranslations from "@shopify/polaris/locales/en.json";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { config } from "../config.server";
import { AdminChromeProvider, RemixPolarisLink, type AdminChromeData } from "../admin/chrome";
import { readerFormat } from "../admin/format.server";

export const links = () => [{ rel: "stylesheet", href: polarisStyles }];

export async function loader({ request }: LoaderFunctionArgs) {
  const admin = await requireAdmin(request);
  const chrome: AdminChromeData = {
    shop: admin.shop,
    devLogin: admin.devLogin,
    format: await readerFormat(prisma, admin.shop, request),
  };
  return { apiKey: config.apiKey, ...chrome };
}

const sections = [
  { url: "/app", label: "Sync status", icon: HomeIcon },
  { url: "/app/segments", label: "Segments", icon: PersonSegmentIcon },
  { url: "/app/messages", label: "Messages", icon: ChatIcon },
];

export default function AppLayout() {
  const { apiKey, shop, devLogin } = useLoaderData<typeof loader>();
  const location = useLocation();
  if (devLogin) {
    // The demo runs outside Shopify's admin, so it draws the navigation Shopify would draw.
    return (
      <PolarisProvider i18n={enTranslations} linkComponent={RemixPolarisLink}>
        <Frame
          topBar={
            <TopBar
              userMenu={<span style={{ color: "white", padding: 12 }}>{shop} · development sign-in</span>}
            />
          }
          navigation={
            <Navigation location={location.pathname}>
              <Navigation.Section
                items={sections.map((s) => ({
                  ...s,
                  selected:
                    s.url === "/app" ? location.pathname === "/app" : location.pathname.startsWith(s.url),
                }))}
              />
            </Navigation>
          }
        >
          <AdminChromeProvider embedded={false}>
            <Outlet />
          </AdminChromeProvider>
        </Frame>
      </PolarisProvider>
    );
  }
  return (
    <ShopifyAppProvider isEmbeddedApp apiKey={apiKey}>
      <NavMenu>
        <Link to="/app" rel="home">
          Sync status
        </Link>
        <Link to="/app/segments">Segments</Link>
        <Link to="/app/messages">Messages</Link>
      </NavMenu>
      <AdminChromeProvider embedded>
        <Outlet />
      </AdminChromeProvider>
    </ShopifyAppProvider>
  );
}

// Shopify needs Remix to catch some thrown responses, so that their headers are included.
export function ErrorBoundary() {
  return boundary.error(useRouteError());
}

export const headers: HeadersFunction = (headersArgs) => boundary.headers(headersArgs);
