/**
 * The offer's lift measured across its groups of shoppers (results.server.ts `pooled`) and each
 * segment's lift borrowed toward it (`shrunk`), in words a merchant reads: what changed, by how
 * much, how sure, and how it was measured. Shown on the results page under the headline figures.
 */
import { Badge, Banner, BlockStack, Box, Card, DataTable, InlineStack, Text } from "@shopify/polaris";
import { useShopFormat } from "../admin/chrome";
import { count, percent, points, signedMoney, type ShopFormat } from "../engine/format";
import { SMALLEST_MEASURABLE_SEGMENT } from "../engine/pooled";

interface Interval {
  estimate: number;
  interval: number[];
  significant: boolean;
}

interface Metric extends Interval {
  varianceRatio: number;
}

export type PooledData =
  | { status: "not enough data"; need: string }
  | {
      status: "ok";
      strata: { key: string; name: string; units: number; weight: number }[];
      conversion: Metric;
      revenuePerUnit: Metric;
      prePeriodDays: number;
      unitsWithHistory: number;
      conversionSpread: number;
    };

export interface SegmentRow {
  handle: string | null;
  name: string;
  treatment: { units: number };
  holdout: { units: number };
  shrunk: {
    conversion: Interval & { raw: number; rawInterval: number[]; shrinkage: number };
  } | null;
}

/** "+1.2 (+0.3 to +2.1)": points and the 95% interval, for a table whose heading says so. */
export function pointsRange(m: { estimate: number; interval: number[] }, f: ShopFormat): string {
  return `${points(m.estimate, f)} (${points(m.interval[0], f)} to ${points(m.interval[1], f)})`;
}

/** The headline sentence: raised / lowered / no clear change, with the interval. */
export function conversionSentence(groups: number, m: Interval, f: ShopFormat): string {
  const across = `Across its ${count(groups, f)} ${groups === 1 ? "group" : "groups"} of shoppers, this offer`;
  const interval = `95% interval ${points(m.interval[0], f)} to ${points(m.interval[1], f)} points`;
  const size = points(Math.abs(m.estimate), f).replace(/^[+−-]/, "");
  if (!m.significant) {
    return `${across} changed conversion by ${points(m.estimate, f)} points, but the ${interval} includes no change: no clear effect yet.`;
  }
  return `${across} ${m.estimate > 0 ? "raised" : "lowered"} conversion by ${size} points (${interval}).`;
}

export function revenueSentence(m: Interval, f: ShopFormat): string {
  const range = `95% interval ${signedMoney(m.interval[0], f)} to ${signedMoney(m.interval[1], f)}`;
  return `Revenue per shopper: ${signedMoney(m.estimate, f)} against the held-out shoppers (${range}${
    m.significant ? "" : ", which includes no change"
  }).`;
}

export default function PooledEstimate({ pooled, segments }: { pooled: PooledData; segments: SegmentRow[] }) {
  const f = useShopFormat();
  if (pooled.status !== "ok") {
    return (
      <Card>
        <BlockStack gap="200">
          <Text as="h2" variant="headingMd">
            Measured across its groups
          </Text>
          <Text as="p" tone="subdued" id="pooled-need">
            Not enough data yet: {pooled.need}. Once the offer as a whole has that, even its small segments
            are measured, each together with the offer&apos;s other groups of shoppers.
          </Text>
        </BlockStack>
      </Card>
    );
  }
  const c = pooled.conversion;
  const saved = 1 / c.varianceRatio - 1;
  const rows = segments.filter((s) => s.shrunk);
  return (
    <Card>
      <div id="pooled-estimate">
        <BlockStack gap="300">
          <InlineStack align="space-between" blockAlign="center">
            <Text as="h2" variant="headingMd">
              Measured across its groups
            </Text>
            {c.significant ? (
              <Badge tone={c.estimate > 0 ? "success" : "critical"}>Clear effect</Badge>
            ) : (
              <Badge>No clear effect yet</Badge>
            )}
          </InlineStack>
          <Text as="p" variant="headingSm" id="pooled-conversion">
            {conversionSentence(pooled.strata.length, c, f)}
          </Text>
          <Text as="p" id="pooled-revenue">
            {revenueSentence(pooled.revenuePerUnit, f)}
          </Text>
          <Text as="p" tone="subdued" id="pooled-how">
            How: each shopper is compared only with held-out shoppers of the same group (
            {pooled.strata.map((s) => `${s.name}, ${count(s.units, f)}`).join("; ")}), and the groups are
            added up by their size. A shopper in several segments counts in the smallest. What each shopper
            bought in the {pooled.prePeriodDays} days before first seeing the offer takes out differences that
            were there before ({count(pooled.unitsWithHistory, f)} of them had bought):{" "}
            {saved >= 0.005
              ? `that made the interval as narrow as ${percent(saved, f, 0)} more shoppers would have.`
              : "here it did not narrow the interval noticeably."}
          </Text>
          {rows.length > 0 ? (
            <BlockStack gap="200">
              <Box paddingBlockStart="200">
                <Text as="h3" variant="headingSm">
                  Each segment, measured with the others
                </Text>
                <Text as="p" tone="subdued" id="pooled-segments-how">
                  Conversion lift in points, with its 95% interval. A small segment&apos;s own figure is
                  noisy: it is pulled toward the offer&apos;s overall lift as far as its own data is
                  uncertain, and its interval counts the uncertainty of both. A segment with few shoppers is
                  still measured this way; it just leans more on the others.{" "}
                  {pooled.conversionSpread === 0
                    ? "So far the segments differ no more than chance alone would make them, so each is pulled all the way to the offer's lift."
                    : `The segments' true lifts seem to differ by about ${points(pooled.conversionSpread, f).replace(/^\+/, "")} points.`}
                </Text>
              </Box>
              <div id="pooled-segments">
                <DataTable
                  columnContentTypes={["text", "numeric", "text", "text", "numeric"]}
                  headings={[
                    "Segment",
                    "Shoppers",
                    "Lift on its own",
                    "Lift with the others",
                    "Pulled toward the offer's",
                  ]}
                  rows={rows.map((s) => {
                    const e = s.shrunk!.conversion;
                    return [
                      s.name,
                      count(s.treatment.units + s.holdout.units, f),
                      pointsRange({ estimate: e.raw, interval: e.rawInterval }, f),
                      pointsRange(e, f),
                      percent(e.shrinkage, f, 0),
                    ];
                  })}
                />
              </div>
            </BlockStack>
          ) : null}
        </BlockStack>
      </div>
    </Card>
  );
}

/**
 * What a segment's size means for measuring it, in words (segments list, segment page, builder):
 * under SMALLEST_MEASURABLE_SEGMENT not even pooled measurement helps; under the segment's own
 * smallest useful size it is measured together with an offer's other groups.
 */
export function smallSegmentWords(
  reach: number,
  minSize: number,
  people: string,
  f: Pick<ShopFormat, "locale">,
): { tone: "warning" | "info"; badge: string; title: string; text: string } {
  if (reach < SMALLEST_MEASURABLE_SEGMENT) {
    return {
      tone: "warning",
      badge: "Too small to measure",
      title: "Too small to measure",
      text:
        `${count(reach, f)} ${people} is under ${count(SMALLEST_MEASURABLE_SEGMENT, f)}: with a 10% holdout one or two would be ` +
        `held out, so no lift can be read for it, even measured together with an offer's other groups. ` +
        `Widen the rule or combine it with another segment.`,
    };
  }
  return {
    tone: "info",
    badge: "Measured with others",
    title: "Small: measured together with an offer's other groups",
    text:
      `${count(reach, f)} ${people} is under ${count(minSize, f)}: an offer shown only to this segment would take long ` +
      `to show a reliable lift on its own. Its results are measured together with the other groups an offer ` +
      `reaches, and its own lift is pulled toward the offer's (see an offer's results). To measure it sooner, ` +
      `show the offer to a broader segment that contains it.`,
  };
}

/** The segments list's badge for a segment under its smallest useful size. */
export function SmallSegmentBadge({ reach, minSize }: { reach: number; minSize: number }) {
  const f = useShopFormat();
  const w = smallSegmentWords(reach, minSize, "people", f);
  return <Badge tone={w.tone === "warning" ? "attention" : "info"}>{w.badge}</Badge>;
}

/** The segment page's banner for a segment under its smallest useful size. */
export function SmallSegmentBanner({
  reach,
  minSize,
  people,
}: {
  reach: number;
  minSize: number;
  people: string;
}) {
  const f = useShopFormat();
  const w = smallSegmentWords(reach, minSize, people, f);
  return (
    <Banner tone={w.tone} title={w.title}>
      <p id="small-segment">{w.text}</p>
    </Banner>
  );
}
