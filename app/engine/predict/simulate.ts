/**
 * Draws customers from known BG/NBD and Gamma-Gamma parameters, seeded, for the models' tests and
 * the fitting bench. Each customer:
 * - makes a first purchase at a moment uniform in the calibration period [0, days);
 * - has λ ~ Gamma(r, α) and p ~ Beta(a, b); while active buys again after Exponential(λ) gaps, and
 *   after each repeat purchase drops out with probability p;
 * - has ν ~ Gamma(q, γ) and spends Gamma(p, ν) on each repeat purchase.
 * The calibration summary is taken at `days` (T = days − first purchase, continuous time); the
 * holdout counts each customer's repeat purchases in (days, days + holdoutDays].
 */
import type { FittedModels, SummaryColumns } from "./types";

/** xoshiro128** seeded by splitmix32: uniform doubles in (0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  const splitmix = () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = splitmix();
  let s1 = splitmix();
  let s2 = splitmix();
  let s3 = splitmix();
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return (result + 0.5) / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Standard normal by Box–Muller (one of the pair). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, 1) by Marsaglia and Tsang (2000), with the shape < 1 boost. */
export function gammaVariate(random: () => number, shape: number): number {
  if (shape < 1) return gammaVariate(random, shape + 1) * Math.pow(random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function betaVariate(random: () => number, a: number, b: number): number {
  const x = gammaVariate(random, a);
  const y = gammaVariate(random, b);
  return x / (x + y);
}

export function simulateCustomers(
  m: FittedModels,
  options: { customers: number; days: number; seed: number; holdoutDays?: number },
): { calibration: SummaryColumns; holdoutRepeatOrders: Float64Array } {
  const { customers, days, seed } = options;
  const holdoutDays = options.holdoutDays ?? 0;
  if (!(Number.isInteger(customers) && customers >= 0)) {
    throw new RangeError(`simulateCustomers: customers must be a whole number ≥ 0, got ${customers}`);
  }
  if (!(days > 0) || !Number.isFinite(days)) {
    throw new RangeError(`simulateCustomers: days must be a positive number, got ${days}`);
  }
  if (!(holdoutDays >= 0) || !Number.isFinite(holdoutDays)) {
    throw new RangeError(`simulateCustomers: holdoutDays must be a number ≥ 0, got ${holdoutDays}`);
  }
  const { r, alpha, a, b } = m.bgnbd;
  const { p, q, gamma } = m.gammaGamma;
  const random = seededRandom(seed);
  const calibration: SummaryColumns = {
    length: customers,
    x: new Float64Array(customers),
    tx: new Float64Array(customers),
    T: new Float64Array(customers),
    mean: new Float64Array(customers),
  };
  const holdoutRepeatOrders = new Float64Array(customers);
  const end = days + holdoutDays;
  for (let i = 0; i < customers; i++) {
    const first = random() * days;
    const lambda = gammaVariate(random, r) / alpha;
    const dropout = betaVariate(random, a, b);
    const nu = gammaVariate(random, q) / gamma;
    let t = first;
    let x = 0;
    let last = first;
    let spend = 0;
    let holdout = 0;
    for (;;) {
      t += -Math.log(random()) / lambda;
      if (t > end) break;
      if (t <= days) {
        x++;
        last = t;
        spend += gammaVariate(random, p) / nu;
      } else {
        holdout++;
      }
      if (random() < dropout) break;
    }
    calibration.x[i] = x;
    calibration.tx[i] = last - first;
    calibration.T[i] = days - first;
    calibration.mean[i] = x > 0 ? spend / x : 0;
    holdoutRepeatOrders[i] = holdout;
  }
  return { calibration, holdoutRepeatOrders };
}
