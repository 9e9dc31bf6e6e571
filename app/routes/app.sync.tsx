/**
 * Sync health: how much of the shop Slice holds, how fresh it is, the webhook events it could not
 * apply (in words, the raw error behind "Technical details"), the storefront's proxy path, and the
 * customers' data requests with their 30-day due date and a "sent" mark.
 */
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { useFetcher, useLoaderData, useRevalidator } from "@remix-run/react";
import { useEffect, useState } from "react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  Collapsible,
  DataTable,
  InlineGrid,
  InlineStack,
  Layout,
  Page,
  Text,
} from "@shopify/polaris";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { syncState, type FailedEvent } from "../sync/status.server";
import { replay } from "../sync/inbox.server";
import { notifyInbox } from "../sync/runtime.server";
import { listExports, markExportSent } from "../privacy/customer-data.server";
import { orderHistoryAccess } from "../sync/scopes.server";
import { OrderHistoryBanner } from "../sync/OrderHistoryBanner";
import { ImportStatus } from "../sync/ImportStatus";
import { retryImport } from "../sync/setup.server";
import { useDownload } from "../download";
import { DEFAULT_PROXY_PATH } from "../storefront/proxy-path.server";
import { storefrontOrigin } from "../storefront/origin";
import { useShopFormat } from "../admin/chrome";
import { count as countOf, dateTime, date, relative } from "../engine/format";

export async function loader({ request }: LoaderFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const held = await prisma.shop.findUnique({
    where: { domain: shop },
    select: { id: true, proxyPath: true, primaryDomain: true },
  });
  return {
    ...(await syncState(prisma, shop)),
    now: new Date().toISOString(),
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
  const { shop, devLogin } = await requireAdmin(request);
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
  if (intent === "retry-import") return { message: await retryImport(prisma, shop) };
  if (intent === "sent" || intent === "unsent") {
    const id = String(form.get("id") ?? "");
    if (!/^\d{1,15}$/.test(id))
      throw new Response(`id: must be a data request id (got "${id.slice(0, 40)}")`, { status: 400 });
    const held = await prisma.shop.findUnique({ where: { domain: shop }, select: { id: true } });
    // Who: the shop's admin as signed in (Shopify's session here is the shop's, not a staff member's).
    const by = intent === "sent" ? (devLogin ? `${shop} (development sign-in)` : shop) : null;
    if (!held || !(await markExportSent(prisma, held.id, Number(id), by)))
      throw new Response(`There is no data request "${id}" in this shop.`, { status: 404 });
    return { message: intent === "sent" ? "Marked as sent" : "Marked as not sent" };
  }
  throw new Response(`Unknown action "${String(intent)}"`, { status: 400 });
}

function FailedEventRow({ event, onRetry }: { event: FailedEvent; onRetry: () => void }) {
  const f = useShopFormat();
  const [open, setOpen] = useState(false);
  const id = `technical-${event.id}`;
  return (
    <Box paddingBlock="300" borderBlockStartWidth="025" borderColor="border" data-failed-event={event.id}>
      <BlockStack gap="150">
        <InlineStack align="space-between" blockAlign="start" wrap={false} gap="400">
          <BlockStack gap="100">
            <Text as="p" fontWeight="semibold">
              {event.summary}
            </Text>
            <Text as="p" tone="subdued">
              {event.next}
            </Text>
            <Text as="p" tone="subdued" variant="bodySm">
              Received {dateTime(event.receivedAt, f)} · {countOf(event.attempts, f)} attempt
              {event.attempts === 1 ? "" : "s"}
            </Text>
          </BlockStack>
          <InlineStack gap="200" blockAlign="center" wrap={false}>
            {event.status === "dead" ? (
              <Badge tone="critical">Gave up</Badge>
            ) : (
              <Badge tone="warning">{`Next try ${dateTime(event.nextAttemptAt, f)}`}</Badge>
            )}
            <Button onClick={onRetry}>Retry</Button>
          </InlineStack>
        </InlineStack>
        <Box>
          <Button
            variant="plain"
            disclosure={open ? "up" : "down"}
            onClick={() => setOpen(!open)}
            ariaControls={id}
            ariaExpanded={open}
          >
            Technical details
          </Button>
        </Box>
        <Collapsible id={id} open={open} transition={false}>
          <Box background="bg-surface-secondary" padding="200" borderRadius="200">
            <BlockStack gap="100">
              <Text as="p" variant="bodySm">
                Event #{event.id} · topic {event.topic}
              </Text>
              <Text as="p" variant="bodySm" breakWord>
                <code>{event.lastError ?? "(no error recorded)"}</code>
              </Text>
            </BlockStack>
          </Box>
        </Collapsible>
      </BlockStack>
    </Box>
  );
}

export default function SyncHealth() {
  const state = useLoaderData<typeof loader>();
  const fetcher = useFetcher<typeof action>();
  const revalidator = useRevalidator();
  const f = useShopFormat();
  const now = new Date(state.now);
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
  const when = (iso: string | null) => (iso ? dateTime(iso, f) : "never");
  const submit = (data: Record<string, string>) => fetcher.submit(data, { method: "post" });
  // What the last action did, until the merchant dismisses it (or does something else).
  const [said, setSaid] = useState<string | null>(null);
  useEffect(() => setSaid(fetcher.data?.message ?? null), [fetcher.data]);

  return (
    <Page title="Sync health" subtitle="How much of your store Slice holds, and anything it could not apply">
      <Layout>
        {state.orderHistory.limited && (
          <Layout.Section>
            <OrderHistoryBanner />
          </Layout.Section>
        )}
        {said && (
          <Layout.Section>
            <Banner tone="success" onDismiss={() => setSaid(null)}>
              <span id="sync-message">{said}</span>
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
                    {countOf(value, f)}
                  </Text>
                  {label === "Checkouts" && (
                    <Text as="p" tone="subdued">
                      {countOf(state.counts.abandonedCheckouts, f)} not completed
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
                History import
              </Text>
              <ImportStatus
                backfill={state.backfill}
                now={now}
                onRetry={() => submit({ intent: "retry-import" })}
              />
            </BlockStack>
          </Card>
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
                    Last webhook
                  </Text>
                  <Text as="span" id="last-webhook">
                    {state.lastWebhookAt ? relative(state.lastWebhookAt, now, f) : "never"}
                  </Text>
                </BlockStack>
                <BlockStack gap="100">
                  <Text as="span" tone="subdued">
                    Last reconciliation with Shopify
                  </Text>
                  <Text as="span">{when(state.reconciledAt)}</Text>
                </BlockStack>
                <BlockStack gap="100">
                  <Text as="span" tone="subdued">
                    Updates from Shopify (webhooks)
                  </Text>
                  <Text as="span">
                    {countOf(state.inbox.done, f)} applied · {countOf(state.inbox.pending, f)} waiting ·{" "}
                    {countOf(state.inbox.duplicates, f)} repeats ignored
                  </Text>
                </BlockStack>
              </InlineStack>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="200">
              <InlineStack align="space-between" blockAlign="center">
                <Text as="h2" variant="headingMd">
                  Updates that could not be applied
                </Text>
                {state.failed.length > 0 && (
                  <Button loading={fetcher.state !== "idle"} onClick={() => submit({ intent: "replay" })}>
                    Retry all now
                  </Button>
                )}
              </InlineStack>
              {state.failed.length === 0 ? (
                <Box paddingBlock="200">
                  <BlockStack gap="100">
                    <Text as="p" variant="headingSm">
                      Nothing failed
                    </Text>
                    <Text as="p" tone="subdued">
                      Every update Shopify sent so far has been applied.
                    </Text>
                  </BlockStack>
                </Box>
              ) : (
                <BlockStack>
                  {state.failed.map((event) => (
                    <FailedEventRow
                      key={event.id}
                      event={event}
                      onRetry={() => submit({ intent: "replay", id: String(event.id) })}
                    />
                  ))}
                </BlockStack>
              )}
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
                as a file for you to send them. You have {30} days from the request to send it.
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
                  columnContentTypes={["text", "text", "text", "text", "text", "text"]}
                  headings={["Received", "Customer", "Due", "Status", "", ""]}
                  rows={state.dataRequests.map((r) => {
                    const overdue = !r.sentAt && Date.parse(r.dueAt) < now.getTime();
                    return [
                      date(r.createdAt, f),
                      r.email ?? (r.customerId ? `Customer ${r.customerId}` : "–"),
                      <span key="due" data-due={r.id}>
                        {date(r.dueAt, f)}
                      </span>,
                      r.sentAt ? (
                        <Badge key="s" tone="success">{`Sent ${date(r.sentAt, f)}`}</Badge>
                      ) : overdue ? (
                        <Badge key="s" tone="critical">
                          Overdue
                        </Badge>
                      ) : (
                        <Badge key="s" tone="attention">{`Due ${relative(r.dueAt, now, f)}`}</Badge>
                      ),
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
                      <Button
                        key="m"
                        variant="plain"
                        onClick={() => submit({ intent: r.sentAt ? "unsent" : "sent", id: String(r.id) })}
                      >
                        {r.sentAt ? "Mark as not sent" : "Mark as sent"}
                      </Button>,
                    ];
                  })}
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
                If you change the app proxy&apos;s prefix or subpath in Shopify, open{" "}
                {state.storefront.origin}
                /&lt;prefix&gt;/&lt;subpath&gt; once: Slice records the new path and your theme uses it from
                then on.
              </Text>
            </BlockStack>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
