// Shared driver for strategies that sample executions one by one (random walk, PCT).
import { Execution, type Oracle } from "../execution.js";
import { FusionState } from "../fusion.js";
import type { Op } from "../ops.js";
import type { Program } from "../program.js";
import { makeCounterexample, newStats, type Counterexample, type ExploreOptions, type ExploreResult } from "../result.js";
import { rng, walk } from "./walk.js";

export interface Sampler {
  name: string;
  /** Prepare execution number `k`; return the thread picker for it. */
  begin(k: number, random: () => number, ex: Execution): (enabled: number, i: number) => number;
  /** Learn from a finished execution (e.g. its length). */
  end?(steps: number): void;
}

class RandomOracle implements Oracle {
  constructor(public random: () => number) {}
  choose(_tid: number, k: number, _op: Op): number {
    return Math.floor(this.random() * k);
  }
}

export const DEFAULT_SAMPLES = 10_000;

export function sample(program: Program, sampler: Sampler, opts: ExploreOptions): ExploreResult {
  const t0 = Date.now();
  const stats = newStats(sampler.name);
  const random = rng(opts.seed ?? 1);
  const oracle = new RandomOracle(random);
  const ex = new Execution(program, oracle, opts.properties ? new Set(opts.properties) : null, { memo: opts.memo, unsoundMemo: opts.unsoundMemoForTests });
  // Fusion: a sampled execution is a run of model steps whatever was fused, so a fact learnt late
  // (fusion.ts) costs only some executions not sampled, never a false result: no restart needed.
  if (opts.fusion !== false || opts.unsoundFusionForTests) {
    ex.fus = new FusionState(program);
    ex.fus.unsound = opts.unsoundFusionForTests === true;
  }
  ex.stopOnFatal = !opts.allViolations;
  const violations: Counterexample[] = [];
  const seen = new Set<string>();
  const max = opts.maxExecutions ?? DEFAULT_SAMPLES;
  let stopReason: string | undefined;
  let lastProgress = t0;
  for (let k = 0; k < max; k++) {
    if ((k & 63) === 0) {
      const now = Date.now();
      if (opts.timeLimitMs !== undefined && now - t0 >= opts.timeLimitMs) {
        stopReason = "time-limit";
        break;
      }
      if (opts.shouldStop?.()) {
        stopReason = "interrupted";
        break;
      }
      if (opts.onProgress && now - lastProgress >= 100) {
        lastProgress = now;
        stats.wallMs = now - t0;
        opts.onProgress(stats);
      }
    }
    stats.executions++;
    ex.reset();
    const pick = sampler.begin(k, random, ex);
    const enabledAt: number[] = [];
    const end = walk(ex, pick, enabledAt, opts.maxSteps);
    stats.steps += ex.microLength;
    stats.fusedSteps += ex.microLength - ex.length;
    if (ex.length > stats.maxDepth) stats.maxDepth = ex.length;
    sampler.end?.(ex.length);
    if (end === "complete") stats.complete++;
    else if (end === "deadlock") stats.blocked++;
    else if (end === "cycle") stats.cycles++;
    if (ex.violations.some((v) => v.fatal)) stats.violating++;
    let stop = false;
    for (const v of ex.violations) {
      if (seen.has(v.property)) continue;
      seen.add(v.property);
      if (stats.firstViolationMs < 0) stats.firstViolationMs = Date.now() - t0;
      violations.push(makeCounterexample(ex, v, enabledAt));
      if (!opts.allViolations) stop = true;
    }
    if (stop) break;
    if (end === "step-limit") {
      stopReason = "max-steps";
      break;
    }
  }
  stats.wallMs = Date.now() - t0;
  const res: ExploreResult = {
    program: program.name,
    verdict: violations.length > 0 ? "violated" : "no-violation-found",
    exhaustive: false,
    violations,
    stats,
    coverage: [...ex.coverage].sort(),
    notDecided: [],
  };
  if (stopReason) res.stopReason = stopReason;
  return res;
}
