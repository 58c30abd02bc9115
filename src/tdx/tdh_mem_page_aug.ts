// TDH.MEM.PAGE.AUG (leaf 6) — models tdh_mem_page_aug.c: tdh_mem_page_aug() (M25).
// Locks: TDR SH (BUSY|RDX) -> op_state SH -> tree SH -> walk -> entry host lock (BUSY|RCX).
// Module 1.0: TDR SH -> tree EX (BUSY|SEPT_TREE) -> walk, no entry lock; a used entry is
// TDX_EPT_ENTRY_NOT_FREE (qizhangz/tdx-module@9359de5 tdh_mem_page_aug.c).
// FREE -> PENDING; the PENDING write also releases TDEL and keeps TDHP.
import type { Gen } from "./locks.js";
import { NODE, dpamtLock2m, dpamtWalk4k } from "./dpamt.js";
import { PAMT_NDA, PT, pamtPack } from "./pamt.js";
import { ALLOWED, S, mkEntry, stateOf } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, type Td } from "./td.js";
import { lbl } from "../engine/label.js";

const L = "tdh_mem_page_aug";

/**
 * check_and_lock_free_range_hpa (helpers.c), PAMT as ownership only: claim each 4K PFN of the
 * range with one cmpxchg NDA -> PT_REG; roll back on the first one already owned.
 */
export function* claimRange(td: Td, pfn: number, level: number, gpa: number, label: string, held?: Held): Gen<Status> {
  const n = td.geo.span(level);
  if (!Number.isInteger(pfn) || pfn < 0 || pfn + n > td.nPfns || pfn % n !== 0) return st(C.OPERAND_INVALID, OP.R8);
  // Dynamic PAMT, 4K page: the walk holds the range's 2M entry SH until the leaf's EXIT and needs a
  // node (TDX_MISSING_PAMT_PAGE_PAIR|R8 otherwise). A 2M page: the 2M entry EX, and it must be
  // PT_NDA (no 4K page of the range in use); it becomes the 2M page's own entry before the 4K
  // entries are claimed (held EX, so nobody sees the order; a range whose 4K entries are in use but
  // whose 2M entry is still PT_NDA would be a 4K user without a pair, which the real module never
  // shows: its 2M page is one PAMT entry).
  if (td.dpamt && level === 0 && held) {
    const s = yield* dpamtWalk4k(td.dpamt, held.pamt2m, pfn, OP.R8, label);
    if (s !== TDX_SUCCESS) return s;
  }
  if (td.dpamt && level === 1 && held) {
    const s = yield* dpamtLock2m(td.dpamt, held.pamt2mEx, pfn, OP.R8, label);
    if (s !== TDX_SUCCESS) return s;
    yield td.dpamt.node[td.dpamt.rangeOf(pfn)]!.store(NODE.LEAF2M, lbl`${label}: 2M PAMT entry := PT_REG 2M page (range ${td.dpamt.rangeOf(pfn)})`);
  }
  for (let i = 0; i < n; i++) {
    const want = pamtPack({ pt: PT.REG, size: level, owner: gpa + i });
    const seen = yield td.pamt[pfn + i]!.cmpxchg(PAMT_NDA, want, lbl`${label}: PAMT claim pfn ${pfn + i} (PT_NDA -> PT_REG)`);
    if (seen !== PAMT_NDA) {
      for (let j = i - 1; j >= 0; j--) yield td.pamt[pfn + j]!.store(PAMT_NDA, lbl`${label}: PAMT claim rollback pfn ${pfn + j}`);
      if (td.dpamt && level === 1 && held) yield td.dpamt.node[td.dpamt.rangeOf(pfn)]!.store(NODE.NDA, lbl`${label}: 2M PAMT entry rollback := PT_NDA (range ${td.dpamt.rangeOf(pfn)})`);
      return st(C.PAGE_METADATA_INCORRECT, OP.R8);
    }
  }
  return TDX_SUCCESS;
}

export function* tdhMemPageAug(td: Td, gpa: number, level: number, pfn: number): Gen<Status> {
  // verify_page_info_input / check_gpa_validity: level 0 (4K) or 1 (2M)
  if (!td.geo.validPageInfo(gpa, level, 0, 1)) return st(C.OPERAND_INVALID, OP.RCX);
  const held = new Held();
  const got = yield* td.openSeptLeaf(held, gpa, level, "sh", L);
  if (typeof got === "number") return got;
  const { cell, lk } = got;
  if (!ALLOWED.PAGE_AUG!.includes(stateOf(lk.value))) return yield* td.finish(held, td.statusNotFree(), L);
  const s = yield* claimRange(td, pfn, level, gpa, L, held);
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  // Commit: entry := PENDING (RWX=0), TDEL released by the same write, TDHP kept (1.0: plain write).
  yield* td.commitEntry(held, cell, lk.value, mkEntry(S.PENDING, pfn), true, L);
  yield td.chldcnt.add(td.geo.span(level), lbl`${L}: chldcnt += ${td.geo.span(level)}`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
