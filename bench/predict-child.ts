/**
 * One measured run for bench/predict.ts, in a process of its own so that its peak memory is the
 * run's alone (`process.resourceUsage().maxRSS` is the process's high-water mark):
 *
 *   tsx bench/predict-child.ts <file.sqlite> <shopId> <now ISO> fit|summaries|idle
 *
 * `fit`: `fitShop` as the app runs it (summaries, holdout check, both fits, every customer's
 * predictions written). `summaries`: the baseline, the same summaries statement page by page with
 * its rows read and dropped. `idle`: the process with the app's modules and database open, doing
 * nothing (its memory is the floor under the other two). Prints one JSON line.
 */
import { createPrismaClient } from "../app/db.server";
import { closeHot, hotFor } from "../app/db-hot.server";
import { fitShop } from "../app/predict/fit.server";
import { SUMMARY_PAGE, agoDayOf, holdoutSplit, summarySql } from "../app/predict/summaries.server";

const [file, shopArg, nowArg, mode] = process.argv.slice(2);
const shopId = Number(shopArg);
const now = new Date(nowArg);

let peakHeap = 0;
const sampleHeap = () => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed));

async function run() {
  const db = createPrismaClient(`file:${file}`);
  await db.$connect();
  const started = performance.now();
  const cpu = process.cpuUsage();
  const sampler = setInterval(sampleHeap, 25);
  let detail: Record<string, unknown> = {};
  if (mode === "fit") {
    const marks: string[] = [];
    const result = await fitShop(db, shopId, now, {
      log: (line) => {
        sampleHeap();
        const m = process.memoryUsage();
        marks.push(
          `${line.slice(0, 40)}: rss ${(m.rss / 2 ** 20).toFixed(0)} MB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MB, buffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)} MB`,
        );
      },
    });
    detail = {
      status: result.fit.status,
      message: result.fit.message,
      customers: result.fit.customers,
      repeatCustomers: result.fit.repeatCustomers,
      predictions: result.predictions,
      models: result.fit.models,
      logLikelihood: result.fit.logLikelihood,
      calibration: result.fit.calibration && {
        predicted: result.fit.calibration.predicted,
        actual: result.fit.calibration.actual,
        error: result.fit.calibration.error,
        customers: result.fit.calibration.customers,
      },
      steps: result.steps,
      marks,
    };
  } else if (mode === "summaries") {
    const q = hotFor(db, "read");
    const [b] = await q.rows<{ lo: number; hi: number }>(
      `SELECT MIN("id") AS "lo", MAX("id") AS "hi" FROM "Customer" WHERE "shopId" = ?`,
      [shopId],
    );
    const split = holdoutSplit(now, 90);
    const sql = summarySql("sqlite", { range: true });
    let rows = 0;
    for (let from = b.lo - 1; from < b.hi; from += SUMMARY_PAGE) {
      rows += (
        await q.rows(sql, [
          split.cutDay,
          split.cutDay,
          split.cutDay,
          split.cutDay,
          split.endDay,
          agoDayOf(now),
          agoDayOf(now),
          shopId,
          from,
          from + SUMMARY_PAGE,
          false,
          now,
        ])
      ).length;
      sampleHeap();
    }
    detail = { customers: rows };
  }
  clearInterval(sampler);
  sampleHeap();
  const used = process.cpuUsage(cpu);
  const out = {
    mode,
    ms: performance.now() - started,
    cpuMs: (used.user + used.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    peakHeapMb: peakHeap / 2 ** 20,
    ...detail,
  };
  await closeHot();
  await db.$disconnect();
  console.log(JSON.stringify(out));
}

run().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
