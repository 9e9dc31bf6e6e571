import { describe, expect, it } from "vitest";
import { assign, hash32, unitInterval, type ExperimentSpec } from "./assign";

const N = 100_000;
const ids = Array.from({ length: N }, (_, i) => (i % 2 === 0 ? `c:${i}` : `v:${i.toString(36)}x${i % 7}`));

const offer = (id: number, holdout = 0.1, weights = [1]): ExperimentSpec => ({
  id,
  holdout,
  variants: weights.map((weight, i) => ({ id: 100 + i, weight })),
});

function popcount(x: number): number {
  let bits = 0;
  for (let v = x >>> 0; v; v &= v - 1) bits++;
  return bits;
}

describe("hash32", () => {
  it("is MurmurHash3 x86_32: matches the published test vectors", () => {
    expect(hash32("")).toBe(0);
    expect(hash32("hello")).toBe(0x248bfa47);
    expect(hash32("Hello, world!")).toBe(0xc0363e43);
    expect(hash32("The quick brown fox jumps over the lazy dog")).toBe(0x2e4ff723);
    expect(hash32("Hello, world!", 1234)).not.toBe(hash32("Hello, world!"));
  });

  it("hashes the UTF-8 bytes, so non-ASCII ids hash like their byte string", () => {
    // "ü" is the two bytes C3 BC; hashing those as Latin-1 characters gives the same bytes.
    const latin1 = (text: string) => String.fromCharCode(...new TextEncoder().encode(text));
    for (const text of ["ü", "€ café 日本", "v:😀", "é".repeat(300), `${"x".repeat(500)}ü`]) {
      const bytes = latin1(text);
      expect(bytes.length).toBeGreaterThan(text.length);
      expect(hash32(text)).toBe(hash32Latin1(bytes));
    }
  });

  it("is deterministic and unsigned 32-bit", () => {
    const hashes = ids.slice(0, 1000).map((id) => hash32(id));
    expect(ids.slice(0, 1000).map((id) => hash32(id))).toEqual(hashes);
    expect(hashes.every((h) => Number.isInteger(h) && h >= 0 && h <= 0xffffffff)).toBe(true);
  });

  it("avalanches: a one-character edit of an id flips about half of the 32 bits", () => {
    let flipped = 0;
    let samples = 0;
    let unchanged = 0;
    for (let i = 0; i < 5000; i++) {
      const base = `c:${1_000_000 + i}`;
      const edits = [`c:${1_000_000 + i + 1}`, `v:${1_000_000 + i}`, `${base}0`, base.replace("c:1", "c:2")];
      for (const edited of edits) {
        const bits = popcount(hash32(base) ^ hash32(edited));
        flipped += bits;
        samples++;
        if (bits === 0) unchanged++;
      }
    }
    expect(unchanged).toBe(0);
    expect(flipped / samples).toBeGreaterThan(15.5);
    expect(flipped / samples).toBeLessThan(16.5);
  });
});

/** The reference: the same algorithm over char codes, for strings that are already bytes. */
function hash32Latin1(bytes: string): number {
  const data = Uint8Array.from(bytes, (ch) => ch.charCodeAt(0));
  let h = 0;
  const blocks = data.length & ~3;
  const mix = (k: number) => {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    return Math.imul(k, 0x1b873593);
  };
  for (let i = 0; i < blocks; i += 4) {
    h ^= mix(data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  for (let i = data.length - 1; i >= blocks; i--) tail = (tail << 8) | data[i];
  if (data.length & 3) h ^= mix(tail);
  h ^= data.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

describe("assign", () => {
  it("is sticky: the same unit gets the same arm for the same experiment every time", () => {
    const experiment = offer(42, 0.2, [1, 1, 2]);
    for (const id of ids.slice(0, 2000)) {
      const first = assign(id, experiment);
      expect(assign(id, { ...experiment, variants: [...experiment.variants] })).toEqual(first);
      expect(assign(id, experiment)).toEqual(first);
    }
  });

  it("holds out 10% of 100,000 ids to within 0.6 percentage points", () => {
    const held = ids.filter((id) => assign(id, offer(1)).arm === "holdout").length;
    expect(Math.abs(held / N - 0.1)).toBeLessThan(0.006);
  });

  it("splits the treated share between variants by weight", () => {
    const experiment = offer(2, 0.1, [1, 2, 1]);
    const counts = new Map<string, number>();
    for (const id of ids) {
      const a = assign(id, experiment);
      const key = a.arm === "holdout" ? "holdout" : String(a.variantId);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const share = (key: string) => (counts.get(key) ?? 0) / N;
    expect(Math.abs(share("holdout") - 0.1)).toBeLessThan(0.006);
    expect(Math.abs(share("100") - 0.225)).toBeLessThan(0.006);
    expect(Math.abs(share("101") - 0.45)).toBeLessThan(0.006);
    expect(Math.abs(share("102") - 0.225)).toBeLessThan(0.006);
  });

  it("assigns every unit to treatment with no holdout, and to the only variant", () => {
    for (const id of ids.slice(0, 1000)) {
      expect(assign(id, offer(3, 0))).toEqual({ arm: "treatment", variantId: 100 });
    }
  });

  it("assigns different experiments independently: held out of both about as often as the product", () => {
    let inA = 0;
    let inB = 0;
    let inBoth = 0;
    for (const id of ids) {
      const a = assign(id, offer(10)).arm === "holdout";
      const b = assign(id, offer(11)).arm === "holdout";
      if (a) inA++;
      if (b) inB++;
      if (a && b) inBoth++;
    }
    const expected = (inA / N) * (inB / N);
    // Binomial sd of the both-share here is about 0.0003.
    expect(Math.abs(inBoth / N - expected)).toBeLessThan(0.0015);
    // Being held out of one says nothing about the other.
    expect(Math.abs(inBoth / inA - inB / N)).toBeLessThan(0.02);
  });

  it("reshuffles when the experiment's seed changes", () => {
    const before = ids.slice(0, 10_000).map((id) => assign(id, offer(5)).arm);
    const after = ids.slice(0, 10_000).map((id) => assign(id, { ...offer(5), seed: "rerun-2" }).arm);
    const heldBoth = before.filter((arm, i) => arm === "holdout" && after[i] === "holdout").length;
    const heldBefore = before.filter((arm) => arm === "holdout").length;
    // Independent: of those held out before, about 10% (not 100%) are held out after.
    expect(heldBoth / heldBefore).toBeLessThan(0.2);
  });

  it("moves neighbouring ids independently (c:1 and c:2 are not correlated)", () => {
    let both = 0;
    let held = 0;
    for (let i = 0; i < N; i++) {
      const a = assign(`c:${i}`, offer(6)).arm === "holdout";
      const b = assign(`c:${i + 1}`, offer(6)).arm === "holdout";
      if (a) held++;
      if (a && b) both++;
    }
    expect(Math.abs(both / held - 0.1)).toBeLessThan(0.02);
  });

  it("draws uniform numbers: chi-square over 20 equal buckets passes at the 0.1% level", () => {
    const buckets = new Array<number>(20).fill(0);
    let outside = 0;
    for (const id of ids) {
      const u = unitInterval(id, { id: 7 });
      if (!(u >= 0 && u < 1)) outside++;
      else buckets[Math.floor(u * 20)]++;
    }
    expect(outside).toBe(0);
    const expected = N / 20;
    const chiSquare = buckets.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
    // The 99.9th percentile of chi-square with 19 degrees of freedom is 43.82.
    expect(chiSquare).toBeLessThan(43.82);
  });

  it("refuses a holdout outside 0 to 0.5, naming the field", () => {
    expect(() => assign("c:1", offer(1, 0.6))).toThrow("holdout must be between 0 and 0.5 (got 0.6)");
    expect(() => assign("c:1", offer(1, -0.1))).toThrow("holdout must be between 0 and 0.5");
    expect(() => assign("c:1", offer(1, NaN))).toThrow("holdout");
  });

  it("refuses an experiment without variants or with a non-positive weight, naming the field", () => {
    expect(() => assign("c:1", { id: 1, holdout: 0.1, variants: [] })).toThrow(
      "variants must name at least one variant",
    );
    expect(() => assign("c:1", offer(1, 0.1, [1, 0]))).toThrow(
      "the weight of variant 101 must be a positive number (got 0)",
    );
    expect(() => assign("c:1", offer(1, 0.1, [-2]))).toThrow("weight of variant 100");
    expect(() =>
      assign("c:1", {
        id: 1,
        holdout: 0.1,
        variants: [
          { id: 1, weight: 1 },
          { id: 1, weight: 1 },
        ],
      }),
    ).toThrow("variant 1 is listed twice");
    expect(() => assign("", offer(1))).toThrow("unit must be a non-empty id");
  });
});
