// Fusion of scheduling points (src/engine/fusion.ts) is sound: on random programs with locks,
// try-locks, a reader-writer lock, waits, retry loops, choices, assertions, invariants and critical
// windows, every strategy that fuses reaches the final states and violates the properties that plain
// enumeration without fusion does, and its counterexamples replay (replay never fuses). A fusion
// that is deliberately unsound is caught by the same comparison.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boundedExplore, exhaustiveExplore, randomExplore, type ExploreResult } from "../../src/engine/index.js";
import { build, progArb, type Built, type GenOptions, type ProgDesc } from "./gen.js";
import { plain, replaysAll, run } from "./helpers.js";

const SEED = 20261203;

const fusedPlain = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true });
const fusedCache = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, stateCaching: true });
/** Without the learning walks: the search learns sharing itself and starts again (fusion.ts). */
const fusedCacheNoLearning = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, stateCaching: true, fusionLearning: false });
const unfusedCache = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, stateCaching: true, fusion: false });
const broken = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, unsoundFusionForTests: true });

/** `reduced` against plain enumeration without fusion: same finals, same violated properties, replays. */
function same(b: Built, reduced: (b: Built) => ExploreResult, ignore: readonly string[] = []): ExploreResult {
  const ref = run(b, plain, ignore);
  expect(ref.result.exhaustive).toBe(true);
  const got = run(b, reduced, ignore);
  expect(got.result.exhaustive).toBe(true);
  expect(got.finals).toEqual(ref.finals);
  expect(got.violated).toEqual(ref.violated);
  replaysAll(b.program, got.result);
  return got.result;
}

/** Half the programs with every object shared as generated, half with one copy of every object per thread (private objects). */
function both(d: ProgDesc, f: (b: Built) => void): void {
  f(build(d));
  f(build(d, true));
}

describe("fusion against plain enumeration without fusion", () => {
  it("plain enumeration and state caching with fusion: locks, try-locks, rwlock, waits, choices, assertions, invariant", () => {
    const opts: GenOptions = { invTwoCells: true };
    fc.assert(fc.property(progArb(opts), (d) => both(d, (b) => { same(b, fusedPlain); same(b, fusedCache); same(b, fusedCacheNoLearning); })), { numRuns: 250, seed: SEED });
  });

  it("retry loops (loop heads): plain enumeration and state caching with fusion", () => {
    // Plain enumeration does not decide livelock (docs/design.md): livelock is compared in the next test.
    fc.assert(fc.property(progArb({ spin: true }), (d) => both(d, (b) => { same(b, fusedPlain, ["livelock"]); same(b, fusedCache, ["livelock"]); })), { numRuns: 250, seed: SEED + 1 });
  });

  it("critical windows and a quiescent invariant", () => {
    fc.assert(fc.property(progArb({ quiescent: true }), (d) => both(d, (b) => { same(b, fusedPlain); same(b, fusedCache); })), { numRuns: 200, seed: SEED + 2 });
  });

  it("fusion on and off agree with each other under state caching (retry loops, livelock verdicts compared)", () => {
    fc.assert(
      fc.property(progArb({ spin: true }), (d) =>
        both(d, (b) => {
          const on = run(b, fusedCache);
          const off = run(b, unfusedCache);
          expect(on.finals).toEqual(off.finals);
          expect(on.violated).toEqual(off.violated);
        }),
      ),
      { numRuns: 200, seed: SEED + 3 },
    );
  });

  it("bounded and random walk with fusion never report what plain enumeration does not reach", () => {
    fc.assert(
      fc.property(progArb({ spin: true }), (d) =>
        both(d, (b) => {
          const ref = run(b, plain, ["livelock"]);
          for (const f of [(x: Built) => boundedExplore(x.program, 2, { allViolations: true }), (x: Built) => randomExplore(x.program, { allViolations: true, seed: 7, maxExecutions: 50 })]) {
            const got = run(b, f, ["livelock"]);
            replaysAll(b.program, got.result);
            for (const x of got.finals) expect(ref.finals).toContain(x);
            for (const v of got.violated) expect(ref.violated).toContain(v);
          }
        }),
      ),
      { numRuns: 150, seed: SEED + 4 },
    );
  });

  it("fusion really fuses, learns which objects are shared (starting again), and stores fewer states", () => {
    const ds = fc.sample(progArb({ invTwoCells: true }), { numRuns: 150, seed: SEED + 5 });
    let fused = 0;
    let restarts = 0;
    let fewer = 0;
    for (const d of ds)
      both(d, (b) => {
        const on = fusedCacheNoLearning(b).stats;
        const off = unfusedCache(b).stats;
        if (on.fusedSteps > 0) fused++;
        if (on.fusionRestarts > 0) restarts++;
        if (on.statesStored < off.statesStored) fewer++;
        expect(on.statesStored).toBeLessThanOrEqual(off.statesStored);
      });
    expect(fused).toBeGreaterThan(100);
    expect(restarts).toBeGreaterThan(3);
    expect(fewer).toBeGreaterThan(50);
  });

  it("the comparison has teeth: a fusion that fuses across steps other threads see is caught within 10 programs (8 of 60 here)", () => {
    const ds = fc.sample(progArb({ invTwoCells: true }), { numRuns: 60, seed: SEED + 6 });
    const caught: number[] = [];
    ds.forEach((d, i) => {
      const b = build(d);
      const ref = run(b, plain);
      const got = run(b, broken);
      if (JSON.stringify(got.finals) !== JSON.stringify(ref.finals) || JSON.stringify(got.violated) !== JSON.stringify(ref.violated)) caught.push(i);
    });
    expect(caught[0]).toBeLessThan(10);
    expect(caught.length).toBeGreaterThanOrEqual(5);
  });
});
