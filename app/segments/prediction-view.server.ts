/**
 * What a segment page shows of the shop's predictions (issue 17, items 3 and 4), for a segment
 * whose rule reads a "Predicted" field: the fit in use (its parameters, customers used,
 * log-likelihood, date), its holdout check (the calibration chart: expected against actual repeat
 * orders after the cut-off, by repeat purchases before it), why no fit is ready when none is
 * (PredictionFit.message), and each listed member's predicted figures, always as expectations.
 */
import type { PrismaClient } from "@prisma/client";
import { fieldsOf } from "../engine/fields-of";
import { isPredictedField, predictionNote } from "../engine/predicted";
import type { BgNbdParams, Calibration, GammaGammaParams } from "../engine/predict/types";
import type { ShopFormat } from "../engine/format";
import type { Rule } from "../engine/rules";
import { fitFactsOf } from "./prediction-facts.server";

export interface FitView {
  status: string;
  message: string | null;
  fittedAt: string;
  customers: number;
  repeatCustomers: number;
  logLikelihood: number | null;
  bgnbd: BgNbdParams | null;
  gammaGamma: GammaGammaParams | null;
}

export interface PredictionView {
  /** The fit the predictions come from: the latest ready one; null when none is. */
  inUse: FitView | null;
  /** The latest fit, when it is not the one in use (it failed, or had too little history). */
  latest: FitView | null;
  calibration: Calibration | null;
  /** "an expectation, not a promise: model fitted …; on the shop's last 90 days …". */
  note: string | null;
  /** Members' predictions, by Shopify id (those with one). */
  members: Record<string, { value12m: number; probabilityActive: number; orders30: number }>;
}

function json<T>(text: string | null): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

type FitRow = Awaited<ReturnType<PrismaClient["predictionFit"]["findFirst"]>>;

function viewOf(fit: NonNullable<FitRow>): FitView {
  return {
    status: fit.status,
    message: fit.message,
    fittedAt: fit.fittedAt.toISOString(),
    customers: fit.customers,
    repeatCustomers: fit.repeatCustomers,
    logLikelihood: fit.logLikelihood,
    bgnbd: json<BgNbdParams>(fit.bgnbd),
    gammaGamma: json<GammaGammaParams>(fit.gammaGamma),
  };
}

/** Whether a rule (its referenced segments included) reads a predicted field. */
export function readsPredictions(rule: Rule, resolve?: (handle: string) => Rule | null): boolean {
  return [...fieldsOf(rule, resolve)].some(isPredictedField);
}

export async function predictionView(
  db: PrismaClient,
  shopId: number,
  memberIds: string[],
  format: ShopFormat,
): Promise<PredictionView> {
  const [latest, inUse] = await Promise.all([
    db.predictionFit.findFirst({ where: { shopId }, orderBy: [{ fittedAt: "desc" }, { id: "desc" }] }),
    db.predictionFit.findFirst({
      where: { shopId, status: "ready" },
      orderBy: [{ fittedAt: "desc" }, { id: "desc" }],
    }),
  ]);
  const people = memberIds.length
    ? await db.customer.findMany({
        where: { shopId, shopifyId: { in: memberIds } },
        select: { id: true, shopifyId: true },
      })
    : [];
  const shopifyIdOf = new Map(people.map((c) => [c.id, c.shopifyId]));
  const rows = people.length
    ? await db.customerPrediction.findMany({
        where: { shopId, customerId: { in: [...shopifyIdOf.keys()] } },
        select: { customerId: true, value12m: true, probabilityActive: true, orders30: true },
      })
    : [];
  const members: PredictionView["members"] = {};
  for (const r of rows) {
    const id = shopifyIdOf.get(r.customerId);
    if (id)
      members[id] = { value12m: r.value12m, probabilityActive: r.probabilityActive, orders30: r.orders30 };
  }
  return {
    inUse: inUse ? viewOf(inUse) : null,
    latest: latest && latest.id !== inUse?.id ? viewOf(latest) : null,
    calibration: inUse ? json<Calibration>(inUse.calibration) : null,
    note: inUse ? predictionNote(fitFactsOf(inUse), format) : null,
    members,
  };
}
