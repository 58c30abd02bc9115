// Thread bodies of scenario thread declarations.
import type { Ctx, Gen } from "./context.js";
import { finalizeVm, initMemRegion, memslotDelete, preFaultMemory, punchHole, setMemoryAttributes, teardown, vpInit, zapPrivateRange } from "./flows.js";
import type { ThreadDecl } from "./scenario.js";
import { otherTdMap, otherTdUnmap } from "./tdx_pamt.js";
import { tdxHandleEptViolation, vcpuRun } from "./vcpu.js";
import { lbl } from "../engine/label.js";

// Each visible step resumes every generator between the thread's body and the step's leaf
// (`yield*` forwards next() level by level). A vCPU thread with nothing to do around its run loop
// (the simulator's workloads, most scenario threads) gets vcpuRun()'s own generator: the same ops
// in the same order, one forwarding level less on each step. The other flows keep the generator
// below, whose `yield*` calls tools/threadcheck reads to fix their numeric parameters per thread.
export function flowsFor(c: Ctx, d: ThreadDecl): Gen<void> {
  if (d.kind === "vcpu" && !c.kvm.vcpuMutexes && !c.kvm.liveTeardown) return vcpuRun(c, d.actions);
  return flowsAround(c, d);
}

function* flowsAround(c: Ctx, d: ThreadDecl): Gen<void> {
  // KVM_RUN, KVM_PRE_FAULT_MEMORY and every vCPU ioctl hold vcpu->mutex (kvm_vcpu_ioctl()); modelled
  // only when a tdx_vm_state_guard user could wait for it (Kvm.vcpuMutexes).
  const mv = "vcpu" in d ? d.vcpu : -1;
  const m = c.kvm.vcpuMutexes && (d.kind === "fault" || d.kind === "vcpu" || d.kind === "pre-fault") ? c.kvm.vcpuMutex[mv] : undefined;
  if (m) yield m.lock(lbl`kvm_vcpu_ioctl: mutex_lock(&vcpu${mv}->mutex)`);
  yield* flowBody(c, d);
  if (m) yield m.unlock(lbl`kvm_vcpu_ioctl: mutex_unlock(&vcpu${mv}->mutex)`);
  if (c.kvm.liveTeardown && mv >= 0 && d.kind !== "vp-init") yield c.kvm.liveVcpus.add(-1, lbl`vCPU${mv}: close(vcpu fd) → kvm_put_kvm()`);
  // The thread has ended: nothing it observed is read again (the ioctl has returned; the final
  // checks read only World objects, ProgramParts.finalWorldOnly), so its local state is reset to
  // one value whatever its history (dead-variable reduction; docs/model.md, "Thread-local state").
  c.t.loopHead("thread ended");
}

function* flowBody(c: Ctx, d: ThreadDecl): Gen<void> {
  const k = c.kvm;
  switch (d.kind) {
    case "fault": {
      // A vCPU that starts at the EPT-violation handler (it holds kvm->srcu while handling it).
      const srcu = k.srcuReaders[d.vcpu];
      if (srcu) yield srcu.store(1, "kvm_vcpu_srcu_read_lock()");
      yield* tdxHandleEptViolation(c, d.gfn, { events: d.events === true });
      if (srcu) yield srcu.store(0, "kvm_vcpu_srcu_read_unlock()");
      return;
    }
    case "vcpu":
      return yield* vcpuRun(c, d.actions);
    case "zap":
      return yield* zapPrivateRange(c, d.start, d.end, d.slotsLock === true);
    case "set-attributes":
      return yield* setMemoryAttributes(c, d.start, d.end, d.to === "private");
    case "punch-hole":
      return yield* punchHole(c, d.start, d.end);
    case "memslot-delete":
      return yield* memslotDelete(c);
    case "init-mem-region":
      return yield* initMemRegion(c, d.gfn);
    case "vp-init":
      return yield* vpInit(c, d.vcpu);
    case "teardown":
      return yield* teardown(c);
    case "finalize":
      return yield* finalizeVm(c);
    case "pre-fault":
      return yield* preFaultMemory(c, d.gfn);
    case "other-td":
      return yield* (d.op === "map" ? otherTdMap(c, d.pfn) : otherTdUnmap(c, d.pfn));
  }
}
