/**
 * `npm run slice -- predict fit|show --shop DOMAIN`: fit a shop's predictive models now, or show
 * its latest fit (status and why, parameters, log-likelihood, the holdout check, the value tiers).
 */
import prisma from "../db.server";
import { formatMoney } from "../engine/money";
import { CliError } from "../segments/cli.server";
import { currentFit, latestFit, type StoredFit } from "./fit.server";
import { refit } from "./schedule.server";

const n = (v: number) => v.toLocaleString("en");
const g = (v: number) => Number(v.toPrecision(4)).toString();

function describeFit(fit: StoredFit, currency: string, predictions: number): string[] {
  const lines = [
    `fit #${fit.id}, ${fit.fittedAt.toISOString()}: ${fit.status} (${(fit.durationMs / 1000).toFixed(1)} s)`,
  ];
  if (fit.message) lines.push(`  ${fit.message}`);
  lines.push(`  customers with orders ${n(fit.customers)}, with repeat orders ${n(fit.repeatCustomers)}`);
  if (fit.models) {
    const { bgnbd: b, gammaGamma: m } = fit.models;
    lines.push(
      `  BG/NBD: r ${g(b.r)}, alpha ${g(b.alpha)}, a ${g(b.a)}, b ${g(b.b)}; log-likelihood ${fit.logLikelihood?.toFixed(1)}`,
      `  Gamma-Gamma: p ${g(m.p)}, q ${g(m.q)}, gamma ${g(m.gamma)}`,
    );
  }
  if (fit.tiers)
    lines.push(
      `  predicted 12-month value: top 10% from ${formatMoney(Math.round(fit.tiers.top10), currency)}, top 25% from ${formatMoney(Math.round(fit.tiers.top25), currency)}, top 50% from ${formatMoney(Math.round(fit.tiers.top50), currency)}`,
    );
  const c = fit.calibration;
  if (c) {
    const error =
      c.error === null
        ? "no repeat orders to compare"
        : `${c.error >= 0 ? "+" : ""}${(c.error * 100).toFixed(1)}%`;
    lines.push(
      `  holdout check: fitted on orders before ${c.cutoff.slice(0, 10)}, the ${c.holdoutDays} days after: predicted ${n(Math.round(c.predicted))} repeat orders of ${n(c.customers)} customers, actual ${n(c.actual)} (${error})`,
      `    repeat orders before  customers  predicted per customer  actual per customer`,
      ...c.byFrequency.map(
        (b) =>
          `    ${b.x.padEnd(20)}  ${n(b.customers).padStart(9)}  ${b.predicted.toFixed(3).padStart(22)}  ${b.actual.toFixed(3).padStart(19)}`,
      ),
    );
  }
  if (fit.status === "ready") lines.push(`  predictions held: ${n(predictions)} customers`);
  return lines;
}

export async function predictCommand(
  command: "fit" | "show",
  options: { shop: string; now: Date },
  out: (line: string) => unknown,
): Promise<number> {
  const shop = await prisma.shop.findUnique({
    where: { domain: options.shop },
    select: { id: true, currency: true },
  });
  if (!shop) throw new CliError(`no shop ${options.shop} in this database`);
  if (command === "fit") {
    const result = await refit(prisma, shop.id, options.now, { log: (line) => out(line) });
    for (const line of describeFit(result.fit, shop.currency, result.predictions)) out(line);
    if (result.recomputed.length)
      out(`segments recomputed with the new predictions: ${result.recomputed.join(", ")}`);
    return result.fit.status === "failed" ? 1 : 0;
  }
  const latest = await latestFit(prisma, shop.id);
  if (!latest) {
    out(`no fit yet for ${options.shop}: run npm run slice -- predict fit --shop ${options.shop}`);
    return 0;
  }
  const predictions = await prisma.customerPrediction.count({ where: { shopId: shop.id } });
  for (const line of describeFit(latest, shop.currency, predictions)) out(line);
  const inUse = latest.status === "ready" ? latest : await currentFit(prisma, shop.id);
  if (inUse && inUse.id !== latest.id)
    out(`the predictions in use are still fit #${inUse.id}'s, of ${inUse.fittedAt.toISOString()}`);
  else if (!inUse) out("no predictions yet: no fit has been ready");
  return 0;
}
