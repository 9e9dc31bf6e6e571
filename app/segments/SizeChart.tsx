/** A segment's size over the last days, from its joined/left history: a small accessible chart. */
import { BlockStack, InlineStack, Text } from "@shopify/polaris";
import type { SizePoint } from "./views.server";

export function SizeChart({ points }: { points: SizePoint[] }) {
  if (points.length < 2) return null;
  const width = 600;
  const height = 80;
  const sizes = points.map((p) => p.size);
  const max = Math.max(...sizes);
  const min = Math.min(...sizes);
  const span = Math.max(1, max - min);
  const x = (i: number) => (i / (points.length - 1)) * width;
  const y = (v: number) => height - 4 - ((v - min) / span) * (height - 8);
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.size).toFixed(1)}`).join(" ");
  const joined = points.reduce((s, p) => s + p.joined, 0);
  const left = points.reduce((s, p) => s + p.left, 0);
  const first = points[0];
  const last = points[points.length - 1];
  const summary = `${first.size.toLocaleString("en-US")} on ${first.day}, ${last.size.toLocaleString("en-US")} today: ${joined.toLocaleString("en-US")} joined and ${left.toLocaleString("en-US")} left in ${points.length} days`;
  return (
    <BlockStack gap="100">
      <InlineStack align="space-between">
        <Text as="h3" variant="headingSm">
          Size over the last {points.length} days
        </Text>
        <Text as="span" tone="subdued" id="segment-churn">
          +{joined.toLocaleString("en-US")} joined · −{left.toLocaleString("en-US")} left
        </Text>
      </InlineStack>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        height={height}
        preserveAspectRatio="none"
        role="img"
        aria-label={summary}
      >
        <title>{summary}</title>
        <path d={`${path} L${width},${height} L0,${height} Z`} fill="rgba(48, 94, 226, 0.12)" />
        <path
          d={path}
          fill="none"
          stroke="rgb(48, 94, 226)"
          strokeWidth={2}
          vectorEffect="non-scaling-stroke"
        />
      </svg>
      <InlineStack align="space-between">
        <Text as="span" tone="subdued" variant="bodySm">
          {first.day}
        </Text>
        <Text as="span" tone="subdued" variant="bodySm">
          today
        </Text>
      </InlineStack>
    </BlockStack>
  );
}
