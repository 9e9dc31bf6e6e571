/**
 * The Gamma-Gamma model of spend per order (Fader and Hardie, "The Gamma-Gamma Model of Monetary
 * Value", 2013; Fader, Hardie and Lee, "RFM and CLV", JMR 2005):
 * - a customer's orders are worth z ~ Gamma(p, ν) each (shape p, rate ν), independently;
 * - ν ~ Gamma(q, γ) across customers (shape q, rate γ), independent of the purchase process.
 * The mean m of a customer's x repeat orders then has the likelihood (the note's eq. 1)
 *   f(m | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m^(px−1) x^(px) / (γ + m x)^(px+q)
 * and the expected spend per order given (x, m) is (the note's eq. 5)
 *   E[Z | p, q, γ, x, m] = p (γ + m x) / (p x + q − 1)
 *     = (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · m,
 * a weighted mean of the population mean pγ/(q−1) and the customer's own mean. The population mean
 * exists only for q > 1, so the fit keeps q in (1, 1e8].
 *
 * The model is fitted on customers with a repeat order (x > 0) and a positive mean (net values can
 * be zero or negative after refunds; those customers are left out of the fit).
 */
import { maximize, standardErrorsFromGradient } from "./optimize";
import { digamma, logGamma } from "./special";
import type { Fit, GammaGammaParams, SummaryColumns } from "./types";

function checkParams(g: GammaGammaParams): void {
  for (const key of ["p", "q", "gamma"] as const) {
    if (!(g[key] > 0) || !Number.isFinite(g[key])) {
      throw new RangeError(`Gamma-Gamma parameter ${key} must be a positive finite number, got ${g[key]}`);
    }
  }
}

/** One customer's log-likelihood of the mean `mean` of `x` > 0 orders (mean > 0). */
export function gammaGammaLogLikelihood(g: GammaGammaParams, x: number, mean: number): number {
  checkParams(g);
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`Gamma-Gamma: x must be > 0, got ${x}`);
  if (!(mean > 0) || !Number.isFinite(mean)) {
    throw new RangeError(`Gamma-Gamma: the mean spend must be > 0, got ${mean}`);
  }
  const { p, q, gamma } = g;
  const px = p * x;
  return (
    logGamma(px + q) -
    logGamma(px) -
    logGamma(q) +
    q * Math.log(gamma) +
    (px - 1) * Math.log(mean) +
    px * Math.log(x) -
    (px + q) * Math.log(gamma + mean * x)
  );
}

/**
 * Expected spend per order (minor units) for a customer with x repeat orders of mean `mean`; with
 * x = 0 (nothing seen yet) the population mean pγ/(q−1). A non-positive mean (refunds) counts as 0,
 * so the estimate is pulled towards the population. Infinity only if q ≤ 1 (no finite mean).
 */
export function expectedSpendPerOrder(g: GammaGammaParams, x: number, mean: number): number {
  checkParams(g);
  if (!(x >= 0) || !Number.isFinite(x)) throw new RangeError(`Gamma-Gamma: x must be ≥ 0, got ${x}`);
  if (!Number.isFinite(mean)) throw new RangeError(`Gamma-Gamma: the mean spend must be finite, got ${mean}`);
  const { p, q, gamma } = g;
  const denominator = p * x + q - 1;
  if (denominator <= 0) return Infinity;
  return (p * (gamma + Math.max(0, mean) * x)) / denominator;
}

function eligible(x: number, mean: number): boolean {
  return x > 0 && mean > 0 && Number.isFinite(x) && Number.isFinite(mean);
}

const MAX_TABLE_X = 1_000_000;
const BOUND = Math.log(1e8);

/**
 * Maximum-likelihood fit of (p, q, γ) on the customers with x > 0 and mean > 0, by BFGS on
 * (log p, log(q − 1), log γ). Throws when fewer than two customers qualify.
 * Memory: the columns plus a histogram of x.
 */
export function fitGammaGamma(data: SummaryColumns): Fit<GammaGammaParams> {
  const n = data.length;
  if (data.x.length < n || data.mean.length < n) {
    throw new RangeError(`Gamma-Gamma: the summary columns are shorter than length (${n})`);
  }
  // One pass: the histogram of x, and the sums the likelihood needs that do not change with (p, q, γ).
  let customers = 0;
  let maxX = 0;
  let sumMean = 0;
  let sumXLogXMean = 0; // Σ x (log m + log x)
  let sumLogMean = 0; // Σ log m
  for (let i = 0; i < n; i++) {
    const x = data.x[i];
    const m = data.mean[i];
    if (!eligible(x, m)) continue;
    customers++;
    sumMean += m;
    sumLogMean += Math.log(m);
    sumXLogXMean += x * (Math.log(m) + Math.log(x));
    if (x === Math.floor(x) && x <= MAX_TABLE_X && x > maxX) maxX = x;
  }
  if (customers < 2) {
    throw new RangeError(
      `fitGammaGamma: ${customers} customer(s) with a repeat order and a positive mean spend; at least 2 needed`,
    );
  }
  const counts = new Float64Array(maxX + 1);
  for (let i = 0; i < n; i++) {
    const x = data.x[i];
    if (eligible(x, data.mean[i]) && x === Math.floor(x) && x <= MAX_TABLE_X) counts[x]++;
  }

  const sum = (g: GammaGammaParams, gradient?: Float64Array): number => {
    const { p, q, gamma } = g;
    const logGammaRate = Math.log(gamma);
    const lgQ = logGamma(q);
    const psiQ = gradient ? digamma(q) : 0;
    let total = customers * (q * logGammaRate - lgQ) + p * sumXLogXMean - sumLogMean;
    let gP = sumXLogXMean;
    let gQ = customers * (logGammaRate - psiQ);
    let gGamma = (customers * q) / gamma;
    const xTerm = (x: number) => {
      const px = p * x;
      total += logGamma(px + q) - logGamma(px);
      if (gradient) {
        const psiPxQ = digamma(px + q);
        gP += x * (psiPxQ - digamma(px));
        gQ += psiPxQ;
      }
    };
    for (let k = 1; k <= maxX; k++) {
      const c = counts[k];
      if (c === 0) continue;
      const px = p * k;
      total += c * (logGamma(px + q) - logGamma(px));
      if (gradient) {
        const psiPxQ = digamma(px + q);
        gP += c * k * (psiPxQ - digamma(px));
        gQ += c * psiPxQ;
      }
    }
    const { x: xs, mean: means } = data;
    for (let i = 0; i < n; i++) {
      const x = xs[i];
      const m = means[i];
      if (!eligible(x, m)) continue;
      if (!(x === Math.floor(x) && x <= MAX_TABLE_X)) xTerm(x);
      const px = p * x;
      const level = gamma + m * x;
      const logLevel = Math.log(level);
      total -= (px + q) * logLevel;
      if (gradient) {
        gP -= x * logLevel;
        gQ -= logLevel;
        gGamma -= (px + q) / level;
      }
    }
    if (gradient) {
      gradient[0] = gP;
      gradient[1] = gQ;
      gradient[2] = gGamma;
    }
    return total;
  };

  const natural = new Float64Array(3);
  const toParams = (theta: ArrayLike<number>): GammaGammaParams => ({
    p: Math.exp(theta[0]),
    q: 1 + Math.exp(theta[1]),
    gamma: Math.exp(theta[2]),
  });
  // Start: p = 1, q = 3 and γ so that the population mean pγ/(q−1) is the observed mean.
  const start = [0, Math.log(2), Math.log(Math.max(1e-6, (2 * sumMean) / customers))];
  const result = maximize(
    (theta, gradient) => {
      const g = toParams(theta);
      const value = sum(g, natural);
      gradient[0] = natural[0] * g.p;
      gradient[1] = natural[1] * (g.q - 1);
      gradient[2] = natural[2] * g.gamma;
      return value;
    },
    start,
    { lower: [-BOUND, -BOUND, -BOUND], upper: [BOUND, BOUND, BOUND], maxIterations: 300 },
  );
  const params = toParams(result.theta);
  const errors = standardErrorsFromGradient(
    (point, gradient) => {
      sum({ p: point[0], q: point[1], gamma: point[2] }, gradient);
    },
    [params.p, params.q, params.gamma],
  );
  return {
    params,
    logLikelihood: result.value,
    customers,
    iterations: result.iterations,
    converged: result.converged,
    standardErrors: errors ? { p: errors[0], q: errors[1], gamma: errors[2] } : null,
  };
}
