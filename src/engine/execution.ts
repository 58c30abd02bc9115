// One execution of a program: the threads' generators, the shared memory, and the events so far.
// Explorers decide which thread steps next (and which outcome each choice takes, through the
// Oracle); this class only executes, records and checks. It knows nothing of any domain.
import { cellHash1, cellHash2, hashString, mix32 } from "./hash.js";
import type { FusionState } from "./fusion.js";
import { K, M, isBlocking, pendingModeAt, type Mode, type Op } from "./ops.js";
import type { Program, ThreadApi } from "./program.js";

/** Chooses the outcome of nondeterministic choices. */
export interface Oracle {
  choose(tid: number, k: number, op: Op): number;
}

export interface Violation {
  property: string;
  message: string;
  /** Thread whose step revealed it (-1 for global checks such as deadlock). */
  thread: number;
  /** Number of events executed when it was detected. */
  step: number;
  /** Ends the execution (assertions, invariants) or not (reported events such as KVM_BUG_ON). */
  fatal: boolean;
  /** For livelocks: the event index where the cycle starts. */
  cycleStart?: number;
}

class AssertionFailure extends Error {
  constructor(
    readonly property: string,
    message: string,
  ) {
    super(message);
  }
}

const NONE = 0x7fffffff; // "nothing written" marker in evWrite
/** At most this many model steps in one fused step (a loop without a loop head could run forever). */
const MAX_SPAN = 10_000;

class ThreadCtx implements ThreadApi {
  constructor(
    private readonly ex: Execution,
    readonly id: number,
    readonly name: string,
  ) {}
  assert(cond: boolean, message: string, property = "assertion"): asserts cond {
    if (!cond && !this.ex.restoring) throw new AssertionFailure(property, message);
  }
  report(property: string, message: string): void {
    if (!this.ex.restoring) this.ex.addViolation(property, message, this.id, false);
  }
  enter(key: number): void {
    if (!this.ex.restoring) this.ex.windowEnter(key);
  }
  exit(key: number): void {
    if (!this.ex.restoring) this.ex.windowExit(key);
  }
  loopHead(label: string, ...locals: number[]): void {
    if (this.ex.restoring) return;
    this.ex.markLoopHead(this.id, label, locals);
    let h1 = hashString(label) ^ Math.imul(this.id + 1, 0x27d4eb2d);
    let h2 = mix32(h1 ^ 0x165667b1);
    for (const v of locals) {
      h1 = mix32(h1 ^ Math.imul(v | 0, 0x9e3779b1));
      h2 = mix32(h2 + Math.imul(v | 0, 0x85ebca77));
    }
    this.ex.l1[this.id] = h1;
    this.ex.l2[this.id] = h2;
  }
  progress(): void {
    if (!this.ex.restoring) this.ex.markProgress();
  }
}

/**
 * Everything needed to bring an execution back to an earlier point without re-running it from the
 * start: shared memory, hashes, per-thread bookkeeping, and how many values each thread had been
 * fed (a thread's generator is rebuilt by feeding its own recorded values again).
 */
export interface Snapshot {
  /** Packed: memory cells, then per thread l1, l2, history length, peek-log length; then memH1, memH2, events, violations, fatal. */
  ints: Int32Array;
  pending: (Op | null)[];
  windows: Map<number, number> | null;
}

export class Execution {
  readonly n: number;
  readonly mem: Int32Array;
  readonly pending: (Op | null)[];
  readonly done: boolean[];
  /** Per-thread local-state fingerprint lanes. */
  readonly l1: Int32Array;
  readonly l2: Int32Array;
  private readonly gens: (Generator<Op, void, number> | null)[];
  /** Values fed to each thread's generator since it started (op results and choice outcomes). */
  private readonly hist: number[][];
  /** True while generators are rebuilt from their history: thread-API side effects are suppressed. */
  restoring = false;
  /** Values fed to generators while rebuilding them (the cost of going back). */
  refed = 0;
  /** Per thread, when its spec can resume at a loop head: where each loop head was passed. */
  private readonly heads: { pos: number; peek: number; label: string; locals: number[] }[][];
  /** Per thread: values its code read with peek() (outside steps), in order. */
  private readonly peeks: number[][];
  private peekThread = 0;
  private peekPos = 0;
  /** While thread code runs: record what it peeks and fold it into its local state. */
  private readonly recordPeek = (v: number, cell: number): number => {
    const t = this.peekThread;
    this.peeks[t]!.push(v);
    this.mixLocal(t, v);
    if (this.fus !== null) this.fus.peek(t, cell);
    return v;
  };
  /**
   * Fusion of scheduling points (fusion.ts), or null for none. With fusion, one step (one event,
   * one scheduling point) may run several model steps of one thread; the model steps are kept in
   * the `m*` arrays below for traces.
   */
  fus: FusionState | null = null;
  /** Model steps in the last step() (1 without fusion). */
  lastSpan = 1;
  // Model steps ("micro" steps; one per executed op), for traces. Event e covers model steps
  // evMicro[e] .. evMicro[e+1]-1 (the last event: up to microLength).
  readonly evMicro: number[] = [];
  readonly mTid: number[] = [];
  readonly mKind: number[] = [];
  readonly mObj: number[] = [];
  readonly mObjs: (readonly number[] | null)[] = [];
  readonly mRead: number[] = [];
  readonly mWrite: number[] = [];
  readonly mLabel: string[] = [];
  readonly mChoices: (number[] | null)[] = [];
  readonly mEnvFail: boolean[] = [];
  private nMicro = 0;
  get microLength(): number {
    return this.nMicro;
  }
  /** Index of the first model step of event e (e may be the event count). */
  microStart(e: number): number {
    return e >= this.nEv ? this.nMicro : this.evMicro[e]!;
  }
  /** While a thread is rebuilt: give back what it peeked the first time. */
  private readonly replayPeek = (_v: number): number => {
    const l = this.peeks[this.peekThread]!;
    if (this.peekPos >= l.length) throw new Error(`thread ${this.program.threads[this.peekThread]!.name} is not deterministic: it peeks more when rebuilt`);
    return l[this.peekPos++]!;
  };
  private readonly ctxs: ThreadCtx[];

  // Events (one per executed visible step), as parallel arrays.
  readonly evTid: number[] = [];
  readonly evKind: number[] = [];
  /** The op each event executed (DPOR asks whether a blocking op was enabled in another state). */
  readonly evOp: Op[] = [];
  readonly evObj: number[] = [];
  readonly evObjs: (readonly number[] | null)[] = [];
  readonly evMode: Mode[] = [];
  readonly evRead: number[] = [];
  readonly evWrite: number[] = [];
  readonly evLabel: string[] = [];
  readonly evChoices: (number[] | null)[] = [];
  readonly evChoiceK: (number[] | null)[] = [];
  /** The step took an environment-injected failure (a choice with env and outcome != 0). */
  readonly evEnvFail: boolean[] = [];
  /** The step completed something (thread end or ThreadApi.progress()). */
  readonly evProgress: boolean[] = [];
  /** Observer groups the step touched (objects of invariants it wrote, windows it opened/closed). */
  readonly evGroup: number[] = [];
  rootChoices: number[] = [];
  rootChoiceK: number[] = [];

  violations: Violation[] = [];
  /** A fatal violation ended this execution. */
  fatal = false;
  /**
   * End the execution at the first fatal violation (default). Explorers that collect every
   * violated property turn this off: the failing thread is still terminated (an assertion), but
   * the other threads go on, so that violations and races behind it are still reached.
   */
  stopOnFatal = true;
  /** Labels of every step and choice executed by this Execution object (across resets): coverage. */
  readonly coverage = new Set<string>();

  private memH1 = 0;
  private memH2 = 0;
  private readonly initH1: number;
  private readonly initH2: number;
  private windows = new Map<number, number>();
  private exited: number[] = [];
  private qObjKeys: Map<number, number[]>[] = [];
  private readonly props: ReadonlySet<string> | null;

  constructor(
    readonly program: Program,
    public oracle: Oracle,
    properties: ReadonlySet<string> | null = null,
  ) {
    this.props = properties;
    const n = program.threads.length;
    this.n = n;
    program.world.reset();
    this.mem = program.world.mem;
    this.pending = new Array<Op | null>(n).fill(null);
    this.done = new Array<boolean>(n).fill(false);
    this.l1 = new Int32Array(n);
    this.l2 = new Int32Array(n);
    this.gens = new Array(n).fill(null);
    this.hist = Array.from({ length: n }, () => []);
    this.peeks = Array.from({ length: n }, () => []);
    this.heads = Array.from({ length: n }, () => []);
    this.ctxs = program.threads.map((t, i) => new ThreadCtx(this, i, t.name));
    let h1 = 0;
    let h2 = 0;
    const init = program.world.initial;
    for (let i = 0; i < init.length; i++) {
      h1 = (h1 + cellHash1(i, init[i]!)) | 0;
      h2 = (h2 + cellHash2(i, init[i]!)) | 0;
    }
    this.initH1 = h1;
    this.initH2 = h2;
    this.qObjKeys = program.quiescent.map((q) => {
      const m = new Map<number, number[]>();
      for (const key of q.keys)
        for (const o of q.objsOf(key)) {
          const l = m.get(o);
          if (l) l.push(key);
          else m.set(o, [key]);
        }
      return m;
    });
  }

  /** Number of events executed (the event arrays may hold stale entries beyond it). */
  private nEv = 0;
  get length(): number {
    return this.nEv;
  }

  /** Start a fresh execution: initial memory, new generators, each run to its first visible op. */
  reset(): void {
    this.program.world.reset();
    this.memH1 = this.initH1;
    this.memH2 = this.initH2;
    this.nEv = 0;
    this.nMicro = 0;
    this.rootChoices = [];
    this.rootChoiceK = [];
    this.violations = [];
    this.fatal = false;
    this.windows.clear();
    this.exited.length = 0;
    for (let t = 0; t < this.n; t++) {
      this.done[t] = false;
      this.pending[t] = null;
      this.l1[t] = mix32(t + 0x1234567);
      this.l2[t] = mix32(t + 0x7654321);
      this.gens[t] = this.program.threads[t]!.body(this.ctxs[t]!);
      this.hist[t]!.length = 0;
      this.peeks[t]!.length = 0;
      this.heads[t]!.length = 0;
    }
    // Every thread starts (runs to its first visible op) even if one fails on the way, so that
    // the root choices recorded do not depend on whether the execution stops at violations.
    for (let t = 0; t < this.n; t++) this.resume(t, 0, true);
  }

  snapshot(): Snapshot {
    const m = this.mem.length;
    const n = this.n;
    const ints = new Int32Array(m + 4 * n + 6);
    ints.set(this.mem, 0);
    ints.set(this.l1, m);
    ints.set(this.l2, m + n);
    for (let t = 0; t < n; t++) {
      ints[m + 2 * n + t] = this.hist[t]!.length;
      ints[m + 3 * n + t] = this.peeks[t]!.length;
    }
    const o = m + 4 * n;
    ints[o] = this.memH1;
    ints[o + 1] = this.memH2;
    ints[o + 2] = this.nEv;
    ints[o + 3] = this.violations.length;
    ints[o + 4] = this.fatal ? 1 : 0;
    ints[o + 5] = this.nMicro;
    return { ints, pending: this.pending.slice(), windows: this.windows.size > 0 ? new Map(this.windows) : null };
  }

  /**
   * Go back to `s`, taken earlier in this same execution (the events before it are unchanged).
   * Threads that have not stepped since keep their generators; the others are rebuilt by feeding
   * them their recorded values (deterministic thread code gives back the same pending op).
   */
  restore(s: Snapshot): void {
    const m = this.mem.length;
    const n = this.n;
    const ints = s.ints;
    this.mem.set(ints.subarray(0, m));
    this.l1.set(ints.subarray(m, m + n));
    this.l2.set(ints.subarray(m + n, m + 2 * n));
    const o = m + 4 * n;
    this.memH1 = ints[o]!;
    this.memH2 = ints[o + 1]!;
    this.nEv = ints[o + 2]!;
    this.violations.length = ints[o + 3]!;
    this.fatal = ints[o + 4] === 1;
    this.nMicro = ints[o + 5]!;
    this.windows = s.windows ? new Map(s.windows) : new Map();
    this.exited.length = 0;
    for (let t = 0; t < n; t++) {
      const h = this.hist[t]!;
      const len = ints[m + 2 * n + t]!;
      // Between steps, a thread has no pending op exactly when it has finished.
      this.pending[t] = s.pending[t]!;
      this.done[t] = s.pending[t] === null;
      if (h.length === len) continue;
      h.length = len;
      this.peeks[t]!.length = ints[m + 3 * n + t]!;
      const hd = this.heads[t]!;
      while (hd.length > 0 && hd[hd.length - 1]!.pos > len) hd.pop();
      // Rebuilt lazily, when the thread next steps: many are never stepped before the next restore.
      this.gens[t] = null;
    }
  }

  /** Observer groups touched by the current model step (its writes, the windows its code opened or closed). */
  private microGroup = 0;
  /** Thread code passed a loop head since the last op (ends a fused step). */
  private headPassed = false;

  markLoopHead(t: number, label: string, locals: number[]): void {
    this.headPassed = true;
    if (this.program.threads[t]!.resume) this.heads[t]!.push({ pos: this.hist[t]!.length, peek: this.peeks[t]!.length, label, locals });
  }

  /**
   * Rebuild thread t's generator by feeding it its recorded values (see restore()): from its start,
   * or from its last loop head when the thread can resume there.
   */
  private rebuild(t: number): void {
    const h = this.hist[t]!;
    const len = h.length;
    const spec = this.program.threads[t]!;
    const head = spec.resume ? this.heads[t]![this.heads[t]!.length - 1] : undefined;
    const gen = head ? spec.resume!(this.ctxs[t]!, head.label, head.locals) : spec.body(this.ctxs[t]!);
    const from = head ? head.pos : 0;
    this.gens[t] = gen;
    this.restoring = true;
    this.program.world.current = this.ctxs[t]!;
    this.peekThread = t;
    this.peekPos = head ? head.peek : 0;
    this.program.world.onPeek = this.replayPeek;
    try {
      let r = gen.next(0);
      for (let i = from; i < len; i++) r = gen.next(h[i]!);
      this.refed += len - from;
      const want = this.pending[t]!;
      if (r.done || r.value.k !== want.k || r.value.o !== want.o)
        throw new Error(`thread ${this.program.threads[t]!.name} is not deterministic: rebuilding it from its history gave another pending op`);
      this.pending[t] = r.value;
    } finally {
      this.restoring = false;
      this.program.world.onPeek = null;
    }
  }

  isEnabled(t: number): boolean {
    const op = this.pending[t];
    if (op === null || op === undefined) return false;
    const mem = this.mem;
    switch (op.k) {
      case K.Wait:
        return op.pred!();
      case K.WaitLoad:
        return op.vpred!(mem[op.s]!);
      case K.Lock:
      case K.RLock:
      case K.WAnnounce:
        return mem[op.s] === 0;
      case K.WAcquire:
        return mem[op.s + 1] === 0;
      default:
        return true;
    }
  }

  /** Bitmask of enabled threads. */
  enabledMask(): number {
    let m = 0;
    for (let t = 0; t < this.n; t++) if (this.isEnabled(t)) m |= 1 << t;
    return m;
  }

  allDone(): boolean {
    for (let t = 0; t < this.n; t++) if (!this.done[t]) return false;
    return true;
  }

  /** Does thread `t`'s pending op conflict with executed event `e`? (Conservative for the pending op.) */
  pendingConflictsWith(t: number, e: number): boolean {
    // The local code after t's op may open or close a window: unknown before it runs.
    if (this.pending[t] && this.evGroup[e] !== 0) return true;
    return this.pendingTouches(t, e);
  }

  /** The object part of `pendingConflictsWith` (observer groups ignored). */
  pendingTouches(t: number, e: number): boolean {
    const op = this.pending[t];
    if (!op) return false;
    // With fusion, the step t takes next may run more ops after this one: unknown until it runs.
    if (this.fus !== null && this.fus.couldFuse(t, op)) return true;
    const pm = pendingModeAt(op, this.mem);
    if (pm === M.None) return false;
    const em = this.evMode[e]!;
    if (em === M.None) return false;
    if (!(pm === M.W || em === M.W || pm !== em)) return false;
    return overlap(op.objs ?? null, op.o, this.evObjs[e]!, this.evObj[e]!);
  }

  /**
   * Execute thread t's pending op, then run the thread's local code to its next visible op. With
   * fusion, go on with t's next op while the op just executed is a right mover and the next one
   * can run (fusion.ts): one event, one scheduling point, several model steps.
   */
  step(t: number): void {
    if (this.gens[t] === null) this.rebuild(t);
    const e = this.nEv++;
    this.evTid[e] = t;
    this.evMicro[e] = this.nMicro;
    this.evChoices[e] = null;
    this.evChoiceK[e] = null;
    this.evEnvFail[e] = false;
    this.evProgress[e] = false;
    this.evGroup[e] = 0;
    const fus = this.fus;
    let span = 0;
    for (;;) {
      const op = this.pending[t]!;
      this.headPassed = false;
      const r = this.execOp(t, op);
      const mode = this.xMode;
      const w = this.xWrite;
      const m = this.nMicro++;
      this.mTid[m] = t;
      this.mKind[m] = op.k;
      this.mObj[m] = op.o;
      this.mObjs[m] = op.objs ?? null;
      this.mRead[m] = r;
      this.mWrite[m] = w;
      this.mLabel[m] = op.label;
      this.mChoices[m] = null;
      this.mEnvFail[m] = false;
      if (span++ === 0) {
        this.evKind[e] = op.k;
        this.evOp[e] = op;
        this.evObj[e] = op.o;
        this.evObjs[e] = op.objs ?? null;
        this.evMode[e] = mode;
        this.evRead[e] = r;
        this.evWrite[e] = w;
        this.evLabel[e] = op.label;
      } else this.mergeFootprint(e, op, mode);
      let grp = 0;
      if (mode === M.W || mode === M.S) {
        const g = this.program.objGroups;
        if (op.objs) for (const o of op.objs) grp |= g[o]!;
        else if (op.o >= 0) grp = g[op.o]!;
      }
      this.evGroup[e]! |= grp;
      this.microGroup = grp;
      this.coverage.add(op.label);
      this.pending[t] = null;
      this.mixLocal(t, r);
      if (!this.fatal) this.resume(t, r);
      if (!this.fatal) this.check(t, mode, op);
      // Go on with t's next op only if it cannot block (so how far a step goes never depends on
      // other threads), t did not pass a loop head (a retry loop must meet the cycle check at a
      // scheduling point), and the op just run is a right mover (fusion.ts).
      // Nor if it wrote what an invariant reads or opened/closed a window (microGroup): the states
      // a fused step skips must look, to every invariant, like states that are visited.
      if (fus === null || this.fatal || this.done[t] || this.headPassed || this.microGroup !== 0 || span >= MAX_SPAN) break;
      if (isBlocking(this.pending[t]!.k) || !fus.rightMover(t, op)) break;
    }
    this.lastSpan = span;
  }

  /** Event e's footprint grows by a fused op: the union of objects, mode W unless all agree. */
  private mergeFootprint(e: number, op: Op, mode: Mode): void {
    const cur = this.evObjs[e] ?? (this.evObj[e]! >= 0 ? [this.evObj[e]!] : []);
    const add = op.objs ?? (op.o >= 0 ? [op.o] : []);
    const objs = cur.slice();
    for (const o of add) if (!objs.includes(o)) objs.push(o);
    this.evObjs[e] = objs;
    if (this.evMode[e] !== mode) this.evMode[e] = M.W;
  }

  /** Mode and value written by the last execOp (NONE: nothing written). */
  private xMode: Mode = M.W;
  private xWrite = NONE;

  /** Execute `op` of thread t against shared memory; returns the op's result. */
  private execOp(t: number, op: Op): number {
    const mem = this.mem;
    const s = op.s;
    let r = 0;
    let mode: Mode = M.W;
    let w = NONE;
    switch (op.k) {
      case K.Load:
        r = mem[s]!;
        mode = M.R;
        break;
      case K.Store:
        r = mem[s]!;
        w = op.a;
        this.write(s, w);
        r = 0;
        break;
      case K.Cas:
        r = mem[s]!;
        // A cmpxchg that fails, or succeeds without changing the value, only read the cell.
        if (r === op.a && op.b !== r) {
          w = op.b;
          this.write(s, w);
        } else mode = M.R;
        break;
      case K.Xchg:
        r = mem[s]!;
        w = op.a;
        this.write(s, w);
        break;
      case K.Rmw:
        r = mem[s]!;
        w = op.fn!(r) | 0;
        if (w === r) {
          mode = M.R;
          w = NONE;
        } else this.write(s, w);
        break;
      case K.Wait:
        mode = M.R;
        break;
      case K.WaitLoad:
        r = mem[s]!;
        mode = M.R;
        break;
      case K.Lock:
        w = t + 1;
        this.write(s, w);
        break;
      case K.Unlock:
        if (mem[s] !== t + 1) this.lockMisuse(t, op, "unlock of a lock this thread does not hold");
        w = 0;
        this.write(s, 0);
        break;
      case K.RLock:
        mode = M.S;
        this.write(s + 1, mem[s + 1]! + 1);
        break;
      case K.RUnlock:
        mode = M.S;
        if (mem[s + 1]! <= 0) this.lockMisuse(t, op, "read_unlock without readers");
        this.write(s + 1, mem[s + 1]! - 1);
        break;
      case K.WAnnounce:
        w = -(t + 1);
        this.write(s, w);
        break;
      case K.WAcquire:
        if (mem[s] !== -(t + 1)) this.lockMisuse(t, op, "write_lock acquire without queueing");
        w = t + 1;
        this.write(s, w);
        break;
      case K.WUnlock:
        if (mem[s] !== t + 1) this.lockMisuse(t, op, "write_unlock of a lock this thread does not hold");
        w = 0;
        this.write(s, 0);
        break;
      case K.TryEx:
        if (mem[s] === 0) {
          r = 1;
          w = 1;
          this.write(s, 1);
        } else mode = M.R;
        break;
      case K.TryShared:
        if ((mem[s]! & 1) === 0) {
          r = 1;
          mode = M.S;
          this.write(s, mem[s]! + 2);
        } else mode = M.R;
        break;
      case K.ReleaseEx:
        if (mem[s] !== 1) this.lockMisuse(t, op, "exclusive release of a lock not held exclusively");
        w = 0;
        this.write(s, 0);
        break;
      case K.ReleaseShared:
        if (mem[s]! < 2 || (mem[s]! & 1) === 1) this.lockMisuse(t, op, "shared release of a lock not held shared");
        mode = M.S;
        this.write(s, mem[s]! - 2);
        break;
      default:
        throw new Error(`unknown op kind ${op.k}`);
    }
    this.xMode = mode;
    this.xWrite = w;
    return r;
  }

  private lockMisuse(t: number, op: Op, msg: string): void {
    this.addViolation("assertion", `${msg}: ${op.label} on ${this.program.world.name(op.o)}`, t, true);
  }

  private write(i: number, v: number): void {
    const old = this.mem[i]!;
    if (old === v) return;
    this.memH1 = (this.memH1 - cellHash1(i, old) + cellHash1(i, v)) | 0;
    this.memH2 = (this.memH2 - cellHash2(i, old) + cellHash2(i, v)) | 0;
    this.mem[i] = v;
  }

  private mixLocal(t: number, v: number): void {
    this.l1[t] = mix32(this.l1[t]! ^ Math.imul(v, 0x9e3779b1));
    this.l2[t] = mix32((this.l2[t]! + Math.imul(v ^ 0x2545f491, 0x85ebca77)) | 0);
  }

  private resume(t: number, v: number, first = false): void {
    const gen = this.gens[t]!;
    const hist = this.hist[t]!;
    this.program.world.current = this.ctxs[t]!;
    let val = v;
    if (!first) hist.push(v);
    for (;;) {
      let res: IteratorResult<Op, void>;
      this.peekThread = t;
      this.program.world.onPeek = this.recordPeek;
      try {
        res = gen.next(val);
      } catch (err) {
        this.program.world.onPeek = null;
        if (err instanceof AssertionFailure) {
          this.addViolation(err.property, err.message, t, true);
          this.done[t] = true;
          this.pending[t] = null;
          return;
        }
        throw err;
      }
      this.program.world.onPeek = null;
      if (res.done) {
        this.done[t] = true;
        this.pending[t] = null;
        this.l1[t] = mix32(this.l1[t]! ^ 0x0d0e0d0e);
        this.markProgress();
        return;
      }
      const op = res.value;
      if (op.k === K.Choice) {
        const c = this.oracle.choose(t, op.a, op);
        if (!(c >= 0 && c < op.a)) throw new Error(`oracle chose ${c} for a ${op.a}-way choice '${op.label}'`);
        this.recordChoice(c, op.a, op.env === true && c !== 0);
        this.coverage.add(op.label);
        this.mixLocal(t, c);
        val = c;
        hist.push(c);
        continue;
      }
      this.pending[t] = op;
      if (this.fus !== null) this.fus.pending(t, op);
      return;
    }
  }

  private recordChoice(c: number, k: number, envFail: boolean): void {
    const e = this.nEv - 1;
    if (e < 0) {
      this.rootChoices.push(c);
      this.rootChoiceK.push(k);
      return;
    }
    (this.evChoices[e] ??= []).push(c);
    (this.evChoiceK[e] ??= []).push(k);
    const m = this.nMicro - 1;
    (this.mChoices[m] ??= []).push(c);
    if (envFail) {
      this.evEnvFail[e] = true;
      this.mEnvFail[m] = true;
    }
  }

  markProgress(): void {
    const e = this.nEv - 1;
    if (e >= 0) this.evProgress[e] = true;
  }

  addViolation(property: string, message: string, thread: number, fatal: boolean, cycleStart?: number): void {
    if (this.props && !this.props.has(property)) return;
    if (fatal && this.stopOnFatal) this.fatal = true;
    if (this.violations.some((v) => v.property === property)) return;
    const v: Violation = { property, message, thread, step: this.nEv, fatal };
    if (cycleStart !== undefined) v.cycleStart = cycleStart;
    this.violations.push(v);
  }

  windowEnter(key: number): void {
    this.windows.set(key, (this.windows.get(key) ?? 0) + 1);
    this.touchKey(key);
  }

  private touchKey(key: number): void {
    const e = this.nEv - 1;
    const g = this.program.keyGroups.get(key) ?? 0;
    this.microGroup |= g;
    if (e >= 0) this.evGroup[e]! |= g;
  }

  windowExit(key: number): void {
    const c = (this.windows.get(key) ?? 0) - 1;
    if (c < 0) throw new Error(`window ${key} exited more often than entered`);
    this.windows.set(key, c);
    this.exited.push(key);
    this.touchKey(key);
  }

  inWindow(key: number): boolean {
    return (this.windows.get(key) ?? 0) > 0;
  }

  private selected(name: string): boolean {
    return this.props === null || this.props.has(name);
  }

  /** Invariants after a model step of thread t: the always-invariants, then the quiescent ones on the keys it touched. */
  private check(t: number, mode: Mode, op: Op): void {
    const p = this.program;
    for (const inv of p.invariants) {
      if (!this.selected(inv.name)) continue;
      const msg = inv.check();
      if (msg !== null) {
        this.addViolation(inv.name, msg, t, true);
        if (this.fatal) return;
      }
    }
    for (let qi = 0; qi < p.quiescent.length; qi++) {
      const q = p.quiescent[qi]!;
      if (!this.selected(q.name)) continue;
      const map = this.qObjKeys[qi]!;
      const keys: number[] = [];
      if (mode === M.W || mode === M.S) {
        const objs = op.objs;
        if (objs) for (const o of objs) keys.push(...(map.get(o) ?? []));
        else keys.push(...(map.get(op.o) ?? []));
      }
      for (const k of this.exited) if (q.keys.includes(k)) keys.push(k);
      for (const k of keys) {
        if (this.inWindow(k)) continue;
        const msg = q.check(k);
        if (msg !== null) {
          this.addViolation(q.name, msg, t, true);
          if (this.fatal) {
            this.exited.length = 0;
            return;
          }
          break;
        }
      }
    }
    this.exited.length = 0;
  }

  /** End-of-execution checks; call when every thread has finished. */
  checkFinal(): void {
    for (const inv of this.program.final) {
      if (!this.selected(inv.name)) continue;
      const msg = inv.check();
      if (msg !== null) this.addViolation(inv.name, msg, -1, true);
    }
  }

  /** Fingerprint of the current state (shared memory + each thread's local state), two 32-bit lanes. */
  fp1 = 0;
  fp2 = 0;
  fingerprint(): void {
    let h1 = this.memH1;
    let h2 = this.memH2;
    for (let t = 0; t < this.n; t++) {
      h1 = (h1 + mix32(this.l1[t]! ^ Math.imul(t + 1, 0x2c1b3c6d))) | 0;
      h2 = (h2 + mix32(this.l2[t]! ^ Math.imul(t + 3, 0x297a2d39))) | 0;
    }
    this.fp1 = mix32(h1 ^ 0x51ed270b);
    this.fp2 = mix32(h2 ^ 0x2f7d8e1b);
  }

  /** Is the pending op of thread t one that may block? */
  pendingBlocking(t: number): boolean {
    const op = this.pending[t];
    return op !== null && op !== undefined && isBlocking(op.k);
  }
}

function overlap(aObjs: readonly number[] | null, a: number, bObjs: readonly number[] | null, b: number): boolean {
  if (aObjs === null && bObjs === null) return a === b;
  if (aObjs === null) return bObjs!.includes(a);
  if (bObjs === null) return aObjs.includes(b);
  for (const x of aObjs) if (bObjs.includes(x)) return true;
  return false;
}

/** Do executed events e and f conflict (same object, not both reads / both shared)? */
export function eventsConflict(ex: Execution, e: number, f: number): boolean {
  if ((ex.evGroup[e]! & ex.evGroup[f]!) !== 0) return true;
  const a = ex.evMode[e]!;
  const b = ex.evMode[f]!;
  if (a === M.None || b === M.None) return false;
  if (a === b && a !== M.W) return false;
  return overlap(ex.evObjs[e]!, ex.evObj[e]!, ex.evObjs[f]!, ex.evObj[f]!);
}
