// Fusion of scheduling points (docs/design.md, "Fusion"). After thread t executes an op `a`, the
// engine may run t's next op `b` in the same scheduling step instead of offering every thread a
// turn in between. That is sound when `a` is a *right mover* (Lipton, "Reduction: a method of
// proving properties of parallel programs", CACM 1975): every step another thread can take right
// after `a` could equally have been taken right before it, to the same state. Then any execution
// that runs other threads between `a` and `b` has an equivalent one that runs them before `a`,
// and that one goes through the fused step. Two kinds of right movers are used:
//
//  - an op whose every object is *private* to t: no other thread ever executes, waits on or peeks
//    at it (so nothing another thread does depends on it, nor changes whether it can run);
//  - a lock acquisition (spin_lock; the two phases of write_lock) on a lock that every thread uses
//    only through its lock operations: once t holds it, no other thread's step touches it.
//
// Which objects are private is learnt while exploring: each object records the threads that
// touched it (an op that became pending, or a peek() from thread code). If an object that a fusion
// relied on turns out to be touched by a second thread (or a lock is used otherwise than by its
// lock operations), the exploration is started again with that knowledge (`invalid`); the learnt
// facts only grow, so this ends, and the last run relied on nothing false (the design note gives
// the induction). A fused step never produces an execution the model does not have: every fused
// step is a run of real model steps of one thread, so counterexamples stay real without it.
import { K, type Op } from "./ops.js";
import type { Program } from "./program.js";

export class FusionState {
  /** Per object: bitmask of threads that touched it (ops that became pending, peeks). */
  touched: Int32Array;
  /** Per object: used otherwise than through lock operations (another op kind, a wait, a peek). */
  nonLock: Uint8Array;
  /** Per object: a fusion relied on it being private / on it being used only as a lock. */
  reliedPrivate: Uint8Array;
  reliedLock: Uint8Array;
  /** Per cell: the object that owns it (for peeks). */
  readonly cellObj: Int32Array;
  /** Something a fusion relied on turned out false: the exploration must start again. */
  invalid = false;
  /** How many times the exploration was started again. */
  restarts = 0;
  /** Facts learnt so far (touches, non-lock uses, windows after ops): the learning walks of persistent sets stop when it stays put. */
  learnt = 0;
  /**
   * Test hook only: treat every op as a right mover (fuses across steps other threads can see).
   * The differential tests use it to show that they catch an unsound fusion.
   */
  unsound = false;
  /** Only record touches, fuse nothing (the learning walks before an exhaustive search). */
  learnOnly = false;
  /**
   * Fusion for the search with persistent sets ("op, then private ops"; docs/design.md, "Persistent
   * sets with fusion"): a step runs the thread's pending op, then goes on with its next ops while
   * each is private to the thread (a both-mover: Lipton's L), never after a lock acquisition. The
   * step's footprint is then its first op's plus objects no other thread touches, known before it
   * runs, which is what a persistent set's conflict check needs. Execution.step asks `leftMover`.
   */
  trailing = false;
  /**
   * Test hook only (with `trailing`): go on with the next op whatever it touches, so that a fused
   * step's footprint is more than its first op's (what the persistent sets' check assumes). The
   * differential tests use it to show that they catch a combination that ignores the fused ops.
   */
  trailingUnsound = false;
  /**
   * Per object (trailing fusion): bitmask of threads an op of which on the object was followed by
   * code that opened or closed a window. A step goes on only with ops on objects whose bit is clear,
   * so a step's observer groups are its first op's (Execution.pendingGroups), and how far a step
   * goes depends on the state and on these learnt facts only (a replayed path fuses alike).
   */
  winObj: Int32Array;
  /** Per object: threads for which a step went on relying on winObj's bit being clear. */
  reliedWin: Int32Array;

  constructor(program: Program) {
    const objs = program.world.objs;
    this.touched = new Int32Array(objs.length);
    this.nonLock = new Uint8Array(objs.length);
    this.reliedPrivate = new Uint8Array(objs.length);
    this.reliedLock = new Uint8Array(objs.length);
    this.winObj = new Int32Array(objs.length);
    this.reliedWin = new Int32Array(objs.length);
    this.cellObj = cellOwners(program);
  }

  /**
   * Keep the learnt facts and what fusions relied on in `buf` (made by the first caller, passed to
   * the others), shared by the workers of a parallel search (parallel/search.ts): a fact learnt by
   * one worker invalidates a fusion made by another. The rare writes are atomic, and a thread
   * records what it relies on before it checks it again (below), so of a touch and a reliance on
   * the same object at the same time, at least one side sees the other.
   */
  share(buf?: SharedArrayBuffer): SharedArrayBuffer {
    const n = this.touched.length;
    const b = buf ?? new SharedArrayBuffer(4 * n + 3 * n);
    const touched = new Int32Array(b, 0, n);
    const nonLock = new Uint8Array(b, 4 * n, n);
    const reliedPrivate = new Uint8Array(b, 5 * n, n);
    const reliedLock = new Uint8Array(b, 6 * n, n);
    if (buf === undefined) {
      touched.set(this.touched);
      nonLock.set(this.nonLock);
      reliedPrivate.set(this.reliedPrivate);
      reliedLock.set(this.reliedLock);
    }
    this.touched = touched;
    this.nonLock = nonLock;
    this.reliedPrivate = reliedPrivate;
    this.reliedLock = reliedLock;
    return b;
  }

  private touch(o: number, t: number, lockOp: boolean): void {
    const bit = 1 << t;
    const m = this.touched[o]!;
    if ((m & bit) === 0) {
      const before = Atomics.or(this.touched, o, bit);
      this.learnt++;
      if ((before & ~bit) !== 0 && Atomics.load(this.reliedPrivate, o) === 1) this.invalid = true;
    }
    if (!lockOp && this.nonLock[o] === 0) {
      Atomics.store(this.nonLock, o, 1);
      this.learnt++;
      if (Atomics.load(this.reliedLock, o) === 1) this.invalid = true;
    }
  }

  /** Record that a fusion relies on `o` being private to thread bit `bit`; false if it no longer is. */
  private relyPrivate(o: number, bit: number): boolean {
    if (this.reliedPrivate[o] === 1) return true;
    Atomics.store(this.reliedPrivate, o, 1);
    return (Atomics.load(this.touched, o) & ~bit) === 0;
  }

  /** Thread t's next op became pending. */
  pending(t: number, op: Op): void {
    const lockOp = isLockFamily(op.k);
    if (op.objs) for (const o of op.objs) this.touch(o, t, false);
    else if (op.o >= 0) this.touch(op.o, t, lockOp);
  }

  /** Thread t's code peeked at cell `cell` outside a step. */
  peek(t: number, cell: number): void {
    const o = this.cellObj[cell]!;
    if (o >= 0) this.touch(o, t, false);
  }

  /** Would `op`, pending in thread t, be a right mover (without recording anything)? */
  couldFuse(t: number, op: Op): boolean {
    if (this.unsound) return true;
    const bit = 1 << t;
    if (op.objs) {
      for (const o of op.objs) if ((this.touched[o]! & ~bit) !== 0) return false;
      return true;
    }
    const o = op.o;
    if (o < 0) return false;
    if ((this.touched[o]! & ~bit) === 0) return true;
    return (op.k === K.Lock || op.k === K.WAnnounce || op.k === K.WAcquire) && this.nonLock[o] === 0;
  }

  /**
   * May thread t's pending `op` run in the step that ran t's previous op (`trailing` fusion)? Only
   * if every object it names is private to t (it commutes with every step of every other thread,
   * and no other thread changes whether it can run). Records what the answer relied on.
   */
  leftMover(t: number, op: Op): boolean {
    if (this.learnOnly) return false;
    if (this.trailingUnsound) return op.o >= 0 || op.objs !== undefined;
    const bit = 1 << t;
    if (op.objs) {
      for (const o of op.objs) if ((this.touched[o]! & ~bit) !== 0 || (this.winObj[o]! & bit) !== 0) return false;
      let ok = true;
      for (const o of op.objs) {
        this.reliedWin[o]! |= bit;
        if (!this.relyPrivate(o, bit)) ok = false;
      }
      return ok;
    }
    const o = op.o;
    if (o < 0 || (this.touched[o]! & ~bit) !== 0 || (this.winObj[o]! & bit) !== 0) return false;
    this.reliedWin[o]! |= bit;
    return this.relyPrivate(o, bit);
  }

  /** Thread t's code opened or closed a window right after its op `op` (trailing fusion learns winObj). */
  windowAfter(t: number, op: Op): void {
    const bit = 1 << t;
    const mark = (o: number): void => {
      if ((this.winObj[o]! & bit) !== 0) return;
      this.winObj[o]! |= bit;
      this.learnt++;
      if ((this.reliedWin[o]! & bit) !== 0) this.invalid = true;
    };
    if (op.objs) for (const o of op.objs) mark(o);
    else if (op.o >= 0) mark(op.o);
  }

  /**
   * Is `op`, just executed by thread t, a right mover? Records what the answer relied on.
   */
  rightMover(t: number, op: Op): boolean {
    if (this.learnOnly) return false;
    if (this.unsound) return true;
    const bit = 1 << t;
    if (op.objs) {
      for (const o of op.objs) if ((this.touched[o]! & ~bit) !== 0) return false;
      let ok = true;
      for (const o of op.objs) if (!this.relyPrivate(o, bit)) ok = false;
      return ok;
    }
    const o = op.o;
    if (o < 0) return false;
    if ((this.touched[o]! & ~bit) === 0 && this.relyPrivate(o, bit)) return true;
    if ((op.k === K.Lock || op.k === K.WAnnounce || op.k === K.WAcquire) && this.nonLock[o] === 0) {
      if (this.reliedLock[o] !== 1) {
        Atomics.store(this.reliedLock, o, 1);
        if (Atomics.load(this.nonLock, o) !== 0) return false;
      }
      return true;
    }
    return false;
  }
}

/**
 * Per cell, the object that owns it: the same for every search of a program (a cell's default
 * strategy makes a FusionState per preemption bound, per exhaustive run and per minimization
 * bound), so made once per program and shared (never written).
 */
const owners = new WeakMap<Program, Int32Array>();
function cellOwners(program: Program): Int32Array {
  let c = owners.get(program);
  if (c === undefined) {
    const objs = program.world.objs;
    let cells = 0;
    for (const o of objs) cells = Math.max(cells, o.base + o.size);
    c = new Int32Array(cells).fill(-1);
    for (const o of objs) for (let i = 0; i < o.size; i++) c[o.base + i] = o.id;
    owners.set(program, c);
  }
  return c;
}

/** Operations of the lock primitives (spinlock/mutex, qrwlock), the only ones a "lock-only" object sees. */
function isLockFamily(k: number): boolean {
  return k === K.Lock || k === K.Unlock || k === K.RLock || k === K.RUnlock || k === K.WAnnounce || k === K.WAcquire || k === K.WUnlock;
}
