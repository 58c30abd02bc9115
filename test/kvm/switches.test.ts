import { describe, expect, it } from "vitest";
import { CANNOT_MATTER, STATE_SPACE_PROBES } from "../../src/kvm/ablations.js";
import { buildProgram, checkScenario, PRESETS, SCENARIOS, SWITCHES, type Scenario } from "../../src/kvm/index.js";
import { explore } from "../../src/engine/index.js";
import { formatSpte, isDirtyLeaf, isLeaf, isShadowPresent, isTable, leafSpte, spte64, spteToPfn } from "../../src/kvm/spte.js";

// Every value of every switch changes the explored state space of at least one built-in scenario
// (STATE_SPACE_PROBES): exploring the scenario with each value of the switch in turn (the other
// switches at the preset's values) gives pairwise different (states, steps, executions). A value
// that cannot change anything yet is listed in CANNOT_MATTER with the reason, which `tdxmc explain`
// and `tdxmc ablate` print; the test checks that such a value really leaves the space unchanged,
// so the list cannot go stale.
const CAP = 600; // executions per run: a prefix of the exploration is enough to tell spaces apart

function signature(scenario: string, preset: string, overrides: Record<string, string>, inject?: string[]): string {
  const sc = inject ? { ...SCENARIOS[scenario]!, inject } : SCENARIOS[scenario]!;
  const r = explore(buildProgram(sc, preset, overrides), { strategy: "cache", allViolations: true, maxExecutions: CAP });
  const s = r.stats;
  // The states stored and steps taken, and which modelled steps were reached at all.
  let h = 0;
  for (const l of r.coverage) for (let i = 0; i < l.length; i++) h = (Math.imul(h, 31) + l.charCodeAt(i)) | 0;
  return `${s.executions} executions, ${s.statesStored} states, ${s.steps} steps, ${r.coverage.length} labels #${(h >>> 0).toString(16)}`;
}

describe("every switch value changes the explored state space", () => {
  it("every switch has a probe", () => {
    for (const s of SWITCHES) expect(STATE_SPACE_PROBES[s.id], s.id).toBeDefined();
  });
  for (const s of SWITCHES) {
    const probe = STATE_SPACE_PROBES[s.id];
    if (!probe) continue;
    it(`${s.id} on ${probe.scenario} (${probe.preset ?? "upstream-6.19"}${probe.inject ? `, BUSY injected into ${probe.inject.join(", ")}` : ""})`, () => {
      const preset = probe.preset ?? "upstream-6.19";
      expect(PRESETS[preset]).toBeDefined();
      const sigs = new Map<string, string>();
      for (const v of s.values) sigs.set(v.value, signature(probe.scenario, preset, { ...(probe.overrides ?? {}), [s.id]: v.value }, probe.inject));
      for (const a of s.values)
        for (const b of s.values) {
          if (a.value >= b.value) continue;
          const same = sigs.get(a.value) === sigs.get(b.value);
          const listed = CANNOT_MATTER[`${s.id}=${a.value}`] !== undefined || CANNOT_MATTER[`${s.id}=${b.value}`] !== undefined || CANNOT_MATTER[s.id] !== undefined;
          expect(same, `${s.id}: ${a.value} ${sigs.get(a.value)} vs ${b.value} ${sigs.get(b.value)}`).toBe(listed);
        }
    });
  }
});

// KVM_SET_MEMORY_ATTRIBUTES returns at once when the whole range already has the attribute
// (kvm_vm_set_mem_attributes(): kvm_range_has_memory_attributes() under slots_lock, 5a475554db1e):
// no invalidation is opened, so a mapped private leaf under a no-op "to private" is not stale. The
// model once lacked the early return and reported no-stale-private-leaf here.
describe("KVM_SET_MEMORY_ATTRIBUTES with unchanged attributes", () => {
  const noop: Scenario = {
    name: "noop-conversion",
    description: "GFN 0 is private and mapped; userspace sets it to private again",
    initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] },
    threads: [{ kind: "set-attributes", name: "to-private", start: 0, end: 1, to: "private" }],
    witnesses: ["[attributes unchanged]"],
    strategy: "cache",
    expected: {},
  };
  for (const preset of ["upstream-6.19", "v11"])
    it(`a no-op conversion of a mapped private GFN opens no invalidation (${preset})`, () => {
      const r = checkScenario(noop, preset, { minimize: false });
      expect(r.verdict).toBe("verified");
      expect(r.result.coverage.some((l) => l.includes("kvm_mmu_invalidate_begin"))).toBe(false);
    });
  it("a real conversion of the same GFN still invalidates and zaps", () => {
    const sc: Scenario = { ...noop, threads: [{ kind: "set-attributes", name: "to-shared", start: 0, end: 1, to: "shared" }], witnesses: ["kvm_mmu_invalidate_begin", "tdh_mem_page_remove"] };
    expect(checkScenario(sc, "upstream-6.19", { minimize: false }).verdict).toBe("verified");
  });
});

// The Dirty bit of a mirror leaf token (switch mirror-ad): a clear-D leaf maps the same pfn, is
// still a present leaf, and prints differently.
describe("A/D bits of mirror leaf tokens", () => {
  it("a clear-D leaf keeps its pfn and leaf-ness and differs from the dirty one", () => {
    for (const pfn of [0, 1, 24]) {
      const d = leafSpte(pfn);
      const c = leafSpte(pfn, false);
      expect(c).not.toBe(d);
      expect([spteToPfn(c), isLeaf(c), isShadowPresent(c), isTable(c), isDirtyLeaf(c)]).toEqual([pfn, true, true, false, false]);
      expect(isDirtyLeaf(d)).toBe(true);
      expect(formatSpte(c)).toBe(`LEAF(pfn ${pfn}, D=0)`);
      expect(formatSpte(d)).toBe(`LEAF(pfn ${pfn})`);
      expect(spte64(d) ^ spte64(c)).toBe(1n << 9n);
    }
  });
});

// mirror-ad=propagate (before cc7ed3358e41): the loser of two faults of one GFN re-makes the leaf
// with D clear; the present→present change bugs the VM (KVM_BUG_ON(was_present), which does not
// return) and re-issues TDH.MEM.PAGE.AUG for the mapped GPA, which the module refuses. filter (the
// posted remedy) stores the change without a SEAMCALL; same-spte (upstream) never makes the change.
describe("mirror-ad on two-vcpus-same-gfn (upstream-6.19)", () => {
  const labels = (v: string): { verdict: string; cov: readonly string[] } => {
    const r = explore(buildProgram(SCENARIOS["two-vcpus-same-gfn"]!, "upstream-6.19", { "mirror-ad": v }), { strategy: "cache", allViolations: true });
    return { verdict: r.verdict, cov: r.coverage };
  };
  it("propagate: KVM_BUG_ON(was_present), then the AUG again, refused as TDX_EPT_ENTRY_STATE_INCORRECT", () => {
    const { verdict, cov } = labels("propagate");
    expect(verdict).toBe("violated");
    expect(cov.some((l) => l.includes("KVM_BUG_ON(was_present) [A/D-only change]"))).toBe(true);
    expect(cov.some((l) => l.includes("TDH.MEM.PAGE.AUG TDX_EPT_ENTRY_STATE_INCORRECT"))).toBe(true);
  });
  for (const v of ["same-spte", "filter"])
    it(`${v}: no second SEAMCALL, no KVM_BUG_ON`, () => {
      const { verdict, cov } = labels(v);
      expect(verdict).toBe("verified");
      expect(cov.some((l) => l.includes("TDX_EPT_ENTRY_STATE_INCORRECT") || l.includes("kvm_vm_bugged"))).toBe(false);
    });
});

// vp-enter-busy=reenter (Binbin Wu's v1): a TDH.VP.ENTER BUSY re-enters from vcpu_enter_guest()'s
// fastpath loop with IRQs off and vcpu->mode IN_GUEST_MODE, but the loop calls
// kvm_vcpu_exit_request() first, so a kick (cmpxchg to EXITING_GUEST_MODE) ends it at the next BUSY.
// On removal-vs-accept the punch hole's tdh_do_no_vcpus() kick lands inside that loop: the vCPU
// takes the exit, the kicker's wait ends, and the scenario verifies (no hang to show: the reason in
// NO_VERDICT_CHANGE). Under fastpath (the scenario's expected verdict) the loop is never entered.
describe("vp-enter-busy on removal-vs-accept (upstream-6.19)", () => {
  const EXIT = "kvm_vcpu_exit_request() → EXIT_FASTPATH_EXIT_HANDLED";
  const run = (v: string): { verdict: string; cov: readonly string[] } => {
    const r = explore(buildProgram(SCENARIOS["removal-vs-accept"]!, "upstream-6.19", { "vp-enter-busy": v }), { strategy: "cache", allViolations: true });
    return { verdict: r.verdict, cov: r.coverage };
  };
  it("reenter: a kick during the re-entry loop is acknowledged through kvm_vcpu_exit_request(); no hang", () => {
    const { verdict, cov } = run("reenter");
    expect(verdict).toBe("verified");
    expect(cov.some((l) => l.includes(EXIT))).toBe(true);
    expect(cov.some((l) => l.includes("kvm_make_all_cpus_request(KVM_REQ_OUTSIDE_GUEST_MODE)"))).toBe(true);
  });
});

// local-retry=off (v11): RET_PF_RETRY re-enters the guest. The local retry only makes the
// contention between AUG and a zero-step TDH.VP.ENTER less likely (Message-ID
// 20250113021218.18922-1-yan.y.zhao@intel.com); two vCPUs that both fault with zero-step armed on
// module 1.5.16 — each one's entry takes the S-EPT tree lock exclusively while the other's AUG wants
// it shared — verify without it: the AUG's BUSY (the restore after -EBUSY) is reached, and every
// schedule ends.
describe("local-retry=off with two zero-step vCPUs on module 1.5.16 (upstream-6.19)", () => {
  const sc: Scenario = {
    name: "zero-step-two-vcpus",
    description: "module 1.5.16, zero-step threshold 0: vCPU0's guest touches unmapped GFN 0, vCPU1's unmapped GFN 1",
    initial: { tables: [{ level: 1, gfn: 0 }] },
    module: { version: "1.5.16", zeroStepThreshold: 0 },
    threads: [
      { kind: "vcpu", vcpu: 0, actions: [{ op: "access", gfn: 0 }] },
      { kind: "vcpu", vcpu: 1, actions: [{ op: "access", gfn: 1 }] },
    ],
    witnesses: ["stepping filter: secure_ept_lock: try_lock EX", "[restore after -16]"],
    strategy: "cache",
    expected: {},
  };
  it("re-entering on RET_PF_RETRY verifies: contention, no livelock", () => {
    const r = checkScenario(sc, "upstream-6.19", { overrides: { "local-retry": "off" }, minimize: false });
    expect(r.verdict).toBe("verified");
    expect(r.result.coverage.some((l) => l.includes("[restore after -16]"))).toBe(true);
  });
});

// tlb-track=kick-then-track (v11's tdx_track(): count, KVM_REQ_TLB_FLUSH kick, TDH.MEM.TRACK,
// uncount) was dropped as unneeded synchronization once tdx_track() ran under the write mmu_lock
// (Message-Id 20240904030751.117579-14-rick.p.edgecombe@intel.com), not for a race: on
// removal-vs-accept a vCPU that published IN_GUEST_MODE sees the request and cancels its entry, and
// the kicked vCPU spins in tdx_flush_tlb() until TRACK is done; the scenario verifies.
describe("tlb-track=kick-then-track on removal-vs-accept (upstream-6.19)", () => {
  it("the request cancels an entry and the kicked vCPU waits for TRACK; verified", () => {
    const r = explore(buildProgram(SCENARIOS["removal-vs-accept"]!, "upstream-6.19", { "tlb-track": "kick-then-track" }), { strategy: "cache", allViolations: true });
    expect(r.verdict).toBe("verified");
    for (const l of ["vcpu_enter_guest: cancel entry", "tdx_flush_tlb: wait for tdh_mem_track == 0"]) expect(r.coverage.some((c) => c.includes(l)), l).toBe(true);
  });
});
