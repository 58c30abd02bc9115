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
// GFN renaming (`gfns` other than the identity) renames, with the GFN permutation π, everything
// the model derives from a GFN (docs/design.md, "Symmetry"): π must be an automorphism of the
// geometry (GFNs under one table at any level go to GFNs under one table), so that it extends to
// tables, S-EPT entries and their pages. Then
//  - cells indexed by GFN move (mem_attr, gmem, S-EPT entries at every level, the mirror's entries,
//    the mirror tables themselves: table slot (level, position, thread pool) goes to (level,
//    π-position, image thread's pool));
//  - PFNs are renamed by ρ, the PFN permutation π induces: guest_memfd's PFN of GFN g (gmemPfn(g)
//    = g+1) becomes π(g)'s, a punched hole's replacement likewise, a table's S-EPT page follows its
//    table slot; the page[] and pamt[] cells indexed by PFN move by ρ;
//  - values holding a PFN, a table or a GPA are renamed: SPTEs (leaf PFN, child table), S-EPT
//    entries (their PFN), PAMT entries (PT_REG's GPA, PT_EPT's parent GPA), guest_memfd's PFNs,
//    a table's external page, the zero-step GPA list, and the IPI bits of vcpu->mode (one per thread);
//  - a thread's loop-head locals are renamed by label (GFN, PFN, SPTE), so that the engine can
//    compute the hash an image thread would have (Execution.localImage); an unknown label leaves
//    that state unreduced.
// What it does not cover is refused (one line naming the field): S-EPT huge pages and 2M folios,
// the mirror's pool mode, Dynamic PAMT's per-range state, vCPU threads with guest actions (their
// RIPs), thread kinds other than fault/pre-fault/zap, and any object named after a GFN, GPA or PFN
// that it does not know. The engine then checks the whole on the program (initial state, lockstep
// walks comparing memory, pending ops and each thread's computed image hash).
import { SymmetryError, type Program, type SymmetryGenerator } from "../engine/index.js";
import { DEFAULT_GEOMETRY, nGfns, spteIndex, tablePos } from "./geometry.js";
import type { Scenario, ThreadDecl } from "./scenario.js";
import { isDirtyLeaf, isLeaf, isTable, leafSpte, spteToPfn, spteToSp, tableSpte } from "./spte.js";
import { pfnOf as septPfnOf, withPfn as septWithPfn } from "../tdx/sept.js";
import { PT, pamtPack, pamtUnpack } from "../tdx/pamt.js";

export interface SymmetryDecl {
  /** Thread names (at least 2): each becomes the next, the last the first. */
  threads: string[];
  /** Further thread cycles of the same generator (e.g. exchanging two pairs at once: a subtree swap). */
  cycles?: string[][];
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
    const cycles = [d.threads, ...(d.cycles ?? [])].map((c, ci) =>
      c.map((n, j) => {
        const k = names.indexOf(n);
        const at = ci === 0 ? `${where}.threads[${j}]` : `${where}.cycles[${ci - 1}][${j}]`;
        if (k < 0) throw new SymmetryError(at, `no thread named '${n}' (threads: ${names.join(", ")})`);
        return k;
      }),
    );
    const all = cycles.flat();
    if (new Set(all).size !== all.length) throw new SymmetryError(`${where}.threads`, "a thread is listed twice");
    const pi = gfnPermutation(scenario, d, where);
    const renames = pi.some((h, g) => h !== g);
    const tp = names.map((_, t) => t);
    const vmap = new Map<number, number>();
    for (const idx of cycles) idx.forEach((t, j) => {
      const u = idx[(j + 1) % idx.length]!;
      tp[t] = u;
      const a = scenario.threads[t]!;
      const b = scenario.threads[u]!;
      const why = sameFlow(a, b, pi);
      if (why !== null) throw new SymmetryError(`${where}.threads`, `'${names[t]}' and '${names[u]}' do not run the same flow (${why})`);
      if ("vcpu" in a && "vcpu" in b) {
        if (vmap.has(a.vcpu) && vmap.get(a.vcpu) !== b.vcpu) throw new SymmetryError(`${where}.threads`, `vCPU ${a.vcpu} would become two vCPUs`);
        vmap.set(a.vcpu, b.vcpu);
      }
    });
    for (const [from, to] of vmap) if (![...vmap.values()].includes(from) || ![...vmap.keys()].includes(to)) throw new SymmetryError(`${where}.threads`, `the vCPUs do not map onto themselves (vCPU ${from} -> ${to})`);
    // Threads outside the cycle stay: with GFNs renamed, their declarations must map onto themselves.
    if (renames)
      scenario.threads.forEach((a, t) => {
        if (tp[t] !== t) return;
        const why = sameFlow(a, a, pi);
        if (why !== null) throw new SymmetryError(`${where}.gfns`, `thread '${names[t]}' stays but its GFNs do not map onto themselves (${why})`);
      });
    const op = objs.map((o) => {
      const rename = (s: string, re: RegExp, pre: string) => s.replace(re, (m, v: string) => (vmap.has(Number(v)) ? `${pre}${vmap.get(Number(v))}` : m));
      const img = rename(o.name, VCPU_NAME, "vcpu");
      if (img === o.name) return o.id;
      const id = byName.get(img);
      if (id === undefined) throw new SymmetryError(where, `per-vCPU object '${o.name}' has no image '${img}'`);
      return id;
    });
    if (!renames) return { threads: tp, objs: op, where };
    return { threads: tp, where, ...gfnRenaming(scenario, program, `${where}.gfns`, tp, pi, op) };
  });
}

/** The declaration's GFN permutation over every GFN of the geometry (identity where not given). */
function gfnPermutation(scenario: Scenario, d: SymmetryDecl, where: string): number[] {
  const geo = scenario.geometry ?? DEFAULT_GEOMETRY;
  const n = nGfns(geo);
  const pi = Array.from({ length: n }, (_, g) => g);
  const entries = Object.entries(d.gfns ?? {});
  for (const [k, h] of entries) {
    const g = Number(k);
    if (!Number.isInteger(g) || g < 0 || g >= n || !Number.isInteger(h) || h < 0 || h >= n) throw new SymmetryError(`${where}.gfns`, `GFN ${k} -> ${h}: GFNs are 0..${n - 1}`);
    pi[g] = h;
  }
  if (new Set(pi).size !== n) throw new SymmetryError(`${where}.gfns`, `not a permutation of the GFNs (${entries.map(([k, h]) => `${k}->${h}`).join(", ")}: the GFNs mapped to must be the GFNs mapped)`);
  // An automorphism of the geometry: the GFNs under one entry at any level go to the GFNs under one entry.
  for (let level = 2; level <= geo.levels; level++) {
    const span = geo.fanout ** (level - 1);
    for (let b = 0; b < n; b += span) {
      const img = Math.floor(pi[b]! / span);
      for (let g = b + 1; g < b + span; g++)
        if (Math.floor(pi[g]! / span) !== img)
          throw new SymmetryError(`${where}.gfns`, `GFNs ${b} and ${g} lie under one level-${level} entry but their images ${pi[b]} and ${pi[g]} do not: not an automorphism of the geometry (rename whole subtrees)`);
    }
  }
  return pi;
}

const SP_NAME = /^sp(\d+)\(L(\d+) gfn(\d+) T(\d+)\)(?:\[(\d+)\]|\.external_spt)$/;
/** Object names the GFN renaming knows (besides per-vCPU objects and the mirror tables). */
const KNOWN: readonly [RegExp, string][] = [
  [/^mirror_root\[(\d+)\]$/, "root"],
  [/^mem_attr\[(\d+)\]$/, "attr"],
  [/^gmem\[(\d+)\]$/, "gmem"],
  [/^page\[pfn (\d+)\]$/, "page"],
  [/^sept\.L(\d+)\[gpa (\d+)\]$/, "sept"],
  [/^pamt\[pfn (\d+)\]$/, "pamt"],
];
/** Names that hold GFN-derived state: refused unless known. */
const GFNISH = /gfn|gpa|pfn|lpage|folio|huge|pamt|sept\.|page\[/i;

/** Loop-head locals (ThreadApi.loopHead) by label: which are GFNs, PFNs, SPTEs (the rest stay). */
// ("obj": an object id, moved as the cells are; "": kept as it is.)
const LOCALS: Record<string, readonly ("gfn" | "pfn" | "spte" | "obj" | "")[]> = {
  "kvm_tdp_mmu_map_private_pfn: retry": ["gfn", "pfn"],
  "kvm_tdp_page_prefault: retry": ["gfn"],
  "tdx_handle_ept_violation: local retry": ["gfn"],
  "zap: tdp_mmu_set_spte_atomic retry": ["gfn", "spte"],
  "seed zap: xchg until not REMOVED": ["gfn"],
  // Dead-state heads (docs/model.md, "Thread-local state"): gfn, ret, frame.
  "thread ended": [],
  "tdx_handle_ept_violation: RET_PF_RETRY": ["gfn"],
  // gfn, r, prefetch, frame
  "kvm_tdp_mmu_page_fault: map done": ["gfn"],
  // gfn, pfn, max level, prefetch, frame
  "kvm_tdp_mmu_page_fault: not stale": ["gfn", "pfn"],
  // gfn, pfn, goal, max level, level, the iterator's entry, its old_spte, valid, frame
  "kvm_tdp_mmu_map: walk": ["gfn", "pfn", "", "", "", "obj", "spte"],
};

/** The cell permutation, value renaming and locals renaming of a GFN renaming `pi` with threads `tp`. */
function gfnRenaming(scenario: Scenario, program: Program, where: string, tp: readonly number[], pi: readonly number[], vcpuObjs: readonly number[]): Pick<SymmetryGenerator, "objs" | "values" | "valueCells" | "locals"> {
  const geo = scenario.geometry ?? DEFAULT_GEOMETRY;
  const n = nGfns(geo);
  for (const d of scenario.threads)
    if (d.kind !== "fault" && d.kind !== "pre-fault" && d.kind !== "zap") throw new SymmetryError(where, `renaming GFNs is supported with fault, pre-fault and zap threads only, not '${d.kind}'`);
  const objs = program.world.objs;
  const byName = new Map(objs.map((o) => [o.name, o.id]));
  // Mirror table slots: (level, position, owner) -> sp id and object ids.
  const slot = new Map<string, number>();
  const spOf = new Map<number, { level: number; pos: number; owner: number }>();
  let externalBase = -1;
  for (const o of objs) {
    const m = SP_NAME.exec(o.name);
    if (m === null) continue;
    const id = Number(m[1]);
    const level = Number(m[2]);
    const pos = tablePos(geo, Number(m[3]), level);
    slot.set(`${level}:${pos}:${m[4]}`, id);
    spOf.set(id, { level, pos, owner: Number(m[4]) });
    if (m[5] === undefined && externalBase < 0) externalBase = program.world.initial[o.base]! - id;
  }
  // The tables linked at the start come from thread 0's slots (mirror.ts); they are nobody's cache
  // page, so they keep their owner slot (the image position's initial table), while a table a thread
  // allocates goes to its image thread's slot. (A thread that reallocates at an initially linked
  // position would break this; the engine's walks would see it.)
  const linked = new Set<string>();
  for (const o of objs) {
    const v = program.world.initial[o.base]!;
    // SPTE cells only (a table's external_spt cell holds a PFN).
    if ((o.name.startsWith("mirror_root[") || SP_NAME.exec(o.name)?.[5] !== undefined) && isTable(v)) {
      const s = spOf.get(spteToSp(v));
      if (s !== undefined) linked.add(`${s.level}:${s.pos}`);
    }
  }
  // At a linked position every slot keeps its owner (only thread 0's, the initial table, is used
  // there while it stays linked): the renaming of slots stays a group homomorphism.
  const ownerAt = (linkedPos: boolean, o: number): number => (linkedPos ? o : (tp[o] ?? o));
  const imgPos = (level: number, pos: number): number => tablePos(geo, pi[pos * geo.fanout ** level]!, level);
  for (const k of linked) {
    const [level, pos] = k.split(":").map(Number) as [number, number];
    if (!linked.has(`${level}:${imgPos(level, pos)}`)) throw new SymmetryError(where, `the level-${level} table of GFN ${pos * geo.fanout ** level} is linked at the start but its image's (GFN ${imgPos(level, pos) * geo.fanout ** level}) is not`);
  }
  const sigma = (id: number): number => {
    const s = spOf.get(id);
    if (s === undefined) return id;
    return slot.get(`${s.level}:${imgPos(s.level, s.pos)}:${ownerAt(linked.has(`${s.level}:${s.pos}`), s.owner)}`) ?? id;
  };
  const rho = (pfn: number): number => {
    if (pfn >= 1 && pfn <= n) return pi[pfn - 1]! + 1; // gmemPfn(g) = g + 1
    if (pfn >= n + 1 && pfn <= 2 * n) return n + 1 + pi[pfn - n - 1]!; // Kvm.altPfnOf(g)
    if (externalBase >= 0 && spOf.has(pfn - externalBase)) return externalBase + sigma(pfn - externalBase);
    return pfn;
  };
  const gpaBase = (gpa: number, span: number): number => Math.floor(pi[gpa]! / span) * span;
  const spte = (v: number): number => (isLeaf(v) ? leafSpte(rho(spteToPfn(v)), isDirtyLeaf(v)) : isTable(v) ? tableSpte(sigma(spteToSp(v))) : v);
  const pfnVal = (v: number): number => (v > 0 ? rho(v) : v);
  const sept = (v: number): number => (septPfnOf(v) >= 0 ? septWithPfn(v, rho(septPfnOf(v))) : v);
  const pamt = (v: number): number => {
    const p = pamtUnpack(v);
    if (p.pt === PT.REG && p.owner < n) return pamtPack({ ...p, owner: pi[p.owner]! });
    if (p.pt === PT.EPT && p.owner < n) return pamtPack({ ...p, owner: gpaBase(p.owner, geo.fanout ** p.ownerLevel) });
    return v;
  };
  const bits = (v: number, map: (b: number) => number, from: number): number => {
    let r = v & ((1 << from) - 1);
    for (let b = from; b < 31; b++) if (v & (1 << b)) r |= 1 << (from + map(b - from));
    return r;
  };
  const cellMap = Array.from({ length: program.world.initial.length }, (_, i) => i);
  const op = [...vcpuObjs];
  const fns: (((v: number) => number) | null)[] = new Array(program.world.initial.length).fill(null);
  const move = (o: (typeof objs)[number], img: string | number, fn: ((v: number) => number) | null): void => {
    const id = typeof img === "number" ? img : byName.get(img);
    if (id === undefined) throw new SymmetryError(where, `'${o.name}' has no image '${String(img)}'`);
    op[o.id] = id;
    fns[o.base] = fn;
  };
  for (const o of objs) {
    const m = SP_NAME.exec(o.name);
    if (m !== null) {
      const id = Number(m[1]);
      const s = spOf.get(id)!;
      const img = sigma(id);
      const base = s.pos * geo.fanout ** s.level;
      const is = objs.find((x) => x.name.startsWith(`sp${img}(`) && (m[5] === undefined ? x.name.endsWith(".external_spt") : x.name.endsWith(`[${spteIndex(geo, pi[base + Number(m[5]) * geo.fanout ** (s.level - 1)]!, s.level)}]`)));
      if (is === undefined) throw new SymmetryError(where, `mirror table '${o.name}' has no image`);
      move(o, is.id, m[5] === undefined ? pfnVal : spte);
      continue;
    }
    let known = false;
    for (const [re, kind] of KNOWN) {
      const k = re.exec(o.name);
      if (k === null) continue;
      known = true;
      const x = Number(k[1]);
      if (kind === "root") move(o, `mirror_root[${spteIndex(geo, pi[x * geo.fanout ** (geo.levels - 1)]!, geo.levels)}]`, spte);
      else if (kind === "attr") move(o, `mem_attr[${pi[x]}]`, null);
      else if (kind === "gmem") move(o, `gmem[${pi[x]}]`, pfnVal);
      else if (kind === "page") move(o, `page[pfn ${rho(x)}]`, null);
      else if (kind === "pamt") move(o, `pamt[pfn ${rho(x)}]`, pamt);
      else if (kind === "sept") move(o, `sept.L${x}[gpa ${gpaBase(Number(k[2]), geo.fanout ** x)}]`, sept);
    }
    if (known) continue;
    if (/^vcpu\d+\.mode$/.test(o.name)) {
      // bits 2..: the threads whose IPI this vCPU has not acknowledged (kvm.ts VCPU_MODE).
      fns[o.base] = (v) => bits(v, (t) => tp[t] ?? t, 2);
      continue;
    }
    if (/^vcpu\d+\.last_epf_gpa_list$/.test(o.name)) {
      fns[o.base] = (v) => bits(v, (g) => pi[g] ?? g, 0);
      continue;
    }
    if (/^vcpu\d+/.test(o.name) || o.name === "pamt[TDR]" || /^pamt\[TDVPR\d+\]$/.test(o.name)) continue;
    if (/^sp\d+$/.test(o.name) || o.name.startsWith("sp") && !SP_NAME.test(o.name) && /^sp\d+[.[]/.test(o.name)) throw new SymmetryError(where, `the mirror's pool mode is not supported with GFN renaming ('${o.name}')`);
    if (GFNISH.test(o.name)) throw new SymmetryError(where, `object '${o.name}' holds GFN-derived state that GFN renaming does not cover (S-EPT huge pages, Dynamic PAMT and 2M folios are not supported)`);
  }
  for (const o of objs) for (let i = 0; i < o.size; i++) cellMap[o.base + i] = objs[op[o.id]!]!.base + i;
  const valueCells: number[] = [];
  fns.forEach((f, c) => {
    if (f !== null) valueCells.push(c);
  });
  const locals = (label: string, loc: readonly number[]): readonly number[] | null => {
    const kinds = LOCALS[label];
    if (kinds === undefined) return null;
    return loc.map((v, j) => (kinds[j] === "gfn" ? (v >= 0 && v < n ? pi[v]! : v) : kinds[j] === "pfn" ? rho(v) : kinds[j] === "spte" ? spte(v) : kinds[j] === "obj" ? op[v]! : v));
  };
  return { objs: op, values: (c, v) => fns[c]!(v), valueCells, locals };
}

/**
 * null when a and b run the same flow (equal but for name and vCPU, a's GFN mapped by `pi` to b's,
 * a's GFN range mapped onto b's as a set), else what differs.
 */
function sameFlow(a: ThreadDecl, b: ThreadDecl, pi: readonly number[]): string | null {
  if (a.kind !== b.kind) return `${a.kind} vs ${b.kind}`;
  const id = pi.map((_, g) => g);
  const norm = (d: ThreadDecl, map: readonly number[]): string => {
    const r: Record<string, unknown> = { ...d };
    delete r.name;
    delete r.vcpu;
    const m = (g: number): number => (g >= 0 && g < map.length ? map[g]! : g);
    if (typeof r.gfn === "number") r.gfn = m(r.gfn);
    if (typeof r.start === "number" && typeof r.end === "number") {
      r.start = `{${[...new Set(rangeOf(d).map(m))].sort((x, y) => x - y).join(",")}}`;
      delete r.end;
    }
    return JSON.stringify(Object.fromEntries(Object.entries(r).sort(([x], [y]) => (x < y ? -1 : 1))));
  };
  const x = norm(a, pi);
  const y = norm(b, id);
  return x === y ? null : `${x} vs ${y}`;
}

function rangeOf(d: ThreadDecl): number[] {
  const r: number[] = [];
  if ("start" in d && "end" in d && typeof d.start === "number" && typeof d.end === "number") for (let g = d.start; g < d.end; g++) r.push(g);
  return r;
}
