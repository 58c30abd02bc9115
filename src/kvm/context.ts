// What every modelled kernel function receives: the thread, the VM, the TDX module, the protocol.
import type { Op, ThreadApi } from "../engine/index.js";
import type { Kvm } from "./kvm.js";
import type { Protocol } from "./protocol.js";
import type { TdxLeaves } from "./tdx_leaves.js";
import { lbl } from "../engine/label.js";

export type Gen<T = void> = Generator<Op, T, number>;

/** Named properties the KVM model reports or checks (the invariants KVM relies on; docs/model.md lists each with its source). */
export const PROP = {
  agreement: "mirror-sept-agreement",
  agreementFinal: "mirror-sept-agreement-final",
  freedWhileMapped: "no-free-while-mapped",
  staleLeaf: "no-stale-private-leaf",
  bugOn: "no-kvm-bug-on",
  warn: "no-warn",
  removalProtocol: "removal-protocol",
  noVcpuRetryBusy: "no-vcpu-retry-never-busy",
  frozenSeenByWriter: "write-lock-never-sees-frozen",
  faultCompletes: "fault-completes",
  // Dynamic PAMT (src/kvm/tdx_pamt.ts; D-n of docs/model.md "dpamt")
  /** D-1: outside every get/put section on R, pamt_refcount(R) > 0 ⇔ R's 2M PAMT entry is a node. */
  pamtNodeIffReferenced: "pamt-node-iff-referenced",
  /** D-2: pamt_refcount(R) ≥ the module's count of 4K pages in use in R, after every step. */
  pamtRefcountCovers: "pamt-refcount-covers-module",
  /** D-3: no SEAMCALL returns TDX_MISSING_PAMT_PAGE_PAIR. */
  noMissingPamtPair: "no-missing-pamt-pair",
  /** D-4: the PAMT.ADD / PAMT.REMOVE of tdx_pamt_get/put never fail. */
  pamtAddRemoveSucceed: "pamt-add-remove-succeed",
  /** D-5: no page the kernel holds as free (allocator, PAMT cache) is an installed PAMT page. */
  pamtPairNotReused: "pamt-pair-not-reused",
  /** D-8: an install's get and put-on-error run while its thread owns the FROZEN mirror SPTE. */
  pamtGetInFreeze: "pamt-get-in-freeze",
  /** D-9 / D-2 at the end: pamt_refcount(R) = the module's count(R), and node ⇔ referenced. */
  pamtBalancedFinal: "pamt-balanced-final",
  /** D-6: pamt_lock only in process context, never held while acquiring mmu_lock, a mutex or itself. */
  pamtLockDiscipline: "pamt-lock-discipline",
  /** D-7: the map helpers run with a running vCPU; a vCPU's PAMT cache is used only by that vCPU's thread. */
  pamtRunningVcpu: "pamt-running-vcpu",
  /** D-10: a put by one TD never removes the pair of a range in which another TD holds a reference. */
  pamtCrossTd: "pamt-cross-td-independent",
  // S-EPT huge pages (src/kvm/hugepage.ts; H-n of docs/model.md "hugepage"; H-1 is
  // mirror-sept-agreement at the 2M level, H-9 is no-vcpu-retry-never-busy for DEMOTE)
  /** H-2: no 2M S-EPT leaf maps a block whose guest_memfd folio was split or freed. */
  hpMappingLeFolio: "hp-mapping-le-folio",
  /** H-3: outside a split or a 2M removal, no 2M S-EPT leaf is BLOCKED unless the VM is bugged. */
  hpSplitAtomic: "hp-split-atomic",
  /** H-4: no split (BLOCK(2M)/DEMOTE) with mmu_lock held only for read. */
  hpNoReadLockSplit: "hp-no-read-lock-split",
  /** H-5: a mirror non-leaf at 2M is never replaced by a leaf (no promotion on mirror roots). */
  hpNoPromotion: "hp-no-promotion",
  /** H-6: a 4K ACCEPT exit is handled by a split and GUEST_INHIBIT before the guest retries. */
  hpAcceptSplit: "hp-accept-split-before-retry",
  /** H-7: after GUEST_INHIBIT is set, no fault maps the block at 2M. */
  hpInhibit: "hp-inhibit-monotonic",
  /** H-8: a conversion or punch of [start, end) never removes a 2M leaf reaching outside it. */
  hpPreciseZap: "hp-precise-zap",
  /** H-10: a demoted range's refcount goes 0 → fanout (the module's count). */
  hpDemoteAccounting: "hp-demote-pamt-accounting",
  /** H-11: the per-VM PAMT cache only with pamt_cache_lock held. */
  hpCacheAccess: "hp-pamt-cache-access",
} as const;

/** Every property name a scenario may select or expect (the KVM ones plus the engine's). */
export const KVM_PROPERTY_NAMES: readonly string[] = [...Object.values(PROP), "deadlock", "livelock", "assertion"];

export interface Ctx {
  readonly t: ThreadApi;
  readonly kvm: Kvm;
  readonly tdx: TdxLeaves;
  readonly proto: Protocol;
  /** vCPU index of this thread, or -1 for a userspace / ioctl thread. */
  readonly vcpu: number;
  /** SEAMCALL names into which the environment may inject TDX_OPERAND_BUSY. */
  readonly inject: ReadonlySet<string>;
  /** Write-lock zap loops may yield mmu_lock between GFNs (tdp_mmu_iter_cond_resched). */
  readonly zapYields?: boolean;
  /** kvm_get_running_vcpu() when it differs from `vcpu` (a vCPU ioctl such as KVM_TDX_INIT_MEM_REGION). */
  readonly runningVcpu?: number;
}

/**
 * KVM_BUG_ON(cond, kvm) (include/linux/kvm_host.h): WARN once and kvm_vm_bugged() — the VM is marked
 * bugged/dead (one visible store) and every vCPU stops entering. Exploration continues.
 */
export function* kvmBugOn(c: Ctx, cond: boolean, where: string): Gen<boolean> {
  if (!cond) return false;
  c.t.report(PROP.bugOn, lbl`KVM_BUG_ON at ${where}`);
  yield c.kvm.vmBugged.store(1, lbl`kvm_vm_bugged() [${where}]`);
  return true;
}

/** WARN_ON_ONCE(cond) at `where`: a reportable event; nothing else changes. */
export function warnOn(c: Ctx, cond: boolean, where: string): boolean {
  if (cond) c.t.report(PROP.warn, lbl`WARN at ${where}`);
  return cond;
}

/**
 * lockdep_assert_held_write(&kvm->mmu_lock): a splat (reported as no-warn) in a lockdep build;
 * nothing at all in a production build (switch lockdep=off), where the caller simply proceeds.
 */
export function assertHeldWrite(c: Ctx, where: string): void {
  if (c.proto.is("lockdep", "off")) return;
  if (c.kvm.mmuLock.heldBy(c.t.id) !== "write") c.t.report(PROP.warn, lbl`lockdep: mmu_lock not held for write at ${where}`);
}
/** lockdep_assert_held(&kvm->mmu_lock) (either mode); nothing with lockdep=off. */
export function assertHeld(c: Ctx, where: string): void {
  if (c.proto.is("lockdep", "off")) return;
  if (c.kvm.mmuLock.heldBy(c.t.id) === "none") c.t.report(PROP.warn, lbl`lockdep: mmu_lock not held at ${where}`);
}
