// One entry point over every strategy, selected by name.
import type { Program } from "./program.js";
import type { ExploreOptions, ExploreResult } from "./result.js";
import { boundedExplore } from "./schedulers/bounded.js";
import { dporExplore } from "./schedulers/dpor.js";
import { exhaustiveExplore } from "./schedulers/exhaustive.js";
import { pctExplore } from "./schedulers/pct.js";
import { randomExplore } from "./schedulers/random.js";

export const STRATEGIES = ["dpor", "exhaustive", "cache", "bounded", "pct", "random"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export interface StrategyOptions extends ExploreOptions {
  strategy?: StrategyName;
  /** bounded: the largest preemption bound (default 2). */
  preemptions?: number;
  /** pct: bug depth d (default 3). */
  depth?: number;
}

export function explore(program: Program, opts: StrategyOptions = {}): ExploreResult {
  switch (opts.strategy ?? "dpor") {
    case "dpor":
      return dporExplore(program, opts);
    case "exhaustive":
      return exhaustiveExplore(program, opts);
    case "cache":
      return exhaustiveExplore(program, { ...opts, stateCaching: true });
    case "bounded":
      return boundedExplore(program, opts.preemptions ?? 2, opts);
    case "pct":
      return pctExplore(program, opts.depth ?? 3, opts);
    case "random":
      return randomExplore(program, opts);
  }
}
