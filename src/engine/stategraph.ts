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
    const nS = this.nS;
    // CSR adjacency over the edges that may form a livelock.
    // Beside each entry's edge id, its target and thread (read in edge order here, so that the
    // search below and the component judgement read them in adjacency order, not scattered).
    const deg = new Int32Array(nS + 1);
    const E = this.nE;
    const from = this.from;
    const meta = this.meta;
    for (let e = 0; e < E; e++) if ((meta[e]! & M_FLAGS) === 0) deg[from[e]! + 1]!++;
    for (let s = 0; s < nS; s++) deg[s + 1]! += deg[s]!;
    const adj = new Int32Array(deg[nS]!);
    const adjTo = new Int32Array(deg[nS]!);
    const adjTid = new Uint8Array(deg[nS]!);
    const fill = deg.slice(0, nS);
    const to = this.to;
    for (let e = 0; e < E; e++) {
      const m = meta[e]!;
      if ((m & M_FLAGS) !== 0) continue;
      const k = fill[from[e]!]!++;
      adj[k] = e;
      adjTo[k] = to[e]!;
      adjTid[k] = m & M_TID;
    }
    // Iterative Tarjan (stacks in typed arrays: a state is at most once on each).
    const index = new Int32Array(nS).fill(-1);
    const low = new Int32Array(nS);
    const onStk = new Uint8Array(nS);
    const stk = new Int32Array(nS);
    let sp = 0;
    const comp = new Int32Array(nS).fill(-1);
    let counter = 0;
    let nComp = 0;
    const callS = new Int32Array(nS);
    const callI = new Int32Array(nS);
    let cp = 0;
    for (let r = 0; r < nS; r++) {
      if (index[r] !== -1) continue;
      callS[0] = r;
      callI[0] = deg[r]!;
      cp = 1;
      index[r] = low[r] = counter++;
      stk[sp++] = r;
      onStk[r] = 1;
      while (cp > 0) {
        const v = callS[cp - 1]!;
        const i = callI[cp - 1]!;
        if (i < deg[v + 1]!) {
          callI[cp - 1] = i + 1;
          const w = adjTo[i]!;
          if (index[w] === -1) {
            index[w] = low[w] = counter++;
            stk[sp++] = w;
            onStk[w] = 1;
            callS[cp] = w;
            callI[cp] = deg[w]!;
            cp++;
          } else if (onStk[w] && index[w]! < low[v]!) low[v] = index[w]!;
          continue;
        }
        cp--;
        if (cp > 0) {
          const u = callS[cp - 1]!;
          if (low[v]! < low[u]!) low[u] = low[v]!;
        }
        if (low[v] === index[v]) {
          for (;;) {
            const w = stk[--sp]!;
            onStk[w] = 0;
            comp[w] = nComp;
            if (w === v) break;
          }
          nComp++;
        }
      }
    }
    // Judge each component with at least one internal edge, in order of its smallest state id.
    const always = new Int32Array(nComp).fill(-1);
    const ran = new Int32Array(nComp);
    const internal = new Uint8Array(nComp);
    const first = new Int32Array(nComp).fill(-1);
    for (let s = 0; s < nS; s++) {
      const c = comp[s]!;
      if (first[c] === -1) first[c] = s;
      always[c]! &= this.enabled[s]! === -1 ? 0 : this.enabled[s]!;
    }
    for (let v = 0; v < nS; v++) {
      const c = comp[v]!;
      for (let i = deg[v]!, end = deg[v + 1]!; i < end; i++)
        if (comp[adjTo[i]!] === c) {
          internal[c] = 1;
          ran[c]! |= 1 << adjTid[i]!;
        }
    }
    let best = -1;
    for (let c = 0; c < nComp; c++) {
      if (!internal[c] || (always[c]! & ~ran[c]!) !== 0) continue;
      if (best < 0 || first[c]! < first[best]!) best = c;
    }
    if (best < 0) {
      if (explored !== undefined && refine !== undefined)
        for (let s = 0; s < nS; s++) {
          const c = comp[s]!;
          const en = this.enabled[s]!;
          if (internal[c] && en !== -1 && explored[s] !== en) refine.push(s);
        }
      return null;
    }
    return this.witness(best, comp, deg, adj);
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
