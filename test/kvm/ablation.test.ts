import { describe, expect, it } from "vitest";
import { checkScenario, SCENARIOS, SWITCHES } from "../../src/kvm/index.js";

// Ablation from upstream-6.19: one switch at a time set to a non-default value, on a built-in
// scenario that then shows a violation. Switches without such a scenario are listed in
// NO_SCENARIO with the reason (also in docs/model.md).
const CASES: { sw: string; value: string; scenario: string; inject?: string[]; violated: string }[] = [
  { sw: "install", value: "mirror-first", scenario: "two-gfns-unlinked-table", violated: "no-kvm-bug-on" },
  // 6.16–6.19 refuse an atomic (read-lock) change of a mirror SPTE to not-present.
  { sw: "zap-lock", value: "read", scenario: "seed-race", violated: "no-kvm-bug-on" },
  { sw: "removal-failure", value: "v11", scenario: "removal-vs-accept", violated: "no-kvm-bug-on" },
  { sw: "removal-failure", value: "bug", scenario: "removal-vs-accept", violated: "no-kvm-bug-on" },
  { sw: "tlb-track", value: "no-kick", scenario: "removal-vs-zero-step", violated: "removal-protocol" },
  // The entry left FROZEN is skipped by write-lock zaps (not shadow-present, as in the kernel, so
  // write-lock-never-sees-frozen stays quiet); the fault finds it FROZEN forever and retries.
  { sw: "restore-on-failure", value: "off", scenario: "seed-race", inject: ["TDH.MEM.PAGE.AUG"], violated: "livelock" },
  { sw: "local-retry", value: "on", scenario: "memslot-delete-vs-fault", violated: "livelock" },
  { sw: "stale-check", value: "off", scenario: "fault-vs-punch-hole", violated: "no-free-while-mapped" },
  { sw: "install-busy", value: "retry-eagain", scenario: "fault-vs-accept", violated: "no-kvm-bug-on" },
  { sw: "vp-init-lock", value: "none", scenario: "punch-hole-vs-vp-init", violated: "no-kvm-bug-on" },
  { sw: "state-guard", value: "off", scenario: "init-mem-region-vs-vp-init", violated: "no-kvm-bug-on" },
];

export const NO_SCENARIO: Record<string, string> = {
  "seamcall-lock": "a lock only removes interleavings; the email's point is that it does not help (seed-seamcall-lock still violates)",
  "tlb-track": "kick-then-track (v11) is correct when vCPUs honour KVM_REQ_TLB_FLUSH; only the hypothetical no-kick breaks",
  "teardown-order": "with no vCPU running during teardown both orders are safe in the model",
  "vp-enter-busy": "both values re-enter the guest in the model (the request servicing difference is not modelled)",
  "memslot-zap": "needs a later guest_memfd free of a page of the deleted slot; the binding removal is not modelled",
  "page-add": "the ≤6.18 premap window needs a zap of the pre-mapped entry before PAGE.ADD; guest_memfd's filemap_invalidate_lock excludes the punch hole of the same file (gmem-lock)",
  "gmem-lock": "no built-in scenario populates and punches one file at once; test/kvm/fidelity.test.ts shows the false race without the lock",
  "mr-extend-error": "from 6.19, eio only turns a KVM_BUG_ON into -EIO; it cannot cause a violation",
  hooks: "7.2's unified dispatch changes where TDX is called from, not the interleavings of any upstream caller (kvm-7.2 §1.1); it matters only with a read-lock zap (seed-race-read-zap, read-zap-two-gfns)",
  lockdep: "turning lockdep off only removes reports; its effect shows with zap-lock=read (seed-race-read-zap, read-zap-two-gfns)",
  "old-spte-refresh": "upstream-6.19 already has the stale value (off); refreshing cannot break anything",
  "spt-free": "both values reclaim before freeing and never reuse the page; the difference is when the host gets it back",
  pinning: "pinning only turns a freed-while-mapped page into a leaked one; it cannot cause a violation",
};

describe("ablation from upstream-6.19", () => {
  for (const c of CASES) {
    it(`${c.sw}=${c.value} on ${c.scenario} violates ${c.violated}`, () => {
      const r = checkScenario(SCENARIOS[c.scenario]!, "upstream-6.19", {
        overrides: { [c.sw]: c.value },
        inject: c.inject,
        properties: [c.violated],
        minimize: false,
      });
      expect(r.verdict).toBe(`violated:${c.violated}`);
    });
  }
  it("every switch has an ablation case or a documented reason", () => {
    for (const s of SWITCHES) expect(CASES.some((c) => c.sw === s.id) || s.id in NO_SCENARIO).toBe(true);
  });
});
