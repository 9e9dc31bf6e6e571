import {
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  isRouteErrorResponse,
  useRouteError,
} from "@remix-run/react";

export default function App() {
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
        <Outlet />
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

/** Never a blank page: whatever went wrong is said in words, with a way back. */
export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const detail = isRouteErrorResponse(error)
    ? status === 404
      ? "There is no page at this address. It may have moved, or the link may be mistyped."
      : typeof error.data === "string" && error.data
        ? error.data
        : error.statusText
    : error instanceof Error
      ? error.message
      : "Something went wrong.";
  const title =
    status === 404
      ? "Page not found"
      : status === 401 || status === 403
        ? "Not signed in"
        : "Something went wrong";
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>{`${title} · Slice`}</title>
        <Meta />
        <Links />
      </head>
      <body style={{ fontFamily: "system-ui, sans-serif", padding: "3rem", color: "#303030" }}>
        <main role="alert" style={{ maxWidth: 560, margin: "0 auto" }}>
          <p style={{ color: "#8a6116", fontWeight: 600 }}>Error {status}</p>
          <h1 style={{ fontSize: 24 }}>{title}</h1>
          <p>{detail}</p>
          <p>
            <a href="/app">Back to Slice</a>
          </p>
        </main>
        <Scripts />
      </body>
    </html>
  );
}
