/**
 * The theme app extension passes Shopify's theme check (the app-extension rules it applies when it
 * finds shopify.extension.toml) with no errors, its scripts stay under the 10,000 bytes that
 * Shopify allows an app block's JavaScript, and the first one a page loads under 4 KB.
 */
import { cp, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Offense, Severity, themeCheckRun } from "@shopify/theme-check-node";
import { afterAll, describe, expect, it } from "vitest";
import { buildScript, FIRST_LOAD_BUDGET, SCRIPTS } from "../../dev/extension-build";

const extension = import.meta.dirname;
const SCRIPT_LIMIT_BYTES = 10_000;

async function errors(root: string) {
  const run = await themeCheckRun(root, undefined, () => {});
  expect(run.config.context).toBe("app");
  const show = (o: Offense) =>
    `${o.check} ${o.uri.split("/").slice(-2).join("/")}:${o.start.line + 1} ${o.message}`;
  return {
    errors: run.offenses.filter((o) => o.severity === Severity.ERROR).map(show),
    warnings: run.offenses.filter((o) => o.severity !== Severity.ERROR).map(show),
  };
}

describe("theme app extension", () => {
  const scratch: string[] = [];
  afterAll(() => Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true }))));

  it("passes theme check with no errors", async () => {
    const result = await errors(extension);
    if (result.warnings.length) console.log("theme check warnings:\n" + result.warnings.join("\n"));
    expect(result.errors).toEqual([]);
  });

  it("is checked for real: a parser-blocking script and a missing asset are errors", async () => {
    const copy = await mkdtemp(join(tmpdir(), "slice-extension-"));
    scratch.push(copy);
    await cp(extension, copy, { recursive: true, filter: (path) => !path.endsWith(".test.ts") });
    await writeFile(
      join(copy, "blocks", "broken.liquid"),
      `<script src="{{ 'missing.js' | asset_url }}"></script>\n{% schema %}\n{ "name": "Broken", "target": "body", "settings": [] }\n{% endschema %}\n`,
    );
    const { errors: found } = await errors(copy);
    expect(found.some((e) => e.startsWith("ParserBlockingScript blocks/broken.liquid"))).toBe(true);
    expect(found.some((e) => e.startsWith("MissingAsset blocks/broken.liquid"))).toBe(true);
  });

  it.each(SCRIPTS)(`ships %s under ${SCRIPT_LIMIT_BYTES} bytes`, async (name) => {
    const { size } = await stat(join(extension, "assets", name));
    console.log(`assets/${name}: ${size} bytes`);
    expect(size).toBeLessThan(SCRIPT_LIMIT_BYTES);
  });

  it(`loads at most ${FIRST_LOAD_BUDGET} bytes of script first on every page (slice.js, minified)`, async () => {
    const { size } = await stat(join(extension, "assets", "slice.js"));
    expect(size).toBeLessThanOrEqual(FIRST_LOAD_BUDGET);
    // The app embed loads slice.js and nothing else; the drawing code is only named for slice.js to load.
    const embed = await readFile(join(extension, "blocks", "slice-embed.liquid"), "utf8");
    expect([...embed.matchAll(/<script[^>]*\ssrc=[^>]*>/g)].map(([tag]) => tag)).toEqual([
      `<script src="{{ 'slice.js' | asset_url }}" defer></script>`.slice(0, -"</script>".length),
    ]);
    expect(embed).not.toMatch(/<link[^>]*(preload|prefetch)/);
  });

  it.each(SCRIPTS)(
    "ships the build of its source (app/storefront/script/%s), not a stale copy",
    async (name) => {
      const shipped = await readFile(join(extension, "assets", name), "utf8");
      expect(shipped === buildScript(name), `assets/${name} is stale: run npm run build`).toBe(true);
    },
  );
});
