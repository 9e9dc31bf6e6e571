/**
 * The web pixel's bundle: extensions/slice-pixel/src/index.ts with its register shim, one
 * minified script (Shopify CLI builds the same source when the app is deployed; this copy is what
 * the harness, dev/web-pixels.ts, and the demo storefront run). `npm run build` writes it to
 * extensions/slice-pixel/dist/main.js (not committed).
 *
 *   tsx dev/pixel-build.ts        write the bundle
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const PIXEL_SOURCE = path.join(root, "extensions/slice-pixel/src/index.ts");
export const PIXEL_BUNDLE = path.join(root, "extensions/slice-pixel/dist/main.js");

/** The pixel as one script (an IIFE that calls the global `shopify.extend`). */
export function buildPixel(): string {
  const result = buildSync({
    entryPoints: [PIXEL_SOURCE],
    bundle: true,
    format: "iife",
    minify: true,
    write: false,
    target: ["chrome109", "firefox115", "safari15"],
    legalComments: "none",
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

const invokedDirectly = process.argv[1] && /pixel-build\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  const code = buildPixel();
  mkdirSync(path.dirname(PIXEL_BUNDLE), { recursive: true });
  writeFileSync(PIXEL_BUNDLE, code);
  console.log(`extensions/slice-pixel/dist/main.js: ${Buffer.byteLength(code)} bytes`);
}
