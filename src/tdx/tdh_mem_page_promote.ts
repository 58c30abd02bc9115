// TDH.MEM.PAGE.PROMOTE (leaf 23) — merge the `fanout` 4K leaves under a blocked non-leaf 2M entry
// back into one 2M leaf and return the freed S-EPT page. Source file:
// murrowow/tdx-concurrency@307fc86a7c23 src/vmm_dispatcher/api_calls/tdh_mem_page_promote.c (its
// lock order and checks as summarised here were not re-read line by line for this model: the tree
// lock mode per version, the uniformity rule and the interruption check follow the leaf's ABI
// description in Intel's TDX module base architecture specification, not its code).
//
// Steps and locks:
//   1. TDR SH (BUSY|RDX), op_state SH, S-EPT tree **EX** on modules with the host-priority tree
//      lock (≥ 1.5.20; SH on 1.5.16), walk to the 2M entry (EPT_WALK_FAILED|RCX), entry host lock
//      (BUSY|RCX);
//   2. the entry must be NL_BLOCKED (TDX_EPT_ENTRY_STATE_INCORRECT|RCX) and, while the TD runs,
//      TLB-tracked (bepoch of the child S-EPT page; TDX_TLB_TRACKING_NOT_DONE|RCX);
//   3. the children must be uniform: all MAPPED or all PENDING, each mapping the next 4K PFN of one
//      2M-aligned range (TDX_EPT_INVALID_PROMOTE_CONDITIONS|RCX);
//   4. the same interruption check as DEMOTE (TDX_INTERRUPTED_RESTARTABLE / TDX_INTERRUPTED_BUSY);
//   5. with Dynamic PAMT the range's 2M PAMT entry EX (BUSY|RCX): its node's pair is returned
//      (bitmap bits cleared) and the entry becomes the 2M page's;
//   6. commit: the 2M entry := the children's state at 2M (unblocked), the children FREE, the old
//      S-EPT page PT_NDA (returned in RCX), TDR.chldcnt −= 1.
//
// Module 1.0 (qizhangz/tdx-module@d5fc67a src/vmm_dispatcher/api_calls/tdh_mem_page_promote.c): tree
// lock EX, no entry lock; a leaf → TDX_EPT_ENTRY_LEAF|RCX, a non-leaf that is not BLOCKED →
// TDX_GPA_RANGE_NOT_BLOCKED|RCX; TLB tracking required in every TD state (the child page's PAMT
// entry locked EX: BUSY|RCX is not modelled, nothing else locks it here); the children must all be
// present (MAPPED) leaves with contiguous aligned PFNs (no PENDING promotion); no interruption
// check; the 2M leaf is written MAPPED under the tree lock.
// KVM never issues PROMOTE (RFC v5 31/45, "Prevent hugepage promotion for mirror roots in fault
// path", lore 20260129011517.3545883-32-seanjc@google.com; v3 06/24): the leaf exists so that the
// model can show what a promotion would need (a BLOCK of a non-leaf and uniform children).
import { choose } from "../engine/index.js";
import type { Gen } from "./locks.js";
import { entryCommit } from "./locks.js";
import { NODE, dpamtBitmapClearPair, nodeKind, nodePair } from "./dpamt.js";
import { PAMT_NDA, PT, pamtBepoch, pamtBepochBits, pamtPack } from "./pamt.js";
import { S, SEPTE_INIT_VALUE, mkEntry, pfnOf, stateOf } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, SEPT_LEAF_TD_LOCKS, Td } from "./td.js";
import { isTlbTracked, trackedBits } from "./tlb.js";

const L = "tdh_mem_page_promote";

export interface PromoteResult {
  status: Status;
  /** The S-EPT page that held the 4K entries (RCX on success), or -1. */
  oldPage: number;
  /** Dynamic PAMT: the range's pair (R12/R13 on success), else []. */
  pair: number[];
}

export function* tdhMemPagePromote(td: Td, gpa: number, level: number): Gen<PromoteResult> {
  const fail = (status: Status): PromoteResult => ({ status, oldPage: -1, pair: [] });
  if (!td.geo.validPageInfo(gpa, level, 1, td.geo.top)) return fail(st(C.OPERAND_INVALID, OP.RCX));
  const held = new Held();
  let s = yield* td.lockTd(held, { ...SEPT_LEAF_TD_LOCKS, label: L });
  if (s !== TDX_SUCCESS) return fail(yield* td.finish(held, s, L));
  const running = Td.running(held.tdState);
  s = yield* td.lockTree(held, td.hpTree ? "ex" : "sh", L);
  if (s !== TDX_SUCCESS) return fail(yield* td.finish(held, s, L));
  const got = yield* td.walkAndLockEntry(held, gpa, level, L);
  if (typeof got === "number") return fail(yield* td.finish(held, got, L));
  const { cell, lk } = got;
  const cur = stateOf(lk.value);
  if (td.v10 && cur !== S.NL_BLOCKED) return fail(yield* td.finish(held, st(cur === S.NL_MAPPED ? C.GPA_RANGE_NOT_BLOCKED : C.EPT_ENTRY_LEAF, OP.RCX), L));
  if (cur !== S.NL_BLOCKED) return fail(yield* td.finish(held, st(C.EPT_ENTRY_STATE_INCORRECT, OP.RCX), L));
  const oldPage = pfnOf(lk.value);
  if (running || td.v10) {
    const pv = yield td.pamt[oldPage]!.load(`${L}: PAMT of the S-EPT page: bepoch`);
    const e = yield td.epoch.load(`${L}: is_tlb_tracked (atomic epoch+refcount read)`, trackedBits(pamtBepoch(pv)));
    if (!isTlbTracked(e, pamtBepoch(pv), pamtBepochBits(pv))) return fail(yield* td.finish(held, st(C.TLB_TRACKING_NOT_DONE, OP.RCX), L));
  }
  // 3. uniform children: one state (MAPPED or PENDING), contiguous PFNs from a 2M-aligned head.
  const childSpan = td.geo.span(level - 1);
  const n = td.geo.span(level);
  let state = -1;
  let head = -1;
  for (let k = 0; k < td.geo.fanout; k++) {
    const v = yield td.entry(gpa + k * childSpan, level - 1).load(`${L}: read child entry ${k}`);
    const cs = stateOf(v);
    const p = pfnOf(v);
    if (k === 0) {
      state = cs;
      head = p;
    }
    const ok = (cs === S.MAPPED || (cs === S.PENDING && !td.v10)) && cs === state && head >= 0 && head % n === 0 && p === head + k * childSpan;
    if (!ok) return fail(yield* td.finish(held, st(C.EPT_INVALID_PROMOTE_CONDITIONS, OP.RCX), L));
  }
  // 4. interruption check (none in module 1.0).
  if (td.demoteHostInterrupts && !td.v10) {
    const intr = yield choose(2, `${L}: check_host_interrupt_and_hp_bit: is_interrupt_pending_host_side()`, { env: true });
    if (intr === 1) return fail(yield* td.finish(held, st(C.INTERRUPTED_RESTARTABLE), L));
  }
  // (The tree lock is held EX here: nobody else can set its host-priority bit meanwhile.)
  // 5. Dynamic PAMT: the range's node gives back its pair.
  const d = td.dpamt;
  let pair: number[] = [];
  if (d && level === 1) {
    const r = d.rangeOf(head);
    if (!(yield d.lock[r]!.tryExclusive(`${L}: pamt_promote: 2M entry lock EX (range ${r})`))) return fail(yield* td.finish(held, st(C.OPERAND_BUSY, OP.RCX), L));
    held.pamt2mEx.push(r);
    const nv = yield d.node[r]!.load(`${L}: pamt_promote: 2M entry pt (range ${r})`);
    if (nodeKind(nv) !== NODE.PAMT) return fail(yield* td.finish(held, st(C.PAGE_METADATA_INCORRECT, OP.RCX), L));
    const [i0, i1] = nodePair(nv);
    yield* dpamtBitmapClearPair(d, i0, i1, `${L}: pamt_promote: dynamic_pamt_4k_bitmap_clear(pair of range ${r})`);
    yield d.node[r]!.store(NODE.LEAF2M, `${L}: pamt_promote: 2M entry := PT_REG 2M page (range ${r})`);
    pair = [d.poolPfn(i0), d.poolPfn(i1)];
  }
  for (let i = 0; i < n; i++) yield td.pamt[head + i]!.store(pamtPack({ pt: PT.REG, size: level, owner: gpa + i }), `${L}: PAMT pfn ${head + i} size := L${level}`);
  // 6. commit.
  for (let k = 0; k < td.geo.fanout; k++) yield td.entry(gpa + k * childSpan, level - 1).store(SEPTE_INIT_VALUE, `${L}: old S-EPT page entry ${k} := FREE`);
  if (td.v10) yield* td.commitEntry(held, cell, lk.value, mkEntry(S.MAPPED, head), false, L);
  else yield* entryCommit(cell, lk.value, mkEntry(state === S.PENDING ? S.PENDING : S.MAPPED, head), false, L);
  yield td.pamt[oldPage]!.store(PAMT_NDA, `${L}: old S-EPT page pfn ${oldPage} := PT_NDA (returned in RCX)`);
  yield td.chldcnt.add(-1, `${L}: chldcnt -= 1`);
  const status = yield* td.finish(held, TDX_SUCCESS, L);
  return { status, oldPage, pair };
}
