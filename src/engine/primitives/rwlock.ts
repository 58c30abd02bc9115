// Reader-writer lock with the kernel's qrwlock semantics (kernel/locking/qrwlock.c):
//  - readers share; a writer excludes everybody; there is no upgrade;
//  - a writer first queues (takes wait_lock and sets _QW_WAITING) and then waits for the readers to
//    drain; from the moment it queues, new readers in process context wait behind it. So a thread
//    that re-takes the read lock while a writer waits deadlocks, as in the kernel.
// Cells: [writer, readers]; writer = 0 none, -(tid+1) queued (waiting), tid+1 holding.
import { K, type Op } from "../ops.js";
import type { ObjInfo, World } from "../world.js";
import { mkOp } from "./op.js";

export class RwLock {
  readonly info: ObjInfo;
  constructor(private readonly world: World, name: string) {
    this.info = world.alloc(name, "rwlock", [0, 0]);
  }
  get id(): number {
    return this.info.id;
  }
  readLock(label = "read_lock"): Op {
    return mkOp(K.RLock, this.info.id, this.info.base, 0, 0, label);
  }
  readUnlock(label = "read_unlock"): Op {
    return mkOp(K.RUnlock, this.info.id, this.info.base, 0, 0, label);
  }
  /** First of the two steps of write_lock(): queue behind any writer and block new readers. */
  writeQueue(label = "write_lock"): Op {
    return mkOp(K.WAnnounce, this.info.id, this.info.base, 0, 0, label);
  }
  /** Second step of write_lock(): wait for the readers to drain and take the lock. */
  writeAcquire(label = "write_lock"): Op {
    return mkOp(K.WAcquire, this.info.id, this.info.base, 0, 0, label);
  }
  writeUnlock(label = "write_unlock"): Op {
    return mkOp(K.WUnlock, this.info.id, this.info.base, 0, 0, label);
  }
  /** write_lock() as thread code: `yield* lock.writeLock()`. */
  *writeLock(label = "write_lock"): Generator<Op, void, number> {
    yield this.writeQueue(label);
    yield this.writeAcquire(label);
  }
  readers(): number {
    return this.world.read(this.info.base + 1);
  }
  /** Thread id of the writer holding the lock, or -1. */
  writer(): number {
    const w = this.world.read(this.info.base);
    return w > 0 ? w - 1 : -1;
  }
}
