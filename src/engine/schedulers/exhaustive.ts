// Plain exhaustive enumeration of all interleavings (the reference the reductions are tested
// against), optionally with sleep sets or a visited set of state fingerprints.
import type { Program } from "../program.js";
import type { ExploreOptions, ExploreResult } from "../result.js";
import { dfsExplore } from "./dfs.js";

export function exhaustiveExplore(program: Program, opts: ExploreOptions & { sleepSets?: boolean; stateCaching?: boolean } = {}): ExploreResult {
  return dfsExplore(program, { mode: "exhaustive", sleepSets: opts.sleepSets ?? false, stateCaching: opts.stateCaching ?? false }, opts);
}
