/**
 * Fitting a shop's predictive models (BG/NBD for repeat purchases, Gamma-Gamma for spend per
 * order, app/engine/predict/) on its own orders, and keeping every customer's predictions.
 *
 * A fit (`fitShop`), on a schedule and after a history import (schedule.server.ts) or by hand
 * (`npm run slice -- predict fit`):
 * 1. Refuses, saying why, when the app cannot see the shop's whole order history (no
 *    `read_all_orders`: Shopify shows it only the last 60 days, and a model fitted on those would
 *    take every long-time customer for a new one).
 * 2. Reads every customer's summary in one pass (summaries.server.ts), as of `now` and, in the same
 *    pass, as of the calibration cut-off (`holdoutDaysFor`: 90 days before today, shorter for a
 *    young shop) with the purchases that followed it.
 * 3. Too few customers with repeat orders: stored as "insufficient" with "not enough history yet:
 *    N customers with repeat orders, M needed", not a guess; the fit in use stays.
 * 4. The holdout check: BG/NBD fitted on the summaries as of the cut-off predicts the holdout's
 *    repeat purchases, compared with what happened (calibration.ts).
 * 5. Both models fitted on everything to `now`; every customer's predictions written (the value
 *    tiers by rank within the shop), replacing the previous fit's. Every fit's row is kept.
 *
 * `refreshPredictions` recomputes some customers' rows with the fit in use (after their orders
 * change); `currentFit` is the fit in use: the newest ready one.
 */
import type { PrismaClient } from "@prisma/client";
import { z } from "zod";
import { hotFor, insertMany, date, int, marks, type HotQueries } from "../db-hot.server";
import { expectedOrders, fitBgNbd } from "../engine/predict/bgnbd";
import { expectedSpendPerOrder, fitGammaGamma } from "../engine/predict/gamma-gamma";
import {
  predictCustomerWithFall,
  tierOf,
  tierThresholds,
  type CustomerPredictionWithFall,
} from "../engine/predict/predict";
import type {
  BgNbdParams,
  Calibration,
  FittedModels,
  TierThresholds,
  ValueSummary,
} from "../engine/predict/types";
import { orderHistoryAccess } from "../sync/scopes.server";
import { calibrationCheck, holdoutDaysFor, repeatCustomers } from "./calibration";
import {
  DAY_MS,
  agoAt,
  holdoutSplit,
  readSummaries,
  summariesOf,
  summaryAt,
  type ShopSummaries,
  type SummaryNowAndAgo,
} from "./summaries.server";

/** Customers with at least one repeat order a fit needs (on all history, and for the holdout check). */
export const MIN_REPEAT_CUSTOMERS = 100;

export type FitStatus = "ready" | "insufficient" | "failed";

/** A PredictionFit row, its JSON parsed. */
export interface StoredFit {
  id: number;
  shopId: number;
  fittedAt: Date;
  cutoff: Date;
  status: FitStatus;
  message: string | null;
  models: FittedModels | null;
  logLikelihood: number | null;
  customers: number;
  repeatCustomers: number;
  calibration: Calibration | null;
  tiers: TierThresholds | null;
  durationMs: number;
}

/** The fit whose predictions are in use. */
export interface FitInUse extends StoredFit {
  status: "ready";
  models: FittedModels;
  tiers: TierThresholds;
}

export interface FitResult {
  fit: StoredFit;
  /** Customers whose predictions were written. */
  predictions: number;
  /** Milliseconds spent in each step (the bench reports them). */
  steps: { summaries: number; calibration: number; fit: number; predict: number; write: number };
}

export interface FitOptions {
  minRepeatCustomers?: number;
  /** Overrides `holdoutDaysFor` (null: no holdout check). */
  holdoutDays?: number | null;
  /** Rows per write transaction (each one holds SQLite's one writer briefly). */
  writeChunk?: number;
  /** Told of progress in words (the CLI prints it). */
  log?: (line: string) => void;
}

const bgnbdJson = z.object({ r: z.number(), alpha: z.number(), a: z.number(), b: z.number() });
const gammaGammaJson = z.object({ p: z.number(), q: z.number(), gamma: z.number() });
const tiersJson = z.object({ top10: z.number(), top25: z.number(), top50: z.number() });
const calibrationJson = z.object({
  cutoff: z.string(),
  holdoutDays: z.number(),
  customers: z.number(),
  predicted: z.number(),
  actual: z.number(),
  error: z.number().nullable(),
  byFrequency: z.array(
    z.object({ x: z.string(), customers: z.number(), predicted: z.number(), actual: z.number() }),
  ),
});

function parsed<T>(schema: z.ZodType<T>, text: unknown, what: string, id: number): T | null {
  if (text === null || text === undefined) return null;
  const result = schema.safeParse(JSON.parse(String(text)));
  if (!result.success)
    throw new Error(`PredictionFit ${id}: its ${what} is not valid: ${result.error.message}`);
  return result.data;
}

interface FitRow {
  id: unknown;
  shopId: unknown;
  fittedAt: unknown;
  cutoff: unknown;
  status: string;
  message: string | null;
  bgnbd: string | null;
  gammaGamma: string | null;
  logLikelihood: unknown;
  customers: unknown;
  repeatCustomers: unknown;
  calibration: string | null;
  tiers: string | null;
  durationMs: unknown;
}

function storedFit(r: FitRow): StoredFit {
  const id = int(r.id);
  const bgnbd = parsed(bgnbdJson, r.bgnbd, "BG/NBD parameters", id);
  const gammaGamma = parsed(gammaGammaJson, r.gammaGamma, "Gamma-Gamma parameters", id);
  return {
    id,
    shopId: int(r.shopId),
    fittedAt: date(r.fittedAt),
    cutoff: date(r.cutoff),
    status: r.status as FitStatus,
    message: r.message,
    models: bgnbd && gammaGamma ? { bgnbd, gammaGamma } : null,
    logLikelihood: r.logLikelihood === null || r.logLikelihood === undefined ? null : Number(r.logLikelihood),
    customers: int(r.customers),
    repeatCustomers: int(r.repeatCustomers),
    calibration: parsed(calibrationJson, r.calibration, "calibration", id),
    tiers: parsed(tiersJson, r.tiers, "tiers", id),
    durationMs: int(r.durationMs),
  };
}

const FIT_COLUMNS = `"id", "shopId", "fittedAt", "cutoff", "status", "message", "bgnbd", "gammaGamma",
  "logLikelihood", "customers", "repeatCustomers", "calibration", "tiers", "durationMs"`;

/** The fit whose predictions are in use: the shop's newest ready fit; null before the first. */
export async function currentFit(db: PrismaClient, shopId: number): Promise<FitInUse | null> {
  const [row] = await hotFor(db, "read").rows<FitRow>(
    `SELECT ${FIT_COLUMNS} FROM "PredictionFit" WHERE "shopId" = ? AND "status" = 'ready'
     ORDER BY "fittedAt" DESC, "id" DESC LIMIT 1`,
    [shopId],
  );
  if (!row) return null;
  const fit = storedFit(row);
  if (!fit.models || !fit.tiers)
    throw new Error(`PredictionFit ${fit.id} is ready but lacks its parameters or tiers`);
  return fit as FitInUse;
}

/** The shop's newest fit whatever its status (why predictions are missing, when one is not ready). */
export async function latestFit(db: PrismaClient, shopId: number): Promise<StoredFit | null> {
  const [row] = await hotFor(db, "read").rows<FitRow>(
    `SELECT ${FIT_COLUMNS} FROM "PredictionFit" WHERE "shopId" = ? ORDER BY "fittedAt" DESC, "id" DESC LIMIT 1`,
    [shopId],
  );
  return row ? storedFit(row) : null;
}

export function notEnoughHistory(repeat: number, needed: number): string {
  return `not enough history yet: ${repeat.toLocaleString("en")} customers with repeat orders, ${needed.toLocaleString("en")} needed`;
}

export const LIMITED_HISTORY_MESSAGE =
  "not fitted: without the read_all_orders scope Shopify shows the app only the last 60 days of orders, " +
  "so every customer who bought before looks new; predictions start once the scope is granted and the " +
  "order history imported";

const PREDICTION_COLUMNS = [
  "customerId",
  "shopId",
  "fitId",
  "probabilityActive",
  "probabilityActive30dAgo",
  "orders7",
  "orders30",
  "orders60",
  "orders90",
  "orders180",
  "orders365",
  "spendPerOrder",
  "value12m",
  "valueTier",
  "nextOrderAt",
  "computedAt",
] as const;

const UPSERT_PREDICTION = ` ON CONFLICT ("customerId") DO UPDATE SET ${PREDICTION_COLUMNS.slice(1)
  .map((c) => `"${c}" = excluded."${c}"`)
  .join(", ")}`;

/**
 * A customer's predicted 12-month value, as predictCustomer computes it (the same products in the
 * same order, so the same number) without its other five horizons: the tiers' ranks need only it.
 */
export function value12mOf(m: FittedModels, s: ValueSummary): number {
  return expectedOrders(m.bgnbd, s, 365) * expectedSpendPerOrder(m.gammaGamma, s.x, s.mean);
}

function finite(v: CustomerPredictionWithFall): boolean {
  return (
    Number.isFinite(v.probabilityActive) &&
    (v.probabilityActiveThen === null || Number.isFinite(v.probabilityActiveThen)) &&
    Number.isFinite(v.spendPerOrder) &&
    Number.isFinite(v.value12m) &&
    Object.values(v.orders).every(Number.isFinite) &&
    (v.nextOrderInDays === null || !Number.isNaN(v.nextOrderInDays))
  );
}

function predictionRow(
  customerId: number,
  shopId: number,
  fitId: number,
  v: CustomerPredictionWithFall,
  tiers: TierThresholds,
  now: Date,
): unknown[] {
  const next =
    v.nextOrderInDays === null || !Number.isFinite(v.nextOrderInDays)
      ? null
      : new Date(now.getTime() + Math.round(v.nextOrderInDays * DAY_MS));
  return [
    customerId,
    shopId,
    fitId,
    v.probabilityActive,
    v.probabilityActiveThen,
    v.orders[7],
    v.orders[30],
    v.orders[60],
    v.orders[90],
    v.orders[180],
    v.orders[365],
    Math.round(v.spendPerOrder),
    Math.round(v.value12m),
    tierOf(v.value12m, tiers),
    next,
    now,
  ];
}

async function recordFit(
  db: PrismaClient,
  data: {
    shopId: number;
    fittedAt: Date;
    cutoff: Date;
    status: FitStatus;
    message: string | null;
    models?: FittedModels;
    logLikelihood?: number;
    customers: number;
    repeatCustomers: number;
    calibration?: Calibration | null;
    tiers?: TierThresholds;
    durationMs: number;
  },
): Promise<StoredFit> {
  const row = await db.predictionFit.create({
    data: {
      shopId: data.shopId,
      fittedAt: data.fittedAt,
      cutoff: data.cutoff,
      status: data.status,
      message: data.message,
      bgnbd: data.models ? JSON.stringify(data.models.bgnbd) : null,
      gammaGamma: data.models ? JSON.stringify(data.models.gammaGamma) : null,
      logLikelihood: data.logLikelihood ?? null,
      customers: data.customers,
      repeatCustomers: data.repeatCustomers,
      calibration: data.calibration ? JSON.stringify(data.calibration) : null,
      tiers: data.tiers ? JSON.stringify(data.tiers) : null,
      durationMs: data.durationMs,
    },
    select: { id: true },
  });
  return {
    id: row.id,
    shopId: data.shopId,
    fittedAt: data.fittedAt,
    cutoff: data.cutoff,
    status: data.status,
    message: data.message,
    models: data.models ?? null,
    logLikelihood: data.logLikelihood ?? null,
    customers: data.customers,
    repeatCustomers: data.repeatCustomers,
    calibration: data.calibration ?? null,
    tiers: data.tiers ?? null,
    durationMs: data.durationMs,
  };
}

/**
 * More than this share of the customers who ordered with orders Shopify counts and the app does not
 * hold: the history is not all here (imported before `read_all_orders` was granted, say), and a fit
 * on it would take long-time customers for new ones.
 */
export const MAX_HIDDEN_SHARE = 0.1;

export function hiddenOrdersMessage(hidden: number, ordered: number): string {
  return `not fitted: ${hidden.toLocaleString("en")} of the ${ordered.toLocaleString("en")} customers who have ordered have older orders Shopify counts that the app has not imported (the history was imported without read_all_orders); predictions start once the whole order history is imported`;
}

/**
 * Customers with orders Shopify counts and the app does not hold: app/engine/lifetime.ts leaves
 * their first order unknown (firstOrderAt null with ordersCount above 0).
 */
async function customersWithHiddenOrders(
  db: PrismaClient,
  shopId: number,
): Promise<{ hidden: number; ordered: number }> {
  const [row] = await hotFor(db, "read").rows<{ hidden: unknown; ordered: unknown }>(
    `SELECT SUM(CASE WHEN "firstOrderAt" IS NULL THEN 1 ELSE 0 END) AS "hidden", COUNT(*) AS "ordered"
     FROM "Customer" WHERE "shopId" = ? AND "deletedAt" IS NULL AND "ordersCount" > 0`,
    [shopId],
  );
  return { hidden: int(row?.hidden), ordered: int(row?.ordered) };
}

/** The first purchase day (UTC days since 1970) of the shop's customers' orders up to `now`. */
async function firstPurchaseDay(db: PrismaClient, shopId: number, now: Date): Promise<number | null> {
  const [row] = await hotFor(db, "read").rows<{ first: unknown }>(
    `SELECT MIN("processedAt") AS "first" FROM "Order"
     WHERE "shopId" = ? AND "processedAt" <= ? AND "cancelledAt" IS NULL AND "test" = ? AND "customerShopifyId" IS NOT NULL`,
    [shopId, now, false],
  );
  return row?.first === null || row?.first === undefined
    ? null
    : Math.floor(date(row.first).getTime() / DAY_MS);
}

/**
 * Fits the shop's models on its history to `now`, checks them on its own holdout, and writes every
 * customer's predictions. Never throws for the shop's data: a fit that cannot be made is stored as
 * "insufficient" or "failed" with its reason, and the fit in use stays.
 */
export async function fitShop(
  db: PrismaClient,
  shopId: number,
  now: Date,
  options: FitOptions = {},
): Promise<FitResult> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const needed = options.minRepeatCustomers ?? MIN_REPEAT_CUSTOMERS;
  const steps = { summaries: 0, calibration: 0, fit: 0, predict: 0, write: 0 };
  const elapsed = () => Math.round(performance.now() - started);
  const shop = await db.shop.findUnique({ where: { id: shopId }, select: { domain: true } });
  if (!shop) throw new Error(`no shop with id ${shopId} in this database`);

  const access = await orderHistoryAccess(db, shop.domain);
  if (access.limited) {
    const fit = await recordFit(db, {
      shopId,
      fittedAt: now,
      cutoff: now,
      status: "insufficient",
      message: LIMITED_HISTORY_MESSAGE,
      customers: 0,
      repeatCustomers: 0,
      durationMs: elapsed(),
    });
    return { fit, predictions: 0, steps };
  }

  const hidden = await customersWithHiddenOrders(db, shopId);
  if (hidden.ordered > 0 && hidden.hidden / hidden.ordered > MAX_HIDDEN_SHARE) {
    const fit = await recordFit(db, {
      shopId,
      fittedAt: now,
      cutoff: now,
      status: "insufficient",
      message: hiddenOrdersMessage(hidden.hidden, hidden.ordered),
      customers: 0,
      repeatCustomers: 0,
      durationMs: elapsed(),
    });
    return { fit, predictions: 0, steps };
  }

  const firstDay = await firstPurchaseDay(db, shopId, now);
  const holdoutDays =
    options.holdoutDays !== undefined
      ? options.holdoutDays
      : firstDay === null
        ? null
        : holdoutDaysFor(Math.floor(now.getTime() / DAY_MS) - firstDay);
  const split = holdoutDays ? holdoutSplit(now, holdoutDays) : null;
  const cutoff = split ? new Date(split.cutDay * DAY_MS) : now;

  let t = performance.now();
  const summaries = await readSummaries(db, shopId, now, {
    split,
    // Give way between pages: on SQLite the fit shares its thread with the app.
    onPage: () => new Promise((resolve) => setImmediate(resolve)),
  });
  steps.summaries = performance.now() - t;
  const customers = summaries.all.length;
  const repeat = repeatCustomers(summaries.all);
  log(
    `summaries: ${customers.toLocaleString("en")} customers with orders, ${repeat.toLocaleString("en")} with repeat orders (${Math.round(steps.summaries)} ms)`,
  );
  const base = { shopId, fittedAt: now, cutoff, customers, repeatCustomers: repeat };
  if (repeat < needed) {
    const fit = await recordFit(db, {
      ...base,
      status: "insufficient",
      message: notEnoughHistory(repeat, needed),
      durationMs: elapsed(),
    });
    return { fit, predictions: 0, steps };
  }

  const notes: string[] = [];
  let calibration: Calibration | null = null;
  let models: FittedModels;
  let logLikelihood: number;
  let start: BgNbdParams | undefined;
  try {
    t = performance.now();
    const cal = summaries.calibration;
    const calRepeat = cal ? repeatCustomers(cal.columns) : 0;
    if (!cal || !holdoutDays)
      notes.push("no holdout check: the shop's order history is shorter than 6 weeks");
    else if (calRepeat < needed)
      notes.push(
        `no holdout check: ${calRepeat.toLocaleString("en")} customers with repeat orders before ${cutoff.toISOString().slice(0, 10)}, ${needed.toLocaleString("en")} needed`,
      );
    else {
      const calFit = fitBgNbd(cal.columns);
      start = calFit.params;
      calibration = calibrationCheck(calFit.params, cal.columns, cal.holdoutRepeats, holdoutDays, cutoff);
      log(
        `holdout check: ${holdoutDays} days after ${calibration.cutoff.slice(0, 10)}, predicted ${calibration.predicted.toFixed(0)} repeat orders, actual ${calibration.actual}`,
      );
    }
    // The holdout's columns are no longer needed: let them go before the full fit.
    summaries.calibration = null;
    steps.calibration = performance.now() - t;

    t = performance.now();
    const bgnbd = fitBgNbd(summaries.all, start ? { start } : undefined);
    if (!bgnbd.converged)
      throw new Error(`the BG/NBD fit did not converge after ${bgnbd.iterations} iterations`);
    const gammaGamma = fitGammaGamma(summaries.all);
    if (!gammaGamma.converged)
      throw new Error(`the Gamma-Gamma fit did not converge after ${gammaGamma.iterations} iterations`);
    models = { bgnbd: bgnbd.params, gammaGamma: gammaGamma.params };
    logLikelihood = bgnbd.logLikelihood;
    steps.fit = performance.now() - t;
    log(`fitted in ${Math.round(steps.fit)} ms: ${JSON.stringify(models)}`);
  } catch (error) {
    const fit = await recordFit(db, {
      ...base,
      status: "failed",
      message: `the fit failed: ${(error as Error).message}`,
      calibration,
      durationMs: elapsed(),
    });
    return { fit, predictions: 0, steps };
  }

  // Tiers rank the whole shop: every predicted 12-month value first, then the rows.
  t = performance.now();
  const values = new Float64Array(customers);
  let notFinite = 0;
  for (let i = 0; i < customers; i++) {
    const value = value12mOf(models, summaryAt(summaries.all, i));
    if (Number.isFinite(value)) values[i] = value;
    else {
      values[i] = Number.NaN;
      notFinite++;
    }
  }
  const tiers = tierThresholds(notFinite ? values.filter(Number.isFinite) : values);
  steps.predict = performance.now() - t;
  if (notFinite) notes.push(`${notFinite} customers' predictions were not finite numbers and were left out`);

  // Ready before its rows are written: a customer refreshed meanwhile (refreshPredictions) gets this
  // fit's parameters and tiers, and the rows left from the previous fit are replaced below.
  const fit = await recordFit(db, {
    ...base,
    status: "ready",
    message: notes.length ? notes.join("; ") : null,
    models,
    logLikelihood,
    calibration,
    tiers,
    durationMs: elapsed(),
  });

  t = performance.now();
  let written = 0;
  try {
    written = await writePredictions(db, shopId, fit.id, models, tiers, summaries, now, options.writeChunk);
  } catch (error) {
    fit.status = "failed";
    fit.message = `writing the predictions failed: ${(error as Error).message}`;
    await db.predictionFit.update({
      where: { id: fit.id },
      data: { status: fit.status, message: fit.message, durationMs: elapsed() },
    });
    return { fit, predictions: written, steps };
  }
  steps.write = performance.now() - t;
  fit.durationMs = elapsed();
  await db.predictionFit.update({ where: { id: fit.id }, data: { durationMs: fit.durationMs } });
  log(`wrote ${written.toLocaleString("en")} customers' predictions (${Math.round(steps.write)} ms)`);
  return { fit, predictions: written, steps };
}

/**
 * Every customer's predictions from this fit, in short transactions (each holds SQLite's one writer
 * only briefly), then the rows of customers the fit no longer covers (no order left, deleted) go.
 */
async function writePredictions(
  db: PrismaClient,
  shopId: number,
  fitId: number,
  models: FittedModels,
  tiers: TierThresholds,
  summaries: ShopSummaries,
  now: Date,
  chunk = 500,
): Promise<number> {
  const hot = hotFor(db, "apply");
  const n = summaries.all.length;
  let written = 0;
  for (let from = 0; from < n; from += chunk) {
    const rows: unknown[][] = [];
    for (let i = from; i < Math.min(n, from + chunk); i++) {
      const v = predictCustomerWithFall(
        models,
        summaryAt(summaries.all, i),
        agoAt(summaries.all, summaries.ago, i),
      );
      if (finite(v)) rows.push(predictionRow(summaries.ids[i], shopId, fitId, v, tiers, now));
    }
    await hot.transaction((tx) =>
      insertMany(tx, "CustomerPrediction", PREDICTION_COLUMNS, rows, UPSERT_PREDICTION),
    );
    written += rows.length;
    // Give way to the app between chunks (SQLite: the same thread and writer).
    await new Promise((resolve) => setImmediate(resolve));
  }
  await hot.run(`DELETE FROM "CustomerPrediction" WHERE "shopId" = ? AND "fitId" <> ?`, [shopId, fitId]);
  return written;
}

/**
 * Recomputes these customers' predictions (Customer.id) with the fit in use, after their orders
 * changed: a customer with no order left (or deleted) loses the row. Nothing before a first fit.
 */
export async function refreshPredictions(
  db: PrismaClient,
  shopId: number,
  customerIds: number[],
  now: Date,
  /** The fit in use, when the caller has just read it. */
  inUse?: FitInUse,
): Promise<void> {
  if (!customerIds.length) return;
  const fit = inUse ?? (await currentFit(db, shopId));
  if (!fit) return;
  await hotFor(db, "apply").transaction(async (tx) => {
    const summaries = await summariesOf(tx, shopId, customerIds, now);
    await writeSome(tx, shopId, fit, summaries, now);
    const gone = [...new Set(customerIds)].filter((id) => !summaries.has(id));
    for (let i = 0; i < gone.length; i += 500) {
      const part = gone.slice(i, i + 500);
      await tx.run(
        `DELETE FROM "CustomerPrediction" WHERE "shopId" = ? AND "customerId" IN (${marks(part.length)})`,
        [shopId, ...part],
      );
    }
  });
}

async function writeSome(
  tx: HotQueries,
  shopId: number,
  fit: FitInUse,
  summaries: Map<number, SummaryNowAndAgo>,
  now: Date,
): Promise<void> {
  const rows: unknown[][] = [];
  for (const [customerId, s] of summaries) {
    const v = predictCustomerWithFall(fit.models, s, s.ago);
    if (finite(v)) rows.push(predictionRow(customerId, shopId, fit.id, v, fit.tiers, now));
  }
  if (rows.length) await insertMany(tx, "CustomerPrediction", PREDICTION_COLUMNS, rows, UPSERT_PREDICTION);
}
