import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { Form, useFetcher, useLoaderData, useNavigate, useSearchParams } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  Checkbox,
  DataTable,
  EmptyState,
  IndexTable,
  InlineStack,
  Layout,
  Link,
  List,
  Page,
  Pagination,
  Text,
  TextField,
} from "@shopify/polaris";
import { useState } from "react";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { segmentDetail, type MemberRow } from "../segments/views.server";
import { readerFormat } from "../admin/format.server";
import { explainMember, type Explanation } from "../segments/explain.server";
import { customerName } from "../segments/people";
import { SizeChart } from "../segments/SizeChart";
import { count, date, dateTime, money, percent, type ShopFormat } from "../engine/format";
import { shopifyAdminUrl, useShopDomain, useShopFormat } from "../admin/chrome";
import { applyPushForm, pushView } from "../segments/push.server";
import { orderHistoryAccess } from "../sync/scopes.server";
import { OrderHistoryBanner } from "../sync/OrderHistoryBanner";
import { orderHistoryConditions } from "../engine/lifetime";
import { describeCondition } from "../engine/rules";
import { shopSegments } from "../segments/store.server";
import { useDownload } from "../download";
import { SmallSegmentBanner } from "../offers/PooledEstimate";
import { noteSegmentReviewed } from "../sync/setup.server";
import { predictionView, readsPredictions, type PredictionView } from "../segments/prediction-view.server";
import { PredictionCard } from "../segments/PredictionCard";

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const url = new URL(request.url);
  const customer = url.searchParams.get("customer")?.trim() || null;
  const format = await readerFormat(prisma, shop, request);
  const now = new Date();
  const page = Number(url.searchParams.get("page") ?? "1");
  const detail = await segmentDetail(prisma, shop, params.handle ?? "", { page, format, now });
  if (!detail) throw new Response(`There is no segment "${params.handle}" in this shop.`, { status: 404 });
  await noteSegmentReviewed(prisma, shop); // the home's setup guide: a first segment reviewed
  return {
    ...detail,
    why: customer ? await explainMember(prisma, shop, detail.handle, customer, now, format) : null,
    push: await pushView(prisma, shop, detail.handle),
    orderHistory: await orderHistoryNeeds(shop, detail.handle, format),
    predictions: await predictionsFor(
      shop,
      detail.handle,
      detail.members.map((m) => m.shopifyId),
      format,
    ),
  };
}

/** For a segment on predicted fields: the fit, its holdout check, the members' predictions (else null). */
async function predictionsFor(
  shop: string,
  handle: string,
  memberIds: string[],
  format: ShopFormat,
): Promise<PredictionView | null> {
  const held = await prisma.shop.findUnique({ where: { domain: shop }, select: { id: true } });
  if (!held) return null;
  const { rules, resolve } = await shopSegments(prisma, held.id);
  const rule = rules.get(handle);
  return rule && readsPredictions(rule, resolve) ? predictionView(prisma, held.id, memberIds, format) : null;
}

/** Without read_all_orders: the conditions of this segment that read older order history (else null). */
async function orderHistoryNeeds(shop: string, handle: string, format: ShopFormat): Promise<string[] | null> {
  const access = await orderHistoryAccess(prisma, shop);
  if (!access.limited) return null;
  const held = await prisma.shop.findUnique({ where: { domain: shop }, select: { id: true } });
  if (!held) return null;
  const { rules, resolve } = await shopSegments(prisma, held.id);
  const rule = rules.get(handle);
  const conditions = rule ? orderHistoryConditions(rule, resolve) : [];
  return conditions.length ? [...new Set(conditions.map((c) => describeCondition(c, format)))] : null;
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

function when(iso: string | null, f: ShopFormat): string {
  return iso ? dateTime(iso, f) : "never";
}

type PushState = NonNullable<Awaited<ReturnType<typeof pushView>>>;

/** Where this segment goes outside the app: a tag, the app metafield, a Shopify segment. */
function ShopifyCard({ push }: { push: PushState }) {
  const fetcher = useFetcher<typeof action>();
  const f = useShopFormat();
  const busy = fetcher.state !== "idle";
  const set = (field: "tag" | "metafield", on: boolean) =>
    fetcher.submit({ intent: "push-options", [field]: on ? "on" : "off" }, { method: "post" });
  // Show a switch in its new position while the change is saved (optimistic UI).
  const pending = (field: "tag" | "metafield", saved: boolean) => {
    const value = fetcher.formData?.get(field);
    return value === "on" || value === "off" ? value === "on" : saved;
  };
  const status = push.waiting
    ? `Waiting to push${push.pendingChanges ? ` ${count(push.pendingChanges, f)} membership changes` : ""}; last pushed ${when(push.pushedAt, f)}`
    : `Last pushed ${when(push.pushedAt, f)}`;
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
  const f = useShopFormat();
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
            <SmallSegmentBanner
              reach={s.reach}
              minSize={s.minSize}
              people={s.audience === "visitors" ? "visitors" : "members"}
            />
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
                    {count(s.size, f)} {s.size === 1 ? "member" : "members"}
                  </Text>
                  {s.audience !== "customers" && (
                    <Text as="span" id="segment-visitors" tone="subdued">
                      {s.visitorSize === null
                        ? "Visitors not counted yet"
                        : `${count(s.visitorSize, f)} visitors seen in the last 30 days, guests included${s.visitorsAt ? ` (counted ${dateTime(s.visitorsAt, f)})` : ""}`}
                    </Text>
                  )}
                </BlockStack>
              </InlineStack>
              <div id="rule-lines">
                {s.lines.map((l, i) => (
                  <Box key={i} paddingInlineStart={`${l.depth * 400}` as "0"}>
                    <Text as="p">{l.text}</Text>
                  </Box>
                ))}
              </div>
              <SizeChart points={s.history} />
            </BlockStack>
          </Card>
        </Layout.Section>
        {s.predictions && (
          <Layout.Section>
            <Card>
              <PredictionCard view={s.predictions} />
            </Card>
          </Layout.Section>
        )}
        <Layout.Section>
          <MembersCard
            predictions={s.predictions}
            members={s.members}
            memberCount={s.memberCount}
            page={s.page}
            pages={s.pages}
            pageSize={s.pageSize}
          />
        </Layout.Section>
        <Layout.Section>
          <ExplainCard handle={s.handle} why={s.why} />
        </Layout.Section>
        {s.push && (
          <Layout.Section>
            <ShopifyCard push={s.push} />
          </Layout.Section>
        )}
      </Layout>
    </Page>
  );
}

/** The customer's name, linking to their page in Shopify's admin (leaving the app's frame). */
function CustomerLink({
  customer,
}: {
  customer: Pick<MemberRow, "shopifyId" | "firstName" | "lastName" | "email">;
}) {
  const shop = useShopDomain();
  return (
    <Link url={shopifyAdminUrl(shop, `customers/${customer.shopifyId}`)} target="_top" removeUnderline>
      {customerName(customer)}
    </Link>
  );
}

/** The members, 25 a page, who joined most recently first; an empty state when there are none. */
function MembersCard({
  members,
  memberCount,
  page,
  pages,
  pageSize,
  predictions,
}: {
  predictions: PredictionView | null;
  members: MemberRow[];
  memberCount: number;
  page: number;
  pages: number;
  pageSize: number;
}) {
  const f = useShopFormat();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const go = (to: number) => {
    const next = new URLSearchParams(params);
    next.set("page", String(to));
    navigate(`?${next}`, { preventScrollReset: true });
  };
  const first = (page - 1) * pageSize + 1;
  return (
    <Card padding="0">
      <Box padding="400">
        <InlineStack align="space-between" blockAlign="center">
          <Text as="h2" variant="headingMd">
            Members
          </Text>
          <Text as="span" tone="subdued" id="members-range">
            {memberCount
              ? `${count(first, f)}–${count(first + members.length - 1, f)} of ${count(memberCount, f)}, who joined most recently first`
              : ""}
          </Text>
        </InlineStack>
      </Box>
      {memberCount === 0 ? (
        <EmptyState heading="No members right now" image="">
          <p>
            Customers join as soon as they match the rule, and leave when they stop matching. Check the rule
            above, or explain below why a customer you expected is not in.
          </p>
        </EmptyState>
      ) : (
        <>
          <IndexTable
            resourceName={{ singular: "member", plural: "members" }}
            itemCount={members.length}
            selectable={false}
            headings={[
              { title: "Customer" },
              { title: "Email" },
              { title: "Orders", alignment: "end" },
              { title: "Total spent", alignment: "end" },
              ...(predictions
                ? [
                    { title: "Predicted 12-month value", alignment: "end" as const },
                    { title: "Chance still active", alignment: "end" as const },
                  ]
                : []),
              { title: "Joined" },
            ]}
          >
            {members.map((m, i) => (
              <IndexTable.Row id={m.shopifyId} key={m.shopifyId} position={i}>
                <IndexTable.Cell>
                  <span data-member={m.shopifyId}>
                    <CustomerLink customer={m} />
                  </span>
                </IndexTable.Cell>
                <IndexTable.Cell>{m.email ?? ""}</IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    {count(m.ordersCount, f)}
                  </Text>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    {money(m.totalSpent, f)}
                  </Text>
                </IndexTable.Cell>
                {predictions && (
                  <>
                    <IndexTable.Cell>
                      <Text as="span" alignment="end" numeric>
                        {predictions.members[m.shopifyId]
                          ? money(predictions.members[m.shopifyId].value12m, f)
                          : "—"}
                      </Text>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <Text as="span" alignment="end" numeric>
                        {predictions.members[m.shopifyId]
                          ? percent(predictions.members[m.shopifyId].probabilityActive, f, 0)
                          : "—"}
                      </Text>
                    </IndexTable.Cell>
                  </>
                )}
                <IndexTable.Cell>
                  <span title={dateTime(m.since, f)}>{date(m.since, f)}</span>
                </IndexTable.Cell>
              </IndexTable.Row>
            ))}
          </IndexTable>
          {predictions?.note && (
            <Box padding="300">
              <Text as="p" tone="subdued" variant="bodySm" id="members-prediction-note">
                Predicted columns: {predictions.note}.
              </Text>
            </Box>
          )}
          {pages > 1 && (
            <Box padding="300">
              <InlineStack align="center">
                <Pagination
                  hasPrevious={page > 1}
                  onPrevious={() => go(page - 1)}
                  hasNext={page < pages}
                  onNext={() => go(page + 1)}
                  label={`Page ${count(page, f)} of ${count(pages, f)}`}
                />
              </InlineStack>
            </Box>
          )}
        </>
      )}
    </Card>
  );
}

/** "Why is a customer in or out?": by email, name, Shopify gid or id. */
function ExplainCard({ handle, why }: { handle: string; why: Explanation | null }) {
  const f = useShopFormat();
  const [customer, setCustomer] = useState(why?.query ?? "");
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">
          Why is a customer in or out?
        </Text>
        <Form method="get">
          <InlineStack gap="200" blockAlign="end">
            <div style={{ minWidth: 320 }}>
              <TextField
                label="Email, name or customer id"
                placeholder="ada@example.com, Ada Lovelace or 7408123456789"
                name="customer"
                value={customer}
                onChange={setCustomer}
                autoComplete="off"
              />
            </div>
            <Button submit>Explain</Button>
          </InlineStack>
        </Form>
        <Text as="p" tone="subdued" variant="bodySm">
          An email, a first, last or full name, or the customer&apos;s id from Shopify
          (gid://shopify/Customer/… or its number).
        </Text>
        {why && (why.status === "missing" || why.status === "invalid") && (
          <Banner tone="warning">
            <p id="why-missing">{why.message}</p>
          </Banner>
        )}
        {why?.status === "several" && (
          <BlockStack gap="200">
            <Text as="p" id="why-several">
              {why.message}
            </Text>
            <div id="why-matches">
              <List type="bullet">
                {why.matches.map((c) => (
                  <List.Item key={c.shopifyId}>
                    <Link url={`/app/segments/${handle}?customer=${c.shopifyId}`} removeUnderline>
                      {customerName(c)}
                    </Link>{" "}
                    <Text as="span" tone="subdued">
                      {[
                        c.email,
                        `${count(c.ordersCount, f)} ${c.ordersCount === 1 ? "order" : "orders"}`,
                        money(c.totalSpent, f),
                      ]
                        .filter(Boolean)
                        .join(" · ")}
                    </Text>
                  </List.Item>
                ))}
              </List>
            </div>
            {why.more && (
              <Text as="p" tone="subdued">
                More customers have this name: search by email to find one exactly.
              </Text>
            )}
          </BlockStack>
        )}
        {why?.status === "found" && (
          <BlockStack gap="200">
            <Text as="p" id="why-verdict">
              <CustomerLink customer={why.customer} />
              {why.customer.email && customerName(why.customer) !== why.customer.email
                ? ` (${why.customer.email})`
                : ""}{" "}
              is {why.member ? "in" : "not in"} this segment.
            </Text>
            <DataTable
              columnContentTypes={["text", "text", "text"]}
              headings={["Condition", "Their value", ""]}
              rows={why.reasons.map((r) => [
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
            {[...new Set(why.reasons.map((r) => r.note).filter(Boolean))].map((note) => (
              <Text key={note} as="p" tone="subdued" variant="bodySm" id="why-prediction-note">
                Predicted values: {note}.
              </Text>
            ))}
          </BlockStack>
        )}
      </BlockStack>
    </Card>
  );
}
