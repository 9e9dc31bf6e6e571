/**
 * How far P(active) falls in 30 days, for the "Valuable and slipping away" preset's threshold
 * (app/engine/presets.ts): `npx tsx bench/falling-threshold.ts`. Not a timing bench; the figures
 * behind a choice, seeded so they repeat.
 *
 * Customers are drawn from BG/NBD itself (λ ~ Gamma(r, α), p ~ Beta(a, b), first purchase uniform
 * over the shop's history, Exponential gaps, dropping out after a repeat purchase with probability
 * p), each purchase moment kept, so that the summary as of 30 days before the end is exact. Each is
 * predicted as the fit stores it (predictCustomerWithFall: P(active) now, and 30 days before from
 * the same parameters), tiered by rank, and for the top 25% by predicted value it prints:
 * - the median and quantiles of the change in points over 30 days;
 * - how many fell by at least N points with no purchase in the last 30 days (the preset), and how
 *   many of those had truly dropped out (known here, never in a shop);
 * - how many "fell" by N points although they bought within the 30 days (a second purchase turns
 *   P(active) from 1 to below it), which the preset's "no order in the last 30 days" leaves out;
 * - the former preset (P(active) below 60%, a repeat buyer) for comparison.
 */
import { gammaVariate, seededRandom } from "../app/engine/predict/simulate";
import { predictCustomerWithFall, tierOf, tierThresholds } from "../app/engine/predict/predict";
import type { FittedModels } from "../app/engine/predict/types";

interface Drawn {
  value: number;
  /** P(active) now − P(active) 30 days before; null with no purchase by then. */
  change: number | null;
  probabilityActive: number;
  x: number;
  alive: boolean;
  boughtRecently: boolean;
}

function draw(m: FittedModels, days: number, customers: number, seed: number): Drawn[] {
  const random = seededRandom(seed);
  const beta = (a: number, b: number) => {
    const g = gammaVariate(random, a);
    return g / (g + gammaVariate(random, b));
  };
  const out: Drawn[] = [];
  for (let i = 0; i < customers; i++) {
    const first = random() * days;
    const rate = gammaVariate(random, m.bgnbd.r) / m.bgnbd.alpha;
    const dropout = beta(m.bgnbd.a, m.bgnbd.b);
    const purchases = [first];
    let t = first;
    let alive = true;
    for (;;) {
      t += -Math.log(random()) / rate;
      if (t > days) break;
      purchases.push(t);
      if (random() < dropout) {
        alive = false;
        break;
      }
    }
    // Purchase days (whole days, as the app counts them), up to a moment.
    const firstDay = Math.floor(first);
    const daysUpTo = (end: number) => [...new Set(purchases.filter((p) => p < end).map(Math.floor))];
    const now = daysUpTo(days);
    const then = daysUpTo(days - 30);
    const v = predictCustomerWithFall(
      m,
      { x: now.length - 1, tx: Math.max(...now) - firstDay, T: days - firstDay, mean: 5000 },
      then.length ? { x: then.length - 1, tx: Math.max(...then) - firstDay, T: days - 30 - firstDay } : null,
    );
    out.push({
      value: v.value12m,
      change: v.probabilityActiveThen === null ? null : v.probabilityActive - v.probabilityActiveThen,
      probabilityActive: v.probabilityActive,
      x: now.length - 1,
      alive,
      boughtRecently: purchases.some((p) => p >= days - 30),
    });
  }
  return out;
}

const pct = (n: number, of: number) => `${((100 * n) / Math.max(1, of)).toFixed(1)}%`;

function report(name: string, m: FittedModels, days: number): void {
  const drawn = draw(m, days, 100_000, 7);
  const tiers = tierThresholds(Float64Array.from(drawn.map((d) => d.value)));
  const top = drawn.filter((d) => ["top10", "top25"].includes(tierOf(d.value, tiers)));
  const changes = top
    .filter((d) => d.change !== null)
    .map((d) => (d.change ?? 0) * 100)
    .sort((a, b) => a - b);
  const q = (p: number) => changes[Math.floor(p * (changes.length - 1))].toFixed(1);
  console.log(
    `${name}: ${drawn.length.toLocaleString("en")} customers over ${days} days; top 25%: ${top.length}`,
  );
  console.log(
    `  change over 30 days in points, top 25%: 5% ${q(0.05)}, 25% ${q(0.25)}, median ${q(0.5)}, 75% ${q(0.75)}, 95% ${q(0.95)}`,
  );
  for (const n of [5, 10, 15, 20, 30]) {
    const fell = (d: Drawn) => d.change !== null && d.change <= -n / 100;
    const preset = top.filter((d) => fell(d) && !d.boughtRecently);
    const recent = top.filter((d) => fell(d) && d.boughtRecently).length;
    console.log(
      `  fell >= ${String(n).padStart(2)} points, no order in 30 days: ${String(preset.length).padStart(5)} (${pct(preset.length, top.length)} of the top 25%, ${pct(preset.length, drawn.length)} of all), truly dropped out ${pct(preset.filter((d) => !d.alive).length, preset.length)}; left out for a recent order: ${recent}`,
    );
  }
  const former = top.filter((d) => d.x >= 1 && d.probabilityActive < 0.6);
  console.log(
    `  former preset (repeat buyer, P(active) < 60%): ${former.length} (${pct(former.length, top.length)} of the top 25%), truly dropped out ${pct(former.filter((d) => !d.alive).length, former.length)}`,
  );
}

const gammaGamma = { p: 6.25, q: 3.74, gamma: 15.44 };
// The CDNOW fit (Fader, Hardie and Lee), in weeks there: read as days (the bench's shop, fast
// buyers) and converted to days (α × 7: a purchase every few months).
report(
  "CDNOW parameters read as days",
  { bgnbd: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, gammaGamma },
  540,
);
report(
  "CDNOW parameters in days",
  { bgnbd: { r: 0.243, alpha: 4.414 * 7, a: 0.793, b: 2.426 }, gammaGamma },
  540,
);
report(
  "CDNOW parameters in days, 2 years",
  { bgnbd: { r: 0.243, alpha: 4.414 * 7, a: 0.793, b: 2.426 }, gammaGamma },
  730,
);
