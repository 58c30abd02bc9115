// A visited set of 64-bit fingerprints in typed arrays (open addressing, linear probing).
// V8's Set/Map stop at 2^24 entries; this grows to `maxEntries` (default 2^27).
// Each slot holds lane 1, lane 2 and the entry's dense id side by side, so a probe that finds its
// fingerprint reads the id from the same cache line.

export class FingerprintSet {
  /** Per slot: lane 1, lane 2, id ((0, 0) marks an empty slot). */
  private slots: Int32Array;
  private mask: number;
  size = 0;
  /** Id of the fingerprint passed to the last `add` (new or already stored). */
  lastId = -1;
  constructor(
    initialLog2 = 16,
    readonly maxEntries = 1 << 27,
  ) {
    this.slots = new Int32Array(3 << initialLog2);
    this.mask = (1 << initialLog2) - 1;
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
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) this.grow();
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

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    this.slots = new Int32Array(3 * cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 3) {
      const a = old[i]!;
      const b = old[i + 1]!;
      if (a !== 0 || b !== 0) this.add(a, b, old[i + 2]!);
    }
  }
}
