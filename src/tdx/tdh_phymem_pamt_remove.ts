// TDH.PHYMEM.PAMT.REMOVE (leaf 59) — models tdh_phymem_pamt_remove.c: tdh_phymem_pamt_remove()
// (murrowow/tdx-concurrency @ c71d4f6, 1.5.25; 1.5.16 @ b2be91c has only a stub).
// Input: RCX = range R. R's 2M PAMT entry walked EX (BUSY|RCX); it must be a PT_PAMT node
// (TDX_NO_PAMT_PAGE_PAIR|RCX); every 4K entry of R must be PT_NDA, else
// TDX_PAMT_PAGE_NOT_EMPTY with the index of the pair page holding it (0 or 1) as operand; then the
// pair's bitmap bits are cleared, the pair is returned in RDX/R8 and R's entry becomes PT_NDA.
// The scan reads each 4K entry (one step each): PAGE.REMOVE changes a 4K entry without taking the
// 2M lock (pamt_implicit_get_with_nl_entry_and_lock), so the entries are not frozen by the EX lock.
import type { Gen } from "./locks.js";
import { NODE, dpamtBitmapClearPair, nodeKind, nodePair } from "./dpamt.js";
import { PAMT_NDA } from "./pamt.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import type { Td } from "./td.js";

const L = "tdh_phymem_pamt_remove";

export interface PamtRemoveResult {
  status: Status;
  /** The returned pair (RDX, R8) on success; [-1, -1] otherwise. */
  pair: [number, number];
}

export function* tdhPhymemPamtRemove(td: Td, pfn: number): Gen<PamtRemoveResult> {
  const d = td.dpamt;
  const fail = (s: Status): PamtRemoveResult => ({ status: s, pair: [-1, -1] });
  if (!d) return fail(st(C.OPERAND_INVALID, OP.RAX));
  if (!d.hasRange(pfn)) return fail(st(C.OPERAND_ADDR_RANGE_ERROR, OP.RCX));
  const r = d.rangeOf(pfn);
  if (!(yield d.lock[r]!.tryExclusive(`${L}: pamt_walk(RCX, EX): 2M entry lock (range ${r})`))) return fail(st(C.OPERAND_BUSY, OP.RCX));
  let res = fail(TDX_SUCCESS);
  const v = yield d.node[r]!.load(`${L}: 2M entry pt (range ${r})`);
  if (nodeKind(v) !== NODE.PAMT) res = fail(st(C.NO_PAMT_PAGE_PAIR, OP.RCX));
  else {
    const base = d.rangeBase(r);
    for (let k = 0; k < d.fanout && res.status === TDX_SUCCESS; k++) {
      const e = base + k < td.pamt.length ? yield td.pamt[base + k]!.load(`${L}: 4K entry of pfn ${base + k} PT_NDA?`) : PAMT_NDA;
      // entries 0..255 live in pair page 0, 256..511 in page 1 (scaled: the first half of the range)
      if (e !== PAMT_NDA) res = fail(st(C.PAMT_PAGE_NOT_EMPTY, k < d.fanout / 2 ? 0 : 1));
    }
    if (res.status === TDX_SUCCESS) {
      const [i0, i1] = nodePair(v);
      yield* dpamtBitmapClearPair(d, i0, i1, `${L}: dynamic_pamt_4k_bitmap_clear(pfn ${d.poolPfn(i0)}, pfn ${d.poolPfn(i1)})`);
      yield d.node[r]!.store(NODE.NDA, `${L}: 2M entry := PT_NDA`);
      res = { status: TDX_SUCCESS, pair: [d.poolPfn(i0), d.poolPfn(i1)] };
    }
  }
  yield d.lock[r]!.releaseExclusive(`${L}: pamt_unwalk: 2M entry lock (range ${r})`);
  return res;
}
