// Built-in scenarios.
import type { Scenario } from "./scenario.js";

/** The email's situation [SEAN23]: vCPU0 faults GFN x in while another thread zaps x. */
export const seedRace: Scenario = {
  name: "seed-race",
  description: "vCPU0 faults private GFN 0 (its page tables already linked) while another thread zaps GFN 0 under the lock its preset prescribes",
  initial: { tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "zap", name: "zapper", start: 0, end: 1 },
  ],
  witnesses: ["tdh_mem_page_aug", "tdh_mem_page_remove"],
  strategy: "cache",
  expected: {
    seed: { violated: "mirror-sept-agreement" },
    "seed-seamcall-lock": { violated: "mirror-sept-agreement" },
    v11: "verified",
    "upstream-6.16": "verified",
    "upstream-6.19": "verified", "upstream-7.2": "verified",
  },
};

/** Two vCPUs fault the same GFN: one installs, the other retries or finds it spurious. */
export const twoVcpusSameGfn: Scenario = {
  name: "two-vcpus-same-gfn",
  description: "vCPU0 and vCPU1 fault private GFN 0 at the same time (page tables linked)",
  initial: { tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "fault", vcpu: 1, gfn: 0 },
  ],
  witnesses: ["tdh_mem_page_aug"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/** Two vCPUs fault two GFNs under one level-1 table that is not linked yet (link vs map, I-7). */
export const twoGfnsUnlinkedTable: Scenario = {
  name: "two-gfns-unlinked-table",
  description: "vCPU0 faults GFN 0 and vCPU1 faults GFN 1; both need the not-yet-linked level-1 table (SEPT.ADD)",
  initial: { tables: [{ level: 2, gfn: 0 }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "fault", vcpu: 1, gfn: 1 },
  ],
  witnesses: ["tdh_mem_sept_add", "tdh_mem_page_aug"],
  strategy: "cache",
  expected: { seed: { violated: "no-kvm-bug-on" }, "seed-seamcall-lock": { violated: "no-kvm-bug-on" }, v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/** A private fault races KVM_SET_MEMORY_ATTRIBUTES converting the GFN to shared (§2.8). */
export const faultVsConversion: Scenario = {
  name: "fault-vs-conversion",
  description: "vCPU0 faults private GFN 0 while userspace converts GFN 0 to shared",
  initial: { tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "set-attributes", name: "set-attributes", start: 0, end: 1, to: "shared" },
  ],
  witnesses: ["kvm_mmu_invalidate_begin", "tdh_mem_page_remove", "tdh_mem_page_aug"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/** A private fault races fallocate(PUNCH_HOLE) on guest_memfd (§2.10): no page freed while mapped. */
export const faultVsPunchHole: Scenario = {
  name: "fault-vs-punch-hole",
  description: "vCPU0 faults private GFN 0 while userspace punches a hole over GFN 0 in guest_memfd",
  initial: { tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "punch-hole", name: "punch-hole", start: 0, end: 1 },
  ],
  witnesses: ["truncate_inode_pages_range", "tdh_mem_page_remove", "tdh_mem_page_aug"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/** A fault inside a two-page punch hole whose zap yields mmu_lock between the pages (§2.0, §2.7). */
export const faultVsPunchHoleRange: Scenario = {
  name: "fault-vs-punch-hole-range",
  description: "GFN 0 is mapped; userspace punches a hole over GFNs 0-1 and the zap yields mmu_lock between them, while vCPU0 faults GFN 1: only the invalidation fence keeps the fault out",
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
  zapYields: true,
  threads: [
    { kind: "fault", vcpu: 0, gfn: 1 },
    { kind: "punch-hole", name: "punch-hole", start: 0, end: 2 },
  ],
  witnesses: ["tdp_mmu_iter_cond_resched: write_unlock", "tdh_mem_page_remove", "tdh_mem_page_aug"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/** Removal of a mapped page vs the guest ACCEPTing it (entry-lock contention, §3.3). */
export const removalVsAccept: Scenario = {
  name: "removal-vs-accept",
  description: "GFN 0 is AUGed (PENDING); vCPU0 runs the guest, which accepts GFN 0, while userspace punches a hole over it",
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "PENDING" }] },
  threads: [
    { kind: "vcpu", vcpu: 0, actions: [{ op: "accept", gfn: 0 }] },
    { kind: "punch-hole", name: "punch-hole", start: 0, end: 1 },
  ],
  witnesses: ["tdg_mem_page_accept", "WRITE_ONCE(kvm_tdx->wait_for_sept_zap, true)", "tdh_mem_page_remove"],
  strategy: "cache",
  expected: {
    seed: { violated: "no-kvm-bug-on" },
    "seed-seamcall-lock": { violated: "no-kvm-bug-on" },
    v11: { violated: "no-kvm-bug-on" },
    "upstream-6.16": "verified",
    "upstream-6.19": "verified", "upstream-7.2": "verified",
  },
};

/** Removal of a mapped page vs a vCPU entering the TD with zero-step armed (§2.6, §3.3). */
export const removalVsZeroStep: Scenario = {
  name: "removal-vs-zero-step",
  description: "vCPU0's guest touches unmapped GFN 1 (zero-step threshold 0: the first EPT exit arms it), KVM maps it and re-enters; meanwhile mapped GFN 0 is zapped under the lock the preset prescribes",
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
  module: { zeroStepThreshold: 0 },
  threads: [
    { kind: "vcpu", vcpu: 0, actions: [{ op: "access", gfn: 1 }] },
    { kind: "zap", name: "zapper", start: 0, end: 1 },
  ],
  strategy: "cache",
  witnesses: ["stepping filter: secure_ept_lock: try_lock SH", "WRITE_ONCE(kvm_tdx->wait_for_sept_zap, true)", "tdh_mem_page_remove"],
  expected: {
    seed: { violated: "mirror-sept-agreement" },
    "seed-seamcall-lock": { violated: "mirror-sept-agreement" },
    v11: { violated: "mirror-sept-agreement" },
    "upstream-6.16": "verified",
    "upstream-6.19": "verified", "upstream-7.2": "verified",
  },
};

/** An AUG racing the guest's ACCEPT of the same GFN on another vCPU (entry-lock BUSY|RCX, §3.3). */
export const faultVsAccept: Scenario = {
  name: "fault-vs-accept",
  description: "vCPU0 faults GFN 0 while the guest on vCPU1 ACCEPTs GFN 0 (its ACCEPT of a FREE page exits, vCPU1 faults it too, re-enters and accepts)",
  initial: { tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "vcpu", vcpu: 1, actions: [{ op: "accept", gfn: 0 }] },
  ],
  witnesses: ["tdg_mem_page_accept", "tdh_mem_page_aug"],
  strategy: "cache",
  expected: {
    seed: { violated: "no-kvm-bug-on" },
    "seed-seamcall-lock": { violated: "no-kvm-bug-on" },
    v11: { violated: "no-kvm-bug-on" },
    "upstream-6.16": "verified",
    "upstream-6.19": "verified", "upstream-7.2": "verified",
  },
};

/** A fault's AUG vs another vCPU entering with zero-step armed on module 1.5.16 (tree lock taken EX). */
export const faultVsZeroStep1516: Scenario = {
  name: "fault-vs-zero-step-1.5.16",
  description: "module 1.5.16: vCPU1's guest touches unmapped GFN 2 (zero-step threshold 0 arms it), KVM maps it and re-enters, taking the S-EPT tree lock exclusively; meanwhile vCPU0 faults GFN 0 (AUG takes it shared)",
  initial: { tables: [{ level: 1, gfn: 0 }, { level: 1, gfn: 2 }] },
  module: { version: "1.5.16", zeroStepThreshold: 0 },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "vcpu", vcpu: 1, actions: [{ op: "access", gfn: 2 }] },
  ],
  witnesses: ["tdh_vp_enter", "tdh_mem_page_aug", "restore after"],
  strategy: "cache",
  expected: {
    seed: { violated: "no-warn" },
    "seed-seamcall-lock": { violated: "no-warn" },
    v11: "verified",
    "upstream-6.16": "verified",
    "upstream-6.19": "verified", "upstream-7.2": "verified",
  },
};

/** Memslot deletion vs a fault in the slot (§2.9): the local retry must let deletion finish. */
export const memslotDeleteVsFault: Scenario = {
  name: "memslot-delete-vs-fault",
  description: "vCPU0 faults GFN 0 (holding kvm->srcu) while userspace deletes the memslot",
  initial: { tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "memslot-delete", name: "memslot-delete" },
  ],
  witnesses: ["synchronize_srcu", "kvm_mmu_zap_memslot"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": { violated: "livelock" }, "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/** Build time: KVM_TDX_INIT_MEM_REGION vs KVM_TDX_INIT_VCPU (§2.12). */
export const initMemRegionVsVpInit: Scenario = {
  name: "init-mem-region-vs-vp-init",
  description: "TD under construction: INIT_MEM_REGION of GFN 0 (issued on vCPU0) while KVM_TDX_INIT_VCPU of vCPU1 runs TDH.VP.INIT",
  initial: { td: "building", tables: [{ level: 1, gfn: 0 }], vcpusInitialized: false },
  threads: [
    { kind: "init-mem-region", name: "init-mem-region", gfn: 0 },
    { kind: "vp-init", name: "vp-init", vcpu: 1 },
  ],
  strategy: "cache",
  witnesses: ["tdh_mem_page_add", "tdh_vp_init"],
  expected: {
    seed: { violated: "no-kvm-bug-on" },
    "seed-seamcall-lock": { violated: "no-kvm-bug-on" },
    v11: { violated: "no-kvm-bug-on" },
    "upstream-6.16": { violated: "no-kvm-bug-on" },
    "upstream-6.19": "verified",
    "upstream-7.2": "verified",
  },
};

/**
 * TDH.VP.INIT (TDR exclusive) vs a punch hole's removal (TDR shared) during the build: the 6.16 bug
 * fixed by "KVM: TDX: Take MMU lock around tdh_vp_init()" (Message-ID
 * 20251028002824.1470939-1-rick.p.edgecombe@intel.com).
 */
export const punchHoleVsVpInit: Scenario = {
  name: "punch-hole-vs-vp-init",
  description: "TD under construction, GFN 0 PAGE.ADDed: userspace punches a hole over GFN 0 while KVM_TDX_INIT_VCPU of vCPU0 runs TDH.VP.INIT",
  initial: { td: "building", tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }], vcpusInitialized: false },
  threads: [
    { kind: "vp-init", name: "vp-init", vcpu: 0 },
    { kind: "punch-hole", name: "punch-hole", start: 0, end: 1 },
  ],
  witnesses: ["tdh_vp_init", "tdh_mem_range_block", "tdh_mem_page_remove"],
  strategy: "cache",
  expected: {
    seed: { violated: "no-kvm-bug-on" },
    "seed-seamcall-lock": { violated: "no-kvm-bug-on" },
    v11: { violated: "no-kvm-bug-on" },
    "upstream-6.16": { violated: "no-kvm-bug-on" },
    "upstream-6.19": "verified",
    "upstream-7.2": "verified",
  },
};

/** KVM_TDX_FINALIZE_VM vs KVM_PRE_FAULT_MEMORY (I-9: state RUNNABLE before pre_fault_allowed). */
export const finalizeVsPreFault: Scenario = {
  name: "finalize-vs-pre-fault",
  description: "TD under construction: userspace finalizes the TD while another thread pre-faults GFN 0",
  initial: { td: "building", tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "finalize", name: "finalize" },
    { kind: "pre-fault", name: "pre-fault", vcpu: 0, gfn: 0 },
  ],
  witnesses: ["tdh_mr_finalize", "tdh_mem_page_aug"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/** TD teardown with a mapped page (§2.13). */
export const teardownScenario: Scenario = {
  name: "teardown",
  description: "GFN 0 is mapped; the TD is torn down (gmem release, HKID release, mirror root teardown)",
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
  threads: [{ kind: "teardown", name: "teardown" }],
  witnesses: ["tdh_mng_key_freeid", "tdh_phymem_page_reclaim"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/**
 * The seed race with the zap under the read lock on every preset, lockdep compiled out: what a
 * production build would do if a zap of a mirror leaf ran under the read lock (kvm-7.2 §1.4).
 */
export const seedRaceReadZap: Scenario = {
  ...seedRace,
  name: "seed-race-read-zap",
  description: "seed-race with the zap under the read lock (zap-lock=read) and lockdep off: on 7.2 the zap goes through tdp_mmu_set_spte_atomic() and runs the removal inside the freeze",
  overrides: { "zap-lock": "read", lockdep: "off" },
  expected: {
    seed: { violated: "mirror-sept-agreement" },
    "seed-seamcall-lock": { violated: "mirror-sept-agreement" },
    v11: "verified",
    "upstream-6.16": { violated: "no-kvm-bug-on" },
    "upstream-6.19": { violated: "no-kvm-bug-on" },
    "upstream-7.2": "verified",
  },
};

/**
 * A read-lock zap of a mapped GFN while a fault installs another GFN of the same table: BLOCK takes
 * the S-EPT tree lock exclusively, AUG shared, so the zap's single no-vCPU retry is not enough
 * (the argument of tdh_do_no_vcpus() assumes every removal runs under the write lock).
 */
export const readZapTwoGfns: Scenario = {
  name: "read-zap-two-gfns",
  description: "GFN 0 is mapped; a zapper zaps GFN 0 under the read lock (zap-lock=read, lockdep off) while vCPU0 faults GFN 1 under the same level-1 table",
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 1 },
    { kind: "zap", name: "zapper", start: 0, end: 1 },
  ],
  overrides: { "zap-lock": "read", lockdep: "off" },
  witnesses: ["tdh_mem_page_aug", "tdh_mem_range_block"],
  strategy: "cache",
  expected: {
    seed: { violated: "no-warn" },
    "seed-seamcall-lock": { violated: "no-warn" },
    v11: { violated: "no-warn" },
    "upstream-6.16": { violated: "no-kvm-bug-on" },
    "upstream-6.19": { violated: "no-kvm-bug-on" },
    "upstream-7.2": { violated: "no-kvm-bug-on" },
  },
};

/**
 * Memslot deletion vs a guest_memfd punch hole over the slot's range (§2.9, §2.10): after
 * kvm_gmem_unbind() the punch hole reaches no memslot and zaps nothing, so the deletion's own zap
 * (kvm_mmu_zap_memslot with the private filter) is what keeps the freed page out of the S-EPT.
 */
export const memslotDeleteVsPunchHole: Scenario = {
  name: "memslot-delete-vs-punch-hole",
  description: "GFN 0 is mapped; userspace deletes the memslot (which unbinds it from guest_memfd) while another thread punches a hole over GFN 0",
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
  threads: [
    { kind: "memslot-delete", name: "memslot-delete" },
    { kind: "punch-hole", name: "punch-hole", start: 0, end: 1 },
  ],
  witnesses: ["kvm_gmem_unbind", "truncate_inode_pages_range", "tdh_mem_page_remove"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/**
 * KVM_PRE_FAULT_MEMORY vs memslot deletion (§2.9): the ioctl holds kvm->srcu while it loops on
 * RET_PF_RETRY, and the deletion's synchronize_srcu() waits for it (3ccbf6f47098).
 */
export const preFaultVsMemslotDelete: Scenario = {
  name: "pre-fault-vs-memslot-delete",
  description: "userspace pre-faults private GFN 0 on vCPU0 (KVM_PRE_FAULT_MEMORY, holding kvm->srcu) while another thread deletes the memslot",
  initial: { tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "pre-fault", name: "pre-fault", vcpu: 0, gfn: 0 },
    { kind: "memslot-delete", name: "memslot-delete" },
  ],
  witnesses: ["synchronize_srcu", "kvm_mmu_zap_memslot", "kvm_vcpu_pre_fault_memory: srcu_read_lock"],
  strategy: "cache",
  expected: { seed: { violated: "livelock" }, "seed-seamcall-lock": { violated: "livelock" }, v11: { violated: "livelock" }, "upstream-6.16": { violated: "livelock" }, "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/**
 * A private zap issued the way upstream can issue one (holding kvm->slots_lock, as memslot
 * deletion and KVM_SET_MEMORY_ATTRIBUTES do) while the TD is built: kvm_gmem_populate() holds
 * slots_lock for the whole INIT_MEM_REGION, so the zap runs entirely before or after it; in
 * particular never inside the ≤6.18 window between the pre-map and TDH.MEM.PAGE.ADD.
 */
export const initMemRegionVsZap: Scenario = {
  name: "init-mem-region-vs-zap",
  description: "TD under construction: INIT_MEM_REGION of GFN 0 while another thread zaps GFN 0 holding kvm->slots_lock",
  initial: { td: "building", tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "init-mem-region", name: "init-mem-region", gfn: 0 },
    { kind: "zap", name: "zapper", start: 0, end: 1, slotsLock: true },
  ],
  witnesses: ["tdh_mem_page_add", "zap: mutex_lock(&kvm->slots_lock)", "tdh_mem_page_remove"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/**
 * Two read-lock zaps of one mapped GFN, as shared-mode zappers (__tdp_mmu_zap_root(shared)) do
 * them: the loser's try_cmpxchg64 fails and it "goto retry"s with iter->old_spte. With
 * 02eaaffdd865 (7.2) the iterator holds the value that beat it and the retry ends; before, the
 * stale value makes every retry fail (Sean's example in [RFC PATCH v5 02/45], 2026-01-29).
 * Like seed-race-read-zap, the read-lock zap and lockdep=off are what a 7.2 production build
 * would do if such a caller existed.
 */
export const readZapVsReadZap: Scenario = {
  name: "read-zap-vs-read-zap",
  description: "GFN 0 is mapped; two threads zap it under the read lock (zap-lock=read, lockdep off): the loser of the cmpxchg retries with iter->old_spte",
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
  threads: [
    { kind: "zap", name: "zapper0", start: 0, end: 1 },
    { kind: "zap", name: "zapper1", start: 0, end: 1 },
  ],
  overrides: { "zap-lock": "read", lockdep: "off" },
  witnesses: ["tdh_mem_page_remove"],
  strategy: "cache",
  expected: {
    seed: "verified",
    "seed-seamcall-lock": "verified",
    v11: "verified",
    // 6.16–6.19 refuse an atomic zap of a mirror SPTE (KVM_BUG_ON in __tdp_mmu_set_spte_atomic()).
    "upstream-6.16": { violated: "no-kvm-bug-on" },
    "upstream-6.19": { violated: "no-kvm-bug-on" },
    "upstream-7.2": "verified",
  },
};

/** TD teardown while a vCPU still runs and faults (kvm-7.2-changes §2.6; kvm-mirror-spec I-6). */
export const teardownVsFault: Scenario = {
  name: "teardown-vs-fault",
  description: "GFN 0 is mapped; userspace closes guest_memfd (gmem release) and tears the TD down while vCPU0 still handles an EPT violation on GFN 1",
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 1 },
    { kind: "teardown", name: "teardown" },
  ],
  witnesses: ["tdh_mng_key_freeid", "kvm_destroy_vm", "tdh_mem_page_aug", "kvm_gmem_get_pfn: kvm_gmem_get_file"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

export const SCENARIOS: Record<string, Scenario> = {
  "seed-race": seedRace,
  "seed-race-read-zap": seedRaceReadZap,
  "read-zap-two-gfns": readZapTwoGfns,
  "two-vcpus-same-gfn": twoVcpusSameGfn,
  "two-gfns-unlinked-table": twoGfnsUnlinkedTable,
  "fault-vs-conversion": faultVsConversion,
  "fault-vs-punch-hole": faultVsPunchHole,
  "fault-vs-punch-hole-range": faultVsPunchHoleRange,
  "removal-vs-zero-step": removalVsZeroStep,
  "removal-vs-accept": removalVsAccept,
  "fault-vs-accept": faultVsAccept,
  "fault-vs-zero-step-1.5.16": faultVsZeroStep1516,
  "memslot-delete-vs-fault": memslotDeleteVsFault,
  "init-mem-region-vs-vp-init": initMemRegionVsVpInit,
  "punch-hole-vs-vp-init": punchHoleVsVpInit,
  "finalize-vs-pre-fault": finalizeVsPreFault,
  teardown: teardownScenario,
  "memslot-delete-vs-punch-hole": memslotDeleteVsPunchHole,
  "pre-fault-vs-memslot-delete": preFaultVsMemslotDelete,
  "init-mem-region-vs-zap": initMemRegionVsZap,
  "read-zap-vs-read-zap": readZapVsReadZap,
  "teardown-vs-fault": teardownVsFault,
};
