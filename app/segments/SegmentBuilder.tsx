/**
 * The visual segment builder: groups of conditions (all / any / none of these), references to
 * other segments (in / not in), inputs suited to each field, and a live preview of the size, a
 * sample and the overlap with other segments while the merchant edits. The rule it saves is the
 * same JSON the engine, the storefront and the CLI read; problems from the one validator are
 * shown beside the row and input that caused them.
 */
import {
  useFetcher,
  useLocation,
  useNavigation,
  useSubmit,
  type ShouldRevalidateFunction,
} from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  ChoiceList,
  Collapsible,
  Combobox,
  FormLayout,
  InlineError,
  InlineStack,
  Layout,
  Listbox,
  Modal,
  Page,
  Select,
  Spinner,
  Tag,
  Text,
  TextField,
} from "@shopify/polaris";
import { ChevronDownIcon, ChevronUpIcon, DeleteIcon, PlusIcon } from "@shopify/polaris-icons";
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { UnsavedChangesBar, useShopFormat, useToast } from "../admin/chrome";
import { count, currencySymbol, money, percent, type ShopFormat } from "../engine/format";
import {
  FIELDS,
  FIELD_NAMES,
  OPERATOR_LABELS,
  RuleError,
  VALUE_TIER_LABELS,
  operatorsFor,
  parseRule,
  type Field,
  type FieldSpec,
  type Operator,
  type Rule,
} from "../engine/rules";
import {
  draftToRule,
  emptyDraft,
  fieldSections,
  handleFrom,
  inputOf,
  moneyExample,
  newCondition,
  newId,
  placeProblem,
  plainWording,
  ruleToDraft,
  updateNode,
  withField,
  withOperator,
  type DraftCondition,
  type DraftGroup,
  type DraftNode,
  type DraftProblem,
  type DraftSegmentRef,
  type GroupMode,
} from "./draft";
import { OrderHistoryBanner } from "../sync/OrderHistoryBanner";
import { smallSegmentWords } from "../offers/PooledEstimate";
import type { PickerKind, PickerOption, PreviewResult, SaveResult } from "./builder.server";

export interface BuilderData {
  currency: string;
  existing: string | null;
  /** A built-in segment: edited, never deleted (install creates it again). */
  builtIn?: boolean;
  segment: {
    name: string;
    description: string;
    handle: string;
    minSize: number;
    maxSize: number;
    size: number | null;
    rule: Rule | null;
  };
  others: { handle: string; name: string; size: number }[];
  dependents: string[];
  labels: Record<string, string>;
  /** Shopify has not granted read_all_orders: order history reaches back 60 days only. */
  orderHistoryLimited?: boolean;
}

/** The live preview is a POST; it changes nothing, so the builder's data is not reloaded after it. */
export const previewDoesNotRevalidate: ShouldRevalidateFunction = ({
  formAction,
  defaultShouldRevalidate,
}) => (formAction === "/app/segments/preview" ? false : defaultShouldRevalidate);

export type BuilderResult = SaveResult | { ok: false; message: string } | undefined;

const MODES: { label: string; value: GroupMode }[] = [
  { label: "all of these", value: "all" },
  { label: "any of these", value: "any" },
  { label: "none of these", value: "none" },
];
const DAY_CHOICES = ["7", "14", "30", "90", "180", "365"];

/** Which picker a field's values come from (none: values are typed). */
function pickerOf(field: Field): PickerKind | null {
  const spec: FieldSpec = FIELDS[field];
  return spec.picker ?? null;
}

interface RowContext {
  currency: string;
  /** What money inputs show before the amount ("$", "€", "CA$"). */
  currencyPrefix: string;
  format: ShopFormat;
  others: BuilderData["others"];
  labels: Record<string, string>;
  addLabels: (options: PickerOption[]) => void;
  problems: DraftProblem[];
  change: (id: string, to: (n: DraftNode) => DraftNode | null) => void;
  /** The merchant pressed or focused something in this row (see activeRow). */
  enter: (id: string) => void;
}

function problemFor(ctx: RowContext, id: string, input: string): string | undefined {
  const found = [
    ...new Set(ctx.problems.filter((p) => p.id === id && p.input === input).map((p) => p.message)),
  ];
  return found.length ? found.join("; ") : undefined;
}

/**
 * Which field a condition is on: a searchable list in the merchant's groups (Customer, Orders,
 * Products, Browsing, Checkout, Answers). Shows the field's name; typing searches ("spent" finds
 * "Total spent").
 */
function FieldPicker({ c, ctx }: { c: DraftCondition; ctx: RowContext }) {
  const [query, setQuery] = useState("");
  const [searching, setSearching] = useState(false);
  const sections = useMemo(() => fieldSections(searching ? query : "", FIELD_NAMES), [query, searching]);
  const pick = (f: string) => {
    ctx.change(c.id, (n) => withField(n as DraftCondition, f as Field));
    setSearching(false);
    setQuery("");
  };
  return (
    <div style={{ minWidth: 220 }} data-input="field">
      <Combobox
        preferredPosition="below"
        activator={
          <Combobox.TextField
            label="Field"
            labelHidden
            autoComplete="off"
            placeholder={FIELDS[c.field].label}
            value={searching ? query : FIELDS[c.field].label}
            onFocus={() => {
              setSearching(true);
              setQuery("");
            }}
            onBlur={() => setSearching(false)}
            onChange={(v) => {
              setSearching(true);
              setQuery(v);
            }}
            error={problemFor(ctx, c.id, "field")}
          />
        }
      >
        {sections.length > 0 ? (
          <Listbox onSelect={pick} accessibilityLabel="Fields">
            {sections.map((section) => (
              <Listbox.Section
                key={section.title}
                divider={false}
                title={<Listbox.Header>{section.title}</Listbox.Header>}
              >
                {section.options.map((o) => (
                  <Listbox.Option
                    key={o.value}
                    value={o.value}
                    selected={o.value === c.field}
                    accessibilityLabel={o.label}
                  >
                    {o.label}
                  </Listbox.Option>
                ))}
              </Listbox.Section>
            ))}
          </Listbox>
        ) : (
          <Box padding="300">
            <Text as="p" tone="subdued">
              No field matches &ldquo;{query}&rdquo;
            </Text>
          </Box>
        )}
      </Combobox>
    </div>
  );
}

function DaysInput({ c, ctx, label }: { c: DraftCondition; ctx: RowContext; label: string }) {
  const [custom, setCustom] = useState(!DAY_CHOICES.includes(c.days));
  const set = (days: string) => ctx.change(c.id, (n) => ({ ...(n as DraftCondition), days }));
  const error = problemFor(ctx, c.id, "days");
  return (
    <InlineStack gap="100" blockAlign="start" wrap={false}>
      <Select
        label={label}
        labelHidden
        options={[
          ...DAY_CHOICES.map((d) => ({ label: `${d} days`, value: d })),
          { label: "Other…", value: "custom" },
        ]}
        value={custom ? "custom" : c.days}
        onChange={(v) => {
          if (v === "custom") setCustom(true);
          else {
            setCustom(false);
            set(v);
          }
        }}
        error={custom ? undefined : error}
      />
      {custom && (
        <div style={{ width: 110 }}>
          <TextField
            label="Number of days"
            labelHidden
            type="number"
            min={1}
            suffix="days"
            autoComplete="off"
            value={c.days}
            onChange={set}
            error={error}
          />
        </div>
      )}
    </InlineStack>
  );
}

/** "in the next N days" for the predicted fields: only the horizons the shop's predictions hold. */
function AheadInput({
  c,
  ctx,
  horizons,
}: {
  c: DraftCondition;
  ctx: RowContext;
  horizons: readonly number[];
}) {
  return (
    <InlineStack gap="100" blockAlign="center" wrap={false}>
      <Text as="span" tone="subdued">
        in the next
      </Text>
      <Select
        label="Look ahead"
        labelHidden
        options={horizons.map((d) => ({ label: `${d} days`, value: String(d) }))}
        value={c.days}
        onChange={(days) => ctx.change(c.id, (n) => ({ ...(n as DraftCondition), days }))}
        error={problemFor(ctx, c.id, "days")}
      />
    </InlineStack>
  );
}

/** Values from the shop's own products, collections, countries...: search, pick, remove. */
function PickerInput({ c, kind, ctx }: { c: DraftCondition; kind: PickerKind; ctx: RowContext }) {
  const fetcher = useFetcher<{ options: PickerOption[] }>();
  const [query, setQuery] = useState("");
  const { load } = fetcher;
  useEffect(() => {
    const t = setTimeout(
      () => load(`/app/segments/options?kind=${kind}&q=${encodeURIComponent(query)}`),
      200,
    );
    return () => clearTimeout(t);
  }, [kind, query, load]);
  const options = useMemo(() => fetcher.data?.options ?? [], [fetcher.data]);
  const { addLabels } = ctx;
  useEffect(() => addLabels(options), [options, addLabels]);
  const toggle = (value: string) =>
    ctx.change(c.id, (n) => {
      const cond = n as DraftCondition;
      const values = cond.values.includes(value)
        ? cond.values.filter((v) => v !== value)
        : [...cond.values, value];
      return { ...cond, values };
    });
  const pick = (value: string) => {
    toggle(value);
    setQuery("");
  };
  const noun = {
    product: "products",
    variant: "variants",
    collection: "collections",
    vendor: "vendors",
    productType: "product types",
    country: "countries",
  }[kind];
  return (
    <BlockStack gap="100">
      <div style={{ minWidth: 240 }}>
        <Combobox
          allowMultiple
          activator={
            <Combobox.TextField
              label={`Search ${noun}`}
              labelHidden
              placeholder={`Search ${noun}`}
              autoComplete="off"
              value={query}
              onChange={setQuery}
              error={problemFor(ctx, c.id, "value")}
            />
          }
        >
          {options.length > 0 ? (
            <Listbox onSelect={pick}>
              {options.map((o) => (
                <Listbox.Option
                  key={o.value}
                  value={o.value}
                  selected={c.values.includes(o.value)}
                  accessibilityLabel={o.label}
                >
                  {o.label}
                </Listbox.Option>
              ))}
            </Listbox>
          ) : null}
        </Combobox>
      </div>
      {c.values.length > 0 && (
        <InlineStack gap="100">
          {c.values.map((v) => (
            <Tag key={v} onRemove={() => toggle(v)}>
              {ctx.labels[v] ?? v}
            </Tag>
          ))}
        </InlineStack>
      )}
    </BlockStack>
  );
}

/** A list of free values (tags, UTM sources...): type and press Enter. */
function ListInput({ c, ctx }: { c: DraftCondition; ctx: RowContext }) {
  const [text, setText] = useState("");
  const add = () => {
    const v = text.trim();
    if (!v) return;
    ctx.change(c.id, (n) => {
      const cond = n as DraftCondition;
      return cond.values.includes(v) ? cond : { ...cond, values: [...cond.values, v] };
    });
    setText("");
  };
  return (
    <BlockStack gap="100">
      <div
        style={{ minWidth: 200 }}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            add();
          }
        }}
      >
        <TextField
          label="Values"
          labelHidden
          placeholder="Type a value, press Enter"
          autoComplete="off"
          value={text}
          onChange={setText}
          onBlur={add}
          error={problemFor(ctx, c.id, "value")}
        />
      </div>
      {c.values.length > 0 && (
        <InlineStack gap="100">
          {c.values.map((v) => (
            <Tag
              key={v}
              onRemove={() =>
                ctx.change(c.id, (n) => ({
                  ...(n as DraftCondition),
                  values: (n as DraftCondition).values.filter((x) => x !== v),
                }))
              }
            >
              {v}
            </Tag>
          ))}
        </InlineStack>
      )}
    </BlockStack>
  );
}

/** How a text field's fixed values read ("payment" → "Payment"). */
const CHOICE_LABELS: Record<string, string> = {
  started: "Started (nothing entered)",
  contact: "Contact details",
  address: "Address",
  shipping: "Shipping",
  payment: "Payment",
};
const choiceLabel = (v: string) => CHOICE_LABELS[v] ?? VALUE_TIER_LABELS[v] ?? v;

/** "Is any of" / "is none of" over a field's fixed values: tick them. */
function ChoicesInput({
  c,
  ctx,
  choices,
}: {
  c: DraftCondition;
  ctx: RowContext;
  choices: readonly string[];
}) {
  return (
    <ChoiceList
      title="Values"
      titleHidden
      allowMultiple
      choices={choices.map((v) => ({ label: choiceLabel(v), value: v }))}
      selected={c.values}
      onChange={(values) => ctx.change(c.id, (n) => ({ ...(n as DraftCondition), values }))}
      error={problemFor(ctx, c.id, "value")}
    />
  );
}

/** The one product a count is of ("views of product X"), or any one product when none is picked. */
function OneProductInput({ c, ctx }: { c: DraftCondition; ctx: RowContext }) {
  const fetcher = useFetcher<{ options: PickerOption[] }>();
  const [query, setQuery] = useState("");
  const { load } = fetcher;
  useEffect(() => {
    const t = setTimeout(
      () => load(`/app/segments/options?kind=product&q=${encodeURIComponent(query)}`),
      200,
    );
    return () => clearTimeout(t);
  }, [query, load]);
  const options = useMemo(() => fetcher.data?.options ?? [], [fetcher.data]);
  const { addLabels } = ctx;
  useEffect(() => addLabels(options), [options, addLabels]);
  const set = (product: string) => ctx.change(c.id, (n) => ({ ...(n as DraftCondition), product }));
  if (c.product)
    return (
      <InlineStack gap="100" blockAlign="center">
        <Text as="span" tone="subdued">
          of
        </Text>
        <Tag onRemove={() => set("")}>{ctx.labels[c.product] ?? c.product}</Tag>
      </InlineStack>
    );
  return (
    <div style={{ minWidth: 220 }}>
      <Combobox
        activator={
          <Combobox.TextField
            label="Of which product"
            labelHidden
            placeholder="of any one product (or search one)"
            autoComplete="off"
            value={query}
            onChange={setQuery}
            error={problemFor(ctx, c.id, "product")}
          />
        }
      >
        {options.length > 0 ? (
          <Listbox
            onSelect={(v) => {
              set(v);
              setQuery("");
            }}
          >
            {options.map((o) => (
              <Listbox.Option key={o.value} value={o.value} accessibilityLabel={o.label}>
                {o.label}
              </Listbox.Option>
            ))}
          </Listbox>
        ) : null}
      </Combobox>
    </div>
  );
}

function ValueInput({ c, ctx, which }: { c: DraftCondition; ctx: RowContext; which: "value" | "value2" }) {
  const spec: FieldSpec = FIELDS[c.field];
  const set = (v: string) => ctx.change(c.id, (n) => ({ ...(n as DraftCondition), [which]: v }));
  if (spec.choices)
    return (
      <Select
        label="Value"
        labelHidden
        options={[
          ...(spec.choices.includes(c[which]) ? [] : [{ label: "Choose…", value: c[which] }]),
          ...spec.choices.map((v) => ({ label: choiceLabel(v), value: v })),
        ]}
        value={c[which]}
        onChange={set}
        error={problemFor(ctx, c.id, which)}
      />
    );
  const common = {
    label: which === "value2" ? "and" : "Value",
    labelHidden: true,
    autoComplete: "off",
    value: c[which],
    onChange: set,
    error: problemFor(ctx, c.id, which),
  };
  if (spec.type === "money")
    return (
      <div style={{ width: 150 }}>
        <TextField
          {...common}
          inputMode="decimal"
          prefix={ctx.currencyPrefix}
          suffix={ctx.currencyPrefix === ctx.currency ? undefined : ctx.currency}
          placeholder={moneyExample(ctx.currency, 0)}
        />
      </div>
    );
  if (spec.type === "number")
    return (
      <div style={{ width: 110 }}>
        {spec.fractional ? (
          <TextField
            {...common}
            inputMode="decimal"
            suffix={
              c.field === "predicted.probabilityActive"
                ? "%"
                : c.field === "predicted.probabilityActiveChange30d"
                  ? "points"
                  : undefined
            }
          />
        ) : (
          <TextField {...common} type="number" />
        )}
      </div>
    );
  if (spec.type === "date") return <TextField {...common} type="date" />;
  return (
    <div style={{ minWidth: 180 }}>
      <TextField {...common} />
    </div>
  );
}

function ConditionRow({ c, ctx }: { c: DraftCondition; ctx: RowContext }) {
  const spec: FieldSpec = FIELDS[c.field];
  const mode = inputOf(c.field, c.op);
  const picker = pickerOf(c.field);
  const rowError = problemFor(ctx, c.id, "");
  let value: ReactNode = null;
  if (mode === "days") value = <DaysInput c={c} ctx={ctx} label="Within how many days" />;
  else if (mode === "one") value = <ValueInput c={c} ctx={ctx} which="value" />;
  else if (mode === "two")
    value = (
      <div
        data-input="between"
        style={{ display: "grid", gridTemplateColumns: "auto auto auto", gap: 8, alignItems: "start" }}
      >
        <ValueInput c={c} ctx={ctx} which="value" />
        <div style={{ paddingTop: 6 }}>
          <Text as="span" tone="subdued">
            and
          </Text>
        </div>
        <ValueInput c={c} ctx={ctx} which="value2" />
      </div>
    );
  else if (mode === "list")
    value = picker ? (
      <PickerInput key={picker} c={c} kind={picker} ctx={ctx} />
    ) : spec.choices ? (
      <ChoicesInput c={c} ctx={ctx} choices={spec.choices} />
    ) : (
      <ListInput c={c} ctx={ctx} />
    );
  return (
    <div
      data-row="condition"
      data-field={c.field}
      onPointerDownCapture={() => ctx.enter(c.id)}
      onFocusCapture={() => ctx.enter(c.id)}
    >
      <BlockStack gap="100">
        <InlineStack gap="200" blockAlign="start" wrap>
          <FieldPicker c={c} ctx={ctx} />
          {spec.ofProduct && <OneProductInput c={c} ctx={ctx} />}
          {spec.windowed && (
            <InlineStack gap="100" blockAlign="center" wrap={false}>
              <Text as="span" tone="subdued">
                in the last
              </Text>
              <DaysInput c={c} ctx={ctx} label="Look back" />
            </InlineStack>
          )}
          {spec.ahead && <AheadInput c={c} ctx={ctx} horizons={spec.ahead} />}
          <Select
            label="Operator"
            labelHidden
            options={operatorsFor(c.field).map((op) => ({ label: OPERATOR_LABELS[op], value: op }))}
            value={c.op}
            onChange={(op) => ctx.change(c.id, (n) => withOperator(n as DraftCondition, op as Operator))}
            error={problemFor(ctx, c.id, "op")}
          />
          {value}
          <Button
            icon={DeleteIcon}
            variant="tertiary"
            accessibilityLabel={`Remove condition: ${spec.label}`}
            onClick={() => ctx.change(c.id, () => null)}
          />
        </InlineStack>
        {rowError && <InlineError message={rowError} fieldID={c.id} />}
      </BlockStack>
    </div>
  );
}

function SegmentRow({ s, ctx }: { s: DraftSegmentRef; ctx: RowContext }) {
  const known = ctx.others.some((o) => o.handle === s.handle);
  const options = [
    ...(known ? [] : [{ label: s.handle || "Choose a segment", value: s.handle }]),
    ...ctx.others.map((o) => ({ label: `${o.name} (${count(o.size, ctx.format)})`, value: o.handle })),
  ];
  const error = problemFor(ctx, s.id, "") ?? problemFor(ctx, s.id, "segment");
  return (
    <div
      data-row="segment"
      onPointerDownCapture={() => ctx.enter(s.id)}
      onFocusCapture={() => ctx.enter(s.id)}
    >
      <BlockStack gap="100">
        <InlineStack gap="200" blockAlign="start">
          <Select
            label="In or not in"
            labelHidden
            options={[
              { label: "is in segment", value: "in" },
              { label: "is not in segment", value: "out" },
            ]}
            value={s.exclude ? "out" : "in"}
            onChange={(v) => ctx.change(s.id, (n) => ({ ...(n as DraftSegmentRef), exclude: v === "out" }))}
          />
          <Select
            label="Segment"
            labelHidden
            options={options}
            value={s.handle}
            onChange={(handle) => ctx.change(s.id, (n) => ({ ...(n as DraftSegmentRef), handle }))}
            error={error}
          />
          <Button
            icon={DeleteIcon}
            variant="tertiary"
            accessibilityLabel="Remove segment condition"
            onClick={() => ctx.change(s.id, () => null)}
          />
        </InlineStack>
      </BlockStack>
    </div>
  );
}

function GroupView({ g, ctx, root }: { g: DraftGroup; ctx: RowContext; root?: boolean }) {
  const add = (node: DraftNode) =>
    ctx.change(g.id, (n) => ({ ...(n as DraftGroup), children: [...(n as DraftGroup).children, node] }));
  const error = problemFor(ctx, g.id, "");
  const body = (
    <BlockStack gap="300">
      <InlineStack gap="200" blockAlign="center" align="space-between">
        <InlineStack gap="200" blockAlign="center">
          <Text as="span">{root ? "People who match" : "Match"}</Text>
          <Select
            label="How conditions combine"
            labelHidden
            options={MODES}
            value={g.mode}
            onChange={(mode) => ctx.change(g.id, (n) => ({ ...(n as DraftGroup), mode: mode as GroupMode }))}
          />
        </InlineStack>
        {!root && (
          <Button
            icon={DeleteIcon}
            variant="tertiary"
            accessibilityLabel="Remove group"
            onClick={() => ctx.change(g.id, () => null)}
          />
        )}
      </InlineStack>
      {g.children.length === 0 && (
        <Text as="p" tone="subdued">
          {g.mode === "any" ? "No conditions: nobody matches." : "No conditions: everyone matches."}
        </Text>
      )}
      {g.children.map((child) =>
        child.kind === "group" ? (
          <GroupView key={child.id} g={child} ctx={ctx} />
        ) : child.kind === "segment" ? (
          <SegmentRow key={child.id} s={child} ctx={ctx} />
        ) : (
          <ConditionRow key={child.id} c={child} ctx={ctx} />
        ),
      )}
      {error && <InlineError message={error} fieldID={g.id} />}
      <InlineStack gap="200">
        <Button icon={PlusIcon} onClick={() => add(newCondition())}>
          Add condition
        </Button>
        <Button
          icon={PlusIcon}
          onClick={() => add({ kind: "group", id: newId(), mode: "any", children: [newCondition()] })}
        >
          Add group
        </Button>
        <Button
          icon={PlusIcon}
          disabled={ctx.others.length === 0}
          onClick={() =>
            add({ kind: "segment", id: newId(), handle: ctx.others[0]?.handle ?? "", exclude: true })
          }
        >
          Add segment
        </Button>
      </InlineStack>
    </BlockStack>
  );
  if (root) return body;
  return (
    <Box
      padding="300"
      borderWidth="025"
      borderColor="border"
      borderRadius="200"
      background="bg-surface-secondary"
    >
      {body}
    </Box>
  );
}

function bandOf(size: number, min: number, max: number) {
  if (size < min) {
    const small = smallSegmentWords(size, min, "people", { locale: "en-US" });
    return {
      tone: small.tone === "warning" ? ("warning" as const) : ("info" as const),
      badge: small.badge,
      text: small.text,
    };
  }
  if (size > max)
    return {
      tone: "attention" as const,
      badge: "Too broad to be micro",
      text: `Over ${max.toLocaleString("en-US")} people: narrow it so one specific message fits them all.`,
    };
  return {
    tone: "success" as const,
    badge: "Micro-segment",
    text: "A size you can show one message to and measure.",
  };
}

function PreviewCard({
  result,
  busy,
  stale,
  minSize,
  maxSize,
  currency,
}: {
  result: PreviewResult | undefined;
  busy: boolean;
  stale: boolean;
  minSize: number;
  maxSize: number;
  currency: string;
}) {
  const format = { ...useShopFormat(), currency };
  const preview = result?.ok ? result.preview : null;
  // Visitor segments are held to their size limits by the visitors they reach.
  const reach = !preview
    ? 0
    : preview.visitors === null
      ? preview.size
      : preview.audience === "visitors"
        ? preview.visitors
        : Math.max(preview.size, preview.visitors);
  const band = preview ? bandOf(reach, minSize, maxSize) : null;
  return (
    <BlockStack gap="400">
      <Card>
        <BlockStack gap="200">
          <InlineStack align="space-between" blockAlign="center">
            <Text as="h2" variant="headingMd">
              Live size
            </Text>
            {busy && <Spinner size="small" accessibilityLabel="Counting" />}
          </InlineStack>
          {preview ? (
            <>
              <Text as="p" variant="heading2xl" id="preview-size">
                {count(preview.size, format)}
              </Text>
              <Text as="p" tone="subdued">
                customers match right now{stale ? " (before your last change)" : ""}
              </Text>
              {preview.visitors !== null && (
                <Text as="p" id="preview-visitors">
                  {count(preview.visitors, format)} visitors seen in the last 30 days match, guests included
                </Text>
              )}
              {band && (
                <BlockStack gap="100">
                  <span id="preview-band">
                    <Badge tone={band.tone}>{band.badge}</Badge>
                  </span>
                  <Text as="p" tone="subdued">
                    {band.text}
                  </Text>
                </BlockStack>
              )}
            </>
          ) : (
            <Text as="p" tone="subdued">
              {result && !result.ok ? "Fix the rule to see its size." : "Counting…"}
            </Text>
          )}
        </BlockStack>
      </Card>
      {preview && preview.sample.length > 0 && (
        <Card>
          <BlockStack gap="200">
            <Text as="h2" variant="headingMd">
              Some of them
            </Text>
            <ul style={{ margin: 0, paddingInlineStart: 0, listStyle: "none" }} id="preview-sample">
              {preview.sample.map((p) => (
                <li key={p.shopifyId} style={{ padding: "4px 0" }}>
                  <Text as="span" fontWeight="semibold">
                    {p.name}
                  </Text>{" "}
                  <Text as="span" tone="subdued">
                    {p.email ?? "no email"} · {p.ordersCount} {p.ordersCount === 1 ? "order" : "orders"} ·{" "}
                    {money(p.totalSpent, format)}
                  </Text>
                </li>
              ))}
            </ul>
          </BlockStack>
        </Card>
      )}
      {preview && (
        <Card>
          <BlockStack gap="200">
            <Text as="h2" variant="headingMd">
              Overlap with other segments
            </Text>
            {preview.overlap.length === 0 ? (
              <Text as="p" tone="subdued">
                Nobody here is in another segment.
              </Text>
            ) : (
              <ul style={{ margin: 0, paddingInlineStart: 0, listStyle: "none" }} id="preview-overlap">
                {preview.overlap.slice(0, 8).map((o) => (
                  <li key={o.handle} style={{ padding: "4px 0" }}>
                    <Text as="span">
                      {count(o.shared, format)} also in <strong>{o.name}</strong> (
                      {percent(o.shared / Math.max(1, preview.size), format, 0)} of this segment)
                    </Text>
                  </li>
                ))}
              </ul>
            )}
          </BlockStack>
        </Card>
      )}
    </BlockStack>
  );
}

export function SegmentBuilder({ data, result }: { data: BuilderData; result: BuilderResult }) {
  const { currency, existing, others } = data;
  const [name, setName] = useState(data.segment.name);
  const [description, setDescription] = useState(data.segment.description);
  const [handle, setHandle] = useState(
    data.segment.handle || (existing === null && data.segment.name ? handleFrom(data.segment.name) : ""),
  );
  const [handleEdited, setHandleEdited] = useState(existing !== null);
  const [minSize, setMinSize] = useState(String(data.segment.minSize));
  const [maxSize, setMaxSize] = useState(String(data.segment.maxSize));
  const loadedDraft = useCallback(
    () => (data.segment.rule ? ruleToDraft(data.segment.rule, currency) : emptyDraft()),
    [data.segment.rule, currency],
  );
  const [draft, setDraft] = useState<DraftGroup>(loadedDraft);
  // Discarding starts the form again from what was loaded (a new key drops inputs' own state).
  const [generation, setGeneration] = useState(0);
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const format = useShopFormat();
  const toast = useToast();
  const location = useLocation();
  const [labels, setLabels] = useState<Record<string, string>>(data.labels);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [touched, setTouched] = useState<Set<string>>(() => new Set());
  const [showAll, setShowAll] = useState(false);
  // Set once React has taken over the server-rendered page (tests wait for it before typing).
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  const submit = useSubmit();
  // The row the merchant is in (by focus or pointer). Once they move out of a row, its problems
  // may show. A pop-up list (a picker's options, rendered in a portal) belongs to the row it opened
  // from. Left with a click, the row is marked once the click is done, so the message it brings
  // does not move the button being clicked ("Add condition") from under the pointer.
  // Rows say which they are through React's own events (ids are made per render, so the
  // server-rendered DOM may carry other ones).
  const activeRow = useRef<string | null>(null);
  const candidateRow = useRef<string | null>(null);
  const enterRow = useCallback((id: string) => {
    candidateRow.current ??= id;
  }, []);
  useEffect(() => {
    const move = (target: EventTarget | null, byPointer: boolean) => {
      if (target instanceof Element && target.closest("[data-portal-id]")) return;
      // The row's own handler, later in this same dispatch, names the row the event is in; it is
      // read once the dispatch is over.
      candidateRow.current = null;
      let leftRow: string | null | undefined;
      let released = !byPointer;
      const mark = () => {
        const left = leftRow;
        if (left) setTouched((t) => (t.has(left) ? t : new Set(t).add(left)));
      };
      if (byPointer)
        document.addEventListener(
          "pointerup",
          () => {
            released = true;
            setTimeout(() => leftRow !== undefined && mark(), 0);
          },
          { once: true },
        );
      setTimeout(() => {
        const row = candidateRow.current;
        const left = activeRow.current;
        activeRow.current = row;
        leftRow = left !== null && row !== left ? left : null;
        if (released) mark();
      }, 0);
    };
    const onPointerDown = (e: PointerEvent) => move(e.target, true);
    const onFocusIn = (e: FocusEvent) => move(e.target, false);
    // On window, capturing: before React's own listeners (Remix hydrates the whole document).
    window.addEventListener("pointerdown", onPointerDown, true);
    window.addEventListener("focusin", onFocusIn, true);
    return () => {
      window.removeEventListener("pointerdown", onPointerDown, true);
      window.removeEventListener("focusin", onFocusIn, true);
    };
  }, []);
  const navigation = useNavigation();
  const preview = useFetcher<PreviewResult>();

  const built = useMemo(() => draftToRule(draft, currency), [draft, currency]);
  const ruleJson = useMemo(() => JSON.stringify(built.rule), [built]);
  // What was loaded, in the form the save sends: the form is dirty while it differs.
  const [loaded] = useState(() =>
    JSON.stringify({
      name: data.segment.name,
      description: data.segment.description,
      handle,
      minSize: String(data.segment.minSize),
      maxSize: String(data.segment.maxSize),
      rule: JSON.stringify(draftToRule(draft, currency).rule),
    }),
  );
  const dirty = JSON.stringify({ name, description, handle, minSize, maxSize, rule: ruleJson }) !== loaded;
  // The one validator, run here as the merchant types; references to other segments are checked
  // by the server's preview (it knows their rules).
  // Every row's problems at once: what the builder found itself (an amount that is not a number)
  // and, on the other rows, what the validator finds (a list with nothing picked).
  const localProblems = useMemo(() => {
    const own = new Set(built.problems.map((p) => p.id));
    try {
      parseRule(built.rule);
      return built.problems;
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      return [
        ...built.problems,
        ...error.problems
          .map((p) => placeProblem(built.paths, p.path, p.message))
          .filter((p) => !own.has(p.id)),
      ];
    }
  }, [built]);
  const { submit: submitPreview } = preview;
  useEffect(() => {
    if (localProblems.length) return;
    const t = setTimeout(
      () =>
        submitPreview(
          { rule: JSON.parse(ruleJson), self: existing },
          { method: "post", action: "/app/segments/preview", encType: "application/json" },
        ),
      400,
    );
    return () => clearTimeout(t);
  }, [ruleJson, localProblems, existing, submitPreview]);

  const serverProblems: DraftProblem[] = [
    ...(preview.data && !preview.data.ok ? preview.data.problems : []),
    ...(result && !result.ok && "problems" in result ? result.problems : []),
  ].map((p) => placeProblem(built.paths, p.path, p.message));
  // A row is not marked wrong until the merchant has left it once, or pressed Save; then in
  // plain words ("Pick at least one product"), not the validator's.
  const problems = (localProblems.length ? localProblems : serverProblems)
    .filter((p) => showAll || touched.has(p.id))
    .map((p) => ({ ...p, message: plainWording(draft, p, currency) }));
  const fields = result && !result.ok && "fields" in result ? result.fields : {};

  const addLabels = useCallback(
    (options: PickerOption[]) =>
      setLabels((prev) =>
        options.every((o) => prev[o.value] === o.label)
          ? prev
          : { ...prev, ...Object.fromEntries(options.map((o) => [o.value, o.label])) },
      ),
    [],
  );
  const ctx: RowContext = {
    currency,
    currencyPrefix: currencySymbol({ currency, locale: format.locale }),
    format: { ...format, currency },
    others,
    labels,
    addLabels,
    problems,
    change: (id, to) => setDraft((d) => updateNode(d, id, to)),
    enter: enterRow,
  };

  const save = () => {
    setShowAll(true);
    if (localProblems.length) return;
    submit(
      { intent: "save", name, description, handle, minSize, maxSize, rule: ruleJson },
      { method: "post" },
    );
  };
  const saving = navigation.state !== "idle" && navigation.formData?.get("intent") === "save";
  const min = Number(minSize) || 0;
  const max = Number(maxSize) || Infinity;

  const discard = () => {
    setName(data.segment.name);
    setDescription(data.segment.description);
    setHandle(JSON.parse(loaded).handle);
    setHandleEdited(existing !== null);
    setMinSize(String(data.segment.minSize));
    setMaxSize(String(data.segment.maxSize));
    setDraft(loadedDraft());
    setTouched(new Set());
    setShowAll(false);
    setGeneration((g) => g + 1);
  };

  // Saved (or deleted): the action redirects away; say so as the next page loads.
  const announced = useRef(false);
  const intent = navigation.formData?.get("intent");
  useEffect(() => {
    if (announced.current || navigation.state !== "loading" || !intent) return;
    if (navigation.location.pathname === location.pathname) return;
    announced.current = true;
    toast(intent === "delete" ? "Segment deleted" : "Segment saved");
  }, [navigation.state, navigation.location, location.pathname, intent, toast]);

  // The size limits fold away unless they are what the save refused.
  const fieldsKey = Object.keys(result && !result.ok && "fields" in result ? result.fields : {}).join();
  useEffect(() => {
    if (/minSize|maxSize/.test(fieldsKey)) setAdvancedOpen(true);
  }, [fieldsKey]);

  return (
    <Page
      title={existing ? `Edit ${data.segment.name}` : "New segment"}
      backAction={{ content: "Segments", url: existing ? `/app/segments/${existing}` : "/app/segments" }}
      primaryAction={{
        content: "Save segment",
        onAction: save,
        loading: saving,
      }}
      secondaryActions={
        existing && !data.builtIn
          ? [{ content: "Delete", destructive: true, onAction: () => setConfirmDelete(true) }]
          : []
      }
    >
      <div data-builder-ready={ready ? "yes" : "no"} hidden />
      <UnsavedChangesBar
        dirty={dirty}
        saving={saving}
        onSave={save}
        onDiscard={discard}
        message={existing ? "Unsaved changes" : "Unsaved segment"}
      />
      <Layout>
        {data.orderHistoryLimited && (
          <Layout.Section>
            <OrderHistoryBanner />
          </Layout.Section>
        )}
        {result && !result.ok && "message" in result && (
          <Layout.Section>
            <Banner tone="critical" title="Not deleted">
              <p>{result.message}</p>
            </Banner>
          </Layout.Section>
        )}
        {showAll && localProblems.length > 0 && (
          <Layout.Section>
            <Banner tone="warning" title="Some conditions are not complete">
              <p>Fix what is marked below, then save.</p>
            </Banner>
          </Layout.Section>
        )}
        {result && !result.ok && "fields" in result && (
          <Layout.Section>
            <Banner tone="critical" title="The segment was not saved">
              <p>Fix what is marked below and save again.</p>
            </Banner>
          </Layout.Section>
        )}
        <Layout.Section>
          <BlockStack gap="400">
            <Card>
              <FormLayout>
                <TextField
                  label="Name"
                  autoComplete="off"
                  value={name}
                  onChange={(v) => {
                    setName(v);
                    if (!handleEdited) setHandle(handleFrom(v));
                  }}
                  error={fields.name}
                />
                <TextField
                  label="Description"
                  autoComplete="off"
                  value={description}
                  onChange={setDescription}
                  error={fields.description}
                  multiline={2}
                />
                <TextField
                  label="Handle"
                  autoComplete="off"
                  value={handle}
                  onChange={(v) => {
                    setHandle(v);
                    setHandleEdited(true);
                  }}
                  helpText={
                    data.dependents.length
                      ? `Fixed: ${data.dependents.join(", ")} refer to it`
                      : "Used in tags (slice:handle), the CLI and other segments' rules"
                  }
                  disabled={data.dependents.length > 0}
                  error={fields.handle}
                />
              </FormLayout>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  Conditions
                </Text>
                <GroupView key={generation} g={draft} ctx={ctx} root />
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="200">
                <InlineStack align="space-between" blockAlign="center">
                  <BlockStack gap="050">
                    <Text as="h2" variant="headingMd">
                      Advanced
                    </Text>
                    <Text as="p" tone="subdued">
                      Size limits: between {count(min, format)} and{" "}
                      {Number.isFinite(max) ? count(max, format) : "any number of"} people
                    </Text>
                  </BlockStack>
                  <Button
                    variant="plain"
                    icon={advancedOpen ? ChevronUpIcon : ChevronDownIcon}
                    onClick={() => setAdvancedOpen((o) => !o)}
                    ariaExpanded={advancedOpen}
                    ariaControls="segment-advanced"
                  >
                    {advancedOpen ? "Hide" : "Change size limits"}
                  </Button>
                </InlineStack>
                <Collapsible open={advancedOpen} id="segment-advanced" transition={{ duration: "0ms" }}>
                  <FormLayout>
                    <FormLayout.Group>
                      <TextField
                        label="Smallest useful size"
                        type="number"
                        autoComplete="off"
                        value={minSize}
                        onChange={setMinSize}
                        error={fields.minSize}
                        helpText="Below this, lift cannot be measured"
                      />
                      <TextField
                        label="Largest micro size"
                        type="number"
                        autoComplete="off"
                        value={maxSize}
                        onChange={setMaxSize}
                        error={fields.maxSize}
                        helpText="Above this, too broad for one message"
                      />
                    </FormLayout.Group>
                  </FormLayout>
                </Collapsible>
              </BlockStack>
            </Card>
          </BlockStack>
        </Layout.Section>
        <Layout.Section variant="oneThird">
          <PreviewCard
            result={localProblems.length ? { ok: false, problems: [] } : preview.data}
            busy={preview.state !== "idle"}
            stale={preview.state !== "idle"}
            minSize={min}
            maxSize={max}
            currency={currency}
          />
        </Layout.Section>
      </Layout>
      <Modal
        open={confirmDelete}
        onClose={() => setConfirmDelete(false)}
        title={`Delete ${data.segment.name}?`}
        primaryAction={{
          content: "Delete segment",
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
            Its members and history are deleted. Customers are not changed; tags already pushed to Shopify
            stay until you remove them there.
          </Text>
        </Modal.Section>
      </Modal>
    </Page>
  );
}
