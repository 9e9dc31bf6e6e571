/**
 * The message form: who sees it (a segment), how (popup, corner message, sticky bar), when (the
 * trigger), where (page types and URL texts), how often (the cap) and what it says, with a live
 * preview beside it. The server turns the post into the one MessageInput and validates it; each
 * problem comes back with the input it belongs to and is shown there, and what was typed stays.
 *
 * It is in sections that fold (Audience, Content and what it gives open first; the rest folded
 * with a summary of what they hold, and opened by themselves when a problem is in them), with the
 * preview in a column that stays in view as the form scrolls (on a narrow screen, behind a
 * "Preview" button). Unsaved edits show the contextual save bar and guard against leaving; a save
 * goes back to the list with a toast.
 */
import { useNavigation, useSubmit } from "@remix-run/react";
import { ChevronDownIcon, ChevronUpIcon } from "@shopify/polaris-icons";
import {
  Badge,
  Banner,
  BlockStack,
  Button,
  Card,
  Checkbox,
  ChoiceList,
  Collapsible,
  FormLayout,
  Icon,
  InlineError,
  InlineStack,
  List,
  Modal,
  Page,
  Popover,
  Select,
  Tag,
  Text,
  TextField,
} from "@shopify/polaris";
import { useEffect, useMemo, useState, type CSSProperties, type ReactNode } from "react";
import {
  FORMATS,
  FORMAT_LABELS,
  LIMITS,
  PAGE_TYPE_LABELS,
  REWARDS,
  REWARD_LABELS,
  TRIGGERS,
  TRIGGER_LABELS,
  referralTerms,
} from "../engine/message";
import { money, type ShopFormat } from "../engine/format";
import { toMinorUnits } from "../engine/money";
import { UnsavedChangesBar, useShopFormat, useToast } from "../admin/chrome";
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
  "referrerRewardType",
  "referrerRewardValue",
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

/** The referrer's link, as drawn in the preview. */
export const SAMPLE_LINK = "your-shop.com/discount/REFER-7KQ4";

/**
 * A referral's two rewards as the storefront says them ("Give 15%, get $10.00"), from the form as
 * typed; null while either value is not a number yet.
 */
export function referralTermsOf(values: MessageFormValues, f: ShopFormat): string | null {
  const size = (type: string, raw: string) => {
    try {
      const value = type === "amount" ? toMinorUnits(raw, f.currency) : Number(raw.trim());
      if (!Number.isInteger(value) || value < 1) return null;
      return { type: type === "amount" ? ("amount" as const) : ("percentage" as const), value };
    } catch {
      return null;
    }
  };
  const friend = size(values.discountType, values.discountValue);
  const referrer = size(values.referrerRewardType, values.referrerRewardValue);
  if (!friend || !referrer) return null;
  return referralTerms({ discount: friend, referrerReward: referrer }, (minor) => money(minor, f));
}

/** How the message will look on the storefront, drawn on a sketch of a page. */
export function MessagePreview({
  values,
  terms = null,
}: {
  values: MessageFormValues;
  terms?: string | null;
}) {
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
        // A referrer's link breaks only between its parts, as on the storefront.
        letterSpacing: values.reward === "referral" ? 0 : 1,
        whiteSpace: values.reward === "referral" ? "nowrap" : undefined,
        maxWidth: "100%",
        overflow: "hidden",
        textOverflow: "ellipsis",
      }}
    >
      {values.reward === "referral" ? SAMPLE_LINK : SAMPLE_CODE}
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
      {code && terms && values.reward === "referral" && (
        <div data-preview-terms style={{ fontSize: 12, fontWeight: 600, marginTop: 8 }}>
          {terms}
        </div>
      )}
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
        {code && terms && values.reward === "referral" && <strong data-preview-terms>{terms}</strong>}
        {code && (
          <span style={{ fontFamily: "ui-monospace, Menlo, monospace", letterSpacing: 1 }}>
            {values.reward === "referral" ? SAMPLE_LINK : SAMPLE_CODE}
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

/** The form's sections, in order, and the inputs each holds (a problem on one opens its section). */
const SECTIONS = {
  audience: { title: "Audience", inputs: ["segment", "alsoAll", "anyOf", "exclude"] },
  content: { title: "Content", inputs: ["headline", "body", "buttonLabel", "buttonUrl", "imageUrl"] },
  offer: {
    title: "What it gives",
    inputs: [
      "reward",
      "discountType",
      "discountValue",
      "validDays",
      "minimumSubtotal",
      "referrerRewardType",
      "referrerRewardValue",
    ],
  },
  display: {
    title: "Format and triggers",
    inputs: [
      "format",
      "trigger",
      "seconds",
      "percent",
      "priority",
      "pageTypes",
      "pathContains",
      "oncePerSession",
      "everyDays",
    ],
  },
  schedule: { title: "Schedule", inputs: ["startsAt", "endsAt"] },
  experiment: { title: "Experiment", inputs: ["holdoutPercent"] },
} as const satisfies Record<string, { title: string; inputs: readonly FormInput[] }>;

type SectionId = keyof typeof SECTIONS;
const SECTION_IDS = Object.keys(SECTIONS) as SectionId[];

/**
 * Which sections start open: what a merchant sets first (who, what it says, what it gives); a new
 * message also opens its format and trigger, which every message needs. Schedule and experiment
 * start folded: their defaults (as soon as it is on, no end; 10% held out) suit most messages.
 */
function initiallyOpen(isNew: boolean): Record<SectionId, boolean> {
  return { audience: true, content: true, offer: true, display: isNew, schedule: false, experiment: false };
}

/** Styles the Polaris components do not give: the sections' headers, the preview column. */
const FORM_CSS = `
.slice-mf-grid{display:grid;grid-template-columns:minmax(0,1fr);gap:var(--p-space-400)}
.slice-mf-aside{display:none}
.slice-mf-sticky{position:sticky;top:var(--p-space-400)}
.Polaris-Frame--hasTopBar .slice-mf-sticky{top:calc(56px + var(--p-space-400))}
.slice-mf-toggle{position:fixed;right:16px;bottom:16px;z-index:400}
@media (min-width:56em){
  .slice-mf-grid{grid-template-columns:minmax(0,3fr) minmax(18rem,2fr)}
  .slice-mf-aside{display:block}
  .slice-mf-toggle{display:none}
}
@media (max-width:55.99em){
  .slice-mf-aside[data-open="yes"]{display:block;position:fixed;left:8px;right:8px;bottom:64px;z-index:400;max-height:70vh;overflow:auto;border-radius:var(--p-border-radius-300);box-shadow:var(--p-shadow-600)}
  .slice-mf-aside[data-open="yes"] .slice-mf-sticky{position:static}
}
.slice-mf-section-head{all:unset;box-sizing:border-box;display:flex;width:100%;gap:var(--p-space-200);align-items:center;justify-content:space-between;cursor:pointer;padding:var(--p-space-400);border-radius:var(--p-border-radius-300)}
.slice-mf-section-head:hover{background:var(--p-color-bg-surface-hover)}
.slice-mf-section-head:focus-visible{outline:var(--p-border-width-050) solid var(--p-color-border-focus);outline-offset:-2px}
`;

/** A section of the form that folds: its header says what is in it while folded. */
function Section({
  id,
  open,
  onToggle,
  summary,
  problems,
  children,
}: {
  id: SectionId;
  open: boolean;
  onToggle: () => void;
  summary: string;
  problems: number;
  children: ReactNode;
}) {
  const title = SECTIONS[id].title;
  return (
    <Card padding="0">
      <div data-section={id} data-open={open ? "yes" : "no"}>
        <h2 style={{ margin: 0 }}>
          <button
            type="button"
            className="slice-mf-section-head"
            aria-expanded={open}
            aria-controls={`slice-mf-${id}`}
            onClick={onToggle}
          >
            <BlockStack gap="100">
              <InlineStack gap="200" blockAlign="center">
                <Text as="span" variant="headingMd">
                  {title}
                </Text>
                {problems > 0 && (
                  <Badge tone="critical">{problems === 1 ? "1 problem" : `${problems} problems`}</Badge>
                )}
              </InlineStack>
              {!open && (
                <Text as="span" tone="subdued">
                  {summary}
                </Text>
              )}
            </BlockStack>
            <span aria-hidden>
              <Icon source={open ? ChevronUpIcon : ChevronDownIcon} tone="subdued" />
            </span>
          </button>
        </h2>
        <Collapsible id={`slice-mf-${id}`} open={open} transition={{ duration: "120ms" }}>
          <div style={{ padding: "0 var(--p-space-400) var(--p-space-400)" }}>{children}</div>
        </Collapsible>
      </div>
    </Card>
  );
}

/**
 * A discount's kind and size side by side: a percentage (1 to 100, a whole number) or a fixed amount
 * in the shop's currency. The message's own discount and the referrer's reward both use it.
 */
function DiscountFields(props: {
  typeLabel: string;
  valueLabel: string;
  helpText?: string;
  type: string;
  value: string;
  currency: string;
  onType: (type: string) => void;
  onValue: (value: string) => void;
  typeError?: string;
  valueError?: string;
}) {
  const amount = props.type === "amount";
  return (
    <FormLayout.Group>
      <Select
        label={props.typeLabel}
        options={[
          { value: "percentage", label: "Percentage" },
          { value: "amount", label: "Fixed amount" },
        ]}
        value={props.type}
        onChange={props.onType}
        error={props.typeError}
      />
      <TextField
        label={props.valueLabel}
        type={amount ? "text" : "number"}
        inputMode={amount ? "decimal" : "numeric"}
        min={amount ? undefined : 1}
        max={amount ? undefined : 100}
        suffix={amount ? props.currency : "%"}
        helpText={props.helpText}
        autoComplete="off"
        value={props.value}
        onChange={props.onValue}
        error={props.valueError}
      />
    </FormLayout.Group>
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
  const format = useShopFormat();
  const toast = useToast();
  const [values, setValues] = useState<MessageFormValues>(data.values);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [open, setOpen] = useState<Record<SectionId, boolean>>(() => initiallyOpen(!existing));
  const [previewOpen, setPreviewOpen] = useState(false);
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

  // Unsaved: the form differs from the message as saved (or a new message's blank form).
  const saved = useMemo(() => JSON.stringify(data.values), [data.values]);
  const dirty = JSON.stringify(values) !== saved;
  // Saved: the action answered with a redirect to the list (a refusal stays on this page).
  const savedAway =
    navigation.state === "loading" &&
    navigation.formData?.get("intent") === "save" &&
    navigation.location.pathname === "/app/messages";
  useEffect(() => {
    if (savedAway) toast("Message saved");
  }, [savedAway, toast]);

  const problems = result && !result.ok ? result.problems : [];
  // The banner lists what still stands: a problem whose input has since been changed drops off.
  const standing = problems.filter((p) => p.input === null || !edited.has(p.input));
  // A refused save opens every section with a problem in it (the others keep their state).
  useEffect(() => {
    if (!result || result.ok) return;
    const inputs = new Set(result.problems.map((p) => p.input));
    setOpen((o) => {
      const next = { ...o };
      for (const id of SECTION_IDS)
        if ((SECTIONS[id].inputs as readonly FormInput[]).some((i) => inputs.has(i))) next[id] = true;
      return next;
    });
  }, [result]);
  const problemsIn = (id: SectionId) =>
    standing.filter(
      (p) => p.input !== null && (SECTIONS[id].inputs as readonly FormInput[]).includes(p.input),
    ).length;
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
  const toggle = (id: SectionId) => () => setOpen((o) => ({ ...o, [id]: !o[id] }));

  const save = () => submit(formDataOf(values), { method: "post" });
  const discard = () => {
    setValues(data.values);
    setEdited(new Set());
  };
  const setActive = (active: boolean) =>
    submit({ intent: "active", active: active ? "on" : "off" }, { method: "post" });

  const segmentOptions = [
    ...(values.segment && !segments.some((s) => s.handle === values.segment)
      ? [{ label: `${values.segment} (segment deleted)`, value: values.segment }]
      : []),
    ...segments.map((s) => ({ label: s.name, value: s.handle })),
  ];
  const segmentName = (h: string) => segments.find((s) => s.handle === h)?.name ?? h;
  const terms = values.reward === "referral" ? referralTermsOf(values, format) : null;
  const sizeOf = (type: string, raw: string) =>
    type === "amount" ? `${raw.trim() || "?"} ${shop.currency}` : `${raw.trim() || "?"}%`;

  const summaries: Record<SectionId, string> = {
    audience: values.segment
      ? [
          segmentName(values.segment),
          values.alsoAll.length + values.anyOf.length ? "with more conditions" : "",
          values.exclude.length ? `not in ${values.exclude.map(segmentName).join(", ")}` : "",
        ]
          .filter(Boolean)
          .join(" · ")
      : "No segment chosen yet",
    content: values.headline.trim() || "No headline yet",
    offer:
      values.reward === "referral"
        ? (terms ?? "Referral invite")
        : values.reward === "firstPurchase"
          ? `${sizeOf(values.discountType, values.discountValue)} off a first purchase`
          : (REWARD_LABELS[values.reward as (typeof REWARDS)[number]] ?? values.reward),
    display: [
      FORMAT_LABELS[values.format as (typeof FORMATS)[number]] ?? values.format,
      TRIGGER_LABELS[values.trigger as (typeof TRIGGERS)[number]] ?? values.trigger,
      values.pageTypes.length
        ? values.pageTypes.map((t) => PAGE_TYPE_LABELS[t as (typeof PAGE_TYPES)[number]] ?? t).join(", ")
        : "every page",
    ].join(" · "),
    schedule:
      values.startsAt || values.endsAt
        ? `${values.startsAt ? `From ${values.startsAt.replace("T", " ")}` : "From when it is active"}${values.endsAt ? ` until ${values.endsAt.replace("T", " ")}` : ", no end"}`
        : "As soon as it is active, no end",
    experiment: `${values.holdoutPercent.trim() || "?"}% of eligible shoppers held out to measure the lift`,
  };

  const preview = (
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
        <MessagePreview values={values} terms={terms} />
        <Text as="p" tone="subdued">
          A sketch of where it sits on a page; the storefront draws it in the same place.
        </Text>
      </BlockStack>
    </Card>
  );

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
      <style>{FORM_CSS}</style>
      <div data-messages-ready={ready ? "yes" : "no"} hidden />
      <UnsavedChangesBar
        // Deleting (confirmed in its own dialog) leaves the edits on purpose: no second question.
        dirty={dirty && busy !== "delete"}
        saving={busy === "save"}
        onSave={save}
        onDiscard={discard}
        message="Unsaved message"
      />
      <BlockStack gap="400">
        {standing.length > 0 && (
          <Banner tone="critical" title="The message was not saved">
            <List>
              {standing.map((p, i) => (
                <List.Item key={i}>
                  {p.label}: {p.message}
                </List.Item>
              ))}
            </List>
          </Banner>
        )}
        {result?.ok && (
          <Banner tone={result.active ? "success" : "info"}>
            <p>
              {result.active
                ? "Switched on: shoppers in the segment can see it from now on."
                : "Paused: no shopper sees it from now on."}
            </p>
          </Banner>
        )}
        {segments.length === 0 && (
          <Banner tone="warning" title="No segments yet">
            <p>
              A message is shown to the members of one segment. The built-in segments appear once the first
              import of your store finishes, or create one under Segments.
            </p>
          </Banner>
        )}
        {existing?.segmentMissing && (
          <Banner tone="warning" title="Its segment was deleted">
            <p>Nobody sees this message until you choose another segment.</p>
          </Banner>
        )}
        <div className="slice-mf-grid">
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
                <Checkbox
                  label="Active"
                  helpText='Shown to shoppers once saved (with the "Slice messages" app embed on in your theme). Untick to keep it paused.'
                  checked={values.active}
                  onChange={set("active")}
                  error={errorOf("active")}
                />
              </FormLayout>
            </Card>
            <Section
              id="audience"
              open={open.audience}
              onToggle={toggle("audience")}
              summary={summaries.audience}
              problems={problemsIn("audience")}
            >
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
            </Section>
            <Section
              id="content"
              open={open.content}
              onToggle={toggle("content")}
              summary={summaries.content}
              problems={problemsIn("content")}
            >
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
            </Section>
            <Section
              id="offer"
              open={open.offer}
              onToggle={toggle("offer")}
              summary={summaries.offer}
              problems={problemsIn("offer")}
            >
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
                    {values.reward === "referral" && (
                      <Text as="h3" variant="headingSm">
                        They get: the friend&apos;s discount on their first order
                      </Text>
                    )}
                    <DiscountFields
                      typeLabel="Discount type"
                      valueLabel="Discount value"
                      type={values.discountType}
                      value={values.discountValue}
                      currency={shop.currency}
                      onType={set("discountType")}
                      onValue={set("discountValue")}
                      typeError={errorOf("discountType")}
                      valueError={errorOf("discountValue")}
                    />
                    {values.reward === "referral" && (
                      <>
                        <Text as="h3" variant="headingSm">
                          You get: the referrer&apos;s reward for each friend whose order is paid
                        </Text>
                        <DiscountFields
                          typeLabel="Referrer's reward type"
                          valueLabel="Referrer's reward"
                          helpText="A code only they can use, on one order, valid 90 days"
                          type={values.referrerRewardType}
                          value={values.referrerRewardValue}
                          currency={shop.currency}
                          onType={set("referrerRewardType")}
                          onValue={set("referrerRewardValue")}
                          typeError={errorOf("referrerRewardType")}
                          valueError={errorOf("referrerRewardValue")}
                        />
                        {terms && (
                          <Text as="p" tone="subdued">
                            Shoppers read it as &ldquo;{terms}&rdquo;.
                          </Text>
                        )}
                      </>
                    )}
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
            </Section>
            <Section
              id="display"
              open={open.display}
              onToggle={toggle("display")}
              summary={summaries.display}
              problems={problemsIn("display")}
            >
              <FormLayout>
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
                <FormLayout.Group>
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
              </FormLayout>
            </Section>
            <Section
              id="schedule"
              open={open.schedule}
              onToggle={toggle("schedule")}
              summary={summaries.schedule}
              problems={problemsIn("schedule")}
            >
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
            </Section>
            <Section
              id="experiment"
              open={open.experiment}
              onToggle={toggle("experiment")}
              summary={summaries.experiment}
              problems={problemsIn("experiment")}
            >
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
            </Section>
          </BlockStack>
          <div className="slice-mf-aside" data-open={previewOpen ? "yes" : "no"}>
            <div className="slice-mf-sticky" data-preview-panel>
              {preview}
            </div>
          </div>
        </div>
      </BlockStack>
      <div className="slice-mf-toggle">
        <Button
          variant="primary"
          onClick={() => setPreviewOpen((o) => !o)}
          ariaExpanded={previewOpen}
          disclosure={previewOpen ? "down" : "up"}
        >
          {previewOpen ? "Hide preview" : "Preview"}
        </Button>
      </div>
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
