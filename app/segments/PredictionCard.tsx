/**
 * The segment page's "Predictions" card, for a segment on predicted fields: the fit in use (date,
 * customers, log-likelihood, parameters), its holdout check as a chart (expected against actual
 * repeat orders per customer after the cut-off, by repeat purchases before it) with the same
 * figures in a table, and why there are no predictions when no fit is ready.
 */
import { Banner, BlockStack, Box, DataTable, InlineStack, Text } from "@shopify/polaris";
import { count, date, percent, type ShopFormat } from "../engine/format";
import type { Calibration } from "../engine/predict/types";
import { useShopFormat } from "../admin/chrome";
import type { FitView, PredictionView } from "./prediction-view.server";

const EXPECTED = "rgb(48, 94, 226)";
const ACTUAL = "rgb(74, 74, 74)";

const fixed = (n: number, digits: number, f: ShopFormat) =>
  new Intl.NumberFormat(f.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);

function parameters(fit: FitView, f: ShopFormat): string | null {
  if (!fit.bgnbd || !fit.gammaGamma) return null;
  const { r, alpha, a, b } = fit.bgnbd;
  const { p, q, gamma } = fit.gammaGamma;
  const n = (x: number) => fixed(x, 3, f);
  return `BG/NBD r = ${n(r)}, α = ${n(alpha)}, a = ${n(a)}, b = ${n(b)} · Gamma-Gamma p = ${n(p)}, q = ${n(q)}, γ = ${n(gamma)}`;
}

/** The holdout check in words: "expected 1,234 repeat orders in the 90 days after Sep 5; there were 1,190 (3.7% more expected)". */
export function holdoutSummary(c: Calibration, f: ShopFormat): string {
  const off =
    c.error === null
      ? ""
      : Math.abs(c.error) < 0.0005
        ? " (exactly)"
        : ` (${percent(Math.abs(c.error), f)} ${c.error > 0 ? "more" : "fewer"} expected than happened)`;
  return `Fitted on history up to ${date(c.cutoff, f)}, the model expected ${count(Math.round(c.predicted), f)} repeat orders from ${count(c.customers, f)} customers in the ${count(c.holdoutDays, f)} days after; there were ${count(c.actual, f)}${off}.`;
}

/** Grouped bars, expected beside actual, for each number of repeat purchases before the cut-off. */
function CalibrationChart({ calibration }: { calibration: Calibration }) {
  const f = useShopFormat();
  const rows = calibration.byFrequency;
  if (!rows.length) return null;
  const width = 600;
  const height = 180;
  const top = 12;
  const bottom = 28;
  const max = Math.max(0.01, ...rows.flatMap((r) => [r.predicted, r.actual]));
  const slot = width / rows.length;
  const bar = Math.min(28, slot / 3);
  const y = (v: number) => top + (1 - v / max) * (height - top - bottom);
  const summary = `Repeat orders per customer in the ${calibration.holdoutDays} days after ${date(calibration.cutoff, f)}, expected and actual, by repeat purchases before: ${rows
    .map((r) => `${r.x}: expected ${fixed(r.predicted, 2, f)}, actual ${fixed(r.actual, 2, f)}`)
    .join("; ")}`;
  return (
    <BlockStack gap="100">
      <InlineStack gap="400">
        <InlineStack gap="100" blockAlign="center">
          <svg width="12" height="12" aria-hidden="true">
            <rect width="12" height="12" fill={EXPECTED} />
          </svg>
          <Text as="span" variant="bodySm">
            Expected by the model
          </Text>
        </InlineStack>
        <InlineStack gap="100" blockAlign="center">
          <svg width="12" height="12" aria-hidden="true">
            <rect x="1" y="1" width="10" height="10" fill="white" stroke={ACTUAL} strokeWidth="2" />
          </svg>
          <Text as="span" variant="bodySm">
            Actual
          </Text>
        </InlineStack>
      </InlineStack>
      <svg
        id="calibration-chart"
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        height={height}
        role="img"
        aria-label={summary}
      >
        <title>{summary}</title>
        <line x1={0} x2={width} y1={y(0)} y2={y(0)} stroke="rgb(200, 200, 200)" />
        {rows.map((r, i) => {
          const cx = slot * i + slot / 2;
          return (
            <g key={r.x}>
              <rect
                x={cx - bar - 1}
                y={y(r.predicted)}
                width={bar}
                height={y(0) - y(r.predicted)}
                fill={EXPECTED}
              />
              <rect
                x={cx + 2}
                y={y(r.actual)}
                width={bar - 2}
                height={Math.max(0, y(0) - y(r.actual) - 1)}
                fill="white"
                stroke={ACTUAL}
                strokeWidth={2}
              />
              <text x={cx} y={height - 8} textAnchor="middle" fontSize="12" fill="rgb(97, 97, 97)">
                {r.x}
              </text>
            </g>
          );
        })}
      </svg>
      <Text as="p" tone="subdued" variant="bodySm" alignment="center">
        Repeat purchases before {date(calibration.cutoff, f)}
      </Text>
    </BlockStack>
  );
}

export function PredictionCard({ view }: { view: PredictionView }) {
  const f = useShopFormat();
  const { inUse, latest, calibration } = view;
  return (
    <BlockStack gap="300">
      <Text as="h2" variant="headingMd">
        Predictions
      </Text>
      {!inUse && (
        <Banner tone="warning" title="No predictions yet">
          <p id="prediction-missing">
            {latest?.message ??
              (latest
                ? `The fit of ${date(latest.fittedAt, f)} did not finish (${latest.status}).`
                : "The shop's purchase models have not been fitted yet: they are fitted daily and after the order history is imported.")}{" "}
            Until a fit is ready, no customer has predicted figures, so this segment has no members.
          </p>
        </Banner>
      )}
      {inUse && latest && (
        <Banner tone="info" title={`The fit of ${date(latest.fittedAt, f)} is not in use`}>
          <p id="prediction-latest">
            {latest.message ?? `It did not finish (${latest.status}).`} The predictions come from the fit of{" "}
            {date(inUse.fittedAt, f)}.
          </p>
        </Banner>
      )}
      {inUse && (
        <BlockStack gap="200">
          <Text as="p" id="prediction-note">
            Predicted figures are expectations from the shop&apos;s own order history (BG/NBD for repeat
            purchases, Gamma-Gamma for spend per order): {view.note}.
          </Text>
          <Text as="p" id="prediction-fit">
            Fitted {date(inUse.fittedAt, f)} on {count(inUse.customers, f)} customers who ordered (
            {count(inUse.repeatCustomers, f)} of them more than once)
            {inUse.logLikelihood !== null ? ` · log-likelihood ${fixed(inUse.logLikelihood, 1, f)}` : ""}
          </Text>
          {parameters(inUse, f) && (
            <Text as="p" tone="subdued" variant="bodySm">
              {parameters(inUse, f)}
            </Text>
          )}
        </BlockStack>
      )}
      {inUse && calibration && (
        <BlockStack gap="200">
          <Text as="h3" variant="headingSm">
            How the model did on the shop&apos;s own holdout period
          </Text>
          <Text as="p" id="prediction-holdout">
            {holdoutSummary(calibration, f)}
          </Text>
          <CalibrationChart calibration={calibration} />
          <Box>
            <DataTable
              columnContentTypes={["text", "numeric", "numeric", "numeric"]}
              headings={[
                "Repeat purchases before",
                "Customers",
                "Expected per customer",
                "Actual per customer",
              ]}
              rows={calibration.byFrequency.map((r) => [
                r.x,
                count(r.customers, f),
                fixed(r.predicted, 2, f),
                fixed(r.actual, 2, f),
              ])}
            />
          </Box>
        </BlockStack>
      )}
      {inUse && !calibration && (
        <Text as="p" tone="subdued">
          This fit has no holdout check: the shop&apos;s history was too short to hold a period back.
        </Text>
      )}
    </BlockStack>
  );
}
