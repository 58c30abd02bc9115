// TdxModule: the TDX module's Secure-EPT side as an executable model.
//
// Citations in src/tdx: "M25 file" is the TDX module 1.5.25 source as imported verbatim in
// github.com/murrowow/tdx-concurrency @ c71d4f63772cd841352dafb519582c0b89957877 (1.5.20: e2c6b0a5e1a4,
// 1.5.16: b2be91cbc37f); its src/vmm_dispatcher, src/td_transitions and src/common/helpers trees match
// Intel's official 1.5.01 (github.com/intel/tdx-module @ 72d8cffb214b, branch tdx_1.5). TDX 1.0:
// qizhangz/tdx-module @ 9359de5c73fb. Leaf files are named after their leaf (tdh_mem_page_aug.c, ...).
//
// PUBLIC API (used by the KVM model; see docs/model-tdx-module.md)
// -----------------------------------------------------------------
//   const tdx = new TdxModule(world, config)      // config: TdxConfig (td.ts); all fields optional
//
// Every leaf is a generator to be used with `yield*` inside engine thread code and returns a
// status token (`Status`, a small integer; print with statusName/statusHex/statusString):
//   host SEAMCALLs
//     memSeptAdd(gpa, level, tablePfn, allowExisting?)  TDH.MEM.SEPT.ADD   (level = parent entry level, >= 1)
//     memPageAdd(gpa, pfn)                            TDH.MEM.PAGE.ADD   (4K, before finalize)
//     memPageAug(gpa, level, pfn)                     TDH.MEM.PAGE.AUG   (level 0 or 1)
//     memRangeBlock(gpa, level)                       TDH.MEM.RANGE.BLOCK
//     memRangeUnblock(gpa, level)                     TDH.MEM.RANGE.UNBLOCK
//     memTrack()                                      TDH.MEM.TRACK
//     memPageRemove(gpa, level)                       TDH.MEM.PAGE.REMOVE
//     memSeptRemove(gpa, level)                       TDH.MEM.SEPT.REMOVE
//     memPageDemote(gpa, level, newPage, pair?)       TDH.MEM.PAGE.DEMOTE (split a 2M leaf; pair = DPAMT R12/R13)
//     memPagePromote(gpa, level)                      TDH.MEM.PAGE.PROMOTE → {status, oldPage, pair}
//     mrExtend(gpa) / mrFinalize()                    TDH.MR.EXTEND / TDH.MR.FINALIZE
//     vpInit(vcpu, lp?, leafVersion?)                 TDH.VP.INIT (version 1: TDR EX)
//     vpEnter(vcpu, lp?)                              TDH.VP.ENTER: TDX_SUCCESS = the vCPU is now in the guest;
//                                                     otherwise an error (BUSY|SEPT_TREE, BUSY|TD_EPOCH, ...) or an
//                                                     emulated TD_EXIT(EPT_VIOLATION)|gpa (zero-step), vCPU not in guest
//     tdExit(vcpu)                                    asynchronous TD exit (external interrupt / kick): returns
//                                                     TD_EXIT(EXTERNAL_INTERRUPT); the vCPU leaves the guest
//     vpFlush(vcpu, lp?)                              TDH.VP.FLUSH
//     mngVpFlushDone()                                TDH.MNG.VPFLUSHDONE
//     phymemCacheWb()                                 TDH.PHYMEM.CACHE.WB
//     mngKeyFreeid()                                  TDH.MNG.KEY.FREEID
//     phymemPageReclaim(pfn)                          TDH.PHYMEM.PAGE.RECLAIM (tdx.tdrPfn / tdx.tdvprPfn(v) for control pages)
//     phymemPageWbinvd(pfn)                           TDH.PHYMEM.PAGE.WBINVD
//     phymemPamtAdd(pfn, pair0, pair1)                TDH.PHYMEM.PAMT.ADD (Dynamic PAMT; pfn: any page of the 2M range)
//     phymemPamtRemove(pfn)                           TDH.PHYMEM.PAMT.REMOVE → {status, pair}
//     foreignAug(pfn) / foreignRemove(pfn)            another TD's AUG / PAGE.REMOVE of pfn, PAMT footprint only
//   guest (the vCPU must be in the guest, i.e. after vpEnter returned TDX_SUCCESS)
//     guestAccept(vcpu, gpa, level?, rip?)            TDG.MEM.PAGE.ACCEPT; may TD-exit (EPT violation, HP timeout)
//     guestAccess(vcpu, gpa, rip?)                    TDX_SUCCESS | GUEST_#VE|gpa | TD_EXIT(EPT_VIOLATION)|gpa
//   (`lp` defaults to the vCPU index; `rip` — the guest instruction — defaults to the GPA.)
//   A result for which isTdExit(s) holds means the vCPU is out of the guest.
//
// Inspectors (peek, never steps; for invariants and printing):
//   entry(gpa, level) -> {state, stateName, pfn, tdel, tdhp, acceptCounter}; entryObj(gpa, level) -> Atomic
//   leaf(gpa) -> {level, state, stateName, pfn}   (hardware-style walk to the leaf / where it stops)
//   pfnInfo(pfn) -> PamtInfo (+ptName);  pamtObj(pfn) -> Atomic;  pfnOwnedBy(pfn) -> {gpa, level} | null
//   tdEpoch(), refcount(i), vcpuInGuest(v), vcpuEpoch(v), vcpuAssoc(v), epfList(v), lifecycle(), opState(), chldcnt()
//   treeLockState() -> {ex, readers, hp}; statusName(tok), statusHex(tok), statusString(tok)
//   consistency() -> null | message: the module's own invariants at a quiescent point
//     (PAMT ownership <-> S-EPT leaves, chldcnt, refcounts vs vCPUs in the guest, no lock left held)
//   objects: { tdState, epoch, treeLock, ... } for invariant footprints
import type { World } from "../engine/index.js";
import type { Gen } from "./locks.js";
import { PT_NAMES, PT, pamtUnpack, type PamtInfo } from "./pamt.js";
import { SEPT_STATE_NAMES, TDEL, TDHP, acceptCounterOf, pfnOf, stateOf, type SeptState } from "./sept.js";
import { C, st, statusHex, statusName, statusString, type Status } from "./status.js";
import { LIFECYCLE_NAMES, Td, assocOf, inGuestOf, lifecycleOf, maskList, opStateOf, vcpuEpochOf, type TdxConfig } from "./td.js";
import { moduleConsistency } from "./invariants.js";
import { tdgMemPageAccept } from "./tdg_mem_page_accept.js";
import { guestAccess } from "./td_ept_violation.js";
import { tdhMemPageAdd } from "./tdh_mem_page_add.js";
import { tdhMemPageAug } from "./tdh_mem_page_aug.js";
import { tdhMemPageRemove } from "./tdh_mem_page_remove.js";
import { tdhMemPageDemote } from "./tdh_mem_page_demote.js";
import { tdhMemPagePromote, type PromoteResult } from "./tdh_mem_page_promote.js";
import { tdhMemRangeBlock } from "./tdh_mem_range_block.js";
import { tdhMemRangeUnblock } from "./tdh_mem_range_unblock.js";
import { tdhMemSeptAdd } from "./tdh_mem_sept_add.js";
import { tdhMemSeptRemove } from "./tdh_mem_sept_remove.js";
import { tdhMemTrack } from "./tdh_mem_track.js";
import { tdhMngKeyFreeid, tdhMngVpFlushDone, tdhPhymemCacheWb } from "./tdh_mng_teardown.js";
import { tdhMrExtend, tdhMrFinalize } from "./tdh_mr.js";
import { tdhPhymemPageReclaim, tdhPhymemPageWbinvd } from "./tdh_phymem_page.js";
import { tdhPhymemPamtAdd } from "./tdh_phymem_pamt_add.js";
import { tdhPhymemPamtRemove, type PamtRemoveResult } from "./tdh_phymem_pamt_remove.js";
import { foreignAug, foreignRemove } from "./foreign_td.js";
import { NODE, nodeKind, nodePair } from "./dpamt.js";
import { tdExit, tdhVpEnter } from "./tdh_vp_enter.js";
import { tdhVpFlush } from "./tdh_vp_flush.js";
import { tdhVpInit } from "./tdh_vp_init.js";
import { epochOf, refcountOf } from "./tlb.js";

export * from "./status.js";
export { S, SEPT_STATE_NAMES, type SeptState } from "./sept.js";
export { PT, PT_NAMES, type PamtInfo } from "./pamt.js";
export type { PamtRemoveResult } from "./tdh_phymem_pamt_remove.js";
export type { PromoteResult } from "./tdh_mem_page_promote.js";
export type { DpamtConfig } from "./dpamt.js";
export { LIFECYCLE, OPSTATE, type TdxConfig, type TdxVersion, type InitialMapping } from "./td.js";

export interface EntryView {
  state: SeptState;
  stateName: string;
  pfn: number;
  tdel: boolean;
  tdhp: boolean;
  acceptCounter: number;
}

export class TdxModule {
  /** The model's state (cells, geometry); for advanced inspection. */
  readonly td: Td;
  constructor(world: World, config: TdxConfig = {}) {
    this.td = new Td(world, config);
  }

  get levels(): number {
    return this.td.geo.levels;
  }
  get fanout(): number {
    return this.td.geo.fanout;
  }
  /** Number of GPAs (pages): fanout^levels. */
  get pages(): number {
    return this.td.geo.pages;
  }
  get version(): string {
    return this.td.version;
  }
  /** PFN of the TDR page (for phymemPageReclaim). */
  get tdrPfn(): number {
    return this.td.tdrPfn;
  }
  tdvprPfn(v: number): number {
    return this.td.tdvprPfn(v);
  }
  /** 4K pages covered by one entry at `level`. */
  span(level: number): number {
    return this.td.geo.span(level);
  }

  // ---- host SEAMCALLs ----
  memSeptAdd(gpa: number, level: number, tablePfn: number, allowExisting = false): Gen<Status> {
    return tdhMemSeptAdd(this.td, gpa, level, tablePfn, allowExisting);
  }
  memPageAdd(gpa: number, pfn: number): Gen<Status> {
    return tdhMemPageAdd(this.td, gpa, pfn);
  }
  memPageAug(gpa: number, level: number, pfn: number): Gen<Status> {
    return tdhMemPageAug(this.td, gpa, level, pfn);
  }
  memRangeBlock(gpa: number, level: number): Gen<Status> {
    return tdhMemRangeBlock(this.td, gpa, level);
  }
  memRangeUnblock(gpa: number, level: number): Gen<Status> {
    return tdhMemRangeUnblock(this.td, gpa, level);
  }
  memTrack(): Gen<Status> {
    return tdhMemTrack(this.td);
  }
  memPageRemove(gpa: number, level: number): Gen<Status> {
    return tdhMemPageRemove(this.td, gpa, level);
  }
  memSeptRemove(gpa: number, level: number): Gen<Status> {
    return tdhMemSeptRemove(this.td, gpa, level);
  }
  memPageDemote(gpa: number, level: number, newPage: number, pair: readonly [number, number] | null = null): Gen<Status> {
    return tdhMemPageDemote(this.td, gpa, level, newPage, pair);
  }
  memPagePromote(gpa: number, level: number): Gen<PromoteResult> {
    return tdhMemPagePromote(this.td, gpa, level);
  }
  mrExtend(gpa: number): Gen<Status> {
    return tdhMrExtend(this.td, gpa);
  }
  mrFinalize(): Gen<Status> {
    return tdhMrFinalize(this.td);
  }
  vpInit(vcpu: number, lp = vcpu, leafVersion: 0 | 1 = 1): Gen<Status> {
    return tdhVpInit(this.td, vcpu, lp, leafVersion);
  }
  vpEnter(vcpu: number, lp = vcpu): Gen<Status> {
    return tdhVpEnter(this.td, vcpu, lp);
  }
  /** Asynchronous TD exit (external interrupt, e.g. a KVM kick): the vCPU leaves the guest. */
  tdExit(vcpu: number): Gen<Status> {
    return tdExit(this.td, vcpu, st(C.TD_EXIT_EXTERNAL_INTERRUPT));
  }
  vpFlush(vcpu: number, lp = vcpu): Gen<Status> {
    return tdhVpFlush(this.td, vcpu, lp);
  }
  mngVpFlushDone(): Gen<Status> {
    return tdhMngVpFlushDone(this.td);
  }
  phymemCacheWb(): Gen<Status> {
    return tdhPhymemCacheWb(this.td);
  }
  mngKeyFreeid(): Gen<Status> {
    return tdhMngKeyFreeid(this.td);
  }
  phymemPageReclaim(pfn: number): Gen<Status> {
    return tdhPhymemPageReclaim(this.td, pfn);
  }
  phymemPageWbinvd(pfn: number): Gen<Status> {
    return tdhPhymemPageWbinvd(this.td, pfn);
  }
  phymemPamtAdd(pfn: number, pair0: number, pair1: number): Gen<Status> {
    return tdhPhymemPamtAdd(this.td, pfn, pair0, pair1);
  }
  phymemPamtRemove(pfn: number): Gen<PamtRemoveResult> {
    return tdhPhymemPamtRemove(this.td, pfn);
  }
  foreignAug(pfn: number): Gen<Status> {
    return foreignAug(this.td, pfn);
  }
  foreignRemove(pfn: number): Gen<Status> {
    return foreignRemove(this.td, pfn);
  }

  // ---- guest ----
  guestAccept(vcpu: number, gpa: number, level = 0, rip = gpa): Gen<Status> {
    return tdgMemPageAccept(this.td, vcpu, gpa, level, rip);
  }
  guestAccess(vcpu: number, gpa: number, rip = gpa): Gen<Status> {
    return guestAccess(this.td, vcpu, gpa, rip);
  }

  // ---- inspectors ----
  entry(gpa: number, level: number): EntryView {
    const v = this.td.entry(gpa, level).peek();
    const s = stateOf(v);
    return { state: s, stateName: SEPT_STATE_NAMES[s], pfn: pfnOf(v), tdel: (v & TDEL) !== 0, tdhp: (v & TDHP) !== 0, acceptCounter: acceptCounterOf(v) };
  }
  entryObj(gpa: number, level: number) {
    return this.td.entry(gpa, level);
  }
  /** The entry a hardware walk of `gpa` ends at: the leaf, or the first non-present entry. */
  leaf(gpa: number): { level: number; state: SeptState; stateName: string; pfn: number } {
    const w = this.td.peekWalk(gpa, 0);
    const s = stateOf(w.value);
    // pfn of the 4K page backing gpa inside a large leaf
    const p = pfnOf(w.value);
    const pfn = p >= 0 && s >= 3 ? p + (gpa % this.td.geo.span(w.level)) : p;
    return { level: w.level, state: s, stateName: SEPT_STATE_NAMES[s], pfn };
  }
  pfnInfo(pfn: number): PamtInfo & { ptName: string } {
    const p = pamtUnpack(this.td.pamt[pfn]!.peek());
    return { ...p, ptName: PT_NAMES[p.pt] };
  }
  pamtObj(pfn: number) {
    return this.td.pamt[pfn]!;
  }
  /** Which TD page a data PFN is (PT_REG): the GPA it backs and its page size level; else null. */
  pfnOwnedBy(pfn: number): { gpa: number; level: number } | null {
    const p = pamtUnpack(this.td.pamt[pfn]!.peek());
    return p.pt === PT.REG ? { gpa: p.owner, level: p.size } : null;
  }
  tdEpoch(): number {
    return epochOf(this.td.epoch.peek());
  }
  refcount(i: number): number {
    return refcountOf(this.td.epoch.peek(), i);
  }
  vcpuInGuest(v: number): boolean {
    return inGuestOf(this.td.vcpu[v]!.peek());
  }
  vcpuEpoch(v: number): number {
    return vcpuEpochOf(this.td.vcpu[v]!.peek());
  }
  vcpuAssoc(v: number): number {
    return assocOf(this.td.vcpu[v]!.peek());
  }
  epfList(v: number): number[] {
    return maskList(this.td.epfList[v]!.peek());
  }
  lifecycle(): string {
    return LIFECYCLE_NAMES[lifecycleOf(this.td.tdState.peek())];
  }
  opState(): string {
    return ["UNINITIALIZED", "INITIALIZED", "RUNNABLE", "?"][opStateOf(this.td.tdState.peek())]!;
  }
  chldcnt(): number {
    return this.td.chldcnt.peek();
  }
  /** Dynamic PAMT: is it on, and the 2M range / node / pair / in-use 4K count of `pfn`'s range. */
  get dpamt(): boolean {
    return this.td.dpamt !== null;
  }
  /** Dynamic PAMT: range index of a PFN (the fanout PFNs under one 2M entry). */
  pamtRange(pfn: number): number {
    const d = this.td.dpamt;
    if (!d) throw new Error("Dynamic PAMT is off");
    return d.rangeOf(pfn);
  }
  /** Dynamic PAMT: number of ranges, first pool PFN, pool size. */
  pamtLayout(): { ranges: number; poolBase: number; poolPages: number; initialNodes: number } {
    const d = this.td.dpamt;
    if (!d) throw new Error("Dynamic PAMT is off");
    return { ranges: d.node.length, poolBase: d.poolBase, poolPages: d.poolPages, initialNodes: d.initialNodes };
  }
  /**
   * Dynamic PAMT at the start (usable before the program runs): 4K pages in use per range; the
   * initial nodes' pairs are pool pages 0 .. 2 × initialNodes − 1.
   */
  pamtInitialCounts(): readonly number[] {
    const d = this.td.dpamt;
    if (!d) throw new Error("Dynamic PAMT is off");
    return d.initialCounts;
  }
  /** Dynamic PAMT: the 2M entry of range r: kind, pair PFNs (node only), 4K entries in use (the node's count). */
  pamtNode(r: number): { kind: "PT_NDA" | "PT_PAMT" | "2M leaf"; pair: number[]; count: number; locked: boolean } {
    const d = this.td.dpamt;
    if (!d) throw new Error("Dynamic PAMT is off");
    const v = d.node[r]!.peek();
    const k = nodeKind(v);
    let count = 0;
    // A 2M leaf's range has no node and no 4K count (its 4K PAMT entries belong to the 2M page).
    if (k !== NODE.LEAF2M) for (let i = 0; i < d.fanout; i++) {
      const c = this.td.pamt[d.rangeBase(r) + i];
      if (c && c.peek() !== 0) count++;
    }
    return { kind: k === NODE.PAMT ? "PT_PAMT" : k === NODE.NDA ? "PT_NDA" : "2M leaf", pair: k === NODE.PAMT ? nodePair(v).map((i) => d.poolPfn(i)) : [], count, locked: !d.lock[r]!.isFree() };
  }
  /** Dynamic PAMT: pamtNode(r).count without building the view (checked after every step that writes PAMT state). */
  pamtNodeCount(r: number): number {
    const d = this.td.dpamt;
    if (!d) throw new Error("Dynamic PAMT is off");
    if (nodeKind(d.node[r]!.peek()) === NODE.LEAF2M) return 0;
    let count = 0;
    for (let i = 0; i < d.fanout; i++) {
      const c = this.td.pamt[d.rangeBase(r) + i];
      if (c && c.peek() !== 0) count++;
    }
    return count;
  }
  /** Dynamic PAMT: pool PFNs whose PAMT page bitmap bit is set. */
  pamtBitmapPfns(): number[] {
    const d = this.td.dpamt;
    if (!d) return [];
    const out: number[] = [];
    for (let i = 0; i < d.poolPages; i++) if (d.bitmapHas(i)) out.push(d.poolPfn(i));
    return out;
  }
  treeLockState(): { ex: boolean; readers: number; hp: boolean } {
    const l = this.td.treeLock;
    return { ex: l.heldExclusive(), readers: l.sharedCount(), hp: l.hpSet() };
  }
  get objects() {
    const td = this.td;
    return { tdState: td.tdState, epoch: td.epoch, chldcnt: td.chldcnt, treeLock: td.treeLock.word, tdrLock: td.tdrLock.word, epochLock: td.epochLock, vcpus: td.vcpu, pamt: td.pamt, entries: td.entries, pamtNodes: td.dpamt?.node ?? [], pamtLocks: td.dpamt?.lock ?? [], pamtBitmap: td.dpamt?.bitmap ?? [] };
  }

  /** Module invariants (see invariants.ts) at a quiescent point: null, or the first problem. */
  consistency(): string | null {
    return moduleConsistency(this.td);
  }

  statusName(s: Status): string {
    return statusName(s);
  }
  statusHex(s: Status): string {
    return statusHex(s);
  }
  statusString(s: Status): string {
    return statusString(s);
  }
}
