// Symmetry reduction for the stateful search (scalarset-style, as in Murphi and SPIN's symmetry
// extensions; Ip & Dill, "Better verification through symmetry", FMSD 1996).
//
// A program may declare a group of permutations that map it onto itself: each generator renames
// threads (thread t becomes thread `threads[t]`) and objects of the World (object o becomes object
// `objs[o]`, cell by cell). The engine knows nothing of what the threads or objects mean; the
// model layer derives the object permutation from its own notion of symmetric positions (for KVM:
// per-vCPU objects when vCPUs are exchanged; src/kvm/symmetry.ts).
//
// With a group G, the visited set of the `cache` strategy stores the canonical fingerprint of a
// state s, the least fingerprint of g(s) over g in G (g(s): cell i's value moved to cell g(i),
// thread t's local state moved to thread g(t)). Two states with the same canonical fingerprint
// lie in one orbit, and when every g is an automorphism of the transition system (it maps the
// initial state to itself, a step of thread t from s to a step of thread g(t) from g(s), and
// every check's verdict at s to the same verdict at g(s)), everything reachable from one is,
// up to g, reachable from the other: the search may cut at the second. The states the search
// does visit are real states of the original program, reached by real schedules, so every
// counterexample is one of the original program (nothing is un-permuted).
//
// A declaration is checked before it is used (`Symmetry.of`): each generator is a bijection on
// threads and objects, keeps object kinds and sizes, maps the initial memory to itself, and a
// fixed number of seeded random walks run in lockstep with their image (the same schedule with
// every thread renamed, the same choice outcomes) agree step by step: memory maps onto memory,
// each thread's pending op onto its image's (kind, arguments, objects renamed), enabledness,
// finished threads, and the properties violated after each step (invariants are evaluated on
// real states only, so an asymmetric invariant shows as a different verdict on a walk). A walk
// is a test, not a proof: the model layer also checks its own side (same flow, mapped GFNs).
//
// Values are data unless a generator renames them (`values`, with `locals` for loop heads): then
// each thread's image hash is computed from renamed results and locals (Execution.localImage)
// rather than moved, and the walks also check that the image fingerprint so computed is the image's
// own (docs/design.md, "Renamed values: GFN renaming"). Without `values`, what the lockstep check
// cannot see is a thread whose *local* state names a permuted thing (a loop head whose live locals
// hold an object index): such a model must not declare the symmetry; the walks catch it when a walk
// reaches a state where it matters.
//
// Thread-local state hashes carry no thread id (execution.ts), so the same code history in two
// interchangeable threads hashes alike; the fingerprint places each thread's hash at its position.
//
// Livelock keeps thread identity: the fair-cycle analysis of the state graph (stategraph.ts)
// needs the unreduced graph, so the search runs without symmetry while livelock is judged (as
// without partial-order reduction), and reports it.
import { Execution, type LocalImager, type Oracle } from "./execution.js";
import { cellHash1, cellHash2 } from "./hash.js";
import { K, type Op } from "./ops.js";
import type { Program } from "./program.js";
import { rng } from "./schedulers/walk.js";

/** One generator of a symmetry group. */
export interface SymmetryGenerator {
  /** Thread t becomes thread `threads[t]` (a permutation of 0..n-1). */
  threads: readonly number[];
  /** Object o becomes object `objs[o]` (a permutation of the object ids); omitted: no object moves. */
  objs?: readonly number[];
  /** Where the declaration comes from (e.g. a scenario field), named by refusals. */
  where?: string;
  /**
   * Values renamed with the objects (a GFN-derived PFN, a pointer to a per-thread table): the value
   * `v` of cell `cell` becomes `values(cell, v)` in cell objs-image of `cell`. Only the cells in
   * `valueCells` are passed; every other value is data and stays. Must be a bijection per cell.
   */
  values?: (cell: number, v: number) => number;
  valueCells?: readonly number[];
  /**
   * The image thread's live locals at a loop head (`ThreadApi.loopHead(label, ...locals)`), or null
   * when they cannot be renamed (a state where it matters is then not reduced by this element).
   * Needed with `values`: a thread's local-state hash mixes the values it read, so the image's hash
   * is computed from renamed values (Execution.localImage), and a loop head restarts it from its locals.
   * Omitted: locals stay.
   */
  locals?: (label: string, locals: readonly number[]) => readonly number[] | null;
}

/** A refused declaration: the message names where it came from and what is wrong (one line). */
export class SymmetryError extends Error {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = "SymmetryError";
  }
}

export interface SymmetryCheckOptions {
  /** Seeded random walks run in lockstep with their image, per generator (default 64). */
  walks?: number;
  /** Steps per walk (default 400). */
  walkSteps?: number;
  seed?: number;
  /**
   * Test hook: skip the semantic checks (initial state, lockstep walks), keeping only the shape
   * (bijections, sizes), to show that the differential tests catch a wrong declaration.
   */
  uncheckedForTests?: boolean;
}

/** Largest group accepted (the canonical fingerprint costs one image per element and state). */
export const MAX_GROUP_ORDER = 5040;

interface Elem {
  /** Thread t goes to thread tp[t]. */
  tp: Int32Array;
  /** The generators composed (applied first to last), for renamed values and locals. */
  word: number[];
  /** Per listed cell (from[k]): its value is renamed by the generators' `values` (1) or not (0). */
  vc: Uint8Array;
  /**
   * The cells it changes: cell from[k]'s value goes to cell to[k], renamed when own[k] (a lock's
   * owner cell holds a thread id: the thread is renamed with the threads).
   */
  from: Int32Array;
  to: Int32Array;
  own: Uint8Array;
  /**
   * Per listed cell: the value it held when its hash change was last computed and that change (a
   * cache: most cells keep their value from one state to the next, and renaming a value costs).
   */
  lastV: Int32Array;
  lastD1: Int32Array;
  lastD2: Int32Array;
}

/**
 * Cells whose value names a thread: the owner word of the engine's locks (exec-op.ts: a spinlock
 * holds tid+1, a reader-writer lock's writer word ±(tid+1)). Their values are renamed with the
 * threads; every other value is data and stays.
 */
function ownerCells(program: Program): Uint8Array {
  const own = new Uint8Array(program.world.initial.length);
  for (const o of program.world.objs) if (o.kind === "spinlock" || o.kind === "rwlock") own[o.base] = 1;
  return own;
}

/** An owner word's value under the thread renaming tp (0: free; ±(t+1): thread t). */
function renameOwner(v: number, tp: Int32Array): number {
  if (v === 0) return 0;
  const t = Math.abs(v) - 1;
  if (t >= tp.length) return v;
  return v > 0 ? tp[t]! + 1 : -(tp[t]! + 1);
}

export class Symmetry implements LocalImager {
  /** Canonical fingerprint of the last `canonical()` call and the element that gave it (-1: identity). */
  c1 = 0;
  c2 = 0;
  private best = -1;

  /** Some generator renames values or locals: thread images are computed (Execution.localImage), not moved. */
  readonly renamesValues: boolean;
  private readonly imgs: Int32Array[];
  private readonly gcp: Int32Array[];

  private constructor(
    readonly n: number,
    /** The group's elements other than the identity. */
    private readonly elems: readonly Elem[],
    /** Generators as given (for provenance). */
    readonly generators: readonly SymmetryGenerator[],
    /** Per generator: its cell permutation. */
    gcp: Int32Array[],
    private readonly gvc: Uint8Array[],
    private readonly own: Uint8Array,
  ) {
    this.renamesValues = generators.some((g) => g.values !== undefined || g.locals !== undefined);
    this.imgs = new Array<Int32Array>(n);
    this.gcp = gcp;
  }

  /** LocalImager: group elements other than the identity. */
  get size(): number {
    return this.elems.length;
  }

  /** LocalImager: element k's image of value v read from `cell`. */
  value(k: number, cell: number, v: number): number {
    const e = this.elems[k]!;
    return imageValue(this.generators, this.gcp, this.gvc, e.word, this.own, e.tp, cell, v);
  }

  /** LocalImager: element k's image of a loop head's locals. */
  locals(k: number, label: string, locals: readonly number[]): readonly number[] | null {
    return imageLocals(this.generators, this.elems[k]!.word, label, locals);
  }

  /** The group's order (elements, the identity included). */
  get order(): number {
    return this.elems.length + 1;
  }

  /**
   * Check a declaration against a program and build its group. Throws SymmetryError (one line,
   * naming `where`) for a wrong one.
   */
  static of(program: Program, gens: readonly SymmetryGenerator[], opts: SymmetryCheckOptions = {}): Symmetry {
    const n = program.threads.length;
    const objs = program.world.objs;
    const nCells = program.world.initial.length;
    const full: { tp: Int32Array; cp: Int32Array; vcells: Uint8Array }[] = [];
    const own = ownerCells(program);
    for (const [gi, g] of gens.entries()) {
      const where = g.where ?? `symmetry[${gi}]`;
      if (!isPermutation(g.threads, n)) throw new SymmetryError(where, `threads must be a permutation of the ${n} threads (0..${n - 1}), got [${g.threads.join(", ")}]`);
      const op = g.objs ?? objs.map((o) => o.id);
      if (!isPermutation(op, objs.length)) throw new SymmetryError(where, `objs must be a permutation of the ${objs.length} objects`);
      const cp = new Int32Array(nCells);
      for (const o of objs) {
        const p = objs[op[o.id]!]!;
        if (p.size !== o.size || p.kind !== o.kind) throw new SymmetryError(where, `object '${o.name}' (${o.kind}, ${o.size} cells) cannot become '${p.name}' (${p.kind}, ${p.size} cells)`);
        for (let i = 0; i < o.size; i++) cp[o.base + i] = p.base + i;
      }
      const tp = Int32Array.from(g.threads);
      const vcells = new Uint8Array(nCells);
      if (g.values !== undefined) for (const c of g.valueCells ?? []) if (c >= 0 && c < nCells) vcells[c] = 1;
      const val1 = (i: number, v: number): number => {
        const w = own[i] ? renameOwner(v, tp) : v;
        return vcells[i] ? g.values!(i, w) : w;
      };
      if (!opts.uncheckedForTests) {
        const init = program.world.initial;
        for (let i = 0; i < nCells; i++)
          if (init[cp[i]!] !== val1(i, init[i]!)) {
            const o = objs.find((x) => i >= x.base && i < x.base + x.size)!;
            throw new SymmetryError(where, `the initial state is not symmetric: '${o.name}' starts as ${o.fmt(init[i]!)} but its image '${objs[op[o.id]!]!.name}' starts as ${o.fmt(init[cp[i]!]!)}`);
          }
        const bad = lockstep(program, tp, cp, Int32Array.from(op), val1, (i) => own[i] === 1 || vcells[i] === 1, g, opts);
        if (bad !== null) throw new SymmetryError(where, `not a symmetry of the program: ${bad}`);
      }
      full.push({ tp, cp, vcells });
    }
    // The group generated: breadth-first closure under composition with the generators.
    const key = (tp: Int32Array, cp: Int32Array): string => `${tp.join(",")}|${cp.join(",")}`;
    const idT = Int32Array.from({ length: n }, (_, i) => i);
    const idC = Int32Array.from({ length: nCells }, (_, i) => i);
    // With renamed values an element is keyed by its permutations: a declaration's value renaming is
    // a function of them (the model derives both from one renaming of threads and GFNs).
    const seen = new Set<string>([key(idT, idC)]);
    const queue = [{ tp: idT, cp: idC, word: [] as number[], vc: new Uint8Array(nCells) }];
    const elems: Elem[] = [];
    for (let q = 0; q < queue.length; q++) {
      const e = queue[q]!;
      for (const [gi, g] of full.entries()) {
        const tp = e.tp.map((x) => g.tp[x]!);
        const cp = e.cp.map((x) => g.cp[x]!);
        const k = key(tp, cp);
        if (seen.has(k)) continue;
        seen.add(k);
        if (seen.size > MAX_GROUP_ORDER) throw new SymmetryError(gens[0]?.where ?? "symmetry", `the declared symmetries generate more than ${MAX_GROUP_ORDER} permutations`);
        // A cell's value is renamed by the element when some generator along its way renames it.
        const vc = new Uint8Array(nCells);
        for (let i = 0; i < nCells; i++) vc[i] = e.vc[i] || g.vcells[e.cp[i]!] ? 1 : 0;
        const word = [...e.word, gi];
        queue.push({ tp, cp, word, vc });
        const from: number[] = [];
        const to: number[] = [];
        const ow: number[] = [];
        const vv: number[] = [];
        for (let i = 0; i < nCells; i++)
          if (cp[i] !== i || own[i] || vc[i]) {
            from.push(i);
            to.push(cp[i]!);
            ow.push(own[i]!);
            vv.push(vc[i]!);
          }
        const m = from.length;
        // The cache starts invalid: lastV holds a value no cell holds then (initial value + 1).
        const lastV = Int32Array.from(from, (i) => (program.world.initial[i]! + 1) | 0);
        elems.push({ tp, word, vc: Uint8Array.from(vv), from: Int32Array.from(from), to: Int32Array.from(to), own: Uint8Array.from(ow), lastV, lastD1: new Int32Array(m), lastD2: new Int32Array(m) });
      }
    }
    return new Symmetry(n, elems, gens, full.map((f) => f.cp), full.map((f) => f.vcells), own);
  }

  /**
   * The canonical fingerprint of `ex`'s state: the least (fp1, fp2) over the group's images, into
   * c1/c2 (ex.fp1/fp2 stay the state's own). Remembers which element gave it, for `toCanon`/`fromCanon`.
   */
  canonical(ex: Execution): void {
    ex.fingerprint();
    let b1 = ex.fp1;
    let b2 = ex.fp2;
    let best = -1;
    const mem = ex.mem;
    const rv = this.renamesValues;
    const imgs = this.imgs;
    if (rv) for (let t = 0; t < this.n; t++) imgs[t] = ex.localImage(t, this);
    elements: for (let k = 0; k < this.elems.length; k++) {
      const e = this.elems[k]!;
      // With renamed values a thread's image hash is computed (unknown: this element is skipped here).
      if (rv) for (let t = 0; t < this.n; t++) if (imgs[t]![3 * k + 2] === 0) continue elements;
      let d1 = 0;
      let d2 = 0;
      const from = e.from;
      const to = e.to;
      const own = e.own;
      const vc = e.vc;
      const lastV = e.lastV;
      const lastD1 = e.lastD1;
      const lastD2 = e.lastD2;
      for (let j = 0; j < from.length; j++) {
        const i = from[j]!;
        const v = mem[i]!;
        if (v !== lastV[j]) {
          let w = own[j] && v !== 0 ? renameOwner(v, e.tp) : v;
          if (vc[j]) w = imageValue(this.generators, this.gcp, this.gvc, e.word, null, e.tp, i, w);
          const dst = to[j]!;
          lastV[j] = v;
          // A free lock that stays changes nothing (owner words are listed whether they move or not).
          lastD1[j] = dst === i && w === v ? 0 : (cellHash1(dst, w) - cellHash1(i, v)) | 0;
          lastD2[j] = dst === i && w === v ? 0 : (cellHash2(dst, w) - cellHash2(i, v)) | 0;
        }
        d1 = (d1 + lastD1[j]!) | 0;
        d2 = (d2 + lastD2[j]!) | 0;
      }
      if (rv) ex.fingerprintImage(e.tp, d1, d2, imgs, 3 * k);
      else ex.fingerprintAs(e.tp, d1, d2);
      const a = ex.asFp1 >>> 0;
      const ba = b1 >>> 0;
      if (a < ba || (a === ba && ex.asFp2 >>> 0 < b2 >>> 0)) {
        b1 = ex.asFp1;
        b2 = ex.asFp2;
        best = k;
      }
    }
    this.c1 = b1;
    this.c2 = b2;
    this.best = best;
  }

  /** A thread mask of the state last canonicalised, in the canonical image's thread names. */
  toCanon(mask: number): number {
    if (this.best < 0) return mask;
    const tp = this.elems[this.best]!.tp;
    let r = 0;
    for (let m = mask; m !== 0; m &= m - 1) r |= 1 << tp[31 - Math.clz32(m & -m)]!;
    return r;
  }

  /** The inverse of `toCanon`: a mask in the canonical image's names, in the state's own. */
  fromCanon(mask: number): number {
    if (this.best < 0) return mask;
    const tp = this.elems[this.best]!.tp;
    let r = 0;
    for (let t = 0; t < this.n; t++) if ((mask & (1 << tp[t]!)) !== 0) r |= 1 << t;
    return r;
  }
}

/**
 * The image of value v of `cell` under the generators of `word` applied in order (each renames the
 * value where it sits, then moves it); with `own`, a lock owner word is renamed with the threads first.
 */
function imageValue(gens: readonly SymmetryGenerator[], gcp: readonly Int32Array[], gvc: readonly Uint8Array[], word: readonly number[], own: Uint8Array | null, tp: Int32Array, cell: number, v: number): number {
  let w = own !== null && own[cell] && v !== 0 ? renameOwner(v, tp) : v;
  let c = cell;
  for (const gi of word) {
    const g = gens[gi]!;
    if (gvc[gi]![c]) w = g.values!(c, w);
    c = gcp[gi]![c]!;
  }
  return w;
}

/** The image of a loop head's locals under the generators of `word` (null: one cannot rename them). */
function imageLocals(gens: readonly SymmetryGenerator[], word: readonly number[], label: string, locals: readonly number[]): readonly number[] | null {
  let l: readonly number[] | null = locals;
  for (const gi of word) {
    const g = gens[gi]!;
    if (g.locals !== undefined && l !== null) l = g.locals(label, l);
  }
  return l;
}

function isPermutation(p: readonly number[], n: number): boolean {
  if (p.length !== n) return false;
  const seen = new Uint8Array(n);
  for (const x of p) {
    if (!Number.isInteger(x) || x < 0 || x >= n || seen[x]) return false;
    seen[x] = 1;
  }
  return true;
}

/** What a step leaves behind that its image must match (per step of a walk). */
interface Obs {
  mem: Int32Array;
  ops: (Op | null)[];
  done: boolean[];
  enabled: number;
  props: string;
  fp1: number;
  fp2: number;
  /** The walk's image fingerprint is known (every thread's image hash could be computed). */
  known: boolean;
  l1: Int32Array;
  /** With renamed values: each thread's image hash (lane 1) as computed. */
  i1: Int32Array;
}

/**
 * Seeded random walks of the program, each run again with every thread renamed by `tp` and the
 * same choice outcomes per thread; null when every walk agrees with its image step by step, else
 * what differed first (one line).
 */
function lockstep(program: Program, tp: Int32Array, cp: Int32Array, op: Int32Array, image: (i: number, v: number) => number, renamed: (i: number) => boolean, g: SymmetryGenerator, opts: SymmetryCheckOptions): string | null {
  const n = program.threads.length;
  const walks = opts.walks ?? 64;
  const maxSteps = opts.walkSteps ?? 400;
  const random = rng(opts.seed ?? 0x5ca1ab1e);
  const perThread: number[][] = Array.from({ length: n }, () => []);
  const pos = new Array<number>(n).fill(0);
  let replaying = false;
  const oracle: Oracle = {
    choose(t: number, k: number): number {
      if (!replaying) {
        const c = Math.floor(random() * k);
        perThread[t]!.push(c);
        return c;
      }
      // Thread t of the image runs as thread tinv[t] did: the same outcomes, in order.
      const src = perThread[tinv[t]!]!;
      const c = src[pos[t]!++] ?? 0;
      return c < k ? c : 0;
    },
  };
  const tinv = new Int32Array(n);
  for (let t = 0; t < n; t++) tinv[tp[t]!] = t;
  const ex = new Execution(program, oracle, null);
  const name = (t: number): string => program.threads[t]!.name;
  const moved: number[] = [];
  for (let i = 0; i < cp.length; i++) if (cp[i] !== i || renamed(i)) moved.push(i);
  // With renamed values, each thread's image hash is computed (as `canonical` does) and the image's
  // fingerprint so computed must be the image's own: the locals renaming is checked by the walks.
  const rv = g.values !== undefined || g.locals !== undefined;
  const imager: LocalImager = {
    size: 1,
    value: (_k, cell, v) => image(cell, v),
    locals: (_k, label, locals) => (g.locals ? g.locals(label, locals) : locals),
  };
  const imgs: Int32Array[] = new Array<Int32Array>(n);
  /** The state now; for a walk (not its image), with the fingerprint of its image under (tp, cp). */
  const observe = (): Obs => {
    ex.fingerprint();
    let f1 = ex.fp1;
    let f2 = ex.fp2;
    let known = true;
    if (!replaying) {
      let d1 = 0;
      let d2 = 0;
      for (const i of moved) {
        const v = ex.mem[i]!;
        d1 = (d1 + cellHash1(cp[i]!, image(i, v)) - cellHash1(i, v)) | 0;
        d2 = (d2 + cellHash2(cp[i]!, image(i, v)) - cellHash2(i, v)) | 0;
      }
      if (rv) {
        for (let t = 0; t < n; t++) {
          imgs[t] = ex.localImage(t, imager);
          if (imgs[t]![2] === 0) known = false;
        }
        ex.fingerprintImage(tp, d1, d2, imgs, 0);
      } else ex.fingerprintAs(tp, d1, d2);
      f1 = ex.asFp1;
      f2 = ex.asFp2;
    }
    return {
      mem: ex.mem.slice(),
      ops: ex.pending.slice(),
      done: ex.done.slice(),
      enabled: ex.enabledMask(),
      props: [...new Set(ex.violations.map((v) => v.property))].sort().join(","),
      fp1: f1,
      fp2: f2,
      known,
      l1: ex.l1.slice(),
      i1: Int32Array.from({ length: n }, (_, t) => (rv && !replaying ? imgs[t]![0]! : 0)),
    };
  };
  try {
    for (let w = 0; w < walks; w++) {
      for (const l of perThread) l.length = 0;
      replaying = false;
      ex.reset();
      const sched: number[] = [];
      const obsA: Obs[] = [observe()];
      for (let i = 0; i < maxSteps && !ex.fatal; i++) {
        const en = obsA[i]!.enabled;
        if (en === 0) break;
        const cands: number[] = [];
        for (let t = 0; t < n; t++) if (en & (1 << t)) cands.push(t);
        const t = cands[Math.floor(random() * cands.length)]!;
        sched.push(t);
        ex.step(t);
        obsA.push(observe());
      }
      const finalA = ex.allDone() && !ex.fatal ? (ex.checkFinal(), props(ex)) : null;
      replaying = true;
      pos.fill(0);
      ex.reset();
      for (let i = 0; ; i++) {
        const b = observe();
        const d = compare(obsA[i]!, b);
        if (d !== null) {
          const path = sched.slice(Math.max(0, i - 6), i).map((t) => name(t)).join(" ");
          return `after ${i} step(s) of a walk (${i === 0 ? "start" : i > 6 ? `... ${path}` : path}) and its image: ${d}`;
        }
        if (i >= sched.length) break;
        ex.step(tp[sched[i]!]!);
      }
      if (finalA !== null) {
        ex.checkFinal();
        const fb = props(ex);
        if (fb !== finalA) return `a walk ends with the final checks violating {${finalA}}, its image with {${fb}}`;
      }
    }
  } finally {
    program.world.reset();
  }
  return null;

  function props(e: Execution): string {
    return [...new Set(e.violations.map((v) => v.property))].sort().join(",");
  }

  function compare(a: Obs, b: Obs): string | null {
    const objs = program.world.objs;
    for (let i = 0; i < a.mem.length; i++)
      if (b.mem[cp[i]!] !== image(i, a.mem[i]!)) {
        const o = objs.find((x) => i >= x.base && i < x.base + x.size)!;
        return `'${o.name}' is ${o.fmt(a.mem[i]!)} but its image '${objs[op[o.id]!]!.name}' is ${o.fmt(b.mem[cp[i]!]!)}`;
      }
    for (let t = 0; t < n; t++) {
      const u = tp[t]!;
      if (a.done[t] !== b.done[u]) return `thread ${name(t)} ${a.done[t] ? "has" : "has not"} finished, its image ${name(u)} ${b.done[u] ? "has" : "has not"}`;
      const x = a.ops[t] ?? null;
      const y = b.ops[u] ?? null;
      const why = sameOp(x, y);
      if (why !== null) return `thread ${name(t)}'s next step ${x ? `'${x.label}'` : "(none)"} and its image ${name(u)}'s ${y ? `'${y.label}'` : "(none)"} differ (${why})`;
      if (((a.enabled >> t) & 1) !== ((b.enabled >> u) & 1)) return `thread ${name(t)} is ${(a.enabled >> t) & 1 ? "enabled" : "blocked"}, its image ${name(u)} is ${(b.enabled >> u) & 1 ? "enabled" : "blocked"}`;
    }
    if (a.props !== b.props) return `the state violates {${a.props}}, its image {${b.props}} (an invariant that is not symmetric)`;
    if (rv) {
      // Renamed values: the image fingerprint `canonical` would compute (memory renamed, each
      // thread's image hash from renamed results and loop-head locals) must be the image's own.
      if (a.known && (a.fp1 !== b.fp1 || a.fp2 !== b.fp2)) {
        const t = [...Array(n).keys()].find((u) => a.i1[u] !== b.l1[tp[u]!]);
        return t !== undefined ? `thread ${name(t)}'s local state does not map onto its image ${name(tp[t]!)}'s (a value it read or a loop head's locals is not renamed as the image's)` : "the image's fingerprint differs from the renamed state's";
      }
      return null;
    }
    // Internal consistency: where every thread's local hash matches its image's, the image's
    // fingerprint computed by moving hashes (what `canonical` does) is the image's real one.
    let same = true;
    for (let t = 0; t < n; t++) if (a.l1[t] !== b.l1[tp[t]!]) same = false;
    if (same && (a.fp1 !== b.fp1 || a.fp2 !== b.fp2)) throw new Error("internal: the fingerprint of a symmetric image differs from the image's own");
    return null;
  }

  function sameOp(x: Op | null, y: Op | null): string | null {
    if (x === null || y === null) return x === y ? null : "one has none";
    if (x.k !== y.k) return "another kind of step";
    // Stored values are renamed with the cell they go to (store/xchg: a; cmpxchg: expected a, new b).
    const va = x.k === K.Store || x.k === K.Xchg || x.k === K.Cas ? image(x.s, x.a) : x.a;
    const vb = x.k === K.Cas ? image(x.s, x.b) : x.b;
    if (va !== y.a || vb !== y.b || (x.env ?? false) !== (y.env ?? false)) return "other arguments";
    if ((x.o < 0 ? -1 : op[x.o]!) !== y.o) return "its object is not the image's";
    const xo = x.objs ?? null;
    const yo = y.objs ?? null;
    if ((xo === null) !== (yo === null)) return "other objects";
    if (xo !== null && yo !== null) {
      if (xo.length !== yo.length) return "other objects";
      const want = xo.map((o) => op[o]!).sort((p, q) => p - q);
      const got = [...yo].sort((p, q) => p - q);
      for (let i = 0; i < want.length; i++) if (want[i] !== got[i]) return "other objects";
    }
    return null;
  }
}
