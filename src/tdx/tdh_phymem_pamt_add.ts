// TDH.PHYMEM.PAMT.ADD (leaf 58) — models tdh_phymem_pamt_add.c: tdh_phymem_pamt_add()
// (murrowow/tdx-concurrency @ c71d4f6, 1.5.25; the same body in 1.5.20 @ e2c6b0a).
// Inputs: RCX = 2M-aligned HPA of range R (any PFN of R here), RDX/R8 = the two pair pages.
// Locks: R's 2M PAMT entry, walked SH and promoted to EX (one try-exclusive step here: the
// promotion fails iff another holder exists, and nothing can be observed between the two) →
// TDX_OPERAND_BUSY|RCX; the entry must be PT_NDA → else TDX_HPA_RANGE_NOT_FREE|RCX; each pair
// page outside R walked SH in its own 2M range (→ TDX_OPERAND_BUSY|RDX/R8; only when the pool lies
// in a TD range, dpamt.ts pairRange; both pages in that one range, one walk); each pair
// page's bitmap bit test-and-set → TDX_PAGE_NOT_FREE|RDX/R8 (the first bit undone); then R's entry
// becomes a PT_PAMT node pointing at the pair. Zeroing the pair pages is not modelled.
import type { Gen } from "./locks.js";
import { NODE, dpamtUnwalk, dpamtWalkPairPage, mkNode, nodeKind, poolBitOf } from "./dpamt.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import type { Td } from "./td.js";

const L = "tdh_phymem_pamt_add";

export function* tdhPhymemPamtAdd(td: Td, pfn: number, pair0: number, pair1: number): Gen<Status> {
  const d = td.dpamt;
  // "Dynamic PAMT not enabled" → TDX_OPERAND_INVALID|RAX
  if (!d) return st(C.OPERAND_INVALID, OP.RAX);
  if (!d.hasRange(pfn)) return st(C.OPERAND_ADDR_RANGE_ERROR, OP.RCX);
  // Model restriction: pair pages are pool pages (dpamt.ts); any other page is rejected here.
  const i0 = d.poolIndex(pair0);
  const i1 = d.poolIndex(pair1);
  if (i0 < 0) return st(C.OPERAND_INVALID, OP.RDX);
  if (i1 < 0 || i1 === i0) return st(C.OPERAND_INVALID, OP.R8);
  const r = d.rangeOf(pfn);
  if (!(yield d.lock[r]!.tryExclusive(`${L}: pamt_walk(RCX, EX): 2M entry lock (range ${r})`))) return st(C.OPERAND_BUSY, OP.RCX);
  let s: Status = TDX_SUCCESS;
  const v = yield d.node[r]!.load(`${L}: 2M entry pt (range ${r})`);
  const pairHeld: number[] = [];
  if (nodeKind(v) !== NODE.NDA) s = st(C.HPA_RANGE_NOT_FREE, OP.RCX);
  else if ((s = yield* dpamtWalkPairPage(d, pairHeld, r, OP.RDX, L)) !== TDX_SUCCESS) {
    /* BUSY|RDX */
  } else {
    const b0 = yield d.bitmapWord(i0).rmw((m) => m | poolBitOf(i0), `${L}: dynamic_pamt_4k_bitmap_set(pfn ${pair0})`);
    if (b0 & poolBitOf(i0)) s = st(C.PAGE_NOT_FREE, OP.RDX);
    else {
      const b1 = yield d.bitmapWord(i1).rmw((m) => m | poolBitOf(i1), `${L}: dynamic_pamt_4k_bitmap_set(pfn ${pair1})`);
      if (b1 & poolBitOf(i1)) {
        yield d.bitmapWord(i0).rmw((m) => m & ~poolBitOf(i0), `${L}: dynamic_pamt_4k_bitmap_clear(pfn ${pair0})`);
        s = st(C.PAGE_NOT_FREE, OP.R8);
      } else yield d.node[r]!.store(mkNode(i0, i1), `${L}: 2M entry := PT_PAMT node (pfn ${pair0}, pfn ${pair1})`);
    }
  }
  yield* dpamtUnwalk(d, pairHeld, L);
  yield d.lock[r]!.releaseExclusive(`${L}: pamt_unwalk: 2M entry lock (range ${r})`);
  return s;
}
