// TDH.MEM.RANGE.UNBLOCK (leaf 39) — models tdh_mem_range_unblock.c: tdh_mem_range_unblock()
// (M25). Locks: TDR SH -> op_state SH -> tree EX -> walk -> entry host lock.
// NL_BLOCKED/BLOCKED/PENDING_BLOCKED -> unblocked; while the TD runs the BLOCK must be TLB-tracked.
import type { Gen } from "./locks.js";
import { pamtBepoch, pamtBepochBits } from "./pamt.js";
import { ALLOWED, pfnOf, stateNeedsTracking, stateOf, unblockedOf, withState } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, Td } from "./td.js";
import { isTlbTracked, trackedBits } from "./tlb.js";

const L = "tdh_mem_range_unblock";

export function* tdhMemRangeUnblock(td: Td, gpa: number, level: number): Gen<Status> {
  if (!td.geo.validPageInfo(gpa, level, 0, td.geo.top)) return st(C.OPERAND_INVALID, OP.RCX);
  const held = new Held();
  const got = yield* td.openSeptLeaf(held, gpa, level, "ex", L);
  if (typeof got === "number") return got;
  const { cell, lk, running } = got;
  const cur = stateOf(lk.value);
  if (!ALLOWED.RANGE_UNBLOCK!.includes(cur)) return yield* td.finish(held, st(C.EPT_ENTRY_STATE_INCORRECT, OP.RCX), L);
  if (running && stateNeedsTracking(cur)) {
    const pv = yield td.pamt[pfnOf(lk.value)]!.load(`${L}: read PAMT.bepoch`);
    const e = yield td.epoch.load(`${L}: is_tlb_tracked (atomic epoch+refcount read)`, trackedBits(pamtBepoch(pv)));
    if (!isTlbTracked(e, pamtBepoch(pv), pamtBepochBits(pv))) return yield* td.finish(held, st(C.TLB_TRACKING_NOT_DONE, OP.RCX), L);
  }
  // Restore NL_MAPPED/MAPPED/PENDING; the same write releases TDEL.
  yield* td.commitEntry(held, cell, lk.value, withState(lk.value, unblockedOf(cur)), true, L);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
