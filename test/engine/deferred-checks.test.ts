// The stateful search runs a step's invariant checks only when the step ends in a new state
// (Execution.deferChecks; docs/design.md "Per-state cost"). A stored state passed its checks when
// it was first reached, so the search must give exactly what checking every step gives: same
// verdict, counterexamples and statistics. That holds only if the initial states satisfy every
// invariant (else a stored state may violate a quiescent invariant nobody checked yet), which the
// search tests; a variant without that test must be caught.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Atomic, choose, defineProgram, exhaustiveExplore, type ExploreResult, type Op, type Program, type ThreadApi } from "../../src/engine/index.js";
import { build, progArb } from "./gen.js";
import { timeless } from "./helpers.js";

const SEED = 0x0def3;

function outcome(r: ExploreResult): unknown {
  return { verdict: r.verdict, violations: r.violations.map((v) => [v.property, v.message, v.schedule]), stats: timeless(r.stats) };
}

/**
 * T0: load y; then (a root choice) load x or store x = 0; loop head (both ways meet in one local
 * state); store y = 1. Quiescent invariant on x: x != 0, violated from the start, checked only
 * when a step writes x. The first way stores the state after `load x` unchecked; the second way's
 * `store x = 0` reaches that same state, and only its check reports the violation.
 */
function violatedFromTheStart(): Program {
  return defineProgram("violated-from-the-start", (w) => {
    const x = new Atomic(w, "x", 0);
    const y = new Atomic(w, "y", 0);
    const body = function* (t: ThreadApi): Generator<Op, void, number> {
      const way = yield choose(2, "load or store x");
      yield y.load("load y");
      if (way === 0) yield x.load("load x");
      else yield x.store(0, "store x = 0");
      t.loopHead("joined");
      yield y.store(1, "store y = 1");
    };
    return {
      threads: [{ name: "T0", body }],
      quiescent: [
        {
          name: "x-nonzero",
          keys: [0],
          objsOf: () => [x.id],
          check: () => (x.peek() === 0 ? "x is 0" : null),
        },
      ],
    };
  });
}

describe("invariant checks deferred to new states (state caching)", () => {
  it("random programs with invariants, quiescent invariants and windows: same verdict, counterexamples and statistics as checking every step", () => {
    let violatedRuns = 0;
    fc.assert(
      fc.property(progArb({ quiescent: true, invTwoCells: true, spin: true }), (d) => {
        // A program each (a program's record of thread code is shared by its runs: replaySteps).
        const deferred = exhaustiveExplore(build(d).program, { stateCaching: true });
        const immediate = exhaustiveExplore(build(d).program, { stateCaching: true, deferredChecksForTests: "immediate" });
        expect(outcome(deferred)).toEqual(outcome(immediate));
        if (deferred.verdict === "violated") violatedRuns++;
      }),
      { numRuns: 300, seed: SEED },
    );
    // The comparison covers violations, not only verified programs.
    expect(violatedRuns).toBeGreaterThan(30);
  });

  it("random programs whose invariants may be false from the start (initial values) with freeze/restore loops: deferred = immediate; without the initial test caught within 30 programs", () => {
    // A retry loop's restore writes a cell back and returns to its loop head, a state stored before
    // without a check of that cell (no step had written it): a quiescent invariant false from the
    // start is reported there only by checking every step, unless the initial state is tested.
    // (At the commit that added it the broken variant differed at the 5th, 12th and 47th of these
    // 120 programs; 5 of 300.)
    const samples = fc.sample(progArb({ quiescent: true, invTwoCells: true, retry: true, initValues: true }), { numRuns: 120, seed: SEED });
    let caughtAt = -1;
    let violatedRuns = 0;
    samples.forEach((d, i) => {
      const immediate = outcome(exhaustiveExplore(build(d).program, { stateCaching: true, deferredChecksForTests: "immediate" }));
      const deferred = exhaustiveExplore(build(d).program, { stateCaching: true });
      expect(outcome(deferred)).toEqual(immediate);
      if (deferred.verdict === "violated") violatedRuns++;
      if (caughtAt < 0 && JSON.stringify(outcome(exhaustiveExplore(build(d).program, { stateCaching: true, deferredChecksForTests: "no-initial-test" }))) !== JSON.stringify(immediate)) caughtAt = i;
    });
    expect(violatedRuns).toBeGreaterThan(20);
    expect(caughtAt).toBeGreaterThanOrEqual(0);
    expect(caughtAt).toBeLessThan(30);
  });

  it("an invariant violated in the initial state is still reported where checking every step reports it; without the initial test it is missed", () => {
    // Without fusion: each op its own step (a fused first step would be checked at once anyway).
    const immediate = exhaustiveExplore(violatedFromTheStart(), { stateCaching: true, fusion: false, deferredChecksForTests: "immediate" });
    expect(immediate.verdict).toBe("violated");
    expect(immediate.violations[0]!.property).toBe("x-nonzero");
    expect(outcome(exhaustiveExplore(violatedFromTheStart(), { stateCaching: true, fusion: false }))).toEqual(outcome(immediate));
    const broken = exhaustiveExplore(violatedFromTheStart(), { stateCaching: true, fusion: false, deferredChecksForTests: "no-initial-test" });
    expect(broken.verdict).toBe("verified");
  });

  it("checks fewer states: a state found again is not checked again", () => {
    // Two threads each store to their own cell twice (invariant read on every step): the
    // interleavings meet in stored states.
    const count = (mode: "immediate" | undefined): number => {
      let n = 0;
      const p = defineProgram("two-writers", (w) => {
        const a = new Atomic(w, "a", 1);
        const b = new Atomic(w, "b", 1);
        const writer = (c: Atomic) =>
          function* (): Generator<Op, void, number> {
            yield c.store(2, "store 2");
            yield c.store(3, "store 3");
          };
        return {
          threads: [
            { name: "A", body: writer(a) },
            { name: "B", body: writer(b) },
          ],
          invariants: [{ name: "positive", check: () => (n++, a.peek() > 0 && b.peek() > 0 ? null : "not positive") }],
        };
      });
      const r = exhaustiveExplore(p, { stateCaching: true, fusion: false, ...(mode ? { deferredChecksForTests: mode } : {}) });
      expect(r.verdict).toBe("verified");
      return n;
    };
    const immediate = count("immediate");
    const deferred = count(undefined);
    // 3 x 3 states; 12 steps between them, 8 of them reach a new state (the initial test reads it once more).
    expect(immediate).toBe(12);
    expect(deferred).toBe(9);
  });
});
