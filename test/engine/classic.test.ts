// Known programs with known answers (src/examples/classic.ts), under every exhaustive strategy,
// and the shallow bugs under the bounded / sampling strategies with fixed seeds. Every
// counterexample found here must replay to the same violation.
import { describe, expect, it } from "vitest";
import {
  AtomicArray,
  Atomic,
  choose,
  defineProgram,
  explore,
  waitUntil,
  type ExploreResult,
  type Op,
  type Program,
  type StrategyName,
  type ThreadApi,
} from "../../src/engine/index.js";
import { dekker, handshake, lostUpdate, mutualSpin, peterson, philosophers, politeSpin } from "../../src/examples/classic.js";
import { replaysAll } from "./helpers.js";

const EXHAUSTIVE: StrategyName[] = ["dpor", "exhaustive", "cache"];

function check(program: Program, strategy: StrategyName, extra: Parameters<typeof explore>[1] = {}): ExploreResult {
  const r = explore(program, { strategy, ...extra });
  replaysAll(program, r);
  return r;
}

function expectVerified(r: ExploreResult, mustCover: string[]): void {
  expect(r.violations).toEqual([]);
  expect(r.verdict).toBe("verified");
  expect(r.exhaustive).toBe(true);
  expect(r.stopReason).toBeUndefined();
  for (const l of mustCover) expect(r.coverage).toContain(l);
}

function expectViolated(r: ExploreResult, property: string): void {
  expect(r.verdict).toBe("violated");
  expect(r.violations.map((v) => v.property)).toEqual([property]);
}

/**
 * Dekker's algorithm with a bug of our own, entering the critical section twice per thread: after
 * waiting for its turn a thread forgets to raise its flag again, so the other thread (on its second
 * entry) sees the flag down and enters the critical section too.
 */
function dekkerNoReraise(): Program {
  return defineProgram("dekker-no-reraise", (w) => {
    const flag = new AtomicArray(w, "wants", 2);
    const turn = new Atomic(w, "turn", 0);
    const inCs = new Atomic(w, "in_cs", 0);
    const enter = function* (t: ThreadApi, me: number, round: number): Generator<Op, void, number> {
      const other = 1 - me;
      yield flag.at(me).store(1, "wants[me] = 1");
      for (;;) {
        t.loopHead("while wants[other]", round);
        const f = yield flag.at(other).load("load wants[other]");
        if (f === 0) break;
        const tu = yield turn.load("load turn");
        if (tu !== me) {
          yield flag.at(me).store(0, "wants[me] = 0");
          yield waitUntil([turn], () => turn.peek() === me, "await turn == me");
          // BUG: missing `wants[me] = 1` here.
        }
      }
    };
    const body = (me: number) =>
      function* (t: ThreadApi): Generator<Op, void, number> {
        for (let round = 0; round < 2; round++) {
          yield* enter(t, me, round);
          const c = yield inCs.load("cs: load");
          yield inCs.store(c + 1, "cs: enter");
          const c2 = yield inCs.load("cs: check");
          t.assert(c2 === 1, "two threads in the critical section", "mutual-exclusion");
          yield inCs.store(c2 - 1, "cs: leave");
          yield turn.store(1 - me, "turn = other");
          yield flag.at(me).store(0, "wants[me] = 0");
        }
      };
    return { threads: [0, 1].map((i) => ({ name: `P${i}`, body: body(i) })), properties: ["mutual-exclusion"] };
  });
}

describe.each(EXHAUSTIVE)("known answers under %s", (strategy) => {
  it("lost-update counter: the lost update is found (2 and 3 threads)", () => {
    for (const n of [2, 3]) {
      const r = check(lostUpdate(n), strategy);
      expectViolated(r, "no-lost-update");
      const v = r.violations[0]!;
      expect(v.message).toMatch(/counter is \d, expected/);
      // The counterexample really loses an update: two loads read the same value.
      const loads = v.steps.filter((s) => s.op === "load").map((s) => s.read);
      expect(new Set(loads).size).toBeLessThan(loads.length);
    }
  });

  it("cmpxchg counter: verified (2 and 3 threads), with the retry path covered", () => {
    for (const n of [2, 3]) expectVerified(check(lostUpdate(n, true), strategy), ["inc: load", "inc: cmpxchg"]);
  });

  it("Peterson: verified; setting turn before the flag: mutual exclusion violated", () => {
    expectVerified(check(peterson(false), strategy), ["cs: check", "await flag[other]==0 || turn==me"]);
    expectViolated(check(peterson(true), strategy), "mutual-exclusion");
  });

  it("Dekker: verified; the broken variants violate mutual exclusion", () => {
    expectVerified(check(dekker(false), strategy), ["cs: check", "await turn == me", "load turn"]);
    expectViolated(check(dekker(true), strategy), "mutual-exclusion");
    expectViolated(check(dekkerNoReraise(), strategy), "mutual-exclusion");
  });

  it("dining philosophers: the deadlock is found (3 and 4); ordered forks verified", () => {
    for (const n of [3, 4]) {
      const r = check(philosophers(n), strategy);
      expectViolated(r, "deadlock");
      // Deadlocked: every philosopher holds one fork.
      const v = r.violations[0]!;
      expect(v.steps).toHaveLength(n);
      expect(new Set(v.steps.map((s) => s.thread)).size).toBe(n);
      expectVerified(check(philosophers(n, true), strategy), ["take fork0", `put fork${n - 1}`]);
    }
  });

  it("wait-until handshake terminates and verifies with no bound at all", () => {
    for (const rounds of [1, 2, 4]) {
      const r = check(handshake(rounds), strategy);
      expectVerified(r, ["post request", "await request", "acknowledge", "await ack"]);
      expect(r.stats.complete).toBeGreaterThan(0);
      expect(r.stats.blocked).toBe(0);
      expect(r.stats.maxDepth).toBe(4 * rounds);
    }
  });
});

describe("livelocks", () => {
  it("polite-spin: the livelock is found by plain enumeration and by state caching", () => {
    for (const strategy of ["exhaustive", "cache"] as const) {
      const p = politeSpin();
      const r = check(p, strategy);
      expectViolated(r, "livelock");
      const v = r.violations[0]!;
      expect(v.cycleStart).toBeGreaterThanOrEqual(0);
      expect(v.cycleStart!).toBeLessThan(v.steps.length);
      // Both threads take part in the cycle, and none of its steps is the final "done" store.
      const cyc = v.steps.slice(v.cycleStart);
      expect(new Set(cyc.map((s) => s.thread))).toEqual(new Set([0, 1]));
      expect(cyc.map((s) => s.label)).not.toContain("done");
    }
  });

  it("mutual-spin (two threads spinning on each other's flag): state caching finds the livelock", () => {
    const r = check(mutualSpin(), "cache");
    expectViolated(r, "livelock");
    expect(r.violations[0]!.cycleStart).toBeGreaterThanOrEqual(0);
  });

  it("a spin that always ends is not a livelock (cache and exhaustive)", () => {
    // T0 spins until T1 sets the flag; weak fairness makes T1 run: no livelock, verified.
    const p = defineProgram("spin-then-set", (w) => {
      const f = new Atomic(w, "f", 0);
      return {
        threads: [
          {
            name: "T0",
            body: function* (t: ThreadApi): Generator<Op, void, number> {
              for (;;) {
                t.loopHead("spin");
                if ((yield f.load("spin: load")) === 1) break;
              }
            },
          },
          { name: "T1", body: function* (): Generator<Op, void, number> { yield f.store(1, "set"); } },
        ],
      };
    });
    for (const strategy of ["exhaustive", "cache"] as const) expectVerified(check(p, strategy), ["spin: load", "set"]);
  });

  it("a cycle kept alive only by injected environment failures is not a livelock; a plain choice's is (cache)", () => {
    // T0 retries while a choice says BUSY. With env: true the environment is fair and eventually
    // stops failing: verified. With a plain choice the program may really retry forever: livelock.
    const make = (env: boolean): Program =>
      defineProgram(`retry-env-${env}`, (w) => {
        const done = new Atomic(w, "done", 0);
        return {
          threads: [
            {
              name: "T0",
              body: function* (t: ThreadApi): Generator<Op, void, number> {
                for (;;) {
                  t.loopHead("retry");
                  yield done.load("try");
                  const busy = yield choose(2, "BUSY?", { env });
                  if (busy === 0) break;
                }
                yield done.store(1, "finish");
              },
            },
          ],
        };
      });
    expectVerified(check(make(true), "cache"), ["try", "BUSY?", "finish"]);
    const r = check(make(false), "cache");
    expectViolated(r, "livelock");
  });
});

describe("shallow bugs under bounded, PCT and random (fixed seeds)", () => {
  const cases: [string, () => Program, string][] = [
    ["lost-update", () => lostUpdate(2), "no-lost-update"],
    ["philosophers", () => philosophers(3), "deadlock"],
    ["peterson-broken", () => peterson(true), "mutual-exclusion"],
    ["dekker-broken", () => dekker(true), "mutual-exclusion"],
  ];
  it.each(cases)("%s", (_name, make, property) => {
    const b = check(make(), "bounded", { preemptions: 2 });
    expectViolated(b, property);
    expect(b.violations[0]!.preemptions).toBeLessThanOrEqual(2);
    for (const seed of [1, 2, 3]) {
      expectViolated(check(make(), "pct", { depth: 3, seed, maxExecutions: 2000 }), property);
      expectViolated(check(make(), "random", { seed, maxExecutions: 2000 }), property);
    }
  });

  it("the sampling strategies report no violation on the correct versions", () => {
    for (const make of [() => lostUpdate(2, true), () => peterson(false), () => dekker(false), () => philosophers(3, true)]) {
      for (const strategy of ["pct", "random"] as const) {
        const r = check(make(), strategy, { seed: 5, maxExecutions: 300 });
        expect(r.violations).toEqual([]);
        expect(r.verdict).toBe("no-violation-found");
        expect(r.exhaustive).toBe(false);
      }
      const b = check(make(), "bounded", { preemptions: 2 });
      expect(b.violations).toEqual([]);
      expect(b.verdict).toBe("no-violation-found");
    }
  });

  it("every sampled execution of the handshake completes (waits terminate without bounds)", () => {
    for (const strategy of ["pct", "random"] as const) {
      const r = check(handshake(3), strategy, { seed: 9, maxExecutions: 200 });
      expect(r.stats.executions).toBe(200);
      expect(r.stats.complete).toBe(200);
    }
  });
});
