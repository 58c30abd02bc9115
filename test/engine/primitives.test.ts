// The semantics of each primitive, step by step, on the Execution directly (no explorer), plus
// small explorations where the claim is about all interleavings (deadlocks exist / cannot exist).
import { describe, expect, it } from "vitest";
import {
  Atomic,
  Counter,
  Execution,
  RwLock,
  SpinLock,
  TryLock,
  choose,
  defineProgram,
  explore,
  waitUntil,
  type Op,
  type Oracle,
  type Program,
  type World,
} from "../../src/engine/index.js";

class FixedOracle implements Oracle {
  constructor(private readonly out: number[] = []) {}
  choose(): number {
    return this.out.shift() ?? 0;
  }
}

/** A program whose threads yield fixed op lists built from the world's objects. */
function opsProgram<T>(make: (w: World) => T, threads: (o: T) => Op[][]): { program: Program; objs: T } {
  let objs!: T;
  const program = defineProgram("ops", (w) => {
    objs = make(w);
    const lists = threads(objs);
    return {
      threads: lists.map((ops, i) => ({
        name: `T${i}`,
        body: function* (): Generator<Op, void, number> {
          for (const op of ops) yield op;
        },
      })),
    };
  });
  return { program, objs };
}

function start(p: Program, choices: number[] = []): Execution {
  const ex = new Execution(p, new FixedOracle(choices));
  ex.reset();
  return ex;
}

/** Run thread t's pending op (it must be enabled); return the op's result. */
function step(ex: Execution, t: number): number {
  expect(ex.isEnabled(t), `T${t} enabled`).toBe(true);
  ex.step(t);
  expect(ex.fatal).toBe(false);
  return ex.evRead[ex.length - 1]!;
}

describe("atomic cell and counter", () => {
  it("load, store, cmpxchg (success and failure), xchg, rmw return and write what they should", () => {
    const { program, objs: c } = opsProgram(
      (w) => new Atomic(w, "c", 5),
      (c) => [[c.load(), c.cmpxchg(4, 9), c.cmpxchg(5, 9), c.xchg(1), c.store(7), c.load(), c.rmw((v) => v * 2), c.rmw((v) => v)]],
    );
    const ex = start(program);
    expect(step(ex, 0)).toBe(5); // load
    expect(step(ex, 0)).toBe(5); // cmpxchg(4 -> 9) fails: returns the value found
    expect(c.peek()).toBe(5); //   and writes nothing
    expect(step(ex, 0)).toBe(5); // cmpxchg(5 -> 9) succeeds: returns the expected value
    expect(c.peek()).toBe(9);
    expect(step(ex, 0)).toBe(9); // xchg(1) returns the old value
    expect(c.peek()).toBe(1);
    step(ex, 0); // store 7
    expect(c.peek()).toBe(7);
    expect(step(ex, 0)).toBe(7); // load
    expect(step(ex, 0)).toBe(7); // rmw(*2) returns the old value
    expect(c.peek()).toBe(14);
    expect(step(ex, 0)).toBe(14); // rmw(identity)
    expect(c.peek()).toBe(14);
    expect(ex.allDone()).toBe(true);
  });

  it("counter: add returns the previous value, read the current one", () => {
    const { program, objs: k } = opsProgram(
      (w) => new Counter(w, "seq", 10),
      (k) => [[k.add(3), k.add(-1), k.read()]],
    );
    const ex = start(program);
    expect(step(ex, 0)).toBe(10);
    expect(step(ex, 0)).toBe(13);
    expect(step(ex, 0)).toBe(12);
    expect(k.peek()).toBe(12);
  });

  it("two cmpxchg(0 -> tid+1) race: in every interleaving exactly one succeeds", () => {
    const wins = new Set<string>();
    const p = defineProgram("cas-race", (w) => {
      const c = new Atomic(w, "c", 0);
      const got: number[] = [0, 0];
      return {
        threads: [0, 1].map((i) => ({
          name: `T${i}`,
          body: function* (): Generator<Op, void, number> {
            got[i] = (yield c.cmpxchg(0, i + 1)) === 0 ? 1 : 0;
          },
        })),
        final: [
          {
            name: "one-winner",
            check: () => {
              wins.add(`${got[0]}${got[1]}:${c.peek()}`);
              return got[0]! + got[1]! === 1 ? null : `winners ${got.join(",")}`;
            },
          },
        ],
      };
    });
    const r = explore(p, { strategy: "exhaustive", allViolations: true });
    expect(r.verdict).toBe("verified");
    expect(wins).toEqual(new Set(["10:1", "01:2"]));
  });
});

describe("spinlock", () => {
  it("one owner; a second acquirer is blocked until the unlock", () => {
    const { program, objs: l } = opsProgram(
      (w) => new SpinLock(w, "L"),
      (l) => [[l.lock(), l.unlock()], [l.lock(), l.unlock()]],
    );
    const ex = start(program);
    step(ex, 0);
    expect(l.owner()).toBe(0);
    expect(ex.isEnabled(1)).toBe(false);
    expect(ex.enabledMask()).toBe(0b01);
    step(ex, 0);
    expect(l.owner()).toBe(-1);
    step(ex, 1);
    expect(l.owner()).toBe(1);
  });

  it("recursive acquisition deadlocks; unlocking a lock one does not hold is an assertion failure", () => {
    const rec = opsProgram((w) => new SpinLock(w, "L"), (l) => [[l.lock(), l.lock()]]).program;
    expect(explore(rec, { strategy: "exhaustive" }).violations.map((v) => v.property)).toEqual(["deadlock"]);
    const bad = opsProgram((w) => new SpinLock(w, "L"), (l) => [[l.lock()], [l.unlock()]]).program;
    const r = explore(bad, { strategy: "exhaustive" });
    expect(r.violations.map((v) => v.property)).toEqual(["assertion"]);
    expect(r.violations[0]!.message).toMatch(/does not hold/);
  });

  it("lock-order inversion deadlocks; the same order does not", () => {
    const mk = (inverted: boolean) =>
      opsProgram(
        (w) => [new SpinLock(w, "A"), new SpinLock(w, "B")] as const,
        ([a, b]) => [
          [a.lock(), b.lock(), b.unlock(), a.unlock()],
          inverted ? [b.lock(), a.lock(), a.unlock(), b.unlock()] : [a.lock(), b.lock(), b.unlock(), a.unlock()],
        ],
      ).program;
    for (const strategy of ["dpor", "exhaustive", "cache"] as const) {
      expect(explore(mk(true), { strategy }).violations.map((v) => v.property)).toEqual(["deadlock"]);
      expect(explore(mk(false), { strategy }).verdict).toBe("verified");
    }
  });
});

describe("qrwlock", () => {
  const rw = (w: World) => new RwLock(w, "rw");

  it("readers share", () => {
    const { program, objs: l } = opsProgram(rw, (l) => [[l.readLock(), l.readUnlock()], [l.readLock(), l.readUnlock()]]);
    const ex = start(program);
    step(ex, 0);
    step(ex, 1);
    expect(l.readers()).toBe(2);
    expect(l.writer()).toBe(-1);
    step(ex, 1);
    step(ex, 0);
    expect(l.readers()).toBe(0);
  });

  it("a writer excludes readers and other writers until it unlocks", () => {
    const { program, objs: l } = opsProgram(rw, (l) => [
      [l.writeQueue(), l.writeAcquire(), l.writeUnlock()],
      [l.readLock(), l.readUnlock()],
      [l.writeQueue(), l.writeAcquire(), l.writeUnlock()],
    ]);
    const ex = start(program);
    step(ex, 0);
    step(ex, 0);
    expect(l.writer()).toBe(0);
    expect(ex.isEnabled(1)).toBe(false);
    expect(ex.isEnabled(2)).toBe(false);
    step(ex, 0);
    expect(l.writer()).toBe(-1);
    expect(ex.isEnabled(1)).toBe(true);
    expect(ex.isEnabled(2)).toBe(true);
  });

  it("a writer waits for the readers to drain; once it waits, new readers wait behind it", () => {
    const { program, objs: l } = opsProgram(rw, (l) => [
      [l.readLock(), l.readUnlock()],
      [l.writeQueue(), l.writeAcquire(), l.writeUnlock()],
      [l.readLock(), l.readUnlock()],
    ]);
    const ex = start(program);
    step(ex, 0); // T0 reads
    step(ex, 1); // T1 queues as writer
    expect(l.writer()).toBe(-1); // queued, not holding
    expect(ex.isEnabled(1)).toBe(false); // waits for T0 to leave
    expect(ex.isEnabled(2)).toBe(false); // a new reader waits behind the queued writer
    step(ex, 0); // T0 read_unlock
    expect(ex.isEnabled(1)).toBe(true);
    expect(ex.isEnabled(2)).toBe(false);
    step(ex, 1);
    expect(l.writer()).toBe(1);
    step(ex, 1);
    step(ex, 2);
    expect(l.readers()).toBe(1);
  });

  it("a recursive read lock deadlocks when a writer queues in between, and only then", () => {
    const mk = (writer: boolean) =>
      opsProgram(rw, (l) => [
        [l.readLock(), l.readLock(), l.readUnlock(), l.readUnlock()],
        writer ? [l.writeQueue(), l.writeAcquire(), l.writeUnlock()] : [l.readLock(), l.readUnlock()],
      ]).program;
    for (const strategy of ["dpor", "exhaustive", "cache"] as const) {
      const r = explore(mk(true), { strategy });
      expect(r.violations.map((v) => v.property)).toEqual(["deadlock"]);
      // The deadlock: T0 holds a read lock, T1 queued, T0's second read_lock waits behind T1.
      expect(r.violations[0]!.steps.map((s) => `${s.thread}:${s.op}`)).toEqual(["0:read_lock", "1:write_lock(queue)"]);
      expect(explore(mk(false), { strategy }).verdict).toBe("verified");
    }
  });

  it("there is no upgrade: taking the write lock while holding the read lock deadlocks", () => {
    const p = opsProgram(rw, (l) => [[l.readLock(), l.writeQueue(), l.writeAcquire(), l.writeUnlock(), l.readUnlock()]]).program;
    expect(explore(p, { strategy: "exhaustive" }).violations.map((v) => v.property)).toEqual(["deadlock"]);
  });
});

describe("try-lock (sharex)", () => {
  it("never blocks; exclusive excludes everything, shared excludes exclusive only", () => {
    const { program, objs: l } = opsProgram(
      (w) => new TryLock(w, "tl"),
      (l) => [
        [l.tryExclusive(), l.releaseExclusive(), l.tryShared(), l.tryExclusive(), l.releaseShared()],
        [l.tryExclusive(), l.tryShared(), l.tryShared(), l.releaseShared()],
      ],
    );
    const ex = start(program);
    expect(step(ex, 0)).toBe(1); // T0 takes it exclusively
    expect(l.heldExclusive()).toBe(true);
    expect(ex.isEnabled(1)).toBe(true); // a try never waits ...
    expect(step(ex, 1)).toBe(0); // ... it fails: exclusive is busy
    expect(step(ex, 1)).toBe(0); // shared is busy too
    step(ex, 0); // release exclusive
    expect(l.isFree()).toBe(true);
    expect(step(ex, 0)).toBe(1); // T0 shared
    expect(step(ex, 1)).toBe(1); // T1 shared: readers share
    expect(l.sharedCount()).toBe(2);
    expect(step(ex, 0)).toBe(0); // exclusive fails while shared holders exist
    step(ex, 0);
    step(ex, 1);
    expect(l.isFree()).toBe(true);
  });

  it("try-locks taken in opposite orders never deadlock (failures return instead of waiting)", () => {
    const p = defineProgram("try-inversion", (w) => {
      const a = new TryLock(w, "A");
      const b = new TryLock(w, "B");
      const body = (x: TryLock, y: TryLock) =>
        function* (): Generator<Op, void, number> {
          if ((yield x.tryExclusive()) !== 1) return;
          if ((yield y.tryExclusive()) === 1) yield y.releaseExclusive();
          yield x.releaseExclusive();
        };
      return { threads: [{ name: "T0", body: body(a, b) }, { name: "T1", body: body(b, a) }] };
    });
    for (const strategy of ["dpor", "exhaustive", "cache"] as const) {
      const r = explore(p, { strategy, allViolations: true });
      expect(r.verdict).toBe("verified");
      expect(r.stats.blocked).toBe(0);
    }
  });
});

describe("wait-until and wait-load", () => {
  it("a wait is disabled until its predicate holds, and disabled again when it stops holding", () => {
    let c!: Atomic;
    const program = defineProgram("wait", (w) => {
      c = new Atomic(w, "c", 0);
      return {
        threads: [
          { name: "W", body: function* (): Generator<Op, void, number> { yield waitUntil([c], () => c.peek() === 2, "wait c==2"); } },
          { name: "S", body: function* (): Generator<Op, void, number> { yield c.store(1); yield c.store(2); yield c.store(0); yield c.store(2); } },
        ],
      };
    });
    const ex = start(program);
    expect(ex.isEnabled(0)).toBe(false);
    step(ex, 1); // c = 1
    expect(ex.isEnabled(0)).toBe(false);
    step(ex, 1); // c = 2
    expect(ex.isEnabled(0)).toBe(true);
    step(ex, 1); // c = 0
    expect(ex.isEnabled(0)).toBe(false);
    step(ex, 1); // c = 2
    expect(step(ex, 0)).toBe(0);
    expect(ex.allDone()).toBe(true);
  });

  it("wait-load returns the value that satisfied it; a wait must name what it reads", () => {
    const { program } = opsProgram(
      (w) => new Atomic(w, "c", 0),
      (c) => [[c.waitLoad((v) => v >= 3)], [c.store(4)]],
    );
    const ex = start(program);
    expect(ex.isEnabled(0)).toBe(false);
    step(ex, 1);
    expect(step(ex, 0)).toBe(4);
    expect(() => waitUntil([], () => true)).toThrow();
  });

  it("a wait that can never be satisfied is a deadlock; one that eventually is, is not", () => {
    const mk = (v: number) =>
      opsProgram(
        (w) => new Atomic(w, "c", 0),
        (c) => [[c.waitLoad((x) => x === 1)], [c.store(v)]],
      ).program;
    for (const strategy of ["dpor", "exhaustive", "cache"] as const) {
      expect(explore(mk(2), { strategy }).violations.map((x) => x.property)).toEqual(["deadlock"]);
      expect(explore(mk(1), { strategy }).verdict).toBe("verified");
    }
  });
});

describe("nondeterministic choice", () => {
  it("every outcome is explored, with and without env, and recorded in the schedule", () => {
    for (const env of [false, true]) {
      const seen = new Set<number>();
      const p = defineProgram("choice", (w) => {
        const c = new Atomic(w, "c", 0);
        return {
          threads: [{ name: "T0", body: function* (): Generator<Op, void, number> { const k = yield choose(3, "pick", { env }); yield c.store(k); } }],
          final: [{ name: "rec", check: () => (seen.add(c.peek()), null) }],
        };
      });
      for (const strategy of ["dpor", "exhaustive", "cache", "bounded"] as const) {
        seen.clear();
        explore(p, { strategy, allViolations: true });
        expect(seen).toEqual(new Set([0, 1, 2]));
      }
      // A choice made before the first step is a root choice in the schedule.
      const ex = start(p, [2]);
      expect(ex.rootChoices).toEqual([2]);
      step(ex, 0);
      expect(c0(ex)).toBe(2);
    }
    expect(() => choose(0)).toThrow();
  });
});

function c0(ex: Execution): number {
  return ex.mem[0]!;
}
