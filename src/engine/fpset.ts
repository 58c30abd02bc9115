// A visited set of 64-bit fingerprints in typed arrays (open addressing, linear probing).
// V8's Set/Map stop at 2^24 entries; this grows to `maxEntries` (default 2^27).

export class FingerprintSet {
  private lanes: Int32Array;
  /** Dense id of each stored fingerprint (insertion order), for state graphs. */
  private ids: Int32Array;
  private mask: number;
  size = 0;
  /** Id of the fingerprint passed to the last `add` (new or already stored). */
  lastId = -1;
  constructor(
    initialLog2 = 16,
    readonly maxEntries = 1 << 27,
  ) {
    this.lanes = new Int32Array(2 << initialLog2);
    this.ids = new Int32Array(1 << initialLog2);
    this.mask = (1 << initialLog2) - 1;
  }

  /** Insert; returns true if it was new. Fingerprint (0,0) is mapped to (1,0) (0,0 marks empty). */
  add(a: number, b: number, id = this.size): boolean {
    if (a === 0 && b === 0) a = 1;
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) this.grow();
    const l = this.lanes;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
    for (;;) {
      const x = l[2 * i]!;
      const y = l[2 * i + 1]!;
      if (x === 0 && y === 0) {
        l[2 * i] = a;
        l[2 * i + 1] = b;
        this.ids[i] = id;
        this.lastId = id;
        this.size++;
        return true;
      }
      if (x === a && y === b) {
        this.lastId = this.ids[i]!;
        return false;
      }
      i = (i + 1) & this.mask;
    }
  }

  has(a: number, b: number): boolean {
    if (a === 0 && b === 0) a = 1;
    const l = this.lanes;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
    for (;;) {
      const x = l[2 * i]!;
      const y = l[2 * i + 1]!;
      if (x === 0 && y === 0) return false;
      if (x === a && y === b) return true;
      i = (i + 1) & this.mask;
    }
  }

  get full(): boolean {
    return this.size >= this.maxEntries;
  }

  get bytes(): number {
    return this.lanes.byteLength + this.ids.byteLength;
  }

  private grow(): void {
    const old = this.lanes;
    const oldIds = this.ids;
    const cap = (this.mask + 1) * 2;
    this.lanes = new Int32Array(2 * cap);
    this.ids = new Int32Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) {
      const a = old[i]!;
      const b = old[i + 1]!;
      if (a !== 0 || b !== 0) this.add(a, b, oldIds[i >> 1]!);
    }
  }
}
