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

export class StateGraph {
  private from: number[] = [];
  private to: number[] = [];
  private tid: number[] = [];
  /** bit 0: progress, bit 1: environment failure. */
  private flags: number[] = [];
  private choices: (number[] | null)[] = [];
  /** Per state: enabled mask (-1 = never expanded), discovery edge (-1 = root). */
  private enabled: number[] = [];
  private parentEdge: number[] = [];
  private rootChoices = new Map<number, number[]>();
  truncated = false;

  constructor(readonly maxEdges = 20_000_000) {}

  get edges(): number {
    return this.from.length;
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

  /** `span`: model steps in the (fused) step; kept in the high bits of the edge's thread id. */
  addEdge(from: number, to: number, tid: number, choices: number[] | null, progress: boolean, envFail: boolean, isNew: boolean, span = 1): void {
    if (this.from.length >= this.maxEdges) {
      this.truncated = true;
      return;
    }
    this.ensure(to);
    this.from.push(from);
    this.to.push(to);
    this.tid.push(tid | ((span - 1) << 5));
    this.flags.push((progress ? 1 : 0) | (envFail ? 2 : 0));
    this.choices.push(choices && choices.length > 0 ? choices.slice() : null);
    if (isNew && this.parentEdge[to] === -2) this.parentEdge[to] = this.from.length - 1;
  }

  private ensure(s: number): void {
    while (this.enabled.length <= s) {
      this.enabled.push(-1);
      this.parentEdge.push(-2);
    }
  }

  /** Find a weakly fair non-progress cycle; returns its schedule and where the cycle starts. */
  findLivelock(): { schedule: Schedule; cycleStart: number } | null {
    const nS = this.enabled.length;
    // CSR adjacency over the edges that may form a livelock.
    const deg = new Int32Array(nS + 1);
    const E = this.from.length;
    for (let e = 0; e < E; e++) if (this.flags[e] === 0) deg[this.from[e]! + 1]!++;
    for (let s = 0; s < nS; s++) deg[s + 1]! += deg[s]!;
    const adj = new Int32Array(deg[nS]!);
    const fill = deg.slice(0, nS);
    for (let e = 0; e < E; e++) if (this.flags[e] === 0) adj[fill[this.from[e]!]!++] = e;
    // Iterative Tarjan.
    const index = new Int32Array(nS).fill(-1);
    const low = new Int32Array(nS);
    const onStk = new Uint8Array(nS);
    const stk: number[] = [];
    const comp = new Int32Array(nS).fill(-1);
    let counter = 0;
    let nComp = 0;
    const callS: number[] = [];
    const callI: number[] = [];
    for (let r = 0; r < nS; r++) {
      if (index[r] !== -1) continue;
      callS.push(r);
      callI.push(deg[r]!);
      index[r] = low[r] = counter++;
      stk.push(r);
      onStk[r] = 1;
      while (callS.length > 0) {
        const v = callS[callS.length - 1]!;
        const i = callI[callI.length - 1]!;
        if (i < deg[v + 1]!) {
          callI[callI.length - 1] = i + 1;
          const w = this.to[adj[i]!]!;
          if (index[w] === -1) {
            index[w] = low[w] = counter++;
            stk.push(w);
            onStk[w] = 1;
            callS.push(w);
            callI.push(deg[w]!);
          } else if (onStk[w]) low[v] = Math.min(low[v]!, index[w]!);
          continue;
        }
        callS.pop();
        callI.pop();
        if (callS.length > 0) {
          const u = callS[callS.length - 1]!;
          low[u] = Math.min(low[u]!, low[v]!);
        }
        if (low[v] === index[v]) {
          for (;;) {
            const w = stk.pop()!;
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
    for (let e = 0; e < E; e++) {
      if (this.flags[e] !== 0) continue;
      const c = comp[this.from[e]!]!;
      if (c === comp[this.to[e]!]) {
        internal[c] = 1;
        ran[c]! |= 1 << (this.tid[e]! & 31);
      }
    }
    let best = -1;
    for (let c = 0; c < nComp; c++) {
      if (!internal[c] || (always[c]! & ~ran[c]!) !== 0) continue;
      if (best < 0 || first[c]! < first[best]!) best = c;
    }
    if (best < 0) return null;
    return this.witness(best, comp, deg, adj);
  }

  private witness(c: number, comp: Int32Array, deg: Int32Array, adj: Int32Array): { schedule: Schedule; cycleStart: number } {
    const nS = this.enabled.length;
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
    for (let e = 0; e < this.from.length; e++)
      if (this.flags[e] === 0 && comp[this.from[e]!] === c && comp[this.to[e]!] === c) ranMask |= 1 << (this.tid[e]! & 31);
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
      if (ranMask & (1 << t)) bfs((_v, e) => e >= 0 && (this.tid[e]! & 31) === t);
      else if (anyEnabled & (1 << t)) bfs((v) => this.enabled[v] !== -1 && (this.enabled[v]! & (1 << t)) === 0);
    }
    if (cur !== start || cycle.length === 0) bfs((v, e) => e >= 0 && v === start);
    const steps = [...pathEdges, ...cycle].map((e) => {
      const span = (this.tid[e]! >> 5) + 1;
      return span === 1 ? { tid: this.tid[e]! & 31, choices: this.choices[e] ?? [] } : { tid: this.tid[e]! & 31, choices: this.choices[e] ?? [], n: span };
    });
    return { schedule: { rootChoices: this.rootChoices.get(root) ?? [], steps }, cycleStart: pathEdges.length };
  }
}
