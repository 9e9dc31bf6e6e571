/**
 * Fitting a shop's predictive models (issue 17, "How it is checked"): `npm run bench -- predict`.
 *
 * On bench/generate-store.ts's shop (1,000,000 customers, about 3,000,000 orders over two years;
 * `SLICE_BENCH_CUSTOMERS` for another size), SQLite, each run in a process of its own
 * (bench/predict-child.ts) so that its peak memory is its own:
 * - the fit as the app runs it (`fitShop` on its own thread: the summaries pass with the holdout's,
 *   the holdout check, BG/NBD and Gamma-Gamma on every customer, every customer's predictions and
 *   tiers written), its wall and CPU time, peak RSS and peak heap (sampled), and each step's time;
 * - what it costs webhooks meanwhile: the longest write transaction (SQLite's writer held), the
 *   wait of a webhook-like write on the app's thread every 20 ms, and the app's event-loop delay;
 *   and the same fit on the app's thread (`fit-here`, as before the thread) for comparison;
 * - baseline for time: the same summaries statement alone, page by page, rows read and dropped
 *   (the least one pass over the shop's orders costs the app);
 * - baseline for memory: the same process with the app's modules and the database open, idle.
 * Each child runs as production runs the app: bundled, under plain node with `npm start`'s options
 * (`childCommand`; SLICE_BENCH_PREDICT_TSX=1 runs the source through tsx instead).
 * The cached store is used in place: the predictions and fits it wrote are deleted before and after.
 */
import Database from "better-sqlite3";
import { spawn } from "node:child_process";
import path from "node:path";
import { bigStore, BIG_NOW } from "./generate-store";
import { serverNodeOptions } from "../dev/processes";
import { bundleForNode } from "../app/predict/fit-thread.server";
import type { Figure } from "./webhooks";

const log = (line: string) => console.error(`[predict] ${line}`);
const tsx = path.resolve("node_modules/tsx/dist/cli.mjs");

interface ChildResult {
  mode: string;
  ms: number;
  cpuMs: number;
  maxRssMb: number;
  peakHeapMb: number;
  status?: string;
  message?: string | null;
  customers?: number;
  repeatCustomers?: number;
  predictions?: number;
  models?: unknown;
  logLikelihood?: number | null;
  calibration?: { predicted: number; actual: number; error: number | null; customers: number } | null;
  steps?: Record<string, number>;
  writes?: { written: number; chunks: number; longestHoldMs: number };
  probe?: { writes: number; p50: number; p99: number; max: number };
  eventLoopDelay?: { p99: number; max: number };
}

/**
 * How the child runs: as production runs the app, bundled by esbuild with the build script's options
 * (the fit thread's program beside it, as build/fit-thread.mjs is beside the server) under plain node
 * with `npm start`'s options; `SLICE_BENCH_PREDICT_TSX=1`: from the source through tsx, whose loader
 * adds tens of MB to every process (the idle baseline too).
 */
let command: Promise<string[]> | null = null;
function childCommand(): Promise<string[]> {
  command ??= (async () => {
    if (process.env.SLICE_BENCH_PREDICT_TSX === "1") return [tsx, "bench/predict-child.ts"];
    const dir = path.resolve("node_modules/.cache/slice");
    await bundleForNode(path.resolve("app/predict/fit-thread.server.ts"), path.join(dir, "fit-thread.mjs"));
    await bundleForNode(path.resolve("bench/predict-child.ts"), path.join(dir, "predict-child.mjs"));
    return [...serverNodeOptions(), path.join(dir, "predict-child.mjs")];
  })();
  return command;
}

async function runChild(
  file: string,
  shopId: number,
  mode: "fit" | "fit-here" | "summaries" | "idle",
): Promise<ChildResult> {
  const program = await childCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...program, file, String(shopId), BIG_NOW.toISOString(), mode], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0) reject(new Error(`bench/predict-child.ts ${mode} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

function clean(file: string): void {
  const raw = new Database(file);
  raw.exec(`DELETE FROM "CustomerPrediction"; DELETE FROM "PredictionFit";`);
  raw.pragma("wal_checkpoint(TRUNCATE)");
  raw.close();
}

export async function benchPredict(options: { customers?: number } = {}): Promise<Figure[]> {
  const customers = options.customers ?? Number(process.env.SLICE_BENCH_CUSTOMERS ?? 1_000_000);
  const store = await bigStore({ customers, log });
  clean(store.file);
  try {
    const idle = await runChild(store.file, store.shopId, "idle");
    log(`idle process: ${idle.maxRssMb.toFixed(0)} MB RSS`);
    const baseline = await runChild(store.file, store.shopId, "summaries");
    log(`summaries alone: ${(baseline.ms / 1000).toFixed(1)} s, ${baseline.maxRssMb.toFixed(0)} MB RSS`);
    const fit = await runChild(store.file, store.shopId, "fit");
    log(`fit: ${JSON.stringify(fit)}`);
    if (fit.status !== "ready") throw new Error(`the fit was not ready: ${fit.status}: ${fit.message}`);
    // The same fit on the app's thread, as before the fit had a thread (SLICE_BENCH_PREDICT_HERE=0: not run).
    clean(store.file);
    const here =
      process.env.SLICE_BENCH_PREDICT_HERE === "0"
        ? null
        : await runChild(store.file, store.shopId, "fit-here");
    if (here) log(`fit on the app's thread: ${JSON.stringify(here)}`);
    const cost = (r: ChildResult, who: string) => [
      {
        name: `${who}: longest write transaction (writer held)`,
        value: r.writes?.longestHoldMs ?? 0,
        unit: "ms",
      },
      { name: `${who}: write transactions`, value: r.writes?.chunks ?? 0, unit: "" },
      {
        name: `${who}: a webhook-like write every 20 ms, wait p50 / p99`,
        value: r.probe?.p50 ?? 0,
        unit: "ms",
        baseline: r.probe?.p99,
      },
      { name: `${who}: the same, longest wait`, value: r.probe?.max ?? 0, unit: "ms" },
      {
        name: `${who}: app's event-loop delay p99 (baseline: max)`,
        value: r.eventLoopDelay?.p99 ?? 0,
        unit: "ms",
        baseline: r.eventLoopDelay?.max,
      },
    ];
    const steps = fit.steps ?? {};
    const cal = fit.calibration;
    return [
      { name: "customers with orders", value: fit.customers ?? 0, unit: "" },
      { name: "of them with repeat orders", value: fit.repeatCustomers ?? 0, unit: "" },
      {
        name: "fit, end to end (wall)",
        value: fit.ms / 1000,
        unit: "s",
        aim: "< 30 s",
        ok: fit.ms < 30_000,
        baseline: baseline.ms / 1000,
        ratio: fit.ms / baseline.ms,
      },
      {
        name: "fit, CPU time (baseline: summaries statement alone)",
        value: fit.cpuMs / 1000,
        unit: "s",
        baseline: baseline.cpuMs / 1000,
        ratio: fit.cpuMs / baseline.cpuMs,
      },
      {
        name: "fit, peak RSS (baseline: the process idle)",
        value: fit.maxRssMb,
        unit: "MB",
        aim: "< 200 MB",
        ok: fit.maxRssMb < 200,
        baseline: idle.maxRssMb,
        ratio: fit.maxRssMb / idle.maxRssMb,
      },
      { name: "summaries statement alone, peak RSS", value: baseline.maxRssMb, unit: "MB" },
      { name: "fit, peak heap used (sampled)", value: fit.peakHeapMb, unit: "MB", baseline: idle.peakHeapMb },
      ...["summaries", "calibration", "fit", "predict", "write"].map((step) => ({
        name: `  step: ${step}`,
        value: (steps[step] ?? 0) / 1000,
        unit: "s",
      })),
      { name: "predictions written", value: fit.predictions ?? 0, unit: "" },
      ...cost(fit, "fit thread"),
      ...(here
        ? [
            { name: "on the app's thread (before): wall", value: here.ms / 1000, unit: "s" },
            { name: "on the app's thread (before): peak RSS", value: here.maxRssMb, unit: "MB" },
            {
              name: "on the app's thread (before): step write",
              value: (here.steps?.write ?? 0) / 1000,
              unit: "s",
            },
            ...cost(here, "on the app's thread"),
          ]
        : []),
      ...(cal
        ? [
            { name: "holdout: repeat orders predicted", value: cal.predicted, unit: "" },
            { name: "holdout: repeat orders actual", value: cal.actual, unit: "" },
            { name: "holdout: error", value: (cal.error ?? 0) * 100, unit: "%" },
          ]
        : []),
    ];
  } finally {
    clean(store.file);
  }
}
