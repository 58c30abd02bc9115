// TDH.MEM.SEPT.REMOVE (leaf 30) — models tdh_mem_sept_remove.c: tdh_mem_sept_remove()
// (M25). Locks: TDR SH -> op_state SH -> tree EX -> walk to the parent level ->
// entry host lock. NL_BLOCKED (or NL_MAPPED before finalize) -> FREE, the child table freed;
// every child entry must be FREE (state bits only; a child's TDEL does not matter).
import type { Gen } from "./locks.js";
import { PAMT_NDA, pamtBepoch, pamtBepochBits } from "./pamt.js";
import { ALLOWED, S, SEPTE_INIT_VALUE, pfnOf, stateOf } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, Td } from "./td.js";
import { isTlbTracked, trackedBits } from "./tlb.js";

const L = "tdh_mem_sept_remove";

export function* tdhMemSeptRemove(td: Td, gpa: number, level: number): Gen<Status> {
  if (!td.geo.validPageInfo(gpa, level, 1, td.geo.top)) return st(C.OPERAND_INVALID, OP.RCX);
  const held = new Held();
  const got = yield* td.openSeptLeaf(held, gpa, level, "ex", L);
  if (typeof got === "number") return got;
  const { cell, lk, running } = got;
  const cur = stateOf(lk.value);
  if (!ALLOWED.SEPT_REMOVE!.includes(cur)) return yield* td.finish(held, st(C.EPT_ENTRY_STATE_INCORRECT, OP.RCX), L);
  const tablePfn = pfnOf(lk.value);
  const pv = yield td.pamt[tablePfn]!.load(`${L}: PAMT entry of child S-EPT page`);
  if (running) {
    if (cur !== S.NL_BLOCKED) return yield* td.finish(held, st(C.GPA_RANGE_NOT_BLOCKED, OP.RCX), L);
    const e = yield td.epoch.load(`${L}: is_tlb_tracked (atomic epoch+refcount read)`, trackedBits(pamtBepoch(pv)));
    if (!isTlbTracked(e, pamtBepoch(pv), pamtBepochBits(pv))) return yield* td.finish(held, st(C.TLB_TRACKING_NOT_DONE, OP.RCX), L);
  }
  const g = td.geo;
  for (let k = 0; k < g.fanout; k++) {
    const cv = yield td.entry(gpa + k * g.span(level - 1), level - 1).load(`${L}: child entry ${k} FREE?`);
    if (stateOf(cv) !== S.FREE) return yield* td.finish(held, st(C.EPT_PAGE_NOT_FREE, OP.RCX), L);
  }
  // Commit: parent := SEPTE_INIT_VALUE (TDHP kept; TDEL released); chldcnt -= 1; child page PT_NDA.
  yield* td.commitEntry(held, cell, lk.value, SEPTE_INIT_VALUE, true, L);
  yield td.chldcnt.add(-1, `${L}: chldcnt -= 1`);
  yield td.pamt[tablePfn]!.store(PAMT_NDA, `${L}: PAMT pfn ${tablePfn} := PT_NDA`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
