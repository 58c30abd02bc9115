// no-stale-private-leaf with two invalidations in progress at once. KVM keeps one range for every
// invalidation in progress: kvm_mmu_invalidate_range_add() (virt/kvm/kvm_main.c, kvm-x86/linux@
// 69c7916df569) widens it to [min start, max end) and never shrinks it until the last one ends; it
// is what faults retry on (mmu_invalidate_retry_gfn(): "may include some false positives"), not
// what was zapped. A GFN in the gap between two disjoint ranges is neither zapped nor stale: its
// leaf is legitimately mapped. What each invalidation zapped (its own range, from its begin
// section to its end) is what may hold no private leaf.
import { describe, expect, it } from "vitest";
import { buildProgram, checkScenario, type Scenario } from "../../src/kvm/index.js";
import { explore } from "../../src/engine/index.js";

const mapped = (n: number) => Array.from({ length: n }, (_, gfn) => ({ gfn, state: "MAPPED" as const }));

// Conversion of GFNs 0-1 to shared (slots_lock) and a punch hole over GFNs 3-4 (the guest_memfd
// lock): nothing serializes them, so both can be in progress; GFN 2, between them, stays mapped.
const gap: Scenario = {
  name: "two-invalidations-gap",
  description: "convert GFNs 0-1 to shared while punching a hole over GFNs 3-4; GFN 2 stays mapped",
  geometry: { levels: 2, fanout: 5 },
  initial: { tables: [{ level: 1, gfn: 0 }], leaves: mapped(5) },
  threads: [
    { kind: "set-attributes", name: "convert", start: 0, end: 2, to: "shared" },
    { kind: "punch-hole", name: "punch", start: 3, end: 5 },
  ],
  expected: {},
};

describe("no-stale-private-leaf: what was zapped, not the merged range", () => {
  it("two concurrent invalidations on disjoint ranges: the GFN between them, still mapped, is no stale leaf", () => {
    const p = buildProgram(gap, "upstream-7.2");
    const r = explore(p, { strategy: "cache", properties: ["no-stale-private-leaf"], maxStates: 2_000_000 });
    expect(r.violations.map((v) => v.message)).toEqual([]);
    expect(r.verdict).toBe("verified");
  });

  it("two punch holes without the guest_memfd lock (gmem-lock=off) overlap too: the GFN between them is no stale leaf", () => {
    const sc: Scenario = { ...gap, name: "two-punches-gap", threads: [{ kind: "punch-hole", name: "punch0", start: 0, end: 2 }, { kind: "punch-hole", name: "punch1", start: 3, end: 5 }] };
    const r = checkScenario(sc, "upstream-7.2", { overrides: { "gmem-lock": "off" }, properties: ["no-stale-private-leaf"], minimize: false });
    expect(r.verdict).toBe("verified");
  });

  it("a fault that does not retry on a GFN one of them zapped is still caught (stale-check=off)", () => {
    const sc: Scenario = { ...gap, name: "two-invalidations-fault", threads: [...gap.threads, { kind: "fault", vcpu: 0, gfn: 3 }], initial: { tables: [{ level: 1, gfn: 0 }], leaves: mapped(5).filter((l) => l.gfn !== 3) } };
    const r = checkScenario(sc, "upstream-7.2", { overrides: { "stale-check": "off" }, properties: ["no-stale-private-leaf"], minimize: false });
    expect(r.verdict).toBe("violated:no-stale-private-leaf");
    expect(r.counterexample!.message).toMatch(/^gfn 3: .* inside the in-progress invalidation \[3,5\) after its zap$/);
    // With the fault's retry check (upstream) it holds.
    expect(checkScenario(sc, "upstream-7.2", { properties: ["no-stale-private-leaf"], minimize: false }).verdict).toBe("verified");
  });
});
