// DPOR's masked loads (docs/design.md, "Masked loads"): a load that reads only some bits of a cell
// (Atomic.load's `bits`; the thread gets `value & bits`) is independent of a write to the cell that
// changes none of those bits. Differential against plain enumeration on random programs whose
// cells pack two fields, with masked loads of either field, full loads, writes to one field or to
// both, branches on what was loaded, and freeze/restore retry loops whose busy check is a masked
// load (await loops); the trace oracle with the masked dependence; a deliberately broken variant
// (a masked load independent of every write) must be caught.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Atomic, K, M, defineProgram, dporExplore, exhaustiveExplore, type ExploreResult, type Op, type Program, type ThreadApi } from "../../src/engine/index.js";
import { eventsConflict, type Execution } from "../../src/engine/execution.js";
import { NO_WRITE } from "../../src/engine/exec-op.js";
import { dporExploreBroken } from "../../src/engine/schedulers/dpor.js";
import { countTraces } from "./traces.js";

const SEED = 20261205;
/** Field A: bits 0-1; field B: bits 8-9. */
const A = 0x3;
const B = 0x300;

type Step = { k: "incA" | "incB" | "store" | "loadA" | "loadB" | "load" | "retry"; cell: number; v: number };
interface Desc {
  cells: number;
  threads: Step[][];
}

const stepArb = (cells: number, retry: boolean): fc.Arbitrary<Step> =>
  fc.record({
    k: fc.constantFrom(...(["incA", "incB", "store", "loadA", "loadB", "load", ...(retry ? ["retry"] : [])] as Step["k"][])),
    cell: fc.nat(cells - 1),
    v: fc.constantFrom(0, 1, 0x100, 0x101),
  });
/** Two or three threads of up to three steps; with `retry`, the first thread's steps may be retry loops (one retrier keeps plain enumeration small). */
const descArb = (retry: boolean): fc.Arbitrary<Desc> =>
  fc.integer({ min: 1, max: 2 }).chain((cells) =>
    fc.record({
      cells: fc.constant(cells),
      threads: fc
        .tuple(fc.array(stepArb(cells, retry), { minLength: 1, maxLength: 3 }), fc.array(fc.array(stepArb(cells, false), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 2 }))
        .map(([first, rest]) => [first, ...rest]),
    }),
  );

const incA = (v: number): number => (v & ~A) | ((v + 1) & A);
const incB = (v: number): number => (v & ~B) | ((v + 0x100) & B);

/** Final states: memory and what each thread loaded, per complete execution. */
function build(d: Desc): { program: Program; finals: Set<string> } {
  const finals = new Set<string>();
  const program = defineProgram("masked-loads", (w) => {
    const C = Array.from({ length: d.cells }, (_, i) => new Atomic(w, `c${i}`, 0));
    const loaded: number[][] = d.threads.map(() => []);
    return {
      threads: d.threads.map((steps, tid) => ({
        name: `T${tid}`,
        body: function* (t: ThreadApi): Generator<Op, void, number> {
          const got: number[] = [];
          loaded[tid] = got;
          for (let at = 0; at < steps.length; at++) {
            const s = steps[at]!;
            const c = C[s.cell]!;
            const other = C[(s.cell + 1) % d.cells]!;
            switch (s.k) {
              case "incA":
                yield c.rmw(incA, `T${tid}: c${s.cell}.A++`);
                break;
              case "incB":
                yield c.rmw(incB, `T${tid}: c${s.cell}.B++`);
                break;
              case "store":
                yield c.store(s.v, `T${tid}: c${s.cell} := ${s.v}`);
                break;
              case "loadA":
              case "loadB": {
                // What the thread does next depends on the field it read.
                const r = yield c.load(`T${tid}: load c${s.cell}.${s.k === "loadA" ? "A" : "B"}`, s.k === "loadA" ? A : B);
                got.push(r);
                if (r !== 0) yield other.rmw(s.k === "loadA" ? incB : incA, `T${tid}: c${(s.cell + 1) % d.cells} bumped`);
                break;
              }
              case "load":
                got.push(yield c.load(`T${tid}: load c${s.cell}`));
                break;
              case "retry":
                // Freeze (toggle B's high bit), check field A of the other cell (a masked load: busy
                // while it is odd), restore; retry while busy: a busy iteration has no net effect.
                for (;;) {
                  // The label names the program position; the locals are all that is live (what was loaded).
                  t.loopHead(`T${tid}: retry#${at}`, ...got);
                  yield c.rmw((v) => v ^ 0x200, `T${tid}: freeze c${s.cell}`);
                  const busy = (yield other.load(`T${tid}: busy? c${(s.cell + 1) % d.cells}.A`, A)) & 1;
                  yield c.rmw((v) => v ^ 0x200, `T${tid}: restore c${s.cell}`);
                  if (busy === 0) break;
                }
                got.push(-1);
                break;
            }
          }
        },
      })),
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

function outcome(b: { program: Program; finals: Set<string> }, f: (p: Program) => ExploreResult): { finals: string[]; r: ExploreResult } {
  b.finals.clear();
  const r = f(b.program);
  const out = { finals: [...b.finals].sort(), r };
  b.finals.clear();
  return out;
}

const plain = (p: Program): ExploreResult => exhaustiveExplore(p, { allViolations: true, fusion: false });
const dpor = (p: Program): ExploreResult => dporExplore(p, { allViolations: true });

/** The masked dependence (the oracle's own, written from the definition): a masked load and a write to its cell that leaves its bits alone commute. */
function maskedConflict(ex: Execution, f: number, e: number): boolean {
  if (!eventsConflict(ex, f, e)) return false;
  const unchanged = (ld: number, w: number): boolean => {
    const op = ex.evOp[ld]!;
    if (op.k !== K.Load || op.a === 0 || ex.evMode[w] !== M.W || ex.evObj[w] !== op.o || ex.evWrite[w] === NO_WRITE) return false;
    // The cell's value before w: the last write to it before w, else its initial value (0).
    let old = 0;
    for (let g = w - 1; g >= 0; g--)
      if (ex.evObj[g] === op.o && ex.evMode[g] === M.W) {
        old = ex.evWrite[g]!;
        break;
      }
    return ((old ^ ex.evWrite[w]!) & ~op.a) === 0;
  };
  return !unchanged(f, e) && !unchanged(e, f);
}

describe("DPOR masked loads", () => {
  it("same final states as plain enumeration (100 random programs: packed fields, masked and full loads, retry loops)", () => {
    let fewer = 0;
    fc.assert(
      fc.property(descArb(true), (d) => {
        const b = build(d);
        const ref = outcome(b, plain);
        const got = outcome(b, dpor);
        expect(got.r.exhaustive).toBe(true);
        expect(got.finals).toEqual(ref.finals);
        const unmasked = dporExplore(b.program, { allViolations: true, maskedLoads: false });
        expect(got.r.stats.executions).toBeLessThanOrEqual(unmasked.stats.executions);
        if (got.r.stats.executions < unmasked.stats.executions) fewer++;
      }),
      { numRuns: 100, seed: SEED },
    );
    // The masks save executions on a good share of the programs.
    expect(fewer).toBeGreaterThan(30);
  });

  it("complete executions = Mazurkiewicz traces under the masked dependence (100 random programs without loops)", () => {
    let coarser = 0;
    fc.assert(
      fc.property(descArb(false), (d) => {
        const b = build(d);
        const o = countTraces(b.program, maskedConflict);
        const r = dporExplore(b.program, { allViolations: true });
        expect(r.exhaustive).toBe(true);
        expect(r.stats.complete).toBe(o.traces);
        if (o.traces < countTraces(b.program).traces) coarser++;
      }),
      { numRuns: 100, seed: SEED + 1 },
    );
    expect(coarser).toBeGreaterThan(20);
  });

  it("the harness has teeth: a masked load independent of every write to its cell is caught within 40 random programs", () => {
    const ds = fc.sample(descArb(true), { numRuns: 40, seed: SEED + 2 });
    const caught = ds.filter((d) => {
      const b = build(d);
      const ref = outcome(b, plain);
      const bad = outcome(b, (p) => dporExploreBroken(p, "masked-load-any-write", { allViolations: true }));
      return JSON.stringify(bad.finals) !== JSON.stringify(ref.finals);
    }).length;
    expect(caught).toBeGreaterThan(0);
  });

  it("a load of field A and a write of field B: one trace; a write of field A: two", () => {
    const st = (k: Step["k"]): Step => ({ k, cell: 0, v: 0 });
    expect(dpor(build({ cells: 1, threads: [[st("loadA")], [st("incB")]] }).program).stats.executions).toBe(1);
    expect(dpor(build({ cells: 1, threads: [[st("loadA")], [st("incA")]] }).program).stats.executions).toBe(2);
    // A full load sees both fields: two traces either way.
    expect(dpor(build({ cells: 1, threads: [[st("load")], [st("incB")]] }).program).stats.executions).toBe(2);
  });
});
