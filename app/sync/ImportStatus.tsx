/**
 * The history import as a merchant reads it: running (phase and records so far), finished, or
 * failed (why, in words, what happens next, a Retry button and the raw error behind a disclosure).
 * Shown on the home's setup guide and on the sync health page.
 */
import { useState } from "react";
import {
  Badge,
  BlockStack,
  Box,
  Button,
  Collapsible,
  InlineStack,
  ProgressBar,
  Text,
} from "@shopify/polaris";
import type { SyncState } from "./status.server";
import { useShopFormat } from "../admin/chrome";
import { count, dateTime, relative } from "../engine/format";

const PHASE_WORDS: Record<string, string> = {
  customers: "customers",
  orders: "orders",
  checkouts: "abandoned checkouts",
  products: "products",
  collections: "collections",
};

export function ImportStatus({
  backfill,
  now,
  onRetry,
  retrying = false,
}: {
  backfill: SyncState["backfill"];
  now: Date;
  onRetry: () => void;
  retrying?: boolean;
}) {
  const f = useShopFormat();
  const [open, setOpen] = useState(false);
  const imported = Object.values(backfill.counts).reduce((a, b) => a + b, 0);
  const so_far = backfill.phases
    .filter((p) => backfill.counts[p] !== undefined)
    .map((p) => `${count(backfill.counts[p], f)} ${PHASE_WORDS[p] ?? p}`)
    .join(" · ");
  if (backfill.status === "done")
    return (
      <InlineStack gap="200" blockAlign="center">
        <Badge tone="success">Finished</Badge>
        <Text as="span" id="import-finished">
          {backfill.finishedAt ? `Imported ${dateTime(backfill.finishedAt, f)}` : "Imported"}
          {so_far ? ` · ${so_far}` : ""}
        </Text>
      </InlineStack>
    );
  if (backfill.failure)
    return (
      <BlockStack gap="200">
        <InlineStack gap="200" blockAlign="center">
          <Badge tone="critical">Failed</Badge>
          <Text as="span" fontWeight="semibold" id="import-failure">
            {backfill.failure.summary}
          </Text>
        </InlineStack>
        <Text as="p">{backfill.failure.next}</Text>
        {backfill.retryAt && (
          <Text as="p" tone="subdued" id="import-next-try">
            Next automatic try {relative(backfill.retryAt, now, f)} (attempt {count(backfill.attempts + 1, f)}
            ).
          </Text>
        )}
        <InlineStack gap="300" blockAlign="center">
          <Button variant="primary" onClick={onRetry} loading={retrying} id="import-retry">
            Retry
          </Button>
          <Button variant="plain" disclosure={open ? "up" : "down"} onClick={() => setOpen(!open)}>
            Technical details
          </Button>
        </InlineStack>
        <Collapsible id="import-technical" open={open} transition={false}>
          <Box background="bg-surface-secondary" padding="200" borderRadius="200">
            <Text as="p" variant="bodySm" breakWord>
              <code>{backfill.error}</code>
            </Text>
          </Box>
        </Collapsible>
      </BlockStack>
    );
  const phaseIndex = backfill.phase ? backfill.phases.indexOf(backfill.phase) : -1;
  const progress =
    backfill.status === "running" && phaseIndex >= 0 ? (phaseIndex / backfill.phases.length) * 100 : 0;
  return (
    <BlockStack gap="200">
      <InlineStack gap="200" blockAlign="center">
        <Badge tone="info">{backfill.status === "running" ? "Importing" : "Waiting to start"}</Badge>
        <Text as="span" id="import-progress">
          {backfill.status === "running" && backfill.phase
            ? `Importing ${PHASE_WORDS[backfill.phase] ?? backfill.phase} (step ${phaseIndex + 1} of ${backfill.phases.length})${
                imported ? ` · ${count(imported, f)} records so far` : ""
              }`
            : "The import starts in a moment."}
        </Text>
      </InlineStack>
      <ProgressBar animated={false} progress={Math.max(progress, 3)} size="small" />
      {so_far && (
        <Text as="p" tone="subdued">
          {so_far}
        </Text>
      )}
    </BlockStack>
  );
}
