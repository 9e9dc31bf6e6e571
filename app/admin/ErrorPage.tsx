/**
 * What a merchant sees when a page cannot be shown: a Polaris page that says what went wrong in
 * words, with the way back, inside the admin's frame (routes/app.tsx's error boundary, the splat
 * route app.$.tsx for an address that matches no page) or on its own (root.tsx).
 */
import { isRouteErrorResponse } from "@remix-run/react";
import {
  AppProvider as PolarisProvider,
  BlockStack,
  Button,
  Card,
  InlineStack,
  Page,
  Text,
} from "@shopify/polaris";
import enTranslations from "@shopify/polaris/locales/en.json";

export interface ErrorWords {
  status: number;
  title: string;
  detail: string;
}

/** The error in words: the status, a title and one sentence (never a stack trace). */
export function errorWords(error: unknown): ErrorWords {
  const status = isRouteErrorResponse(error) ? error.status : 500;
  // Remix's own 404 says "Error: No route matches URL …": a developer's words, not the merchant's.
  const said =
    isRouteErrorResponse(error) &&
    typeof error.data === "string" &&
    error.data &&
    !/^\s*</.test(error.data) &&
    !/No route matches/.test(error.data)
      ? error.data
      : null;
  const detail = isRouteErrorResponse(error)
    ? (said ??
      (status === 404
        ? "There is no page at this address. It may have moved, or the link may be mistyped."
        : error.statusText || "Something went wrong."))
    : "Something went wrong on Slice's side. Try again; if it keeps happening, the error has been logged.";
  const title =
    status === 404
      ? "Page not found"
      : status === 401 || status === 403
        ? "Not signed in"
        : status === 400
          ? "That request was not valid"
          : "Something went wrong";
  return { status, title, detail };
}

export function ErrorPage({ error, standalone = false }: { error: unknown; standalone?: boolean }) {
  const words = errorWords(error);
  const page = (
    <Page title={words.title}>
      <Card>
        <div role="alert">
          <BlockStack gap="300">
            <Text as="p" tone="subdued" variant="bodySm">
              Error {words.status} · {words.title}
            </Text>
            <Text as="p" id="error-detail">
              {words.detail}
            </Text>
            <InlineStack gap="200">
              <Button variant="primary" url="/app">
                Back to home
              </Button>
              <Button url="/app/sync">Sync health</Button>
            </InlineStack>
          </BlockStack>
        </div>
      </Card>
    </Page>
  );
  return standalone ? <PolarisProvider i18n={enTranslations}>{page}</PolarisProvider> : page;
}
