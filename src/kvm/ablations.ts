// Which defense stops which race: for every switch value that a defense's history went through,
// the built-in scenario whose verdict flips when that value alone replaces the preset's
// (test/kvm/ablation.test.ts checks each row; `tdxmc ablate` with no scenario lists them), and
// for the values no built-in scenario can show, why.

export interface Ablation {
  switch: string;
  value: string;
  scenario: string;
  /** The preset the value replaces the default of (default upstream-6.19). */
  preset?: string;
  /** Environment-injected BUSY the scenario needs. */
  inject?: string[];
  /**
   * Other switches set in both runs: for a defense in depth, whose removal shows only beside
   * another bug (the base run with these must verify, the value added must violate).
   */
  with?: Record<string, string>;
  /** The property that is verified on the preset and violated with the value. */
  violated: string;
}

export const ABLATION_PRESET = "upstream-6.19";

export const ABLATIONS: readonly Ablation[] = [
  { switch: "install", value: "mirror-first", scenario: "two-gfns-unlinked-table", violated: "no-kvm-bug-on" },
  // 6.16–6.19 refuse an atomic (read-lock) change of a mirror SPTE to not-present.
  { switch: "zap-lock", value: "read", scenario: "seed-race", violated: "no-kvm-bug-on" },
  { switch: "install-busy", value: "retry-eagain", scenario: "fault-vs-accept", violated: "no-kvm-bug-on" },
  { switch: "install-busy", value: "retry-then-bug", scenario: "fault-vs-zero-step-1.5.16", violated: "no-kvm-bug-on" },
  { switch: "removal-failure", value: "v11", scenario: "removal-vs-accept", violated: "no-kvm-bug-on" },
  { switch: "removal-failure", value: "bug", scenario: "removal-vs-accept", violated: "no-kvm-bug-on" },
  { switch: "tlb-track", value: "no-kick", scenario: "removal-vs-zero-step", violated: "removal-protocol" },
  { switch: "tlb-track", value: "none", scenario: "teardown", violated: "removal-protocol" },
  // The entry left FROZEN is skipped by write-lock zaps (not shadow-present, as in the kernel); the
  // fault finds it FROZEN forever and retries.
  { switch: "restore-on-failure", value: "off", scenario: "seed-race", inject: ["TDH.MEM.PAGE.AUG"], violated: "livelock" },
  { switch: "local-retry", value: "on", scenario: "memslot-delete-vs-fault", violated: "livelock" },
  { switch: "stale-check", value: "off", scenario: "fault-vs-punch-hole", violated: "no-free-while-mapped" },
  { switch: "stale-check", value: "off", scenario: "fault-vs-conversion", violated: "no-stale-private-leaf" },
  { switch: "entry-gate", value: "off", scenario: "removal-vs-zero-step", violated: "no-vcpu-retry-never-busy" },
  { switch: "entry-gate", value: "before-mode", scenario: "removal-vs-zero-step", violated: "no-vcpu-retry-never-busy" },
  { switch: "memslot-zap", value: "shared-only", scenario: "memslot-delete-vs-punch-hole", violated: "no-free-while-mapped" },
  { switch: "prefault-invalid-slot", value: "retry", scenario: "pre-fault-vs-memslot-delete", violated: "livelock" },
  // Before cc7ed3358e41 the vCPU that lost the fault race re-made the leaf with D clear: a
  // present→present change through the S-EPT hook, KVM_BUG_ON(was_present) and a second AUG.
  // Without the guest_memfd invalidate lock the punch hole's zap lands between PAGE.ADD and
  // TDH.MR.EXTEND: its BLOCK finds the TDR held by MR.EXTEND, and tdh_do_no_vcpus() cannot stop a
  // host thread (second BUSY, KVM_BUG_ON).
  { switch: "gmem-lock", value: "off", scenario: "init-mem-region-vs-punch-hole", violated: "no-vcpu-retry-never-busy" },
  { switch: "mirror-ad", value: "propagate", scenario: "two-vcpus-same-gfn", violated: "no-kvm-bug-on" },
  { switch: "old-spte-refresh", value: "off", scenario: "read-zap-vs-read-zap", preset: "upstream-7.2", violated: "livelock" },
  { switch: "vp-init-lock", value: "none", scenario: "punch-hole-vs-vp-init", violated: "no-kvm-bug-on" },
  { switch: "state-guard", value: "off", scenario: "init-mem-region-vs-vp-init", violated: "no-kvm-bug-on" },
  // Pinning (≤6.18 get_page() in tdx_sept_set_private_spte()) was defense in depth: it turns a page
  // freed while the S-EPT maps it into a leaked page. 6.19 dropped it (ce7b5695397b) because guest_memfd
  // zaps before it frees, so from 6.19 pinning=on flips nothing; from 6.16, beside a missing
  // memslot zap, dropping it turns the leak into a use-after-free of the guest page.
  { switch: "pinning", value: "off", scenario: "memslot-delete-vs-punch-hole", preset: "upstream-6.16", with: { "memslot-zap": "shared-only" }, violated: "no-free-while-mapped" },
  // The older presets' own defenses. v11 froze the entry around the SEAMCALL (freeze_spte,
  // REMOVED_SPTE); with the seed's mirror-first install the table is published before SEPT.ADD,
  // the other vCPU's SEAMCALL fails on it, and v11's tdp_mmu_set_spte_atomic() WARNs that a hook
  // failed without a frozen entry to restore.
  { switch: "install", value: "mirror-first", scenario: "two-gfns-unlinked-table", preset: "v11", violated: "no-warn" },
  // The pre-v10 per-VM SEAMCALL spinlock serialised the AUGs; without it two vCPUs' AUGs of GFNs
  // under one table contend on the S-EPT, the loser's BUSY outlasts the bounded SEAMCALL retries
  // after the mirror-first install published its leaf, and tdp_mmu_set_spte_atomic() WARNs (the
  // seed column of this scenario, src/kvm/why.ts).
  { switch: "seamcall-lock", value: "off", scenario: "dpamt-two-vcpus-one-range", preset: "seed-seamcall-lock", violated: "no-warn" },
  // Dynamic PAMT defenses, ablated from the dpamt preset (src/kvm/tdx_pamt.ts):
  // no pamt_lock: both first gets of a range issue PAMT.ADD, the loser fails (WARN, -EIO);
  { switch: "pamt-lock", value: "off", scenario: "dpamt-two-vcpus-one-range", preset: "dpamt", violated: "pamt-add-remove-succeed" },
  // race R2: the put drops to 0 before pamt_lock, the get re-adds and the put removes the pair the
  // get relies on: the fault's AUG gets TDX_MISSING_PAMT_PAGE_PAIR;
  { switch: "pamt-refcount", value: "dec-and-test", scenario: "dpamt-fault-vs-removal", preset: "dpamt", violated: "no-missing-pamt-pair" },
  // put before PAGE.REMOVE: the refcount no longer covers the pages in use (D-2).
  { switch: "pamt-put", value: "before-remove", scenario: "dpamt-conversion-storm", preset: "dpamt", violated: "pamt-refcount-covers-module" },
  // S-EPT huge pages, ablated from the hugepage preset (src/kvm/hugepage.ts): without the pre-zap
  // head/tail split (RFC v5 44/45), converting GFN 1 zaps the whole 2M leaf [0,2) — GFN 0 too.
  { switch: "hugepage-split", value: "none", scenario: "hp-conversion-vs-fault", preset: "hugepage", violated: "hp-precise-zap" },
  // race R5: without pamt_lock around DEMOTE (RFC v5 30/45 as posted), another TD's PAMT.ADD of the
  // range the DEMOTE pair lies in gets BUSY|RCX (WARN, -EIO), or DEMOTE gets BUSY|R12 twice (TDX_BUG_ON_2).
  { switch: "demote-pamt-lock", value: "off", scenario: "hp-demote-vs-pamt-add", preset: "hugepage", violated: "pamt-add-remove-succeed" },
  // a split without a running vCPU that borrows vCPU 0's lock-less PAMT cache (D-7).
  { switch: "split-pamt-cache", value: "vcpu0", scenario: "hp-conversion-vs-fault", preset: "hugepage", violated: "pamt-running-vcpu" },
];

/**
 * Switch values (as "switch=value", or "switch" for all its non-default values) that change the
 * explored state space but no verdict of a built-in scenario, with the reason.
 */
export const NO_VERDICT_CHANGE: Readonly<Record<string, string>> = {
  "seamcall-lock": "a lock only removes interleavings; Sean's point (Message-ID Y8m34OEVBfL7Q4Ns@google.com) is that it does not help (seed-seamcall-lock still violates)",
  "tlb-track=kick-then-track":
    "not a race defense but a simplification: v11's tdx_track() counted trackers, kicked with KVM_REQ_TLB_FLUSH and made each kicked vCPU spin until TDH.MEM.TRACK was done; TDX MMU part 2 dropped the counter because tdx_track() only runs under the write mmu_lock, so TRACK first and then KVM_REQ_OUTSIDE_GUEST_MODE needs no wait in the vCPUs ([PATCH 13/21] 'KVM: TDX: Handle TLB tracking for TDX', Message-Id 20240904030751.117579-14-rick.p.edgecombe@intel.com); both orders keep every vCPU out of the old epoch in the model (a vCPU entering after the kick's snapshot sees the request bit and waits: removal-vs-accept, checked in test/kvm/switches.test.ts), only no-kick and none break (rows above)",
  "teardown-order":
    "leaves-first is an order, not a race defense: both orders are safe in the model (kvm_destroy_vm() waits until every vCPU fd is closed and, leaves-first, kvm_gmem_release() fences faults: teardown-vs-fault, teardown); releasing the HKID first is the faster order that KVM_TDX_TERMINATE_VM brought back (Message-ID 20250718181541.98146-1-seanjc@google.com; `tdxmc simulate teardown`)",
  "vp-enter-busy":
    "no hang to stop: Binbin Wu's v2 (cover letter Message-ID 20250211025442.3071607-1-binbin.wu@linux.intel.com) returns EXIT_FASTPATH_EXIT_HANDLED instead of EXIT_FASTPATH_REENTER_GUEST on TDX_OPERAND_BUSY so that a KVM_REQ_OUTSIDE_GUEST_MODE requester is not left waiting for a vCPU that re-enters with IRQs off; but vcpu_enter_guest()'s re-entry loop calls kvm_vcpu_exit_request() before every re-entry, and it is true once the kick's cmpxchg made vcpu->mode EXITING_GUEST_MODE (the check since Message-Id 1588055009-12677-5-git-send-email-wanpengli@tencent.com, in the loop as Message-ID 20211123004311.2954158-2-pbonzini@redhat.com shows), so the vCPU leaves at its next BUSY and the requester waits one TDH.VP.ENTER longer at most (the model takes that exit on removal-vs-zero-step and removal-vs-accept; test/kvm/switches.test.ts checks the latter); and every BUSY of TDH.VP.ENTER in the model comes from a SEAMCALL or entry that completes without waiting for the kick",
  "local-retry=off":
    "not a race defense: the patch says it retries locally 'to reduce the chances' that AUG/SEPT.ADD contend with a TDH.VP.ENTER running the zero-step mitigation, and that the mitigation and the contention are not eliminated ('KVM: TDX: Retry locally in TDX EPT violation handler on RET_PF_RETRY', Message-ID 20250113021218.18922-1-yan.y.zhao@intel.com, group 2 of Message-ID 20250113020925.18789-1-yan.y.zhao@intel.com); re-entering the guest on RET_PF_RETRY (v11) is safe in the model — two vCPUs faulting with zero-step armed on module 1.5.16 verify with it too — and its cost (zero-step entries, stepping-filter lock contention) is a performance and availability matter the properties do not judge: `tdxmc simulate zero-step` measures it",
  "page-add":
    "the ≤6.18 pre-map window (mirror leaf counted by nr_premapped, no S-EPT page until PAGE.ADD) is unsafe only if a zap of the entry runs inside it, and kvm_gmem_populate() holds slots_lock (excludes memslot and attribute zaps: init-mem-region-vs-zap) and filemap_invalidate_lock (excludes the punch hole: init-mem-region-vs-punch-hole) across it; 6.19 (6b5b71ffabf9 'KVM: TDX: ADD pages to the TD image while populating mirror EPT entries', Message-ID 20251030200951.3402865-17-seanjc@google.com) moved PAGE.ADD into the freeze to drop the nr_premapped bookkeeping — its message names no race: it removes the window where the mirror maps what the S-EPT does not, and a counter whose slots_lock covers the happy paths only, 'at least in theory'; the races of that era the model reaches (INIT_MEM_REGION or a punch hole against TDH.VP.INIT) are the state-guard and vp-init-lock rows",
  "mr-extend-error":
    "a reporting change, not a race defense: ad44aa4c5d3f 'KVM: TDX: Bug the VM if extending the initial measurement fails' (6.19) made the ≤6.18 -EIO a KVM_BUG_ON; eio returns -EIO to userspace instead, so it can only remove a no-kvm-bug-on report, never add a violation (in the model MR.EXTEND fails only while another defense is off, e.g. state-guard=off, whose row shows the race)",
  hooks: "7.2's unified dispatch changes where TDX is called from, not the interleavings of any upstream caller (28c77a037804 moves the removal, 6b1280a738f9 the KVM_BUG_ONs); it matters only with a read-lock zap (seed-race-read-zap, read-zap-two-gfns, read-zap-vs-read-zap, whose upstream-6.19 verdicts are violations already)",
  lockdep: "turning lockdep off only removes reports; its effect shows with zap-lock=read (seed-race-read-zap, read-zap-two-gfns)",
  "old-spte-refresh=on": "the upstream-7.2 fix itself (02eaaffdd865): refreshing cannot break anything; its absence shows on upstream-7.2 (read-zap-vs-read-zap, row above)",
  "mirror-ad=filter":
    "Isaku Yamahata's posted filter (Message-ID 6eecc450d0326c9bedfbb34096a0279410923c8d.1726182754.git.isaku.yamahata@intel.com) stores the A/D-only change in the mirror without a SEAMCALL: the S-EPT needs no change for it, so every built-in scenario keeps its upstream-6.19 verdict (checked for all of them; the stale D bit matters only to dirty logging, which TDX does not support and the model does not have)",
  "spt-free":
    "a refactor of the page's lifetime, not a race defense: 7.2 frees a removed S-EPT page right after TDH.PHYMEM.PAGE.RECLAIM (b35bda696e44, 110d4d263450) instead of with its mirror page in the RCU callback (≤6.19 handle_removed_pt()); both reclaim before the free and leak on failure, and KVM never reads the S-EPT page itself (only SEAMCALLs name it), so no lockless walker needs the grace period; the difference is when the host gets the page back",
  pinning:
    "from 6.19 pinning only turns a freed-while-mapped page into a leaked one, and guest_memfd zaps before it frees (ce7b5695397b 'KVM: TDX: Drop superfluous page pinning in S-EPT management'), so it flips nothing alone; what it did shows beside another bug (the row pinning=off on upstream-6.16 with memslot-zap=shared-only)",
  dpamt: "a feature, not a defense: off is every released kernel (static PAMT); on is the dpamt preset (queued d7fe610e6a66), whose own ablations are the pamt-* rows",
  "pamt-refcount=lock-always": "the dpamt preset's value (queued eca9d4a3f1f8)",
  "pamt-refcount=fast-path": "v6 06/11's (Message-ID 20260526023515.288829-7-rick.p.edgecombe@intel.com) atomic_inc_not_zero / atomic_dec_and_lock verifies every dpamt scenario (test/kvm/dpamt.test.ts)",
  "pamt-lock=global": "the dpamt preset's value (queued eca9d4a3f1f8)",
  "pamt-put=after-remove": "the dpamt preset's value (d7fe610e6a66)",
  hugepage: "a feature, not a defense: off is every released kernel; on is the hugepage preset ([RFC PATCH v5 00/45] TDX: Dynamic PAMT + S-EPT Hugepage, Message-ID 20260129011517.3545883-1-seanjc@google.com), whose own ablation is the hugepage-split row",
  "hugepage-split=head-tail": "the hugepage preset's value (RFC v5 43/45, 44/45)",
  "demote-pamt-lock=held": "the hugepage preset's value (the R5 fix agreed in the RFC v5 thread, replies to 30/45 of 2026-06-29/30)",
  "split-pamt-cache=per-vm": "the hugepage preset's value (RFC v5 44/45)",
  "pending-exit":
    "no built-in scenario sets SEPT_VE_DISABLE (module.pendingVeDisable); test/kvm/fidelity-sept-ve.test.ts shows both values: vm-dead ('KVM: TDX: Detect unexpected SEPT violations due to pending SPTEs', Message-ID 20250227012021.1778144-3-binbin.wu@linux.intel.com) kills the TD, v11's fault re-enters the guest, which touches the page again",
};

/** Why `value` of switch `sw` cannot change the explored state space yet, or undefined. */
export function cannotMatterReason(sw: string, value: string): string | undefined {
  return CANNOT_MATTER[`${sw}=${value}`] ?? CANNOT_MATTER[sw];
}

/** Why `value` of switch `sw` flips no built-in verdict, or undefined if a row of ABLATIONS shows it. */
export function noVerdictChangeReason(sw: string, value: string): string | undefined {
  if (ABLATIONS.some((a) => a.switch === sw && a.value === value)) return undefined;
  return NO_VERDICT_CHANGE[`${sw}=${value}`] ?? NO_VERDICT_CHANGE[sw];
}

/**
 * For each switch, a built-in scenario (and preset, default upstream-6.19; extra overrides) on
 * which every value of the switch explores a different state space (test/kvm/switches.test.ts).
 */
export const STATE_SPACE_PROBES: Readonly<Record<string, { scenario: string; preset?: string; overrides?: Record<string, string>; inject?: string[] }>> = {
  install: { scenario: "seed-race" },
  "seamcall-lock": { scenario: "seed-race" },
  "zap-lock": { scenario: "seed-race" },
  "install-busy": { scenario: "seed-race", inject: ["TDH.MEM.PAGE.AUG"] },
  "removal-failure": { scenario: "teardown", inject: ["TDH.MEM.RANGE.BLOCK"] },
  "tlb-track": { scenario: "fault-vs-punch-hole" },
  "restore-on-failure": { scenario: "seed-race", inject: ["TDH.MEM.PAGE.AUG"] },
  "local-retry": { scenario: "memslot-delete-vs-fault" },
  "stale-check": { scenario: "fault-vs-punch-hole" },
  "vp-init-lock": { scenario: "punch-hole-vs-vp-init" },
  "teardown-order": { scenario: "teardown" },
  "vp-enter-busy": { scenario: "fault-vs-zero-step-1.5.16" },
  "entry-gate": { scenario: "fault-vs-accept" },
  "prefault-invalid-slot": { scenario: "pre-fault-vs-memslot-delete" },
  "memslot-zap": { scenario: "memslot-delete-vs-punch-hole" },
  "page-add": { scenario: "init-mem-region-vs-zap" },
  pinning: { scenario: "fault-vs-punch-hole" },
  hooks: { scenario: "seed-race-read-zap" },
  lockdep: { scenario: "seed-race-read-zap", preset: "upstream-7.2" },
  "old-spte-refresh": { scenario: "read-zap-vs-read-zap", preset: "upstream-7.2" },
  "spt-free": { scenario: "teardown" },
  "mirror-ad": { scenario: "two-vcpus-same-gfn" },
  "state-guard": { scenario: "init-mem-region-vs-vp-init" },
  "gmem-lock": { scenario: "init-mem-region-vs-punch-hole" },
  "mr-extend-error": { scenario: "init-mem-region-vs-vp-init", overrides: { "state-guard": "off" } },
  dpamt: { scenario: "dpamt-two-vcpus-one-range", preset: "dpamt" },
  "pamt-refcount": { scenario: "dpamt-fault-vs-removal", preset: "dpamt" },
  "pamt-lock": { scenario: "dpamt-two-vcpus-one-range", preset: "dpamt" },
  "pamt-put": { scenario: "dpamt-conversion-storm", preset: "dpamt" },
  hugepage: { scenario: "hp-fault-vs-split", preset: "hugepage" },
  "hugepage-split": { scenario: "hp-conversion-vs-fault", preset: "hugepage" },
  "demote-pamt-lock": { scenario: "hp-demote-vs-pamt-add", preset: "hugepage" },
  "split-pamt-cache": { scenario: "hp-conversion-vs-fault", preset: "hugepage" },
  "pending-exit": { scenario: "fault-vs-accept" },
};

/**
 * Switch values ("switch=value", or "switch" for every value) that cannot change the explored
 * state space of any built-in scenario yet, with the reason.
 */
export const CANNOT_MATTER: Readonly<Record<string, string>> = {
  lockdep:
    "lockdep only decides whether the assertion sites report (no-warn); it never changes a step, so both values explore the same states — the verdicts differ (seed-race-read-zap on upstream-7.2 reports no-warn with lockdep=on; 7.2 keeps only lockdep to say that a removal needs the write lock, Sean Christopherson in the thread of Message-ID 20260129011517.3545883-1-seanjc@google.com)",
  "pending-exit":
    "the exit it handles exists only for a TD with SEPT_VE_DISABLE, which no built-in scenario sets, so both values explore the same states there (test/kvm/fidelity-sept-ve.test.ts runs both with the attribute; 'KVM: TDX: Detect unexpected SEPT violations due to pending SPTEs', Message-ID 20250227012021.1778144-3-binbin.wu@linux.intel.com)",
};
