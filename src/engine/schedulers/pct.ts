// PCT — probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010).
// Each execution gives the threads random distinct priorities d..d+n-1 and picks d-1 random
// change points among the first k steps; it always runs the highest-priority enabled thread, and
// at the j-th change point lowers the priority of the thread about to run to j (below all others). A bug of depth d is found
// with probability at least 1/(n k^(d-1)) per execution. k is learnt from the longest execution so far.
import type { Program } from "../program.js";
import type { ExploreOptions, ExploreResult } from "../result.js";
import { sample } from "./sampling.js";

export function pctExplore(program: Program, depth: number, opts: ExploreOptions = {}): ExploreResult {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`PCT depth must be a positive integer, got ${depth}`);
  const n = program.threads.length;
  let k = 16;
  return sample(
    program,
    {
      name: `pct(d=${depth})`,
      begin: (_i, random) => {
        const prio = Array.from({ length: n }, (_, t) => depth + t);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [prio[i], prio[j]] = [prio[j]!, prio[i]!];
        }
        const change = new Map<number, number>();
        for (let j = 1; j < depth; j++) change.set(Math.floor(random() * k), j);
        const highest = (enabled: number): number => {
          let best = -1;
          for (let t = 0; t < n; t++) if (enabled & (1 << t) && (best < 0 || prio[t]! > prio[best]!)) best = t;
          return best;
        };
        return (enabled, i) => {
          const best = highest(enabled);
          const c = change.get(i);
          if (c === undefined) return best;
          prio[best] = c; // the change point preempts the thread that was about to run
          return highest(enabled);
        };
      },
      end: (steps) => {
        if (steps > k) k = steps;
      },
    },
    opts,
  );
}
