import type { LoaderFunctionArgs } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import {
  Badge,
  BlockStack,
  Box,
  Button,
  Card,
  Collapsible,
  Divider,
  EmptyState,
  InlineStack,
  Layout,
  List,
  Page,
  Text,
} from "@shopify/polaris";
import { useEffect, useState } from "react";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { previewBySegment, type SegmentPreview } from "../messages/preview.server";

/** What each segment would see on the home page now, with why the other messages were not it. */
export async function loader({ request }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  return { previews: await previewBySegment(prisma, shop.id, new Date()) };
}

/** Who the segment was tried with: a real recent visitor or customer, or an example (said so). */
function sampleOf(p: SegmentPreview): { who: string; about: string; assumed: string[] } {
  const s = p.sample;
  const about = "about" in s ? s.about.join(" · ") : "";
  switch (s.kind) {
    case "visitor":
      return {
        who: `A recent visitor${s.customerId ? ` (customer #${s.customerId})` : ""}, last seen ${s.lastSeen}`,
        about,
        assumed: [],
      };
    case "customer":
      return { who: `Customer #${s.customerId}`, about, assumed: [] };
    case "example":
      return {
        who: `Example ${s.customer ? "customer" : "visitor"} (no one in this segment yet)`,
        about,
        assumed: s.assumed,
      };
    case "none":
      return { who: "No one to try", about: s.why, assumed: [] };
  }
}

function SegmentRow({ preview }: { preview: SegmentPreview }) {
  const [open, setOpen] = useState(false);
  const { message } = preview;
  const id = `why-${preview.handle}`;
  const whyCount = preview.skipped.length + (message?.reasons.length ?? 0);
  const sample = sampleOf(preview);
  return (
    <div data-segment-preview={preview.name}>
      <BlockStack gap="200">
        <InlineStack align="space-between" blockAlign="start" gap="400" wrap={false}>
          <Box minWidth="280px" maxWidth="280px">
            <BlockStack gap="100">
              <Text as="h3" variant="headingSm">
                {preview.name}
              </Text>
              <Text as="p" tone="subdued" fontWeight="medium">
                <span data-sample-kind={preview.sample.kind}>{sample.who}</span>
              </Text>
              <Text as="p" tone="subdued">
                {sample.about}
              </Text>
              {sample.assumed.map((a) => (
                <Text as="p" tone="subdued" key={a}>
                  Assumed: {a}
                </Text>
              ))}
            </BlockStack>
          </Box>
          <Box width="100%">
            {message ? (
              <BlockStack gap="100">
                {/* align: a nested InlineStack would inherit the row's space-between. */}
                <InlineStack gap="200" align="start" blockAlign="center">
                  <Text as="span" fontWeight="semibold">
                    {message.name}
                  </Text>
                  <Badge>{message.format}</Badge>
                  {message.variant && <Badge tone="info">{`Variant: ${message.variant}`}</Badge>}
                  {message.arm === "holdout" && <Badge tone="attention">Held out</Badge>}
                </InlineStack>
                <Text as="p">“{message.headline}”</Text>
                {message.arm === "holdout" && (
                  <Text as="p" tone="subdued">
                    This shopper is in the offer&apos;s holdout: the storefront shows them nothing, so that
                    the offer&apos;s lift can be measured.
                  </Text>
                )}
              </BlockStack>
            ) : (
              <Text as="p" tone="subdued">
                Nothing
              </Text>
            )}
          </Box>
          {whyCount > 0 && (
            <Button
              variant="plain"
              disclosure={open ? "up" : "down"}
              ariaExpanded={open}
              ariaControls={id}
              onClick={() => setOpen(!open)}
            >
              Why
            </Button>
          )}
        </InlineStack>
        <Collapsible id={id} open={open} transition={false}>
          <Box paddingBlockStart="200" paddingInlineStart="400">
            <BlockStack gap="200">
              {message && message.reasons.length > 0 && (
                <BlockStack gap="100">
                  <Text as="p" fontWeight="medium">
                    In the audience of {message.name}:
                  </Text>
                  <List>
                    {message.reasons.map((r, i) => (
                      <List.Item key={i}>
                        {r.met ? "✓" : "✗"} {r.condition} (is {r.value})
                      </List.Item>
                    ))}
                  </List>
                </BlockStack>
              )}
              {preview.skipped.length > 0 && (
                <BlockStack gap="100">
                  <Text as="p" fontWeight="medium">
                    Not shown:
                  </Text>
                  <List>
                    {preview.skipped.map((s) => (
                      <List.Item key={s.id}>
                        {s.name}: {s.reason}
                      </List.Item>
                    ))}
                  </List>
                </BlockStack>
              )}
            </BlockStack>
          </Box>
        </Collapsible>
      </BlockStack>
    </div>
  );
}

export default function MessagesPreview() {
  const { previews } = useLoaderData<typeof loader>();
  // Set once React has taken over the server-rendered page (tests wait for it before clicking).
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  return (
    <Page
      title="What each segment would see"
      subtitle="The message a member of each segment would be shown on your home page now (active messages only)"
      backAction={{ content: "Messages", url: "/app/messages" }}
    >
      <div data-messages-ready={ready ? "yes" : "no"} hidden />
      <Layout>
        <Layout.Section>
          {previews.length === 0 ? (
            <Card>
              <EmptyState heading="No segments yet" image="">
                <p>
                  A message is shown to the members of a segment. The built-in segments appear once the first
                  import of your store finishes.
                </p>
              </EmptyState>
            </Card>
          ) : (
            <Card>
              <BlockStack gap="400">
                <Text as="p" tone="subdued">
                  Each segment is tried with a real person in it: one of your most recent visitors (for
                  segments about visits, carts and checkouts) or one of its customers, with what they did with
                  messages before. When no one is in a segment yet, it is tried with an example visitor built
                  to match its rule, and says what was assumed. A real visitor or customer is shown in their
                  own arm of the offer&apos;s experiment (their variant, or held out). Nothing is recorded and
                  no code is given out.
                </Text>
                {previews.map((p, i) => (
                  <BlockStack key={p.handle} gap="400">
                    {i > 0 && <Divider />}
                    <SegmentRow preview={p} />
                  </BlockStack>
                ))}
              </BlockStack>
            </Card>
          )}
        </Layout.Section>
      </Layout>
    </Page>
  );
}
