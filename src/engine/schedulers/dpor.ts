// Source-set DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas, "Optimal dynamic partial
// order reduction", POPL 2014, Algorithm 1), with await loops: a retry-loop iteration that had no
// net effect parks its thread (GenMC's await loops, Kokologiannakis et al., FMCAD 2021). See
// dfs.ts for the race analysis and the parking check, docs/design.md for the arguments.
import type { Program } from "../program.js";
import type { ExploreOptions, ExploreResult } from "../result.js";
import { dfsExplore, type DfsConfig } from "./dfs.js";

export interface DporOptions extends ExploreOptions {
  /** Park a thread after a retry-loop iteration with no net effect (default true; false: explore every iteration). */
  awaitLoops?: boolean;
  /** A masked load is independent of a write that changes none of its bits (default true; false: of no write to its cell). */
  maskedLoads?: boolean;
}

export function dporExplore(program: Program, opts: DporOptions = {}): ExploreResult {
  return dfsExplore(program, { mode: "dpor", sleepSets: true, stateCaching: false, awaitLoops: opts.awaitLoops !== false, maskedLoads: opts.maskedLoads !== false }, opts);
}

/** DPOR with a deliberately broken reduction (tests only: the oracle must catch it). */
export function dporExploreBroken(program: Program, fault: NonNullable<DfsConfig["fault"]>, opts: DporOptions = {}): ExploreResult {
  return dfsExplore(program, { mode: "dpor", sleepSets: true, stateCaching: false, fault, awaitLoops: opts.awaitLoops !== false, maskedLoads: opts.maskedLoads !== false }, opts);
}
