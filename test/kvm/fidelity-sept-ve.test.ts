import { describe, expect, it } from "vitest";
import { checkScenario, type Scenario } from "../../src/kvm/index.js";
import { C, isTdExit, st, statusName } from "../../src/tdx/index.js";

// SEPT_VE_DISABLE and KVM's EEQ pending-page path: a guest access to a page it has not accepted
// exits with EEQ type PENDING_EPT_VIOLATION, and tdx_handle_ept_violation() kills the TD with
// kvm_vm_dead() (-EIO) — a dead VM that is NOT bugged (no KVM_BUG_ON). Without the attribute the
// module injects #VE and the guest accepts. Fails on the old model, which ignored the attribute
// on the KVM side (the exit went to the fault path and re-AUGed a present mirror entry).
const touchPending = (pendingVeDisable: boolean): Scenario => ({
  name: `touch-pending-${pendingVeDisable ? "ve-disabled" : "ve"}`,
  description: "GFN 0 is AUGed (PENDING) and not accepted; the guest on vCPU0 reads it",
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "PENDING" }] },
  threads: [{ kind: "vcpu", vcpu: 0, actions: [{ op: "access", gfn: 0 }] }],
  module: { pendingVeDisable },
  expected: {},
});
const DEAD = "tdx_handle_ept_violation: unexpected pending → kvm_vm_dead(), return -EIO";

describe("SEPT_VE_DISABLE: unaccepted access → vm_dead, not vm_bugged", () => {
  it("the EEQ-pending exit is a TD exit carrying the GPA, printed apart from an ordinary EPT violation", () => {
    const s = st(C.TD_EXIT_EPT_VIOLATION_PENDING, 0);
    expect(isTdExit(s)).toBe(true);
    expect(statusName(s)).toBe("TD_EXIT(EPT_VIOLATION, EEQ PENDING) gpa=0");
  });
  for (const preset of ["upstream-6.16", "upstream-7.2"]) {
    it(`${preset}: with the attribute the TD dies (kvm_vm_dead) and no KVM_BUG_ON is reported`, () => {
      const r = checkScenario({ ...touchPending(true), witnesses: [DEAD] }, preset, { minimize: false });
      expect(r.verdict).toBe("verified");
      expect(r.missingWitnesses).toEqual([]);
      expect(r.result.coverage.some((l) => l.includes("tdg_mem_page_accept"))).toBe(false);
    });
  }
  it("without the attribute the guest takes #VE and accepts; nothing dies", () => {
    const r = checkScenario({ ...touchPending(false), witnesses: [DEAD] }, "upstream-7.2", { minimize: false });
    expect(r.verdict).toBe("vacuous"); // verified, but the vm_dead witness is never reached
    expect(r.missingWitnesses).toEqual([DEAD]);
    expect(r.result.coverage.some((l) => l.includes("tdg_mem_page_accept"))).toBe(true);
  });
  it("v11 had no pending-page check (pending-exit=fault): the exit is an ordinary fault that reaches the present leaf, which v11's mirror-ad=propagate turns into KVM_BUG_ON; with the upstream check v11 would kill the TD instead", () => {
    const r = checkScenario({ ...touchPending(true), witnesses: ["kvm_tdp_mmu_page_fault: read_lock"] }, "v11", { minimize: false });
    expect(r.verdict).toBe("violated:no-kvm-bug-on");
    expect(r.counterexample!.message).toContain("KVM_BUG_ON(was_present)");
    expect(r.result.coverage.some((l) => l.includes("kvm_vm_dead"))).toBe(false);
    const dead = checkScenario({ ...touchPending(true), witnesses: [DEAD] }, "v11", { minimize: false, overrides: { "pending-exit": "vm-dead" } });
    expect(dead.verdict).toBe("verified");
    expect(dead.missingWitnesses).toEqual([]);
  });
});
