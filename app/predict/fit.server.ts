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
import { startFitThread } from "./fit-thread.server";
import {
  DAY_MS,
  agoAt,
  emptyAgo,
  emptyColumns,
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
  /** The predictions' write transactions (absent when none were written). */
  writes?: WriteReport;
}

export interface FitOptions {
  minRepeatCustomers?: number;
  /** Overrides `holdoutDaysFor` (null: no holdout check). */
  holdoutDays?: number | null;
  /** Rows per write transaction on this thread (each one holds the writer briefly). */
  writeChunk?: number;
  /**
   * SQLite: read, fit and write on a thread of its own with its own connection
   * (fit-thread.server.ts), so that the app's thread is free meanwhile. The app's fits (the
   * schedule, the history import, the CLI: `refit`) do; tests of the fit itself run here.
   */
  offThread?: boolean;
  /** Off the thread: how long one write transaction may hold SQLite's writer (milliseconds). */
  writeHoldMs?: number;
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
  q: HotQueries,
  shopId: number,
): Promise<{ hidden: number; ordered: number }> {
  const [row] = await q.rows<{ hidden: unknown; ordered: unknown }>(
    `SELECT SUM(CASE WHEN "firstOrderAt" IS NULL THEN 1 ELSE 0 END) AS "hidden", COUNT(*) AS "ordered"
     FROM "Customer" WHERE "shopId" = ? AND "deletedAt" IS NULL AND "ordersCount" > 0`,
    [shopId],
  );
  return { hidden: int(row?.hidden), ordered: int(row?.ordered) };
}

/** The first purchase day (UTC days since 1970) of the shop's customers' orders up to `now`. */
async function firstPurchaseDay(q: HotQueries, shopId: number, now: Date): Promise<number | null> {
  const [row] = await q.rows<{ first: unknown }>(
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

  const plan: FitPlan = { shopId, now, holdoutDays: options.holdoutDays, needed };
  // On PostgreSQL the app's background work already runs on threads (or processes) of its own
  // (server.ts), and the fit with it.
  const runner =
    options.offThread && hotFor(db).dialect === "sqlite"
      ? await startFitThread(db, options.writeHoldMs)
      : localRunner(db, options.writeChunk);
  try {
    const { modelled, steps: modelSteps } = await runner.model(plan, log);
    Object.assign(steps, modelSteps);
    const base = {
      shopId,
      fittedAt: now,
      cutoff: modelled.cutoff,
      customers: modelled.customers,
      repeatCustomers: modelled.repeatCustomers,
    };
    if (modelled.status !== "ready") {
      const fit = await recordFit(db, {
        ...base,
        status: modelled.status,
        message: modelled.message,
        calibration: modelled.calibration,
        durationMs: elapsed(),
      });
      return { fit, predictions: 0, steps };
    }

    // Ready before its rows are written: a customer refreshed meanwhile (refreshPredictions) gets
    // this fit's parameters and tiers, and the rows left from the previous fit are replaced below.
    const fit = await recordFit(db, {
      ...base,
      status: "ready",
      message: modelled.notes.length ? modelled.notes.join("; ") : null,
      models: modelled.models,
      logLikelihood: modelled.logLikelihood,
      calibration: modelled.calibration,
      tiers: modelled.tiers,
      durationMs: elapsed(),
    });

    const t = performance.now();
    let written: WriteReport = { written: 0, chunks: 0, longestHoldMs: 0 };
    try {
      written = await runner.write(fit.id);
    } catch (error) {
      fit.status = "failed";
      fit.message = `writing the predictions failed: ${(error as Error).message}`;
      await db.predictionFit.update({
        where: { id: fit.id },
        data: { status: fit.status, message: fit.message, durationMs: elapsed() },
      });
      return { fit, predictions: written.written, steps };
    }
    steps.write = performance.now() - t;
    fit.durationMs = elapsed();
    await db.predictionFit.update({ where: { id: fit.id }, data: { durationMs: fit.durationMs } });
    log(
      `wrote ${written.written.toLocaleString("en")} customers' predictions in ${written.chunks} transactions, the longest holding the writer ${written.longestHoldMs.toFixed(1)} ms (${Math.round(steps.write)} ms)`,
    );
    return { fit, predictions: written.written, steps, writes: written };
  } finally {
    await runner.close();
  }
}

/** What a fit needs to read and model a shop (plain data: it crosses to the fit's thread). */
export interface FitPlan {
  shopId: number;
  now: Date;
  /** Days of holdout (null: no check); by default `holdoutDaysFor` the shop's history. */
  holdoutDays?: number | null;
  needed: number;
}

/** What modelling a shop found: its summaries' counts, and the fitted models or why there are none. */
export type Modelled = { customers: number; repeatCustomers: number; cutoff: Date } & (
  | { status: "insufficient"; message: string; calibration: null }
  | { status: "failed"; message: string; calibration: Calibration | null }
  | {
      status: "ready";
      models: FittedModels;
      logLikelihood: number;
      calibration: Calibration | null;
      tiers: TierThresholds;
      notes: string[];
    }
);

export type ModelSteps = Pick<FitResult["steps"], "summaries" | "calibration" | "fit" | "predict">;

/** The writes of a fit's predictions: rows, transactions and the longest one. */
export interface WriteReport {
  written: number;
  chunks: number;
  /** The longest time one write transaction held SQLite's writer (the wait it can cost a webhook). */
  longestHoldMs: number;
}

/**
 * The heavy part of a fit, wherever it runs: here (`localRunner`) or on a thread of its own with
 * its own connection (fit-thread.server.ts). `model` reads the summaries and fits; `write` writes
 * every customer's predictions from the fit recorded meanwhile (the summaries stay with the runner).
 */
export interface FitRunner {
  model(plan: FitPlan, log: (line: string) => void): Promise<{ modelled: Modelled; steps: ModelSteps }>;
  write(fitId: number): Promise<WriteReport>;
  close(): Promise<void>;
}

/**
 * Reads the shop's summaries on `q` and fits both models (the holdout check first when the shop's
 * history allows one), then ranks every customer's predicted 12-month value into tiers.
 * `giveWay` is awaited between summary pages (on the app's thread: let other work in).
 */
export async function modelShop(
  q: HotQueries,
  plan: FitPlan,
  log: (line: string) => void,
  giveWay?: () => Promise<unknown>,
): Promise<{ modelled: Modelled; steps: ModelSteps; summaries: ShopSummaries }> {
  const { shopId, now, needed } = plan;
  const steps: ModelSteps = { summaries: 0, calibration: 0, fit: 0, predict: 0 };
  // These reads scan the shop's customers and orders: on the fit's connection (on SQLite its
  // thread's, whose page cache is small), not filling the app's reader's cache.
  const hidden = await customersWithHiddenOrders(q, shopId);
  if (hidden.ordered > 0 && hidden.hidden / hidden.ordered > MAX_HIDDEN_SHARE)
    return {
      modelled: {
        customers: 0,
        repeatCustomers: 0,
        cutoff: now,
        status: "insufficient",
        message: hiddenOrdersMessage(hidden.hidden, hidden.ordered),
        calibration: null,
      },
      steps,
      summaries: { ids: new Int32Array(0), all: emptyColumns(0), ago: emptyAgo(0, now), calibration: null },
    };
  const firstDay = await firstPurchaseDay(q, shopId, now);
  const holdoutDays =
    plan.holdoutDays !== undefined
      ? plan.holdoutDays
      : firstDay === null
        ? null
        : holdoutDaysFor(Math.floor(now.getTime() / DAY_MS) - firstDay);
  const split = holdoutDays ? holdoutSplit(now, holdoutDays) : null;
  const cutoff = split ? new Date(split.cutDay * DAY_MS) : now;
  let t = performance.now();
  const summaries = await readSummaries(q, shopId, now, { split, onPage: giveWay });
  steps.summaries = performance.now() - t;
  const customers = summaries.all.length;
  const repeat = repeatCustomers(summaries.all);
  log(
    `summaries: ${customers.toLocaleString("en")} customers with orders, ${repeat.toLocaleString("en")} with repeat orders (${Math.round(steps.summaries)} ms)`,
  );
  const counts = { customers, repeatCustomers: repeat, cutoff };
  if (repeat < needed) {
    summaries.calibration = null;
    return {
      modelled: {
        ...counts,
        status: "insufficient",
        message: notEnoughHistory(repeat, needed),
        calibration: null,
      },
      steps,
      summaries,
    };
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
    summaries.calibration = null;
    return {
      modelled: {
        ...counts,
        status: "failed",
        message: `the fit failed: ${(error as Error).message}`,
        calibration,
      },
      steps,
      summaries,
    };
  }

  // Tiers rank the whole shop: every predicted 12-month value first, then the rows.
  t = performance.now();
  let values: Float64Array | null = new Float64Array(customers);
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
  values = null;
  steps.predict = performance.now() - t;
  if (notFinite) notes.push(`${notFinite} customers' predictions were not finite numbers and were left out`);
  return {
    modelled: { ...counts, status: "ready", models, logLikelihood, calibration, tiers, notes },
    steps,
    summaries,
  };
}

/** Gives the event loop a turn (other work on this thread runs). */
const giveWay = () => new Promise((resolve) => setImmediate(resolve));

/** The fit on this thread: the app's reader for the summaries, the app's writer for the rows. */
export function localRunner(db: PrismaClient, chunk?: number): FitRunner {
  let held: { summaries: ShopSummaries; plan: FitPlan; modelled: Modelled } | null = null;
  return {
    async model(plan, log) {
      // Give way between pages: on SQLite the fit shares its thread with the app.
      const { modelled, steps, summaries } = await modelShop(hotFor(db, "read"), plan, log, giveWay);
      held = { summaries, plan, modelled };
      return { modelled, steps };
    },
    async write(fitId) {
      if (!held || held.modelled.status !== "ready") throw new Error("nothing fitted to write");
      const { summaries, plan, modelled } = held;
      return writePredictions(
        db,
        plan.shopId,
        fitId,
        modelled.models,
        modelled.tiers,
        summaries,
        plan.now,
        chunk,
      );
    },
    async close() {
      held = null;
    },
  };
}

/**
 * Every customer's predictions from this fit, in short transactions (each holds the writer only
 * briefly), then the rows of customers the fit no longer covers (no order left, deleted) go.
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
): Promise<WriteReport> {
  const hot = hotFor(db, "apply");
  const n = summaries.all.length;
  const report: WriteReport = { written: 0, chunks: 0, longestHoldMs: 0 };
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
    await hot.transaction(async (tx) => {
      const t = performance.now();
      await insertMany(tx, "CustomerPrediction", PREDICTION_COLUMNS, rows, UPSERT_PREDICTION);
      report.longestHoldMs = Math.max(report.longestHoldMs, performance.now() - t);
    });
    report.written += rows.length;
    report.chunks++;
    // Give way to the app between chunks (SQLite: the same thread and writer).
    await giveWay();
  }
  await hot.run(`DELETE FROM "CustomerPrediction" WHERE "shopId" = ? AND "fitId" <> ?`, [shopId, fitId]);
  return report;
}

/**
 * A customer's prediction row as the app's SQLite connection binds it (db-hot.server.ts: a Date as
 * integer milliseconds), or null when its figures are not finite numbers: the fit thread's writer.
 */
export function sqlitePredictionRow(
  models: FittedModels,
  summaries: ShopSummaries,
  i: number,
  shopId: number,
  fitId: number,
  tiers: TierThresholds,
  now: Date,
): unknown[] | null {
  const v = predictCustomerWithFall(
    models,
    summaryAt(summaries.all, i),
    agoAt(summaries.all, summaries.ago, i),
  );
  if (!finite(v)) return null;
  const row = predictionRow(summaries.ids[i], shopId, fitId, v, tiers, now);
  for (let k = 0; k < row.length; k++) if (row[k] instanceof Date) row[k] = (row[k] as Date).getTime();
  return row;
}

/** One customer's upsert (the fit thread prepares it once and runs it per row). */
export const UPSERT_ONE_PREDICTION = `INSERT INTO "CustomerPrediction" (${PREDICTION_COLUMNS.map((c) => `"${c}"`).join(", ")}) VALUES (${PREDICTION_COLUMNS.map(() => "?").join(", ")})${UPSERT_PREDICTION}`;

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
