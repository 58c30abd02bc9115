// Another TD's use of a physical page, reduced to its PAMT footprint (model only). Dynamic PAMT
// refcounts and PAMT page pairs are per physical 2M range, shared by every TD on the host
// (Documentation/arch/x86/tdx.rst "Dynamic PAMT", queued as e61c837817ac in tip x86/tdx), so a
// second TD that maps or unmaps a page in a range this TD also uses is the race partner of the
// review threads (dynamic PAMT v6 05/11, Message-ID 20260526023515.288829-6-rick.p.edgecombe@intel.com).
// The second TD's S-EPT, locks and TLB tracking are not modelled: only what its AUG and
// PAGE.REMOVE do to the PAMT.
import type { Gen } from "./locks.js";
import { dpamtImplicitNode, dpamtWalk4k } from "./dpamt.js";
import { PAMT_NDA, PT, pamtPack } from "./pamt.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, type Td } from "./td.js";

/** The PAMT part of the other TD's TDH.MEM.PAGE.AUG of `pfn` (4K): as claimRange, owner PT_FOREIGN. */
export function* foreignAug(td: Td, pfn: number): Gen<Status> {
  const L = "other TD: tdh_mem_page_aug";
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= td.nPfns) return st(C.OPERAND_INVALID, OP.R8);
  const held = new Held();
  if (td.dpamt) {
    const s = yield* dpamtWalk4k(td.dpamt, held.pamt2m, pfn, OP.R8, L);
    if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  }
  const seen = yield td.pamt[pfn]!.cmpxchg(PAMT_NDA, pamtPack({ pt: PT.FOREIGN }), `${L}: PAMT claim pfn ${pfn} (PT_NDA -> PT_REG of the other TD)`);
  return yield* td.finish(held, seen === PAMT_NDA ? TDX_SUCCESS : st(C.PAGE_METADATA_INCORRECT, OP.R8), L);
}

/** The PAMT part of the other TD's TDH.MEM.PAGE.REMOVE of `pfn`: node reached unlocked, 4K entry := PT_NDA. */
export function* foreignRemove(td: Td, pfn: number): Gen<Status> {
  const L = "other TD: tdh_mem_page_remove";
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= td.nPfns) return st(C.OPERAND_INVALID, OP.RCX);
  if (td.dpamt) yield* dpamtImplicitNode(td.dpamt, pfn, L);
  const seen = yield td.pamt[pfn]!.cmpxchg(pamtPack({ pt: PT.FOREIGN }), PAMT_NDA, `${L}: PAMT pfn ${pfn} := PT_NDA`);
  return seen === pamtPack({ pt: PT.FOREIGN }) ? TDX_SUCCESS : st(C.EPT_ENTRY_STATE_INCORRECT, OP.RCX);
}
