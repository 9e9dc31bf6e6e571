// The function's exports, as the Shopify CLI's JavaScript build expects (export names in
// shopify.extension.toml are these in kebab case).
export * from "./cart_lines_discounts_generate_run";
