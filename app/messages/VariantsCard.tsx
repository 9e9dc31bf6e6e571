/**
 * A saved message's variants (its A/B test) on its page: each with its weight and its share of the
 * treated shoppers, and the headline, text and button label it shows instead of the message's.
 * Each add, edit and delete is a small form of its own posted to the page's action (intent
 * "variant-save" or "variant-delete") through a fetcher, so the message form above keeps what
 * the merchant was typing; a refusal comes back with the field named and what was typed.
 */
import { useFetcher } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  ButtonGroup,
  Card,
  Divider,
  FormLayout,
  InlineStack,
  List,
  Text,
  TextField,
} from "@shopify/polaris";
import { useEffect, useState } from "react";
import { LIMITS } from "../engine/message";
import {
  blankVariant,
  VARIANT_NAME_LIMIT,
  variantValuesOf,
  type VariantActionResult,
  type VariantDiscountTerms,
  type VariantField,
  type VariantRow,
  type VariantValues,
} from "./variant-values";

function VariantForm({
  variant,
  hasButton,
  terms,
  onDone,
}: {
  variant: VariantRow | null;
  hasButton: boolean;
  terms: VariantDiscountTerms | null;
  onDone: () => void;
}) {
  const fetcher = useFetcher<VariantActionResult>();
  const [values, setValues] = useState<VariantValues>(
    variant ? variantValuesOf(variant, terms) : blankVariant(),
  );
  const [edited, setEdited] = useState<Set<VariantField>>(() => new Set());
  const result = fetcher.state === "idle" ? fetcher.data : undefined;
  useEffect(() => {
    if (result?.ok) onDone();
    setEdited(new Set());
  }, [result, onDone]);
  const problems = result && !result.ok ? result.problems : [];
  const errorOf = (field: VariantField) =>
    edited.has(field) ? undefined : problems.find((p) => p.field === field)?.message;
  const set = (field: VariantField) => (value: string) => {
    setValues((v) => ({ ...v, [field]: value }));
    setEdited((e) => new Set(e).add(field));
  };
  const save = () =>
    fetcher.submit(
      { intent: "variant-save", variantId: variant ? String(variant.id) : "", ...values },
      { method: "post" },
    );
  const standing = problems.filter((p) => !edited.has(p.field));
  return (
    <Box padding="300" background="bg-surface-secondary" borderRadius="200">
      {/* noValidate: the server names what is wrong (the browser's own bubbles would hide it). */}
      <form
        noValidate
        data-variant-form={variant ? variant.name : "new"}
        onSubmit={(e) => {
          e.preventDefault();
          save();
        }}
      >
        <BlockStack gap="300">
          <Text as="h3" variant="headingSm">
            {variant ? `Edit ${variant.name}` : "New variant"}
          </Text>
          {standing.length > 0 && (
            <Banner tone="critical" title="The variant was not saved">
              <List>
                {standing.map((p) => (
                  <List.Item key={p.field}>
                    {p.label}: {p.message}
                  </List.Item>
                ))}
              </List>
            </Banner>
          )}
          <FormLayout>
            <FormLayout.Group>
              <TextField
                label="Variant name"
                helpText="Only you see it, on the results"
                autoComplete="off"
                maxLength={VARIANT_NAME_LIMIT}
                value={values.name}
                onChange={set("name")}
                error={errorOf("name")}
              />
              <TextField
                label="Weight"
                type="number"
                helpText="1 to 100: its share is its weight over all the variants' weights"
                autoComplete="off"
                value={values.weight}
                onChange={set("weight")}
                error={errorOf("weight")}
              />
            </FormLayout.Group>
            <TextField
              label="Variant headline"
              helpText="Optional. Empty: the message's own"
              autoComplete="off"
              maxLength={LIMITS.headline}
              value={values.headline}
              onChange={set("headline")}
              error={errorOf("headline")}
            />
            <TextField
              label="Variant text"
              helpText="Optional. Empty: the message's own"
              autoComplete="off"
              multiline={2}
              maxLength={LIMITS.body}
              value={values.body}
              onChange={set("body")}
              error={errorOf("body")}
            />
            <TextField
              label="Variant button label"
              helpText={
                hasButton
                  ? "Optional. Empty: the message's own"
                  : "The message has no button, so this is not shown until it has one"
              }
              autoComplete="off"
              maxLength={LIMITS.buttonLabel}
              value={values.buttonLabel}
              onChange={set("buttonLabel")}
              error={errorOf("buttonLabel")}
            />
            {terms && (
              <TextField
                label={
                  terms.type === "percentage"
                    ? "Variant discount (%)"
                    : `Variant discount (${terms.currency})`
                }
                helpText="Optional: test another discount. Empty: the message's own. Say it in the variant's headline too"
                autoComplete="off"
                inputMode="decimal"
                value={values.discount}
                onChange={set("discount")}
                error={errorOf("discount")}
              />
            )}
          </FormLayout>
          <InlineStack gap="200" align="start">
            <Button variant="primary" submit loading={fetcher.state !== "idle"}>
              {variant ? "Save variant" : "Add variant"}
            </Button>
            <Button onClick={onDone}>Cancel</Button>
          </InlineStack>
        </BlockStack>
      </form>
    </Box>
  );
}

function override(label: string, value: string | null): string {
  return value === null ? `${label}: the message's own` : `${label}: “${value}”`;
}

function VariantItem({
  variant,
  hasButton,
  terms,
  editing,
  onEdit,
  onDone,
}: {
  variant: VariantRow;
  hasButton: boolean;
  terms: VariantDiscountTerms | null;
  editing: boolean;
  onEdit: () => void;
  onDone: () => void;
}) {
  const remover = useFetcher<VariantActionResult>();
  const deleting = remover.state !== "idle";
  return (
    <div data-variant={variant.name}>
      <BlockStack gap="200">
        <InlineStack align="space-between" blockAlign="start" gap="300" wrap={false}>
          <BlockStack gap="100">
            <InlineStack gap="200" align="start" blockAlign="center">
              <Text as="h3" variant="headingSm">
                {variant.name}
              </Text>
              <Badge tone="info">{`${variant.share}%`}</Badge>
              <Text as="span" tone="subdued">
                of treated shoppers · weight {variant.weight}
              </Text>
            </InlineStack>
            <Text as="p" tone="subdued">
              {override("Headline", variant.headline)}
            </Text>
            <Text as="p" tone="subdued">
              {override("Text", variant.body)}
            </Text>
            {hasButton && (
              <Text as="p" tone="subdued">
                {override("Button", variant.buttonLabel)}
              </Text>
            )}
            {terms && (
              <Text as="p" tone="subdued">
                {variant.discountText === null
                  ? "Discount: the message's own"
                  : `Discount: ${variant.discountText} (codes of its own)`}
              </Text>
            )}
          </BlockStack>
          <ButtonGroup>
            <Button onClick={onEdit} disabled={editing} accessibilityLabel={`Edit ${variant.name}`}>
              Edit
            </Button>
            <Button
              tone="critical"
              loading={deleting}
              accessibilityLabel={`Delete ${variant.name}`}
              onClick={() =>
                remover.submit(
                  { intent: "variant-delete", variantId: String(variant.id) },
                  { method: "post" },
                )
              }
            >
              Delete
            </Button>
          </ButtonGroup>
        </InlineStack>
        {editing && <VariantForm variant={variant} hasButton={hasButton} terms={terms} onDone={onDone} />}
      </BlockStack>
    </div>
  );
}

export function VariantsCard({
  variants,
  hasButton,
  terms,
}: {
  variants: VariantRow[];
  hasButton: boolean;
  /** The message's discount terms when it gives first-purchase codes (a variant may test its own). */
  terms: VariantDiscountTerms | null;
}) {
  // The variant being edited (its id), "new" for the add form, or none.
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const [done] = useState(() => () => setEditing(null));
  return (
    <div data-variants-card>
      <Card>
        <BlockStack gap="400">
          <InlineStack align="space-between" blockAlign="center">
            <Text as="h2" variant="headingMd">
              Variants (A/B test)
            </Text>
            <Button onClick={() => setEditing("new")} disabled={editing === "new"}>
              Add variant
            </Button>
          </InlineStack>
          <BlockStack gap="100">
            <Text as="p" tone="subdued">
              Treated shoppers are split between variants by weight; the holdout sees nothing. With no
              variants, every treated shopper sees the message as written.
            </Text>
            <Text as="p" tone="subdued">
              {terms
                ? "A variant may also test its own discount: its codes are made ahead, apart from the message's, and the offer is shown only while every variant has codes."
                : "A variant changes the wording; the reward is the message's own."}
            </Text>
          </BlockStack>
          {variants.length === 0 && editing !== "new" && (
            <Text as="p">No variants: every treated shopper sees the message as written.</Text>
          )}
          {variants.map((v, i) => (
            <BlockStack key={v.id} gap="400">
              {i > 0 && <Divider />}
              <VariantItem
                variant={v}
                hasButton={hasButton}
                terms={terms}
                editing={editing === v.id}
                onEdit={() => setEditing(v.id)}
                onDone={done}
              />
            </BlockStack>
          ))}
          {editing === "new" && (
            <VariantForm key="new" variant={null} hasButton={hasButton} terms={terms} onDone={done} />
          )}
        </BlockStack>
      </Card>
    </div>
  );
}
