// Userspace-driven flows (ioctls, file operations, teardown), each the sequence of atomic steps of
// the kernel path it names (virt/kvm/kvm_main.c, virt/kvm/guest_memfd.c, arch/x86/kvm/mmu/mmu.c,
// arch/x86/kvm/vmx/tdx.c; upstream tdx.c read at kvm-x86/linux 09c6f74ecb86).
import { waitUntil } from "../engine/index.js";
import { C, statusCode, statusName, TDX_SUCCESS } from "../tdx/status.js";
import { kvmBugOn, warnOn, type Ctx, type Gen } from "./context.js";
import { PAGE, SLOT, staleLeafKey, TD_STATE } from "./kvm.js";
import { lbl } from "../engine/label.js";
import { kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuPageFault, kvmUnmapGfnRangePrivate } from "./mmu.js";
import { kvmTdpMmuMap, RET_PF, tdpMmuTeardownRoot, tdpMmuZapLeafs } from "./tdp_mmu.js";
import { seamcall, tdxOperandBusy } from "./tdx.js";
import { tdxTopupPamtCache } from "./tdx_pamt.js";
import { hugeSplitFolios, hugeSplitRange, hugeUpdateMixed } from "./hugepage.js";

/**
 * A bare zap of the private leaves of [start, end) under the lock the preset prescribes:
 * write (kvm_tdp_mmu_unmap_gfn_range() → tdp_mmu_zap_leafs() under write_lock) or, under the
 * seed preset, read (the diagram's read-lock zap).
 */
export function* zapPrivateRange(c: Ctx, start: number, end: number, slotsLock = false): Gen<void> {
  const k = c.kvm;
  // The private zaps upstream can issue run under kvm->slots_lock (memslot deletion,
  // KVM_SET_MEMORY_ATTRIBUTES) or the gmem invalidate lock; `slotsLock` models the former, so a
  // zap can be placed against the TD build (kvm_gmem_populate holds slots_lock).
  if (slotsLock) yield k.slotsLock.lock("zap: mutex_lock(&kvm->slots_lock)");
  if (c.proto.is("zap-lock", "read")) {
    yield* k.mmuLock.readLock(c.t.id, "zap: read_lock(&kvm->mmu_lock)");
    yield* tdpMmuZapLeafs(c, start, end);
    yield* k.mmuLock.readUnlock(c.t.id, "zap: read_unlock(&kvm->mmu_lock)");
  } else {
    yield* k.mmuLock.writeLock(c.t.id, "zap: write_lock(&kvm->mmu_lock)");
    yield* tdpMmuZapLeafs(c, start, end);
    yield* k.mmuLock.writeUnlock(c.t.id, "zap: write_unlock(&kvm->mmu_lock)");
  }
  if (slotsLock) yield k.slotsLock.unlock("zap: mutex_unlock(&kvm->slots_lock)");
  c.t.progress();
}

/** One locked section of kvm_handle_gfn_range(): on_lock (invalidate begin/end) + handler. */
function* invalidateSection(c: Ctx, begin: boolean, start: number, end: number, zap: boolean, who: string, post?: () => Gen<void>): Gen<void> {
  const k = c.kvm;
  yield* k.mmuLock.writeLock(c.t.id, `${who}: KVM_MMU_LOCK (write_lock)`);
  if (begin) {
    // From invalidate_begin to the end of its zap the range's leaves are legitimately still in the
    // S-EPT: the no-stale-private-leaf property waits for this window to close.
    for (let g = start; g < end; g++) c.t.enter(staleLeafKey(g));
    yield* kvmMmuInvalidateBegin(c, start, end);
    // tdxmc-live-ok: start and end are the thread's one zapped range (no flow runs two zapping sections)
    if (zap) yield* kvmUnmapGfnRangePrivate(c, start, end);
    // Ghost: from here to its end this invalidation's own range may hold no private leaf.
    const z = c.kvm.zappedRanges?.[c.t.id] ?? null;
    if (z !== null) yield z.cell.store(1, lbl`ghost: [${start},${end}) invalidated, in progress`);
    for (let g = start; g < end; g++) c.t.exit(staleLeafKey(g));
  } else {
    yield* kvmMmuInvalidateEnd(c);
    const z = c.kvm.zappedRanges?.[c.t.id] ?? null;
    if (z !== null) yield z.cell.store(0, lbl`ghost: [${start},${end}) invalidation ended`);
  }
  if (post) yield* post();
  yield* k.mmuLock.writeUnlock(c.t.id, `${who}: KVM_MMU_UNLOCK`);
}

/**
 * KVM_SET_MEMORY_ATTRIBUTES (virt/kvm/kvm_main.c kvm_vm_set_mem_attributes()): slots_lock;
 * return at once if every GFN already has the attribute; WL section #1 (invalidate begin; private→shared zaps the mirror leaves); store the attributes;
 * WL section #2 (invalidate end).
 */
export function* setMemoryAttributes(c: Ctx, start: number, end: number, toPrivate: boolean): Gen<void> {
  const k = c.kvm;
  const who = "kvm_vm_set_mem_attributes";
  yield k.slotsLock.lock(`${who}: mutex_lock(&kvm->slots_lock)`);
  // "Nothing to do if the entire range has the desired attributes": kvm_range_has_memory_attributes()
  // under slots_lock, before any invalidation (virt/kvm/kvm_main.c kvm_vm_set_mem_attributes(),
  // since 5a475554db1e "KVM: Introduce per-page memory attributes", 6.8). Without it, a no-op
  // conversion of a mapped private GFN would open an invalidation over a legitimately mapped leaf.
  let unchanged = true;
  for (let g = start; g < end && unchanged; g++) {
    const a = yield k.attrs[g]!.load(`${who}: kvm_range_has_memory_attributes: xa_load(mem_attr_array, ${g})`);
    if (a !== (toPrivate ? 1 : 0)) unchanged = false;
  }
  if (unchanged) {
    yield k.slotsLock.unlock(`${who}: mutex_unlock(&kvm->slots_lock) [attributes unchanged]`);
    c.t.progress();
    return;
  }
  // S-EPT huge pages (RFC v5 44/45 tdx_gmem_convert()): private→shared splits the head and tail 2M
  // blocks before the zap, so that the zap is precise.
  if (!toPrivate) yield* hugeSplitRange(c, start, end, "tdx_gmem_convert");
  yield* invalidateSection(c, true, start, end, !toPrivate, `${who}: kvm_pre_set_memory_attributes`);
  for (let g = start; g < end; g++) yield k.attrs[g]!.store(toPrivate ? 1 : 0, `${who}: xa_store(mem_attr_array, ${g}, ${toPrivate ? "PRIVATE" : "0"})`);
  yield* invalidateSection(c, false, start, end, false, `${who}: kvm_arch_post_set_memory_attributes`, k.huge ? () => hugeUpdateMixed(c, start, end) : undefined);
  yield k.slotsLock.unlock(`${who}: mutex_unlock(&kvm->slots_lock)`);
  c.t.progress();
}

/**
 * fallocate(PUNCH_HOLE) on guest_memfd (virt/kvm/guest_memfd.c kvm_gmem_punch_hole()):
 * filemap_invalidate_lock() (gmem-lock=on), kvm_gmem_invalidate_begin() (WL: invalidate begin + zap private leaves), truncate the folios
 * (each page freed unless pinned: a pinned page is leaked), kvm_gmem_invalidate_end().
 */
export function* punchHole(c: Ctx, start: number, end: number): Gen<void> {
  const k = c.kvm;
  const who = "kvm_gmem_punch_hole";
  const gmemLock = c.proto.is("gmem-lock", "on");
  if (gmemLock) yield k.gmemLock.lock(`${who}: filemap_invalidate_lock(inode->i_mapping)`);
  // kvm_gmem_invalidate_begin() walks gmem->bindings: once kvm_gmem_unbind() removed the deleted
  // memslot's range, it finds no memslot, takes no mmu_lock and zaps nothing.
  const bound = yield k.gmemBound.load(`${who}: kvm_gmem_invalidate_begin: xa_for_each_range(&gmem->bindings)`);
  // S-EPT huge pages (RFC v5 43/45, "DO NOT MERGE"): split the head and tail 2M blocks before the zap.
  // tdxmc-live-ok: reached only when bound is 1 (gmem->bindings holds 0 or 1)
  if (bound) yield* hugeSplitRange(c, start, end, `${who}: pre-zap split`);
  // tdxmc-live-ok: reached only when bound is 1 (gmem->bindings holds 0 or 1)
  if (bound) yield* invalidateSection(c, true, start, end, true, `${who}: kvm_gmem_invalidate_begin`);
  for (let g = start; g < end; g++) {
    const pfn = yield k.gmem[g]!.xchg(0, `${who}: truncate_inode_pages_range (gfn ${g})`);
    if (pfn === 0) continue;
    yield k.pages[pfn]!.rmw((v) => ((v >> 2) === 0 ? PAGE.FREED : (v & ~3) | PAGE.LEAKED), `${who}: folio_put → free pfn ${pfn} (leaked if pinned)`);
  }
  yield* hugeSplitFolios(c, start, end, who);
  if (bound) yield* invalidateSection(c, false, start, end, false, `${who}: kvm_gmem_invalidate_end`);
  if (gmemLock) yield k.gmemLock.unlock(`${who}: filemap_invalidate_unlock()`);
  c.t.progress();
}

/** synchronize_srcu(&kvm->srcu): wait until no vCPU is inside an SRCU read-side section. */
function* synchronizeSrcu(c: Ctx, who: string): Gen<void> {
  const k = c.kvm;
  if (k.srcuReaders.length === 0) return;
  yield waitUntil(k.srcuReaders, () => k.srcuReaders.every((r) => r.peek() === 0), `${who}: synchronize_srcu(&kvm->srcu)`);
}

/**
 * KVM_SET_USER_MEMORY_REGION2 deleting the memslot (kvm_set_memslot(): mark the slot
 * KVM_MEMSLOT_INVALID, synchronize_srcu, kvm_arch_flush_shadow_memslot() → kvm_mmu_zap_memslot()
 * under write_lock (private leaves too unless the "memslot-zap" switch says shared-only), delete
 * the slot, synchronize_srcu).
 */
export function* memslotDelete(c: Ctx): Gen<void> {
  const k = c.kvm;
  const who = "kvm_set_memslot(DELETE)";
  yield k.slotsLock.lock(`${who}: mutex_lock(&kvm->slots_lock)`);
  yield k.slot.store(SLOT.INVALID, `${who}: install copy with KVM_MEMSLOT_INVALID`);
  yield* synchronizeSrcu(c, who);
  yield* k.mmuLock.writeLock(c.t.id, `kvm_mmu_zap_memslot: write_lock(&kvm->mmu_lock)`);
  if (c.proto.is("memslot-zap", "private-leaves")) yield* tdpMmuZapLeafs(c, 0, k.nGfns);
  yield* k.mmuLock.writeUnlock(c.t.id, `kvm_mmu_zap_memslot: write_unlock(&kvm->mmu_lock)`);
  yield k.slot.store(SLOT.DELETED, `${who}: remove the slot`);
  yield* synchronizeSrcu(c, who);
  // kvm_free_memslot() → kvm_gmem_unbind() (virt/kvm/guest_memfd.c): the slot's range is removed
  // from gmem->bindings, so a later guest_memfd invalidation (punch hole, release) no longer
  // reaches this VM's page tables.
  const gmemLock = c.proto.is("gmem-lock", "on");
  if (gmemLock) yield k.gmemLock.lock("kvm_gmem_unbind: filemap_invalidate_lock(inode->i_mapping)");
  yield k.gmemBound.store(0, "kvm_free_memslot: kvm_gmem_unbind(): xa_store_range(&gmem->bindings, NULL)");
  if (gmemLock) yield k.gmemLock.unlock("kvm_gmem_unbind: filemap_invalidate_unlock()");
  yield k.slotsLock.unlock(`${who}: mutex_unlock(&kvm->slots_lock)`);
  c.t.progress();
}

/**
 * tdx_vm_state_guard (6.19+, kvm-x86/linux@09c6f74ecb86 tdx_acquire_vm_state_locks()):
 * mutex_lock(kvm->lock), kvm_lock_all_vcpus() (every vcpu->mutex), mutex_lock(slots_lock); the
 * created_vcpus != online_vcpus check is not modelled (every vCPU exists from the start).
 */
function* stateGuardLock(c: Ctx, who: string): Gen<void> {
  const k = c.kvm;
  yield k.kvmLock.lock(`${who}: tdx_vm_state_guard: mutex_lock(&kvm->lock)`);
  for (let v = 0; v < k.nVcpus; v++) yield k.vcpuMutex[v]!.lock(`${who}: tdx_vm_state_guard: kvm_lock_all_vcpus() (vcpu${v}->mutex)`);
  yield k.slotsLock.lock(`${who}: tdx_vm_state_guard: mutex_lock(&kvm->slots_lock)`);
}
function* stateGuardUnlock(c: Ctx, who: string): Gen<void> {
  const k = c.kvm;
  yield k.slotsLock.unlock(`${who}: tdx_vm_state_guard: mutex_unlock(&kvm->slots_lock)`);
  for (let v = k.nVcpus - 1; v >= 0; v--) yield k.vcpuMutex[v]!.unlock(`${who}: tdx_vm_state_guard: kvm_unlock_all_vcpus() (vcpu${v}->mutex)`);
  yield k.kvmLock.unlock(`${who}: tdx_vm_state_guard: mutex_unlock(&kvm->lock)`);
}

/**
 * KVM_TDX_INIT_MEM_REGION for one page (tdx_vcpu_init_mem_region() → kvm_gmem_populate() →
 * tdx_gmem_post_populate()), issued on vCPU 0:
 *   locks: 6.19+ tdx_vm_state_guard (state-guard=on; slots_lock is its last lock); ≤6.18 the
 *        vCPU ioctl's vcpu->mutex and slots_lock. Then kvm_gmem_populate() takes guest_memfd's
 *        filemap_invalidate_lock exclusively around post_populate (gmem-lock=on), which excludes
 *        punch hole and release of the same file;
 *   6.19 (in-freeze): page_add_src = src; kvm_tdp_mmu_map_private_pfn() (read lock, RET_PF_RETRY
 *        loop) whose leaf install issues PAGE.ADD inside the freeze; page_add_src = NULL; MR.EXTEND.
 *   ≤6.18 (premap): kvm_tdp_map_page() pre-maps the mirror leaf (nr_premapped++); then outside
 *        mmu_lock TDH.MEM.PAGE.ADD, nr_premapped--, MR.EXTEND.
 *   MR.EXTEND error: 6.19+ TDX_BUG_ON_2 (mr-extend-error=bug); ≤6.18 -EIO only (eio).
 */
export function* initMemRegion(c: Ctx, gfn: number): Gen<void> {
  const k = c.kvm;
  const who = "tdx_gmem_post_populate";
  const guard = c.proto.is("state-guard", "on");
  const ioctlVcpu = k.nVcpus > 0 ? k.vcpuMutex[0]! : null;
  if (guard) yield* stateGuardLock(c, "tdx_vcpu_unlocked_ioctl(KVM_TDX_INIT_MEM_REGION)");
  else {
    if (ioctlVcpu) yield ioctlVcpu.lock("kvm_vcpu_ioctl(KVM_TDX_INIT_MEM_REGION): mutex_lock(&vcpu0->mutex)");
    yield k.slotsLock.lock("tdx_vcpu_init_mem_region: mutex_lock(&kvm->slots_lock)");
  }
  const gmemLock = c.proto.is("gmem-lock", "on");
  if (gmemLock) yield k.gmemLock.lock("kvm_gmem_populate: filemap_invalidate_lock(file->f_mapping)");
  const unlockAll = function* (why: string): Gen<void> {
    if (gmemLock) yield k.gmemLock.unlock(`kvm_gmem_populate: filemap_invalidate_unlock()${why}`);
    if (guard) yield* stateGuardUnlock(c, "tdx_vcpu_unlocked_ioctl(KVM_TDX_INIT_MEM_REGION)");
    else {
      yield k.slotsLock.unlock(`tdx_vcpu_init_mem_region: mutex_unlock(&kvm->slots_lock)${why}`);
      if (ioctlVcpu) yield ioctlVcpu.unlock("kvm_vcpu_ioctl: mutex_unlock(&vcpu0->mutex)");
    }
  };
  // kvm_gmem_populate() → __kvm_gmem_get_pfn(): the folio backing gfn (a hole gets a new one).
  const alt = k.altPfnOf(gfn);
  const prev = yield k.gmem[gfn]!.rmw((v) => (v === 0 ? alt : v), "kvm_gmem_populate: __kvm_gmem_get_pfn()");
  const pfn = prev === 0 ? alt : prev;
  const inFreeze = c.proto.is("page-add", "in-freeze");
  if (inFreeze) yield k.pageAddSrc.store(1, `${who}: kvm_tdx->page_add_src = src`);
  // kvm_tdp_mmu_map_private_pfn(): mmu_topup_memory_caches() once, not again on RET_PF_RETRY.
  yield* tdxTopupPamtCache(c);
  for (;;) {
    // pfn is live across the loop (a hole punched before the populate gets a new folio): it must be
    // part of the declared locals, or the local states of the two pfns are one node.
    c.t.loopHead("kvm_tdp_mmu_map_private_pfn: retry", gfn, pfn);
    const dead = yield k.vmBugged.load("kvm_tdp_mmu_map_private_pfn: kvm_check_request(KVM_REQ_VM_DEAD)");
    if (dead) break;
    yield* k.mmuLock.readLock(c.t.id, "kvm_tdp_mmu_map_private_pfn: read_lock(&kvm->mmu_lock)");
    const r = yield* kvmTdpMmuMap(c, gfn, pfn);
    yield* k.mmuLock.readUnlock(c.t.id, "kvm_tdp_mmu_map_private_pfn: read_unlock(&kvm->mmu_lock)");
    if (r === RET_PF.RETRY) continue;
    warnOn(c, r !== RET_PF.FIXED, `kvm_tdp_mmu_map_private_pfn: ${r} is not RET_PF_FIXED`);
    if (!inFreeze) {
      // ≤6.18: TDH.MEM.PAGE.ADD outside mmu_lock; BUSY → -EBUSY to userspace, other → -EIO; the
      // pre-mapped mirror entry stays (nr_premapped keeps counting it, finalize is refused).
      const s = yield* seamcall(c, "TDH.MEM.PAGE.ADD", () => c.tdx.tdhMemPageAdd(gfn, 1, pfn, 1), { locked: true });
      if (s !== TDX_SUCCESS) {
        yield* unlockAll(" [-EBUSY/-EIO]");
        c.t.progress();
        return;
      }
      const n = yield k.nrPremapped.add(-1, `${who}: atomic64_dec(&kvm_tdx->nr_premapped)`);
      yield* kvmBugOn(c, n <= 0, `${who}: nr_premapped was 0`);
    }
    break;
  }
  if (inFreeze) yield k.pageAddSrc.store(0, `${who}: kvm_tdx->page_add_src = NULL`);
  const s = yield* seamcall(c, "TDH.MR.EXTEND", () => c.tdx.tdhMrExtend(gfn));
  if (c.proto.is("mr-extend-error", "bug")) yield* kvmBugOn(c, s !== TDX_SUCCESS, `${who}: TDH.MR.EXTEND ${statusName(s)} (TDX_BUG_ON_2)`);
  // mr-extend-error=eio: -EIO to userspace, nothing else.
  yield* unlockAll("");
  c.t.progress();
}

/**
 * KVM_TDX_FINALIZE_VM (tdx_td_finalize()): ≤6.18 refuses while pages are only pre-mapped
 * (nr_premapped != 0); TDH.MR.FINALIZE (BUSY → -EBUSY to userspace, other → KVM_BUG_ON);
 * kvm_tdx->state = RUNNABLE; smp_wmb(); pre_fault_allowed = true.
 */
export function* finalizeVm(c: Ctx): Gen<void> {
  const k = c.kvm;
  const who = "tdx_td_finalize";
  // 6.19+: tdx_vm_ioctl() takes tdx_vm_state_guard; ≤6.18 kvm_arch_vm_ioctl() holds kvm->lock.
  const guard = c.proto.is("state-guard", "on");
  if (guard) yield* stateGuardLock(c, "tdx_vm_ioctl(KVM_TDX_FINALIZE_VM)");
  else yield k.kvmLock.lock("tdx_vm_ioctl: mutex_lock(&kvm->lock)");
  yield* finalizeLocked(c, who);
  if (guard) yield* stateGuardUnlock(c, "tdx_vm_ioctl(KVM_TDX_FINALIZE_VM)");
  else yield k.kvmLock.unlock("tdx_vm_ioctl: mutex_unlock(&kvm->lock)");
  c.t.progress();
}

function* finalizeLocked(c: Ctx, who: string): Gen<void> {
  const k = c.kvm;
  if (c.proto.is("page-add", "premap")) {
    const n = yield k.nrPremapped.read(`${who}: atomic64_read(&kvm_tdx->nr_premapped)`);
    if (n !== 0) return; // -EINVAL
  }
  const s = yield* seamcall(c, "TDH.MR.FINALIZE", () => c.tdx.tdhMrFinalize());
  if (tdxOperandBusy(s)) return; // -EBUSY
  if (yield* kvmBugOn(c, s !== TDX_SUCCESS, `${who}: TDH.MR.FINALIZE ${statusName(s)}`)) return;
  yield k.tdState.store(TD_STATE.RUNNABLE, `${who}: kvm_tdx->state = TD_STATE_RUNNABLE; smp_wmb()`);
  yield k.preFaultAllowed.store(1, `${who}: kvm->arch.pre_fault_allowed = true`);
}

/**
 * KVM_PRE_FAULT_MEMORY for one private GFN (kvm_arch_vcpu_pre_fault_memory() →
 * kvm_tdp_page_prefault(), 6.19 name; kvm_tdp_map_page() before): refused unless
 * pre_fault_allowed; an ordinary prefetch fault retried while RET_PF_RETRY (-EIO if the VM is dead).
 */
export function* preFaultMemory(c: Ctx, gfn: number): Gen<void> {
  const k = c.kvm;
  const allowed = yield k.preFaultAllowed.load("kvm_arch_vcpu_pre_fault_memory: kvm->arch.pre_fault_allowed");
  if (!allowed) return; // -EOPNOTSUPP
  // kvm_vcpu_pre_fault_memory() (virt/kvm/kvm_main.c) holds kvm->srcu around the whole range, so
  // a memslot deletion's synchronize_srcu() waits for it.
  const srcu = c.vcpu >= 0 ? k.srcuReaders[c.vcpu] : undefined;
  if (srcu) yield srcu.store(1, "kvm_vcpu_pre_fault_memory: srcu_read_lock(&kvm->srcu)");
  for (;;) {
    c.t.loopHead("kvm_tdp_page_prefault: retry", gfn);
    const dead = yield k.vmBugged.load("kvm_tdp_page_prefault: kvm_check_request(KVM_REQ_VM_DEAD)");
    if (dead) break;
    const r = yield* kvmMmuPageFault(c, gfn, true);
    if (r !== RET_PF.RETRY) break; // done, or -errno (-EAGAIN: back to userspace)
  }
  if (srcu) yield srcu.store(0, "kvm_vcpu_pre_fault_memory: srcu_read_unlock(&kvm->srcu)");
  c.t.progress();
}

/**
 * KVM_TDX_INIT_VCPU (tdx_td_vcpu_init()): TDH.VP.INIT, which takes the TDR exclusively (leaf
 * version 1, module ≥ 1.5.05). Locks: 6.19+ tdx_vm_state_guard (state-guard=on) and, since Rick
 * Edgecombe's "KVM: TDX: Take MMU lock around tdh_vp_init()" (Message-ID
 * 20251028002824.1470939-1-rick.p.edgecombe@intel.com, Fixes 02ab57707bdb), mmu_lock for write
 * (vp-init-lock=write); 6.16 only the vCPU's own vcpu->mutex. Any error, BUSY included, bugs the
 * VM: KVM_BUG_ON in 6.16 (torvalds/linux@3829d81b6958), TDX_BUG_ON in 6.19+
 * (kvm-x86/linux@09c6f74ecb86).
 */
export function* vpInit(c: Ctx, vcpu: number): Gen<void> {
  const k = c.kvm;
  const guard = c.proto.is("state-guard", "on");
  const who = "tdx_vcpu_unlocked_ioctl(KVM_TDX_INIT_VCPU)";
  if (guard) yield* stateGuardLock(c, who);
  else yield k.vcpuMutex[vcpu]!.lock(`kvm_vcpu_ioctl(KVM_TDX_INIT_VCPU): mutex_lock(&vcpu${vcpu}->mutex)`);
  const locked = c.proto.is("vp-init-lock", "write");
  if (locked) yield* k.mmuLock.writeLock(c.t.id, "tdx_td_vcpu_init: write_lock(&kvm->mmu_lock)");
  const s = yield* seamcall(c, "TDH.VP.INIT", () => c.tdx.tdhVpInit(vcpu));
  yield* kvmBugOn(c, s !== TDX_SUCCESS, `tdx_td_vcpu_init: TDH.VP.INIT ${statusName(s)}${c.proto.is("state-guard", "on") ? " (TDX_BUG_ON)" : ""}`);
  if (locked) yield* k.mmuLock.writeUnlock(c.t.id, "tdx_td_vcpu_init: write_unlock(&kvm->mmu_lock)");
  if (guard) yield* stateGuardUnlock(c, who);
  else yield k.vcpuMutex[vcpu]!.unlock(`kvm_vcpu_ioctl: mutex_unlock(&vcpu${vcpu}->mutex)`);
  c.t.progress();
}

/**
 * TD teardown (kvm_destroy_vm(), tdx_mmu_release_hkid(), tdx_vm_destroy()), with vCPUs possibly still
 * running: userspace may close the guest_memfd while vCPU fds are open, and kvm_gmem_release() does not
 * wait for vCPUs to stop (virt/kvm/guest_memfd.c @ ColinIanKing/linux-next 0726d3e164f1).
 *   leaves-first (upstream): kvm_gmem_release() (virt/kvm/guest_memfd.c; no synchronize_rcu since
 *     67b43038ce14, Message-ID 20241104084303.29909-1-yan.y.zhao@intel.com): slots_lock,
 *     filemap_invalidate_lock, WRITE_ONCE(slot->gmem.file, NULL), invalidate begin + zap every
 *     private leaf with the HKID assigned (full BLOCK/TRACK/kick/REMOVE against running vCPUs),
 *     invalidate end (seq++), unlock. A fault that starts later gets -EFAULT from
 *     kvm_gmem_get_pfn(); one that got its PFN before is made stale by the invalidation.
 *   hkid-first ([PATCH v11 018/113] kvm_arch_flush_shadow_all()): no zap before the HKID goes.
 * Then kvm_destroy_vm(), which cannot start before every vCPU fd is closed (the vCPUs hold VM
 * references): tdx_mmu_release_hkid() (VP.FLUSH, VPFLUSHDONE, cache WB + KEY.FREEID), then the
 * mirror root is torn down and S-EPT pages reclaimed (leaves-first) or leaves dropped with RECLAIM
 * (hkid-first).
 */
export function* teardown(c: Ctx): Gen<void> {
  const k = c.kvm;
  const hkidFirst = c.proto.is("teardown-order", "hkid-first");
  if (!hkidFirst) {
    const who = "kvm_gmem_release";
    yield k.slotsLock.lock(`${who}: mutex_lock(&kvm->slots_lock)`);
    const gmemLock = c.proto.is("gmem-lock", "on");
    if (gmemLock) yield k.gmemLock.lock(`${who}: filemap_invalidate_lock()`);
    if (yield k.gmemBound.load(`${who}: xa_for_each(&gmem->bindings)`)) {
      yield k.gmemFile.store(0, `${who}: WRITE_ONCE(slot->gmem.file, NULL)`);
      yield* invalidateSection(c, true, 0, k.nGfns, true, `${who}: kvm_gmem_invalidate_begin`);
      yield* invalidateSection(c, false, 0, k.nGfns, false, `${who}: kvm_gmem_invalidate_end`);
    }
    if (gmemLock) yield k.gmemLock.unlock(`${who}: filemap_invalidate_unlock()`);
    yield k.slotsLock.unlock(`${who}: mutex_unlock(&kvm->slots_lock)`);
  }
  if (k.liveTeardown) yield waitUntil([k.liveVcpus], () => k.liveVcpus.peek() === 0, "kvm_destroy_vm: last VM reference dropped (every vCPU fd closed)");
  // tdx_mmu_release_hkid()
  for (let v = 0; v < k.nVcpus; v++) {
    const s = yield* seamcall(c, "TDH.VP.FLUSH", () => c.tdx.tdhVpFlush(v));
    warnOn(c, s !== TDX_SUCCESS && statusCode(s) !== C.VCPU_NOT_ASSOCIATED, `tdx_mmu_release_hkid: TDH.VP.FLUSH ${statusName(s)}`);
  }
  let s = yield* seamcall(c, "TDH.MNG.VPFLUSHDONE", () => c.tdx.tdhMngVpflushdone());
  if (!warnOn(c, s !== TDX_SUCCESS, `tdx_mmu_release_hkid: TDH.MNG.VPFLUSHDONE ${statusName(s)}`)) {
    s = yield* seamcall(c, "TDH.MNG.KEY.FREEID", () => c.tdx.tdhMngKeyFreeid());
    if (!warnOn(c, s !== TDX_SUCCESS, `tdx_mmu_release_hkid: TDH.MNG.KEY.FREEID ${statusName(s)}`))
      yield k.hkid.store(0, "tdx_mmu_release_hkid: tdx_hkid_free() (is_hkid_assigned() now false)");
  }
  // kvm_mmu_uninit_tdp_mmu(): zap the mirror root
  yield* k.mmuLock.writeLock(c.t.id, "kvm_mmu_zap_all: write_lock(&kvm->mmu_lock)");
  yield* tdpMmuTeardownRoot(c);
  yield* k.mmuLock.writeUnlock(c.t.id, "kvm_mmu_zap_all: write_unlock(&kvm->mmu_lock)");
  c.t.progress();
}
