// The livelock judgement of the stateful search, on one graph and on the parts of a parallel
// search's graph (stategraph.ts judge(), findLivelockInParts; docs/design.md "Livelock: the
// component search"). The reference is a plain recursive Tarjan with the fairness rule written out
// (below): on random graphs recorded the way the search records them, the judgement must agree
// with it (a livelock or none; the reported cycle starts at the smallest state of the fair
// component holding the smallest state; the same states listed for refinement under persistent
// sets), and the parts, unmerged, must give the witness the merged graph gives. On random programs
// with retry loops, 2 workers must decide livelock as 1 worker does. Each comparison has a
// deliberately broken component search that it must catch.
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { explore, type ExploreResult, type Program } from "../../src/engine/index.js";
import { StateGraph, judgeFaults, type StateGraphData } from "../../src/engine/stategraph.js";
import { build, progArb, type ProgDesc } from "./gen.js";
import { replaysAll } from "./helpers.js";

const SEED = 20261207;
const MODULE = new URL("./workers-programs.ts", import.meta.url).href;

/** A random graph as the search records it: a DFS from state 0 over a random successor relation. */
interface RandomGraph {
  n: number;
  threads: number;
  /** Per state, per thread: the successor (-1: disabled), progress, environment failure. */
  succ: { to: number; progress: boolean; envFail: boolean }[][];
  /** Per recorded edge, the part (worker) that records it; per state, the part that expands it. */
  edgePart: number[];
  statePart: number[];
  parts: number;
}

const graphArb = fc
  .record({ n: fc.integer({ min: 1, max: 24 }), threads: fc.integer({ min: 1, max: 3 }), parts: fc.integer({ min: 1, max: 3 }), seed: fc.integer() })
  .map(({ n, threads, parts, seed }): RandomGraph => {
    let x = seed | 1;
    const rnd = (k: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % k;
    };
    const succ = Array.from({ length: n }, (_, s) =>
      Array.from({ length: threads }, () => {
        const r = rnd(10);
        // Disabled, a self-loop, a step back, a step forward; a few progress / injected-failure steps.
        const to = r < 2 ? -1 : r < 4 ? s : r < 6 ? rnd(s + 1) : rnd(n);
        return { to, progress: rnd(8) === 0, envFail: rnd(12) === 0 };
      }),
    );
    return { n, threads, succ, parts, edgePart: Array.from({ length: n * threads }, () => rnd(parts)), statePart: Array.from({ length: n }, () => rnd(parts)) };
  });

/** The graph recorded by a DFS from 0 into one StateGraph per part (a state's edges in the order its threads run). */
function record(g: RandomGraph): { parts: StateGraph[]; enabled: number[] } {
  const parts = Array.from({ length: g.parts }, () => new StateGraph());
  const enabled = g.succ.map((ts) => ts.reduce((m, t, i) => (t.to >= 0 ? m | (1 << i) : m), 0));
  const seen = new Set<number>([0]);
  parts[g.statePart[0]!]!.addRoot(0, []);
  let k = 0;
  const visit = (s: number): void => {
    parts[g.statePart[s]!]!.setEnabled(s, enabled[s]!);
    for (let t = 0; t < g.threads; t++) {
      const e = g.succ[s]![t]!;
      if (e.to < 0) continue;
      const isNew = !seen.has(e.to);
      seen.add(e.to);
      parts[g.edgePart[k++ % g.edgePart.length]!]!.addEdge(s, e.to, t, null, e.progress, e.envFail, isNew);
      if (isNew) visit(e.to);
    }
  };
  visit(0);
  return { parts, enabled };
}

/**
 * The reference judgement on the reachable graph: recursive Tarjan over the edges with neither
 * progress nor an injected failure; a component with an internal edge is fair iff every thread
 * enabled in all of its states has an internal edge. Returns the smallest state of the fair
 * component that holds the smallest state (or -1), and the states of unfair components with an
 * internal edge whose explored set is not their enabled set.
 */
function reference(g: RandomGraph, enabled: number[], explored?: number[]): { start: number; refine: number[] } {
  const reach = new Set<number>([0]);
  const order = [0];
  for (let i = 0; i < order.length; i++)
    for (const e of g.succ[order[i]!]!)
      if (e.to >= 0 && !reach.has(e.to)) {
        reach.add(e.to);
        order.push(e.to);
      }
  const quiet = (s: number): { t: number; to: number }[] =>
    g.succ[s]!.flatMap((e, t) => (e.to >= 0 && !e.progress && !e.envFail ? [{ t, to: e.to }] : []));
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const comp = new Map<number, number>();
  const stack: number[] = [];
  let counter = 0;
  let nc = 0;
  const strong = (v: number): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    for (const { to } of quiet(v)) {
      if (!index.has(to)) {
        strong(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (!comp.has(to)) low.set(v, Math.min(low.get(v)!, index.get(to)!));
    }
    if (low.get(v) === index.get(v)) {
      for (;;) {
        const w = stack.pop()!;
        comp.set(w, nc);
        if (w === v) break;
      }
      nc++;
    }
  };
  for (const s of order) if (!index.has(s)) strong(s);
  const members = new Map<number, number[]>();
  for (const s of [...reach].sort((a, b) => a - b)) members.set(comp.get(s)!, [...(members.get(comp.get(s)!) ?? []), s]);
  let start = -1;
  const refine: number[] = [];
  const unfair = new Set<number>();
  for (const [c, ss] of members) {
    let ran = 0;
    let internal = false;
    for (const s of ss)
      for (const { t, to } of quiet(s))
        if (comp.get(to) === c) {
          internal = true;
          ran |= 1 << t;
        }
    if (!internal) continue;
    const always = ss.reduce((m, s) => m & enabled[s]!, -1);
    if ((always & ~ran) === 0) start = start < 0 ? ss[0]! : Math.min(start, ss[0]!);
    else unfair.add(c);
  }
  if (start < 0 && explored !== undefined) for (const s of [...reach].sort((a, b) => a - b)) if (unfair.has(comp.get(s)!) && explored[s] !== enabled[s]) refine.push(s);
  return { start, refine };
}

/** The state the schedule's cycle starts at, and whether the cycle is one of quiet edges returning there. */
function walk(g: RandomGraph, sch: { steps: { tid: number }[] }, cycleStart: number): { start: number; closes: boolean } {
  let s = 0;
  let start = -1;
  let quiet = true;
  sch.steps.forEach((st, i) => {
    if (i === cycleStart) start = s;
    const e = g.succ[s]![st.tid]!;
    if (i >= cycleStart && (e.progress || e.envFail)) quiet = false;
    s = e.to;
  });
  return { start, closes: quiet && s === start && sch.steps.length > cycleStart };
}

const data = (parts: StateGraph[]): StateGraphData[] => parts.map((p) => p.toData());

/** Index of the first of `count` random graphs on which the judgement differs from the reference, or -1. */
function firstDisagreement(count: number): number {
  const gs = fc.sample(graphArb, { numRuns: count, seed: SEED });
  return gs.findIndex((g) => {
    const { parts, enabled } = record(g);
    const ref = reference(g, enabled);
    const whole = StateGraph.merge(data(parts));
    const lv = whole.findLivelock();
    const inParts = StateGraph.findLivelockInParts(data(parts));
    if (inParts.truncated) return true;
    if ((lv === null) !== (ref.start < 0) || (inParts.livelock === null) !== (ref.start < 0)) return true;
    if (lv === null) return false;
    const w = walk(g, lv.schedule, lv.cycleStart);
    return w.start !== ref.start || !w.closes || JSON.stringify(inParts.livelock) !== JSON.stringify(lv);
  });
}

afterEach(() => {
  judgeFaults.skipSelfLoops = false;
  judgeFaults.firstPartOnly = false;
});

describe("livelock judgement: the component search", () => {
  it("random graphs: agrees with a reference Tarjan (livelock, cycle start, refinement list); the unmerged parts give the merged graph's witness", () => {
    const gs = fc.sample(graphArb, { numRuns: 400, seed: SEED });
    let found = 0;
    let refined = 0;
    for (const g of gs) {
      const { parts, enabled } = record(g);
      const ref = reference(g, enabled);
      const whole = StateGraph.merge(data(parts));
      const lv = whole.findLivelock();
      expect(lv === null, JSON.stringify(g)).toBe(ref.start < 0);
      const inParts = StateGraph.findLivelockInParts(data(parts));
      expect(inParts.truncated).toBe(false);
      if (!inParts.truncated) expect(inParts.livelock).toEqual(lv);
      if (lv !== null) {
        found++;
        expect(walk(g, lv.schedule, lv.cycleStart)).toEqual({ start: ref.start, closes: true });
      } else {
        // Persistent sets: every state explored with its lowest enabled thread only.
        const explored = enabled.map((m) => m & -m);
        const want = reference(g, enabled, explored).refine;
        const got: number[] = [];
        expect(whole.findLivelock(Int32Array.from(explored), got)).toBeNull();
        expect(got).toEqual(want);
        if (want.length > 0) refined++;
      }
    }
    // Both outcomes are well represented.
    expect(found).toBeGreaterThan(40);
    expect(found).toBeLessThan(360);
    expect(refined).toBeGreaterThan(10);
  });

  it("an edge budget the parts exceed together is reported as truncated", () => {
    const { parts } = record(fc.sample(graphArb.filter((g) => g.n > 10), { numRuns: 1, seed: SEED })[0]!);
    const edges = parts.reduce((a, p) => a + p.edges, 0);
    expect(StateGraph.findLivelockInParts(data(parts), edges - 1).truncated).toBe(true);
    expect(StateGraph.findLivelockInParts(data(parts), edges).truncated).toBe(false);
  });

  // Teeth: a single state looping on itself taken for a component without an internal edge.
  it("the comparison has teeth: a search that misses self-loops is caught within 20 graphs", () => {
    judgeFaults.skipSelfLoops = true;
    expect(firstDisagreement(20)).toBeGreaterThanOrEqual(0);
  });
});

const livelock = (r: ExploreResult): boolean => r.violations.some((v) => v.property === "livelock");

function cache(d: ProgDesc, p: Program, workers: number): ExploreResult {
  return explore(p, { strategy: "cache", shallow: false, allViolations: true, por: false, workers, source: { module: MODULE, export: "genProgram", arg: d } });
}

describe("livelock judgement under --workers", () => {
  it("random programs with retry loops: 2 workers decide livelock as 1 worker does (and the witness replays)", () => {
    const ds = fc.sample(progArb({ spin: true, retry: true }), { numRuns: 40, seed: SEED });
    let found = 0;
    for (const d of ds) {
      const p = build(d).program;
      const one = cache(d, p, 1);
      const two = cache(d, p, 2);
      expect(two.exhaustive).toBe(one.exhaustive);
      expect(livelock(two), JSON.stringify(d)).toBe(livelock(one));
      replaysAll(p, two);
      if (livelock(one)) found++;
    }
    expect(found).toBeGreaterThan(5);
    expect(found).toBeLessThan(40);
  });

  // Teeth: the coordinator reading only the first worker's adjacency (the parts mishandled).
  it("the comparison has teeth: a component search that reads only the first part is caught within 40 programs", () => {
    judgeFaults.firstPartOnly = true;
    const ds = fc.sample(progArb({ spin: true, retry: true }), { numRuns: 40, seed: SEED });
    const caught = ds.findIndex((d) => {
      const p = build(d).program;
      return livelock(cache(d, p, 2)) !== livelock(cache(d, p, 1));
    });
    expect(caught).toBeGreaterThanOrEqual(0);
  });
});
