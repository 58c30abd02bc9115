// One execution of a program: the threads' generators, the shared memory, and the events so far.
// Explorers decide which thread steps next (and which outcome each choice takes, through the
// Oracle); this class only executes, records and checks. It knows nothing of any domain.
import { execOp, opState, type OpState } from "./exec-op.js";
import { cellHash1, cellHash2, hashString, mix32 } from "./hash.js";
import type { FusionState } from "./fusion.js";
import { K, M, isBlocking, pendingModeAt, type Mode, type Op } from "./ops.js";
import type { Program, QuiescentInvariant, ThreadApi } from "./program.js";

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
/** The footprint of an op on no object (a choice). */
const NO_OBJS: readonly number[] = [];
/** At most this many model steps in one fused step (a loop without a loop head could run forever). */
const MAX_SPAN = 10_000;

class ThreadCtx implements ThreadApi {
  constructor(
    private readonly ex: Execution,
    readonly id: number,
    readonly name: string,
  ) {}
  assert(cond: boolean, message: string, property = "assertion"): asserts cond {
    // Also while rebuilding: a rebuild never passes a failed assertion, except to the end of a
    // thread that failed one (finishThreads), which must stop there as it did.
    if (!cond) throw new AssertionFailure(property, message);
  }
  report(property: string, message: string): void {
    if (this.ex.restoring) return;
    this.ex.addViolation(property, message, this.id, false);
    this.ex.fx?.push({ k: FX.Report, p: property, m: message, key: 0 });
  }
  enter(key: number): void {
    if (this.ex.restoring) return;
    this.ex.windowEnter(key);
    this.ex.fx?.push({ k: FX.Enter, p: "", m: "", key });
  }
  exit(key: number): void {
    if (this.ex.restoring) return;
    this.ex.windowExit(key);
    this.ex.fx?.push({ k: FX.Exit, p: "", m: "", key });
  }
  loopHead(label: string, ...locals: number[]): void {
    if (this.ex.restoring) return;
    this.ex.markLoopHead();
    // The label and locals are kept with the effect: symmetry (symmetry.ts) computes the hash the
    // image thread would have at this head from them (`Execution.localImage`).
    this.ex.fx?.push({ k: FX.Head, p: label, m: "", key: 0, loc: locals });
    // No thread id in a local-state hash (the fingerprint places each thread's hash at its
    // position): equal code histories of interchangeable threads hash alike (symmetry.ts).
    headHash(label, locals, this.ex.l1, this.ex.l2, this.id);
  }
  progress(): void {
    if (this.ex.restoring) return;
    this.ex.markProgress();
    this.ex.fx?.push({ k: FX.Progress, p: "", m: "", key: 0 });
  }
}

/** The local-state hash a loop head sets (label and live locals), into o1[i]/o2[i]. */
function headHash(label: string, locals: readonly number[], o1: Int32Array, o2: Int32Array, i: number): void {
  let h1 = hashString(label);
  let h2 = mix32(h1 ^ 0x165667b1);
  for (const v of locals) {
    h1 = mix32(h1 ^ Math.imul(v | 0, 0x9e3779b1));
    h2 = mix32(h2 + Math.imul(v | 0, 0x85ebca77));
  }
  o1[i] = h1;
  o2[i] = h2;
}

/**
 * What symmetry (symmetry.ts) needs to compute the local-state hash of a thread's image under each
 * group element: how an op result and a loop head's live locals are renamed.
 */
export interface LocalImager {
  /** Number of group elements (identity excluded). */
  readonly size: number;
  /** Element k: the image of value v, the result of reading cell `cell`. */
  value(k: number, cell: number, v: number): number;
  /** Element k: the image thread's live locals at loop head `label`, or null when they cannot be renamed. */
  locals(k: number, label: string, locals: readonly number[]): readonly number[] | null;
}

/** What thread code did between two visible ops, besides computing (recorded to be replayed). */
const FX = { Report: 0, Enter: 1, Exit: 2, Head: 3, Progress: 4 } as const;
interface Effect {
  k: (typeof FX)[keyof typeof FX];
  p: string;
  m: string;
  key: number;
  /** Head: the live locals given to loopHead (p is its label). */
  loc?: readonly number[];
}

/** Kinds of thread-local states (LNode). */
const NK = { Root: 0, Op: 1, Choice: 2, Done: 3, Fail: 4 } as const;

/**
 * A thread-local state: where a thread's code stands between two visible operations. The code is
 * deterministic given the values it receives (op results, choice outcomes, what it peeks), so its
 * behaviour from here on is a function of this node: the op it has pending (or that it finished,
 * or failed an assertion), and, per value it may receive next, the code segment that follows (an
 * LEdge: the effects that segment had and the node where it ends). Nodes are shared by equal
 * local-state hashes (the same identity state caching uses: a loop head resets the hash to its
 * label and live locals). See docs/design.md, "Restoring threads".
 */
class LNode {
  readonly edges: LEdge[] = [];
  /** The edge this node was first reached by, from `up` (to rebuild a generator here: feed the values on the path). */
  up: LNode | null = null;
  upEdge: LEdge | null = null;
  /** Id of the last Execution whose coverage has this node's label (so each adds it once). */
  covered = 0;
  /** Symmetry: per group element, the image's hash lanes and whether known (3 ints each), computed for `imgBy`. */
  img: Int32Array | null = null;
  imgBy: LocalImager | null = null;
  /**
   * The fusion state (fusion.ts) last told that a thread stands at this node with its op pending.
   * FusionState.pending() only sets bits that stay set, so telling the same one again changes
   * nothing: advance() skips it (a node belongs to one thread).
   */
  fusSeen: FusionState | null = null;
  constructor(
    readonly kind: number,
    readonly op: Op | null,
    readonly l1: number,
    readonly l2: number,
    readonly failProp: string,
    readonly failMsg: string,
  ) {}
}

let executionIds = 0;

/** Per program: the thread-code record (each thread's start node and its nodes by hash). */
const records = new WeakMap<Program, { roots: LNode[]; interned: Map<number, LNode[]>[] }>();

interface LEdge {
  /** The value fed (op result or choice outcome; 0 for a thread's start). */
  v: number;
  /** The fusion state last told of this segment's peeks (as LNode.fusSeen: telling it again changes nothing). */
  fusSeen: FusionState | null;
  /** What the segment's code peeked, as (cell, value) pairs: the edge applies only where memory still shows them. */
  peeks: number[] | null;
  fx: Effect[] | null;
  to: LNode;
}

/**
 * Everything needed to bring an execution back to an earlier point of the same execution without
 * re-running it: hashes, bookkeeping, each thread's local-state node (its pending op and what its
 * code does next are there; no thread code runs to go back), and how long the undo trails were.
 * Shared memory and critical windows are not copied: every change to them since the snapshot is
 * in the execution's undo trails, and restore() undoes those (a cost proportional to what changed
 * since, not to the size of memory).
 */
export interface Snapshot {
  /** Packed: per thread l1, l2; then memH1, memH2, events, violations, fatal, model steps, memory trail, window trail, epoch. */
  ints: Int32Array;
  nodes: LNode[];
  /** Test hook (`checkRestore`): a full copy of memory and the open windows, compared after restore(). */
  check?: { mem: Int32Array; windows: string };
}

export class Execution {
  readonly n: number;
  readonly mem: Int32Array;
  readonly pending: (Op | null)[];
  readonly done: boolean[];
  /** Per-thread local-state fingerprint lanes. */
  readonly l1: Int32Array;
  readonly l2: Int32Array;
  /** Per thread: its live generator, and the local-state node it stands at (null: none). */
  private readonly gens: (Generator<Op, void, number> | null)[];
  private readonly genAt: (LNode | null)[];
  /**
   * Per thread: the node up to which its code last ran (its live generator's node, or where that
   * generator ended). What thread code wrote outside the World is what running the path to this
   * node wrote (finishThreads()).
   */
  private readonly jsAt: (LNode | null)[];
  /** Per thread: the local-state node it is at in this execution. */
  private readonly cur: LNode[];
  /** Per thread: the node before its start (one edge per way its first code segment can go). */
  private readonly roots: LNode[];
  /** Per thread: nodes by l1 hash (nodes with equal local-state hashes are one node). */
  private readonly interned: Map<number, LNode[]>[];
  /**
   * Follow recorded code segments instead of running thread code where one applies (default).
   * Off: every segment runs the thread's code (a generator rebuilt by re-feeding when needed) —
   * the reference the tests compare the recorded segments with.
   */
  readonly memo: boolean;
  /** Test hook: every snapshot keeps a full copy of memory and windows, and restore() checks the trails gave them back. */
  private readonly checkRestore: boolean;
  /** Test hook: follow a segment whatever its code peeked (unsound; the tests must catch it). */
  private readonly unsoundMemo: boolean;
  /** True while generators are rebuilt from their history: thread-API side effects are suppressed. */
  restoring = false;
  /** Values fed to generators while rebuilding them (the cost of going back). */
  refed = 0;
  /** Code segments run (thread code executed) and followed from the record instead. */
  segmentsRun = 0;
  segmentsFollowed = 0;
  /** While thread code runs live: its effects, for the segment's record. */
  fx: Effect[] | null = null;
  private peekBuf: number[] = [];
  private peekThread = 0;
  /** While thread code runs: record what it peeks and fold it into its local state. */
  private readonly recordPeek = (v: number, cell: number): number => {
    const t = this.peekThread;
    this.peekBuf.push(cell, v);
    this.mixLocal(t, v);
    if (this.fus !== null) this.fus.peek(t, cell);
    if (this.por !== null) this.por.peek(t, cell);
    return v;
  };
  /** While a thread is rebuilt: give back what it peeked the first time (values, in order). */
  private replayPeeks: number[] = [];
  private replayPeekPos = 0;
  private readonly replayPeek = (_v: number): number => {
    if (this.replayPeekPos >= this.replayPeeks.length) throw new Error(`thread ${this.program.threads[this.peekThread]!.name} is not deterministic: it peeks more when rebuilt`);
    return this.replayPeeks[this.replayPeekPos++]!;
  };
  /**
   * Fusion of scheduling points (fusion.ts), or null for none. With fusion, one step (one event,
   * one scheduling point) may run several model steps of one thread; the model steps are kept in
   * the `m*` arrays below for traces.
   */
  fus: FusionState | null = null;
  /** Persistent sets (schedulers/persistent.ts): learns each thread's footprint from its pending ops and peeks. */
  por: { pending(t: number, op: Op): void; peek(t: number, cell: number): void; stepGroups(t: number, g: number): void } | null = null;
  /** Model steps in the last step() (1 without fusion). */
  lastSpan = 1;
  // Model steps ("micro" steps; one per executed op), for traces. Event e covers model steps
  // evMicro[e] .. evMicro[e+1]-1 (the last event: up to microLength).
  readonly evMicro: number[] = [];
  readonly mTid: number[] = [];
  /** The op of each model step (its kind, object(s) and label). */
  readonly mOp: Op[] = [];
  readonly mRead: number[] = [];
  readonly mWrite: number[] = [];
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
  /** The thread's code passed a loop head (`ThreadApi.loopHead`) after the step's op (DPOR's await loops). */
  readonly evHead: boolean[] = [];
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
  /** Unique per Execution object (the nodes' `covered` stamps). */
  private readonly id = ++executionIds;

  private memH1 = 0;
  private memH2 = 0;
  private readonly initH1: number;
  private readonly initH2: number;
  private readonly windows = new Map<number, number>();
  private exited: number[] = [];
  /** Per quiescent invariant: the keys each object's writes may change (by object id), its keys, and whether it is checked. */
  private qObjKeys: (number[] | undefined)[][] = [];
  private readonly qKeys: Set<number>[];
  private readonly qSel: boolean[];
  /** Per always-invariant: checked (selected properties). */
  private readonly invSel: boolean[];
  private readonly invBits: number[];
  /** Observer groups of the selected invariants (Program.groupsFor). */
  private readonly objGroups: Int32Array;
  private readonly keyGroups: ReadonlyMap<number, number>;
  /** Masked observer footprints (ObserverGroups.masked), when the explorer asked for them (DPOR: `maskedGroups`); else null. */
  private readonly masked: readonly ({ bits: number; mask: number } | null)[] | null;
  /** Tests only (a deliberately broken reduction): every write to a masked cell leaves the groups untouched. */
  private readonly maskedAny: boolean;
  private readonly props: ReadonlySet<string> | null;

  constructor(
    readonly program: Program,
    public oracle: Oracle,
    properties: ReadonlySet<string> | null = null,
    opts: { memo?: boolean; unsoundMemo?: boolean; checkRestore?: boolean; maskedGroups?: boolean | "any-write" } = {},
  ) {
    this.props = properties;
    this.checkRestore = opts.checkRestore === true;
    this.memo = opts.memo !== false;
    this.unsoundMemo = opts.unsoundMemo === true;
    const n = program.threads.length;
    this.n = n;
    program.world.reset();
    this.mem = program.world.mem;
    this.pending = new Array<Op | null>(n).fill(null);
    this.done = new Array<boolean>(n).fill(false);
    this.l1 = new Int32Array(n);
    this.l2 = new Int32Array(n);
    this.fpIn1 = new Int32Array(n);
    this.fpIn2 = new Int32Array(n);
    this.fpOut1 = new Int32Array(n);
    this.fpOut2 = new Int32Array(n);
    this.gens = new Array(n).fill(null);
    this.genAt = new Array(n).fill(null);
    this.jsAt = new Array(n).fill(null);
    // The record is a fact about the program's thread code, so every Execution of a program shares
    // it (the phases of the default strategy, minimization, replays).
    let rec = this.memo ? records.get(program) : undefined;
    if (rec === undefined) {
      rec = {
        roots: Array.from({ length: n }, () => new LNode(NK.Root, null, mix32(0x1234567), mix32(0x7654321), "", "")),
        interned: Array.from({ length: n }, () => new Map<number, LNode[]>()),
      };
      if (this.memo) records.set(program, rec);
    }
    this.roots = rec.roots;
    this.interned = rec.interned;
    this.cur = this.roots.slice();
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
    // Observer groups (Program.groupsFor): under DPOR (`maskedGroups`) those of the checked
    // invariants only, with masked footprints; else every invariant's, as before. And the group
    // bit of each always-invariant that is checked and declares its objects, or 0: checked after every step.
    const groups = program.groupsFor(opts.maskedGroups !== undefined && opts.maskedGroups !== false ? properties : null);
    this.objGroups = groups.objGroups;
    this.keyGroups = groups.keyGroups;
    this.invBits = groups.invBits.slice();
    this.masked = opts.maskedGroups !== undefined && opts.maskedGroups !== false && groups.masked.some((x) => x !== null) ? groups.masked : null;
    this.maskedAny = opts.maskedGroups === "any-write";
    this.qObjKeys = program.quiescent.map((q) => {
      const m: (number[] | undefined)[] = new Array(program.world.objs.length).fill(undefined);
      for (const key of q.keys)
        for (const o of q.objsOf(key)) {
          const l = m[o];
          if (l) l.push(key);
          else m[o] = [key];
        }
      return m;
    });
    this.qKeys = program.quiescent.map((q) => new Set(q.keys));
    this.qSel = program.quiescent.map((q) => this.selected(q.name));
    this.invSel = program.invariants.map((inv) => this.selected(inv.name));
  }

  /** Number of events executed (the event arrays may hold stale entries beyond it). */
  private nEv = 0;
  get length(): number {
    return this.nEv;
  }

  /** Start a fresh execution: initial memory, each thread at its start, run to its first visible op. */
  reset(): void {
    this.fpFresh = false;
    this.due = false;
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
    this.trailLen = 0;
    this.wtrail.length = 0;
    this.epoch++;
    for (let t = 0; t < this.n; t++) {
      this.done[t] = false;
      this.pending[t] = null;
      const r = this.roots[t]!;
      this.cur[t] = r;
      this.l1[t] = r.l1;
      this.l2[t] = r.l2;
    }
    // Every thread starts (runs to its first visible op) even if one fails on the way, so that
    // the root choices recorded do not depend on whether the execution stops at violations.
    for (let t = 0; t < this.n; t++) this.advance(t, 0);
  }

  /**
   * The current state, to come back to with restore() later in this same execution (before the
   * next reset()). `reuse`: a snapshot no longer needed, whose arrays are filled instead of new ones.
   */
  snapshot(reuse?: Snapshot): Snapshot {
    const n = this.n;
    const ints = reuse !== undefined ? reuse.ints : new Int32Array(2 * n + 9);
    const l1 = this.l1;
    const l2 = this.l2;
    for (let t = 0; t < n; t++) {
      ints[t] = l1[t]!;
      ints[n + t] = l2[t]!;
    }
    const o = 2 * n;
    ints[o] = this.memH1;
    ints[o + 1] = this.memH2;
    ints[o + 2] = this.nEv;
    ints[o + 3] = this.violations.length;
    ints[o + 4] = this.fatal ? 1 : 0;
    ints[o + 5] = this.nMicro;
    ints[o + 6] = this.trailLen;
    ints[o + 7] = this.wtrail.length;
    ints[o + 8] = this.epoch;
    const check = this.checkRestore ? { mem: this.mem.slice(), windows: this.windowsKey() } : undefined;
    if (reuse === undefined) return check ? { ints, nodes: this.cur.slice(), check } : { ints, nodes: this.cur.slice() };
    const nodes = reuse.nodes;
    for (let t = 0; t < n; t++) nodes[t] = this.cur[t]!;
    if (check) reuse.check = check;
    return reuse;
  }

  /**
   * Go back to `s`, taken earlier in this same execution (the events before it are unchanged):
   * undo the memory and window changes made since (the trails), put back the bookkeeping. No
   * thread code runs: each thread is put back at its local-state node, which holds its pending
   * op; its generator, if it is elsewhere, is brought there only when a segment not yet recorded
   * must run.
   */
  restore(s: Snapshot): void {
    this.fpFresh = false;
    this.due = false;
    const n = this.n;
    const ints = s.ints;
    const o = 2 * n;
    const tl = ints[o + 6]!;
    const wl = ints[o + 7]!;
    if (ints[o + 8] !== this.epoch || tl > this.trailLen || wl > this.wtrail.length) throw new Error("internal: restore() of a snapshot not taken earlier in this execution");
    const mem = this.mem;
    const tr = this.trail;
    for (let i = this.trailLen; i > tl; ) {
      i -= 2;
      mem[tr[i]!] = tr[i + 1]!;
    }
    this.trailLen = tl;
    const wt = this.wtrail;
    if (wt.length > wl) {
      for (let i = wt.length; i > wl; ) {
        i -= 2;
        this.windows.set(wt[i]!, wt[i + 1]!);
      }
      wt.length = wl;
    }
    const l1 = this.l1;
    const l2 = this.l2;
    for (let t = 0; t < n; t++) {
      l1[t] = ints[t]!;
      l2[t] = ints[n + t]!;
    }
    this.memH1 = ints[o]!;
    this.memH2 = ints[o + 1]!;
    this.nEv = ints[o + 2]!;
    const nv = ints[o + 3]!;
    if (this.violations.length !== nv) this.violations.length = nv;
    this.fatal = ints[o + 4] === 1;
    this.nMicro = ints[o + 5]!;
    if (this.exited.length !== 0) this.exited.length = 0;
    const pending = this.pending;
    const done = this.done;
    const cur = this.cur;
    const nodes = s.nodes;
    for (let t = 0; t < n; t++) {
      const nd = nodes[t]!;
      cur[t] = nd;
      // Between steps, a thread has no pending op exactly when it has finished.
      const op = nd.kind === NK.Op ? nd.op : null;
      pending[t] = op;
      done[t] = op === null;
    }
    if (s.check !== undefined) {
      for (let i = 0; i < mem.length; i++) if (mem[i] !== s.check.mem[i]) throw new Error(`internal: restore() gave cell ${i} = ${mem[i]}, the snapshot had ${s.check.mem[i]}`);
      if (this.windowsKey() !== s.check.windows) throw new Error(`internal: restore() gave windows ${this.windowsKey()}, the snapshot had ${s.check.windows}`);
    }
  }

  /** The open windows, canonically (checkRestore). */
  private windowsKey(): string {
    return [...this.windows].filter(([, c]) => c !== 0).sort((a, b) => a[0] - b[0]).join(";");
  }

  /** Undo trail of shared memory: (cell, value before) for every cell changed since the last reset(). */
  private trail = new Int32Array(256);
  private trailLen = 0;
  /** Undo trail of the critical windows: (key, count before) per change since the last reset(). */
  private readonly wtrail: number[] = [];
  /** Counts reset() calls: a snapshot belongs to one execution. */
  private epoch = 0;

  private logCell(c: number, old: number): void {
    let tr = this.trail;
    const l = this.trailLen;
    if (l + 2 > tr.length) {
      const bigger = new Int32Array(tr.length * 2);
      bigger.set(tr);
      this.trail = tr = bigger;
    }
    tr[l] = c;
    tr[l + 1] = old;
    this.trailLen = l + 2;
  }

  /** Observer groups touched by the current model step (its writes, the windows its code opened or closed). */
  private microGroup = 0;
  /** The current model step's code opened or closed a window (trailing fusion learns it: fusion.ts, winObj). */
  private microWin = false;
  /** Thread code passed a loop head since the last op (ends a fused step). */
  private headPassed = false;

  markLoopHead(): void {
    this.headPassed = true;
  }

  /**
   * Thread t, at its current node, receives `v` (an op's result, a choice's outcome; 0 to start):
   * follow the recorded code segment for v if there is one whose peeks memory still shows
   * (replaying its effects), else run the thread's code; then settle at the node it reaches
   * (asking the oracle at choices and going on).
   */
  private advance(t: number, v: number): void {
    let node = this.cur[t]!;
    let val = v;
    for (;;) {
      let next: LNode | null = null;
      if (this.memo) {
        const es = node.edges;
        const mem = this.mem;
        for (let i = 0; i < es.length; i++) {
          const e = es[i]!;
          if (e.v !== val) continue;
          const pk = e.peeks;
          if (pk !== null && !this.unsoundMemo) {
            let ok = true;
            for (let j = 0; j < pk.length; j += 2)
              if (mem[pk[j]!] !== pk[j + 1]) {
                ok = false;
                break;
              }
            if (!ok) continue;
          }
          this.replayEdge(t, e);
          next = e.to;
          this.segmentsFollowed++;
          break;
        }
      }
      if (next === null) next = this.runSegment(t, node, val);
      this.cur[t] = next;
      this.l1[t] = next.l1;
      this.l2[t] = next.l2;
      switch (next.kind) {
        case NK.Done:
          this.done[t] = true;
          this.pending[t] = null;
          this.markProgress();
          return;
        case NK.Fail:
          this.addViolation(next.failProp, next.failMsg, t, true);
          this.done[t] = true;
          this.pending[t] = null;
          return;
        case NK.Choice: {
          const op = next.op!;
          const c = this.oracle.choose(t, op.a, op);
          if (!(c >= 0 && c < op.a)) throw new Error(`oracle chose ${c} for a ${op.a}-way choice '${op.label}'`);
          this.recordChoice(c, op.a, op.env === true && c !== 0);
          if (next.covered !== this.id) {
            next.covered = this.id;
            this.coverage.add(op.label);
          }
          node = next;
          val = c;
          continue;
        }
        default:
          this.pending[t] = next.op;
          if (this.fus !== null && next.fusSeen !== this.fus) {
            this.fus.pending(t, next.op!);
            next.fusSeen = this.fus;
          }
          if (this.por !== null) this.por.pending(t, next.op!);
          return;
      }
    }
  }

  /** A recorded segment is followed instead of run: its effects happen again, in order. */
  private replayEdge(t: number, e: LEdge): void {
    const fx = e.fx;
    if (fx !== null)
      for (const f of fx) {
        switch (f.k) {
          case FX.Report:
            this.addViolation(f.p, f.m, t, false);
            break;
          case FX.Enter:
            this.windowEnter(f.key);
            break;
          case FX.Exit:
            this.windowExit(f.key);
            break;
          case FX.Head:
            this.headPassed = true;
            break;
          case FX.Progress:
            this.markProgress();
            break;
        }
      }
    const pk = e.peeks;
    if (pk !== null && this.fus !== null && e.fusSeen !== this.fus) {
      for (let j = 0; j < pk.length; j += 2) this.fus.peek(t, pk[j]!);
      e.fusSeen = this.fus;
    }
    if (pk !== null && this.por !== null) for (let j = 0; j < pk.length; j += 2) this.por.peek(t, pk[j]!);
  }

  /**
   * Run thread t's code from `node` with value `val` to its next visible op (or its end, or a
   * failed assertion), recording the segment: its peeks, its effects and the node it ends at.
   */
  private runSegment(t: number, node: LNode, val: number): LNode {
    if (this.genAt[t] !== node) this.rebuild(t, node);
    this.segmentsRun++;
    const gen = this.gens[t]!;
    const world = this.program.world;
    this.l1[t] = node.l1;
    this.l2[t] = node.l2;
    if (node.kind !== NK.Root) this.mixLocal(t, val);
    const fx: Effect[] = [];
    this.fx = fx;
    const peeks: number[] = [];
    this.peekBuf = peeks;
    world.current = this.ctxs[t]!;
    this.peekThread = t;
    world.onPeek = this.recordPeek;
    let kind: number = NK.Op;
    let op: Op | null = null;
    let failProp = "";
    let failMsg = "";
    try {
      const res = gen.next(val);
      if (res.done) {
        kind = NK.Done;
        this.l1[t] = mix32(this.l1[t]! ^ 0x0d0e0d0e);
      } else {
        op = res.value;
        if (op.k === K.Choice) kind = NK.Choice;
      }
    } catch (err) {
      this.gens[t] = null;
      this.genAt[t] = null;
      if (!(err instanceof AssertionFailure)) throw err;
      kind = NK.Fail;
      failProp = err.property;
      failMsg = err.message;
    } finally {
      world.onPeek = null;
      this.fx = null;
    }
    const next = this.intern(t, kind, op, this.l1[t]!, this.l2[t]!, failProp, failMsg);
    // Its peeks were told to the fusion state as they happened (recordPeek).
    const edge: LEdge = { v: val, fusSeen: this.fus, peeks: peeks.length > 0 ? peeks : null, fx: fx.length > 0 ? fx : null, to: next };
    if (this.memo) node.edges.push(edge);
    if (next.up === null) {
      next.up = node;
      next.upEdge = edge;
    }
    this.jsAt[t] = next;
    if (kind === NK.Op || kind === NK.Choice) this.genAt[t] = next;
    else {
      this.gens[t] = null;
      this.genAt[t] = null;
    }
    return next;
  }

  /** The node for a local state: an existing one with the same hash and the same pending op, or a new one. */
  private intern(t: number, kind: number, op: Op | null, l1: number, l2: number, failProp: string, failMsg: string): LNode {
    if (this.memo) {
      const map = this.interned[t]!;
      const l = map.get(l1);
      if (l !== undefined) {
        for (const x of l) {
          if (x.l2 !== l2 || x.kind !== kind || x.failProp !== failProp || x.failMsg !== failMsg) continue;
          if (op !== null && (x.op!.k !== op.k || x.op!.o !== op.o || x.op!.label !== op.label || x.op!.a !== op.a || x.op!.b !== op.b)) continue;
          return x;
        }
      }
      const nd = new LNode(kind, op, l1, l2, failProp, failMsg);
      if (l !== undefined) l.push(nd);
      else map.set(l1, [nd]);
      return nd;
    }
    return new LNode(kind, op, l1, l2, failProp, failMsg);
  }

  /**
   * Bring thread t's generator to `node` by feeding a fresh one the values on the path that first
   * reached it (from the live generator instead, when it stands on that path). Deterministic
   * thread code gives back the same pending op; effects are not repeated.
   */
  private rebuild(t: number, node: LNode): void {
    const path: LEdge[] = [];
    const from = this.genAt[t];
    let x: LNode = node;
    while (x !== from && x.up !== null) {
      path.push(x.upEdge!);
      x = x.up;
    }
    const spec = this.program.threads[t]!;
    let gen = this.gens[t];
    if (x !== from || gen === null) {
      if (x.kind !== NK.Root) throw new Error(`internal: thread ${spec.name}'s local state has no path from its start`);
      gen = spec.body(this.ctxs[t]!);
    }
    const pk: number[] = [];
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i]!.peeks;
      if (p !== null) for (let j = 1; j < p.length; j += 2) pk.push(p[j]!);
    }
    this.gens[t] = gen;
    this.genAt[t] = null;
    this.restoring = true;
    this.program.world.current = this.ctxs[t]!;
    this.peekThread = t;
    this.replayPeeks = pk;
    this.replayPeekPos = 0;
    this.program.world.onPeek = this.replayPeek;
    let failed = false;
    try {
      let r: IteratorResult<Op, void> | null = null;
      try {
        for (let i = path.length - 1; i >= 0; i--) r = gen.next(path[i]!.v);
      } catch (err) {
        if (!(err instanceof AssertionFailure) || node.kind !== NK.Fail) throw err;
        failed = true;
      }
      this.refed += path.length;
      const want = node.op;
      const ok =
        node.kind === NK.Fail ? failed : node.kind === NK.Done ? r !== null && r.done === true : r === null || (!r.done && want !== null && r.value.k === want.k && r.value.o === want.o);
      if (!ok) throw new Error(`thread ${spec.name} is not deterministic: rebuilding it from its history gave another pending op`);
    } finally {
      this.restoring = false;
      this.program.world.onPeek = null;
    }
    this.jsAt[t] = node;
    if (node.kind === NK.Done || node.kind === NK.Fail) {
      this.gens[t] = null;
      this.genAt[t] = null;
    } else this.genAt[t] = node;
  }

  /**
   * Before the final checks: a thread whose last segments were followed from the record has not
   * written what its code writes outside the World when it finishes (the contract allows results
   * written at the end, for checks). Run its code to its end quietly, as a rebuild does.
   */
  private finishThreads(): void {
    for (let t = 0; t < this.n; t++) {
      const nd = this.cur[t]!;
      if (this.jsAt[t] !== nd && (nd.kind === NK.Done || nd.kind === NK.Fail)) this.rebuild(t, nd);
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

  /**
   * Observer groups thread t's next step would touch if it ran now: its op's write groups and the
   * keys of the windows its code opens or closes before its next op (or its end), read from the
   * record of its code segments. -1 when the record does not say (a segment not yet run, one whose
   * code peeks at what the op writes, fusion or no record). DPOR's sleep sets use it to keep a
   * thread asleep across a step that touched only other groups.
   */
  pendingGroups(t: number): number {
    const op = this.pending[t];
    if (!op) return 0;
    // (With `trailing` fusion the ops a step goes on with are private, write no observer group, and
    // their code touches no window: fusion.ts, winObj.)
    if (!this.memo || (this.fus !== null && !this.fus.trailing)) return -1;
    const mem = this.mem;
    let g = 0;
    const pm = pendingModeAt(op, mem);
    if (pm === M.W || pm === M.S) {
      const og = this.objGroups;
      if (op.objs) for (const o of op.objs) g |= og[o]!;
      else if (op.o >= 0) g |= og[op.o]!;
    }
    // The value the op would return now (exec-op.ts).
    const v = op.s >= 0 ? mem[op.s]! : 0;
    let r = 0;
    switch (op.k) {
      case K.Load:
        r = v & ~op.a;
        break;
      case K.Cas:
      case K.Xchg:
      case K.Rmw:
      case K.WaitLoad:
        r = v;
        break;
      case K.TryEx:
        r = v === 0 ? 1 : 0;
        break;
      case K.TryShared:
        r = (v & 1) === 0 ? 1 : 0;
        break;
    }
    const info = op.o >= 0 ? this.program.world.objs[op.o] : undefined;
    const x = this.segmentGroups(this.cur[t]!, r, info ? info.base : 0, info ? info.base + info.size : 0, 8);
    return x < 0 ? -1 : g | x;
  }

  /** Window-key groups of the recorded segment from `node` with value v (and the choices after it); -1 if unknown. */
  private segmentGroups(node: LNode, v: number, lo: number, hi: number, depth: number): number {
    if (depth === 0) return -1;
    const mem = this.mem;
    for (const e of node.edges) {
      if (e.v !== v) continue;
      const pk = e.peeks;
      let ok = true;
      if (pk !== null)
        for (let j = 0; j < pk.length; j += 2) {
          const c = pk[j]!;
          if (c >= lo && c < hi) return -1; // peeks at what the op itself writes
          if (mem[c] !== pk[j + 1]) {
            ok = false;
            break;
          }
        }
      if (!ok) continue;
      let g = 0;
      if (e.fx !== null) for (const f of e.fx) if (f.k === FX.Enter || f.k === FX.Exit) g |= this.keyGroups.get(f.key) ?? 0;
      const to = e.to;
      if (to.kind === NK.Choice)
        for (let c = 0; c < to.op!.a; c++) {
          const y = this.segmentGroups(to, c, lo, hi, depth - 1);
          if (y < 0) return -1;
          g |= y;
        }
      return g;
    }
    return -1;
  }

  /** The object part of `pendingConflictsWith` (observer groups ignored). */
  pendingTouches(t: number, e: number): boolean {
    const op = this.pending[t];
    if (!op) return false;
    // With fusion, the step t takes next may run more ops after this one: unknown until it runs.
    // (With `trailing` fusion it goes on only with ops on objects no other thread touches.)
    if (this.fus !== null && !this.fus.trailing && this.fus.couldFuse(t, op)) return true;
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
    if (this.due) throw new Error("internal: step() while the previous step's checks are due");
    this.fpFresh = false;
    this.mergeBuf = null;
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
      // Masked observer footprints (DPOR): the cell's value before the op, to see which bits it changed.
      const mk = this.masked !== null && op.objs === undefined && op.o >= 0 ? this.masked[op.o]! : null;
      const old = mk !== null ? this.mem[op.s]! : 0;
      const r = this.execOp(t, op);
      const mode = this.xMode;
      const w = this.xWrite;
      const m = this.nMicro++;
      this.mTid[m] = t;
      this.mOp[m] = op;
      this.mRead[m] = r;
      this.mWrite[m] = w;
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
        const g = this.objGroups;
        if (op.objs) for (const o of op.objs) grp |= g[o]!;
        else if (op.o >= 0) grp = g[op.o]!;
        // A write that changed none of the bits the masked invariants read is not seen by them.
        if (mk !== null && mode === M.W && (((old ^ this.mem[op.s]!) & mk.mask) === 0 || this.maskedAny)) grp &= ~mk.bits;
      }
      this.evGroup[e]! |= grp;
      this.microGroup = grp;
      this.microWin = false;
      const nd = this.cur[t]!;
      if (nd.covered !== this.id) {
        nd.covered = this.id;
        this.coverage.add(op.label);
      }
      this.pending[t] = null;
      if (!this.fatal) this.advance(t, r);
      else this.mixLocal(t, r);
      // Go on with t's next op only if it cannot block (so how far a step goes never depends on
      // other threads), t did not pass a loop head (a retry loop must meet the cycle check at a
      // scheduling point), and the op just run is a right mover (fusion.ts).
      // Nor if it wrote what an invariant reads or opened/closed a window (microGroup): the states
      // a fused step skips must look, to every invariant, like states that are visited.
      if (this.microWin) {
        this.microWin = false;
        if (fus !== null && fus.trailing) fus.windowAfter(t, op);
      }
      const last = fus === null || this.fatal || this.done[t] || this.headPassed || this.microGroup !== 0 || span >= MAX_SPAN || isBlocking(this.pending[t]!.k);
      if (last && this.deferChecks && !this.fatal && this.nEv > 1) {
        // The checks of the state the step ends in are left to the explorer (checkDue/dropDue).
        this.due = true;
        this.dueT = t;
        this.dueMode = mode;
        this.dueOp = op;
        break;
      }
      if (!this.fatal) this.check(t, mode, op);
      // (rightMover records what its answer relied on: asked only where the step could go on.)
      if (last || this.fatal || !(fus!.trailing ? this.trailingOk(t) : fus!.rightMover(t, op))) break;
    }
    this.evHead[e] = this.headPassed;
    this.lastSpan = span;
    if (this.por !== null) this.por.stepGroups(t, this.evGroup[e]!);
  }

  /**
   * Trailing fusion (fusion.ts, `trailing`): may the step go on with thread t's pending op? Only if
   * it writes no observer group, every object it names is private to t, and no op of t on them was
   * seen followed by code that opens or closes a window (fusion.ts, winObj): the step's groups are
   * then its first op's.
   */
  private trailingOk(t: number): boolean {
    const op = this.pending[t]!;
    const pm = pendingModeAt(op, this.mem);
    if (pm === M.W || pm === M.S) {
      const g = this.objGroups;
      if (op.objs) {
        for (const o of op.objs) if (g[o] !== 0) return false;
      } else if (op.o >= 0 && g[op.o] !== 0) return false;
    }
    return this.fus!.leftMover(t, op);
  }

  /**
   * A state explorer that stores states (dfs.ts) may leave the invariant checks of the state a
   * step ends in to be done only if that state is new: a state stored before was checked when it
   * was first reached, and the checks are a function of the state (the premise of state caching;
   * an invariant that declares its objects, and a quiescent invariant on a key, hold in every
   * stored state by induction from the initial state, which `invariantsHoldEverywhere` tests).
   * With this set, step() leaves the checks of its last model step due (not of the first step of
   * an execution, which checks every invariant, nor of a fused step's inner model steps), and the
   * explorer calls checkDue() or dropDue() before anything else reads the violations.
   */
  deferChecks = false;
  private due = false;
  private dueT = 0;
  private dueMode: Mode = M.W;
  private dueOp: Op | null = null;

  /** Run the checks step() left due (the state is new). */
  checkDue(): void {
    if (!this.due) return;
    this.due = false;
    this.check(this.dueT, this.dueMode, this.dueOp!);
  }

  /** Drop the checks step() left due (the state was stored before: they held there). */
  dropDue(): void {
    if (!this.due) return;
    this.due = false;
    if (this.exited.length !== 0) this.exited.length = 0;
  }

  /**
   * Do the checked always-invariants hold now, and every checked quiescent invariant on every key
   * outside its windows? (Reports nothing.) When they do in an initial state, they do in every
   * state a search reaches from it that passed its checks: what deferChecks relies on.
   */
  invariantsHoldEverywhere(): boolean {
    const p = this.program;
    for (let k = 0; k < p.invariants.length; k++) if (this.invSel[k] && p.invariants[k]!.check() !== null) return false;
    for (let qi = 0; qi < p.quiescent.length; qi++) {
      if (!this.qSel[qi]) continue;
      const q = p.quiescent[qi]!;
      for (const k of q.keys) if (!this.inWindow(k) && q.check(k) !== null) return false;
    }
    return true;
  }

  /** Event e's footprint grows by a fused op: the union of objects, mode W unless all agree. */
  // Allocation-free where it can be (a hot path under fusion): the union keeps the order of the
  // objects as first met, and is a new array only when it grows (or replaces a null footprint);
  // arrays of the model (op.objs) and shared singletons are never written to.
  private mergeFootprint(e: number, op: Op, mode: Mode): void {
    this.mergeEv = e;
    let objs: number[] | readonly number[] | null = this.evObjs[e] ?? null;
    if (objs === null) objs = this.evObj[e]! >= 0 ? this.singleton(this.evObj[e]!) : NO_OBJS;
    const add = op.objs;
    if (add !== undefined) {
      for (let j = 0; j < add.length; j++) objs = this.withObj(objs, add[j]!);
    } else if (op.o >= 0) objs = this.withObj(objs, op.o);
    this.evObjs[e] = objs;
    if (this.evMode[e] !== mode) this.evMode[e] = M.W;
  }

  /** The union array being built by the current mergeFootprint() (written in place while it grows). */
  private mergeBuf: number[] | null = null;
  private readonly singletons: (readonly number[])[] = [];

  private singleton(o: number): readonly number[] {
    return (this.singletons[o] ??= [o]);
  }

  /** Per event index: the array a merged footprint is built in (reused: an event's footprint is read only while the event is in the execution). */
  private readonly mergeArrays: number[][] = [];
  private mergeEv = 0;

  private withObj(objs: number[] | readonly number[], o: number): readonly number[] {
    if (objs.includes(o)) return objs;
    if (objs !== this.mergeBuf) {
      const buf = (this.mergeArrays[this.mergeEv] ??= []);
      buf.length = 0;
      for (let j = 0; j < objs.length; j++) buf.push(objs[j]!);
      this.mergeBuf = objs = buf;
    }
    (objs as number[]).push(o);
    return objs;
  }

  /** Mode and value written by the last execOp (NONE: nothing written). */
  private xMode: Mode = M.W;
  private xWrite = NONE;

  /** The shared op executor's state (exec-op.ts): this execution's memory, hashes kept. */
  private xs: OpState | null = null;

  /** Execute `op` of thread t against shared memory (exec-op.ts, shared with the timed scheduler); returns the op's result. */
  private execOp(t: number, op: Op): number {
    const xs = (this.xs ??= opState(this.mem, true));
    xs.h1 = this.memH1;
    xs.h2 = this.memH2;
    // The one cell the op may write (exec-op.ts: the reader count, one past the lock word, for
    // read_lock/read_unlock; the object's first cell for every other kind), logged for restore().
    const mem = this.mem;
    const c = op.k === K.RLock || op.k === K.RUnlock ? op.s + 1 : op.s;
    const old = c >= 0 ? mem[c]! : 0;
    const r = execOp(xs, t, op);
    if (c >= 0 && mem[c] !== old) this.logCell(c, old);
    this.memH1 = xs.h1;
    this.memH2 = xs.h2;
    this.xMode = xs.mode;
    this.xWrite = xs.w;
    if (xs.misuse !== null) {
      const msg = xs.misuse;
      xs.misuse = null;
      this.lockMisuse(t, op, msg);
    }
    return r;
  }

  private lockMisuse(t: number, op: Op, msg: string): void {
    this.addViolation("assertion", `${msg}: ${op.label} on ${this.program.world.name(op.o)}`, t, true);
  }

  private mixLocal(t: number, v: number): void {
    this.l1[t] = mix32(this.l1[t]! ^ Math.imul(v, 0x9e3779b1));
    this.l2[t] = mix32((this.l2[t]! + Math.imul(v ^ 0x2545f491, 0x85ebca77)) | 0);
  }

  private recordChoice(c: number, k: number, envFail: boolean): void {
    const e = this.nEv - 1;
    if (e < 0) {
      this.rootChoices.push(c);
      this.rootChoiceK.push(k);
      return;
    }
    const ec = this.evChoices[e];
    if (ec === null || ec === undefined) {
      this.evChoices[e] = [c];
      this.evChoiceK[e] = [k];
    } else {
      ec.push(c);
      this.evChoiceK[e]!.push(k);
    }
    const m = this.nMicro - 1;
    const mc = this.mChoices[m];
    if (mc === null || mc === undefined) this.mChoices[m] = [c];
    else mc.push(c);
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
    const c = this.windows.get(key) ?? 0;
    this.wtrail.push(key, c);
    this.windows.set(key, c + 1);
    this.touchKey(key);
  }

  private touchKey(key: number): void {
    const e = this.nEv - 1;
    const g = this.keyGroups.get(key) ?? 0;
    this.microGroup |= g;
    this.microWin = true;
    if (e >= 0) this.evGroup[e]! |= g;
  }

  windowExit(key: number): void {
    const was = this.windows.get(key) ?? 0;
    if (was <= 0) throw new Error(`window ${key} exited more often than entered`);
    this.wtrail.push(key, was);
    this.windows.set(key, was - 1);
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
    const invs = p.invariants;
    // An invariant that declares the objects it reads (`objs`) keeps its value across a model step
    // that wrote none of them (the step's observer groups say which it may have written): it held
    // after the previous step, or was reported there. The first step of an execution checks all.
    const all = this.nEv <= 1;
    for (let k = 0; k < invs.length; k++) {
      const inv = invs[k]!;
      const b = this.invBits[k]!;
      if (b !== 0 && !all && (this.microGroup & b) === 0) continue;
      if (!this.invSel[k]) continue;
      const msg = inv.check();
      if (msg !== null) {
        this.addViolation(inv.name, msg, t, true);
        if (this.fatal) return;
      }
    }
    const wrote = mode === M.W || mode === M.S;
    const exited = this.exited;
    if (!wrote && exited.length === 0) return;
    // Per quiescent invariant: the keys whose objects the step wrote, then those whose window
    // closed; the first violated one is reported.
    const qs = p.quiescent;
    for (let qi = 0; qi < qs.length; qi++) {
      if (!this.qSel[qi]) continue;
      const q = qs[qi]!;
      let r = 0;
      if (wrote) {
        const byObj = this.qObjKeys[qi]!;
        const objs = op.objs;
        if (objs) for (let j = 0; j < objs.length && r === 0; j++) r = this.checkKeys(q, byObj[objs[j]!], t);
        else if (op.o >= 0) r = this.checkKeys(q, byObj[op.o], t);
      }
      if (r === 0 && exited.length !== 0) {
        const mine = this.qKeys[qi]!;
        for (let j = 0; j < exited.length && r === 0; j++) if (mine.has(exited[j]!)) r = this.checkKey(q, exited[j]!, t);
      }
      if (r === 2) break;
    }
    if (exited.length !== 0) exited.length = 0;
  }

  /** Check quiescent invariant q on each of `keys` (outside windows): 0 all hold, 1 one is violated, 2 and the execution ends. */
  private checkKeys(q: QuiescentInvariant, keys: readonly number[] | undefined, t: number): number {
    if (keys === undefined) return 0;
    for (let i = 0; i < keys.length; i++) {
      const r = this.checkKey(q, keys[i]!, t);
      if (r !== 0) return r;
    }
    return 0;
  }

  private checkKey(q: QuiescentInvariant, k: number, t: number): number {
    if (this.inWindow(k)) return 0;
    const msg = q.check(k);
    if (msg === null) return 0;
    this.addViolation(q.name, msg, t, true);
    return this.fatal ? 2 : 1;
  }

  /** End-of-execution checks; call when every thread has finished. */
  checkFinal(): void {
    if (this.program.final.length === 0) return;
    if (!this.memo) {
      for (const inv of this.program.final) {
        if (!this.selected(inv.name)) continue;
        const msg = inv.check();
        if (msg !== null) this.addViolation(inv.name, msg, -1, true);
      }
      return;
    }
    // What the final checks see is the World and what the finished threads wrote, a function of
    // their local states: both are in the state's fingerprint, so a final state checked before
    // gives the same answers (stateless searches end in the same final state many times).
    this.fingerprint();
    const seen = this.finalSeen.get(this.fp1);
    if (seen !== undefined)
      for (const f of seen) {
        if (f.fp2 !== this.fp2) continue;
        for (let i = 0; i < f.failed.length; i += 2) this.addViolation(f.failed[i]!, f.failed[i + 1]!, -1, true);
        return;
      }
    // Final checks that read only the World need no thread run to its end (Program.finalWorldOnly).
    if (this.program.finalWorldOnly !== true) this.finishThreads();
    const failed: string[] = [];
    for (const inv of this.program.final) {
      if (!this.selected(inv.name)) continue;
      const msg = inv.check();
      if (msg !== null) {
        failed.push(inv.name, msg);
        this.addViolation(inv.name, msg, -1, true);
      }
    }
    const entry = { fp2: this.fp2, failed };
    if (seen !== undefined) seen.push(entry);
    else this.finalSeen.set(this.fp1, [entry]);
  }
  /** Final states checked (by fingerprint lane 1), with the final checks that failed there (name, message pairs). */
  private readonly finalSeen = new Map<number, { fp2: number; failed: string[] }[]>();

  /** Fingerprint of the current state (shared memory + each thread's local state), two 32-bit lanes. */
  fp1 = 0;
  fp2 = 0;
  /** fp1/fp2 are those of the current state (cleared by every step(), restore() and reset()). */
  private fpFresh = false;
  fingerprint(): void {
    if (this.fpFresh) return;
    this.fpFresh = true;
    let h1 = this.memH1;
    let h2 = this.memH2;
    const l1 = this.l1;
    const l2 = this.l2;
    const in1 = this.fpIn1;
    const in2 = this.fpIn2;
    const out1 = this.fpOut1;
    const out2 = this.fpOut2;
    for (let t = 0; t < this.n; t++) {
      // Each thread's term, recomputed only when its local state changed since the last call.
      const a = l1[t]!;
      if (a !== in1[t] || !this.fpInit) {
        in1[t] = a;
        out1[t] = mix32(a ^ Math.imul(t + 1, 0x2c1b3c6d));
      }
      const b = l2[t]!;
      if (b !== in2[t] || !this.fpInit) {
        in2[t] = b;
        out2[t] = mix32(b ^ Math.imul(t + 3, 0x297a2d39));
      }
      h1 = (h1 + out1[t]!) | 0;
      h2 = (h2 + out2[t]!) | 0;
    }
    this.fpInit = true;
    this.fp1 = mix32(h1 ^ 0x51ed270b);
    this.fp2 = mix32(h2 ^ 0x2f7d8e1b);
  }

  /**
   * Symmetry: per element k of `im`'s group, the local-state hash thread t's image would have
   * (out[3k], out[3k+1]) and whether it is known (out[3k+2] = 1). Computed once per local-state
   * node along the path that first reached it, the way the thread's own hash was: op results
   * renamed and mixed in, a loop head's hash from its label and renamed locals, the end mixed in.
   * Equal local-state hashes are one node, so the image is a function of the node.
   */
  localImage(t: number, im: LocalImager): Int32Array {
    return imageOf(this.cur[t]!, im);
  }

  /** The fingerprint `fingerprintAs` computed (fp1/fp2 stay those of the state itself). */
  asFp1 = 0;
  asFp2 = 0;
  /**
   * The fingerprint of a symmetric image of this state (symmetry.ts), into asFp1/asFp2: its threads
   * renamed (thread t's local state placed at position `perm[t]`) and `d1`/`d2` added to the
   * memory hash lanes (what moving cells changes). The same formula as fingerprint().
   */
  fingerprintAs(perm: Int32Array, d1: number, d2: number): void {
    let h1 = (this.memH1 + d1) | 0;
    let h2 = (this.memH2 + d2) | 0;
    for (let t = 0; t < this.n; t++) {
      const p = perm[t]!;
      h1 = (h1 + mix32(this.l1[t]! ^ Math.imul(p + 1, 0x2c1b3c6d))) | 0;
      h2 = (h2 + mix32(this.l2[t]! ^ Math.imul(p + 3, 0x297a2d39))) | 0;
    }
    this.asFp1 = mix32(h1 ^ 0x51ed270b);
    this.asFp2 = mix32(h2 ^ 0x2f7d8e1b);
  }
  /**
   * As fingerprintAs, with each thread's image hash given: thread t's term is `img[t]`'s lanes at
   * offset `off` placed at position perm[t] (symmetry.ts with renamed values).
   */
  fingerprintImage(perm: Int32Array, d1: number, d2: number, img: readonly Int32Array[], off: number): void {
    let h1 = (this.memH1 + d1) | 0;
    let h2 = (this.memH2 + d2) | 0;
    for (let t = 0; t < this.n; t++) {
      const p = perm[t]!;
      const a = img[t]!;
      h1 = (h1 + mix32(a[off]! ^ Math.imul(p + 1, 0x2c1b3c6d))) | 0;
      h2 = (h2 + mix32(a[off + 1]! ^ Math.imul(p + 3, 0x297a2d39))) | 0;
    }
    this.asFp1 = mix32(h1 ^ 0x51ed270b);
    this.asFp2 = mix32(h2 ^ 0x2f7d8e1b);
  }
  /** fingerprint(): each thread's local-state lanes when its terms were last computed, and the terms. */
  private fpInit = false;
  private readonly fpIn1: Int32Array;
  private readonly fpIn2: Int32Array;
  private readonly fpOut1: Int32Array;
  private readonly fpOut2: Int32Array;

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

/** Does an op's result come from its cell (so a renamed cell value renames the result)? */
function resultIsCellValue(op: Op): boolean {
  return op.k === K.Load || op.k === K.WaitLoad || op.k === K.Cas || op.k === K.Xchg || op.k === K.Rmw;
}

/** Execution.localImage: the node's image hashes under `im`, computed down from the nearest node that has them. */
function imageOf(node: LNode, im: LocalImager): Int32Array {
  if (node.imgBy === im) return node.img!;
  const chain: LNode[] = [];
  let x: LNode | null = node;
  while (x !== null && x.imgBy !== im) {
    chain.push(x);
    x = x.kind === NK.Root ? null : x.up;
  }
  const E = im.size;
  const a1 = new Int32Array(1);
  const a2 = new Int32Array(1);
  for (let j = chain.length - 1; j >= 0; j--) {
    const nd = chain[j]!;
    const out = new Int32Array(3 * E);
    if (nd.kind === NK.Root || nd.up === null) {
      // Every thread starts from the same root hash (no thread id in local hashes).
      for (let k = 0; k < E; k++) {
        out[3 * k] = nd.l1;
        out[3 * k + 1] = nd.l2;
        out[3 * k + 2] = nd.kind === NK.Root ? 1 : 0;
      }
    } else {
      const up = nd.up;
      const base = up.img!;
      const e = nd.upEdge!;
      let head: Effect | null = null;
      if (e.fx !== null) for (const f of e.fx) if (f.k === FX.Head) head = f;
      for (let k = 0; k < E; k++) {
        let ok = 1;
        let h1 = 0;
        let h2 = 0;
        if (head !== null) {
          const loc = im.locals(k, head.p, head.loc ?? []);
          if (loc === null) ok = 0;
          else {
            headHash(head.p, loc, a1, a2, 0);
            h1 = a1[0]!;
            h2 = a2[0]!;
          }
        } else {
          ok = base[3 * k + 2]!;
          h1 = base[3 * k]!;
          h2 = base[3 * k + 1]!;
          if (up.kind !== NK.Root) {
            const v = up.op !== null && resultIsCellValue(up.op) ? im.value(k, up.op.s, e.v) : e.v;
            h1 = mix32(h1 ^ Math.imul(v, 0x9e3779b1));
            h2 = mix32((h2 + Math.imul(v ^ 0x2545f491, 0x85ebca77)) | 0);
          }
        }
        if (nd.kind === NK.Done) h1 = mix32(h1 ^ 0x0d0e0d0e);
        out[3 * k] = h1;
        out[3 * k + 1] = h2;
        out[3 * k + 2] = ok;
      }
    }
    nd.img = out;
    nd.imgBy = im;
  }
  return node.img!;
}
