// Symmetry reduction (src/engine/symmetry.ts), against the search without it. Random programs
// whose threads run the same code (test/engine/gen.ts), on shared objects (the threads are
// exchanged) or each on its own copy of every object (threads and objects are exchanged): the
// violated properties equal the unreduced search's and plain enumeration's, every counterexample
// replays on the original program, and no more states are stored. A wrong declaration is refused
// by the check, and when the check is bypassed the differential catches it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Atomic, defineProgram, exhaustiveExplore, Symmetry, SymmetryError, type ExploreResult, type Op, type Program, type SymmetryGenerator, type ThreadApi } from "../../src/engine/index.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run as cli } from "../helpers/run-cli.js";
import { buildProgram, KVM_PROPERTIES, PRESETS, SCENARIOS, symmetryGenerators } from "../../src/kvm/index.js";
import { explore, parseSchedule, replay } from "../../src/engine/index.js";
import { build, progArb, type Built, type ProgDesc } from "./gen.js";
import { loadScenarioFile } from "../../src/cli/scenario-file.js";
import { plain, replaysAll, run } from "./helpers.js";

const SEED = 20261203;
const safety = (p: Program): string[] => p.properties.filter((x) => x !== "livelock");

/** Threads 1..k-1 run thread 0's code. */
function copies(d: ProgDesc, k: number): ProgDesc {
  const threads = d.threads.slice();
  for (let i = 1; i < Math.min(k, threads.length); i++) threads[i] = threads[0]!;
  return { ...d, threads };
}

/** The permutation of 0..n-1 that exchanges a and b. */
function swap(n: number, a: number, b: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  p[a] = b;
  p[b] = a;
  return p;
}

/** build(d, true) gives each thread its own copy of every object (cells, L0, L1, rw, tl), in thread order. */
function swapCopies(d: ProgDesc, nObjs: number, a: number, b: number): number[] {
  const per = d.cells + 4;
  return Array.from({ length: nObjs }, (_, o) => {
    const c = Math.floor(o / per);
    return c === a ? o + (b - a) * per : c === b ? o - (b - a) * per : o;
  });
}

function cacheWith(sym: Symmetry | undefined, por: boolean): (b: Built) => ExploreResult {
  return (b) => exhaustiveExplore(b.program, { allViolations: true, stateCaching: true, sleepSets: por, properties: safety(b.program), ...(sym ? { symmetry: sym } : {}) });
}

/**
 * A final state recorded by gen.ts ("memory|regs of T0|regs of T1|...") up to exchanging the
 * threads in `inter` (which run the same code on shared objects): their registers sorted.
 */
function orbit(f: string, inter: number): string {
  const parts = f.split("|");
  const regs = parts.slice(1, 1 + inter).sort();
  return [parts[0], ...regs, ...parts.slice(1 + inter)].join("|");
}
const orbits = (fs: readonly string[], inter: number): string[] => [...new Set(fs.map((f) => orbit(f, inter)))].sort();

/** Compare with and without symmetry (POR on and off) and with plain enumeration; count runs that stored fewer states. */
function differential(b: Built, sym: Symmetry, inter = 0): number {
  let fewer = 0;
  const ref = run(b, plain, ["livelock"]);
  const refOrbits = orbits(ref.finals, inter);
  for (const por of [false, true]) {
    const without = run(b, cacheWith(undefined, por), ["livelock"]);
    const got = run(b, cacheWith(sym, por), ["livelock"]);
    expect(got.result.exhaustive).toBe(true);
    expect(got.violated).toEqual(without.violated);
    expect(got.violated).toEqual(ref.violated);
    // Final states up to the exchange of interchangeable threads (shared objects only).
    if (inter > 0) expect(orbits(got.finals, inter)).toEqual(refOrbits);
    expect(got.result.stats.statesStored).toBeLessThanOrEqual(without.result.stats.statesStored);
    replaysAll(b.program, got.result);
    if (got.result.stats.statesStored < without.result.stats.statesStored) fewer++;
  }
  return fewer;
}

describe("symmetry reduction (cache)", () => {
  it("threads with the same code on shared objects: 2 and 3 interchangeable threads, retry loops included", () => {
    let fewer = 0;
    let programs = 0;
    for (const k of [2, 3]) {
      const ds = fc.sample(progArb({ spin: true, maxThreads: k === 3 ? 3 : 4 }), { numRuns: k === 2 ? 40 : 20, seed: SEED + k });
      for (const d0 of ds) {
        const d = copies(d0, k);
        const n = d.threads.length;
        const gens: SymmetryGenerator[] = [{ threads: swap(n, 0, 1) }];
        if (k === 3 && n >= 3) gens.push({ threads: swap(n, 1, 2) });
        const b = build(d);
        const sym = Symmetry.of(b.program, gens);
        expect(sym.order).toBe(k === 3 && n >= 3 ? 6 : 2);
        fewer += differential(b, sym, Math.min(k, n));
        programs++;
      }
    }
    expect(programs).toBe(60);
    // Most programs have states that differ only by which copy is where.
    // Most programs have states that differ only by which thread is where (both POR settings count).
    expect(fewer).toBeGreaterThan(80);
  });

  it("threads each on their own objects: threads and objects exchanged together (locks' owner words renamed)", () => {
    let fewer = 0;
    const ds = fc.sample(progArb({ maxThreads: 3 }), { numRuns: 25, seed: SEED + 7 });
    for (const d0 of ds) {
      // The generated invariants read copy 0 only: not symmetric, left out here (refused below).
      const d = { ...copies(d0, 2), inv: undefined, fin: undefined };
      const b = build(d, true);
      const sym = Symmetry.of(b.program, [{ threads: swap(d.threads.length, 0, 1), objs: swapCopies(d, b.program.world.objs.length, 0, 1) }]);
      fewer += differential(b, sym);
    }
    expect(fewer).toBeGreaterThan(25);
  });

  it("a wrong declaration is refused: threads with different code, an invariant on one thread's copy, a non-permutation, objects of another kind", () => {
    // Different code: the first program (of a fixed sample) whose threads 0 and 1 differ in behaviour.
    const ds = fc.sample(progArb({}), { numRuns: 40, seed: SEED + 11 });
    let refused = 0;
    for (const d of ds) {
      const b = build(d);
      try {
        Symmetry.of(b.program, [{ threads: swap(d.threads.length, 0, 1), where: "scenario.symmetry[0]" }]);
      } catch (e) {
        expect(e).toBeInstanceOf(SymmetryError);
        expect((e as Error).message).toMatch(/^scenario\.symmetry\[0\]: not a symmetry of the program: after \d+ step\(s\) of a walk/);
        expect((e as Error).message).not.toContain("\n");
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(30);
    // An invariant that reads thread 0's copy only.
    const d: ProgDesc = { cells: 1, threads: [[{ k: "store", cell: 0, v: { c: 2, last: false } }], [{ k: "store", cell: 0, v: { c: 2, last: false } }]], inv: { cell: 0, cell2: 0, ne: 2 } };
    const b = build(d, true);
    expect(() => Symmetry.of(b.program, [{ threads: [1, 0], objs: swapCopies(d, b.program.world.objs.length, 0, 1) }])).toThrow(/invariant that is not symmetric/);
    expect(() => Symmetry.of(b.program, [{ threads: [0, 0] }])).toThrow(/threads must be a permutation/);
    const objs = b.program.world.objs.map((o) => o.id);
    [objs[0], objs[1]] = [objs[1]!, objs[0]!]; // c0.0 (cell) <-> L0.0 (spinlock)
    expect(() => Symmetry.of(b.program, [{ threads: [0, 1], objs }])).toThrow(/cannot become/);
  });

  it("the differential has teeth: a wrong symmetry accepted without the check is caught within 10 programs", () => {
    // Thread 1 runs thread 0's code with its last instruction replaced: nearly interchangeable.
    const ds = fc.sample(progArb({ maxThreads: 2 }), { numRuns: 10, seed: SEED + 13 });
    const first = ds.findIndex((d0) => {
      const d = { ...d0, threads: [d0.threads[0]!, [...d0.threads[0]!.slice(0, -1), d0.threads[1]![0]!]] };
      const b = build(d);
      expect(() => Symmetry.of(b.program, [{ threads: [1, 0] }])).toThrow(SymmetryError);
      const sym = Symmetry.of(b.program, [{ threads: swap(d.threads.length, 0, 1) }], { uncheckedForTests: true });
      const ref = run(b, plain, ["livelock"]);
      const got = run(b, cacheWith(sym, false), ["livelock"]);
      return JSON.stringify(got.violated) !== JSON.stringify(ref.violated) || JSON.stringify(orbits(got.finals, 2)) !== JSON.stringify(orbits(ref.finals, 2));
    });
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(10);
  });

  it("livelock keeps thread identity: with livelock judged the search runs unreduced", () => {
    // Two threads store 2 then spin until the cell is 1 (a loop head without the thread's name).
    const program = defineProgram("spinners", (w) => {
      const c = new Atomic(w, "c", 0);
      const body = function* (t: ThreadApi): Generator<Op, void, number> {
        yield c.store(2, "store 2");
        for (;;) {
          t.loopHead("spin");
          if ((yield c.load("load")) === 1) return;
        }
      };
      return { threads: [0, 1].map((i) => ({ name: `T${i}`, body })) };
    });
    const b = { program };
    const sym = Symmetry.of(b.program, [{ threads: [1, 0] }]);
    const all = exhaustiveExplore(b.program, { stateCaching: true, symmetry: sym });
    const unreduced = exhaustiveExplore(b.program, { stateCaching: true });
    expect(all.violations.map((v) => v.property)).toEqual(["livelock"]);
    expect(all.stats.statesStored).toBe(unreduced.stats.statesStored);
    const safe = exhaustiveExplore(b.program, { stateCaching: true, symmetry: sym, properties: safety(b.program) });
    expect(safe.stats.statesStored).toBeLessThan(unreduced.stats.statesStored);
  });
});

describe("symmetry declarations of scenario files", () => {
  const dir = mkdtempSync(join(tmpdir(), "tdxmc-sym-"));
  const file = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const two = (g1: number, sym: string): string =>
    `name: s\ninitial:\n  tables:\n    - level: 1\n      gfn: 0\nthreads:\n  - kind: fault\n    vcpu: 0\n    gfn: 0\n  - kind: fault\n    vcpu: 1\n    gfn: ${g1}\nprotocol: upstream-6.19\nproperties: [no-kvm-bug-on]\nsymmetry:\n${sym}`;

  it("a wrong declaration is refused in one line naming the field (exit 2)", async () => {
    const cases: [string, RegExp][] = [
      [two(1, "  - threads: [vCPU0, vCPU1]\n"), /^.*w1\.yaml:16:5: symmetry\[0\]\.threads: 'vCPU0' and 'vCPU1' do not run the same flow .*\(under upstream-6\.19\)\n$/],
      [two(0, "  - threads: [vCPU0, vCPU7]\n"), /^.*w2\.yaml:16:5: symmetry\[0\]\.threads\[1\]: no thread named 'vCPU7'/],
      // GFN renaming: not a permutation; not an automorphism of the geometry (0 and 1 share a table, 1 and 2 do not); the
      // initially linked table of GFNs 0-1 would become GFNs 2-3's, which is not linked.
      [two(1, "  - threads: [vCPU0, vCPU1]\n    gfns: {0: 1}\n"), /^.*w3\.yaml:16:5: symmetry\[0\]\.gfns: not a permutation of the GFNs/],
      [two(1, "  - threads: [vCPU0, vCPU1]\n    gfns: {0: 1, 1: 2, 2: 0}\n"), /^.*w4\.yaml:16:5: symmetry\[0\]\.gfns: GFNs 0 and 1 lie under one level-2 entry but their images 1 and 2 do not/],
      [two(2, "  - threads: [vCPU0, vCPU1]\n    gfns: {0: 2, 1: 3, 2: 0, 3: 1}\n"), /^.*w5\.yaml:16:5: symmetry\[0\]\.gfns: the level-1 table of GFN 0 is linked at the start but its image's \(GFN 2\) is not/],
    ];
    for (const [i, [text, want]] of cases.entries()) {
      const f = file(`w${i + 1}.yaml`, text);
      for (const cmd of ["validate", "check"]) {
        const r = await cli([cmd, f]);
        expect(r.code).toBe(2);
        expect(r.err).toMatch(want);
        expect(r.err.trim().split("\n")).toHaveLength(1);
      }
    }
  });

  it("vCPUs faulting one GFN: same verdict with and without --no-symmetry, fewer states with it, recorded in provenance", async () => {
    const f = file("ok.yaml", two(0, "  - threads: [vCPU0, vCPU1]\n"));
    const on = await cli(["check", f, "--json"]);
    const off = await cli(["check", f, "--json", "--no-symmetry"]);
    expect(on.code).toBe(0);
    expect(off.code).toBe(0);
    type Cell = { verdict: string; stats: { statesStored: number }; provenance: { reductions: { symmetry?: boolean } } };
    const a = (JSON.parse(on.out) as { cells: Cell[] }).cells[0]!;
    const b = (JSON.parse(off.out) as { cells: Cell[] }).cells[0]!;
    expect(a.verdict).toBe("verified");
    expect(b.verdict).toBe("verified");
    expect(a.provenance.reductions.symmetry).toBe(true);
    expect(b.provenance.reductions.symmetry).toBe(false);
    expect(a.stats.statesStored).toBeLessThan(b.stats.statesStored);
  });

  it("two-vcpus-same-gfn under every preset: the same verdict and violated properties with and without, counterexamples replay", () => {
    const sc = { ...SCENARIOS["two-vcpus-same-gfn"]!, symmetry: [{ threads: ["vCPU0", "vCPU1"] }] };
    const props = KVM_PROPERTIES.filter((p) => p !== "livelock");
    let violated = 0;
    for (const preset of Object.keys(PRESETS)) {
      const p = buildProgram(sc, preset);
      const sym = Symmetry.of(p, symmetryGenerators(sc, p));
      const off = explore(p, { strategy: "cache", properties: props, shallow: false, allViolations: true });
      const on = explore(p, { strategy: "cache", properties: props, shallow: false, allViolations: true, symmetry: sym });
      const names = (r: ExploreResult): string[] => r.violations.map((v) => v.property).sort();
      expect(on.verdict, preset).toBe(off.verdict);
      expect(names(on), preset).toEqual(names(off));
      expect(on.stats.statesStored, preset).toBeLessThanOrEqual(off.stats.statesStored);
      for (const v of on.violations) expect(replay(p, parseSchedule(v.schedule), props).violations.map((x) => x.property)).toContain(v.property);
      if (on.verdict === "violated") violated++;
    }
    // seed, seed-seamcall-lock and v11 predate cc7ed3358e41: the loser's A/D-only change bugs the VM.
    expect(violated).toBe(3);
  });

  it("GFN renaming: vCPUs on different GFNs exchanged with their GFNs (sym-gfn-k2, k3) give the verdict of the unreduced search with fewer states; counterexamples replay", () => {
    const root = join(import.meta.dirname, "../..");
    for (const [k, order] of [[2, 2], [3, 2]] as const) {
      const sc = loadScenarioFile(join(root, `bench/scaling/sym-gfn-k${k}.yaml`)).scenario;
      const p = buildProgram(sc, "upstream-6.19");
      const sym = Symmetry.of(p, symmetryGenerators(sc, p), { walks: 16 });
      expect(sym.order).toBe(order);
      const off = explore(p, { strategy: "cache", properties: sc.properties, shallow: false });
      const on = explore(p, { strategy: "cache", properties: sc.properties, shallow: false, symmetry: sym });
      expect(on.verdict).toBe("verified");
      expect(off.verdict).toBe("verified");
      // An exchange of two vCPUs with their GFNs: close to half the states.
      expect(on.stats.statesStored).toBeLessThan(0.6 * off.stats.statesStored);
    }
    // The exchange on the seed preset, where a vCPU's A/D-only change bugs the VM: the same violations, replayed.
    const sc = loadScenarioFile(join(root, "bench/scaling/sym-gfn-k2.yaml")).scenario;
    const ps = buildProgram(sc, "seed");
    const props = KVM_PROPERTIES.filter((x) => x !== "livelock");
    const sym = Symmetry.of(ps, symmetryGenerators(sc, ps), { walks: 16 });
    const off = explore(ps, { strategy: "cache", properties: props, shallow: false, allViolations: true });
    const on = explore(ps, { strategy: "cache", properties: props, shallow: false, allViolations: true, symmetry: sym });
    const names = (r: ExploreResult): string[] => [...new Set(r.violations.map((v) => v.property))].sort();
    expect(names(on)).toEqual(names(off));
    for (const v of on.violations) expect(replay(ps, parseSchedule(v.schedule), props).violations.map((x) => x.property)).toContain(v.property);
  });

  it("GFN renaming is refused where the model walks GFNs in order: exchanging two vCPUs and their GFNs on zap-k3", () => {
    // tdh_mem_sept_add initialises a new S-EPT page's entries one by one in index order, and the zap
    // walks GFNs in order: the lockstep walks see a step whose object is not the image's.
    const sc = { ...loadScenarioFile(join(import.meta.dirname, "../../bench/scaling/zap-k3.yaml")).scenario, symmetry: [{ threads: ["vCPU0", "vCPU1"], gfns: { 0: 1, 1: 0 } }] };
    const p = buildProgram(sc, "upstream-6.19");
    expect(() => Symmetry.of(p, symmetryGenerators(sc, p))).toThrow(/^symmetry\[0\]: not a symmetry of the program: after \d+ step\(s\) of a walk .* differ \(its object is not the image's\)$/);
  });
});
