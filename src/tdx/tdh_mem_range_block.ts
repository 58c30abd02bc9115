// TDH.MEM.RANGE.BLOCK (leaf 7) — models tdh_mem_range_block.c: tdh_mem_range_block() and
// block_sept_entry() (tdx-module-spec §4.6). Locks: TDR SH (BUSY|RDX) -> op_state SH -> tree EX
// (BUSY|SEPT_TREE) -> walk -> entry host lock (BUSY|RCX).
// NL_MAPPED/MAPPED/PENDING -> blocked counterpart; then (after the write) PAMT.bepoch := td_epoch
// without a PAMT lock; then the entry lock is released.
import type { Gen } from "./locks.js";
import { entryCommit } from "./locks.js";
import { withBepoch } from "./pamt.js";
import { ALLOWED, blockedOf, isBlocked, pfnOf, stateOf, withAcceptCounter, withState } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, SEPT_LEAF_TD_LOCKS, type Td } from "./td.js";
import { epochOf } from "./tlb.js";

const L = "tdh_mem_range_block";

export function* tdhMemRangeBlock(td: Td, gpa: number, level: number): Gen<Status> {
  if (!td.geo.validPageInfo(gpa, level, 0, td.geo.top)) return st(C.OPERAND_INVALID, OP.RCX);
  const held = new Held();
  let s = yield* td.lockTd(held, { ...SEPT_LEAF_TD_LOCKS, label: L });
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  s = yield* td.lockTree(held, "ex", L);
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  const got = yield* td.walkAndLockEntry(held, gpa, level, L);
  if (typeof got === "number") return yield* td.finish(held, got, L);
  const { cell, lk } = got;
  const cur = stateOf(lk.value);
  if (!ALLOWED.RANGE_BLOCK!.includes(cur)) {
    // any_blocked -> the non-error TDX_GPA_RANGE_ALREADY_BLOCKED; anything else (FREE) -> STATE_INCORRECT
    return yield* td.finish(held, st(isBlocked(cur) ? C.GPA_RANGE_ALREADY_BLOCKED : C.EPT_ENTRY_STATE_INCORRECT, OP.RCX), L);
  }
  // 1-2: write the blocked value (RWX cleared, accept_counter cleaned by sept_cleanup_if_pending), still locked.
  const blocked = withAcceptCounter(withState(lk.value, blockedOf(cur)), 0);
  yield* entryCommit(cell, lk.value, blocked, false, L);
  // 4: after the write, sample td_epoch and store it into PAMT.bepoch of the mapped page (leaf,
  // PAMT entry at the leaf size = its first PFN) or of the child S-EPT page (non-leaf).
  const e = yield td.epoch.load(`${L}: read td_epoch`);
  const pfn = pfnOf(lk.value);
  yield td.pamt[pfn]!.rmw((v) => withBepoch(v, epochOf(e)), `${L}: PAMT.bepoch := td_epoch (no PAMT lock)`);
  // 5: release the entry lock, then the rest.
  return yield* td.finish(held, TDX_SUCCESS, L);
}
