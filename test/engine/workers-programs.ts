// Programs that the parallel search's worker threads rebuild in the tests (workers.test.ts): a
// program is code, so a worker gets this module's name and the program's description.
import { Atomic, defineProgram, type Op, type Program, type ThreadApi } from "../../src/engine/index.js";
import { build, resetInstrIds, type ProgDesc } from "./gen.js";

export function genProgram(d: ProgDesc): Program {
  // Every worker numbers the instructions of its own copy from 0, so they agree on fingerprints.
  resetInstrIds();
  return build(structuredClone(d)).program;
}

/**
 * Two properties violated in different subtrees (the determinism test of workers.test.ts). T1
 * violates `early` when it runs before T0's first step; T2 violates `late` when it runs between
 * T0's two first steps. A sequential search takes T0 first and meets `late` only after the whole
 * subtree below T0's second step (T0's and T3's `noise` steps interleaved); a second worker handed
 * the root's other threads meets `early` at once. `safe`: neither is violated (the budget tests).
 */
export function twoSubtrees(arg: { noise: number; safe?: boolean }): Program {
  return defineProgram("two-subtrees", (w) => {
    const x = new Atomic(w, "x", 0);
    const flag = new Atomic(w, "flag", 0);
    const n0 = new Atomic(w, "n0", 0);
    const n3 = new Atomic(w, "n3", 0);
    return {
      threads: [
        {
          name: "T0",
          body: function* (): Generator<Op, void, number> {
            yield x.store(1, "x = 1");
            yield flag.store(1, "flag = 1");
            for (let i = 1; i <= arg.noise; i++) yield n0.store(i, "n0 = i");
          },
        },
        {
          name: "T1",
          body: function* (t: ThreadApi): Generator<Op, void, number> {
            const v = yield x.load("load x");
            t.assert(arg.safe === true || v === 1, "T1 ran before T0", "early");
          },
        },
        {
          name: "T2",
          body: function* (t: ThreadApi): Generator<Op, void, number> {
            const v = yield x.load("load x");
            const f = yield flag.load("load flag");
            t.assert(arg.safe === true || v === 0 || f === 1, "T2 ran between T0's first two steps", "late");
          },
        },
        {
          name: "T3",
          body: function* (): Generator<Op, void, number> {
            for (let i = 1; i <= arg.noise; i++) yield n3.store(i, "n3 = i");
          },
        },
      ],
      properties: ["early", "late"],
    };
  });
}
