// DPOR against an oracle: the number of Mazurkiewicz traces of a program's complete executions
// (plain enumeration + Foata normal form, traces.ts). DPOR must explore exactly one complete
// execution per trace, and almost never an execution that ends blocked by its sleep set.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Atomic, SpinLock, defineProgram, dporExplore, type Op, type Program } from "../../src/engine/index.js";
import { dporExploreBroken } from "../../src/engine/schedulers/dpor.js";
import { build, progArb, type GenOptions } from "./gen.js";
import { countTraces } from "./traces.js";

const SEED = 20261203;
/** Locks, rwlock, try-locks, waits, CAS, xchg; no choices (one trace per schedule class), no fatal checks. */
const ORACLE: GenOptions = { choices: false, fatal: false };

/** x = 0; T1 x := 1; T2 and T3 each an op on x that never writes (x never holds 5). */
function readersOfX(kind: "cas" | "rmw"): Program {
  return defineProgram(`three-${kind}`, (w) => {
    const x = new Atomic(w, "x", 0);
    const noWrite = (v: number): Op => (kind === "cas" ? x.cmpxchg(5, v) : x.rmw((old) => (old === 5 ? v : old)));
    return {
      threads: [
        { name: "T1", body: function* (): Generator<Op, void, number> { yield x.store(1); } },
        { name: "T2", body: function* (): Generator<Op, void, number> { yield noWrite(6); } },
        { name: "T3", body: function* (): Generator<Op, void, number> { yield noWrite(7); } },
      ],
    };
  });
}

/** k disjoint copies of P_i: lock L_i; y_i := 1; unlock L_i and Q_i: z_i := 1; lock L_i; unlock L_i. */
function lockPairs(k: number): Program {
  return defineProgram(`lock-pairs-${k}`, (w) => {
    const threads = [];
    for (let i = 0; i < k; i++) {
      const L = new SpinLock(w, `L${i}`);
      const y = new Atomic(w, `y${i}`);
      const z = new Atomic(w, `z${i}`);
      threads.push({ name: `P${i}`, body: function* (): Generator<Op, void, number> { yield L.lock(); yield y.store(1); yield L.unlock(); } });
      threads.push({ name: `Q${i}`, body: function* (): Generator<Op, void, number> { yield z.store(1); yield L.lock(); yield L.unlock(); } });
    }
    return { threads };
  });
}

describe("optimal DPOR", () => {
  it("a failing compare-exchange and an RMW that changes nothing are reads: 4 traces, 4 executions", () => {
    for (const kind of ["cas", "rmw"] as const) {
      const p = readersOfX(kind);
      expect(countTraces(p).traces).toBe(4);
      const r = dporExplore(p, { allViolations: true });
      expect(r.stats.complete).toBe(4);
      expect(r.stats.executions).toBe(4);
    }
  });

  it("an unlock and a later lock are never co-enabled: k disjoint lock pairs give 2^k executions, none blocked", () => {
    for (let k = 1; k <= 5; k++) {
      const r = dporExplore(lockPairs(k), { allViolations: true });
      expect(r.stats.complete).toBe(2 ** k);
      expect(r.stats.sleepPruned).toBe(0);
      expect(r.stats.executions).toBe(2 ** k);
    }
    expect(countTraces(lockPairs(1)).traces).toBe(2);
  });

  it("complete executions = Mazurkiewicz traces on random programs with locks, waits and CAS; sleep-set-blocked ≤ complete", () => {
    let reduced = 0;
    let blocked = 0;
    let complete = 0;
    fc.assert(
      fc.property(progArb(ORACLE), (d) => {
        const b = build(d);
        const o = countTraces(b.program);
        const r = dporExplore(b.program, { allViolations: true });
        expect(r.exhaustive).toBe(true);
        expect(r.stats.complete).toBe(o.traces);
        // Where every execution deadlocks there is no complete one to compare with: then bounded by the deadlocked ones.
        if (r.stats.complete > 0) expect(r.stats.sleepPruned).toBeLessThanOrEqual(r.stats.complete);
        else expect(r.stats.sleepPruned).toBeLessThanOrEqual(r.stats.blocked);
        if (o.traces < o.interleavings) reduced++;
        blocked += r.stats.sleepPruned;
        complete += r.stats.complete;
      }),
      { numRuns: 500, seed: SEED },
    );
    // The programs are not trivial: most have fewer traces than interleavings.
    expect(reduced).toBeGreaterThan(150);
    expect(blocked).toBeLessThan(complete / 20);
  });

  for (const fault of ["lost-wakeup", "irreversible-waits"] as const) {
    it(`the oracle has teeth: DPOR with a ${fault} fault is caught within 20 random programs`, () => {
      const ds = fc.sample(progArb(ORACLE), { numRuns: 20, seed: SEED });
      const caught = ds.findIndex((d) => {
        const b = build(d);
        return dporExploreBroken(b.program, fault, { allViolations: true }).stats.complete !== countTraces(b.program).traces;
      });
      expect(caught).toBeGreaterThanOrEqual(0);
    });
  }
});
