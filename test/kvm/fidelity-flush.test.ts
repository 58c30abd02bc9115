import { describe, expect, it } from "vitest";
import { checkScenario, SCENARIOS, type Scenario } from "../../src/kvm/index.js";

// The post-zap remote TLB flush: after a write-lock zap that zapped something, still holding
// mmu_lock for write, kvm_flush_remote_tlbs() = kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH)
// (snapshot, IPI, wait for the acks). Fails on the old model, which had no such step.
const FLUSH = "KVM_REQ_TLB_FLUSH from kvm_flush_remote_tlbs after the zap";
const withWitness = (sc: Scenario): Scenario => ({ ...sc, witnesses: [...(sc.witnesses ?? []), FLUSH] });

describe("kvm_flush_remote_tlbs after a write-lock zap", () => {
  it("fault-vs-punch-hole on 7.2: the flush runs and the scenario stays verified", () => {
    const r = checkScenario(withWitness(SCENARIOS["fault-vs-punch-hole"]!), "upstream-7.2", { minimize: false });
    expect(r.missingWitnesses).toEqual([]);
    expect(r.verdict).toBe("verified");
    expect(r.result.coverage.some((l) => l.includes(`kvm_make_all_cpus_request(${FLUSH})`))).toBe(true);
  });
  it("not on v11 (its flush is a second tdx_track(), not modelled), and never under a read-lock zap", () => {
    expect(checkScenario(withWitness(SCENARIOS["fault-vs-punch-hole"]!), "v11", { minimize: false }).missingWitnesses).toEqual([FLUSH]);
    const r = checkScenario(withWitness(SCENARIOS["seed-race-read-zap"]!), "upstream-7.2", { minimize: false, overrides: { "zap-lock": "read", lockdep: "off" } });
    expect(r.missingWitnesses).toEqual([FLUSH]);
  });
});
