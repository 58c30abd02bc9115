// The TDX module's locks (M25 include/tdx_locks.h), built from engine cells. All are try-locks: no
// SEAMCALL or TDCALL waits; contention becomes a status. Every acquire and every release is its
// own visible step, so another thread can observe a lock held. Sources: tdx_locks.h
// (acquire_sharex_lock_sh/_ex, acquire_sharex_lock_hp_sh/_ex, release_sharex_lock_hp_ex,
// sept_lock_acquire_host, sept_lock_acquire_guest, sept_lock_release).
import { Atomic, TryLock, type Op, type World } from "../engine/index.js";
import { TDEL, TDHP } from "./sept.js";
import { lbl } from "../engine/label.js";

export type Gen<T> = Generator<Op, T, number>;
export type LockMode = "sh" | "ex";

/**
 * A sharex lock, optionally with the host-priority (HP) flag of sharex_hp_lock_t.
 *
 * The exclusive bit and reader count live in an engine TryLock (so that two shared acquisitions
 * commute for the explorer, as the real `lock xadd` of readers does); the HP flag lives in its own
 * cell. The real lock keeps both in one 16-bit word; its acquire is one atomic (xadd / cmpxchg)
 * whose returned value decides whether HP is then changed by a second atomic (`_lock_or_16b` on
 * failure, `_lock_and_16b` / the HP->EX cmpxchg on success). The model reads HP *before* the
 * try-lock step (so the decision is about an HP bit set before the acquisition, as in the module),
 * and clears it afterwards with a cmpxchg. Approximation: an HP bit set between the read and the
 * try-lock is left set, and one re-set between the try-lock and the clear is cleared. Only the
 * host role uses these locks in the model, where the HP bit has no visible effect on the modelled
 * leaves (it would on TDX_INTERRUPTED_BUSY of DEMOTE/PROMOTE/SEPT.ADD v1, not modelled).
 *
 * Host-role semantics modelled (acquire_sharex_lock_hp_sh/_ex with is_guest=false):
 *  - shared: fails iff held exclusively, then sets HP; on success clears HP;
 *  - exclusive: fails iff held at all, then sets HP; succeeds from "free" or "HP only" and leaves
 *    HP clear;
 *  - exclusive release keeps HP (release_sharex_lock_hp_ex); shared release leaves it alone.
 * Guest-role acquisition of sharex locks is not needed: in 1.5.25 no TDCALL takes the tree, TDR
 * or op_state lock (tdg_mem_page_accept.c takes none of them).
 */
export class SharexLock {
  readonly word: TryLock;
  readonly hp: Atomic | null;
  constructor(world: World, name: string, hostPriority: boolean) {
    this.word = new TryLock(world, name);
    this.hp = hostPriority ? new Atomic(world, `${name}.hp`, 0, (v) => (v ? "HP" : "-")) : null;
  }
  /** Host acquire; result true = acquired. */
  *acquireHost(mode: LockMode, label: string): Gen<boolean> {
    const h = this.hp === null ? 0 : yield this.hp.load(lbl`${label}: read HP`);
    const ok = mode === "sh" ? yield this.word.tryShared(lbl`${label}: try_lock SH`) : yield this.word.tryExclusive(lbl`${label}: try_lock EX`);
    if (this.hp === null) return ok === 1;
    if (ok !== 1) {
      // _lock_or_16b(HOST_PRIORITY) after the failed xadd/cmpxchg
      if (h === 0) yield this.hp.store(1, lbl`${label}: set HP (busy)`);
      return false;
    }
    // success from a state with HP set clears it (xadd path: _lock_and_16b; ex path: cmpxchg HP->EX)
    if (h !== 0) yield this.hp.cmpxchg(1, 0, lbl`${label}: clear HP`);
    return true;
  }
  *release(mode: LockMode, label: string): Gen<void> {
    if (mode === "sh") yield this.word.releaseShared(lbl`${label}: unlock SH`);
    else yield this.word.releaseExclusive(lbl`${label}: unlock EX`);
  }
  isFree(): boolean {
    return this.word.isFree();
  }
  heldExclusive(): boolean {
    return this.word.heldExclusive();
  }
  sharedCount(): number {
    return this.word.sharedCount();
  }
  hpSet(): boolean {
    return this.hp !== null && this.hp.peek() !== 0;
  }
}

// ---- S-EPT entry lock (TDEL/TDHP bits inside the entry cell) ----

export interface EntryLockResult {
  ok: boolean;
  /** The entry value read by the locking atomic (the re-read after locking in M25 sept_manager.c). */
  value: number;
  /** Guest only: the lock was free but TDHP was set (TDX_OPERAND_BUSY_HOST_PRIORITY). */
  hostPriority: boolean;
}

/**
 * sept_lock_acquire_host (tdx_locks.h): test-and-set TDEL; if it was set, set TDHP and fail;
 * otherwise clear TDHP. The real code uses two atomics (bts TDEL, then bts/btr TDHP); they are
 * merged into one step here. Merging is observationally equivalent: on success the entry is locked
 * in between (a guest sees TDEL and gets BUSY whatever TDHP is); on failure every interleaving of
 * the holder's release and a guest acquire with the second atomic has a merged counterpart with
 * the same outcome.
 */
export function* entryLockHost(cell: Atomic, label: string): Gen<EntryLockResult> {
  const old = yield cell.rmw((v) => (v & TDEL ? v | TDHP : (v | TDEL) & ~TDHP), lbl`${label}: sept_lock_acquire_host`);
  return { ok: (old & TDEL) === 0, value: old, hostPriority: false };
}

/**
 * sept_lock_acquire_guest (tdx_locks.h): test-and-set TDEL (fail: TDX_OPERAND_BUSY); then, if
 * TDHP is set, clear TDEL again and fail with TDX_OPERAND_BUSY_HOST_PRIORITY. Two steps, as in the
 * module: between them the entry is transiently locked and a host acquiring it gets BUSY.
 */
export function* entryLockGuest(cell: Atomic, label: string): Gen<EntryLockResult> {
  const old = yield cell.rmw((v) => v | TDEL, lbl`${label}: sept_lock_acquire_guest`);
  if (old & TDEL) return { ok: false, value: old, hostPriority: false };
  if (old & TDHP) {
    yield cell.rmw((v) => v & ~TDEL, lbl`${label}: sept_lock_acquire_guest: HP set, drop TDEL`);
    return { ok: false, value: old, hostPriority: true };
  }
  return { ok: true, value: old, hostPriority: false };
}

/** sept_lock_release (tdx_locks.h): clear TDEL; releasing an unlocked entry is a module fatal error. */
export function* entryUnlock(cell: Atomic, label: string): Gen<void> {
  const old = yield cell.rmw((v) => v & ~TDEL, lbl`${label}: sept_lock_release`);
  if ((old & TDEL) === 0) throw new Error(`TDX module fatal (FATAL_ERROR_ID_196): releasing unlocked S-EPT entry ${cell.info.name}`);
}

/**
 * The commit of a locked entry: write `next(old)` keeping the TDHP bit that may have changed
 * concurrently (sept_manager.c: cmpxchg_keep_masked / sept_update_state_keep_tdhp). `unlock`
 * releases TDEL in the same write (the "local release" several leaves do). Any other concurrent
 * change of a locked entry is a module fatal error, checked here.
 */
export function* entryCommit(cell: Atomic, expected: number, next: number, unlock: boolean, label: string): Gen<void> {
  const keep = TDHP;
  const old = yield cell.rmw((v) => {
    const base = (next & ~keep & ~TDEL) | (v & keep);
    return unlock ? base : base | TDEL;
  }, lbl`${label}: commit entry`);
  if ((old & ~TDHP) !== ((expected | TDEL) & ~TDHP))
    throw new Error(`TDX module fatal: locked S-EPT entry ${cell.info.name} changed under the lock`);
}
