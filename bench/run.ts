/**
 * `npm run bench`: every figure the issues name, each with its aim and, where one exists, a
 * baseline measured in the same run and the ratio to it. Written to bench/results/ as JSON.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { benchWebhooks, type Figure } from "./webhooks";
import { benchSegments } from "./segments";
import { benchSegmentsPostgres } from "./segments-pg";
import { benchStorefront } from "./storefront";
import { benchWebhooksPostgres } from "./webhooks-pg";
import { benchPixel } from "./pixel";
import { benchFlashSale } from "./flash-sale";
import { benchPredictedFields } from "./predicted-fields";
import { benchPredict } from "./predict";

/** `npm run bench -- segments` runs only that section; no argument runs them all. */
const SECTIONS: [key: string, title: string, run: () => Promise<Figure[]>][] = [
  ["webhooks", "Webhook intake (SQLite)", () => benchWebhooks()],
  ["webhooks-pg", "Webhooks (PostgreSQL)", () => benchWebhooksPostgres()],
  ["segments", "Segments (SQLite)", () => benchSegments()],
  [
    "segments-pg",
    `Segments (PostgreSQL, ${Number(process.env.SLICE_BENCH_CUSTOMERS ?? 100_000).toLocaleString("en")} customers)`,
    () => benchSegmentsPostgres(),
  ],
  ["storefront", "Storefront (SQLite)", () => benchStorefront()],
  ["pixel", "Web pixel intake (SQLite)", () => benchPixel()],
  [
    "storefront-pg",
    "Storefront (PostgreSQL)",
    () => benchStorefront({ database: "postgres", lighthouseRuns: 0 }),
  ],
  ["flash-sale", "Flash sale (SQLite)", () => benchFlashSale({ database: "sqlite" })],
  ["flash-sale-pg", "Flash sale (PostgreSQL)", () => benchFlashSale({ database: "postgres" })],
  ["predicted-fields", "Predicted fields in a full recompute (SQLite)", () => benchPredictedFields()],
  ["predict", "Predictions: fitting a shop (SQLite)", () => benchPredict()],
];

function fmt(n: number | undefined, unit = ""): string {
  if (n === undefined) return "";
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return `${n.toFixed(digits)}${unit ? ` ${unit}` : ""}`.trim();
}

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SECTIONS.some(([key]) => key === w));
  if (unknown.length)
    throw new Error(
      `unknown section ${unknown.join(", ")}: choose from ${SECTIONS.map(([k]) => k).join(", ")}`,
    );
  const sections: [string, Figure[]][] = [];
  for (const [key, title, run] of SECTIONS)
    if (!wanted.length || wanted.includes(key)) sections.push([title, await run()]);

  const rows = sections.flatMap(([section, figures]) =>
    figures.map((f) => [
      section,
      f.name,
      fmt(f.value, f.unit),
      f.aim ?? "",
      f.ok === undefined ? "" : f.ok ? "yes" : "NO",
      fmt(f.baseline, f.unit),
      f.ratio === undefined ? "" : `${f.ratio < 0.1 ? f.ratio.toPrecision(2) : f.ratio.toFixed(2)}×`,
    ]),
  );
  const header = ["section", "figure", "value", "aim", "met", "baseline", "ratio"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));

  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(
    file,
    JSON.stringify(
      { at: new Date().toISOString(), node: process.version, sections: Object.fromEntries(sections) },
      null,
      2,
    ),
  );
  console.log(`\nwritten to ${file}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
