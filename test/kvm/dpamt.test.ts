// The dpamt preset: Dynamic PAMT scenarios verified with their DPAMT steps reached, one ablation
// per Dynamic PAMT defense (each must show its bug), and the two refcount variants of the design.
import { describe, expect, it } from "vitest";
import { checkScenario, PRESETS, SCENARIOS } from "../../src/kvm/index.js";
import { DPAMT_EXPECTED } from "../../src/kvm/scenarios.js";

const DPAMT_SCENARIOS = ["dpamt-two-vcpus-one-range", "dpamt-fault-vs-removal", "dpamt-conversion-storm"];

describe("dpamt preset", () => {
  it("is upstream-7.2 plus the Dynamic PAMT switches", () => {
    const d = PRESETS.dpamt!.values;
    expect(d).toMatchObject({ dpamt: "on", "pamt-refcount": "lock-always", "pamt-lock": "global", "pamt-put": "after-remove" });
    for (const [k, v] of Object.entries(PRESETS["upstream-7.2"]!.values)) expect(d[k], k).toBe(v);
  });
  it("every built-in scenario has an expected verdict on dpamt, the older ones with a reason", () => {
    for (const sc of Object.values(SCENARIOS)) expect(sc.expected.dpamt, sc.name).toBeDefined();
    for (const [name, e] of Object.entries(DPAMT_EXPECTED)) {
      expect(SCENARIOS[name]!.expected.dpamt).toEqual(e.expect);
      expect(e.why.length).toBeGreaterThan(20);
    }
  });
});

describe("Dynamic PAMT scenarios on dpamt", () => {
  // Each is verified and actually exercises the DPAMT paths it is about (labels reached).
  const reach: Record<string, string[]> = {
    // both draw a pair; one PAMT.ADD; the other's pair goes back to the allocator (S-DOUBLE-ZERO)
    "dpamt-two-vcpus-one-range": ["tdh_phymem_pamt_add: 2M entry := PT_PAMT node", "[range already backed]", "tdx_topup_pamt_cache"],
    // the other TD's put removes the pair, the fault re-adds it; or the fault's get increments first
    "dpamt-fault-vs-removal": ["tdh_phymem_pamt_remove: 2M entry := PT_NDA", "tdh_phymem_pamt_add: 2M entry := PT_PAMT node", "tdx_pamt_get: atomic_inc(pamt_refcount[range 0])"],
    // the zaps' puts go 2 → 1 → 0 (PAMT.REMOVE), the fault re-adds
    "dpamt-conversion-storm": ["tdx_pamt_put: atomic_dec(pamt_refcount[range 1])", "tdh_phymem_pamt_remove: 2M entry := PT_NDA", "tdh_phymem_pamt_add: 2M entry := PT_PAMT node"],
  };
  for (const name of DPAMT_SCENARIOS) {
    it(`${name}: verified, DPAMT steps reached`, () => {
      const r = checkScenario(SCENARIOS[name]!, "dpamt");
      expect(r.verdict).toBe("verified");
      expect(r.ok).toBe(true);
      for (const l of reach[name]!) expect(r.result.coverage.some((c) => c.includes(l)), l).toBe(true);
    });
  }
  it("fast-path refcounts (v6 06/11) verify the same scenarios", () => {
    for (const name of DPAMT_SCENARIOS) {
      const r = checkScenario(SCENARIOS[name]!, "dpamt", { overrides: { "pamt-refcount": "fast-path" } });
      expect(r.verdict, name).toBe("verified");
      expect(r.result.coverage.some((c) => c.includes("atomic_inc_not_zero"))).toBe(true);
    }
  });
  it("without Dynamic PAMT (upstream-6.19) no DPAMT step exists", () => {
    const r = checkScenario(SCENARIOS["dpamt-fault-vs-removal"]!, "upstream-6.19");
    expect(r.verdict).toBe("verified");
    expect(r.result.coverage.some((c) => c.includes("pamt"))).toBe(false);
  });
});

describe("ablation from dpamt: each Dynamic PAMT defense switched off shows its bug", () => {
  const CASES: { sw: string; value: string; scenario: string; violated: string; why: string }[] = [
    // no pamt_lock: both first gets issue PAMT.ADD for the range; the loser fails (WARN, -EIO)
    { sw: "pamt-lock", value: "off", scenario: "dpamt-two-vcpus-one-range", violated: "pamt-add-remove-succeed", why: "TDX_HPA_RANGE_NOT_FREE" },
    // R2: put drops to 0 before the lock; the get re-adds (HPA_RANGE_NOT_FREE taken as success)
    // and the put then removes the pair the get relies on: the fault's AUG finds no pair
    { sw: "pamt-refcount", value: "dec-and-test", scenario: "dpamt-fault-vs-removal", violated: "no-missing-pamt-pair", why: "TDX_MISSING_PAMT_PAGE_PAIR" },
    { sw: "pamt-refcount", value: "dec-and-test", scenario: "dpamt-fault-vs-removal", violated: "pamt-node-iff-referenced", why: "PT_NDA" },
    // put before REMOVE: the refcount no longer covers the pages the module has in use
    { sw: "pamt-put", value: "before-remove", scenario: "dpamt-conversion-storm", violated: "pamt-refcount-covers-module", why: "pages the module has in use" },
    { sw: "pamt-put", value: "before-remove", scenario: "dpamt-conversion-storm", violated: "pamt-add-remove-succeed", why: "TDX_PAMT_PAGE_NOT_EMPTY" },
    // the seed's mirror-first install: the get is outside any freeze window (D-8)
    { sw: "install", value: "mirror-first", scenario: "dpamt-two-vcpus-one-range", violated: "pamt-get-in-freeze", why: "outside the freeze window" },
  ];
  for (const c of CASES) {
    it(`${c.sw}=${c.value} on ${c.scenario} violates ${c.violated}`, () => {
      const r = checkScenario(SCENARIOS[c.scenario]!, "dpamt", { overrides: { [c.sw]: c.value }, properties: [c.violated], minimize: false });
      expect(r.verdict).toBe(`violated:${c.violated}`);
      expect(r.result.violations[0]!.message).toContain(c.why);
    });
  }
  it("the same scenarios with the defense on are verified for those properties", () => {
    for (const c of CASES) {
      const r = checkScenario(SCENARIOS[c.scenario]!, "dpamt", { properties: [c.violated], minimize: false });
      expect(r.verdict, `${c.scenario} ${c.violated}`).toBe("verified");
    }
  });
});

// D-6, D-7, D-10 (docs/model.md "dpamt"): each holds on its preset and is shown to catch the
// broken defense it is about.
describe("D-6 / D-7 / D-10: the property and the defense it checks", () => {
  const CASES: { preset: string; scenario: string; prop: string; broken: Record<string, string>; why: string }[] = [
    // D-6: ≤6.19's RCU-time S-EPT page free would put (pamt_lock) from tdp_mmu_free_sp_rcu_callback()
    // (softirq); 7.2 frees right after RECLAIM (race R3).
    { preset: "dpamt", scenario: "teardown", prop: "pamt-lock-discipline", broken: { "spt-free": "rcu" }, why: "softirq context" },
    // D-7: a split without a running vCPU borrowing vCPU 0's lock-less cache instead of the per-VM one.
    { preset: "hugepage", scenario: "hp-conversion-vs-fault", prop: "pamt-running-vcpu", broken: { "split-pamt-cache": "vcpu0" }, why: "vcpu0.pamt_cache used by a thread whose running vCPU is none" },
    // D-10: v4's dec-and-test put: the other TD's put removes the pair this VM's get just took a reference on.
    { preset: "dpamt", scenario: "dpamt-fault-vs-removal", prop: "pamt-cross-td-independent", broken: { "pamt-refcount": "dec-and-test" }, why: "the other TD's tdx_pamt_put removed the pair of range 0 while this VM holds 1 reference" },
  ];
  for (const c of CASES) {
    it(`${c.prop}: verified on ${c.preset}, violated with ${JSON.stringify(c.broken)} on ${c.scenario}`, () => {
      const on = checkScenario(SCENARIOS[c.scenario]!, c.preset, { properties: [c.prop], minimize: false });
      expect(on.verdict).toBe("verified");
      const off = checkScenario(SCENARIOS[c.scenario]!, c.preset, { overrides: c.broken, properties: [c.prop], minimize: false });
      expect(off.verdict).toBe(`violated:${c.prop}`);
      expect(off.result.violations[0]!.message).toContain(c.why);
    });
  }
  it("D-10 tracks which TD holds a reference only when the scenario has another TD (no extra cells otherwise)", () => {
    const withOther = checkScenario(SCENARIOS["dpamt-fault-vs-removal"]!, "dpamt", { minimize: false });
    expect(withOther.result.coverage.some((l) => l.includes("ghost: other TD drops a reference on range 0"))).toBe(true);
    const without = checkScenario(SCENARIOS["dpamt-two-vcpus-one-range"]!, "dpamt", { minimize: false });
    expect(without.result.coverage.some((l) => l.includes("ghost:"))).toBe(false);
  });
});
