// The fault path and the invalidation fence: arch/x86/kvm/mmu/mmu.c (and virt/kvm/kvm_main.c).
import { PROP, type Ctx, type Gen } from "./context.js";
import { packInvalidate, SLOT, unpackInvalidate } from "./kvm.js";
import { kvmTdpMmuMap, RET_PF, tdpMmuZapLeafs } from "./tdp_mmu.js";
import { EAGAIN, EFAULT } from "./tdx.js";
import { tdxTopupPamtCache } from "./tdx_pamt.js";
import { hugeFaultMaxLevel } from "./hugepage.js";
import { lbl } from "../engine/label.js";

function inRange(v: number, gfn: number): boolean {
  const u = unpackInvalidate(v);
  return u.count > 0 && gfn >= u.start && gfn < u.end;
}

/**
 * The in-progress part of mmu_invalidate_retry_gfn() (include/linux/kvm_host.h): in_progress and
 * gfn inside [range_start, range_end). One load of the packed cell; with the wide fields (a VM of
 * more than 255 GFNs) the count, then — only when an invalidation is in progress — the range.
 */
function* invalidateRetryGfn(c: Ctx, gfn: number, label: string): Gen<boolean> {
  const k = c.kvm;
  if (k.invalidateWide === null) return inRange(yield k.invalidate.load(label), gfn);
  if ((yield k.invalidate.load(label)) === 0) return false;
  const start = yield k.invalidateWide.start.load(`${label}: mmu_invalidate_range_start`);
  const end = yield k.invalidateWide.end.load(`${label}: mmu_invalidate_range_end`);
  return gfn >= start && gfn < end;
}

/**
 * kvm_mmu_page_fault() → kvm_tdp_page_fault() → kvm_tdp_mmu_page_fault() for a private GPA.
 * Returns a RET_PF_* value (positive) or -errno (exit to userspace).
 *   kvm_mmu_faultin_pfn(): snapshot mmu_invalidate_seq (smp_rmb), KVM_MEMSLOT_INVALID → retry,
 *   unlocked in-progress pre-check → retry, private/shared attribute mismatch → memory-fault exit
 *   (-EFAULT), kvm_gmem_get_pfn() (allocates a folio for a hole);
 *   read_lock(mmu_lock); is_page_fault_stale() → retry; kvm_tdp_mmu_map(); read_unlock().
 */
export function* kvmMmuPageFault(c: Ctx, gfn: number, prefetch = false, frame: readonly number[] = []): Gen<number> {
  const k = c.kvm;
  // mmu_topup_memory_caches() → topup_external_cache (Dynamic PAMT, d7fe610e6a66): every attempt.
  yield* tdxTopupPamtCache(c);
  const mmuSeq = yield k.invalidateSeq.read("kvm_mmu_faultin_pfn: fault->mmu_seq = kvm->mmu_invalidate_seq; smp_rmb()");
  const slot = yield k.slot.load("kvm_mmu_faultin_pfn: slot->flags & KVM_MEMSLOT_INVALID");
  // 3ccbf6f47098 (6.18): a prefetch (KVM_PRE_FAULT_MEMORY) fault on a slot being deleted returns
  // -EAGAIN so that the ioctl drops kvm->srcu; before it, RET_PF_RETRY like any fault.
  if (slot === SLOT.INVALID) return prefetch && c.proto.is("prefault-invalid-slot", "eagain") ? EAGAIN : RET_PF.RETRY;
  if (slot === SLOT.DELETED) return EFAULT; // no memslot: private access → memory-fault exit
  if (yield* invalidateRetryGfn(c, gfn, "kvm_mmu_faultin_pfn: mmu_invalidate_retry_gfn_unsafe()")) return RET_PF.RETRY;
  const attr = yield k.attrs[gfn]!.load("kvm_mmu_faultin_pfn: kvm_mem_is_private(kvm, gfn)");
  if (attr === 0) return EFAULT; // kvm_mmu_prepare_memory_fault_exit(): private fault on a shared GFN
  // kvm_gmem_get_pfn(): no file once kvm_gmem_release() cleared slot->gmem.file (get_file_active()
  // fails after the last reference is gone) → -EFAULT, a memory-fault exit to userspace.
  if (k.liveTeardown && (yield k.gmemFile.load("kvm_gmem_get_pfn: kvm_gmem_get_file(slot)")) === 0) return EFAULT;
  // kvm_gmem_get_pfn(): the folio backing gfn; a hole is filled with a new folio.
  const alt = k.altPfnOf(gfn);
  const prev = yield k.gmem[gfn]!.rmw((v) => (v === 0 ? alt : v), "kvm_mmu_faultin_pfn_private: kvm_gmem_get_pfn()");
  const pfn = prev === 0 ? alt : prev;
  // S-EPT huge pages (hugepage=on only): the folio's order and the TD state bound the level.
  const maxLevel = yield* hugeFaultMaxLevel(c, gfn);

  yield* k.mmuLock.readLock(c.t.id, "kvm_tdp_mmu_page_fault: read_lock(&kvm->mmu_lock)");
  let r: number;
  let stale = false;
  if (c.proto.is("stale-check", "on")) {
    // is_page_fault_stale() → mmu_invalidate_retry_gfn(): in_progress covering gfn, or seq changed.
    stale = yield* invalidateRetryGfn(c, gfn, "is_page_fault_stale: mmu_invalidate_in_progress / range");
    if (!stale) {
      const seq2 = yield k.invalidateSeq.read("is_page_fault_stale: mmu_invalidate_seq != fault->mmu_seq");
      stale = seq2 !== mmuSeq;
    }
  }
  if (stale) r = RET_PF.RETRY;
  else {
    // Not stale: from here kvm_tdp_mmu_map() reads only the fault (gfn, pfn, max level) and the
    // SPTEs it walks; the seq snapshot, the memslot flags, the attribute and the cache top-up
    // results are dead (arch/x86/kvm/mmu/mmu.c kvm_tdp_mmu_page_fault(), kvm-x86/linux 09c6f74ecb86).
    c.t.loopHead("kvm_tdp_mmu_page_fault: not stale", gfn, pfn, maxLevel, prefetch ? 1 : 0, ...frame);
    r = yield* kvmTdpMmuMap(c, gfn, pfn, maxLevel, [prefetch ? 1 : 0, ...frame]);
  }
  // After the walk only its result is live: kvm_tdp_mmu_page_fault() unlocks and returns r
  // (arch/x86/kvm/mmu/tdp_mmu.c kvm_tdp_mmu_map() returns ret; mmu.c kvm_tdp_mmu_page_fault(),
  // kvm-x86/linux 09c6f74ecb86): the SPTEs the walk read, the snapshot of mmu_invalidate_seq, the
  // pfn and the SEAMCALLs' internal observations are dead. `frame`: the caller's live locals.
  c.t.loopHead("kvm_tdp_mmu_page_fault: map done", gfn, r, prefetch ? 1 : 0, ...frame);
  yield* k.mmuLock.readUnlock(c.t.id, "kvm_tdp_mmu_page_fault: read_unlock(&kvm->mmu_lock)");
  return r;
}

/** kvm_mmu_invalidate_begin() + kvm_mmu_invalidate_range_add(), mmu_lock held for write. */
export function* kvmMmuInvalidateBegin(c: Ctx, start: number, end: number): Gen<void> {
  const w = c.kvm.invalidateWide;
  if (w !== null) {
    // kvm_mmu_invalidate_begin(): in_progress++ (the first one resets the range); range_add():
    // the first range is stored, later ones widen it (min start, max end). mmu_lock held for write.
    const old = yield c.kvm.invalidate.rmw((v) => v + 1, `kvm_mmu_invalidate_begin: mmu_invalidate_in_progress++ [${start},${end})`);
    if (old === 0) {
      yield w.start.store(start, `kvm_mmu_invalidate_range_add: mmu_invalidate_range_start = ${start}`);
      yield w.end.store(end, `kvm_mmu_invalidate_range_add: mmu_invalidate_range_end = ${end}`);
    } else {
      yield w.start.rmw((v) => Math.min(v, start), `kvm_mmu_invalidate_range_add: mmu_invalidate_range_start = min(.., ${start})`);
      yield w.end.rmw((v) => Math.max(v, end), `kvm_mmu_invalidate_range_add: mmu_invalidate_range_end = max(.., ${end})`);
    }
    return;
  }
  yield c.kvm.invalidate.rmw((v) => {
    const u = unpackInvalidate(v);
    if (u.count === 0) return packInvalidate(1, start, end);
    return packInvalidate(u.count + 1, Math.min(u.start, start), Math.max(u.end, end));
  }, lbl`kvm_mmu_invalidate_begin: mmu_invalidate_in_progress++, range_add [${start},${end})`);
}

/** kvm_mmu_invalidate_end(), mmu_lock held for write: seq++ (smp_wmb) then in_progress--. */
export function* kvmMmuInvalidateEnd(c: Ctx): Gen<void> {
  yield c.kvm.invalidateSeq.add(1, "kvm_mmu_invalidate_end: mmu_invalidate_seq++; smp_wmb()");
  if (c.kvm.invalidateWide !== null) {
    yield c.kvm.invalidate.rmw((v) => v - 1, "kvm_mmu_invalidate_end: mmu_invalidate_in_progress--");
    return;
  }
  yield c.kvm.invalidate.rmw((v) => {
    const u = unpackInvalidate(v);
    return u.count <= 1 ? 0 : packInvalidate(u.count - 1, u.start, u.end);
  }, "kvm_mmu_invalidate_end: mmu_invalidate_in_progress--");
}

/**
 * kvm_unmap_gfn_range() with the PRIVATE filter → kvm_tdp_mmu_unmap_gfn_range() on the mirror
 * root → tdp_mmu_zap_leafs(); mmu_lock held by the caller (for write upstream).
 */
export function* kvmUnmapGfnRangePrivate(c: Ctx, start: number, end: number): Gen<void> {
  yield* tdpMmuZapLeafs(c, start, end);
}

export { PROP };
