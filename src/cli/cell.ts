// One cell of a check: a scenario under a preset (or an engine demo), explored with the given
// options. Specs and results are plain data so that worker threads can run cells.
//
// Every run is bounded by counted budgets (budgets.ts), minimization included; a wall-clock limit
// applies only when the user gave one. An exception thrown by model code inside a thread (an
// internal assertion of the TDX module model, say) is not a crash: the thread code is wrapped so
// that it becomes a violation of "model-error" at the step that threw, with a replayable schedule.
import { buildProgram, symmetryGenerators, type BuildOptions, type Scenario } from "../kvm/index.js";
import { canonicalExplore, explore, minimizeWithin, Symmetry, type Counterexample, type ExploreResult, type MinimizeOptions, type MinimizeResult, type Program, type Stats, type StrategyName, type StrategyOptions, type ThreadApi, type ThreadSpec } from "../engine/index.js";
import { PERSISTENT_MIN_THREADS } from "../engine/schedulers/persistent.js";
import { BUDGET_INFO, DEFAULT_BUDGETS, statesForMemory } from "./budgets.js";
import { DEMOS } from "./demo.js";
import { fingerprint, scenarioDefinition } from "./provenance.js";
import { safeText } from "./safe-input.js";
import { tidyCounterexample } from "./tidy.js";

export interface RunOpts {
  strategy: StrategyName;
  preemptions?: number;
  seed?: number;
  maxExecutions?: number;
  maxStates?: number;
  maxSteps?: number;
  maxGraphEdges?: number;
  /** Counted: stored states x BYTES_PER_STATE (budgets.ts), not the heap. */
  maxMemoryMb?: number;
  /** Only from the command line (--time-limit): a stop by time gives no verdict. */
  timeLimitMs?: number;
  properties?: string[];
  allViolations?: boolean;
  /** false: no partial-order reduction in the stateful search (--no-por). */
  por?: boolean;
  /** cache: persistent sets with the cycle proviso instead of sleep sets (--persistent-sets). */
  persistent?: boolean;
  /** false: no shallow-bug phase before an exhaustive strategy (--no-shallow). */
  shallow?: boolean;
  /** Minimize counterexamples (default true). */
  minimize?: boolean;
  /** Fusion of scheduling points (default on; --no-fusion). */
  fusion?: boolean;
  /** Threads restored from recorded code segments (default on; --no-restore re-runs thread code). */
  restore?: boolean;
  /** false: ignore the scenario's symmetry declaration (--no-symmetry). */
  symmetry?: boolean;
  /**
   * --workers N: the stateful search of one cell on N threads (engine/parallel/search.ts). When
   * given, counterexamples are minimized canonically, so the output is the same for every N.
   */
  workers?: number;
}

export type CellSpec =
  | {
      kind: "scenario";
      scenario: Scenario;
      builtin: boolean;
      source: string;
      preset: string;
      overrides: Record<string, string>;
      opts: RunOpts;
      /** How the program is built beyond scenario and preset (a simulation's finding: its pools, as simulated). */
      build?: BuildOptions;
    }
  | { kind: "demo"; demo: string; opts: RunOpts };

/** A counterexample as a cell reports it: `notMinimal` says why minimization was cut short. */
export type CellCounterexample = Counterexample & { notMinimal?: string };

export interface CellResult {
  /** verified | violated:P | vacuous | incomplete | no-violation-found | error */
  verdict: string;
  expected?: string;
  ok?: boolean;
  exhaustive: boolean;
  stopReason?: string;
  notDecided: string[];
  stats: Stats;
  missingWitnesses: string[];
  /** Minimized counterexamples (the first one is the verdict's). */
  counterexamples: CellCounterexample[];
  fingerprint: string;
  /** An error outside the model's threads (building the program): no schedule to replay. */
  error?: string;
  /**
   * The provenance figures that need the built program (its fingerprint, the reductions that
   * ran), computed where the cell ran so that the program is built once (check.ts). Absent when
   * the program could not be built.
   */
  built?: { fingerprint: string; reductions: Reductions };
}

/** The engine's reductions as a cell runs them (provenance `reductions`; each can be switched off). */
export interface Reductions {
  fusion: boolean;
  restore?: boolean;
  symmetry?: boolean;
  por?: "sleep-sets" | "persistent-sets" | "off";
}

/**
 * The partial-order reduction the stateful search runs with (provenance; cache only; while livelock
 * is checked only persistent sets run, when asked for or by default; persistent sets give way to a
 * symmetry the scenario declares, docs/design.md). `threads`: a scenario program's threads, for the
 * default (persistentByDefault).
 */
export function porOf(o: RunOpts, properties: readonly string[] | undefined, symmetry: boolean, threads?: number): { por?: "sleep-sets" | "persistent-sets" | "off" } {
  if (o.strategy !== "cache") return {};
  const livelock = properties === undefined || properties.includes("livelock");
  // Persistent sets keep livelock decided (docs/design.md, "Livelock under persistent sets"); sleep sets do not.
  if (o.por === false) return { por: "off" };
  if (o.persistent === true && !symmetry) return { por: "persistent-sets" };
  if (persistentByDefault(o, symmetry, threads)) return { por: "persistent-sets" };
  return { por: livelock ? "off" : "sleep-sets" };
}

/** The scenario declares a symmetry and it is applied: not turned off, one worker (the parallel search has none). */
function symmetryOn(sc: Scenario, o: RunOpts): boolean {
  return sc.symmetry !== undefined && o.symmetry !== false && o.workers === undefined;
}

/**
 * Persistent sets without --persistent-sets: a scenario's stateful search, one worker, no symmetry
 * applied, POR on, and at least PERSISTENT_MIN_THREADS threads (a counted rule by the program's
 * shape, never by time; schedulers/persistent.ts says why that many).
 */
export function persistentByDefault(o: RunOpts, symmetry: boolean, threads: number | undefined): boolean {
  return o.strategy === "cache" && o.por !== false && o.persistent === undefined && o.workers === undefined && !symmetry && threads !== undefined && threads >= PERSISTENT_MIN_THREADS;
}

/**
 * Whether fusion runs in the exhaustive phase: DPOR and sleep sets classify a step by its pending
 * op and so run unfused; persistent sets run with fusion that goes on only with private ops
 * (schedulers/dfs.ts: dfsExplore, persistentExplore).
 */
export function fusionOf(o: RunOpts, por: ReturnType<typeof porOf>): boolean {
  return o.fusion !== false && o.strategy !== "dpor" && por.por !== "sleep-sets";
}

/** The reductions a cell's search runs with, for its provenance (needs the built program: the properties it checks). */
export function cellReductions(spec: CellSpec, program: Program): Reductions {
  const o = spec.opts;
  if (spec.kind === "demo") return { fusion: fusionOf(o, porOf(o, o.properties ?? program.properties, false)), restore: o.restore !== false };
  const sc = spec.scenario;
  const por = porOf(o, cellProperties(spec, program), symmetryOn(sc, o), program.threads.length);
  return { fusion: fusionOf(o, por), restore: o.restore !== false, ...(sc.symmetry ? { symmetry: o.symmetry !== false && o.strategy === "cache" } : {}), ...por };
}

export interface CellHooks {
  onProgress?: (executions: number) => void;
  shouldStop?: () => boolean;
}

/** The property a model exception is reported as. */
export const MODEL_ERROR = "model-error";

const isAssertion = (e: unknown): boolean => e instanceof Error && typeof (e as { property?: unknown }).property === "string";

/** Thread code whose exceptions (other than the model's own assertions) become a "model-error" violation. */
function guarded(g: Generator<import("../engine/index.js").Op, void, number>, t: ThreadApi): Generator<import("../engine/index.js").Op, void, number> {
  return (function* () {
    let v = 0;
    let first = true;
    for (;;) {
      let r: IteratorResult<import("../engine/index.js").Op, void>;
      try {
        r = first ? g.next() : g.next(v);
      } catch (e) {
        if (isAssertion(e)) throw e;
        const msg = e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}` : String(e);
        t.assert(false, `exception in thread ${t.name}: ${msg}`, MODEL_ERROR);
        throw e;
      }
      first = false;
      if (r.done) return;
      v = yield r.value;
    }
  })();
}

function guardThread(s: ThreadSpec): ThreadSpec {
  // Names come from scenario files: control characters (terminal escapes, newlines) are escaped
  // here, once, for every output (step tables, JSON, pages).
  const out: ThreadSpec = { name: safeText(s.name), body: (t) => guarded(s.body(t), t) };
  if (s.resume) {
    const res = s.resume;
    out.resume = (t, label, locals) => guarded(res(t, label, locals), t);
  }
  return out;
}

/** The program a cell explores (also what a replay rebuilds), with model exceptions guarded. */
export function cellProgram(spec: CellSpec): Program {
  const p = spec.kind === "demo" ? DEMOS.find((d) => d.name === spec.demo)!.make() : buildProgram(spec.scenario, spec.preset, spec.overrides, spec.build);
  return guardProgram(p);
}

/** A program with its threads guarded as cellProgram() guards them (the trace viewer builds its own, with the model). */
export function guardProgram(p: Program): Program {
  // An invariant that throws (the model's own consistency check) is that invariant's violation at
  // that step, replayable like any other, not a crash.
  // One wrapper per arity (no rest parameters: the checks run after every step).
  const failed = (e: unknown): string => `model exception while checking: ${e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}` : String(e)}`;
  const safe = (f: () => string | null) => (): string | null => {
    try {
      return f();
    } catch (e) {
      return failed(e);
    }
  };
  const safeKey = (f: (key: number) => string | null) => (key: number): string | null => {
    try {
      return f(key);
    } catch (e) {
      return failed(e);
    }
  };
  return {
    ...p,
    threads: p.threads.map(guardThread),
    invariants: p.invariants.map((i) => ({ ...i, check: safe(i.check.bind(i)) })),
    quiescent: p.quiescent.map((q) => ({ ...q, check: safeKey(q.check.bind(q)) })),
    final: p.final.map((f) => ({ ...f, check: safe(f.check.bind(f)) })),
  };
}

export function cellFingerprint(spec: CellSpec, program: Program): string {
  if (spec.kind === "demo") return fingerprint(program, { demo: spec.demo });
  return fingerprint(program, scenarioDefinition(spec.scenario, spec.preset, spec.overrides));
}

const SAMPLING: readonly string[] = ["random", "pct"];

/** The engine options of a run: every counted budget set (defaults where the user gave none). */
export function engineOpts(o: RunOpts, h: CellHooks = {}) {
  const sampling = SAMPLING.includes(o.strategy);
  const mem = statesForMemory(o.maxMemoryMb ?? DEFAULT_BUDGETS.maxMemoryMb);
  const states = o.maxStates ?? DEFAULT_BUDGETS.maxStates;
  return {
    strategy: o.strategy,
    ...(o.preemptions !== undefined ? { preemptions: o.preemptions } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    // For random and pct the executions are the sample count (their own default when not given).
    ...(o.maxExecutions !== undefined || !sampling ? { maxExecutions: o.maxExecutions ?? DEFAULT_BUDGETS.maxExecutions } : {}),
    maxStates: Math.min(states, mem),
    maxSteps: o.maxSteps ?? DEFAULT_BUDGETS.maxSteps,
    maxGraphEdges: o.maxGraphEdges ?? DEFAULT_BUDGETS.maxGraphEdges,
    ...(o.timeLimitMs !== undefined ? { timeLimitMs: o.timeLimitMs } : {}),
    ...(o.properties !== undefined ? { properties: [...o.properties, MODEL_ERROR] } : {}),
    ...(o.allViolations ? { allViolations: true } : {}),
    ...(o.por === false ? { por: false } : {}),
    ...(o.persistent === true && o.por !== false ? { persistent: true } : {}),
    ...(o.shallow === false ? { shallow: false } : {}),
    ...(o.fusion === false ? { fusion: false } : {}),
    ...(o.restore === false ? { memo: false } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(h.onProgress ? { onProgress: (s: Stats) => h.onProgress!(s.executions) } : {}),
    ...(h.shouldStop ? { shouldStop: h.shouldStop } : {}),
  };
}

/** The engine says "max-states" when the memory budget (a state count) was the smaller one. */
function stopReasonOf(r: ExploreResult, o: RunOpts): string | undefined {
  if (r.stopReason === "max-states" && statesForMemory(o.maxMemoryMb ?? DEFAULT_BUDGETS.maxMemoryMb) < (o.maxStates ?? DEFAULT_BUDGETS.maxStates)) return "max-memory";
  return r.stopReason;
}

function base(r: ExploreResult, fp: string, o: RunOpts): Omit<CellResult, "verdict"> {
  const out: Omit<CellResult, "verdict"> = {
    exhaustive: r.exhaustive,
    notDecided: r.notDecided,
    stats: r.stats,
    missingWitnesses: [],
    counterexamples: [],
    fingerprint: fp,
  };
  const sr = stopReasonOf(r, o);
  if (sr !== undefined) out.stopReason = sr;
  return out;
}

/** The budgets of minimization (and of the canonical search under --workers). */
function minimizeOpts(o: RunOpts, h: CellHooks, properties: readonly string[] | undefined): MinimizeOptions {
  return {
    ...(properties ? { properties: [...properties, MODEL_ERROR] } : {}),
    maxExecutions: o.maxExecutions ?? DEFAULT_BUDGETS.maxExecutions,
    maxSteps: o.maxSteps ?? DEFAULT_BUDGETS.maxSteps,
    ...(o.timeLimitMs !== undefined ? { timeLimitMs: o.timeLimitMs } : {}),
    ...(h.shouldStop ? { shouldStop: h.shouldStop } : {}),
    ...(o.fusion === false ? { fusion: false } : {}),
  };
}

/** Minimize within the run's budgets; a cut-short minimization keeps the best so far, marked. */
function minimized(program: Program, c: Counterexample, o: RunOpts, h: CellHooks, properties: readonly string[] | undefined): CellCounterexample {
  if (o.minimize === false) return c;
  return marked(minimizeWithin(program, c, minimizeOpts(o, h, properties)));
}

/**
 * The search, and its counterexamples minimized. With --workers (any N, 1 included) the result is
 * the one canonicalExplore gives (engine/parallel/canonical.ts): the same for every N.
 */
function search(program: Program, eo: StrategyOptions, o: RunOpts, h: CellHooks, properties: readonly string[] | undefined, others: (r: ExploreResult) => readonly string[] | undefined): { r: ExploreResult; cex: CellCounterexample[] } {
  if (o.workers !== undefined) {
    const c = canonicalExplore(program, eo, { ...minimizeOpts(o, h, properties), ...(o.minimize === false ? { minimize: false } : {}) });
    return { r: c.result, cex: c.counterexamples.map(marked) };
  }
  const r = explore(program, eo);
  return { r, cex: r.violations.map((v, i) => minimized(program, v, o, h, i === 0 ? properties : others(r))) };
}

function marked(r: MinimizeResult): CellCounterexample {
  if (r.minimal) return r.counterexample;
  const why = r.stopReason && Object.prototype.hasOwnProperty.call(BUDGET_INFO, r.stopReason) ? `the ${r.stopReason} budget` : r.stopReason === "time-limit" ? "the time limit" : (r.stopReason ?? "a limit");
  return { ...r.counterexample, notMinimal: `minimization stopped by ${why} after ${r.executions} executions` };
}

function errorResult(spec: CellSpec, fp: string, e: unknown): CellResult {
  return {
    verdict: "error",
    exhaustive: false,
    notDecided: [],
    stats: { strategy: spec.opts.strategy, complete: 0, blocked: 0, cycles: 0, sleepPruned: 0, cachePruned: 0, violating: 0, executions: 0, steps: 0, fusedSteps: 0, fusionRestarts: 0, replaySteps: 0, statesStored: 0, maxDepth: 0, wallMs: 0, firstViolationMs: -1 },
    missingWitnesses: [],
    counterexamples: [],
    fingerprint: fp,
    error: e instanceof Error ? e.message.split("\n")[0]! : String(e),
  };
}

/** With --workers: how the search's worker threads rebuild the cell's program (cellProgram, from the spec). */
function parallelSource(spec: CellSpec): { source?: { module: string; export: string; arg: unknown } } {
  if ((spec.opts.workers ?? 1) <= 1) return {};
  return { source: { module: import.meta.url, export: "cellProgram", arg: spec } };
}

export function runCell(spec: CellSpec, h: CellHooks = {}): CellResult {
  let program: Program;
  let fp = "";
  try {
    program = cellProgram(spec);
    fp = cellFingerprint(spec, program);
  } catch (e) {
    return errorResult(spec, fp, e);
  }
  let built: CellResult["built"];
  try {
    built = { fingerprint: fp, reductions: cellReductions(spec, program) };
  } catch (e) {
    return errorResult(spec, fp, e);
  }
  try {
    return { ...(spec.kind === "demo" ? runDemo(spec, program, fp, h) : runScenario(spec, program, fp, h)), built };
  } catch (e) {
    // Not from thread code (guarded above): the engine itself. Still a result, never a crash.
    return { ...errorResult(spec, fp, e), built };
  }
}

function expectString(s: Scenario, preset: string): string | undefined {
  const e = Object.prototype.hasOwnProperty.call(s.expected, preset) ? s.expected[preset] : undefined;
  if (e === undefined) return undefined;
  return e === "verified" ? "verified" : `violated:${e.violated}`;
}

/**
 * The properties a scenario cell checks (undefined: all). What checkScenario (src/kvm/index.ts)
 * does: a cell that expects a violation checks only that property, unless told otherwise.
 */
export function cellProperties(spec: Extract<CellSpec, { kind: "scenario" }>, program: Program): string[] | undefined {
  const o = spec.opts;
  const s = spec.scenario;
  const expected = Object.keys(spec.overrides).length > 0 ? undefined : expectString(s, spec.preset);
  const expectedProp = expected?.startsWith("violated:") ? expected.slice(9) : undefined;
  return o.properties ?? (o.allViolations ? (s.properties ?? [...program.properties]) : expectedProp ? [expectedProp] : s.properties);
}

function runScenario(spec: Extract<CellSpec, { kind: "scenario" }>, program: Program, fp: string, h: CellHooks): CellResult {
  const o = spec.opts;
  const s = spec.scenario;
  const overridden = Object.keys(spec.overrides).length > 0;
  // With the cell's budgets and guarded program (cellProperties).
  const expected = overridden ? undefined : expectString(s, spec.preset);
  const properties = cellProperties(spec, program);
  // Symmetry (cache only): checked on this program; a wrong declaration is an error, not a verdict.
  // Not with --workers (any N): the parallel search stores full states, and the states budget must
  // decide alike for every N.
  const sym = symmetryOn(s, o) && o.strategy === "cache" ? Symmetry.of(program, symmetryGenerators(s, program)) : undefined;
  // The first counterexample with the properties explored; the others (--all-violations) among the violated ones.
  // Persistent sets by default where they pay (persistentByDefault; provenance says so: porOf).
  const ps = persistentByDefault(o, symmetryOn(s, o), program.threads.length);
  const { r, cex } = search(program, { ...engineOpts({ ...o, ...(properties ? { properties } : {}) }, h), ...(ps ? { persistent: true } : {}), ...(sym ? { symmetry: sym } : {}), ...parallelSource(spec) }, o, h, properties, (x) => o.properties ?? x.violations.map((v) => v.property));
  const missing = (s.witnesses ?? []).filter((w) => !r.coverage.some((l) => l.includes(w)));
  let verdict: string = r.verdict === "violated" ? `violated:${r.violations[0]!.property}` : r.verdict === "verified" && missing.length ? "vacuous" : r.verdict;
  const out: CellResult = { ...base(r, fp, o), verdict, missingWitnesses: missing };
  if (expected !== undefined) {
    out.expected = expected;
    out.ok = expected === verdict;
    if (!out.ok && r.violations.some((v) => `violated:${v.property}` === expected)) {
      verdict = out.verdict = expected;
      out.ok = true;
    }
  }
  if (r.violations.length > 0) {
    out.counterexamples = cex;
    // A SEAMCALL preempted half-way runs in one piece when the replay allows it.
    out.counterexamples = out.counterexamples.map((c) => (c.cycleStart === undefined ? { ...tidyCounterexample(program, c), ...(c.notMinimal ? { notMinimal: c.notMinimal } : {}) } : c));
    // The verdict's counterexample first.
    out.counterexamples.sort((a, b) => Number(`violated:${b.property}` === out.verdict) - Number(`violated:${a.property}` === out.verdict));
  }
  return out;
}

function runDemo(spec: Extract<CellSpec, { kind: "demo" }>, program: Program, fp: string, h: CellHooks): CellResult {
  const t = DEMOS.find((d) => d.name === spec.demo)!;
  const { r, cex } = search(program, { ...engineOpts(spec.opts, h), ...parallelSource(spec) }, spec.opts, h, spec.opts.properties, () => spec.opts.properties);
  // The expected property's counterexample first.
  cex.sort((a, b) => Number(b.property === t.expected) - Number(a.property === t.expected));
  const verdict = cex.length ? `violated:${cex[0]!.property}` : r.verdict;
  const expected = t.expected === "verified" ? "verified" : `violated:${t.expected}`;
  return { ...base(r, fp, spec.opts), verdict, expected, ok: verdict === expected, counterexamples: cex };
}
