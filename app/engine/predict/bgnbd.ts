// TEMPORARY FAKE (engineer `fit`): stands in for `models`' BG/NBD until "Predictive models:" lands
// on main; deleted before the merge. Not a BG/NBD: a Poisson rate with everyone active.
import type { BgNbdParams, Fit, Summary, SummaryColumns } from "./types";

export function bgnbdLogLikelihood(p: BgNbdParams, s: Summary): number {
  const rate = p.r / p.alpha;
  return s.x * Math.log(rate) - rate * s.T;
}

export function fitBgNbd(data: SummaryColumns, options?: { start?: BgNbdParams }): Fit<BgNbdParams> {
  void options;
  let x = 0;
  let T = 0;
  for (let i = 0; i < data.length; i++) {
    x += data.x[i];
    T += data.T[i];
  }
  const params = { r: Math.max(x, 1e-9), alpha: Math.max(T, 1e-9), a: 1, b: 1 };
  let ll = 0;
  for (let i = 0; i < data.length; i++) ll += bgnbdLogLikelihood(params, { x: data.x[i], tx: data.tx[i], T: data.T[i] });
  return { params, logLikelihood: ll, customers: data.length, iterations: 1, converged: true, standardErrors: null };
}

export function probabilityActive(p: BgNbdParams, s: Summary): number {
  void p;
  void s;
  return 1;
}

export function expectedOrders(p: BgNbdParams, s: Summary, days: number): number {
  void s;
  return (p.r / p.alpha) * days;
}

export function expectedOrdersNew(p: BgNbdParams, days: number): number {
  return (p.r / p.alpha) * days;
}
