/**
 * The BG/NBD model of repeat purchasing (Fader, Hardie and Lee, "Counting Your Customers the Easy
 * Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 2005):
 * - while active, a customer buys at a Poisson rate λ, λ ~ Gamma(r, α) across customers (shape r,
 *   rate α, in days);
 * - after each repeat purchase a customer drops out with probability p, p ~ Beta(a, b).
 * A customer's summary is (x, tx, T) as in types.ts: x repeat purchases, the last tx days after the
 * first, observed for T days since the first.
 *
 * Likelihood (FHL 2005, eq. 6, in logs):
 *   L = B(a, b+x)/B(a, b) · Γ(r+x) αʳ / (Γ(r) (α+T)^(r+x))
 *     + [x > 0] B(a+1, b+x−1)/B(a, b) · Γ(r+x) αʳ / (Γ(r) (α+tx)^(r+x))
 * and B(a+1, b+x−1)/B(a, b+x) = a/(b+x−1), so log L = A₁ + A₂ + log(e^A₃ + [x>0] e^A₄) with
 *   A₁ = log Γ(r+x) − log Γ(r) + r log α,  A₂ = log Γ(a+b) + log Γ(b+x) − log Γ(b) − log Γ(a+b+x),
 *   A₃ = −(r+x) log(α+T),                  A₄ = log a − log(b+x−1) − (r+x) log(α+tx).
 */
import { maximize, standardErrorsFromGradient } from "./optimize";
import { digamma, logGamma } from "./special";
import type { BgNbdParams, Fit, Summary, SummaryColumns } from "./types";

function checkParams(p: BgNbdParams): void {
  for (const key of ["r", "alpha", "a", "b"] as const) {
    if (!(p[key] > 0) || !Number.isFinite(p[key])) {
      throw new RangeError(`BG/NBD parameter ${key} must be a positive finite number, got ${p[key]}`);
    }
  }
}

/** Throws a RangeError naming what is wrong with a summary (where = "customer 12" etc.). */
export function checkSummary(s: Summary, where = "summary"): void {
  const { x, tx, T } = s;
  if (!(x >= 0) || !Number.isFinite(x))
    throw new RangeError(`${where}: x must be a finite number ≥ 0, got ${x}`);
  if (!(tx >= 0) || !Number.isFinite(tx)) {
    throw new RangeError(`${where}: tx must be a finite number ≥ 0, got ${tx}`);
  }
  if (!(T >= tx) || !Number.isFinite(T)) {
    throw new RangeError(`${where}: T must be a finite number ≥ tx (${tx}), got ${T}`);
  }
}

/** log of the (unnormalised) weight of "dropped out after the last purchase" against "still active". */
function logDeadOverAlive(p: BgNbdParams, s: Summary): number {
  return Math.log(p.a) - Math.log(p.b + s.x - 1) + (p.r + s.x) * Math.log1p((s.T - s.tx) / (p.alpha + s.tx));
}

/** One customer's log-likelihood. */
export function bgnbdLogLikelihood(p: BgNbdParams, s: Summary): number {
  checkParams(p);
  checkSummary(s);
  const { r, alpha, a, b } = p;
  const { x, tx, T } = s;
  const A1 = logGamma(r + x) - logGamma(r) + r * Math.log(alpha);
  const A2 = logGamma(a + b) + logGamma(b + x) - logGamma(b) - logGamma(a + b + x);
  const A3 = -(r + x) * Math.log(alpha + T);
  if (x === 0) return A1 + A2 + A3;
  const A4 = Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx);
  return A1 + A2 + logAddExp(A3, A4);
}

function logAddExp(u: number, v: number): number {
  return u >= v ? u + Math.log1p(Math.exp(v - u)) : v + Math.log1p(Math.exp(u - v));
}

/**
 * P(still active | x, tx, T) = 1 / (1 + [x > 0] a/(b+x−1) · ((α+T)/(α+tx))^(r+x))
 * (Fader, Hardie and Lee, "Computing P(alive) Using the BG/NBD Model", 2008). 1 when x = 0: the
 * model lets a customer drop out only after a repeat purchase.
 */
export function probabilityActive(p: BgNbdParams, s: Summary): number {
  checkParams(p);
  checkSummary(s);
  if (s.x === 0) return 1;
  const l = logDeadOverAlive(p, s);
  if (l > 0) {
    const e = Math.exp(-l);
    return e / (1 + e);
  }
  return 1 / (1 + Math.exp(l));
}

/**
 * E[orders in (T, T+days] | x, tx, T] (FHL 2005, eq. 10):
 *   (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)] · P(active),
 *   z = t/(α+T+t).
 * Computed stably: Euler's transformation gives ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z) =
 * (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z), whose series has a factor (a−1) in every term after
 * the first; dividing it out analytically leaves
 *   C·(1 − (1−z)^(a−1))/(a−1) − (1−z)^(a−1) Σₙ≥₁ vₙ,   C = a+b+x−1,
 *   v₁ = (a+b−1−r) z, vₙ₊₁ = vₙ (a+b−1−r+n)(a−1+n) z / ((C+n)(n+1)),
 * finite at a = 1 and at C = 0, with no power of (r+x) to overflow for huge x. The terms decay like
 * n^(a−2−r−x) zⁿ. Where that series is slow or cancels, a quadrature over p gives the same value.
 */
export function expectedOrders(p: BgNbdParams, s: Summary, days: number): number {
  checkParams(p);
  checkSummary(s);
  if (!(days >= 0) || !Number.isFinite(days)) {
    throw new RangeError(`expectedOrders: days must be a finite number ≥ 0, got ${days}`);
  }
  if (days === 0) return 0;
  return expectedOrdersIfActive(p, s, days) * probabilityActive(p, s);
}

/** E[X(t)]: expected repeat orders in a new customer's first `days` days (FHL 2005, eq. 9). */
export function expectedOrdersNew(p: BgNbdParams, days: number): number {
  return expectedOrders(p, { x: 0, tx: 0, T: 0 }, days);
}

const SERIES_EPSILON = 1e-16;
const SERIES_MAX_TERMS = 20_000;

/**
 * E[orders in (T, T+t] | still active at T, x, T]: expectedOrders without the factor P(active), for
 * callers that compute several horizons of one customer (arguments not checked: check them first).
 */
export function expectedOrdersIfActive(p: BgNbdParams, s: Summary, t: number): number {
  const { r, alpha, a, b } = p;
  const { x, T } = s;
  const scale = alpha + T;
  if (scale < 1e-3 * t) return expectedOrdersIfActiveByQuadrature(p, s, t);
  const z = t / (scale + t);
  const logOneMinusZ = -Math.log1p(t / scale); // log((α+T)/(α+T+t))
  const u = (a - 1) * logOneMinusZ;
  const powerA1 = Math.exp(u); // (1−z)^(a−1)
  const E1 = -logOneMinusZ * (u === 0 ? 1 : Math.expm1(u) / u); // (1 − (1−z)^(a−1))/(a−1)
  const C = a + b + x - 1;
  const A = a + b - 1 - r;
  let v = A * z;
  let sum = v;
  let largest = Math.abs(v);
  for (let n = 1; ; n++) {
    // v(n+1)/v(n); it tends to z, monotonically for large n, so the larger of it and z bounds the
    // tail as a geometric series.
    const ratio = (((A + n) * (a - 1 + n)) / ((C + n) * (n + 1))) * z;
    const bound = Math.max(Math.abs(ratio), z);
    if (v === 0 || (bound < 1 && (Math.abs(v) * bound) / (1 - bound) <= SERIES_EPSILON * Math.abs(sum)))
      break;
    if (n >= SERIES_MAX_TERMS) return expectedOrdersIfActiveByQuadrature(p, s, t);
    v *= ratio;
    sum += v;
    if (Math.abs(v) > largest) largest = Math.abs(v);
  }
  const value = C * E1 - powerA1 * sum;
  // Terms far larger than the result (a large a: they grow like e^(az) before (1−z)^(a−1) shrinks
  // them) would cancel away the digits: then integrate instead.
  if (!(value > 0) || Math.max(Math.abs(C * E1), powerA1 * largest) > 1e5 * value) {
    return expectedOrdersIfActiveByQuadrature(p, s, t);
  }
  return value;
}

/**
 * The same expectation where the series is slow or ill-conditioned: z = t/(α+T+t) within 1e-3 of 1
 * (a tiny α and a new customer), more than 20,000 terms, or terms that cancel (a large a). Given active at T, λ ~ Gamma(r+x, α+T) and
 * p ~ Beta(a, b+x), independent; a customer with (λ, p) makes (1 − e^(−λpt))/p purchases in t on
 * average, so
 *   E = ∫₀¹ (1 − (1 + p t/(α+T))^(−(r+x)))/p · Beta(p; a, b+x) dp,
 * summed by tanh-sinh (double exponential) quadrature, in logs for the Beta weight, with the step
 * halved until the sum settles to 1e-12.
 */
function expectedOrdersIfActiveByQuadrature(p: BgNbdParams, s: Summary, t: number): number {
  const { r, alpha, a, b } = p;
  const rx = r + s.x;
  const bx = b + s.x;
  const tau = t / (alpha + s.T);
  const logNorm = logGamma(a) + logGamma(bx) - logGamma(a + bx);
  // Far enough out, beyond the weight's peak (at w = ½ log(a/(b+x)) in w = ½ log(p/(1−p))), that
  // the weight p^a (1−p)^(b+x) times the largest g, (r+x)τ, is below e^−45.
  const logBound = 45 + Math.max(0, Math.log(rx * tau));
  const wMax = Math.abs(0.5 * Math.log(a / bx)) + logBound / (2 * Math.min(a, bx)) + 1;
  const vMax = Math.asinh((2 * wMax) / Math.PI);
  const at = (v: number): number => {
    const w = (Math.PI / 2) * Math.sinh(v);
    const logP = -log1pExp(-2 * w);
    const log1mP = -log1pExp(2 * w);
    const weight = Math.exp(a * logP + bx * log1mP - logNorm);
    if (weight === 0) return 0;
    const prob = Math.exp(logP);
    const g = prob === 0 ? rx * tau : -Math.expm1(-rx * Math.log1p(prob * tau)) / prob;
    return Math.PI * Math.cosh(v) * g * weight;
  };
  let h = 1 / 4;
  let sum = at(0);
  for (let v = h; v <= vMax; v += h) sum += at(v) + at(-v);
  let estimate = sum * h;
  for (let level = 0; level < 12; level++) {
    // Halve the step: add the midpoints.
    let added = 0;
    for (let v = h / 2; v <= vMax; v += h) added += at(v) + at(-v);
    sum += added;
    h /= 2;
    const next = sum * h;
    if (level >= 2 && Math.abs(next - estimate) <= 1e-12 * Math.abs(next)) return next;
    estimate = next;
  }
  return estimate;
}

/** log(1 + eᵘ) without overflow. */
function log1pExp(u: number): number {
  return u > 35 ? u : Math.log1p(Math.exp(u));
}

/** The data prepared once for many likelihood evaluations: repeat counts as a histogram. */
interface Prepared {
  data: SummaryColumns;
  /** counts[k] = customers with x = k, for integer k ≤ maxTableX; the rest are "irregular". */
  counts: Float64Array;
  maxX: number;
  customersWithRepeat: number;
}

const MAX_TABLE_X = 1_000_000;

function prepare(data: SummaryColumns): Prepared {
  const n = data.length;
  if (!(n >= 0) || data.x.length < n || data.tx.length < n || data.T.length < n) {
    throw new RangeError(`BG/NBD: the summary columns are shorter than length (${n})`);
  }
  let maxX = 0;
  let customersWithRepeat = 0;
  const row: Summary = { x: 0, tx: 0, T: 0 };
  for (let i = 0; i < n; i++) {
    row.x = data.x[i];
    row.tx = data.tx[i];
    row.T = data.T[i];
    checkSummary(row, `customer at index ${i}`);
    const k = row.x;
    if (k === Math.floor(k) && k <= MAX_TABLE_X && k > maxX) maxX = k;
    if (k > 0) customersWithRepeat++;
  }
  const counts = new Float64Array(maxX + 1);
  for (let i = 0; i < n; i++) {
    const k = data.x[i];
    if (k === Math.floor(k) && k <= MAX_TABLE_X) counts[k]++;
  }
  return { data, counts, maxX, customersWithRepeat };
}

/**
 * The log-likelihood summed over the data, and (when `gradient` is given) its gradient with respect
 * to (r, α, a, b):
 *   ∂/∂r = ψ(r+x) − ψ(r) + log α − (1−w) log(α+T) − w log(α+tx)
 *   ∂/∂α = r/α − (r+x) ((1−w)/(α+T) + w/(α+tx))
 *   ∂/∂a = ψ(a+b) − ψ(a+b+x) + w/a
 *   ∂/∂b = ψ(a+b) + ψ(b+x) − ψ(b) − ψ(a+b+x) − w/(b+x−1)
 * where w = e^A₄/(e^A₃ + e^A₄) (0 when x = 0). The terms in x alone are summed over the histogram of
 * x, so each customer costs a logarithm or two and an exponential.
 */
function sumLogLikelihood(prepared: Prepared, p: BgNbdParams, gradient?: Float64Array): number {
  const { r, alpha, a, b } = p;
  const { data, counts, maxX } = prepared;
  const n = data.length;
  const logAlpha = Math.log(alpha);
  const logA = Math.log(a);
  const lgR = logGamma(r);
  const lgB = logGamma(b);
  const lgAB = logGamma(a + b);
  const psiR = gradient ? digamma(r) : 0;
  const psiB = gradient ? digamma(b) : 0;
  const psiAB = gradient ? digamma(a + b) : 0;

  // Terms in x alone, over the histogram.
  let total = n * r * logAlpha;
  let gR = n * logAlpha;
  let gAlpha = (n * r) / alpha;
  let gA = 0;
  let gB = 0;
  const logB1 = new Float64Array(maxX + 1); // log(b + x − 1), x ≥ 1
  for (let k = 0; k <= maxX; k++) {
    if (k > 0) logB1[k] = Math.log(b + k - 1);
    const c = counts[k];
    if (c === 0) continue;
    total += c * (logGamma(r + k) - lgR + lgAB + logGamma(b + k) - lgB - logGamma(a + b + k));
    if (gradient) {
      const psiABx = digamma(a + b + k);
      gR += c * (digamma(r + k) - psiR);
      gA += c * (psiAB - psiABx);
      gB += c * (psiAB + digamma(b + k) - psiB - psiABx);
    }
  }

  const { x: xs, tx: txs, T: Ts } = data;
  for (let i = 0; i < n; i++) {
    const x = xs[i];
    const rx = r + x;
    const logT = Math.log(alpha + Ts[i]);
    if (!(x === Math.floor(x) && x <= MAX_TABLE_X)) {
      // Outside the histogram: its terms in x here.
      total += logGamma(rx) - lgR + lgAB + logGamma(b + x) - lgB - logGamma(a + b + x);
      if (gradient) {
        const psiABx = digamma(a + b + x);
        gR += digamma(rx) - psiR;
        gA += psiAB - psiABx;
        gB += psiAB + digamma(b + x) - psiB - psiABx;
      }
    }
    const A3 = -rx * logT;
    if (x === 0) {
      total += A3;
      if (gradient) {
        gR -= logT;
        gAlpha -= rx / (alpha + Ts[i]);
      }
      continue;
    }
    const logB1x = x <= maxX && x === Math.floor(x) ? logB1[x] : Math.log(b + x - 1);
    const logTx = Math.log(alpha + txs[i]);
    const A4 = logA - logB1x - rx * logTx;
    let w: number;
    if (A3 >= A4) {
      const e = Math.exp(A4 - A3);
      total += A3 + Math.log1p(e);
      w = e / (1 + e);
    } else {
      const e = Math.exp(A3 - A4);
      total += A4 + Math.log1p(e);
      w = 1 / (1 + e);
    }
    if (gradient) {
      gR -= (1 - w) * logT + w * logTx;
      gAlpha -= rx * ((1 - w) / (alpha + Ts[i]) + w / (alpha + txs[i]));
      gA += w / a;
      gB -= w / (b + x - 1);
    }
  }
  if (gradient) {
    gradient[0] = gR;
    gradient[1] = gAlpha;
    gradient[2] = gA;
    gradient[3] = gB;
  }
  return total;
}

/** The summed log-likelihood of many customers. */
export function bgnbdLogLikelihoodSum(p: BgNbdParams, data: SummaryColumns): number {
  checkParams(p);
  return sumLogLikelihood(prepare(data), p);
}

const BOUND = Math.log(1e8);

/**
 * Maximum-likelihood fit of (r, α, a, b), by BFGS on their logarithms within [1e-8, 1e8], from
 * `options.start` or from r = 1, α = r·ΣT/Σx (the mean purchase rate), a = 1, b = 1. Throws when
 * the data is empty or no customer has a repeat purchase (the model cannot be identified).
 * Memory: the columns plus a histogram of x.
 */
export function fitBgNbd(data: SummaryColumns, options?: { start?: BgNbdParams }): Fit<BgNbdParams> {
  const prepared = prepare(data);
  if (data.length === 0) throw new RangeError("fitBgNbd: no customers to fit");
  if (prepared.customersWithRepeat === 0) {
    throw new RangeError("fitBgNbd: no customer has a repeat purchase, so the model cannot be fitted");
  }
  let start = options?.start;
  if (start) {
    checkParams(start);
  } else {
    let sumX = 0;
    let sumT = 0;
    for (let i = 0; i < data.length; i++) {
      sumX += data.x[i];
      sumT += data.T[i];
    }
    start = { r: 1, alpha: Math.min(1e6, Math.max(1e-6, sumT / sumX)), a: 1, b: 1 };
  }
  const natural = new Float64Array(4);
  const toParams = (theta: ArrayLike<number>): BgNbdParams => ({
    r: Math.exp(theta[0]),
    alpha: Math.exp(theta[1]),
    a: Math.exp(theta[2]),
    b: Math.exp(theta[3]),
  });
  const result = maximize(
    (theta, gradient) => {
      const params = toParams(theta);
      const value = sumLogLikelihood(prepared, params, natural);
      // Chain rule for θ = log(parameter).
      gradient[0] = natural[0] * params.r;
      gradient[1] = natural[1] * params.alpha;
      gradient[2] = natural[2] * params.a;
      gradient[3] = natural[3] * params.b;
      return value;
    },
    [Math.log(start.r), Math.log(start.alpha), Math.log(start.a), Math.log(start.b)],
    { lower: [-BOUND, -BOUND, -BOUND, -BOUND], upper: [BOUND, BOUND, BOUND, BOUND], maxIterations: 300 },
  );
  const params = toParams(result.theta);
  const errors = standardErrorsFromGradient(
    (point, gradient) => {
      sumLogLikelihood(prepared, { r: point[0], alpha: point[1], a: point[2], b: point[3] }, gradient);
    },
    [params.r, params.alpha, params.a, params.b],
  );
  return {
    params,
    logLikelihood: result.value,
    customers: data.length,
    iterations: result.iterations,
    converged: result.converged,
    standardErrors: errors ? { r: errors[0], alpha: errors[1], a: errors[2], b: errors[3] } : null,
  };
}
