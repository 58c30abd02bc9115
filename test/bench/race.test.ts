// Verdicts of the benchmark family (bench/race.ts) at small sizes. No timings are asserted here.
import { describe, expect, it } from "vitest";
import { dporExplore, exhaustiveExplore, type ExploreResult } from "../../src/engine/index.js";
import { EXPECTED, RACE_MODELS, raceModel, safetyOnly, type RaceModel } from "../../bench/race.js";

const STRATEGIES: Record<string, (model: RaceModel, n: number, m: number) => ExploreResult> = {
  dpor: (model, n, m) => dporExplore(raceModel(model, n, m)),
  cache: (model, n, m) => exhaustiveExplore(raceModel(model, n, m), { stateCaching: true }),
  "cache-safety": (model, n, m) => {
    const p = raceModel(model, n, m);
    return exhaustiveExplore(p, safetyOnly(p));
  },
};

describe("race benchmark models", () => {
  for (const model of RACE_MODELS)
    for (const [n, m] of [[2, 1], [2, 2]] as const)
      for (const [name, run] of Object.entries(STRATEGIES))
        it(`${model} ${n}x${m} ${name}: ${EXPECTED[model].verdict}${EXPECTED[model].property ? ` (${EXPECTED[model].property})` : ""}`, () => {
          const r = run(model, n, m);
          expect(r.verdict).toBe(EXPECTED[model].verdict);
          if (EXPECTED[model].property) expect(r.violations.map((v) => v.property)).toContain(EXPECTED[model].property);
          else expect(r.violations).toEqual([]);
        });

  it("cache-safety (the row beside SPIN) stores exactly cache's states, with fewer executions, and does not judge livelock", () => {
    for (const [n, m] of [[2, 4], [3, 3]] as const) {
      const p = raceModel("race-fixed", n, m);
      const full = exhaustiveExplore(p, { stateCaching: true });
      const safe = exhaustiveExplore(p, safetyOnly(p));
      expect(safe.verdict).toBe("verified");
      expect(safe.stats.statesStored).toBe(full.stats.statesStored);
      expect(safe.stats.executions).toBeLessThan(full.stats.executions);
      expect(safe.stats.sleepPruned).toBeGreaterThan(0);
      expect(safetyOnly(p).properties).not.toContain("livelock");
      expect(safetyOnly(p).properties).toEqual(expect.arrayContaining(["assertion", "deadlock", "mirror-equals-sept"]));
    }
  });

  it("plain enumeration agrees on race-fixed 2x1 (every interleaving, retries cut as cycles)", () => {
    const r = exhaustiveExplore(raceModel("race-fixed", 2, 1));
    expect(r.verdict).toBe("verified");
    expect(r.stats.complete).toBeGreaterThan(0);
  });

  it("race-fixed exercises the BUSY path and both outcomes of the cmpxchg (not vacuous)", () => {
    const r = exhaustiveExplore(raceModel("race-fixed", 2, 1), { stateCaching: true });
    expect(r.coverage).toEqual(expect.arrayContaining([
      "CAS(mirror[s], old -> FROZEN)", "SEAMCALL: ok | TDX_OPERAND_BUSY", "mirror[s] = old (BUSY: unfreeze)", "sept[s] = nv (SEAMCALL ok)", "mirror[s] = nv (publish)",
    ]));
  });

  it("the quiescent variant reports the window-closing step, before the end", () => {
    const end = dporExplore(raceModel("race", 2, 2)).violations[0]!;
    const q = dporExplore(raceModel("race-quiescent", 2, 2)).violations[0]!;
    expect(q.steps.length).toBeLessThan(end.steps.length);
  });
});
