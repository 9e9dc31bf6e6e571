import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { Form, useFetcher, useLoaderData } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  Checkbox,
  DataTable,
  InlineStack,
  Layout,
  Link,
  List,
  Page,
  Text,
  TextField,
} from "@shopify/polaris";
import { useState } from "react";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { segmentDetail } from "../segments/views.server";
import { SizeChart } from "../segments/SizeChart";
import { formatMoney } from "../engine/money";
import { applyPushForm, pushView } from "../segments/push.server";
import { orderHistoryAccess } from "../sync/scopes.server";
import { OrderHistoryBanner } from "../sync/OrderHistoryBanner";
import { orderHistoryConditions } from "../engine/lifetime";
import { describeCondition } from "../engine/rules";
import { shopSegments } from "../segments/store.server";
import { useDownload } from "../download";
import { noteSegmentReviewed } from "../sync/setup.server";

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const customer = new URL(request.url).searchParams.get("customer");
  const detail = await segmentDetail(prisma, shop, params.handle ?? "", customer?.trim() || null);
  if (!detail) throw new Response(`There is no segment "${params.handle}" in this shop.`, { status: 404 });
  await noteSegmentReviewed(prisma, shop); // the home's setup guide: a first segment reviewed
  return {
    ...detail,
    push: await pushView(prisma, shop, detail.handle),
    orderHistory: await orderHistoryNeeds(shop, detail.handle),
  };
}

/** Without read_all_orders: the conditions of this segment that read older order history (else null). */
async function orderHistoryNeeds(shop: string, handle: string): Promise<string[] | null> {
  const access = await orderHistoryAccess(prisma, shop);
  if (!access.limited) return null;
  const held = await prisma.shop.findUnique({
    where: { domain: shop },
    select: { id: true, currency: true },
  });
  if (!held) return null;
  const { rules, resolve } = await shopSegments(prisma, held.id);
  const rule = rules.get(handle);
  const conditions = rule ? orderHistoryConditions(rule, resolve) : [];
  return conditions.length ? [...new Set(conditions.map((c) => describeCondition(c, held.currency)))] : null;
}

export async function action({ request, params }: ActionFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const held = await prisma.segment.findFirst({
    where: { handle: params.handle ?? "", shop: { domain: shop } },
    select: { id: true },
  });
  if (!held) throw new Response(`There is no segment "${params.handle}" in this shop.`, { status: 404 });
  const form = Object.fromEntries(await request.formData());
  return applyPushForm(prisma, shop, params.handle ?? "", form);
}

function when(iso: string | null): string {
  if (!iso) return "never";
  return new Date(iso).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}

type PushState = NonNullable<Awaited<ReturnType<typeof pushView>>>;

/** Where this segment goes outside the app: a tag, the app metafield, a Shopify segment. */
function ShopifyCard({ push }: { push: PushState }) {
  const fetcher = useFetcher<typeof action>();
  const busy = fetcher.state !== "idle";
  const set = (field: "tag" | "metafield", on: boolean) =>
    fetcher.submit({ intent: "push-options", [field]: on ? "on" : "off" }, { method: "post" });
  // Show a switch in its new position while the change is saved (optimistic UI).
  const pending = (field: "tag" | "metafield", saved: boolean) => {
    const value = fetcher.formData?.get(field);
    return value === "on" || value === "off" ? value === "on" : saved;
  };
  const status = push.waiting
    ? `Waiting to push${push.pendingChanges ? ` ${push.pendingChanges} membership changes` : ""}; last pushed ${when(push.pushedAt)}`
    : `Last pushed ${when(push.pushedAt)}`;
  return (
    <Card>
      <BlockStack gap="300">
        <InlineStack align="space-between" blockAlign="center">
          <Text as="h2" variant="headingMd">
            Shopify
          </Text>
          <Text as="span" tone="subdued" id="push-status">
            {status}
          </Text>
        </InlineStack>
        <Text as="p" tone="subdued">
          Use this segment in Shopify Email, Flow and ad audiences.
        </Text>
        {push.pushError && (
          <Banner tone="critical" title="Shopify didn't take the last push">
            <p id="push-error">{push.pushError}</p>
          </Banner>
        )}
        {fetcher.data && !fetcher.data.ok && !push.pushError && (
          <Banner tone="critical">
            <p>{fetcher.data.message}</p>
          </Banner>
        )}
        <Checkbox
          label={`Tag customers (${push.tag})`}
          helpText="Members get the tag when they join and lose it when they leave."
          checked={pending("tag", push.pushTag)}
          disabled={busy}
          onChange={(on) => set("tag", on)}
        />
        <Checkbox
          label="Keep app metafield in sync"
          helpText={`The customer metafield ${push.metafield} lists the handles of every synced segment they are in.`}
          checked={pending("metafield", push.pushMetafield)}
          disabled={busy}
          onChange={(on) => set("metafield", on)}
        />
        <BlockStack gap="200">
          <Text as="h3" variant="headingSm">
            Shopify customer segment
          </Text>
          {push.shopifySegmentUrl && (
            <Text as="p">
              <Link url={push.shopifySegmentUrl} target="_blank">
                {push.shopifySegmentName}
              </Link>{" "}
              is kept in step with this rule.
            </Text>
          )}
          {push.shopifyQuery ? (
            <Box padding="200" background="bg-surface-secondary" borderRadius="200">
              <Text as="p" variant="bodySm" fontWeight="medium">
                <code id="shopify-query">{push.shopifyQuery}</code>
              </Text>
            </Box>
          ) : (
            <BlockStack gap="100">
              <Text as="p" tone="subdued">
                Shopify&apos;s segment language can&apos;t express this rule:
              </Text>
              <List type="bullet">
                {push.unsupported.map((reason) => (
                  <List.Item key={reason}>{reason}</List.Item>
                ))}
              </List>
            </BlockStack>
          )}
          <fetcher.Form method="post">
            <input type="hidden" name="intent" value="shopify-segment" />
            <Button submit disabled={!push.shopifyQuery || busy} loading={busy}>
              {push.shopifySegmentId ? "Update Shopify segment" : "Create Shopify segment"}
            </Button>
          </fetcher.Form>
        </BlockStack>
      </BlockStack>
    </Card>
  );
}

export default function SegmentDetail() {
  const s = useLoaderData<typeof loader>();
  const [customer, setCustomer] = useState(s.why?.customerId ?? "");
  // Fetched, not linked: inside Shopify's admin only fetch carries the session token.
  const download = useDownload();
  const exportUrl = `/app/segments/${s.handle}/export`;
  return (
    <Page
      title={s.name}
      subtitle={s.description}
      backAction={{ content: "Segments", url: "/app/segments" }}
      primaryAction={{ content: "Edit", url: `/app/segments/${s.handle}/edit` }}
      secondaryActions={[
        {
          content: "Export CSV",
          onAction: () => void download.start(exportUrl, `${s.handle}.csv`),
          loading: download.busy === exportUrl,
        },
        { content: "Duplicate", url: `/app/segments/new?from=${s.handle}` },
      ]}
    >
      <Layout>
        {s.orderHistory && (
          <Layout.Section>
            <OrderHistoryBanner conditions={s.orderHistory} />
          </Layout.Section>
        )}
        {download.error && (
          <Layout.Section>
            <Banner tone="critical" title="Export failed" onDismiss={download.clearError}>
              <p id="download-error">{download.error}</p>
            </Banner>
          </Layout.Section>
        )}
        {s.reach < s.minSize && (
          <Layout.Section>
            <Banner tone="warning" title="Too small to measure">
              <p>
                {s.reach.toLocaleString("en-US")} {s.audience === "visitors" ? "visitors" : "members"} is
                under {s.minSize}: an offer shown to this segment cannot show a reliable lift against a
                holdout. Widen the rule or combine it with another segment.
              </p>
            </Banner>
          </Layout.Section>
        )}
        {s.reach > s.maxSize && (
          <Layout.Section>
            <Banner tone="info" title="Broad for a micro-segment">
              <p>
                {s.reach.toLocaleString("en-US")} {s.audience === "visitors" ? "visitors" : "members"} is over{" "}
                {s.maxSize.toLocaleString("en-US")}, the largest size you set for a micro-segment: one message
                rarely fits so many people. Narrow the rule, or raise the limit if this is meant to be broad.
              </p>
            </Banner>
          </Layout.Section>
        )}
        <Layout.Section>
          <Card>
            <BlockStack gap="200">
              <InlineStack align="space-between">
                <Text as="h2" variant="headingMd">
                  Rule
                </Text>
                <BlockStack gap="050" inlineAlign="end">
                  <Text as="span" id="segment-size" variant="headingLg">
                    {s.size.toLocaleString("en-US")} members
                  </Text>
                  {s.audience !== "customers" && (
                    <Text as="span" id="segment-visitors" tone="subdued">
                      {s.visitorSize === null
                        ? "Visitors not counted yet"
                        : `${s.visitorSize.toLocaleString("en-US")} visitors seen in the last 30 days, guests included${s.visitorsAt ? ` (counted ${s.visitorsAt.slice(11, 16)} UTC)` : ""}`}
                    </Text>
                  )}
                </BlockStack>
              </InlineStack>
              {s.lines.map((l, i) => (
                <Box key={i} paddingInlineStart={`${l.depth * 400}` as "0"}>
                  <Text as="p">{l.text}</Text>
                </Box>
              ))}
              <SizeChart points={s.history} />
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                Recent members
              </Text>
              <DataTable
                columnContentTypes={["text", "text", "numeric", "numeric"]}
                headings={["Customer", "Email", "Orders", "Total spent"]}
                rows={s.sample.map((c) => [
                  `${c.firstName ?? ""} ${c.lastName ?? ""}`.trim() || c.shopifyId,
                  c.email ?? "",
                  c.ordersCount,
                  formatMoney(c.totalSpent, "USD"),
                ])}
              />
            </BlockStack>
          </Card>
        </Layout.Section>
        {s.push && (
          <Layout.Section>
            <ShopifyCard push={s.push} />
          </Layout.Section>
        )}
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                Why is a customer in or out?
              </Text>
              <Form method="get">
                <InlineStack gap="200" blockAlign="end">
                  <TextField
                    label="Customer id"
                    name="customer"
                    value={customer}
                    onChange={setCustomer}
                    autoComplete="off"
                  />
                  <Button submit>Explain</Button>
                </InlineStack>
              </Form>
              {s.why && "missing" in s.why && (
                <Banner tone="warning">No customer {s.why.customerId} in this shop.</Banner>
              )}
              {s.why && "reasons" in s.why && (
                <BlockStack gap="200">
                  <Text as="p" id="why-verdict">
                    Customer {s.why.customerId} is {s.why.member ? "in" : "not in"} this segment.
                  </Text>
                  <DataTable
                    columnContentTypes={["text", "text", "text"]}
                    headings={["Condition", "Their value", ""]}
                    rows={s.why.reasons.map((r) => [
                      r.condition,
                      r.value,
                      r.met ? (
                        <Badge key="m" tone="success">
                          Met
                        </Badge>
                      ) : (
                        <Badge key="n">Not met</Badge>
                      ),
                    ])}
                  />
                </BlockStack>
              )}
            </BlockStack>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
