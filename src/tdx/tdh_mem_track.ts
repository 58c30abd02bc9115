// TDH.MEM.TRACK (leaf 38) — models tdh_mem_track.c: tdh_mem_track() (M25; epochs: tlb.ts).
// Locks: TDR SH (BUSY|RCX: the TDR is RCX here) -> op_state SH -> epoch_lock EX (BUSY|TD_EPOCH).
// If refcount[(td_epoch-1)&1] != 0 -> TDX_PREVIOUS_TLB_EPOCH_BUSY; else td_epoch++.
import type { Gen } from "./locks.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, OPSTATE, type Td } from "./td.js";
import { epochOf, refcountOf } from "./tlb.js";

const L = "tdh_mem_track";

export function* tdhMemTrack(td: Td): Gen<Status> {
  const held = new Held();
  let s = yield* td.lockTd(held, { tdr: "sh", tdrOperand: OP.RCX, opStateLock: true, allowedOpStates: [OPSTATE.INITIALIZED, OPSTATE.RUNNABLE], label: L });
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  const got = yield td.epochLock.tryExclusive(`${L}: epoch_lock try_lock EX`);
  if (got !== 1) return yield* td.finish(held, st(C.OPERAND_BUSY, OP.TD_EPOCH), L);
  held.epoch = "ex";
  // The check and the increment are one atomic step: the only concurrent writer is the lock-free
  // refcount decrement of TD exits, which cannot turn a zero refcount nonzero.
  const old = yield td.epoch.rmw((v) => (refcountOf(v, epochOf(v) - 1) !== 0 ? v : v + (1 << 16)), `${L}: check refcount[prev], td_epoch++`);
  s = refcountOf(old, epochOf(old) - 1) !== 0 ? st(C.PREVIOUS_TLB_EPOCH_BUSY) : TDX_SUCCESS;
  return yield* td.finish(held, s, L);
}
