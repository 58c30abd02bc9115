// What a search with `--workers N` reports, whatever N and however the threads shared the work
// (docs/design.md, "All cores on one cell", "Deterministic output").
//
// The parallel search itself is not deterministic in what it finds first: without
// --all-violations it stops at the first violation any worker meets, so with several violated
// properties the one it returns depends on timing; so does whether a counted budget stops it
// before or after it meets one. What is deterministic:
//   - whether it completes without a violation (then the program has none, and the budgets that
//     decide are exact: the states stored are one worker's set, POR on or off; with POR off the
//     executions and state-graph edges are one worker's too; with POR on the executions budget
//     does not apply under --workers, explore.ts);
//   - the canonical search below, which does not look at what the workers found;
//   - the sequential search (one worker), run on the cell's thread.
// So: a search that completes without a violation is reported as it is. Otherwise the verdict is
// the canonical search's violation if it finds one within its counted budget, and else the
// sequential search's result (for N = 1 that is the search already run; for N > 1 it is run now).
// Every branch depends only on the program and the options. With --all-violations the set of
// violated properties comes from a search that completed (its set is every property violated in
// a reachable state, the same for every N), or else from the sequential search; each property's
// counterexample is the canonical one, or else the sequential search's.
import { explore, type StrategyOptions } from "../explore.js";
import { minimizeWithin, type MinimizeOptions, type MinimizeResult } from "../minimize.js";
import type { Program } from "../program.js";
import type { Counterexample, ExploreResult } from "../result.js";
import { dfsExplore } from "../schedulers/dfs.js";

export interface CanonicalSearchResult {
  /** The first shortest violation at the least preemption bound that has one, in the bounded search's fixed order. */
  found?: Counterexample;
  /** The counted budget (or time limit, stop request) that cut the search short. */
  stopReason?: string;
  executions: number;
}

/**
 * Iterative preemption bounding, 0, 1, 2, ...: each bound searched to `maxSteps` for the shortest
 * violation of `property` (any checked property when undefined). Stops at the first bound that
 * has one, at the first bound whose search a budget cuts short (`budget` executions per bound,
 * `maxExecutions` in all), or when a bound explores no more executions than the one before (the
 * bound no longer cuts anything: every execution was explored).
 */
export function canonicalSearch(program: Program, property: string | undefined, opts: MinimizeOptions = {}): CanonicalSearchResult {
  const perBound = opts.budget ?? 200_000;
  const total = opts.maxExecutions ?? Infinity;
  const t0 = Date.now();
  let used = 0;
  let before = -1;
  for (let b = 0; ; b++) {
    const left = Math.min(perBound, total - used);
    const timeLeft = opts.timeLimitMs !== undefined ? opts.timeLimitMs - (Date.now() - t0) : undefined;
    if (left <= 0) return { stopReason: "max-executions", executions: used };
    if (timeLeft !== undefined && timeLeft <= 0) return { stopReason: "time-limit", executions: used };
    if (opts.shouldStop?.()) return { stopReason: "interrupted", executions: used };
    const r = dfsExplore(
      program,
      { mode: "bounded", sleepSets: false, stateCaching: false, preemptionBound: b, shortest: true, maxDepth: opts.maxSteps ?? Infinity, ...(property !== undefined ? { onlyProperty: property } : {}) },
      { ...opts, maxExecutions: left, allViolations: false, ...(timeLeft !== undefined ? { timeLimitMs: Math.max(1, timeLeft) } : {}) },
    );
    used += r.stats.executions;
    const found = r.violations[0];
    if (found) return { found, executions: used };
    if (r.stopReason !== undefined) return { stopReason: r.stopReason, executions: used };
    if (r.stats.executions === before) return { executions: used };
    before = r.stats.executions;
  }
}

export interface CanonicalOutcome {
  result: ExploreResult;
  /** One per violation of `result`, in its order: canonical (minimal), or the sequential search's minimized. */
  counterexamples: MinimizeResult[];
  /** Which rule gave the verdict (tests, --json). */
  decidedBy: "search" | "canonical" | "sequential";
}

/**
 * explore() with `workers` set, reported so that the output is the same for every number of
 * workers (see the top of this file). `min`: the budgets of the canonical search and of
 * minimization; `minimize: false` leaves a sequential search's counterexample as it was found.
 */
export function canonicalExplore(program: Program, opts: StrategyOptions, min: MinimizeOptions & { minimize?: boolean }): CanonicalOutcome {
  const r = explore(program, opts);
  const single = (opts.workers ?? 1) <= 1;
  let seq: ExploreResult | undefined = single ? r : undefined;
  const sequential = (): ExploreResult => {
    if (seq === undefined) {
      const o: StrategyOptions = { ...opts, workers: 1 };
      delete o.source;
      seq = explore(program, o);
    }
    return seq;
  };
  const { minimize: doMinimize, ...mopts } = min;
  const asFound = (v: Counterexample): MinimizeResult => (doMinimize === false ? { counterexample: v, minimal: true, executions: 0 } : minimizeWithin(program, v, { ...mopts, canonical: false }));
  if (!opts.allViolations) {
    if (r.violations.length === 0 && r.exhaustive) return { result: r, counterexamples: [], decidedBy: "search" };
    const c = canonicalSearch(program, undefined, mopts);
    if (c.found) {
      const result: ExploreResult = { ...r, verdict: "violated", exhaustive: false, violations: [c.found] };
      delete result.stopReason;
      return { result, counterexamples: [{ counterexample: c.found, minimal: true, executions: c.executions }], decidedBy: "canonical" };
    }
    const s = sequential();
    return { result: s, counterexamples: s.violations.map(asFound), decidedBy: "sequential" };
  }
  // --all-violations: the set from a search that completed, each counterexample canonical.
  const base = r.exhaustive ? r : sequential();
  const counterexamples = base.violations.map((v): MinimizeResult => {
    const c = canonicalSearch(program, v.property, mopts);
    if (c.found) return { counterexample: c.found, minimal: true, executions: c.executions };
    return asFound(sequential().violations.find((x) => x.property === v.property) ?? v);
  });
  const result: ExploreResult = { ...base, violations: counterexamples.map((c) => c.counterexample) };
  return { result, counterexamples, decidedBy: base === r ? "search" : "sequential" };
}
