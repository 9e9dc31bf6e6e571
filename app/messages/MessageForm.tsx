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
  Card,
  Checkbox,
  ChoiceList,
  FormLayout,
  InlineStack,
  Layout,
  List,
  Modal,
  Page,
  Select,
  Text,
  TextField,
} from "@shopify/polaris";
import { useEffect, useState, type CSSProperties } from "react";
import {
  FORMATS,
  FORMAT_LABELS,
  LIMITS,
  PAGE_TYPE_LABELS,
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
] as const satisfies readonly FormInput[];

/** The form as a post: the same fields a plain HTML form would send. */
function formDataOf(values: MessageFormValues): FormData {
  const form = new FormData();
  form.set("intent", "save");
  for (const key of STRING_INPUTS) form.set(key, values[key]);
  for (const t of values.pageTypes) form.append("pageTypes", t);
  if (values.oncePerSession) form.set("oncePerSession", "on");
  if (values.active) form.set("active", "on");
  return form;
}

/** How the message will look on the storefront, drawn on a sketch of a page. */
export function MessagePreview({ values }: { values: MessageFormValues }) {
  const headline = values.headline.trim() || "Your headline";
  const body = values.body.trim();
  const button = values.buttonLabel.trim();
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
  const content = (
    <>
      {close}
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
        <strong style={{ color: values.headline.trim() ? undefined : "#999" }}>{headline}</strong>
        {body && <span>{body}</span>}
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

export function MessageForm({
  data,
  result,
}: {
  data: MessageFormPage;
  result: MessageActionResult | undefined;
}) {
  const { existing, segments } = data;
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
                <Select
                  label="Segment"
                  helpText="Only its members see the message"
                  placeholder="Choose a segment"
                  options={segmentOptions}
                  value={values.segment}
                  onChange={set("segment")}
                  error={errorOf("segment")}
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
                </FormLayout>
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
