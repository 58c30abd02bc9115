// One cell of a check: a scenario under a preset (or an engine demo), explored with the given
// options. Specs and results are plain data so that worker threads can run cells.
import { buildProgram, checkScenario, type Scenario } from "../kvm/index.js";
import { explore, minimize, type Counterexample, type ExploreResult, type Program, type Stats, type StrategyName } from "../engine/index.js";
import { DEMOS } from "./demo.js";
import { fingerprint, scenarioDefinition } from "./provenance.js";
import { tidyCounterexample } from "./tidy.js";

export interface RunOpts {
  strategy: StrategyName;
  preemptions?: number;
  seed?: number;
  maxExecutions?: number;
  maxStates?: number;
  timeLimitMs?: number;
  maxMemoryMb?: number;
  properties?: string[];
  allViolations?: boolean;
  /** Minimize counterexamples (default true). */
  minimize?: boolean;
}

export type CellSpec =
  | { kind: "scenario"; scenario: Scenario; builtin: boolean; source: string; preset: string; overrides: Record<string, string>; opts: RunOpts }
  | { kind: "demo"; demo: string; opts: RunOpts };

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
  counterexamples: Counterexample[];
  fingerprint: string;
  /** A model error (an exception while building or exploring). */
  error?: string;
}

export interface CellHooks {
  onProgress?: (executions: number) => void;
  shouldStop?: () => boolean;
}

/** The program a cell explores (also what a replay rebuilds). */
export function cellProgram(spec: CellSpec): Program {
  if (spec.kind === "demo") return DEMOS.find((d) => d.name === spec.demo)!.make();
  return buildProgram(spec.scenario, spec.preset, spec.overrides);
}

export function cellFingerprint(spec: CellSpec, program: Program): string {
  if (spec.kind === "demo") return fingerprint(program, { demo: spec.demo });
  return fingerprint(program, scenarioDefinition(spec.scenario, spec.preset, spec.overrides));
}

function engineOpts(o: RunOpts, h: CellHooks) {
  return {
    strategy: o.strategy,
    ...(o.preemptions !== undefined ? { preemptions: o.preemptions } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.maxExecutions !== undefined ? { maxExecutions: o.maxExecutions } : {}),
    ...(o.maxStates !== undefined ? { maxStates: o.maxStates } : {}),
    ...(o.timeLimitMs !== undefined ? { timeLimitMs: o.timeLimitMs } : {}),
    ...(o.maxMemoryMb !== undefined ? { maxMemoryMb: o.maxMemoryMb } : {}),
    ...(o.properties !== undefined ? { properties: o.properties } : {}),
    ...(o.allViolations ? { allViolations: true } : {}),
    ...(h.onProgress ? { onProgress: (s: Stats) => h.onProgress!(s.executions) } : {}),
    ...(h.shouldStop ? { shouldStop: h.shouldStop } : {}),
  };
}

function base(r: ExploreResult, fp: string): Omit<CellResult, "verdict"> {
  const out: Omit<CellResult, "verdict"> = {
    exhaustive: r.exhaustive,
    notDecided: r.notDecided,
    stats: r.stats,
    missingWitnesses: [],
    counterexamples: [],
    fingerprint: fp,
  };
  if (r.stopReason !== undefined) out.stopReason = r.stopReason;
  return out;
}

export function runCell(spec: CellSpec, h: CellHooks = {}): CellResult {
  let program: Program;
  let fp = "";
  try {
    program = cellProgram(spec);
    fp = cellFingerprint(spec, program);
    if (spec.kind === "demo") return runDemo(spec, program, fp, h);
    const overrides = Object.keys(spec.overrides).length ? { overrides: spec.overrides } : {};
    const min = spec.opts.minimize !== false;
    // --all-violations: every property the scenario checks (not only the one it expects to break).
    const all = spec.opts.allViolations && spec.opts.properties === undefined ? { properties: spec.scenario.properties ?? [...program.properties] } : {};
    const r = checkScenario(spec.scenario, spec.preset, { ...engineOpts(spec.opts, h), ...all, ...overrides, ...(min ? {} : { minimize: false }) });
    const out: CellResult = { ...base(r.result, fp), verdict: r.verdict, missingWitnesses: r.missingWitnesses };
    if (r.expected !== undefined) out.expected = r.expected;
    if (r.ok !== undefined) out.ok = r.ok;
    if (r.expected !== undefined && !r.ok && r.result.violations.some((v) => `violated:${v.property}` === r.expected)) {
      out.verdict = r.expected;
      out.ok = true;
    }
    if (r.counterexample) {
      out.counterexamples.push(r.counterexample);
      const props = spec.opts.properties ?? r.result.violations.map((v) => v.property);
      for (const v of r.result.violations.slice(1)) out.counterexamples.push(min ? minimize(program, v, { properties: props }) : v);
      // A SEAMCALL preempted half-way runs in one piece when the replay allows it.
      out.counterexamples = out.counterexamples.map((c) => (c.cycleStart === undefined ? tidyCounterexample(program, c) : c));
      // The verdict's counterexample first.
      out.counterexamples.sort((a, b) => Number(`violated:${b.property}` === out.verdict) - Number(`violated:${a.property}` === out.verdict));
    }
    return out;
  } catch (e) {
    return {
      verdict: "error",
      exhaustive: false,
      notDecided: [],
      stats: { strategy: spec.opts.strategy, complete: 0, blocked: 0, cycles: 0, sleepPruned: 0, cachePruned: 0, violating: 0, executions: 0, steps: 0, replaySteps: 0, statesStored: 0, maxDepth: 0, wallMs: 0, firstViolationMs: -1 },
      missingWitnesses: [],
      counterexamples: [],
      fingerprint: fp,
      error: (e as Error).message.split("\n")[0]!,
    };
  }
}

function runDemo(spec: Extract<CellSpec, { kind: "demo" }>, program: Program, fp: string, h: CellHooks): CellResult {
  const t = DEMOS.find((d) => d.name === spec.demo)!;
  const r = explore(program, engineOpts(spec.opts, h));
  const cex = r.violations.map((v) => (spec.opts.minimize === false ? v : minimize(program, v, spec.opts.properties ? { properties: spec.opts.properties } : {})));
  // The expected property's counterexample first.
  cex.sort((a, b) => Number(b.property === t.expected) - Number(a.property === t.expected));
  const verdict = cex.length ? `violated:${cex[0]!.property}` : r.verdict;
  const expected = t.expected === "verified" ? "verified" : `violated:${t.expected}`;
  return { ...base(r, fp), verdict, expected, ok: verdict === expected, counterexamples: cex };
}
