// A visited set of 64-bit fingerprints that several worker threads share (SharedArrayBuffers),
// for the parallel stateful search (docs/design.md, "All cores on one cell"). Same contract as
// FingerprintSet (fpset.ts): add() says whether the fingerprint was new and leaves the state's
// id in `lastId` (unique, not dense: below). Open addressing with linear probing.
//
// A slot is four cells side by side, [tag, lane 1, lane 2, unused], so a probe reads one cache
// line (a slot never straddles one). The tag is the claim: 0 = empty, -1 = being written,
// id + 1 = holds a fingerprint. A thread claims an empty slot by compare-exchange 0 -> -1, writes
// both lanes, takes the next id of its own block of ids and publishes id + 1. The ids are handed
// out ID_BLOCK at a time and the count of states stored is added to once per block and when a
// thread leaves (an atomic add per insert on one shared cell made its cache line travel between
// the cores at every insert); ids a thread never used are gaps (states never stored: the graph
// and the sleep array leave them empty).
// A thread that meets a slot being written waits for it to be published before it compares the
// lanes (the writer is between two stores). Atomics are sequentially consistent, so lanes stored
// before the tag is published are seen by whoever sees the tag. Two threads inserting the same
// fingerprint: one wins the claim, the other sees the published slot and gets `false` with the
// same id; every fingerprint is stored once, and every state gets exactly one id.
//
// The table grows, as the sequential one does: it starts at 2^16 slots and doubles when the ids
// handed out (at least the states stored) pass 3/4 of it, so it touches memory in proportion to the states stored, not to the state budget (a table
// sized once from the budget spread 3 M states over 2^26 slots: a cache and TLB miss and often a
// page fault per probe; docs/bench.md). Growing stops the world: every thread that uses the table
// counts itself in `ACTIVE` while it does (enter/leave around a work item); the thread whose new
// block of ids crosses 3/4 (taken before a probe, never between a claim and its publication) raises `RESIZE`, waits until the others have left (each leaves at its next
// add(), or when its item ends) and rehashes into the other of two regions, allocated once at the
// largest size the budget needs (virtual memory; only the part in use is ever touched). The
// others wait until `RESIZE` drops, then enter again. Entering is Dekker-style on two SC cells
// (count yourself in, then look at RESIZE; the resizer raises RESIZE, then looks at the count), so
// no thread probes a table that is being rehashed.

// State ids are handed out in blocks (ID_BLOCK per thread at a time) and the count of states
// stored is added to in batches, so that the line holding both is written once per ID_BLOCK
// inserts, not at every insert by every core. That line is apart from the cells every add()
// reads (RESIZE, LOG2), which would otherwise be invalidated in the other cores' caches.
/** States stored (exact once every thread has left: each adds its unflushed count when it leaves). */
const H_SIZE = 0;
/** Ids handed out (a multiple of ID_BLOCK; at least the states stored). */
const H_NEXT = 1;
/** Ids a thread takes at once: the ids are unique but not dense (a thread's unused ids are never stored). */
const ID_BLOCK = 64;
/** Room for the unused ids of up to this many threads (the sleep array). */
const MAX_THREADS = 64;
const H_LOG2 = 16;
/** Which region holds the table (0 or 1). */
const H_REGION = 17;
/** 1 while a thread rehashes. */
const H_RESIZE = 18;
/** Threads that may probe the table now. */
const H_ACTIVE = 32;
/** Three 64-byte lines: the size; what add() reads; the count of threads in. */
/** The first size (log2), for clear(). */
const H_INITIAL = 19;
const HEADER = 48;
/** Cells per slot: tag, lane 1, lane 2, unused (16 bytes: four slots per 64-byte line). */
const W = 4;
const INITIAL_LOG2 = 16;

/** What the stateful search needs from a visited set (FingerprintSet and SharedFingerprintSet have it). */
export interface VisitedSet {
  add(a: number, b: number): boolean;
  readonly lastId: number;
  readonly size: number;
  readonly full: boolean;
}

/** The buffers of a shared table (structured-cloneable: other threads get views of the same memory). */
export interface SharedTableBuffers {
  /** Header and, per state id, its sleep set. */
  head: SharedArrayBuffer;
  regions: [SharedArrayBuffer, SharedArrayBuffer];
}

export class SharedFingerprintSet implements VisitedSet {
  private readonly header: Int32Array;
  private readonly region: [Int32Array, Int32Array];
  /** The region holding the table and its mask, as this thread last saw them (refreshed after a resize). */
  private slots: Int32Array;
  private mask: number;
  private readonly maxLog2: number;
  /** Per state id: the sleep set it was last explored with (stateful POR), shared too. */
  readonly sleep: Int32Array;
  lastId = -1;
  /** This thread's block of ids: the next to give and the end. */
  private idNext = 0;
  private idEnd = 0;
  /** States this thread stored and has not yet added to the shared count, and the count it last saw. */
  private unflushed = 0;
  private sizeSeen = 0;
  /** Tables grown (this thread's view; statistics for tests). */
  grows = 0;
  /**
   * A deliberately broken sharing, for the test that shows the differential harness catches it:
   * this thread's inserts go to a private set that the other threads never see (a lost insert).
   */
  private lost: Map<string, number> | null = null;

  /** A new table for up to `maxEntries` states; `initialLog2`: its first size (tests: many grows). */
  static create(maxEntries: number, initialLog2 = INITIAL_LOG2): SharedFingerprintSet {
    // Room beyond the budget for the ids of the blocks handed out and a block per thread of inserts
    // past it before a thread sees it (`full`).
    const want = Math.max(1 << initialLog2, Math.ceil((maxEntries * 4) / 3) + 4 * ID_BLOCK * MAX_THREADS);
    const maxLog2 = Math.min(28, Math.ceil(Math.log2(want)));
    const head = new SharedArrayBuffer(4 * (HEADER + maxEntries + ID_BLOCK * (MAX_THREADS + 1)));
    const regions: [SharedArrayBuffer, SharedArrayBuffer] = [new SharedArrayBuffer(4 * W * (1 << maxLog2)), new SharedArrayBuffer(4 * W * (1 << maxLog2))];
    const h = new Int32Array(head, 0, HEADER);
    h[H_LOG2] = Math.min(initialLog2, maxLog2);
    h[H_INITIAL] = h[H_LOG2]!;
    return new SharedFingerprintSet({ head, regions }, maxEntries);
  }

  /** A view of a table created elsewhere (another thread passes the buffers). */
  constructor(
    readonly buffers: SharedTableBuffers,
    readonly maxEntries: number,
  ) {
    this.header = new Int32Array(buffers.head, 0, HEADER);
    this.sleep = new Int32Array(buffers.head, 4 * HEADER);
    this.region = [new Int32Array(buffers.regions[0]), new Int32Array(buffers.regions[1])];
    this.maxLog2 = Math.log2(this.region[0].length / W);
    this.slots = this.region[0];
    this.mask = 0;
    this.refresh();
  }

  private refresh(): void {
    this.slots = this.region[Atomics.load(this.header, H_REGION)]!;
    this.mask = (1 << Atomics.load(this.header, H_LOG2)) - 1;
  }

  /** Test hook: lose this view's inserts (see `lost`). */
  loseInserts(): void {
    this.lost = new Map();
  }

  /** States stored: exact when no thread is in (each adds its count when it leaves). */
  get size(): number {
    return Atomics.load(this.header, H_SIZE);
  }

  /**
   * The budget is reached, as the search asks it after an insert: from the count this thread last
   * saw plus its own unflushed inserts (a lower bound of the count; it lags by less than a block
   * per thread). A search that stores the budget's states without any thread seeing it here still
   * ends with `reached` (the coordinator's check once every thread has left), so the decision is
   * exact; the table may hold up to a block per thread more than the budget.
   */
  get full(): boolean {
    return this.sizeSeen + this.unflushed >= this.maxEntries;
  }

  get reached(): boolean {
    return this.size >= this.maxEntries;
  }

  /** Slots of the table now. */
  get capacity(): number {
    return 1 << Atomics.load(this.header, H_LOG2);
  }

  /** This thread starts using the table (waits while it is being grown). */
  enter(): void {
    const h = this.header;
    for (;;) {
      while (Atomics.load(h, H_RESIZE) !== 0) Atomics.wait(h, H_RESIZE, 1);
      Atomics.add(h, H_ACTIVE, 1);
      if (Atomics.load(h, H_RESIZE) === 0) break;
      this.leave();
    }
    this.refresh();
  }

  /** This thread stops using the table (until enter()); its inserts are counted. */
  leave(): void {
    this.flush();
    Atomics.sub(this.header, H_ACTIVE, 1);
    Atomics.notify(this.header, H_ACTIVE);
  }

  /** Add this thread's inserts to the shared count. */
  private flush(): void {
    if (this.unflushed !== 0) {
      this.sizeSeen = Atomics.add(this.header, H_SIZE, this.unflushed) + this.unflushed;
      this.unflushed = 0;
    }
  }

  /** Forget this thread's block of ids (after clear(): the ids start again from 0). */
  resetIds(): void {
    this.idNext = this.idEnd = 0;
    this.unflushed = 0;
    this.sizeSeen = 0;
  }

  /**
   * A new block of ids for this thread (it has used its last one). Taken before a probe, never
   * between a claim and its publication: it may grow the table, which it does when the ids handed
   * out pass 3/4 of it (the states stored are at most the ids handed out, so the table is never
   * more than 3/4 full).
   */
  private newBlock(): void {
    this.flush();
    const first = Atomics.add(this.header, H_NEXT, ID_BLOCK);
    this.idNext = first;
    this.idEnd = first + ID_BLOCK;
    if (4 * this.idEnd > 3 * (this.mask + 1) && Atomics.load(this.header, H_LOG2) < this.maxLog2) this.grow();
  }

  /** Forget every state (no thread may be using it): a search started again. */
  clear(): void {
    const h = this.header;
    const used = W << Atomics.load(h, H_LOG2);
    this.region[Atomics.load(h, H_REGION)]!.fill(0, 0, used);
    this.sleep.fill(0, 0, Math.min(this.sleep.length, Atomics.load(h, H_NEXT)));
    Atomics.store(h, H_LOG2, h[H_INITIAL]!);
    Atomics.store(h, H_REGION, 0);
    this.region[0].fill(0, 0, W << h[H_INITIAL]!);
    Atomics.store(h, H_SIZE, 0);
    Atomics.store(h, H_NEXT, 0);
    this.resetIds();
    this.refresh();
  }

  /** Insert; true if new. A new state's `sleep` entry is set before other threads can find it. */
  add(a: number, b: number, sleep = 0): boolean {
    // A plain read: a stale 0 only delays this thread's pause (the resizer waits for it to leave).
    if (this.header[H_RESIZE] !== 0) {
      this.leave();
      this.enter();
    }
    // As FingerprintSet: (0, 0) is stored as (1, 0), so lanes not yet written never match.
    if (a === 0 && b === 0) a = 1;
    if (this.lost !== null) {
      const key = `${a},${b}`;
      const known = this.lost.get(key);
      if (known !== undefined) {
        this.lastId = known;
        return false;
      }
      if (this.lookup(a, b)) return false;
      if (this.idNext === this.idEnd) this.newBlock();
      this.lastId = this.idNext++;
      this.unflushed++;
      Atomics.store(this.sleep, this.lastId, sleep);
      this.lost.set(key, this.lastId);
      return true;
    }
    if (this.idNext === this.idEnd) this.newBlock();
    const s = this.slots;
    const mask = this.mask;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
    for (let probes = 0; ; ) {
      const p = W * i;
      // Plain reads first (an atomic load of every probed tag made add() twice as dear as the
      // sequential one; bench.md): a published tag never changes, and a match on lanes read
      // without synchronisation is a real one (a lane not yet written reads 0, and (0, 0) is
      // never stored). A mismatch on a zero lane is trusted only after an atomic load of the tag,
      // which makes the lanes stored before its publication visible.
      let tag = s[p]!;
      if (tag === 0) {
        // The table is grown at 3/4 full and every other thread stops at its next add(): it is
        // never filled beyond 3/4 plus a few (one insert per thread), so an empty slot is found.
        tag = Atomics.compareExchange(s, p, 0, -1);
        if (tag === 0) {
          s[p + 1] = a;
          s[p + 2] = b;
          // An id of this thread's block (add() took a block before probing if it had none left).
          const id = this.idNext++;
          this.unflushed++;
          this.sleep[id] = sleep;
          // Publishes the lanes (an SC store after plain ones: whoever loads the tag sees them).
          Atomics.store(s, p, id + 1);
          this.lastId = id;
          return true;
        }
      }
      while (tag === -1) tag = Atomics.load(s, p);
      const x = s[p + 1]!;
      const y = s[p + 2]!;
      if (x === a && y === b) {
        this.lastId = tag - 1;
        return false;
      }
      // Each lane goes from 0 to its final value once, and a racing aligned read returns one of
      // the two: a lane read as non-zero is final. Only a zero lane may be stale.
      if ((x === 0 || y === 0) && Atomics.load(s, p) > 0 && s[p + 1] === a && s[p + 2] === b) {
        this.lastId = tag - 1;
        return false;
      }
      i = (i + 1) & mask;
      if (++probes > mask) throw new Error("internal: shared fingerprint table full");
    }
  }

  /** Grow the table (the ids handed out passed 3/4 of it); another thread may already be at it. */
  private grow(): void {
    const h = this.header;
    if (Atomics.compareExchange(h, H_RESIZE, 0, 1) !== 0) {
      // Someone else grows it: wait for that, then go on.
      this.leave();
      this.enter();
      return;
    }
    // Raised, then look at who is in (the order matters: see enter()).
    Atomics.sub(h, H_ACTIVE, 1);
    for (;;) {
      const n = Atomics.load(h, H_ACTIVE);
      if (n === 0) break;
      Atomics.wait(h, H_ACTIVE, n);
    }
    // Alone. Another thread may have grown the table since our check: the size it needs now.
    const log2 = Atomics.load(h, H_LOG2);
    let want = log2;
    while (want < this.maxLog2 && 4 * Atomics.load(h, H_NEXT) > 3 << want) want++;
    if (want > log2) {
      const from = this.region[Atomics.load(h, H_REGION)]!;
      const toR = 1 - Atomics.load(h, H_REGION);
      const to = this.region[toR]!;
      const cap = 1 << want;
      const mask = cap - 1;
      to.fill(0, 0, W * cap);
      const oldCells = W << log2;
      for (let p = 0; p < oldCells; p += W) {
        const tag = from[p]!;
        if (tag === 0) continue;
        const a = from[p + 1]!;
        const b = from[p + 2]!;
        let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
        while (to[W * i] !== 0) i = (i + 1) & mask;
        to[W * i] = tag;
        to[W * i + 1] = a;
        to[W * i + 2] = b;
      }
      Atomics.store(h, H_REGION, toR);
      Atomics.store(h, H_LOG2, want);
      this.grows++;
    }
    Atomics.add(h, H_ACTIVE, 1);
    // Lowered last: the others see the new table (SC store after the plain rehash writes).
    Atomics.store(h, H_RESIZE, 0);
    Atomics.notify(h, H_RESIZE);
    this.refresh();
  }

  /** Whether the fingerprint is stored (sets lastId when it is). */
  private lookup(a: number, b: number): boolean {
    const s = this.slots;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
    for (;;) {
      const p = W * i;
      let tag = Atomics.load(s, p);
      if (tag === 0) return false;
      while (tag === -1) tag = Atomics.load(s, p);
      if (s[p + 1] === a && s[p + 2] === b) {
        this.lastId = tag - 1;
        return true;
      }
      i = (i + 1) & this.mask;
    }
  }
}
