// Shallow bugs first, whatever the thread order (CHESS's iterative context bounding used as the
// first phase of a portfolio). The exhaustive strategies search depth-first and always try thread
// 0 first, so a violation that needs a later-listed thread to run while an earlier one is half-way
// can sit behind millions of executions (a KVM_BUG_ON found after 370 executions with
// the vCPUs listed first, not after 1.09 M with the zapper first). Most real concurrency bugs need
// few preemptions (Musuvathi & Qadeer, PLDI 2007), and a preemption-bounded search treats every
// thread alike: with bound b it tries every way of switching away at most b times, from every
// thread. So the default first runs iterative preemption bounding 0..2 within a counted budget of
// executions, then the exhaustive strategy. The budget is counted, never timed: the verdict
// depends only on the program and the options.
//
// A cell whose whole stateful search is tiny and verifies needs no first phase: before it, the
// stateful search runs within a counted budget of stored states (the probe, `cache` only); when it
// ends within it with no violation, that is the result, exactly what the unbounded search gives
// (the same deterministic search, never stopped). Otherwise (a violation, or the budget reached)
// the probe's work is dropped and the two phases run as before, so every violation reported, and
// its counterexample, is the one the two phases give. Whatever the thread order, the work before
// a shallow bug is reported grows by at most the probe's budget (both budgets are counted). On the
// main job the probe decides the small verified cells (docs/bench.md, "Session 7").
import type { Program } from "../program.js";
import type { ExploreOptions, ExploreResult } from "../result.js";
import { boundedExplore } from "./bounded.js";

export interface ShallowOptions {
  /** Largest preemption bound of the first phase (default 2). */
  preemptions?: number;
  /** Executions the first phase may use in all (default 1000). */
  maxExecutions?: number;
  /**
   * States the probe (the stateful search run first within this budget) may store; 0: no probe.
   * Only for `cache` with no caller budget, no persistent sets, one thread (explore.ts decides).
   */
  probeStates?: number;
}

export const SHALLOW_DEFAULTS: Required<ShallowOptions> = { preemptions: 2, maxExecutions: 1000, probeStates: 3000 };

/**
 * Run the preemption-bounded phase, then `exhaustive` if it found nothing. A violation found by the
 * first phase is the result (its statistics are the first phase's; `stats.shallow` says so). When
 * every violation is wanted (`allViolations`) the first phase is skipped: the exhaustive search
 * has to run to the end anyway. The first phase's cost is recorded in `stats.shallow`.
 */
export function shallowFirst(program: Program, opts: ExploreOptions, shallow: ShallowOptions, exhaustive: (opts: ExploreOptions) => ExploreResult): ExploreResult {
  if (opts.allViolations) return exhaustive(opts);
  const sh = { ...SHALLOW_DEFAULTS, ...shallow };
  const t0 = Date.now();
  if (sh.probeStates > 0) {
    // The caller's other budgets hold in the probe too; any stop (the probe's budget or the
    // caller's) drops it, and the two phases run as they would have without it.
    const probe = exhaustive({ ...opts, maxStates: Math.min(sh.probeStates, opts.maxStates ?? Infinity) });
    if (probe.stopReason === undefined && probe.violations.length === 0) {
      probe.stats.shallow = { executions: 0, steps: 0, preemptions: sh.preemptions, found: false, probeStates: sh.probeStates };
      return probe;
    }
  }
  const budget = Math.min(sh.maxExecutions, opts.maxExecutions ?? Infinity);
  const first = boundedExplore(program, sh.preemptions, { ...opts, maxExecutions: budget });
  const cost = { executions: first.stats.executions, steps: first.stats.steps, preemptions: sh.preemptions, found: first.violations.length > 0 };
  if (first.violations.length > 0) {
    first.stats.shallow = cost;
    return first;
  }
  const callerLimit = opts.maxExecutions !== undefined && first.stats.executions >= opts.maxExecutions;
  if ((first.stopReason !== undefined && first.stopReason !== "max-executions") || callerLimit) {
    // Stopped by the caller (time, memory, interrupt): nothing left for the second phase.
    first.stats.shallow = cost;
    first.verdict = "incomplete";
    first.exhaustive = false;
    return first;
  }
  const left = opts.maxExecutions !== undefined ? { maxExecutions: Math.max(1, opts.maxExecutions - first.stats.executions) } : {};
  const time = opts.timeLimitMs !== undefined ? { timeLimitMs: Math.max(1, opts.timeLimitMs - (Date.now() - t0)) } : {};
  const r = exhaustive({ ...opts, ...left, ...time });
  r.stats.shallow = cost;
  r.coverage = [...new Set([...r.coverage, ...first.coverage])].sort();
  return r;
}
