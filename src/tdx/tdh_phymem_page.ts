// TDH.PHYMEM.PAGE.RECLAIM (leaf 28) and TDH.PHYMEM.PAGE.WBINVD (leaf 41) — models
// tdh_phymem_page_reclaim.c: tdh_phymem_page_reclaim() and tdh_phymem_page_wbinvd.c:
// tdh_phymem_page_wbinvd() (M25). PAMT as ownership only: the PAMT entry lock of
// the page is not modelled (its BUSY|RCX is never produced).
import type { Gen } from "./locks.js";
import { NODE, nodeKind } from "./dpamt.js";
import { PAMT_NDA, PT, pamtUnpack } from "./pamt.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, LIFECYCLE, type Td, lifecycleOf } from "./td.js";

/**
 * RECLAIM of `pfn` (a data, S-EPT, TDVPR or the TDR page: `tdrPfn`). A page that is part of a
 * larger page must be given by its first PFN (the PAMT walk finds the large entry; any other PFN
 * is rejected with OPERAND_INVALID|RCX here — an approximation).
 */
export function* tdhPhymemPageReclaim(td: Td, pfn: number): Gen<Status> {
  const L = "tdh_phymem_page_reclaim";
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= td.pamt.length) return st(C.OPERAND_INVALID, OP.RCX);
  const held = new Held();
  // Dynamic PAMT: pamt_walk(page, EX, 4K, walk_to_target=false) holds the range's 2M entry SH
  // (BUSY|RCX); a range without a node ends the walk at a PT_NDA 2M entry → PAGE_METADATA_INCORRECT.
  // The TDR's own PAMT entry is modelled by the TDR lock (below), as before.
  const d = td.dpamt;
  if (d && pfn !== td.tdrPfn) {
    const r = d.rangeOf(pfn);
    if (!(yield d.lock[r]!.tryShared(`${L}: pamt_walk: 2M entry lock SH (range ${r})`))) return st(C.OPERAND_BUSY, OP.RCX);
    held.pamt2m.push(r);
    const nv = yield d.node[r]!.load(`${L}: pamt_walk: 2M entry pt (range ${r})`);
    if (nodeKind(nv) !== NODE.PAMT) return yield* td.finish(held, st(C.PAGE_METADATA_INCORRECT, OP.RCX), L);
  }
  const pv = yield td.pamt[pfn]!.load(`${L}: PAMT entry`);
  const p = pamtUnpack(pv);
  if (p.pt === PT.NDA) return yield* td.finish(held, st(C.PAGE_METADATA_INCORRECT, OP.RCX), L);
  if (p.pt === PT.REG && p.size > 0 && pfn % td.geo.span(p.size) !== 0) return yield* td.finish(held, st(C.OPERAND_INVALID, OP.RCX), L);
  if (p.pt === PT.TDR) {
    // The TDR page itself: its own PAMT lock is the TDR lock, taken EX.
    if (!(yield* td.tdrLock.acquireHost("ex", `${L}: TDR page PAMT lock`))) return yield* td.finish(held, st(C.OPERAND_BUSY, OP.RCX), L);
    held.tdr = "ex";
    const ts = yield td.tdState.load(`${L}: lifecycle_state`);
    if (lifecycleOf(ts) !== LIFECYCLE.TEARDOWN) return yield* td.finish(held, st(C.LIFECYCLE_STATE_INCORRECT), L);
    const n = yield td.chldcnt.read(`${L}: chldcnt`);
    if (n !== 0) return yield* td.finish(held, st(C.TD_ASSOCIATED_PAGES_EXIST), L);
    yield td.pamt[pfn]!.store(PAMT_NDA, `${L}: PAMT := PT_NDA`);
    return yield* td.finish(held, TDX_SUCCESS, L);
  }
  if (!(yield* td.tdrLock.acquireHost("sh", `${L}: implicit TDR lock`))) return yield* td.finish(held, st(C.OPERAND_BUSY, OP.TDR), L);
  held.tdr = "sh";
  const ts = yield td.tdState.load(`${L}: lifecycle_state`);
  if (lifecycleOf(ts) !== LIFECYCLE.TEARDOWN) return yield* td.finish(held, st(C.LIFECYCLE_STATE_INCORRECT), L);
  const n = p.pt === PT.REG ? td.geo.span(p.size) : 1;
  yield td.chldcnt.add(-n, `${L}: chldcnt -= ${n}`);
  for (let i = 0; i < n; i++) yield td.pamt[pfn + i]!.store(PAMT_NDA, `${L}: PAMT pfn ${pfn + i} := PT_NDA`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}

/** WBINVD of `pfn` under the TD's HKID: the page must already be PT_NDA (removed), else PAGE_METADATA_INCORRECT|RCX. */
export function* tdhPhymemPageWbinvd(td: Td, pfn: number): Gen<Status> {
  const L = "tdh_phymem_page_wbinvd";
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= td.pamt.length) return st(C.OPERAND_INVALID, OP.RCX);
  const pv = yield td.pamt[pfn]!.load(`${L}: PAMT entry (SH)`);
  if (pamtUnpack(pv).pt !== PT.NDA) return st(C.PAGE_METADATA_INCORRECT, OP.RCX);
  return TDX_SUCCESS;
}
