// Source-set DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas, "Optimal dynamic partial
// order reduction", POPL 2014, Algorithm 1). See dfs.ts for the race analysis.
import type { Program } from "../program.js";
import type { ExploreOptions, ExploreResult } from "../result.js";
import { dfsExplore, type DfsConfig } from "./dfs.js";

export function dporExplore(program: Program, opts: ExploreOptions = {}): ExploreResult {
  return dfsExplore(program, { mode: "dpor", sleepSets: true, stateCaching: false }, opts);
}

/** DPOR with a deliberately broken reduction (tests only: the oracle must catch it). */
export function dporExploreBroken(program: Program, fault: NonNullable<DfsConfig["fault"]>, opts: ExploreOptions = {}): ExploreResult {
  return dfsExplore(program, { mode: "dpor", sleepSets: true, stateCaching: false, fault }, opts);
}
