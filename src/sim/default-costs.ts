// The default cost model, as the YAML text `tdxmc simulate --print-costs` writes out and `--costs FILE`
// replaces. Every number says what it rests on: measured (a published measurement, with its source),
// derived (arithmetic on a measurement, shown) or assumed (no published figure; to be calibrated).
//
// The teardown figures of the KVM_TDX_TERMINATE_VM series (Message-ID
// 20250718181541.98146-1-seanjc@google.com: 4 vCPU/18 GB 72 s -> 24 s, 32 vCPU/107 GB 517 s -> 134 s)
// are deliberately NOT used for any default: they are the calibration target (test/sim).
export const DEFAULT_COSTS_YAML = `# tdxmc cost model. Times in nanoseconds, probabilities in [0, 1].
# basis: measured (needs source) | derived (needs source: the arithmetic and what it starts from) | assumed
format: tdxmc-costs/1

cpu:
  # Physical CPUs for the vCPU and userspace threads (0 = one per thread).
  cpus: {value: 0, basis: assumed, source: "a host with a CPU for every vCPU thread"}
  slice: {value: 3000000, basis: assumed, source: "CFS-like time slice; only used when threads outnumber CPUs"}
  handoff: {value: 100, basis: assumed, source: "cache-line transfer from the releasing CPU to a spinning waiter"}
  jitter: {value: 0.1, basis: assumed, source: "+-10% on every step, so that ties break differently per seed"}

# Per SEAMCALL leaf (and guest-side module flow): ok = the call's cost when it does its work,
# charged while the module holds its locks (before the first release); busy = a call that fails
# with TDX_OPERAND_BUSY (the module's locks are try-locks, failure is fast).
seamcall:
  tdh_mem_page_aug: {ok: 3000, busy: 500, basis: derived, source: "Dstack-TEE/dstack PR #1220: ~8 us per uncontended accept fault; minus 2 us exit/entry and 2 us KVM handling, the rest split AUG + in-guest accept"}
  tdh_mem_sept_add: {ok: 3000, busy: 500, basis: assumed, source: "same class as AUG (tree SH + one entry EX)"}
  tdh_mem_page_add: {ok: 10000, busy: 500, basis: assumed, source: "copies the page; the 16 MR.EXTEND are charged separately"}
  tdh_mr_extend: {ok: 600, busy: 500, basis: assumed, source: "one SHA-384 extend of 256 B"}
  tdh_mem_range_block: {ok: 2000, busy: 500, basis: assumed, source: "takes the S-EPT tree lock exclusive"}
  tdh_mem_track: {ok: 1000, busy: 500, basis: assumed, source: "epoch increment under the epoch lock"}
  tdh_mem_page_remove: {ok: 3000, busy: 500, basis: assumed, source: "'thousands of cycles' per SEAMCALL (S. Christopherson, 20 Aug 2025, DPAMT v2 thread)"}
  tdh_phymem_page_wbinvd: {ok: 1500, busy: 500, basis: assumed, source: "cache write-back of one 4K page"}
  tdh_phymem_page_reclaim: {ok: 1500, busy: 500, basis: assumed, source: "PAMT check and release; 'thousands of cycles'"}
  tdh_mem_sept_remove: {ok: 2000, busy: 500, basis: assumed, source: "like REMOVE"}
  tdh_mem_range_unblock: {ok: 2000, busy: 500, basis: assumed, source: "like BLOCK"}
  tdh_vp_flush: {ok: 2000, busy: 500, basis: assumed, source: "per vCPU at HKID release"}
  tdh_mng_vpflushdone: {ok: 1000, busy: 500, basis: assumed, source: "once per TD"}
  tdh_phymem_cache_wb: {ok: 50000, busy: 500, basis: assumed, source: "WBINVD of the package caches, once per package"}
  tdh_mng_key_freeid: {ok: 1000, busy: 500, basis: assumed, source: "once per TD"}
  tdh_vp_init: {ok: 5000, busy: 500, basis: assumed, source: "once per vCPU at build"}
  tdh_mr_finalize: {ok: 5000, busy: 500, basis: assumed, source: "once per TD"}
  tdh_vp_enter: {ok: 1000, busy: 500, basis: derived, source: "half of the 2 us TD exit + VP.ENTER round trip (TUM-DSE/CVM_eval README VM-exit example: 0.65-3.85 us; 'thousands of cycles')"}
  td_exit: {ok: 1000, busy: 500, basis: derived, source: "the other half of the 2 us round trip"}
  td_ept_violation: {ok: 1000, busy: 500, basis: derived, source: "an EPT-violation TD exit: the same half round trip"}
  tdg_mem_page_accept: {ok: 1000, busy: 300, basis: assumed, source: "in-guest TDG.MEM.PAGE.ACCEPT of 4K (no published figure)"}
  guest walk: {ok: 200, busy: 200, basis: assumed, source: "the guest's access up to its EPT violation"}
  tdx_td_dispatcher: {ok: 200, busy: 200, basis: assumed, source: "TDCALL dispatch"}
  default: {ok: 2000, busy: 500, basis: assumed, source: "any other leaf"}

# KVM-side steps: the first rule whose 'match' is a substring of the step's label gives its cost
# (charged after the step, before the thread's next step); other steps cost 'step'.
kvm:
  step: {value: 20, basis: assumed, source: "an atomic or a load on a shared cache line"}
  rules:
    - {match: "kvm_gmem_get_pfn", value: 1500, basis: derived, source: "2 us KVM fault handling outside SEAMCALLs (so that exit + handling + AUG ~ 8 us, dstack PR #1220), minus the ~25 other steps of the fault path"}
    - {match: "kvm_request_needs_ipi", value: 150, basis: assumed, source: "kvm_make_vcpu_request: mark one vCPU in guest mode EXITING_GUEST_MODE and send it its IPI (a vCPU found OUTSIDE_GUEST_MODE gets no IPI and costs 'step'); same figure as kick.per-vcpu"}
    - {match: "smp_call_function_many(wait)", value: 100, basis: assumed, source: "csd_lock_wait() returning once every target ran ack_kick; the wait itself is simulated (the kicker spins until each vCPU leaves guest mode), so it is not charged again"}
    - {match: "KVM_MMU_LOCK (write_lock)", value: 100, basis: assumed, source: "write_lock of an uncontended qrwlock"}
    - {match: "truncate_inode_pages_range", value: 500, basis: assumed, source: "guest_memfd folio removal"}
    - {match: "folio_put", value: 300, basis: assumed, source: "free the page"}
    - {match: "xa_store(mem_attr_array", value: 200, basis: assumed, source: "xarray store per GFN"}
    - {match: "tdx_clear_page", value: 1000, basis: assumed, source: "clear a 4K page with MOVDIR64B"}

# Kicks of every vCPU out of guest mode (kvm_make_all_cpus_request after TDH.MEM.TRACK in
# tdx_track()). When the workload runs no vCPU threads (teardown), the kick is charged after
# TRACK as base + per-vcpu x vCPUs of the TD.
kick:
  base: {value: 1000, basis: assumed, source: "send the IPIs"}
  per-vcpu: {value: 150, basis: assumed, source: "one IPI acknowledgement per vCPU, waited for in turn"}

guest:
  think: {value: 500, basis: assumed, source: "guest time between two accepts / accesses (lazy accept touches pages as it allocates them)"}

# Environment choices of the model, resolved at random with these probabilities (of the
# non-default outcome).
probabilities:
  inject-busy: {value: 0, basis: assumed, source: "no other agent injects BUSY unless asked"}
  zap-yield: {value: 0.05, basis: assumed, source: "need_resched() || rwlock_needbreak() between GFNs of a write-lock zap"}
  events: {value: 0, basis: assumed, source: "pending events / signals end the local retry loop"}
  accept-interrupt: {value: 0.01, basis: assumed, source: "an interrupt pending while the guest accepts a 2M range in chunks"}
  hp-timeout: {value: 0, basis: assumed, source: "the host-priority lock timeout has not expired yet"}
`;
