// Restoring threads without re-running them (execution.ts, docs/design.md "Restoring threads"):
// thread-code segments are recorded once and followed afterwards. Following a record must be
// indistinguishable from running the code: on random programs every strategy gives the same
// statistics (except the values re-fed), final states, violations and counterexamples with the
// record as without it (DPOR: the same final states and violations, and no more executions) (every segment run, generators rebuilt by re-feeding), and a record that
// ignores what the code peeked is caught.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Atomic, boundedExplore, defineProgram, dporExplore, exhaustiveExplore, randomExplore, type ExploreOptions, type ExploreResult, type Op, type Program } from "../../src/engine/index.js";
import { Execution } from "../../src/engine/execution.js";
import { build, progArb, violated, type GenOptions } from "./gen.js";
import { timeless } from "./helpers.js";

const SEED = 20261203;

type Strat = (p: Program, o: ExploreOptions) => ExploreResult;
const STRATS: [string, Strat][] = [
  ["plain", (p, o) => exhaustiveExplore(p, { ...o, allViolations: true, fusion: false })],
  ["fused", (p, o) => exhaustiveExplore(p, { ...o, allViolations: true })],
  ["cache", (p, o) => exhaustiveExplore(p, { ...o, allViolations: true, stateCaching: true })],
  ["sleep", (p, o) => exhaustiveExplore(p, { ...o, allViolations: true, sleepSets: true })],
  ["dpor", (p, o) => dporExplore(p, { ...o, allViolations: true })],
];

/** Everything a run reports but the values re-fed and the clock. */
function outcome(r: ExploreResult): unknown {
  const { replaySteps: _r, ...stats } = timeless(r.stats);
  return { verdict: r.verdict, stats, violated: violated(r), cex: r.violations.map((v) => [v.property, v.schedule, v.steps.length]), coverage: r.coverage };
}

/** Same outcome and final states with and without the record; returns the values re-fed (with, without). */
function sameWithRecord(make: () => { program: Program; finals: Set<string> }, strat: Strat): [number, number] {
  const a = make();
  const with_ = strat(a.program, {});
  const b = make();
  const without = strat(b.program, { memo: false });
  if (with_.stats.strategy === "dpor") {
    // DPOR's sleep sets wake a thread only if the record of its code says its next step may touch
    // what the step just taken touched (Execution.pendingGroups); without a record it wakes it
    // always. So the record may save executions, never change what is found.
    expect([with_.verdict, violated(with_)]).toEqual([without.verdict, violated(without)]);
    expect(with_.stats.executions).toBeLessThanOrEqual(without.stats.executions);
  } else expect(outcome(with_)).toEqual(outcome(without));
  expect([...a.finals].sort()).toEqual([...b.finals].sort());
  return [with_.stats.replaySteps, without.stats.replaySteps];
}

// A small family of programs whose threads peek at shared cells between steps and branch on what
// they saw (the case where one recorded segment does not fit every state).
type PInstr = { k: "store"; c: number; v: number } | { k: "load"; c: number } | { k: "cas"; c: number; a: number; b: number } | { k: "peekIf"; c: number; v: number; then: number; else: number };
const pinstrArb = (cells: number): fc.Arbitrary<PInstr> => {
  const c = fc.integer({ min: 0, max: cells - 1 });
  const v = fc.integer({ min: 0, max: 2 });
  return fc.oneof(
    fc.record({ k: fc.constant("store" as const), c, v }),
    fc.record({ k: fc.constant("load" as const), c }),
    fc.record({ k: fc.constant("cas" as const), c, a: v, b: v }),
    fc.record({ k: fc.constant("peekIf" as const), c, v, then: c, else: c }),
  );
};
const peekProgArb = fc.integer({ min: 2, max: 3 }).chain((cells) =>
  fc.array(fc.array(pinstrArb(cells), { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 3 }).map((threads) => ({ cells, threads })),
);

function buildPeek(d: { cells: number; threads: PInstr[][] }, worldOnly = false): { program: Program; finals: Set<string> } {
  const finals = new Set<string>();
  const program = defineProgram("peeks", (w) => {
    const cs = Array.from({ length: d.cells }, (_, i) => new Atomic(w, `c${i}`, 0));
    const out: string[] = d.threads.map(() => "");
    return {
      threads: d.threads.map((list, tid) => ({
        name: `T${tid}`,
        body: function* (): Generator<Op, void, number> {
          const regs: number[] = [];
          for (const ins of list) {
            switch (ins.k) {
              case "store":
                yield cs[ins.c]!.store(ins.v + tid, "store");
                break;
              case "load":
                regs.push(yield cs[ins.c]!.load("load"));
                break;
              case "cas":
                regs.push(yield cs[ins.c]!.cmpxchg(ins.a, ins.b + tid, "cas"));
                break;
              case "peekIf": {
                const seen = cs[ins.c]!.peek();
                regs.push(100 + seen);
                if (seen === ins.v) yield cs[ins.then]!.store(7, "then");
                else yield cs[ins.else]!.load("else");
                break;
              }
            }
          }
          out[tid] = regs.join(",");
        },
      })),
      // worldOnly: the final check reads the cells only, and the program says so (finalWorldOnly).
      final: [{ name: "record", check: () => (finals.add(worldOnly ? cs.map((c) => c.peek()).join(",") : `${cs.map((c) => c.peek()).join(",")}|${out.join("|")}`), null) }],
      finalWorldOnly: worldOnly,
    };
  });
  return { program, finals };
}

describe("restoring threads from recorded code segments", () => {
  const FULL: GenOptions = { quiescent: true };
  for (const [name, strat] of STRATS) {
    it(`${name}: the same with and without the record (random programs: locks, waits, choices, windows, assertions)`, () => {
      let withR = 0;
      let withoutR = 0;
      fc.assert(
        fc.property(progArb(FULL), (d) => {
          const [a, b] = sameWithRecord(() => build(d), strat);
          withR += a;
          withoutR += b;
        }),
        { numRuns: 60, seed: SEED },
      );
      // The point of the record: far fewer values re-fed to generators.
      expect(withR).toBeLessThan(withoutR);
    });
  }

  it("retry loops declared with loopHead (the record shares equal local states): the same with and without it", () => {
    for (const [, strat] of STRATS.filter(([n]) => n === "cache" || n === "plain"))
      fc.assert(fc.property(progArb({ spin: true }), (d) => void sameWithRecord(() => build(d), strat)), { numRuns: 50, seed: SEED + 1 });
  });

  it("threads that peek and branch: the same with and without the record, under every strategy and a random walk", () => {
    fc.assert(
      fc.property(peekProgArb, (d) => {
        for (const [, strat] of STRATS) sameWithRecord(() => buildPeek(d), strat);
        sameWithRecord(() => buildPeek(d), (p, o) => randomExplore(p, { ...o, seed: 3, maxExecutions: 30 }));
      }),
      { numRuns: 50, seed: SEED + 2 },
    );
  });

  it("a record followed whatever the code peeked (deliberately broken) is caught within 40 programs", () => {
    const ds = fc.sample(peekProgArb, { numRuns: 40, seed: SEED + 3 });
    let caught = -1;
    for (let i = 0; i < ds.length && caught < 0; i++) {
      const a = buildPeek(ds[i]!);
      exhaustiveExplore(a.program, { allViolations: true, fusion: false, memo: false });
      const b = buildPeek(ds[i]!);
      exhaustiveExplore(b.program, { allViolations: true, fusion: false, unsoundMemoForTests: true });
      if (JSON.stringify([...a.finals].sort()) !== JSON.stringify([...b.finals].sort())) caught = i;
    }
    expect(caught).toBeGreaterThanOrEqual(0);
    expect(caught).toBeLessThan(40);
  });

  it("going back undoes exactly what changed since (memory and windows from the undo trails, checked against full copies)", () => {
    // checkRestoreForTests: every snapshot also keeps a full copy of memory and the open windows,
    // and every restore() throws unless the trails gave back exactly that. Locks, rwlocks,
    // try-locks, waits, choices and windows, under every strategy that goes back.
    const strats: Strat[] = [...STRATS.map(([, s]) => s), (p, o) => boundedExplore(p, 2, { ...o, allViolations: true })];
    fc.assert(
      fc.property(progArb({ quiescent: true }), (d) => {
        for (const strat of strats) {
          const a = build(d);
          const checked = strat(a.program, { checkRestoreForTests: true });
          const b = build(d);
          expect(outcome(checked)).toEqual(outcome(strat(b.program, {})));
        }
      }),
      { numRuns: 40, seed: SEED + 4 },
    );
    // The check itself can fail: a write that bypasses the trail is caught at the next restore.
    const prog = defineProgram("bypass", (w) => {
      const c = new Atomic(w, "c", 0);
      new Atomic(w, "d", 0);
      return { threads: [{ name: "T0", body: function* (): Generator<Op, void, number> { yield c.store(1, "store"); } }] };
    });
    const ex = new Execution(prog, { choose: () => 0 }, null, { checkRestore: true });
    ex.reset();
    const snap = ex.snapshot();
    ex.step(0);
    expect(ex.mem[0]).toBe(1);
    ex.restore(snap);
    expect(ex.mem[0]).toBe(0);
    ex.mem[1] = 5;
    expect(() => ex.restore(snap)).toThrow(/restore\(\) gave cell 1 = 5/);
  });

  it("final checks declared to read only the World: the same outcome, and finished threads are not run again for them", () => {
    let declared = 0;
    let undeclared = 0;
    fc.assert(
      fc.property(peekProgArb, (d) => {
        for (const [name, strat] of STRATS) {
          // The declaration changes nothing observable: same outcome and final states as running every segment.
          const [a] = sameWithRecord(() => buildPeek(d, true), strat);
          if (name !== "cache") continue;
          // The same World-only check on the same program without the declaration: finished threads are run to their end again.
          const plain = buildPeek(d, true);
          const r = strat({ ...plain.program, finalWorldOnly: false }, {});
          declared += a;
          undeclared += r.stats.replaySteps;
        }
      }),
      { numRuns: 50, seed: SEED + 5 },
    );
    expect(declared).toBeLessThan(undeclared);
  });
});
