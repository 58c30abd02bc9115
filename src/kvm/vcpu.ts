// The vCPU side: the TDX EPT-violation handler with its local retry loop, and the run loop.
//   tdx_handle_ept_violation() (arch/x86/kvm/vmx/tdx.c): private GPA → __vmx_handle_ept_violation()
//   → kvm_mmu_page_fault(); while RET_PF_RETRY and local retry is on: break on pending events or
//   signals (off unless a scenario declares them), -EIO if the VM is dead, (6.18+) break if the
//   memslot is being deleted, cond_resched(), and fault again.
//   vcpu_enter_guest() / tdx_vcpu_run() (arch/x86/kvm/x86.c, vmx/tdx.c): publish IN_GUEST_MODE,
//   check the entry gate (wait_for_sept_zap), TDH.VP.ENTER, run guest code until a TD exit, back
//   to OUTSIDE_GUEST_MODE; a pending kick (kvm_make_all_cpus_request) forces the exit.
import { choose, waitUntil } from "../engine/index.js";
import { C, exitGpa, statusCode, statusName, TDX_SUCCESS } from "../tdx/status.js";
import { kvmBugOn, type Ctx, type Gen } from "./context.js";
import { modeOf, SLOT, VCPU_MODE } from "./kvm.js";
import { kvmMmuPageFault } from "./mmu.js";
import { RET_PF } from "./tdp_mmu.js";
import { EIO, tdxOperandBusy } from "./tdx.js";
import { checkAcceptHandled, hugeAcceptMismatch } from "./hugepage.js";
import { lbl } from "../engine/label.js";

export interface FaultOptions {
  /** kvm_vcpu_has_events()/signal_pending() may become true (a nondeterministic choice). */
  events?: boolean;
  /** The exit is an EEQ-type ACCEPT exit of a 4K TDG.MEM.PAGE.ACCEPT (S-EPT huge pages). */
  accept4k?: boolean;
}

/**
 * tdx_handle_ept_violation() for a private GPA; returns RET_PF_* or -errno. `frame`: the caller's
 * live locals, hashed with the local retry's loop head (which resets the thread's local state), so
 * that arrivals from different points of the caller stay different states (tools/threadcheck).
 */
export function* tdxHandleEptViolation(c: Ctx, gfn: number, opts: FaultOptions = {}, frame: readonly number[] = []): Gen<number> {
  const k = c.kvm;
  const lr = c.proto.get("local-retry");
  const localRetry = lr !== "off";
  // S-EPT huge pages (RFC v5 41/45): a 4K ACCEPT that exited splits and inhibits first.
  if (opts.accept4k && k.huge) {
    const r = yield* hugeAcceptMismatch(c, gfn, frame);
    if (r < 0) return r;
  }
  for (;;) {
    c.t.loopHead("tdx_handle_ept_violation: local retry", gfn, ...frame);
    const ret = yield* kvmMmuPageFault(c, gfn, false, frame);
    if (ret !== RET_PF.RETRY || !localRetry) {
      if (ret !== RET_PF.RETRY) c.t.progress();
      return ret;
    }
    // RET_PF_RETRY with local retry: what the attempt observed is dead from here (the loop below
    // reads only gfn, the caller's frame and the VM/memslot flags it loads again;
    // arch/x86/kvm/vmx/tdx.c tdx_handle_ept_violation(), kvm-x86/linux 09c6f74ecb86).
    c.t.loopHead("tdx_handle_ept_violation: RET_PF_RETRY", gfn, ret, ...frame);
    if (opts.events) {
      const ev = yield choose(2, "tdx_handle_ept_violation: kvm_vcpu_has_events() || signal_pending()");
      if (ev === 1) return ret;
    }
    const dead = yield k.vmBugged.load("tdx_handle_ept_violation: kvm_check_request(KVM_REQ_VM_DEAD)");
    if (dead) return EIO;
    if (lr === "break-invalid-slot") {
      const slot = yield k.slot.load("tdx_handle_ept_violation: memslot KVM_MEMSLOT_INVALID → no local retry");
      if (slot !== SLOT.VALID) return ret;
    }
    // cond_resched(); retry
  }
}

/**
 * The entry gate of tdx_vcpu_run(): READ_ONCE(kvm_tdx->wait_for_sept_zap) → EXIT_FASTPATH_EXIT_HANDLED
 * without TDH.VP.ENTER. Returns true when the entry was refused (the vCPU is then outside guest
 * mode and has waited for the flag to drop).
 */
function* entryGate(c: Ctx, inGuestMode: boolean): Gen<boolean> {
  const k = c.kvm;
  const when = inGuestMode ? "" : " [before publishing IN_GUEST_MODE]";
  const flag = yield k.waitForSeptZap.load(lbl`tdx_vcpu_run: READ_ONCE(kvm_tdx->wait_for_sept_zap)${when}`);
  if (!flag) return false;
  if (inGuestMode) yield k.vcpuMode[c.vcpu]!.store(VCPU_MODE.OUTSIDE, "tdx_vcpu_run: EXIT_FASTPATH_EXIT_HANDLED (entry gate), vcpu->mode = OUTSIDE_GUEST_MODE");
  // The run loop re-tries entry until the flag is clear; the spin is modelled as a wait on the
  // flag (the kicker's IPI is acknowledged while the vCPU spins outside the guest).
  yield waitUntil([k.waitForSeptZap], () => k.waitForSeptZap.peek() === 0, "vcpu_run: spin until !wait_for_sept_zap");
  return true;
}

/** What the guest does on a vCPU once it runs. */
/**
 * What the guest does on a vCPU once it runs. `accept` with size "2M" is a TDG.MEM.PAGE.ACCEPT of
 * the 2M block containing `gfn` (module level 1); on TDX_PAGE_SIZE_MISMATCH (the host maps the block
 * with a page table) the guest falls back to 4K ACCEPTs of each page of the block, as Linux's
 * try_accept_one() callers do (torvalds/linux arch/x86/coco/tdx/tdx-shared.c: a failed 2M accept
 * is retried at the next smaller size).
 */
export type GuestAction = { op: "access"; gfn: number } | { op: "accept"; gfn: number; size?: "4K" | "2M" };

/**
 * The vCPU run loop for a list of guest actions: each action is retried (re-entering the TD after
 * handling the exit) until it completes. Returns when all actions completed or the VM is dead.
 */
export function* vcpuRun(c: Ctx, actions: readonly GuestAction[]): Gen<void> {
  const k = c.kvm;
  const v = c.vcpu;
  const mode = k.vcpuMode[v]!;
  let i = 0;
  // 2M accept of actions[i] that got TDX_PAGE_SIZE_MISMATCH: 1 + the page of the block the guest
  // accepts at 4K next (0 = the action still at its own size).
  let fb = 0;
  const ppb = c.kvm.geo.fanout;
  const gate = c.proto.get("entry-gate");
  const reenter = c.proto.is("vp-enter-busy", "reenter");
  outer: while (i < actions.length) {
    c.t.loopHead("vcpu_run: enter guest", i, fb);
    const dead = yield k.vmBugged.load("vcpu_enter_guest: kvm_request_pending(KVM_REQ_VM_DEAD)");
    if (dead) return;
    if (c.proto.is("tlb-track", "kick-then-track"))
      yield waitUntil([k.tdhMemTrack], () => k.tdhMemTrack.peek() === 0, "tdx_flush_tlb: wait for tdh_mem_track == 0 (v11)");
    if (gate === "before-mode" && (yield* entryGate(c, false))) continue;
    // Publish IN_GUEST_MODE (smp_store_mb) before reading the gate: the kick either sees it or the
    // vCPU sees the flag (arch/x86/kvm/vmx/tdx.c: tdx_vcpu_run() reads wait_for_sept_zap after
    // vcpu_enter_guest() set IN_GUEST_MODE; kvm-x86/linux 09c6f74ecb86).
    // (An IPI still pending from a kick — possible only on a BUSY re-entry that never left
    // IN_GUEST_MODE — stays pending until the vCPU goes back to OUTSIDE_GUEST_MODE.)
    yield mode.rmw((x) => VCPU_MODE.IN_GUEST | (x & ~3), "vcpu_enter_guest: smp_store_mb(vcpu->mode, IN_GUEST_MODE)");
    // The inner loop is vcpu_enter_guest()'s fastpath loop: with vp-enter-busy=reenter a BUSY from
    // TDH.VP.ENTER returns EXIT_FASTPATH_REENTER_GUEST and the vCPU calls tdx_vcpu_run() again
    // with IRQs still disabled and vcpu->mode still IN_GUEST_MODE; a kick is acknowledged once it
    // leaves this loop, which kvm_vcpu_exit_request() makes it do at the next BUSY after the kick.
    for (;;) {
      if (reenter) c.t.loopHead("vcpu_enter_guest: fastpath re-entry", i, fb);
      if (c.proto.is("tlb-track", "kick-then-track")) {
        // v11: kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH) sets a request bit before the IPI scan;
        // a vCPU that already published IN_GUEST_MODE sees it here, cancels the entry and handles
        // it (tdx_flush_tlb spins until tdh_mem_track drops). The counter stands for the bit.
        const req = yield k.tdhMemTrack.read("vcpu_enter_guest: kvm_request_pending() (KVM_REQ_TLB_FLUSH)");
        if (req !== 0) {
          yield mode.store(VCPU_MODE.OUTSIDE, "vcpu_enter_guest: cancel entry, vcpu->mode = OUTSIDE_GUEST_MODE");
          continue outer;
        }
      }
      if (gate === "on" && (yield* entryGate(c, true))) continue outer;
      const s = yield* c.tdx.tdhVpEnter(v);
      if (s === TDX_SUCCESS) break;
      if (tdxOperandBusy(s) && reenter) {
        // EXIT_FASTPATH_REENTER_GUEST: vcpu->mode stays IN_GUEST_MODE and IRQs stay off, but before
        // re-entering, vcpu_enter_guest()'s fastpath loop calls kvm_vcpu_exit_request(), which is true
        // once a kick's cmpxchg made the mode EXITING_GUEST_MODE (or a request is pending): the loop
        // then ends with EXIT_FASTPATH_EXIT_HANDLED and the kick is acknowledged (arch/x86/kvm/x86.c,
        // the check in the re-entry loop since Wanpeng Li's fastpath series, Message-Id
        // 1588055009-12677-5-git-send-email-wanpengli@tencent.com; in the loop as Paolo Bonzini's
        // Message-ID 20211123004311.2954158-2-pbonzini@redhat.com shows it). KVM_REQ_TLB_FLUSH of
        // tlb-track=kick-then-track is the request checked at the top of this loop.
        const m = yield mode.load("vcpu_enter_guest: EXIT_FASTPATH_REENTER_GUEST, kvm_vcpu_exit_request(): vcpu->mode == EXITING_GUEST_MODE?");
        if (modeOf(m) !== VCPU_MODE.EXITING) continue;
        yield mode.store(VCPU_MODE.OUTSIDE, "vcpu_enter_guest: kvm_vcpu_exit_request() → EXIT_FASTPATH_EXIT_HANDLED, vcpu->mode = OUTSIDE_GUEST_MODE");
        continue outer;
      }
      yield mode.store(VCPU_MODE.OUTSIDE, lbl`vcpu_enter_guest: TDH.VP.ENTER ${statusName(s)}, vcpu->mode = OUTSIDE_GUEST_MODE`);
      if (tdxOperandBusy(s)) continue outer; // fastpath EXIT_FASTPATH_EXIT_HANDLED (6.16+): back through the run loop
      if (statusCode(s) === C.TD_EXIT_EPT_VIOLATION) {
        // zero-step: the module emulated an EPT violation without entering
        // The run loop's position (action i; no ACCEPT check follows) survives the handler's loop head.
        const r = yield* tdxHandleEptViolation(c, exitGpa(s), {}, [i, fb, 0]);
        if (r < 0) return;
        continue outer;
      }
      yield* kvmBugOn(c, true, lbl`tdx_vcpu_run: TDH.VP.ENTER ${statusName(s)}`);
      return;
    }
    // In the guest: the guest runs one action, then the TD exits (an EPT violation, or a
    // voluntary exit once the action is done). A kick that arrives meanwhile is acknowledged by
    // that exit: the kicker waits for OUTSIDE_GUEST_MODE.
    const decl = actions[i]!;
    const huge = decl.op === "accept" && decl.size === "2M";
    const base = Math.floor(decl.gfn / ppb) * ppb;
    // The action this entry runs: the declared one, or a 4K accept of the fallback.
    const a: GuestAction = fb > 0 ? { op: "accept", gfn: base + fb - 1 } : decl;
    let exit = -1;
    let r = a.op === "access" ? yield* c.tdx.guestAccess(v, a.gfn) : yield* c.tdx.guestAccept(v, a.gfn, huge && fb === 0 ? 2 : 1);
    let code = statusCode(r);
    if (huge && fb === 0 && code === C.PAGE_SIZE_MISMATCH) {
      // The host maps the block at 4K: the guest falls back to 4K accepts (no TD exit in the real
      // guest; here the vCPU exits voluntarily between the two, as after every action).
      fb = 1;
      yield* c.tdx.tdExit(v);
      yield mode.store(VCPU_MODE.OUTSIDE, lbl`guest: ACCEPT(2M, gfn ${base}) → TDX_PAGE_SIZE_MISMATCH, falls back to 4K; TD exit, vcpu->mode = OUTSIDE_GUEST_MODE`);
      continue;
    }
    let viaVe = false;
    if (code === C.GUEST_VE && a.op === "access") {
      // #VE on a PENDING page: the guest's #VE handler accepts it; the access is retried later.
      r = yield* c.tdx.guestAccept(v, a.gfn);
      code = statusCode(r);
      viaVe = true;
    }
    if (code === C.HOST_PRIORITY_BUSY_TIMEOUT) {
      // The ACCEPT lost to the host's priority bit past hp_lock_timeout: the module already did an
      // asynchronous TD exit. KVM: tdx_to_vmx_exit_reason() maps the status to -1u, and
      // tdx_handle_exit() (kvm-x86/linux arch/x86/kvm/vmx/tdx.c@09c6f74ecb86, "vp_enter_ret &
      // TDX_ERROR" → kvm_pr_unimpl, unhandled_exit) returns KVM_EXIT_INTERNAL_ERROR to
      // userspace without bugging the VM. The vCPU thread stops running the guest.
      yield mode.store(VCPU_MODE.OUTSIDE, "vcpu_enter_guest: TD exit TDX_HOST_PRIORITY_BUSY_TIMEOUT, vcpu->mode = OUTSIDE_GUEST_MODE; tdx_handle_exit: unhandled → KVM_EXIT_INTERNAL_ERROR");
      return;
    }
    // v10/v11 (pending-exit=fault): no tdx_is_sept_violation_unexpected_pending() (added by 'KVM: TDX:
    // Detect unexpected SEPT violations due to pending SPTEs', Message-ID
    // 20250227012021.1778144-3-binbin.wu@linux.intel.com): the exit is an ordinary SEPT violation,
    // handled below as a write fault on the GPA.
    const pendingAsFault = code === C.TD_EXIT_EPT_VIOLATION_PENDING && c.proto.is("pending-exit", "fault");
    if (code === C.TD_EXIT_EPT_VIOLATION_PENDING && !pendingAsFault) {
      // SEPT_VE_DISABLE: the guest touched a page it has not accepted. tdx_handle_ept_violation() →
      // tdx_is_sept_violation_unexpected_pending() (EEQ type PENDING_EPT_VIOLATION, no protection
      // bits in the exit qualification): kvm_vm_dead() and -EIO — the TD is killed, but KVM is not
      // bugged (no KVM_BUG_ON; kvm-x86/linux@09c6f74ecb86 arch/x86/kvm/vmx/tdx.c; the vm_dead is
      // there so that the fault never reaches the present mirror SPTE, Rick Edgecombe in the thread
      // of Sean Christopherson's 2025-07-29 proposal to turn it into a memory-fault exit).
      yield mode.store(VCPU_MODE.OUTSIDE, "vcpu_enter_guest: TD exit, vcpu->mode = OUTSIDE_GUEST_MODE");
      yield k.vmBugged.rmw((x) => (x === 0 ? 2 : x), "tdx_handle_ept_violation: unexpected pending → kvm_vm_dead(), return -EIO");
      return;
    }
    if (code === C.TD_EXIT_EPT_VIOLATION || pendingAsFault) exit = exitGpa(r);
    else if (viaVe) yield* c.tdx.tdExit(v);
    else {
      if (!(a.op === "accept" && statusCode(r) === C.OPERAND_BUSY)) {
        if (fb > 0 && fb < ppb) fb++;
        else {
          fb = 0;
          i++;
        }
        c.t.progress();
      }
      yield* c.tdx.tdExit(v);
    }
    yield mode.store(VCPU_MODE.OUTSIDE, "vcpu_enter_guest: TD exit, vcpu->mode = OUTSIDE_GUEST_MODE");
    if (exit >= 0) {
      // An exit from the guest's ACCEPT (its own or the #VE handler's) is an EEQ-type ACCEPT exit
      // (of the requested level: a 2M one is an ordinary fault for the block, RFC v5 41/45 splits
      // only for an accept level below the mapping's).
      const accept4k = (a.op === "accept" && !(huge && fb === 0)) || viaVe;
      const r = yield* tdxHandleEptViolation(c, exit, { accept4k }, [i, fb, accept4k ? 1 : 0]);
      if (r < 0) return;
      if (accept4k) checkAcceptHandled(c, exit);
    }
  }
}
