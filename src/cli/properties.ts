// What each property means (for list, explain, and the matrix legend). The model reports them;
// each cites the public source it rests on (a commit, file@commit, or a Message-ID), or docs/model.md.
export interface PropertyInfo {
  name: string;
  /** Short name for matrix cells. */
  short: string;
  description: string;
  source: string;
}

export const PROPERTY_INFO: readonly PropertyInfo[] = [
  {
    name: "mirror-sept-agreement",
    short: "agreement",
    description:
      "The mirror SPTE and the S-EPT entry of every entry reachable from the mirror root agree whenever that entry is quiescent (not FROZEN/REMOVED, no thread between its mirror update and the end of its S-EPT install or removal); pre-mapped entries (<= 6.18) are exempt.",
    source: "the race in Sean Christopherson's Message-ID Y8m34OEVBfL7Q4Ns@google.com; the freeze that prevents it, 77ac7079e66d (docs/model.md, Properties)",
  },
  {
    name: "mirror-sept-agreement-final",
    short: "agreement-final",
    description: "At the end of every complete execution every entry agrees (entries of detached tables count as not present); an entry still FROZEN/REMOVED at the end is itself a violation.",
    source: "as mirror-sept-agreement, at the end of each execution (docs/model.md, Properties)",
  },
  {
    name: "no-free-while-mapped",
    short: "freed-mapped",
    description: "No PFN is freed or reused by guest_memfd while the S-EPT still maps it (the security property; checked after a KVM_BUG_ON too).",
    source: "the accepted risk named in kvm-x86/linux ce7b5695397b (guest_memfd must not free a page before KVM's invalidation removed it from the S-EPT)",
  },
  {
    name: "no-stale-private-leaf",
    short: "stale-leaf",
    description:
      "No private S-EPT leaf (PENDING, MAPPED or blocked) for a GFN whose memory attribute is shared, or that lies inside the range of an in-progress guest_memfd/attribute invalidation that already zapped it (its own range, not the merged range faults retry on), whenever no invalidation is between its begin and the end of its zap (checked while the HKID is assigned).",
    source: "kvm_mmu_invalidate_begin()/kvm_mmu_invalidate_range_add()/mmu_invalidate_retry_gfn() fence and kvm_vm_set_mem_attributes() (virt/kvm/kvm_main.c)",
  },
  { name: "no-kvm-bug-on", short: "KVM_BUG_ON", description: "No KVM_BUG_ON is reached (a KVM_BUG_ON marks the VM bugged; exploration continues after it).", source: "KVM_BUG_ON sites of the modelled code" },
  { name: "no-warn", short: "WARN", description: "No WARN_ON / WARN_ON_ONCE site and no lockdep assertion of the modelled code fires.", source: "WARN sites of the modelled code" },
  {
    name: "removal-protocol",
    short: "removal-order",
    description: "TDH.MEM.PAGE.REMOVE only after BLOCK, a completed TRACK, and every vCPU leaving the guest since.",
    source: "intel/tdx-module tdh_mem_page_remove (TDX_TLB_TRACKING_NOT_DONE without BLOCK and a completed TRACK); tdx_track() in arch/x86/kvm/vmx/tdx.c@09c6f74ecb86",
  },
  { name: "no-vcpu-retry-never-busy", short: "retry-busy", description: "The second attempt of a no-vCPU retry (tdh_do_no_vcpus) never sees TDX_OPERAND_BUSY.", source: "tdh_do_no_vcpus() (6.19)" },
  { name: "write-lock-never-sees-frozen", short: "writer-frozen", description: "A holder of mmu_lock for write never sees a FROZEN (REMOVED) SPTE.", source: "tdp_mmu_set_spte(): WARN_ON_ONCE(is_frozen_spte(old_spte)) (arch/x86/kvm/mmu/tdp_mmu.c)" },
  { name: "fault-completes", short: "fault-stuck", description: "Every fault eventually completes or returns to the run loop.", source: "the retry loops of kvm_tdp_map_page() and tdx_handle_ept_violation() (docs/model.md, Properties)" },
  // Dynamic PAMT (preset dpamt; docs/model.md "dpamt", D-n)
  {
    name: "pamt-node-iff-referenced",
    short: "pamt-node",
    description: "D-1: whenever no tdx_pamt_get/put is in its section on a 2M range, the range's refcount is non-zero exactly when its 2M PAMT entry is a node (has a page pair).",
    source: "eca9d4a3f1f8 (v6 05/11, 20260526023515.288829-6-rick.p.edgecombe@intel.com)",
  },
  {
    name: "pamt-refcount-covers-module",
    short: "pamt-refcount",
    description: "D-2: after every step, a 2M range's refcount is at least the number of its 4K pages the TDX module has in use (no module use without a reference).",
    source: "5386c5288001, d7fe610e6a66 (v6 04/11, 09/11)",
  },
  { name: "no-missing-pamt-pair", short: "missing-pair", description: "D-3: no SEAMCALL that gives a page to a TD returns TDX_MISSING_PAMT_PAGE_PAIR.", source: "module 1.5.25 helpers.c non_shared_hpa_metadata_check_and_lock()" },
  {
    name: "pamt-add-remove-succeed",
    short: "pamt-add/rm",
    description: "D-4: the TDH.PHYMEM.PAMT.ADD and PAMT.REMOVE issued by tdx_pamt_get/put never fail (a failure is a WARN plus -EIO or a leaked pair).",
    source: "eca9d4a3f1f8 WARN_ON_ONCE sites",
  },
  { name: "pamt-pair-not-reused", short: "pair-reused", description: "D-5: no page the kernel holds as free (page allocator, a vCPU's PAMT cache) is an installed PAMT page.", source: "2c8ca2ba9bb6 (v6 08/11)" },
  {
    name: "pamt-get-in-freeze",
    short: "get-unfrozen",
    description: "D-8: the get of an S-EPT install and its put on error run while the installing thread owns the FROZEN mirror SPTE.",
    source: "d7fe610e6a66 (v6 09/11, 20260526023515.288829-10-rick.p.edgecombe@intel.com)",
  },
  {
    name: "pamt-balanced-final",
    short: "pamt-balance",
    description: "D-9 / D-2 at the end: every range's refcount equals the module's count of pages in use there, and a range has a node exactly when referenced (leaks keep both).",
    source: "d7fe610e6a66",
  },
  {
    name: "pamt-lock-discipline",
    short: "pamt-lock-order",
    description:
      "D-6: pamt_lock is taken only in process context (never from an RCU callback) and never held while acquiring mmu_lock, a mutex or pamt_lock itself: mmu_lock → pamt_lock is the only nesting.",
    source: "eca9d4a3f1f8 (plain spin_lock); softirq report: Yan Zhao, 2026-02-06, RFC v5 thread 20260129011517.3545883-1-seanjc@google.com",
  },
  {
    name: "pamt-running-vcpu",
    short: "pamt-vcpu",
    description: "D-7: the S-EPT map helpers run with kvm_get_running_vcpu() set, and a vCPU's PAMT page cache is drawn from or topped up only by the thread that has that vCPU loaded.",
    source: "d7fe610e6a66 (v6 09/11, KVM_BUG_ON(!vcpu)); 2c8ca2ba9bb6 (the cache has no lock)",
  },
  {
    name: "pamt-cross-td-independent",
    short: "pamt-cross-td",
    description: "D-10: a tdx_pamt_put() by one TD never removes (PAMT.REMOVE) the pair of a range in which another TD still holds a reference.",
    source: "eca9d4a3f1f8 (refcounts per physical range, shared by every TD)",
  },
  // S-EPT huge pages (preset hugepage; docs/model.md "hugepage", H-n). H-1 is mirror-sept-agreement at
  // the 2M level, H-9 is no-vcpu-retry-never-busy for DEMOTE.
  {
    name: "hp-mapping-le-folio",
    short: "hp-folio",
    description: "H-2: after every step, no 2M S-EPT leaf maps a block whose guest_memfd 2M folio was split or freed (the mapping never exceeds the folio).",
    source: "v3 cover (lore 20260106101646.24809-1-yan.y.zhao@intel.com) and its fixup 'Zap mappings before splitting backend folios'",
  },
  {
    name: "hp-split-atomic",
    short: "hp-blocked",
    description: "H-3: outside a split (BLOCK(2M) → TRACK → DEMOTE) or a 2M removal, no 2M S-EPT leaf is BLOCKED unless the VM is bugged.",
    source: "RFC v5 '[RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage' (lore 20260129011517.3545883-1-seanjc@google.com) 39/45 (lore 20260129011517.3545883-40-seanjc@google.com)",
  },
  {
    name: "hp-no-read-lock-split",
    short: "hp-rd-split",
    description: "H-4: no split (BLOCK(2M), DEMOTE) is issued while mmu_lock is held only for read.",
    source: "v3 'KVM: x86: Reject splitting huge pages under shared mmu_lock in TDX'; RFC v5 '[RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage' (lore 20260129011517.3545883-1-seanjc@google.com) lockdep_assert_held_write in tdx_sept_split_private_spte()",
  },
  {
    name: "hp-no-promotion",
    short: "hp-promote",
    description: "H-5: a mirror page table at the 2M level is never replaced by a 2M leaf (KVM never promotes on a mirror root; TDH.MEM.PAGE.PROMOTE is never issued).",
    source: "RFC v5 '[RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage' (lore 20260129011517.3545883-1-seanjc@google.com) 31/45 (lore 20260129011517.3545883-32-seanjc@google.com), v3 06/24",
  },
  {
    name: "hp-accept-split-before-retry",
    short: "hp-accept",
    description: "H-6: after KVM handled the EEQ-ACCEPT exit of a 4K TDG.MEM.PAGE.ACCEPT, GUEST_INHIBIT is set for the block and the S-EPT no longer maps it with a 2M leaf, before the guest retries (no ACCEPT/exit loop).",
    source: "RFC v5 '[RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage' (lore 20260129011517.3545883-1-seanjc@google.com) 40/45, 41/45 (lore 20260129011517.3545883-42-seanjc@google.com)",
  },
  {
    name: "hp-inhibit-monotonic",
    short: "hp-inhibit",
    description: "H-7: once GUEST_INHIBIT is set for a block (under the write lock, never cleared) no fault installs a 2M leaf there.",
    source: "RFC v5 '[RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage' (lore 20260129011517.3545883-1-seanjc@google.com) 40/45; Yan Zhao, lore aF0Kg8FcHVMvsqSo@yzhao56-desk.sh.intel.com",
  },
  {
    name: "hp-precise-zap",
    short: "hp-overzap",
    description: "H-8: a zap of [start, end) (conversion, punch hole) never removes a 2M leaf that reaches outside the range: partly covered blocks are split first.",
    source: "RFC v5 '[RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage' (lore 20260129011517.3545883-1-seanjc@google.com) 43/45, 44/45 (lore 20260129011517.3545883-45-seanjc@google.com); v3 cover letter: 'TDX requires precise zapping'",
  },
  {
    name: "hp-demote-pamt-accounting",
    short: "hp-pamt",
    description: "H-10: after a successful DEMOTE of a 2M page the kernel's refcount of its PAMT range goes 0 → fanout, the module's count of the new node (D-2/D-9 check the rest).",
    source: "RFC v5 '[RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage' (lore 20260129011517.3545883-1-seanjc@google.com) 30/45 (lore 20260129011517.3545883-31-seanjc@google.com)",
  },
  {
    name: "hp-pamt-cache-access",
    short: "hp-cache",
    description: "H-11: a split without a running vCPU uses the per-VM PAMT cache only with kvm_tdx->pamt_cache_lock held.",
    source: "RFC v5 '[RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage' (lore 20260129011517.3545883-1-seanjc@google.com) 44/45 tdx_get_pamt_cache() (lockdep_assert_held)",
  },
  { name: "deadlock", short: "deadlock", description: "No execution ends with unfinished threads all blocked.", source: "engine" },
  { name: "livelock", short: "livelock", description: "No cycle of retries without progress (a fair cycle of the state graph in which no thread marks progress).", source: "engine (docs/design.md)" },
  { name: "assertion", short: "assertion", description: "No assertion in thread code fails.", source: "engine" },
];

export function shortProperty(p: string): string {
  return PROPERTY_INFO.find((x) => x.name === p)?.short ?? p;
}
