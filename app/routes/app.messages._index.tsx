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
import { useShopFormat } from "../admin/chrome";
import { count, money, percent as formatPercent, type ShopFormat } from "../engine/format";
import { HELP, HelpTip } from "../offers/ResultsHelp";

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

function rate(clicked: number, shown: number, f: ShopFormat): string {
  return shown ? formatPercent(clicked / shown, f) : "–";
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

/** Every offer's experiment at a glance: treated vs held out, the lift with its interval, what it brought. */
function OffersOverview({ rows, anyMessage }: { rows: OfferOverviewRow[]; anyMessage: boolean }) {
  const f = useShopFormat();
  const percent = (rate: number | null) => (rate === null ? "–" : formatPercent(rate, f));
  const n = (x: number) => count(x, f);
  return (
    <Card padding="0">
      <BlockStack gap="0">
        <Box padding="400">
          <BlockStack gap="100">
            <InlineStack gap="100" blockAlign="center">
              <Text as="h2" variant="headingMd">
                Results, last {OVERVIEW_DAYS} days
              </Text>
              <HelpTip label="results" content={`${HELP.lift} ${HELP.notEnough}`} />
            </InlineStack>
            <Text as="p" tone="subdued">
              Each offer is kept from a random share of the shoppers it is chosen for (its holdout). Treated:
              how many of the shoppers it was chosen for and let see it ordered; held out: the same for those
              kept from it. The lift is the difference, with its 95% confidence interval.
            </Text>
          </BlockStack>
        </Box>
        <div data-offers-overview>
          <IndexTable
            resourceName={{ singular: "offer", plural: "offers" }}
            itemCount={rows.length}
            selectable={false}
            emptyState={
              <Box padding="400">
                <Text as="p" tone="subdued" id="offers-overview-empty">
                  {anyMessage
                    ? `No shopper has been shown or held out of a message in the last ${OVERVIEW_DAYS} days. Once a switched-on message is chosen for shoppers of its segment, each offer's treated and held-out shoppers, orders and lift appear here.`
                    : "Results appear here once you have a message switched on and shoppers of its segment visit your store."}
                </Text>
              </Box>
            }
            headings={[
              { title: "Offer" },
              {
                title: "Treated",
                alignment: "end",
                tooltipContent: `Shoppers who ordered, of those the offer was chosen for and let see it (conversion). ${HELP.treatedVsImpressions}`,
              },
              {
                title: "Held out",
                alignment: "end",
                tooltipContent:
                  "Shoppers who ordered, of those the offer was chosen for but kept from (conversion).",
              },
              { title: "Lift", tooltipContent: HELP.lift },
              {
                title: "Codes",
                alignment: "end",
                tooltipContent: "Discount codes handed out / used in an order",
              },
              {
                title: "Revenue",
                alignment: "end",
                tooltipContent: "Orders of the treated shoppers within 30 days, after refunds",
              },
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
                    {n(r.treatment.conversions)} of {n(r.treatment.units)} ({percent(r.treatment.rate)})
                  </Text>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    {n(r.holdout.conversions)} of {n(r.holdout.units)} ({percent(r.holdout.rate)})
                  </Text>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  {/* Wraps (table cells do not): a long "not enough data yet" would push the
                      codes and revenue out of view. */}
                  <div style={{ whiteSpace: "normal", minWidth: 200, maxWidth: 280 }}>
                    <Text as="span" tone={r.lift.status === "ok" ? undefined : "subdued"}>
                      {r.liftSummary}
                    </Text>
                  </div>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    {r.reward === "firstPurchase" || r.reward === "referral"
                      ? `${n(r.codesIssued)} / ${n(r.codesRedeemed)}`
                      : "–"}
                  </Text>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    {money(r.revenue, f)}
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
  const { messages, overview, overlaps, policy, deleted } = useLoaderData<typeof loader>();
  const f = useShopFormat();
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
                {
                  title: "Shown",
                  alignment: "end",
                  tooltipContent: "Times it appeared on a shopper's screen in the last 30 days (impressions)",
                },
                {
                  title: "Clicked",
                  alignment: "end",
                  tooltipContent: "Clicks on its button in the last 30 days; share of times shown",
                },
                {
                  title: "Dismissed",
                  alignment: "end",
                  tooltipContent: "Times a shopper closed it in the last 30 days",
                },
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
                        {count(m.shown, f)}
                      </Link>
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      {count(m.clicked, f)} ({rate(m.clicked, m.shown, f)})
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      {count(m.dismissed, f)}
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
        <OffersOverview rows={overview} anyMessage={messages.length > 0} />
        <PolicyCard policy={policy} />
      </BlockStack>
    </Page>
  );
}
