import { describe, expect, it } from "vitest";
import { Execution } from "../../src/engine/index.js";
import { walk } from "../../src/engine/schedulers/walk.js";
import { buildProgramWithModel, checkScenario, PROP, SCENARIOS, type Scenario } from "../../src/kvm/index.js";
import { PAGE } from "../../src/kvm/kvm.js";

// Model fixes of issue 10, each with a test that fails on the old behaviour.
describe("host-priority timeout exit", () => {
  // Past the first violation, a guest ACCEPT that keeps losing to the host's priority bit ends in
  // an asynchronous TD exit with TDX_HOST_PRIORITY_BUSY_TIMEOUT. KVM's tdx_handle_exit() reports it
  // to userspace (KVM_EXIT_INTERNAL_ERROR); the old model exited the TD a second time and threw.
  it("removal-vs-accept on v11 with every violation: explores to the end, reaches the timeout exit", () => {
    // Host priority exists from module 1.5 on (v11's own default, module 1.0, has none): pin 1.5.25.
    const sc = { ...SCENARIOS["removal-vs-accept"]!, module: { version: "1.5.25" as const } };
    const r = checkScenario(sc, "v11", { allViolations: true, minimize: false });
    expect(r.result.exhaustive).toBe(true);
    expect(r.verdict).toBe("violated:no-kvm-bug-on");
    expect(r.result.coverage.some((l) => l.includes("TDX_HOST_PRIORITY_BUSY_TIMEOUT"))).toBe(true);
  });
});

describe("no-free-while-mapped after an hkid-first teardown", () => {
  // v11 order: release the HKID, then drop every leaf with TDH.PHYMEM.PAGE.RECLAIM (PAMT back to
  // PT_NDA). A later guest_memfd truncation frees a page the TD no longer owns, although the dead
  // TD's S-EPT entry still names it: not a page freed while mapped.
  const sc: Scenario = {
    name: "teardown-then-punch-hole",
    description: "teardown (v11 order) runs to its end, then userspace punches a hole over GFN 0",
    initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
    threads: [
      { kind: "teardown", name: "teardown" },
      { kind: "punch-hole", name: "punch-hole", start: 0, end: 1 },
    ],
    expected: {},
  };
  it("the reclaimed page freed by the truncation is not reported", () => {
    const { program, model } = buildProgramWithModel(sc, "v11", { pinning: "off" });
    const ex = new Execution(program, { choose: () => 0 }, new Set([PROP.freedWhileMapped]));
    ex.stopOnFatal = false;
    ex.reset();
    // Schedule: the teardown thread whenever it can run, then the punch hole.
    const end = walk(ex, (enabled) => (enabled & 1 ? 0 : 1), [], 100_000, false);
    expect(end).toBe("complete");
    expect(model.kvm.hkid.peek()).toBe(0);
    expect(model.kvm.pages[1]!.peek() & 3).toBe(PAGE.FREED);
    expect(ex.violations.map((v) => v.property)).toEqual([]);
  });
});
