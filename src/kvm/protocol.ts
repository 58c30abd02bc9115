// Protocols: named sets of design decisions of KVM's TDX private-memory code.
//
// Each switch is one decision of the real kernel history; each value names the commit, patch or
// function it comes from and is labelled: "upstream" (merged), "historical" (posted but replaced),
// "seed" (as the seed's diagram draws it) or "hypothetical" (an ablation nobody shipped). The flows
// in this folder differ between presets only where a switch says so.

export type ValueKind = "upstream" | "historical" | "seed" | "hypothetical";

export interface SwitchValue {
  readonly value: string;
  readonly kind: ValueKind;
  /** Commit, patch or kernel function the value comes from. */
  readonly source: string;
}

export interface Switch {
  readonly id: string;
  readonly title: string;
  readonly values: readonly SwitchValue[];
  /** Other switches this one only makes sense with, in words. */
  readonly depends?: string;
}

export const SWITCHES: readonly Switch[] = [
  {
    id: "install",
    title: "how a read-lock install reaches the S-EPT",
    values: [
      { value: "freeze", kind: "upstream", source: "77ac7079e66d set_external_spte_present() (FROZEN_SPTE); v10/v11 tdp_mmu_set_spte_atomic() freeze_spte (REMOVED_SPTE)" },
      { value: "mirror-first", kind: "seed", source: "seed diagram / the timeline in Sean Christopherson's reply to [PATCH v11 018/113] (Message-ID Y8m34OEVBfL7Q4Ns@google.com): cmpxchg the final value, SEAMCALL from handle_changed_spte() afterwards" },
    ],
  },
  {
    id: "seamcall-lock",
    title: "per-VM SEAMCALL spinlock around AUG/ADD, PAGE.REMOVE and RECLAIM",
    values: [
      { value: "off", kind: "upstream", source: "v10 changelog: 'removed seamcall_lock and return -EAGAIN'" },
      { value: "on", kind: "historical", source: "pre-v10 'KVM: TDX: Protect private mapping related SEAMCALLs with spinlock' (kvm_tdx->seamcall_lock)" },
    ],
  },
  {
    id: "zap-lock",
    title: "which mmu_lock mode private leaf zaps take",
    values: [
      { value: "write", kind: "upstream", source: "tdp_mmu_zap_leafs() under write lock; tdx_sept_remove_private_spte() lockdep_assert_held_write (6.19, kvm-x86/linux 2ff14116982c); [PATCH v11 043/113] (Message-ID 79043b9a80ae36f738340138dffd23551263a2fb.1673539699.git.isaku.yamahata@intel.com)" },
      { value: "read", kind: "seed", source: "seed diagram: xchg to REMOVED_SPTE under the read lock (21a36ac6b6c7-style atomic zap)" },
    ],
  },
  {
    id: "install-busy",
    title: "how TDX_OPERAND_BUSY from AUG/SEPT.ADD is handled",
    values: [
      { value: "ebusy", kind: "upstream", source: "tdx_mem_page_aug()/tdx_sept_link_private_spt(): -EBUSY → RET_PF_RETRY (6.16+)" },
      { value: "retry-eagain", kind: "historical", source: "[PATCH v10 088/108] seamcall_sept() (Message-ID c27dbc2238786708db5d2efdc2c1ea181039dc15.1667110240.git.isaku.yamahata@intel.com): up to SEAMCALL_RETRY_MAX=16 extra tries, then -EAGAIN → fault retried by re-entering the guest" },
      { value: "retry-then-bug", kind: "historical", source: "TDX MMU part 2 v1 [PATCH 09/21] tdx_seamcall_sept() (Message-Id 20240904030751.117579-10-rick.p.edgecombe@intel.com): retry TDX_ERROR_SEPT_BUSY up to SEAMCALL_RETRY_MAX=16 times; a BUSY still there is a KVM bug ('zero tolerance', Sean in the same thread, Zt-k30MHhMTxpFKQ@google.com): KVM_BUG_ON" },
    ],
  },
  {
    id: "removal-failure",
    title: "what a BUSY or failed removal SEAMCALL does",
    values: [
      { value: "no-vcpu-retry", kind: "upstream", source: "tdh_do_no_vcpus() (6.19) / tdx_no_vcpus_enter_start() (6.16): set wait_for_sept_zap, kick, retry once, then KVM_BUG_ON" },
      { value: "v11", kind: "historical", source: "[PATCH v11 057/113] (Message-ID 2749eb2e634df67937aade6dc46b1c86defcfee5.1673539699.git.isaku.yamahata@intel.com) tdx_sept_zap_private_spte(): BLOCK -EAGAIN only WARNed, nothing rolled back; PAGE.REMOVE and WBINVD retried without bound; other errors KVM_BUG_ON" },
      { value: "bug", kind: "hypothetical", source: "no retry at all: any error, BUSY included, is KVM_BUG_ON" },
    ],
    depends: "Only no-vcpu-retry sets wait_for_sept_zap; the entry gate that reads it is the switch entry-gate.",
  },
  {
    id: "tlb-track",
    title: "TLB tracking inside the removal",
    values: [
      { value: "track-then-kick", kind: "upstream", source: "tdx_track(): TDH.MEM.TRACK then kvm_make_all_cpus_request(KVM_REQ_OUTSIDE_GUEST_MODE)" },
      { value: "kick-then-track", kind: "historical", source: "[PATCH v11 057/113] (Message-ID 2749eb2e634df67937aade6dc46b1c86defcfee5.1673539699.git.isaku.yamahata@intel.com) tdx_track(): atomic_inc(tdh_mem_track), kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH) (vCPUs spin until TRACK done), TDH.MEM.TRACK, atomic_dec; via kvm_flush_remote_tlbs()" },
      { value: "no-kick", kind: "hypothetical", source: "TDH.MEM.TRACK without forcing vCPUs out" },
      { value: "none", kind: "hypothetical", source: "no TDH.MEM.TRACK and no kick at all (the TLB tracking TDH.MEM.PAGE.REMOVE requires, tdx-module tdh_mem_page_remove: TLB_TRACKING_NOT_DONE, is skipped)" },
    ],
  },
  {
    id: "restore-on-failure",
    title: "restore the old mirror value when the install SEAMCALL fails",
    values: [
      { value: "on", kind: "upstream", source: "set_external_spte_present(): __kvm_tdp_mmu_write_spte(sptep, old_spte) on error; [PATCH v10 049/108] the same (Message-ID 9d5595dfe1b5ab77bcb5650bc4d940dd977b0a32.1667110240.git.isaku.yamahata@intel.com)" },
      { value: "off", kind: "hypothetical", source: "leave the entry as it is on failure (FROZEN forever under freeze)" },
    ],
  },
  {
    id: "local-retry",
    title: "local retry of RET_PF_RETRY in the EPT-violation handler",
    values: [
      { value: "break-invalid-slot", kind: "upstream", source: "tdx_handle_ept_violation() local retry loop; 2bc2694fe20b 'KVM: TDX: Do not retry locally when the retry is caused by invalid memslot' (6.18)" },
      { value: "on", kind: "upstream", source: "'KVM: TDX: Retry locally in TDX EPT violation handler on RET_PF_RETRY' (6.16; series 'KVM: TDX SEPT SEAMCALL retry', Message-ID 20250113020925.18789-1-yan.y.zhao@intel.com), no invalid-memslot break" },
      { value: "off", kind: "historical", source: "v11: RET_PF_RETRY re-enters the guest" },
    ],
    depends: "The invalid-memslot break exists only from 6.18, so upstream-6.16 uses 'on'.",
  },
  {
    id: "stale-check",
    title: "is_page_fault_stale() re-check of the invalidation sequence under mmu_lock",
    values: [
      { value: "on", kind: "upstream", source: "mmu.c is_page_fault_stale() / mmu_invalidate_retry_gfn()" },
      { value: "off", kind: "hypothetical", source: "install without re-checking mmu_invalidate_seq" },
    ],
  },
  {
    id: "vp-init-lock",
    title: "mmu_lock held for write around TDH.VP.INIT",
    values: [
      { value: "write", kind: "upstream", source: "Rick Edgecombe's fix of 02ab57707bdb (6.19 work): tdx_td_vcpu_init() takes mmu_lock for write" },
      { value: "none", kind: "historical", source: "a50f673f25e0 tdx_td_vcpu_init() as merged in 6.16" },
    ],
  },
  {
    id: "teardown-order",
    title: "teardown order",
    values: [
      { value: "leaves-first", kind: "upstream", source: "kvm_gmem_release() zaps every private leaf with the HKID assigned; tdx_mmu_release_hkid(); then handle_removed_pt() reclaims tables" },
      { value: "hkid-first", kind: "historical", source: "[PATCH v11 018/113] (Message-ID 68fa413e61d7471657174bc7c83bde5c842e251f.1673539699.git.isaku.yamahata@intel.com) kvm_arch_flush_shadow_all(): flush_shadow_all_private (release HKID) then kvm_mmu_zap_all() with RECLAIM" },
    ],
  },
  {
    id: "vp-enter-busy",
    title: "TDH.VP.ENTER returning BUSY",
    values: [
      { value: "fastpath", kind: "upstream", source: "tdx_exit_handlers_fastpath() (kvm-x86/linux arch/x86/kvm/vmx/tdx.c@09c6f74ecb86): tdx_operand_busy() → EXIT_FASTPATH_EXIT_HANDLED (since v2 of 'KVM: TDX: TDX hypercalls may exit to userspace', Message-ID 20250211025442.3071607-1-binbin.wu@linux.intel.com), the vCPU leaves guest mode and goes through the run loop (so a kick is acknowledged); [PATCH v10 088/108] tdx_handle_exit() returning 1 on BUSY|SEPT behaves the same" },
      { value: "reenter", kind: "historical", source: "Binbin Wu, '[PATCH 1/7] KVM: TDX: Add a place holder to handle TDX VM exit' (Message-ID 20241201035358.2193078-2-binbin.wu@linux.intel.com): TDX_ERROR_SEPT_BUSY or BUSY|TD_EPOCH → EXIT_FASTPATH_REENTER_GUEST: TDH.VP.ENTER again with IRQs off and vcpu->mode still IN_GUEST_MODE; a kick is acknowledged when the vCPU leaves that loop, which vcpu_enter_guest() does at the next BUSY once kvm_vcpu_exit_request() sees EXITING_GUEST_MODE (arch/x86/kvm/x86.c). v2 (Message-ID 20250211025442.3071607-1-binbin.wu@linux.intel.com) replaced it by EXIT_FASTPATH_EXIT_HANDLED" },
    ],
  },
  {
    id: "entry-gate",
    title: "tdx_vcpu_run() refuses TD entry while wait_for_sept_zap is set",
    values: [
      { value: "on", kind: "upstream", source: "tdx_vcpu_run(): READ_ONCE(kvm_tdx->wait_for_sept_zap) → EXIT_FASTPATH_EXIT_HANDLED, read after vcpu_enter_guest() published IN_GUEST_MODE with smp_store_mb (kvm-x86/linux arch/x86/kvm/vmx/tdx.c@09c6f74ecb86; added with 'KVM: TDX: Kick off vCPUs when SEAMCALL is busy during TD page removal', [PATCH 4/7] of 'KVM: TDX SEPT SEAMCALL retry', 2025-01-13, Message-ID 20250113020925.18789-1-yan.y.zhao@intel.com)" },
      { value: "off", kind: "historical", source: "[PATCH v11 057/113] (Message-ID 2749eb2e634df67937aade6dc46b1c86defcfee5.1673539699.git.isaku.yamahata@intel.com) and TDX MMU part 2 (2024): no gate; a kicked vCPU re-enters at once" },
      { value: "before-mode", kind: "hypothetical", source: "the flag read before vcpu->mode = IN_GUEST_MODE is published: the ordering smp_store_mb() in vcpu_enter_guest() prevents (a kick that snapshots the vCPU as outside misses it)" },
    ],
    depends: "Only removal-failure=no-vcpu-retry sets the flag; with any other value every entry-gate value reads false.",
  },
  {
    id: "prefault-invalid-slot",
    title: "KVM_PRE_FAULT_MEMORY on a memslot being deleted (the ioctl holds kvm->srcu)",
    values: [
      { value: "eagain", kind: "upstream", source: "3ccbf6f47098 'KVM: x86/mmu: Return -EAGAIN if userspace deletes/moves memslot during prefault' (6.18; Message-ID 20250822070347.26451-1-yan.y.zhao@intel.com): the prefetch fault returns -EAGAIN, the ioctl drops kvm->srcu" },
      { value: "retry", kind: "upstream", source: "6.10–6.17 kvm_tdp_map_page(): RET_PF_RETRY is retried in the kernel while holding kvm->srcu, so synchronize_srcu() in the deletion never returns (until a signal)" },
    ],
  },
  {
    id: "memslot-zap",
    title: "what memslot deletion zaps",
    values: [
      { value: "private-leaves", kind: "upstream", source: "kvm_arch_flush_shadow_memslot() → kvm_mmu_zap_memslot() with PRIVATE|SHARED filter (also [PATCH v11 043/113])" },
      { value: "shared-only", kind: "hypothetical", source: "kvm_mmu_zap_all_fast(): direct roots only" },
    ],
  },
  {
    id: "page-add",
    title: "where build-time TDH.MEM.PAGE.ADD is issued",
    values: [
      { value: "in-freeze", kind: "upstream", source: "6.19 kvm-x86/linux 6b5b71ffabf9 'KVM: TDX: ADD pages to the TD image while populating mirror EPT entries' (page_add_src; [PATCH v4 16/28] of 'KVM: x86/mmu: TDX post-populate cleanups', Message-ID 20251030200951.3402865-1-seanjc@google.com)" },
      { value: "premap", kind: "upstream", source: "6.16–6.18 tdx_gmem_post_populate(): mirror pre-mapped (nr_premapped), PAGE.ADD later outside mmu_lock" },
    ],
  },
  {
    id: "pinning",
    title: "page pinning in the S-EPT paths",
    values: [
      { value: "off", kind: "upstream", source: "6.19 kvm-x86/linux ce7b5695397b 'KVM: TDX: Drop superfluous page pinning in S-EPT management' ([PATCH v4 08/28], Message-ID 20251030200951.3402865-9-seanjc@google.com)" },
      { value: "on", kind: "upstream", source: "≤6.18 get_page() in tdx_sept_set_private_spte(), put_page() after REMOVE/WBINVD" },
    ],
  },
  {
    id: "hooks",
    title: "how the TDP MMU dispatches mirror changes to TDX",
    values: [
      { value: "split", kind: "upstream", source: "6.16–6.19 kvm_x86_ops link_external_spt / set_external_spte / remove_external_spte / free_external_spt; __tdp_mmu_set_spte_atomic() KVM_BUG_ONs an atomic mirror change to non-present (v10/v11: link/set/zap/remove_private_spte)" },
      { value: "unified", kind: "upstream", source: "7.2 one set_external_spte(kvm, gfn, old_spte, new_spte, level): 291bcb3a7583, 12d595795de7, 6eae9ce9461c; removal propagated from handle_changed_spte() and atomic zaps inside the freeze (28c77a037804); KVM_BUG_ONs moved into TDX (6b1280a738f9, 40342185fd2b)" },
    ],
    depends: "With unified, a read-lock zap (zap-lock=read with install=freeze) goes through tdp_mmu_set_spte_atomic() and runs the removal inside the freeze; its only guard is lockdep (switch lockdep).",
  },
  {
    id: "lockdep",
    title: "lockdep assertions (lockdep_assert_held / _held_write on mmu_lock)",
    values: [
      { value: "on", kind: "upstream", source: "CONFIG_PROVE_LOCKING builds: a failed lockdep_assert_held_write() in tdx_sept_remove_leaf_spte()/tdh_do_no_vcpus()/tdx_track() splats (reported as no-warn)" },
      { value: "off", kind: "upstream", source: "production builds: lockdep assertions compile to nothing; 7.2 keeps only lockdep for 'removal needs the write lock' (Sean Christopherson, 2026-02-05, in the thread of [RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage, Message-ID 20260129011517.3545883-1-seanjc@google.com)" },
    ],
  },
  {
    id: "old-spte-refresh",
    title: "iter->old_spte after a failed cmpxchg on a mirror SPTE",
    values: [
      { value: "on", kind: "upstream", source: "02eaaffdd865 'KVM: x86/mmu: Update iter->old_spte if cmpxchg64 on mirror SPTE \"fails\"' (7.2)" },
      { value: "off", kind: "upstream", source: "≤6.19 set_external_spte_present(): a failed freeze leaves iter->old_spte stale (harmless for faults, which re-walk)" },
    ],
  },
  {
    id: "mirror-ad",
    title: "a fault that finds a present mirror leaf (A/D bits of mirror SPTEs)",
    values: [
      { value: "same-spte", kind: "upstream", source: "cc7ed3358e41 'KVM: x86/mmu: Always set SPTE's dirty bit if it's created as writable' (6.13): the SPTE a second fault computes equals the present one, so tdp_mmu_map_handle_target_level() returns RET_PF_SPURIOUS and no present→present change reaches set_external_spte_present() (whose KVM_BUG_ON(was_present) became unreachable: Yan Zhao, Message-ID aImxfy6mJbtq0yP9@yzhao56-desk.sh.intel.com)" },
      { value: "propagate", kind: "historical", source: "before cc7ed3358e41 make_spte() left D clear when the old SPTE was already writable, so a vCPU that lost the fault race computed W=1,D=0 over the present W=1,D=1 (Sean Christopherson, Message-ID ZuOCXarfAwPjYj19@google.com); tdp_mmu_set_spte_atomic() sent the present→present change through the S-EPT hook: KVM_BUG_ON(was_present) in handle_changed_private_spte() (v11) / set_external_spte_present(), which does not return, then TDH.MEM.PAGE.AUG re-issued (Isaku Yamahata, '[PATCH] KVM: x86/tdp_mmu: Trigger the callback only when an interesting change', Message-ID 6eecc450d0326c9bedfbb34096a0279410923c8d.1726182754.git.isaku.yamahata@intel.com)" },
      { value: "filter", kind: "historical", source: "the remedy Isaku Yamahata posted in '[PATCH] KVM: x86/tdp_mmu: Trigger the callback only when an interesting change' (Message-ID 6eecc450d0326c9bedfbb34096a0279410923c8d.1726182754.git.isaku.yamahata@intel.com; not merged, Sean asked for the make_spte() fix instead): a change of only A/D bits of a present mirror leaf is stored in the mirror without calling the backend" },
    ],
  },
  {
    id: "spt-free",
    title: "freeing of a removed S-EPT page table page",
    values: [
      { value: "immediate", kind: "upstream", source: "7.2 tdx_sept_free_private_spt(kvm, sp): reclaim, free_page() at once or leak, sp->external_spt = NULL (b35bda696e44, 110d4d263450)" },
      { value: "rcu", kind: "upstream", source: "≤6.19 handle_removed_pt(): free_external_spt() → int, WARN + leak on failure, else freed with the mirror page by call_rcu(tdp_mmu_free_sp_rcu_callback)" },
    ],
  },
  {
    id: "state-guard",
    title: "tdx_vm_state_guard around the TDX VM and vCPU ioctls",
    values: [
      { value: "on", kind: "upstream", source: "6.19 kvm-x86/linux 15945e9ec195 'KVM: TDX: Guard VM state transitions with \"all\" the locks': tdx_vm_state_guard (kvm->lock, every vcpu->mutex, slots_lock) around INIT_VM, FINALIZE_VM (tdx_vm_ioctl) and INIT_VCPU, INIT_MEM_REGION (tdx_vcpu_unlocked_ioctl); kvm-x86/linux@09c6f74ecb86 arch/x86/kvm/vmx/tdx.c DEFINE_CLASS(tdx_vm_state_guard)" },
      { value: "off", kind: "upstream", source: "6.16–6.18: INIT_VCPU and INIT_MEM_REGION are ordinary vCPU ioctls (only that vCPU's vcpu->mutex; INIT_MEM_REGION adds slots_lock), FINALIZE_VM under kvm->lock (a50f673f25e0 era)" },
    ],
  },
  {
    id: "gmem-lock",
    title: "guest_memfd filemap_invalidate_lock between populate and punch hole",
    values: [
      { value: "on", kind: "upstream", source: "virt/kvm/guest_memfd.c: kvm_gmem_populate() and kvm_gmem_punch_hole() / kvm_gmem_release() take filemap_invalidate_lock() exclusively (every version since populate exists)" },
      { value: "off", kind: "hypothetical", source: "populate and punch hole of the same file not excluded (the model before this lock was modelled)" },
    ],
  },
  {
    id: "mr-extend-error",
    title: "what an error from TDH.MR.EXTEND does",
    values: [
      { value: "bug", kind: "upstream", source: "6.19+ tdx_gmem_post_populate(): TDX_BUG_ON_2(err, TDH_MR_EXTEND, …) → -EIO, VM bugged (kvm-x86/linux ad44aa4c5d3f 'KVM: TDX: Bug the VM if extending the initial measurement fails'; arch/x86/kvm/vmx/tdx.c@09c6f74ecb86)" },
      { value: "eio", kind: "upstream", source: "≤6.18 tdx_gmem_post_populate(): any error, BUSY included, → -EIO to userspace, no KVM_BUG_ON (torvalds/linux@3829d81b6958 arch/x86/kvm/vmx/tdx.c)" },
    ],
  },
  // ---- Dynamic PAMT (queued in tip x86/tdx, 2026-09-04; src/kvm/tdx_pamt.ts, src/tdx/dpamt.ts) ----
  {
    id: "dpamt",
    title: "Dynamic PAMT: 4K PAMT page pairs per 2M range, got and put by KVM's S-EPT hooks",
    values: [
      { value: "off", kind: "upstream", source: "every released kernel through 7.2: static PAMT, no tdx_pamt_get/put" },
      { value: "on", kind: "upstream", source: "queued, not released: tip x86/tdx 1e3d79135327 'Enable Dynamic PAMT', d7fe610e6a66 'KVM/TDX: Get/put PAMT pages when (un)mapping private memory' (v6 09/11, 20260526023515.288829-10-rick.p.edgecombe@intel.com)" },
    ],
  },
  {
    id: "pamt-refcount",
    title: "how tdx_pamt_get/put update the per-2M refcount",
    values: [
      { value: "lock-always", kind: "upstream", source: "queued eca9d4a3f1f8 'Handle multiple callers in tdx_pamt_get/put()' (v6 05/11, 20260526023515.288829-6-rick.p.edgecombe@intel.com): every refcount decision under pamt_lock" },
      { value: "fast-path", kind: "historical", source: "v6 06/11 'Optimize tdx_pamt_get/put()' (20260526023515.288829-7-rick.p.edgecombe@intel.com): atomic_inc_not_zero() fast path, atomic_dec_and_lock(); no such commit in the queued set (not confirmed whether folded)" },
      { value: "dec-and-test", kind: "hypothetical", source: "race R2 (Kiryl Shutsemau's analysis quoted by Kai Huang, RFC v5 thread 2026-02-10): atomic_dec_and_test() then spin_lock in put, HPA_RANGE_NOT_FREE taken as success in get (v4) without v2's lost-race re-check" },
    ],
    depends: "Only with dpamt=on.",
  },
  {
    id: "pamt-lock",
    title: "the global pamt_lock around the refcount decision and PAMT.ADD/REMOVE",
    values: [
      { value: "global", kind: "upstream", source: "queued eca9d4a3f1f8: DEFINE_SPINLOCK(pamt_lock); kept global after Yan Zhao's cross-pair BUSY analysis (aNX6V6OSIwly1hu4@yzhao56-desk.sh.intel.com, 2025-09-26)" },
      { value: "off", kind: "hypothetical", source: "no pamt_lock: concurrent first gets on one range both issue PAMT.ADD" },
    ],
    depends: "Only with dpamt=on.",
  },
  {
    id: "pamt-put",
    title: "where the leaf removal puts the guest page's PAMT reference",
    values: [
      { value: "after-remove", kind: "upstream", source: "d7fe610e6a66 tdx_sept_remove_leaf_spte(): tdx_pamt_put() last, after REMOVE, WBINVD and tdx_quirk_reset_paddr(); none if a step bugged the VM" },
      { value: "before-remove", kind: "hypothetical", source: "put before TDH.MEM.PAGE.REMOVE: a deliberate accounting bug, so that the refcount property (pamt-refcount-covers-module) is shown to catch it" },
    ],
    depends: "Only with dpamt=on.",
  },
  {
    id: "pending-exit",
    title: "KVM's handling of an EPT-violation exit for a PENDING page of a TD with SEPT_VE_DISABLE (the guest touched memory it has not accepted)",
    values: [
      { value: "vm-dead", kind: "upstream", source: "'KVM: TDX: Detect unexpected SEPT violations due to pending SPTEs' (Yan Zhao; TDX \"the rest\" v2, Message-ID 20250227012021.1778144-3-binbin.wu@linux.intel.com; in 6.16): tdx_is_sept_violation_unexpected_pending() → kvm_vm_dead(), -EIO" },
      { value: "fault", kind: "historical", source: "v10/v11 ([PATCH v11 057/113], Message-ID 2749eb2e634df67937aade6dc46b1c86defcfee5.1673539699.git.isaku.yamahata@intel.com) had no such check (it was a new patch in TDX \"the rest\" v1): tdx_handle_ept_violation() sends every private SEPT violation to __vmx_handle_ept_violation() as a write fault, which finds the present leaf; the guest touches the page again" },
    ],
    depends: "Only matters with the TD attribute SEPT_VE_DISABLE (scenario module.pendingVeDisable), which no built-in scenario sets.",
  },
  // ---- S-EPT huge pages (RFC v5, 2026-01-28; src/kvm/hugepage.ts, src/tdx/tdh_mem_page_demote.ts) ----
  {
    id: "hugepage",
    title: "S-EPT huge pages: 2M private mappings, split by BLOCK → TRACK → DEMOTE under the write lock, one-way GUEST_INHIBIT",
    values: [
      { value: "off", kind: "upstream", source: "every released kernel through 7.2 and the queued Dynamic PAMT: private memory mapped at 4K only (tdx_gmem_private_max_mapping_level() = PG_LEVEL_4K)" },
      { value: "on", kind: "historical", source: "posted, not merged: '[RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage' (Sean Christopherson, 2026-01-28, lore 20260129011517.3545883-1-seanjc@google.com) 29/45-45/45 with the thread's fixes (mirror-root split API 2026-01-29, PAMT get before BLOCK 2026-02-10); v3 20260106101646.24809-1-yan.y.zhao@intel.com" },
    ],
    depends: "Only with dpamt=on (RFC v5 combines them); hugepage=on alone runs the huge-page paths without PAMT pairs.",
  },
  {
    id: "hugepage-split",
    title: "the pre-zap split of partly covered 2M blocks on private→shared conversion and punch hole",
    values: [
      { value: "head-tail", kind: "historical", source: "RFC v5 44/45 tdx_gmem_convert() and 43/45 (DO NOT MERGE) punch-hole hook: pamt_cache_lock, write_lock, split the head and tail 2M blocks of [start, end) before the zap (v3 14-16/24: 'TDX requires precise zapping')" },
      { value: "none", kind: "hypothetical", source: "no pre-zap split: tdp_mmu_zap_leafs() removes every 2M leaf the range touches, so the guest loses accepted pages outside the converted or punched range" },
    ],
    depends: "Only with hugepage=on.",
  },
  {
    id: "demote-pamt-lock",
    title: "pamt_lock around the split's DEMOTE (race R5: DEMOTE's PAMT pair walk vs another TD's PAMT.ADD/REMOVE)",
    values: [
      { value: "off", kind: "historical", source: "RFC v5 30/45 as posted (lore 20260129011517.3545883-31-seanjc@google.com): DEMOTE with a pair in R12/R13 outside pamt_lock; Yan Zhao (2026-06-11, reply to 30/45) observed BUSY|R12 on DEMOTE and BUSY|RCX on a concurrent PAMT.ADD" },
      { value: "held", kind: "historical", source: "the fix agreed in the RFC v5 thread (Rick Edgecombe 2026-06-29, Yan Zhao 2026-06-30, replies to 30/45, lore 20260129011517.3545883-31-seanjc@google.com): hold pamt_lock around DEMOTE, lock order mmu_lock (write) → pamt_lock, refcount 0 → 512 under it; not reposted" },
    ],
    depends: "Only with hugepage=on and dpamt=on.",
  },
  {
    id: "split-pamt-cache",
    title: "the PAMT page cache of a split without a running vCPU (conversion, punch hole)",
    values: [
      { value: "per-vm", kind: "historical", source: "RFC v5 44/45 (lore 20260129011517.3545883-45-seanjc@google.com) tdx_get_pamt_cache(): without a running vCPU, kvm_tdx->pamt_cache under pamt_cache_lock" },
      { value: "vcpu0", kind: "hypothetical", source: "a split without a running vCPU borrows vCPU 0's cache, which has no lock (2c8ca2ba9bb6: it belongs to the thread that has the vCPU loaded): the D-7 ablation" },
    ],
    depends: "Only with hugepage=on and dpamt=on.",
  },
] as const;

export type SwitchValues = Readonly<Record<string, string>>;

export interface Preset {
  readonly name: string;
  readonly description: string;
  readonly values: SwitchValues;
  /** Switch ids whose value in this preset is assumed (not documented for that version). */
  readonly assumed: readonly string[];
  /** REMOVED_SPTE before the v19 rename. */
  readonly frozenName: string;
  /**
   * The TDX module version the preset's kernel ran on, when it is not the model's default
   * (1.5.25). A scenario's own `module.version` (and --module-version) beats it.
   */
  readonly module?: "1.0" | "1.5.16" | "1.5.20" | "1.5.25";
}

/** TDX module model default (the newest module the model has). */
export const DEFAULT_MODULE_VERSION = "1.5.25";

/** The module version a cell runs: the scenario's pin, else the preset's, else the default. */
export function moduleVersionFor(scenarioPin: string | undefined, preset: string): string {
  return scenarioPin ?? PRESETS[preset]?.module ?? DEFAULT_MODULE_VERSION;
}

const V11: Record<string, string> = {
  install: "freeze",
  "seamcall-lock": "off",
  "zap-lock": "write",
  "install-busy": "retry-eagain",
  "removal-failure": "v11",
  "tlb-track": "kick-then-track",
  "restore-on-failure": "on",
  "local-retry": "off",
  "stale-check": "on",
  "vp-init-lock": "none",
  "teardown-order": "hkid-first",
  "vp-enter-busy": "fastpath",
  "entry-gate": "off",
  "memslot-zap": "private-leaves",
  "prefault-invalid-slot": "retry",
  "page-add": "premap",
  pinning: "on",
  hooks: "split",
  lockdep: "on",
  "old-spte-refresh": "off",
  "spt-free": "rcu",
  "state-guard": "off",
  "gmem-lock": "on",
  "mr-extend-error": "eio",
  "mirror-ad": "propagate",
  "pending-exit": "fault",
};

const U616: Record<string, string> = {
  install: "freeze",
  "seamcall-lock": "off",
  "zap-lock": "write",
  "install-busy": "ebusy",
  "removal-failure": "no-vcpu-retry",
  "tlb-track": "track-then-kick",
  "restore-on-failure": "on",
  "local-retry": "on",
  "stale-check": "on",
  "vp-init-lock": "none",
  "teardown-order": "leaves-first",
  "vp-enter-busy": "fastpath",
  "entry-gate": "on",
  "memslot-zap": "private-leaves",
  "prefault-invalid-slot": "retry",
  "page-add": "premap",
  pinning: "on",
  hooks: "split",
  lockdep: "on",
  "old-spte-refresh": "off",
  "spt-free": "rcu",
  "state-guard": "off",
  "gmem-lock": "on",
  "mr-extend-error": "eio",
  "mirror-ad": "same-spte",
  "pending-exit": "vm-dead",
};

const U619: Record<string, string> = { ...U616, "prefault-invalid-slot": "eagain", "local-retry": "break-invalid-slot", "vp-init-lock": "write", "page-add": "in-freeze", pinning: "off", "state-guard": "on", "mr-extend-error": "bug" };

const U72: Record<string, string> = { ...U619, hooks: "unified", "old-spte-refresh": "on", "spt-free": "immediate" };

const DPAMT: Record<string, string> = { ...U72, dpamt: "on", "pamt-refcount": "lock-always", "pamt-lock": "global", "pamt-put": "after-remove" };

export const PRESETS: Readonly<Record<string, Preset>> = {
  seed: {
    name: "seed",
    description: "the design as the seed's diagram draws it: mirror-first installs, private zaps under the read lock, everything else as v11",
    values: { ...V11, install: "mirror-first", "zap-lock": "read" },
    assumed: ["page-add", "mr-extend-error", "prefault-invalid-slot"],
    frozenName: "REMOVED_SPTE",
    // The v10/v11 patches ran on TDX module 1.0 (the v10 "retry SEAMCALL on TDX_OPERAND_BUSY|SEPT"
    // answers 1.0's exclusive tree lock; qizhangz/tdx-module@9359de5).
    module: "1.0",
  },
  "seed-seamcall-lock": {
    name: "seed-seamcall-lock",
    description: "seed plus the pre-v10 per-VM seamcall_lock around AUG/ADD, PAGE.REMOVE and RECLAIM",
    values: { ...V11, install: "mirror-first", "zap-lock": "read", "seamcall-lock": "on" },
    assumed: ["page-add", "mr-extend-error", "prefault-invalid-slot"],
    frozenName: "REMOVED_SPTE",
    // The v10/v11 patches ran on TDX module 1.0 (the v10 "retry SEAMCALL on TDX_OPERAND_BUSY|SEPT"
    // answers 1.0's exclusive tree lock; qizhangz/tdx-module@9359de5).
    module: "1.0",
  },
  v11: {
    name: "v11",
    description: "the v10/v11 TDX patches as posted ([PATCH v11 000/113] KVM TDX basic feature support, Message-ID cover.1673539699.git.isaku.yamahata@intel.com, 2023-01-12)",
    values: V11,
    assumed: ["page-add", "mr-extend-error", "prefault-invalid-slot"],
    frozenName: "REMOVED_SPTE",
    // The v10/v11 patches ran on TDX module 1.0 (the v10 "retry SEAMCALL on TDX_OPERAND_BUSY|SEPT"
    // answers 1.0's exclusive tree lock; qizhangz/tdx-module@9359de5).
    module: "1.0",
  },
  "upstream-6.16": {
    name: "upstream-6.16",
    description: "Linux 6.16 (TDX host support merged)",
    values: U616,
    assumed: ["vp-enter-busy"],
    frozenName: "FROZEN_SPTE",
  },
  "upstream-6.19": {
    name: "upstream-6.19",
    description: "Linux 6.19 (post-populate cleanups, no pinning, PAGE.ADD inside the freeze)",
    values: U619,
    assumed: [],
    frozenName: "FROZEN_SPTE",
  },
  "upstream-7.2": {
    name: "upstream-7.2",
    description: "Linux 7.2 (one set_external_spte(old, new) hook, removal from handle_changed_spte, S-EPT pages freed at once, iter->old_spte refreshed)",
    values: U72,
    assumed: [],
    frozenName: "FROZEN_SPTE",
  },
  // Dynamic PAMT as queued: the series sits on 7.2's unified set_external_spte hook (v6 09/11 adds
  // get/put to tdx_sept_map_leaf_spte / tdx_sept_map_nonleaf_spte / tdx_sept_remove_leaf_spte).
  dpamt: {
    name: "dpamt",
    description: "Dynamic PAMT as queued in tip x86/tdx (2026-09): tdx_pamt_get/put with per-2M refcounts, the global pamt_lock and per-vCPU PAMT page caches, on top of upstream-7.2",
    values: DPAMT,
    assumed: ["pamt-refcount"],
    frozenName: "FROZEN_SPTE",
  },
  // S-EPT huge pages as posted: RFC v5 combines them with Dynamic PAMT (src/kvm/hugepage.ts).
  hugepage: {
    name: "hugepage",
    description: "S-EPT huge pages as posted (RFC v5, 2026-01-28, with the fixes agreed in its thread, pamt_lock around DEMOTE included): dpamt plus 2M private mappings, split by BLOCK → TRACK → DEMOTE under the write lock, one-way GUEST_INHIBIT, no promotion on mirror roots",
    values: { ...DPAMT, hugepage: "on", "hugepage-split": "head-tail", "demote-pamt-lock": "held", "split-pamt-cache": "per-vm" },
    assumed: ["pamt-refcount"],
    frozenName: "FROZEN_SPTE",
  },
};

export const DEFAULT_PRESET = "upstream-7.2";

/** The resolved protocol a model instance runs: the preset's values plus overrides, validated. */
export class Protocol {
  readonly values: Readonly<Record<string, string>>;
  constructor(
    readonly preset: Preset,
    overrides: Readonly<Record<string, string>> = {},
  ) {
    const v: Record<string, string> = { ...preset.values };
    for (const [id, val] of Object.entries(overrides)) {
      const sw = SWITCHES.find((s) => s.id === id);
      if (!sw) throw new Error(`unknown switch '${id}' (known: ${SWITCHES.map((s) => s.id).join(", ")})`);
      if (!sw.values.some((x) => x.value === val)) throw new Error(`switch '${id}': unknown value '${val}' (values: ${sw.values.map((x) => x.value).join(", ")})`);
      v[id] = val;
    }
    this.values = v;
  }
  get(id: string): string {
    const v = this.values[id];
    if (v === undefined) throw new Error(`protocol: switch '${id}' has no value`);
    return v;
  }
  is(id: string, value: string): boolean {
    return this.get(id) === value;
  }
  get frozenName(): string {
    return this.preset.frozenName;
  }
}

export function resolveProtocol(preset: string, overrides: Readonly<Record<string, string>> = {}): Protocol {
  const p = PRESETS[preset];
  if (!p) throw new Error(`unknown preset '${preset}' (known: ${Object.keys(PRESETS).join(", ")})`);
  return new Protocol(p, overrides);
}
