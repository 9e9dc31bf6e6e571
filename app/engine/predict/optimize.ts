/**
 * A small bounded maximiser for the models' likelihoods: BFGS (quasi-Newton with analytic
 * gradients) on a box, with a backtracking (Armijo) line search and projection onto the box. The
 * models call it on the logarithms of their positive parameters, so every step is a relative change
 * and the box keeps each parameter within [1e-6, 1e6]-like bounds.
 */

export interface Objective {
  /** The value at θ; writes the gradient ∂f/∂θ into `gradient`. Non-finite means "outside the model". */
  (theta: Float64Array, gradient: Float64Array): number;
}

export interface MaximizeOptions {
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  maxIterations?: number;
  /**
   * Stop when the predicted gain of a quasi-Newton step (½ gᵀHg) falls below this (in f's units;
   * at least 1e-13 of |f|, the precision of a sum over a million customers).
   */
  tolerance?: number;
}

export interface MaximizeResult {
  theta: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

const ARMIJO = 1e-4;
const MAX_STEP = 2;

export function maximize(f: Objective, start: ArrayLike<number>, options: MaximizeOptions): MaximizeResult {
  const n = start.length;
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-9;
  const lower = Float64Array.from(options.lower);
  const upper = Float64Array.from(options.upper);
  const clamp = (v: number, i: number) => Math.min(upper[i], Math.max(lower[i], v));

  const theta = Float64Array.from(start, (v, i) => clamp(v, i));
  const gradient = new Float64Array(n);
  let value = f(theta, gradient);
  if (!Number.isFinite(value)) {
    throw new RangeError(
      `maximize: the objective is not finite at the start (${Array.from(theta).join(", ")})`,
    );
  }
  // We minimise φ = −f: G = −gradient. H approximates the inverse Hessian of φ.
  const H = new Float64Array(n * n);
  let fresh = true;
  const resetH = (scale: number) => {
    H.fill(0);
    for (let i = 0; i < n; i++) H[i * n + i] = scale;
    fresh = true;
  };
  resetH(1);

  const direction = new Float64Array(n);
  const trial = new Float64Array(n);
  const trialGradient = new Float64Array(n);
  const s = new Float64Array(n);
  const y = new Float64Array(n);
  const Hy = new Float64Array(n);

  let converged = false;
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    // d = −H G = H gradient; components pinned at a bound and pushing outwards are frozen.
    let decrement = 0;
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let j = 0; j < n; j++) d += H[i * n + j] * gradient[j];
      direction[i] = d;
    }
    for (let i = 0; i < n; i++) {
      if ((theta[i] <= lower[i] && direction[i] < 0) || (theta[i] >= upper[i] && direction[i] > 0)) {
        direction[i] = 0;
      }
      decrement += direction[i] * gradient[i];
    }
    if (decrement <= 0) {
      if (!fresh) {
        resetH(1);
        iterations--;
        continue;
      }
      converged = true; // nothing left to gain inside the box
      break;
    }
    if (!fresh && decrement / 2 < Math.max(tolerance, 1e-13 * Math.abs(value))) {
      converged = true;
      break;
    }
    let longest = 0;
    for (let i = 0; i < n; i++) longest = Math.max(longest, Math.abs(direction[i]));
    let step = longest > MAX_STEP ? MAX_STEP / longest : 1;

    let accepted = false;
    let trialValue = -Infinity;
    for (let k = 0; k < 60; k++) {
      let gain = 0;
      for (let i = 0; i < n; i++) {
        trial[i] = clamp(theta[i] + step * direction[i], i);
        gain += (trial[i] - theta[i]) * gradient[i];
      }
      trialValue = f(trial, trialGradient);
      if (Number.isFinite(trialValue) && trialValue >= value + ARMIJO * gain) {
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted) {
      if (!fresh) {
        resetH(1);
        iterations--;
        continue;
      }
      // Even a tiny steepest-ascent step does not gain: we are at the maximum to working precision.
      converged = decrement / 2 < Math.max(tolerance, 1e-12 * Math.abs(value)) || decrement < 1e-6;
      break;
    }

    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = trial[i] - theta[i];
      y[i] = gradient[i] - trialGradient[i]; // change in G = −gradient
      sy += s[i] * y[i];
      yy += y[i] * y[i];
    }
    const previous = value;
    theta.set(trial);
    gradient.set(trialGradient);
    value = trialValue;

    if (sy > 1e-300) {
      if (fresh) resetH(sy / yy); // Shanno's scaling of the first approximation
      // BFGS update of the inverse Hessian: H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ.
      const rho = 1 / sy;
      let yHy = 0;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += H[i * n + j] * y[j];
        Hy[i] = v;
        yHy += y[i] * v;
      }
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          H[i * n + j] += rho * ((1 + rho * yHy) * s[i] * s[j] - Hy[i] * s[j] - s[i] * Hy[j]);
        }
      }
      fresh = false;
    }
    if (value - previous <= 1e-15 * Math.abs(value) && !fresh) {
      converged = true;
      iterations++;
      break;
    }
  }
  return { theta, value, iterations, converged };
}

/**
 * Standard errors from the observed information: the Hessian of the log-likelihood at its maximum,
 * by central differences of the analytic gradient (relative step 1e-4 of each parameter), inverted.
 * Null when the negative Hessian is not positive definite (the maximum is flat or on a boundary).
 */
export function standardErrorsFromGradient(
  gradientAt: (params: Float64Array, gradient: Float64Array) => void,
  params: ArrayLike<number>,
): number[] | null {
  const n = params.length;
  const information = new Float64Array(n * n);
  const plus = new Float64Array(n);
  const minus = new Float64Array(n);
  const point = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const h = 1e-4 * Math.abs(params[j]) || 1e-8;
    point.set(Array.from(params));
    point[j] = params[j] + h;
    gradientAt(point, plus);
    point[j] = params[j] - h;
    gradientAt(point, minus);
    for (let i = 0; i < n; i++) information[i * n + j] = -(plus[i] - minus[i]) / (2 * h);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const mean = (information[i * n + j] + information[j * n + i]) / 2;
      information[i * n + j] = mean;
      information[j * n + i] = mean;
    }
  }
  const covariance = invertPositiveDefinite(information, n);
  if (!covariance) return null;
  const errors: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = covariance[i * n + i];
    if (!(v > 0) || !Number.isFinite(v)) return null;
    errors.push(Math.sqrt(v));
  }
  return errors;
}

/** The inverse of a symmetric positive definite matrix (row-major n×n) by Cholesky; null if not SPD. */
export function invertPositiveDefinite(matrix: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = matrix[i * n + j];
      for (let k = 0; k < j; k++) sum -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(sum > 0)) return null;
        L[i * n + i] = Math.sqrt(sum);
      } else {
        L[i * n + j] = sum / L[j * n + j];
      }
    }
  }
  // inverse = L⁻ᵀ L⁻¹: invert L (lower triangular) column by column.
  const Linv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    Linv[j * n + j] = 1 / L[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let sum = 0;
      for (let k = j; k < i; k++) sum -= L[i * n + k] * Linv[k * n + j];
      Linv[i * n + j] = sum / L[i * n + i];
    }
  }
  const inverse = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = Math.max(i, j); k < n; k++) sum += Linv[k * n + i] * Linv[k * n + j];
      inverse[i * n + j] = sum;
    }
  }
  return inverse;
}
