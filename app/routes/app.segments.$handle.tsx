import type { LoaderFunctionArgs } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  DataTable,
  InlineStack,
  Layout,
  Page,
  Text,
  TextField,
} from "@shopify/polaris";
import { useState } from "react";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { segmentDetail } from "../segments/views.server";
import { formatMoney } from "../engine/money";

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const customer = new URL(request.url).searchParams.get("customer");
  const detail = await segmentDetail(prisma, shop, params.handle ?? "", customer?.trim() || null);
  if (!detail) throw new Response(`There is no segment "${params.handle}" in this shop.`, { status: 404 });
  return detail;
}

export default function SegmentDetail() {
  const s = useLoaderData<typeof loader>();
  const [customer, setCustomer] = useState(s.why?.customerId ?? "");
  return (
    <Page
      title={s.name}
      subtitle={s.description}
      backAction={{ content: "Segments", url: "/app/segments" }}
      primaryAction={{ content: "Export CSV", url: `/app/segments/${s.handle}/export`, external: true }}
    >
      <Layout>
        {s.size < s.minSize && (
          <Layout.Section>
            <Banner tone="warning" title="Too small to measure">
              <p>
                {s.size} members is under {s.minSize}: an offer shown to this segment cannot show a reliable
                lift against a holdout. Widen the rule or combine it with another segment.
              </p>
            </Banner>
          </Layout.Section>
        )}
        <Layout.Section>
          <Card>
            <BlockStack gap="200">
              <InlineStack align="space-between">
                <Text as="h2" variant="headingMd">
                  Rule
                </Text>
                <Text as="span" id="segment-size" variant="headingLg">
                  {s.size.toLocaleString("en-US")} members
                </Text>
              </InlineStack>
              {s.lines.map((l, i) => (
                <Box key={i} paddingInlineStart={`${l.depth * 400}` as "0"}>
                  <Text as="p">{l.text}</Text>
                </Box>
              ))}
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                Recent members
              </Text>
              <DataTable
                columnContentTypes={["text", "text", "numeric", "numeric"]}
                headings={["Customer", "Email", "Orders", "Total spent"]}
                rows={s.sample.map((c) => [
                  `${c.firstName ?? ""} ${c.lastName ?? ""}`.trim() || c.shopifyId,
                  c.email ?? "",
                  c.ordersCount,
                  formatMoney(c.totalSpent, "USD"),
                ])}
              />
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                Why is a customer in or out?
              </Text>
              <Form method="get">
                <InlineStack gap="200" blockAlign="end">
                  <TextField
                    label="Customer id"
                    name="customer"
                    value={customer}
                    onChange={setCustomer}
                    autoComplete="off"
                  />
                  <Button submit>Explain</Button>
                </InlineStack>
              </Form>
              {s.why && "missing" in s.why && (
                <Banner tone="warning">No customer {s.why.customerId} in this shop.</Banner>
              )}
              {s.why && "reasons" in s.why && (
                <BlockStack gap="200">
                  <Text as="p" id="why-verdict">
                    Customer {s.why.customerId} is {s.why.member ? "in" : "not in"} this segment.
                  </Text>
                  <DataTable
                    columnContentTypes={["text", "text", "text"]}
                    headings={["Condition", "Their value", ""]}
                    rows={s.why.reasons.map((r) => [
                      r.condition,
                      r.value,
                      r.met ? (
                        <Badge key="m" tone="success">
                          Met
                        </Badge>
                      ) : (
                        <Badge key="n">Not met</Badge>
                      ),
                    ])}
                  />
                </BlockStack>
              )}
            </BlockStack>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
