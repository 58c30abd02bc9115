import { describe, expect, it } from "vitest";
import { ABLATION_PRESET, ABLATIONS, cannotMatterReason, noVerdictChangeReason } from "../../src/kvm/ablations.js";
import { checkScenario, PRESETS, SCENARIOS, SWITCHES } from "../../src/kvm/index.js";
import { runAblateCatalogue } from "../../src/cli/ablate.js";
import { runExplain } from "../../src/cli/list.js";

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
  // A value that flips nothing must say why, with its source: a commit id or a Message-ID, or —
  // for a value that is another preset's own — that preset's name (its rows are the preset's).
  // `tdxmc explain SWITCH` and the `tdxmc ablate` catalogue print the reason word for word.
  it("every value without a row cites why it flips nothing, and explain and ablate print it", () => {
    let catalogue = "";
    expect(runAblateCatalogue({}, { out: (x) => (catalogue += x), err: () => {}, tty: false })).toBe(0);
    const cites = /\b[0-9a-f]{12}\b|Message-I[Dd] \S+@\S+/;
    let n = 0;
    for (const s of SWITCHES) {
      let explained = "";
      expect(runExplain(s.id, (x) => (explained += x))).toBe(0);
      for (const v of s.values) {
        if (v.value === PRESETS[ABLATION_PRESET]!.values[s.id] || ABLATIONS.some((a) => a.switch === s.id && a.value === v.value)) continue;
        const reason = cannotMatterReason(s.id, v.value) ?? noVerdictChangeReason(s.id, v.value);
        expect(reason, `${s.id}=${v.value}`).toBeDefined();
        const presetOwn = Object.entries(PRESETS).some(([name, p]) => p.values[s.id] === v.value && reason!.includes(name));
        expect(cites.test(reason!) || presetOwn, `${s.id}=${v.value} cites no commit, Message-ID or preset: ${reason}`).toBe(true);
        expect(explained.includes(reason!), `explain ${s.id} prints the reason for ${v.value}`).toBe(true);
        expect(catalogue.includes(`${s.id}=${v.value}: `) && catalogue.includes(reason!), `ablate prints ${s.id}=${v.value}`).toBe(true);
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(9);
  });
});
