// DPOR with await loops (docs/design.md, "Retry loops in DPOR"): a retry-loop iteration with no
// net effect parks its thread. Differential against plain enumeration on random programs with
// freeze/restore retry loops and spin loops, and a deliberately broken variant that must be caught.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Atomic, defineProgram, dporExplore, exhaustiveExplore, type Op, type ThreadApi } from "../../src/engine/index.js";
import { dporExploreBroken } from "../../src/engine/schedulers/dpor.js";
import { build, progArb, type Built, type GenOptions, type ProgDesc } from "./gen.js";
import { plain, replaysAll, run } from "./helpers.js";

const SEED = 20261204;
/** Retry loops of both shapes among every other feature (locks, waits, CAS, choices, checks). */
const RETRY: GenOptions = { retry: true, spin: true };
const dporAwait = (b: Built) => dporExplore(b.program, { allViolations: true });
/** Executions of the busy-retry program for k = 1..5, with and without await loops (measured at the commit that added them). */
const WITH = [5, 7, 9, 11, 13];
const WITHOUT = [9, 18, 35, 68, 133];

describe("DPOR with await loops", () => {
  it("same final states, violated safety properties and deadlocks as plain enumeration (600 random programs with retry loops)", () => {
    let parks = 0;
    let fewer = 0;
    fc.assert(
      fc.property(progArb(RETRY), (d) => {
        const b = build(d);
        const ref = run(b, plain, ["livelock"]);
        expect(ref.result.exhaustive).toBe(true);
        const got = run(b, dporAwait, ["livelock"]);
        expect(got.result.exhaustive).toBe(true);
        expect(got.finals).toEqual(ref.finals);
        expect(got.violated).toEqual(ref.violated);
        replaysAll(b.program, got.result);
        parks += got.result.stats.awaits!;
        const without = dporExplore(b.program, { allViolations: true, awaitLoops: false });
        if (got.result.stats.executions < without.stats.executions) fewer++;
      }),
      { numRuns: 600, seed: SEED },
    );
    // The programs exercise the reduction: iterations are parked, and executions saved.
    expect(parks).toBeGreaterThan(300);
    expect(fewer).toBeGreaterThan(50);
  });

  it("a freeze -> busy -> restore -> retry loop against a lock holder: linear in the holder's steps with await loops, exponential without", () => {
    // The holder takes L, bumps an epoch k times, and releases L. The retrier freezes x, reads L
    // and the epoch (as a SEAMCALL reads the TD epoch), and on "busy" restores x and retries.
    // Each failed iteration reads the epoch, so without await loops a failed iteration in any
    // subset of the gaps between the holder's bumps is a different trace; with them the first
    // failed iteration parks the retrier, and only where it starts matters.
    const prog = (k: number) =>
      defineProgram(`busy-retry-${k}`, (w) => {
        const L = new Atomic(w, "L", 0);
        const x = new Atomic(w, "x", 0);
        const epoch = new Atomic(w, "epoch", 0);
        return {
          threads: [
            {
              name: "holder",
              body: function* (): Generator<Op, void, number> {
                yield L.store(1);
                for (let j = 1; j <= k; j++) yield epoch.store(j);
                yield L.store(0);
              },
            },
            {
              name: "retrier",
              body: function* (t: ThreadApi): Generator<Op, void, number> {
                for (;;) {
                  t.loopHead("retry");
                  yield x.store(1); // freeze
                  const busy = yield L.load();
                  yield epoch.load();
                  if (busy === 0) break;
                  yield x.store(0); // restore
                }
                yield x.store(2);
              },
            },
          ],
        };
      });
    const counts = [1, 2, 3, 4, 5].map((k) => {
      const p = prog(k);
      const a = dporExplore(p, { allViolations: true });
      const b = dporExplore(p, { allViolations: true, awaitLoops: false });
      expect(a.exhaustive && b.exhaustive).toBe(true);
      expect(a.verdict).toBe("verified");
      return [a.stats.executions, b.stats.executions];
    });
    expect(counts.map((c) => c[0])).toEqual(WITH);
    expect(counts.map((c) => c[1])).toEqual(WITHOUT);
  });

  it("the harness has teeth: parking an iteration whose intermediate value another thread saw is caught within 20 random programs", () => {
    // Thread 0 starts with a freeze/restore retry loop on c0 (committing when c1 == 1); the rest is random.
    const arb = progArb({ waits: false, choices: false, fatal: false, maxThreads: 3, maxCells: 3, maxTotal: 9 }).map(
      (d): ProgDesc => ({ ...d, cells: Math.max(2, d.cells), threads: [[{ k: "retry", cell: 0, exp: 0, other: 1, eq: 1, v: { c: 2, last: false } }, ...d.threads[0]!], ...d.threads.slice(1)] }),
    );
    const ds = fc.sample(arb, { numRuns: 20, seed: SEED + 1 });
    const caught = ds.filter((d) => {
      const b = build(d);
      const ref = run(b, plain, ["livelock"]);
      const good = run(b, dporAwait, ["livelock"]);
      expect([good.finals, good.violated]).toEqual([ref.finals, ref.violated]);
      const bad = run(b, (x) => dporExploreBroken(x.program, "observed-iteration", { allViolations: true }), ["livelock"]);
      return JSON.stringify([bad.finals, bad.violated]) !== JSON.stringify([ref.finals, ref.violated]);
    }).length;
    expect(caught).toBeGreaterThan(0);
  });

  it("the harness has teeth: parking an iteration although another thread read a value it wrote (not the value from before it) is caught within 40 random programs", () => {
    // As above; the check that lets a read of the value from before the iteration pass is
    // replaced by one that lets every read pass ("read-any-value").
    const arb = progArb({ waits: false, choices: false, fatal: false, maxThreads: 3, maxCells: 3, maxTotal: 9 }).map(
      (d): ProgDesc => ({ ...d, cells: Math.max(2, d.cells), threads: [[{ k: "retry", cell: 0, exp: 0, other: 1, eq: 1, v: { c: 2, last: false } }, ...d.threads[0]!], ...d.threads.slice(1)] }),
    );
    const ds = fc.sample(arb, { numRuns: 40, seed: SEED + 3 });
    const caught = ds.filter((d) => {
      const b = build(d);
      const ref = run(b, plain, ["livelock"]);
      const bad = run(b, (x) => dporExploreBroken(x.program, "read-any-value", { allViolations: true }), ["livelock"]);
      return JSON.stringify([bad.finals, bad.violated]) !== JSON.stringify([ref.finals, ref.violated]);
    }).length;
    // 5 of the 40 at the commit that added this.
    expect(caught).toBeGreaterThan(0);
  });

  it("plain enumeration is the reference: it never parks", () => {
    const d = fc.sample(progArb(RETRY), { numRuns: 1, seed: SEED + 2 })[0]!;
    expect(exhaustiveExplore(build(d).program, { allViolations: true, fusion: false }).stats.awaits).toBeUndefined();
  });
});
