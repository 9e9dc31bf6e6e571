"""Writes app/engine/predict/likelihood-cases.json: the truth table the models' tests check.

Computed independently of the TypeScript code, with scipy 1.17 and mpmath 1.3 (arbitrary precision):
- BG/NBD log-likelihood: numerical 2-D integration (scipy's adaptive QUADPACK, nested) of the model's definition,
  the individual likelihood (1-p)^x λ^x e^(-λT) + [x>0] p (1-p)^(x-1) λ^x e^(-λ tx) against the
  Gamma(r, α) density of λ and the Beta(a, b) density of p (not the closed form the code uses);
- P(active): the same integrals, the "still active" part over the whole;
- expected orders in (T, T+t]: Fader, Hardie & Lee (2005) eq. 10 as printed, with mpmath's own
  hyp2f1 (not the Euler-transformed series the code sums); at 60 digits; at a = 1 the limit a -> 1 (the mean at a = 1 ± 1e-20);
- Gamma-Gamma log-likelihood of a mean: numerical integration over ν ~ Gamma(q, γ) of the density of
  the mean of x Gamma(p, ν) orders, x · Gamma(px, ν) evaluated at x·m;
- hyp2f1: mpmath.hyp2f1.
Run from the repository root: python3 dev/predict/likelihood-cases.py
"""
import json
import math

import mpmath as mp
from scipy.integrate import quad

mp.mp.dps = 30

def bgnbd_parts(params, x, tx, T):
    """(∫∫ alive part, ∫∫ dropped-out part), each times e^(-c) for a scale c (any c; it cancels)."""
    r, alpha, a, b = params
    # Where λ's posterior mass lies: its mean given x purchases by tx (x > 0), or none by T (x = 0).
    mode = (r + x) / (alpha + tx) if x > 0 else r / (alpha + T)
    lg_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    def log_prior(l, p):
        return (r * math.log(alpha) + (r - 1) * math.log(l) - alpha * l - math.lgamma(r)
                + (a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - lg_beta)
    # Scale: the integrand's largest value on a coarse grid, so nothing underflows.
    grid = [(l, p) for l in [mode * f for f in (0.25, 0.5, 1, 2, 4)] for p in (1e-6, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9)]
    def log_alive(l, p):
        return x * math.log1p(-p) + x * math.log(l) - l * T
    def log_dead(l, p):
        return math.log(p) + (x - 1) * math.log1p(-p) + x * math.log(l) - l * tx
    c = max(log_prior(l, p) + max(log_alive(l, p), log_dead(l, p) if x > 0 else -math.inf) for l, p in grid)
    lam_points = [mode * f for f in (1e-4, 1e-3, 0.01, 0.1, 0.5, 1, 2, 5, 20, 50)]
    def integrate(log_part):
        def over_lambda(p):
            f = lambda l: math.exp(log_part(l, p) + log_prior(l, p) - c) if l > 0 else 0.0
            head, _ = quad(f, 0, lam_points[-1], points=lam_points[:-1], limit=400, epsabs=0, epsrel=1e-13)
            tail, _ = quad(f, lam_points[-1], math.inf, limit=400, epsabs=0, epsrel=1e-13)
            return head + tail
        total, _ = quad(over_lambda, 0, 1, points=[1e-8, 1e-6, 1e-4, 1e-2, 0.1, 0.5, 0.9, 0.99], limit=400, epsabs=0, epsrel=1e-12)
        return total
    alive = integrate(log_alive)
    dead = integrate(log_dead) if x > 0 else 0.0
    return alive, dead, c

def expected(params, x, tx, T, t):
    """FHL eq. 10 at 60 digits (the formula cancels heavily when a is large)."""
    with mp.workdps(60):
        if params[2] == 1:  # the limit a -> 1
            below, above = mp.mpf(1) - mp.mpf("1e-20"), mp.mpf(1) + mp.mpf("1e-20")
            return (expected_at((params[0], params[1], below, params[3]), x, tx, T, t)
                    + expected_at((params[0], params[1], above, params[3]), x, tx, T, t)) / 2
        return expected_at(params, x, tx, T, t)

def expected_at(params, x, tx, T, t):
    r, alpha, a, b = [mp.mpf(v) for v in params]
    x, tx, T, t = mp.mpf(x), mp.mpf(tx), mp.mpf(T), mp.mpf(t)
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, a + b + x - 1, z))
    den = 1 + (a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x) if x > 0 else 0)
    return head / den

def gamma_pdf(v, shape, rate):
    return mp.exp(shape * mp.log(rate) + (shape - 1) * mp.log(v) - rate * v - mp.loggamma(shape))

def gg_loglik(params, x, m):
    p, q, g = [mp.mpf(v) for v in params]
    x, m = mp.mpf(x), mp.mpf(m)
    mode = (q - 1) / (g + x * m) if q > 1 else (q + p * x) / (g + x * m)
    dens = mp.quad(lambda nu: x * gamma_pdf(x * m, p * x, nu) * gamma_pdf(nu, q, g), [0, mode / 4, mode, 4 * mode, 16 * mode + 1, mp.inf])
    return mp.log(dens)

CDNOW = (0.243, 4.414, 0.793, 2.426)
DAYS = (0.8, 40.0, 0.5, 4.0)
TINY = (0.05, 0.01, 0.3, 0.4)
A_ONE = (1.3, 25.0, 1.0, 2.0)
LARGE_A = (2.5, 60.0, 3.5, 1.2)
DEGENERATE = (0.9674942950908105, 141.58617171971622, 11560.300655802705, 0.00008650294052000372)

bgnbd_inputs = [
    (CDNOW, 0, 0, 38.86), (CDNOW, 2, 30.43, 38.86), (CDNOW, 1, 1.71, 38.86), (CDNOW, 14, 36.0, 38.0),
    (DAYS, 0, 0, 0), (DAYS, 0, 0, 400.5), (DAYS, 3, 120, 120), (DAYS, 7, 300, 700.25), (DAYS, 60, 350, 365.5),
    (TINY, 0, 0, 10.5), (TINY, 2, 5, 200.5), (A_ONE, 4, 90, 180.5), (LARGE_A, 1, 2, 900.5), (LARGE_A, 25, 400, 410.5),
]
cases = {"bgnbd": [], "expectedOrders": [], "gammaGamma": [], "hyp2f1": []}
for params, x, tx, T in bgnbd_inputs:
    alive, dead, c = bgnbd_parts(params, x, tx, T)
    p = dict(zip(["r", "alpha", "a", "b"], params))
    cases["bgnbd"].append({"params": p, "x": x, "tx": tx, "T": T,
                           "logLikelihood": math.log(alive + dead) + c,
                           "probabilityActive": float(alive / (alive + dead))})
for params, x, tx, T, t in [
    (CDNOW, 2, 30.43, 38.86, 39), (CDNOW, 0, 0, 38.86, 52), (CDNOW, 0, 0, 0, 78),
    (DAYS, 0, 0, 10.5, 7), (DAYS, 3, 120, 200.5, 365), (DAYS, 60, 350, 365.5, 30),
    (TINY, 0, 0, 0.5, 365), (TINY, 2, 5, 200.5, 90), (A_ONE, 4, 90, 180.5, 180), (LARGE_A, 25, 400, 410.5, 365),
    (LARGE_A, 0, 0, 3.5, 365), (DAYS, 400, 700, 700.5, 365),
    # z = t/(α+T+t) near 1 (tiny α, new customers): the code switches from its series to quadrature.
    ((0.8, 0.05, 0.5, 4.0), 0, 0, 0, 365), ((0.8, 0.05, 0.5, 4.0), 0, 0, 0.37, 365),
    ((1e-6, 1e-6, 0.5, 4.0), 0, 0, 0, 365), ((0.3, 0.01, 1.7, 0.6), 3, 0.1, 0.2, 365),
    # A degenerate fit (a huge, b tiny: almost everyone drops out after a repeat purchase), where the
    # series' terms grow like e^(az) and cancel: the code integrates instead.
    (DEGENERATE, 0, 0, 0.3, 30), (DEGENERATE, 3, 100, 200.3, 30), (DEGENERATE, 40, 300, 300.3, 365),
]:
    cases["expectedOrders"].append({"params": dict(zip(["r", "alpha", "a", "b"], params)), "x": x, "tx": tx, "T": T,
                                    "days": t, "expected": float(expected(params, x, tx, T, t))})
for params, x, m in [((6.25, 3.74, 15.44), 1, 20.5), ((6.25, 3.74, 15.44), 5, 35.0), ((2.0, 1.5, 3000.0), 3, 4599.0), ((0.8, 12.0, 50000.0), 40, 3300.0)]:
    cases["gammaGamma"].append({"params": dict(zip(["p", "q", "gamma"], params)), "x": x, "mean": m,
                                "logLikelihood": float(gg_loglik(params, x, m))})
for a, b, c, z in [(0.5, 1.5, 2.5, 0.3), (2.243, 3.426, 2.219, 0.5), (2.243, 4.426, 3.219, 0.95), (1.2, 0.7, 3.1, 0.999), (-0.4, 0.3, 1.7, 0.9)]:
    cases["hyp2f1"].append({"a": a, "b": b, "c": c, "z": z, "value": float(mp.hyp2f1(a, b, c, z))})

out = {
    "about": __doc__.strip().splitlines()[0],
    "method": " ".join(l.strip() for l in __doc__.strip().splitlines()[2:]),
    **cases,
}
with open("app/engine/predict/likelihood-cases.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("ok", {k: len(v) for k, v in cases.items()})
