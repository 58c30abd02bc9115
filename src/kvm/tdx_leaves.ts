// The boundary between the KVM model and the TDX-module model: the host SEAMCALL wrappers of
// arch/x86/virt/vmx/tdx/tdx.c (tdh_mem_page_aug(), tdh_mem_sept_add(), tdh_mem_range_block(), ...)
// plus the guest actions a vCPU thread performs while in the TD. Levels are KVM's pg_level
// (PG_LEVEL_4K = 1), as the wrappers take them since 4487492b92a4; the adapter converts to the
// module's 0-based levels (pg_level_to_tdx_sept_level()).
//
// Every leaf is a generator of engine steps (the module's lock acquisitions, its body, its
// releases); it returns a status token of src/tdx/status.ts.
import type { Gen } from "./context.js";

export interface SeptView {
  /** Module state name: FREE, NL_MAPPED, NL_BLOCKED, MAPPED, BLOCKED, PENDING, PENDING_BLOCKED. */
  state: string;
  /** Mapped page (leaf) or child S-EPT page (non-leaf), -1 if none. */
  pfn: number;
}

export interface TdxLeaves {
  tdhMemSeptAdd(gfn: number, level: number, pagePfn: number): Gen<number>;
  tdhMemPageAug(gfn: number, level: number, pfn: number): Gen<number>;
  tdhMemPageAdd(gfn: number, level: number, pfn: number, srcPfn: number): Gen<number>;
  tdhMemRangeBlock(gfn: number, level: number): Gen<number>;
  tdhMemTrack(): Gen<number>;
  tdhMemPageRemove(gfn: number, level: number): Gen<number>;
  tdhMemSeptRemove(gfn: number, level: number): Gen<number>;
  /** TDH.MEM.PAGE.DEMOTE of the leaf at KVM `level` (2 = 2M) with the new S-EPT page and, with Dynamic PAMT, the pair (R12/R13). */
  tdhMemPageDemote(gfn: number, level: number, newPage: number, pair: readonly [number, number] | null): Gen<number>;
  tdhPhymemPageWbinvd(pfn: number): Gen<number>;
  tdhPhymemPageReclaim(pfn: number): Gen<number>;
  /** TDH.PHYMEM.PAMT.ADD of the 2M range holding `pfn` with the pair (pair0, pair1) (Dynamic PAMT). */
  tdhPhymemPamtAdd(pfn: number, pair0: number, pair1: number): Gen<number>;
  /** TDH.PHYMEM.PAMT.REMOVE of the 2M range holding `pfn`: status and the returned pair. */
  tdhPhymemPamtRemove(pfn: number): Gen<{ status: number; pair: [number, number] }>;
  /** Another TD's AUG / PAGE.REMOVE of `pfn`, PAMT footprint only (src/tdx/foreign_td.ts). */
  otherTdAug(pfn: number): Gen<number>;
  otherTdRemove(pfn: number): Gen<number>;
  tdhMrExtend(gfn: number): Gen<number>;
  tdhMrFinalize(): Gen<number>;
  tdhVpInit(vcpu: number): Gen<number>;
  /** TDH.VP.ENTER up to VM entry: success (0) means the vCPU now runs in the guest. */
  tdhVpEnter(vcpu: number): Gen<number>;
  /** The TD exit of a vCPU that is in the guest (td_exit.c): drops its epoch reference. */
  tdExit(vcpu: number): Gen<void>;
  tdhVpFlush(vcpu: number): Gen<number>;
  tdhMngVpflushdone(): Gen<number>;
  tdhMngKeyFreeid(): Gen<number>;
  /** Guest TDG.MEM.PAGE.ACCEPT of a 4K page (or, with `level` 2, a 2M page) while vCPU `vcpu` is in the guest. */
  guestAccept(vcpu: number, gfn: number, level?: number): Gen<number>;
  /** Guest access to private `gfn`: 0 = access ok, #VE or an EPT-violation TD exit otherwise. */
  guestAccess(vcpu: number, gfn: number): Gen<number>;

  // Observation for invariants and printing: never steps.
  peekEntry(level: number, gfn: number): SeptView | null;
  /** Does any S-EPT leaf map (PENDING, MAPPED or blocked) `pfn`? */
  mapsPfn(pfn: number): boolean;
  /** The objects mapsPfn() reads. */
  allEntryObjs(): readonly number[];
  /** Objects whose writes may change peekEntry(level, gfn). */
  objsOf(level: number, gfn: number): readonly number[];
}
