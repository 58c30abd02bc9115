// The visited set (src/engine/fpset.ts): lookups and ids survive every doubling of the table, the
// all-zero fingerprint is stored, and the size limits hold. Lean: ~0.2 s.
import { describe, expect, it } from "vitest";
import { FingerprintSet, MAX_FPSET_ENTRIES } from "../../src/engine/fpset.js";

/** Deterministic 32-bit values (xorshift), with duplicates and zeros mixed in. */
function lanes(count: number, seed: number): [number, number][] {
  let x = seed | 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x | 0;
  };
  const out: [number, number][] = [[0, 0], [1, 0], [0, 1]];
  while (out.length < count) {
    const a = next();
    // Every 7th fingerprint shares lane 1 with the previous one; every 11th is all in lane 2.
    out.push(out.length % 7 === 0 ? [out[out.length - 1]![0], next()] : out.length % 11 === 0 ? [0, a] : [a, next()]);
  }
  return out;
}

describe("FingerprintSet", () => {
  it("keeps every fingerprint and its id through the doublings, and finds nothing else", () => {
    const fps = lanes(30_000, 12345);
    const s = new FingerprintSet(2);
    const idOf = new Map<string, number>();
    // Checked without expect() per entry (vitest's expect costs far more than a probe); the first
    // wrong answer is reported.
    const wrong: string[] = [];
    fps.forEach(([a, b], k) => {
      // (0,0) is stored as (1,0): the two are one fingerprint.
      const key = a === 0 && b === 0 ? "1,0" : `${a},${b}`;
      const isNew = s.add(a, b, 5 * k + 3);
      if (isNew !== !idOf.has(key)) wrong.push(`add ${key}: new ${isNew}`);
      if (isNew) idOf.set(key, 5 * k + 3);
      if (s.lastId !== idOf.get(key)) wrong.push(`add ${key}: lastId ${s.lastId}`);
    });
    expect(s.size).toBe(idOf.size);
    expect(s.bytes).toBeGreaterThanOrEqual(12 * (4 / 3) * s.size);
    for (const [a, b] of fps) {
      const key = a === 0 && b === 0 ? "1,0" : `${a},${b}`;
      if (s.find(a, b) !== idOf.get(key) || !s.has(a, b)) wrong.push(`lookup ${key}: ${s.find(a, b)}`);
    }
    let absent = 0;
    for (const [a, b] of lanes(10_000, 777)) {
      if (idOf.has(a === 0 && b === 0 ? "1,0" : `${a},${b}`)) continue;
      absent++;
      if (s.has(a, b) || s.find(a, b) !== -1) wrong.push(`absent ${a},${b} found`);
    }
    expect(wrong.slice(0, 3)).toEqual([]);
    expect(absent).toBeGreaterThan(7_000);
  });

  it("is full at maxEntries, and never past what a typed array can hold", () => {
    const s = new FingerprintSet(4, 100);
    for (let k = 1; k <= 100; k++) {
      expect(s.full).toBe(false);
      s.add(k, -k);
    }
    expect(s.full).toBe(true);
    expect(new FingerprintSet(4, 2 ** 40).maxEntries).toBe(MAX_FPSET_ENTRIES);
    expect(MAX_FPSET_ENTRIES).toBe(805_306_368);
  });
});
