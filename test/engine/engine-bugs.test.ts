// Minimal reproductions of engine bugs found by the differential tests. Each is skipped until the
// engine is fixed; unskip it then. Each compares a reduction with plain exhaustive enumeration (or
// with the known answer when plain enumeration itself is wrong).
import { describe, expect, it } from "vitest";
import { explore } from "../../src/engine/index.js";
import { mutualSpin, politeSpin } from "../../src/examples/classic.js";
import { build, type ProgDesc } from "./gen.js";
import { cache, dpor, plain, run, sleep } from "./helpers.js";

const k = (c: number) => ({ c, last: false });

/** T0: load a; assert(a != 0) (fails: a is 0).   T1: store b = 1.   Invariant: b != 1. */
const FATAL_MASKS_VIOLATION: ProgDesc = {
  cells: 2,
  threads: [[{ k: "load", cell: 0 }, { k: "assert", ne: 0 }], [{ k: "store", cell: 1, v: k(1) }]],
  inv: { cell: 1, cell2: 1, ne: 1 },
};

/** T0: store c = 1; load c; assert(c != 1).   T1: store c = 2.   Completes only if T1 stores between T0's steps. */
const FATAL_HIDES_FINAL_STATE: ProgDesc = {
  cells: 1,
  threads: [[{ k: "store", cell: 0, v: k(1) }, { k: "load", cell: 0 }, { k: "assert", ne: 1 }], [{ k: "store", cell: 0, v: k(2) }]],
};

/** T0: store c = 2; store c = 0.   T1: wait until c == 2.   Completes only if T1 runs between T0's stores. */
const WAIT_DISABLED_AGAIN: ProgDesc = {
  cells: 1,
  threads: [[{ k: "store", cell: 0, v: k(2) }, { k: "store", cell: 0, v: k(0) }], [{ k: "wait", cell: 0, eq: 2 }]],
};

/** T0: do { x = load c } while (x != 1)  (loopHead in the loop).   T1: store c = 1. */
const SPIN_THEN_STORE: ProgDesc = {
  cells: 1,
  threads: [[{ k: "spin", cell: 0, eq: 1 }], [{ k: "store", cell: 0, v: k(1) }]],
};

/** T0: spin until c0 == 1 (nobody writes 1: T0 retries forever).   T1: store c1 = 1 (independent). */
const LONE_SPINNER: ProgDesc = {
  cells: 2,
  threads: [[{ k: "spin", cell: 0, eq: 1 }], [{ k: "store", cell: 1, v: k(1) }]],
};

/** T0 and T1 both spin until c == 1; nobody writes it. Both retry forever: a fair cycle without progress. */
const TWO_SPINNERS: ProgDesc = {
  cells: 1,
  threads: [[{ k: "spin", cell: 0, eq: 1 }], [{ k: "spin", cell: 0, eq: 1 }]],
};

describe("engine bugs (skipped until fixed)", () => {
  // ENGINE BUG: DPOR — a fatal violation (assertion) ends the execution before T1's pending step
  // is analysed for races, so the order "T1 first" is never explored and the step-invariant
  // violation it leads to is not reported. Plain: [assertion, step-invariant]; DPOR: [assertion].
  it.skip("DPOR reports every violated property when one thread's assertion ends executions early", () => {
    const b = build(FATAL_MASKS_VIOLATION);
    expect(run(b, plain).violated).toEqual(["assertion", "step-invariant"]);
    expect(run(b, dpor).violated).toEqual(["assertion", "step-invariant"]);
  });

  // ENGINE BUG: DPOR — same cause: the first execution (T0,T0 → assertion) ends before T1's
  // store runs, no race is seen, and the one complete execution (T0, T1, T0) is never explored.
  // Plain: final state {c=2}; DPOR: no final state (1 execution).
  it.skip("DPOR reaches a final state hidden behind an assertion failure", () => {
    const b = build(FATAL_HIDES_FINAL_STATE);
    const ref = run(b, plain);
    expect(ref.finals).toHaveLength(1);
    expect(run(b, dpor).finals).toEqual(ref.finals);
  });

  // ENGINE BUG: DPOR — a wait-until enabled by one write and disabled again by a later write.
  // DPOR runs T0,T0 and T1 stays blocked (deadlock); T1's wait never executes, so its race with
  // T0's second store is never reversed. Plain: a final state and a deadlock; DPOR: deadlock only.
  it.skip("DPOR explores a wait that another thread enables and then disables", () => {
    const b = build(WAIT_DISABLED_AGAIN);
    const ref = run(b, plain);
    expect(ref.finals).toHaveLength(1);
    expect(ref.violated).toEqual(["deadlock"]);
    const got = run(b, dpor);
    expect(got.finals).toEqual(ref.finals);
    expect(got.violated).toEqual(ref.violated);
  });

  // ENGINE BUG: DPOR — a retry loop whose failed iteration returns to the same state. The first
  // execution is T0's load (0), which closes a cycle and ends the execution; with no race seen,
  // T1 is never scheduled. Plain: final state {c=1}; DPOR: 1 execution, no final state.
  it.skip("DPOR explores past a retry loop that closes a cycle", () => {
    const b = build(SPIN_THEN_STORE);
    const ref = run(b, plain);
    expect(ref.finals).toHaveLength(1);
    expect(run(b, dpor).finals).toEqual(ref.finals);
  });

  // ENGINE BUG (documented limitation, docs/design.md: only `cache` decides livelock): plain
  // enumeration, sleep sets and DPOR judge only cycles closed on the current path and miss these
  // livelocks, which `cache` finds (classic.test.ts and differential.test.ts check `cache`):
  //  - LONE_SPINNER: once T1 has finished, T0 spins alone forever. Plain and cache: [livelock];
  //    sleep sets: [] (T0 is asleep once T1 ran; its spin before T1 ran was cut as an unfair
  //    self-loop); DPOR: [] (never schedules T1 at all, see the retry-loop bug above).
  //  - TWO_SPINNERS: both spin forever; each one-step spin closes a cycle that is unfair to the
  //    other spinner and is cut, so the fair two-thread cycle is never formed. Cache: [livelock];
  //    plain, sleep sets, DPOR: [].
  //  - polite-spin: plain and cache find the livelock; DPOR says "verified".
  //  - mutual-spin: cache finds it; plain and DPOR say "verified".
  it.skip("every exhaustive strategy reports the livelocks state caching reports", () => {
    for (const d of [LONE_SPINNER, TWO_SPINNERS]) {
      const b = build(d);
      expect(run(b, cache).violated).toEqual(["livelock"]);
      for (const f of [plain, sleep, dpor]) expect(run(b, f).violated).toEqual(["livelock"]);
    }
    for (const make of [politeSpin, mutualSpin])
      for (const strategy of ["exhaustive", "dpor", "cache"] as const)
        expect(explore(make(), { strategy }).violations.map((v) => v.property)).toEqual(["livelock"]);
  });

  // ENGINE BUG: sleep sets do not preserve per-step invariants over several objects either, and
  // lose final states with them (the violation ends executions). T0: c1 = 1. T1: c0 = 0.
  // T2: xchg c0 = 2; xchg c0 = 0. T3: wait c0 == 0. Invariant: c0 + c1 != 3. Plain: final
  // states {T2 read 0,0} and {T2 read 0,2} plus [step-invariant]; sleep sets: no final state
  // (T0 explored first always ends in the violation; in the other branches T0 stays asleep
  // because its store to c1 is "independent" of everything, though the invariant reads c1).
  it.skip("sleep sets preserve a per-step invariant over two cells and the final states behind it", () => {
    const b = build({
      cells: 2,
      threads: [
        [{ k: "store", cell: 1, v: k(1) }],
        [{ k: "store", cell: 0, v: k(0) }],
        [{ k: "xchg", cell: 0, v: k(2) }, { k: "xchg", cell: 0, v: k(0) }],
        [{ k: "wait", cell: 0, eq: 0 }],
      ],
      inv: { cell: 0, cell2: 1, ne: 3 },
    });
    const ref = run(b, plain);
    expect(ref.finals).toHaveLength(2);
    expect(ref.violated).toEqual(["step-invariant"]);
    const got = run(b, sleep);
    expect(got.finals).toEqual(ref.finals);
    expect(got.violated).toEqual(ref.violated);
  });

  // ENGINE BUG: DPOR does not preserve per-step invariants over several objects. T0: x=1; x=0.
  // T1: y=1; y=0. Invariant x+y != 2 is violated only when both are 1 at once, a state DPOR
  // never visits (it explores one interleaving of these independent threads). Plain:
  // [step-invariant]; DPOR: []. (The invariant's reads are not part of any step's footprint.)
  it.skip("DPOR preserves a per-step invariant over two cells", () => {
    const b = build({
      cells: 2,
      threads: [
        [{ k: "store", cell: 0, v: k(1) }, { k: "store", cell: 0, v: k(0) }],
        [{ k: "store", cell: 1, v: k(1) }, { k: "store", cell: 1, v: k(0) }],
      ],
      inv: { cell: 0, cell2: 1, ne: 2 },
    });
    expect(run(b, plain).violated).toEqual(["step-invariant"]);
    expect(run(b, dpor).violated).toEqual(["step-invariant"]);
  });
});
