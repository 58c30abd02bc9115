// The mirror root and its page tables (struct kvm_mmu_page with role.is_mirror).
//
// Models arch/x86/kvm/mmu/mmu_internal.h (struct kvm_mmu_page: spt, external_spt, role.level, gfn)
// and the allocation in arch/x86/kvm/mmu/tdp_mmu.c (tdp_mmu_alloc_sp(), tdp_mmu_init_child_sp(),
// kvm_mmu_alloc_external_spt()). KVM allocates a fresh page table from the per-vCPU cache each time
// a fault needs one; a table that lost the race to link is freed (tdp_mmu_free_sp()). The model
// preallocates one table per (table position, allocating thread): an unpublished table is never
// read by anyone, so a thread can reuse its slot after a failed link. The mirror root has no
// external page (kvm_tdp_mmu_alloc_root(): the S-EPT root is a TDCS page).
//
// Pool mode (simulation of large TDs only; MirrorOptions.pool): one slot per table position and
// thread is 512 positions x 16 threads x 512 cells for a 1 GiB TD. Instead the tables come from a
// pool sized for every position linked plus one spare per thread and level, handed out as the
// kernel's allocation does: a thread keeps the table it allocated until a link publishes it (or a
// zap frees its external page), then takes the next one from the pool. A pool table's level, GFN
// and position are set when it is handed out (tdp_mmu_init_child_sp()) and live outside the World,
// so a pool-mode program runs once (the timed scheduler), never under the checker's search.
import { Atomic, type World } from "../engine/index.js";
import { checkGeometry, nGfns, pagesPerEntry, roundGfn, spteIndex, tablePos, tablesAt, type Geometry } from "./geometry.js";
import { formatSpte, isShadowPresent, isTable, leafSpte, spteToSp, SPTE_NP, tableSpte } from "./spte.js";

export interface MirrorSp {
  readonly id: number;
  /** role.level of the table (its entries are at this level); 0 for a pool table not handed out yet. */
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

/** MirrorOptions.pool: tables from a pool (simulation of large TDs; see the file comment). */
export interface MirrorOptions {
  pool?: boolean;
}

type PoolSp = { -readonly [K in keyof MirrorSp]: MirrorSp[K] };

export class Mirror {
  readonly root: PageTable;
  readonly sps: MirrorSp[] = [];
  /** Initial values, "sp:idx" (sp -1 = root), for building the matching initial S-EPT. */
  private readonly initVal = new Map<string, number>();
  /** spBySlot[level][pos][owner] */
  private readonly bySlot: MirrorSp[][][] = [];
  /** Pool mode: the tables are handed out from `sps` in order; next free one. */
  readonly pool: boolean;
  private nextFree = 0;
  /** Pool mode: per thread and level, the table it allocated last (kept until published). */
  private readonly spare: (PoolSp | undefined)[][] = [];
  /** Pool mode: object id of the first pool table cell (each table: fanout cells, then external_spt). */
  private poolObjBase = -1;
  private readonly keyMul: number;
  constructor(
    world: World,
    readonly geo: Geometry,
    nThreads: number,
    init: MirrorInit = {},
    frozenName = "FROZEN",
    /** First PFN of the external (S-EPT) pages, one per table slot. */
    readonly externalBase = EXTERNAL_PFN_BASE,
    opts: MirrorOptions = {},
  ) {
    checkGeometry(geo);
    this.pool = opts.pool === true;
    this.keyMul = nGfns(geo) > 4096 ? 1 << 21 : 4096;
    const fmt = (v: number) => formatSpte(v, frozenName);
    // Lay out the table slots first, so the initial values can name child tables.
    type Slot = { id: number; level: number; gfn: number; pos: number; owner: number };
    const slots: Slot[] = [];
    const slotIdx: number[][][] = [];
    const poolAt = new Map<number, number>();
    if (this.pool) {
      // Every position linked at once, plus a spare per thread and level.
      let n = 0;
      for (let level = geo.levels - 1; level >= 1; level--) n += tablesAt(geo, level) + nThreads;
      for (let id = 0; id < n; id++) slots.push({ id, level: 0, gfn: 0, pos: 0, owner: -1 });
      for (let t = 0; t < nThreads; t++) this.spare.push([]);
    } else
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
    const childSlot = (level: number, gfn: number): number => {
      if (!this.pool) return slotIdx[level]![tablePos(geo, gfn, level)]![0]!;
      const k = level * nGfns(geo) + tablePos(geo, gfn, level);
      let id = poolAt.get(k);
      if (id === undefined) {
        id = this.nextFree++;
        poolAt.set(k, id);
        const pos = tablePos(geo, gfn, level);
        Object.assign(slots[id]!, { level, gfn: pos * geo.fanout ** level, pos, owner: 0 });
      }
      return id;
    };
    const linkPath = (gfn: number, downTo: number): number => {
      let sp = -1;
      for (let l = geo.levels; l > downTo; l--) {
        const child = childSlot(l - 1, gfn);
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
      const of = (i: number): string => `${name}[${i}]`;
      for (let i = 0; i < geo.fanout; i++) cells.push(new Atomic(world, { of, i }, initVal.get(`${sp}:${i}`) ?? SPTE_NP, fmt));
      return new PageTable(cells);
    };
    this.root = mk("mirror_root", -1);
    for (const s of slots) {
      const spName = this.pool ? `sp${s.id}` : `sp${s.id}(L${s.level} gfn${s.gfn} T${s.owner})`;
      const spt = mk(spName, s.id);
      if (this.pool && this.poolObjBase < 0) this.poolObjBase = spt.at(0).id;
      const sp: MirrorSp = { ...s, spt, externalPfn: externalBase + s.id, externalSpt: new Atomic(world, `${spName}.external_spt`, externalBase + s.id, fmtExternalSpt) };
      this.sps.push(sp);
      if (!this.pool) ((this.bySlot[s.level] ??= [])[s.pos] ??= [])[s.owner] = sp;
    }
  }

  /** tdp_mmu_alloc_sp() + tdp_mmu_init_child_sp() for the table at `level` covering `gfn`, from thread `owner`'s cache. */
  allocSp(level: number, gfn: number, owner: number): MirrorSp {
    if (this.pool) return this.allocPoolSp(level, gfn, owner);
    const sp = this.bySlot[level]?.[tablePos(this.geo, gfn, level)]?.[owner];
    if (!sp) throw new Error(`no mirror table slot for level ${level} gfn ${gfn} thread ${owner}`);
    return sp;
  }

  /**
   * Pool mode: the thread's spare table if no link published it and its external page was not
   * freed (a lost link race: tdp_mmu_free_sp(), and the next fault allocates anew — the same
   * memory here), else the next table of the pool. An exhausted pool is a model limit.
   */
  private allocPoolSp(level: number, gfn: number, owner: number): MirrorSp {
    const pos = tablePos(this.geo, gfn, level);
    let sp = this.spare[owner]![level];
    if (sp !== undefined) {
      const parent = this.peekEntry(sp.level + 1, sp.gfn);
      const published = parent !== null && isTable(parent.value) && spteToSp(parent.value) === sp.id;
      if (published || sp.externalSpt.peek() !== sp.externalPfn) sp = undefined;
    }
    if (sp === undefined) {
      if (this.nextFree >= this.sps.length) throw new Error(`model limit: mirror table pool (${this.sps.length} tables) exhausted`);
      sp = this.sps[this.nextFree++] as PoolSp;
      this.spare[owner]![level] = sp;
    }
    sp.level = level;
    sp.pos = pos;
    sp.gfn = pos * this.geo.fanout ** level;
    sp.owner = owner;
    return sp;
  }

  /**
   * Pool mode: the (level, base GFN) of the mirror entry a pool table cell holds now (its table
   * handed out), or null (not a pool table cell, its external_spt cell, or a table not handed out).
   */
  poolCellEntry(objId: number): { level: number; gfn: number } | null {
    if (!this.pool || objId < this.poolObjBase) return null;
    const stride = this.geo.fanout + 1;
    const sp = this.sps[Math.floor((objId - this.poolObjBase) / stride)];
    const i = (objId - this.poolObjBase) % stride;
    if (sp === undefined || i === this.geo.fanout || sp.level === 0) return null;
    return { level: sp.level, gfn: sp.gfn + i * pagesPerEntry(this.geo, sp.level) };
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
  /** Pool mode: the root's cell only; a pool table's cells are found by poolCellEntry(). */
  cellsFor(level: number, gfn: number): number[] {
    const out: number[] = [];
    for (let l = this.geo.levels; l >= level; l--) {
      if (l === this.geo.levels) out.push(this.root.at(spteIndex(this.geo, gfn, l)).id);
      else if (!this.pool) for (const sp of this.bySlot[l]![tablePos(this.geo, gfn, l)]!) out.push(sp.spt.at(spteIndex(this.geo, gfn, l)).id);
    }
    return out;
  }

  /**
   * Key of entry (level, gfn) for windows and quiescent invariants. Above 4096 GFNs (simulation)
   * the level goes to bit 21, past the GFNs and the no-stale-private-leaf keys (kvm.ts
   * staleLeafKey: 1 000 000 + gfn); below, the keys are what they always were.
   */
  key(level: number, gfn: number): number {
    return level * this.keyMul + roundGfn(this.geo, gfn, level);
  }

  /** Every entry (level, base gfn), root level first. */
  allEntries(): { level: number; gfn: number }[] {
    const out: { level: number; gfn: number }[] = [];
    for (let level = this.geo.levels; level >= 1; level--)
      for (let gfn = 0; gfn < nGfns(this.geo); gfn += pagesPerEntry(this.geo, level)) out.push({ level, gfn });
    return out;
  }
}
