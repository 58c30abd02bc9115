// S-EPT huge pages on the KVM side (preset hugepage, src/kvm/hugepage.ts): the split really runs
// DEMOTE on the hugepage preset and never elsewhere, the head/tail split is the defense that keeps
// zaps precise, and a scenario without a 2M folio is the dpamt program unchanged.
import { describe, expect, it } from "vitest";
import { explore } from "../../src/engine/index.js";
import { buildProgram, checkScenario, SCENARIOS } from "../../src/kvm/index.js";

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
