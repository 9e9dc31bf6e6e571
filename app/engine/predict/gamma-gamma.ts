// TEMPORARY FAKE (engineer `fit`): stands in for `models`' Gamma-Gamma; deleted before the merge.
import type { Fit, GammaGammaParams, SummaryColumns } from "./types";

export function gammaGammaLogLikelihood(g: GammaGammaParams, x: number, mean: number): number {
  void g;
  void x;
  void mean;
  return 0;
}

export function fitGammaGamma(data: SummaryColumns): Fit<GammaGammaParams> {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < data.length; i++)
    if (data.x[i] > 0) {
      sum += data.mean[i];
      n++;
    }
  const params = { p: 1, q: 2, gamma: n ? sum / n : 0 };
  return { params, logLikelihood: 0, customers: n, iterations: 1, converged: true, standardErrors: null };
}

export function expectedSpendPerOrder(g: GammaGammaParams, x: number, mean: number): number {
  return x > 0 ? mean : g.gamma;
}
