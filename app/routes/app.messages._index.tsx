import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { Link, useFetcher, useLoaderData, useNavigate } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  EmptyState,
  IndexTable,
  InlineStack,
  Page,
  Text,
} from "@shopify/polaris";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { messageAction, messageList, type MessageListRow } from "../messages/admin.server";
import { offersOverview, type OfferOverviewRow } from "../offers/results.server";
import { overlapWarnings } from "../messages/overlap.server";
import { readPolicy, savePolicy } from "../messages/policy.server";
import { OverlapBanners, PolicyCard } from "../messages/MessagePolicy";
import { formatMoney } from "../engine/money";

const OVERVIEW_DAYS = 30;

export async function loader({ request }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const url = new URL(request.url);
  const now = new Date();
  const range = { from: new Date(now.getTime() - OVERVIEW_DAYS * 86_400_000), to: now };
  const [messages, overview, overlaps, policy] = await Promise.all([
    messageList(prisma, shop.id, now),
    offersOverview(prisma, shop.id, range, now),
    overlapWarnings(prisma, shop.id, now),
    readPolicy(prisma, shop.id),
  ]);
  return {
    messages,
    overlaps,
    policy,
    // Offers someone was shown or held out of in the range: the others have nothing to compare yet.
    overview: overview.filter((o) => o.treatment.units + o.holdout.units > 0),
    currency: shop.currency,
    saved: url.searchParams.has("saved"),
    deleted: url.searchParams.has("deleted"),
  };
}

/**
 * The list's actions: the per-row kill switch (intent=active, id, active=on|off) and the shop's
 * settings across messages (intent=policy, cooldownDays, afterPopup=on).
 */
export async function action({ request }: ActionFunctionArgs) {
  const shop = await requireShop(request);
  const form = await request.formData();
  if (form.get("intent") === "policy") return savePolicy(prisma, shop.id, form);
  if (form.get("intent") !== "active") throw new Response("Unknown action", { status: 400 });
  return messageAction(prisma, shop.id, null, form);
}

function rate(clicked: number, shown: number): string {
  return shown ? `${((100 * clicked) / shown).toFixed(1)}%` : "–";
}

/** Pause / Switch on: takes effect on the storefront's next decision. */
function ActiveSwitch({ row }: { row: MessageListRow }) {
  const fetcher = useFetcher<typeof action>();
  // Show the new state while it is saved (optimistic UI).
  const pending = fetcher.formData?.get("active");
  const active = pending === "on" ? true : pending === "off" ? false : row.active;
  return (
    <fetcher.Form method="post">
      <input type="hidden" name="intent" value="active" />
      <input type="hidden" name="id" value={row.id} />
      <input type="hidden" name="active" value={active ? "off" : "on"} />
      <Button
        submit
        size="slim"
        loading={fetcher.state !== "idle"}
        accessibilityLabel={`${active ? "Pause" : "Switch on"} ${row.name}`}
      >
        {active ? "Pause" : "Switch on"}
      </Button>
    </fetcher.Form>
  );
}

function percent(rate: number | null): string {
  return rate === null ? "–" : `${(100 * rate).toFixed(1)}%`;
}

/** Every offer's experiment at a glance: treated vs held out, the lift with its interval, what it brought. */
function OffersOverview({ rows, currency }: { rows: OfferOverviewRow[]; currency: string }) {
  return (
    <Card padding="0">
      <BlockStack gap="0">
        <Box padding="400">
          <BlockStack gap="100">
            <Text as="h2" variant="headingMd">
              Results, last {OVERVIEW_DAYS} days
            </Text>
            <Text as="p" tone="subdued">
              Conversion of shoppers shown each offer against those held out of it; the lift is the
              difference, with its 95% confidence interval.
            </Text>
          </BlockStack>
        </Box>
        <div data-offers-overview>
          <IndexTable
            resourceName={{ singular: "offer", plural: "offers" }}
            itemCount={rows.length}
            selectable={false}
            headings={[
              { title: "Offer" },
              { title: "Shown", alignment: "end", tooltipContent: "Converted of shown (rate)" },
              { title: "Held out", alignment: "end", tooltipContent: "Converted of held out (rate)" },
              { title: "Lift" },
              { title: "Codes", alignment: "end", tooltipContent: "Issued / used" },
              { title: "Revenue", alignment: "end", tooltipContent: "From shoppers shown the offer" },
            ]}
          >
            {rows.map((r, i) => (
              <IndexTable.Row id={`offer-${r.messageId}`} key={r.messageId} position={i}>
                <IndexTable.Cell>
                  <Link to={`/app/messages/${r.messageId}/results`} data-overview={r.messageId}>
                    {r.name}
                  </Link>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    {r.treatment.conversions} of {r.treatment.units} ({percent(r.treatment.rate)})
                  </Text>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    {r.holdout.conversions} of {r.holdout.units} ({percent(r.holdout.rate)})
                  </Text>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" tone={r.lift.status === "ok" ? undefined : "subdued"}>
                    {r.liftSummary}
                  </Text>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    {r.reward === "firstPurchase" || r.reward === "referral"
                      ? `${r.codesIssued} / ${r.codesRedeemed}`
                      : "–"}
                  </Text>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    {formatMoney(r.revenue, currency)}
                  </Text>
                </IndexTable.Cell>
              </IndexTable.Row>
            ))}
          </IndexTable>
        </div>
      </BlockStack>
    </Card>
  );
}

function StatusBadge({ row }: { row: MessageListRow }) {
  return row.active ? <Badge tone="success">Active</Badge> : <Badge>Paused</Badge>;
}

export default function Messages() {
  const { messages, overview, overlaps, policy, currency, saved, deleted } = useLoaderData<typeof loader>();
  const navigate = useNavigate();
  const clear = () => navigate("/app/messages", { replace: true });
  return (
    <Page
      title="Messages"
      subtitle="What each segment sees on your storefront; shown, clicked and dismissed are for the last 30 days"
      primaryAction={{ content: "Create message", url: "/app/messages/new" }}
      secondaryActions={[{ content: "Preview by segment", url: "/app/messages/preview" }]}
    >
      <BlockStack gap="400">
        {saved && (
          <Banner tone="success" onDismiss={clear}>
            <p>Message saved</p>
          </Banner>
        )}
        {deleted && (
          <Banner tone="success" onDismiss={clear}>
            <p>Message deleted</p>
          </Banner>
        )}
        <Banner tone="info" title='Turn on the "Slice messages" app embed'>
          <p>
            Messages only show once the "Slice messages" app embed is on in your theme: Online Store → Themes
            → Customize → App embeds. Pausing a message takes it off the storefront from the next page a
            shopper opens.
          </p>
        </Banner>
        <OverlapBanners warnings={overlaps} />
        <Card padding="0">
          {messages.length === 0 ? (
            <EmptyState
              heading="No messages yet"
              action={{ content: "Create message", url: "/app/messages/new" }}
              image=""
            >
              <p>
                Show one segment a message of its own: a welcome for first-time visitors, a reminder for cart
                abandoners. Starter messages appear, paused, once the first import of your store finishes.
              </p>
            </EmptyState>
          ) : (
            <IndexTable
              resourceName={{ singular: "message", plural: "messages" }}
              itemCount={messages.length}
              selectable={false}
              headings={[
                { title: "Message" },
                { title: "Segment" },
                { title: "Priority", alignment: "end" },
                { title: "Status" },
                { title: "Shown", alignment: "end", tooltipContent: "In the last 30 days" },
                { title: "Clicked", alignment: "end", tooltipContent: "In the last 30 days; share of shown" },
                { title: "Dismissed", alignment: "end", tooltipContent: "In the last 30 days" },
                { title: "" },
              ]}
            >
              {messages.map((m, i) => (
                <IndexTable.Row id={String(m.id)} key={m.id} position={i}>
                  <IndexTable.Cell>
                    <BlockStack gap="050">
                      <Link to={`/app/messages/${m.id}`} data-message={m.id}>
                        <Text as="span" fontWeight="semibold">
                          {m.name}
                        </Text>
                      </Link>
                      <Text as="span" tone="subdued">
                        {m.format} · {m.trigger}
                      </Text>
                      <InlineStack gap="200" blockAlign="center">
                        {m.reward && (
                          <span data-reward={m.id}>
                            <Badge tone="info">{m.reward}</Badge>
                          </span>
                        )}
                        <span data-holdout={m.id}>
                          <Text as="span" tone="subdued" variant="bodySm">
                            {m.holdoutPercent}% held out
                          </Text>
                        </span>
                      </InlineStack>
                    </BlockStack>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    {m.segmentName === null ? (
                      <Badge tone="critical">Segment deleted</Badge>
                    ) : (
                      <Link to={`/app/segments/${m.segment}`}>{m.segmentName}</Link>
                    )}
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      {m.priority}
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <span data-status={m.id}>
                      <StatusBadge row={m} />
                    </span>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      <Link to={`/app/messages/${m.id}/results`} aria-label={`Results of ${m.name}`}>
                        {m.shown.toLocaleString("en-US")}
                      </Link>
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      {m.clicked.toLocaleString("en-US")} ({rate(m.clicked, m.shown)})
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      {m.dismissed.toLocaleString("en-US")}
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <ActiveSwitch row={m} />
                  </IndexTable.Cell>
                </IndexTable.Row>
              ))}
            </IndexTable>
          )}
        </Card>
        {overview.length > 0 && <OffersOverview rows={overview} currency={currency} />}
        <PolicyCard policy={policy} />
      </BlockStack>
    </Page>
  );
}
