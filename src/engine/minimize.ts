// Minimization of a counterexample: fewest preemptions first, then fewest steps, still violating
// the same property. Iterative preemption bounding finds the least bound that shows the property;
// within it a depth-bounded search keeps the shortest violating execution.
import type { Program } from "./program.js";
import type { Counterexample, ExploreOptions } from "./result.js";
import { dfsExplore } from "./schedulers/dfs.js";

export interface MinimizeOptions extends ExploreOptions {
  /** Executions allowed per preemption bound (default 200 000). */
  budget?: number;
}

export function minimize(program: Program, cex: Counterexample, opts: MinimizeOptions = {}): Counterexample {
  const budget = opts.budget ?? 200_000;
  for (let b = 0; b <= cex.preemptions; b++) {
    const r = dfsExplore(
      program,
      { mode: "bounded", sleepSets: false, stateCaching: false, preemptionBound: b, onlyProperty: cex.property, shortest: true, maxDepth: cex.steps.length },
      { ...opts, maxExecutions: budget, allViolations: false },
    );
    const best = r.violations[0];
    if (best) return best.preemptions < cex.preemptions || best.steps.length < cex.steps.length || best.preemptions === cex.preemptions ? pick(best, cex) : cex;
  }
  return cex;
}

function pick(a: Counterexample, b: Counterexample): Counterexample {
  if (a.preemptions !== b.preemptions) return a.preemptions < b.preemptions ? a : b;
  return a.steps.length <= b.steps.length ? a : b;
}
