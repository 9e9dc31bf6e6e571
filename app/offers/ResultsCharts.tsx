/**
 * The results page's charts, drawn with Polaris Viz. Loaded in the browser only (the route
 * imports it lazily after hydration): the charts measure their container, which the server
 * cannot, and the server bundle stays free of d3.
 */
import { BarChart, LineChart, PolarisVizProvider } from "@shopify/polaris-viz";
import { BlockStack, InlineGrid, Text } from "@shopify/polaris";
import type { DailyPoint } from "./results.server";
import { date as formatDate, percent as formatPercent, type ShopFormat } from "../engine/format";

export interface RateBar {
  name: string;
  /** Conversion rate, 0 to 1, or null without units. */
  rate: number | null;
}

/** A day of the series (a UTC day, YYYY-MM-DD) as the reader writes a date: "Nov 25". */
function shortDay(day: string, f: ShopFormat): string {
  const d = new Date(`${day}T12:00:00Z`);
  return new Intl.DateTimeFormat(f.locale, { month: "short", day: "numeric", timeZone: "UTC" }).format(d);
}

function ChartBox({
  title,
  height = 240,
  help,
  empty,
  children,
}: {
  title: string;
  height?: number;
  /** What the chart shows, in a line under its title. */
  help: string;
  /** Said instead of the chart while it has nothing to draw. */
  empty: string | null;
  children: React.ReactNode;
}) {
  return (
    <BlockStack gap="200">
      <Text as="h3" variant="headingSm">
        {title}
      </Text>
      <Text as="p" tone="subdued" variant="bodySm">
        {help}
      </Text>
      {empty ? (
        <div style={{ height, display: "flex", alignItems: "center" }} data-chart-empty>
          <Text as="p" tone="subdued">
            {empty}
          </Text>
        </div>
      ) : (
        <div style={{ height }}>{children}</div>
      )}
    </BlockStack>
  );
}

export default function ResultsCharts({
  daily,
  rates,
  format,
}: {
  daily: DailyPoint[];
  rates: RateBar[];
  format: ShopFormat;
}) {
  const day = (v: unknown) => shortDay(String(v), format);
  const first = daily[0]?.day;
  const last = daily.at(-1)?.day;
  const span =
    first && last
      ? `${formatDate(`${first}T12:00:00Z`, { ...format, timeZone: "UTC" })} to ${formatDate(`${last}T12:00:00Z`, { ...format, timeZone: "UTC" })}, by UTC day`
      : "";
  const anyImpression = daily.some((d) => d.impressions > 0);
  const anyConversion = daily.some((d) => d.conversions.treatment + d.conversions.holdout > 0);
  const anyRate = rates.some((r) => r.rate !== null);
  const impressions = [
    { name: "Impressions", data: daily.map((d) => ({ key: d.day, value: d.impressions })) },
  ];
  const conversions = [
    { name: "Treatment", data: daily.map((d) => ({ key: d.day, value: d.conversions.treatment })) },
    { name: "Holdout", data: daily.map((d) => ({ key: d.day, value: d.conversions.holdout })) },
  ];
  const bars = [
    {
      name: "Conversion rate",
      data: rates.map((r) => ({ key: r.name, value: r.rate === null ? null : r.rate * 100 })),
    },
  ];
  const percent = (value: number | string | null) =>
    value === null ? "–" : formatPercent(Number(value) / 100, format);
  return (
    <PolarisVizProvider defaultTheme="Light">
      <BlockStack gap="500">
        <InlineGrid columns={{ xs: 1, md: 2 }} gap="400">
          <ChartBox
            title="Impressions per day"
            help={`Times the message appeared on a shopper's screen, ${span}.`}
            empty={
              anyImpression
                ? null
                : "No impressions yet: they appear once the message is drawn on a shopper's screen."
            }
          >
            <LineChart
              data={impressions}
              isAnimated={false}
              showLegend={false}
              xAxisOptions={{ labelFormatter: day }}
            />
          </ChartBox>
          <ChartBox
            title="Conversions per day, by group"
            help="Shoppers of each group on the day of their first attributed order. The held-out group is smaller: compare rates, below."
            empty={
              anyConversion
                ? null
                : "No orders from shoppers in the test yet: each group's first orders appear here by day."
            }
          >
            <LineChart data={conversions} isAnimated={false} xAxisOptions={{ labelFormatter: day }} />
          </ChartBox>
        </InlineGrid>
        <ChartBox
          title="Conversion rate by group"
          height={200}
          help="Share of each group's shoppers who ordered."
          empty={anyRate ? null : "No shopper in either group yet."}
        >
          <BarChart
            data={bars}
            isAnimated={false}
            showLegend={false}
            yAxisOptions={{ labelFormatter: percent }}
            tooltipOptions={{ valueFormatter: percent }}
          />
        </ChartBox>
      </BlockStack>
    </PolarisVizProvider>
  );
}
