import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { useFetcher, useLoaderData, useRevalidator } from "@remix-run/react";
import { useEffect } from "react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  DataTable,
  InlineGrid,
  InlineStack,
  Layout,
  Page,
  Text,
} from "@shopify/polaris";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { syncState } from "../sync/status.server";
import { replay } from "../sync/inbox.server";
import { notifyInbox } from "../sync/runtime.server";
import { listExports } from "../privacy/customer-data.server";
import { orderHistoryAccess } from "../sync/scopes.server";
import { OrderHistoryBanner } from "../sync/OrderHistoryBanner";
import { useDownload } from "../download";
import { DEFAULT_PROXY_PATH } from "../storefront/proxy-path.server";
import { storefrontOrigin } from "../storefront/origin";

export async function loader({ request }: LoaderFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const held = await prisma.shop.findUnique({
    where: { domain: shop },
    select: { id: true, proxyPath: true, primaryDomain: true },
  });
  return {
    ...(await syncState(prisma, shop)),
    dataRequests: held ? await listExports(prisma, held.id) : [],
    orderHistory: await orderHistoryAccess(prisma, shop),
    storefront: {
      origin: storefrontOrigin({ domain: shop, primaryDomain: held?.primaryDomain ?? null }),
      proxyPath: held?.proxyPath ?? null,
      defaultPath: DEFAULT_PROXY_PATH,
    },
  };
}

export async function action({ request }: ActionFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const form = await request.formData();
  const intent = form.get("intent");
  if (intent === "replay") {
    const id = form.get("id");
    if (id !== null && !/^\d{1,15}$/.test(String(id)))
      throw new Response(`id: must be an event id (got "${String(id).slice(0, 40)}")`, { status: 400 });
    const count = await replay(prisma, shop, id ? Number(id) : undefined);
    notifyInbox();
    return { message: `${count} event${count === 1 ? "" : "s"} queued again` };
  }
  throw new Response(`Unknown action "${String(intent)}"`, { status: 400 });
}

function when(iso: string | null): string {
  if (!iso) return "never";
  return new Date(iso).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}

const backfillTone = { done: "success", running: "info", failed: "critical", pending: "attention" } as const;

export default function SyncStatus() {
  const state = useLoaderData<typeof loader>();
  const fetcher = useFetcher<typeof action>();
  const revalidator = useRevalidator();
  // Fetched, not linked: inside Shopify's admin only fetch carries the session token.
  const download = useDownload();

  // Sync is live: refresh the figures while this page is open.
  useEffect(() => {
    const timer = setInterval(() => revalidator.state === "idle" && revalidator.revalidate(), 5000);
    return () => clearInterval(timer);
  }, [revalidator]);

  const stats: [string, number][] = [
    ["Customers", state.counts.customers],
    ["Orders", state.counts.orders],
    ["Carts", state.counts.carts],
    ["Checkouts", state.counts.checkouts],
  ];
  const backfillStatus = state.backfill.status as keyof typeof backfillTone;

  return (
    <Page title="Sync status" subtitle={state.shop}>
      <Layout>
        {state.orderHistory.limited && (
          <Layout.Section>
            <OrderHistoryBanner />
          </Layout.Section>
        )}
        {state.backfill.error && (
          <Layout.Section>
            <Banner tone="critical" title="The history import failed">
              <p>{state.backfill.error}</p>
              <p>It is retried automatically; webhooks keep the copy current meanwhile.</p>
            </Banner>
          </Layout.Section>
        )}
        <Layout.Section>
          <InlineGrid columns={{ xs: 2, md: 4 }} gap="400">
            {stats.map(([label, value]) => (
              <Card key={label}>
                <BlockStack gap="100">
                  <Text as="h2" variant="headingSm" tone="subdued">
                    {label}
                  </Text>
                  <Text as="p" variant="heading2xl" id={`count-${label.toLowerCase()}`}>
                    {value.toLocaleString("en-US")}
                  </Text>
                  {label === "Checkouts" && (
                    <Text as="p" tone="subdued">
                      {state.counts.abandonedCheckouts.toLocaleString("en-US")} not completed
                    </Text>
                  )}
                </BlockStack>
              </Card>
            ))}
          </InlineGrid>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                Freshness
              </Text>
              <InlineStack gap="600" wrap>
                <BlockStack gap="100">
                  <Text as="span" tone="subdued">
                    History import
                  </Text>
                  <InlineStack gap="200">
                    <Badge tone={backfillTone[backfillStatus] ?? "info"}>
                      {backfillStatus === "done"
                        ? "Finished"
                        : backfillStatus[0].toUpperCase() + backfillStatus.slice(1)}
                    </Badge>
                    <Text as="span">
                      {backfillStatus === "done"
                        ? when(state.backfill.finishedAt)
                        : state.backfill.phase
                          ? `importing ${state.backfill.phase}`
                          : ""}
                    </Text>
                  </InlineStack>
                </BlockStack>
                <BlockStack gap="100">
                  <Text as="span" tone="subdued">
                    Last webhook
                  </Text>
                  <Text as="span" id="last-webhook">
                    {when(state.lastWebhookAt)}
                  </Text>
                </BlockStack>
                <BlockStack gap="100">
                  <Text as="span" tone="subdued">
                    Last reconciliation
                  </Text>
                  <Text as="span">{when(state.reconciledAt)}</Text>
                </BlockStack>
                <BlockStack gap="100">
                  <Text as="span" tone="subdued">
                    Webhook events
                  </Text>
                  <Text as="span">
                    {state.inbox.done.toLocaleString("en-US")} applied · {state.inbox.pending} waiting ·{" "}
                    {state.inbox.duplicates.toLocaleString("en-US")} duplicates ignored
                  </Text>
                </BlockStack>
              </InlineStack>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <InlineStack align="space-between" blockAlign="center">
                <Text as="h2" variant="headingMd">
                  Events that could not be applied
                </Text>
                {state.failed.length > 0 && (
                  <fetcher.Form method="post">
                    <input type="hidden" name="intent" value="replay" />
                    <Button submit loading={fetcher.state !== "idle"}>
                      Retry all now
                    </Button>
                  </fetcher.Form>
                )}
              </InlineStack>
              {fetcher.data?.message && <Banner tone="success">{fetcher.data.message}</Banner>}
              {state.failed.length === 0 ? (
                <Box paddingBlock="200">
                  <BlockStack gap="100">
                    <Text as="p" variant="headingSm">
                      Nothing failed
                    </Text>
                    <Text as="p" tone="subdued">
                      Every webhook received so far has been applied.
                    </Text>
                  </BlockStack>
                </Box>
              ) : (
                <DataTable
                  columnContentTypes={["text", "text", "text", "numeric", "text", "text"]}
                  headings={["Topic", "Received", "Error", "Attempts", "Status", ""]}
                  rows={state.failed.map((f) => [
                    f.topic,
                    when(f.receivedAt),
                    <span key="e" style={{ whiteSpace: "normal", display: "block", maxWidth: 420 }}>
                      {f.lastError}
                    </span>,
                    f.attempts,
                    f.status === "dead" ? (
                      <Badge tone="critical">Gave up</Badge>
                    ) : (
                      <Badge tone="warning">{`Next try ${when(f.nextAttemptAt)}`}</Badge>
                    ),
                    <fetcher.Form method="post" key="r">
                      <input type="hidden" name="intent" value="replay" />
                      <input type="hidden" name="id" value={f.id} />
                      <Button submit variant="plain">
                        Retry
                      </Button>
                    </fetcher.Form>,
                  ])}
                />
              )}
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="200">
              <Text as="h2" variant="headingMd">
                Storefront
              </Text>
              <Text as="p" id="storefront-proxy-path">
                {state.storefront.proxyPath
                  ? `Your storefront reaches Slice at ${state.storefront.proxyPath} (the app proxy's path, as Shopify last sent it).`
                  : `No storefront request has reached Slice yet; the theme uses ${state.storefront.defaultPath} until one does.`}
              </Text>
              <Text as="p" tone="subdued">
                If you change the app proxy's prefix or subpath in Shopify, open {state.storefront.origin}
                /&lt;prefix&gt;/&lt;subpath&gt; once: Slice records the new path and your theme uses it from
                then on.
              </Text>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                Data requests
              </Text>
              <Text as="p" tone="subdued">
                When a customer asks Shopify for their data, Slice keeps everything it holds about them here
                as a file for you to send them.
              </Text>
              {download.error && (
                <Banner tone="critical" title="Download failed" onDismiss={download.clearError}>
                  <p id="download-error">{download.error}</p>
                </Banner>
              )}
              {state.dataRequests.length === 0 ? (
                <Text as="p" id="data-requests-none">
                  No data requests so far.
                </Text>
              ) : (
                <DataTable
                  columnContentTypes={["text", "text", "text", "text", "text"]}
                  headings={["Received", "Customer", "Email", "Shopify request", ""]}
                  rows={state.dataRequests.map((r) => [
                    when(r.createdAt),
                    r.customerId ?? "–",
                    r.email ?? "–",
                    r.requestId ?? "–",
                    <Button
                      key="d"
                      variant="plain"
                      loading={download.busy === `/app/data-requests/${r.id}`}
                      onClick={() =>
                        void download.start(`/app/data-requests/${r.id}`, `data-request-${r.id}.json`)
                      }
                    >
                      Download JSON
                    </Button>,
                  ])}
                />
              )}
            </BlockStack>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
