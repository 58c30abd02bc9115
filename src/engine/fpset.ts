// A visited set of 64-bit fingerprints in typed arrays (open addressing, linear probing).
// V8's Set/Map stop at 2^24 entries; this grows to `maxEntries` (default 2^27), at most
// MAX_FPSET_ENTRIES: a typed array holds at most 2^32 elements, so the table stops at 2^30 slots
// (12 GiB) and its 3/4 load (805 306 368 entries).
// Each slot holds lane 1, lane 2 and the entry's dense id side by side, so a probe that finds its
// fingerprint reads the id from the same cache line.

/** Largest table: 2^30 slots of three 32-bit lanes (a typed array's length is below 2^32). */
const MAX_LOG2 = 30;
/** The most entries a FingerprintSet can hold (3/4 of its largest table): `full` beyond. */
export const MAX_FPSET_ENTRIES = 3 << (MAX_LOG2 - 2);

export class FingerprintSet {
  /** Per slot: lane 1, lane 2, id ((0, 0) marks an empty slot). */
  private slots: Int32Array;
  private mask: number;
  size = 0;
  /** Id of the fingerprint passed to the last `add` (new or already stored). */
  lastId = -1;
  readonly maxEntries: number;
  constructor(initialLog2 = 16, maxEntries = 1 << 27) {
    this.maxEntries = Math.min(maxEntries, MAX_FPSET_ENTRIES);
    initialLog2 = Math.min(initialLog2, MAX_LOG2);
    this.slots = new Int32Array(3 * 2 ** initialLog2);
    this.mask = 2 ** initialLog2 - 1;
  }

  /** Insert; returns true if it was new. Fingerprint (0,0) is mapped to (1,0) (0,0 marks empty). `id`: its dense id (default: insertion order). */
  add(a: number, b: number, id = this.size): boolean {
    if (this.find(a, b) >= 0) return false;
    this.insertFound(a, b, id);
    return true;
  }

  /**
   * Look a fingerprint up without storing it: its id (also in lastId), or -1 when absent; then
   * `insertFound` stores it, provided nothing was added in between. As `add`, split in two for an
   * explorer that decides whether to store a state only once it knows it is new (dfs.ts: a state
   * whose invariant checks fail is not stored).
   */
  find(a: number, b: number): number {
    if (a === 0 && b === 0) a = 1;
    // Grown here, as add() would before storing: the free slot found stays valid for insertFound.
    // (At the largest table the load may pass 3/4 until `full` stops the search.)
    if ((this.size + 1) * 4 > (this.mask + 1) * 3 && this.mask + 1 < 2 ** MAX_LOG2) this.grow();
    const l = this.slots;
    const mask = this.mask;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
    for (;;) {
      const p = 3 * i;
      const x = l[p]!;
      const y = l[p + 1]!;
      if (x === 0 && y === 0) {
        this.free = p;
        return -1;
      }
      if (x === a && y === b) return (this.lastId = l[p + 2]!);
      i = (i + 1) & mask;
    }
  }

  /** Store the fingerprint the last `find` did not find (same arguments), with its id (default: the next dense id). */
  insertFound(a: number, b: number, id = this.size): void {
    if (a === 0 && b === 0) a = 1;
    const l = this.slots;
    const p = this.free;
    l[p] = a;
    l[p + 1] = b;
    l[p + 2] = id;
    this.lastId = id;
    this.size++;
  }

  /** The free slot (its first index) the last unsuccessful `find` ended at. */
  private free = 0;

  has(a: number, b: number): boolean {
    if (a === 0 && b === 0) a = 1;
    const l = this.slots;
    const mask = this.mask;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
    for (;;) {
      const p = 3 * i;
      const x = l[p]!;
      const y = l[p + 1]!;
      if (x === 0 && y === 0) return false;
      if (x === a && y === b) return true;
      i = (i + 1) & mask;
    }
  }

  get full(): boolean {
    return this.size >= this.maxEntries;
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /**
   * Double the table. The entries are distinct and the new table is at most half full, so each goes
   * to the first free slot of its probe sequence with no comparison and no load check (a rehash
   * through add() cost a lookup per entry: 3 % of race-fixed 3×8's CPU, docs/bench.md Session 7).
   */
  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    const l = new Int32Array(3 * cap);
    const mask = cap - 1;
    for (let j = 0; j < old.length; j += 3) {
      const a = old[j]!;
      const b = old[j + 1]!;
      if (a === 0 && b === 0) continue;
      let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
      while (l[3 * i] !== 0 || l[3 * i + 1] !== 0) i = (i + 1) & mask;
      const p = 3 * i;
      l[p] = a;
      l[p + 1] = b;
      l[p + 2] = old[j + 2]!;
    }
    this.slots = l;
    this.mask = mask;
  }
}
