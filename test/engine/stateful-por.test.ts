// Partial-order reduction in the stateful search: sleep sets stored with states (Godefroid 1996,
// ch. 5). Every state is still visited (the state count equals the unreduced search's), fewer
// transitions are taken, and final states and violated properties equal plain enumeration's.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exhaustiveExplore, type ExploreResult, type Program } from "../../src/engine/index.js";
import { dfsExplore } from "../../src/engine/schedulers/dfs.js";
import { build, progArb, type Built, type GenOptions } from "./gen.js";
import { plain, replaysAll, run } from "./helpers.js";

const SEED = 20261204;
/** Every property but livelock (whose fair-cycle analysis needs every edge: POR is off while it is checked). */
const safety = (p: Program): string[] => p.properties.filter((x) => x !== "livelock");
const cachePor = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, stateCaching: true, sleepSets: true, properties: safety(b.program) });
// Without fusion, as the search with sleep sets runs (fusion.ts): the same search but for POR.
const cacheNoPor = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, stateCaching: true, properties: safety(b.program), fusion: false });
const broken = (b: Built): ExploreResult =>
  dfsExplore(b.program, { mode: "exhaustive", sleepSets: true, stateCaching: true, fault: "lost-wakeup" }, { allViolations: true, properties: safety(b.program) });

function differs(b: Built, f: (b: Built) => ExploreResult): boolean {
  const ref = run(b, plain, ["livelock"]);
  const got = run(b, f, ["livelock"]);
  return JSON.stringify(got.finals) !== JSON.stringify(ref.finals) || JSON.stringify(got.violated) !== JSON.stringify(ref.violated);
}

describe("stateful search with sleep sets", () => {
  for (const [name, o] of [
    ["full generator", {}],
    ["retry loops", { spin: true }],
    ["critical windows and a quiescent invariant", { quiescent: true }],
  ] as [string, GenOptions][]) {
    it(`same final states and violated properties as plain enumeration, same states as without POR (${name})`, () => {
      let fewer = 0;
      fc.assert(
        fc.property(progArb(o), (d) => {
          const b = build(d);
          const ref = run(b, plain, ["livelock"]);
          const got = run(b, cachePor, ["livelock"]);
          expect(got.result.exhaustive).toBe(true);
          expect(got.finals).toEqual(ref.finals);
          expect(got.violated).toEqual(ref.violated);
          replaysAll(b.program, got.result);
          const noPor = run(b, cacheNoPor, ["livelock"]).result;
          expect(got.result.stats.statesStored).toBe(noPor.stats.statesStored);
          expect(got.result.stats.steps).toBeLessThanOrEqual(noPor.stats.steps);
          if (got.result.stats.steps < noPor.stats.steps) fewer++;
        }),
        { numRuns: 300, seed: SEED + name.length },
      );
      expect(fewer).toBeGreaterThan(100);
    });
  }

  it("the comparison has teeth: a lost wakeup (a sleeping writer never woken) is caught within 30 programs", () => {
    const ds = fc.sample(progArb({}), { numRuns: 30, seed: SEED });
    const first = ds.findIndex((d) => differs(build(d), broken));
    expect(first).toBeGreaterThanOrEqual(0);
  });
});
