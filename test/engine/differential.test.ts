// Differential soundness: on thousands of small random programs, every reduction must reach the
// same final states and violate the same properties as plain exhaustive enumeration.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boundedExplore, dporExplore, exhaustiveExplore, pctExplore, randomExplore, type ExploreResult } from "../../src/engine/index.js";
import { build, progArb, type Built, type GenOptions, type ProgDesc } from "./gen.js";
import { cache, dpor, plain, replaysAll, run, sleep } from "./helpers.js";

const SEED = 20261125;

/** Compare `reduced` against plain enumeration on one program description. */
function same(d: ProgDesc, reduced: (b: Built) => ExploreResult, ignore: readonly string[] = []): void {
  const b = build(d);
  const ref = run(b, plain, ignore);
  expect(ref.result.exhaustive).toBe(true);
  const got = run(b, reduced, ignore);
  expect(got.result.exhaustive).toBe(true);
  expect(got.finals).toEqual(ref.finals);
  expect(got.violated).toEqual(ref.violated);
  replaysAll(b.program, ref.result);
  replaysAll(b.program, got.result);
}

/**
 * Programs with every feature: locks (nested, so deadlocks exist), rwlock, try-locks, waits,
 * choices, assertions, a final check and a per-step invariant over one cell.
 */
const FULL: GenOptions = {};
/** The same with the per-step invariant over two cells. */
const FULL2: GenOptions = { invTwoCells: true };

describe("differential soundness against plain exhaustive enumeration", () => {
  it("the generator produces what it promises (sanity of the test itself)", () => {
    const ds = fc.sample(progArb(FULL), { numRuns: 400, seed: SEED });
    const kinds = new Set(ds.flatMap((d) => JSON.stringify(d.threads).match(/"k":"\w+"/g) ?? []));
    for (const k of ["load", "store", "cas", "xchg", "wait", "waitLoad", "assert", "choose", "if", "lock", "read", "write", "try"])
      expect(kinds).toContain(`"k":"${k}"`);
    for (const d of ds) {
      expect(d.threads.length).toBeGreaterThanOrEqual(2);
      expect(d.threads.length).toBeLessThanOrEqual(4);
      expect(d.cells).toBeGreaterThanOrEqual(1);
      expect(d.cells).toBeLessThanOrEqual(4);
    }
    // Plain enumeration on the sample finds final states, assertion failures and deadlocks.
    const seen = new Set<string>();
    let withFinals = 0;
    for (const d of ds.slice(0, 200)) {
      const o = run(build(d), plain);
      o.violated.forEach((p) => seen.add(p));
      if (o.finals.length > 1) withFinals++;
    }
    expect(seen).toContain("assertion");
    expect(seen).toContain("deadlock");
    expect(seen).toContain("step-invariant");
    expect(seen).toContain("final-check");
    expect(withFinals).toBeGreaterThan(30);
  });

  it("exhaustive + sleep sets: same final states and violated properties (full generator)", () => {
    fc.assert(fc.property(progArb(FULL), (d) => same(d, sleep)), { numRuns: 1000, seed: SEED });
  });

  it("exhaustive + state caching: same final states and violated properties (full generator, two-cell invariant)", () => {
    fc.assert(fc.property(progArb(FULL2), (d) => same(d, cache)), { numRuns: 1000, seed: SEED + 1 });
  });

  it("exhaustive + sleep sets: same final states and violated properties (two-cell invariant)", () => {
    fc.assert(fc.property(progArb(FULL2), (d) => same(d, sleep)), { numRuns: 1000, seed: SEED + 9 });
  });

  it("DPOR: same final states and violated properties (full generator)", () => {
    fc.assert(fc.property(progArb(FULL), (d) => same(d, dpor)), { numRuns: 2500, seed: SEED + 3 });
  });

  it("DPOR: same final states and violated properties (two-cell invariant)", () => {
    fc.assert(fc.property(progArb(FULL2), (d) => same(d, dpor)), { numRuns: 1000, seed: SEED + 10 });
  });

  // ENGINE BUG: DPOR treats an execution cut at a retry loop's cycle as finished and never
  // schedules threads whose pending step commutes with the loop (see engine-bugs.test.ts).
  // Unskip when fixed.
  it("DPOR: retry loops reach the same final states", () => {
    fc.assert(fc.property(progArb({ spin: true, fatal: false, waits: false }), (d) => same(d, dpor, ["livelock"])), { numRuns: 1000, seed: SEED + 11 });
  });

  it("critical windows and a quiescent invariant: sleep sets and caching agree with plain", () => {
    fc.assert(
      fc.property(progArb({ quiescent: true }), (d) => {
        same(d, sleep);
        same(d, cache);
      }),
      { numRuns: 500, seed: SEED + 15 },
    );
  });

  // ENGINE BUG: two DPOR bugs show up here (CAS_SAME_VALUE and QUIESCENT_BEHIND_INVARIANT in
  // engine-bugs.test.ts). Unskip when fixed.
  it("critical windows and a quiescent invariant: DPOR agrees with plain", () => {
    fc.assert(fc.property(progArb({ quiescent: true }), (d) => same(d, dpor)), { numRuns: 2000, seed: SEED + 16 });
  });

  it("retry loops (spin on a load, declared with loopHead): sleep sets and caching reach the same final states", () => {
    // Livelock verdicts differ by design (only `cache` decides livelock): see the next test and engine-bugs.test.ts.
    const opts: GenOptions = { spin: true };
    fc.assert(
      fc.property(progArb(opts), (d) => {
        same(d, sleep, ["livelock"]);
        same(d, cache, ["livelock"]);
      }),
      { numRuns: 600, seed: SEED + 4 },
    );
  });

  it("retry loops: every livelock found by plain enumeration or sleep sets is found by state caching, and replays", () => {
    fc.assert(
      fc.property(progArb({ spin: true }), (d) => {
        const b = build(d);
        const byCache = run(b, cache).result;
        replaysAll(b.program, byCache);
        const cacheLive = byCache.violations.some((v) => v.property === "livelock");
        for (const f of [plain, sleep]) {
          const r = run(b, f).result;
          if (r.violations.some((v) => v.property === "livelock")) expect(cacheLive).toBe(true);
        }
      }),
      { numRuns: 600, seed: SEED + 8 },
    );
  });

  it("DPOR never explores more complete executions than plain enumeration (full generator)", () => {
    fc.assert(
      fc.property(progArb(FULL), (d) => {
        const b = build(d);
        const ref = run(b, plain);
        const got = run(b, dpor);
        expect(got.result.stats.complete).toBeLessThanOrEqual(ref.result.stats.complete);
        expect(got.result.stats.executions).toBeLessThanOrEqual(ref.result.stats.executions);
      }),
      { numRuns: 600, seed: SEED + 5 },
    );
  });

  it("DPOR explores exactly one execution of choice-free programs whose threads touch disjoint objects", () => {
    fc.assert(
      fc.property(progArb({ choices: false }), (d0) => {
        // No per-step invariant: it reads every thread's cells, so threads would not be disjoint.
        const d = { ...d0, inv: undefined };
        const b = build(d, true);
        const ref = run(b, plain);
        // DPOR's own reduction (fusion would make a pending step that may fuse conflict with everything).
        const got = run(b, (x) => dporExplore(x.program, { allViolations: true, fusion: false }));
        // Independent threads: every interleaving that completes ends in the same state.
        expect(ref.finals.length).toBeLessThanOrEqual(1);
        expect(got.result.stats.executions).toBe(1);
        expect(got.result.stats.complete).toBe(ref.result.stats.complete > 0 ? 1 : 0);
        expect(got.finals).toEqual(ref.finals);
        // With at most one fatal check per execution reachable, the one execution shows it.
        if (ref.violated.length <= 1) expect(got.violated).toEqual(ref.violated);
        else expect(ref.violated).toEqual(expect.arrayContaining(got.violated));
      }),
      { numRuns: 600, seed: SEED + 6 },
    );
  });

  it("bounded with a bound above the step count: same as plain when nothing is violated; never a false violation", () => {
    fc.assert(
      fc.property(progArb({ spin: true }), (d) => {
        const b = build(d);
        const ref = run(b, plain, ["livelock"]);
        const got = run(b, (x) => boundedExplore(x.program, 13, { allViolations: true }), ["livelock"]);
        replaysAll(b.program, got.result);
        for (const f of got.finals) expect(ref.finals).toContain(f);
        for (const v of got.violated) expect(ref.violated).toContain(v);
        // bounded stops at the first bound that shows a violation (a livelock included).
        if (ref.result.violations.length === 0) {
          expect(got.finals).toEqual(ref.finals);
          expect(got.result.violations).toEqual([]);
        } else expect(got.result.violations.length).toBeGreaterThan(0);
      }),
      { numRuns: 200, seed: SEED + 13 },
    );
  });

  it("PCT and random walk never report a final state or a violation plain enumeration does not reach", () => {
    fc.assert(
      fc.property(progArb({ spin: true }), fc.integer({ min: 1, max: 1000 }), (d, seed) => {
        const b = build(d);
        const ref = run(b, plain, ["livelock"]);
        for (const f of [
          (x: Built) => pctExplore(x.program, 2, { allViolations: true, seed, maxExecutions: 100 }),
          (x: Built) => randomExplore(x.program, { allViolations: true, seed, maxExecutions: 100 }),
        ]) {
          const got = run(b, f, ["livelock"]);
          replaysAll(b.program, got.result);
          for (const x of got.finals) expect(ref.finals).toContain(x);
          for (const v of got.violated) expect(ref.violated).toContain(v);
        }
      }),
      { numRuns: 300, seed: SEED + 14 },
    );
  });

  it("the comparison has teeth: a 'reduction' that stops after 3 executions is caught", () => {
    const truncated = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, maxExecutions: 3, fusion: false });
    const ds = fc.sample(progArb(FULL), { numRuns: 200, seed: SEED + 12 });
    let caught = 0;
    for (const d of ds) {
      const b = build(d);
      const ref = run(b, plain);
      const got = run(b, truncated);
      if (JSON.stringify(got.finals) !== JSON.stringify(ref.finals) || JSON.stringify(got.violated) !== JSON.stringify(ref.violated)) caught++;
    }
    expect(caught).toBeGreaterThan(50);
  });

  it("a reduction that really reduces: DPOR explores strictly fewer executions on some programs", () => {
    const ds = fc.sample(progArb(FULL), { numRuns: 200, seed: SEED + 7 });
    let fewer = 0;
    for (const d of ds) {
      const b = build(d);
      if (run(b, dpor).result.stats.executions < run(b, plain).result.stats.executions) fewer++;
    }
    expect(fewer).toBeGreaterThan(100);
  });
});
