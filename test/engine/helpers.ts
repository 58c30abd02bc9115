// Shared test helpers: running the reductions on a built program and checking counterexamples.
import { expect } from "vitest";
import { dporExplore, exhaustiveExplore, parseSchedule, replay, type Counterexample, type ExploreResult, type Program, type Stats } from "../../src/engine/index.js";
import { violated, type Built } from "./gen.js";

export interface Outcome {
  finals: string[];
  violated: string[];
  result: ExploreResult;
}

/** Run one strategy on a built program and collect its final states and violated properties. */
export function run(b: Built, f: (b: Built) => ExploreResult, ignore: readonly string[] = []): Outcome {
  b.finals.clear();
  const result = f(b);
  const out = { finals: [...b.finals].sort(), violated: violated(result).filter((p) => !ignore.includes(p)), result };
  b.finals.clear();
  return out;
}

/** The reference: plain enumeration of every interleaving of model steps (no fusion, no reduction). */
export const plain = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, fusion: false });
export const sleep = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, sleepSets: true });
export const cache = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, stateCaching: true });
export const dpor = (b: Built): ExploreResult => dporExplore(b.program, { allViolations: true });

/** A counterexample replays to the same violated property, through the same steps. */
export function replaysTo(program: Program, cex: Counterexample): void {
  const rep = replay(program, parseSchedule(cex.schedule));
  expect(rep.violations.map((v) => v.property)).toContain(cex.property);
  expect(rep.steps).toEqual(cex.steps);
}

/** Every counterexample of a result replays. */
export function replaysAll(program: Program, r: ExploreResult): void {
  for (const cex of r.violations) replaysTo(program, cex);
}

/** Statistics without the wall-clock fields (for determinism checks). */
export function timeless(s: Stats): Omit<Stats, "wallMs" | "firstViolationMs"> {
  const { wallMs: _w, firstViolationMs: _f, ...rest } = s;
  return rest;
}
