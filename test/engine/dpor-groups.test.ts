// DPOR's observer groups (docs/design.md, "Invariants are observers"): only the invariants that
// are checked make steps dependent, and a write that changes none of the bits an invariant
// declares it reads (Invariant.masks) is not ordered with the invariant's other writes.
// Differential against plain enumeration on random programs whose cells carry a "state" bit that
// an invariant reads beside "lock" bits that it does not; a deliberately broken variant (every
// write to a masked cell unseen) must be caught.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Atomic, defineProgram, dporExplore, exhaustiveExplore, type ExploreResult, type Op, type Program, type ThreadApi } from "../../src/engine/index.js";
import { dporExploreBroken } from "../../src/engine/schedulers/dpor.js";
import { PRESETS, SCENARIOS } from "../../src/kvm/index.js";
import { cellProgram } from "../../src/cli/cell.js";
import { SEPT_STATE_PFN_MASK } from "../../src/kvm/tdx_adapter.js";
import { pfnOf, stateOf } from "../../src/tdx/sept.js";
import { pamtPt } from "../../src/tdx/pamt.js";

const SEED = 20261203;

/** One step of a thread: set/clear the state bit (bit 0) or a lock bit (bit 1), store a value, or load into the thread's result. */
type Step = { k: "set" | "clr" | "lock" | "unlock" | "store" | "load"; cell: number; v: number; win: boolean };
interface Desc {
  cells: number;
  threads: Step[][];
  /** Declare the masks (else the invariant reads every bit). */
  masks: boolean;
}

const stepArb = (cells: number): fc.Arbitrary<Step> =>
  fc.record({ k: fc.constantFrom("set", "clr", "lock", "unlock", "store", "load"), cell: fc.nat(cells - 1), v: fc.nat(3), win: fc.boolean() }) as fc.Arbitrary<Step>;
const descArb: fc.Arbitrary<Desc> = fc.integer({ min: 2, max: 3 }).chain((cells) =>
  fc.record({ cells: fc.constant(cells), threads: fc.array(fc.array(stepArb(cells), { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 3 }), masks: fc.constant(true) }),
);

/** Finals: memory and what each thread loaded, per complete execution. */
function build(d: Desc): { program: Program; finals: Set<string> } {
  const finals = new Set<string>();
  const program = defineProgram("masked", (w) => {
    const C = Array.from({ length: d.cells }, (_, i) => new Atomic(w, `c${i}`, 0));
    const loaded: number[][] = d.threads.map(() => []);
    return {
      threads: d.threads.map((steps, tid) => ({
        name: `T${tid}`,
        body: function* (t: ThreadApi): Generator<Op, void, number> {
          loaded[tid] = [];
          for (const s of steps) {
            const c = C[s.cell]!;
            // A critical window on the quiescent invariant's key around the step.
            if (s.win) t.enter(0);
            switch (s.k) {
              case "set":
                yield c.rmw((v) => v | 1, `T${tid}: c${s.cell} |= 1`);
                break;
              case "clr":
                yield c.rmw((v) => v & ~1, `T${tid}: c${s.cell} &= ~1`);
                break;
              case "lock":
                yield c.rmw((v) => v | 2, `T${tid}: c${s.cell} |= 2`);
                break;
              case "unlock":
                yield c.rmw((v) => v & ~2, `T${tid}: c${s.cell} &= ~2`);
                break;
              case "store":
                yield c.store(s.v, `T${tid}: c${s.cell} := ${s.v}`);
                break;
              case "load":
                loaded[tid]!.push(yield c.load(`T${tid}: load c${s.cell}`));
                break;
            }
            if (s.win) t.exit(0);
          }
        },
      })),
      invariants: [
        {
          // At most one cell has its state bit set (reads bit 0 of every cell only).
          name: "one-state-bit",
          objs: C.map((c) => c.id),
          ...(d.masks ? { masks: C.map(() => 1) } : {}),
          check: () => (C.filter((c) => (c.peek() & 1) === 1).length > 1 ? "two state bits set" : null),
        },
        {
          // Never c0 == 3 (reads every bit of c0): not masked, checked only when selected.
          name: "c0-not-3",
          objs: [C[0]!.id],
          check: () => (C[0]!.peek() === 3 ? "c0 is 3" : null),
        },
      ],
      quiescent: [
        {
          // Outside windows on key 0: c1's state bit is not set without c0's (reads bit 0 of c0, c1).
          name: "q-c1-needs-c0",
          keys: [0],
          objsOf: () => [C[0]!.id, C[1]!.id],
          ...(d.masks ? { masksOf: () => [1, 1] } : {}),
          check: () => ((C[1]!.peek() & 1) === 1 && (C[0]!.peek() & 1) === 0 ? "c1 set without c0" : null),
        },
      ],
      final: [
        {
          name: "final-record",
          check: () => {
            finals.add(`${C.map((c) => c.peek()).join(",")}|${loaded.map((l) => l.join(".")).join("/")}`);
            return null;
          },
        },
      ],
    };
  });
  return { program, finals };
}

function outcome(b: { program: Program; finals: Set<string> }, f: (p: Program) => ExploreResult): { finals: string[]; violated: string[]; r: ExploreResult } {
  b.finals.clear();
  const r = f(b.program);
  const out = { finals: [...b.finals].sort(), violated: [...new Set(r.violations.map((v) => v.property))].sort(), r };
  b.finals.clear();
  return out;
}

const plain = (p: Program) => exhaustiveExplore(p, { allViolations: true, fusion: false });
const dpor = (p: Program) => dporExplore(p, { allViolations: true });

describe("DPOR observer groups: checked invariants only, masked footprints", () => {
  it("same final states and violated properties as plain enumeration (150 random programs with masked cells)", () => {
    let fewer = 0;
    fc.assert(
      fc.property(descArb, (d) => {
        const b = build(d);
        const ref = outcome(b, plain);
        const got = outcome(b, dpor);
        expect(got.r.exhaustive).toBe(true);
        expect(got.finals).toEqual(ref.finals);
        expect(got.violated).toEqual(ref.violated);
        const unmasked = outcome(build({ ...d, masks: false }), dpor);
        expect(unmasked.violated).toEqual(ref.violated);
        if (got.r.stats.executions < unmasked.r.stats.executions) fewer++;
      }),
      { numRuns: 150, seed: SEED },
    );
    // The masks save executions on a good share of the programs (77 of the 150 at the commit that added this).
    expect(fewer).toBeGreaterThan(40);
  });

  it("an invariant that is not checked orders nothing; one that is, orders its writes", () => {
    // T0 sets c0's and T1 c1's state bit then clears it: "one-state-bit" fails only if both are set at once.
    const st = (k: Step["k"], cell: number): Step => ({ k, cell, v: 0, win: false });
    const d: Desc = { cells: 2, masks: true, threads: [[st("set", 0), st("clr", 0)], [st("set", 1), st("clr", 1)]] };
    const b = build(d);
    const checked = dporExplore(b.program, { allViolations: true, properties: ["one-state-bit"] });
    expect(checked.violations.map((v) => v.property)).toEqual(["one-state-bit"]);
    const other = dporExplore(b.program, { allViolations: true, properties: ["c0-not-3", "assertion"] });
    expect(other.verdict).toBe("verified");
    // Two threads on disjoint cells: one trace when the invariant is not checked.
    expect(other.stats.executions).toBe(1);
    expect(checked.stats.executions).toBeGreaterThan(1);
  });

  it("the harness has teeth: a masked footprint that ignores every write is caught within 40 random programs", () => {
    const ds = fc.sample(descArb, { numRuns: 40, seed: SEED + 1 });
    const caught = ds.filter((d) => {
      const b = build(d);
      const ref = outcome(b, plain);
      const bad = outcome(b, (p) => dporExploreBroken(p, "masked-any-write", { allViolations: true }));
      return JSON.stringify([bad.finals, bad.violated]) !== JSON.stringify([ref.finals, ref.violated]);
    }).length;
    // 4 of the 40 at the commit that added this.
    expect(caught).toBeGreaterThan(0);
  });

  it("the KVM masks cover what no-free-while-mapped, mirror-sept-agreement and no-stale-private-leaf read: bits outside them change no state, PFN or page type", () => {
    const rnd = fc.sample(fc.tuple(fc.integer(), fc.integer()), { numRuns: 2000, seed: SEED + 2 });
    for (const [v, x] of rnd) {
      const u = v ^ (x & ~SEPT_STATE_PFN_MASK);
      expect([stateOf(u), pfnOf(u)]).toEqual([stateOf(v), pfnOf(v)]);
      expect(pamtPt(v ^ (x & ~7))).toBe(pamtPt(v));
    }
    // Every built-in program declares one mask per object of the invariant's footprint.
    const s = SCENARIOS["removal-vs-accept"]!;
    const p = cellProgram({ kind: "scenario", scenario: s, builtin: true, source: "built-in", preset: Object.keys(PRESETS)[0]!, overrides: {}, opts: { strategy: "dpor" } });
    const inv = p.invariants.find((i) => i.name === "no-free-while-mapped")!;
    expect(inv.masks!.length).toBe(inv.objs!.length);
    for (const q of p.quiescent) if (q.masksOf) for (const k of q.keys) expect(q.masksOf(k).length).toBe(q.objsOf(k).length);
    expect(p.quiescent.filter((q) => q.masksOf).map((q) => q.name)).toEqual(["mirror-sept-agreement", "no-stale-private-leaf"]);
  });
});
