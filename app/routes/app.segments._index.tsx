import type { LoaderFunctionArgs } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { Badge, BlockStack, Card, EmptyState, IndexTable, Page, Text } from "@shopify/polaris";
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

export default function Segments() {
  const { segments, templates } = useLoaderData<typeof loader>();
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
          <IndexTable
            resourceName={{ singular: "segment", plural: "segments" }}
            itemCount={segments.length}
            selectable={false}
            headings={[
              { title: "Segment" },
              { title: "Customers", alignment: "end" },
              { title: "Visitors, 30 days", alignment: "end" },
              { title: "Last 7 days", alignment: "end" },
              { title: "" },
            ]}
          >
            {segments.map((s, i) => (
              <IndexTable.Row id={s.handle} key={s.handle} position={i}>
                <IndexTable.Cell>
                  <BlockStack gap="050">
                    <Link to={`/app/segments/${s.handle}`} data-segment={s.handle}>
                      <Text as="span" fontWeight="semibold">
                        {s.name}
                      </Text>
                    </Link>
                    <Text as="span" tone="subdued">
                      {s.description}
                    </Text>
                    <Text as="span" tone="subdued" variant="bodySm" data-audience={s.audience}>
                      {AUDIENCE[s.audience]}
                    </Text>
                  </BlockStack>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <Text as="span" alignment="end" numeric>
                    <span data-customers={s.handle}>{s.size.toLocaleString("en-US")}</span>
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
                          : s.visitorSize.toLocaleString("en-US")}
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
                    {s.weekTrend > 0 ? `+${s.weekTrend}` : s.weekTrend}
                  </Text>
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
      </Card>
    </Page>
  );
}
