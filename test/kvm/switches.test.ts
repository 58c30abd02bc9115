import { describe, expect, it } from "vitest";
import { CANNOT_MATTER, STATE_SPACE_PROBES } from "../../src/kvm/ablations.js";
import { buildProgram, PRESETS, SCENARIOS, SWITCHES } from "../../src/kvm/index.js";
import { explore } from "../../src/engine/index.js";

// Every value of every switch changes the explored state space of at least one built-in scenario
// (STATE_SPACE_PROBES): exploring the scenario with each value of the switch in turn (the other
// switches at the preset's values) gives pairwise different (states, steps, executions). A value
// that cannot change anything yet is listed in CANNOT_MATTER with the reason, which `tdxmc explain`
// and `tdxmc ablate` print; the test checks that such a value really leaves the space unchanged,
// so the list cannot go stale.
const CAP = 600; // executions per run: a prefix of the exploration is enough to tell spaces apart

function signature(scenario: string, preset: string, overrides: Record<string, string>, inject?: string[]): string {
  const sc = inject ? { ...SCENARIOS[scenario]!, inject } : SCENARIOS[scenario]!;
  const r = explore(buildProgram(sc, preset, overrides), { strategy: "cache", allViolations: true, maxExecutions: CAP });
  const s = r.stats;
  // The states stored and steps taken, and which modelled steps were reached at all.
  let h = 0;
  for (const l of r.coverage) for (let i = 0; i < l.length; i++) h = (Math.imul(h, 31) + l.charCodeAt(i)) | 0;
  return `${s.executions} executions, ${s.statesStored} states, ${s.steps} steps, ${r.coverage.length} labels #${(h >>> 0).toString(16)}`;
}

describe("every switch value changes the explored state space", () => {
  it("every switch has a probe", () => {
    for (const s of SWITCHES) expect(STATE_SPACE_PROBES[s.id], s.id).toBeDefined();
  });
  for (const s of SWITCHES) {
    const probe = STATE_SPACE_PROBES[s.id];
    if (!probe) continue;
    it(`${s.id} on ${probe.scenario} (${probe.preset ?? "upstream-6.19"}${probe.inject ? `, BUSY injected into ${probe.inject.join(", ")}` : ""})`, () => {
      const preset = probe.preset ?? "upstream-6.19";
      expect(PRESETS[preset]).toBeDefined();
      const sigs = new Map<string, string>();
      for (const v of s.values) sigs.set(v.value, signature(probe.scenario, preset, { ...(probe.overrides ?? {}), [s.id]: v.value }, probe.inject));
      for (const a of s.values)
        for (const b of s.values) {
          if (a.value >= b.value) continue;
          const same = sigs.get(a.value) === sigs.get(b.value);
          const listed = CANNOT_MATTER[`${s.id}=${a.value}`] !== undefined || CANNOT_MATTER[`${s.id}=${b.value}`] !== undefined || CANNOT_MATTER[s.id] !== undefined;
          expect(same, `${s.id}: ${a.value} ${sigs.get(a.value)} vs ${b.value} ${sigs.get(b.value)}`).toBe(listed);
        }
    });
  }
});
