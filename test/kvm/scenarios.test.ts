import { describe, expect, it } from "vitest";
import { checkScenario, DEFAULT_PRESET, SCENARIOS } from "../../src/kvm/index.js";

// Every built-in scenario has its expected verdict on the default preset; a "verified" one is
// exhaustive and reaches its witnesses.
describe(`built-in scenarios on ${DEFAULT_PRESET}`, () => {
  for (const [name, sc] of Object.entries(SCENARIOS)) {
    it(name, () => {
      const r = checkScenario(sc, DEFAULT_PRESET, { minimize: false });
      if (sc.expected[DEFAULT_PRESET] === "verified") {
        expect(r.result.exhaustive).toBe(true);
        expect(r.missingWitnesses).toEqual([]);
      }
      expect(r.verdict).toBe(r.expected);
      expect(r.ok).toBe(true);
    });
  }
});

// Expected verdicts on the other presets (only the fast ones run here; the CLI runs them all).
describe("expected verdicts on historical presets", () => {
  const cases: [string, string][] = [
    ["two-gfns-unlinked-table", "seed"],
    ["memslot-delete-vs-fault", "upstream-6.16"],
    ["two-vcpus-same-gfn", "v11"],
    ["fault-vs-punch-hole", "v11"],
  ];
  for (const [name, preset] of cases) {
    it(`${name} on ${preset}`, () => {
      const r = checkScenario(SCENARIOS[name]!, preset, { minimize: false });
      expect(r.verdict).toBe(r.expected);
    });
  }
  it("two-gfns-unlinked-table on seed: the child AUG finds the parent S-EPT table missing", () => {
    const r = checkScenario(SCENARIOS["two-gfns-unlinked-table"]!, "seed");
    expect(r.counterexample!.message).toMatch(/TDH.MEM.PAGE.AUG TDX_EPT_WALK_FAILED/);
  });
});
