// Replay and minimization: counterexamples replay to the same violation; schedules for another
// program, or corrupted ones, are rejected rather than followed; minimized counterexamples are no
// longer, have no more preemptions, and still violate the same property.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ReplayDivergence,
  ScheduleSyntaxError,
  explore,
  exhaustiveExplore,
  formatSchedule,
  minimize,
  parseSchedule,
  replay,
  type Counterexample,
  type Program,
  type StrategyName,
} from "../../src/engine/index.js";
import { dekker, lostUpdate, peterson, philosophers, politeSpin } from "../../src/examples/classic.js";
import { build, progArb } from "./gen.js";
import { replaysTo } from "./helpers.js";

const STRATS: StrategyName[] = ["dpor", "exhaustive", "cache", "bounded", "pct", "random"];

function firstCex(program: Program, strategy: StrategyName): Counterexample {
  const r = explore(program, { strategy, seed: 3, maxExecutions: 5000 });
  expect(r.violations.length).toBeGreaterThan(0);
  return r.violations[0]!;
}

function checkMinimized(program: Program, cex: Counterexample): Counterexample {
  const m = minimize(program, cex);
  expect(m.property).toBe(cex.property);
  expect(m.steps.length).toBeLessThanOrEqual(cex.steps.length);
  expect(m.preemptions).toBeLessThanOrEqual(cex.preemptions);
  replaysTo(program, m);
  return m;
}

describe("replay of counterexamples", () => {
  const programs: [string, () => Program][] = [
    ["lost-update", () => lostUpdate(2)],
    ["peterson-broken", () => peterson(true)],
    ["dekker-broken", () => dekker(true)],
    ["philosophers", () => philosophers(3)],
  ];
  it.each(programs)("%s: every strategy's counterexample replays to the same property and steps", (_n, make) => {
    for (const s of STRATS) {
      const p = make();
      const cex = firstCex(p, s);
      replaysTo(p, cex);
      // Replaying on a fresh instance of the same program gives the same result.
      replaysTo(make(), cex);
      // The schedule string round-trips.
      expect(formatSchedule(parseSchedule(cex.schedule))).toBe(cex.schedule);
    }
  });

  it("a livelock counterexample replays to a livelock with the same cycle", () => {
    for (const s of ["exhaustive", "cache"] as const) {
      const p = politeSpin();
      const cex = firstCex(p, s);
      expect(cex.property).toBe("livelock");
      const rep = replay(p, parseSchedule(cex.schedule));
      const v = rep.violations.find((x) => x.property === "livelock");
      expect(v).toBeDefined();
      expect(rep.steps).toEqual(cex.steps);
    }
  });

  it("a counterexample of a random program replays (choices included)", () => {
    fc.assert(
      fc.property(progArb(), (d) => {
        const b = build(d);
        const r = exhaustiveExplore(b.program, { allViolations: true });
        for (const cex of r.violations) replaysTo(b.program, cex);
      }),
      { numRuns: 300, seed: 99 },
    );
  });
});

describe("replay rejects schedules the program does not follow", () => {
  const divergent = (p: Program, s: string): void => {
    expect(() => replay(p, parseSchedule(s))).toThrow(ReplayDivergence);
  };

  it("the philosophers' deadlock schedule on the ordered philosophers diverges", () => {
    // Ordered, the last philosopher takes fork0 first, so the deadlock's step order cannot be followed.
    const cex = firstCex(philosophers(3), "dpor");
    divergent(philosophers(3, true), cex.schedule);
  });

  it("a broken algorithm's violating schedule on the correct one diverges or does not violate", () => {
    for (const [bad, good] of [
      [peterson(true), peterson(false)],
      [dekker(true), dekker(false)],
    ] as const) {
      const cex = firstCex(bad, "dpor");
      let rep;
      try {
        rep = replay(good, parseSchedule(cex.schedule));
      } catch (e) {
        expect(e).toBeInstanceOf(ReplayDivergence);
        continue;
      }
      expect(rep.violations.map((v) => v.property)).not.toContain("mutual-exclusion");
    }
  });

  it("structurally wrong schedules diverge", () => {
    const lu = lostUpdate(2);
    divergent(lu, "v1:0.5"); // thread 5 does not exist
    divergent(lu, "v1:0.0.1.1.0"); // longer than the execution (4 steps)
    divergent(lu, "v1:0:1.1"); // a choice on a step that makes none
    divergent(lu, "v1:*1.0"); // a root choice the program does not make
    divergent(philosophers(2), "v1:0.1.0"); // thread 0 is blocked (deadlock) after 0.1
    // A program that chooses: a missing choice, a choice out of range, too many choices.
    const b = build({ cells: 1, threads: [[{ k: "load", cell: 0 }, { k: "choose", n: 2, env: false }, { k: "store", cell: 0, v: { c: 0, last: true } }], [{ k: "load", cell: 0 }]] });
    expect(replay(b.program, parseSchedule("v1:0:1.0.1")).end).toBe("complete"); // the well-formed one
    divergent(b.program, "v1:0.0.1");
    divergent(b.program, "v1:0:2.0.1");
    divergent(b.program, "v1:0:1,0.0.1");
  });

  it("corrupted schedule strings are syntax errors", () => {
    for (const s of ["", "0.1", "v3:0.1", "v1:0/2", "v2:0/0", "v1:0..1", "v1:a", "v1:0.*1", "v1:0:1:2", "v1:-1", "v1:01", "v1:0:", "v1:1.x.0"])
      expect(() => parseSchedule(s), s).toThrow(ScheduleSyntaxError);
    // and the empty schedule is legal (replays nothing)
    expect(parseSchedule("v1:")).toEqual({ rootChoices: [], steps: [] });
  });
});

describe("minimization", () => {
  it("lost update and philosophers' deadlock minimize to their known optimum: one preemption", () => {
    // Zero preemptions means threads run one after the other, which neither bug survives;
    // one preemption suffices for both.
    for (const s of STRATS) {
      const lu = lostUpdate(2);
      const m = checkMinimized(lu, firstCex(lu, s));
      expect(m.preemptions).toBe(1);
      expect(m.steps).toHaveLength(4);
      const ph = philosophers(3);
      const mp = checkMinimized(ph, firstCex(ph, s));
      expect(mp.preemptions).toBe(1);
      expect(mp.steps).toHaveLength(3);
    }
  });

  it("classic counterexamples from every strategy minimize to no longer, no more preempted ones", () => {
    for (const make of [() => peterson(true), () => dekker(true), () => politeSpin()]) {
      for (const s of STRATS) {
        const p = make();
        const r = explore(p, { strategy: s, seed: 3, maxExecutions: 5000 });
        for (const cex of r.violations) checkMinimized(p, cex);
      }
    }
  });

  it("counterexamples of random programs minimize soundly", () => {
    fc.assert(
      fc.property(progArb(), (d) => {
        const b = build(d);
        const r = exhaustiveExplore(b.program, { allViolations: true });
        for (const cex of r.violations) checkMinimized(b.program, cex);
      }),
      { numRuns: 200, seed: 77 },
    );
  });
});
