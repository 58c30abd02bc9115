// `npm run bench`: the race benchmark family (bench/race.ts) under each relevant strategy, each run
// in its own child process with a time cap, plus SPIN on the same Promela files when `spin` is
// installed. Writes bench/results.json (fields documented in docs/bench.md).
//
//   node dist/bench/run.js [--quick] [--no-spin] [--only MODEL[:NxM]] [--strategies S,S..] [--out FILE] [--cap SECONDS]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Execution, boundedExplore, dporExplore, exhaustiveExplore, type ExploreResult } from "../src/engine/index.js";
import { EXPECTED, RACE_MODELS, SIZES, raceModel, safetyOnly, spinSource, type RaceModel } from "./race.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Repository root: this file runs from dist/bench/ (compiled) or bench/ (tsx). */
const ROOT = path.basename(path.dirname(HERE)) === "dist" ? path.resolve(HERE, "../..") : path.resolve(HERE, "..");

export type Strategy = "dpor" | "cache-safety" | "cache" | "exhaustive" | "bounded2";
export const STRATEGIES: readonly Strategy[] = ["dpor", "cache-safety", "cache", "exhaustive", "bounded2"];
export const STRATEGY_DESCRIPTIONS: Record<Strategy, string> = {
  dpor: "stateless DFS, source-set DPOR + sleep sets, cycle detection on the current path",
  "cache-safety":
    "stateful DFS, safety only (what SPIN -DSAFETY checks: assertions, the final/quiescent invariants, deadlock; no livelock): visited set of 64-bit state fingerprints + sleep sets stored with states, no state graph",
  cache: "stateful DFS deciding livelock too: plain enumeration + visited set of 64-bit state fingerprints (no POR) + the whole state graph (fair non-progress cycles)",
  exhaustive: "stateless DFS, plain enumeration of all interleavings, cycle detection",
  bounded2: "iterative preemption bounding 0, 1, 2 (not exhaustive: 'no-violation-found' at best)",
};

interface ChildJob {
  model: RaceModel;
  n: number;
  m: number;
  strategy: Strategy;
  timeLimitMs: number;
  /** Counted budget on stored states (the engine's default, 2^27, when absent): stops a row deterministically. */
  maxStates?: number;
}

export interface EngineRun {
  strategy: Strategy;
  engineStrategy: string;
  timeLimitMs: number;
  /** The counted states budget the row was given, or null (the engine's default). */
  maxStates: number | null;
  verdict: string;
  /** Verdict (and violated property) is the expected one. */
  ok: boolean;
  stopReason: string | null;
  violations: { property: string; steps: number; preemptions: number }[];
  complete: number;
  blocked: number;
  cycles: number;
  sleepPruned: number;
  cachePruned: number;
  executions: number;
  statesStored: number;
  steps: number;
  replaySteps: number;
  freshSteps: number;
  /**
   * How the engine goes back to a branch point: "re-execute" (the prefix's steps run again from the
   * initial state; they are counted in `steps` and `replaySteps`) or "restore" (a snapshot is
   * restored and the threads' generators re-fed; `steps` are all fresh, `replaySteps` counts re-fed values).
   */
  replayMode: "re-execute" | "restore";
  maxDepth: number;
  wallMs: number;
  /** CPU time (user + system) of the child process during the exploration. */
  cpuMs: number;
  stepsPerSec: number;
  freshStepsPerSec: number;
  executionsPerSec: number;
  firstViolationMs: number | null;
  coverage: number;
  heapMb: number;
  rssMb: number;
  error?: string;
}

export interface SpinRun {
  verdict: "verified" | "violated" | "incomplete" | "error";
  ok: boolean;
  error: string | null;
  stopReason: string | null;
  states: number | null;
  transitions: number | null;
  depth: number | null;
  memoryMb: number | null;
  panElapsedS: number | null;
  wallMs: number;
  /** CPU time (user + system) of pan, from bash's `time`. */
  cpuMs: number | null;
  compileMs: number;
  timeLimitMs: number;
  defines: string[];
  /** First line of pan's error report, if any. */
  errorLine: string | null;
}

export interface RaceEntry {
  model: RaceModel;
  size: string;
  n: number;
  m: number;
  expected: { verdict: string; property: string | null };
  runs: Partial<Record<Strategy, EngineRun>>;
  spin: SpinRun | null;
  /** Fastest engine run that reached the expected verdict. */
  best: {
    strategy: Strategy;
    wallMs: number;
    spinWallMs: number | null;
    /** best.wallMs / spin.wallMs (< 1: the engine reached the verdict sooner). */
    ratioToSpin: number | null;
    /** best.wallMs / (pan's own "elapsed time"), which leaves out pan's start-up (allocating the -w27 hash table). */
    ratioToSpinElapsed: number | null;
    cpuMs: number;
    spinCpuMs: number | null;
    /** best.cpuMs / spin.cpuMs: less sensitive than wall time to other load on the machine. */
    ratioToSpinCpu: number | null;
  } | null;
  /**
   * Per engine run that reached the expected verdict: its CPU / SPIN's CPU in this run (null when
   * SPIN did not reach it). `cache-safety` checks what SPIN's -DSAFETY pan checks; `cache` decides livelock too.
   */
  cpuRatioToSpin: Partial<Record<Strategy, number | null>>;
}

// ---------------------------------------------------------------------------------------------
// Child: one model × size × strategy, result as JSON on stdout.

function runChild(job: ChildJob): EngineRun {
  const program = raceModel(job.model, job.n, job.m);
  const opts = { timeLimitMs: job.timeLimitMs, ...(job.maxStates !== undefined ? { maxStates: job.maxStates } : {}) };
  const cpu0 = process.cpuUsage();
  let r: ExploreResult;
  switch (job.strategy) {
    case "dpor":
      r = dporExplore(program, opts);
      break;
    case "cache-safety":
      // Like-for-like with SPIN's -DSAFETY pan: every property but livelock (SPIN checks no
      // non-progress or acceptance cycles there), so no state graph is recorded and sleep sets
      // (stored with states) are on, as under `tdxmc check` with livelock deselected.
      r = exhaustiveExplore(program, { ...opts, ...safetyOnly(program) });
      break;
    case "cache":
      r = exhaustiveExplore(program, { ...opts, stateCaching: true });
      break;
    case "exhaustive":
      r = exhaustiveExplore(program, opts);
      break;
    case "bounded2":
      r = boundedExplore(program, 2, opts);
      break;
  }
  const cpu = process.cpuUsage(cpu0);
  const s = r.stats;
  const exp = EXPECTED[job.model];
  const props = r.violations.map((v) => v.property);
  const ok = exp.verdict === "verified" ? r.verdict === "verified" : r.verdict === "violated" && props.includes(exp.property!);
  const secs = Math.max(s.wallMs, 1) / 1000;
  const restoreMode = typeof (Execution.prototype as unknown as Record<string, unknown>)["restore"] === "function";
  const fresh = restoreMode ? s.steps : s.steps - s.replaySteps;
  const mem = process.memoryUsage();
  return {
    strategy: job.strategy,
    engineStrategy: s.strategy,
    timeLimitMs: job.timeLimitMs,
    maxStates: job.maxStates ?? null,
    verdict: r.verdict,
    ok,
    stopReason: r.stopReason ?? null,
    violations: r.violations.map((v) => ({ property: v.property, steps: v.steps.length, preemptions: v.preemptions })),
    complete: s.complete,
    blocked: s.blocked,
    cycles: s.cycles,
    sleepPruned: s.sleepPruned,
    cachePruned: s.cachePruned,
    executions: s.executions,
    statesStored: s.statesStored,
    steps: s.steps,
    replaySteps: s.replaySteps,
    freshSteps: fresh,
    replayMode: restoreMode ? "restore" : "re-execute",
    maxDepth: s.maxDepth,
    wallMs: s.wallMs,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    stepsPerSec: Math.round(s.steps / secs),
    freshStepsPerSec: Math.round(fresh / secs),
    executionsPerSec: Math.round(s.executions / secs),
    firstViolationMs: s.firstViolationMs >= 0 ? s.firstViolationMs : null,
    coverage: r.coverage.length,
    heapMb: Math.round(mem.heapUsed / 1048576),
    rssMb: Math.round(mem.rss / 1048576),
  };
}

/**
 * The children run from a private copy of the compiled tree, taken when the run starts, so that a
 * rebuild of dist/ by other work during a long run cannot change the engine being measured.
 */
let childEntry = fileURLToPath(import.meta.url);
function snapshotBuild(): string | null {
  if (path.basename(path.dirname(HERE)) !== "dist") return null;
  const snap = mkdtempSync(path.join(os.tmpdir(), "tdxmc-bench-dist-"));
  for (const d of ["src", "bench"]) cpSync(path.join(ROOT, "dist", d), path.join(snap, d), { recursive: true });
  writeFileSync(path.join(snap, "package.json"), '{"type":"module"}\n');
  childEntry = path.join(snap, "bench", path.basename(fileURLToPath(import.meta.url)));
  return snap;
}

function spawnEngine(job: ChildJob): EngineRun {
  const self = childEntry;
  const args = [...process.execArgv, self, "--child", JSON.stringify(job)];
  const res = spawnSync(process.execPath, args, { encoding: "utf8", timeout: job.timeLimitMs + 60_000, maxBuffer: 64 << 20 });
  const line = res.stdout?.trim().split("\n").pop() ?? "";
  if (res.status === 0 && line.startsWith("{")) return JSON.parse(line) as EngineRun;
  const why = res.error ? String(res.error) : `exit ${res.status ?? res.signal}: ${(res.stderr ?? "").trim().split("\n").slice(-3).join(" | ")}`;
  return {
    strategy: job.strategy, engineStrategy: job.strategy, timeLimitMs: job.timeLimitMs, maxStates: job.maxStates ?? null, verdict: "error", ok: false, stopReason: "error", violations: [],
    complete: 0, blocked: 0, cycles: 0, sleepPruned: 0, cachePruned: 0, executions: 0, statesStored: 0, steps: 0, replaySteps: 0, freshSteps: 0, replayMode: "re-execute",
    maxDepth: 0, wallMs: 0, cpuMs: 0, stepsPerSec: 0, freshStepsPerSec: 0, executionsPerSec: 0, firstViolationMs: null, coverage: 0, heapMb: 0, rssMb: 0,
    error: why,
  };
}

// ---------------------------------------------------------------------------------------------
// SPIN

function spinVersion(): string | null {
  const r = spawnSync("spin", ["-V"], { encoding: "utf8" });
  if (r.status !== 0 || !r.stdout) return null;
  return r.stdout.trim();
}

function spinDir(): string | null {
  for (const d of [process.env["TDXMC_SPIN_DIR"], path.resolve(ROOT, "../shared/bench/spin"), path.join(ROOT, "bench/spin")])
    if (d && existsSync(path.join(d, "race.pml")) && existsSync(path.join(d, "race_fixed.pml"))) return d;
  return null;
}

function num(out: string, re: RegExp): number | null {
  const m = re.exec(out);
  return m ? Number(m[1]) : null;
}

function runSpin(dir: string, model: RaceModel, n: number, m: number, capMs: number): SpinRun {
  const { file, defines } = spinSource(model);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "tdxmc-spin-"));
  const base: SpinRun = {
    verdict: "error", ok: false, error: null, stopReason: null, states: null, transitions: null, depth: null, memoryMb: null, panElapsedS: null,
    wallMs: 0, cpuMs: null, compileMs: 0, timeLimitMs: capMs, defines: [`-DN=${n}`, `-DM=${m}`, ...defines], errorLine: null,
  };
  try {
    copyFileSync(path.join(dir, file), path.join(tmp, file));
    const c0 = Date.now();
    const gen = spawnSync("spin", [...base.defines, "-a", file], { cwd: tmp, encoding: "utf8" });
    if (gen.status !== 0) return { ...base, error: `spin -a: ${gen.stderr || gen.stdout}` };
    const cc = spawnSync("gcc", ["-O2", "-w", "-DSAFETY", "-DMEMLIM=16000", "-o", "pan", "pan.c"], { cwd: tmp, encoding: "utf8" });
    if (cc.status !== 0) return { ...base, error: `gcc: ${cc.stderr}` };
    const compileMs = Date.now() - c0;
    const capS = Math.ceil(capMs / 1000);
    const t0 = Date.now();
    const script = `TIMEFORMAT='__CPU %U %S'; time timeout -s INT -k 15 ${capS} ./pan -m1000000 -w27`;
    const pan = spawnSync("bash", ["-c", script], { cwd: tmp, encoding: "utf8", maxBuffer: 64 << 20 });
    const wallMs = Date.now() - t0;
    const out = `${pan.stdout ?? ""}\n${pan.stderr ?? ""}`;
    const errors = num(out, /errors:\s*(\d+)/);
    const cpuM = /__CPU ([\d.]+) ([\d.]+)/.exec(out);
    const cpuMs = cpuM ? Math.round((Number(cpuM[1]) + Number(cpuM[2])) * 1000) : null;
    const timedOut = pan.status === 124 || pan.status === 137 || /Interrupted/.test(out) || wallMs >= capS * 1000;
    const outOfMemory = /out of memory|pan: reached -DMEMLIM bound/i.test(out);
    const errLine = /^pan:\d+: .*$/m.exec(out)?.[0] ?? null;
    const truncated = /max search depth too small/.test(out) && !/errors: [1-9]/.test(out);
    let verdict: SpinRun["verdict"];
    let stopReason: string | null = null;
    if (errors !== null && errors > 0) verdict = "violated";
    else if (timedOut) {
      verdict = "incomplete";
      stopReason = "time-limit";
    } else if (outOfMemory) {
      verdict = "incomplete";
      stopReason = "max-memory";
    } else if (errors === 0 && !truncated) verdict = "verified";
    else if (errors === 0) {
      verdict = "incomplete";
      stopReason = "max-depth";
    } else verdict = "error";
    const exp = EXPECTED[model];
    const deadlockSeen = errLine !== null && /invalid end state/.test(errLine);
    const assertSeen = errLine !== null && /assertion violated/.test(errLine);
    const ok = exp.verdict === "verified" ? verdict === "verified" : verdict === "violated" && (exp.property === "deadlock" ? deadlockSeen : assertSeen);
    return {
      ...base,
      verdict,
      ok,
      error: verdict === "error" ? out.trim().split("\n").slice(-5).join(" | ") : null,
      stopReason,
      states: num(out, /([\d.e+]+) states, stored/),
      transitions: num(out, /([\d.e+]+) transitions \(= stored\+matched\)/),
      depth: num(out, /depth reached (\d+)/),
      memoryMb: num(out, /([\d.]+)\s+total actual memory usage/),
      panElapsedS: num(out, /pan: elapsed time ([\d.e+-]+) seconds/),
      wallMs,
      cpuMs,
      compileMs,
      errorLine: errLine,
    };
  } catch (e) {
    return { ...base, error: String(e) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The plan: which strategies, with which time caps.

interface Plan {
  sizes: readonly (readonly [number, number])[];
  models: readonly RaceModel[];
  strategies(model: RaceModel, n: number, m: number): { strategy: Strategy; capMs: number; maxStates?: number }[];
  spinCapMs: number;
}

/** The states budget of the rows past 24 threads × slots (race-fixed 4×8). */
export const BIG_ROW_STATES = 12_000_000;

function fullPlan(capMs: number): Plan {
  return {
    sizes: SIZES,
    models: RACE_MODELS,
    spinCapMs: 150_000,
    strategies(model, n, m) {
      const small = n * m <= 4;
      if (model !== "race-fixed") {
        // The bugs are found within milliseconds by every strategy; the caps only guard against surprises.
        return (["dpor", "cache-safety", "cache", "exhaustive", "bounded2"] as const).map((strategy) => ({ strategy, capMs: Math.min(capMs, 60_000) }));
      }
      // race-fixed must be explored completely. Plain stateless enumeration (with or without DPOR)
      // unrolls the BUSY/CAS-failure retries into ever longer paths and is hopeless beyond 2×2:
      // it gets a short cap to show that; state caching is the strategy that must verify:
      // `cache-safety` (what SPIN checks) beside `cache` (livelock decided too). 4×8 is far beyond
      // what fits (docs/bench.md, "Session 7: race-fixed"): both rows stop at a counted states
      // budget, which keeps the full run within minutes.
      const big = n * m > 24 ? { maxStates: BIG_ROW_STATES } : {};
      return [
        { strategy: "cache-safety", capMs, ...big },
        { strategy: "cache", capMs, ...big },
        { strategy: "dpor", capMs: small ? capMs : n * m <= 12 ? 60_000 : 30_000 },
        { strategy: "exhaustive", capMs: n * m <= 2 ? capMs : 20_000 },
      ];
    },
  };
}

function quickPlan(capMs: number): Plan {
  return {
    sizes: [[2, 1], [2, 2], [3, 4]],
    models: RACE_MODELS,
    spinCapMs: 30_000,
    strategies: (model, n, m) =>
      model === "race-fixed" && n * m > 4
        ? [{ strategy: "cache-safety", capMs }, { strategy: "cache", capMs }, { strategy: "dpor", capMs: 5_000 }]
        : [{ strategy: "cache-safety", capMs }, { strategy: "cache", capMs }, { strategy: "dpor", capMs }],
  };
}

// ---------------------------------------------------------------------------------------------

/** The engine's source revision: commit, and whether the work tree differs from it under src/. */
function gitInfo(): { commit: string | null; dirtySrc: boolean | null } {
  const rev = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  // A tree exported with `git archive` has no .git: its commit can be given in TDXMC_SOURCE_COMMIT.
  if (rev.status !== 0) return { commit: process.env["TDXMC_SOURCE_COMMIT"] ?? null, dirtySrc: process.env["TDXMC_SOURCE_COMMIT"] ? false : null };
  const st = spawnSync("git", ["status", "--porcelain", "--", "src"], { cwd: ROOT, encoding: "utf8" });
  return { commit: rev.stdout.trim(), dirtySrc: st.status === 0 ? st.stdout.trim() !== "" : null };
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);
}

/** a / b to three significant digits. */
function ratio(a: number, b: number): number {
  return Number((Math.max(a, 0.5) / Math.max(b, 1)).toPrecision(3));
}

function fmtMs(ms: number | null): string {
  if (ms === null) return "-";
  return ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

function fmtNum(x: number | null): string {
  if (x === null) return "-";
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)} M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(0)} K`;
  return String(x);
}

/** A markdown table of a results file (for docs/bench.md). */
export function markdownTable(res: { race: RaceEntry[] }): string {
  const rows = ["| model | N×M | strategy | verdict | executions | states | steps | steps/s | wall | CPU | 1st violation | stop |", "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|"];
  for (const e of res.race) {
    for (const r of Object.values(e.runs)) {
      const rp = r.replayMode === "restore" ? ` (+${fmtNum(r.replaySteps)} re-fed)` : r.steps > 0 ? ` (${Math.round((100 * r.replaySteps) / r.steps)} % replay)` : "";
      rows.push(
        `| ${e.model} | ${e.n}×${e.m} | ${r.strategy} | ${r.ok ? "" : "**"}${r.verdict}${r.ok ? "" : "**"} | ${fmtNum(r.executions)} | ${fmtNum(r.statesStored)} | ${fmtNum(r.steps)}${rp} | ${fmtNum(r.stepsPerSec)} | ${fmtMs(r.wallMs)} | ${fmtMs(r.cpuMs ?? null)} | ${fmtMs(r.firstViolationMs)} | ${r.stopReason ?? ""} |`,
      );
    }
    const s = e.spin;
    if (s)
      rows.push(
        `| ${e.model} | ${e.n}×${e.m} | SPIN | ${s.ok ? "" : "**"}${s.verdict}${s.ok ? "" : "**"} | | ${fmtNum(s.states)} | | | ${fmtMs(s.wallMs)} (pan ${s.panElapsedS ?? "-"} s) | ${fmtMs(s.cpuMs ?? null)} | | ${s.stopReason ?? ""} |`,
      );
  }
  return rows.join("\n");
}

function main(argv: string[]): number {
  const tableAt = argv.indexOf("--table");
  if (tableAt >= 0) {
    process.stdout.write(`${markdownTable(JSON.parse(readFileSync(argv[tableAt + 1]!, "utf8")) as { race: RaceEntry[] })}\n`);
    return 0;
  }
  const childAt = argv.indexOf("--child");
  if (childAt >= 0) {
    const job = JSON.parse(argv[childAt + 1]!) as ChildJob;
    process.stdout.write(`${JSON.stringify(runChild(job))}\n`);
    return 0;
  }
  const quick = argv.includes("--quick");
  const noSpin = argv.includes("--no-spin");
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const capMs = Number(opt("--cap") ?? (quick ? 20 : 150)) * 1000;
  const only = opt("--only");
  const onlyStrategies = opt("--strategies")?.split(",");
  for (const st of onlyStrategies ?? [])
    if (!(STRATEGIES as readonly string[]).includes(st)) {
      process.stderr.write(`--strategies: unknown strategy '${st}' (known: ${STRATEGIES.join(", ")})\n`);
      return 2;
    }
  const out = opt("--out") ?? (quick ? path.join(os.tmpdir(), "tdxmc-bench-quick.json") : path.join(ROOT, "bench/results.json"));
  const plan = quick ? quickPlan(capMs) : fullPlan(capMs);
  const version = noSpin ? null : spinVersion();
  const dir = version ? spinDir() : null;
  const snap = snapshotBuild();
  // Read when the build is copied, not at the end: a checkout or rebase during a long run must not
  // relabel the engine the children ran.
  const source = gitInfo();
  const t0 = Date.now();
  const load0 = Math.round(os.loadavg()[0]! * 100) / 100;
  const entries: RaceEntry[] = [];
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  log(`tdxmc bench${quick ? " --quick" : ""}: ${os.cpus().length} cpus, node ${process.version}, ${version ? `SPIN: ${version.split("\n")[0]} (${dir})` : "SPIN not run"}`);
  for (const model of plan.models) {
    for (const [n, m] of plan.sizes) {
      const size = `${n}x${m}`;
      if (only && only !== model && only !== `${model}:${size}`) continue;
      const exp = EXPECTED[model];
      const entry: RaceEntry = { model, size, n, m, expected: { verdict: exp.verdict, property: exp.property ?? null }, runs: {}, spin: null, best: null, cpuRatioToSpin: {} };
      for (const { strategy, capMs: cap, maxStates } of plan.strategies(model, n, m)) {
        if (onlyStrategies && !onlyStrategies.includes(strategy)) continue;
        const r = spawnEngine({ model, n, m, strategy, timeLimitMs: cap, ...(maxStates !== undefined ? { maxStates } : {}) });
        entry.runs[strategy] = r;
        log(
          `  ${model.padEnd(16)} ${size.padEnd(4)} ${strategy.padEnd(12)} ${r.verdict.padEnd(10)} ${r.ok ? "ok " : r.verdict === "incomplete" ? "-- " : "BAD"} ${fmtMs(r.wallMs).padStart(7)} (CPU ${fmtMs(r.cpuMs)})` +
            `  steps ${fmtNum(r.steps).padStart(7)} (${fmtNum(r.stepsPerSec)}/s)  states ${fmtNum(r.statesStored).padStart(7)}  execs ${fmtNum(r.executions).padStart(7)}` +
            `${r.stopReason ? `  stop: ${r.stopReason}` : ""}${r.error ? `  ERROR ${r.error}` : ""}`,
        );
      }
      if (dir) {
        const s = runSpin(dir, model, n, m, plan.spinCapMs);
        entry.spin = s;
        log(
          `  ${model.padEnd(16)} ${size.padEnd(4)} ${"SPIN".padEnd(12)} ${s.verdict.padEnd(10)} ${s.ok ? "ok " : s.verdict === "incomplete" ? "-- " : "BAD"} ${fmtMs(s.wallMs).padStart(7)} (CPU ${fmtMs(s.cpuMs)})` +
            `  states ${fmtNum(s.states)}  mem ${s.memoryMb ?? "-"} MB${s.stopReason ? `  stop: ${s.stopReason}` : ""}${s.error ? `  ERROR ${s.error}` : ""}`,
        );
      }
      let best: RaceEntry["best"] = null;
      for (const r of Object.values(entry.runs)) {
        if (!r.ok || r.strategy === "bounded2") continue;
        if (best === null || r.wallMs < best.wallMs) best = { strategy: r.strategy, wallMs: r.wallMs, spinWallMs: null, ratioToSpin: null, ratioToSpinElapsed: null, cpuMs: r.cpuMs, spinCpuMs: null, ratioToSpinCpu: null };
      }
      if (best && entry.spin && entry.spin.ok) {
        best.spinWallMs = entry.spin.wallMs;
        best.ratioToSpin = ratio(best.wallMs, entry.spin.wallMs);
        if (entry.spin.panElapsedS !== null && entry.spin.panElapsedS > 0) best.ratioToSpinElapsed = ratio(best.wallMs, entry.spin.panElapsedS * 1000);
        best.spinCpuMs = entry.spin.cpuMs;
        if (entry.spin.cpuMs !== null) best.ratioToSpinCpu = ratio(best.cpuMs, entry.spin.cpuMs);
      }
      entry.best = best;
      for (const r of Object.values(entry.runs))
        if (r.ok && r.strategy !== "bounded2") entry.cpuRatioToSpin[r.strategy] = entry.spin?.ok && entry.spin.cpuMs !== null ? ratio(r.cpuMs, entry.spin.cpuMs) : null;
      entries.push(entry);
    }
  }
  const result = {
    schema: "tdxmc-bench/1",
    generatedAt: new Date().toISOString(),
    quick,
    source,
    totalWallMs: Date.now() - t0,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      totalMemGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      v8: process.versions.v8,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      /** 1-minute load average when the run started and ended: other work on the machine skews wall times. */
      loadAvgStart: load0,
      loadAvgEnd: Math.round(os.loadavg()[0]! * 100) / 100,
    },
    spin: version
      ? {
          version: version.split("\n")[0],
          sources: dir ? Object.fromEntries(["race.pml", "race_fixed.pml"].map((f) => [f, { path: path.relative(ROOT, path.join(dir, f)), sha256_16: sha256(path.join(dir, f)) }])) : null,
          command: "spin -DN=.. -DM=.. [-DQUIESCENT|-DBUG_LEAK] -a FILE; gcc -O2 -w -DSAFETY -DMEMLIM=16000 -o pan pan.c; ./pan -m1000000 -w27",
        }
      : null,
    strategies: STRATEGY_DESCRIPTIONS,
    race: entries,
  };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  if (snap) rmSync(snap, { recursive: true, force: true });
  const bad = entries.flatMap((e) => Object.values(e.runs).filter((r) => r.verdict !== "incomplete" && r.verdict !== "no-violation-found" && !r.ok).map((r) => `${e.model} ${e.size} ${r.strategy}: ${r.verdict}`));
  log(`wrote ${out} in ${fmtMs(Date.now() - t0)}`);
  if (bad.length > 0) {
    log(`WRONG VERDICTS:\n  ${bad.join("\n  ")}`);
    return 1;
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
