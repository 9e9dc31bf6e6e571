/**
 * Customers' stored predictions (CustomerPrediction, written by the shop's fit) into their facts,
 * for the rule language's "Predicted" fields: the one place they are loaded. The segment facts
 * (loadFacts, and per visitor through it) and the storefront's one-statement read call it when a
 * rule reads a predicted field (FactsNeeded.predictions). Read as sql.ts's predictedScalar reads
 * them: by Customer.id, a deleted customer having none.
 */
import { date, dateOrNull, inChunks, marks, type HotQueries } from "../db-hot.server";
import type { Facts } from "../engine/evaluate";
import type { PredictionFacts, PredictionFitFacts } from "../engine/predicted";
import type { Calibration, ValueTier } from "../engine/predict/types";

interface PredictionRow {
  shopifyId: string;
  fitId: number;
  probabilityActive: number;
  probabilityActive30dAgo: number | null;
  orders7: number;
  orders30: number;
  orders60: number;
  orders90: number;
  orders180: number;
  orders365: number;
  spendPerOrder: number;
  value12m: number;
  valueTier: string;
  nextOrderAt: unknown;
  computedAt: unknown;
}

interface FitRow {
  id: number;
  fittedAt: unknown;
  calibration: string | null;
}

/** A fit as a merchant is told of it: its date, and its holdout check (when it has one). */
export function fitFactsOf(fit: { fittedAt: Date; calibration: string | null }): PredictionFitFacts {
  let calibration: Partial<Calibration> | null = null;
  try {
    calibration = fit.calibration ? (JSON.parse(fit.calibration) as Partial<Calibration>) : null;
  } catch {
    calibration = null;
  }
  return {
    fittedAt: fit.fittedAt,
    holdoutError: typeof calibration?.error === "number" ? calibration.error : null,
    holdoutDays: typeof calibration?.holdoutDays === "number" ? calibration.holdoutDays : null,
  };
}

/** Sets `prediction` on each customer's facts (keyed by Shopify id): theirs, or null when none is stored. */
export async function withPredictions(
  reader: HotQueries,
  shopId: number,
  facts: Map<string, Facts>,
): Promise<void> {
  const ids = [...facts.keys()];
  const rows = await inChunks<PredictionRow>(reader, ids, (chunk) => ({
    sql: `SELECT c."shopifyId", p."fitId", p."probabilityActive", p."probabilityActive30dAgo", p."orders7", p."orders30", p."orders60",
            p."orders90", p."orders180", p."orders365", p."spendPerOrder", p."value12m", p."valueTier", p."nextOrderAt",
            p."computedAt"
          FROM "Customer" c JOIN "CustomerPrediction" p ON p."customerId" = c."id"
          WHERE c."shopId" = ? AND c."deletedAt" IS NULL AND c."shopifyId" IN (${marks(chunk.length)})`,
    params: [shopId, ...chunk],
  }));
  // The fits they came from: one, or two while a new fit's rows replace the old one's.
  const fitIds = [...new Set(rows.map((r) => String(r.fitId)))];
  const fits = await inChunks<FitRow>(reader, fitIds, (chunk) => ({
    sql: `SELECT "id", "fittedAt", "calibration" FROM "PredictionFit" WHERE "shopId" = ? AND "id" IN (${marks(chunk.length)})`,
    params: [shopId, ...chunk.map(Number)],
  }));
  const fitOf = new Map(
    fits.map((f) => [Number(f.id), fitFactsOf({ fittedAt: date(f.fittedAt), calibration: f.calibration })]),
  );
  for (const f of facts.values()) f.prediction = null;
  for (const r of rows) {
    const f = facts.get(r.shopifyId);
    if (!f) continue;
    // A prediction counts as sql.ts counts it, whatever became of its fit's row.
    const fit = fitOf.get(Number(r.fitId)) ?? {
      fittedAt: date(r.computedAt),
      holdoutError: null,
      holdoutDays: null,
    };
    const prediction: PredictionFacts = {
      probabilityActive: Number(r.probabilityActive),
      probabilityActive30dAgo: r.probabilityActive30dAgo === null ? null : Number(r.probabilityActive30dAgo),
      orders: {
        7: Number(r.orders7),
        30: Number(r.orders30),
        60: Number(r.orders60),
        90: Number(r.orders90),
        180: Number(r.orders180),
        365: Number(r.orders365),
      },
      spendPerOrder: Number(r.spendPerOrder),
      value12m: Number(r.value12m),
      valueTier: r.valueTier as ValueTier,
      nextOrderAt: dateOrNull(r.nextOrderAt),
      fit,
    };
    f.prediction = prediction;
  }
}
