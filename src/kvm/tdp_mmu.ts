// The TDP MMU on the mirror root: arch/x86/kvm/mmu/tdp_mmu.c as each preset has it.
import { choose } from "../engine/index.js";
import { PROP, assertHeld, assertHeldWrite, kvmBugOn, warnOn, type Ctx, type Gen } from "./context.js";
import { pagesPerEntry } from "./geometry.js";
import type { MirrorSp } from "./mirror.js";
import {
  isFrozen, isLeaf, isShadowPresent, isTable, leafSpte, SPTE_FROZEN, SPTE_NP, spteToPfn, spteToSp, tableSpte,
} from "./spte.js";
import { TdpIter } from "./tdp_iter.js";
import { checkInhibitAtInstall, checkPreciseZap, hugeGoalLevel, hugeKey } from "./hugepage.js";
import { EBUSY, EIO, kickAllVcpus, tdxTrack, tdxReclaimLeaf, tdxSeptFreePrivateSpt, tdxSeptLinkPrivateSpt, tdxSeptRemovePrivateSpte, tdxSeptSetPrivateSpte, tdxSetExternalSpte } from "./tdx.js";
import { lbl } from "../engine/label.js";

/** RET_PF_* (arch/x86/kvm/mmu/mmu_internal.h). */
export const RET_PF = { CONTINUE: 0, RETRY: 1, EMULATE: 2, WRITE_PROTECTED: 3, INVALID: 4, FIXED: 5, SPURIOUS: 6 } as const;
export const RET_PF_NAMES = ["RET_PF_CONTINUE", "RET_PF_RETRY", "RET_PF_EMULATE", "RET_PF_WRITE_PROTECTED", "RET_PF_INVALID", "RET_PF_FIXED", "RET_PF_SPURIOUS"];

/** Goal level of every private fault: tdx_gmem_private_max_mapping_level() is PG_LEVEL_4K. */
export const GOAL_LEVEL = 1;

/** gfn_round_for_level() in KVM levels. */
function roundGfnFor(c: Ctx, gfn: number, level: number): number {
  const p = pagesPerEntry(c.kvm.geo, level);
  return Math.floor(gfn / p) * p;
}

function keyOf(c: Ctx, iter: TdpIter): number {
  return c.kvm.mirror.key(iter.level, iter.gfn);
}

/**
 * Change a mirror entry whose value the caller loaded as iter.oldSpte to `newSpte`, under the
 * read lock. Returns 0 or -errno (-EBUSY: lost the race; the hook's error otherwise).
 *   hooks=split (6.16–6.19, v10/v11): only installs (NP → present) reach TDX; an atomic change to
 *     not-present, or from present, is refused with KVM_BUG_ON in __tdp_mmu_set_spte_atomic();
 *   hooks=unified (7.2, 28c77a037804): any mirror change goes through
 *     set_external_spte(old, new) inside the freeze, removals included; the TDP MMU checks
 *     nothing (6b1280a738f9 moved the KVM_BUG_ONs into TDX).
 *   freeze (77ac7079e66d set_external_spte_present(); v10/v11 freeze_spte; 7.2 folded into
 *     __tdp_mmu_set_spte_atomic() by 78d23e299bba): cmpxchg old → FROZEN, hook (SEAMCALLs), then
 *     store new or restore old;
 *   mirror-first (seed): cmpxchg old → new, then handle_changed_spte() → hook (SEAMCALL).
 * A failed cmpxchg refreshes iter.oldSpte only with old-spte-refresh=on (02eaaffdd865, 7.2).
 * The window on the entry spans "mirror update → end of the S-EPT change".
 */
export function* tdpMmuSetSpteAtomic(c: Ctx, iter: TdpIter, newSpte: number): Gen<number> {
  assertHeld(c, "tdp_mmu_set_spte_atomic");
  warnOn(c, isFrozen(iter.oldSpte), "tdp_mmu_set_spte_atomic: WARN_ON_ONCE(is_frozen_spte(iter->old_spte))");
  const unified = c.proto.is("hooks", "unified");
  // A present→present change of a leaf (only its A/D bits differ): reachable only with mirror-ad
  // other than same-spte (tdpMmuMapHandleTargetLevel()).
  const adChange = isShadowPresent(iter.oldSpte) && isLeaf(iter.oldSpte) && isLeaf(newSpte);
  const ad = c.proto.get("mirror-ad");
  if (adChange && ad === "propagate") {
    // v11 handle_changed_private_spte() / 6.12-era set_external_spte_present(): the
    // KVM_BUG_ON(was_present) does not return; the change goes on to the hook (below).
    yield* kvmBugOn(c, true, "handle_changed_private_spte / set_external_spte_present: KVM_BUG_ON(was_present) [A/D-only change]");
  } else if (!unified && !(adChange && ad === "filter")) {
    if (yield* kvmBugOn(c, !isShadowPresent(newSpte), "__tdp_mmu_set_spte_atomic: atomic zap of a mirror SPTE")) return EBUSY;
    if (yield* kvmBugOn(c, isShadowPresent(iter.oldSpte), "set_external_spte_present: KVM_BUG_ON(was_present)")) return EIO;
  }
  const old = iter.oldSpte;
  const key = keyOf(c, iter);
  const freeze = c.proto.is("install", "freeze");
  const what = !isShadowPresent(newSpte) ? "zap" : isLeaf(newSpte) ? "leaf" : "table";
  // H-5 (S-EPT huge pages): a mirror page table is never replaced by a huge leaf (RFC v5 31/45).
  if (isTable(old) && isLeaf(newSpte)) c.t.report(PROP.hpNoPromotion, lbl`L${iter.level} gfn ${iter.gfn}: mirror non-leaf replaced by a leaf (promotion on a mirror root)`);
  c.t.enter(key);
  const found = yield iter.sptep.cmpxchg(
    old,
    freeze ? SPTE_FROZEN : newSpte,
    freeze ? `__tdp_mmu_set_spte_atomic: try_cmpxchg64(sptep, old, ${c.proto.frozenName}) [${what}]` : `tdp_mmu_set_spte_atomic: try_cmpxchg64(sptep, old, new) [${what}, mirror first]`,
  );
  if (found !== old) {
    if (c.proto.is("old-spte-refresh", "on")) iter.oldSpte = found;
    c.t.exit(key);
    return EBUSY;
  }
  // The hook: 7.2 set_external_spte(old, new); ≤6.19 set_external_spte / link_external_spt
  // (v11: handle_changed_private_spte()).
  let ret: number;
  // mirror-ad=filter: "SPTE is state machine with software available bits used. Check if the
  // change is interesting to the backend" — an A/D-only change calls nothing; =propagate: the
  // leaf hook runs again for the same pfn (TDH.MEM.PAGE.AUG of a mapped GPA).
  if (adChange && ad === "filter") ret = 0;
  else if (adChange) ret = yield* tdxSeptSetPrivateSpte(c, iter.gfn, iter.level, spteToPfn(newSpte));
  else if (unified) ret = yield* tdxSetExternalSpte(c, iter.gfn, iter.level, old, newSpte);
  else
    ret = isLeaf(newSpte)
      ? yield* tdxSeptSetPrivateSpte(c, iter.gfn, iter.level, spteToPfn(newSpte))
      : yield* tdxSeptLinkPrivateSpt(c, iter.gfn, iter.level, c.kvm.mirror.sp(spteToSp(newSpte)).externalPfn);
  if (ret !== 0) {
    if (!freeze) warnOn(c, true, "tdp_mmu_set_spte_atomic: WARN_ON_ONCE(!freeze_spte) on hook failure");
    if (c.proto.is("restore-on-failure", "on")) yield iter.sptep.store(old, lbl`__kvm_tdp_mmu_write_spte(sptep, old_spte) [restore after ${ret}]`);
  } else if (freeze) {
    yield iter.sptep.store(newSpte, lbl`__kvm_tdp_mmu_write_spte(sptep, new_spte) [unfreeze ${what}]`);
  }
  c.t.exit(key);
  if (ret === 0) iter.oldSpte = newSpte;
  return ret;
}

/** tdp_mmu_link_sp(kvm, iter, sp, shared=true): publish TABLE(sp) through the atomic install. */
export function* tdpMmuLinkSp(c: Ctx, iter: TdpIter, sp: MirrorSp): Gen<number> {
  return yield* tdpMmuSetSpteAtomic(c, iter, tableSpte(sp.id));
}

/**
 * tdp_mmu_map_handle_target_level(): new_spte = make_spte(); "if (new_spte == iter->old_spte)
 * ret = RET_PF_SPURIOUS", else install it atomically. TDX forces every private fault to "write"
 * and mirror leaves are RWX, so with mirror-ad=same-spte (cc7ed3358e41: D set on every writable
 * SPTE) a present leaf always yields the same value: spurious. Before that commit make_spte() left
 * D clear when the old SPTE was already writable (switch mirror-ad), so the second fault's value
 * differed only in D and went to tdp_mmu_set_spte_atomic() as a present→present change.
 */
export function* tdpMmuMapHandleTargetLevel(c: Ctx, iter: TdpIter, pfn: number, goal = GOAL_LEVEL): Gen<number> {
  if (warnOn(c, iter.level !== goal, "tdp_mmu_map_handle_target_level: sp->role.level != fault->goal_level")) return RET_PF.RETRY;
  if (goal > 1) checkInhibitAtInstall(c, iter.gfn);
  if (isShadowPresent(iter.oldSpte) && isLeaf(iter.oldSpte)) {
    warnOn(c, spteToPfn(iter.oldSpte) !== pfn, "tdp_mmu_map_handle_target_level: WARN_ON_ONCE(fault->pfn != spte_to_pfn(iter->old_spte))");
    if (c.proto.is("mirror-ad", "same-spte")) return RET_PF.SPURIOUS;
    const again = leafSpte(pfn, false); // ≤6.12 make_spte(): writable old SPTE → D not set
    if (again === iter.oldSpte) return RET_PF.SPURIOUS;
    if ((yield* tdpMmuSetSpteAtomic(c, iter, again)) !== 0) return RET_PF.RETRY;
    return RET_PF.FIXED;
  }
  if ((yield* tdpMmuSetSpteAtomic(c, iter, leafSpte(pfn))) !== 0) return RET_PF.RETRY;
  return RET_PF.FIXED;
}

/**
 * kvm_tdp_mmu_map() on the mirror root for a private 4K fault, mmu_lock held for read: walk with
 * one load per level; FROZEN → RET_PF_RETRY; a missing table is allocated and linked (SEPT.ADD);
 * at the goal level, tdp_mmu_map_handle_target_level().
 */
export function* kvmTdpMmuMap(c: Ctx, gfn: number, pfn: number, maxLevel = 1, frame: readonly number[] = []): Gen<number> {
  const mirror = c.kvm.mirror;
  // S-EPT huge pages: kvm_mmu_hugepage_adjust() (lpage_info under mmu_lock); 4K otherwise.
  let goal = maxLevel > 1 ? yield* hugeGoalLevel(c, gfn, maxLevel) : GOAL_LEVEL;
  const iter = new TdpIter(mirror, gfn);
  yield* iter.start(lbl`kvm_tdp_mmu_map: tdp_iter_start: read L${mirror.geo.levels} SPTE (gfn ${gfn})`);
  for (;;) {
    // tdp_mmu_for_each_pte() only goes down: the entries above the iterator and what linking a
    // table observed (SEPT.ADD's walk and locks) are dead; the iterator (level, entry, old_spte),
    // the goal and the fault stay live (arch/x86/kvm/mmu/tdp_mmu.c kvm_tdp_mmu_map(), kvm-x86/linux
    // 09c6f74ecb86). `frame`: the caller's live locals.
    c.t.loopHead("kvm_tdp_mmu_map: walk", gfn, pfn, goal, maxLevel, iter.level, iter.sptep.info.id, iter.oldSpte, iter.valid ? 1 : 0, ...frame);
    // "If SPTE has been frozen by another thread, just give up and retry."
    if (isFrozen(iter.oldSpte)) return RET_PF.RETRY;
    // RFC v5 31/45 disallowed_hugepage_adjust() for mirror roots: a present page table where the huge
    // leaf would go lowers the goal (never replace a mirror table by a huge leaf).
    if (goal > 1 && iter.level === goal && isShadowPresent(iter.oldSpte) && isTable(iter.oldSpte)) goal = GOAL_LEVEL;
    if (iter.level === goal) return yield* tdpMmuMapHandleTargetLevel(c, iter, goal > 1 ? pfn - (gfn - roundGfnFor(c, gfn, goal)) : pfn, goal);
    if (!(isShadowPresent(iter.oldSpte) && isTable(iter.oldSpte))) {
      // Not present: tdp_mmu_alloc_sp() + tdp_mmu_init_child_sp() + kvm_mmu_alloc_external_spt().
      if (yield* kvmBugOn(c, isShadowPresent(iter.oldSpte), "kvm_tdp_mmu_map: split of a mirror huge page")) return RET_PF.RETRY;
      const sp = mirror.allocSp(iter.level - 1, gfn, c.t.id);
      if ((yield* tdpMmuLinkSp(c, iter, sp)) !== 0) return RET_PF.RETRY; // tdp_mmu_free_sp(sp); goto retry
    }
    if (!(yield* iter.stepDown(lbl`kvm_tdp_mmu_map: try_step_down: read L${iter.level - 1} SPTE (gfn ${gfn})`))) {
      // The walk ended before the goal level: WARN_ON_ONCE(iter.level == fault->goal_level); retry.
      return RET_PF.RETRY;
    }
  }
}

/**
 * Zap one present mirror leaf under the write lock: tdp_mmu_iter_set_spte() → tdp_mmu_set_spte():
 * WARN_ON_ONCE if FROZEN is seen (7.2: KVM_MMU_WARN_ON, c1d3af136fbf); store NP first
 * (kvm_tdp_mmu_write_spte); then
 *   split: handle_changed_spte() → remove_external_spte() (void) → the S-EPT removal;
 *   unified (7.2): handle_changed_spte() → set_external_spte(old, NP) → tdx_sept_remove_leaf_spte(),
 *     whose non-zero return handle_changed_spte() turns into KVM_BUG_ON.
 * v11 __tdp_mmu_set_spte() has the same order.
 */
export function* tdpMmuZapLeafLocked(c: Ctx, sptep: import("../engine/index.js").Atomic, gfn: number, old: number, level = 1): Gen<void> {
  assertHeldWrite(c, "tdp_mmu_set_spte");
  if (isFrozen(old)) c.t.report(PROP.frozenSeenByWriter, lbl`tdp_mmu_set_spte: WARN_ON_ONCE(is_frozen_spte(old_spte)) at gfn ${gfn}`);
  const key = c.kvm.mirror.key(level, gfn);
  const hk = level > 1 && c.kvm.huge ? hugeKey(c.kvm.huge.blockOf(gfn)) : -1;
  c.t.enter(key);
  if (hk >= 0) c.t.enter(hk);
  const was = yield sptep.xchg(SPTE_NP, lbl`tdp_mmu_set_spte: kvm_tdp_mmu_write_spte(sptep, old, SHADOW_NONPRESENT_VALUE) (gfn ${gfn})`);
  if (isLeaf(was)) {
    if (c.proto.is("hooks", "unified")) {
      const r = yield* tdxSetExternalSpte(c, gfn, level, was, SPTE_NP);
      yield* kvmBugOn(c, r !== 0, lbl`handle_changed_spte: set_external_spte returned ${r}`);
    } else yield* tdxSeptRemovePrivateSpte(c, gfn, level, spteToPfn(was));
  }
  if (hk >= 0) c.t.exit(hk);
  c.t.exit(key);
}

/**
 * A read-lock zap of one mirror leaf on an upstream mirror (6.16+), as a shared-mode zapper such as
 * __tdp_mmu_zap_root(shared) does it: tdp_mmu_set_spte_atomic(iter, SHADOW_NONPRESENT_VALUE) and,
 * on failure, "goto retry" with iter->old_spte — refreshed by 02eaaffdd865, stale without it. A
 * value that is no longer a present leaf ends the retry. No upstream TDX caller zaps a mirror leaf
 * under the read lock: 6.16–6.19 refuse one (KVM_BUG_ON in __tdp_mmu_set_spte_atomic()); in 7.2
 * only lockdep catches it (lockdep_assert_held_write() in tdx_sept_remove_leaf_spte()).
 */
export function* tdpMmuZapLeafAtomic(c: Ctx, iter: TdpIter, gfn: number, frame: readonly number[] = []): Gen<void> {
  for (;;) {
    // `frame`: the walk's position (level, range), which the loop head's reset would otherwise drop.
    c.t.loopHead("zap: tdp_mmu_set_spte_atomic retry", gfn, iter.oldSpte, ...frame);
    if (!isShadowPresent(iter.oldSpte) || !isLeaf(iter.oldSpte)) return;
    const r = yield* tdpMmuSetSpteAtomic(c, iter, SPTE_NP);
    if (r === 0) return;
    if (r !== EBUSY) return;
  }
}

/**
 * The seed's read-lock zap of one leaf (hypothetical, as the diagram draws it): exchange the mirror
 * SPTE to REMOVED_SPTE, run the S-EPT removal for the old value (a not-mapped S-EPT entry counts as
 * already removed), and leave the mirror entry not present whatever the removal returned.
 */
export function* tdpMmuZapLeafShared(c: Ctx, sptep: import("../engine/index.js").Atomic, gfn: number, frame: readonly number[] = []): Gen<void> {
  const key = c.kvm.mirror.key(1, gfn);
  c.t.enter(key);
  let old: number;
  for (;;) {
    c.t.loopHead("seed zap: xchg until not REMOVED", gfn, ...frame);
    old = yield sptep.xchg(SPTE_FROZEN, lbl`seed zap: old = xchg(sptep, ${c.proto.frozenName}) (gfn ${gfn})`);
    if (!isFrozen(old)) break;
  }
  if (isLeaf(old)) yield* tdxSeptRemovePrivateSpte(c, gfn, 1, spteToPfn(old));
  yield sptep.store(old === SPTE_NP || isLeaf(old) ? SPTE_NP : old, lbl`seed zap: WRITE_ONCE(sptep, SHADOW_NONPRESENT_VALUE) (gfn ${gfn})`);
  c.t.exit(key);
}

/**
 * tdp_mmu_zap_leafs() over [start, end) of the mirror root (via kvm_tdp_mmu_unmap_gfn_range()),
 * pre-order with one load per visited entry; the lock is whatever the caller holds (write
 * upstream; read under the seed preset). Between GFNs a write-lock holder may yield
 * (tdp_mmu_iter_cond_resched(): drop and re-take mmu_lock, then re-walk from the root at the next
 * GFN) when the scenario enables it (Scenario.zapYields); otherwise it never yields.
 */
export function* tdpMmuZapLeafs(c: Ctx, start: number, end: number, frame: readonly number[] = []): Gen<void> {
  const mirror = c.kvm.mirror;
  const shared = c.proto.is("zap-lock", "read");
  const geo = mirror.geo;
  // kvm_flush_remote_tlbs() after a write-lock zap that zapped something, still under mmu_lock
  // (__kvm_gmem_invalidate_begin(), kvm_handle_gfn_range() with flush_on_ret, kvm_mmu_zap_memslot();
  // tdp_mmu_iter_cond_resched() flushes before it yields). A TD has no arch remote-flush hook, so it
  // is kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH): snapshot, IPI, wait for the acks
  // (virt/kvm/kvm_main.c kvm_flush_remote_tlbs(), kvm-x86/linux@09c6f74ecb86). No TDX SEAMCALL.
  // In v10/v11 a TD has the arch hook (vt_tlb_remote_flush() → tdx_sept_tlb_remote_flush(), '[PATCH
  // v11 057/113] KVM: TDX: TDP MMU TDX support', Message-ID
  // 2749eb2e634df67937aade6dc46b1c86defcfee5.1673539699.git.isaku.yamahata@intel.com), which runs a
  // second tdx_track() if the HKID is still assigned, after the one its removal already did. The
  // body is taken from the later postings' tdx_sept_flush_remote_tlbs() (is_hkid_assigned() →
  // tdx_track()); v11's own body was not re-read for this model.
  let pendingFlush = false;
  const v11Flush = c.proto.is("removal-failure", "v11");
  const flushes = !shared && (c.proto.is("removal-failure", "no-vcpu-retry") || v11Flush);
  function* flush(): Gen<void> {
    if (!pendingFlush) return;
    pendingFlush = false;
    if (!v11Flush) {
      yield* kickAllVcpus(c, "KVM_REQ_TLB_FLUSH from kvm_flush_remote_tlbs after the zap");
      return;
    }
    const hkid = yield c.kvm.hkid.load("kvm_flush_remote_tlbs → tdx_sept_tlb_remote_flush: is_hkid_assigned(kvm_tdx)");
    if (hkid !== 0) yield* tdxTrack(c);
  }
  // `path`: the mirror pages the walk stands in above `table` and `table` itself (-1: the root),
  // live at the loop head below: the walk goes on in them after a leaf.
  function* visit(level: number, table: import("./mirror.js").PageTable, base: number, lo: number, hi: number, path: readonly number[]): Gen<void> {
    const span = pagesPerEntry(geo, level);
    for (let i = 0; i < geo.fanout; i++) {
      const g = base + i * span;
      if (g + span <= lo || g >= hi) continue;
      const cell = table.at(i);
      const v = yield cell.load(lbl`tdp_mmu_zap_leafs: read L${level} SPTE (gfn ${g})`);
      if (isShadowPresent(v) && isTable(v)) {
        // tdxmc-live-ok: i and base locate the entry above the leaf the loop heads below reach: functions of that leaf's gfn and level, which they hash
        yield* visit(level - 1, mirror.sp(spteToSp(v)).spt, g, lo, hi, [...path, spteToSp(v)]);
        continue;
      }
      // FROZEN is not shadow-present: the zap skips it like any non-present entry (the kernel only
      // WARNs in tdp_mmu_set_spte() when it is asked to overwrite FROZEN, which a walker that
      // skips non-present entries never does).
      if (!isShadowPresent(v) || !isLeaf(v)) continue;
      // A read-lock zap of an upstream mirror (6.16+) goes through tdp_mmu_set_spte_atomic(): refused
      // by the TDP MMU's KVM_BUG_ON with hooks=split, the removal inside the freeze with unified.
      // The seed (mirror-first) and v11 keep the xchg-to-REMOVED_SPTE zap of the seed's diagram
      // (in '[PATCH v10 049/108] KVM: x86/tdp_mmu: Support TDX private mapping for TDP MMU', Message-ID
      // 9d5595dfe1b5ab77bcb5650bc4d940dd977b0a32.1667110240.git.isaku.yamahata@intel.com, which v11 carries
      // over, an atomic zap would also run the private hooks on a REMOVED_SPTE entry).
      if (shared && c.proto.is("install", "freeze") && !c.proto.is("removal-failure", "v11")) {
        const it = TdpIter.at(mirror, g, level, cell, v);
        // tdxmc-live-ok: i and base locate g's entry at this level, so g and level (hashed) determine them
        yield* tdpMmuZapLeafAtomic(c, it, g, [level, lo, hi]);
        // tdxmc-live-ok: i and base locate g's entry at this level, so g and level (hashed) determine them
      } else if (shared) yield* tdpMmuZapLeafShared(c, cell, g, [level, lo, hi]);
      else {
        checkPreciseZap(c, level, g, lo, hi);
        yield* tdpMmuZapLeafLocked(c, cell, g, v, level);
        pendingFlush = flushes;
        // The leaf is zapped: what the removal observed (the S-EPT walk, locks, epochs, the kick's
        // vCPU modes) is dead; the walk goes on from the next entry of the same pages
        // (tdp_mmu_zap_leafs() keeps only the iterator, whose position is g, level and the pages
        // above; arch/x86/kvm/mmu/tdp_mmu.c, kvm-x86/linux 09c6f74ecb86), and flush_on_ret.
        // tdxmc-live-ok: i and base locate g's entry at this level, so g and level (hashed) determine them
        c.t.loopHead("tdp_mmu_zap_leafs: leaf zapped", g, level, lo, hi, pendingFlush ? 1 : 0, ...frame, ...path);
      }
    }
  }
  if (!c.zapYields || end - start <= 1) {
    // tdxmc-live-ok: pendingFlush is set only by write-lock zaps, whose loop head ("leaf zapped") hashes it; the read-lock ones never set it
    yield* visit(geo.levels, mirror.root, 0, start, end, [-1]);
    yield* flush();
    return;
  }
  const lock = c.kvm.mmuLock;
  for (let g = start; g < end; g++) {
    if (g > start && (yield choose(2, "tdp_mmu_iter_cond_resched: need_resched() || rwlock_needbreak()")) === 1) {
      if (lock.heldBy(c.t.id) === "read") {
        yield* lock.readUnlock(c.t.id, "tdp_mmu_iter_cond_resched: read_unlock(&kvm->mmu_lock)");
        yield* lock.readLock(c.t.id, "tdp_mmu_iter_cond_resched: read_lock(&kvm->mmu_lock)");
      } else {
        yield* flush();
        yield* lock.writeUnlock(c.t.id, "tdp_mmu_iter_cond_resched: write_unlock(&kvm->mmu_lock)");
        yield* lock.writeLock(c.t.id, "tdp_mmu_iter_cond_resched: write_lock(&kvm->mmu_lock)");
      }
    }
    // tdxmc-live-ok: pendingFlush as above; start and end are the thread's one zapped range (each flow zaps once)
    yield* visit(geo.levels, mirror.root, 0, g, g + 1, [-1]);
  }
  yield* flush();
}

/**
 * Teardown of the whole mirror root after the VM is dead (kvm_mmu_uninit_tdp_mmu → zap of the
 * invalidated mirror root): post-order handle_removed_pt() — every child entry frozen, leaves go
 * through remove_external_spte() (KVM_BUG_ON(!hkid) → leaked) or, under the v11 order (HKID already
 * released), tdx_sept_drop_private_spte() → RECLAIM; each table's external page is then reclaimed
 * by free_external_spt() (tdx_sept_free_private_spt()).
 */
export function* tdpMmuTeardownRoot(c: Ctx): Gen<void> {
  const mirror = c.kvm.mirror;
  const geo = mirror.geo;
  const hkidFirst = c.proto.is("teardown-order", "hkid-first");
  function* removePt(level: number, sp: MirrorSp): Gen<void> {
    for (let i = 0; i < geo.fanout; i++) {
      const cell = sp.spt.at(i);
      const g = sp.gfn + i * pagesPerEntry(geo, level);
      const old = yield cell.load(lbl`handle_removed_pt: read L${level} SPTE (gfn ${g})`);
      if (!isShadowPresent(old)) continue;
      yield cell.store(SPTE_FROZEN, lbl`handle_removed_pt: kvm_tdp_mmu_write_spte(sptep, old, ${c.proto.frozenName}) (gfn ${g})`);
      if (isTable(old)) yield* removePt(level - 1, mirror.sp(spteToSp(old)));
      else if (hkidFirst) yield* tdxReclaimLeaf(c, spteToPfn(old));
      else yield* tdxSeptRemovePrivateSpte(c, g, level, spteToPfn(old));
    }
    yield* tdxSeptFreePrivateSpt(c, sp);
  }
  for (let i = 0; i < geo.fanout; i++) {
    const cell = mirror.root.at(i);
    const old = yield cell.load(lbl`__tdp_mmu_zap_root: read root SPTE ${i}`);
    if (!isShadowPresent(old)) continue;
    yield cell.store(SPTE_NP, lbl`__tdp_mmu_zap_root: tdp_mmu_iter_set_spte(root[${i}], SHADOW_NONPRESENT_VALUE)`);
    if (isTable(old)) yield* removePt(geo.levels - 1, mirror.sp(spteToSp(old)));
  }
}
