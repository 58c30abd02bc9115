// Symmetry declarations of KVM scenarios, turned into the engine's permutations (src/engine/symmetry.ts).
//
// A scenario may declare threads interchangeable: `symmetry: [{threads: [vCPU0, vCPU1], gfns: {...}}]`.
// Each entry is one generator of the group: its threads form a cycle (each becomes the next, the
// last the first) and the GFNs are renamed by `gfns` (default: each to itself). This side checks
// what only the model knows, then derives the object permutation the engine needs:
//  - the threads exist, are distinct, and run the same flow: equal declarations but for the name,
//    the vCPU index and the GFNs (mapped through `gfns`);
//  - the vCPUs are renamed with the threads, and with them every per-vCPU object of the World
//    (objects named vcpu<i>...: the TD's VCPU state, its stepping counters, vcpu->mutex, mode,
//    srcu and PAMT cache), found by name: one without an image of that name refuses the
//    declaration. The PAMT entries of the TDVPR pages stay: their values name their vCPU (the
//    engine renames objects, not values), so a flow that touches them fails the engine's check.
// The engine then checks the result on the program (initial state, lockstep walks, invariants).
//
// GFN renaming other than the identity is refused for now: the model keeps values derived from
// GFNs in cells (guest_memfd's PFN for a GFN, SPTEs holding PFNs; kvm.ts gmemPfn()), and the
// engine renames objects, not the values inside them (docs/design.md, "Symmetry").
import { SymmetryError, type Program, type SymmetryGenerator } from "../engine/index.js";
import type { Scenario, ThreadDecl } from "./scenario.js";

export interface SymmetryDecl {
  /** Thread names (at least 2): each becomes the next, the last the first. */
  threads: string[];
  /** GFN renaming (keys: GFNs as written in YAML); default each GFN to itself. */
  gfns?: Record<string, number>;
}

const VCPU_NAME = /vcpu(\d+)/g;

/** The engine generators of a scenario's declarations on its built program; throws SymmetryError naming the field. */
export function symmetryGenerators(scenario: Scenario, program: Program): SymmetryGenerator[] {
  const decls = scenario.symmetry ?? [];
  const names = program.threads.map((t) => t.name);
  const objs = program.world.objs;
  const byName = new Map(objs.map((o) => [o.name, o.id]));
  return decls.map((d, i) => {
    const where = `symmetry[${i}]`;
    if (d.threads.length < 2) throw new SymmetryError(`${where}.threads`, "needs at least 2 threads");
    const idx = d.threads.map((n, j) => {
      const k = names.indexOf(n);
      if (k < 0) throw new SymmetryError(`${where}.threads[${j}]`, `no thread named '${n}' (threads: ${names.join(", ")})`);
      return k;
    });
    if (new Set(idx).size !== idx.length) throw new SymmetryError(`${where}.threads`, "a thread is listed twice");
    for (const [g, h] of Object.entries(d.gfns ?? {}))
      if (Number(g) !== h) throw new SymmetryError(`${where}.gfns`, `mapping GFN ${g} to GFN ${h} is not supported: the model keeps GFN-derived PFNs in cells (guest_memfd, SPTEs), which the engine does not rename; only vCPUs on the same GFNs can be exchanged`);
    const tp = names.map((_, t) => t);
    const vmap = new Map<number, number>();
    idx.forEach((t, j) => {
      const u = idx[(j + 1) % idx.length]!;
      tp[t] = u;
      const a = scenario.threads[t]!;
      const b = scenario.threads[u]!;
      const why = sameFlow(a, b);
      if (why !== null) throw new SymmetryError(`${where}.threads`, `'${names[t]}' and '${names[u]}' do not run the same flow (${why})`);
      if ("vcpu" in a && "vcpu" in b) {
        if (vmap.has(a.vcpu) && vmap.get(a.vcpu) !== b.vcpu) throw new SymmetryError(`${where}.threads`, `vCPU ${a.vcpu} would become two vCPUs`);
        vmap.set(a.vcpu, b.vcpu);
      }
    });
    for (const [from, to] of vmap) if (![...vmap.values()].includes(from) || ![...vmap.keys()].includes(to)) throw new SymmetryError(`${where}.threads`, `the vCPUs do not map onto themselves (vCPU ${from} -> ${to})`);
    const op = objs.map((o) => {
      const rename = (s: string, re: RegExp, pre: string) => s.replace(re, (m, v: string) => (vmap.has(Number(v)) ? `${pre}${vmap.get(Number(v))}` : m));
      const img = rename(o.name, VCPU_NAME, "vcpu");
      if (img === o.name) return o.id;
      const id = byName.get(img);
      if (id === undefined) throw new SymmetryError(where, `per-vCPU object '${o.name}' has no image '${img}'`);
      return id;
    });
    return { threads: tp, objs: op, where };
  });
}

/** null when a and b run the same flow (equal but for name and vCPU), else what differs. */
function sameFlow(a: ThreadDecl, b: ThreadDecl): string | null {
  if (a.kind !== b.kind) return `${a.kind} vs ${b.kind}`;
  const strip = (d: ThreadDecl): string => JSON.stringify(Object.fromEntries(Object.entries(d).filter(([k]) => k !== "name" && k !== "vcpu").sort(([x], [y]) => (x < y ? -1 : 1))));
  const x = strip(a);
  const y = strip(b);
  return x === y ? null : `${x} vs ${y}`;
}
