// 64-bit fingerprints as two 32-bit lanes (no BigInt on the hot path).

export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Lane 1 / lane 2 contribution of cell `i` holding `v` (Zobrist-style, combined by addition). */
export function cellHash1(i: number, v: number): number {
  return mix32(Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(v, 0x7feb352d));
}
export function cellHash2(i: number, v: number): number {
  return mix32(Math.imul(i + 7, 0x632be5ab) ^ Math.imul(v ^ 0x5bd1e995, 0x846ca68b));
}

const strCache = new Map<string, number>();
export function hashString(s: string): number {
  let h = strCache.get(s);
  if (h === undefined) {
    h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = mix32(h);
    strCache.set(s, h);
  }
  return h;
}
