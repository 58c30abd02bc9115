// TDH.MEM.RANGE.BLOCK (leaf 7) — models tdh_mem_range_block.c: tdh_mem_range_block() and
// block_sept_entry() (M25). Locks: TDR SH (BUSY|RDX) -> op_state SH -> tree EX
// (BUSY|SEPT_TREE) -> walk -> entry host lock (BUSY|RCX).
// NL_MAPPED/MAPPED/PENDING -> blocked counterpart; then (after the write) PAMT.bepoch := td_epoch
// without a PAMT lock; then the entry lock is released.
import type { Gen } from "./locks.js";
import { entryCommit } from "./locks.js";
import { withBepoch } from "./pamt.js";
import type { Atomic } from "../engine/index.js";
import { ALLOWED, S, blockedOf, isBlocked, pfnOf, stateOf, withAcceptCounter, withState, type SeptState } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, type Td } from "./td.js";
import { EPOCH_BITS, epochOf } from "./tlb.js";

const L = "tdh_mem_range_block";

export function* tdhMemRangeBlock(td: Td, gpa: number, level: number): Gen<Status> {
  if (!td.geo.validPageInfo(gpa, level, 0, td.geo.top)) return st(C.OPERAND_INVALID, OP.RCX);
  const held = new Held();
  const got = yield* td.openSeptLeaf(held, gpa, level, "ex", L);
  if (typeof got === "number") return got;
  const { cell, lk } = got;
  const cur = stateOf(lk.value);
  if (td.v10) return yield* block10(td, held, cell, lk.value, cur);
  if (!ALLOWED.RANGE_BLOCK!.includes(cur)) {
    // any_blocked -> the non-error TDX_GPA_RANGE_ALREADY_BLOCKED; anything else (FREE) -> STATE_INCORRECT
    return yield* td.finish(held, st(isBlocked(cur) ? C.GPA_RANGE_ALREADY_BLOCKED : C.EPT_ENTRY_STATE_INCORRECT, OP.RCX), L);
  }
  // 1-2: write the blocked value (RWX cleared, accept_counter cleaned by sept_cleanup_if_pending), still locked.
  const blocked = withAcceptCounter(withState(lk.value, blockedOf(cur)), 0);
  yield* entryCommit(cell, lk.value, blocked, false, L);
  // 4: after the write, sample td_epoch and store it into PAMT.bepoch of the mapped page (leaf,
  // PAMT entry at the leaf size = its first PFN) or of the child S-EPT page (non-leaf).
  const e = yield td.epoch.load(`${L}: read td_epoch`, EPOCH_BITS);
  const pfn = pfnOf(lk.value);
  yield td.pamt[pfn]!.rmw((v) => withBepoch(v, epochOf(e)), `${L}: PAMT.bepoch := td_epoch (no PAMT lock)`);
  // 5: release the entry lock, then the rest.
  return yield* td.finish(held, TDX_SUCCESS, L);
}

/**
 * Module 1.0 (qizhangz/tdx-module@d5fc67a tdh_mem_range_block.c): under
 * the tree lock EX, no entry lock. FREE → TDX_EPT_ENTRY_FREE, already blocked →
 * TDX_GPA_RANGE_ALREADY_BLOCKED; then ONE cmpxchg of the entry copy the walk read to its blocked
 * value — the copy's TDGL bit is kept, so a guest ACCEPT that already holds TDGL does not stop
 * the BLOCK (it fails its own later cmpxchg instead), while one that takes TDGL between the walk
 * and the cmpxchg makes the BLOCK fail with TDX_OPERAND_BUSY|RCX. No host priority: the host
 * cannot force progress against the guest.
 */
function* block10(td: Td, held: Held, cell: Atomic, copy: number, cur: SeptState): Gen<Status> {
  if (cur === S.FREE) return yield* td.finish(held, st(C.EPT_ENTRY_FREE, OP.RCX), L);
  if (isBlocked(cur)) return yield* td.finish(held, st(C.GPA_RANGE_ALREADY_BLOCKED, OP.RCX), L);
  const blocked = withAcceptCounter(withState(copy, blockedOf(cur)), 0);
  const seen = yield cell.cmpxchg(copy, blocked, `${L}: cmpxchg entry copy -> blocked`);
  if (seen !== copy) return yield* td.finish(held, st(C.OPERAND_BUSY, OP.RCX), L);
  const e = yield td.epoch.load(`${L}: read td_epoch`, EPOCH_BITS);
  yield td.pamt[pfnOf(copy)]!.rmw((v) => withBepoch(v, epochOf(e)), `${L}: PAMT.bepoch := td_epoch`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
