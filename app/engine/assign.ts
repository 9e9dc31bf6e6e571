/**
 * assign(unit, experiment): which arm of an offer's experiment a visitor or customer is in. Every
 * offer is measured against a holdout, a share of eligible visitors (10% by default) who see
 * nothing; the rest are treated and split between the offer's variants by weight.
 *
 * Assignment is a pure function of the unit and the experiment, so it needs no storage and is
 * sticky: the same unit ("c:123" for a signed-in customer, "v:abc" for an anonymous visitor) gets
 * the same arm every time, on every server. The hash key includes the experiment's id and seed,
 * so different experiments assign independently of each other (being held out of one offer says
 * nothing about another); changing the seed reshuffles an experiment.
 *
 * The hash is MurmurHash3 (x86, 32-bit) over the UTF-8 bytes of the key. Its output, divided by
 * 2^32, is a uniform number u in [0, 1): u < holdout means holdout; otherwise the rest of the
 * interval is cut into slices proportional to the variants' weights.
 */

export interface ExperimentSpec {
  id: number;
  /** Changing it reshuffles who is in which arm. */
  seed?: string;
  /** Share of units held out, 0 to 0.5. */
  holdout: number;
  /** The treated share is split between these by weight. */
  variants: { id: number; weight: number }[];
}

export type Assignment = { arm: "holdout" } | { arm: "treatment"; variantId: number };

export const DEFAULT_HOLDOUT = 0.1;
export const MAX_HOLDOUT = 0.5;

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** The UTF-8 bytes of `text` in a reused buffer (valid until the next call), and their count. */
function utf8(text: string): { bytes: Uint8Array; length: number } {
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) {
      ascii = false;
      break;
    }
    scratch[i] = code;
  }
  if (ascii) return { bytes: scratch, length: text.length };
  // At most 3 bytes per UTF-16 unit, so encodeInto always has room for the whole string.
  return { bytes: scratch, length: encoder.encodeInto(text, scratch).written };
}

/**
 * MurmurHash3 x86_32 of the UTF-8 bytes of `text` (Austin Appleby's public-domain algorithm),
 * as an unsigned 32-bit integer. Not cryptographic; deterministic everywhere.
 */
export function hash32(text: string, seed = 0): number {
  const { bytes, length } = utf8(text);
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (length & 3) {
    case 3:
      k ^= bytes[blocks + 2] << 16;
    // falls through
    case 2:
      k ^= bytes[blocks + 1] << 8;
    // falls through
    case 1:
      k ^= bytes[blocks];
      k = Math.imul(k, c1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, c2);
      h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The uniform number in [0, 1) a unit draws in an experiment; assign() cuts it into arms. */
export function unitInterval(unit: string, experiment: Pick<ExperimentSpec, "id" | "seed">): number {
  // "id:seed length:seed:unit" keeps the parts apart: no seed or unit text can make two
  // different (id, seed, unit) triples share a key.
  const seed = experiment.seed ?? "";
  return hash32(`${experiment.id}:${seed.length}:${seed}:${unit}`) / 0x1_0000_0000;
}

/** Throws an Error naming the field when the experiment cannot be assigned from. */
export function validateExperiment(experiment: ExperimentSpec): void {
  const { holdout, variants } = experiment;
  if (!Number.isFinite(holdout) || holdout < 0 || holdout > MAX_HOLDOUT) {
    throw new Error(`holdout must be between 0 and ${MAX_HOLDOUT} (got ${holdout})`);
  }
  if (!Array.isArray(variants) || variants.length === 0) {
    throw new Error("variants must name at least one variant");
  }
  variants.forEach((variant, i) => {
    if (!Number.isFinite(variant.weight) || variant.weight <= 0) {
      throw new Error(
        `variants: the weight of variant ${variant.id} must be a positive number (got ${variant.weight})`,
      );
    }
    if (variants.findIndex((other) => other.id === variant.id) !== i) {
      throw new Error(`variants: variant ${variant.id} is listed twice`);
    }
  });
}

export function assign(unit: string, experiment: ExperimentSpec): Assignment {
  if (typeof unit !== "string" || unit === "") throw new Error("unit must be a non-empty id");
  validateExperiment(experiment);
  const u = unitInterval(unit, experiment);
  if (u < experiment.holdout) return { arm: "holdout" };
  return {
    arm: "treatment",
    variantId: pickByWeight((u - experiment.holdout) / (1 - experiment.holdout), experiment.variants),
  };
}

/** The variant whose slice of [0, 1) holds `v`; slices are proportional to weight, in list order. */
function pickByWeight(v: number, variants: ExperimentSpec["variants"]): number {
  const total = variants.reduce((sum, variant) => sum + variant.weight, 0);
  const target = v * total;
  let cumulative = 0;
  for (const variant of variants) {
    cumulative += variant.weight;
    if (target < cumulative) return variant.id;
  }
  // Only rounding can get here (target within an ulp of total): the last slice.
  return variants[variants.length - 1].id;
}
