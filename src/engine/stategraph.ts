// The state graph recorded by the stateful search, and livelock detection on it.
//
// A livelock is a reachable cycle in which no step completes anything (SPIN's non-progress
// cycle), judged under weak fairness between threads and fairness of the environment:
//  - edges that make progress (a thread finishes, ThreadApi.progress()) are not part of such a cycle;
//  - edges that took an environment-injected failure are not either (the environment is fair:
//    a cycle kept alive by injected failures ends when the environment stops failing);
//  - a strongly connected component of the remaining edges contains a weakly fair cycle iff every
//    thread that is enabled in all of its states has an edge inside it (a cycle through all the
//    component's states and edges is then fair; otherwise every cycle in it starves that thread).
// Tarjan's algorithm finds the components; a counterexample is the discovery path to a state of
// the component followed by a cycle that takes an edge of every thread that runs in it and visits,
// for every other thread, a state where that thread is disabled.
import type { Schedule } from "./schedule.js";

/** A StateGraph's contents as plain data (structured-cloneable; see StateGraph's fields). */
export interface StateGraphData {
  from: Int32Array;
  to: Int32Array;
  meta: Int32Array;
  chEdge: Int32Array;
  chPos: Int32Array;
  pool: Int32Array;
  enabled: Int32Array;
  parentEdge: Int32Array;
  rootChoices: [number, number[]][];
  truncated: boolean;
  /** The part's adjacency over the edges a livelock may use (partCsr), when its worker built it. */
  csr?: Csr;
}

/** Adjacency in CSR form: state s's entries are to[deg[s]] .. to[deg[s + 1] - 1], in edge order. */
export interface Csr {
  deg: Int32Array;
  to: Int32Array;
}

/** Edge meta word: thread (bits 0-4), progress (bit 5), environment failure (bit 6), span - 1 (bits 7-30). */
const M_TID = 31;
const M_PROGRESS = 1 << 5;
const M_ENVFAIL = 1 << 6;
/** Edges with neither flag: those a non-progress cycle may use. */
const M_FLAGS = M_PROGRESS | M_ENVFAIL;
const M_SPAN_SHIFT = 7;

export class StateGraph {
  // Edges in typed arrays (grown by doubling): source, target and one meta word (thread, flags,
  // span; see M_*), 12 bytes an edge. The few edges that made choices are listed apart, in edge
  // order (`chEdge`), with where their outcomes are in `pool` (the count, then the outcomes).
  private from = new Int32Array(1024);
  private to = new Int32Array(1024);
  private meta = new Int32Array(1024);
  private chEdge = new Int32Array(64);
  private chPos = new Int32Array(64);
  private nCh = 0;
  private pool = new Int32Array(1024);
  private poolLen = 0;
  private nE = 0;
  /** Per state: enabled mask (-1 = never expanded), discovery edge (-1 = root, -2 = none yet). */
  private enabled = new Int32Array(1024).fill(-1);
  private parentEdge = new Int32Array(1024).fill(-2);
  private nS = 0;
  private rootChoices = new Map<number, number[]>();
  truncated = false;

  constructor(readonly maxEdges = 20_000_000) {}

  get edges(): number {
    return this.nE;
  }

  addRoot(state: number, rootChoices: number[]): void {
    this.ensure(state);
    if (this.parentEdge[state] === -2) {
      this.parentEdge[state] = -1;
      this.rootChoices.set(state, rootChoices.slice());
    }
  }

  setEnabled(state: number, mask: number): void {
    this.ensure(state);
    this.enabled[state] = mask;
  }

  /** `span`: model steps in the (fused) step; kept in the high bits of the edge's meta word. */
  addEdge(from: number, to: number, tid: number, choices: readonly number[] | null, progress: boolean, envFail: boolean, isNew: boolean, span = 1): void {
    const e = this.nE;
    if (e >= this.maxEdges) {
      this.truncated = true;
      return;
    }
    this.ensure(to);
    if (e >= this.from.length) this.growEdges();
    this.from[e] = from;
    this.to[e] = to;
    this.meta[e] = tid | (progress ? M_PROGRESS : 0) | (envFail ? M_ENVFAIL : 0) | ((span - 1) << M_SPAN_SHIFT);
    if (choices !== null && choices.length > 0) {
      const k = choices.length;
      if (this.poolLen + k + 1 > this.pool.length) this.pool = grown(this.pool, this.poolLen + k + 1);
      const at = this.poolLen;
      this.pool[at] = k;
      for (let j = 0; j < k; j++) this.pool[at + 1 + j] = choices[j]!;
      this.poolLen = at + k + 1;
      const c = this.nCh;
      if (c >= this.chEdge.length) {
        this.chEdge = grown(this.chEdge, c + 1);
        this.chPos = grown(this.chPos, c + 1);
      }
      this.chEdge[c] = e;
      this.chPos[c] = at;
      this.nCh = c + 1;
    }
    this.nE = e + 1;
    if (isNew && this.parentEdge[to] === -2) this.parentEdge[to] = e;
  }

  /** The threads enabled in state s (-1: never expanded). */
  enabledOf(s: number): number {
    return this.enabled[s]!;
  }

  /** The discovery path to state s: its root's choices and the steps (thread, choice outcomes) from there. */
  pathTo(s: number): { rootChoices: number[]; steps: { tid: number; choices: number[] }[] } {
    const edges: number[] = [];
    while (this.parentEdge[s]! >= 0) {
      const e = this.parentEdge[s]!;
      edges.push(e);
      s = this.from[e]!;
    }
    edges.reverse();
    return { rootChoices: this.rootChoices.get(s) ?? [], steps: edges.map((e) => ({ tid: this.meta[e]! & M_TID, choices: this.choicesOf(e) })) };
  }

  private choicesOf(e: number): number[] {
    // chEdge is ascending (edges are numbered in the order they are added).
    let lo = 0;
    let hi = this.nCh;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.chEdge[mid]! < e) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= this.nCh || this.chEdge[lo] !== e) return [];
    const at = this.chPos[lo]!;
    return Array.from(this.pool.subarray(at + 1, at + 1 + this.pool[at]!));
  }

  private growEdges(): void {
    const cap = this.from.length * 2;
    this.from = grown(this.from, cap);
    this.to = grown(this.to, cap);
    this.meta = grown(this.meta, cap);
  }

  private ensure(s: number): void {
    if (s < this.nS) return;
    if (s >= this.enabled.length) {
      const cap = Math.max(s + 1, this.enabled.length * 2);
      const en = new Int32Array(cap).fill(-1);
      en.set(this.enabled.subarray(0, this.nS));
      this.enabled = en;
      const pe = new Int32Array(cap).fill(-2);
      pe.set(this.parentEdge.subarray(0, this.nS));
      this.parentEdge = pe;
    }
    this.nS = s + 1;
  }

  /**
   * The graph as plain data (the parallel search sends each worker's part to the coordinator).
   * `copy: false`: views of this graph's own arrays (to be moved, after which this graph is unusable).
   */
  toData(copy = true): StateGraphData {
    const cut = (a: Int32Array, n: number): Int32Array => (copy ? a.slice(0, n) : a.subarray(0, n));
    return {
      from: cut(this.from, this.nE),
      to: cut(this.to, this.nE),
      meta: cut(this.meta, this.nE),
      chEdge: cut(this.chEdge, this.nCh),
      chPos: cut(this.chPos, this.nCh),
      pool: cut(this.pool, this.poolLen),
      enabled: cut(this.enabled, this.nS),
      parentEdge: cut(this.parentEdge, this.nS),
      rootChoices: [...this.rootChoices],
      truncated: this.truncated,
    };
  }

  /**
   * One graph from the parts recorded by the workers of a parallel search over one shared state
   * numbering (parallel/search.ts): edges concatenated; a state's enabled mask comes from the
   * worker that expanded it, its discovery edge from the worker that stored it.
   */
  static merge(parts: readonly StateGraphData[], maxEdges?: number): StateGraph {
    const g = new StateGraph(maxEdges);
    let nE = 0;
    let nCh = 0;
    let poolLen = 0;
    let nS = 0;
    for (const p of parts) {
      nE += p.from.length;
      nCh += p.chEdge.length;
      poolLen += p.pool.length;
      nS = Math.max(nS, p.enabled.length);
    }
    g.from = new Int32Array(Math.max(1024, nE));
    g.to = new Int32Array(Math.max(1024, nE));
    g.meta = new Int32Array(Math.max(1024, nE));
    g.chEdge = new Int32Array(Math.max(64, nCh));
    g.chPos = new Int32Array(Math.max(64, nCh));
    g.pool = new Int32Array(Math.max(1024, poolLen));
    g.enabled = new Int32Array(Math.max(1024, nS)).fill(-1);
    g.parentEdge = new Int32Array(Math.max(1024, nS)).fill(-2);
    let eb = 0;
    let cb = 0;
    let pb = 0;
    for (const p of parts) {
      const k = p.from.length;
      g.from.set(p.from, eb);
      g.to.set(p.to, eb);
      g.meta.set(p.meta, eb);
      for (let c = 0; c < p.chEdge.length; c++) {
        g.chEdge[cb + c] = p.chEdge[c]! + eb;
        g.chPos[cb + c] = p.chPos[c]! + pb;
      }
      g.pool.set(p.pool, pb);
      for (let s = 0; s < p.enabled.length; s++) {
        if (p.enabled[s] !== -1) g.enabled[s] = p.enabled[s]!;
        const pe = p.parentEdge[s]!;
        if (pe >= 0) g.parentEdge[s] = eb + pe;
        else if (pe === -1 && g.parentEdge[s] === -2) g.parentEdge[s] = -1;
      }
      for (const [s, c] of p.rootChoices) g.rootChoices.set(s, c);
      if (p.truncated) g.truncated = true;
      eb += k;
      cb += p.chEdge.length;
      pb += p.pool.length;
    }
    g.nE = nE;
    g.nCh = nCh;
    g.poolLen = poolLen;
    g.nS = nS;
    if (maxEdges !== undefined && nE > maxEdges) g.truncated = true;
    return g;
  }

  /**
   * Find a weakly fair non-progress cycle; returns its schedule and where the cycle starts.
   * Under persistent sets (`explored`: per state, the threads its expansion took; docs/design.md
   * "Livelock under persistent sets"): when no component is fair, the states of the unfair
   * components that were not fully expanded (explored[s] !== enabled[s]) are pushed to `refine`:
   * the search must expand them fully and judge again before "no livelock" is sound.
   */
  findLivelock(explored?: Int32Array, refine?: number[]): { schedule: Schedule; cycleStart: number } | null {
    const en = this.enabled;
    const segs = [this.segment()];
    const c = judge(this.nS, segs, (s) => en[s]!, explored, refine);
    if (c === null) return null;
    const { deg } = csrOf(this.nS, segs);
    return this.witness(c.comp, c.rindex, deg, edgeIds(segs, deg, this.nS));
  }

  /**
   * findLivelock over the parts of a parallel search (one shared state numbering; see merge) without
   * merging them first: the components are found on the parts' own arrays; only a livelock's
   * witness needs the merged graph (edge ids are the merge's: the parts' edges concatenated).
   */
  static findLivelockInParts(parts: readonly StateGraphData[], maxEdges?: number): { truncated: true } | { truncated: false; livelock: { schedule: Schedule; cycleStart: number } | null } {
    let nE = 0;
    let nS = 0;
    for (const p of parts) {
      if (p.truncated) return { truncated: true };
      nE += p.from.length;
      nS = Math.max(nS, p.enabled.length);
    }
    if (maxEdges !== undefined && nE > maxEdges) return { truncated: true };
    const segs = parts.map((p) => ({ from: p.from, to: p.to, meta: p.meta, n: p.from.length }));
    // A state's enabled mask is in the part of the worker that expanded it (-1 in the others).
    const enabledOf = (s: number): number => {
      let m = -1;
      for (const p of parts) if (s < p.enabled.length && p.enabled[s] !== -1) m = p.enabled[s]!;
      return m;
    };
    const csrs = parts.every((p) => p.csr !== undefined) ? parts.map((p) => p.csr!) : undefined;
    const c = judge(nS, segs, enabledOf, undefined, undefined, csrs);
    if (c === null) return { truncated: false, livelock: null };
    const g = StateGraph.merge(parts, maxEdges);
    const { deg } = csrOf(nS, segs);
    return { truncated: false, livelock: g.witness(c.comp, c.rindex, deg, edgeIds(segs, deg, nS)) };
  }

  private segment(): EdgeSegment {
    return { from: this.from, to: this.to, meta: this.meta, n: this.nE };
  }

  private witness(c: number, comp: Int32Array, deg: Int32Array, adj: Int32Array): { schedule: Schedule; cycleStart: number } {
    const nS = this.nS;
    let start = -1;
    for (let s = 0; s < nS && start < 0; s++) if (comp[s] === c) start = s;
    // Discovery path root -> start.
    const pathEdges: number[] = [];
    let s = start;
    while (this.parentEdge[s]! >= 0) {
      const e = this.parentEdge[s]!;
      pathEdges.push(e);
      s = this.from[e]!;
    }
    pathEdges.reverse();
    const root = s;
    // Cycle: visit every goal inside the component, then come back to start.
    let ranMask = 0;
    let anyEnabled = 0;
    for (let v = 0; v < nS; v++) if (comp[v] === c) anyEnabled |= Math.max(0, this.enabled[v]!);
    for (let e = 0; e < this.nE; e++)
      if ((this.meta[e]! & M_FLAGS) === 0 && comp[this.from[e]!] === c && comp[this.to[e]!] === c) ranMask |= 1 << (this.meta[e]! & M_TID);
    const cycle: number[] = [];
    let cur = start;
    const bfs = (goal: (v: number, e: number) => boolean): void => {
      // BFS over internal edges from cur; goal(v, -1) on states, goal(v, e) on edges taken.
      const prev = new Map<number, number>([[cur, -1]]);
      const q = [cur];
      if (goal(cur, -1)) return;
      for (let qi = 0; qi < q.length; qi++) {
        const v = q[qi]!;
        for (let k = deg[v]!; k < deg[v + 1]!; k++) {
          const e = adj[k]!;
          const w = this.to[e]!;
          if (comp[w] !== c) continue;
          if (goal(w, e)) {
            const seg: number[] = [e];
            let x = v;
            while (prev.get(x)! >= 0) {
              const pe = prev.get(x)!;
              seg.push(pe);
              x = this.from[pe]!;
            }
            seg.reverse();
            cycle.push(...seg);
            cur = w;
            return;
          }
          if (!prev.has(w)) {
            prev.set(w, e);
            q.push(w);
          }
        }
      }
      throw new Error("livelock witness: goal unreachable inside its component");
    };
    for (let t = 0; t < 31; t++) {
      if (ranMask & (1 << t)) bfs((_v, e) => e >= 0 && (this.meta[e]! & M_TID) === t);
      else if (anyEnabled & (1 << t)) bfs((v) => this.enabled[v] !== -1 && (this.enabled[v]! & (1 << t)) === 0);
    }
    if (cur !== start || cycle.length === 0) bfs((v, e) => e >= 0 && v === start);
    const steps = [...pathEdges, ...cycle].map((e) => {
      const m = this.meta[e]!;
      const span = (m >>> M_SPAN_SHIFT) + 1;
      return span === 1 ? { tid: m & M_TID, choices: this.choicesOf(e) } : { tid: m & M_TID, choices: this.choicesOf(e), n: span };
    });
    return { schedule: { rootChoices: this.rootChoices.get(root) ?? [], steps }, cycleStart: pathEdges.length };
  }
}

/** A copy of `a` with room for at least `min` entries (doubling). */
function grown(a: Int32Array<ArrayBuffer>, min: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}

/** A run of recorded edges (a graph's own arrays, or one part of a parallel search's graph). */
interface EdgeSegment {
  from: Int32Array;
  to: Int32Array;
  meta: Int32Array;
  n: number;
}

/**
 * Test hooks: deliberately broken component searches (test/engine/workers-livelock.test.ts must
 * catch each): a single state with a self-loop taken for a component without an internal edge;
 * the parts of a parallel search read as if the first part's adjacency were all.
 */
export const judgeFaults = { skipSelfLoops: false, firstPartOnly: false };

/**
 * The fair non-progress component to report (the one holding the smallest state id among the
 * fair ones), or null; docs/design.md "Livelock: the component search".
 * Components of the non-progress edges by Pearce's space-efficient variant of Tarjan's algorithm
 * (D. J. Pearce, "A space-efficient algorithm for finding strongly connected components", IPL
 * 116(1), 2016), iterative: one word per state (`rindex`: 0 unvisited; > 0 the DFS index, then the
 * low link while active; < 0 done, -(component + 1)) instead of index, low link, on-stack flag and
 * component arrays. Each state and edge is read a constant number of times, and the arrays the
 * search touches are the adjacency (targets only) and `rindex`: the graphs this judges have tens of
 * millions of states, where it is memory traffic that costs. Components with no internal edge (a
 * single state without a self-loop: all of them when the non-progress graph is acyclic) are not
 * judged at all; the others are judged in a second pass, only when there are any.
 */
function judge(nS: number, segs: readonly EdgeSegment[], enabledOf: (s: number) => number, explored?: Int32Array, refine?: number[], csrs?: readonly Csr[]): { comp: number; rindex: Int32Array } | null {
  // The adjacency: one CSR, or the parts' own (a state's entries are part 0's, then part 1's, ...).
  const parts = csrs === undefined ? [csrOf(nS, segs)] : judgeFaults.firstPartOnly ? csrs.slice(0, 1) : csrs;
  const K = parts.length;
  const D = parts.map((p) => p.deg);
  const T = parts.map((p) => p.to);
  const L = parts.map((p) => Math.min(nS, p.deg.length - 1));
  const rindex = new Int32Array(nS);
  // Call frames (state, next entry, end of the current part's entries, that part, whether it is
  // still a component root) and the stack of visited states not yet in a component; arrays of nS
  // entries, touched only as deep as the search goes.
  const callS = new Int32Array(nS);
  const callI = new Int32Array(nS);
  const callE = new Int32Array(nS);
  const callK = new Uint8Array(nS);
  const root = new Uint8Array(nS);
  const stk = new Int32Array(nS);
  let sp = 0;
  let next = 1;
  let nComp = 0;
  /** Components with an internal edge (more than one state, or a self-loop). */
  const cyclic: number[] = [];
  /** Frame f enters state v: its first part with entries (K when none). */
  const enter = (f: number, v: number): void => {
    rindex[v] = next++;
    callS[f] = v;
    root[f] = 1;
    for (let k = 0; k < K; k++) {
      if (v >= L[k]!) continue;
      const d = D[k]!;
      if (d[v]! < d[v + 1]!) {
        callK[f] = k;
        callI[f] = d[v]!;
        callE[f] = d[v + 1]!;
        return;
      }
    }
    callK[f] = K;
    callI[f] = callE[f] = 0;
  };
  const selfLoop = (v: number): boolean => {
    for (let k = 0; k < K; k++) {
      if (v >= L[k]!) continue;
      const t = T[k]!;
      for (let i = D[k]![v]!, end = D[k]![v + 1]!; i < end; i++) if (t[i] === v) return true;
    }
    return false;
  };
  for (let r = 0; r < nS; r++) {
    if (rindex[r] !== 0) continue;
    enter(0, r);
    let cp = 1;
    while (cp > 0) {
      const f = cp - 1;
      const v = callS[f]!;
      const i = callI[f]!;
      if (i < callE[f]!) {
        callI[f] = i + 1;
        const w = T[callK[f]!]![i]!;
        const rw = rindex[w]!;
        if (rw === 0) enter(cp++, w);
        else if (rw > 0 && rw < rindex[v]!) {
          rindex[v] = rw;
          root[f] = 0;
        }
        continue;
      }
      // The next part with entries for v, if any.
      let k = callK[f]! + 1;
      for (; k < K; k++) if (v < L[k]! && D[k]![v]! < D[k]![v + 1]!) break;
      if (k < K) {
        callK[f] = k;
        callI[f] = D[k]![v]!;
        callE[f] = D[k]![v + 1]!;
        continue;
      }
      cp--;
      let rv = rindex[v]!;
      if (root[f]) {
        // v and the states above it on the stack (all with rindex >= v's) form a component.
        const id = -(nComp + 1);
        let size = 1;
        while (sp > 0 && rindex[stk[sp - 1]!]! >= rv) {
          rindex[stk[--sp]!] = id;
          size++;
        }
        rindex[v] = id;
        rv = id;
        if (size > 1 || (!judgeFaults.skipSelfLoops && selfLoop(v))) cyclic.push(nComp);
        nComp++;
      } else stk[sp++] = v;
      if (cp > 0) {
        const u = callS[cp - 1]!;
        if (rv > 0 && rv < rindex[u]!) {
          rindex[u] = rv;
          root[cp - 1] = 0;
        }
      }
    }
  }
  if (cyclic.length === 0) return null;
  // Judge the components with an internal edge: fair iff every thread enabled in all of its
  // states has an edge inside it.
  const slot = new Map<number, number>(cyclic.map((c, k) => [c, k]));
  const nC = cyclic.length;
  const always = new Int32Array(nC).fill(-1);
  const ran = new Int32Array(nC);
  const first = new Int32Array(nC).fill(-1);
  for (let s = 0; s < nS; s++) {
    const k = slot.get(-rindex[s]! - 1);
    if (k === undefined) continue;
    if (first[k] === -1) first[k] = s;
    const m = enabledOf(s);
    always[k]! &= m === -1 ? 0 : m;
  }
  for (const g of segs) {
    const { from, to, meta, n } = g;
    for (let e = 0; e < n; e++) {
      const m = meta[e]!;
      if ((m & M_FLAGS) !== 0) continue;
      const c = rindex[from[e]!]!;
      if (c !== rindex[to[e]!]) continue;
      const k = slot.get(-c - 1);
      if (k !== undefined) ran[k]! |= 1 << (m & M_TID);
    }
  }
  let best = -1;
  for (let k = 0; k < nC; k++) {
    if ((always[k]! & ~ran[k]!) !== 0) continue;
    if (best < 0 || first[k]! < first[best]!) best = k;
  }
  if (best < 0) {
    if (explored !== undefined && refine !== undefined)
      for (let s = 0; s < nS; s++) {
        const en = enabledOf(s);
        if (en !== -1 && explored[s] !== en && slot.has(-rindex[s]! - 1)) refine.push(s);
      }
    return null;
  }
  return { comp: -(cyclic[best]! + 1), rindex };
}

/** CSR adjacency (targets) over the edges that may form a livelock, in edge order per state. */
function csrOf(nS: number, segs: readonly EdgeSegment[]): Csr {
  const deg = new Int32Array(nS + 1);
  for (const g of segs) {
    const { from, meta, n } = g;
    for (let e = 0; e < n; e++) if ((meta[e]! & M_FLAGS) === 0) deg[from[e]! + 1]!++;
  }
  for (let s = 0; s < nS; s++) deg[s + 1]! += deg[s]!;
  const to = new Int32Array(deg[nS]!);
  for (const g of segs) {
    const { from, to: t, meta, n } = g;
    for (let e = 0; e < n; e++) if ((meta[e]! & M_FLAGS) === 0) to[deg[from[e]!]!++] = t[e]!;
  }
  // deg[s] is now where state s's entries end: shift back to where they start.
  deg.copyWithin(1, 0, nS);
  deg[0] = 0;
  return { deg, to };
}

/**
 * One part's adjacency (a worker of a parallel search builds its own, all workers at once, before
 * sending its part); the coordinator's component search reads them as they are.
 */
export function partCsr(p: StateGraphData): Csr {
  return csrOf(p.enabled.length, [{ from: p.from, to: p.to, meta: p.meta, n: p.from.length }]);
}

/** The edge ids of the CSR adjacency `deg` (as judge() built it), for a witness. */
function edgeIds(segs: readonly EdgeSegment[], deg: Int32Array, nS: number): Int32Array {
  const adj = new Int32Array(deg[nS]!);
  const at = deg.slice(0, nS);
  let base = 0;
  for (const g of segs) {
    const { from, meta, n } = g;
    for (let e = 0; e < n; e++) if ((meta[e]! & M_FLAGS) === 0) adj[at[from[e]!]!++] = base + e;
    base += n;
  }
  return adj;
}
