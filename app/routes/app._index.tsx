/**
 * Home: get live, then see what Slice earns. A setup guide (Polaris's setup-guide pattern) with
 * each step's real state: the history imported (progress that updates itself; a failure in words
 * with Retry), the app embed switched on in the published theme (read through the Admin API; a
 * deep link into the theme editor that activates it), a first segment reviewed and a first message
 * live. Once live (every step done, or the guide dismissed): revenue attributed, lift with its
 * interval, active messages and the segments that moved most this week. Sync health: /app/sync.
 */
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { Link as RemixLink, useFetcher, useLoaderData, useRevalidator } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import {
  Badge,
  BlockStack,
  Box,
  Button,
  Card,
  Collapsible,
  Icon,
  InlineGrid,
  InlineStack,
  Layout,
  Page,
  ProgressBar,
  Text,
} from "@shopify/polaris";
import { CheckCircleIcon, ChevronDownIcon, ChevronUpIcon } from "@shopify/polaris-icons";
import prisma from "../db.server";
import { requireAdmin } from "../auth.server";
import { config } from "../config.server";
import { homeState, retryImport, setDismissed } from "../sync/setup.server";
import { OVERVIEW_DAYS, SETUP_STEPS, type SetupStep } from "../engine/setup-steps";
import { ImportStatus } from "../sync/ImportStatus";
import { activateEmbedUrl } from "../engine/app-embed";
import { useShopFormat, useToast } from "../admin/chrome";
import { count, money, points } from "../engine/format";

export async function loader({ request }: LoaderFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const now = new Date();
  const state = await homeState(prisma, shop, now);
  return { ...state, now: now.toISOString(), embedUrl: activateEmbedUrl(shop, config.apiKey) };
}

export async function action({ request }: ActionFunctionArgs) {
  const { shop } = await requireAdmin(request);
  const form = await request.formData();
  const intent = form.get("intent");
  if (intent === "retry-import") return { message: await retryImport(prisma, shop) };
  if (intent === "recheck-embed") {
    const state = await homeState(prisma, shop, new Date(), { recheckEmbed: true });
    return {
      message:
        state.embed.state === "on"
          ? "The app embed is on"
          : state.embed.state === "unknown"
            ? "Slice could not read your theme; try again in a moment"
            : "The app embed is not on yet: switch it on and save the theme",
    };
  }
  if (intent === "dismiss" || intent === "show-guide") {
    await setDismissed(prisma, shop, intent === "dismiss");
    return { message: null };
  }
  throw new Response(`Unknown action "${String(intent)}"`, { status: 400 });
}

type Home = ReturnType<typeof useLoaderData<typeof loader>>;

const STEP_TITLES: Record<SetupStep, string> = {
  history: "Import your store's history",
  embed: "Switch on the app embed in your theme",
  segment: "Review a segment",
  message: "Put a first message live",
};

function StepRow({
  step,
  done,
  open,
  onToggle,
  children,
}: {
  step: SetupStep;
  done: boolean;
  open: boolean;
  onToggle: () => void;
  children: React.ReactNode;
}) {
  return (
    <Box
      padding="200"
      borderRadius="200"
      background={open ? "bg-surface-secondary" : undefined}
      data-step={step}
      data-done={done ? "yes" : "no"}
    >
      <BlockStack gap="200">
        <button
          type="button"
          onClick={onToggle}
          aria-expanded={open}
          aria-controls={`step-${step}`}
          style={{ all: "unset", cursor: "pointer", display: "block", width: "100%" }}
        >
          <InlineStack gap="300" blockAlign="center" wrap={false}>
            <span aria-hidden style={{ width: 20, display: "inline-flex" }}>
              {done ? (
                <Icon source={CheckCircleIcon} tone="success" />
              ) : (
                <span
                  style={{
                    width: 16,
                    height: 16,
                    margin: 2,
                    borderRadius: "50%",
                    border: "1.5px dashed #8a8a8a",
                    display: "inline-block",
                  }}
                />
              )}
            </span>
            <Text as="h3" variant="headingSm" fontWeight={open ? "semibold" : "medium"}>
              {STEP_TITLES[step]}
            </Text>
            {done && <span className="Polaris-Text--visuallyHidden">(done)</span>}
          </InlineStack>
        </button>
        <Collapsible id={`step-${step}`} open={open} transition={false}>
          <Box paddingInlineStart="800">{children}</Box>
        </Collapsible>
      </BlockStack>
    </Box>
  );
}

function SetupGuide({
  home,
  onSubmit,
  busy,
}: {
  home: Home;
  onSubmit: (intent: string) => void;
  busy: string | null;
}) {
  const f = useShopFormat();
  const completed = SETUP_STEPS.filter((s) => home.done[s]).length;
  const firstOpen = SETUP_STEPS.find((s) => !home.done[s]) ?? null;
  const [open, setOpen] = useState<SetupStep | null>(firstOpen);
  const [collapsed, setCollapsed] = useState(false);
  // When a step completes (the import finished, the embed turned on), the next one opens.
  useEffect(() => setOpen(firstOpen), [firstOpen]);
  const now = new Date(home.now);
  const toggle = (s: SetupStep) => setOpen(open === s ? null : s);
  const allDone = completed === SETUP_STEPS.length;
  return (
    <Card>
      <BlockStack gap="300">
        <InlineStack align="space-between" blockAlign="center">
          <Text as="h2" variant="headingMd">
            Setup guide
          </Text>
          <InlineStack gap="200">
            {allDone && (
              <Button variant="tertiary" onClick={() => onSubmit("dismiss")}>
                Dismiss guide
              </Button>
            )}
            <Button
              variant="tertiary"
              icon={collapsed ? ChevronDownIcon : ChevronUpIcon}
              accessibilityLabel={collapsed ? "Show the setup guide" : "Hide the setup guide"}
              onClick={() => setCollapsed(!collapsed)}
            />
          </InlineStack>
        </InlineStack>
        <Text as="p" tone="subdued">
          Four steps to show the right message to the right shoppers, measured against a holdout.
        </Text>
        <InlineStack gap="300" blockAlign="center" wrap={false}>
          <Text as="p" id="setup-progress">
            {completed} of {SETUP_STEPS.length} tasks complete
          </Text>
          <div style={{ width: 160 }}>
            <ProgressBar
              animated={false}
              progress={(completed / SETUP_STEPS.length) * 100}
              size="small"
              tone="primary"
            />
          </div>
        </InlineStack>
        <Collapsible id="setup-steps" open={!collapsed} transition={false}>
          <BlockStack gap="100">
            <StepRow
              step="history"
              done={home.done.history}
              open={open === "history"}
              onToggle={() => toggle("history")}
            >
              <BlockStack gap="200">
                <Text as="p">
                  Slice copies your customers, orders and checkouts once, then keeps the copy current as
                  Shopify sends changes. Segments are computed from it.
                </Text>
                <ImportStatus
                  backfill={home.sync.backfill}
                  now={now}
                  onRetry={() => onSubmit("retry-import")}
                  retrying={busy === "retry-import"}
                />
              </BlockStack>
            </StepRow>
            <StepRow
              step="embed"
              done={home.done.embed}
              open={open === "embed"}
              onToggle={() => toggle("embed")}
            >
              <BlockStack gap="200">
                <Text as="p" id="embed-state">
                  {home.embed.state === "on"
                    ? "The Slice messages embed is on in your published theme: messages can show on your store."
                    : home.embed.state === "off"
                      ? "The Slice messages embed is in your theme but switched off: no message shows on your store."
                      : home.embed.state === "missing"
                        ? "The Slice messages embed has not been switched on in your published theme yet: no message shows on your store."
                        : "Slice could not read your published theme just now. Switch the embed on, then check again."}
                </Text>
                {home.embed.state !== "on" && (
                  <InlineStack gap="300" blockAlign="center">
                    <Button variant="primary" url={home.embedUrl} target="_top" id="embed-activate">
                      Switch on in theme editor
                    </Button>
                    <Button onClick={() => onSubmit("recheck-embed")} loading={busy === "recheck-embed"}>
                      I&apos;ve turned it on
                    </Button>
                  </InlineStack>
                )}
                {home.embed.state !== "on" && (
                  <Text as="p" tone="subdued">
                    The theme editor opens on App embeds with Slice messages switched on: choose Save there.
                  </Text>
                )}
              </BlockStack>
            </StepRow>
            <StepRow
              step="segment"
              done={home.done.segment}
              open={open === "segment"}
              onToggle={() => toggle("segment")}
            >
              <BlockStack gap="200">
                <Text as="p">
                  Slice starts you with built-in segments (first-time visitors, checkout abandoners, lapsed
                  customers and more). Open one to see who is in it and why.
                </Text>
                <InlineStack>
                  <Button
                    variant="primary"
                    url={home.firstSegment ? `/app/segments/${home.firstSegment.handle}` : "/app/segments"}
                  >
                    {home.firstSegment ? `Review "${home.firstSegment.name}"` : "See segments"}
                  </Button>
                </InlineStack>
              </BlockStack>
            </StepRow>
            <StepRow
              step="message"
              done={home.done.message}
              open={open === "message"}
              onToggle={() => toggle("message")}
            >
              <BlockStack gap="200">
                <Text as="p">
                  {home.activeMessages > 0
                    ? `${count(home.activeMessages, f)} message${home.activeMessages === 1 ? " is" : "s are"} live.`
                    : "Starter messages are ready and paused. Switch one on: a holdout of its segment never sees it, so Slice can measure what it earns."}
                </Text>
                <InlineStack>
                  <Button
                    variant="primary"
                    url={
                      home.firstPausedMessage
                        ? `/app/messages/${home.firstPausedMessage.id}`
                        : "/app/messages"
                    }
                  >
                    {home.firstPausedMessage ? `Open "${home.firstPausedMessage.name}"` : "See messages"}
                  </Button>
                </InlineStack>
              </BlockStack>
            </StepRow>
          </BlockStack>
        </Collapsible>
      </BlockStack>
    </Card>
  );
}

function Figure({
  id,
  label,
  value,
  explain,
}: {
  id: string;
  label: string;
  value: string;
  explain: string;
}) {
  return (
    <Card>
      <BlockStack gap="100">
        <Text as="h3" variant="headingSm" tone="subdued">
          {label}
        </Text>
        <Text as="p" variant="heading2xl" id={id}>
          {value}
        </Text>
        <Text as="p" tone="subdued">
          {explain}
        </Text>
      </BlockStack>
    </Card>
  );
}

function LiveSummary({ home }: { home: Home }) {
  const f = useShopFormat();
  const revenue = home.offers.reduce((sum, o) => sum + o.revenue, 0);
  // An offer whose lift can be measured first, then the one with the most shoppers compared (the
  // best measured).
  const measurable = (o: (typeof home.offers)[number]) => (o.lift.status === "ok" ? 1 : 0);
  const measured = [...home.offers].sort(
    (a, b) =>
      measurable(b) - measurable(a) ||
      b.treatment.units + b.holdout.units - (a.treatment.units + a.holdout.units),
  )[0];
  const lift = measured?.lift;
  // A difference of conversion rates, in percentage points (not a relative change).
  const pp = (x: number) => `${points(x, f)} pts`;
  return (
    <BlockStack gap="400">
      <Text as="h2" variant="headingLg">
        What Slice earned in the last {OVERVIEW_DAYS} days
      </Text>
      <InlineGrid columns={{ xs: 1, md: 3 }} gap="400">
        <Figure
          id="revenue-attributed"
          label="Revenue attributed"
          value={money(revenue, f)}
          explain="Orders, less refunds, of shoppers who were shown one of your messages and then bought."
        />
        <Figure
          id="lift"
          label={measured ? `Lift: ${measured.name}` : "Lift"}
          value={lift?.status === "ok" ? pp(lift.absoluteLift) : "Not yet"}
          explain={
            lift?.status === "ok"
              ? `Conversion of shoppers shown it minus those held out, in percentage points; 95% sure it lies between ${pp(
                  lift.absoluteInterval[0],
                )} and ${pp(lift.absoluteInterval[1])}.`
              : lift
                ? `Not enough shoppers compared yet: ${lift.need}.`
                : "No message has been shown yet: lift compares shoppers shown a message with a holdout."
          }
        />
        <Figure
          id="active-messages"
          label="Active messages"
          value={count(home.activeMessages, f)}
          explain="Messages showing on your store now; each keeps a holdout that never sees it."
        />
      </InlineGrid>
      <Card>
        <BlockStack gap="200">
          <Text as="h3" variant="headingMd">
            Segments that changed most this week
          </Text>
          <Text as="p" tone="subdued">
            Shoppers who joined or left each segment in the last 7 days, as their orders, carts and visits
            changed.
          </Text>
          {home.movements.length === 0 ? (
            <Text as="p" id="movements-none">
              No segment changed this week.
            </Text>
          ) : (
            <BlockStack gap="100">
              {home.movements.map((m) => (
                <InlineStack
                  key={m.handle}
                  align="space-between"
                  blockAlign="center"
                  data-movement={m.handle}
                >
                  <RemixLink to={`/app/segments/${m.handle}`} style={{ color: "var(--p-color-text-link)" }}>
                    {m.name}
                  </RemixLink>
                  <InlineStack gap="200">
                    <Badge tone="success">{`+${count(m.joined, f)} joined`}</Badge>
                    <Badge>{`−${count(m.left, f)} left`}</Badge>
                    <Text as="span" tone="subdued">
                      {count(m.size, f)} now
                    </Text>
                  </InlineStack>
                </InlineStack>
              ))}
            </BlockStack>
          )}
        </BlockStack>
      </Card>
    </BlockStack>
  );
}

export default function Home() {
  const home = useLoaderData<typeof loader>();
  const fetcher = useFetcher<typeof action>();
  const revalidator = useRevalidator();
  const allDone = SETUP_STEPS.every((s) => home.done[s]);
  const live = home.live;
  const importing = home.sync.backfill.status !== "done" && !home.sync.backfill.failure;
  const submit = (intent: string) => fetcher.submit({ intent }, { method: "post" });
  const busy = fetcher.state !== "idle" ? String(fetcher.formData?.get("intent") ?? "") : null;
  const toast = useToast();
  const said = fetcher.data?.message;
  useEffect(() => {
    if (said) toast(said);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [fetcher.data]);

  // While the history import runs, the page follows it on its own.
  useEffect(() => {
    if (!importing) return;
    const timer = setInterval(() => revalidator.state === "idle" && revalidator.revalidate(), 3000);
    return () => clearInterval(timer);
  }, [importing, revalidator]);

  // Back from the theme editor (another tab, or the admin's frame): read the theme again, at most
  // every few seconds (the merchant may have switched the embed on, or off).
  const recheckedAt = useRef(0);
  useEffect(() => {
    const onReturn = () => {
      if (document.visibilityState !== "visible" || Date.now() - recheckedAt.current < 5000) return;
      recheckedAt.current = Date.now();
      fetcher.submit({ intent: "recheck-embed" }, { method: "post" });
    };
    window.addEventListener("focus", onReturn);
    document.addEventListener("visibilitychange", onReturn);
    return () => {
      window.removeEventListener("focus", onReturn);
      document.removeEventListener("visibilitychange", onReturn);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <Page title="Home">
      <Layout>
        {!home.dismissedAt && (
          <Layout.Section>
            <SetupGuide home={home} onSubmit={submit} busy={busy} />
          </Layout.Section>
        )}
        {live ? (
          <Layout.Section>
            <LiveSummary home={home} />
          </Layout.Section>
        ) : (
          <Layout.Section>
            <Text as="p" tone="subdued">
              Once these steps are done, this page shows the revenue your messages bring and their lift over
              the holdout.
            </Text>
          </Layout.Section>
        )}
        {home.dismissedAt && !allDone && (
          <Layout.Section>
            <Button variant="plain" onClick={() => submit("show-guide")}>
              Show the setup guide
            </Button>
          </Layout.Section>
        )}
      </Layout>
    </Page>
  );
}
