import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { Link, useFetcher, useLoaderData, useNavigate } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Button,
  Card,
  EmptyState,
  IndexTable,
  InlineStack,
  Page,
  Text,
} from "@shopify/polaris";
import prisma from "../db.server";
import { requireShop } from "../auth.server";
import { messageAction, messageList, type MessageListRow } from "../messages/admin.server";

export async function loader({ request }: LoaderFunctionArgs) {
  const shop = await requireShop(request);
  const url = new URL(request.url);
  return {
    messages: await messageList(prisma, shop.id, new Date()),
    saved: url.searchParams.has("saved"),
    deleted: url.searchParams.has("deleted"),
  };
}

/** The list's one action: the per-row kill switch (intent=active, id, active=on|off). */
export async function action({ request }: ActionFunctionArgs) {
  const shop = await requireShop(request);
  const form = await request.formData();
  if (form.get("intent") !== "active") throw new Response("Unknown action", { status: 400 });
  return messageAction(prisma, shop.id, null, form);
}

function rate(clicked: number, shown: number): string {
  return shown ? `${((100 * clicked) / shown).toFixed(1)}%` : "–";
}

/** Pause / Switch on: takes effect on the storefront's next decision. */
function ActiveSwitch({ row }: { row: MessageListRow }) {
  const fetcher = useFetcher<typeof action>();
  // Show the new state while it is saved (optimistic UI).
  const pending = fetcher.formData?.get("active");
  const active = pending === "on" ? true : pending === "off" ? false : row.active;
  return (
    <fetcher.Form method="post">
      <input type="hidden" name="intent" value="active" />
      <input type="hidden" name="id" value={row.id} />
      <input type="hidden" name="active" value={active ? "off" : "on"} />
      <Button
        submit
        size="slim"
        loading={fetcher.state !== "idle"}
        accessibilityLabel={`${active ? "Pause" : "Switch on"} ${row.name}`}
      >
        {active ? "Pause" : "Switch on"}
      </Button>
    </fetcher.Form>
  );
}

function StatusBadge({ row }: { row: MessageListRow }) {
  return row.active ? <Badge tone="success">Active</Badge> : <Badge>Paused</Badge>;
}

export default function Messages() {
  const { messages, saved, deleted } = useLoaderData<typeof loader>();
  const navigate = useNavigate();
  const clear = () => navigate("/app/messages", { replace: true });
  return (
    <Page
      title="Messages"
      subtitle="What each segment sees on your storefront; shown, clicked and dismissed are for the last 30 days"
      primaryAction={{ content: "Create message", url: "/app/messages/new" }}
      secondaryActions={[{ content: "Preview by segment", url: "/app/messages/preview" }]}
    >
      <BlockStack gap="400">
        {saved && (
          <Banner tone="success" onDismiss={clear}>
            <p>Message saved</p>
          </Banner>
        )}
        {deleted && (
          <Banner tone="success" onDismiss={clear}>
            <p>Message deleted</p>
          </Banner>
        )}
        <Banner tone="info" title='Turn on the "Slice messages" app embed'>
          <p>
            Messages only show once the "Slice messages" app embed is on in your theme: Online Store → Themes
            → Customize → App embeds. Pausing a message takes it off the storefront from the next page a
            shopper opens.
          </p>
        </Banner>
        <Card padding="0">
          {messages.length === 0 ? (
            <EmptyState
              heading="No messages yet"
              action={{ content: "Create message", url: "/app/messages/new" }}
              image=""
            >
              <p>
                Show one segment a message of its own: a welcome for first-time visitors, a reminder for cart
                abandoners. Starter messages appear, paused, once the first import of your store finishes.
              </p>
            </EmptyState>
          ) : (
            <IndexTable
              resourceName={{ singular: "message", plural: "messages" }}
              itemCount={messages.length}
              selectable={false}
              headings={[
                { title: "Message" },
                { title: "Segment" },
                { title: "Priority", alignment: "end" },
                { title: "Status" },
                { title: "Shown", alignment: "end", tooltipContent: "In the last 30 days" },
                { title: "Clicked", alignment: "end", tooltipContent: "In the last 30 days; share of shown" },
                { title: "Dismissed", alignment: "end", tooltipContent: "In the last 30 days" },
                { title: "" },
              ]}
            >
              {messages.map((m, i) => (
                <IndexTable.Row id={String(m.id)} key={m.id} position={i}>
                  <IndexTable.Cell>
                    <BlockStack gap="050">
                      <Link to={`/app/messages/${m.id}`} data-message={m.id}>
                        <Text as="span" fontWeight="semibold">
                          {m.name}
                        </Text>
                      </Link>
                      <Text as="span" tone="subdued">
                        {m.format} · {m.trigger}
                      </Text>
                      <InlineStack gap="200" blockAlign="center">
                        {m.reward && (
                          <span data-reward={m.id}>
                            <Badge tone="info">{m.reward}</Badge>
                          </span>
                        )}
                        <span data-holdout={m.id}>
                          <Text as="span" tone="subdued" variant="bodySm">
                            {m.holdoutPercent}% held out
                          </Text>
                        </span>
                      </InlineStack>
                    </BlockStack>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    {m.segmentName === null ? (
                      <Badge tone="critical">Segment deleted</Badge>
                    ) : (
                      <Link to={`/app/segments/${m.segment}`}>{m.segmentName}</Link>
                    )}
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      {m.priority}
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <span data-status={m.id}>
                      <StatusBadge row={m} />
                    </span>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      <Link to={`/app/messages/${m.id}/results`} aria-label={`Results of ${m.name}`}>
                        {m.shown.toLocaleString("en-US")}
                      </Link>
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      {m.clicked.toLocaleString("en-US")} ({rate(m.clicked, m.shown)})
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <Text as="span" alignment="end" numeric>
                      {m.dismissed.toLocaleString("en-US")}
                    </Text>
                  </IndexTable.Cell>
                  <IndexTable.Cell>
                    <ActiveSwitch row={m} />
                  </IndexTable.Cell>
                </IndexTable.Row>
              ))}
            </IndexTable>
          )}
        </Card>
      </BlockStack>
    </Page>
  );
}
