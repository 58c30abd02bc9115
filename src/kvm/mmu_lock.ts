// kvm->mmu_lock: x86's rwlock (KVM_HAVE_MMU_RWLOCK), a qrwlock in the kernel.
//
// Models read_lock/read_unlock/write_lock/write_unlock(&kvm->mmu_lock) as used in
// arch/x86/kvm/mmu/mmu.c and tdp_mmu.c, and lockdep_assert_held{,_write}() for the assertions.
// Which mode each thread holds is tracked per thread (not shared state) for the lockdep checks.
import { RwLock, type Op, type World } from "../engine/index.js";

export type Held = "none" | "read" | "write";

export class MmuLock {
  readonly lock: RwLock;
  /** Per engine thread: mode held (lockdep's view). */
  private readonly held = new Map<number, Held>();
  constructor(world: World) {
    this.lock = new RwLock(world, "mmu_lock");
  }
  *readLock(tid: number, label = "read_lock(mmu_lock)"): Generator<Op, void, number> {
    yield this.lock.readLock(label);
    this.held.set(tid, "read");
  }
  *readUnlock(tid: number, label = "read_unlock(mmu_lock)"): Generator<Op, void, number> {
    this.held.set(tid, "none");
    yield this.lock.readUnlock(label);
  }
  *writeLock(tid: number, label = "write_lock(mmu_lock)"): Generator<Op, void, number> {
    yield* this.lock.writeLock(label);
    this.held.set(tid, "write");
  }
  *writeUnlock(tid: number, label = "write_unlock(mmu_lock)"): Generator<Op, void, number> {
    this.held.set(tid, "none");
    yield this.lock.writeUnlock(label);
  }
  /** Mode held by thread `tid` (lockdep). */
  heldBy(tid: number): Held {
    return this.held.get(tid) ?? "none";
  }
  /** Reset at the start of each execution (threads start holding nothing). */
  resetThread(tid: number): void {
    this.held.set(tid, "none");
  }
}
