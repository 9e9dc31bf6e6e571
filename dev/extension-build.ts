/**
 * The theme app extension's scripts: written readable in app/storefront/script/, shipped minified
 * in extensions/slice-storefront/assets/ (every byte is downloaded by shoppers; Shopify's theme
 * check allows an app's JavaScript asset 10,000 bytes). Two of them:
 *
 * - slice.js, the first script every page loads (consent, the decision, triggers, message events):
 *   at most FIRST_LOAD_BUDGET bytes;
 * - slice-draw.js, the code that draws a message, loaded by slice.js only when the decision
 *   returned one.
 *
 * `npm run build` writes both; a test fails when a shipped file is not the build of its source.
 *
 *   tsx dev/extension-build.ts        write the assets
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The first script a page loads, minified, at most this many bytes (issue 14: 4 KB). */
export const FIRST_LOAD_BUDGET = 4096;

export const SCRIPTS = ["slice.js", "slice-draw.js"] as const;
export type ScriptName = (typeof SCRIPTS)[number];

export const scriptSource = (name: ScriptName) => path.join(root, "app/storefront/script", name);
export const scriptAsset = (name: ScriptName) => path.join(root, "extensions/slice-storefront/assets", name);

/** An asset's text, built from its source (deterministic for one esbuild version). */
export function buildScript(name: ScriptName): string {
  const { code } = transformSync(readFileSync(scriptSource(name), "utf8"), {
    minify: true,
    // Browsers Shopify's themes support (the last two versions of the major ones).
    target: ["chrome109", "firefox115", "safari15"],
    legalComments: "none",
  });
  return `/* Slice: built from app/storefront/script/${name} (npm run build) */\n${code}`;
}

const invokedDirectly = process.argv[1] && /extension-build\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  for (const name of SCRIPTS) {
    const code = buildScript(name);
    writeFileSync(scriptAsset(name), code);
    console.log(`extensions/slice-storefront/assets/${name}: ${Buffer.byteLength(code)} bytes`);
  }
}
