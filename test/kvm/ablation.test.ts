import { describe, expect, it } from "vitest";
import { ABLATION_PRESET, ABLATIONS, noVerdictChangeReason } from "../../src/kvm/ablations.js";
import { checkScenario, PRESETS, SCENARIOS, SWITCHES } from "../../src/kvm/index.js";

// Ablation from upstream-6.19: one switch at a time set to another value, on a built-in scenario
// whose verdict then flips (src/kvm/ablations.ts). Values no built-in scenario can show carry a
// reason (NO_VERDICT_CHANGE), which `tdxmc explain` and `tdxmc ablate` print.
describe("ablation from upstream-6.19", () => {
  for (const c of ABLATIONS) {
    it(`${c.switch}=${c.value} on ${c.scenario} violates ${c.violated}`, () => {
      const sc = SCENARIOS[c.scenario]!;
      const preset = c.preset ?? ABLATION_PRESET;
      // The defense in place: the scenario's expected verdict on the preset is "verified" (with the
      // row's other switches, the run that shows it).
      if (c.with) expect(checkScenario(sc, preset, { overrides: c.with, inject: c.inject, minimize: false }).verdict).toBe("verified");
      else expect(sc.expected[preset]).toBe("verified");
      const r = checkScenario(sc, preset, {
        overrides: { ...(c.with ?? {}), [c.switch]: c.value },
        inject: c.inject,
        properties: [c.violated],
        minimize: false,
      });
      expect(r.verdict).toBe(`violated:${c.violated}`);
    });
  }
  it("every value of every switch other than the preset's has an ablation row or a documented reason", () => {
    for (const s of SWITCHES)
      for (const v of s.values) {
        if (v.value === PRESETS[ABLATION_PRESET]!.values[s.id]) continue;
        const row = ABLATIONS.some((a) => a.switch === s.id && a.value === v.value);
        expect(row || noVerdictChangeReason(s.id, v.value) !== undefined, `${s.id}=${v.value}`).toBe(true);
      }
  });
});
