// The mirror root and its page tables (struct kvm_mmu_page with role.is_mirror).
//
// Models arch/x86/kvm/mmu/mmu_internal.h (struct kvm_mmu_page: spt, external_spt, role.level, gfn)
// and the allocation in arch/x86/kvm/mmu/tdp_mmu.c (tdp_mmu_alloc_sp(), tdp_mmu_init_child_sp(),
// kvm_mmu_alloc_external_spt()). KVM allocates a fresh page table from the per-vCPU cache each time
// a fault needs one; a table that lost the race to link is freed (tdp_mmu_free_sp()). The model
// preallocates one table per (table position, allocating thread): an unpublished table is never
// read by anyone, so a thread can reuse its slot after a failed link. The mirror root has no
// external page (kvm_tdp_mmu_alloc_root(): the S-EPT root is a TDCS page).
import { Atomic, type World } from "../engine/index.js";
import { checkGeometry, nGfns, pagesPerEntry, roundGfn, spteIndex, tablePos, tablesAt, type Geometry } from "./geometry.js";
import { formatSpte, isShadowPresent, isTable, leafSpte, spteToSp, SPTE_NP, tableSpte } from "./spte.js";

export interface MirrorSp {
  readonly id: number;
  /** role.level of the table (its entries are at this level). */
  readonly level: number;
  /** sp->gfn: first GFN the table covers. */
  readonly gfn: number;
  readonly pos: number;
  /** Engine thread that allocates this table (its mmu_page_header_cache). */
  readonly owner: number;
  readonly spt: PageTable;
  /** PFN of sp->external_spt, the page handed to TDH.MEM.SEPT.ADD. */
  readonly externalPfn: number;
  /**
   * sp->external_spt as a cell: the page's PFN while KVM owns it, "freed" (-1) once 7.2's
   * tdx_sept_free_private_spt() freed it at once, "NULL" (0) after it cleared the pointer
   * (110d4d263450), "rcu" (-2) while ≤6.19 waits for the RCU callback to free it.
   */
  readonly externalSpt: Atomic;
}

export const EXTERNAL_SPT = { NULL: 0, FREED: -1, RCU: -2 } as const;
const fmtExternalSpt = (v: number) => (v === 0 ? "NULL" : v === -1 ? "freed" : v === -2 ? "call_rcu" : `page ${v}`);

/** The 512 (here: fan-out) SPTEs of one page table (sp->spt), one atomic cell each. */
export class PageTable {
  constructor(readonly cells: readonly Atomic[]) {}
  at(i: number): Atomic {
    const c = this.cells[i];
    if (!c) throw new RangeError(`SPTE index ${i} out of range`);
    return c;
  }
  get length(): number {
    return this.cells.length;
  }
}

/** First PFN used for external (S-EPT) pages; guest_memfd pages use small PFNs. */
export const EXTERNAL_PFN_BASE = 64;

/** Initial mirror content: tables linked (owner 0's) and 4K leaves present. */
export interface MirrorInit {
  /** Tables present at `level` covering `gfn` (their ancestors are linked too). */
  tables?: readonly { level: number; gfn: number }[];
  /** 4K leaves present (their path is linked). */
  leaves?: readonly { gfn: number; pfn: number }[];
  /** 2M leaves (level 2, S-EPT huge pages) present: base GFN and head PFN (their path is linked). */
  hugeLeaves?: readonly { gfn: number; pfn: number }[];
}

export class Mirror {
  readonly root: PageTable;
  readonly sps: MirrorSp[] = [];
  /** Initial values, "sp:idx" (sp -1 = root), for building the matching initial S-EPT. */
  private readonly initVal = new Map<string, number>();
  /** spBySlot[level][pos][owner] */
  private readonly bySlot: MirrorSp[][][] = [];
  constructor(
    world: World,
    readonly geo: Geometry,
    nThreads: number,
    init: MirrorInit = {},
    frozenName = "FROZEN",
    /** First PFN of the external (S-EPT) pages, one per table slot. */
    readonly externalBase = EXTERNAL_PFN_BASE,
  ) {
    checkGeometry(geo);
    const fmt = (v: number) => formatSpte(v, frozenName);
    // Lay out the table slots first, so the initial values can name child tables.
    type Slot = { id: number; level: number; gfn: number; pos: number; owner: number };
    const slots: Slot[] = [];
    const slotIdx: number[][][] = [];
    for (let level = geo.levels - 1; level >= 1; level--) {
      slotIdx[level] = [];
      for (let pos = 0; pos < tablesAt(geo, level); pos++) {
        slotIdx[level]![pos] = [];
        for (let owner = 0; owner < nThreads; owner++) {
          slotIdx[level]![pos]![owner] = slots.length;
          slots.push({ id: slots.length, level, gfn: pos * geo.fanout ** level, pos, owner });
        }
      }
    }
    // Initial values: key "sp:idx" (sp = -1 for the root).
    const initVal = this.initVal;
    const linkPath = (gfn: number, downTo: number): number => {
      let sp = -1;
      for (let l = geo.levels; l > downTo; l--) {
        const child = slotIdx[l - 1]![tablePos(geo, gfn, l - 1)]![0]!;
        initVal.set(`${sp}:${spteIndex(geo, gfn, l)}`, tableSpte(child));
        sp = child;
      }
      return sp;
    };
    for (const t of init.tables ?? []) linkPath(t.gfn, t.level);
    for (const lf of init.leaves ?? []) {
      const sp = linkPath(lf.gfn, 1);
      initVal.set(`${sp}:${spteIndex(geo, lf.gfn, 1)}`, leafSpte(lf.pfn));
    }
    for (const lf of init.hugeLeaves ?? []) {
      const sp = linkPath(lf.gfn, 2);
      initVal.set(`${sp}:${spteIndex(geo, lf.gfn, 2)}`, leafSpte(lf.pfn));
    }
    const mk = (name: string, sp: number): PageTable => {
      const cells: Atomic[] = [];
      for (let i = 0; i < geo.fanout; i++) cells.push(new Atomic(world, `${name}[${i}]`, initVal.get(`${sp}:${i}`) ?? SPTE_NP, fmt));
      return new PageTable(cells);
    };
    this.root = mk("mirror_root", -1);
    for (const s of slots) {
      const spName = `sp${s.id}(L${s.level} gfn${s.gfn} T${s.owner})`;
      const sp: MirrorSp = { ...s, spt: mk(spName, s.id), externalPfn: externalBase + s.id, externalSpt: new Atomic(world, `${spName}.external_spt`, externalBase + s.id, fmtExternalSpt) };
      this.sps.push(sp);
      ((this.bySlot[s.level] ??= [])[s.pos] ??= [])[s.owner] = sp;
    }
  }

  /** tdp_mmu_alloc_sp() + tdp_mmu_init_child_sp() for the table at `level` covering `gfn`, from thread `owner`'s cache. */
  allocSp(level: number, gfn: number, owner: number): MirrorSp {
    const sp = this.bySlot[level]?.[tablePos(this.geo, gfn, level)]?.[owner];
    if (!sp) throw new Error(`no mirror table slot for level ${level} gfn ${gfn} thread ${owner}`);
    return sp;
  }

  sp(id: number): MirrorSp {
    const sp = this.sps[id];
    if (!sp) throw new Error(`no mirror table ${id}`);
    return sp;
  }

  /** The array holding entries at `level` for a table reached from `tableSpteVal` (or the root). */
  entriesOf(level: number, parent: number | null): PageTable {
    if (level === this.geo.levels) return this.root;
    if (parent === null || !isTable(parent)) throw new Error("entriesOf: no parent table");
    return this.sp(spteToSp(parent)).spt;
  }

  /**
   * Peek (not a step) at the mirror entry at `level` covering `gfn`, walking from the root as a
   * reader would. Returns null when the path is not present (the entry does not exist: "not present").
   */
  peekEntry(level: number, gfn: number): { value: number; cellId: number } | null {
    let arr = this.root;
    for (let l = this.geo.levels; ; l--) {
      const cell = arr.at(spteIndex(this.geo, gfn, l));
      const v = cell.peek();
      if (l === level) return { value: v, cellId: cell.id };
      if (!isShadowPresent(v) || !isTable(v)) return null;
      arr = this.sp(spteToSp(v)).spt;
    }
  }

  /** Like peekEntry(), on the initial values (usable before the World is sealed). */
  initialEntry(level: number, gfn: number): number | null {
    let sp = -1;
    for (let l = this.geo.levels; ; l--) {
      const v = this.initVal.get(`${sp}:${spteIndex(this.geo, gfn, l)}`) ?? SPTE_NP;
      if (l === level) return v;
      if (!isShadowPresent(v) || !isTable(v)) return null;
      sp = spteToSp(v);
    }
  }

  /** Every cell that can hold the entry at (level, gfn): used as quiescent-invariant footprint. */
  cellsFor(level: number, gfn: number): number[] {
    const out: number[] = [];
    for (let l = this.geo.levels; l >= level; l--) {
      if (l === this.geo.levels) out.push(this.root.at(spteIndex(this.geo, gfn, l)).id);
      else for (const sp of this.bySlot[l]![tablePos(this.geo, gfn, l)]!) out.push(sp.spt.at(spteIndex(this.geo, gfn, l)).id);
    }
    return out;
  }

  /** Key of entry (level, gfn) for windows and quiescent invariants. */
  key(level: number, gfn: number): number {
    return level * 4096 + roundGfn(this.geo, gfn, level);
  }

  /** Every entry (level, base gfn), root level first. */
  allEntries(): { level: number; gfn: number }[] {
    const out: { level: number; gfn: number }[] = [];
    for (let level = this.geo.levels; level >= 1; level--)
      for (let gfn = 0; gfn < nGfns(this.geo); gfn += pagesPerEntry(this.geo, level)) out.push({ level, gfn });
    return out;
  }
}
