// `tdxmc check`: explore scenarios under presets, print the verdict matrix and the minimized
// counterexamples as step tables; --json, --out, exit codes.
import { join } from "node:path";
import { formatStepTable, type Counterexample, type StrategyName } from "../engine/index.js";
import { DEFAULT_GEOMETRY, kvmSteps, SCENARIOS, type Scenario } from "../kvm/index.js";
import { moduleVersionFor } from "../kvm/protocol.js";
import { describeStop } from "./budgets.js";
import { cellFingerprint, cellProgram, cellReductions, type CellCounterexample, type CellResult, type CellSpec, type RunOpts } from "./cell.js";
import { cellCost } from "./cell-costs.js";
import { DEMOS } from "./demo.js";
import { EXIT, UsageError, worstExit } from "./errors.js";
import { createPool, defaultJobs } from "./pool.js";
import { createProgress, rate, startHeartbeat, type Clock } from "./progress.js";
import { shortProperty } from "./properties.js";
import { FORMAT_VERSION, jsonHeader, resolvedSwitches, VERSION, type Provenance } from "./provenance.js";
import { counterexampleFile, formatReplayRef } from "./replayspec.js";
import { checkOutputDir, checkOutputFile, quote, safeText, showPath, tryWrite } from "./safe-input.js";
import { formatKvmTable } from "./steptable.js";
import type { TraceData } from "../trace/types.js";
import { formatItf } from "./itf.js";
import { junitXml } from "./junit.js";
import { cellTrace, renderHtml } from "./view.js";
import { parseModuleVersion, parsePresets, parseProperties, parseSets, parseStrategy, PRESET_ORDER, resolveTarget, type Target } from "./targets.js";

export interface CheckOptions {
  protocol?: string;
  set?: string[];
  moduleVersion?: string;
  strategy?: string;
  preemptions?: number;
  seed?: number;
  maxExecutions?: number;
  maxStates?: number;
  maxMemory?: number;
  maxSteps?: number;
  maxGraphEdges?: number;
  timeLimit?: number;
  minimize?: boolean;
  properties?: string;
  allViolations?: boolean;
  /** --no-por: no partial-order reduction in the stateful search. */
  por?: boolean;
  /** --persistent-sets: persistent sets instead of sleep sets in the stateful search. */
  persistentSets?: boolean;
  /** --no-shallow: no preemption-bounded first phase before an exhaustive strategy. */
  shallow?: boolean;
  json?: boolean;
  timings?: boolean;
  out?: string;
  requireExhaustive?: boolean;
  jobs?: number;
  demo?: boolean;
  expand?: boolean;
  raw?: boolean;
  /** Write one HTML trace page per counterexample into this directory. */
  view?: string;
  /** Write the cells as JUnit XML (Ant/Jenkins dialect) to this file. */
  junit?: string;
  /** With --out: counterexample files as tdxmc JSON (default) or ITF. */
  format?: string;
  /** false with --no-fusion. */
  fusion?: boolean;
  /** false with --no-restore. */
  restore?: boolean;
  /** false with --no-symmetry. */
  symmetry?: boolean;
  /** --workers N: threads per cell for the stateful search. */
  workers?: number;
}

export interface Cell {
  target: Target;
  preset: string | null;
  spec: CellSpec;
  provenance: Provenance;
  label: string;
  result?: CellResult;
}

function effectiveScenario(s: Scenario, moduleVersion: string | undefined): Scenario {
  if (!moduleVersion) return s;
  return { ...s, module: { ...(s.module ?? {}), version: moduleVersion as NonNullable<Scenario["module"]>["version"] } };
}

function boundsOf(o: RunOpts): Record<string, number | boolean | string[]> {
  const b: Record<string, number | boolean | string[]> = {};
  for (const k of ["preemptions", "seed", "maxExecutions", "maxStates", "maxSteps", "maxGraphEdges", "maxMemoryMb", "timeLimitMs", "properties", "allViolations", "por", "shallow"] as const) {
    const v = o[k];
    if (v !== undefined) b[k] = v;
  }
  return b;
}

const STEPS_VS_WORKERS = (what: string): string =>
  `${what} and --workers conflict: under --workers the stateful search has no step budget (the depth at which a state is first reached depends on how the workers share the work; every path is bounded by the states stored: use --max-states)`;

/**
 * Build the cells of a check (validating everything first). With `deferBuild`, a built-in
 * scenario's cell under a preset with no --set or --module-version is not built here: its program
 * cannot fail to build on user input (the main job builds every one), so it is built once, where
 * the cell runs, and the provenance figures that need it (fingerprint, reductions) come back with
 * the result (completeProvenance). Otherwise every program is built here, so that bad input is
 * refused before any search starts.
 */
export function planCells(args: string[], o: CheckOptions, deferBuild = false): { cells: Cell[]; mainJob: boolean } {
  const presets = parsePresets(o.protocol);
  const overrides = parseSets(o.set);
  const moduleVersion = parseModuleVersion(o.moduleVersion);
  const strategy = parseStrategy(o.strategy);
  const properties = parseProperties(o.properties);
  const mainJob = args.length === 0 && !o.demo;
  if (o.demo && args.length > 0) throw new UsageError(`option --demo runs the engine's demos and takes no scenario (name them as demo:NAME instead)`);
  if (o.format !== undefined && o.out === undefined) throw new UsageError(`option --format: needs --out DIR (it is the format of the counterexample files --out writes)`);
  if (o.persistentSets === true && o.por === false) throw new UsageError(`options --persistent-sets and --no-por conflict: persistent sets are a partial-order reduction`);
  if (o.persistentSets === true && o.workers !== undefined && o.workers > 1) throw new UsageError(`options --persistent-sets and --workers ${o.workers} conflict: the parallel search runs sleep sets only (the cycle proviso needs one DFS stack)`);
  // Under --workers the stateful search's paths are not cut by a step budget (the depth at which a
  // state is first reached depends on how the workers share the work): a step budget given for it is refused.
  if (o.workers !== undefined && o.maxSteps !== undefined && (strategy ?? "cache") === "cache") throw new UsageError(STEPS_VS_WORKERS("option --max-steps"));
  if (o.json && (o.expand || o.raw)) throw new UsageError(`options ${o.expand ? "--expand" : "--raw"} and --json conflict: --expand and --raw shape the printed step table; --json carries every step`);
  const targets: Target[] = args.length > 0 ? args.map(resolveTarget) : o.demo ? DEMOS.map((d) => ({ kind: "demo", name: d.name })) : Object.keys(SCENARIOS).map((n) => resolveTarget(n));
  const seen = new Set<string>();
  // Names label matrix rows and --out files: two different scenarios may not share one.
  const named = new Map<string, string>();
  const cells: Cell[] = [];
  for (const t of targets) {
    const key = t.kind === "demo" ? `demo:${t.name}` : `${t.source}:${t.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const label = t.kind === "demo" ? `demo:${t.name}` : t.name;
    const from = t.kind === "demo" ? "demo" : t.builtin ? "the built-in scenario" : t.source;
    const prior = named.get(label);
    if (prior !== undefined)
      throw new UsageError(`two scenarios are named ${quote(label)} (${prior} and ${from === "the built-in scenario" ? from : quote(from, 200)}); scenario names must be unique in one check`);
    named.set(label, from === "the built-in scenario" ? from : quote(from, 200));
    if (t.kind === "demo") {
      const opts: RunOpts = {
        strategy: strategy ?? "cache",
        ...cliBounds(o),
        ...(properties ? { properties } : {}),
        ...(o.allViolations ? { allViolations: true } : {}),
      };
      const spec: CellSpec = { kind: "demo", demo: t.name, opts };
      const prog = cellProgram(spec);
      if (properties) for (const p of properties) if (!prog.properties.includes(p)) throw new UsageError(`demo '${t.name}' has no property '${p}' (its properties: ${prog.properties.join(", ")})`);
      cells.push({
        target: t,
        preset: null,
        spec,
        label: `demo:${t.name}`,
        provenance: { tdxmc: VERSION, formatVersion: FORMAT_VERSION, fingerprint: cellFingerprint(spec, prog), scenario: `demo:${t.name}`, preset: null, overrides: {}, switches: {}, moduleVersion: null, strategy: opts.strategy, bounds: boundsOf(opts), reductions: cellReductions(spec, prog) },
      });
      continue;
    }
    const sc = effectiveScenario(t.scenario, moduleVersion);
    const file = t.file;
    const fb = file?.bounds ?? {};
    const opts: RunOpts = {
      strategy: strategy ?? file?.strategy ?? (sc.strategy as StrategyName | undefined) ?? "cache",
      ...(fb.preemptions !== undefined ? { preemptions: fb.preemptions } : {}),
      ...(fb.seed !== undefined ? { seed: fb.seed } : {}),
      ...(fb.maxExecutions !== undefined ? { maxExecutions: fb.maxExecutions } : {}),
      ...(fb.maxStates !== undefined ? { maxStates: fb.maxStates } : {}),
      ...(fb.maxMemoryMb !== undefined ? { maxMemoryMb: fb.maxMemoryMb } : {}),
      ...(fb.maxSteps !== undefined ? { maxSteps: fb.maxSteps } : {}),
      ...(fb.maxGraphEdges !== undefined ? { maxGraphEdges: fb.maxGraphEdges } : {}),
      ...cliBounds(o),
      ...(properties ? { properties } : {}),
      ...(o.allViolations ? { allViolations: true } : {}),
    };
    if (o.workers !== undefined && fb.maxSteps !== undefined && opts.strategy === "cache") throw new UsageError(STEPS_VS_WORKERS(`${t.source}: bounds.maxSteps`));
    const defer = deferBuild && t.builtin && Object.keys(overrides).length === 0 && moduleVersion === undefined;
    for (const p of presets ?? file?.presets ?? PRESET_ORDER) {
      const spec: CellSpec = { kind: "scenario", scenario: sc, builtin: t.builtin, source: t.source, preset: p, overrides, opts };
      const built = defer ? undefined : buildChecked(spec, t.name);
      cells.push({
        target: t,
        preset: p,
        spec,
        label: `${t.name}@${p}`,
        provenance: {
          tdxmc: VERSION,
          formatVersion: FORMAT_VERSION,
          // Filled in from the run when the build is deferred (same place in the JSON either way).
          fingerprint: built?.fingerprint ?? "",
          scenario: t.name,
          preset: p,
          overrides,
          switches: resolvedSwitches(sc, p, overrides),
          moduleVersion: moduleVersionFor(sc.module?.version, p),
          strategy: opts.strategy,
          bounds: boundsOf(opts),
          reductions: built?.reductions ?? { fusion: false },
        },
      });
    }
  }
  // Options that only KVM scenarios use are refused when every target is an engine demo.
  if (cells.length > 0 && cells.every((c) => c.preset === null)) {
    const given = [o.protocol !== undefined ? "--protocol" : "", o.set !== undefined ? "--set" : "", o.moduleVersion !== undefined ? "--module-version" : ""].filter(Boolean);
    if (given.length) throw new UsageError(`option${given.length > 1 ? "s" : ""} ${given.join(", ")} appl${given.length > 1 ? "y" : "ies"} to KVM scenarios only; ${cells.length > 1 ? "the targets are engine demos" : `${cells[0]!.label} is an engine demo`}`);
  }
  // Options that only some strategies use are refused, not silently ignored.
  for (const c of cells) {
    const st = c.spec.opts.strategy;
    if (o.preemptions !== undefined && st !== "bounded") throw new UsageError(`option --preemptions applies to --strategy bounded only (${c.label} uses ${st})`);
    if (o.seed !== undefined && st !== "random" && st !== "pct") throw new UsageError(`option --seed applies to --strategy random or pct only (${c.label} uses ${st})`);
    if (o.persistentSets === true && st !== "cache") throw new UsageError(`option --persistent-sets applies to --strategy cache only (${c.label} uses ${st})`);
  }
  return { cells, mainJob };
}

/** Build a scenario cell's program (bad input: a UsageError naming the cell) for its provenance. */
function buildChecked(spec: Extract<CellSpec, { kind: "scenario" }>, name: string): NonNullable<CellResult["built"]> {
  let prog;
  try {
    prog = cellProgram(spec);
  } catch (e) {
    throw new UsageError(`${spec.builtin ? `scenario '${name}'` : spec.source} under ${spec.preset}: ${(e as Error).message.split("\n")[0]}`);
  }
  return { fingerprint: cellFingerprint(spec, prog), reductions: cellReductions(spec, prog) };
}

/**
 * A deferred cell's provenance from its run (planCells). A program that did not build where the
 * cell ran is built here again, to refuse it as planCells would have (a tdxmc bug for a built-in
 * scenario on a preset).
 */
function completeProvenance(c: Cell, r: CellResult): void {
  if (c.provenance.fingerprint !== "" || c.spec.kind !== "scenario") return;
  const b = r.built ?? buildChecked(c.spec, c.target.name);
  c.provenance.fingerprint = b.fingerprint;
  c.provenance.reductions = b.reductions;
}

function cliBounds(o: CheckOptions): Partial<RunOpts> {
  return {
    ...(o.fusion === false ? { fusion: false } : {}),
    ...(o.restore === false ? { restore: false } : {}),
    ...(o.symmetry === false ? { symmetry: false } : {}),
    ...(o.preemptions !== undefined ? { preemptions: o.preemptions } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.maxExecutions !== undefined ? { maxExecutions: o.maxExecutions } : {}),
    ...(o.maxStates !== undefined ? { maxStates: o.maxStates } : {}),
    ...(o.maxMemory !== undefined ? { maxMemoryMb: o.maxMemory } : {}),
    ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
    ...(o.maxGraphEdges !== undefined ? { maxGraphEdges: o.maxGraphEdges } : {}),
    ...(o.timeLimit !== undefined ? { timeLimitMs: o.timeLimit * 1000 } : {}),
    ...(o.minimize === false ? { minimize: false } : {}),
    ...(o.por === false ? { por: false } : {}),
    ...(o.persistentSets === true ? { persistent: true } : {}),
    ...(o.shallow === false ? { shallow: false } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
  };
}

/** Exit code of one cell. With `compare`, the expected verdict decides; otherwise the verdict itself. */
export function cellExit(r: CellResult, compare: boolean, requireExhaustive: boolean): number {
  if (r.verdict === "error") return EXIT.usage;
  const limited = r.verdict === "incomplete";
  const sampled = r.verdict === "no-violation-found";
  if (compare && r.expected !== undefined) {
    if (r.ok) return EXIT.ok;
    if (r.verdict.startsWith("violated:") || r.verdict === "vacuous") return EXIT.violation;
    if (r.verdict === "verified") return EXIT.violation; // expected a violation, exhaustive search found none
    if (sampled) return r.expected === "verified" ? (requireExhaustive ? EXIT.limit : EXIT.ok) : EXIT.limit;
    return limited ? EXIT.limit : EXIT.violation;
  }
  if (r.verdict.startsWith("violated:") || r.verdict === "vacuous") return EXIT.violation;
  if (limited) return EXIT.limit;
  if (sampled) return requireExhaustive ? EXIT.limit : EXIT.ok;
  return EXIT.ok;
}

/** Short text of a verdict for a matrix cell. */
export function shortVerdict(r: CellResult): string {
  if (r.verdict.startsWith("violated:")) return shortProperty(r.verdict.slice(9));
  if (r.verdict === "incomplete") return r.stopReason === "not run (interrupted)" ? "not-run" : (r.stopReason ?? "incomplete");
  if (r.verdict === "no-violation-found") return "none-found";
  return r.verdict;
}

function longVerdict(r: CellResult, o: RunOpts): string {
  if (r.verdict.startsWith("violated:")) return `violated ${r.verdict.slice(9)}`;
  if (r.verdict === "incomplete" && o.workers !== undefined) return describeStop(r.stopReason, o); // figures of a stopped parallel search vary
  if (r.verdict === "incomplete") return `${describeStop(r.stopReason, o)} (explored: ${r.stats.executions} executions, ${r.stats.statesStored} stored states, ${r.stats.steps} steps)`;
  if (r.verdict === "no-violation-found") return `no violation found (not exhaustive: strategy ${r.stats.strategy}, ${r.stats.executions} executions)`;
  if (r.verdict === "vacuous") return `vacuous (verified, but never reached: ${r.missingWitnesses.join(", ")})`;
  if (r.verdict === "error") return `model error: ${r.error}`;
  return r.verdict;
}

const expectedText = (e: string | undefined): string => (e === undefined ? "none" : e.startsWith("violated:") ? `violated ${e.slice(9)}` : e);

export function replayRef(c: Cell, cex: Counterexample): string {
  if (c.spec.kind === "demo") return formatReplayRef({ target: `demo:${c.spec.demo}`, overrides: {}, fingerprint: c.provenance.fingerprint, schedule: cex.schedule });
  const s = c.spec;
  const mv = s.scenario.module?.version;
  const builtinMv = SCENARIOS[s.scenario.name]?.module?.version;
  return formatReplayRef({
    target: c.target.kind === "scenario" && !c.target.builtin ? c.target.source : c.target.name,
    preset: s.preset,
    overrides: s.overrides,
    ...(mv !== undefined && mv !== builtinMv ? { moduleVersion: mv } : {}),
    fingerprint: c.provenance.fingerprint,
    schedule: cex.schedule,
  });
}

/** The step table of a cell's counterexample. */
export function cellTable(c: Cell, cex: Counterexample, o: { expand?: boolean; raw?: boolean }): string {
  const prog = cellProgram(c.spec);
  const cyc = cex.cycleStart !== undefined ? { cycleStart: cex.cycleStart } : {};
  if (c.spec.kind === "demo") return formatStepTable(prog.threads.map((t) => t.name), cex.steps, cyc);
  const g = c.spec.scenario.geometry ?? DEFAULT_GEOMETRY;
  return formatKvmTable(prog, cex.steps, { ...cyc, fanout: g.fanout, levels: g.levels, message: cex.message, ...(o.expand ? { expand: true } : {}), ...(o.raw ? { raw: true } : {}) });
}

/** Widest line the main job prints (a 160-column terminal; test/kvm/fidelity-matrix.test.ts). */
export const MAIN_JOB_WIDTH = 160;

/**
 * The short column head of a preset in the matrix: "upstream-" dropped (6.16, 7.2), the two long
 * historical/RFC names shortened; a legend line under the matrix maps heads back to presets, and
 * --json always carries the full names.
 */
export function presetHead(p: string): string {
  const fixed: Record<string, string> = { "seed-seamcall-lock": "seed+lock", hugepage: "huge" };
  if (fixed[p]) return fixed[p]!;
  return p.startsWith("upstream-") ? p.slice("upstream-".length) : p;
}

/**
 * A verdict as a matrix cell shows it: at most 10 characters, so that eight presets fit
 * MAIN_JOB_WIDTH. Longer property short names get a fixed abbreviation (the "Violated properties"
 * legend maps it to the full name); a cell stopped by a budget says "stopped" (the note under the
 * matrix names the budget).
 */
const MATRIX_ABBREV: Record<string, string> = {
  "removal-order": "rm-order",
  "writer-frozen": "wr-frozen",
  "pamt-refcount": "pamt-ref",
  "agreement-final": "agree-end",
  "freed-mapped": "freed-map",
  "missing-pair": "no-pair",
  "pamt-add/rm": "pamt-add",
  "get-unfrozen": "get-unfrz",
  "pamt-balance": "pamt-bal",
  "fault-stuck": "stuck",
  "pair-reused": "pair-reuse",
  "none-found": "none-found",
};
export function matrixVerdict(r: CellResult): string {
  if (r.verdict === "incomplete") return r.stopReason === "not run (interrupted)" ? "not-run" : "stopped";
  const v = shortVerdict(r);
  const a = MATRIX_ABBREV[v] ?? v;
  return a.length > 10 ? a.slice(0, 10) : a;
}
/** The matrix name of a violated property (the same abbreviation as its cells). */
function matrixProperty(p: string): string {
  return matrixVerdict({ verdict: `violated:${p}` } as CellResult);
}

/**
 * The verdict matrix. Each cell: the verdict, the executions explored and the mark; when that
 * would make a line wider than MAIN_JOB_WIDTH (eight presets), the executions are left out of the
 * cells (they stay in --json) and the heading says so.
 */
function matrixText(cells: Cell[]): { lines: string[]; executions: boolean } {
  const scen = cells.filter((c) => c.preset !== null);
  if (scen.length === 0) return { lines: [], executions: true };
  const rows = [...new Set(scen.map((c) => c.label.slice(0, c.label.lastIndexOf("@"))))];
  const cols = PRESET_ORDER.filter((p) => scen.some((c) => c.preset === p));
  const heads = cols.map(presetHead);
  const at = (r: string, p: string) => scen.find((c) => c.preset === p && c.label === `${r}@${p}`);
  // ok = the expected verdict; NO = another verdict; !! = stopped without a verdict; - = none expected.
  const mark = (c: Cell): string => {
    const r = c.result!;
    if (r.expected === undefined) return "-";
    if (r.ok) return "ok";
    if (r.verdict === "incomplete") return "!!";
    if (r.verdict === "no-violation-found") return r.expected === "verified" ? "ok" : "!!";
    return "NO";
  };
  const vw = Math.max(...scen.map((c) => matrixVerdict(c.result!).length));
  const nw = Math.max(...scen.map((c) => String(c.result!.stats.executions).length));
  const rw = Math.max(8, ...rows.map((r) => r.length));
  const layout = (withN: boolean) => {
    const cw = heads.map((h) => Math.max(h.length, vw + (withN ? 1 + nw : 0) + 3));
    return { cw, width: rw + cw.reduce((a, w) => a + 2 + w, 0) };
  };
  // With --workers, executions depend on how the threads shared the work: not printed (--json has them).
  const executions = layout(true).width <= MAIN_JOB_WIDTH && !scen.some((c) => c.spec.opts.workers !== undefined);
  const { cw } = layout(executions);
  const out: string[] = [];
  out.push(`${"scenario".padEnd(rw)}  ${heads.map((h, j) => h.padEnd(cw[j]!)).join("  ")}`.trimEnd());
  for (const r of rows) {
    const parts = cols.map((p, j) => {
      const c = at(r, p);
      if (!c) return "".padEnd(cw[j]!);
      const v = matrixVerdict(c.result!).padEnd(vw);
      return (executions ? `${v} ${String(c.result!.stats.executions).padStart(nw)} ${mark(c).padEnd(2)}` : `${v} ${mark(c).padEnd(2)}`).padEnd(cw[j]!);
    });
    out.push(`${r.padEnd(rw)}  ${parts.join("  ")}`.trimEnd());
  }
  const renamed = cols.filter((p) => presetHead(p) !== p);
  if (renamed.length) out.push(...wrapNote(`Columns: ${renamed.map((p) => `${presetHead(p)} = ${p}`).join(", ")}`));
  return { lines: out, executions };
}

/** A note line folded at MAIN_JOB_WIDTH (continuation lines indented two spaces past the first). */
function wrapNote(text: string): string[] {
  const lead = /^ */.exec(text)![0];
  const out: string[] = [];
  let line = "";
  for (const word of text.slice(lead.length).split(" ")) {
    if (line && line.length + 1 + word.length > MAIN_JOB_WIDTH) {
      out.push(line);
      line = `${lead}  ${word}`;
    } else line = line ? `${line} ${word}` : `${lead}${word}`;
  }
  if (line) out.push(line);
  return out;
}

function demoText(cells: Cell[]): string[] {
  const d = cells.filter((c) => c.preset === null);
  if (d.length === 0) return [];
  const w = Math.max(4, ...d.map((c) => c.label.length));
  const vw = Math.max(7, ...d.map((c) => shortVerdict(c.result!).length));
  const ew = Math.max(8, ...d.map((c) => expectedText(c.result!.expected).length));
  const out = [`${"demo".padEnd(w)}  ${"verdict".padEnd(vw)}  ${"expected".padEnd(ew)}  as expected  executions  states`];
  for (const c of d) {
    const r = c.result!;
    // With --workers the figures depend on how the threads shared the work (--json has them).
    const fig = (v: number): string => (c.spec.opts.workers !== undefined ? "-" : String(v));
    out.push(`${c.label.padEnd(w)}  ${shortVerdict(r).padEnd(vw)}  ${expectedText(r.expected).padEnd(ew)}  ${(r.ok ? "yes" : "NO").padEnd(11)}  ${fig(r.stats.executions).padStart(10)}  ${fig(r.stats.statesStored).padStart(6)}`);
  }
  return out;
}

function timingsText(cells: Cell[]): string[] {
  const out = ["", "wall time per cell (s):"];
  for (const c of cells) out.push(`  ${c.label.padEnd(40)} ${(c.result!.stats.wallMs / 1000).toFixed(2).padStart(7)}`);
  return out;
}

/**
 * The cell's figures for --json. Under --workers N only what the threads' timing cannot change is
 * standard output (the states stored of a completed search, the shallow phase run before the
 * threads start): executions, steps, pruning and cycle counts and the per-thread profile depend on
 * which thread explored what first; they go under `timings.stats`, with --timings.
 */
function statsForJson(r: CellResult, parallel: boolean): { stats: Record<string, unknown>; timed: Record<string, unknown> | null } {
  const { wallMs: _w, firstViolationMs: _f, ...rest } = r.stats;
  if (!parallel) return { stats: rest, timed: null };
  const { strategy, statesStored, shallow, ...timed } = rest;
  const stats: Record<string, unknown> = { strategy };
  if (r.verdict !== "incomplete") stats["statesStored"] = statesStored;
  if (shallow !== undefined) stats["shallow"] = shallow;
  return { stats, timed: r.verdict === "incomplete" ? { statesStored, ...timed } : timed };
}

function timedStats(r: CellResult, c: Cell): { stats?: Record<string, unknown> } {
  const { timed } = statsForJson(r, c.spec.opts.workers !== undefined && c.spec.opts.workers > 1);
  return timed === null ? {} : { stats: timed };
}

export interface CheckIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Standard error is a terminal (progress line, timings on stderr). */
  tty: boolean;
  /** Heartbeat period when not on a terminal (default 30 s). */
  heartbeatMs?: number;
  /** Timers for the heartbeat (tests inject one to drive it without waiting). */
  clock?: Clock;
  /** Register a Ctrl-C handler for the duration of the run; returns the unregister function. */
  onInterrupt?: (f: () => void) => () => void;
}

export async function runCheck(args: string[], o: CheckOptions, io: CheckIo): Promise<number> {
  const jobs = o.jobs ?? defaultJobs();
  // The pool's first worker starts (loads its modules) while the cells are planned.
  const pool = createPool(jobs);
  let cells: Cell[];
  let mainJob: boolean;
  try {
    ({ cells, mainJob } = planCells(args, o, true));
    // Before the run: an --out, --view or --junit that cannot be written is bad input now, not after an hour of search.
    if (o.format !== undefined && o.format !== "json" && o.format !== "itf") throw new UsageError(`option --format: ${quote(o.format)} is not json or itf`);
    if (o.out !== undefined) checkOutputDir(o.out, "--out");
    if (o.view !== undefined) checkOutputDir(o.view, "--view");
    if (o.junit !== undefined) checkOutputFile(o.junit, "--junit");
  } catch (e) {
    await pool.close();
    throw e;
  }
  // The exit-code table holds for every run, not only the main job: a cell with an expected verdict
  // (a built-in scenario on a preset, no --set) is judged by it; a cell without one by its verdict.
  const compare = true;
  for (const c of cells) c.provenance.parallel = { jobs, workers: c.spec.opts.workers ?? 1 };
  const t0 = Date.now();
  const progress = createProgress(io.tty && !o.json);
  let interrupted = false;
  const off = io.onInterrupt?.(() => {
    interrupted = true;
    pool.stop();
  });
  // Not on a terminal (CI): a heartbeat line on stderr every 30 s, so that a long run is seen alive.
  const beat = startHeartbeat(io, "check", `0/${cells.length} cells`);
  let results: CellResult[];
  try {
    results = await pool.run(
      cells.map((c) => c.spec),
      cells.map((c) => c.label),
      {
        // Longest first after a warm-up on small cells, by a counted estimate (cell-costs.ts; pool.ts: dispatchOrder).
        costs: cells.map((c) => cellCost(c.spec)),
        onProgress: (done, total, execs, running) => {
          const ms = Date.now() - t0;
          beat.status(`${done}/${total} cells, ${execs} executions${running.length ? ` (running: ${running.join(", ")})` : ""}`);
          progress.update(`check: ${done}/${total} cells, ${execs} executions, ${rate(execs, ms)}, ${(ms / 1000).toFixed(0)}s${running.length ? ` — ${running.join(", ")}` : ""}`);
        },
      },
    );
  } finally {
    beat.stop();
    progress.done();
    off?.();
  }
  cells.forEach((c, i) => (c.result = results[i]!));
  for (const c of cells) completeProvenance(c, c.result!);
  const totalMs = Date.now() - t0;
  let code: number = EXIT.ok;
  for (const c of cells) code = worstExit(code, cellExit(c.result!, compare, o.requireExhaustive === true));
  if (interrupted) code = worstExit(code, EXIT.interrupted);
  for (const c of cells) if (c.result!.verdict === "error") io.err(`tdxmc: ${c.label}: model error: ${safeText(c.result!.error ?? "")}\n`);

  // Output files, after the run: each written to a temporary name and renamed (never half a
  // file). A file that cannot be written (the directory went away, the disk is full) is one line on
  // stderr naming it, after the verdicts are printed; the run's results are never thrown away, and
  // the exit code is at least 2.
  const failed: string[] = [];
  let written = 0;
  let pages = 0;
  if (o.out !== undefined) {
    const w = o.format === "itf" ? writeViewFiles(o.out, cells, ".itf.json", (t) => formatItf(t), "--out") : writeCounterexamples(o.out, cells);
    written = w.written;
    failed.push(...w.failed);
  }
  if (o.view !== undefined) {
    const w = writeViewFiles(o.view, cells, ".html", renderHtml, "--view");
    pages = w.written;
    failed.push(...w.failed);
  }
  if (o.junit !== undefined) {
    const e = tryWrite(o.junit, () => junitXml(cells, { cellExit: (r) => cellExit(r, true, o.requireExhaustive === true), replayRef }));
    if (e) failed.push(`option --junit: cannot write ${showPath(o.junit)} (${e}); the verdicts are in the output`);
  }
  if (failed.length) code = worstExit(code, EXIT.usage);
  const reportFailures = (): void => {
    for (const f of failed) io.err(`tdxmc: ${f}\n`);
  };

  if (o.json) {
    io.out(
      JSON.stringify(
        {
          ...jsonHeader("check"),
          mainJob,
          exitCode: code,
          cells: cells.map((c) => {
            const r = c.result!;
            return {
              scenario: c.target.kind === "demo" ? `demo:${c.target.name}` : c.target.name,
              source: c.target.kind === "demo" ? "demo" : c.target.source,
              preset: c.preset,
              provenance: c.provenance,
              verdict: r.verdict,
              expected: r.expected ?? null,
              asExpected: r.ok ?? null,
              exitCode: cellExit(r, compare, o.requireExhaustive === true),
              exhaustive: r.exhaustive,
              stopReason: r.stopReason ?? null,
              notDecided: r.notDecided,
              missingWitnesses: r.missingWitnesses,
              error: r.error ?? null,
              stats: statsForJson(r, c.spec.opts.workers !== undefined && c.spec.opts.workers > 1).stats,
              ...(o.timings ? { timings: { wallMs: r.stats.wallMs, firstViolationMs: r.stats.firstViolationMs, ...timedStats(r, c) } } : {}),
              counterexamples: r.counterexamples.map((x) => ({
                property: x.property,
                message: x.message,
                preemptions: x.preemptions,
                minimal: (x as CellCounterexample).notMinimal === undefined,
                ...((x as CellCounterexample).notMinimal ? { notMinimal: (x as CellCounterexample).notMinimal } : {}),
                schedule: x.schedule,
                replay: replayRef(c, x),
                ...(x.cycleStart !== undefined ? { cycleStart: x.cycleStart } : {}),
                steps: x.steps,
                ...(c.spec.kind === "scenario" ? { kvmSteps: kvmSteps(x.steps) } : {}),
              })),
            };
          }),
          ...(o.timings ? { timings: { totalMs } } : {}),
        },
        null,
        2,
      ) + "\n",
    );
    reportFailures();
    if (io.tty && !o.timings) io.err(`check: ${(totalMs / 1000).toFixed(1)} s\n`);
    return code;
  }

  const out: string[] = [];
  const nScen = new Set(cells.filter((c) => c.preset !== null).map((c) => c.label.slice(0, c.label.lastIndexOf("@")))).size;
  const nPre = new Set(cells.filter((c) => c.preset !== null).map((c) => c.preset)).size;
  const strategies = [...new Set(cells.map((c) => c.spec.opts.strategy))].join(", ");
  const mvs = [...new Set(cells.filter((c) => c.provenance.moduleVersion).map((c) => c.provenance.moduleVersion))].join(", ");
  const head = nScen > 0 ? `${nScen} scenario${nScen === 1 ? "" : "s"} x ${nPre} preset${nPre === 1 ? "" : "s"}, TDX module ${mvs}, strategy ${strategies}` : `${cells.length} demo target${cells.length === 1 ? "" : "s"}, strategy ${strategies}`;
  out.push(`tdxmc ${VERSION} check: ${head}`);
  const matrix = matrixText(cells);
  if (nScen > 0) out.push(...[`(each cell: verdict, ${matrix.executions ? "executions explored, " : ""}and ok if it is the scenario's expected verdict, NO if not, !! if a limit stopped it, - if none is expected${matrix.executions ? "" : "; executions per cell: --json"}${mainJob ? `${o.timeLimit !== undefined ? `; time limit ${o.timeLimit} s per cell` : ""}` : ""})`].flatMap((l) => (mainJob ? wrapNote(l) : [l])));
  if (Object.keys(cells[0]?.provenance.overrides ?? {}).length) out.push(`switches set on the command line: ${Object.entries(cells[0]!.provenance.overrides).map(([k, v]) => `${k}=${v}`).join(", ")}`);
  out.push("");
  out.push(...matrix.lines);
  const demo = demoText(cells);
  if (demo.length) {
    if (out[out.length - 1] !== "") out.push("");
    out.push(...demo);
  }
  // Notes under the matrix.
  const notes: string[] = [];
  const scen = cells.filter((c) => c.preset !== null);
  const differ = scen.filter((c) => c.result!.expected !== undefined && !c.result!.ok && cellExit(c.result!, true, o.requireExhaustive === true) !== EXIT.ok);
  if (differ.length) {
    notes.push("Cells that differ from their expected verdict:");
    for (const c of differ) notes.push(`  ${c.label}: expected ${expectedText(c.result!.expected)}, got ${longVerdict(c.result!, c.spec.opts)}`);
  }
  const other = scen.filter((c) => !differ.includes(c) && (c.result!.verdict === "no-violation-found" || c.result!.verdict === "vacuous" || c.result!.verdict === "error" || (c.result!.verdict === "incomplete" && c.result!.expected === undefined)));
  for (const c of other) notes.push(`${c.label}: ${longVerdict(c.result!, c.spec.opts)}`);
  const nd = scen.filter((c) => c.result!.verdict === "verified" && c.result!.notDecided.length > 0);
  if (nd.length) notes.push(`Not decided by the strategy used (a "verified" says nothing about them): ${[...new Set(nd.flatMap((c) => c.result!.notDecided))].join(", ")} in ${nd.map((c) => c.label).join(", ")}`);
  const noExp = scen.filter((c) => c.result!.expected === undefined);
  if (noExp.length && scen.length > 1) notes.push(`No expected verdict: ${noExp.map((c) => c.label).join(", ")}`);
  const used = [...new Set(scen.filter((c) => c.result!.verdict.startsWith("violated:")).map((c) => c.result!.verdict.slice(9)))];
  if (used.length) notes.push(`Violated properties: ${used.map((p) => (matrixProperty(p) === p ? p : `${matrixProperty(p)} = ${p}`)).join("; ")}`);
  if (mainJob && cells.some((c) => c.result!.counterexamples.length)) notes.push("Step tables of the counterexamples below: tdxmc replay REF, or tdxmc check SCENARIO --protocol PRESET");
  if (notes.length) out.push("", ...(mainJob ? notes.flatMap(wrapNote) : notes));

  // Counterexamples.
  for (const c of cells) {
    for (const x of c.result!.counterexamples) {
      out.push("");
      const exp = c.result!.expected === `violated:${x.property}` ? " (expected)" : "";
      out.push(`=== ${c.preset === null ? c.label : `${c.label.slice(0, c.label.lastIndexOf("@"))} on ${c.preset}`}: violated ${x.property}${exp} ===`);
      out.push(safeText(x.message));
      const nm = (x as CellCounterexample).notMinimal;
      const stepsText = `${x.steps.length} steps, ${x.preemptions} preemption${x.preemptions === 1 ? "" : "s"}${nm ? ` (not minimal: ${nm})` : ""}`;
      if (mainJob) {
        // The main job lists its counterexamples without their step tables and keeps every line
        // within MAIN_JOB_WIDTH; a replay string too long for that is left to the one-cell check.
        out.push(...wrapNote(stepsText));
        const ref = replayRef(c, x);
        const cmd = `replay: tdxmc replay ${ref}`;
        const cell = c.preset === null ? c.label : `${c.label.slice(0, c.label.lastIndexOf("@"))} --protocol ${c.preset}`;
        out.push(cmd.length <= MAIN_JOB_WIDTH ? cmd : `replay: a ${ref.length}-character string; tdxmc check ${cell} prints it with the step table`);
        continue;
      }
      out.push(`${stepsText}; replay: tdxmc replay ${replayRef(c, x)}`);
      out.push("");
      out.push(cellTable(c, x, o).split("\n").map(safeText).join("\n"));
    }
  }
  if (o.timings) out.push(...timingsText(cells), `total: ${(totalMs / 1000).toFixed(2)} s`);

  out.push("");
  const asExpected = cells.filter((c) => c.result!.ok).length;
  const withExp = cells.filter((c) => c.result!.expected !== undefined).length;
  const limited = cells.filter((c) => c.result!.verdict === "incomplete").length;
  const vacuous = cells.filter((c) => c.result!.verdict === "vacuous");
  const cellsWord = (n: number): string => `${n} cell${n === 1 ? "" : "s"}`;
  const without = cells.length - withExp;
  const violatedWithout = cells.filter((c) => c.result!.expected === undefined && c.result!.verdict.startsWith("violated:")).length;
  let summary = [
    ...(withExp ? [`${asExpected} of ${withExp} cell${withExp === 1 ? "" : "s"} with an expected verdict ha${asExpected === 1 && withExp === 1 ? "s" : "ve"} it`] : []),
    ...(without ? [`${violatedWithout} of ${cellsWord(without)}${withExp ? " without one" : ""} violated`] : []),
  ].join("; ");
  if (vacuous.length) {
    const w = [...new Set(vacuous.flatMap((c) => c.result!.missingWitnesses))].map((x) => quote(x, 40));
    summary += `; ${vacuous.length} of ${cellsWord(cells.length)} vacuous (witness${w.length === 1 ? "" : "es"} ${w.join(", ")} never reached)`;
  }
  if (limited) summary += `; ${limited} stopped by a budget${cells.some((c) => c.result!.stopReason === "time-limit") ? " or the time limit" : ""}${cells.some((c) => c.result!.stopReason?.includes("interrupted")) ? " or Ctrl-C" : ""}, no verdict`;
  if (o.out !== undefined) summary += `; ${written} counterexample file(s) in ${showPath(o.out)}`;
  if (o.view !== undefined) summary += `; ${pages} trace page(s) in ${showPath(o.view)}`;
  if (failed.length) summary += `; ${failed.length} output file(s) not written (on stderr)`;
  out.push(`${summary}. Exit ${code}.`);
  io.out(out.join("\n") + "\n");
  reportFailures();
  if (io.tty && !o.timings) io.err(`check: ${(totalMs / 1000).toFixed(1)} s\n`);
  return code;
}

/** --view and --format itf: one file per counterexample, from the trace data layer. */
function writeViewFiles(dir: string, cells: Cell[], ext: string, render: (t: TraceData) => string, option: string): { written: number; failed: string[] } {
  let written = 0;
  const failed: string[] = [];
  for (const c of cells)
    for (const x of c.result!.counterexamples) {
      const path = join(dir, counterexampleFileName(c, x).replace(/\.json$/, ext));
      const e = tryWrite(path, () => {
        let trace: TraceData;
        try {
          trace = cellTrace(c.spec, c.provenance, x, replayRef(c, x));
        } catch (err) {
          // A trace that does not replay is a tdxmc bug; the run's verdicts still stand.
          throw new Error(`its trace does not replay (a tdxmc bug): ${(err as Error).message}`, { cause: err });
        }
        return render(trace);
      });
      if (e === null) written++;
      else failed.push(`option ${option}: cannot write ${showPath(path)} (${e}); its counterexample is in the output`);
    }
  return { written, failed };
}

export function counterexampleFileName(c: Cell, x: Counterexample): string {
  const ov = Object.entries(c.provenance.overrides).map(([k, v]) => `${k}=${v}`).join(",");
  const base = `${c.preset === null ? c.label : `${c.target.name}@${c.preset}`}${ov ? `+${ov}` : ""}.${x.property}.json`;
  return base.replace(/[^A-Za-z0-9@+=,._-]/g, "_");
}

function writeCounterexamples(dir: string, cells: Cell[]): { written: number; failed: string[] } {
  const files: [string, string][] = [];
  for (const c of cells)
    for (const x of c.result!.counterexamples) {
      const f = counterexampleFile(c.provenance, c.spec.kind === "scenario" ? c.spec.scenario : undefined, c.spec.kind === "demo" ? c.spec.demo : undefined, x, replayRef(c, x));
      files.push([join(dir, counterexampleFileName(c, x)), JSON.stringify(f, null, 2) + "\n"]);
    }
  // Each file on its own: one that cannot be written does not lose the others.
  const failed: string[] = [];
  let written = 0;
  for (const [path, text] of files) {
    const e = tryWrite(path, () => text);
    if (e === null) written++;
    else failed.push(`option --out: cannot write ${showPath(path)} (${e}); its counterexample is in the output`);
  }
  return { written, failed };
}
