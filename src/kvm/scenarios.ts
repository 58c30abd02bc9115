// Built-in scenarios.
import type { Expect, Scenario } from "./scenario.js";
import { WHY } from "./why.js";

/** The email's situation (Message-ID Y8m34OEVBfL7Q4Ns@google.com): vCPU0 faults GFN x in while another thread zaps x. */
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
  // seed and v11 predate cc7ed3358e41 (switch mirror-ad=propagate): the loser's A/D-only change bugs the VM.
  expected: { seed: { violated: "no-kvm-bug-on" }, "seed-seamcall-lock": { violated: "no-kvm-bug-on" }, v11: { violated: "no-kvm-bug-on" }, "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
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

/** A private fault races KVM_SET_MEMORY_ATTRIBUTES converting the GFN to shared (kvm_main.c: kvm_vm_set_mem_attributes()). */
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

/** A private fault races fallocate(PUNCH_HOLE) on guest_memfd (guest_memfd.c: kvm_gmem_punch_hole()): no page freed while mapped. */
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

/** A fault inside a two-page punch hole whose zap yields mmu_lock between the pages (tdp_mmu.c:
 * tdp_mmu_iter_cond_resched(); the fault's mmu_invalidate_seq/in_progress re-check in mmu.c). */
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

/** Removal of a mapped page vs the guest ACCEPTing it (entry-lock contention; Yan Zhao, '[PATCH 0/7] KVM: TDX SEPT
 * SEAMCALL retry', Message-ID 20250113020925.18789-1-yan.y.zhao@intel.com). */
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

/** Removal of a mapped page vs a vCPU entering the TD with zero-step armed (tdx.c: tdx_vcpu_run(); TDH.VP.ENTER's
 * zero-step filter, M25 td_exit_stepping.c). */
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

/** An AUG racing the guest's ACCEPT of the same GFN on another vCPU (entry-lock BUSY|RCX; Message-ID
 * 20250113020925.18789-1-yan.y.zhao@intel.com). */
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
    // v11 predates cc7ed3358e41 (mirror-ad=propagate): the repeated EPT violation on the PENDING page bugs the VM.
    v11: { violated: "no-kvm-bug-on" },
    "upstream-6.16": "verified",
    "upstream-6.19": "verified", "upstream-7.2": "verified",
  },
};

/** Memslot deletion vs a fault in the slot (mmu.c: kvm_mmu_zap_memslot(); 2bc2694fe20b): the local retry must let deletion finish. */
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

/** Build time: KVM_TDX_INIT_MEM_REGION vs KVM_TDX_INIT_VCPU (tdx.c: tdx_vcpu_init_mem_region(), tdx_td_vcpu_init()). */
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

/** TD teardown with a mapped page (kvm_destroy_vm(); tdx.c: tdx_mmu_release_hkid()). */
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
 * production build would do if a zap of a mirror leaf ran under the read lock (tdp_mmu.c: tdp_mmu_set_spte_atomic() after 28c77a037804).
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
 * Memslot deletion vs a guest_memfd punch hole over the slot's range (mmu.c: kvm_mmu_zap_memslot();
 * guest_memfd.c: kvm_gmem_punch_hole()): after
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
 * KVM_PRE_FAULT_MEMORY vs memslot deletion (3ccbf6f47098): the ioctl holds kvm->srcu while it loops on
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
  expected: { seed: { violated: "removal-protocol" }, "seed-seamcall-lock": { violated: "removal-protocol" }, v11: { violated: "removal-protocol" }, "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
};

/**
 * KVM_TDX_INIT_MEM_REGION vs fallocate(PUNCH_HOLE) on the same guest_memfd: kvm_gmem_populate()
 * and kvm_gmem_punch_hole() both take filemap_invalidate_lock() exclusively (since 1f6c06b177513
 * "KVM: guest_memfd: Add interface for populating gmem pages with user data", 6.11), so the punch
 * hole's zap runs wholly before the populate or after it, never against TDH.MEM.PAGE.ADD /
 * TDH.MR.EXTEND. The gmem-lock ablation shows what the lock stops.
 */
export const initMemRegionVsPunchHole: Scenario = {
  name: "init-mem-region-vs-punch-hole",
  description: "TD under construction: INIT_MEM_REGION of GFN 0 while userspace punches a hole over GFN 0 of the same guest_memfd",
  initial: { td: "building", tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "init-mem-region", name: "init-mem-region", gfn: 0 },
    { kind: "punch-hole", name: "punch-hole", start: 0, end: 1 },
  ],
  witnesses: ["tdh_mem_page_add", "filemap_invalidate_lock"],
  strategy: "cache",
  // seed/v11 run on module 1.0: the punch hole's REMOVE after the PAGE.ADD, before finalize, is
  // refused without TLB tracking (as init-mem-region-vs-zap).
  expected: { seed: { violated: "removal-protocol" }, "seed-seamcall-lock": { violated: "removal-protocol" }, v11: { violated: "removal-protocol" }, "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified" },
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

/** TD teardown while a vCPU still runs and faults (guest_memfd.c: kvm_gmem_release() does not wait for vCPUs;
 * all private leaves must be gone before tdx_mmu_release_hkid()). */
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

// ---- Dynamic PAMT (src/kvm/tdx_pamt.ts). A "2M range" is the fanout PFNs under one level-2
// entry: with fan-out 2, PFNs {2k, 2k+1}. guest_memfd backs GFN g with PFN g+1, so GFNs 1 and 2
// (PFNs 2, 3) share range 1, and PFN 0 (another TD's page) shares range 0 with GFN 0 (PFN 1).
// On the presets without Dynamic PAMT these scenarios are plain faults, zaps and conversions of
// situations the older scenarios already verify (no DPAMT step exists there): expected verified.

/**
 * Two vCPUs fault two GFNs whose pages share one 2M range that has no PAMT page pair yet: both
 * tdx_pamt_get()s find refcount 0, both draw a pair from their vCPU's cache; the global pamt_lock
 * lets exactly one PAMT.ADD happen, the other increments and frees its pair to the allocator
 * (dynamic-PAMT v6 05/11 "Handle concurrent callers", queued as eca9d4a3f1f8). Expected on dpamt:
 * verified (D-1…D-5, D-8, D-9 hold). With pamt-lock=off both issue PAMT.ADD for the range: the loser
 * gets TDX_HPA_RANGE_NOT_FREE or BUSY|RCX (the 2M PAMT entry held EX), a WARN and -EIO — the
 * serialisation the v6 05/11 log says pamt_lock exists for.
 */
export const dpamtTwoVcpusOneRange: Scenario = {
  name: "dpamt-two-vcpus-one-range",
  description: "vCPU0 faults GFN 1 and vCPU1 faults GFN 2; their pages share a 2M range that has no PAMT page pair yet (page tables linked)",
  initial: { tables: [{ level: 1, gfn: 0 }, { level: 1, gfn: 2 }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 1 },
    { kind: "fault", vcpu: 1, gfn: 2 },
  ],
  witnesses: ["tdh_mem_page_aug"],
  strategy: "cache",
  expected: { seed: { violated: "no-warn" }, "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified", dpamt: "verified" },
};

/**
 * A fault racing a removal in the same 2M range. The refcounts and pairs are per physical range
 * and shared by every TD, so the removal that can race a fault (which holds mmu_lock for read) is
 * another TD's zap: its PAGE.REMOVE then tdx_pamt_put() of the range's last other user, while this
 * TD's fault gets the range for its page (race R2: put dropping to 0 vs get). Expected on dpamt:
 * verified — the refcount decision and PAMT.REMOVE happen under pamt_lock (eca9d4a3f1f8), so the
 * get either increments a live refcount or re-adds the pair after the removal. With
 * pamt-refcount=dec-and-test (the put decrements to 0 before taking the lock, v4's
 * HPA_RANGE_NOT_FREE-as-success in the get) the get's PAMT.ADD fails and the put then removes
 * the pair under a live user (or fails NOT_EMPTY): the R2 analysis quoted by Kai Huang in the
 * RFC v5 thread (2026-02-10), fixed in v6 06/11 by atomic_dec_and_lock().
 */
export const dpamtFaultVsOtherTdUnmap: Scenario = {
  name: "dpamt-fault-vs-removal",
  description: "another TD has PFN 0 mapped; it unmaps it (PAGE.REMOVE, PAMT put) while vCPU0 faults GFN 0, whose PFN 1 is in the same 2M range",
  initial: { tables: [{ level: 1, gfn: 0 }], otherTd: [0] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "other-td", name: "other-TD", pfn: 0, op: "unmap" },
  ],
  witnesses: ["tdh_mem_page_aug", "other TD: tdh_mem_page_remove"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified", dpamt: "verified" },
};

/**
 * A conversion storm on one 2M range: GFN 1 is private and mapped, GFN 2 (same range) is shared;
 * userspace converts GFN 1 to shared (leaf zap: the range's last put, PAMT.REMOVE) and GFN 2 to
 * private while vCPU0 faults GFN 2 (a get that re-adds the pair, or increments while GFN 1 is
 * still mapped, or a memory-fault exit while GFN 2 is still shared). Expected on dpamt: verified:
 * zaps and faults of one VM are ordered by mmu_lock, the put comes after REMOVE / WBINVD
 * (d7fe610e6a66) and the get inside the fault's freeze. With pamt-put=before-remove the put runs
 * while the page is still in the S-EPT: PAMT.REMOVE fails TDX_PAMT_PAGE_NOT_EMPTY, or the refcount
 * drops below the pages in use (D-2) — the accounting bug the design note's S-REMOVE-NOT-EMPTY
 * ablation is about.
 */
export const dpamtConversionStorm: Scenario = {
  name: "dpamt-conversion-storm",
  description: "GFN 1 is private and mapped, GFN 2 (same 2M range) shared; userspace converts GFN 1 to shared and GFN 2 to private while vCPU0 faults GFN 2",
  initial: { tables: [{ level: 1, gfn: 0 }, { level: 1, gfn: 2 }], leaves: [{ gfn: 1 }], shared: [2] },
  threads: [
    { kind: "set-attributes", name: "to-shared", start: 1, end: 2, to: "shared" },
    { kind: "set-attributes", name: "to-private", start: 2, end: 3, to: "private" },
    { kind: "fault", vcpu: 0, gfn: 2 },
  ],
  witnesses: ["tdh_mem_page_remove", "kvm_vm_set_mem_attributes"],
  strategy: "cache",
  expected: { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified", dpamt: "verified" },
};

/**
 * Expected verdicts on `dpamt` of the scenarios that predate it, with the reason. Dynamic PAMT only
 * adds work inside the windows these scenarios already race in: the get and its put-on-error run
 * inside the install's freeze (d7fe610e6a66 places them in tdx_sept_map_{leaf,nonleaf}_spte), the
 * put of a removal after REMOVE/WBINVD under the write lock, and every PAMT.ADD/REMOVE under
 * pamt_lock; none of them can fail while the refcount rule holds (design of eca9d4a3f1f8). So each
 * verdict is the one of the preset dpamt is built on, now with D-1…D-5, D-8 and D-9 checked too.
 */
export const DPAMT_EXPECTED: Readonly<Record<string, { expect: Expect; why: string }>> = {
  "seed-race": { expect: "verified", why: "as upstream: the write-lock zap runs wholly before or after the frozen install; the install's get/put sit inside its freeze" },
  "seed-race-read-zap": {
    expect: "verified",
    why: "as upstream-7.2: the read-lock zap's removal runs inside its own freeze and the install's get inside the install's; one GFN, so the zap's put and the fault's get are ordered by the freeze",
  },
  "read-zap-two-gfns": {
    expect: { violated: "no-kvm-bug-on" },
    why: "as upstream-7.2: the read-lock zap's BLOCK still meets the fault's AUG on the tree lock after its single no-vCPU retry (TDX_BUG_ON); Dynamic PAMT neither adds nor removes that conflict",
  },
  "punch-hole-vs-vp-init": { expect: "verified", why: "as upstream-7.2: VP.INIT under the write lock excludes the punch hole's zap and its put; control pages are not got or put in the model's flows" },
  "memslot-delete-vs-punch-hole": { expect: "verified", why: "both zaps run under the write lock, each put after its removal; the unbound slot's punch hole zaps nothing" },
  "pre-fault-vs-memslot-delete": { expect: "verified", why: "as upstream-7.2: the prefault retries (or returns -EAGAIN) before any install, so no get is left without its SEAMCALL" },
  "init-mem-region-vs-punch-hole": { expect: "verified", why: "as upstream-7.2: the gmem invalidate lock orders the punch hole's zap (its put) wholly before or after the populate (its get)" },
  "init-mem-region-vs-zap": { expect: "verified", why: "as upstream-7.2: slots_lock orders the zap (its put) wholly before or after INIT_MEM_REGION (its get from vCPU 0's cache)" },
  "teardown-vs-fault": {
    expect: "verified",
    why: "as upstream-7.2: gmem release zaps (puts) under the write lock; a fault after it gets -EFAULT before any get; S-EPT pages are put after their RECLAIM",
  },
  "read-zap-vs-read-zap": { expect: "verified", why: "as upstream-7.2: one zapper wins the freeze and removes (one put); the other retries with the refreshed iter->old_spte and finds nothing" },
  "two-vcpus-same-gfn": { expect: "verified", why: "the loser of the freeze cmpxchg never gets; the winner's get is the only one on the range" },
  "two-gfns-unlinked-table": { expect: "verified", why: "the S-EPT page's get precedes SEPT.ADD inside the parent's freeze; the losing linker gets nothing" },
  "fault-vs-conversion": { expect: "verified", why: "conversion zaps under the write lock: get (fault) and put (zap) are ordered by mmu_lock" },
  "fault-vs-punch-hole": { expect: "verified", why: "as fault-vs-conversion: the punch-hole zap's put is ordered with the fault's get by mmu_lock" },
  "fault-vs-punch-hole-range": { expect: "verified", why: "the zap yields mmu_lock between GFNs but each put completes under the write lock it runs in" },
  "removal-vs-zero-step": { expect: "verified", why: "the removal's put comes after REMOVE and WBINVD succeeded (d7fe610e6a66); zero-step does not touch the PAMT" },
  "removal-vs-accept": { expect: "verified", why: "ACCEPT does not touch the PAMT; the no-vCPU retry still succeeds, then the put" },
  "fault-vs-accept": { expect: "verified", why: "an AUG that gets BUSY|RCX from the guest's entry lock puts its reference before the SPTE is restored (put on any error)" },
  "fault-vs-zero-step-1.5.16": { expect: "verified", why: "module 1.5.16 has no Dynamic PAMT (its PAMT.ADD/REMOVE are stubs): tdx_supports_dynamic_pamt() is false and every get/put is a no-op" },
  "memslot-delete-vs-fault": { expect: "verified", why: "as upstream-6.19: the fault retries without taking a reference; the memslot zap's puts run under the write lock" },
  "init-mem-region-vs-vp-init": { expect: "verified", why: "KVM_TDX_INIT_MEM_REGION is a vCPU ioctl (vcpu_load), so kvm_get_running_vcpu() is set and its cache topped up once" },
  "finalize-vs-pre-fault": { expect: "verified", why: "pre-fault is a vCPU ioctl: get from that vCPU's cache, topped up on every attempt" },
  teardown: { expect: "verified", why: "leaf removals put after REMOVE; S-EPT pages are put by tdx_free_control_page() right after RECLAIM; the TD's control pages keep their references" },
};
// ---- S-EPT huge pages (src/kvm/hugepage.ts). Block 0 = GFNs 0-1 under one level-2
// entry, backed by one 2M folio. On every preset but hugepage the same guest is mapped at 4K
// (initial.hugeLeaves becomes two 4K leaves), so these are plain 4K races there. ----
/** Before cc7ed3358e41 (mirror-ad=propagate): a fault on a present writable leaf re-makes it with D clear and bugs the VM. */
const PRE_AD_BUG: Record<string, Expect> = { seed: { violated: "no-kvm-bug-on" }, "seed-seamcall-lock": { violated: "no-kvm-bug-on" }, v11: { violated: "no-kvm-bug-on" } };
const ALL_VERIFIED: Record<string, Expect> = { seed: "verified", "seed-seamcall-lock": "verified", v11: "verified", "upstream-6.16": "verified", "upstream-6.19": "verified", "upstream-7.2": "verified", dpamt: "verified", hugepage: "verified" };

/** A 4K ACCEPT on a 2M PENDING mapping (split + GUEST_INHIBIT) while another vCPU faults the other 4K page. */
export const hpFaultVsSplit: Scenario = {
  name: "hp-fault-vs-split",
  description: "GFNs 0-1 are one 2M PENDING mapping; vCPU0's guest accepts GFN 0 at 4K (the exit splits the mapping and sets GUEST_INHIBIT) while vCPU1 faults GFN 1",
  initial: { hugeFolios: [0], hugeLeaves: [{ gfn: 0, state: "PENDING" }] },
  threads: [
    { kind: "vcpu", vcpu: 0, actions: [{ op: "accept", gfn: 0 }] },
    { kind: "fault", vcpu: 1, gfn: 1 },
  ],
  witnesses: ["tdg_mem_page_accept"],
  strategy: "cache",
  // seed and v11 predate cc7ed3358e41 (switch mirror-ad=propagate): a fault on the present leaf bugs the VM.
  expected: { ...ALL_VERIFIED, ...PRE_AD_BUG },
};

/** Private→shared conversion of one 4K page of a 2M mapping vs a fault on the other. */
export const hpConversionVsFault: Scenario = {
  name: "hp-conversion-vs-fault",
  description: "GFNs 0-1 are one accepted 2M mapping; userspace converts GFN 1 to shared (head/tail split, then the zap) while vCPU0 faults GFN 0",
  initial: { hugeFolios: [0], hugeLeaves: [{ gfn: 0, state: "MAPPED" }] },
  threads: [
    { kind: "set-attributes", name: "set-attributes", start: 1, end: 2, to: "shared" },
    { kind: "fault", vcpu: 0, gfn: 0 },
  ],
  witnesses: ["tdh_mem_page_remove"],
  strategy: "cache",
  expected: { ...ALL_VERIFIED, ...PRE_AD_BUG },
};

/** A punch hole of one 4K page of a 2M mapping (pre-zap split) while the guest accepts the other. */
export const hpPunchVsAccept: Scenario = {
  name: "hp-punch-vs-accept",
  description: "GFNs 0-1 are one accepted 2M mapping; userspace punches a hole over GFN 1 (pre-zap split, zap, folio split) while vCPU0's guest accepts GFN 0 again at 4K (ALREADY_ACCEPTED, or an exit while the block is BLOCKED)",
  initial: { hugeFolios: [0], hugeLeaves: [{ gfn: 0, state: "MAPPED" }] },
  threads: [
    { kind: "vcpu", vcpu: 0, actions: [{ op: "accept", gfn: 0 }] },
    { kind: "punch-hole", name: "punch-hole", start: 1, end: 2 },
  ],
  witnesses: ["tdg_mem_page_accept", "tdh_mem_page_remove"],
  strategy: "cache",
  expected: { ...ALL_VERIFIED },
};

/**
 * Race R5: a split's DEMOTE walks its PAMT pair pages SH in their own 2M range, which here is
 * range 0 (initial.pamtPairRange), while another TD's first fault in range 0 (PFN 0) issues
 * PAMT.ADD(range 0), which needs that range's 2M PAMT entry EX. pamt_lock serialises every
 * PAMT.ADD/REMOVE but, in RFC v5 30/45 as posted, not DEMOTE: one side gets BUSY (Yan Zhao,
 * 2026-06-11, reply to 30/45: BUSY|R12 on DEMOTE, BUSY|RCX on PAMT.ADD). With the agreed fix
 * (demote-pamt-lock=held, the hugepage preset's value) DEMOTE runs under pamt_lock and both succeed.
 */
export const hpDemoteVsOtherTdPamtAdd: Scenario = {
  name: "hp-demote-vs-pamt-add",
  description: "GFNs 0-1 are one 2M PENDING mapping; vCPU0's guest accepts GFN 0 at 4K (split: DEMOTE with a PAMT pair whose pages lie in range 0) while another TD maps PFN 0, the first page of range 0 (PAMT.ADD)",
  initial: { hugeFolios: [0], hugeLeaves: [{ gfn: 0, state: "PENDING" }], pamtPairRange: 0 },
  threads: [
    { kind: "vcpu", vcpu: 0, actions: [{ op: "accept", gfn: 0 }] },
    { kind: "other-td", name: "other-TD", pfn: 0, op: "map" },
  ],
  witnesses: ["tdg_mem_page_accept", "other TD: tdh_mem_page_aug"],
  strategy: "cache",
  expected: { ...ALL_VERIFIED },
};

/**
 * A DEMOTE interrupted by a host interrupt on a module without ENHANCE_DEMOTE_INTERRUPTIBILITY
 * (module.enhancedDemote=false): TDX_INTERRUPTED_RESTARTABLE, nothing committed, the 2M leaf
 * stays BLOCKED. KVM as posted (RFC v5 39/45) treats every DEMOTE error left after the no-vCPU
 * retry as TDX_BUG_ON_2 (INTERRUPTED_RESTARTABLE is not BUSY, so there is no retry): the VM is
 * bugged with the mirror showing the non-leaf. That is why v3 (cover, restriction 2) turns huge
 * pages off on such modules; the scenario forces them on to show it.
 */
export const hpDemoteInterrupted: Scenario = {
  name: "hp-demote-interrupted",
  description: "GFNs 0-1 are one 2M PENDING mapping on a module without ENHANCE_DEMOTE_INTERRUPTIBILITY; vCPU0's guest accepts GFN 0 at 4K and the split's DEMOTE may see a pending host interrupt",
  initial: { hugeFolios: [0], hugeLeaves: [{ gfn: 0, state: "PENDING" }] },
  threads: [{ kind: "vcpu", vcpu: 0, actions: [{ op: "accept", gfn: 0 }] }],
  module: { enhancedDemote: false },
  witnesses: ["tdg_mem_page_accept"],
  strategy: "cache",
  expected: { ...ALL_VERIFIED, hugepage: { violated: "no-kvm-bug-on" } },
};

/**
 * TD teardown with a 2M leaf mapped while a vCPU faults a GFN inside it: gmem release zaps the 2M
 * leaf whole (BLOCK/TRACK/REMOVE at 2M, no split, no PAMT put: RFC v5 29/45), then the HKID is
 * released and the S-EPT pages reclaimed (each put after its RECLAIM). Every refcount ends equal to
 * the module's count (D-9).
 */
export const hpTeardown: Scenario = {
  name: "hp-teardown",
  description: "GFNs 0-1 are one accepted 2M mapping; userspace closes guest_memfd and tears the TD down while vCPU0 handles an EPT violation on GFN 1",
  initial: { hugeFolios: [0], hugeLeaves: [{ gfn: 0, state: "MAPPED" }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 1 },
    { kind: "teardown", name: "teardown" },
  ],
  witnesses: ["tdh_mng_key_freeid", "tdh_mem_page_remove"],
  strategy: "cache",
  expected: { ...ALL_VERIFIED, ...PRE_AD_BUG },
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
  "init-mem-region-vs-punch-hole": initMemRegionVsPunchHole,
  "read-zap-vs-read-zap": readZapVsReadZap,
  "teardown-vs-fault": teardownVsFault,
  "dpamt-two-vcpus-one-range": dpamtTwoVcpusOneRange,
  "dpamt-fault-vs-removal": dpamtFaultVsOtherTdUnmap,
  "dpamt-conversion-storm": dpamtConversionStorm,
  "hp-fault-vs-split": hpFaultVsSplit,
  "hp-conversion-vs-fault": hpConversionVsFault,
  "hp-punch-vs-accept": hpPunchVsAccept,
  "hp-demote-vs-pamt-add": hpDemoteVsOtherTdPamtAdd,
  "hp-demote-interrupted": hpDemoteInterrupted,
  "hp-teardown": hpTeardown,
};

for (const [name, e] of Object.entries(DPAMT_EXPECTED)) {
  const sc = SCENARIOS[name];
  if (!sc) throw new Error(`DPAMT_EXPECTED: no scenario ${name}`);
  sc.expected.dpamt = e.expect;
}

// The hugepage column of every scenario without a 2M folio: huge pages need guest_memfd's 2M folios
// (the max mapping level is bounded by the folio order), so none of the huge-page code runs and the
// verdict is the dpamt one (hugepage = dpamt + huge pages, RFC v5).
for (const sc of Object.values(SCENARIOS)) {
  if (sc.expected.hugepage !== undefined || sc.expected.dpamt === undefined) continue;
  if (sc.initial?.hugeFolios?.length) throw new Error(`${sc.name}: a scenario with 2M folios needs its own hugepage expectation`);
  sc.expected.hugepage = sc.expected.dpamt;
}
const HP_AS_DPAMT = "as dpamt: this scenario's guest_memfd has no 2M folio, so nothing is mapped at 2M and no huge-page path runs (RFC v5 45/45: the max level is bounded by the folio order)";

// Every expectation carries its reason (src/kvm/why.ts; dpamt's from DPAMT_EXPECTED).
for (const [name, sc] of Object.entries(SCENARIOS)) {
  const w: Record<string, string> = { ...(WHY[name] ?? {}) };
  const d = DPAMT_EXPECTED[name];
  if (d) w.dpamt = d.why;
  if (w.hugepage === undefined && !sc.initial?.hugeFolios?.length) w.hugepage = `${HP_AS_DPAMT}; ${w.dpamt ?? ""}`.replace(/; $/, "");
  const why = Object.fromEntries(Object.keys(sc.expected).filter((p) => w[p] !== undefined).map((p) => [p, w[p]!]));
  if (Object.keys(why).length) sc.why = why;
}
