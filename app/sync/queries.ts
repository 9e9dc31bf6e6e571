/**
 * Every Admin GraphQL document the sync sends, declared in the registry (documents.ts) that
 * documents.test.ts validates against Shopify's 2026-07 Admin schema with no deprecated field.
 * Only what a feature uses is asked for (README, "Protected customer data"): no phone, no notes.
 */
import { adminDocument } from "./documents";

const CUSTOMER_FIELDS = `id firstName lastName state tags createdAt updatedAt
  defaultEmailAddress { emailAddress marketingState }
  defaultAddress { city countryCodeV2 provinceCode } numberOfOrders amountSpent { amount currencyCode }`;

const LINE_ITEM_FIELDS = `id title variantTitle sku vendor quantity product { id } variant { id }
  originalUnitPriceSet { shopMoney { amount currencyCode } } totalDiscountSet { shopMoney { amount } }`;

const ORDER_FIELDS = `id name email createdAt updatedAt processedAt cancelledAt cancelReason closedAt test tags
  discountCodes sourceName checkoutToken displayFinancialStatus displayFulfillmentStatus currencyCode
  customer { id } shippingAddress { address1 address2 zip countryCodeV2 }
  totalPriceSet { shopMoney { amount currencyCode } } subtotalPriceSet { shopMoney { amount } }
  totalDiscountsSet { shopMoney { amount } } totalTaxSet { shopMoney { amount } }
  refunds { id createdAt totalRefundedSet { shopMoney { amount } } }`;

const CHECKOUT_FIELDS = `id createdAt updatedAt completedAt customer { id defaultEmailAddress { emailAddress } }
  totalPriceSet { shopMoney { amount currencyCode } } subtotalPriceSet { shopMoney { amount } }`;

const CHECKOUT_LINE_FIELDS = `id title quantity product { id } variant { id }
  originalUnitPriceSet { shopMoney { amount } }`;

/** The bulk exports of a backfill, in the order they run (products before orders, and so on). */
const bulk = (phase: string, source: string) => adminDocument(`sync/queries bulk ${phase}`, source, "bulk");

export const BULK_QUERIES = {
  collections: bulk("collections", `{ collections { edges { node { id title handle } } } }`),
  products: bulk(
    "products",
    `{ products { edges { node { id title handle vendor productType tags updatedAt
    collections { edges { node { id } } } } } } }`,
  ),
  customers: bulk("customers", `{ customers { edges { node { ${CUSTOMER_FIELDS} } } } }`),
  orders: bulk(
    "orders",
    `{ orders { edges { node { ${ORDER_FIELDS}
    lineItems { edges { node { ${LINE_ITEM_FIELDS} } } } } } } }`,
  ),
  checkouts: bulk(
    "checkouts",
    `{ abandonedCheckouts { edges { node { ${CHECKOUT_FIELDS}
    lineItems { edges { node { ${CHECKOUT_LINE_FIELDS} } } } } } } }`,
  ),
};

export type BulkPhase = keyof typeof BULK_QUERIES;
export const BULK_PHASES = Object.keys(BULK_QUERIES) as BulkPhase[];

export const SHOP_QUERY = adminDocument(
  "sync/queries SHOP_QUERY",
  `query SliceShop { shop { name currencyCode ianaTimezone myshopifyDomain primaryDomain { host url } } }`,
);

export const BULK_RUN = adminDocument(
  "sync/queries BULK_RUN",
  `mutation SliceBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}`,
);

export const BULK_STATUS = adminDocument(
  "sync/queries BULK_STATUS",
  `query SliceBulkStatus($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount url partialDataUrl }
  }
}`,
);

/** Reconciliation reads what changed recently, page by page (cost stays well under 1,000). */
export const RECENT_CUSTOMERS = adminDocument(
  "sync/queries RECENT_CUSTOMERS",
  `query SliceRecentCustomers($query: String!, $after: String) {
  customers(first: 100, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ${CUSTOMER_FIELDS} }
  }
}`,
);

export const RECENT_ORDERS = adminDocument(
  "sync/queries RECENT_ORDERS",
  `query SliceRecentOrders($query: String!, $after: String) {
  orders(first: 10, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ${ORDER_FIELDS} lineItems(first: 10) { pageInfo { hasNextPage endCursor } nodes { ${LINE_ITEM_FIELDS} } } }
  }
}`,
);

/** The rest of a long order's line items, when the first page did not hold them all. */
export const ORDER_LINE_ITEMS = adminDocument(
  "sync/queries ORDER_LINE_ITEMS",
  `query SliceOrderLineItems($id: ID!, $after: String) {
  node(id: $id) {
    ... on Order {
      lineItems(first: 50, after: $after) { pageInfo { hasNextPage endCursor } nodes { ${LINE_ITEM_FIELDS} } }
    }
  }
}`,
);

export const RECENT_CHECKOUTS = adminDocument(
  "sync/queries RECENT_CHECKOUTS",
  `query SliceRecentCheckouts($query: String!, $after: String) {
  abandonedCheckouts(first: 10, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes { ${CHECKOUT_FIELDS} lineItems(first: 10) { pageInfo { hasNextPage endCursor } nodes { ${CHECKOUT_LINE_FIELDS} } } }
  }
}`,
);

export const CHECKOUT_LINE_ITEMS = adminDocument(
  "sync/queries CHECKOUT_LINE_ITEMS",
  `query SliceCheckoutLineItems($id: ID!, $after: String) {
  node(id: $id) {
    ... on AbandonedCheckout {
      lineItems(first: 50, after: $after) { pageInfo { hasNextPage endCursor } nodes { ${CHECKOUT_LINE_FIELDS} } }
    }
  }
}`,
);

export const ALL_DOCUMENTS = {
  SHOP_QUERY,
  BULK_RUN,
  BULK_STATUS,
  RECENT_CUSTOMERS,
  RECENT_ORDERS,
  ORDER_LINE_ITEMS,
  RECENT_CHECKOUTS,
  CHECKOUT_LINE_ITEMS,
};
