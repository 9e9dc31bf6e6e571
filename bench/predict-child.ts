/**
 * One measured run for bench/predict.ts, in a process of its own so that its peak memory is the
 * run's alone (`process.resourceUsage().maxRSS` is the process's high-water mark):
 *
 *   tsx bench/predict-child.ts <file.sqlite> <shopId> <now ISO> fit|fit-here|summaries|idle
 *
 * `fit`: `fitShop` as the app runs it (summaries, holdout check, both fits, every customer's
 * predictions written, on the fit's own thread with its own connection; `fit-here`: on this thread),
 * with a webhook-like write every 20 ms on this thread timed (its wait for the writer) and this
 * thread's event-loop delay. `summaries`: the baseline, the same summaries statement page by page with
 * its rows read and dropped. `idle`: the process with the app's modules and database open, doing
 * nothing (its memory is the floor under the other two). Prints one JSON line.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createPrismaClient } from "../app/db.server";
import { closeHot, hotFor } from "../app/db-hot.server";
import { startSqliteCheckpoints } from "../app/sqlite-checkpoint.server";
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
  if (mode === "fit" || mode === "fit-here") {
    // As the app runs on SQLite: checkpoints on their own thread (runtime.server.ts), and the fit
    // on its own (`offThread`; `fit-here`: on this thread, as before).
    const checkpoints = await startSqliteCheckpoints(db, file);
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    // A webhook's write, every 20 ms while the fit runs: how long it waits for SQLite's writer.
    const probe = hotFor(db, "apply");
    const waits: number[] = [];
    let probing = true;
    const probing$ = (async () => {
      while (probing) {
        const t = performance.now();
        await probe.transaction((tx) => tx.run(`DELETE FROM "CustomerPrediction" WHERE "customerId" = -1`));
        waits.push(performance.now() - t);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const marks: string[] = [];
    const result = await fitShop(db, shopId, now, {
      offThread: mode === "fit",
      log: (line) => {
        sampleHeap();
        const m = process.memoryUsage();
        marks.push(
          `${line.slice(0, 60)}: rss ${(m.rss / 2 ** 20).toFixed(0)} MB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MB, buffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)} MB`,
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
      writes: result.writes,
      marks,
    };
    probing = false;
    await probing$;
    delay.disable();
    await checkpoints.stop();
    waits.sort((a, b) => a - b);
    const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))] ?? 0;
    detail.probe = { writes: waits.length, p50: at(0.5), p99: at(0.99), max: at(1) };
    detail.eventLoopDelay = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
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
