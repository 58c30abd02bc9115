// Atomic cell: READ_ONCE / WRITE_ONCE / try_cmpxchg64 / xchg on one word of shared memory.
import { K, type Op } from "../ops.js";
import { decimal, type Formatter, type LazyName, type ObjInfo, type World } from "../world.js";
import { mkOp } from "./op.js";

export class Atomic {
  readonly info: ObjInfo;
  constructor(
    private readonly world: World,
    name: string | LazyName,
    init = 0,
    fmt: Formatter = decimal,
  ) {
    this.info = world.alloc(name, "cell", [init], fmt);
  }
  get id(): number {
    return this.info.id;
  }
  /**
   * READ_ONCE. With `bits`, a masked load: the thread gets `value & bits` (the other bits read as
   * 0), so what it does next cannot depend on them, and DPOR treats the load as independent of a
   * write that changes none of `bits` (docs/design.md, "Masked loads"). Default: every bit.
   */
  load(label = "load", bits = -1): Op {
    return mkOp(K.Load, this.info.id, this.info.base, ~bits, 0, label);
  }
  store(v: number, label = "store"): Op {
    return mkOp(K.Store, this.info.id, this.info.base, v, 0, label);
  }
  /** Result: the value found; the exchange happened iff it equals `expected`. */
  cmpxchg(expected: number, v: number, label = "cmpxchg"): Op {
    return mkOp(K.Cas, this.info.id, this.info.base, expected, v, label);
  }
  xchg(v: number, label = "xchg"): Op {
    return mkOp(K.Xchg, this.info.id, this.info.base, v, 0, label);
  }
  /** Atomic read-modify-write with a pure function of the old value (e.g. a bit set); result: old value. */
  rmw(fn: (v: number) => number, label = "rmw"): Op {
    const op = mkOp(K.Rmw, this.info.id, this.info.base, 0, 0, label);
    op.fn = fn;
    return op;
  }
  /** Block until `pred(value)` holds, then load the value in the same step. */
  waitLoad(pred: (v: number) => boolean, label = "wait-load"): Op {
    const op = mkOp(K.WaitLoad, this.info.id, this.info.base, 0, 0, label);
    op.vpred = pred;
    return op;
  }
  /** The current value, for predicates, invariants and printing — never for thread code (not a step). */
  peek(): number {
    return this.world.read(this.info.base);
  }
}

/** A fixed-size array of atomic cells (e.g. the entries of one page table). */
export class AtomicArray {
  readonly cells: Atomic[];
  constructor(world: World, name: string, n: number, init = 0, fmt: Formatter = decimal) {
    this.cells = Array.from({ length: n }, (_, i) => new Atomic(world, `${name}[${i}]`, init, fmt));
  }
  at(i: number): Atomic {
    const c = this.cells[i];
    if (!c) throw new RangeError(`index ${i} out of range`);
    return c;
  }
  get length(): number {
    return this.cells.length;
  }
}
