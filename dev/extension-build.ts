/**
 * The theme app extension's script: written readable in app/storefront/script/slice.js, shipped
 * minified as extensions/slice-storefront/assets/slice.js (Shopify allows an app block 10,000
 * bytes of JavaScript, and every byte is downloaded by every shopper). `npm run build` writes it;
 * a test fails when the shipped file is not the build of the source.
 *
 *   tsx dev/extension-build.ts        write the asset
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const SCRIPT_SOURCE = path.join(root, "app/storefront/script/slice.js");
export const SCRIPT_ASSET = path.join(root, "extensions/slice-storefront/assets/slice.js");

/** The asset's text, built from the source (deterministic for one esbuild version). */
export function buildSliceJs(): string {
  const { code } = transformSync(readFileSync(SCRIPT_SOURCE, "utf8"), {
    minify: true,
    // Browsers Shopify's themes support (the last two versions of the major ones).
    target: ["chrome109", "firefox115", "safari15"],
    legalComments: "none",
  });
  return `/* Slice storefront script: built from app/storefront/script/slice.js (npm run build) */\n${code}`;
}

const invokedDirectly = process.argv[1] && /extension-build\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  const code = buildSliceJs();
  writeFileSync(SCRIPT_ASSET, code);
  console.log(`extensions/slice-storefront/assets/slice.js: ${Buffer.byteLength(code)} bytes`);
}
