// "No strategy contradicts another" (issue 12, "Proof that it is right"): on the same program every
// exhaustive strategy (plain enumeration, exhaustive with fusion and sleep sets, dpor, cache, cache
// with persistent sets, cache on 2 workers) reports the same violated properties, so none says
// "verified" where another found a violation; the non-exhaustive ones (bounded, pct, random, and
// the default strategy, which stops at its first violation) report only properties the exhaustive
// ones report, and the default strategy (shallow phase, then cache) is violated iff they are. Random
// programs and a few built-in cells (≈ 3.5 s CPU, 2.4 of them the 2-worker runs). docs/design.md "Proof obligations".
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { explore, exhaustiveExplore, type ExploreResult, type Program, type StrategyOptions } from "../../src/engine/index.js";
import { cellProgram, runCell } from "../../src/cli/cell.js";
import { SCENARIOS } from "../../src/kvm/index.js";
import { build, progArb, violated } from "./gen.js";

const SEED = 20261212;
const MODULE = new URL("./workers-programs.ts", import.meta.url).href;
const CELL = new URL("../../src/cli/cell.ts", import.meta.url).href;

/** How a worker thread rebuilds the program: a random description, or a built-in cell's spec. */
type Source = { module: string; export: string; arg: unknown };
type Run = (p: Program, src: Source, o: StrategyOptions) => ExploreResult;
const all = { allViolations: true } as const;
const exhaustives: [string, Run][] = [
  ["plain", (p, _s, o) => exhaustiveExplore(p, { ...all, ...o, fusion: false })],
  ["exhaustive", (p, _s, o) => explore(p, { ...all, ...o, strategy: "exhaustive", shallow: false })],
  ["dpor", (p, _s, o) => explore(p, { ...all, ...o, strategy: "dpor", shallow: false })],
  ["cache", (p, _s, o) => explore(p, { ...all, ...o, strategy: "cache", shallow: false })],
  ["cache+persistent", (p, _s, o) => explore(p, { ...all, ...o, strategy: "cache", shallow: false, persistent: true })],
  ["cache/2 workers", (p, source, o) => explore(p, { ...all, ...o, strategy: "cache", shallow: false, workers: 2, source })],
];
const partial: [string, (p: Program, o: StrategyOptions) => ExploreResult][] = [
  ["bounded 2", (p, o) => explore(p, { ...all, ...o, strategy: "bounded", preemptions: 2 })],
  ["pct", (p, o) => explore(p, { ...all, ...o, strategy: "pct", seed: 7, maxExecutions: 50 })],
  ["random", (p, o) => explore(p, { ...all, ...o, strategy: "random", seed: 7, maxExecutions: 50 })],
  ["default (shallow first)", (p, o) => explore(p, { ...o, strategy: "cache" })],
];

/** Violated safety properties per strategy; livelock aside (dpor leaves it undecided; cache decides it). */
function agree(make: () => Program, src: Source, unreducedToo: boolean, o: StrategyOptions = {}): { ref: string[]; livelock: boolean } {
  const got = exhaustives.slice(unreducedToo ? 0 : 2).map(([name, f]) => {
    const r = f(make(), src, o);
    expect(r.exhaustive, name).toBe(true);
    return { name, r, safety: violated(r).filter((x) => x !== "livelock") };
  });
  const ref = got[0]!.safety;
  for (const g of got) expect(g.safety, g.name).toEqual(ref);
  // The stateful searches that decide livelock agree on it with the unreduced one.
  const ll = (r: ExploreResult): boolean => r.violations.some((v) => v.property === "livelock");
  const stateful = got.filter((g) => g.name.startsWith("cache"));
  const cacheLl = ll(stateful[0]!.r);
  for (const g of stateful) if (!g.r.notDecided.includes("livelock")) expect(ll(g.r), g.name).toBe(cacheLl);
  for (const [name, f] of partial) {
    const r = f(make(), o);
    for (const v of violated(r)) expect(v === "livelock" ? cacheLl : ref.includes(v), `${name} reports ${v}`).toBe(true);
    // The default strategy stops at its first violation, but decides: violated iff the exhaustive ones found one.
    if (name.startsWith("default")) expect(r.verdict, name).toBe(ref.length > 0 || (cacheLl && !r.notDecided.includes("livelock")) ? "violated" : "verified");
  }
  return { ref, livelock: cacheLl };
}

describe("no strategy contradicts another", () => {
  it("random programs (retry loops, windows, two-cell invariants): every exhaustive strategy the same violated properties, the others a subset", () => {
    const ds = fc.sample(progArb({ spin: true, quiescent: true, invTwoCells: true, maxThreads: 3 }), { numRuns: 20, seed: SEED });
    let violating = 0;
    let livelocks = 0;
    for (const d of ds) {
      const { ref, livelock } = agree(() => build(structuredClone(d)).program, { module: MODULE, export: "genProgram", arg: d }, true);
      if (ref.length > 0) violating++;
      if (livelock) livelocks++;
    }
    // Both verdicts occur.
    expect(violating).toBeGreaterThan(3);
    expect(violating).toBeLessThan(ds.length);
    expect(livelocks).toBeGreaterThan(0);
  });

  it("built-in cells, violated and verified: every strategy (plain enumeration and exhaustive aside: no caching) agrees with the expected verdict", () => {
    for (const [name, preset] of [
      ["fault-vs-accept", "v11"],
      ["fault-vs-accept", "upstream-6.19"],
      ["pre-fault-vs-memslot-delete", "upstream-6.16"],
    ] as const) {
      const s = SCENARIOS[name]!;
      const e = s.expected[preset]!;
      const spec = { kind: "scenario", scenario: s, builtin: true, source: "built-in", preset, overrides: {}, opts: { strategy: "cache" } } as const;
      const { ref, livelock } = agree(() => cellProgram(spec), { module: CELL, export: "cellProgram", arg: spec }, false, { properties: s.properties ?? [...cellProgram(spec).properties] });
      if (e === "verified") expect([ref, livelock], `${name}@${preset}`).toEqual([[], false]);
      else if (e.violated === "livelock") expect(livelock, `${name}@${preset}`).toBe(true);
      else expect(ref, `${name}@${preset}`).toContain(e.violated);
    }
  });
});

// Stats.replaySteps counts values re-fed to rebuild thread code from its records; the records belong
// to the Program object (execution.ts), so a second search of the same object re-feeds less. The
// CLI builds each cell's program anew and runs a fixed sequence on it (shallow phase, search,
// minimization), so what `--json` prints is a function of the cell and its options (with
// --workers N the counts vary with timing, as design.md says).
describe("replaySteps in what the CLI prints", () => {
  it("a cell run twice in one process gives the same statistics, replaySteps included; one program object searched twice does not", () => {
    const spec = { kind: "scenario", scenario: SCENARIOS["fault-vs-accept"]!, builtin: true, source: "built-in", preset: "upstream-6.19", overrides: {}, opts: { strategy: "cache" } } as const;
    const stats = (): unknown => {
      const { wallMs: _w, firstViolationMs: _f, ...rest } = runCell(spec).stats;
      return rest;
    };
    const first = stats();
    expect((first as { replaySteps: number }).replaySteps).toBeGreaterThan(0);
    expect(stats()).toEqual(first);
    const p = cellProgram(spec);
    const a = explore(p, { strategy: "cache", shallow: false, allViolations: true }).stats.replaySteps;
    const b = explore(p, { strategy: "cache", shallow: false, allViolations: true }).stats.replaySteps;
    expect(b).toBeLessThan(a);

  });
});
