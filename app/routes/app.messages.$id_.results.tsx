import type { LoaderFunctionArgs } from "@remix-run/node";
import { useLoaderData, useSearchParams } from "@remix-run/react";
import {
  Badge,
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
import { lazy, Suspense, useEffect, useState } from "react";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { formatMoney } from "../engine/money";
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

const count = (n: number) => n.toLocaleString("en-US");
/** "1 click", "2 clicks". */
const plural = (n: number, word: string) => `${count(n)} ${word}${n === 1 ? "" : "s"}`;
const percent = (rate: number | null) => (rate === null ? "–" : `${(rate * 100).toFixed(1)}%`);
/** "3/120 (2.5%)": conversions of units, and the rate. */
const armText = (arm: { units: number; conversions: number; rate: number | null }) =>
  `${count(arm.conversions)}/${count(arm.units)} (${percent(arm.rate)})`;

function Figure({ id, label, value, detail }: { id: string; label: string; value: string; detail?: string }) {
  return (
    <Card>
      <BlockStack gap="100">
        <Text as="h3" variant="headingSm" tone="subdued">
          {label}
        </Text>
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
  const money = (minor: number) => formatMoney(minor, r.currency);
  const lift = r.lift;
  const rates = [
    { name: "Holdout", rate: r.holdout.rate },
    { name: r.variants.length ? "Treatment (all)" : "Treatment", rate: r.treatment.rate },
    ...r.variants.map((v) => ({ name: v.name, rate: v.treatment.rate })),
  ];

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
            <Text as="p" tone="subdued">
              Visitors first shown or held out of this offer in the last {days} days; {r.holdoutPercent}% are
              held out and see nothing. An order counts for a visitor when it is placed within{" "}
              {r.attributionWindowDays} days of that first time.
            </Text>
            <InlineGrid columns={{ xs: 1, sm: 2, lg: 3 }} gap="400">
              <Figure
                id="impressions"
                label="Impressions"
                value={count(r.impressions)}
                detail={`${plural(r.clicks, "click")} (click rate ${percent(r.clickRate)}), ${count(r.dismissals)} dismissed`}
              />
              <Figure
                id="conversion"
                label="Conversion: treatment vs holdout"
                value={`${percent(r.treatment.rate)} vs ${percent(r.holdout.rate)}`}
                detail={`${count(r.treatment.conversions)} of ${count(r.treatment.units)} treated, ${count(r.holdout.conversions)} of ${count(r.holdout.units)} held out`}
              />
              <Card>
                <BlockStack gap="100">
                  <InlineStack align="space-between" blockAlign="center">
                    <Text as="h3" variant="headingSm" tone="subdued">
                      Lift in conversion
                    </Text>
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
                      {relativeText}, p = {lift.status === "ok" ? lift.pValue.toFixed(3) : ""}
                    </Text>
                  ) : null}
                </BlockStack>
              </Card>
              {signups ? (
                <Figure
                  id="signups"
                  label="Email sign-ups"
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
                value={
                  r.reward !== "firstPurchase" && r.reward !== "referral" && !r.codes.issued
                    ? "None"
                    : `${count(r.codes.issued)} issued, ${count(r.codes.redeemed)} redeemed`
                }
                detail={
                  r.reward !== "firstPurchase" && r.reward !== "referral" && !r.codes.issued
                    ? "This offer gives no discount code"
                    : `Discount cost ${money(r.codes.discountCost)} on ${plural(r.codes.orders, "order")}`
                }
              />
              <Figure
                id="revenue"
                label="Revenue from treated visitors"
                value={money(r.treatment.revenue)}
                detail={`${money(r.codes.revenue)} through codes; held out: ${money(r.holdout.revenue)}`}
              />
              <Figure
                id="revenue-per-visitor"
                label="Revenue per visitor"
                value={
                  lift.status === "ok" && lift.revenuePerUnit
                    ? `${money(Math.round(lift.revenuePerUnit.treatment))} vs ${money(Math.round(lift.revenuePerUnit.holdout))}`
                    : "–"
                }
                detail="Treatment vs holdout, after refunds"
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
              {hydrated ? (
                <Suspense fallback={<Text as="p">Loading charts…</Text>}>
                  <ResultsCharts daily={r.daily} rates={rates} />
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
                <Text as="h2" variant="headingMd">
                  Shoppers without tracking consent
                </Text>
                <Text as="p" id="untracked-counts">
                  Shown {count(untracked.shown)} times, clicked {count(untracked.clicked)}, dismissed{" "}
                  {count(untracked.dismissed)}.
                </Text>
                <Text as="p" tone="subdued">
                  They declined analytics, so they only see messages that target no one in particular, and are
                  counted here in total: no visitor, customer or order is linked to them, and they are in
                  neither the shown group nor the holdout above.
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
                  "Visitors",
                  "Conversion",
                  "Lift vs holdout",
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
                  <Text as="h2" variant="headingMd">
                    By segment
                  </Text>
                  <Text as="p" tone="subdued">
                    Signed-in customers who are members of each segment now (not necessarily when first shown
                    the offer); a customer in two segments counts in both. Treated and held out: conversions /
                    visitors (rate).
                  </Text>
                </BlockStack>
              </Box>
              <IndexTable
                resourceName={{ singular: "segment", plural: "segments" }}
                itemCount={r.bySegment.length}
                selectable={false}
                emptyState={
                  <Box padding="400">
                    <Text as="p" tone="subdued">
                      No visitor was shown or held out of this offer in the last {days} days.
                    </Text>
                  </Box>
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
