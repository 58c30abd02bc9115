// Uniform random walk: at every step a uniformly random enabled thread, every choice uniform.
import type { Program } from "../program.js";
import type { ExploreOptions, ExploreResult } from "../result.js";
import { sample } from "./sampling.js";
import { randomBit } from "./walk.js";

export function randomExplore(program: Program, opts: ExploreOptions = {}): ExploreResult {
  return sample(program, { name: "random", begin: (_k, random) => (enabled) => randomBit(enabled, random()) }, opts);
}
