/**
 * The message form: who sees it (a segment), how (popup, corner message, sticky bar), when (the
 * trigger), where (page types and URL texts), how often (the cap) and what it says, with a live
 * preview beside it. The server turns the post into the one MessageInput and validates it; each
 * problem comes back with the input it belongs to and is shown there, and what was typed stays.
 */
import { useNavigation, useSubmit } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Button,
  Card,
  Checkbox,
  ChoiceList,
  FormLayout,
  InlineError,
  InlineStack,
  Layout,
  List,
  Modal,
  Page,
  Popover,
  Select,
  Tag,
  Text,
  TextField,
} from "@shopify/polaris";
import { useEffect, useState, type CSSProperties } from "react";
import {
  FORMATS,
  FORMAT_LABELS,
  LIMITS,
  PAGE_TYPE_LABELS,
  REWARDS,
  REWARD_LABELS,
  TRIGGERS,
  TRIGGER_LABELS,
} from "../engine/message";
import { PAGE_TYPES } from "../engine/decide";
import type { FormInput, MessageActionResult, MessageFormPage, MessageFormValues } from "./admin.server";

const FORMAT_HELP: Record<(typeof FORMATS)[number], string> = {
  popup: "A card in the middle of the page over a dimmed background",
  corner: "A small card in a bottom corner (left or right, as set in the theme editor)",
  bar: "A slim bar along the bottom or top of the page (as set in the theme editor)",
};

const STRING_INPUTS = [
  "name",
  "segment",
  "format",
  "trigger",
  "seconds",
  "percent",
  "priority",
  "pathContains",
  "everyDays",
  "headline",
  "body",
  "buttonLabel",
  "buttonUrl",
  "imageUrl",
  "startsAt",
  "endsAt",
  "reward",
  "discountType",
  "discountValue",
  "validDays",
  "minimumSubtotal",
  "holdoutPercent",
] as const satisfies readonly FormInput[];

const AUDIENCE_INPUTS = ["alsoAll", "anyOf", "exclude"] as const satisfies readonly FormInput[];

/** The code a shopper would get, as drawn in the preview. */
export const SAMPLE_CODE = "WELCOME-7KQ4";

function hasDiscount(reward: string): boolean {
  return reward === "firstPurchase" || reward === "referral";
}

/** The form as a post: the same fields a plain HTML form would send. */
function formDataOf(values: MessageFormValues): FormData {
  const form = new FormData();
  form.set("intent", "save");
  for (const key of STRING_INPUTS) form.set(key, values[key]);
  for (const t of values.pageTypes) form.append("pageTypes", t);
  for (const key of AUDIENCE_INPUTS) for (const h of values[key]) form.append(key, h);
  if (values.oncePerSession) form.set("oncePerSession", "on");
  if (values.active) form.set("active", "on");
  return form;
}

/** How the message will look on the storefront, drawn on a sketch of a page. */
export function MessagePreview({ values }: { values: MessageFormValues }) {
  const headline = values.headline.trim() || "Your headline";
  const body = values.body.trim();
  const button = values.buttonLabel.trim();
  const imageUrl = /^https:\/\/\S+$/.test(values.imageUrl.trim()) ? values.imageUrl.trim() : "";
  const code = hasDiscount(values.reward);
  const page: CSSProperties = {
    position: "relative",
    height: 300,
    overflow: "hidden",
    borderRadius: 8,
    border: "1px solid #d4d4d4",
    background: "#fafafa",
    fontFamily: "inherit",
  };
  const line = (width: string): CSSProperties => ({
    width,
    height: 10,
    marginBottom: 14,
    borderRadius: 5,
    background: "#e3e3e3",
  });
  const card: CSSProperties = {
    background: "#fff",
    color: "#1a1a1a",
    borderRadius: 10,
    boxShadow: "0 6px 24px rgba(0,0,0,0.18)",
    padding: "14px 16px",
    position: "relative",
  };
  const buttonStyle: CSSProperties = {
    display: "inline-block",
    marginTop: 10,
    padding: "6px 12px",
    borderRadius: 6,
    background: "#1a1a1a",
    color: "#fff",
    fontSize: 12,
    fontWeight: 600,
  };
  const close = (
    <span aria-hidden style={{ position: "absolute", top: 6, right: 10, color: "#777", fontSize: 14 }}>
      ×
    </span>
  );
  const codeBox = (
    <span
      data-preview-code
      style={{
        display: "inline-block",
        marginTop: 8,
        padding: "3px 10px",
        border: "1px dashed #8a8a8a",
        borderRadius: 6,
        background: "#f6f6f6",
        fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace",
        fontSize: 12,
        letterSpacing: 1,
      }}
    >
      {SAMPLE_CODE}
    </span>
  );
  const emailBox = (
    <span
      style={{
        display: "block",
        marginTop: 8,
        padding: "4px 8px",
        border: "1px solid #c9c9c9",
        borderRadius: 6,
        color: "#999",
        fontSize: 11,
        textAlign: "left",
      }}
    >
      Email address
    </span>
  );
  const content = (
    <>
      {close}
      {imageUrl && (
        <img
          src={imageUrl}
          alt=""
          style={{
            display: "block",
            maxWidth: "100%",
            maxHeight: 80,
            margin: "0 auto 8px",
            borderRadius: 6,
            objectFit: "cover",
          }}
        />
      )}
      <div
        style={{
          fontWeight: 650,
          fontSize: 14,
          paddingRight: 14,
          color: values.headline.trim() ? undefined : "#999",
        }}
      >
        {headline}
      </div>
      {body && <div style={{ fontSize: 12, marginTop: 6, lineHeight: 1.4 }}>{body}</div>}
      {code && <div>{codeBox}</div>}
      {values.reward === "emailCapture" && emailBox}
      {button && <span style={buttonStyle}>{button}</span>}
    </>
  );
  let message;
  if (values.format === "bar")
    message = (
      <div
        style={{
          position: "absolute",
          left: 0,
          right: 0,
          bottom: 0,
          background: "#fff",
          color: "#1a1a1a",
          boxShadow: "0 -2px 8px rgba(0,0,0,0.12)",
          padding: "6px 28px 6px 12px",
          fontSize: 11,
          lineHeight: 1.35,
          display: "flex",
          gap: "4px 8px",
          alignItems: "center",
          flexWrap: "wrap",
        }}
      >
        {imageUrl && <img src={imageUrl} alt="" style={{ maxHeight: 24, borderRadius: 3 }} />}
        <strong style={{ color: values.headline.trim() ? undefined : "#999" }}>{headline}</strong>
        {body && <span>{body}</span>}
        {code && (
          <span style={{ fontFamily: "ui-monospace, Menlo, monospace", letterSpacing: 1 }}>
            {SAMPLE_CODE}
          </span>
        )}
        {button && (
          <span
            style={{
              ...buttonStyle,
              marginTop: 0,
              padding: "2px 8px",
              fontSize: 11,
            }}
          >
            {button}
          </span>
        )}
        <span aria-hidden style={{ position: "absolute", top: 6, right: 10 }}>
          ×
        </span>
      </div>
    );
  else if (values.format === "corner")
    message = (
      <div style={{ ...card, position: "absolute", right: 12, bottom: 12, width: "58%" }}>{content}</div>
    );
  else
    message = (
      <div
        style={{
          position: "absolute",
          inset: 0,
          background: "rgba(0,0,0,0.45)",
          display: "flex",
          alignItems: "center",
          justifyContent: "center",
        }}
      >
        <div style={{ ...card, width: "78%", textAlign: "center" }}>{content}</div>
      </div>
    );
  return (
    <div style={page} data-preview-format={values.format}>
      {/* Every format floats over the page, as on the storefront (the bar along the bottom, the theme's default). */}
      <div style={{ padding: 16 }}>
        <div style={line("40%")} />
        <div style={line("85%")} />
        <div style={line("70%")} />
        <div style={{ width: "45%", height: 110, borderRadius: 6, background: "#ececec" }} />
      </div>
      {message}
    </div>
  );
}

/**
 * Several segments, chosen in a popover: the chosen ones as tags (each removable), the shop's
 * segments as a multiple-choice list.
 */
function SegmentPicker({
  id,
  label,
  helpText,
  segments,
  selected,
  onChange,
  error,
}: {
  id: string;
  label: string;
  helpText: string;
  segments: { handle: string; name: string }[];
  selected: string[];
  onChange: (selected: string[]) => void;
  error: string | undefined;
}) {
  const [open, setOpen] = useState(false);
  const nameOf = (handle: string) =>
    segments.find((s) => s.handle === handle)?.name ?? `${handle} (segment deleted)`;
  const choices = [
    ...segments.map((s) => ({ value: s.handle, label: s.name })),
    ...selected
      .filter((h) => !segments.some((s) => s.handle === h))
      .map((h) => ({ value: h, label: nameOf(h) })),
  ];
  return (
    <div data-segment-picker={id}>
      <BlockStack gap="100">
        <Text as="span" id={`${id}-label`}>
          {label}
        </Text>
        <InlineStack gap="200" blockAlign="center">
          {selected.map((h) => (
            <Tag key={h} onRemove={() => onChange(selected.filter((s) => s !== h))}>
              {nameOf(h)}
            </Tag>
          ))}
          <Popover
            active={open}
            autofocusTarget="first-node"
            preferredAlignment="left"
            onClose={() => setOpen(false)}
            activator={
              <Button
                disclosure={open ? "up" : "down"}
                size="slim"
                onClick={() => setOpen((o) => !o)}
                accessibilityLabel={`Choose segments: ${label}`}
              >
                {selected.length ? "Change" : "Choose segments"}
              </Button>
            }
          >
            <Popover.Pane>
              <div style={{ padding: "12px 16px", minWidth: 240 }}>
                <ChoiceList
                  title={label}
                  allowMultiple
                  choices={choices}
                  selected={selected}
                  onChange={onChange}
                />
              </div>
            </Popover.Pane>
          </Popover>
        </InlineStack>
        {error ? (
          <InlineError message={error} fieldID={id} />
        ) : (
          <Text as="span" tone="subdued">
            {helpText}
          </Text>
        )}
      </BlockStack>
    </div>
  );
}

export function MessageForm({
  data,
  result,
}: {
  data: MessageFormPage;
  result: MessageActionResult | undefined;
}) {
  const { existing, segments, shop } = data;
  const [values, setValues] = useState<MessageFormValues>(data.values);
  const [confirmDelete, setConfirmDelete] = useState(false);
  // Inputs changed since the last refusal: their old error no longer applies.
  const [edited, setEdited] = useState<Set<FormInput>>(() => new Set());
  // Set once React has taken over the server-rendered page (tests wait for it before typing).
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  useEffect(() => setEdited(new Set()), [result]);
  // The kill switch (Pause / Switch on) changes the saved message: the checkbox follows it.
  const savedActive = existing?.active;
  useEffect(() => {
    if (savedActive !== undefined)
      setValues((v) => (v.active === savedActive ? v : { ...v, active: savedActive }));
  }, [savedActive]);
  const submit = useSubmit();
  const navigation = useNavigation();
  const busy = navigation.state !== "idle" ? navigation.formData?.get("intent") : null;

  const problems = result && !result.ok ? result.problems : [];
  // The banner lists what still stands: a problem whose input has since been changed drops off.
  const standing = problems.filter((p) => p.input === null || !edited.has(p.input));
  const errorOf = (input: FormInput): string | undefined => {
    if (edited.has(input)) return undefined;
    const found = problems.filter((p) => p.input === input).map((p) => p.message);
    return found.length ? found.join("; ") : undefined;
  };
  const set =
    <K extends FormInput>(key: K) =>
    (value: MessageFormValues[K]) => {
      setValues((v) => ({ ...v, [key]: value }));
      setEdited((e) => (e.has(key) ? e : new Set(e).add(key)));
    };

  const save = () => submit(formDataOf(values), { method: "post" });
  const setActive = (active: boolean) =>
    submit({ intent: "active", active: active ? "on" : "off" }, { method: "post" });

  const segmentOptions = [
    ...(values.segment && !segments.some((s) => s.handle === values.segment)
      ? [{ label: `${values.segment} (segment deleted)`, value: values.segment }]
      : []),
    ...segments.map((s) => ({ label: s.name, value: s.handle })),
  ];

  return (
    <Page
      title={existing ? existing.name : "New message"}
      titleMetadata={
        existing ? existing.active ? <Badge tone="success">Active</Badge> : <Badge>Paused</Badge> : undefined
      }
      backAction={{ content: "Messages", url: "/app/messages" }}
      primaryAction={{ content: "Save message", onAction: save, loading: busy === "save" }}
      secondaryActions={
        existing
          ? [
              { content: "Results", url: `/app/messages/${existing.id}/results` },
              {
                content: existing.active ? "Pause" : "Switch on",
                onAction: () => setActive(!existing.active),
                loading: busy === "active",
              },
              { content: "Delete", destructive: true, onAction: () => setConfirmDelete(true) },
            ]
          : []
      }
    >
      <div data-messages-ready={ready ? "yes" : "no"} hidden />
      <Layout>
        {standing.length > 0 && (
          <Layout.Section>
            <Banner tone="critical" title="The message was not saved">
              <List>
                {standing.map((p, i) => (
                  <List.Item key={i}>
                    {p.label}: {p.message}
                  </List.Item>
                ))}
              </List>
            </Banner>
          </Layout.Section>
        )}
        {result?.ok && (
          <Layout.Section>
            <Banner tone={result.active ? "success" : "info"}>
              <p>
                {result.active
                  ? "Switched on: shoppers in the segment can see it from now on."
                  : "Paused: no shopper sees it from now on."}
              </p>
            </Banner>
          </Layout.Section>
        )}
        {segments.length === 0 && (
          <Layout.Section>
            <Banner tone="warning" title="No segments yet">
              <p>
                A message is shown to the members of one segment. The built-in segments appear once the first
                import of your store finishes, or create one under Segments.
              </p>
            </Banner>
          </Layout.Section>
        )}
        {existing?.segmentMissing && (
          <Layout.Section>
            <Banner tone="warning" title="Its segment was deleted">
              <p>Nobody sees this message until you choose another segment.</p>
            </Banner>
          </Layout.Section>
        )}
        <Layout.Section>
          <BlockStack gap="400">
            <Card>
              <FormLayout>
                <TextField
                  label="Name"
                  helpText="Only you see it"
                  autoComplete="off"
                  maxLength={LIMITS.name}
                  value={values.name}
                  onChange={set("name")}
                  error={errorOf("name")}
                />
                <ChoiceList
                  title="Format"
                  choices={FORMATS.map((f) => ({
                    value: f,
                    label: FORMAT_LABELS[f],
                    helpText: FORMAT_HELP[f],
                  }))}
                  selected={[values.format]}
                  onChange={(v) => set("format")(v[0] ?? "popup")}
                  error={errorOf("format")}
                />
              </FormLayout>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  Who sees it
                </Text>
                <FormLayout>
                  <Select
                    label="Segment"
                    helpText="Only its members see the message"
                    placeholder="Choose a segment"
                    options={segmentOptions}
                    value={values.segment}
                    onChange={set("segment")}
                    error={errorOf("segment")}
                  />
                  <SegmentPicker
                    id="alsoAll"
                    label="…and also in all of"
                    helpText="Optional: shoppers must be in each of these segments too"
                    segments={segments}
                    selected={values.alsoAll}
                    onChange={set("alsoAll")}
                    error={errorOf("alsoAll")}
                  />
                  <SegmentPicker
                    id="anyOf"
                    label="…and in any of"
                    helpText="Optional: shoppers must be in at least one of these segments"
                    segments={segments}
                    selected={values.anyOf}
                    onChange={set("anyOf")}
                    error={errorOf("anyOf")}
                  />
                  <SegmentPicker
                    id="exclude"
                    label="…but not in"
                    helpText="Optional: members of these segments never see it"
                    segments={segments}
                    selected={values.exclude}
                    onChange={set("exclude")}
                    error={errorOf("exclude")}
                  />
                </FormLayout>
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  When and where
                </Text>
                <FormLayout>
                  <FormLayout.Group>
                    <Select
                      label="Show it"
                      options={TRIGGERS.map((t) => ({ value: t, label: TRIGGER_LABELS[t] }))}
                      value={values.trigger}
                      onChange={set("trigger")}
                      error={errorOf("trigger")}
                    />
                    {values.trigger === "delay" && (
                      <TextField
                        label="Seconds after the page loads"
                        type="number"
                        min={1}
                        max={600}
                        suffix="seconds"
                        autoComplete="off"
                        value={values.seconds}
                        onChange={set("seconds")}
                        error={errorOf("seconds")}
                      />
                    )}
                    {values.trigger === "scroll" && (
                      <TextField
                        label="How far down the page"
                        type="number"
                        min={1}
                        max={100}
                        suffix="%"
                        autoComplete="off"
                        value={values.percent}
                        onChange={set("percent")}
                        error={errorOf("percent")}
                      />
                    )}
                  </FormLayout.Group>
                  <TextField
                    label="Priority"
                    type="number"
                    helpText="When a shopper could see several messages, the highest priority is shown"
                    autoComplete="off"
                    value={values.priority}
                    onChange={set("priority")}
                    error={errorOf("priority")}
                  />
                  <ChoiceList
                    title="Page types"
                    allowMultiple
                    choices={PAGE_TYPES.map((t) => ({ value: t, label: PAGE_TYPE_LABELS[t] }))}
                    selected={values.pageTypes}
                    onChange={set("pageTypes")}
                    error={errorOf("pageTypes")}
                  />
                  <Text as="p" tone="subdued">
                    None ticked: every page.
                  </Text>
                  <TextField
                    label="URL contains"
                    helpText={`Only on pages whose address contains one of these texts (one per line or separated by commas, at most ${LIMITS.paths}). Empty: any address.`}
                    placeholder="e.g. /collections/sale"
                    autoComplete="off"
                    multiline={2}
                    value={values.pathContains}
                    onChange={set("pathContains")}
                    error={errorOf("pathContains")}
                  />
                </FormLayout>
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  How often
                </Text>
                <FormLayout>
                  <Checkbox
                    label="At most once per session"
                    checked={values.oncePerSession}
                    onChange={set("oncePerSession")}
                    error={errorOf("oncePerSession")}
                  />
                  <TextField
                    label="Not again within"
                    type="number"
                    min={1}
                    max={365}
                    suffix="days"
                    helpText="After a shopper has seen it. Empty: no limit."
                    autoComplete="off"
                    value={values.everyDays}
                    onChange={set("everyDays")}
                    error={errorOf("everyDays")}
                  />
                </FormLayout>
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  Content
                </Text>
                <FormLayout>
                  <TextField
                    label="Headline"
                    autoComplete="off"
                    maxLength={LIMITS.headline}
                    showCharacterCount
                    value={values.headline}
                    onChange={set("headline")}
                    error={errorOf("headline")}
                  />
                  <TextField
                    label="Text"
                    autoComplete="off"
                    multiline={3}
                    maxLength={LIMITS.body}
                    showCharacterCount
                    value={values.body}
                    onChange={set("body")}
                    error={errorOf("body")}
                  />
                  <FormLayout.Group>
                    <TextField
                      label="Button label"
                      helpText="Optional"
                      autoComplete="off"
                      maxLength={LIMITS.buttonLabel}
                      value={values.buttonLabel}
                      onChange={set("buttonLabel")}
                      error={errorOf("buttonLabel")}
                    />
                    <TextField
                      label="Button link"
                      helpText='A page of your shop ("/collections/sale") or an https:// address'
                      autoComplete="off"
                      value={values.buttonUrl}
                      onChange={set("buttonUrl")}
                      error={errorOf("buttonUrl")}
                    />
                  </FormLayout.Group>
                  <TextField
                    label="Image link"
                    helpText="Optional: an https:// address of an image shown above the headline"
                    placeholder="https://cdn.shopify.com/…"
                    autoComplete="off"
                    maxLength={LIMITS.buttonUrl}
                    value={values.imageUrl}
                    onChange={set("imageUrl")}
                    error={errorOf("imageUrl")}
                  />
                </FormLayout>
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  What it gives
                </Text>
                <FormLayout>
                  <ChoiceList
                    title="What it gives"
                    titleHidden
                    choices={REWARDS.map((r) => ({ value: r, label: REWARD_LABELS[r] }))}
                    selected={[values.reward]}
                    onChange={(v) => set("reward")(v[0] ?? "none")}
                    error={errorOf("reward")}
                  />
                  {hasDiscount(values.reward) && (
                    <BlockStack gap="400">
                      <FormLayout.Group>
                        <Select
                          label="Discount type"
                          options={[
                            { value: "percentage", label: "Percentage" },
                            { value: "amount", label: "Fixed amount" },
                          ]}
                          value={values.discountType}
                          onChange={set("discountType")}
                          error={errorOf("discountType")}
                        />
                        <TextField
                          label="Discount value"
                          type={values.discountType === "amount" ? "text" : "number"}
                          inputMode={values.discountType === "amount" ? "decimal" : "numeric"}
                          min={values.discountType === "amount" ? undefined : 1}
                          max={values.discountType === "amount" ? undefined : 100}
                          suffix={values.discountType === "amount" ? shop.currency : "%"}
                          autoComplete="off"
                          value={values.discountValue}
                          onChange={set("discountValue")}
                          error={errorOf("discountValue")}
                        />
                      </FormLayout.Group>
                      <FormLayout.Group>
                        <TextField
                          label="Code valid for"
                          type="number"
                          min={1}
                          max={60}
                          suffix="days"
                          helpText="After the shopper gets it"
                          autoComplete="off"
                          value={values.validDays}
                          onChange={set("validDays")}
                          error={errorOf("validDays")}
                        />
                        <TextField
                          label="Minimum order subtotal"
                          inputMode="decimal"
                          suffix={shop.currency}
                          helpText="Optional. Empty: any order"
                          autoComplete="off"
                          value={values.minimumSubtotal}
                          onChange={set("minimumSubtotal")}
                          error={errorOf("minimumSubtotal")}
                        />
                      </FormLayout.Group>
                      <Text as="p" tone="subdued">
                        Codes are made ahead in Shopify (a pool), and each is given to one shopper only.
                        {values.reward === "firstPurchase" &&
                          " First-purchase codes work for guests and for customers with no previous order; a signed-in customer who has ordered before is refused."}
                      </Text>
                    </BlockStack>
                  )}
                </FormLayout>
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  When it runs
                </Text>
                <FormLayout>
                  <FormLayout.Group>
                    <TextField
                      label="Starts"
                      type="datetime-local"
                      helpText="Optional. Empty: as soon as it is active"
                      autoComplete="off"
                      value={values.startsAt}
                      onChange={set("startsAt")}
                      error={errorOf("startsAt")}
                    />
                    <TextField
                      label="Ends"
                      type="datetime-local"
                      helpText="Optional. Empty: no end"
                      autoComplete="off"
                      value={values.endsAt}
                      onChange={set("endsAt")}
                      error={errorOf("endsAt")}
                    />
                  </FormLayout.Group>
                  <Text as="p" tone="subdued">
                    Times are in your shop&apos;s time zone ({shop.timeZone}).
                  </Text>
                </FormLayout>
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  Measuring
                </Text>
                <TextField
                  label="Holdout"
                  type="number"
                  min={0}
                  max={50}
                  suffix="%"
                  helpText="This share of eligible shoppers sees nothing, so you see the lift the message really brings."
                  autoComplete="off"
                  value={values.holdoutPercent}
                  onChange={set("holdoutPercent")}
                  error={errorOf("holdoutPercent")}
                />
              </BlockStack>
            </Card>
            <Card>
              <Checkbox
                label="Active"
                helpText='Shown to shoppers once saved (with the "Slice messages" app embed on in your theme). Untick to keep it paused.'
                checked={values.active}
                onChange={set("active")}
                error={errorOf("active")}
              />
            </Card>
          </BlockStack>
        </Layout.Section>
        <Layout.Section variant="oneThird">
          <div style={{ position: "sticky", top: 16 }}>
            <Card>
              <BlockStack gap="300">
                <InlineStack align="space-between" blockAlign="center">
                  <Text as="h2" variant="headingMd">
                    Preview
                  </Text>
                  <Text as="span" tone="subdued">
                    {FORMAT_LABELS[values.format as (typeof FORMATS)[number]] ?? values.format}
                  </Text>
                </InlineStack>
                <MessagePreview values={values} />
                <Text as="p" tone="subdued">
                  A sketch of where it sits on a page; the storefront draws it in the same place.
                </Text>
              </BlockStack>
            </Card>
          </div>
        </Layout.Section>
      </Layout>
      {existing && (
        <Modal
          open={confirmDelete}
          onClose={() => setConfirmDelete(false)}
          title={`Delete ${existing.name}?`}
          primaryAction={{
            content: "Delete message",
            destructive: true,
            onAction: () => {
              setConfirmDelete(false);
              submit({ intent: "delete" }, { method: "post" });
            },
          }}
          secondaryActions={[{ content: "Cancel", onAction: () => setConfirmDelete(false) }]}
        >
          <Modal.Section>
            <Text as="p">
              Shoppers stop seeing it from the next page they open. To stop it for now and keep it, pause it
              instead.
            </Text>
          </Modal.Section>
        </Modal>
      )}
    </Page>
  );
}
