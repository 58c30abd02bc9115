// Try-lock with shared/exclusive modes (the TDX module's sharex_lock_t: bit 0 = exclusive,
// bits 15:1 = reader count). Acquisition never waits: it fails and the caller returns BUSY.
import { K, type Op } from "../ops.js";
import type { ObjInfo, World } from "../world.js";
import { mkOp } from "./op.js";

export class TryLock {
  readonly info: ObjInfo;
  constructor(private readonly world: World, name: string) {
    this.info = world.alloc(name, "sharex", [0], (v) => (v & 1 ? "EX" : v === 0 ? "free" : `SH×${v >> 1}`));
  }
  get id(): number {
    return this.info.id;
  }
  /** Result 1 = acquired exclusively, 0 = busy. */
  tryExclusive(label = "try_lock_ex"): Op {
    return mkOp(K.TryEx, this.info.id, this.info.base, 0, 0, label);
  }
  /** Result 1 = acquired shared, 0 = busy (held exclusively). */
  tryShared(label = "try_lock_sh"): Op {
    return mkOp(K.TryShared, this.info.id, this.info.base, 0, 0, label);
  }
  releaseExclusive(label = "unlock_ex"): Op {
    return mkOp(K.ReleaseEx, this.info.id, this.info.base, 0, 0, label);
  }
  releaseShared(label = "unlock_sh"): Op {
    return mkOp(K.ReleaseShared, this.info.id, this.info.base, 0, 0, label);
  }
  isFree(): boolean {
    return this.world.read(this.info.base) === 0;
  }
  heldExclusive(): boolean {
    return (this.world.read(this.info.base) & 1) === 1;
  }
  sharedCount(): number {
    return this.world.read(this.info.base) >> 1;
  }
}
