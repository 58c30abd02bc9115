// S-EPT huge pages on the KVM side (preset hugepage, src/kvm/hugepage.ts): the split really runs
// DEMOTE on the hugepage preset and never elsewhere, the head/tail split is the defense that keeps
// zaps precise, and a scenario without a 2M folio is the dpamt program unchanged.
import { describe, expect, it } from "vitest";
import { explore } from "../../src/engine/index.js";
import { buildProgram, checkScenario, SCENARIOS, type Scenario } from "../../src/kvm/index.js";

const cov = (name: string, preset: string) => explore(buildProgram(SCENARIOS[name]!, preset), { strategy: "cache" });

describe("hugepage preset", () => {
  it("hp-fault-vs-split: the 4K ACCEPT exit splits (BLOCK(2M) → TRACK → DEMOTE) and sets GUEST_INHIBIT; verified", () => {
    const r = cov("hp-fault-vs-split", "hugepage");
    expect(r.violations.map((v) => v.message)).toEqual([]);
    expect(r.exhaustive).toBe(true);
    for (const l of ["tdh_mem_page_demote: commit entry", "hugepage_set_guest_inhibit", "tdx_sept_split_private_spte: atomic_cmpxchg(pamt_refcount"]) expect(r.coverage.some((c) => c.includes(l)), l).toBe(true);
  });
  it("on dpamt the same guest is two 4K leaves: no split, no DEMOTE", () => {
    const r = cov("hp-fault-vs-split", "dpamt");
    expect(r.violations).toEqual([]);
    expect(r.coverage.some((c) => c.includes("tdh_mem_page_demote"))).toBe(false);
  });
  it("defense: without the head/tail split a conversion of GFN 1 zaps the whole 2M leaf (hp-precise-zap)", () => {
    const off = checkScenario(SCENARIOS["hp-conversion-vs-fault"]!, "hugepage", { overrides: { "hugepage-split": "none" }, minimize: false });
    expect(off.verdict).toBe("violated:hp-precise-zap");
    expect(off.counterexample!.message).toContain("removes the 2M leaf [0,2)");
    const on = checkScenario(SCENARIOS["hp-conversion-vs-fault"]!, "hugepage", { minimize: false });
    expect(on.verdict).toBe("verified");
    expect(on.result.coverage.some((c) => c.includes("tdx_gmem_convert: guard(write_lock)"))).toBe(true);
  });
  it("a scenario without a 2M folio explores exactly the dpamt program", () => {
    const a = cov("two-vcpus-same-gfn", "dpamt").stats;
    const b = cov("two-vcpus-same-gfn", "hugepage").stats;
    expect([b.executions, b.statesStored, b.steps]).toEqual([a.executions, a.statesStored, a.steps]);
  });
});

describe("hugepage: race R5, interrupted DEMOTE, teardown with a 2M leaf", () => {
  it("hp-demote-vs-pamt-add: the DEMOTE pair walk meets the other TD's PAMT.ADD; pamt_lock around DEMOTE (the hugepage preset's value) makes it verified", () => {
    const on = checkScenario(SCENARIOS["hp-demote-vs-pamt-add"]!, "hugepage", { minimize: false });
    expect(on.verdict).toBe("verified");
    for (const l of ["spin_lock(&pamt_lock) around DEMOTE", "tdh_mem_page_demote: pamt_walk(pair page, SH): 2M entry lock (range 0)", "other TD: tdh_mem_page_aug"]) expect(on.result.coverage.some((c) => c.includes(l)), l).toBe(true);
    // RFC v5 30/45 as posted: PAMT.ADD gets BUSY|RCX (D-4), or DEMOTE gets BUSY|R12 on both attempts (TDX_BUG_ON_2).
    const off = checkScenario(SCENARIOS["hp-demote-vs-pamt-add"]!, "hugepage", { overrides: { "demote-pamt-lock": "off" }, minimize: false });
    expect(off.verdict).toBe("violated:pamt-add-remove-succeed");
    expect(off.counterexample!.message).toContain("TDX_OPERAND_BUSY|RCX");
    const bug = checkScenario(SCENARIOS["hp-demote-vs-pamt-add"]!, "hugepage", { overrides: { "demote-pamt-lock": "off" }, properties: ["no-kvm-bug-on"], minimize: false });
    expect(bug.verdict).toBe("violated:no-kvm-bug-on");
    expect(bug.counterexample!.message).toContain("TDX_OPERAND_BUSY|R12");
  });
  it("hp-demote-interrupted: INTERRUPTED_RESTARTABLE is TDX_BUG_ON_2 with the 2M leaf left BLOCKED; with the enhanced feature (the default) no interrupt is seen", () => {
    const r = checkScenario(SCENARIOS["hp-demote-interrupted"]!, "hugepage", { minimize: false });
    expect(r.verdict).toBe("violated:no-kvm-bug-on");
    expect(r.counterexample!.message).toContain("TDX_INTERRUPTED_RESTARTABLE");
    const sc = { ...SCENARIOS["hp-demote-interrupted"]!, module: {} };
    const ok = checkScenario(sc, "hugepage", { minimize: false });
    expect(ok.verdict).toBe("verified");
    expect(ok.result.coverage.some((c) => c.includes("is_interrupt_pending_host_side"))).toBe(false);
  });
  it("hp-teardown: the 2M leaf is removed whole (no split, no put for it) and every refcount ends balanced", () => {
    const r = checkScenario(SCENARIOS["hp-teardown"]!, "hugepage", { minimize: false });
    expect(r.verdict).toBe("verified");
    expect(r.result.coverage.some((c) => c.includes("tdh_mem_page_remove"))).toBe(true);
    expect(r.result.coverage.some((c) => c.includes("tdh_mem_page_demote"))).toBe(false);
  });
});

describe("guest ACCEPT at 2M: TDX_PAGE_SIZE_MISMATCH and the 4K fallback; a runtime 2M AUG", () => {
  const accept2m = (initial: Scenario["initial"], extra: Scenario["threads"] = []): Scenario => ({
    name: "accept-2m",
    description: "vCPU0's guest accepts the 2M block of GFN 0",
    initial,
    threads: [{ kind: "vcpu", vcpu: 0, actions: [{ op: "accept", gfn: 0, size: "2M" }] }, ...extra],
    strategy: "cache",
    expected: {},
  });
  const MISMATCH = "ACCEPT(2M, gfn 0) → TDX_PAGE_SIZE_MISMATCH, falls back to 4K";
  it("the host maps the block at 4K: the 2M ACCEPT gets TDX_PAGE_SIZE_MISMATCH and the guest accepts each 4K page (the second after a fault)", () => {
    for (const preset of ["upstream-7.2", "v11"]) {
      const r = checkScenario({ ...accept2m({ tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "PENDING" }] }), witnesses: [MISMATCH, "tdh_mem_page_aug"] }, preset, { minimize: false });
      expect(r.verdict, preset).toBe("verified");
      expect(r.missingWitnesses, preset).toEqual([]);
    }
  });
  it("a 2M PENDING leaf (hugepage): accepted at 2M at once, no exit, no split; the same guest on dpamt (two 4K leaves) falls back", () => {
    const sc = accept2m({ hugeFolios: [0], hugeLeaves: [{ gfn: 0, state: "PENDING" }] });
    const hp = checkScenario(sc, "hugepage", { minimize: false });
    expect(hp.verdict).toBe("verified");
    expect(hp.result.coverage.some((c) => c.includes("TDX_PAGE_SIZE_MISMATCH") || c.includes("tdh_mem_page_demote") || c.includes("tdx_handle_ept_violation"))).toBe(false);
    const dp = checkScenario(sc, "dpamt", { minimize: false });
    expect(dp.verdict).toBe("verified");
    expect(dp.result.coverage.some((c) => c.includes(MISMATCH))).toBe(true);
  });
  it("nothing mapped (hugepage): the 2M ACCEPT's exit maps the block with a 2M AUG while vCPU1 faults GFN 1; the 2M PAMT entry is the page's before its 4K entries are claimed (D-2)", () => {
    const r = checkScenario(accept2m({ hugeFolios: [0] }, [{ kind: "fault", vcpu: 1, gfn: 1 }]), "hugepage", { minimize: false });
    expect(r.verdict).toBe("verified");
    expect(r.result.coverage.some((c) => c.includes("tdh_mem_page_aug: 2M PAMT entry := PT_REG 2M page"))).toBe(true);
  });
});
