// Minimization of a counterexample: fewest preemptions first, then fewest steps, still violating
// the same property. Iterative preemption bounding finds the least bound that shows the property;
// within it a depth-bounded search keeps the shortest violating execution.
//
// Minimization obeys the same counted budgets as the search (executions in total over all bounds,
// steps per execution, states) and the same time limit and stop request. When one of them cuts it
// short, the best counterexample found so far is returned with `minimal: false`: it is still a
// real violating execution (the input one, or a shorter one that a bound found), just not proved
// minimal.
import type { Program } from "./program.js";
import type { Counterexample, ExploreOptions } from "./result.js";
import { dfsExplore } from "./schedulers/dfs.js";

export interface MinimizeOptions extends ExploreOptions {
  /** Executions allowed per preemption bound (default 200 000). `maxExecutions` caps the total. */
  budget?: number;
  /**
   * A result that does not depend on the counterexample given (the parallel search finds a
   * different one each run): each bound is searched to `maxSteps`, not to the given one's
   * length, and what a bound finds replaces the given one. The result is then the first
   * shortest violation at the least bound that has one, in the bounded search's fixed order,
   * unless a budget cuts the search short (then the given one may be returned).
   */
  canonical?: boolean;
}

export interface MinimizeResult {
  counterexample: Counterexample;
  /** False when a budget, the time limit or a stop request cut the search short. */
  minimal: boolean;
  /** The limit that cut it short. */
  stopReason?: string;
  executions: number;
}

export function minimizeWithin(program: Program, cex: Counterexample, opts: MinimizeOptions = {}): MinimizeResult {
  const perBound = opts.budget ?? 200_000;
  const total = opts.maxExecutions ?? Infinity;
  const t0 = Date.now();
  let used = 0;
  let best = cex;
  for (let b = 0; b <= cex.preemptions; b++) {
    const left = Math.min(perBound, total - used);
    const timeLeft = opts.timeLimitMs !== undefined ? opts.timeLimitMs - (Date.now() - t0) : undefined;
    if (left <= 0 || (timeLeft !== undefined && timeLeft <= 0) || opts.shouldStop?.())
      return { counterexample: best, minimal: false, stopReason: left <= 0 ? "max-executions" : timeLeft !== undefined && timeLeft <= 0 ? "time-limit" : "interrupted", executions: used };
    const r = dfsExplore(
      program,
      { mode: "bounded", sleepSets: false, stateCaching: false, preemptionBound: b, onlyProperty: cex.property, shortest: true, maxDepth: opts.canonical ? (opts.maxSteps ?? Infinity) : cex.steps.length },
      { ...opts, maxExecutions: left, allViolations: false, ...(timeLeft !== undefined ? { timeLimitMs: Math.max(1, timeLeft) } : {}) },
    );
    used += r.stats.executions;
    const found = r.violations[0];
    if (found) best = opts.canonical ? found : pick(found, best);
    // A stopped search at this bound proves nothing about this bound or the ones above it.
    if (r.stopReason !== undefined) return { counterexample: best, minimal: false, stopReason: r.stopReason, executions: used };
    if (found) return { counterexample: best, minimal: true, executions: used };
  }
  return { counterexample: best, minimal: true, executions: used };
}

export function minimize(program: Program, cex: Counterexample, opts: MinimizeOptions = {}): Counterexample {
  return minimizeWithin(program, cex, opts).counterexample;
}

function pick(a: Counterexample, b: Counterexample): Counterexample {
  if (a.preemptions !== b.preemptions) return a.preemptions < b.preemptions ? a : b;
  return a.steps.length <= b.steps.length ? a : b;
}
