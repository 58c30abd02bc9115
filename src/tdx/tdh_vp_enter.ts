// TDH.VP.ENTER (leaf 0) and the TD exit — models tdh_vp_enter.c: tdh_vp_enter() and
// td_exit.c (M25). The SEAMCALL returns TDX_SUCCESS when the vCPU
// is in the guest; the model's thread then runs guest operations and ends the guest session with
// a TD exit (`tdExit`, or a guest operation that exits).
import type { Gen } from "./locks.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, OPSTATE, VCPU_STATE, type Td, assocOf, inGuestOf, packVcpu, vcpuEpochOf, vcpuStateOf } from "./td.js";
import { refcountDec, refcountInc } from "./tlb.js";
import { sampleEntryRip, steppingFilter } from "./zero_step.js";
import { lbl } from "../engine/label.js";

const L = "tdh_vp_enter";

export function* tdhVpEnter(td: Td, v: number, lp: number): Gen<Status> {
  td.checkVcpu(v);
  const held = new Held();
  // 1. TDVPR PAMT lock SH (BUSY|RCX)
  if ((yield td.tdvprLock[v]!.tryShared(lbl`${L}: TDVPR lock SH`)) !== 1) return st(C.OPERAND_BUSY, OP.RCX);
  held.tdvpr = { v, mode: "sh" };
  // 2-3. implicit TDR lock SH (BUSY|TDR), op_state lock SH + op_state RUNNABLE
  const s = yield* td.lockTd(held, { tdr: "sh", tdrOperand: OP.TDR, opStateLock: true, allowedOpStates: [OPSTATE.RUNNABLE], label: L });
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  // 4. associate the vCPU with this LP (associate_vcpu, helpers.c)
  const cell = td.vcpu[v]!;
  const old = yield cell.rmw((x) => (vcpuStateOf(x) === VCPU_STATE.READY && assocOf(x) === -1 ? packVcpu(vcpuStateOf(x), inGuestOf(x), lp, vcpuEpochOf(x)) : x), lbl`${L}: associate_vcpu`);
  if (vcpuStateOf(old) !== VCPU_STATE.READY) return yield* td.finish(held, st(C.VCPU_STATE_INCORRECT), L);
  if (assocOf(old) !== -1 && assocOf(old) !== lp) return yield* td.finish(held, st(C.VCPU_ASSOCIATED), L);
  if (inGuestOf(old)) throw new Error(`TDX model: vCPU ${v} entered twice without a TD exit`);
  if (assocOf(old) === -1) yield td.numAssoc.add(1, lbl`${L}: num_assoc_vcpus++`);
  // 6. adjust_tlb_tracking_state: epoch_lock SH (BUSY|TD_EPOCH), refcount[td_epoch&1]++, unlock.
  if ((yield td.epochLock.tryShared(lbl`${L}: epoch_lock try_lock SH`)) !== 1) return yield* td.finish(held, st(C.OPERAND_BUSY, OP.TD_EPOCH), L);
  const epoch = yield* refcountInc(td.epoch, L);
  yield td.epochLock.releaseShared(lbl`${L}: epoch_lock unlock SH`);
  // (INVEPT when epoch != vcpu_epoch: guest TLBs are not modelled.)
  // 7. zero-step filter
  yield* sampleEntryRip(td, v, L);
  const f = yield* steppingFilter(td, held, v, L);
  if (f.kind !== "enter") {
    yield* refcountDec(td.epoch, epoch, lbl`${L}: revert_tlb_tracking_state`);
    const out = f.kind === "busy" ? f.status : st(C.TD_EXIT_EPT_VIOLATION, f.gpa);
    return yield* td.finish(held, out, L);
  }
  // 8. release op_state lock; 10. release the tree lock (if the filter took it) just before VM entry.
  if (held.opState) {
    // (module 1.0 has no op_state lock)
    yield* td.opStateLock.release("sh", lbl`${L}: op_state_lock`);
    held.opState = false;
  }
  if (held.tree) {
    yield* td.treeLock.release(held.tree, lbl`${L}: secure_ept_lock (just before VM entry)`);
    held.tree = null;
  }
  // 11. VM entry: TDR and TDVPR stay locked SH and the refcount stays held until the TD exit.
  yield cell.rmw((x) => packVcpu(vcpuStateOf(x), true, assocOf(x), epoch), lbl`${L}: VM entry (vcpu_epoch := ${epoch})`);
  return TDX_SUCCESS;
}

/**
 * The TD exit (td_exit.c): refcount[vcpu_epoch & 1]-- (no lock), then release the TDR and TDVPR
 * locks held since TDH.VP.ENTER. Returns the exit status `exit`.
 */
export function* tdExit(td: Td, v: number, exit: Status, label = "td_exit"): Gen<Status> {
  td.checkVcpu(v);
  const cell = td.vcpu[v]!;
  const old = yield cell.rmw((x) => packVcpu(vcpuStateOf(x), false, assocOf(x), vcpuEpochOf(x)), lbl`${label}: leave guest`);
  if (!inGuestOf(old)) throw new Error(`TDX model: TD exit of vCPU ${v}, which is not in the guest`);
  yield* refcountDec(td.epoch, vcpuEpochOf(old), lbl`${label}: td_exit`);
  yield* td.tdrLock.release("sh", lbl`${label}: TDR lock`);
  yield td.tdvprLock[v]!.releaseShared(lbl`${label}: TDVPR unlock SH`);
  return exit;
}
