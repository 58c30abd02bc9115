// Spinlock / mutex: one owner; an acquirer blocks (is not schedulable) while it is held.
// Cell: 0 = free, tid+1 = held by tid. Recursive acquisition deadlocks, as in the kernel.
import { K, type Op } from "../ops.js";
import type { ObjInfo, World } from "../world.js";
import { mkOp } from "./op.js";

export class SpinLock {
  readonly info: ObjInfo;
  constructor(private readonly world: World, name: string) {
    this.info = world.alloc(name, "spinlock", [0], (v) => (v === 0 ? "free" : `held by T${v - 1}`));
  }
  get id(): number {
    return this.info.id;
  }
  lock(label = "spin_lock"): Op {
    return mkOp(K.Lock, this.info.id, this.info.base, 0, 0, label);
  }
  unlock(label = "spin_unlock"): Op {
    return mkOp(K.Unlock, this.info.id, this.info.base, 0, 0, label);
  }
  /** Owner thread id, or -1. */
  owner(): number {
    return this.world.read(this.info.base) - 1;
  }
}

/** A mutex has the same visible semantics as a spinlock here (sleeping is not modelled). */
export { SpinLock as Mutex };
