// TDH.MEM.PAGE.DEMOTE (leaf 15) — split a 2M S-EPT leaf into `fanout` 4K leaves under a new S-EPT
// page. Read at murrowow/tdx-concurrency@307fc86a7c23 src/vmm_dispatcher/api_calls/tdh_mem_page_demote.c
// (tdh_mem_page_demote(), sept_split_entry()) and pamt_manager.c pamt_demote().
//
// Inputs: RCX = GPA | level (1 = 2M → 4K; 2 = 1G → 2M, accepted by the module, unused by KVM),
// RDX = TDR, R8 = the new S-EPT page, R12/R13 = with Dynamic PAMT the page pair for the demoted
// page's 2M range (RFC v5 30/45, lore 20260129011517.3545883-31-seanjc@google.com: the wrapper passes
// them with seamcall_saved_ret). L2 (TD partitioning) pages R9-R11 are not modelled.
//
// Steps and locks, in the module's order:
//   1. TDR SH (BUSY|RDX), op_state SH, S-EPT tree **SH** (BUSY|SEPT_TREE), walk (EPT_WALK_FAILED|RCX),
//      entry host lock (BUSY|RCX), re-read under the lock;
//   2. the entry must be a leaf in MAPPED, BLOCKED, PENDING or PENDING_BLOCKED
//      (TDX_EPT_ENTRY_STATE_INCORRECT|RCX);
//   3. TD running (op_state RUNNABLE): it must be blocked (TDX_GPA_RANGE_NOT_BLOCKED|RCX) and its
//      bepoch TLB-tracked (TDX_TLB_TRACKING_NOT_DONE|RCX);
//   4. the new S-EPT page: PAMT 4K entry EX, must be PT_NDA (PAGE_METADATA_INCORRECT|R8); with
//      Dynamic PAMT its range's 2M entry SH and a node (TDX_MISSING_PAMT_PAGE_PAIR|R8);
//   5. check_host_interrupt_and_hp_bit(secure_ept_lock): a pending host interrupt →
//      TDX_INTERRUPTED_RESTARTABLE; else the tree lock's host-priority bit set →
//      TDX_INTERRUPTED_BUSY. Nothing committed, the entry stays as it was (e.g. BLOCKED). The
//      host-interrupt half is an environment choice only when the module lacks
//      ENHANCE_DEMOTE_INTERRUPTIBILITY (TdxConfig.demoteHostInterrupts; Yan Zhao's v3 cover, lore
//      20260106101646.24809-1-yan.y.zhao@intel.com, restriction 2: with the feature a TD without
//      partitioning never sees it — not confirmed from module source);
//   6. pamt_demote(): the page's 2M PAMT entry EX (BUSY|RCX); with Dynamic PAMT each pair page
//      is walked SH in its own 2M range (BUSY|R12/R13: the status Yan Zhao observed racing another
//      TD's PAMT.ADD, race R5 — modelled when the pool lies in a TD range, dpamt.ts pairRange) and
//      must not be a PAMT page already (TDX_PAGE_NOT_FREE|R12/R13), its bitmap bit is set and the
//      range becomes a PT_PAMT node counting `fanout` 4K pages; the 4K PAMT entries take size 4K;
//   7. commit: the `fanout` children copied from the large entry, **unblocked and unlocked**
//      (MAPPED and BLOCKED → MAPPED, PENDING and PENDING_BLOCKED → PENDING), the new page's PAMT
//      PT_EPT, the parent NL_MAPPED → new page (released at EXIT), TDR.chldcnt += 1.
// No UNBLOCK is needed after a successful DEMOTE.
//
// Module 1.0 (qizhangz/tdx-module@d5fc67a src/vmm_dispatcher/api_calls/tdh_mem_page_demote.c): TDR
// SH, the S-EPT tree lock **EX** and no entry lock (as every 1.0 host S-EPT leaf); an entry that is
// not a leaf → TDX_EPT_ENTRY_NOT_LEAF|RCX; it must be BLOCKED and TLB-tracked whatever the TD state;
// no interruption check, no host-priority bit, no Dynamic PAMT (no R12/R13); a PAMT split that
// cannot lock → BUSY|RCX; the parent entry is written under the tree lock.
//
// Abstractions: the pair pages' own 2M-range SH walks only with DpamtConfig.pairRange (see dpamt.ts);
// the new page's 4K PAMT entry lock is the ownership cmpxchg (claimed at step 4, rolled back on a
// later failure, which the real module never needs because it commits PAMT only at step 7).
import { choose } from "../engine/index.js";
import type { Gen } from "./locks.js";
import { entryCommit } from "./locks.js";
import { NODE, mkNode, dpamtWalk4k, dpamtWalkPairPage, poolBitOf } from "./dpamt.js";
import { PAMT_NDA, PT, pamtBepoch, pamtBepochBits, pamtPack } from "./pamt.js";
import { S, isBlocked, isLeafState, isPending, mkEntry, pfnOf, stateNeedsTracking, stateOf } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, Td } from "./td.js";
import { isTlbTracked, trackedBits } from "./tlb.js";

const L = "tdh_mem_page_demote";

/** States DEMOTE accepts (sept_state_is_seamcall_leaf_allowed(TDH_MEM_PAGE_DEMOTE_LEAF)). */
export const DEMOTE_ALLOWED: readonly number[] = [S.MAPPED, S.BLOCKED, S.PENDING, S.PENDING_BLOCKED];

export function* tdhMemPageDemote(td: Td, gpa: number, level: number, newPage: number, pair: readonly [number, number] | null = null): Gen<Status> {
  // verify_page_info_input(LVL_PD, LVL_PDPT): the large entry's level is 2M or 1G.
  if (!td.geo.validPageInfo(gpa, level, 1, td.geo.top)) return st(C.OPERAND_INVALID, OP.RCX);
  if (!Number.isInteger(newPage) || newPage < 0 || newPage >= td.nPfns) return st(C.OPERAND_INVALID, OP.R8);
  const held = new Held();
  const got = yield* td.openSeptLeaf(held, gpa, level, "sh", L);
  if (typeof got === "number") return got;
  const { cell, lk, running } = got;
  const cur = stateOf(lk.value);
  // 2. a large leaf
  if (!DEMOTE_ALLOWED.includes(cur)) return yield* td.finish(held, st(td.v10 && !isLeafState(cur) ? C.EPT_ENTRY_NOT_LEAF : C.EPT_ENTRY_STATE_INCORRECT, OP.RCX), L);
  const pfn = pfnOf(lk.value);
  // 3. blocked and tracked while the TD runs (bepoch in the PAMT entry of the page's first 4K PFN);
  // module 1.0 requires both in every TD state.
  if (td.v10 || (running && stateNeedsTracking(cur))) {
    if (!isBlocked(cur)) return yield* td.finish(held, st(C.GPA_RANGE_NOT_BLOCKED, OP.RCX), L);
    const pv = yield td.pamt[pfn]!.load(`${L}: pamt_implicit_get(split page): bepoch`);
    const e = yield td.epoch.load(`${L}: is_tlb_tracked (atomic epoch+refcount read)`, trackedBits(pamtBepoch(pv)));
    if (!isTlbTracked(e, pamtBepoch(pv), pamtBepochBits(pv))) return yield* td.finish(held, st(C.TLB_TRACKING_NOT_DONE, OP.RCX), L);
  }
  // 4. the new S-EPT page (check_and_lock_explicit_4k_private_hpa(R8, EX, PT_NDA)).
  const d = td.dpamt;
  if (d) {
    const s = yield* dpamtWalk4k(d, held.pamt2m, newPage, OP.R8, L);
    if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  }
  const eptPamt = pamtPack({ pt: PT.EPT, owner: gpa, ownerLevel: level });
  const seen = yield td.pamt[newPage]!.cmpxchg(PAMT_NDA, eptPamt, `${L}: PAMT claim new S-EPT page pfn ${newPage} (PT_NDA -> PT_EPT)`);
  if (seen !== PAMT_NDA) return yield* td.finish(held, st(C.PAGE_METADATA_INCORRECT, OP.R8), L);
  const undoClaim = () => td.pamt[newPage]!.store(PAMT_NDA, `${L}: new S-EPT page pfn ${newPage} left PT_NDA (nothing committed)`);
  // 5. interruption check before the PAMT split (none in module 1.0).
  if (td.demoteHostInterrupts && !td.v10) {
    const intr = yield choose(2, `${L}: check_host_interrupt_and_hp_bit: is_interrupt_pending_host_side()`, { env: true });
    if (intr === 1) {
      yield undoClaim();
      return yield* td.finish(held, st(C.INTERRUPTED_RESTARTABLE), L);
    }
  }
  if (td.treeLock.hp !== null) {
    const hp = yield td.treeLock.hp.load(`${L}: check_host_interrupt_and_hp_bit: secure_ept_lock host-priority bit`);
    if (hp !== 0) {
      yield undoClaim();
      return yield* td.finish(held, st(C.INTERRUPTED_BUSY), L);
    }
  }
  // 6. pamt_demote(): the page's 2M PAMT entry EX; with Dynamic PAMT the pair becomes its node.
  const n = td.geo.span(level);
  const childSpan = td.geo.span(level - 1);
  if (d && level === 1) {
    const r = d.rangeOf(pfn);
    if (!(yield d.lock[r]!.tryExclusive(`${L}: pamt_demote: 2M entry lock EX (range ${r})`))) {
      yield undoClaim();
      return yield* td.finish(held, st(C.OPERAND_BUSY, OP.RCX), L);
    }
    held.pamt2mEx.push(r);
    const i0 = pair ? d.poolIndex(pair[0]) : -1;
    const i1 = pair ? d.poolIndex(pair[1]) : -1;
    let bad: Status = TDX_SUCCESS;
    if (i0 < 0) bad = st(C.OPERAND_INVALID, OP.R12);
    else if (i1 < 0 || i1 === i0) bad = st(C.OPERAND_INVALID, OP.R13);
    // Both pair pages lie in one range here (DpamtConfig.pairRange): one SH walk stands for both.
    else if ((bad = yield* dpamtWalkPairPage(d, held.pamt2m, r, OP.R12, L)) !== TDX_SUCCESS) {
      /* BUSY|R12 */
    } else {
      const b0 = yield d.bitmapWord(i0).rmw((m) => m | poolBitOf(i0), `${L}: pamt_demote: dynamic_pamt_4k_bitmap_set(pfn ${pair![0]})`);
      if (b0 & poolBitOf(i0)) bad = st(C.PAGE_NOT_FREE, OP.R12);
      else {
        const b1 = yield d.bitmapWord(i1).rmw((m) => m | poolBitOf(i1), `${L}: pamt_demote: dynamic_pamt_4k_bitmap_set(pfn ${pair![1]})`);
        if (b1 & poolBitOf(i1)) {
          yield d.bitmapWord(i0).rmw((m) => m & ~poolBitOf(i0), `${L}: pamt_demote: dynamic_pamt_4k_bitmap_clear(pfn ${pair![0]})`);
          bad = st(C.PAGE_NOT_FREE, OP.R13);
        }
      }
    }
    if (bad !== TDX_SUCCESS) {
      yield undoClaim();
      return yield* td.finish(held, bad, L);
    }
    yield d.node[r]!.store(mkNode(i0, i1), `${L}: pamt_demote: 2M entry := PT_PAMT node (pfn ${pair![0]}, pfn ${pair![1]}), count ${n}`);
  }
  for (let k = 0; k < n; k += childSpan) {
    for (let i = 0; i < childSpan; i++)
      yield td.pamt[pfn + k + i]!.store(pamtPack({ pt: PT.REG, size: level - 1, owner: gpa + k + i }), `${L}: pamt_demote: PAMT pfn ${pfn + k + i} size := L${level - 1}`);
  }
  // 7. commit: children (unblocked, unlocked), parent NL_MAPPED (still locked), chldcnt.
  const childState = isPending(cur) ? S.PENDING : S.MAPPED;
  for (let k = 0; k < td.geo.fanout; k++) {
    const child = td.entry(gpa + k * childSpan, level - 1);
    yield child.store(mkEntry(childState, pfn + k * childSpan), `${L}: sept_split_entry: new S-EPT page entry ${k} := ${childState === S.PENDING ? "PENDING" : "MAPPED"}`);
  }
  if (td.v10) yield* td.commitEntry(held, cell, lk.value, mkEntry(S.NL_MAPPED, newPage), false, L);
  else yield* entryCommit(cell, lk.value, mkEntry(S.NL_MAPPED, newPage), false, L);
  yield td.chldcnt.add(1, `${L}: chldcnt += 1 (new S-EPT page)`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}

export { NODE };
