// What each property means (for list, explain, and the matrix legend). The model reports them;
// the words here are kvm-mirror-spec §4's.
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
    source: "kvm-mirror-spec §4 I-1",
  },
  {
    name: "mirror-sept-agreement-final",
    short: "agreement-final",
    description: "At the end of every complete execution every entry agrees (entries of detached tables count as not present); an entry still FROZEN/REMOVED at the end is itself a violation.",
    source: "kvm-mirror-spec §4 I-1",
  },
  {
    name: "no-free-while-mapped",
    short: "freed-mapped",
    description: "No PFN is freed or reused by guest_memfd while the S-EPT still maps it (the security property; checked after a KVM_BUG_ON too).",
    source: "kvm-mirror-spec §4 I-2",
  },
  {
    name: "no-stale-private-leaf",
    short: "stale-leaf",
    description:
      "No private S-EPT leaf (PENDING, MAPPED or blocked) for a GFN whose memory attribute is shared, or that lies inside an in-progress mmu_notifier/guest_memfd invalidation range, whenever no invalidation is between its begin and the end of its zap (checked while the HKID is assigned).",
    source: "kvm_mmu_invalidate_begin()/mmu_invalidate_retry_gfn() fence and kvm_vm_set_mem_attributes() (virt/kvm/kvm_main.c); issue 10",
  },
  { name: "no-kvm-bug-on", short: "KVM_BUG_ON", description: "No KVM_BUG_ON is reached (a KVM_BUG_ON marks the VM bugged; exploration continues after it).", source: "KVM_BUG_ON sites of the modelled code" },
  { name: "no-warn", short: "WARN", description: "No WARN_ON / WARN_ON_ONCE site and no lockdep assertion of the modelled code fires.", source: "WARN sites of the modelled code" },
  {
    name: "removal-protocol",
    short: "removal-order",
    description: "TDH.MEM.PAGE.REMOVE only after BLOCK, a completed TRACK, and every vCPU leaving the guest since.",
    source: "kvm-mirror-spec §4 I-3",
  },
  { name: "no-vcpu-retry-never-busy", short: "retry-busy", description: "The second attempt of a no-vCPU retry (tdh_do_no_vcpus) never sees TDX_OPERAND_BUSY.", source: "tdh_do_no_vcpus() (6.19)" },
  { name: "write-lock-never-sees-frozen", short: "writer-frozen", description: "A holder of mmu_lock for write never sees a FROZEN (REMOVED) SPTE.", source: "kvm-mirror-spec §4" },
  { name: "fault-completes", short: "fault-stuck", description: "Every fault eventually completes or returns to the run loop.", source: "kvm-mirror-spec §4" },
  { name: "deadlock", short: "deadlock", description: "No execution ends with unfinished threads all blocked.", source: "engine" },
  { name: "livelock", short: "livelock", description: "No cycle of retries without progress (a fair cycle of the state graph in which no thread marks progress).", source: "engine (docs/design.md)" },
  { name: "assertion", short: "assertion", description: "No assertion in thread code fails.", source: "engine" },
];

export function shortProperty(p: string): string {
  return PROPERTY_INFO.find((x) => x.name === p)?.short ?? p;
}
