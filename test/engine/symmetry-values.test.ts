// Symmetry with renamed values (src/engine/symmetry.ts `values`/`locals`; the KVM model's GFN
// renaming, src/kvm/symmetry.ts), against plain enumeration on random programs. Each thread i owns
// a "frame" value P(i) (like the PFN guest_memfd derives from a vCPU's GFN) and a slot cell; the
// threads run one random template: store P(i) into their slot, publish it in a shared cell X by
// cmpxchg, read X and remember whether it holds their own value, copy X into their slot, withdraw
// their value, spin at a loop head whose live local is P(i), take a lock. Exchanging threads renames
// the slots and every P value in X and the slots (and the loop-head local). The reduced search must
// report the violated properties of plain enumeration and its final states up to the symmetry,
// replay its counterexamples, and store no more states; a renaming that forgets X's values, with the
// check bypassed, must be caught within a stated number of programs (and refused by the check).
import { describe, expect, it } from "vitest";
import { Atomic, defineProgram, exhaustiveExplore, SpinLock, Symmetry, SymmetryError, type Op, type Program, type SymmetryGenerator, type ThreadApi } from "../../src/engine/index.js";
import { replaysAll } from "./helpers.js";

type Ins = "own" | "pub" | "read" | "copy" | "clear" | "spin" | "locked";
const P = (i: number): number => 10 + i;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s ^= s >>> 13;
    return (s >>> 0) / 2 ** 32;
  };
}

function template(r: () => number): Ins[] {
  const all: Ins[] = ["own", "pub", "read", "copy", "clear", "spin", "locked"];
  const len = 2 + Math.floor(r() * 3);
  return Array.from({ length: len }, () => all[Math.floor(r() * all.length)]!);
}

interface VProg {
  program: Program;
  finals: Set<string>;
  slots: number[];
  x: number;
}

/** Thread i runs tmpl, or alt[i] where given (an asymmetric program). */
function build(tmpl: readonly Ins[], n: number, alt: readonly (readonly Ins[] | undefined)[] = []): VProg {
  const finals = new Set<string>();
  let slots: number[] = [];
  let x = -1;
  const program = defineProgram("frames", (w) => {
    const X = new Atomic(w, "X", 0);
    const S = Array.from({ length: n }, (_, i) => new Atomic(w, `slot${i}`, 0));
    const L = new SpinLock(w, "L");
    slots = S.map((s) => s.id);
    x = X.id;
    const regs: string[] = new Array<string>(n).fill("");
    const body = (i: number) =>
      function* (t: ThreadApi): Generator<Op, void, number> {
        // What was remembered, one base-3 digit per read (0: X empty, 1: mine, 2: another's); with
        // the position in the template (which fixes the number of reads), the loop head's live locals.
        let code = 0;
        for (const [at, ins] of (alt[i] ?? tmpl).entries()) {
          switch (ins) {
            case "own":
              yield S[i]!.store(P(i), "own");
              break;
            case "pub":
              yield X.cmpxchg(0, P(i), "pub");
              break;
            case "read": {
              const v = yield X.load("read");
              code = code * 3 + (v === P(i) ? 1 : v === 0 ? 0 : 2);
              break;
            }
            case "copy": {
              const v = yield X.load("copy: load");
              if (v !== 0) yield S[i]!.store(v, "copy: store");
              break;
            }
            case "clear":
              yield X.cmpxchg(P(i), 0, "clear");
              break;
            case "spin":
              // Bounded: at most two rounds, each restarting the local state at a head naming P(i).
              for (let k = 0; k < 2; k++) {
                // tdxmc-live-ok: ins is the template's instruction at position at (passed in the label)
                t.loopHead(`spin#${at}`, P(i), k, code);
                if ((yield X.load("spin")) !== P(i)) break;
              }
              break;
            case "locked":
              yield L.lock("lock");
              yield S[i]!.store((yield X.load("locked: load")) === 0 ? P(i) : 0, "locked: store");
              yield L.unlock("unlock");
              break;
          }
        }
        regs[i] = String(code);
      };
    return {
      threads: Array.from({ length: n }, (_, i) => ({ name: `T${i}`, body: body(i) })),
      // Symmetric: no two slots hold the same non-zero value; X holds a thread's value only once its slot does.
      invariants: [
        {
          name: "slots-distinct",
          check: () => {
            const seen = new Set<number>();
            for (const s of S) {
              const v = s.peek();
              if (v !== 0 && seen.has(v)) return `two slots hold ${v}`;
              seen.add(v);
            }
            return null;
          },
        },
        {
          name: "published-own",
          check: () => {
            const v = X.peek();
            return v >= 10 && v < 10 + n && S[v - 10]!.peek() !== v ? `X holds ${v} before its slot` : null;
          },
        },
      ],
      final: [
        {
          name: "record-final-state",
          check: () => {
            finals.add(`${X.peek()}|${S.map((s) => s.peek()).join(",")}|${regs.join(",")}`);
            return null;
          },
        },
      ],
    };
  });
  return { program, finals, slots, x };
}

/** The generator exchanging threads a and b with their slots and P values; `forgetX`: X's values left unrenamed (wrong). */
function exchange(v: VProg, n: number, a: number, b: number, forgetX = false): SymmetryGenerator {
  const tp = Array.from({ length: n }, (_, i) => (i === a ? b : i === b ? a : i));
  const objs = v.program.world.objs.map((o) => o.id);
  objs[v.slots[a]!] = v.slots[b]!;
  objs[v.slots[b]!] = v.slots[a]!;
  const rn = (x: number): number => (x >= 10 && x < 10 + n ? P(tp[x - 10]!) : x);
  const cell = (o: number): number => v.program.world.objs[o]!.base;
  return {
    threads: tp,
    objs,
    values: (_c, x) => rn(x),
    valueCells: [...(forgetX ? [] : [cell(v.x)]), ...v.slots.map(cell)],
    locals: (label, loc) => (label.startsWith("spin#") ? [rn(loc[0]!), ...loc.slice(1)] : loc),
  };
}

/** A final state "X|slots|regs" in canonical form under every permutation of the n threads. */
function canon(f: string, n: number): string {
  const [xs, ss, rs] = f.split("|") as [string, string, string];
  const s = ss.split(",").map(Number);
  const r = rs.split(",");
  const perms = (k: number): number[][] => (k === 0 ? [[]] : perms(k - 1).flatMap((p) => Array.from({ length: k }, (_, j) => [...p.slice(0, j), k - 1, ...p.slice(j)])));
  let best = "";
  for (const tp of perms(n)) {
    const rn = (x: number): number => (x >= 10 && x < 10 + n ? P(tp[x - 10]!) : x);
    const s2 = new Array<number>(n);
    const r2 = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      s2[tp[i]!] = rn(s[i]!);
      r2[tp[i]!] = r[i]!;
    }
    const img = `${rn(Number(xs))}|${s2.join(",")}|${r2.join(",")}`;
    if (best === "" || img < best) best = img;
  }
  return best;
}

interface Out {
  violated: string[];
  finals: string[];
  states: number;
}
function explore(v: VProg, n: number, sym: Symmetry | null, mode: "plain" | "cache"): Out {
  v.finals.clear();
  const r = exhaustiveExplore(v.program, { allViolations: true, ...(mode === "cache" ? { stateCaching: true, properties: v.program.properties.filter((p) => p !== "livelock") } : { fusion: false }), ...(sym ? { symmetry: sym } : {}) });
  if (sym) replaysAll(v.program, r);
  return {
    violated: [...new Set(r.violations.map((x) => x.property))].filter((p) => p !== "livelock").sort(),
    finals: [...new Set([...v.finals].map((f) => canon(f, n)))].sort(),
    states: r.stats.statesStored,
  };
}

const SEED = 0x5eed12;

describe("symmetry with renamed values (GFN-like frames)", () => {
  it("random programs, 2 and 3 threads: same violations and final states up to symmetry as plain enumeration, fewer states", () => {
    const r = rng(SEED);
    let fewer = 0;
    let violating = 0;
    const runs = 12;
    for (let p = 0; p < runs; p++) {
      const n = p % 3 === 2 ? 3 : 2;
      const v = build(template(r), n);
      const gens = [exchange(v, n, 0, 1)];
      if (n === 3) gens.push(exchange(v, n, 1, 2));
      const sym = Symmetry.of(v.program, gens, { walks: 8 });
      expect(sym.order).toBe(n === 3 ? 6 : 2);
      const ref = explore(v, n, null, "plain");
      const without = explore(v, n, null, "cache");
      const got = explore(v, n, sym, "cache");
      expect(got.violated, `program ${p}`).toEqual(ref.violated);
      expect(got.finals, `program ${p}`).toEqual(ref.finals);
      expect(got.states).toBeLessThanOrEqual(without.states);
      if (got.states < without.states) fewer++;
      if (ref.violated.length > 0) violating++;
    }
    // Not vacuous: most programs are reduced, some violate the invariant.
    expect(fewer).toBeGreaterThan(runs / 2);
    expect(violating).toBeGreaterThan(0);
  });

  it("a wrong declaration (thread 1's last instruction differs): without the check the differential catches it within 10 programs, and the check refuses it there", () => {
    const r = rng(SEED + 1);
    const all: Ins[] = ["own", "pub", "read", "copy", "clear", "spin", "locked"];
    let first = -1;
    for (let p = 0; p < 10 && first < 0; p++) {
      const t = template(r);
      const last = t[t.length - 1]!;
      const alt = [...t.slice(0, -1), all[(all.indexOf(last) + 1 + Math.floor(r() * (all.length - 1))) % all.length]!];
      const v = build(t, 2, [undefined, alt]);
      const decl = exchange(v, 2, 0, 1);
      let refused = false;
      try {
        Symmetry.of(v.program, [decl], { walks: 8 });
      } catch (e) {
        expect(e).toBeInstanceOf(SymmetryError);
        refused = true;
      }
      const sym = Symmetry.of(v.program, [decl], { uncheckedForTests: true });
      const ref = explore(v, 2, null, "plain");
      const got = explore(v, 2, sym, "cache");
      if (JSON.stringify(got.violated) !== JSON.stringify(ref.violated) || JSON.stringify(got.finals) !== JSON.stringify(ref.finals)) {
        // What the differential refutes, the check refuses.
        expect(refused, `program ${p}`).toBe(true);
        first = p;
      }
    }
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(10);
  });

  it("a renaming that forgets X's values is refused by the check", () => {
    // Where it matters (a thread reads or writes X), the walks see the image's X differ.
    const r = rng(SEED + 2);
    let refused = 0;
    for (let p = 0; p < 6; p++) {
      const t = template(r);
      const v = build([...t, "pub"], 2);
      expect(() => Symmetry.of(v.program, [exchange(v, 2, 0, 1, true)], { walks: 8 }), `program ${p}`).toThrow(/not a symmetry of the program/);
      refused++;
    }
    expect(refused).toBe(6);
  });
});
