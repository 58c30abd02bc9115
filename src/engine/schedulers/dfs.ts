// Depth-first exploration of the execution tree by re-execution (stateless search, as in loom,
// CHESS and Nidhugg): every execution starts from the initial state and replays the decisions on
// the stack, then extends them with fresh decisions until the execution ends. One engine, three
// ways of choosing which threads a node must explore:
//   - "exhaustive": every enabled thread (plain enumeration), optionally with sleep sets and/or a
//     visited set of state fingerprints;
//   - "dpor": source-set DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas, POPL 2014);
//   - "bounded": every enabled thread, within a preemption bound (Musuvathi & Qadeer, PLDI 2007).
// Choice outcomes are explored at the node whose step made them (an odometer per node).
import { judgeCycle } from "../cycle.js";
import { Execution, eventsConflict, type Oracle, type Snapshot } from "../execution.js";
import { FingerprintSet } from "../fpset.js";
import { mix32 } from "../hash.js";
import { FusionState } from "../fusion.js";
import { formatSchedule, type Schedule } from "../schedule.js";
import { StateGraph } from "../stategraph.js";
import type { SharedFingerprintSet, VisitedSet } from "../parallel/shared-fpset.js";
import { replay } from "./replay.js";
import { randomBit, rng, walk } from "./walk.js";
import { K, M, isBlocking, pendingMode, type Op } from "../ops.js";
import { NO_WRITE } from "../exec-op.js";
import { PersistentSets } from "./persistent.js";
import type { Program } from "../program.js";
import { makeCounterexample, newStats, type Counterexample, type ExploreOptions, type ExploreResult, type Stats } from "../result.js";

export interface DfsConfig {
  mode: "exhaustive" | "dpor" | "bounded";
  sleepSets: boolean;
  stateCaching: boolean;
  /** Preemption bound ("bounded" mode). */
  preemptionBound?: number;
  /** Bounded mode: cut at a state already visited after the same thread with no more preemptions (default on). */
  prune?: boolean;
  /** Detect cycles on the current path (retry loops, livelocks). Default on. */
  cycles?: boolean;
  /** Stop at the first violation whose step count is at most this (used by minimization). */
  maxDepth?: number;
  /** Only violations of this property count (minimization). */
  onlyProperty?: string;
  /** Keep searching for shorter violations of `onlyProperty` (minimization). */
  shortest?: boolean;
  /**
   * A deliberately broken reduction, for the tests that show the differential harness catches it:
   * "lost-wakeup" never wakes a sleeping thread whose pending op is a write; "irreversible-waits"
   * treats every race into a blocking op as one that can never be reversed; "observed-iteration"
   * lets a retry-loop iteration wait although another thread touched what it wrote meanwhile;
   * "read-any-value" lets it wait although another thread read a value it wrote (not only the
   * value from before the iteration); "masked-any-write" lets every write to a cell with a
   * masked invariant footprint leave the invariant's group untouched, whatever bits it changed;
   * "masked-load-any-write" makes a masked load independent of every write to its cell, whatever
   * bits the write changed.
   */
  fault?: "lost-wakeup" | "irreversible-waits" | "observed-iteration" | "read-any-value" | "masked-any-write" | "masked-load-any-write";
  /**
   * DPOR: a retry-loop iteration with no net effect makes its thread wait for the rest of the
   * execution (await loops; docs/design.md, "Retry loops in DPOR"). Default on in "dpor" mode.
   */
  awaitLoops?: boolean;
  /**
   * DPOR: observer groups only for the invariants that are checked, and a write that changes none
   * of the bits an invariant declares it reads (Invariant.masks) does not touch that invariant's
   * group (docs/design.md, "Invariants are observers"). Default on in "dpor" mode.
   */
  maskedGroups?: boolean;
  /**
   * DPOR: a masked load (Atomic.load with `bits`) is independent of a write to its cell that
   * changes none of those bits (docs/design.md, "Masked loads"). Default on in "dpor" mode.
   */
  maskedLoads?: boolean;
}

/**
 * Hooks for the parallel stateful search (parallel/search.ts, docs/design.md "All cores on one
 * cell"): a visited set and state graph shared with other workers, a subtree to explore instead
 * of the whole tree, and a poll that may ask for work to be given away.
 */
export interface DfsShared {
  visited: SharedFingerprintSet;
  /** This worker's part of the state graph (kept across work items), when livelock is judged. */
  graph: StateGraph | null;
  /** The subtree to explore; null: from the root. */
  start: WorkItem | null;
  /** After every execution: "stop", "give" (hand over unexplored branches) or "go on". */
  poll: () => "stop" | "give" | "go";
  give: (items: WorkItem[]) => void;
}

/**
 * A subtree of the search: replay `path` (a thread and its choice outcomes per step) from the
 * initial state chosen by `rootChoices`; the last step's thread is the branch to explore there,
 * all its choice outcomes, with the node's sleep set and the threads explored before it (`done`);
 * `sid` is the id of the state the last step starts from.
 */
export interface WorkItem {
  rootChoices: number[];
  path: { tid: number; choices: number[] }[];
  sleep: number;
  done: number;
  sid: number;
}

interface Node {
  /** Threads handed to other workers (parallel search): explored there, after `tid`. */
  given?: number;
  tid: number;
  choices: number[];
  choiceK: number[];
  enabled: number;
  backtrack: number;
  done: number;
  sleep: number;
  preemptions: number;
  fp1: number;
  fp2: number;
  /** State id in the visited set (state caching), else -1. */
  sid: number;
  /** The execution's state before this node's step, to come back to it without re-running the prefix. */
  snap: Snapshot;
  /** Events per thread before this node (for DPOR's vector clocks; DPOR only). */
  seqCount: Int32Array;
  /** Threads waiting after an iteration with no net effect, before this node's step (DPOR await loops). */
  parked: number;
}

/** The choices of a step that made none (never written: nextChoices leaves an empty odometer alone). */
const NO_CHOICES: number[] = [];

/**
 * The nodes on the DFS stack by the first lane of their state fingerprint (cycle detection): an
 * open-addressing table from fp1 to the topmost such node, and per node the next one below it with
 * the same fp1. Nodes come and go in stack order, so the one popped is always its key's first.
 */
class StackIndex {
  private keys = new Int32Array(64);
  private heads = new Int32Array(64).fill(-1);
  private mask = 63;
  private count = 0;
  private below = new Int32Array(64);

  private slot(key: number): number {
    const keys = this.keys;
    const heads = this.heads;
    const mask = this.mask;
    let i = key & mask;
    while (heads[i] !== -1 && keys[i] !== key) i = (i + 1) & mask;
    return i;
  }

  /** The topmost node with this key, or -1. */
  first(key: number): number {
    return this.heads[this.slot(key)]!;
  }

  /** The next node below node `i` with the same key, or -1. */
  next(i: number): number {
    return this.below[i]!;
  }

  push(i: number, key: number): void {
    if (i >= this.below.length) {
      const b = new Int32Array(Math.max(i + 1, this.below.length * 2));
      b.set(this.below);
      this.below = b;
    }
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const k = this.slot(key);
    if (this.heads[k] === -1) {
      this.keys[k] = key;
      this.count++;
    }
    this.below[i] = this.heads[k]!;
    this.heads[k] = i;
  }

  /** Remove node i (the topmost node of the stack). */
  pop(i: number, key: number): void {
    let j = this.slot(key);
    if (this.heads[j] !== i) throw new Error("internal: stack index out of order");
    const b = this.below[i]!;
    if (b !== -1) {
      this.heads[j] = b;
      return;
    }
    // Backward-shift deletion (linear probing without tombstones).
    const keys = this.keys;
    const heads = this.heads;
    const mask = this.mask;
    heads[j] = -1;
    this.count--;
    let k = j;
    for (;;) {
      k = (k + 1) & mask;
      if (heads[k] === -1) return;
      const h = keys[k]! & mask;
      if (j < k ? h <= j || h > k : h <= j && h > k) {
        keys[j] = keys[k]!;
        heads[j] = heads[k]!;
        heads[k] = -1;
        j = k;
      }
    }
  }

  private grow(): void {
    const oldK = this.keys;
    const oldH = this.heads;
    const cap = oldK.length * 2;
    this.keys = new Int32Array(cap);
    this.heads = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    for (let i = 0; i < oldK.length; i++) {
      if (oldH[i] === -1) continue;
      const k = this.slot(oldK[i]!);
      this.keys[k] = oldK[i]!;
      this.heads[k] = oldH[i]!;
    }
  }
}

/** The same pending op (a local-state node's op; equal hashes with another op object are compared by content). */
function sameOp(a: Op, b: Op): boolean {
  return a === b || (a.k === b.k && a.o === b.o && a.label === b.label && a.a === b.a && a.b === b.b);
}

function lowestBit(m: number): number {
  return 31 - Math.clz32(m & -m);
}

class StackOracle implements Oracle {
  /** Choices to replay for the node being executed; beyond them, outcome 0. */
  replay: number[] = [];
  pos = 0;
  choose(_tid: number, _k: number, _op: Op): number {
    return this.pos < this.replay.length ? this.replay[this.pos++]! : (this.pos++, 0);
  }
}

/**
 * The next outcomes of a node's choices, as new arrays (the node's arrays are those the execution
 * recorded, which counterexamples may share); false when exhausted.
 */
function nextNodeChoices(nd: Node): boolean {
  const c = nd.choices;
  const k = nd.choiceK;
  for (let j = c.length - 1; j >= 0; j--) {
    if (c[j]! + 1 < k[j]!) {
      const nc = c.slice(0, j + 1);
      nc[j]!++;
      nd.choices = nc;
      nd.choiceK = k.slice(0, j + 1);
      return true;
    }
  }
  return false;
}

/** Increment an odometer of choice outcomes from the last position; false when exhausted. */
function nextChoices(c: number[], k: number[]): boolean {
  for (let j = c.length - 1; j >= 0; j--) {
    if (c[j]! + 1 < k[j]!) {
      c[j]!++;
      c.length = j + 1;
      k.length = j + 1;
      return true;
    }
  }
  return false;
}

/**
 * Explore with fusion of scheduling points (unless `opts.fusion === false`). A fusion relies on facts
 * learnt while exploring (which objects are private to a thread; fusion.ts); when one turns out
 * false the run is abandoned and started again, knowing more. The facts only grow, so this ends.
 */
/** The livelock the state graph holds, as a counterexample replayed on the program (a witness that does not replay is an engine bug). */
export function livelockOf(program: Program, graph: StateGraph, properties: ExploreOptions["properties"], explored?: Int32Array, refine?: number[]): Counterexample | undefined {
  const lv = graph.findLivelock(explored, refine);
  return lv === null ? undefined : livelockReplayed(program, lv.schedule, properties);
}

/** A livelock witness found in the state graph, replayed on the program into a counterexample. */
export function livelockReplayed(program: Program, schedule: Schedule, properties: ExploreOptions["properties"]): Counterexample {
  const v = replay(program, schedule, properties).violations.find((x) => x.property === "livelock");
  if (!v) throw new Error(`internal: livelock witness ${formatSchedule(schedule)} does not replay to a livelock`);
  return v;
}

export function dfsExplore(program: Program, cfg: DfsConfig, opts: ExploreOptions = {}): ExploreResult {
  // DPOR and sleep sets classify a thread's next step by its pending op alone; a step that may fuse
  // more ops would have to conflict with everything, which undoes their reduction. They run
  // without fusion (combining the two is for the sequel).
  const livelockGraph = cfg.stateCaching && (!opts.properties || opts.properties.includes("livelock"));
  const sleepy = cfg.mode === "dpor" || (cfg.sleepSets && cfg.mode !== "bounded" && !livelockGraph);
  // Persistent sets (persistent.ts): state caching, no symmetry; like sleep sets, without fusion (a
  // fused step's footprint is unknown before it runs). While livelock is checked, without sleep
  // sets (the fair-cycle analysis needs every edge of the reduced graph) and with the refinement
  // rounds of docs/design.md "Livelock under persistent sets".
  if (opts.persistent === true && cfg.mode === "exhaustive" && cfg.stateCaching && !opts.symmetry && cfg.cycles !== false) return persistentExplore(program, cfg, opts, livelockGraph);
  if ((opts.fusion === false || sleepy) && !opts.unsoundFusionForTests) return dfsRun(program, cfg, opts, null);
  const fus = new FusionState(program);
  fus.unsound = opts.unsoundFusionForTests === true;
  const t0 = Date.now();
  if (opts.fusionLearning !== false) {
    // The walks are deterministic: learnt once per program (and step bound), then copied (the
    // phases of the default strategy and minimization explore the same program several times).
    const walkSteps = Math.min(opts.maxSteps ?? 100_000, 100_000);
    const key = `${walkSteps}`;
    let known = learnt.get(program)?.get(key);
    if (known === undefined) {
      learnSharing(program, fus, walkSteps, opts.memo);
      known = { touched: fus.touched.slice(), nonLock: fus.nonLock.slice() };
      let m = learnt.get(program);
      if (m === undefined) learnt.set(program, (m = new Map()));
      m.set(key, known);
    } else {
      fus.touched.set(known.touched);
      fus.nonLock.set(known.nonLock);
    }
  }
  for (;;) {
    fus.invalid = false;
    const left = opts.timeLimitMs !== undefined ? Math.max(1, opts.timeLimitMs - (Date.now() - t0)) : undefined;
    const r = dfsRun(program, cfg, left !== undefined ? { ...opts, timeLimitMs: left } : opts, fus);
    if (!fus.invalid) {
      r.stats.fusionRestarts = fus.restarts;
      r.stats.wallMs = Date.now() - t0;
      return r;
    }
    fus.restarts++;
  }
}

/**
 * The stateful search with persistent sets. A reduction relies on learnt footprints; when one
 * grows where a reduction relied on it, the run is abandoned and started again, knowing more
 * (as with fusion). Seeded random walks learn most footprints first, so restarts are rare.
 */
function persistentExplore(program: Program, cfg: DfsConfig, opts: ExploreOptions, livelock: boolean): ExploreResult {
  const ps = new PersistentSets(program, opts.persistentFaultForTests);
  if (livelock) ps.forced = new FingerprintSet(10, 1 << 30);
  // Fusion with persistent sets: a step goes on only with private ops (fusion.ts, `trailing`), so its
  // footprint is known before it runs (docs/design.md, "Persistent sets with fusion").
  const fus = opts.fusion === false ? null : new FusionState(program);
  if (fus !== null) {
    fus.trailing = true;
    fus.trailingUnsound = opts.persistentFaultForTests === "fused-footprint";
    fus.learnOnly = true;
  }
  const t0 = Date.now();
  {
    const random = rng(0x9e37);
    // The search's observer groups (numbered among the checked invariants: dfsRun), so that what is learnt is in its terms.
    const props = opts.properties ? new Set(opts.properties) : null;
    const ex = new Execution(program, { choose: (_t, k) => Math.floor(random() * k) }, props, { memo: opts.memo, maskedGroups: cfg.maskedGroups !== false });
    ex.por = ps;
    ex.fus = fus;
    const walkSteps = Math.min(opts.maxSteps ?? 100_000, 100_000);
    // Each kind of walk stops once PERSISTENT_PATIENCE walks in a row learnt nothing (a counted rule:
    // the same walks for the same program; the main job's small cells learn all in a few dozen).
    const facts = (): number => ps.learnt + (fus !== null ? fus.learnt : 0);
    const learn = (count: number, one: (k: number) => void): void => {
      let quiet = 0;
      for (let k = 0; k < count && quiet < PERSISTENT_PATIENCE; k++) {
        const before = facts();
        ex.reset();
        one(k);
        quiet = facts() === before ? quiet + 1 : 0;
      }
    };
    try {
      learn(PERSISTENT_WALKS, () => walk(ex, (en) => randomBit(en, random()), [], walkSteps));
      // Uniform walks rarely run one thread far ahead of another, which is where a thread meets
      // what another left behind (convert k=3: a vCPU writing the page table another vCPU's fault
      // installed, learnt only by the search itself, twice, the second time after 80 % of it).
      // Bursty walks stay with a thread while it can run (19 times in 20); ordered walks run the
      // threads one after another in every order (at most 6 threads: 720 orders).
      let cur = -1;
      const sticky = (en: number): number => {
        if (cur < 0 || (en & (1 << cur)) === 0 || random() >= 0.95) cur = randomBit(en, random());
        return cur;
      };
      learn(PERSISTENT_BURSTS, () => {
        cur = -1;
        walk(ex, sticky, [], walkSteps);
      });
      const orders = program.threads.length <= 6 ? permutations(program.threads.length) : [];
      learn(orders.length, (k) =>
        walk(ex, (en) => {
          for (const t of orders[k]!) if ((en & (1 << t)) !== 0) return t;
          return randomBit(en, random());
        }, [], walkSteps),
      );
    } catch {
      // A model error shows up again, and is reported, in the search itself.
    }
    if (fus !== null) fus.learnOnly = false;
  }
  for (;;) {
    ps.newRun();
    if (fus !== null) fus.invalid = false;
    const left = opts.timeLimitMs !== undefined ? Math.max(1, opts.timeLimitMs - (Date.now() - t0)) : undefined;
    const r = dfsRun(program, cfg, left !== undefined ? { ...opts, timeLimitMs: left } : opts, fus, null, ps);
    if (fus !== null && fus.invalid) {
      fus.restarts++;
      continue;
    }
    if (!ps.invalid) {
      r.stats.por!.restarts = ps.restarts;
      if (fus !== null) r.stats.fusionRestarts = fus.restarts;
      if (ps.forced !== null) {
        r.stats.por!.livelockRounds = ps.rounds;
        r.stats.por!.forced = ps.forced.size;
      }
      r.stats.wallMs = Date.now() - t0;
      return r;
    }
    ps.restarts++;
  }
}

/**
 * A few seeded random walks without fusion, only to learn which objects several threads touch, so
 * that the exhaustive search rarely has to start again (fusion.ts). Deterministic; what it learns
 * is only ever a subset of what the search would learn itself, so it changes no verdict.
 */
function learnSharing(program: Program, fus: FusionState, walkSteps: number, memo: boolean | undefined): void {
  const random = rng(0x5eed);
  const ex = new Execution(program, { choose: (_t, k) => Math.floor(random() * k) }, null, { memo });
  ex.fus = fus;
  fus.learnOnly = true;
  try {
    for (let k = 0; k < LEARNING_WALKS; k++) {
      ex.reset();
      walk(ex, (en) => randomBit(en, random()), [], walkSteps);
    }
  } catch {
    // A model error shows up again, and is reported, in the search itself.
  } finally {
    fus.learnOnly = false;
    fus.invalid = false;
  }
}

/**
 * Random walks that learn footprints before a search with persistent sets: a restart repeats the
 * whole search, and a walk costs a few hundred steps (zap/convert k=3 restarted 1-2 times with 32).
 */
const PERSISTENT_WALKS = 512;
/** Bursty random walks (a thread keeps running while it can, 19 times in 20) before a search with persistent sets. */
const PERSISTENT_BURSTS = 256;
/** A kind of learning walk stops after this many walks in a row that learnt nothing. */
const PERSISTENT_PATIENCE = 48;

/** Every order of 0..n-1 (lexicographic). */
function permutations(n: number): number[][] {
  const out: number[][] = [];
  const go = (pre: number[], rest: number[]): void => {
    if (rest.length === 0) out.push(pre);
    for (let i = 0; i < rest.length; i++) go([...pre, rest[i]!], [...rest.slice(0, i), ...rest.slice(i + 1)]);
  };
  go([], Array.from({ length: n }, (_, i) => i));
  return out;
}
/** Random walks that learn sharing before an exhaustive search with fusion. */
const LEARNING_WALKS = 32;
/** What the learning walks learnt, per program and step bound (they are deterministic). */
const learnt = new WeakMap<Program, Map<string, { touched: Int32Array; nonLock: Uint8Array }>>();

/** The sharing facts that the learning walks give for `program` (what dfsExplore starts from). */
export function learntFacts(program: Program, opts: ExploreOptions): { touched: Int32Array; nonLock: Uint8Array } {
  const walkSteps = Math.min(opts.maxSteps ?? 100_000, 100_000);
  const key = `${walkSteps}`;
  let known = learnt.get(program)?.get(key);
  if (known === undefined) {
    const fus = new FusionState(program);
    learnSharing(program, fus, walkSteps, opts.memo);
    known = { touched: fus.touched.slice(), nonLock: fus.nonLock.slice() };
    let m = learnt.get(program);
    if (m === undefined) learnt.set(program, (m = new Map()));
    m.set(key, known);
  }
  return known;
}

export function dfsRun(program: Program, cfg: DfsConfig, opts: ExploreOptions, fus: FusionState | null, shared: DfsShared | null = null, amp: PersistentSets | null = null): ExploreResult {
  const t0 = Date.now();
  const strategyName = cfg.mode === "bounded" ? `bounded(${cfg.preemptionBound ?? 0})` : cfg.mode + (cfg.stateCaching ? "+cache" : "");
  const stats: Stats = newStats(strategyName);
  const oracle = new StackOracle();
  const props = opts.properties ? new Set(opts.properties) : null;
  // DPOR judges observer-group dependence with the invariants' masked footprints (Invariant.masks).
  // Persistent sets use the same observer groups (those of the checked invariants, masked footprints).
  const maskedGroups = (cfg.mode === "dpor" || amp !== null) && cfg.maskedGroups !== false ? (cfg.fault === "masked-any-write" ? "any-write" : true) : false;
  const ex = new Execution(program, oracle, props, { memo: opts.memo, unsoundMemo: opts.unsoundMemoForTests, checkRestore: opts.checkRestoreForTests, maskedGroups });
  ex.fus = fus;
  ex.stopOnFatal = !opts.allViolations;
  ex.por = amp;
  if (amp !== null) stats.por = { reduced: 0, proviso: 0, restarts: 0 };
  const n = ex.n;
  const stack: Node[] = [];
  let rootChoices: number[] = [];
  let rootChoiceK: number[] = [];
  const visited: VisitedSet | null = shared !== null ? shared.visited : cfg.stateCaching ? new FingerprintSet(10, opts.maxStates ?? 1 << 27) : null;
  // (Also set while livelock is judged under persistent sets, to expand a stored state fully: below.)
  let start = shared?.start ?? null;
  /** Parallel search: the depth of the work item's branch node; nodes above it are only replayed. */
  let floor = start !== null ? start.path.length - 1 : 0;
  if (start !== null) rootChoices = start.rootChoices.slice();
  const cycles = cfg.cycles !== false;
  // With state caching the whole state graph is recorded and livelocks are found as fair
  // non-progress cycles in it (stategraph.ts); without it only cycles closed on the current path are judged.
  const graph = shared !== null ? shared.graph : visited && (props === null || props.has("livelock")) ? new StateGraph(opts.maxGraphEdges) : null;
  // Sleep sets with state caching (Godefroid 1996, ch. 5): every state is still visited, fewer
  // transitions are. Not while livelock is judged: its fair-cycle analysis needs every edge.
  const useSleep = cfg.sleepSets && cfg.mode !== "bounded" && (!cfg.stateCaching || graph === null);
  // Symmetry reduction (symmetry.ts): canonical fingerprints in the visited set. Not while
  // livelock is judged: its fair-cycle analysis keeps thread identity (the unreduced graph).
  const sym = visited !== null && graph === null ? (opts.symmetry ?? null) : null;
  // A state found again in the visited set passed its invariant checks when it was stored: the
  // checks of a step are run only when the state it ends in is new (Execution.deferChecks). Not
  // with symmetry (the stored state is another image) nor shared sets (the parallel search), nor
  // when violations do not end executions (a stored state may then violate an invariant).
  const own = visited instanceof FingerprintSet && sym === null && ex.stopOnFatal && opts.deferredChecksForTests !== "immediate" ? visited : null;
  /** Per stored state (state caching + sleep sets): the sleep set it was last explored with. */
  let sleepOf = useSleep && visited ? (shared !== null ? shared.visited.sleep : new Int32Array(1024)) : null;
  /** Set by afterStep when a stored state is reached again with a smaller sleep set: the threads to explore now. */
  let revisit = -1;
  /** Persistent sets: per stored state, the threads its expansion explores (its persistent set; all enabled once the proviso fired). */
  let ampleOf = amp !== null ? new Int32Array(1024) : null;
  /** Persistent sets while livelock is judged: per stored state, its fingerprint (two lanes), to force it fully expanded in the next round. */
  let fpOf = amp !== null && amp.forced !== null && graph !== null ? new Int32Array(2048) : null;
  const keepFp = (sid: number, a: number, b: number): void => {
    if (2 * sid + 1 >= fpOf!.length) {
      const bigger = new Int32Array(Math.max(2 * sid + 2, fpOf!.length * 2));
      bigger.set(fpOf!);
      fpOf = bigger;
    }
    fpOf![2 * sid] = a;
    fpOf![2 * sid + 1] = b;
  };
  /** Same: per event on the current path, how many events up to it made progress or took an injected failure. */
  let loud = new Int32Array(fpOf !== null ? 1024 : 0);
  let curSid = -1;
  const onStack = new StackIndex();
  // Bounded mode: states visited, keyed with the thread that just ran, and the fewest preemptions
  // used to reach each (afterStep). Not under minimization (maxDepth): a shorter path matters there.
  let bvisited = cfg.mode === "bounded" && cfg.maxDepth === undefined && !cfg.shortest && cfg.prune !== false ? new FingerprintSet(10, 1 << 22) : null;
  let bused = new Int32Array(bvisited ? 1024 : 0);
  const violations: Counterexample[] = [];
  const seenProps = new Set<string>();
  let stopReason: string | undefined;
  let replayLen = 0;
  let bestDepth = cfg.maxDepth ?? Infinity;
  // Vector clocks for DPOR: one row of n per event.
  let vc = new Int32Array(0);
  const seq: number[] = [];
  const objEvents: number[][] = program.world.objs.map(() => []);
  const groupEvents: number[][] = Array.from({ length: 31 }, () => []);
  let stamp = new Int32Array(1024);
  let stampNow = 0;
  const enabledAt: number[] = [];

  const dpor = cfg.mode === "dpor";
  /** DPOR: events per thread so far in the current execution. */
  const seqNow = new Int32Array(dpor ? n : 0);
  // Await loops (DPOR): threads parked after an iteration with no net effect; per event, the
  // thread's local state after a loop head it passed; per thread, its local state at its start.
  const awaitLoops = dpor && cfg.awaitLoops !== false;
  const maskedLoads = dpor && cfg.maskedLoads !== false;
  if (awaitLoops) stats.awaits = 0;
  let parked = 0;
  const headL1: number[] = [];
  const headL2: number[] = [];
  const headOp: (Op | null)[] = [];
  const headMem: (Int32Array | undefined)[] = [];
  const startL1 = new Array<number>(n).fill(0);
  const startL2 = new Array<number>(n).fill(0);
  const startOp = new Array<Op | null>(n).fill(null);
  const bound = cfg.preemptionBound ?? Infinity;
  let lastProgress = t0;

  /** Snapshots by depth: the node at depth i is replaced only after the previous one was popped, so its arrays are reused. */
  const snaps: Snapshot[] = [];
  function takeSnapshot(i: number): Snapshot {
    const old = snaps[i];
    const s = ex.snapshot(old);
    if (old === undefined) snaps[i] = s;
    return s;
  }

  /** Node objects by depth: the node at depth i is reused once the previous one there was popped. */
  const pool: Node[] = [];
  function newNode(i: number): Node {
    let nd = pool[i];
    if (nd === undefined) {
      nd = {
        tid: 0, choices: NO_CHOICES, choiceK: NO_CHOICES, enabled: 0, backtrack: 0, done: 0, sleep: 0, preemptions: 0,
        fp1: 0, fp2: 0, sid: -1, snap: takeSnapshot(i), seqCount: new Int32Array(dpor ? n : 0), parked: 0,
      };
      pool[i] = nd;
    } else nd.snap = takeSnapshot(i);
    return nd;
  }

  function recordViolations(): boolean {
    // returns true if exploration should stop
    let stop = false;
    if (ex.violations.length === 0) return false;
    for (const v of ex.violations) {
      if (cfg.onlyProperty !== undefined && v.property !== cfg.onlyProperty) continue;
      if (cfg.shortest) {
        if (v.step <= bestDepth) {
          const c = makeCounterexample(ex, v, enabledAt);
          if (violations.length === 0 || c.steps.length < violations[0]!.steps.length) violations[0] = c;
          bestDepth = v.step - 1;
        }
        continue;
      }
      if (seenProps.has(v.property)) continue;
      seenProps.add(v.property);
      if (stats.firstViolationMs < 0) stats.firstViolationMs = Date.now() - t0;
      violations.push(makeCounterexample(ex, v, enabledAt));
      if (!opts.allViolations) stop = true;
    }
    return stop;
  }

  /** Run one execution: replay stack[0..replayLen) then extend. Returns true to stop exploring. */
  function runOne(): boolean {
    stats.executions++;
    revisit = -1;
    const seqCount = seqNow;
    if (replayLen === 0) {
      oracle.replay = rootChoices;
      oracle.pos = 0;
      ex.reset();
      // Deferred checks rely on every invariant holding in the initial state (Execution.invariantsHoldEverywhere).
      ex.deferChecks = own !== null && !ex.fatal && (ex.deferChecks || stats.executions === 1) && (opts.deferredChecksForTests === "no-initial-test" || ex.invariantsHoldEverywhere());
      rootChoices = ex.rootChoices.slice();
      rootChoiceK = ex.rootChoiceK.slice();
      if (dpor) {
        seq.length = 0;
        seqCount.fill(0);
      }
      parked = 0;
      if (awaitLoops)
        for (let t = 0; t < n; t++) {
          startL1[t] = ex.l1[t]!;
          startL2[t] = ex.l2[t]!;
          startOp[t] = ex.pending[t] ?? null;
        }
      if (start !== null) curSid = -1;
      else if (visited) {
        ex.fingerprint();
        if (sym !== null) sym.canonical(ex);
        const isNew = sym !== null ? visited.add(sym.c1, sym.c2) : visited.add(ex.fp1, ex.fp2);
        curSid = visited.lastId;
        stats.statesStored = visited.size;
        graph?.addRoot(curSid, rootChoices);
        if (fpOf !== null && isNew) keepFp(curSid, ex.fp1, ex.fp2);
        if (!isNew) {
          stats.cachePruned++;
          return false;
        }
      }
    } else {
      // Go back to the state before node replayLen-1 and take its new branch.
      const i = replayLen - 1;
      const nd = stack[i]!;
      ex.restore(nd.snap);

      if (dpor) {
        seq.length = i;
        seqCount.set(nd.seqCount);
      }
      parked = nd.parked;
      curSid = nd.sid;
      oracle.replay = nd.choices;
      oracle.pos = 0;
      // enabledAt[e]: threads enabled before event e (entries beyond the current event are stale).
      enabledAt[i] = nd.enabled;
      ex.step(nd.tid);
      if (dpor) seq.push(++seqCount[nd.tid]!);
      // The event's recorded choices (never changed afterwards: a re-run of event i records new arrays).
      nd.choices = ex.evChoices[i] ?? NO_CHOICES;
      nd.choiceK = ex.evChoiceK[i] ?? NO_CHOICES;
      stats.steps += ex.lastSpan;
      stats.fusedSteps += ex.lastSpan - 1;
    }
    let ended = false;
    if (replayLen > 0) ended = afterStep(replayLen - 1);
    // Extend with fresh decisions.
    while (!ended) {
      if (ex.fatal) break;
      const i = stack.length;
      const runnable = ex.enabledMask();
      const enabled = runnable & ~parked;
      if (enabled === 0) {
        if (ex.allDone()) {
          stats.complete++;
          ex.checkFinal();
        } else if (runnable !== 0) {
          // Only parked threads could move: each would repeat an iteration with no net effect
          // forever (a cycle, not a deadlock; livelock is not decided by dpor).
          stats.cycles++;
        } else {
          stats.blocked++;
          const names = [];
          for (let t = 0; t < n; t++) if (!ex.done[t]) names.push(`${program.threads[t]!.name} at ${ex.pending[t]?.label ?? "?"}`);
          ex.addViolation("deadlock", `every unfinished thread is blocked: ${names.join("; ")}`, -1, true);
        }
        break;
      }
      if (i >= bestDepth) break; // minimization: no shorter violation below here
      // Counted budget (not the engine's design; see ExploreOptions.maxSteps).
      if (opts.maxSteps !== undefined && i >= opts.maxSteps && opts.unboundedPaths !== true) {
        stopReason = "max-steps";
        break;
      }
      // Parallel search: the work item's path is replayed, its last step is the branch to explore.
      const pre = start !== null && i <= floor ? start.path[i]! : null;
      const sleep = pre !== null ? (i === floor ? start!.sleep : 0) : childSleep(i);
      let avail = pre !== null ? 1 << pre.tid : enabled & ~sleep & (revisit >= 0 ? revisit : -1);
      const revisited = revisit >= 0;
      revisit = -1;
      // Persistent sets: only the threads of a persistent set (the rest is added by the cycle
      // proviso); on a revisit (sleep sets), `revisit` was already cut to the stored set.
      if (ampleOf !== null && pre === null && !revisited) {
        let a = enabled;
        if (fpOf === null || !amp!.forced!.has(fpOf[2 * curSid]!, fpOf[2 * curSid + 1]!)) a = amp!.choose(ex, enabled);
        if (a !== enabled) stats.por!.reduced++;
        if (curSid >= ampleOf.length) {
          const bigger = new Int32Array(Math.max(curSid + 1, ampleOf.length * 2));
          bigger.set(ampleOf);
          ampleOf = bigger;
        }
        ampleOf[curSid] = a;
        avail &= a;
      }
      if (avail === 0) {
        stats.sleepPruned++;
        break;
      }
      let tid = lowestBit(avail);
      let preemptions = 0;
      if (cfg.mode === "bounded" && i > 0) {
        // Preemptions before node i: the parent's, plus one if the parent's step switched away
        // from a thread that could have continued.
        const p = stack[i - 1]!;
        const gp = i > 1 ? stack[i - 2]!.tid : -1;
        preemptions = p.preemptions + (gp >= 0 && p.tid !== gp && (p.enabled & (1 << gp)) !== 0 ? 1 : 0);
        if ((avail & (1 << p.tid)) !== 0) tid = p.tid;
      }
      ex.fingerprint();
      const nd = newNode(i);
      nd.tid = tid;
      nd.choices = NO_CHOICES;
      nd.choiceK = NO_CHOICES;
      nd.enabled = enabled;
      nd.backtrack = dpor ? 1 << tid : avail;
      nd.done = pre !== null && i === floor ? start!.done : 0;
      nd.given = 0;
      nd.sleep = sleep;
      nd.preemptions = preemptions;
      nd.fp1 = ex.fp1;
      nd.fp2 = ex.fp2;
      nd.sid = pre !== null ? (i === floor ? start!.sid : -1) : curSid;
      if (dpor) nd.seqCount.set(seqCount);
      nd.parked = parked;
      if (pre === null) graph?.setEnabled(curSid, ampleOf !== null && amp!.fault === "fair-by-explored" ? ampleOf[curSid]! : enabled);
      stack.push(nd);
      if (cycles) onStack.push(i, nd.fp1);
      if (i + 1 > stats.maxDepth) stats.maxDepth = i + 1;
      oracle.replay = pre !== null && i < floor ? pre.choices : NO_CHOICES;
      oracle.pos = 0;
      enabledAt[i] = runnable;
      ex.step(tid);
      if (dpor) seq.push(++seqCount[tid]!);
      const ch = ex.evChoices[i];
      if (ch) {
        nd.choices = ch;
        nd.choiceK = ex.evChoiceK[i]!;
      }
      stats.steps += ex.lastSpan;
      stats.fusedSteps += ex.lastSpan - 1;
      if (pre !== null && i < floor) {
        // A replayed step ends in a stored state (it passed its checks when it was stored).
        ex.dropDue();
        if (fpOf !== null) noteLoud(i);
        ended = false;
      } else ended = afterStep(i);
    }
    if (ex.violations.length !== 0 && ex.violations.some((v) => v.fatal)) stats.violating++;
    if (dpor) analyzeRaces(Math.max(0, replayLen - 1));
    return recordViolations();
  }

  /** Sleep set of node i (computed after its parent's step): the parent's sleeping and explored threads that the step did not wake. */
  function childSleep(i: number): number {
    let sleep = 0;
    if (!useSleep || i === 0) return 0;
    const parent = stack[i - 1]!;
    const cand = (parent.sleep | parent.done) & ~(1 << parent.tid);
    for (let q = cand; q !== 0; q &= q - 1) {
      const t = lowestBit(q);
      if (!(dpor ? pendingConflictsPredicted(t, i - 1) : ex.pendingConflictsWith(t, i - 1)) || (cfg.fault === "lost-wakeup" && pendingMode(ex.pending[t]!) === M.W)) sleep |= 1 << t;
    }
    return sleep;
  }

  /**
   * Would thread t's next step conflict with event e? As `pendingConflictsWith`, but an event that
   * touched observer groups wakes t only if t's next step may touch one of them too (predicted from
   * the record of t's code, Execution.pendingGroups; unknown counts as "yes").
   */
  function pendingConflictsPredicted(t: number, e: number): boolean {
    if (pendingTouchesDpor(t, e)) return true;
    const eg = ex.evGroup[e]!;
    if (eg === 0) return false;
    const pg = ex.pendingGroups(t);
    return pg === -1 || (pg & eg) !== 0;
  }

  function noteLoud(i: number): void {
    if (i >= loud.length) {
      const bigger = new Int32Array(Math.max(i + 1, loud.length * 2));
      bigger.set(loud);
      loud = bigger;
    }
    loud[i] = (i > 0 ? loud[i - 1]! : 0) + (ex.evProgress[i] || ex.evEnvFail[i] ? 1 : 0);
  }

  /** Cycle and cache checks after event i. Returns true if the execution ends here. */
  function afterStep(i: number): boolean {
    revisit = -1;
    if (ex.fatal) return true;
    if (awaitLoops && ex.evHead[i] && tryPark(i)) {
      // No cycle check here: the state differs from the one the iteration began in by the parked
      // thread, which will not move again in this execution.
      stats.awaits!++;
      return false;
    }
    if (!cycles && !visited && bvisited === null) return false;
    ex.fingerprint();
    if (fpOf !== null) noteLoud(i);
    if (visited) {
      // With symmetry the visited set holds canonical fingerprints (symmetry.ts); ex.fp1/fp2 stay the state's own.
      if (sym !== null) sym.canonical(ex);
      // Shared (parallel search, no symmetry): the new state's sleep set is stored before other workers can see the state.
      const z0 = shared !== null && sleepOf ? childSleep(i + 1) : 0;
      let isNew: boolean;
      if (own !== null) {
        // The step's invariant checks were left due (Execution.deferChecks): done only for a new state.
        if (own.find(ex.fp1, ex.fp2) >= 0) {
          ex.dropDue();
          isNew = false;
        } else {
          ex.checkDue();
          if (ex.fatal) return true;
          own.insertFound(ex.fp1, ex.fp2);
          isNew = true;
        }
      } else isNew = shared !== null ? shared.visited.add(ex.fp1, ex.fp2, z0) : sym !== null ? visited.add(sym.c1, sym.c2) : visited.add(ex.fp1, ex.fp2);
      graph?.addEdge(stack[i]!.sid, visited.lastId, ex.evTid[i]!, ex.evChoices[i] ?? null, ex.evProgress[i]!, ex.evEnvFail[i]!, isNew, ex.lastSpan); // (event i is the last one: its span is the last step's)
      curSid = visited.lastId;
      // (Shared: the size is a cache line every insert writes; the coordinator reads it once at the end.)
      if (shared === null) stats.statesStored = visited.size;
      if (fpOf !== null && isNew) keepFp(curSid, ex.fp1, ex.fp2);
      if (sleepOf && shared !== null) {
        if (!isNew) {
          // Godefroid's rule as below, as one atomic update: another worker may be here too.
          for (;;) {
            const stored = Atomics.load(sleepOf, curSid);
            const todo = stored & ~z0 & ex.enabledMask();
            if (todo === 0) break;
            if (Atomics.compareExchange(sleepOf, curSid, stored, stored & z0) === stored) {
              revisit = todo;
              return false;
            }
          }
        }
      } else if (sleepOf) {
        if (curSid >= sleepOf.length) {
          const bigger = new Int32Array(Math.max(curSid + 1, sleepOf.length * 2));
          bigger.set(sleepOf);
          sleepOf = bigger;
        }
        // With symmetry, stored in the thread names of the state's canonical image.
        const z = sym !== null ? sym.toCanon(childSleep(i + 1)) : childSleep(i + 1);
        if (isNew) sleepOf[curSid] = z;
        else {
          // Reached again: only the threads asleep last time and awake now are unexplored from
          // here (Godefroid's rule); the stored sleep set shrinks, so this ends.
          const stored = sleepOf[curSid]!;
          let todo = (sym !== null ? sym.fromCanon(stored & ~z) : stored & ~z) & ex.enabledMask();
          // Persistent sets: only threads of the state's persistent set were due there.
          if (ampleOf !== null) todo &= ampleOf[curSid]!;
          if (todo !== 0) {
            sleepOf[curSid] = stored & z;
            revisit = todo;
            return false;
          }
        }
      }
      if (!isNew) {
        if (cycles && onStack.first(ex.fp1) !== -1) {
          stats.cycles++;
          // Persistent sets, the cycle proviso (SPIN's C3): a reduced state whose step closes a
          // cycle onto the stack is expanded fully, so every cycle of the reduced graph holds a
          // fully expanded state and no thread's step is postponed forever.
          if (amp !== null && amp.fault !== "no-proviso") {
            const nd = stack[i]!;
            if (ampleOf !== null && nd.sid >= 0 && ampleOf[nd.sid] !== nd.enabled) {
              nd.backtrack |= nd.enabled;
              ampleOf[nd.sid] = nd.enabled;
              stats.por!.proviso++;
            }
            // While livelock is judged: a non-progress cycle closed on the stack (no step from
            // node j to here made progress or took an injected failure) has its states expanded
            // fully now, ahead of the round the fair-cycle analysis would otherwise ask for.
            if (fpOf !== null && amp.fault !== "no-refine")
              for (let j = onStack.first(ex.fp1); j !== -1; j = onStack.next(j)) {
                if (stack[j]!.fp2 !== ex.fp2) continue;
                if (loud[i]! - (j > 0 ? loud[j - 1]! : 0) === 0)
                  for (let k = j; k <= i; k++) {
                    const q = stack[k]!;
                    if (q.sid >= 0 && ampleOf![q.sid] !== q.enabled) {
                      q.backtrack |= q.enabled;
                      ampleOf![q.sid] = q.enabled;
                      amp.forced!.add(fpOf[2 * q.sid]!, fpOf[2 * q.sid + 1]!);
                      stats.por!.quiet = (stats.por!.quiet ?? 0) + 1;
                    }
                  }
                break;
              }
          }
        } else stats.cachePruned++;
        return true;
      }
      if (visited.full) {
        stopReason = "max-states";
        return true;
      }
      return false;
    }
    {
      for (let j = onStack.first(ex.fp1); j !== -1; j = onStack.next(j)) {
        if (stack[j]!.fp2 !== ex.fp2) continue;
        stats.cycles++;
        judgeCycle(ex, j, i, enabledAt);
        // The execution is cut where it came back to node j's state: whatever the other threads
        // can do from this state is node j's to explore (DPOR would otherwise only schedule the
        // threads that race with the cycle).
        // So must the nodes inside the cycle: a thread asleep there relies on the subtree of the
        // cycle's thread being explored to the end, which the cut prevents (a thread that could
        // run between the cycle's steps would otherwise never be scheduled there).
        if (dpor) for (let k = j; k <= i; k++) stack[k]!.backtrack |= stack[k]!.enabled & ~stack[k]!.sleep;
        return true;
      }
    }
    if (bvisited !== null) {
      // Preemption bounding with a visited set: what the search does from here depends only on
      // the state, the thread that just ran and the preemptions used so far. A state visited
      // after the same thread with no more preemptions used was (or is being) explored with at
      // least the budget left now: cut.
      const nd = stack[i]!;
      const prev = i > 0 ? stack[i - 1]!.tid : -1;
      const used = nd.preemptions + (prev >= 0 && nd.tid !== prev && (nd.enabled & (1 << prev)) !== 0 ? 1 : 0);
      const isNew = bvisited.add(mix32(ex.fp1 ^ Math.imul(nd.tid + 1, 0x9e3779b1)), ex.fp2);
      const id = bvisited.lastId;
      if (id >= bused.length) {
        const bigger = new Int32Array(Math.max(id + 1, bused.length * 2));
        bigger.set(bused);
        bused = bigger;
      }
      if (!isNew && bused[id]! <= used) {
        stats.cachePruned++;
        return true;
      }
      bused[id] = used;
      if (bvisited.full) bvisited = null;
    }
    return false;
  }

  /**
   * Masked loads. Is write event w independent of the masked load `ld` (pending or executed) on
   * the same one-cell object, because it changes none of the bits `ld` reads? w's old value is the
   * value the W events on the object ordered before it left there (every W step on the object
   * conflicts with w), so the answer is the same in every equivalent execution, and `ld` returns
   * the same value before and after w (docs/design.md, "Masked loads").
   */
  function maskedIndependent(ld: Op, w: number): boolean {
    if (!maskedLoads || ld.k !== K.Load || ld.a === 0) return false;
    if (ex.evMode[w] !== M.W || ex.evObjs[w] !== null || ex.evObj[w] !== ld.o) return false;
    const nw = ex.evWrite[w]!;
    if (nw === NO_WRITE) return false;
    if (cfg.fault === "masked-load-any-write") return true;
    const old = oldValue(w, ld.o);
    return old !== null && ((old ^ nw) & ~ld.a) === 0;
  }

  /** The value one-cell object o held before W event w (null: not known from the events). */
  function oldValue(w: number, o: number): number | null {
    const k = ex.evKind[w]!;
    if (k === K.Cas || k === K.Xchg || k === K.Rmw) return ex.evRead[w]!;
    for (let f = w - 1; f >= 0; f--) {
      const fm = ex.evMode[f]!;
      if (fm !== M.W && fm !== M.S) continue;
      const objs = ex.evObjs[f];
      if (objs !== null) {
        if (objs.includes(o)) return null;
        continue;
      }
      if (ex.evObj[f] !== o) continue;
      if (fm !== M.W || ex.evWrite[f] === NO_WRITE) return null;
      return ex.evWrite[f]!;
    }
    const info = program.world.objs[o]!;
    return info.size === 1 ? program.world.initial[info.base]! : null;
  }

  /** DPOR's dependence between executed events: eventsConflict, less a masked load and a write that leaves its bits alone. */
  function conflictDpor(e: number, f: number): boolean {
    if (!eventsConflict(ex, e, f)) return false;
    if (!maskedLoads || (ex.evGroup[e]! & ex.evGroup[f]!) !== 0) return true;
    return !maskedIndependent(ex.evOp[e]!, f) && !maskedIndependent(ex.evOp[f]!, e);
  }

  /**
   * Thread t's pending op and event e, one a masked load and the other a write to its cell that
   * changes none of its bits (the pending op's write as it would run now, in the current memory).
   */
  function pendingMaskedIndependent(t: number, e: number): boolean {
    if (!maskedLoads) return false;
    const op = ex.pending[t]!;
    if (op.k === K.Load) return maskedIndependent(op, e);
    const ld = ex.evOp[e]!;
    if (ld.k !== K.Load || ld.a === 0 || op.objs !== undefined || op.o !== ld.o) return false;
    const old = ex.mem[op.s]!;
    let nw: number;
    switch (op.k) {
      case K.Store:
      case K.Xchg:
        nw = op.a;
        break;
      case K.Cas:
        nw = old === op.a ? op.b : old;
        break;
      case K.Rmw:
        nw = op.fn!(old) | 0;
        break;
      default:
        return false;
    }
    return cfg.fault === "masked-load-any-write" || ((old ^ nw) & ~ld.a) === 0;
  }

  /** Thread t's pending op against event e, as Execution.pendingConflictsWith / pendingTouches, with the masked-load exception. */
  function pendingConflictsDpor(t: number, e: number): boolean {
    if (!ex.pendingConflictsWith(t, e)) return false;
    return ex.evGroup[e] !== 0 || !pendingMaskedIndependent(t, e);
  }
  function pendingTouchesDpor(t: number, e: number): boolean {
    return ex.pendingTouches(t, e) && !pendingMaskedIndependent(t, e);
  }

  function objsOfEvent(e: number): readonly number[] {
    return ex.evObjs[e] ?? (ex.evObj[e]! >= 0 ? [ex.evObj[e]!] : []);
  }

  /**
   * Await loops. Thread t = ex.evTid[i] passed a loop head after event i. If it stands in a local
   * state it stood in earlier in this execution (a loop head it passed after event j, or its
   * start), its events since then form a segment I (one or more iterations). I had no net effect
   * when every object it wrote holds again the value it held before I's first event, and no other
   * thread's event between I's first and last event touched one of those objects (nobody could
   * see, or change, a value I left there in between; shared-mode steps of other threads on an
   * object I only used in shared mode commute with I's). Then t is parked: it takes no further
   * step in this execution. Why that is sound (I can be removed from any execution that goes on
   * with t, keeping every later state): docs/design.md, "Retry loops in DPOR".
   */
  function tryPark(i: number): boolean {
    const t = ex.evTid[i]!;
    if (ex.done[t]) return false;
    const l1 = ex.l1[t]!;
    const l2 = ex.l2[t]!;
    const op = ex.pending[t]!;
    const mem = ex.mem;
    headL1[i] = l1;
    headL2[i] = l2;
    headOp[i] = op;
    // Memory as it is now, for a later pass that comes back to this local state.
    let copy = headMem[i];
    if (copy === undefined || copy.length !== mem.length) headMem[i] = copy = new Int32Array(mem.length);
    copy.set(mem);
    let j = i - 1;
    for (; j >= 0; j--) if (ex.evTid[j] === t && ex.evHead[j] && headL1[j] === l1 && headL2[j] === l2 && sameOp(headOp[j]!, op)) break;
    if (j < 0 && !(startL1[t] === l1 && startL2[t] === l2 && startOp[t] !== null && sameOp(startOp[t]!, op))) return false;
    // Objects I (t's events after j) wrote: in W mode (touched by nobody else meanwhile), or only
    // in S mode (other threads' S-mode steps on them commute with I's).
    const wrote: number[] = [];
    const onlyShared: boolean[] = [];
    for (let g = j + 1; g <= i; g++) {
      if (ex.evTid[g] !== t) continue;
      const m = ex.evMode[g]!;
      if (m !== M.W && m !== M.S) continue;
      for (const o of objsOfEvent(g)) {
        const k = wrote.indexOf(o);
        if (k < 0) {
          wrote.push(o);
          onlyShared.push(m === M.S);
        } else if (m === M.W) onlyShared[k] = false;
      }
    }
    const before = j >= 0 ? headMem[j]! : program.world.initial;
    // Nobody else touched them since j (so they held before I's first event what they held after
    // j), except by a read that saw the value the cell held before I (it could not tell whether I
    // had run, or had undone its write already).
    if (cfg.fault !== "observed-iteration")
      for (let f = j + 1; f < i; f++) {
        if (ex.evTid[f] === t) continue;
        const fm = ex.evMode[f]!;
        if (fm === M.None) continue;
        for (const o of objsOfEvent(f)) {
          const k = wrote.indexOf(o);
          if (k >= 0 && !(onlyShared[k] && fm === M.S) && !(fm === M.R && readBefore(f, before))) return false;
        }
      }
    for (const o of wrote) {
      const info = program.world.objs[o]!;
      for (let c = info.base; c < info.base + info.size; c++) if (mem[c] !== before[c]) return false;
    }
    parked |= 1 << t;
    return true;
  }

  /**
   * Await loops: did event f only read one cell, and see there the value `before` holds? (A load,
   * a compare-exchange that failed, a read-modify-write that changed nothing, a wait-load: their
   * result is the cell's value, and what their thread does next depends on that value alone.)
   */
  function readBefore(f: number, before: ArrayLike<number>): boolean {
    if (cfg.fault === "read-any-value") return true;
    if (ex.evObjs[f] !== null) return false;
    const k = ex.evKind[f]!;
    if (k !== K.Load && k !== K.Cas && k !== K.Rmw && k !== K.WaitLoad) return false;
    const op = ex.evOp[f]!;
    // A masked load returned only its bits: it could not tell the cells apart where only the others differ.
    return ex.evRead[f] === (k === K.Load ? before[op.s]! & ~op.a : before[op.s]);
  }

  /** Source-DPOR race detection over the events from `from` on (earlier ones were analysed before). */
  function analyzeRaces(from: number): void {
    const len = ex.length;
    if (stamp.length < len + n) stamp = new Int32Array(Math.max(len + n, stamp.length * 2));
    if (vc.length < (len + n) * n) {
      const bigger = new Int32Array(Math.max((len + n) * n, vc.length * 2, 64 * n));
      bigger.set(vc);
      vc = bigger;
    }
    // Events per object and per observer group, so each event meets only what it can conflict with.
    for (const l of objEvents) l.length = 0;
    for (const l of groupEvents) l.length = 0;
    const lastOf = new Array<number>(n).fill(-1);
    const prevOf = new Array<number>(len).fill(-1);
    for (let e = 0; e < len; e++) {
      const t = ex.evTid[e]!;
      prevOf[e] = lastOf[t]!;
      lastOf[t] = e;
    }
    const candidates = (e: number, visit: (f: number) => void): void => {
      stampNow++;
      const go = (list: number[]): void => {
        for (const f of list) {
          if (stamp[f] === stampNow) continue;
          stamp[f] = stampNow;
          visit(f);
        }
      };
      for (const o of objsOfEvent(e)) go(objEvents[o]!);
      for (let g = ex.evGroup[e]!; g !== 0; g &= g - 1) go(groupEvents[lowestBit(g)]!);
    };
    for (let e = 0; e < len; e++) {
      if (e >= from) {
        // Vector clock of e (those of earlier events are kept from the previous execution: same prefix).
        const t = ex.evTid[e]!;
        const row = e * n;
        const p = prevOf[e]!;
        if (p >= 0) for (let u = 0; u < n; u++) vc[row + u] = vc[p * n + u]!;
        else for (let u = 0; u < n; u++) vc[row + u] = 0;
        candidates(e, (f) => {
          if (ex.evTid[f] === t || !conflictDpor(f, e)) return;
          const fr = f * n;
          for (let u = 0; u < n; u++) if (vc[fr + u]! > vc[row + u]!) vc[row + u] = vc[fr + u]!;
        });
        vc[row + t] = seq[e]!;
        // Races e1 -> e: conflicting, other thread, not ordered before e through e's own thread.
        candidates(e, (e1) => {
          const t1 = ex.evTid[e1]!;
          if (t1 === t || !conflictDpor(e1, e)) return;
          if (p >= 0 && vc[p * n + t1]! >= seq[e1]!) return;
          if (neverCoEnabled(e1, t, p, ex.evOp[e]!)) return;
          addBacktrack(e1, e, t, row, seq[e]!);
        });
      }
      for (const o of objsOfEvent(e)) objEvents[o]!.push(e);
      for (let g = ex.evGroup[e]!; g !== 0; g &= g - 1) groupEvents[lowestBit(g)]!.push(e);
    }
    // The execution may have ended early (a violation, a cycle, a deadlock, sleep-set blocking):
    // the pending op of every unfinished thread is a next event whose races must be reversed too.
    for (let q = 0; q < n; q++) {
      // A parked thread has no next event (it waits for the rest of the execution).
      if (ex.done[q] || !ex.pending[q] || (parked & (1 << q)) !== 0) continue;
      const row = (len + q) * n;
      const p = lastOf[q]!;
      if (p >= 0) for (let u = 0; u < n; u++) vc[row + u] = vc[p * n + u]!;
      else for (let u = 0; u < n; u++) vc[row + u] = 0;
      const sq = (p >= 0 ? seq[p]! : 0) + 1;
      for (let f = 0; f < len; f++) {
        if (ex.evTid[f] === q || !pendingConflictsDpor(q, f)) continue;
        if (!pendingTouchesDpor(q, f)) continue; // a group-only conflict orders nothing yet
        const fr = f * n;
        for (let u = 0; u < n; u++) if (vc[fr + u]! > vc[row + u]!) vc[row + u] = vc[fr + u]!;
      }
      vc[row + q] = sq;
      for (let e1 = 0; e1 < len; e1++) {
        const t1 = ex.evTid[e1]!;
        if (t1 === q || !pendingConflictsDpor(q, e1)) continue;
        if (p >= 0 && vc[p * n + t1]! >= seq[e1]!) continue;
        const op = ex.pending[q]!;
        if (neverCoEnabled(e1, q, p, op)) continue;
        addBacktrack(e1, len, q, row, sq);
      }
    }
  }

  /**
   * A race e1 -> e that can never be reversed: e is a blocking step (lock, wait) whose enabledness
   * depends only on the one object e1 wrote, e's thread was blocked at e1 on that very step (it
   * took no step in between: its previous event `prev` precedes e1), and e1 is a write. Any
   * reordering that puts e before e1 keeps that object as it was before e1 (every other step on
   * it conflicts with e1, so comes after it), where e is disabled. An unlock and the lock it lets
   * in, a store and the wait it releases, are never co-enabled: reversing them only produces a
   * sleep-set-blocked execution (the k disjoint lock pairs).
   */
  function neverCoEnabled(e1: number, t: number, prev: number, op: Op): boolean {
    const obj = op.o;
    const kind = op.k;
    if (cfg.fault === "irreversible-waits" && isBlocking(kind)) return true;
    if (ex.evMode[e1] !== M.W || ex.evObjs[e1] !== null || ex.evObj[e1] !== obj) return false;
    // A release by another thread and an acquire of the same lock: the lock was held just before
    // the release, so the acquire is disabled wherever it is moved before it, whatever the
    // acquiring thread did first.
    const k1 = ex.evKind[e1]!;
    if ((k1 === K.Unlock || k1 === K.WUnlock) && (kind === K.Lock || kind === K.RLock || kind === K.WAnnounce)) return true;
    // A wait on one cell, moved before the write e1: it sees the cell as it was before e1.
    const info = program.world.objs[obj]!;
    if ((kind === K.WaitLoad || (kind === K.Wait && op.objs!.every((o) => o === obj))) && info.size === 1) {
      let v = program.world.initial[info.base]!;
      for (let f = e1 - 1; f >= 0; f--) {
        if (ex.evObj[f] === obj && ex.evObjs[f] === null && ex.evMode[f] === M.W) {
          v = ex.evWrite[f]!;
          break;
        }
      }
      if (kind === K.WaitLoad) return !op.vpred!(v);
      const mem = ex.mem;
      const now = mem[info.base]!;
      mem[info.base] = v;
      try {
        return !op.pred!();
      } finally {
        mem[info.base] = now;
      }
    }
    if (prev >= e1) return false;
    if ((stack[e1]!.enabled & (1 << t)) !== 0) return false;
    switch (kind) {
      case K.Lock:
      case K.RLock:
      case K.WAnnounce:
      case K.WAcquire:
      case K.WaitLoad:
        return true;
      case K.Wait:
        return op.objs!.every((o) => o === obj);
      default:
        return false;
    }
  }

  /**
   * Reverse the race e1 -> e2: make an initial of notdep(e1).e2 explorable at node e1.
   * e2 is given by position (events before it are considered), thread, vector-clock row and sequence number.
   */
  function addBacktrack(e1: number, e2: number, t2: number, row2: number, seq2: number): void {
    const nd = stack[e1]!;
    const t1 = ex.evTid[e1]!;
    const s1 = seq[e1]!;
    const firstSeq = new Array<number>(n).fill(Infinity);
    let initials = 0;
    const consider = (tf: number, row: number, sq: number): void => {
      if (firstSeq[tf] !== Infinity) return;
      let isInitial = true;
      for (let u = 0; u < n; u++) {
        if (u !== tf && firstSeq[u] !== Infinity && vc[row + u]! >= firstSeq[u]!) {
          isInitial = false;
          break;
        }
      }
      firstSeq[tf] = sq;
      if (isInitial) initials |= 1 << tf;
    };
    for (let f = e1 + 1; f < e2; f++) {
      if (vc[f * n + t1]! >= s1) continue; // happens after e1
      consider(ex.evTid[f]!, f * n, seq[f]!);
    }
    consider(t2, row2, seq2);
    if ((initials & nd.backtrack) !== 0) return;
    // Prefer an initial that is not asleep: a sleeping initial's executions are covered, but v
    // may owe it its place only to being independent of e1 (not to the reversal we need).
    const awake = initials & ~nd.sleep;
    if (awake === 0) return;
    const en = awake & nd.enabled;
    if (en !== 0) nd.backtrack |= 1 << lowestBit(en);
    else nd.backtrack |= nd.enabled & ~nd.sleep;
  }

  function limitsHit(): boolean {
    if (opts.maxExecutions !== undefined && stats.executions >= opts.maxExecutions) {
      stopReason = "max-executions";
      return true;
    }
    // Counted budget: stop as soon as the state graph is full, not at the end.
    if (graph?.truncated) {
      stopReason = "max-graph-edges";
      return true;
    }
    if ((stats.executions & 255) === 0) {
      const now = Date.now();
      if (opts.timeLimitMs !== undefined && now - t0 >= opts.timeLimitMs) {
        stopReason = "time-limit";
        return true;
      }
      if (opts.maxMemoryMb !== undefined && process.memoryUsage().heapUsed / 1048576 > opts.maxMemoryMb) {
        stopReason = "max-memory";
        return true;
      }
      if (opts.shouldStop?.()) {
        stopReason = "interrupted";
        return true;
      }
      if (opts.onProgress && now - lastProgress >= 100) {
        lastProgress = now;
        stats.wallMs = now - t0;
        opts.onProgress(stats);
      }
    }
    return false;
  }

  /**
   * Parallel search: hand the unexplored threads of the shallowest node that has any (the largest
   * subtrees) to other workers. They are explored as if right after the node's current thread
   * (`given`, and each item's `done`), the order a sequential search would take them in.
   */
  function giveAway(): void {
    for (let i = floor; i < stack.length; i++) {
      const nd = stack[i]!;
      if (start !== null && i === floor) continue;
      const spare = nd.backtrack & ~nd.done & ~nd.sleep & nd.enabled & ~(1 << nd.tid) & ~(nd.given ?? 0);
      if (spare === 0) continue;
      const path = stack.slice(0, i).map((x) => ({ tid: x.tid, choices: x.choices.slice() }));
      const items: WorkItem[] = [];
      let before = nd.done | (1 << nd.tid);
      for (let q = spare; q !== 0; q &= q - 1) {
        const t = lowestBit(q);
        items.push({ rootChoices: rootChoices.slice(), path: [...path, { tid: t, choices: [] }], sleep: nd.sleep, done: before, sid: nd.sid });
        before |= 1 << t;
      }
      nd.given = (nd.given ?? 0) | spare;
      shared!.give(items);
      return;
    }
  }

  /** Pick the next branch; false when the tree is exhausted. */
  function backtrack(): boolean {
    while (stack.length > 0) {
      const i = stack.length - 1;
      const nd = stack[i]!;
      if (start !== null && i < floor) return false; // above the work item: another worker's
      if (nextNodeChoices(nd)) {
        replayLen = i + 1;
        return true;
      }
      // Threads handed to other workers count as explored right after this one.
      nd.done |= (1 << nd.tid) | (nd.given ?? 0);
      let cand = nd.backtrack & ~nd.done & ~nd.sleep & nd.enabled;
      if (cfg.mode === "bounded") {
        const prev = i > 0 ? stack[i - 1]!.tid : -1;
        let allowed = 0;
        for (let q = cand; q !== 0; q &= q - 1) {
          const t = lowestBit(q);
          const pre = prev >= 0 && t !== prev && (nd.enabled & (1 << prev)) !== 0 ? 1 : 0;
          if (nd.preemptions + pre <= bound) allowed |= 1 << t;
        }
        cand = allowed;
      }
      if (cand !== 0) {
        nd.tid = lowestBit(cand);
        nd.choices = NO_CHOICES;
        nd.choiceK = NO_CHOICES;
        replayLen = i + 1;
        return true;
      }
      if (cycles) onStack.pop(i, nd.fp1);
      stack.pop();
    }
    if (start === null && nextChoices(rootChoices, rootChoiceK)) {
      replayLen = 0;
      return true;
    }
    return false;
  }

  let stop = false;
  /** The search loop; a result when a run must start again (a fusion or a reduction relied on something false). */
  const search = (): ExploreResult | null => {
    for (;;) {
      stop = runOne();
      // A fusion relied on something now known to be false: the caller starts again.
      if (fus !== null && fus.invalid) return { program: program.name, verdict: "incomplete", exhaustive: false, violations: [], stats, coverage: [], notDecided: [], stopReason: "fusion-restart" };
      if (amp !== null && amp.invalid) return { program: program.name, verdict: "incomplete", exhaustive: false, violations: [], stats, coverage: [], notDecided: [], stopReason: "por-restart" };
      if (stop) break;
      if (stopReason) break;
      if (shared !== null) {
        const p = shared.poll();
        if (p === "stop") {
          stopReason = "stopped";
          break;
        }
        if (p === "give") giveAway();
      }
      if (!backtrack()) break;
      if (limitsHit()) break;
    }
    return null;
  };
  const again = search();
  if (again !== null) return again;
  if (graph && shared === null && !stop && stopReason === undefined) {
    for (;;) {
      if (graph.truncated) {
        stopReason = "max-graph-edges";
        break;
      }
      const refine: number[] = [];
      const v = livelockOf(program, graph, opts.properties, fpOf !== null ? ampleOf! : undefined, refine);
      if (v) {
        if (stats.firstViolationMs < 0) stats.firstViolationMs = Date.now() - t0;
        violations.push(v);
        stop = !opts.allViolations;
        break;
      }
      if (refine.length === 0 || amp!.fault === "no-refine") break;
      // Persistent sets: no fair non-progress cycle, but unfair ones through states expanded
      // with a reduced set; "no livelock" is sound only once those are expanded fully (docs/design.md,
      // "Livelock under persistent sets"). Each is reached again along its discovery path and its
      // other enabled threads are explored from there, into the same visited set and graph; then
      // the graph is judged again.
      amp!.rounds++;
      for (const sid of refine) {
        const en = graph.enabledOf(sid);
        const todo = en & ~ampleOf![sid]!;
        if (todo === 0) continue; // expanded since, by the proviso
        ampleOf![sid] = en;
        amp!.forced!.add(fpOf![2 * sid]!, fpOf![2 * sid + 1]!);
        const to = graph.pathTo(sid);
        for (let q = todo; q !== 0 && !stop && stopReason === undefined; q &= q - 1) {
          start = { rootChoices: to.rootChoices, path: [...to.steps, { tid: lowestBit(q), choices: [] }], sleep: 0, done: 0, sid };
          floor = start.path.length - 1;
          rootChoices = start.rootChoices.slice();
          replayLen = 0;
          const r = search();
          if (r !== null) return r;
          // The replayed nodes above the branch stay on the stack (backtrack leaves them).
          while (stack.length > 0) {
            const nd = stack.pop()!;
            if (cycles) onStack.pop(stack.length, nd.fp1);
          }
        }
        if (stop || stopReason !== undefined) break;
      }
      start = null;
      floor = 0;
      if (stop || stopReason !== undefined) break;
    }
  }
  stats.replaySteps = ex.refed;
  stats.wallMs = Date.now() - t0;
  const exhaustive = !stop && stopReason === undefined;
  const verdict = violations.length > 0 ? "violated" : exhaustive ? (cfg.mode === "bounded" ? "no-violation-found" : "verified") : "incomplete";
  const livelockSelected = props === null || props.has("livelock");
  const notDecided = livelockSelected && !graph && !violations.some((v) => v.property === "livelock") ? ["livelock"] : [];
  const res: ExploreResult = { program: program.name, verdict, exhaustive, violations, stats, coverage: [...ex.coverage].sort(), notDecided };
  if (stopReason) res.stopReason = stopReason;
  return res;
}
