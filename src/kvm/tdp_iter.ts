// The TDP MMU iterator (arch/x86/kvm/mmu/tdp_iter.[ch]) over the mirror root, for one GFN.
//
// tdp_iter_start() → tdp_iter_refresh_sptep(): read the root-level entry; try_step_down(): follow
// the value just read into the child table and read the entry there. Each read of an SPTE
// (kvm_tdp_mmu_read_spte(), i.e. READ_ONCE) is one visible step; nothing locks intermediate
// levels, so a walker's knowledge is the value it last loaded (arch/x86/kvm/mmu/tdp_iter.c).
// Simplification (documented in docs/model.md): try_step_down() re-reads the current entry before
// following it; the model follows the value it loaded (or, after its own successful link, the
// value it stored). The re-read can only differ if the entry changed in between, which for the
// modelled flows is another thread's install of the same NP entry — which the walker then finds by
// its cmpxchg failing instead.
import type { Atomic, Op } from "../engine/index.js";
import { spteIndex } from "./geometry.js";
import type { Mirror } from "./mirror.js";
import { isShadowPresent, isTable, spteToSp } from "./spte.js";

export class TdpIter {
  /** iter->level */
  level: number;
  /** iter->sptep */
  sptep: Atomic;
  /** iter->old_spte: the value last read (or written by this thread). */
  oldSpte = 0;
  /** iter->valid */
  valid = true;
  constructor(
    readonly mirror: Mirror,
    /** iter->gfn (the target GFN; levels round it down as needed). */
    readonly gfn: number,
    /** iter->min_level */
    readonly minLevel = 1,
  ) {
    this.level = mirror.geo.levels;
    this.sptep = mirror.root.at(spteIndex(mirror.geo, gfn, this.level));
  }

  /** An iterator positioned at an entry a caller already loaded (a zap loop's current entry). */
  static at(mirror: Mirror, gfn: number, level: number, sptep: Atomic, oldSpte: number): TdpIter {
    const it = new TdpIter(mirror, gfn);
    it.level = level;
    it.sptep = sptep;
    it.oldSpte = oldSpte;
    return it;
  }

  /** tdp_iter_start() → tdp_iter_refresh_sptep(): one load of the root-level entry. */
  *start(label: string): Generator<Op, void, number> {
    this.level = this.mirror.geo.levels;
    this.sptep = this.mirror.root.at(spteIndex(this.mirror.geo, this.gfn, this.level));
    this.oldSpte = yield this.sptep.load(label);
    this.valid = true;
  }

  /**
   * try_step_down(): if the current value points at a child table, move there and load the entry
   * for `gfn` (one load). Returns false (and leaves the iterator) when it cannot step down.
   */
  *stepDown(label: string): Generator<Op, boolean, number> {
    if (this.level === this.minLevel) return false;
    if (!isShadowPresent(this.oldSpte) || !isTable(this.oldSpte)) return false;
    const sp = this.mirror.sp(spteToSp(this.oldSpte));
    this.level--;
    this.sptep = sp.spt.at(spteIndex(this.mirror.geo, this.gfn, this.level));
    this.oldSpte = yield this.sptep.load(label);
    return true;
  }
}
