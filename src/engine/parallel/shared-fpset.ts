// A visited set of 64-bit fingerprints that several worker threads share (one SharedArrayBuffer),
// for the parallel stateful search (docs/design.md, "All cores on one cell"). Same contract as
// FingerprintSet (fpset.ts): add() says whether the fingerprint was new and leaves the state's
// dense id in `lastId`. Open addressing with linear probing over a table sized once (no growing
// while other threads probe it): the capacity is fixed from the state budget.
//
// Insertion is lock-free. A slot's `tag` cell is the claim: 0 = empty, -1 = being written,
// id + 1 = holds a fingerprint. A thread claims an empty slot by compare-exchange 0 -> -1, writes
// both lanes, takes the next dense id (one atomic add on the shared size) and publishes id + 1.
// A thread that meets a slot being written waits for it to be published before it compares the
// lanes (the writer is between two stores). Atomics are sequentially consistent, so lanes stored
// before the tag is published are seen by whoever sees the tag. Two threads inserting the same
// fingerprint: one wins the claim, the other sees the published slot and gets `false` with the
// same id; every fingerprint is stored once, and every state gets exactly one id.

const H_SIZE = 0;
const H_LOG2 = 1;
const HEADER = 4;

/** What the stateful search needs from a visited set (FingerprintSet and SharedFingerprintSet have it). */
export interface VisitedSet {
  add(a: number, b: number): boolean;
  readonly lastId: number;
  readonly size: number;
  readonly full: boolean;
}

export class SharedFingerprintSet implements VisitedSet {
  private readonly header: Int32Array;
  private readonly lanes: Int32Array;
  private readonly tags: Int32Array;
  /** Per state id: the sleep set it was last explored with (stateful POR), shared too. */
  readonly sleep: Int32Array;
  private readonly mask: number;
  lastId = -1;
  /**
   * A deliberately broken sharing, for the test that shows the differential harness catches it:
   * this thread's inserts go to a private set that the other threads never see (a lost insert).
   */
  private lost: Map<string, number> | null = null;

  /** A new table for up to `maxEntries` states. */
  static create(maxEntries: number): SharedFingerprintSet {
    const want = Math.max(1024, Math.ceil((maxEntries * 4) / 3) + 256);
    const log2 = Math.min(28, Math.ceil(Math.log2(want)));
    const cap = 1 << log2;
    const buf = new SharedArrayBuffer(4 * (HEADER + 2 * cap + cap + cap));
    const h = new Int32Array(buf, 0, HEADER);
    h[H_LOG2] = log2;
    return new SharedFingerprintSet(buf, maxEntries);
  }

  /** A view of a table created elsewhere (another thread passes the buffer). */
  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly maxEntries: number,
  ) {
    this.header = new Int32Array(buffer, 0, HEADER);
    const cap = 1 << this.header[H_LOG2]!;
    this.lanes = new Int32Array(buffer, 4 * HEADER, 2 * cap);
    this.tags = new Int32Array(buffer, 4 * (HEADER + 2 * cap), cap);
    this.sleep = new Int32Array(buffer, 4 * (HEADER + 3 * cap), cap);
    this.mask = cap - 1;
  }

  /** Test hook: lose this view's inserts (see `lost`). */
  loseInserts(): void {
    this.lost = new Map();
  }

  get size(): number {
    return Atomics.load(this.header, H_SIZE);
  }

  get full(): boolean {
    return this.size >= this.maxEntries;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** Forget every state (all other threads must be idle): a search started again. */
  clear(): void {
    this.lanes.fill(0);
    this.tags.fill(0);
    this.sleep.fill(0);
    Atomics.store(this.header, H_SIZE, 0);
  }

  /** Insert; true if new. A new state's `sleep` entry is set before other threads can find it. */
  add(a: number, b: number, sleep = 0): boolean {
    if (this.lost !== null) {
      const key = `${a},${b}`;
      const known = this.lost.get(key);
      if (known !== undefined) {
        this.lastId = known;
        return false;
      }
      if (this.lookup(a, b)) return false;
      this.lastId = Atomics.add(this.header, H_SIZE, 1);
      Atomics.store(this.sleep, this.lastId, sleep);
      this.lost.set(key, this.lastId);
      return true;
    }
    const tags = this.tags;
    const lanes = this.lanes;
    const mask = this.mask;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
    for (let probes = 0; ; ) {
      let tag = Atomics.load(tags, i);
      if (tag === 0) {
        // The table is never filled beyond 3/4 (see create): an empty slot is always found.
        tag = Atomics.compareExchange(tags, i, 0, -1);
        if (tag === 0) {
          Atomics.store(lanes, 2 * i, a);
          Atomics.store(lanes, 2 * i + 1, b);
          const id = Atomics.add(this.header, H_SIZE, 1);
          Atomics.store(this.sleep, id, sleep);
          Atomics.store(tags, i, id + 1);
          this.lastId = id;
          return true;
        }
      }
      while (tag === -1) tag = Atomics.load(tags, i);
      if (Atomics.load(lanes, 2 * i) === a && Atomics.load(lanes, 2 * i + 1) === b) {
        this.lastId = tag - 1;
        return false;
      }
      i = (i + 1) & mask;
      if (++probes > mask) throw new Error("internal: shared fingerprint table full");
    }
  }

  /** Whether the fingerprint is stored (sets lastId when it is). */
  private lookup(a: number, b: number): boolean {
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
    for (;;) {
      let tag = Atomics.load(this.tags, i);
      if (tag === 0) return false;
      while (tag === -1) tag = Atomics.load(this.tags, i);
      if (Atomics.load(this.lanes, 2 * i) === a && Atomics.load(this.lanes, 2 * i + 1) === b) {
        this.lastId = tag - 1;
        return true;
      }
      i = (i + 1) & this.mask;
    }
  }
}
