/**
 * Which access scope each part of the Admin GraphQL API needs, and Shopify's ACCESS_DENIED answer
 * when the token's scopes do not allow it. From shopify.dev's reference ("Requires `read_customers`
 * access scope." on each object, query and mutation) and shopify.dev/api/usage/access-scopes.
 *
 * A `write_x` scope includes `read_x`, as Shopify grants it. Objects are checked wherever they are
 * selected (an order's customer needs read_customers as well as read_orders); mutations by name.
 */
import {
  TypeInfo,
  visit,
  visitWithTypeInfo,
  getNamedType,
  Kind,
  type DocumentNode,
  type GraphQLSchema,
} from "graphql";

/** Objects (and their connections) and the scope reading them needs. */
export const TYPE_SCOPES: Record<string, string> = {
  Customer: "read_customers",
  CustomerConnection: "read_customers",
  Segment: "read_customers",
  SegmentConnection: "read_customers",
  CustomerSegmentMembersQuery: "read_customers",
  CustomerSegmentMemberConnection: "read_customers",
  Order: "read_orders",
  OrderConnection: "read_orders",
  Refund: "read_orders",
  AbandonedCheckout: "read_orders",
  AbandonedCheckoutConnection: "read_orders",
  DraftOrder: "read_draft_orders",
  Product: "read_products",
  ProductConnection: "read_products",
  ProductVariant: "read_products",
  ProductVariantConnection: "read_products",
  Collection: "read_products",
  CollectionConnection: "read_products",
  DiscountCodeNode: "read_discounts",
  DiscountCodeNodeConnection: "read_discounts",
  DiscountNode: "read_discounts",
  DiscountNodeConnection: "read_discounts",
  DiscountAutomaticNode: "read_discounts",
  DiscountAutomaticNodeConnection: "read_discounts",
  DiscountRedeemCodeBulkCreation: "read_discounts",
  DiscountRedeemCodeConnection: "read_discounts",
  Location: "read_locations",
  InventoryItem: "read_inventory",
  Fulfillment: "read_fulfillments",
  WebPixel: "read_pixels",
  Theme: "read_themes",
  OnlineStoreTheme: "read_themes",
};

/** Mutations and the scope each needs. */
export const MUTATION_SCOPES: Record<string, string> = {
  customerCreate: "write_customers",
  customerUpdate: "write_customers",
  customerDelete: "write_customers",
  customerEmailMarketingConsentUpdate: "write_customers",
  customerSmsMarketingConsentUpdate: "write_customers",
  segmentCreate: "write_customers",
  segmentUpdate: "write_customers",
  segmentDelete: "write_customers",
  customerSegmentMembersQueryCreate: "read_customers",
  orderUpdate: "write_orders",
  orderCancel: "write_orders",
  draftOrderCreate: "write_draft_orders",
  productCreate: "write_products",
  productUpdate: "write_products",
  collectionCreate: "write_products",
  discountCodeBasicCreate: "write_discounts",
  discountCodeBasicUpdate: "write_discounts",
  discountCodeBxgyCreate: "write_discounts",
  discountCodeFreeShippingCreate: "write_discounts",
  discountCodeAppCreate: "write_discounts",
  discountCodeActivate: "write_discounts",
  discountCodeDeactivate: "write_discounts",
  discountCodeDelete: "write_discounts",
  discountRedeemCodeBulkAdd: "write_discounts",
  discountCodeRedeemCodeBulkDelete: "write_discounts",
  discountAutomaticBasicCreate: "write_discounts",
  discountAutomaticAppCreate: "write_discounts",
  discountAutomaticDeactivate: "write_discounts",
  discountAutomaticDelete: "write_discounts",
  webPixelCreate: "write_pixels",
  webPixelUpdate: "write_pixels",
  webPixelDelete: "write_pixels",
  themeFilesUpsert: "write_themes",
};

/** The write scope that covers a resource named by a global id (tags, metafields). */
const WRITE_BY_RESOURCE: Record<string, string> = {
  Customer: "write_customers",
  Order: "write_orders",
  DraftOrder: "write_draft_orders",
  Product: "write_products",
  ProductVariant: "write_products",
  Collection: "write_products",
  Article: "write_content",
  Blog: "write_content",
  Page: "write_content",
};
/** metafieldDefinitionCreate's ownerType → the scope it needs. */
const WRITE_BY_OWNER_TYPE: Record<string, string> = {
  CUSTOMER: "write_customers",
  ORDER: "write_orders",
  DRAFTORDER: "write_draft_orders",
  PRODUCT: "write_products",
  PRODUCTVARIANT: "write_products",
  COLLECTION: "write_products",
};

/** Whether `granted` allows `needed` (a write scope allows its read). */
export function allows(granted: readonly string[], needed: string): boolean {
  if (granted.includes(needed)) return true;
  const read = /^read_(.+)$/.exec(needed);
  return !!read && granted.includes(`write_${read[1]}`);
}

export interface AccessDenied {
  message: string;
  locations: { line: number; column: number }[];
  path: (string | number)[];
  extensions: { code: "ACCESS_DENIED"; documentation: string; requiredAccess: string };
}

const resourceOf = (gid: unknown): string | null =>
  typeof gid === "string" ? (/^gid:\/\/shopify\/(\w+)\//.exec(gid)?.[1] ?? null) : null;

/**
 * Every field of the document that the granted scopes do not allow, as Shopify reports each:
 * `Access denied for customers field. Required access: `read_customers` access scope.`
 */
export function accessDenied(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  granted: readonly string[],
): AccessDenied[] {
  const denied: AccessDenied[] = [];
  const typeInfo = new TypeInfo(schema);
  const path: string[] = [];
  let inMutation = false;
  const argValue = (
    node: { arguments?: readonly { name: { value: string }; value: unknown }[] },
    name: string,
  ) => {
    const arg = node.arguments?.find((a) => a.name.value === name);
    if (!arg) return undefined;
    const value = arg.value as { kind: string; value?: unknown; name?: { value: string }; fields?: unknown };
    if (value.kind === Kind.VARIABLE) return variables[value.name!.value];
    if (value.kind === Kind.STRING || value.kind === Kind.ENUM) return value.value;
    return undefined;
  };
  const deny = (
    field: {
      name: { value: string };
      alias?: { value: string };
      loc?: { startToken: { line: number; column: number } };
    },
    scope: string,
  ) => {
    const requiredAccess = `\`${scope}\` access scope.`;
    denied.push({
      message: `Access denied for ${field.name.value} field. Required access: ${requiredAccess}`,
      locations: field.loc ? [{ line: field.loc.startToken.line, column: field.loc.startToken.column }] : [],
      path: [...path, field.alias?.value ?? field.name.value],
      extensions: {
        code: "ACCESS_DENIED",
        documentation: "https://shopify.dev/api/usage/access-scopes",
        requiredAccess,
      },
    });
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      OperationDefinition: {
        enter(node) {
          inMutation = node.operation === "mutation";
        },
      },
      Field: {
        enter(node) {
          const root = path.length === 0;
          let needed: string | null = null;
          if (root && inMutation) {
            const name = node.name.value;
            needed = MUTATION_SCOPES[name] ?? null;
            if (name === "tagsAdd" || name === "tagsRemove")
              needed = WRITE_BY_RESOURCE[resourceOf(argValue(node, "id")) ?? ""] ?? "write_customers";
            if (name === "metafieldsSet" || name === "metafieldsDelete") {
              const list = (argValue(node, "metafields") ?? []) as { ownerId?: unknown }[];
              const scopes = Array.isArray(list)
                ? list.map((m) => WRITE_BY_RESOURCE[resourceOf(m?.ownerId) ?? ""]).filter(Boolean)
                : [];
              needed = scopes.find((s) => !allows(granted, s)) ?? null;
            }
            // "Also: The app requires read_customer_events access scope" (shopify.dev).
            if ((name === "webPixelCreate" || name === "webPixelUpdate") && allows(granted, "write_pixels"))
              needed = "read_customer_events";
            if (name === "metafieldDefinitionCreate") {
              const definition = argValue(node, "definition") as { ownerType?: string } | undefined;
              needed = WRITE_BY_OWNER_TYPE[definition?.ownerType ?? ""] ?? null;
            }
          } else {
            const type = typeInfo.getType();
            const named = type ? getNamedType(type).name : "";
            needed = TYPE_SCOPES[named] ?? null;
          }
          if (needed && !allows(granted, needed)) {
            deny(node, needed);
            return false; // Shopify reports the outermost field it refuses, not its children.
          }
          path.push(node.alias?.value ?? node.name.value);
          return undefined;
        },
        leave() {
          path.pop();
        },
      },
    }),
  );
  return denied;
}
