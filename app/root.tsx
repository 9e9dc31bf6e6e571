import { Links, Meta, Outlet, Scripts, ScrollRestoration, useRouteError } from "@remix-run/react";
import type { ReactNode } from "react";
import polarisStyles from "@shopify/polaris/build/esm/styles.css?url";
import { ErrorPage, errorWords } from "./admin/ErrorPage";

/**
 * The document around every page and every error page alike (Remix's Layout export): the server's
 * HTML and the browser's first render are the same tree, so an error page hydrates without a
 * mismatch.
 */
export function Layout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <link rel="preconnect" href="https://cdn.shopify.com/" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

/**
 * Never a blank page: whatever went wrong is said in words, with a way back. Errors under /app are
 * drawn inside the admin's frame by routes/app.tsx; this one catches the rest.
 */
export function ErrorBoundary() {
  const error = useRouteError();
  const { title } = errorWords(error);
  return (
    <>
      <title>{`${title} · Slice`}</title>
      <link rel="stylesheet" href={polarisStyles} />
      <ErrorPage error={error} standalone />
    </>
  );
}
