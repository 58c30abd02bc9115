import { describe, expect, it } from "vitest";
import { checkScenario, SCENARIOS } from "../../src/kvm/index.js";

// Model fixes of issue 10, each with a test that fails on the old behaviour.
describe("host-priority timeout exit", () => {
  // Past the first violation, a guest ACCEPT that keeps losing to the host's priority bit ends in
  // an asynchronous TD exit with TDX_HOST_PRIORITY_BUSY_TIMEOUT. KVM's tdx_handle_exit() reports it
  // to userspace (KVM_EXIT_INTERNAL_ERROR); the old model exited the TD a second time and threw.
  it("removal-vs-accept on v11 with every violation: explores to the end, reaches the timeout exit", () => {
    const r = checkScenario(SCENARIOS["removal-vs-accept"]!, "v11", { allViolations: true, minimize: false });
    expect(r.result.exhaustive).toBe(true);
    expect(r.verdict).toBe("violated:no-kvm-bug-on");
    expect(r.result.coverage.some((l) => l.includes("TDX_HOST_PRIORITY_BUSY_TIMEOUT"))).toBe(true);
  });
});
