// Persistent sets in the stateful search (schedulers/persistent.ts; docs/design.md "Persistent sets
// in the stateful search"): fewer states, with learnt footprints, observer groups and the cycle
// proviso. Final states and violated safety properties must equal plain enumeration's, and three
// deliberately broken variants must be caught.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Atomic, defineProgram, exhaustiveExplore, type ExploreResult, type Op, type Program, type ThreadApi } from "../../src/engine/index.js";
import type { PersistentFault } from "../../src/engine/schedulers/persistent.js";
import { build, progArb, type Built, type GenOptions } from "./gen.js";
import { plain, replaysAll, run } from "./helpers.js";
import { run as cli } from "../helpers/run-cli.js";
import { fusionOf, persistentByDefault, porOf, type RunOpts } from "../../src/cli/cell.js";

const SEED = 20261203;
/** Every property but livelock (persistent sets are off while livelock is checked). */
const safety = (p: Program): string[] => p.properties.filter((x) => x !== "livelock");
const persistent = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, stateCaching: true, persistent: true, properties: safety(b.program) });
/** As the CLI runs it (--persistent-sets): with sleep sets stored with states too. */
const persistentSleep = (b: Built): ExploreResult =>
  exhaustiveExplore(b.program, { allViolations: true, stateCaching: true, sleepSets: true, persistent: true, properties: safety(b.program) });
const unreduced = (b: Built): ExploreResult => exhaustiveExplore(b.program, { allViolations: true, stateCaching: true, fusion: false, properties: safety(b.program) });
const faulty = (fault: PersistentFault) => (b: Built): ExploreResult =>
  exhaustiveExplore(b.program, { allViolations: true, stateCaching: true, persistent: true, persistentFaultForTests: fault, properties: safety(b.program) });

function differs(b: Built, f: (b: Built) => ExploreResult): boolean {
  const ref = run(b, plain, ["livelock"]);
  const got = run(b, f, ["livelock"]);
  return JSON.stringify(got.finals) !== JSON.stringify(ref.finals) || JSON.stringify(got.violated) !== JSON.stringify(ref.violated);
}

/** The index of the first of `count` generated programs on which `f` differs from plain enumeration, or -1. */
function firstCaught(o: GenOptions, count: number, seed: number, f: (b: Built) => ExploreResult): number {
  const ds = fc.sample(progArb(o), { numRuns: count, seed });
  return ds.findIndex((d) => differs(build(d), f));
}

describe("stateful search with persistent sets", () => {
  for (const [name, o, runs] of [
    ["full generator", {}, 120],
    ["spin loops", { spin: true }, 60],
    ["freeze/restore retry loops", { retry: true }, 60],
    ["critical windows and a quiescent invariant", { quiescent: true }, 60],
    ["a two-cell invariant", { invTwoCells: true }, 60],
  ] as [string, GenOptions, number][]) {
    it(`same final states and violated properties as plain enumeration, never more states (${name})`, () => {
      let fewer = 0;
      let fused = 0;
      fc.assert(
        fc.property(progArb(o), (d) => {
          const b = build(d);
          const ref = run(b, plain, ["livelock"]);
          const full = run(b, unreduced, ["livelock"]).result;
          let least = full.stats.statesStored;
          for (const f of [persistent, persistentSleep]) {
            const got = run(b, f, ["livelock"]);
            if (got.result.stats.fusedSteps > 0) fused++;
            expect(got.result.exhaustive).toBe(true);
            expect(got.finals).toEqual(ref.finals);
            expect(got.violated).toEqual(ref.violated);
            replaysAll(b.program, got.result);
            expect(got.result.stats.statesStored).toBeLessThanOrEqual(full.stats.statesStored);
            least = Math.min(least, got.result.stats.statesStored);
          }
          if (least < full.stats.statesStored) fewer++;
        }),
        { numRuns: runs, seed: SEED + name.length },
      );
      expect(fewer).toBeGreaterThan(runs / 10);
      // Fusion runs with persistent sets (fusion.ts, trailing): the combination is what is compared.
      expect(fused).toBeGreaterThan(0);
    });
  }

  it("runs while livelock is checked too, with the livelock refinement's statistics (stateful-persistent-livelock.test.ts)", () => {
    const b = build(fc.sample(progArb({ spin: true }), { numRuns: 1, seed: SEED })[0]!);
    const r = exhaustiveExplore(b.program, { stateCaching: true, persistent: true });
    expect(r.stats.por).toBeDefined();
    expect(r.stats.por!.livelockRounds).toBeGreaterThanOrEqual(0);
    expect(exhaustiveExplore(b.program, { stateCaching: true, persistent: true, properties: safety(b.program) }).stats.por!.livelockRounds).toBeUndefined();
  });

  it("the cycle proviso, on the ignoring problem: a spinning thread independent of another must not starve it", () => {
    // T0 spins forever on its own cell; T1 writes its own cell and fails an assertion. At the
    // initial state {T0} is a persistent set (T0 never touches what T1 does); without the proviso
    // T0's loop closes a cycle onto the stack and T1 never runs.
    const p = defineProgram("ignoring", (w) => {
      const x = new Atomic(w, "x");
      const y = new Atomic(w, "y");
      return {
        threads: [
          {
            name: "T0",
            body: function* (t: ThreadApi): Generator<Op, void, number> {
              for (;;) {
                t.loopHead("spin");
                yield x.store(1, "x = 1");
                yield x.store(0, "x = 0");
              }
            },
          },
          {
            name: "T1",
            body: function* (t: ThreadApi): Generator<Op, void, number> {
              yield y.store(1, "y = 1");
              t.assert(false, "T1 ran");
            },
          },
        ],
      };
    });
    const props = safety(p);
    const opts = { stateCaching: true, persistent: true, properties: props } as const;
    const ok = exhaustiveExplore(p, opts);
    expect(ok.violations.map((v) => v.property)).toEqual(["assertion"]);
    expect(ok.stats.por!.proviso).toBeGreaterThan(0);
    const broken = exhaustiveExplore(p, { ...opts, persistentFaultForTests: "no-proviso" });
    expect(broken.verdict).toBe("verified");
  });

  // Teeth: each broken variant differs from plain enumeration within a stated number of programs
  // (at the commit that added them: the 84th retry-loop program, the 5th program, the 52nd
  // program with a two-cell invariant).
  it("a missing cycle proviso is caught within 90 programs with freeze/restore retry loops", () => {
    expect(firstCaught({ retry: true }, 90, SEED, faulty("no-proviso"))).toBeGreaterThanOrEqual(0);
  });
  it("a footprint that is never learnt is caught within 10 programs", () => {
    expect(firstCaught({}, 10, SEED, faulty("unlearnt"))).toBeGreaterThanOrEqual(0);
  });
  it("fused steps judged by their first op only (fusion going on with shared ops) are caught within 40 programs", () => {
    expect(firstCaught({}, 40, SEED, faulty("fused-footprint"))).toBeGreaterThanOrEqual(0);
  });
  it("steps that write one invariant's objects, allowed to commute, are caught within 60 programs", () => {
    expect(firstCaught({ invTwoCells: true }, 60, SEED, faulty("visible"))).toBeGreaterThanOrEqual(0);
  });

  it("persistent sets are the default for a scenario with 4 threads or more (one worker, no symmetry, POR on), and provenance says so", () => {
    const o = { strategy: "cache" } as RunOpts;
    expect(porOf(o, undefined, false, 4)).toEqual({ por: "persistent-sets" });
    expect(porOf(o, ["assertion"], false, 3)).toEqual({ por: "sleep-sets" });
    expect(porOf(o, undefined, false, 3)).toEqual({ por: "off" });
    expect(porOf({ ...o, por: false }, undefined, false, 5)).toEqual({ por: "off" });
    expect(porOf(o, undefined, true, 5)).toEqual({ por: "off" });
    expect(porOf({ ...o, workers: 1 }, undefined, false, 5)).toEqual({ por: "off" });
    expect(porOf(o, undefined, false, undefined)).toEqual({ por: "off" });
    expect(persistentByDefault({ ...o, strategy: "dpor" } as RunOpts, false, 5)).toBe(false);
    expect(fusionOf(o, porOf(o, undefined, false, 4))).toBe(true);
  });

  it("CLI: --persistent-sets on zap k=2 (safety properties): same verdict, fewer states, recorded in provenance; --no-por and others refused", async () => {
    const file = "bench/scaling/zap-k2.yaml";
    const props = "assertion,deadlock,mirror-sept-agreement,mirror-sept-agreement-final,no-free-while-mapped,no-stale-private-leaf,no-kvm-bug-on";
    type Cell = { verdict: string; stats: { statesStored: number; fusedSteps: number; por?: { reduced: number } }; provenance: { reductions: { por?: string; fusion: boolean } } };
    const cell = async (extra: string[]): Promise<Cell> => (JSON.parse((await cli(["check", file, "--json", "--no-shallow", "--properties", props, ...extra])).out) as { cells: Cell[] }).cells[0]!;
    const sleepSets = await cell([]);
    const ps = await cell(["--persistent-sets"]);
    expect(sleepSets.verdict).toBe("verified");
    expect(ps.verdict).toBe("verified");
    expect(sleepSets.provenance.reductions.por).toBe("sleep-sets");
    expect(ps.provenance.reductions.por).toBe("persistent-sets");
    // Sleep sets classify a step by its pending op, so fusion does not run with them (dfs.ts);
    // persistent sets run with fusion that goes on only with private ops (fusion.ts, trailing).
    expect(sleepSets.provenance.reductions.fusion).toBe(false);
    expect(ps.provenance.reductions.fusion).toBe(true);
    expect(ps.stats.fusedSteps).toBeGreaterThan(0);
    expect(ps.stats.por!.reduced).toBeGreaterThan(0);
    expect(ps.stats.statesStored).toBeLessThan(sleepSets.stats.statesStored);
    for (const extra of [["--no-por"], ["--workers", "2"], ["--strategy", "dpor"]]) {
      const r = await cli(["check", file, "--persistent-sets", ...extra]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toContain("--persistent-sets");
    }
  });
});
