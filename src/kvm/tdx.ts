// KVM's TDX glue for the mirror: the S-EPT hooks of arch/x86/kvm/vmx/tdx.c as each preset has them.
//
// Upstream (6.16–6.19): tdx_sept_link_private_spt(), tdx_sept_set_private_spte() → tdx_mem_page_aug()
// / tdx_mem_page_add(), tdx_sept_remove_private_spte() (BLOCK → tdx_track() → REMOVE → WBINVD with
// the no-vCPU retry tdh_do_no_vcpus()), tdx_sept_free_private_spt(). v10/v11 [PATCH v10 049/108], [PATCH v11 057/113]:
// the same hooks with seamcall_sept()'s bounded retry, -EAGAIN, kick-then-TRACK and unbounded
// REMOVE/WBINVD retries. Seed: the v11 hooks, except that a removal whose BLOCK finds the entry not
// mapped treats it as already removed (the diagram's "sept[x] = REMOVED" no-op).
import { choose, waitUntil } from "../engine/index.js";
import { C, OP, st, statusCode, statusName, statusOperand, TDX_SUCCESS } from "../tdx/status.js";
import { PROP, assertHeld, assertHeldWrite, kvmBugOn, warnOn, type Ctx, type Gen } from "./context.js";
import { ipiPendingOf, KICKER_BITS, modeOf, TD_STATE, VCPU_MODE } from "./kvm.js";
import { EXTERNAL_SPT, type MirrorSp } from "./mirror.js";
import { isShadowPresent, isTable, spteToPfn, spteToSp } from "./spte.js";
import { pamtMapGet, pamtMapPutOnError, pamtOn, tdxPamtPut } from "./tdx_pamt.js";
import { lbl } from "../engine/label.js";

export const EIO = -5;
export const EAGAIN = -11;
export const EBUSY = -16;
export const EINVAL = -22;
export const EFAULT = -14;

/** [PATCH v10 088/108] SEAMCALL_RETRY_MAX: extra tries of seamcall_sept() on TDX_ERROR_SEPT_BUSY. */
export const SEAMCALL_RETRY_MAX = 16;

/** tdx_operand_busy(err): (err & TDX_SEAMCALL_STATUS_MASK) == TDX_OPERAND_BUSY, any operand. */
export function tdxOperandBusy(s: number): boolean {
  return statusCode(s) === C.OPERAND_BUSY;
}
/** v11 TDX_ERROR_SEPT_BUSY: TDX_OPERAND_BUSY | TDX_OPERAND_ID_SEPT exactly. */
export function isSeptBusy(s: number): boolean {
  return statusCode(s) === C.OPERAND_BUSY && statusOperand(s) === OP.SEPT_TREE;
}

/**
 * Issue one SEAMCALL: optionally under the pre-v10 per-VM seamcall_lock, optionally preceded by an
 * environment-injected TDX_OPERAND_BUSY|SEPT (another agent the model does not contain).
 */
export function* seamcall(c: Ctx, name: string, leaf: () => Gen<number>, opts: { locked?: boolean; noInject?: boolean } = {}): Gen<number> {
  // Names accepted in Scenario.inject: "TDH.MEM.PAGE.AUG" or the wrapper name "tdh_mem_page_aug".
  // (The name's wrapper form is built only when the scenario injects anything: this runs per SEAMCALL.)
  if (!opts.noInject && c.inject.size > 0 && (c.inject.has(name) || c.inject.has(name.toLowerCase().replace(/\./g, "_")))) {
    const r = yield choose(2, lbl`inject TDX_OPERAND_BUSY into ${name}`, { env: true });
    if (r === 1) return st(C.OPERAND_BUSY, OP.SEPT_TREE);
  }
  const lock = opts.locked === true && c.proto.is("seamcall-lock", "on");
  if (lock) yield c.kvm.seamcallLock.lock(lbl`spin_lock(&kvm_tdx->seamcall_lock) [${name}]`);
  const s = yield* leaf();
  if (lock) yield c.kvm.seamcallLock.unlock(lbl`spin_unlock(&kvm_tdx->seamcall_lock) [${name}]`);
  // Dynamic PAMT D-3: the kernel always gets a range's pair before giving one of its pages to a TD.
  if (statusCode(s) === C.MISSING_PAMT_PAGE_PAIR) c.t.report(PROP.noMissingPamtPair, lbl`${name} returned ${statusName(s)}`);
  return s;
}

/** [PATCH v10 088/108] seamcall_sept(): retry while TDX_ERROR_SEPT_BUSY, at most SEAMCALL_RETRY_MAX extra times. */
export function* seamcallSept(c: Ctx, name: string, leaf: () => Gen<number>, locked = false): Gen<number> {
  let s = TDX_SUCCESS;
  for (let retry = SEAMCALL_RETRY_MAX; ; retry--) {
    s = yield* seamcall(c, name, leaf, { locked });
    if (!isSeptBusy(s) || retry === 0) return s;
  }
}

/**
 * kvm_make_all_cpus_request(kvm, KVM_REQ_OUTSIDE_GUEST_MODE or KVM_REQ_TLB_FLUSH)
 * (virt/kvm/kvm_main.c kvm_make_vcpus_request_mask(), kvm_request_needs_ipi(),
 * smp_call_function_many(…, wait=true)): one pass over the vCPUs — each a step that turns
 * IN_GUEST_MODE into EXITING_GUEST_MODE and, for a vCPU not OUTSIDE_GUEST_MODE, queues this
 * kicker's IPI — then wait until every vCPU of that snapshot has acknowledged (left guest mode
 * once). A vCPU that was outside at the snapshot, or that re-enters after its acknowledgement, is
 * not waited for. In the model a guest session always ends (one guest action, then a TD exit),
 * which stands for the IPI forcing the exit; the vCPU's exit-request check before entry
 * (kvm_vcpu_exit_request()) is folded into that.
 */
export function* kickAllVcpus(c: Ctx, why: string): Gen<void> {
  const k = c.kvm;
  if (k.nVcpus === 0) return;
  const bit = k.kickBit[c.t.id] ?? -1;
  if (bit < 0) c.t.assert(false, `model limit: thread ${c.t.id} has no kicker bit in the vCPUs' mode cells (${KICKER_BITS} kickers)`, "assertion");
  const me = 1 << bit;
  const snap: number[] = [];
  for (let v = 0; v < k.nVcpus; v++) {
    const old = yield k.vcpuMode[v]!.rmw((x) => {
      const m = modeOf(x);
      if (m === VCPU_MODE.OUTSIDE) return x;
      return (m === VCPU_MODE.IN_GUEST ? VCPU_MODE.EXITING : m) | ((ipiPendingOf(x) | me) << 2);
    }, lbl`kvm_make_all_cpus_request(${why}): kvm_request_needs_ipi(vcpu${v}): cmpxchg(mode, IN_GUEST_MODE, EXITING_GUEST_MODE); IPI unless OUTSIDE_GUEST_MODE`);
    if (modeOf(old) !== VCPU_MODE.OUTSIDE) snap.push(v);
  }
  if (snap.length === 0) return;
  const cells = snap.map((v) => k.vcpuMode[v]!);
  yield waitUntil(cells, () => cells.every((m) => (ipiPendingOf(m.peek()) & me) === 0), lbl`kvm_make_all_cpus_request(${why}): smp_call_function_many(wait): ack_kick() from vCPU ${snap.join(", ")}`);
}

/**
 * tdh_do_no_vcpus() (6.19) / tdx_no_vcpus_enter_start()+stop() (6.16): on BUSY, block TD entry
 * (wait_for_sept_zap), kick every vCPU out, retry once; the second result is final.
 */
export function* tdhDoNoVcpus(c: Ctx, name: string, leaf: () => Gen<number>, locked = false): Gen<number> {
  assertHeldWrite(c, "tdh_do_no_vcpus");
  let s = yield* seamcall(c, name, leaf, { locked });
  if (!tdxOperandBusy(s)) return s;
  yield c.kvm.waitForSeptZap.store(1, "WRITE_ONCE(kvm_tdx->wait_for_sept_zap, true)");
  yield* kickAllVcpus(c, "KVM_REQ_OUTSIDE_GUEST_MODE");
  s = yield* seamcall(c, lbl`${name} (no-vCPU retry)`, leaf, { locked, noInject: true });
  yield c.kvm.waitForSeptZap.store(0, "WRITE_ONCE(kvm_tdx->wait_for_sept_zap, false)");
  if (tdxOperandBusy(s)) c.t.report(PROP.noVcpuRetryBusy, lbl`${name}: second attempt of the no-vCPU retry returned ${statusName(s)}`);
  return s;
}

/** get_page()/put_page() on a private page (≤6.18 pinning; v11 too). */
function* pin(c: Ctx, pfn: number, d: 1 | -1, why: string): Gen<void> {
  if (!c.proto.is("pinning", "on")) return;
  const cell = c.kvm.pages[pfn];
  if (!cell) return;
  yield cell.rmw((v) => v + 4 * d, lbl`${d > 0 ? "get_page" : "put_page"}(pfn ${pfn}) [${why}]`);
}

/**
 * tdx_sept_link_private_spt() (hook link_external_spt): TDH.MEM.SEPT.ADD of the child table's
 * external page. Upstream: BUSY → -EBUSY, other error → KVM_BUG_ON/-EIO. v11: seamcall_sept(),
 * TDX_ERROR_SEPT_BUSY → -EAGAIN, other → KVM_BUG_ON/-EIO.
 */
export function* tdxSeptLinkPrivateSpt(c: Ctx, gfn: number, level: number, pagePfn: number): Gen<number> {
  // Dynamic PAMT (d7fe610e6a66, tdx_sept_map_nonleaf_spte): KVM_BUG_ON(!vcpu), get the S-EPT page's
  // range; put on any SEAMCALL error before the BUSY / TDX_BUG_ON handling.
  const g = yield* pamtMapGet(c, level, gfn, pagePfn, "tdx_sept_map_nonleaf_spte");
  if (g !== 0) return g;
  const leaf = () => c.tdx.tdhMemSeptAdd(gfn, level, pagePfn);
  if (c.proto.is("install-busy", "retry-then-bug")) {
    // TDX MMU part 2 v1: the bounded SEPT_BUSY retry, then any error left (BUSY too) is a bug.
    const s = yield* seamcallSept(c, "TDH.MEM.SEPT.ADD", leaf);
    if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_sept_link_private_spt: TDH.MEM.SEPT.ADD ${statusName(s)} (after the bounded retry)`)) return EIO;
    return 0;
  }
  if (c.proto.is("install-busy", "retry-eagain")) {
    const s = yield* seamcallSept(c, "TDH.MEM.SEPT.ADD", leaf);
    if (isSeptBusy(s)) return EAGAIN;
    if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_sept_link_private_spt: TDH.MEM.SEPT.ADD ${statusName(s)}`)) return EIO;
    return 0;
  }
  const s = yield* seamcall(c, "TDH.MEM.SEPT.ADD", leaf);
  if (s !== TDX_SUCCESS) yield* pamtMapPutOnError(c, level, gfn, pagePfn, "tdx_sept_map_nonleaf_spte");
  if (tdxOperandBusy(s)) return EBUSY;
  if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_sept_link_private_spt: TDH.MEM.SEPT.ADD ${statusName(s)} (TDX_BUG_ON_2)`)) return EIO;
  return 0;
}

/**
 * tdx_sept_set_private_spte() (hook set_external_spte): TD runnable → tdx_mem_page_aug(); under
 * construction → 6.19 tdx_mem_page_add() (PAGE.ADD inside the freeze) or ≤6.18 "pre-map"
 * (nr_premapped++, PAGE.ADD later outside mmu_lock).
 */
export function* tdxSeptSetPrivateSpte(c: Ctx, gfn: number, level: number, pfn: number): Gen<number> {
  // A 2M page needs no PAMT pair (RFC v5 29/45: tdx_pamt_get/put only for a 4K mapping).
  if (!pamtOn(c) || level !== 1) return yield* setPrivateSpte(c, gfn, level, pfn);
  // Dynamic PAMT (d7fe610e6a66, tdx_sept_map_leaf_spte): KVM_BUG_ON(!vcpu), get before the
  // smp_rmb()/state check, AUG or PAGE.ADD, put if either failed (after its TDX_BUG_ON).
  const g = yield* pamtMapGet(c, level, gfn, pfn, "tdx_sept_map_leaf_spte");
  if (g !== 0) return g;
  const ret = yield* setPrivateSpte(c, gfn, level, pfn);
  if (ret !== 0) yield* pamtMapPutOnError(c, level, gfn, pfn, "tdx_sept_map_leaf_spte");
  return ret;
}

function* setPrivateSpte(c: Ctx, gfn: number, level: number, pfn: number): Gen<number> {
  const k = c.kvm;
  const v11 = c.proto.is("install-busy", "retry-eagain");
  yield* pin(c, pfn, 1, "tdx_sept_set_private_spte");
  const state = yield k.tdState.load("smp_rmb(); READ_ONCE(kvm_tdx->state)");
  if (state !== TD_STATE.RUNNABLE) {
    if (c.proto.is("page-add", "premap")) {
      // ≤6.18: KVM_BUG_ON(pre_fault_allowed); atomic64_inc(&nr_premapped); return 0.
      const pfa = yield k.preFaultAllowed.load("READ_ONCE(kvm->arch.pre_fault_allowed)");
      if (yield* kvmBugOn(c, pfa !== 0, "tdx_sept_set_private_spte: pre_fault_allowed before RUNNABLE")) {
        yield* pin(c, pfn, -1, "tdx_sept_set_private_spte error");
        return EIO;
      }
      yield k.nrPremapped.add(1, "atomic64_inc(&kvm_tdx->nr_premapped)");
      return 0;
    }
    // 6.19 tdx_mem_page_add(): KVM_BUG_ON(pre_fault_allowed || !page_add_src).
    const src = yield k.pageAddSrc.load("READ_ONCE(kvm_tdx->page_add_src)");
    if (yield* kvmBugOn(c, src === 0, "tdx_mem_page_add: no page_add_src")) return EIO;
    const s = yield* seamcall(c, "TDH.MEM.PAGE.ADD", () => c.tdx.tdhMemPageAdd(gfn, level, pfn, src), { locked: true });
    if (tdxOperandBusy(s)) return EBUSY;
    if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_mem_page_add: TDH.MEM.PAGE.ADD ${statusName(s)}`)) return EIO;
    return 0;
  }
  if (c.proto.is("install-busy", "retry-then-bug")) {
    const s = yield* seamcallSept(c, "TDH.MEM.PAGE.AUG", () => c.tdx.tdhMemPageAug(gfn, level, pfn), true);
    if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_mem_page_aug: TDH.MEM.PAGE.AUG ${statusName(s)} (after the bounded retry)`)) {
      yield* pin(c, pfn, -1, "tdx_mem_page_aug error");
      return EIO;
    }
    return 0;
  }
  if (v11) {
    const s = yield* seamcallSept(c, "TDH.MEM.PAGE.AUG", () => c.tdx.tdhMemPageAug(gfn, level, pfn), true);
    if (isSeptBusy(s)) {
      yield* pin(c, pfn, -1, "tdx_sept_set_private_spte: SEPT_BUSY");
      return EAGAIN;
    }
    if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_sept_set_private_spte: TDH.MEM.PAGE.AUG ${statusName(s)}`)) {
      yield* pin(c, pfn, -1, "tdx_sept_set_private_spte error");
      return EIO;
    }
    return 0;
  }
  const s = yield* seamcall(c, "TDH.MEM.PAGE.AUG", () => c.tdx.tdhMemPageAug(gfn, level, pfn), { locked: true });
  if (tdxOperandBusy(s)) {
    yield* pin(c, pfn, -1, "tdx_mem_page_aug: BUSY");
    return EBUSY;
  }
  if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_mem_page_aug: TDH.MEM.PAGE.AUG ${statusName(s)} (TDX_BUG_ON_2)`)) {
    yield* pin(c, pfn, -1, "tdx_mem_page_aug error");
    return EIO;
  }
  return 0;
}

/**
 * tdx_track(): TDH.MEM.TRACK and the kick that drains the previous epoch.
 * Upstream: TRACK (no-vCPU retry on BUSY), TDX_BUG_ON, then kvm_make_all_cpus_request(OUTSIDE_GUEST_MODE).
 * v11: atomic_inc(tdh_mem_track), kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH) (vCPUs then spin in
 * tdx_flush_tlb until the counter drops), TRACK retried while BUSY, atomic_dec, KVM_BUG_ON.
 */
export function* tdxTrack(c: Ctx): Gen<void> {
  const k = c.kvm;
  const state = yield k.tdState.load("tdx_track: READ_ONCE(kvm_tdx->state)");
  if (state !== TD_STATE.RUNNABLE) return;
  const mode = c.proto.get("tlb-track");
  if (mode === "none") return; // hypothetical: no TLB tracking at all
  if (mode === "kick-then-track") {
    yield k.tdhMemTrack.add(1, "atomic_inc(&kvm_tdx->tdh_mem_track)");
    yield* kickAllVcpus(c, "KVM_REQ_TLB_FLUSH");
    let s: number;
    do s = yield* seamcall(c, "TDH.MEM.TRACK", () => c.tdx.tdhMemTrack());
    while (tdxOperandBusy(s));
    yield k.tdhMemTrack.add(-1, "atomic_dec(&kvm_tdx->tdh_mem_track)");
    yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_track: TDH.MEM.TRACK ${statusName(s)}`);
    return;
  }
  assertHeldWrite(c, "tdx_track");
  const s = c.proto.is("removal-failure", "no-vcpu-retry")
    ? yield* tdhDoNoVcpus(c, "TDH.MEM.TRACK", () => c.tdx.tdhMemTrack())
    : yield* seamcall(c, "TDH.MEM.TRACK", () => c.tdx.tdhMemTrack());
  yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_track: TDH.MEM.TRACK ${statusName(s)} (TDX_BUG_ON)`);
  if (mode === "track-then-kick") yield* kickAllVcpus(c, "KVM_REQ_OUTSIDE_GUEST_MODE");
}

/** A removal SEAMCALL under the preset's BUSY policy (upstream: no-vCPU retry; hypothetical: none). */
function* removalCall(c: Ctx, name: string, leaf: () => Gen<number>, locked = false): Gen<number> {
  if (c.proto.is("removal-failure", "no-vcpu-retry")) return yield* tdhDoNoVcpus(c, name, leaf, locked);
  return yield* seamcall(c, name, leaf, { locked });
}

/**
 * Remove one private 4K leaf from the S-EPT after the mirror entry was changed away from LEAF(pfn).
 * Returns 0 on success, an -errno when the removal stopped early (the mirror is not rolled back).
 *   upstream: tdx_sept_remove_private_spte() (6.16–6.19; 6.16 split in zap/drop) — BLOCK, TRACK,
 *             kick, REMOVE, WBINVD (arch/x86/kvm/vmx/tdx.c);
 *   v11:      handle_changed_private_spte() zap branch → tdx_sept_zap_private_spte() (BLOCK) and,
 *             only if it returned 0, tdx_sept_remove_private_spte() (kvm_flush_remote_tlbs →
 *             tdx_track(), then tdx_sept_drop_private_spte(): REMOVE and WBINVD retried while BUSY);
 *   seed:     the v11 hooks; a BLOCK that finds the entry not mapped means "already removed".
 */
export function* tdxSeptRemovePrivateSpte(c: Ctx, gfn: number, level: number, pfn: number): Gen<number> {
  const k = c.kvm;
  // The seed's removal belongs to its read-lock zap; 7.2's read-lock zap (hooks=unified) runs the
  // real tdx_sept_remove_leaf_spte() inside the freeze.
  const seed = c.proto.is("zap-lock", "read") && !c.proto.is("hooks", "unified");
  const v11 = c.proto.is("removal-failure", "v11");
  if (!seed) assertHeldWrite(c, "tdx_sept_remove_private_spte");
  const hkid = yield k.hkid.load("is_hkid_assigned(kvm_tdx)");
  if (yield* kvmBugOn(c, hkid === 0, "tdx_sept_remove_private_spte: !is_hkid_assigned")) return EINVAL;

  // R3: TDH.MEM.RANGE.BLOCK
  let s: number;
  if (v11) s = yield* seamcallSept(c, "TDH.MEM.RANGE.BLOCK", () => c.tdx.tdhMemRangeBlock(gfn, level));
  else s = yield* removalCall(c, "TDH.MEM.RANGE.BLOCK", () => c.tdx.tdhMemRangeBlock(gfn, level));
  // Not mapped (entry FREE, or no S-EPT table above it): "already removed".
  // (module 1.0 reports a FREE entry as TDX_EPT_ENTRY_FREE, 1.5 as TDX_EPT_ENTRY_STATE_INCORRECT.)
  if (seed && (statusCode(s) === C.EPT_ENTRY_STATE_INCORRECT || statusCode(s) === C.EPT_ENTRY_FREE || statusCode(s) === C.EPT_WALK_FAILED)) return 0;
  if (v11 && isSeptBusy(s)) {
    // tdx_sept_zap_private_spte() returns -EAGAIN; handle_changed_private_spte() skips the
    // removal; __tdp_mmu_set_spte() only WARNs. The page stays mapped in the S-EPT and pinned.
    warnOn(c, true, "__tdp_mmu_set_spte: WARN_ON_ONCE(ret) after BLOCK -EAGAIN");
    return EAGAIN;
  }
  if (c.proto.is("page-add", "premap") && !v11 && s !== TDX_SUCCESS) {
    // ≤6.18 tdx_is_sept_zap_err_due_to_premap(): BLOCK of an entry that was only pre-mapped.
    const state = yield k.tdState.load("tdx_is_sept_zap_err_due_to_premap: kvm_tdx->state");
    if (state !== TD_STATE.RUNNABLE && statusCode(s) === C.EPT_ENTRY_STATE_INCORRECT) {
      const n = yield k.nrPremapped.read("atomic64_read(&kvm_tdx->nr_premapped)");
      if (!(yield* kvmBugOn(c, n === 0, "tdx_sept_zap_private_spte: nr_premapped == 0"))) {
        yield k.nrPremapped.add(-1, "atomic64_dec(&kvm_tdx->nr_premapped)");
        yield* pin(c, pfn, -1, "tdx_unpin (premap)");
        return 0;
      }
    }
  }
  if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_sept_remove_private_spte: TDH.MEM.RANGE.BLOCK ${statusName(s)}`)) return EIO;

  // R4: TRACK (+ kick)
  yield* tdxTrack(c);

  // Hypothetical pamt-put=before-remove: the PAMT reference dropped while the page is still mapped.
  if (pamtOn(c) && level === 1 && c.proto.values["pamt-put"] === "before-remove") yield* tdxPamtPut(c, pfn);

  // R5: TDH.MEM.PAGE.REMOVE
  if (v11) {
    do s = yield* seamcall(c, "TDH.MEM.PAGE.REMOVE", () => c.tdx.tdhMemPageRemove(gfn, level), { locked: true });
    while (isSeptBusy(s));
  } else s = yield* removalCall(c, "TDH.MEM.PAGE.REMOVE", () => c.tdx.tdhMemPageRemove(gfn, level), true);
  if (statusCode(s) === C.TLB_TRACKING_NOT_DONE || statusCode(s) === C.GPA_RANGE_NOT_BLOCKED)
    c.t.report(PROP.removalProtocol, lbl`TDH.MEM.PAGE.REMOVE of gfn ${gfn} refused: ${statusName(s)} (I-3: BLOCK, TRACK and every vCPU exit must precede REMOVE)`);
  if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_sept_remove_private_spte: TDH.MEM.PAGE.REMOVE ${statusName(s)}`)) return EIO;

  // R6: TDH.PHYMEM.PAGE.WBINVD
  if (v11) {
    do s = yield* seamcall(c, "TDH.PHYMEM.PAGE.WBINVD", () => c.tdx.tdhPhymemPageWbinvd(pfn));
    while (statusCode(s) === C.OPERAND_BUSY && statusOperand(s) === OP.RCX);
  } else s = yield* seamcall(c, "TDH.PHYMEM.PAGE.WBINVD", () => c.tdx.tdhPhymemPageWbinvd(pfn));
  if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_sept_remove_private_spte: TDH.PHYMEM.PAGE.WBINVD ${statusName(s)}`)) return EIO;

  // R7: tdx_quirk_reset_page() (6.19) / tdx_clear_page() + tdx_unpin() (≤6.18, v11)
  yield* pin(c, pfn, -1, "tdx_unpin");
  // Dynamic PAMT (d7fe610e6a66): tdx_pamt_put() last; every early return above leaks the reference.
  // A 2M page was never got (RFC v5 29/45): no put.
  if (pamtOn(c) && level === 1 && c.proto.values["pamt-put"] !== "before-remove") yield* tdxPamtPut(c, pfn);
  return 0;
}

/**
 * Drop a private leaf at teardown after the HKID was released (v11 order, hkid-first):
 * tdx_sept_drop_private_spte() → tdx_reclaim_page() (TDH.PHYMEM.PAGE.RECLAIM), KVM_BUG_ON on error, put_page.
 */
export function* tdxReclaimLeaf(c: Ctx, pfn: number): Gen<number> {
  const s = yield* seamcall(c, "TDH.PHYMEM.PAGE.RECLAIM", () => c.tdx.tdhPhymemPageReclaim(pfn), { locked: true });
  if (yield* kvmBugOn(c, s !== TDX_SUCCESS, lbl`tdx_reclaim_page: TDH.PHYMEM.PAGE.RECLAIM ${statusName(s)}`)) return EIO;
  yield* pin(c, pfn, -1, "tdx_unpin (reclaim)");
  return 0;
}

/**
 * 7.2 tdx_sept_set_private_spte(kvm, gfn, old_spte, new_spte, level), the one set_external_spte
 * hook (291bcb3a7583, 6eae9ce9461c; read at kvm-x86/linux@09c6f74ecb86 arch/x86/kvm/vmx/tdx.c):
 * lockdep_assert_held(mmu_lock); old present → tdx_sept_remove_leaf_spte() (lockdep write
 * assertion inside, returns int); KVM_BUG_ON(!present(new)) → -EIO; new non-leaf →
 * tdx_sept_map_nonleaf_spte() (SEPT.ADD); new leaf → tdx_sept_map_leaf_spte() (AUG / PAGE.ADD).
 */
export function* tdxSetExternalSpte(c: Ctx, gfn: number, level: number, oldSpte: number, newSpte: number): Gen<number> {
  assertHeld(c, "tdx_sept_set_private_spte");
  if (isShadowPresent(oldSpte)) return yield* tdxSeptRemovePrivateSpte(c, gfn, level, spteToPfn(oldSpte));
  if (yield* kvmBugOn(c, !isShadowPresent(newSpte), "tdx_sept_set_private_spte: KVM_BUG_ON(!is_shadow_present_pte(new_spte))")) return EIO;
  if (isTable(newSpte)) return yield* tdxSeptLinkPrivateSpt(c, gfn, level, c.kvm.mirror.sp(spteToSp(newSpte)).externalPfn);
  return yield* tdxSeptSetPrivateSpte(c, gfn, level, spteToPfn(newSpte));
}

/**
 * Free the S-EPT page of a removed mirror table (handle_removed_pt() after its children):
 *   spt-free=immediate (7.2 tdx_sept_free_private_spt(kvm, sp), b35bda696e44 + 110d4d263450):
 *     KVM_BUG_ON(is_hkid_assigned) or a failed TDH.PHYMEM.PAGE.RECLAIM → leak; else free_page()
 *     at once ("RCU-time free is unnecessary after RECLAIM"); in both cases sp->external_spt = NULL;
 *   spt-free=rcu (≤6.19 free_external_spt → int): KVM_BUG_ON(is_hkid_assigned) → -EINVAL,
 *     else RECLAIM; the TDP MMU WARNs and leaks on failure, otherwise the page goes to call_rcu()
 *     with the mirror page (tdp_mmu_free_sp_rcu_callback()).
 */
export function* tdxSeptFreePrivateSpt(c: Ctx, sp: MirrorSp): Gen<number> {
  const immediate = c.proto.is("spt-free", "immediate");
  const hkid = yield c.kvm.hkid.load("is_hkid_assigned(kvm_tdx)");
  let r = 0;
  if (yield* kvmBugOn(c, hkid !== 0, "tdx_sept_free_private_spt: is_hkid_assigned")) r = EINVAL;
  else {
    const s = yield* seamcall(c, "TDH.PHYMEM.PAGE.RECLAIM", () => c.tdx.tdhPhymemPageReclaim(sp.externalPfn), { locked: true });
    if (s !== TDX_SUCCESS) {
      if (immediate) yield* kvmBugOn(c, true, lbl`__tdx_reclaim_page: TDH.PHYMEM.PAGE.RECLAIM ${statusName(s)} (TDX_BUG_ON_3, page leaked)`);
      else warnOn(c, true, lbl`free_external_spt: TDH.PHYMEM.PAGE.RECLAIM ${statusName(s)} (page leaked)`);
      r = EIO;
    }
  }
  // Dynamic PAMT (d7fe610e6a66): tdx_free_control_page() = tdx_pamt_put() + __free_page() once the
  // S-EPT page is reclaimed; a leaked page keeps its reference.
  // With the RCU-time free (≤6.19) that put would run in tdp_mmu_free_sp_rcu_callback(), i.e. in
  // softirq context, taking pamt_lock there: lockdep's "inconsistent {SOFTIRQ-ON-W} ->
  // {IN-SOFTIRQ-W}" (Yan Zhao, 2026-02-06, in the RFC v5 thread 20260129011517.3545883-1-seanjc@google.com),
  // which 7.2's immediate free avoids (D-6). The model runs the put in this thread and reports it.
  if (r === 0 && !immediate && c.kvm.pamt) c.t.report(PROP.pamtLockDiscipline, lbl`tdx_pamt_put(pfn ${sp.externalPfn}) of a freed S-EPT page from tdp_mmu_free_sp_rcu_callback(): pamt_lock taken in softirq context`);
  if (r === 0) yield* tdxPamtPut(c, sp.externalPfn);
  if (immediate) {
    if (r === 0) yield sp.externalSpt.store(EXTERNAL_SPT.FREED, "tdx_sept_free_private_spt: free_page(sp->external_spt)");
    yield sp.externalSpt.store(EXTERNAL_SPT.NULL, "tdx_sept_free_private_spt: sp->external_spt = NULL");
  } else if (r === 0) yield sp.externalSpt.store(EXTERNAL_SPT.RCU, "handle_removed_pt: call_rcu(&sp->rcu_head, tdp_mmu_free_sp_rcu_callback)");
  return r;
}
