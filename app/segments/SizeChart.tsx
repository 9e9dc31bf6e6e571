/** A segment's size over the last days, from its joined/left history: a small accessible chart. */
import { BlockStack, InlineStack, Text } from "@shopify/polaris";
import { count, date } from "../engine/format";
import { useShopFormat } from "../admin/chrome";
import type { SizePoint } from "./views.server";

/** A day of the history ("2026-10-25", a UTC day) as the shop's format writes a date. */
function dayLabel(day: string, f: ReturnType<typeof useShopFormat>): string {
  return date(`${day}T00:00:00Z`, { ...f, timeZone: "UTC" });
}

export function SizeChart({ points }: { points: SizePoint[] }) {
  const f = useShopFormat();
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
  const summary = `${count(first.size, f)} on ${dayLabel(first.day, f)}, ${count(last.size, f)} today: ${count(joined, f)} joined and ${count(left, f)} left in ${points.length} days`;
  return (
    <BlockStack gap="100">
      <InlineStack align="space-between">
        <Text as="h3" variant="headingSm">
          Size over the last {points.length} days
        </Text>
        <Text as="span" tone="subdued" id="segment-churn">
          +{count(joined, f)} joined · −{count(left, f)} left
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
          {dayLabel(first.day, f)}
        </Text>
        <Text as="span" tone="subdued" variant="bodySm">
          today
        </Text>
      </InlineStack>
    </BlockStack>
  );
}

/**
 * A segment's size over the last 30 days as a small line for the segments list (sizes oldest
 * first); flat when nothing changed. Labelled with the first and last size for screen readers.
 */
export function Sparkline({ sizes, label }: { sizes: number[]; label: string }) {
  if (sizes.length < 2) return null;
  const width = 72;
  const height = 24;
  const max = Math.max(...sizes);
  const min = Math.min(...sizes);
  const span = Math.max(1, max - min);
  const x = (i: number) => (i / (sizes.length - 1)) * width;
  const y = (v: number) => (max === min ? height / 2 : height - 2 - ((v - min) / span) * (height - 4));
  const path = sizes.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  return (
    <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={label}>
      <title>{label}</title>
      <path
        d={path}
        fill="none"
        stroke={max === min ? "rgb(181, 181, 181)" : "rgb(48, 94, 226)"}
        strokeWidth={1.5}
        vectorEffect="non-scaling-stroke"
      />
    </svg>
  );
}
