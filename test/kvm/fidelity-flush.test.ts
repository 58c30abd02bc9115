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
  it("on v11 the flush is a second tdx_track() (tdx_sept_flush_remote_tlbs(), HKID assigned), not a bare request; never under a read-lock zap", () => {
    const V11_FLUSH = "kvm_flush_remote_tlbs → tdx_sept_tlb_remote_flush: is_hkid_assigned(kvm_tdx)";
    const v11 = checkScenario({ ...withWitness(SCENARIOS["fault-vs-punch-hole"]!), witnesses: [FLUSH, V11_FLUSH] }, "v11", { minimize: false });
    expect(v11.missingWitnesses).toEqual([FLUSH]);
    expect(v11.verdict).toBe("vacuous");
    // v11 tracks with kick-then-track (atomic_inc(tdh_mem_track), request, TRACK), here twice per zap
    const tracks = v11.result.coverage.filter((l) => l.includes("atomic_inc(&kvm_tdx->tdh_mem_track)"));
    expect(tracks.length).toBeGreaterThan(0);
    const r = checkScenario(withWitness(SCENARIOS["seed-race-read-zap"]!), "upstream-7.2", { minimize: false, overrides: { "zap-lock": "read", lockdep: "off" } });
    expect(r.missingWitnesses).toEqual([FLUSH]);
  });
});
