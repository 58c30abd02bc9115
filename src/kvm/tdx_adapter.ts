// Adapter: the TDX-module model of src/tdx as the SEAMCALL interface KVM calls (TdxLeaves).
// Converts KVM's pg_level (4K = 1) to the module's 0-based level (pg_level_to_tdx_sept_level(),
// arch/x86/kvm/vmx/tdx.c) and rounds the GPA to the level (gfn_round_for_level()). Each vCPU runs
// on its own logical processor (lp = vCPU index).
import type { World } from "../engine/index.js";
import { TdxModule, type InitialMapping, type TdxConfig } from "../tdx/index.js";
import { PT, pamtPt } from "../tdx/pamt.js";
import { SEPT_STATE_NAMES, isLeafState, pfnOf, stateOf, S } from "../tdx/sept.js";
import { TDX_SUCCESS } from "../tdx/status.js";
import type { Gen } from "./context.js";
import type { SeptView, TdxLeaves } from "./tdx_leaves.js";

/** The bits of an S-EPT entry cell that stateOf() (bits 0-2) and pfnOf() (bits 10-31) read. */
export const SEPT_STATE_PFN_MASK = 7 | ~((1 << 10) - 1);

export type { InitialMapping, TdxConfig };

export class TdxAdapter implements TdxLeaves {
  readonly mod: TdxModule;
  constructor(world: World, cfg: TdxConfig) {
    this.mod = new TdxModule(world, cfg);
  }
  get td() {
    return this.mod.td;
  }
  private gpa(gfn: number, level: number): number {
    const span = this.mod.span(level - 1);
    return Math.floor(gfn / span) * span;
  }
  tdhMemSeptAdd(gfn: number, level: number, pagePfn: number): Gen<number> {
    return this.mod.memSeptAdd(this.gpa(gfn, level), level - 1, pagePfn);
  }
  tdhMemPageAug(gfn: number, level: number, pfn: number): Gen<number> {
    return this.mod.memPageAug(this.gpa(gfn, level), level - 1, pfn);
  }
  tdhMemPageAdd(gfn: number, _level: number, pfn: number, _src: number): Gen<number> {
    return this.mod.memPageAdd(gfn, pfn);
  }
  tdhMemRangeBlock(gfn: number, level: number): Gen<number> {
    return this.mod.memRangeBlock(this.gpa(gfn, level), level - 1);
  }
  tdhMemTrack(): Gen<number> {
    return this.mod.memTrack();
  }
  tdhMemPageRemove(gfn: number, level: number): Gen<number> {
    return this.mod.memPageRemove(this.gpa(gfn, level), level - 1);
  }
  tdhMemSeptRemove(gfn: number, level: number): Gen<number> {
    return this.mod.memSeptRemove(this.gpa(gfn, level), level - 1);
  }
  tdhMemPageDemote(gfn: number, level: number, newPage: number, pair: readonly [number, number] | null): Gen<number> {
    return this.mod.memPageDemote(this.gpa(gfn, level), level - 1, newPage, pair);
  }
  tdhPhymemPageWbinvd(pfn: number): Gen<number> {
    return this.mod.phymemPageWbinvd(pfn);
  }
  tdhPhymemPageReclaim(pfn: number): Gen<number> {
    return this.mod.phymemPageReclaim(pfn);
  }
  tdhPhymemPamtAdd(pfn: number, pair0: number, pair1: number): Gen<number> {
    return this.mod.phymemPamtAdd(pfn, pair0, pair1);
  }
  tdhPhymemPamtRemove(pfn: number): Gen<{ status: number; pair: [number, number] }> {
    return this.mod.phymemPamtRemove(pfn);
  }
  otherTdAug(pfn: number): Gen<number> {
    return this.mod.foreignAug(pfn);
  }
  otherTdRemove(pfn: number): Gen<number> {
    return this.mod.foreignRemove(pfn);
  }
  tdhMrExtend(gfn: number): Gen<number> {
    return this.mod.mrExtend(gfn);
  }
  tdhMrFinalize(): Gen<number> {
    return this.mod.mrFinalize();
  }
  tdhVpInit(vcpu: number): Gen<number> {
    return this.mod.vpInit(vcpu);
  }
  tdhVpEnter(vcpu: number): Gen<number> {
    return this.mod.vpEnter(vcpu);
  }
  *tdExit(vcpu: number): Gen<void> {
    yield* this.mod.tdExit(vcpu);
  }
  tdhVpFlush(vcpu: number): Gen<number> {
    return this.mod.vpFlush(vcpu);
  }
  tdhMngVpflushdone(): Gen<number> {
    return this.mod.mngVpFlushDone();
  }
  *tdhMngKeyFreeid(): Gen<number> {
    const s = yield* this.mod.phymemCacheWb();
    if (s !== TDX_SUCCESS) return s;
    return yield* this.mod.mngKeyFreeid();
  }
  guestAccept(vcpu: number, gfn: number, level = 1): Gen<number> {
    return this.mod.guestAccept(vcpu, this.gpa(gfn, level), level - 1);
  }
  guestAccess(vcpu: number, gfn: number): Gen<number> {
    return this.mod.guestAccess(vcpu, gfn);
  }

  peekEntry(level: number, gfn: number): SeptView | null {
    const l = level - 1;
    const w = this.td.peekWalk(this.gpa(gfn, level), l);
    if (w.level !== l) return null;
    return { state: SEPT_STATE_NAMES[stateOf(w.value)] ?? "?", pfn: pfnOf(w.value) };
  }
  mapsPfn(pfn: number): boolean {
    // A page the module reclaimed (TDH.PHYMEM.PAGE.RECLAIM after the HKID was released: PAMT back
    // to PT_NDA) is no longer the TD's, even though the dead TD's S-EPT entry still names it.
    if (this.td.pamt[pfn] && pamtPt(this.td.pamt[pfn]!.peek()) === PT.NDA) return false;
    for (let l = 0; l < this.td.entries.length; l++)
      for (const cell of this.td.entries[l]!) {
        const v = cell.peek();
        const s = stateOf(v);
        // A 2M leaf maps `fanout` PFNs from its head (S-EPT huge pages).
        const p = pfnOf(v);
        if (isLeafState(s) && s !== S.FREE && pfn >= p && pfn < p + this.td.geo.span(l)) return true;
      }
    return false;
  }
  /** Every S-EPT entry cell (what mapsPfn() reads): the footprint of the freed-while-mapped check. */
  allEntryObjs(): readonly number[] {
    return [...this.td.entries.flatMap((row) => row.map((c) => c.id)), ...this.td.pamt.map((c) => c.id)];
  }
  /** The bits mapsPfn() reads of each cell of allEntryObjs(): an entry's state and PFN, a PAMT entry's page type. */
  allEntryMasks(): readonly number[] {
    return [...this.td.entries.flatMap((row) => row.map(() => SEPT_STATE_PFN_MASK)), ...this.td.pamt.map(() => 7)];
  }
  objsOf(level: number, gfn: number): readonly number[] {
    const out: number[] = [];
    for (let l = this.td.geo.top; l >= level - 1; l--) out.push(this.mod.entryObj(this.gpa(gfn, l + 1), l).id);
    return out;
  }
}
