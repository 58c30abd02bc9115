// Classic concurrency programs with known answers, written against the engine only.
// They are the engine's demo (before the KVM model) and its known-answer tests.
import { Atomic, AtomicArray, SpinLock, defineProgram, waitUntil, type Op, type Program, type ThreadApi } from "../engine/index.js";

/** N threads each increment a shared counter with a separate load and store: updates get lost. */
export function lostUpdate(n = 2, atomic = false): Program {
  return defineProgram(atomic ? `counter-atomic-${n}` : `lost-update-${n}`, (w) => {
    const counter = new Atomic(w, "counter", 0);
    const inc = function* (): Generator<Op, void, number> {
      if (atomic) {
        for (;;) {
          const v = yield counter.load("inc: load");
          const seen = yield counter.cmpxchg(v, v + 1, "inc: cmpxchg");
          if (seen === v) return;
        }
      }
      const v = yield counter.load("inc: load");
      yield counter.store(v + 1, "inc: store");
    };
    return {
      threads: Array.from({ length: n }, (_, i) => ({ name: `T${i}`, body: inc })),
      final: [{ name: "no-lost-update", check: () => (counter.peek() === n ? null : `counter is ${counter.peek()}, expected ${n}`) }],
    };
  });
}

/** Peterson's mutual exclusion for two threads; `broken` sets turn before the flag (wrong order). */
export function peterson(broken = false): Program {
  return defineProgram(broken ? "peterson-broken" : "peterson", (w) => {
    const flag = new AtomicArray(w, "flag", 2);
    const turn = new Atomic(w, "turn", 0);
    const inCs = new Atomic(w, "in_cs", 0);
    const body = (me: number) =>
      function* (t: ThreadApi): Generator<Op, void, number> {
        const other = 1 - me;
        if (broken) {
          yield turn.store(other, "turn = other");
          yield flag.at(me).store(1, "flag[me] = 1");
        } else {
          yield flag.at(me).store(1, "flag[me] = 1");
          yield turn.store(other, "turn = other");
        }
        yield waitUntil([flag.at(other), turn], () => flag.at(other).peek() === 0 || turn.peek() === me, "await flag[other]==0 || turn==me");
        const c = yield inCs.load("cs: load");
        yield inCs.store(c + 1, "cs: enter");
        const c2 = yield inCs.load("cs: check");
        t.assert(c2 === 1, `two threads in the critical section`, "mutual-exclusion");
        yield inCs.store(c2 - 1, "cs: leave");
        yield flag.at(me).store(0, "flag[me] = 0");
      };
    return { threads: [0, 1].map((i) => ({ name: `P${i}`, body: body(i) })), properties: ["mutual-exclusion"] };
  });
}

/**
 * Dekker's algorithm for two threads. `broken` is the classic wrong first attempt: test the other
 * thread's flag, then raise your own — both can pass the test before either raises its flag.
 */
export function dekker(broken = false): Program {
  return defineProgram(broken ? "dekker-broken" : "dekker", (w) => {
    const flag = new AtomicArray(w, "wants", 2);
    const turn = new Atomic(w, "turn", 0);
    const inCs = new Atomic(w, "in_cs", 0);
    const body = (me: number) =>
      function* (t: ThreadApi): Generator<Op, void, number> {
        const other = 1 - me;
        if (broken) {
          yield flag.at(other).waitLoad((v) => v === 0, "await wants[other] == 0");
          yield flag.at(me).store(1, "wants[me] = 1");
        } else {
          yield flag.at(me).store(1, "wants[me] = 1");
          for (;;) {
            t.loopHead("dekker: while wants[other]");
            const f = yield flag.at(other).load("load wants[other]");
            if (f === 0) break;
            const tu = yield turn.load("load turn");
            if (tu !== me) {
              yield flag.at(me).store(0, "wants[me] = 0");
              yield waitUntil([turn], () => turn.peek() === me, "await turn == me");
              yield flag.at(me).store(1, "wants[me] = 1");
            }
          }
        }
        const c = yield inCs.load("cs: load");
        yield inCs.store(c + 1, "cs: enter");
        const c2 = yield inCs.load("cs: check");
        t.assert(c2 === 1, `two threads in the critical section`, "mutual-exclusion");
        yield inCs.store(c2 - 1, "cs: leave");
        yield turn.store(other, "turn = other");
        yield flag.at(me).store(0, "wants[me] = 0");
      };
    return { threads: [0, 1].map((i) => ({ name: `P${i}`, body: body(i) })), properties: ["mutual-exclusion"] };
  });
}

/** Two threads busy-wait on each other's flag, neither backing off: a livelock under fairness. */
export function mutualSpin(): Program {
  return defineProgram("mutual-spin", (w) => {
    const flag = new AtomicArray(w, "wants", 2);
    const body = (me: number) =>
      function* (t: ThreadApi): Generator<Op, void, number> {
        yield flag.at(me).store(1, "wants[me] = 1");
        for (;;) {
          t.loopHead("spin: while wants[other]");
          const f = yield flag.at(1 - me).load("load wants[other]");
          if (f === 0) break;
        }
        yield flag.at(me).store(0, "wants[me] = 0");
      };
    return { threads: [0, 1].map((i) => ({ name: `T${i}`, body: body(i) })) };
  });
}

/** Dining philosophers, each taking the left fork then the right one: deadlock. `ordered` fixes it. */
export function philosophers(n = 3, ordered = false): Program {
  return defineProgram(ordered ? `philosophers-ordered-${n}` : `philosophers-${n}`, (w) => {
    const forks = Array.from({ length: n }, (_, i) => new SpinLock(w, `fork${i}`));
    const body = (i: number) =>
      function* (): Generator<Op, void, number> {
        let a = i;
        let b = (i + 1) % n;
        if (ordered && a > b) [a, b] = [b, a];
        yield forks[a]!.lock(`take fork${a}`);
        yield forks[b]!.lock(`take fork${b}`);
        yield forks[b]!.unlock(`put fork${b}`);
        yield forks[a]!.unlock(`put fork${a}`);
      };
    return { threads: Array.from({ length: n }, (_, i) => ({ name: `Phil${i}`, body: body(i) })) };
  });
}

/** A wait-until handshake: the consumer waits for the producer's flag, acknowledges, producer waits for it. */
export function handshake(rounds = 2): Program {
  return defineProgram(`handshake-${rounds}`, (w) => {
    const req = new Atomic(w, "req", 0);
    const ack = new Atomic(w, "ack", 0);
    return {
      threads: [
        {
          name: "producer",
          body: function* (): Generator<Op, void, number> {
            for (let r = 1; r <= rounds; r++) {
              yield req.store(r, "post request");
              yield waitUntil([ack], () => ack.peek() === r, "await ack");
            }
          },
        },
        {
          name: "consumer",
          body: function* (t: ThreadApi): Generator<Op, void, number> {
            for (let r = 1; r <= rounds; r++) {
              const v = yield req.waitLoad((x) => x === r, "await request");
              t.assert(v === r, "request out of order");
              yield ack.store(r, "acknowledge");
            }
          },
        },
      ],
    };
  });
}

/** Two threads spin on each other's flag without backing off: a livelock. */
export function politeSpin(): Program {
  return defineProgram("polite-spin", (w) => {
    const flags = new AtomicArray(w, "busy", 2);
    const body = (me: number) =>
      function* (t: ThreadApi): Generator<Op, void, number> {
        for (;;) {
          t.loopHead("polite: retry");
          yield flags.at(me).store(1, "raise busy[me]");
          const o = yield flags.at(1 - me).load("look at busy[other]");
          if (o === 0) break;
          yield flags.at(me).store(0, "lower busy[me]");
        }
        yield flags.at(me).store(0, "done");
      };
    return { threads: [0, 1].map((i) => ({ name: `T${i}`, body: body(i) })) };
  });
}

export const CLASSIC: Record<string, () => Program> = {
  "lost-update": () => lostUpdate(2),
  "counter-atomic": () => lostUpdate(2, true),
  peterson: () => peterson(false),
  "peterson-broken": () => peterson(true),
  dekker: () => dekker(false),
  "dekker-broken": () => dekker(true),
  philosophers: () => philosophers(3),
  "philosophers-ordered": () => philosophers(3, true),
  handshake: () => handshake(2),
  "polite-spin": () => politeSpin(),
  "mutual-spin": () => mutualSpin(),
};
