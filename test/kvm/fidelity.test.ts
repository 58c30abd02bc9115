import { describe, expect, it } from "vitest";
import { checkScenario, SCENARIOS, type Scenario } from "../../src/kvm/index.js";

// The fidelity fixes and the 7.2 preset: each test fails on the old model.
const run = (sc: Scenario, preset: string, o: { overrides?: Record<string, string>; properties?: string[]; inject?: string[] } = {}) =>
  checkScenario(sc, preset, { minimize: false, ...o });

describe("TDH.VP.INIT takes the TDR exclusively (leaf version 1)", () => {
  const sc = SCENARIOS["punch-hole-vs-vp-init"]!;
  it("6.16: the punch hole's BLOCK (TDR shared) or VP.INIT gets BUSY and the VM is bugged", () => {
    const r = checkScenario(sc, "upstream-6.16");
    expect(r.verdict).toBe("violated:no-kvm-bug-on");
    expect(r.counterexample!.message).toMatch(/TDH\.(MEM\.RANGE\.BLOCK|VP\.INIT) TDX_OPERAND_BUSY\|(RDX|TDR)/);
  });
  it("6.19: VP.INIT under write_lock(mmu_lock) cannot overlap a zap", () => {
    const r = run(sc, "upstream-6.19");
    expect(r.verdict).toBe("verified");
    expect(r.missingWitnesses).toEqual([]);
  });
  it("6.19 with vp-init-lock=none: violated again", () => {
    expect(run(sc, "upstream-6.19", { overrides: { "vp-init-lock": "none" }, properties: ["no-kvm-bug-on"] }).verdict).toBe("violated:no-kvm-bug-on");
  });
});

describe("tdx_vm_state_guard (state-guard)", () => {
  const sc = SCENARIOS["init-mem-region-vs-vp-init"]!;
  it("6.19 with the guard: INIT_MEM_REGION and INIT_VCPU never overlap", () => {
    expect(run(sc, "upstream-6.19").verdict).toBe("verified");
  });
  it("6.19 without it: VP.INIT and PAGE.ADD/MR.EXTEND (both TDR exclusive) collide", () => {
    expect(run(sc, "upstream-6.19", { overrides: { "state-guard": "off" }, properties: ["no-kvm-bug-on"] }).verdict).toBe("violated:no-kvm-bug-on");
  });
  it("6.16 (no guard): the KVM_BUG_ON is real", () => {
    expect(run(sc, "upstream-6.16").verdict).toBe("violated:no-kvm-bug-on");
  });
});

describe("guest_memfd filemap_invalidate_lock (gmem-lock)", () => {
  const sc: Scenario = {
    name: "init-mem-region-vs-punch-hole",
    description: "INIT_MEM_REGION of GFN 0 while userspace punches a hole over GFN 0 of the same guest_memfd",
    initial: { td: "building", tables: [{ level: 1, gfn: 0 }] },
    threads: [
      { kind: "init-mem-region", name: "init-mem-region", gfn: 0 },
      { kind: "punch-hole", name: "punch-hole", start: 0, end: 1 },
    ],
    witnesses: ["tdh_mem_page_add", "filemap_invalidate_lock"],
    strategy: "cache",
    expected: {},
  };
  for (const p of ["upstream-6.16", "upstream-6.19", "upstream-7.2"]) {
    it(`${p}: populate and punch hole of one file are mutually exclusive`, () => {
      const r = run(sc, p);
      expect(r.verdict).toBe("verified");
      expect(r.missingWitnesses).toEqual([]);
    });
  }
  it("without the lock the model reports a race the kernel cannot have", () => {
    expect(run(sc, "upstream-6.19", { overrides: { "gmem-lock": "off" } }).verdict).toMatch(/^violated:/);
  });
});

describe("TDH.MR.EXTEND errors (mr-extend-error)", () => {
  const sc: Scenario = {
    name: "mr-extend-busy",
    description: "INIT_MEM_REGION of GFN 0; the environment may make TDH.MR.EXTEND return BUSY",
    initial: { td: "building", tables: [{ level: 1, gfn: 0 }] },
    threads: [{ kind: "init-mem-region", name: "init-mem-region", gfn: 0 }],
    inject: ["TDH.MR.EXTEND"],
    strategy: "cache",
    expected: {},
  };
  it("6.19+: any MR.EXTEND error bugs the VM (TDX_BUG_ON_2)", () => {
    expect(run(sc, "upstream-6.19", { properties: ["no-kvm-bug-on"] }).verdict).toBe("violated:no-kvm-bug-on");
    expect(run(sc, "upstream-7.2", { properties: ["no-kvm-bug-on"] }).verdict).toBe("violated:no-kvm-bug-on");
  });
  it("≤6.18: -EIO to userspace, no KVM_BUG_ON", () => {
    expect(run(sc, "upstream-6.16", { properties: ["no-kvm-bug-on"] }).verdict).toBe("verified");
  });
});

describe("a write-lock zap skips a FROZEN entry as the kernel does", () => {
  it("restore-on-failure=off leaves FROZEN; no write-lock holder WARNs (tdp_mmu_zap_leafs skips non-present)", () => {
    const r = run(SCENARIOS["seed-race"]!, "upstream-6.19", { overrides: { "restore-on-failure": "off" }, inject: ["TDH.MEM.PAGE.AUG"], properties: ["write-lock-never-sees-frozen"] });
    expect(r.verdict).toBe("verified");
  });
});

describe("upstream-7.2", () => {
  it("seed-race with a read-lock zap and lockdep off: verified (the removal runs inside the freeze)", () => {
    const r = run(SCENARIOS["seed-race-read-zap"]!, "upstream-7.2");
    expect(r.verdict).toBe("verified");
    expect(r.result.coverage.some((l) => l.includes("[zap]"))).toBe(true);
  });
  it("the same with lockdep on: the removal's lockdep_assert_held_write fires", () => {
    const r = checkScenario(SCENARIOS["seed-race-read-zap"]!, "upstream-7.2", { overrides: { "zap-lock": "read", lockdep: "on" }, properties: ["no-warn"] });
    expect(r.verdict).toBe("violated:no-warn");
    expect(r.counterexample!.message).toMatch(/lockdep: mmu_lock not held for write at tdx_sept_remove/);
  });
  it("6.19 refuses the read-lock zap in the TDP MMU (KVM_BUG_ON), 7.2 runs it", () => {
    expect(checkScenario(SCENARIOS["seed-race-read-zap"]!, "upstream-6.19").counterexample!.message).toMatch(/__tdp_mmu_set_spte_atomic/);
  });
  it("two GFNs: the read-lock BLOCK contends with an AUG; the single no-vCPU retry is not enough", () => {
    const r = checkScenario(SCENARIOS["read-zap-two-gfns"]!, "upstream-7.2");
    expect(r.verdict).toBe("violated:no-kvm-bug-on");
    expect(r.counterexample!.message).toMatch(/TDH\.MEM\.RANGE\.BLOCK TDX_OPERAND_BUSY/);
  });
  const twoZappers: Scenario = {
    name: "two-read-zappers",
    description: "GFN 0 mapped; two threads zap it under the read lock (7.2, lockdep off)",
    initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
    threads: [
      { kind: "zap", name: "zapper0", start: 0, end: 1 },
      { kind: "zap", name: "zapper1", start: 0, end: 1 },
    ],
    overrides: { "zap-lock": "read", lockdep: "off" },
    strategy: "cache",
    expected: {},
  };
  it("iter->old_spte refreshed after a failed cmpxchg (02eaaffdd865): the loser sees FROZEN and stops", () => {
    expect(run(twoZappers, "upstream-7.2", { properties: ["livelock", "deadlock"] }).verdict).toBe("verified");
  });
  it("without the refresh the loser retries with a stale value forever", () => {
    expect(run(twoZappers, "upstream-7.2", { overrides: { "old-spte-refresh": "off" }, properties: ["livelock", "deadlock"] }).verdict).toBe("violated:livelock");
  });
  it("S-EPT pages are freed at once and sp->external_spt cleared (spt-free=immediate)", () => {
    const r = run(SCENARIOS["teardown"]!, "upstream-7.2");
    expect(r.verdict).toBe("verified");
    expect(r.result.coverage.some((l) => l.includes("free_page(sp->external_spt)"))).toBe(true);
    const o = run(SCENARIOS["teardown"]!, "upstream-6.19");
    expect(o.result.coverage.some((l) => l.includes("call_rcu"))).toBe(true);
  });
});

describe("teardown with live vCPUs (teardown-vs-fault)", () => {
  const sc = SCENARIOS["teardown-vs-fault"]!;
  for (const p of ["upstream-6.16", "upstream-6.19", "upstream-7.2"]) {
    it(`${p}: gmem release NULLs the file and fences the fault; destruction waits for the vCPU`, () => {
      const r = run(sc, p);
      expect(r.verdict).toBe("verified");
      expect(r.missingWitnesses).toEqual([]);
      expect(r.result.coverage.some((l) => l.includes("WRITE_ONCE(slot->gmem.file, NULL)"))).toBe(true);
    });
  }
  it("the hkid-first ablation: verified too, since kvm_destroy_vm() cannot start before the vCPU fds are closed", () => {
    expect(run(sc, "upstream-6.19", { overrides: { "teardown-order": "hkid-first" } }).verdict).toBe("verified");
  });
});

describe("kvm_make_all_cpus_request: snapshot, IPI, ack", () => {
  it("the kicker waits only for the vCPUs it found in guest mode, for their acknowledgement", () => {
    const r = run(SCENARIOS["removal-vs-accept"]!, "upstream-6.19");
    expect(r.verdict).toBe("verified");
    const cov = r.result.coverage;
    expect(cov.some((l) => l.includes("cmpxchg(mode, IN_GUEST_MODE, EXITING_GUEST_MODE)"))).toBe(true);
    expect(cov.some((l) => l.includes("smp_call_function_many(wait): ack_kick() from vCPU 0"))).toBe(true);
  });
});
