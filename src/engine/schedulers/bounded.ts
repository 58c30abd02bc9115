// Iterative context bounding (Musuvathi & Qadeer, PLDI 2007, as in CHESS): explore every execution
// with at most 0 preemptions, then 1, 2, ... up to `maxPreemptions`. Shallow bugs come first.
import type { Program } from "../program.js";
import type { ExploreOptions, ExploreResult } from "../result.js";
import { dfsExplore } from "./dfs.js";

export function boundedExplore(program: Program, maxPreemptions: number, opts: ExploreOptions = {}): ExploreResult {
  if (!Number.isInteger(maxPreemptions) || maxPreemptions < 0) throw new Error(`preemption bound must be a non-negative integer, got ${maxPreemptions}`);
  let total: ExploreResult | undefined;
  const t0 = Date.now();
  for (let b = 0; b <= maxPreemptions; b++) {
    const left = opts.maxExecutions !== undefined ? opts.maxExecutions - (total?.stats.executions ?? 0) : undefined;
    if (total && left !== undefined && left <= 0) {
      // The budget is spent: the next bound would still run one execution.
      total.stopReason = "max-executions";
      total.verdict = "incomplete";
      total.exhaustive = false;
      break;
    }
    const timeLeft = opts.timeLimitMs !== undefined ? opts.timeLimitMs - (Date.now() - t0) : undefined;
    const r = dfsExplore(program, { mode: "bounded", sleepSets: false, stateCaching: false, preemptionBound: b }, {
      ...opts, ...(left !== undefined ? { maxExecutions: left } : {}), ...(timeLeft !== undefined ? { timeLimitMs: Math.max(1, timeLeft) } : {}),
    });
    if (total) {
      for (const k of ["complete", "blocked", "cycles", "sleepPruned", "cachePruned", "violating", "executions", "steps", "fusedSteps", "fusionRestarts", "replaySteps"] as const)
        r.stats[k] += total.stats[k];
      r.stats.maxDepth = Math.max(r.stats.maxDepth, total.stats.maxDepth);
      r.coverage = [...new Set([...total.coverage, ...r.coverage])].sort();
      if (r.stats.firstViolationMs >= 0) r.stats.firstViolationMs += Date.now() - t0 - r.stats.wallMs;
    }
    r.stats.wallMs = Date.now() - t0;
    r.stats.strategy = `bounded(0..${b})`;
    total = r;
    if ((r.violations.length > 0 && !opts.allViolations) || r.stopReason) break;
  }
  return total!;
}
