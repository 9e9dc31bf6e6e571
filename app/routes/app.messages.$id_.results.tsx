import type { LoaderFunctionArgs } from "@remix-run/node";
import { useLoaderData, useSearchParams } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Card,
  DataTable,
  IndexTable,
  InlineGrid,
  InlineStack,
  Layout,
  Page,
  Select,
  Text,
} from "@shopify/polaris";
import vizStyles from "@shopify/polaris-viz/build/esm/styles.css?url";
import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { useShopFormat } from "../admin/chrome";
import {
  count as formatCount,
  date as formatDate,
  money as formatMoneyIn,
  percent as formatPercent,
} from "../engine/format";
import { HELP, HelpTip, LabelWithHelp } from "../offers/ResultsHelp";
import { liftInWords, offerResults, pointsOf, untrackedCounts } from "../offers/results.server";
import { referralSummary } from "../offers/referrals.server";
import { signupSummary } from "../offers/signups.server";
import PooledEstimate from "../offers/PooledEstimate";

export const links = () => [{ rel: "stylesheet", href: vizStyles }];

// The charts measure their container and pull in d3: drawn in the browser only.
const ResultsCharts = lazy(() => import("../offers/ResultsCharts"));

const RANGES = [7, 30, 90] as const;
const DAY_MS = 24 * 3600_000;

/** An offer's results over the last 7, 30 or 90 days: `/app/messages/<id>/results?days=30`. */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const id = Number(params.id);
  const notFound = () => new Response(`There is no message "${params.id}" in this shop.`, { status: 404 });
  if (!/^\d+$/.test(params.id ?? "") || !Number.isSafeInteger(id)) throw notFound();
  const asked = Number(new URL(request.url).searchParams.get("days"));
  const days = (RANGES as readonly number[]).includes(asked) ? asked : 30;
  const now = new Date();
  const range = { from: new Date(now.getTime() - days * DAY_MS), to: now };
  const results = await offerResults(prisma, shop.id, id, range, now);
  if (!results) throw notFound();
  const lift = results.lift;
  const [referrals, signups, untracked] = await Promise.all([
    results.reward === "referral" ? referralSummary(prisma, shop.id, id) : null,
    results.reward === "emailCapture" ? signupSummary(prisma, shop.id, id) : null,
    untrackedCounts(prisma, shop.id, id, range),
  ]);
  return {
    days,
    results,
    referrals,
    signups,
    untracked,
    liftText: liftInWords(lift),
    relativeText:
      lift.status === "ok" && lift.relativeLift !== null
        ? `${pointsOf(lift.relativeLift)}% relative${
            lift.relativeInterval
              ? ` (${pointsOf(lift.relativeInterval[0])}% to ${pointsOf(lift.relativeInterval[1])}%)`
              : ""
          }`
        : null,
    variantLifts: results.variants.map((v) => liftInWords(v.lift)),
    segmentLifts: results.bySegment.map((s) => liftInWords(s.lift)),
  };
}

function Figure({
  id,
  label,
  help,
  value,
  detail,
}: {
  id: string;
  label: string;
  help: string;
  value: string;
  detail?: ReactNode;
}) {
  return (
    <Card>
      <BlockStack gap="100">
        <LabelWithHelp label={label} help={help} />
        <Text as="p" variant="headingLg" id={id}>
          {value}
        </Text>
        {detail ? (
          <Text as="p" tone="subdued" id={`${id}-detail`}>
            {detail}
          </Text>
        ) : null}
      </BlockStack>
    </Card>
  );
}

/** A line saying what will appear here and when, for a table or chart with nothing in it yet. */
function Empty({ id, children }: { id: string; children: ReactNode }) {
  return (
    <Box padding="400">
      <Text as="p" tone="subdued" id={id}>
        {children}
      </Text>
    </Box>
  );
}

export default function OfferResultsPage() {
  const {
    days,
    results: r,
    liftText,
    relativeText,
    variantLifts,
    segmentLifts,
    referrals,
    signups,
    untracked,
  } = useLoaderData<typeof loader>();
  const [, setSearchParams] = useSearchParams();
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  const shopFormat = useShopFormat();
  const f = { ...shopFormat, currency: r.currency };
  const count = (n: number) => formatCount(n, f);
  /** "1 click", "2 clicks". */
  const plural = (n: number, word: string) => `${count(n)} ${word}${n === 1 ? "" : "s"}`;
  const percent = (rate: number | null) => (rate === null ? "–" : formatPercent(rate, f));
  /** "3/120 (2.5%)": conversions of shoppers, and the rate. */
  const armText = (arm: { units: number; conversions: number; rate: number | null }) =>
    `${count(arm.conversions)}/${count(arm.units)} (${percent(arm.rate)})`;
  const money = (minor: number) => formatMoneyIn(minor, f);
  const lift = r.lift;
  const windowDays = r.attributionWindowDays;
  const hasCodes = r.reward === "firstPurchase" || r.reward === "referral" || r.codes.issued > 0;
  const rates = [
    { name: "Held out", rate: r.holdout.rate },
    { name: r.variants.length ? "Treated (all)" : "Treated", rate: r.treatment.rate },
    ...r.variants.map((v) => ({ name: v.name, rate: v.treatment.rate })),
  ];
  const anyone = r.treatment.units + r.holdout.units > 0;

  return (
    <Page
      title={`${r.name}: results`}
      backAction={{ content: r.name, url: `/app/messages/${r.messageId}` }}
      secondaryActions={
        <div style={{ minWidth: 180 }}>
          <Select
            label="Date range"
            labelInline
            options={RANGES.map((d) => ({ label: `Last ${d} days`, value: String(d) }))}
            value={String(days)}
            onChange={(value) => setSearchParams({ days: value })}
          />
        </div>
      }
    >
      <Layout>
        <Layout.Section>
          <BlockStack gap="400">
            <Text as="p" tone="subdued" id="results-intro">
              Shoppers this offer was chosen for in the last {days} days ({formatDate(r.range.from, f)} to{" "}
              {formatDate(r.range.to, f)}, {f.timeZone}): {r.holdoutPercent}% of them, picked at random, are
              held out and see nothing, so the difference between the two groups is what the offer did. An
              order counts for a shopper when it is placed within {windowDays} days of the first time.
            </Text>
            {!anyone ? (
              <Banner tone="info" title="No results yet">
                <p id="results-empty">
                  Nobody has been shown or held out of this offer in the last {days} days. Results appear here
                  once the message is switched on, the &quot;Slice messages&quot; app embed is on in your
                  theme, and shoppers of its segment visit your store: first who saw it, then orders and the
                  lift.
                </p>
              </Banner>
            ) : null}
            <InlineGrid columns={{ xs: 1, sm: 2, lg: 3 }} gap="400">
              <Figure
                id="impressions"
                label="Impressions"
                help={HELP.impressions}
                value={count(r.impressions)}
                detail={`${plural(r.clicks, "click")} (click rate ${percent(r.clickRate)}), ${count(r.dismissals)} dismissed`}
              />
              <Card>
                <BlockStack gap="100">
                  <LabelWithHelp label="Shoppers in the test" help={HELP.treated(windowDays)} />
                  <Text as="p" variant="headingLg" id="units">
                    {`${count(r.treatment.units)} treated, ${count(r.holdout.units)} held out`}
                  </Text>
                  <InlineStack gap="100" blockAlign="center" wrap={false}>
                    <Text as="p" tone="subdued" id="units-detail">
                      {r.treatment.units > r.impressions
                        ? `${plural(r.treatment.units - r.impressions, "treated shopper")} more than impressions: not every shopper the offer is chosen for sees it`
                        : "Treated counts shoppers, impressions count showings"}
                    </Text>
                    <HelpTip label="treated and impressions" content={HELP.treatedVsImpressions} />
                  </InlineStack>
                </BlockStack>
              </Card>
              <Figure
                id="conversion"
                label="Conversion: treated vs held out"
                help={`${HELP.conversion(windowDays)} ${HELP.heldOut(r.holdoutPercent)}`}
                value={`${percent(r.treatment.rate)} vs ${percent(r.holdout.rate)}`}
                detail={`${count(r.treatment.conversions)} of ${count(r.treatment.units)} treated ordered, ${count(r.holdout.conversions)} of ${count(r.holdout.units)} held out`}
              />
              <Card>
                <BlockStack gap="100">
                  <InlineStack align="space-between" blockAlign="center">
                    <LabelWithHelp
                      label="Lift in conversion"
                      help={lift.status === "ok" ? HELP.lift : `${HELP.notEnough} ${HELP.lift}`}
                    />
                    {lift.status === "ok" ? (
                      lift.significant ? (
                        <Badge tone={lift.absoluteLift > 0 ? "success" : "critical"}>Significant</Badge>
                      ) : (
                        <Badge>Not significant</Badge>
                      )
                    ) : null}
                  </InlineStack>
                  <Text as="p" variant={lift.status === "ok" ? "headingMd" : "bodyMd"} id="lift">
                    {liftText}
                  </Text>
                  {relativeText ? (
                    <Text as="p" tone="subdued" id="lift-detail">
                      {relativeText},{" "}
                      {lift.status === "ok"
                        ? lift.pValue < 0.001
                          ? "p < 0.001"
                          : `p = ${lift.pValue.toFixed(3)}`
                        : ""}
                    </Text>
                  ) : null}
                  {lift.status === "ok" ? (
                    <Text as="p" tone="subdued" id="lift-meaning">
                      {lift.significant
                        ? `The whole 95% range is ${lift.absoluteLift > 0 ? "above" : "below"} zero: the offer very likely ${lift.absoluteLift > 0 ? "raised" : "lowered"} conversion.`
                        : "The 95% range includes zero: the offer may have made no difference yet."}
                    </Text>
                  ) : null}
                </BlockStack>
              </Card>
              {signups ? (
                <Figure
                  id="signups"
                  label="Email sign-ups"
                  help="Emails left in this offer's form, and whether each has reached Shopify as a customer with email marketing consent."
                  value={`${count(signups.total)} signed up`}
                  detail={
                    `${count(signups.synced)} in Shopify with email consent, ${count(signups.pending)} waiting, ${count(signups.failed)} failed` +
                    (signups.lastError
                      ? `. Last problem (${signups.lastError.email}): ${signups.lastError.error}`
                      : "")
                  }
                />
              ) : null}
              <Figure
                id="codes"
                label="Discount codes"
                help={HELP.codes}
                value={
                  hasCodes ? `${count(r.codes.issued)} issued, ${count(r.codes.redeemed)} redeemed` : "None"
                }
                detail={
                  hasCodes
                    ? `Discount cost ${money(r.codes.discountCost)} on ${plural(r.codes.orders, "order")}`
                    : "This offer gives no discount code"
                }
              />
              <Figure
                id="revenue"
                label="Revenue from treated shoppers"
                help={HELP.revenue(windowDays)}
                value={money(r.treatment.revenue)}
                detail={`${money(r.codes.revenue)} through codes; held out: ${money(r.holdout.revenue)}`}
              />
              <Figure
                id="revenue-per-visitor"
                label="Revenue per shopper"
                help={HELP.revenuePerShopper}
                value={
                  lift.status === "ok" && lift.revenuePerUnit
                    ? `${money(Math.round(lift.revenuePerUnit.treatment))} vs ${money(Math.round(lift.revenuePerUnit.holdout))}`
                    : "–"
                }
                detail={
                  lift.status === "ok" ? "Treated vs held out, after refunds" : "Shown once there is a lift"
                }
              />
            </InlineGrid>
          </BlockStack>
        </Layout.Section>
        <Layout.Section>
          <PooledEstimate pooled={r.pooled} segments={r.bySegment} />
        </Layout.Section>
        <Layout.Section>
          <Card>
            <div id="results-charts" data-charts={hydrated ? "client" : "server"}>
              {!anyone && r.impressions === 0 ? (
                <Text as="p" tone="subdued" id="charts-empty">
                  Charts of impressions, conversions by group and conversion rates appear here once shoppers
                  have been shown or held out of this offer.
                </Text>
              ) : hydrated ? (
                <Suspense fallback={<Text as="p">Loading charts…</Text>}>
                  <ResultsCharts daily={r.daily} rates={rates} format={f} />
                </Suspense>
              ) : (
                <Text as="p">Loading charts…</Text>
              )}
            </div>
          </Card>
        </Layout.Section>
        {untracked.shown > 0 && (
          <Layout.Section>
            <Card>
              <BlockStack gap="200">
                <InlineStack gap="100" blockAlign="center">
                  <Text as="h2" variant="headingMd">
                    Shoppers without tracking consent
                  </Text>
                  <HelpTip label="shoppers without tracking consent" content={HELP.untracked} />
                </InlineStack>
                <Text as="p" id="untracked-counts">
                  Shown {count(untracked.shown)} times, clicked {count(untracked.clicked)}, dismissed{" "}
                  {count(untracked.dismissed)}.
                </Text>
                <Text as="p" tone="subdued">
                  They declined analytics, so they only see messages that target no one in particular, and are
                  counted here in total: no visitor, customer or order is linked to them, and they are in
                  neither the treated group nor the holdout above.
                </Text>
              </BlockStack>
            </Card>
          </Layout.Section>
        )}
        {referrals ? (
          <Layout.Section>
            <Card padding="0">
              <div id="referral-rewards">
                <Box padding="400">
                  <BlockStack gap="100">
                    <Text as="h2" variant="headingMd">
                      Referral rewards
                    </Text>
                    <Text as="p" tone="subdued" id="referral-counts">
                      {`${count(referrals.granted)} granted to ${plural(referrals.rewardedReferrers, "referrer")}, ${count(referrals.pending)} waiting for payment, ${count(referrals.withdrawn)} withdrawn, ${count(referrals.refused)} refused`}
                    </Text>
                  </BlockStack>
                </Box>
                {referrals.latest.length ? (
                  <DataTable
                    columnContentTypes={["text", "text", "numeric", "text", "text"]}
                    headings={["Friend's order", "Referrer", "Order total", "Reward", "Why"]}
                    rows={referrals.latest.map((x) => [
                      x.orderShopifyId,
                      x.referrerCustomerId,
                      money(x.orderTotal),
                      x.status === "granted" && x.rewardCode ? `granted: ${x.rewardCode}` : x.status,
                      x.reason ?? "",
                    ])}
                  />
                ) : (
                  <Empty id="referral-rewards-empty">
                    No friend has ordered with a referral link yet. Each friend&apos;s first order through a
                    referrer&apos;s link appears here, with the referrer&apos;s reward once the order is paid.
                  </Empty>
                )}
              </div>
            </Card>
          </Layout.Section>
        ) : null}
        {r.variants.length ? (
          <Layout.Section>
            <Card padding="0">
              <DataTable
                columnContentTypes={["text", "numeric", "numeric", "numeric", "numeric", "text"]}
                headings={[
                  "Variant",
                  "Impressions",
                  "Click rate",
                  "Treated",
                  "Conversion",
                  "Lift vs held out",
                ]}
                rows={r.variants.map((v, i) => [
                  v.name,
                  count(v.impressions),
                  percent(v.clickRate),
                  count(v.treatment.units),
                  percent(v.treatment.rate),
                  variantLifts[i],
                ])}
              />
            </Card>
          </Layout.Section>
        ) : null}
        <Layout.Section>
          <Card padding="0">
            <div id="results-by-segment">
              <Box padding="400">
                <BlockStack gap="100">
                  <InlineStack gap="100" blockAlign="center">
                    <Text as="h2" variant="headingMd">
                      By segment
                    </Text>
                    <HelpTip label="results by segment" content={HELP.bySegment} />
                  </InlineStack>
                  <Text as="p" tone="subdued">
                    Treated and held out: shoppers who ordered / shoppers in the group (conversion).
                  </Text>
                </BlockStack>
              </Box>
              <IndexTable
                resourceName={{ singular: "segment", plural: "segments" }}
                itemCount={r.bySegment.length}
                selectable={false}
                emptyState={
                  <Empty id="by-segment-empty">
                    No shopper was shown or held out of this offer in the last {days} days. Each segment of
                    the shoppers it is chosen for will have a row here, with the shoppers who were not signed
                    in as one row of their own.
                  </Empty>
                }
                headings={[
                  { title: "Segment" },
                  { title: "Treated", alignment: "end" },
                  { title: "Held out", alignment: "end" },
                  { title: "Lift vs held out" },
                ]}
              >
                {r.bySegment.map((s, i) => (
                  <IndexTable.Row id={s.handle ?? "visitors"} key={s.handle ?? "visitors"} position={i}>
                    <IndexTable.Cell>
                      <Text as="span" fontWeight="semibold">
                        {s.name}
                      </Text>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <Text as="span" alignment="end" numeric>
                        {armText(s.treatment)}
                      </Text>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <Text as="span" alignment="end" numeric>
                        {armText(s.holdout)}
                      </Text>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <Text as="span" tone={s.lift.status === "ok" ? undefined : "subdued"}>
                        {segmentLifts[i]}
                      </Text>
                    </IndexTable.Cell>
                  </IndexTable.Row>
                ))}
              </IndexTable>
            </div>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
