// The engine's timed scheduler on small model-free programs: determinism, spinning vs sleeping
// waits, fair time slicing, lock hold times from step costs, and replay of what it finds.
import { describe, expect, it } from "vitest";
import { Atomic, SpinLock, defineProgram, replay, waitUntil, type Op, type Program } from "../../src/engine/index.js";
import { timedRun, type TimedCosts } from "../../src/engine/schedulers/timed.js";
import { lostUpdate } from "../../src/examples/classic.js";

const flat = (ns: number, spin = true): TimedCosts => ({ stepCost: () => ns, spins: () => spin, choose: () => 0 });

/** A holds a lock for `hold` steps; B waits for it; C only computes. */
function holderWaiterWorker(hold: number, work: number): Program {
  return defineProgram("hww", (w) => {
    const l = new SpinLock(w, "L");
    const x = new Atomic(w, "x", 0);
    return {
      threads: [
        {
          name: "A",
          body: function* (): Generator<Op, void, number> {
            yield l.lock("A: lock");
            for (let i = 0; i < hold; i++) yield x.store(i, "A: work");
            yield l.unlock("A: unlock");
          },
        },
        {
          name: "B",
          body: function* (): Generator<Op, void, number> {
            yield x.load("B: start");
            yield l.lock("B: lock");
            yield l.unlock("B: unlock");
          },
        },
        {
          name: "C",
          body: function* (): Generator<Op, void, number> {
            for (let i = 0; i < work; i++) yield x.load("C: work");
          },
        },
      ],
    };
  });
}

describe("timed scheduler", () => {
  it("is deterministic given the seed, and the seed matters when there is jitter", () => {
    const run = (seed: number) => timedRun(lostUpdate(4), { seed, jitter: 0.3, costs: flat(100), returnSchedule: true });
    const a = run(7);
    const b = run(7);
    expect(b.time).toBe(a.time);
    expect(b.schedule).toEqual(a.schedule);
    const times = new Set([1, 2, 3, 4, 5, 6].map((s) => run(s).time));
    expect(times.size).toBeGreaterThan(1);
  });

  it("a spinning waiter keeps its CPU, a sleeping one gives it to a runnable thread", () => {
    const p = holderWaiterWorker(50, 10);
    const spin = timedRun(p, { cpus: 2, costs: flat(100, true) });
    const sleep = timedRun(p, { cpus: 2, costs: flat(100, false) });
    expect(spin.end).toBe("done");
    expect(sleep.end).toBe("done");
    // With 2 CPUs, C waits for a CPU while B spins on A's lock; when B sleeps, C runs at once.
    expect(sleep.finishTime[2]!).toBeLessThan(spin.finishTime[2]!);
    expect(spin.finishTime[2]!).toBeGreaterThanOrEqual(spin.finishTime[0]!);
    // The spinning waiter burned CPU for the whole hold; the sleeping one did not.
    expect(spin.cpuTime[1]!).toBeGreaterThan(4000);
    expect(sleep.cpuTime[1]!).toBeLessThan(1000);
    expect(sleep.sleepTime[1]!).toBeGreaterThan(4000);
  });

  it("time-slices fairly when threads outnumber CPUs", () => {
    const p = defineProgram("compute", (w) => {
      const x = new Atomic(w, "x", 0);
      return {
        threads: [0, 1, 2, 3].map((i) => ({
          name: `T${i}`,
          body: function* (): Generator<Op, void, number> {
            for (let k = 0; k < 100; k++) yield x.load(`T${i}: work`);
          },
        })),
      };
    });
    const fair = timedRun(p, { cpus: 2, slice: 50_000, costs: flat(10_000) });
    const fifo = timedRun(p, { cpus: 2, slice: 1e15, costs: flat(10_000) });
    const spread = (f: number[]) => Math.max(...f) / Math.min(...f);
    expect(spread(fair.finishTime)).toBeLessThan(1.1);
    expect(spread(fifo.finishTime)).toBeGreaterThan(1.9);
    // The same work either way: 400 steps of 10 us on 2 CPUs.
    expect(fair.time).toBeCloseTo(2_000_000, -4);
  });

  it("charges a step's cost before the thread's next op: a lock is held for the work inside it", () => {
    const p = holderWaiterWorker(10, 0);
    const r = timedRun(p, { cpus: 3, handoff: 0, costs: { stepCost: (_t, op) => (op.label === "A: work" ? 1000 : 0), spins: () => true, choose: () => 0 } });
    // B gets the lock only after A's 10 x 1000 ns of work under it.
    expect(r.finishTime[1]).toBe(10_000);
  });

  it("reports a deadlock", () => {
    const p = defineProgram("dl", (w) => {
      const a = new SpinLock(w, "a");
      const b = new SpinLock(w, "b");
      const t = (x: SpinLock, y: SpinLock) =>
        function* (): Generator<Op, void, number> {
          yield x.lock();
          yield y.lock();
        };
      return { threads: [{ name: "T0", body: t(a, b) }, { name: "T1", body: t(b, a) }] };
    });
    const r = timedRun(p, { costs: flat(100) });
    expect(r.end).toBe("deadlock");
    expect(r.violations.map((v) => v.property)).toEqual(["deadlock"]);
  });

  it("what it finds replays under the engine's replay strategy", () => {
    let found = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const p = lostUpdate(3);
      const r = timedRun(p, { seed, jitter: 0.5, costs: flat(100) });
      const v = r.violations.find((x) => x.property === "no-lost-update");
      if (!v) continue;
      found++;
      const rep = replay(p, v.schedule!);
      expect(rep.violations.map((x) => x.property)).toContain("no-lost-update");
    }
    expect(found).toBeGreaterThan(0);
  });

  it("a wait blocks until another thread's write enables it", () => {
    const p = defineProgram("flag", (w) => {
      const f = new Atomic(w, "flag", 0);
      return {
        threads: [
          {
            name: "waiter",
            body: function* (): Generator<Op, void, number> {
              yield waitUntil([f], () => f.peek() === 1, "wait flag");
            },
          },
          {
            name: "setter",
            body: function* (): Generator<Op, void, number> {
              for (let i = 0; i < 5; i++) yield f.load("spin");
              yield f.store(1, "set");
            },
          },
        ],
      };
    });
    const r = timedRun(p, { handoff: 7, costs: flat(100) });
    expect(r.end).toBe("done");
    // The setter's store runs at 500 ns; the waiter tries again 7 ns later, then its wait step costs 100.
    expect(r.finishTime[0]).toBe(607);
  });
});

describe("timed scheduler: quiescent checks", () => {
  /** a == b whenever no window is open on the key; `windowed` writes both inside window 7. */
  function pair(windowed: boolean, keys: number[]): Program {
    return defineProgram("pair", (w) => {
      const a = new Atomic(w, "a", 0);
      const b = new Atomic(w, "b", 0);
      return {
        threads: [
          {
            name: "T",
            body: function* (t): Generator<Op, void, number> {
              if (windowed) t.enter(7);
              yield a.store(1, "T: a = 1");
              yield b.store(1, "T: b = 1");
              if (windowed) t.exit(7);
            },
          },
        ],
        quiescent: [{ name: "eq", keys, objsOf: () => [a.id, b.id], check: (k) => (a.peek() === b.peek() ? null : `key ${k}: a ${a.peek()} b ${b.peek()}`) }],
      };
    });
  }
  it("checks the keys a write touches unless their window is open, the first failing key in the order of keys", () => {
    expect(timedRun(pair(true, [7]), { costs: flat(10) }).violations).toEqual([]);
    const v = timedRun(pair(false, [9, 7]), { costs: flat(10) }).violations;
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ property: "eq", step: 1, message: "key 9: a 1 b 0" });
    // Window 7 open: key 7 is skipped, key 9 (not windowed) is still checked.
    expect(timedRun(pair(true, [7, 9]), { costs: flat(10) }).violations[0]).toMatchObject({ step: 1, message: "key 9: a 1 b 0" });
  });
});
