// TDH.MEM.PAGE.REMOVE (leaf 29) — models tdh_mem_page_remove.c: tdh_mem_page_remove()
// (M25). Locks: TDR SH -> op_state SH -> tree SH -> walk -> entry host lock.
// Leaf -> FREE; while the TD runs the leaf must be blocked and the block TLB-tracked.
import type { Gen } from "./locks.js";
import { entryCommit } from "./locks.js";
import { NODE, dpamtImplicitNode } from "./dpamt.js";
import { PAMT_NDA, pamtBepoch, pamtBepochBits } from "./pamt.js";
import type { Atomic } from "../engine/index.js";
import { ALLOWED, SEPTE_INIT_VALUE, isBlocked, isLeafState, pfnOf, stateNeedsTracking, stateOf } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, Td } from "./td.js";
import { isTlbTracked, trackedBits } from "./tlb.js";

const L = "tdh_mem_page_remove";

export function* tdhMemPageRemove(td: Td, gpa: number, level: number): Gen<Status> {
  if (!td.geo.validPageInfo(gpa, level, 0, 2)) return st(C.OPERAND_INVALID, OP.RCX);
  const held = new Held();
  const got = yield* td.openSeptLeaf(held, gpa, level, "sh", L);
  if (typeof got === "number") return got;
  const { cell, lk, running } = got;
  const cur = stateOf(lk.value);
  if (td.v10) return yield* remove10(td, held, cell, lk.value, level);
  // 1. a leaf in an allowed state (a FREE entry at that level is STATE_INCORRECT)
  if (!ALLOWED.PAGE_REMOVE!.includes(cur)) return yield* td.finish(held, st(C.EPT_ENTRY_STATE_INCORRECT, OP.RCX), L);
  const pfn = pfnOf(lk.value);
  // 3. the removed page's PAMT entry (ownership only: read, no lock). Dynamic PAMT: its node is
  // reached without the 2M lock (pamt_implicit_get_with_nl_entry_and_lock); no node is fatal.
  if (td.dpamt) yield* dpamtImplicitNode(td.dpamt, pfn, L);
  const pv = yield td.pamt[pfn]!.load(`${L}: PAMT entry of removed page`);
  // 4. blocked + tracked while running
  if (running && stateNeedsTracking(cur)) {
    if (!isBlocked(cur)) return yield* td.finish(held, st(C.GPA_RANGE_NOT_BLOCKED, OP.RCX), L);
    const e = yield td.epoch.load(`${L}: is_tlb_tracked (atomic epoch+refcount read)`, trackedBits(pamtBepoch(pv)));
    if (!isTlbTracked(e, pamtBepoch(pv), pamtBepochBits(pv))) return yield* td.finish(held, st(C.TLB_TRACKING_NOT_DONE, OP.RCX), L);
  }
  // Commit: entry := FREE (TDHP kept, TDEL released by the write); chldcnt; PAMT := PT_NDA.
  yield* entryCommit(cell, lk.value, SEPTE_INIT_VALUE, true, L);
  held.entry = null;
  const n = td.geo.span(level);
  yield td.chldcnt.add(-n, `${L}: chldcnt -= ${n}`);
  for (let i = 0; i < n; i++) yield td.pamt[pfn + i]!.store(PAMT_NDA, `${L}: PAMT pfn ${pfn + i} := PT_NDA`);
  // Dynamic PAMT, a 2M page: its range's 2M PAMT entry goes back to PT_NDA (no pair to return).
  if (td.dpamt && level === 1) yield td.dpamt.node[td.dpamt.rangeOf(pfn)]!.store(NODE.NDA, `${L}: 2M PAMT entry := PT_NDA (range ${td.dpamt.rangeOf(pfn)})`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}

/**
 * Module 1.0 (qizhangz/tdx-module@d5fc67a tdh_mem_page_remove.c): tree
 * lock EX, no entry lock. A non-leaf → TDX_EPT_ENTRY_NOT_LEAF; a leaf not blocked (a FREE 4K
 * entry included) → TDX_GPA_RANGE_NOT_BLOCKED; the block must be TLB-tracked ALWAYS — 1.0 has no
 * "TD not yet runnable" relaxation, so a pre-finalize removal needs TDH.MEM.TRACK too. The
 * removed page's PAMT entry lock (BUSY|RCX) is not modelled: KVM never removes one page twice
 * at once. Commit: a plain write of SEPTE_INIT_VALUE.
 */
function* remove10(td: Td, held: Held, cell: Atomic, copy: number, level: number): Gen<Status> {
  const cur = stateOf(copy);
  const leaf = level === 0 || isLeafState(cur);
  if (!leaf) return yield* td.finish(held, st(C.EPT_ENTRY_NOT_LEAF, OP.RCX), L);
  if (!isBlocked(cur)) return yield* td.finish(held, st(C.GPA_RANGE_NOT_BLOCKED, OP.RCX), L);
  const pfn = pfnOf(copy);
  const pv = yield td.pamt[pfn]!.load(`${L}: PAMT entry of removed page`);
  const e = yield td.epoch.load(`${L}: is_tlb_tracked (atomic epoch+refcount read)`, trackedBits(pamtBepoch(pv)));
  if (!isTlbTracked(e, pamtBepoch(pv), pamtBepochBits(pv))) return yield* td.finish(held, st(C.TLB_TRACKING_NOT_DONE, OP.RCX), L);
  yield* td.commitEntry(held, cell, copy, SEPTE_INIT_VALUE, true, L);
  const n = td.geo.span(level);
  yield td.chldcnt.add(-n, `${L}: chldcnt -= ${n}`);
  for (let i = 0; i < n; i++) yield td.pamt[pfn + i]!.store(PAMT_NDA, `${L}: PAMT pfn ${pfn + i} := PT_NDA`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
