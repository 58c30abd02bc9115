// Why each built-in scenario's expected verdict holds on each preset: for an expected violation,
// the upstream fix or the mail that describes the bug; for "verified", the defense that makes it
// hold. Attached to the scenarios as Scenario.why (src/kvm/scenarios.ts); test/kvm/why.test.ts
// checks that every expectation has one.
//
// These texts are printed by `tdxmc explain SCENARIO`: they cite public sources only (commit ids,
// file@commit, Message-IDs), spelled out in each text. The sources read: 6.16 =
// torvalds/linux@3829d81b6958, 7.2 = kvm-x86/linux@09c6f74ecb86 (arch/x86/kvm/vmx/tdx.c).

const WL = "every private leaf zap takes mmu_lock for write (tdp_mmu_zap_leafs(); lockdep_assert_held_write in the removal), so it runs wholly before or after the read-lock fault, and the install is frozen (77ac7079e66d set_external_spte_present())";
const V11_WL = "the posted v10/v11 tdp_mmu_set_spte_atomic() already froze private installs with REMOVED_SPTE and every private zap ran under the write lock (lockdep_assert_held_write in handle_changed_private_spte(), [PATCH v11 043/113], Message-ID 79043b9a80ae36f738340138dffd23551263a2fb.1673539699.git.isaku.yamahata@intel.com) — reasoned from the series, not run";
const SEED_RACE = "the email's race (Sean Christopherson, Message-ID Y8m34OEVBfL7Q4Ns@google.com): the installer's mirror-first cmpxchg, a read-lock zap whose BLOCK finds nothing, then the AUG maps a page the mirror no longer has — fixed upstream by the freeze (77ac7079e66d) and write-lock zaps";
const FENCE = "the invalidation fence: kvm_mmu_invalidate_begin() before the zap and is_page_fault_stale() under mmu_lock make a fault that read its PFN earlier retry";
const VP_EX = "TDH.VP.INIT (leaf version 1) takes the TDR exclusively (tdh_vp_init.c, module ≥1.5.05)";
const R72 = "7.2 keeps 6.19's interleavings for every upstream caller: only where TDX is called from changed (28c77a037804)";

// Module 1.0 (the old presets' module, protocol.ts) = qizhangz/tdx-module@9359de5 (TDX 1.0).
const M10_EX = "on module 1.0 every host S-EPT leaf takes the S-EPT tree lock exclusively (qizhangz/tdx-module@9359de5 tdh_mem_page_aug.c, tdh_mem_range_block.c: lock_sept_check_and_walk_private_gpa(..., TDX_LOCK_EXCLUSIVE, ...))";

const same = (text: string, presets: string[]): Record<string, string> => Object.fromEntries(presets.map((p) => [p, text]));
const UP = ["upstream-6.16", "upstream-6.19", "upstream-7.2"];
const OLD = ["seed", "seed-seamcall-lock", "v11"];

/** A fault on a present 4K leaf before cc7ed3358e41 (seed, v11: switch mirror-ad=propagate). */
const PRE_AD = "4K only: the fault on an already present writable leaf computes D=0 (make_spte() before cc7ed3358e41, 6.13) and tdp_mmu_set_spte_atomic() sends the A/D-only present→present change to the S-EPT hook: KVM_BUG_ON(was_present) (Isaku Yamahata's '[PATCH] KVM: x86/tdp_mmu: Trigger the callback only when an interesting change', 6eecc450d0326c9bedfbb34096a0279410923c8d.1726182754.git.isaku.yamahata@intel.com)";

export const WHY: Record<string, Record<string, string>> = {
  "seed-race": {
    seed: SEED_RACE,
    "seed-seamcall-lock": `${SEED_RACE}; the pre-v10 seamcall_lock serializes AUG against REMOVE but not the cmpxchg/AUG split`,
    v11: V11_WL,
    ...same(WL, UP),
  },
  "seed-race-read-zap": {
    seed: SEED_RACE,
    "seed-seamcall-lock": SEED_RACE,
    v11: `${V11_WL}; a read-lock zap (REMOVED_SPTE then the hooks) cannot see the leaf before the frozen install ends`,
    "upstream-6.16": "__tdp_mmu_set_spte_atomic() refuses an atomic change of a mirror SPTE to not-present with KVM_BUG_ON ('users of atomic zapping don't operate on mirror roots', 6.16 tdp_mmu.c)",
    "upstream-6.19": "__tdp_mmu_set_spte_atomic() refuses an atomic change of a mirror SPTE to not-present with KVM_BUG_ON (6.19 tdp_mmu.c)",
    "upstream-7.2": "with lockdep off 7.2 runs the removal under the read lock inside the freeze (28c77a037804, 6b1280a738f9 moved the TDP MMU's KVM_BUG_ON into TDX, where only lockdep_assert_held_write remains); with one GFN the frozen install completes before the zap can see a present leaf, and nothing else contends with the BLOCK",
  },
  "read-zap-two-gfns": {
    ...same("the seed's read-lock removal: BLOCK (tree lock EX) meets the AUG of the other GFN (tree lock SH), [PATCH v10 088/108]'s seamcall_sept() gives up with -EAGAIN, which __tdp_mmu_set_spte() only WARNs", OLD),
    "upstream-6.16": "KVM_BUG_ON in __tdp_mmu_set_spte_atomic(): 6.16 refuses an atomic zap of a mirror SPTE",
    "upstream-6.19": "KVM_BUG_ON in __tdp_mmu_set_spte_atomic(): 6.19 refuses an atomic zap of a mirror SPTE",
    "upstream-7.2": "7.2 production (lockdep off) runs BLOCK under the read lock: it takes the S-EPT tree lock EX while the other GFN's AUG holds it SH, and tdh_do_no_vcpus()'s single retry cannot stop a host thread, so the second BUSY is TDX_BUG_ON_2 — the hazard of a read-lock removal caller (Sean Christopherson's review of 2026-02-05 in the [RFC PATCH v5 00/45] thread, Message-ID 20260129011517.3545883-1-seanjc@google.com, keeps only lockdep against it)",
  },
  "two-vcpus-same-gfn": {
    ...same("the vCPU that walks after the other's install computes W=1,D=0 over the present W=1,D=1 leaf (make_spte() before cc7ed3358e41, 6.13) and tdp_mmu_set_spte_atomic() sends that present→present change to the S-EPT hook: KVM_BUG_ON(was_present) and a second AUG (the race in Isaku Yamahata's '[PATCH] KVM: x86/tdp_mmu: Trigger the callback only when an interesting change', 6eecc450d0326c9bedfbb34096a0279410923c8d.1726182754.git.isaku.yamahata@intel.com; fixed by cc7ed3358e41)", OLD),
    ...same("both faults are read-lock installs of one entry: the loser's cmpxchg fails, or it finds the leaf, computes the same SPTE (D set on every writable SPTE since cc7ed3358e41) and returns RET_PF_SPURIOUS, so exactly one AUG runs", UP),
  },
  "two-gfns-unlinked-table": {
    seed: "mirror-first publishes the table before SEPT.ADD, so the other vCPU's AUG walks into a missing S-EPT table (TDX_EPT_WALK_FAILED → KVM_BUG_ON); the freeze (77ac7079e66d) keeps the child unreachable until SEPT.ADD succeeded",
    "seed-seamcall-lock": "as seed: the seamcall_lock does not cover the mirror-first link (SEPT.ADD is outside it)",
    v11: "v10/v11 froze the non-leaf install too (REMOVED_SPTE until SEPT.ADD returned)",
    ...same("the freeze covers the non-leaf install: the child table is reachable only after TDH.MEM.SEPT.ADD succeeded (77ac7079e66d; 7.2 tdx_sept_map_nonleaf_spte())", UP),
  },
  "fault-vs-conversion": { ...same(`KVM_SET_MEMORY_ATTRIBUTES zaps under the write lock after kvm_mmu_invalidate_begin(); ${FENCE}, and the private/shared check in kvm_mmu_faultin_pfn() sends a late fault to userspace`, [...OLD, ...UP]) },
  "fault-vs-punch-hole": { ...same(`${FENCE}; the punch hole zaps before freeing the folio, so no freed page stays mapped`, [...OLD, ...UP]) },
  "fault-vs-punch-hole-range": { ...same(`${FENCE}; the fence covers the whole range while the zap yields mmu_lock between GFNs`, [...OLD, ...UP]) },
  "removal-vs-zero-step": {
    ...same("[PATCH v11 057/113] (Message-ID 2749eb2e634df67937aade6dc46b1c86defcfee5.1673539699.git.isaku.yamahata@intel.com): the write-lock removal updates the mirror first and BLOCK's -EAGAIN (tree lock held by a zero-step TD entry) is only WARNed, so the S-EPT keeps the page the mirror dropped — replaced upstream by tdh_do_no_vcpus() (wait_for_sept_zap + kick + one retry)", OLD),
    "upstream-6.16": "tdx_no_vcpus_enter_start()/stop() (6.16): on BUSY block TD entry, kick every vCPU out and retry once; the retry cannot meet the zero-step lock",
    "upstream-6.19": "tdh_do_no_vcpus() (6.19): on BUSY set wait_for_sept_zap, kick, retry once; the entry gate keeps the vCPU out until the retry is done",
    "upstream-7.2": `${R72}; tdh_do_no_vcpus() unchanged in 7.2`,
  },
  "removal-vs-accept": {
    ...same("module 1.0: a guest ACCEPT that takes its TDGL bit between BLOCK's walk and BLOCK's cmpxchg makes the BLOCK fail with BUSY|RCX (qizhangz/tdx-module@9359de5 tdh_mem_range_block.c; 1.5 reports its entry lock the same way), which the retry of [PATCH v10 088/108] (BUSY|SEPT only) does not cover → KVM_BUG_ON; upstream retries any BUSY after kicking vCPUs out (tdh_do_no_vcpus(); 'KVM: TDX SEPT SEAMCALL retry', 2025-01-13, Message-ID 20250113020925.18789-1-yan.y.zhao@intel.com)", OLD),
    ...same("tdh_do_no_vcpus(): any TDX_OPERAND_BUSY → wait_for_sept_zap, kick, one retry; with the vCPU kept outside the guest the ACCEPT cannot hold the entry", UP),
  },
  "fault-vs-accept": {
    ...same("two faults of GFN 0 (vCPU0's, and vCPU1's after its ACCEPT of the FREE page exits): before cc7ed3358e41 the second computes W=1,D=0 over the present leaf and the present→present change reaches the S-EPT hook, KVM_BUG_ON(was_present) (switch mirror-ad, as two-vcpus-same-gfn). The ACCEPT itself cannot bug the VM on module 1.0 (the module v10/v11 ran on): it classifies the walked entry first and takes only the TDGL bit of a PENDING entry by cmpxchg (qizhangz/tdx-module@9359de5 td_dispatcher/vm_exits/tdg_mem_page_accept.c), so the AUG never sees BUSY|RCX; on a 1.5 module (--module-version 1.5.25) it locks the FREE entry (TDEL) and the seamcall_sept() of [PATCH v10 088/108], which retries only BUSY|SEPT, KVM_BUG_ONs too — fixed upstream by -EBUSY for any BUSY and a retried fault (Message-ID 20250113020925.18789-1-yan.y.zhao@intel.com, 6.16 tdx_mem_page_aug())", OLD),
    ...same("tdx_mem_page_aug(): any BUSY → -EBUSY → the TDP MMU restores the entry and the fault retries (local retry, Message-ID 20250113020925.18789-1-yan.y.zhao@intel.com)", UP),
  },
  "fault-vs-zero-step-1.5.16": {
    ...same("mirror-first: the AUG that loses to the zero-step entry (1.5.16 takes the tree lock EX) leaves a mirror leaf with no S-EPT page; tdp_mmu_set_spte_atomic WARNs — the freeze (77ac7079e66d) restores the entry instead", ["seed", "seed-seamcall-lock"]),
    v11: "the AUG's BUSY is harmless ([PATCH v10 088/108] seamcall_sept() retries, then -EAGAIN restores the frozen entry), but the guest's access to the still-PENDING page exits again and the second fault finds the present leaf: before cc7ed3358e41 make_spte() re-made it with D clear and the present→present change hit KVM_BUG_ON(was_present) (Yan Zhao, Message-ID aImxfy6mJbtq0yP9@yzhao56-desk.sh.intel.com: reachable 'if tdx_is_sept_violation_unexpected_pending() wasn't checked'; switch mirror-ad)",
    ...same("-EBUSY from the AUG restores the frozen entry and the fault retries", UP),
  },
  "memslot-delete-vs-fault": {
    ...same("v11 has no local retry: RET_PF_RETRY re-enters the guest, dropping kvm->srcu, so synchronize_srcu() completes", OLD),
    "upstream-6.16": "the 6.16 local retry loop spins on an INVALID memslot while holding kvm->srcu, so memslot deletion never completes — fixed by 2bc2694fe20b 'KVM: TDX: Do not retry locally when the retry is caused by invalid memslot' (6.18)",
    "upstream-6.19": "2bc2694fe20b (6.18): the local retry stops on an INVALID memslot and the vCPU drops SRCU",
    "upstream-7.2": "2bc2694fe20b (6.18), unchanged in 7.2",
  },
  "init-mem-region-vs-vp-init": {
    ...same(`${VP_EX}, PAGE.ADD and MR.EXTEND too; INIT_VCPU of vCPU1 and INIT_MEM_REGION on vCPU0 hold different vcpu->mutex, so a VP.INIT BUSY bugs the VM (KVM_BUG_ON; v11's VP.INIT error handling assumed as 6.16's)`, OLD),
    "upstream-6.16": `${VP_EX}; 6.16 runs INIT_VCPU and INIT_MEM_REGION under different vcpu->mutex, and tdx_td_vcpu_init() turns any VP.INIT error, BUSY included, into KVM_BUG_ON (tdx_td_vcpu_init(), torvalds/linux@3829d81b6958) — prevented from 6.19 by tdx_vm_state_guard (15945e9ec195)`,
    "upstream-6.19": "tdx_vm_state_guard (kvm->lock, every vcpu->mutex, slots_lock) makes INIT_VCPU and INIT_MEM_REGION mutually exclusive (15945e9ec195, 6.19)",
    "upstream-7.2": "tdx_vm_state_guard, unchanged in 7.2 (kvm-x86/linux@09c6f74ecb86 DEFINE_CLASS(tdx_vm_state_guard))",
  },
  "punch-hole-vs-vp-init": {
    ...same(`${VP_EX} and the punch hole's BLOCK takes it shared: one of them gets BUSY and the VM is bugged — the 6.16 bug fixed by 'KVM: TDX: Take MMU lock around tdh_vp_init()' (Message-ID 20251028002824.1470939-1-rick.p.edgecombe@intel.com; v11 assumed to handle VP.INIT errors as 6.16)`, OLD),
    "upstream-6.16": `${VP_EX}; the punch hole's BLOCK/REMOVE (TDR shared) get BUSY twice — a kick cannot stop VP.INIT — or VP.INIT gets BUSY: KVM_BUG_ON. Fixed by 'KVM: TDX: Take MMU lock around tdh_vp_init()' (Message-ID 20251028002824.1470939-1-rick.p.edgecombe@intel.com, Fixes 02ab57707bdb)`,
    "upstream-6.19": "'KVM: TDX: Take MMU lock around tdh_vp_init()' (Message-ID 20251028002824.1470939-1-rick.p.edgecombe@intel.com): tdx_td_vcpu_init() holds mmu_lock for write around TDH.VP.INIT, so it never overlaps a zap (the state guard does not exclude punch hole)",
    "upstream-7.2": "the mmu_lock around TDH.VP.INIT (Message-ID 20251028002824.1470939-1-rick.p.edgecombe@intel.com), unchanged in 7.2 (scoped_guard(write_lock, &kvm->mmu_lock) in tdx_td_vcpu_init())",
  },
  "finalize-vs-pre-fault": { ...same("tdx_td_finalize() sets state RUNNABLE, smp_wmb(), then pre_fault_allowed; a pre-fault that sees the flag also sees RUNNABLE and AUGs", [...OLD, ...UP]) },
  teardown: {
    ...same("hkid-first ([PATCH v11 018/113], Message-ID 68fa413e61d7471657174bc7c83bde5c842e251f.1673539699.git.isaku.yamahata@intel.com): the HKID is released before the zap, and leaves are dropped with TDH.PHYMEM.PAGE.RECLAIM", OLD),
    ...same("leaves-first: kvm_gmem_release() removes every leaf with the HKID assigned, then tdx_mmu_release_hkid(), then the S-EPT pages are reclaimed", UP),
  },
  "teardown-vs-fault": {
    ...same("hkid-first: kvm_destroy_vm() (where [PATCH v11 018/113]'s flush_shadow_all_private releases the HKID) cannot start before every vCPU fd is closed, so the fault completes first and its leaf is reclaimed", OLD),
    ...same("kvm_gmem_release() clears slot->gmem.file and invalidates the range (67b43038ce14: no synchronize_rcu needed): a later fault gets -EFAULT, an earlier one is stale or zapped; the HKID goes only in kvm_destroy_vm(), after every vCPU fd is closed (kvm_destroy_vm() runs on the last reference)", UP),
  },
  "memslot-delete-vs-punch-hole": { ...same("kvm_gmem_unbind() leaves the punch hole nothing to zap, and the deletion's own kvm_mmu_zap_memslot() (private filter, [PATCH v11 043/113]) removes the leaf before the page can be freed", [...OLD, ...UP]) },
  "pre-fault-vs-memslot-delete": {
    ...same("KVM_PRE_FAULT_MEMORY loops on RET_PF_RETRY while the slot is INVALID, holding kvm->srcu, so synchronize_srcu() never returns — fixed by 3ccbf6f47098 'KVM: x86/mmu: Return -EAGAIN if userspace deletes/moves memslot during prefault' (6.18); assumed for v11/seed, which predate it", [...OLD, "upstream-6.16"]),
    "upstream-6.19": "3ccbf6f47098 (6.18): prefault returns -EAGAIN on an INVALID memslot and drops SRCU",
    "upstream-7.2": "3ccbf6f47098 (6.18), unchanged in 7.2",
  },
  "init-mem-region-vs-zap": {
    ...same("a model finding, not a reported bug: the v9–v11 tdx_track() returns early while the TD is not finalized ('If TD isn't finalized, it's before any vcpu running', [PATCH v9 055/105] Message-Id 41aa5461e9df28a45826389bb319d30c2b26560d.1664530908.git.isaku.yamahata@intel.com), but module 1.0's TDH.MEM.PAGE.REMOVE needs the block TLB-tracked always (qizhangz/tdx-module@9359de5 tdh_mem_page_remove.c: is_tlb_tracked with no op-state relaxation), so a pre-finalize zap of a PAGE.ADDed page fails with TDX_TLB_TRACKING_NOT_DONE → KVM_BUG_ON. 1.5 modules skip the check before RUNNABLE", OLD),
    ...same("kvm_gmem_populate() holds slots_lock for the whole INIT_MEM_REGION, so a zap that takes slots_lock runs wholly before or after it (never inside the ≤6.18 pre-map window); module 1.5 needs no TRACK before the TD is RUNNABLE (tdh_mem_page_remove.c)", UP),
  },
  "init-mem-region-vs-punch-hole": {
    ...same("as init-mem-region-vs-zap on module 1.0 (a model finding, not a reported bug): the gmem lock orders the punch hole after the populate, but the v9–v11 tdx_track() skips TRACK before the TD is finalized while module 1.0's TDH.MEM.PAGE.REMOVE requires the block TLB-tracked (qizhangz/tdx-module@9359de5 tdh_mem_page_remove.c), so the REMOVE of the PAGE.ADDed page is refused (TDX_TLB_TRACKING_NOT_DONE)", OLD),
    ...same("kvm_gmem_populate() and kvm_gmem_punch_hole() take filemap_invalidate_lock() exclusively (1f6c06b177513, 6.11), so the punch hole (its zap and its truncation) runs wholly before the populate or after its PAGE.ADD and MR.EXTEND; module 1.5 needs no TRACK before the TD is RUNNABLE", UP),
  },
  "read-zap-vs-read-zap": {
    ...same("the seed's read-lock zap exchanges to REMOVED_SPTE and spins while it sees it, so the second zapper finds a not-present entry", OLD),
    "upstream-6.16": "KVM_BUG_ON in __tdp_mmu_set_spte_atomic(): 6.16 refuses an atomic zap of a mirror SPTE",
    "upstream-6.19": "KVM_BUG_ON in __tdp_mmu_set_spte_atomic(): 6.19 refuses an atomic zap of a mirror SPTE",
    "upstream-7.2": "02eaaffdd865 refreshes iter->old_spte after a failed cmpxchg on a mirror SPTE, so the losing zapper sees FROZEN/not-present and stops (Sean Christopherson's example in [RFC PATCH v5 02/45], 2026-01-29, thread Message-ID 20260129011517.3545883-1-seanjc@google.com)",
  },
  // Dynamic PAMT scenarios: on the presets without it (dpamt=off) they are plain fault/zap races.
  "dpamt-two-vcpus-one-range": {
    seed: `${M10_EX}: the two vCPUs' AUGs of different GFNs contend; the loser's BUSY|SEPT can outlast the seamcall_sept() of [PATCH v10 088/108]'s SEAMCALL_RETRY_MAX=16 retries while the other AUG holds the lock, and the seed's mirror-first install has already published the leaf, so tdp_mmu_set_spte_atomic() WARNs — why v10 added 'retry SEAMCALL on TDX_OPERAND_BUSY with operand SEPT' and the freeze`,
    "seed-seamcall-lock": `${M10_EX}, but the pre-v10 seamcall_lock serializes the two AUGs ('KVM: TDX: Protect private mapping related SEAMCALLs with spinlock'), so neither sees BUSY`,
    v11: `${M10_EX}; the losing AUG's BUSY|SEPT is retried by the seamcall_sept() of [PATCH v10 088/108] and, after the freeze (REMOVED_SPTE) is restored, by the fault`,
    ...same("two read-lock installs of different GFNs: module 1.5 takes the tree lock shared for AUG and locks only each AUG's own entry, so they never conflict", UP),
    dpamt: "both gets hit one 2M range with no pair: under pamt_lock (eca9d4a3f1f8) the first get's PAMT.ADD installs the pair and the second only increments the refcount, each inside its fault's freeze (d7fe610e6a66)",
  },
  "dpamt-fault-vs-removal": {
    ...same("without Dynamic PAMT the other TD's REMOVE and this TD's AUG share no state: 4K PAMT entries of different PFNs, different TDs' S-EPTs", [...OLD, ...UP]),
    dpamt: "race R2 (Kiryl Shutsemau's analysis quoted by Kai Huang, RFC v5 thread 2026-02-10): the refcount decision and PAMT.REMOVE happen under pamt_lock (eca9d4a3f1f8), so the get either increments a live refcount or re-adds the pair after the removal",
  },
  "dpamt-conversion-storm": {
    ...same(`both conversions zap under the write lock after kvm_mmu_invalidate_begin(); ${FENCE}, and a fault on a still-shared GFN exits to userspace`, [...OLD, ...UP]),
    dpamt: "zaps and faults of one VM are ordered by mmu_lock; the put comes after REMOVE and WBINVD (d7fe610e6a66) and the get inside the fault's freeze, so the refcount never drops below the pages in use",
  },
  // S-EPT huge pages. On every preset but hugepage the block is two 4K leaves.
  "hp-fault-vs-split": {
    ...same(PRE_AD, OLD),
    ...same("4K only: GFNs 0 and 1 are two PENDING 4K leaves; the guest's ACCEPT of GFN 0 succeeds and vCPU1's fault on GFN 1 finds its leaf present and computes the same SPTE (D set since cc7ed3358e41): RET_PF_SPURIOUS", [...UP, "dpamt"]),
    hugepage: "the 4K ACCEPT exits on the 2M PENDING leaf (EEQ type ACCEPT); tdx_handle_ept_violation() splits under mmu_lock for write and sets GUEST_INHIBIT (RFC v5 41/45, lore 20260129011517.3545883-42-seanjc@google.com), so vCPU1's read-lock fault finds either the 2M leaf (spurious) or the split table with a 4K leaf (spurious); BLOCK → TRACK → DEMOTE run in one write-locked section (39/45) and the PAMT refcount of the demoted range goes 0 → 2 (30/45)",
  },
  "hp-conversion-vs-fault": {
    ...same(PRE_AD, OLD),
    ...same(`4K only: GFNs 0 and 1 are two 4K leaves; the conversion zaps GFN 1 under the write lock and ${FENCE}; the fault on the present GFN 0 is spurious (cc7ed3358e41)`, [...UP, "dpamt"]),
    hugepage: "tdx_gmem_convert() (RFC v5 44/45, lore 20260129011517.3545883-45-seanjc@google.com) splits the 2M leaf under pamt_cache_lock and the write lock before the conversion's zap, so the zap removes GFN 1 only (precise zap) and GFN 0's accepted page stays; the fault on GFN 0 finds a present leaf either way",
  },
  "hp-punch-vs-accept": {
    ...same("4K only: the punch hole removes GFN 1 (BLOCK, TRACK + kick, REMOVE under the write lock) while the guest accepts GFN 0, which is already accepted (TDX_PAGE_ALREADY_ACCEPTED)", [...OLD, ...UP, "dpamt"]),
    hugepage: "the punch hole's pre-zap split (RFC v5 43/45, DO NOT MERGE) runs BLOCK(2M) → TRACK + kick → DEMOTE under the write lock; a guest ACCEPT that meets the BLOCKED 2M leaf exits and waits for mmu_lock, then sets GUEST_INHIBIT; DEMOTE leaves the 4K children unblocked, so the ACCEPT then finds GFN 0 MAPPED; guest_memfd splits the folio only after the zap (v3 fixup 'Zap mappings before splitting backend folios')",
  },
  "hp-demote-vs-pamt-add": {
    ...same("4K only: the guest's ACCEPT of the PENDING 4K leaf of GFN 0 succeeds without an exit; the other TD's AUG of PFN 0 shares no module state with it (another page's PAMT entry)", [...OLD, ...UP]),
    dpamt: "4K only: no DEMOTE exists; the other TD's first page in range 0 gets it (PAMT.ADD under pamt_lock, eca9d4a3f1f8) and this TD's ACCEPT touches no PAMT state",
    hugepage:
      "race R5 closed by the fix agreed in the RFC v5 thread (Rick Edgecombe 2026-06-29, Yan Zhao 2026-06-30, replies to 30/45, lore 20260129011517.3545883-31-seanjc@google.com): the split holds pamt_lock around DEMOTE (mmu_lock for write → pamt_lock), so DEMOTE's SH walk of its pair pages' range and the other TD's PAMT.ADD of that range (2M entry EX, under pamt_lock) never overlap; without it (demote-pamt-lock=off, 30/45 as posted) PAMT.ADD gets BUSY|RCX or DEMOTE BUSY|R12, as Yan Zhao observed (2026-06-11)",
  },
  "hp-demote-interrupted": {
    ...same("4K only: GFN 0 is a PENDING 4K leaf, the ACCEPT succeeds and no DEMOTE is ever issued, so the module's missing ENHANCE_DEMOTE_INTERRUPTIBILITY cannot matter", [...OLD, ...UP, "dpamt"]),
    hugepage:
      "without ENHANCE_DEMOTE_INTERRUPTIBILITY a pending host interrupt ends DEMOTE with TDX_INTERRUPTED_RESTARTABLE (nothing committed); tdx_sept_split_private_spte() (RFC v5 39/45, lore 20260129011517.3545883-40-seanjc@google.com) retries only BUSY through tdh_do_no_vcpus() and treats any other error as TDX_BUG_ON_2, leaving the 2M leaf BLOCKED under a mirror non-leaf: why Yan Zhao's v3 (cover, restriction 2, lore 20260106101646.24809-1-yan.y.zhao@intel.com) turns huge pages off on modules before 1.5.28.00.972",
  },
  "hp-teardown": {
    ...same(PRE_AD, OLD),
    ...same("4K only: as teardown-vs-fault: gmem release zaps both 4K leaves under the write lock and a fault after it gets -EFAULT; a fault before it finds its leaf present (spurious since cc7ed3358e41)", [...UP, "dpamt"]),
    hugepage:
      "gmem release zaps the whole 2M leaf (BLOCK/TRACK/REMOVE at 2M, no split and no PAMT put for a non-4K page, RFC v5 29/45, lore 20260129011517.3545883-30-seanjc@google.com) under the write lock; the vCPU's fault on GFN 1 either finds the 2M leaf present or runs after the zap and gets -EFAULT; S-EPT pages are put after their RECLAIM, so every refcount ends equal to the module's count",
  },
};
