/**
 * The cost of the "Predicted" fields in a full recompute (issue 17): the big SQLite shop
 * (bench/generate-store.ts; SLICE_BENCH_CUSTOMERS, default 100,000) with a prediction for every
 * customer (drawn from the CDNOW parameters by the models' own simulate.ts and predict.ts, tiered
 * by rank, with P(active) 30 days before where the simulated summary tells it: the same purchases
 * 30 days younger when the last one was before then), and the app's `recompute` of three segments
 * on predicted fields (the presets) against
 * three of the same shape on the Customer row's own columns, in the same run, from empty
 * memberships each time, alternating, median of SLICE_BENCH_REPS (3).
 */
import Database from "better-sqlite3";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPrismaClient } from "../app/db.server";
import { predictedPresets } from "../app/engine/presets";
import { predictCustomerWithFall, tierOf, tierThresholds } from "../app/engine/predict/predict";
import { simulateCustomers } from "../app/engine/predict/simulate";
import type { Rule } from "../app/engine/rules";
import { recompute } from "../app/segments/store.server";
import { bigStore } from "./generate-store";
import type { Figure } from "./webhooks";

const log = (line: string) => console.log(`[predicted-fields] ${line}`);

const MODELS = {
  bgnbd: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 },
  gammaGamma: { p: 6.25, q: 3.74, gamma: 15.44 },
};

/** Writes a prediction for every customer of the shop, as the fit stores them; returns how many. */
function writePredictions(raw: Database.Database, shopId: number, now: Date): number {
  const ids = raw
    .prepare(`SELECT "id" FROM "Customer" WHERE "shopId" = ? AND "deletedAt" IS NULL ORDER BY "id"`)
    .all(shopId) as { id: number }[];
  const { calibration: s } = simulateCustomers(MODELS, { customers: ids.length, days: 540, seed: 11 });
  // The simulation keeps only each customer's summary: 30 days before, their purchases were the
  // same when the last one was before then (otherwise it is not known here, and left null).
  const predicted = ids.map((_, i) =>
    predictCustomerWithFall(
      MODELS,
      { x: s.x[i], tx: s.tx[i], T: s.T[i], mean: s.mean[i] * 100 },
      s.tx[i] <= s.T[i] - 30 ? { x: s.x[i], tx: s.tx[i], T: s.T[i] - 30 } : null,
    ),
  );
  const tiers = tierThresholds(Float64Array.from(predicted.map((p) => p.value12m)));
  const fit = raw
    .prepare(
      `INSERT INTO "PredictionFit" ("shopId", "fittedAt", "cutoff", "status", "customers", "durationMs")
       VALUES (?, ?, ?, 'ready', ?, 0) RETURNING "id"`,
    )
    .get(shopId, now.getTime(), now.getTime() - 90 * 86_400_000, ids.length) as { id: number };
  const insert = raw.prepare(
    `INSERT INTO "CustomerPrediction" ("customerId", "shopId", "fitId", "probabilityActive", "probabilityActive30dAgo",
       "orders7", "orders30", "orders60", "orders90", "orders180", "orders365", "spendPerOrder", "value12m", "valueTier",
       "nextOrderAt", "computedAt")
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  raw.transaction(() => {
    predicted.forEach((p, i) =>
      insert.run(
        ids[i].id,
        shopId,
        fit.id,
        p.probabilityActive,
        p.probabilityActiveThen,
        p.orders[7],
        p.orders[30],
        p.orders[60],
        p.orders[90],
        p.orders[180],
        p.orders[365],
        Math.round(p.spendPerOrder),
        Math.round(p.value12m),
        tierOf(p.value12m, tiers),
        p.nextOrderInDays === null ? null : Math.round(now.getTime() + p.nextOrderInDays * 86_400_000),
        now.getTime(),
      ),
    );
  })();
  return ids.length;
}

const rule = (match: Rule["match"]): Rule => ({ version: 1, match });

export async function benchPredictedFields(options: { customers?: number } = {}): Promise<Figure[]> {
  const customers = options.customers ?? Number(process.env.SLICE_BENCH_CUSTOMERS ?? 100_000);
  const reps = Number(process.env.SLICE_BENCH_REPS ?? 3);
  const store = await bigStore({ customers, log });
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-bench-predicted-"));
  const file = path.join(dir, "shop.sqlite");
  copyFileSync(store.file, file);
  const raw = new Database(file);
  const db = createPrismaClient(`file:${file}`);
  try {
    const shopId = (
      raw.prepare(`SELECT "id" FROM "Shop" WHERE "domain" = ?`).get(store.shopDomain) as { id: number }
    ).id;
    const written = writePredictions(raw, shopId, store.now);
    raw.exec(`ANALYZE`);
    // Segments of the same shape and about the same sizes on the Customer row's own columns (the
    // membership writes cost as much as the SELECT): the same run's baseline.
    const spentAtRank = (share: number) =>
      (
        raw
          .prepare(
            `SELECT "totalSpent" FROM "Customer" WHERE "shopId" = ? ORDER BY "totalSpent" DESC LIMIT 1 OFFSET ?`,
          )
          .get(shopId, Math.floor(customers * share)) as { totalSpent: number }
      ).totalSpent;
    const baselines: [string, Rule][] = [
      [
        "base-likely",
        rule({
          all: [
            { field: "customer.ordersCount", op: "gte", value: 1 },
            { field: "customer.totalSpent", op: "gte", value: spentAtRank(0.08) },
          ],
        }),
      ],
      [
        "base-slipping",
        rule({
          all: [
            { field: "customer.totalSpent", op: "gte", value: spentAtRank(0.06) },
            { field: "orders.count", op: "eq", value: 0, days: 30 },
            { field: "customer.averageOrderValue", op: "lt", value: 1_000_000 },
          ],
        }),
      ],
      ["base-top", rule({ field: "customer.totalSpent", op: "gte", value: spentAtRank(0.1) })],
    ];
    const predicted = predictedPresets().map((p) => [p.handle, p.rule] as [string, Rule]);
    for (const [handle, r] of [...baselines, ...predicted])
      await db.segment.create({ data: { shopId, handle, name: handle, rule: JSON.stringify(r) } });
    const ids = new Map(
      (await db.segment.findMany({ where: { shopId }, select: { id: true, handle: true } })).map((s) => [
        s.handle,
        s.id,
      ]),
    );
    const timeOf = async (handles: string[]) => {
      for (const h of handles) {
        raw.prepare(`DELETE FROM "SegmentMember" WHERE "segmentId" = ?`).run(ids.get(h));
        raw.prepare(`DELETE FROM "SegmentChange" WHERE "segmentId" = ?`).run(ids.get(h));
      }
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      const result = await recompute(db, shopId, store.now, handles);
      const used = process.cpuUsage(cpu);
      return {
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        cpuMs: (used.user + used.system) / 1000,
        sizes: handles.map((h) => result[h].size),
      };
    };
    const base: number[] = [];
    const pred: number[] = [];
    let sizes = { base: [] as number[], pred: [] as number[] };
    for (let i = 0; i < reps; i++) {
      const b = await timeOf(baselines.map(([h]) => h));
      const p = await timeOf(predicted.map(([h]) => h));
      base.push(b.ms);
      pred.push(p.ms);
      sizes = { base: b.sizes, pred: p.sizes };
      log(
        `rep ${i + 1}: baseline ${b.ms.toFixed(0)} ms (${b.cpuMs.toFixed(0)} ms CPU in process), predicted ${p.ms.toFixed(0)} ms (${p.cpuMs.toFixed(0)} ms CPU in process)`,
      );
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    log(`members: baseline ${sizes.base.join(", ")}; predicted ${sizes.pred.join(", ")}`);
    const b = median(base);
    const p = median(pred);
    return [
      { name: "customers with a prediction", value: written, unit: "" },
      {
        name: `full recompute of the 3 predicted presets (members ${sizes.pred.join(", ")}) vs 3 segments of the same shape on Customer columns (members ${sizes.base.join(", ")})`,
        value: p,
        unit: "ms",
        baseline: b,
        ratio: p / b,
      },
    ];
  } finally {
    raw.close();
    await db.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
