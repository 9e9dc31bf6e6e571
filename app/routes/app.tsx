import type { HeadersFunction, LoaderFunctionArgs } from "@remix-run/node";
import {
  Link,
  Outlet,
  isRouteErrorResponse,
  useLoaderData,
  useLocation,
  useRouteError,
  useRouteLoaderData,
} from "@remix-run/react";
import type { ReactNode } from "react";
import { boundary } from "@shopify/shopify-app-remix/server";
import { AppProvider as ShopifyAppProvider } from "@shopify/shopify-app-remix/react";
import { NavMenu } from "@shopify/app-bridge-react";
import { AppProvider as PolarisProvider, Frame, Navigation, TopBar } from "@shopify/polaris";
import { ChatIcon, HeartIcon, HomeIcon, PersonSegmentIcon } from "@shopify/polaris-icons";
import polarisStyles from "@shopify/polaris/build/esm/styles.css?url";
import enTranslations from "@shopify/polaris/locales/en.json";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { config } from "../config.server";
import { AdminChromeProvider, RemixPolarisLink, type AdminChromeData } from "../admin/chrome";
import { readerFormat } from "../admin/format.server";
import { ErrorPage } from "../admin/ErrorPage";

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
  { url: "/app", label: "Home", icon: HomeIcon },
  { url: "/app/segments", label: "Segments", icon: PersonSegmentIcon },
  { url: "/app/messages", label: "Messages", icon: ChatIcon },
  { url: "/app/sync", label: "Sync health", icon: HeartIcon },
];

type LayoutData = Awaited<ReturnType<typeof loader>>;

/** The admin's frame: Shopify's (App Bridge navigation) when embedded, the demo's own otherwise. */
function AppFrame({ data, children }: { data: LayoutData; children: ReactNode }) {
  const { apiKey, shop, devLogin } = data;
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
          <AdminChromeProvider embedded={false}>{children}</AdminChromeProvider>
        </Frame>
      </PolarisProvider>
    );
  }
  return (
    <ShopifyAppProvider isEmbeddedApp apiKey={apiKey}>
      <NavMenu>
        <Link to="/app" rel="home">
          Home
        </Link>
        <Link to="/app/segments">Segments</Link>
        <Link to="/app/messages">Messages</Link>
        <Link to="/app/sync">Sync health</Link>
      </NavMenu>
      <AdminChromeProvider embedded>{children}</AdminChromeProvider>
    </ShopifyAppProvider>
  );
}

export default function AppLayout() {
  const data = useLoaderData<typeof loader>();
  return (
    <AppFrame data={data}>
      <Outlet />
    </AppFrame>
  );
}

/**
 * Shopify's authentication answers (the bounce page that fetches a session token, a 401 asking
 * App Bridge for a new one) are thrown responses Remix must render as they are: boundary.error.
 * Every other error (a 404 from a page's loader, a bug) is a Polaris page inside the admin's frame.
 */
export function ErrorBoundary() {
  const error = useRouteError();
  const data = useRouteLoaderData<typeof loader>("routes/app");
  if (isRouteErrorResponse(error) && (error.status < 400 || error.status === 401 || !data))
    return boundary.error(error);
  if (!data) return <ErrorPage error={error} standalone />;
  return (
    <AppFrame data={data}>
      <ErrorPage error={error} />
    </AppFrame>
  );
}

export const headers: HeadersFunction = (headersArgs) => boundary.headers(headersArgs);
