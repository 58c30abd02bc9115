// S-EPT huge pages for TDX private memory, as posted: Sean Christopherson, "[RFC PATCH v5 00/45]
// TDX: Dynamic PAMT + S-EPT Hugepage", 2026-01-28, lore 20260129011517.3545883-1-seanjc@google.com
// (patch nn/45 = Message-ID 20260129011517.3545883-(nn+1)-seanjc@google.com), with the fixes agreed
// in its thread; where RFC v5 is silent, Yan Zhao's "[PATCH v3 00/24] KVM: TDX huge page support
// for private memory", lore 20260106101646.24809-1-yan.y.zhao@intel.com. Not merged (Sean,
// 2026-02-05 in the RFC v5 thread: the huge-page part stays on a topic branch until guest_memfd
// has huge folios). Only with switch hugepage=on (preset `hugepage`); every other preset runs none
// of this code and allocates none of these cells.
//
// Modelled (docs/model.md, "hugepage"):
//   - the fault's max level: 2M only if the TD is RUNNABLE (45/45), guest_memfd's folio is 2M
//     (kvm_gmem_get_pfn() max_order) and lpage_info.disallow_lpage of the block has neither the
//     mixed-attributes flag nor KVM_LPAGE_GUEST_INHIBIT_FLAG (40/45), read under mmu_lock;
//   - no promotion on mirror roots (31/45, disallowed_hugepage_adjust(): a present non-leaf at 2M
//     lowers the goal to 4K);
//   - 2M install through the same freeze and set_external_spte(NP → 2M leaf) → AUG(2M), no PAMT get
//     for a non-4K page (29/45); 2M removal BLOCK/TRACK/REMOVE(2M), no put;
//   - the split (36/45, 37/45, 39/45): under mmu_lock for write, tdp_mmu_split_huge_pages_root()
//     drops the lock to allocate the child table (and top up the PAMT cache), re-takes it, re-walks;
//     fills the child with 4K SPTEs, publishes the non-leaf (tdp_mmu_set_spte), and the hook runs
//     tdx_sept_split_private_spte(): PAMT get of the new S-EPT page, BLOCK(2M) and DEMOTE(2M) through
//     tdh_do_no_vcpus(), tdx_track() between them, refcount 0 → fanout after DEMOTE (30/45);
//   - triggers: an EEQ-ACCEPT exit at 4K (41/45: split + one-way GUEST_INHIBIT under the write
//     lock, then the ordinary fault), private→shared conversion (44/45 tdx_gmem_convert():
//     pamt_cache_lock → write lock → split head and tail blocks) and punch hole (43/45, "DO NOT
//     MERGE" pre-zap hook: the same head/tail split before the invalidation's zap);
//   - the per-VM PAMT cache (kvm_tdx->pamt_cache) under pamt_cache_lock for splits without a vCPU.
import { Atomic, SpinLock, type Invariant, type QuiescentInvariant, type World } from "../engine/index.js";
import { C, statusCode, statusName, TDX_SUCCESS } from "../tdx/status.js";
import { PROP, assertHeldWrite, kvmBugOn, warnOn, type Ctx, type Gen } from "./context.js";
import { pagesPerEntry, spteIndex } from "./geometry.js";
import type { Kvm } from "./kvm.js";
import type { MirrorSp } from "./mirror.js";
import { isShadowPresent, isLeaf, isTable, leafSpte, spteToPfn, tableSpte } from "./spte.js";
import { TdpIter } from "./tdp_iter.js";
import { EIO, tdhDoNoVcpus, tdxTrack } from "./tdx.js";
import { checkPamtLockFree, pamtGhostRefs, pamtOn, rangeKey, tdxDrawPair, tdxFreePair, tdxPamtGet, tdxPamtPut, tdxTopupPamtCache, VM_PAMT_CACHE } from "./tdx_pamt.js";
import type { TdxAdapter } from "./tdx_adapter.js";

/** lpage_info.disallow_lpage bits of a 2M block: mixed attributes (KVM_LPAGE_MIXED_FLAG), KVM_LPAGE_GUEST_INHIBIT_FLAG (40/45). */
export const LPAGE = { MIXED: 1, GUEST_INHIBIT: 2 } as const;

/** Window key of 2M block b: a split or a 2M removal is in progress on it (H-3). */
export function hugeKey(b: number): number {
  return 3_000_000 + b;
}

/** The huge-page state of one VM (allocated only with hugepage=on). */
export class KvmHuge {
  /** Per 2M block: lpage_info[PG_LEVEL_2M].disallow_lpage flags (LPAGE). */
  readonly lpage: Atomic[];
  /** Per 2M block: guest_memfd backs it with one 2M folio (1) or 4K folios / holes (0). */
  readonly folio: Atomic[];
  /** kvm_tdx->pamt_cache_lock (a mutex, 44/45), taken before mmu_lock by conversion and punch hole. */
  readonly pamtCacheLock: SpinLock;
  /**
   * Ghost (model only): 1 + the PAMT range a split is demoting, from just before its DEMOTE to its
   * refcount 0 → fanout; D-2 does not judge that range meanwhile (the RFC sets the refcount after
   * DEMOTE returns). 0 = none.
   */
  readonly demoting: Atomic;
  readonly ppb: number;
  constructor(world: World, kvm: Kvm, hugeFolios: readonly number[], shared: readonly number[]) {
    this.ppb = pagesPerEntry(kvm.geo, 2);
    const blocks = kvm.nGfns / this.ppb;
    const sh = new Set(shared);
    const folios = new Set(hugeFolios.map((g) => Math.floor(g / this.ppb)));
    const fmtL = (v: number) => [v & LPAGE.MIXED ? "MIXED" : "", v & LPAGE.GUEST_INHIBIT ? "GUEST_INHIBIT" : ""].filter(Boolean).join("|") || "0";
    this.lpage = Array.from({ length: blocks }, (_, b) => {
      let priv = 0;
      for (let i = 0; i < this.ppb; i++) if (!sh.has(b * this.ppb + i)) priv++;
      return new Atomic(world, `lpage_info[2M block ${b}].disallow_lpage`, priv === 0 || priv === this.ppb ? 0 : LPAGE.MIXED, fmtL);
    });
    this.folio = Array.from({ length: blocks }, (_, b) => new Atomic(world, `gmem folio order [2M block ${b}]`, folios.has(b) ? 1 : 0, (v) => (v ? "2M folio" : "4K folios")));
    this.pamtCacheLock = new SpinLock(world, "kvm_tdx->pamt_cache_lock");
    this.demoting = new Atomic(world, "ghost: range being demoted", 0, (v) => (v ? `range ${v - 1}` : "none"));
  }
  blockOf(gfn: number): number {
    return Math.floor(gfn / this.ppb);
  }
}

export function hugeOn(c: Ctx): boolean {
  return c.kvm.huge !== null;
}

/**
 * The part of the fault's max mapping level decided outside mmu_lock (kvm_mmu_faultin_pfn →
 * kvm_gmem_get_pfn()'s max_order, and tdx_gmem_private_max_mapping_level(): 2M only once the TD is
 * RUNNABLE, 45/45 — build-time PAGE.ADD is 4K only). Returns 1 (4K) or 2 (2M).
 */
export function* hugeFaultMaxLevel(c: Ctx, gfn: number): Gen<number> {
  const h = c.kvm.huge;
  if (!h) return 1;
  const folio = yield h.folio[h.blockOf(gfn)]!.load(`kvm_gmem_get_pfn: max_order of the folio backing gfn ${gfn}`);
  if (!folio) return 1;
  const st = yield c.kvm.tdState.load("tdx_gmem_private_max_mapping_level: kvm_tdx->state == TD_STATE_RUNNABLE");
  return st === 2 ? 2 : 1;
}

/**
 * kvm_mmu_hugepage_adjust() under mmu_lock (read): the block's lpage_info decides (mixed
 * attributes, or GUEST_INHIBIT set by an earlier 4K ACCEPT exit). Returns the goal level.
 */
export function* hugeGoalLevel(c: Ctx, gfn: number, maxLevel: number): Gen<number> {
  const h = c.kvm.huge;
  if (!h || maxLevel < 2) return 1;
  const lp = yield h.lpage[h.blockOf(gfn)]!.load(`kvm_mmu_hugepage_adjust: lpage_info[2M].disallow_lpage (gfn ${gfn})`);
  return lp === 0 ? 2 : 1;
}

/** H-7 at a 2M install: GUEST_INHIBIT, once set, keeps every fault at 4K (checked at the freeze). */
export function checkInhibitAtInstall(c: Ctx, gfn: number): void {
  const h = c.kvm.huge;
  if (!h) return;
  if (h.lpage[h.blockOf(gfn)]!.peek() & LPAGE.GUEST_INHIBIT) c.t.report(PROP.hpInhibit, `a 2M leaf is installed for gfn ${gfn} although GUEST_INHIBIT of its block is set`);
}

/** Draw / top up the per-VM cache: tdx_get_pamt_cache() without a running vCPU needs pamt_cache_lock (H-11). */
function checkCacheAccess(c: Ctx, cache: number): void {
  const h = c.kvm.huge;
  if (!h || cache !== VM_PAMT_CACHE) return;
  if (h.pamtCacheLock.owner() !== c.t.id) c.t.report(PROP.hpCacheAccess, "tdx_get_pamt_cache: kvm_tdx->pamt_cache used without pamt_cache_lock (lockdep_assert_held)");
}

/**
 * The PAMT cache a split uses: the running vCPU's, else the per-VM one (RFC v5 tdx_get_pamt_cache()).
 * split-pamt-cache=vcpu0 (hypothetical, the D-7 ablation) borrows vCPU 0's instead.
 */
function splitCache(c: Ctx): number {
  const v = c.runningVcpu ?? c.vcpu;
  if (v >= 0) return v;
  return c.proto.values["split-pamt-cache"] === "vcpu0" ? 0 : VM_PAMT_CACHE;
}

/** demote-pamt-lock=held: the fix of race R5 agreed in the RFC v5 thread (pamt_lock around DEMOTE). */
function demoteUnderPamtLock(c: Ctx): boolean {
  return c.kvm.pamt !== null && (c.proto.values["demote-pamt-lock"] ?? "off") === "held";
}

/**
 * tdx_sept_split_private_spte() (39/45; the PAMT get of the new S-EPT page before BLOCK after Yan
 * Zhao's review, 2026-02-10): reached from handle_changed_spte() → set_external_spte(old = 2M leaf,
 * new = non-leaf) under mmu_lock for write. Returns 0 or -EIO (the caller turns it into KVM_BUG_ON).
 */
export function* tdxSeptSplitPrivateSpte(c: Ctx, gfn: number, level: number, pfn: number, sp: MirrorSp): Gen<number> {
  assertHeldWrite(c, "tdx_sept_split_private_spte");
  if (c.kvm.mmuLock.heldBy(c.t.id) !== "write") c.t.report(PROP.hpNoReadLockSplit, `split of gfn ${gfn} with mmu_lock not held for write`);
  const cache = splitCache(c);
  checkCacheAccess(c, cache);
  const page = sp.externalPfn;
  // 1. PAMT get for the new S-EPT page (4K).
  if (pamtOn(c)) {
    const g = yield* tdxPamtGet(c, page, cache);
    if (g !== 0) return g;
  }
  // 2. BLOCK(2M) through tdh_do_no_vcpus(): BUSY → wait_for_sept_zap, kick, one retry.
  let s = yield* tdhDoNoVcpus(c, "TDH.MEM.RANGE.BLOCK", () => c.tdx.tdhMemRangeBlock(gfn, level));
  if (yield* kvmBugOn(c, s !== TDX_SUCCESS, `tdx_sept_split_private_spte: TDH.MEM.RANGE.BLOCK(2M) ${statusName(s)} (TDX_BUG_ON_2)`)) {
    yield* tdxPamtPut(c, page);
    return EIO;
  }
  // 3. tdx_track(): TRACK and the kick, so that DEMOTE finds the block tracked.
  yield* tdxTrack(c);
  // 4. DEMOTE(2M) with the new page and (DPAMT) a pair for the guest range from the same cache (30/45).
  let pair: number[] | null = null;
  if (pamtOn(c)) {
    pair = yield* tdxDrawPair(c, cache);
    if (yield* kvmBugOn(c, pair === null, "tdx_sept_split_private_spte: no PAMT pages in the cache for DEMOTE")) {
      yield* tdxPamtPut(c, page);
      return EIO;
    }
  }
  const pfns = pair ? (pair.map((i) => c.kvm.pamt!.pfnOf(i)) as [number, number]) : null;
  const ghost = c.kvm.pamt ? c.kvm.huge!.demoting : null;
  const rk = c.kvm.pamt ? rangeKey(c.kvm.pamt.rangeOf(pfn)) : -1;
  if (rk >= 0) c.t.enter(rk); // D-1 judges the range once the refcount follows the node again
  if (ghost) yield ghost.store(c.kvm.pamt!.rangeOf(pfn) + 1, "ghost: DEMOTE of the range begins");
  // The R5 fix (demote-pamt-lock=held): DEMOTE's pair pages are walked like PAMT.ADD's, so DEMOTE
  // joins the PAMT.ADD/REMOVE calls pamt_lock serialises; lock order mmu_lock (write) → pamt_lock.
  const pamtLocked = demoteUnderPamtLock(c);
  if (pamtLocked) {
    checkPamtLockFree(c, "tdx_sept_split_private_spte: spin_lock(&pamt_lock)");
    yield c.kvm.pamt!.lock.lock("tdx_sept_split_private_spte: spin_lock(&pamt_lock) around DEMOTE");
  }
  s = yield* tdhDoNoVcpus(c, "TDH.MEM.PAGE.DEMOTE", () => c.tdx.tdhMemPageDemote(gfn, level, page, pfns));
  if (s !== TDX_SUCCESS) {
    if (pamtLocked) yield c.kvm.pamt!.lock.unlock("tdx_sept_split_private_spte: spin_unlock(&pamt_lock) [DEMOTE failed]");
    // Any remaining error (INTERRUPTED_RESTARTABLE on a module without the enhanced feature too):
    // TDX_BUG_ON_2; the 2M S-EPT leaf stays BLOCKED while the mirror shows the non-leaf.
    yield* kvmBugOn(c, true, `tdx_sept_split_private_spte: TDH.MEM.PAGE.DEMOTE ${statusName(s)} (TDX_BUG_ON_2)`);
    if (ghost) yield ghost.store(0, "ghost: DEMOTE of the range ends");
    if (rk >= 0) c.t.exit(rk);
    if (pair) yield* tdxFreePair(c, pair, "DEMOTE failed");
    yield* tdxPamtPut(c, page);
    return EIO;
  }
  // 5. DPAMT: the guest range is now a node with `fanout` 4K pages: refcount 0 → fanout (30/45, H-10).
  const p = c.kvm.pamt;
  if (p) {
    const r = p.rangeOf(pfn);
    const n = pagesPerEntry(c.kvm.geo, level);
    const old = yield p.refcount[r]!.cmpxchg(0, n, `tdx_sept_split_private_spte: atomic_cmpxchg(pamt_refcount[range ${r}], 0, ${n})`);
    if (old !== 0) {
      c.t.report(PROP.hpDemoteAccounting, `after DEMOTE of gfn ${gfn}: pamt_refcount[range ${r}] was ${old}, not 0`);
      warnOn(c, true, "tdx_sept_split_private_spte: WARN_ON_ONCE(refcount of a demoted range != 0)");
    } else yield* pamtGhostRefs(c, r, n);
    if (pamtLocked) yield p.lock.unlock("tdx_sept_split_private_spte: spin_unlock(&pamt_lock)");
    if (ghost) yield ghost.store(0, "ghost: DEMOTE of the range ends");
    if (rk >= 0) c.t.exit(rk);
  }
  return 0;
}

/**
 * Split the mirror 2M leaf covering `gfn` (if there is one) under mmu_lock for write:
 * tdp_mmu_split_huge_pages_root(kvm, mirror root, start, end, PG_LEVEL_4K, shared=false) as called
 * by kvm_tdp_mmu_mirrors_split_huge_pages() (Sean's fix of 2026-01-29 in the RFC v5 thread).
 * Returns 0 (split, or nothing to split) or the hook's error (already KVM_BUG_ON'd).
 */
export function* tdpMmuSplitHugeLeaf(c: Ctx, gfn: number, frame: readonly number[] = []): Gen<number> {
  const k = c.kvm;
  const h = k.huge!;
  const mirror = k.mirror;
  const base = h.blockOf(gfn) * h.ppb;
  let sp: MirrorSp | null = null;
  for (;;) {
    // `frame`: the callers' live locals (the vCPU run loop's position), dropped by the reset otherwise.
    c.t.loopHead("tdp_mmu_split_huge_pages_root: walk", gfn, sp ? 1 : 0, ...frame);
    const iter = new TdpIter(mirror, base);
    yield* iter.start(`tdp_mmu_split_huge_pages_root: read L${mirror.geo.levels} SPTE (gfn ${base})`);
    while (iter.level > 2) {
      if (!(yield* iter.stepDown(`tdp_mmu_split_huge_pages_root: read L${iter.level - 1} SPTE (gfn ${base})`))) return 0;
    }
    const old = iter.oldSpte;
    // Nothing to split (not present, frozen, or already a table): the leaf may be gone after the
    // lock was dropped for the allocation (another thread may have zapped or split it meanwhile).
    if (!isShadowPresent(old) || !isLeaf(old)) return 0;
    if (!sp) {
      // tdp_mmu_alloc_sp_for_split(): drop mmu_lock, allocate the mirror page and its external_spt
      // (37/45), top up the PAMT cache (sleeping allowed), re-take the lock, restart the walk.
      yield* k.mmuLock.writeUnlock(c.t.id, "tdp_mmu_split_huge_pages_root: write_unlock(&kvm->mmu_lock) to allocate");
      const cache = splitCache(c);
      checkCacheAccess(c, cache);
      yield* tdxTopupPamtCache(c, cache);
      sp = mirror.allocSp(1, base, c.t.id);
      checkPamtLockFree(c, "tdp_mmu_split_huge_pages_root: write_lock(&kvm->mmu_lock)");
      yield* k.mmuLock.writeLock(c.t.id, "tdp_mmu_split_huge_pages_root: write_lock(&kvm->mmu_lock)");
      continue;
    }
    // tdp_mmu_split_huge_page(): the child table gets the 4K SPTEs of the 2M mapping (not
    // propagated to TDX one by one).
    const head = spteToPfn(old);
    for (let i = 0; i < mirror.geo.fanout; i++) yield sp.spt.at(i).store(leafSpte(head + i), `tdp_mmu_split_huge_page: child SPTE ${i} := 4K leaf pfn ${head + i}`);
    // tdp_mmu_link_sp(shared=false) → tdp_mmu_set_spte(): write the non-leaf, then
    // handle_changed_spte() → set_external_spte(old 2M leaf, new non-leaf) → the split.
    // The 2M entry and the 4K entries it now points to are in transition until DEMOTE is done.
    const keys = [mirror.key(2, base), hugeKey(h.blockOf(base)), ...Array.from({ length: mirror.geo.fanout }, (_, i) => mirror.key(1, base + i))];
    for (const key of keys) c.t.enter(key);
    yield iter.sptep.store(tableSpte(sp.id), `tdp_mmu_set_spte: kvm_tdp_mmu_write_spte(2M leaf → TABLE(sp${sp.id})) (gfn ${base})`);
    const r = yield* tdxSeptSplitPrivateSpte(c, base, 2, head, sp);
    yield* kvmBugOn(c, r !== 0, `handle_changed_spte: set_external_spte (split) returned ${r}`);
    for (const key of keys) c.t.exit(key);
    return r;
  }
}

/**
 * The EEQ-ACCEPT exit at 4K on a range the host may map at 2M (41/45 in tdx_handle_ept_violation()):
 * unless GUEST_INHIBIT is already set, under the write lock split any mirror 2M mapping covering
 * the GFN and set GUEST_INHIBIT for 2M (one-way, never cleared). The ordinary fault follows.
 */
export function* hugeAcceptMismatch(c: Ctx, gfn: number, frame: readonly number[] = []): Gen<number> {
  const h = c.kvm.huge;
  if (!h) return 0;
  const b = h.blockOf(gfn);
  const lp = yield h.lpage[b]!.load(`tdx_handle_ept_violation: EEQ ACCEPT 4K: hugepage_test_guest_inhibit(gfn ${gfn}, 2M)`);
  if (lp & LPAGE.GUEST_INHIBIT) return 0;
  const k = c.kvm;
  checkPamtLockFree(c, "tdx_handle_ept_violation: write_lock(&kvm->mmu_lock)");
  yield* k.mmuLock.writeLock(c.t.id, "tdx_handle_ept_violation: guard(write_lock)(&kvm->mmu_lock)");
  const r = yield* tdpMmuSplitHugeLeaf(c, gfn, frame);
  yield h.lpage[b]!.rmw((v) => v | LPAGE.GUEST_INHIBIT, `hugepage_set_guest_inhibit(slot, gfn ${gfn}, PG_LEVEL_2M)`);
  yield* k.mmuLock.writeUnlock(c.t.id, "tdx_handle_ept_violation: write_unlock(&kvm->mmu_lock)");
  return r;
}

/**
 * H-6 after the exit of a 4K ACCEPT was handled, before the guest retries: GUEST_INHIBIT is set for
 * the block and the S-EPT no longer maps it with a 2M leaf (else the ACCEPT would exit forever).
 */
export function checkAcceptHandled(c: Ctx, gfn: number): void {
  const h = c.kvm.huge;
  if (!h || c.kvm.vmBugged.peek()) return;
  const b = h.blockOf(gfn);
  const inhibited = (h.lpage[b]!.peek() & LPAGE.GUEST_INHIBIT) !== 0;
  const s = c.tdx.peekEntry(2, b * h.ppb);
  const huge = s !== null && !s.state.startsWith("NL_") && s.state !== "FREE";
  if (!inhibited || huge) c.t.report(PROP.hpAcceptSplit, `4K ACCEPT exit on gfn ${gfn} handled but ${!inhibited ? "GUEST_INHIBIT is not set" : `the S-EPT still maps block ${b} with a 2M ${s!.state} leaf`}`);
}

/**
 * The pre-zap split of a private→shared conversion (44/45 tdx_gmem_convert()) or a punch hole
 * (43/45): pamt_cache_lock, then mmu_lock for write, split the head and tail 2M blocks that
 * [start, end) covers only partly (fully covered 2M leaves are zapped whole afterwards).
 * Switch hugepage-split=none (hypothetical) skips it: the zap then removes whole 2M leaves.
 */
export function* hugeSplitRange(c: Ctx, start: number, end: number, who: string): Gen<void> {
  const h = c.kvm.huge;
  if (!h || c.proto.values["hugepage-split"] === "none") return;
  const heads = new Set<number>();
  const first = Math.floor(start / h.ppb) * h.ppb;
  if (first < start) heads.add(first);
  const last = Math.floor((end - 1) / h.ppb) * h.ppb;
  if (last + h.ppb > end) heads.add(last);
  if (heads.size === 0) return;
  const k = c.kvm;
  checkPamtLockFree(c, `${who}: mutex_lock(&kvm_tdx->pamt_cache_lock)`);
  yield h.pamtCacheLock.lock(`${who}: mutex_lock(&kvm_tdx->pamt_cache_lock)`);
  yield* k.mmuLock.writeLock(c.t.id, `${who}: guard(write_lock)(&kvm->mmu_lock)`);
  for (const g of [...heads].sort((a, b) => a - b)) yield* tdpMmuSplitHugeLeaf(c, g);
  yield* k.mmuLock.writeUnlock(c.t.id, `${who}: write_unlock(&kvm->mmu_lock)`);
  yield h.pamtCacheLock.unlock(`${who}: mutex_unlock(&kvm_tdx->pamt_cache_lock)`);
}

/** kvm_arch_post_set_memory_attributes() (under the write lock): recompute the mixed flag of the blocks of [start, end). */
export function* hugeUpdateMixed(c: Ctx, start: number, end: number): Gen<void> {
  const h = c.kvm.huge;
  if (!h) return;
  for (let b = Math.floor(start / h.ppb); b * h.ppb < end; b++) {
    let priv = 0;
    // The attributes of the block are stable here: their only writer holds slots_lock.
    for (let i = 0; i < h.ppb; i++) priv += c.kvm.attrs[b * h.ppb + i]!.peek();
    const mixed = priv !== 0 && priv !== h.ppb;
    yield h.lpage[b]!.rmw((v) => (mixed ? v | LPAGE.MIXED : v & ~LPAGE.MIXED), `kvm_arch_post_set_memory_attributes: hugepage_${mixed ? "set" : "clear"}_mixed(2M block ${b})`);
  }
}

/** guest_memfd splits or frees the 2M folios of [start, end) after the punch hole's zap (v3 fixup: zap before splitting). */
export function* hugeSplitFolios(c: Ctx, start: number, end: number, who: string): Gen<void> {
  const h = c.kvm.huge;
  if (!h) return;
  for (let b = Math.floor(start / h.ppb); b * h.ppb < end; b++) {
    if (h.folio[b]!.peek() === 0) continue; // folio order of a block: only this thread (holding the invalidate lock) changes it
    yield h.folio[b]!.store(0, `${who}: split/free the 2M folio of block ${b}`);
  }
}

/** H-8: a zap of [lo, hi) removes a leaf that covers GFNs outside the range. */
export function checkPreciseZap(c: Ctx, level: number, gfn: number, lo: number, hi: number): void {
  const span = pagesPerEntry(c.kvm.geo, level);
  if (level >= 2 && (gfn < lo || gfn + span > hi)) c.t.report(PROP.hpPreciseZap, `zap of [${lo},${hi}) removes the 2M leaf [${gfn},${gfn + span}): the guest loses accepted pages it did not convert or punch`);
}

/** The invariants H-2 (after every step) and H-3 (quiescent per block), for a built model. */
export function hugeInvariants(kvm: Kvm, tdx: TdxAdapter): { invariants: Invariant[]; quiescent: QuiescentInvariant[] } {
  const h = kvm.huge;
  if (!h) return { invariants: [], quiescent: [] };
  const blocks = h.folio.length;
  const leaf2m = (b: number) => {
    const s = tdx.peekEntry(2, b * h.ppb);
    return s && s.state !== "FREE" && !s.state.startsWith("NL_") ? s : null;
  };
  const h2: Invariant = {
    name: PROP.hpMappingLeFolio,
    objs: [...h.folio.map((x) => x.id), kvm.hkid.id, ...Array.from({ length: blocks }, (_, b) => tdx.objsOf(2, b * h.ppb)).flat()],
    check: () => {
      if (kvm.hkid.peek() === 0) return null;
      for (let b = 0; b < blocks; b++) {
        const s = leaf2m(b);
        if (s && h.folio[b]!.peek() === 0) return `block ${b}: S-EPT 2M ${s.state} leaf pfn ${s.pfn} but guest_memfd no longer has a 2M folio there`;
      }
      return null;
    },
  };
  const keys = new Map(Array.from({ length: blocks }, (_, b) => [hugeKey(b), b] as const));
  const h3: QuiescentInvariant = {
    name: PROP.hpSplitAtomic,
    keys: [...keys.keys()],
    objsOf: (key) => [...tdx.objsOf(2, keys.get(key)! * h.ppb), kvm.vmBugged.id, kvm.hkid.id],
    check: (key) => {
      const b = keys.get(key)!;
      if (kvm.vmBugged.peek() || kvm.hkid.peek() === 0) return null;
      const s = leaf2m(b);
      if (s && (s.state === "BLOCKED" || s.state === "PENDING_BLOCKED")) return `block ${b}: S-EPT 2M leaf ${s.state} outside any split or removal (VM not bugged)`;
      return null;
    },
  };
  return { invariants: [h2], quiescent: [h3] };
}

export { isTable, spteIndex, statusCode, C };
