// One entry point over every strategy, selected by name.
import { MAX_THREADS, type Program } from "./program.js";
import type { ExploreOptions, ExploreResult } from "./result.js";
import { boundedExplore } from "./schedulers/bounded.js";
import { dporExplore } from "./schedulers/dpor.js";
import { exhaustiveExplore } from "./schedulers/exhaustive.js";
import { pctExplore } from "./schedulers/pct.js";
import { randomExplore } from "./schedulers/random.js";
import { SHALLOW_DEFAULTS, shallowFirst, type ShallowOptions } from "./schedulers/portfolio.js";
import { parallelCache, type ProgramSource } from "./parallel/search.js";
import type { ParallelFault } from "./parallel/protocol.js";

export const STRATEGIES = ["dpor", "exhaustive", "cache", "bounded", "pct", "random"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export interface StrategyOptions extends ExploreOptions {
  strategy?: StrategyName;
  /** bounded: the largest preemption bound (default 2). */
  preemptions?: number;
  /** pct: bug depth d (default 3). */
  depth?: number;
  /**
   * dpor, exhaustive, cache: first look for shallow bugs with a preemption-bounded search within a
   * counted budget (schedulers/portfolio.ts), so that what is found does not depend on the order
   * the threads are listed in. Default on; false turns it off.
   */
  shallow?: boolean | ShallowOptions;
  /**
   * cache: partial-order reduction in the stateful search (sleep sets stored with states), on by
   * default; sleep sets are off while livelock is checked (that needs every edge of the state
   * graph); persistent sets (`persistent`) keep livelock decided (docs/design.md).
   */
  por?: boolean;
  /**
   * cache: the search on this many worker threads sharing one visited set (parallel/search.ts;
   * more than 1 needs `source`). When given (1 included), the violations found are listed in the
   * program's property order, so the result does not depend on which worker found what first.
   */
  workers?: number;
  /** How a worker thread rebuilds the program (parallel search). */
  source?: ProgramSource;
  /** Test hook: a deliberately broken sharing in the parallel search. */
  parallelFault?: ParallelFault;
  /** Test hook: the parallel search's shared table starts at 2^this slots (small: it grows often). */
  parallelTableLog2?: number;
}

export function explore(program: Program, opts: StrategyOptions = {}): ExploreResult {
  if (program.threads.length > MAX_THREADS) throw new Error(`program '${program.name}': ${program.threads.length} threads; exploration handles at most ${MAX_THREADS} (a simulation-only program)`);
  const strategy = opts.strategy ?? "dpor";
  if (opts.shallow !== false && (strategy === "dpor" || strategy === "exhaustive" || strategy === "cache"))
    return shallowFirst(program, opts, { ...(probeFits(strategy, opts) ? {} : { probeStates: 0 }), ...(opts.shallow === true || opts.shallow === undefined ? {} : opts.shallow) }, (o) => exploreOne(program, { ...opts, ...o, strategy }));
  return exploreOne(program, opts);
}

/**
 * The shallow phase's probe (portfolio.ts) runs for the plain stateful search only: a states
 * budget no larger than the probe's, a time limit, persistent sets or --workers keep the two
 * phases as they were.
 */
function probeFits(strategy: string, opts: StrategyOptions): boolean {
  return strategy === "cache" && (opts.maxStates === undefined || opts.maxStates > SHALLOW_DEFAULTS.probeStates) && opts.timeLimitMs === undefined && opts.persistent !== true && opts.workers === undefined;
}

function exploreOne(program: Program, opts: StrategyOptions): ExploreResult {
  switch (opts.strategy ?? "dpor") {
    case "dpor":
      return dporExplore(program, opts);
    case "exhaustive":
      return exhaustiveExplore(program, opts);
    case "cache": {
      if (opts.workers !== undefined && opts.por !== false && opts.properties !== undefined && !opts.properties.includes("livelock")) {
        // With --workers and POR on, how many executions the search takes depends on the order the
        // threads reach states in (the sleep sets stored with them): the executions budget does
        // not decide, the states budget does (the same states for every N; docs/design.md).
        opts = { ...opts };
        delete opts.maxExecutions;
      }
      // Under --workers (any N, so that N = 1 reports as N > 1 does) the step budget does not cut
      // the stateful search's paths: it would not decide alike for every N (ExploreOptions.unboundedPaths).
      if (opts.workers !== undefined) opts = { ...opts, unboundedPaths: true };
      if ((opts.workers ?? 1) > 1 && opts.source !== undefined)
        return parallelCache(program, opts, { workers: opts.workers!, source: opts.source, sleepSets: opts.por !== false, ...(opts.parallelFault ? { fault: opts.parallelFault } : {}), ...(opts.parallelTableLog2 !== undefined ? { tableLog2: opts.parallelTableLog2 } : {}) });
      const r = exhaustiveExplore(program, { ...opts, stateCaching: true, sleepSets: opts.por !== false, persistent: opts.persistent === true && opts.por !== false });
      if (opts.workers !== undefined) r.violations.sort((a, b) => program.properties.indexOf(a.property) - program.properties.indexOf(b.property));
      return r;
    }
    case "bounded":
      return boundedExplore(program, opts.preemptions ?? 2, opts);
    case "pct":
      return pctExplore(program, opts.depth ?? 3, opts);
    case "random":
      return randomExplore(program, opts);
  }
}
