import type { LoaderFunctionArgs } from "@remix-run/node";
import { useLoaderData, useSearchParams } from "@remix-run/react";
import {
  Badge,
  BlockStack,
  Box,
  Card,
  EmptyState,
  Icon,
  IndexTable,
  InlineStack,
  Link,
  Page,
  Select,
  Text,
  TextField,
} from "@shopify/polaris";
import { SearchIcon } from "@shopify/polaris-icons";
import { useMemo, useState } from "react";
import { useShopFormat } from "../admin/chrome";
import { count } from "../engine/format";
import { Sparkline } from "../segments/SizeChart";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { segmentList } from "../segments/views.server";
import { segmentTemplates } from "../segments/builder.server";
import { SmallSegmentBadge } from "../offers/PooledEstimate";

export async function loader({ request }: LoaderFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const row = await prisma.shop.findUnique({ where: { domain: shop }, select: { id: true } });
  const templates = row ? await segmentTemplates(prisma, row.id) : [];
  return {
    segments: await segmentList(prisma, shop),
    templates: templates.map(({ handle, name, description }) => ({ handle, name, description })),
  };
}

/** Who a segment is about, from what its rule reads. */
const AUDIENCE = {
  customers: "Customers",
  visitors: "Visitors, guests included",
  both: "Customers and visitors",
} as const;

type SegmentRow = Awaited<ReturnType<typeof loader>>["segments"][number];

const SORTS = {
  name: { label: "Name (A–Z)", compare: (a: SegmentRow, b: SegmentRow) => a.name.localeCompare(b.name) },
  "size-desc": { label: "Size (largest first)", compare: (a: SegmentRow, b: SegmentRow) => b.size - a.size },
  "size-asc": { label: "Size (smallest first)", compare: (a: SegmentRow, b: SegmentRow) => a.size - b.size },
  "change-desc": {
    label: "Change this week (most grown first)",
    compare: (a: SegmentRow, b: SegmentRow) => b.weekTrend - a.weekTrend,
  },
  "change-asc": {
    label: "Change this week (most shrunk first)",
    compare: (a: SegmentRow, b: SegmentRow) => a.weekTrend - b.weekTrend,
  },
} as const;
type SortKey = keyof typeof SORTS;
const isSort = (v: string | null): v is SortKey => v !== null && v in SORTS;

/** A segment matches a search when its name, handle or description contains every word typed. */
function matches(s: SegmentRow, query: string): boolean {
  const text = `${s.name} ${s.handle} ${s.description ?? ""}`.toLocaleLowerCase();
  return query
    .toLocaleLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => text.includes(word));
}

export default function Segments() {
  const { segments, templates } = useLoaderData<typeof loader>();
  const f = useShopFormat();
  // Search and sort happen in the browser (a shop has tens of segments, not thousands); ?q= and
  // ?sort= give their starting values, so a link can open the list searched or sorted.
  const [params] = useSearchParams();
  const [query, setQuery] = useState(params.get("q") ?? "");
  const [sort, setSort] = useState<SortKey>(
    isSort(params.get("sort")) ? (params.get("sort") as SortKey) : "name",
  );
  const shown = useMemo(
    () =>
      segments
        .filter((s) => matches(s, query))
        .sort((a, b) => SORTS[sort].compare(a, b) || a.name.localeCompare(b.name)),
    [segments, query, sort],
  );
  return (
    <Page
      title="Segments"
      subtitle="Narrow groups of customers and visitors, kept current as your store changes"
      primaryAction={{ content: "Create segment", url: "/app/segments/new" }}
      actionGroups={[
        {
          title: "Start from a template",
          actions: templates.map((t) => ({
            content: t.name,
            helpText: t.description,
            url: `/app/segments/new?template=${t.handle}`,
          })),
        },
      ]}
    >
      <Card padding="0">
        {segments.length === 0 ? (
          <EmptyState heading="No segments yet" image="">
            <p>The built-in segments appear as soon as the first import of your store's history finishes.</p>
          </EmptyState>
        ) : (
          <>
            <Box padding="300">
              <InlineStack gap="300" wrap={false} blockAlign="center">
                <div style={{ flex: 1 }}>
                  <TextField
                    label="Search segments"
                    labelHidden
                    placeholder="Search by name or description"
                    prefix={<Icon source={SearchIcon} />}
                    value={query}
                    onChange={setQuery}
                    clearButton
                    onClearButtonClick={() => setQuery("")}
                    autoComplete="off"
                  />
                </div>
                <Select
                  label="Sort by"
                  labelInline
                  options={Object.entries(SORTS).map(([value, s]) => ({ value, label: s.label }))}
                  value={sort}
                  onChange={(value) => setSort(isSort(value) ? value : "name")}
                />
              </InlineStack>
            </Box>
            {shown.length === 0 ? (
              <EmptyState
                heading={`No segments match "${query.trim()}"`}
                image=""
                action={{
                  content: "Clear search",
                  onAction: () => setQuery(""),
                }}
              >
                <p>Try another word, or create a segment for it.</p>
              </EmptyState>
            ) : (
              <IndexTable
                resourceName={{ singular: "segment", plural: "segments" }}
                itemCount={shown.length}
                selectable={false}
                headings={[
                  { title: "Segment" },
                  { title: "Customers", alignment: "end" },
                  { title: "Visitors, 30 days", alignment: "end" },
                  { title: "Last 7 days", alignment: "end" },
                  { title: "Last 30 days" },
                  { title: "" },
                ]}
              >
                {shown.map((s, i) => (
                  <IndexTable.Row id={s.handle} key={s.handle} position={i}>
                    <IndexTable.Cell>
                      <BlockStack gap="050">
                        <span data-segment={s.handle}>
                          <Link url={`/app/segments/${s.handle}`} removeUnderline>
                            <Text as="span" fontWeight="semibold">
                              {s.name}
                            </Text>
                          </Link>
                        </span>
                        {/* Table cells do not wrap: a long description would push the columns out of view. */}
                        <div style={{ whiteSpace: "normal", maxWidth: 340 }}>
                          <Text as="span" tone="subdued">
                            {s.description}
                          </Text>
                        </div>
                        <Text as="span" tone="subdued" variant="bodySm" data-audience={s.audience}>
                          {AUDIENCE[s.audience]}
                        </Text>
                      </BlockStack>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <Text as="span" alignment="end" numeric>
                        <span data-customers={s.handle}>{count(s.size, f)}</span>
                      </Text>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <Text
                        as="span"
                        alignment="end"
                        numeric
                        tone={s.visitorSize === null ? "subdued" : undefined}
                      >
                        <span data-visitors={s.handle}>
                          {s.audience === "customers"
                            ? "—"
                            : s.visitorSize === null
                              ? "not counted yet"
                              : count(s.visitorSize, f)}
                        </span>
                      </Text>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <Text
                        as="span"
                        alignment="end"
                        numeric
                        tone={s.weekTrend > 0 ? "success" : s.weekTrend < 0 ? "critical" : "subdued"}
                      >
                        <span data-week={s.handle}>
                          {s.weekTrend > 0
                            ? `+${count(s.weekTrend, f)}`
                            : s.weekTrend < 0
                              ? `−${count(-s.weekTrend, f)}`
                              : "0"}
                        </span>
                      </Text>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <Sparkline
                        sizes={s.trend}
                        label={`${count(s.trend[0] ?? s.size, f)} members 30 days ago, ${count(s.size, f)} now`}
                      />
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      {s.reach < s.minSize ? (
                        <SmallSegmentBadge reach={s.reach} minSize={s.minSize} />
                      ) : s.reach > s.maxSize ? (
                        <Badge tone="info">Broad</Badge>
                      ) : (
                        <Badge tone="success">Micro</Badge>
                      )}
                    </IndexTable.Cell>
                  </IndexTable.Row>
                ))}
              </IndexTable>
            )}
          </>
        )}
      </Card>
    </Page>
  );
}
