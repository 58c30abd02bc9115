// Persistent (ample) sets for the stateful search (`cache`): state-space reduction, not only
// transition reduction. At a state s the search explores the steps of a set A of threads instead
// of every enabled thread when no thread outside A can, in any future, take a step that conflicts
// with a step of A (Godefroid, LNCS 1032, ch. 4; Valmari's stubborn sets; SPIN's ample sets:
// Holzmann & Peled, "An improvement in formal verification", FORTE 1994), with
//   - invariants as observers instead of SPIN's visibility condition: two steps that write one
//     observer group (an invariant's objects, a quiescent key's objects and windows) conflict, so
//     every invariant sees its objects change in the same order in the reduced search;
//   - the cycle proviso (SPIN's stack proviso, C3): a reduced state whose step reaches a state on
//     the DFS stack is expanded fully (dfs.ts, `afterStep`).
// The engine has no static view of thread code, so "what a thread may do in the future" is LEARNT,
// the way fusion learns private objects (fusion.ts): per thread, the objects every op that ever
// became pending touched (with every mode the op may have: a compare-exchange may write or only
// read), the objects its code peeked at, and the observer groups its steps wrote. A reduction
// records what it relied on (thread u never touches object o in a mode conflicting with A's step,
// writes none of A's groups; a member's code peeks at nothing new); a later touch that contradicts
// it makes the search start again from scratch, knowing more (`invalid`). Knowledge only grows, so
// this ends. Why the last run is sound: docs/design.md, "Persistent sets in the stateful search".
import { K, M, pendingMode, pendingModeAt, type Op } from "../ops.js";
import type { Execution } from "../execution.js";
import type { Program } from "../program.js";
import { FingerprintSet } from "../fpset.js";

/** Footprint bits per (thread, object): the modes in which the thread may touch the object. */
const FR = 1;
const FS = 2;
const FW = 4;

/** The footprint bits that conflict with a step of mode m (two R or two S steps commute). */
function conflictBits(m: number): number {
  return m === M.R ? FS | FW : m === M.S ? FR | FW : m === M.W ? FR | FS | FW : 0;
}

/** Every mode an op may have when it runs (a compare-exchange may fail: R; a shared try-lock may fail: R). */
function opBits(op: Op): number {
  switch (op.k) {
    case K.Cas:
    case K.Rmw:
    case K.TryEx:
      return FR | FW;
    case K.TryShared:
      // A shared try-lock fails only while the lock is held exclusively, when no shared-mode
      // step of another thread can run: against them it is a shared-mode step either way.
      return FS;
    default: {
      const m = pendingMode(op);
      return m === M.R ? FR : m === M.S ? FS : m === M.W ? FW : 0;
    }
  }
}

/**
 * Deliberately broken variants, for the tests that show the differential harness catches them:
 * "no-proviso" never expands a state fully when its reduced step closes a cycle onto the stack;
 * "unlearnt" never learns a footprint (no thread is known to touch anything); "visible" ignores
 * observer groups (two steps that write what one invariant reads may commute); "no-refine" (while
 * livelock is judged) never expands the states of unfair non-progress cycles fully, so a reduced
 * graph whose non-progress cycles are all unfair counts as free of livelock; "fair-by-explored"
 * records a state's explored threads as its enabled ones, so that fairness is judged against the
 * reduced set (a thread starved by the reduction looks disabled); "fused-footprint" (with fusion)
 * lets a fused step go on with ops that other threads touch, while the conflict check still sees
 * only its first op (a fused step's footprint taken as its first op's, not the union of its ops').
 */
export type PersistentFault = "no-proviso" | "unlearnt" | "visible" | "no-refine" | "fair-by-explored" | "fused-footprint";

/**
 * Persistent sets run by default in a scenario's stateful search (src/cli/cell.ts) when the program
 * has at least this many threads: a counted rule by the program's shape. The learning walks cost
 * about the same on every program; the reduction grows with the threads (scaling series, 4 threads:
 * zap k=3 3 023 292 -> 1 549 697 states), while the built-in scenarios (2 and 3 threads) are
 * cheaper without (main job 12.0-12.9 s CPU unreduced vs 14.6-15.7 s reduced: docs/bench.md,
 * "Session 7: persistent sets + fusion").
 */
export const PERSISTENT_MIN_THREADS = 4;

export class PersistentSets {
  readonly n: number;
  readonly nObj: number;
  /** Per (thread, object): modes the thread was seen to use on it (ops that became pending, peeks). */
  readonly fp: Uint8Array;
  /** Per (thread, object): the modes whose appearance would contradict a reduction made in this run. */
  readonly relied: Uint8Array;
  /** Per thread: a reduction relied on the objects its code peeks at (a new one contradicts it). */
  readonly peekRelied: Uint8Array;
  /** Per thread: observer groups its steps were seen to write (an invariant's objects, a window's key). */
  readonly gw: Int32Array;
  /** Per thread: groups whose appearance in its steps would contradict a reduction made in this run. */
  readonly gRelied: Int32Array;
  /** Scratch: per thread, the conflict mask of its next step (choose). */
  private readonly conf: Int32Array;
  /** Per thread: objects its code peeked at. */
  readonly peeked: number[][];
  private readonly cellObj: Int32Array;
  /** A reduction of this run relied on something now known to be false: start again. */
  invalid = false;
  restarts = 0;
  /** Facts learnt so far (footprint bits, groups): the learning walks stop when it stays put. */
  learnt = 0;
  fault: PersistentFault | undefined;
  /**
   * While livelock is judged: the states (fingerprints) to expand fully, those of unfair
   * non-progress cycles of an earlier round's reduced graph (docs/design.md, "Livelock under
   * persistent sets"); null when livelock is not judged.
   */
  forced: FingerprintSet | null = null;
  /** Rounds searched again because of new forced states. */
  rounds = 0;

  constructor(program: Program, fault?: PersistentFault) {
    const objs = program.world.objs;
    this.n = program.threads.length;
    this.nObj = objs.length;
    this.fp = new Uint8Array(this.n * this.nObj);
    this.relied = new Uint8Array(this.n * this.nObj);
    this.peekRelied = new Uint8Array(this.n);
    this.peeked = Array.from({ length: this.n }, () => []);
    this.gw = new Int32Array(this.n);
    this.conf = new Int32Array(this.n);
    this.gRelied = new Int32Array(this.n);
    let cells = 0;
    for (const o of objs) cells = Math.max(cells, o.base + o.size);
    this.cellObj = new Int32Array(cells).fill(-1);
    for (const o of objs) for (let i = 0; i < o.size; i++) this.cellObj[o.base + i] = o.id;
    this.fault = fault;
  }

  /** A new run after a restart: what it relies on starts empty, what was learnt is kept. */
  newRun(): void {
    this.relied.fill(0);
    this.peekRelied.fill(0);
    this.gRelied.fill(0);
    this.invalid = false;
  }

  private grow(t: number, o: number, bits: number): void {
    const k = t * this.nObj + o;
    const add = bits & ~this.fp[k]!;
    if (add === 0) return;
    this.fp[k]! |= add;
    this.learnt++;
    if ((this.relied[k]! & add) !== 0) this.invalid = true;
  }

  /** Thread t's next op became pending (Execution hook). */
  pending(t: number, op: Op): void {
    if (this.fault === "unlearnt") return;
    const bits = opBits(op);
    if (bits === 0) return;
    if (op.objs) for (const o of op.objs) this.grow(t, o, bits);
    else if (op.o >= 0) this.grow(t, op.o, bits);
  }

  /** Thread t's code peeked at a cell outside a step (Execution hook). */
  peek(t: number, cell: number): void {
    if (this.fault === "unlearnt") return;
    const o = this.cellObj[cell]!;
    if (o < 0) return;
    const k = t * this.nObj + o;
    if ((this.fp[k]! & FR) !== 0) return;
    this.peeked[t]!.push(o);
    if (this.peekRelied[t] === 1) this.invalid = true;
    this.grow(t, o, FR);
  }

  /** Thread t took a step that wrote (or opened/closed windows in) observer groups `g`. */
  stepGroups(t: number, g: number): void {
    if (g === 0 || this.fault === "unlearnt") return;
    const add = g & ~this.gw[t]!;
    if (add === 0) return;
    this.gw[t]! |= add;
    this.learnt++;
    if ((this.gRelied[t]! & add) !== 0) this.invalid = true;
  }

  /**
   * The threads (not finished, other than v) some future step of which, by their learnt
   * footprints, conflicts with thread v's next step: an object in common in conflicting modes,
   * an object v's code peeked at before and u may write, or an observer group both write.
   */
  private conflictMask(ex: Execution, v: number, enabled: boolean): number {
    const op = ex.pending[v]!;
    const fp = this.fp;
    const nObj = this.nObj;
    const cb = conflictBits(modeOf(op, ex, enabled));
    const peeked = this.peeked[v]!;
    // The step's groups are read from the record only when some thread is not yet in conflict.
    let g = -1;
    let m = 0;
    for (let u = 0; u < this.n; u++) {
      if (u === v || ex.done[u]) continue;
      const base = u * nObj;
      let c = false;
      if (cb !== 0) {
        if (op.objs) {
          for (const o of op.objs)
            if ((fp[base + o]! & cb) !== 0) {
              c = true;
              break;
            }
        } else if (op.o >= 0) c = (fp[base + op.o]! & cb) !== 0;
      }
      if (!c)
        for (const o of peeked)
          if ((fp[base + o]! & (FS | FW)) !== 0) {
            c = true;
            break;
          }
      if (!c && this.gw[u] !== 0) {
        if (g === -1) g = this.stepGroupsOf(ex, v, enabled);
        c = (g & this.gw[u]!) !== 0;
      }
      if (c) m |= 1 << u;
    }
    return m;
  }

  private rely(ex: Execution, v: number, u: number, enabled: boolean): void {
    const op = ex.pending[v]!;
    const base = u * this.nObj;
    const cb = conflictBits(modeOf(op, ex, enabled));
    if (cb !== 0) {
      if (op.objs) for (const o of op.objs) this.relied[base + o]! |= cb;
      else if (op.o >= 0) this.relied[base + op.o]! |= cb;
    }
    for (const o of this.peeked[v]!) this.relied[base + o]! |= FS | FW;
    this.peekRelied[v] = 1;
    this.gRelied[u]! |= this.stepGroupsOf(ex, v, enabled);
  }

  /** Observer groups thread t's next step writes (its op's, and the windows its code opens or closes); all when unknown. */
  private stepGroupsOf(ex: Execution, t: number, enabled: boolean): number {
    if (this.fault === "visible") return 0; // broken on purpose: steps seen by invariants or windows commute
    if (!enabled) return ALL_GROUPS;
    const g = ex.pendingGroups(t);
    // (With trailing fusion a step goes on only with ops that touch no group: fusion.ts.)
    return g < 0 ? ALL_GROUPS : g;
  }

  /**
   * The threads to explore at the current state of `ex`: a persistent set's enabled threads, or
   * `enabled` itself (full expansion). For each enabled seed thread, close {seed} under "some
   * future step of u conflicts with the next step of a member" (a disabled member pulls in every
   * thread that may write what it waits on: those conflict with its op); keep the closure with
   * the fewest enabled threads whose enabled members all take invisible steps.
   */
  choose(ex: Execution, enabled: number): number {
    if ((enabled & (enabled - 1)) === 0) return enabled; // one thread: nothing to reduce
    const conf = this.conf;
    let known = 0;
    let best = enabled;
    let bestCount = popcount(enabled);
    for (let seeds = enabled; seeds !== 0; seeds &= seeds - 1) {
      const s = 31 - Math.clz32(seeds & -seeds);
      let a = 1 << s;
      let todo = a;
      let ok = true;
      while (todo !== 0) {
        const v = 31 - Math.clz32(todo & -todo);
        todo &= todo - 1;
        if ((known & (1 << v)) === 0) {
          conf[v] = this.conflictMask(ex, v, (enabled & (1 << v)) !== 0);
          known |= 1 << v;
        }
        const add = conf[v]! & ~a;
        a |= add;
        todo |= add;
        if (popcount(a & enabled) >= bestCount) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      best = a;
      bestCount = popcount(a & enabled);
      if (bestCount === 1) break;
    }
    if (best === enabled) return enabled;
    // Record what the reduction relies on: no thread outside the set ever conflicts with a member.
    for (let q = best; q !== 0; q &= q - 1) {
      const v = 31 - Math.clz32(q & -q);
      const ven = (enabled & (1 << v)) !== 0;
      for (let u = 0; u < this.n; u++) if ((best & (1 << u)) === 0 && !ex.done[u]) this.rely(ex, v, u, ven);
    }
    return best & enabled;
  }
}

/** The mode of a member's next step for the conflict check (a disabled one: its conservative mode). */
function modeOf(op: Op, ex: Execution, enabled: boolean): number {
  if (op.k === K.TryShared) return M.S; // see opBits
  return enabled ? pendingModeAt(op, ex.mem) : pendingMode(op);
}

/** Every observer group (program.ts folds invariants and keys into 31 bits). */
const ALL_GROUPS = 0x7fffffff;

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
