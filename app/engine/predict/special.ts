/**
 * Special functions for the predictive models: log-gamma, digamma, log-beta and the Gauss
 * hypergeometric function 2F1. Pure and dependency-free; accurate to about 1e-14 (absolute for the
 * logarithms) over the positive arguments the models use.
 */

const LOG_2PI_HALF = 0.5 * Math.log(2 * Math.PI);

/**
 * log Γ(x) for x > 0 (and by reflection for non-integer x < 0.5). Shifts the argument up to 15 and
 * uses Stirling's series there (terms to x^-13: error below 1e-16 for x ≥ 15).
 */
export function logGamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0.5) {
    if (x === Math.floor(x)) return Infinity;
    // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  if (x === Infinity) return Infinity;
  let shift = 0;
  if (x < 15) {
    let product = 1;
    while (x < 15) {
      product *= x;
      x += 1;
    }
    shift = Math.log(product);
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  // Stirling: B2k / (2k (2k − 1) x^(2k−1)).
  const series =
    inv *
    (1 / 12 +
      inv2 *
        (-1 / 360 +
          inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 / 156))))));
  return (x - 0.5) * Math.log(x) - x + LOG_2PI_HALF + series - shift;
}

/** ψ(x) = d/dx log Γ(x), for x > 0. */
export function digamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0 && x === Math.floor(x)) return NaN;
  if (x < 0) return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  let result = 0;
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  const inv2 = 1 / (x * x);
  // ψ(x) ~ log x − 1/(2x) − Σ B2k / (2k x^2k).
  const series =
    inv2 *
    (1 / 12 -
      inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - (691 * inv2) / 32760)))));
  return result + Math.log(x) - 0.5 / x - series;
}

/** log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

const SERIES_EPSILON = 1e-16;
const SERIES_MAX_TERMS = 10_000_000;

/**
 * The Gauss hypergeometric function 2F1(a, b; c; z) for 0 ≤ z < 1 and c > 0, by its power series.
 * When c − a − b < 0 the function grows like (1 − z)^(c−a−b) as z → 1 and the plain series
 * converges slowly and loses digits; Euler's transformation
 *   2F1(a, b; c; z) = (1 − z)^(c−a−b) 2F1(c − a, c − b; c; z)
 * turns it into a series whose terms decay like n^(a+b−c−1) zⁿ, summed instead.
 * The sum stops when the remaining tail (bounded by the geometric series of the current term ratio)
 * is below 1e-16 of the sum.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1: z must be in [0, 1), got ${z}`);
  if (!(c > 0)) throw new RangeError(`hyp2f1: c must be positive, got ${c}`);
  if (z === 0) return 1;
  if (c - a - b < 0) {
    return Math.exp((c - a - b) * Math.log1p(-z)) * hypergeometricSeries(c - a, c - b, c, z);
  }
  return hypergeometricSeries(a, b, c, z);
}

/** Σ_{n≥0} (a)ₙ (b)ₙ / ((c)ₙ n!) zⁿ, summed until the tail is negligible. */
function hypergeometricSeries(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < SERIES_MAX_TERMS; n++) {
    // term(n+1)/term(n); it tends to z, monotonically for large n, so the larger of it and z bounds
    // the tail as a geometric series.
    const ratio = (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    const bound = Math.max(Math.abs(ratio), z);
    if (
      term === 0 ||
      (bound < 1 && (Math.abs(term) * bound) / (1 - bound) <= SERIES_EPSILON * Math.abs(sum))
    ) {
      return sum;
    }
    term *= ratio;
    sum += term;
  }
  throw new RangeError(`hyp2f1: the series for (${a}, ${b}; ${c}; ${z}) did not converge`);
}
