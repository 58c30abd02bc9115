// Counter / sequence number (e.g. mmu_invalidate_seq, a TLB epoch): atomic add and read.
import { K, type Op } from "../ops.js";
import type { ObjInfo, World } from "../world.js";
import { mkOp } from "./op.js";

export class Counter {
  readonly info: ObjInfo;
  constructor(private readonly world: World, name: string, init = 0) {
    this.info = world.alloc(name, "counter", [init]);
  }
  get id(): number {
    return this.info.id;
  }
  read(label = "read"): Op {
    return mkOp(K.Load, this.info.id, this.info.base, 0, 0, label);
  }
  /** Result: the value before the addition. */
  add(d: number, label = "add"): Op {
    const op = mkOp(K.Rmw, this.info.id, this.info.base, d, 0, label);
    op.fn = (v) => (v + d) | 0;
    return op;
  }
  peek(): number {
    return this.world.read(this.info.base);
  }
}
