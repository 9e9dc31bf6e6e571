/**
 * The results page's charts, drawn with Polaris Viz. Loaded in the browser only (the route
 * imports it lazily after hydration): the charts measure their container, which the server
 * cannot, and the server bundle stays free of d3.
 */
import { BarChart, LineChart, PolarisVizProvider } from "@shopify/polaris-viz";
import { BlockStack, InlineGrid, Text } from "@shopify/polaris";
import type { DailyPoint } from "./results.server";

export interface RateBar {
  name: string;
  /** Conversion rate, 0 to 1, or null without units. */
  rate: number | null;
}

function shortDay(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString("en-US", {
    month: "short",
    day: "numeric",
    timeZone: "UTC",
  });
}

function ChartBox({
  title,
  height = 240,
  children,
}: {
  title: string;
  height?: number;
  children: React.ReactNode;
}) {
  return (
    <BlockStack gap="200">
      <Text as="h3" variant="headingSm">
        {title}
      </Text>
      <div style={{ height }}>{children}</div>
    </BlockStack>
  );
}

export default function ResultsCharts({ daily, rates }: { daily: DailyPoint[]; rates: RateBar[] }) {
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
  const percent = (value: number | string | null) => (value === null ? "–" : `${Number(value).toFixed(1)}%`);
  return (
    <PolarisVizProvider defaultTheme="Light">
      <BlockStack gap="500">
        <InlineGrid columns={{ xs: 1, md: 2 }} gap="400">
          <ChartBox title="Impressions per day">
            <LineChart
              data={impressions}
              isAnimated={false}
              showLegend={false}
              xAxisOptions={{ labelFormatter: (v) => shortDay(String(v)) }}
            />
          </ChartBox>
          <ChartBox title="Conversions per day, by group">
            <LineChart
              data={conversions}
              isAnimated={false}
              xAxisOptions={{ labelFormatter: (v) => shortDay(String(v)) }}
            />
          </ChartBox>
        </InlineGrid>
        <ChartBox title="Conversion rate by group" height={200}>
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
