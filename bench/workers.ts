// `--workers N` on one cell: CPU, wall and where each thread's time went (docs/bench.md,
// "Session 6: workers"). Each run is a fresh child process (no warm threads, no JIT code shared).
//
//   node dist/bench/workers.js [--cell race-fixed:3x9] [--workers 1,2] [--runs 1] [--out FILE]
//   node dist/bench/workers.js --cell scaling:zap-k3 ...      (a bench/scaling cell, through `tdxmc check --json`)
//
// race-fixed cells run `cache` (every property, livelock included, so no partial-order reduction)
// through explore() in the child; per thread the child reads /proc/self/task/*/schedstat at the end
// (CPU and run-queue wait; Linux), and the search's own profile (Stats.parallel: phases on the
// cell's thread, each worker's busy and idle wall time). CPU is what to compare under load; the
// wall time a quiet machine would show is predicted from the CPU of the serial part (the cell's
// thread: shallow phase, learning walks, graph merge, Tarjan) plus the busiest worker's CPU.
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { explore } from "../src/engine/explore.js";
import type { Program } from "../src/engine/program.js";
import type { Stats } from "../src/engine/result.js";
import { raceModel, type RaceModel } from "./race.js";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), HERE.includes(`${path.sep}dist${path.sep}`) ? "../.." : "..");

/** The program a worker thread rebuilds (ProgramSource export). */
export function benchProgram(arg: unknown): Program {
  const a = arg as { model: RaceModel; n: number; m: number };
  return raceModel(a.model, a.n, a.m);
}

/** The budgets of the Session 5 runs (docs/bench.md): none of them decides on these cells. */
const BUDGETS = { maxExecutions: 1_000_000_000, maxStates: 100_000_000, maxGraphEdges: 200_000_000 };

interface ThreadTime {
  tid: number;
  cpuMs: number;
  runqMs: number;
}

interface ChildOut {
  pid: number;
  verdict: string;
  states: number;
  executions: number;
  wallMs: number;
  cpuMs: number;
  threads: ThreadTime[];
  parallel: Stats["parallel"] | null;
}

function threadTimes(): ThreadTime[] {
  const out: ThreadTime[] = [];
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const [c, w] = readFileSync(`/proc/self/task/${t}/schedstat`, "utf8").split(" ");
      out.push({ tid: Number(t), cpuMs: Math.round(Number(c) / 1e6), runqMs: Math.round(Number(w) / 1e6) });
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out.sort((a, b) => b.cpuMs - a.cpuMs);
}

function child(job: { model: RaceModel; n: number; m: number; workers: number }): ChildOut {
  const program = benchProgram(job);
  const t0 = Date.now();
  const c0 = process.cpuUsage();
  const r = explore(program, {
    strategy: "cache",
    ...BUDGETS,
    workers: job.workers,
    source: { module: pathToFileURL(HERE).href, export: "benchProgram", arg: { model: job.model, n: job.n, m: job.m } },
  });
  const c = process.cpuUsage(c0);
  return {
    pid: process.pid,
    verdict: r.verdict,
    states: r.stats.statesStored,
    executions: r.stats.executions,
    wallMs: Date.now() - t0,
    cpuMs: Math.round((c.user + c.system) / 1000),
    threads: threadTimes(),
    parallel: r.stats.parallel ?? null,
  };
}

interface Row {
  cell: string;
  workers: number;
  verdict: string;
  states: number;
  executions: number;
  /** Whole process (every thread), user + sys. */
  cpuS: number;
  wallS: number;
  maxRssMb: number;
  load: [number, number];
  /** race-fixed only: per-thread CPU (the cell's thread, the workers, the rest: V8's GC and compiler threads). */
  cellThreadCpuS?: number;
  /** Per worker thread: its whole life (start-up, program rebuilt, search), and the search alone. */
  workerCpuS?: number[];
  workerSearchCpuS?: number[];
  workerRunqS?: number[];
  workerIdleS?: number[];
  otherThreadsCpuS?: number;
  phasesMs?: NonNullable<Stats["parallel"]>["phasesMs"];
  phasesCpuMs?: NonNullable<Stats["parallel"]>["phasesCpuMs"];
  /** Predicted wall on an idle machine: the cell thread's CPU + the busiest worker's CPU (+ the other threads' CPU spread over the cores). */
  predictedQuietWallS?: number;
}

function timed(cmd: string[]): { stdout: string; cpuS: number; wallS: number; maxRssMb: number } {
  const r = spawnSync("/usr/bin/time", ["-f", "TIME %U %S %e %M", ...cmd], { encoding: "utf8", maxBuffer: 1 << 28, cwd: ROOT });
  const line = (r.stderr ?? "").split("\n").reverse().find((l) => l.startsWith("TIME "));
  if (line === undefined) throw new Error(`bench/workers: ${cmd.join(" ")} failed: ${r.stderr}`);
  const [u, s, e, m] = line.slice(5).split(" ").map(Number) as [number, number, number, number];
  return { stdout: r.stdout, cpuS: u + s, wallS: e, maxRssMb: Math.round(m / 1024) };
}

function run(cell: string, workers: number): Row {
  const load0 = loadavg()[0]!;
  if (cell.startsWith("race-fixed:")) {
    const [n, m] = cell.slice("race-fixed:".length).split("x").map(Number) as [number, number];
    const job = { model: "race-fixed" as RaceModel, n, m, workers };
    const t = timed([process.execPath, HERE, "--child", JSON.stringify(job)]);
    const o = JSON.parse(t.stdout) as ChildOut;
    const row: Row = { cell, workers, verdict: o.verdict, states: o.states, executions: o.executions, cpuS: t.cpuS, wallS: t.wallS, maxRssMb: t.maxRssMb, load: [load0, loadavg()[0]!] };
    const own = new Set((o.parallel?.workers ?? []).map((w) => w.tid));
    const main = o.threads.find((x) => x.tid === o.pid);
    const other = o.threads.filter((x) => x !== main && !own.has(x.tid)).reduce((a, x) => a + x.cpuMs, 0);
    row.cellThreadCpuS = (main?.cpuMs ?? 0) / 1000;
    row.otherThreadsCpuS = other / 1000;
    if (o.parallel) {
      row.workerCpuS = o.parallel.workers.map((w) => (o.threads.find((x) => x.tid === w.tid)?.cpuMs ?? w.cpuMs) / 1000);
      row.workerSearchCpuS = o.parallel.workers.map((w) => w.cpuMs / 1000);
      row.workerRunqS = o.parallel.workers.map((w) => w.runqMs / 1000);
      row.workerIdleS = o.parallel.workers.map((w) => w.idleMs / 1000);
      row.phasesMs = o.parallel.phasesMs;
      row.phasesCpuMs = o.parallel.phasesCpuMs;
      row.predictedQuietWallS = round(row.cellThreadCpuS + Math.max(...row.workerCpuS) + other / 1000 / 2);
    } else row.predictedQuietWallS = round(row.cellThreadCpuS + other / 1000 / 2);
    return row;
  }
  if (cell.startsWith("scaling:")) {
    const file = path.join(ROOT, "bench/scaling", `${cell.slice("scaling:".length)}.yaml`);
    const args = ["check", file, "--max-executions", "1000000000", "--max-states", "100000000", "--max-graph-edges", "200000000", "--max-memory", "6000", "--jobs", "1", "--workers", String(workers), "--json"];
    const t = timed([process.execPath, path.join(ROOT, "bin/tdxmc.js"), ...args]);
    const j = JSON.parse(t.stdout) as { cells: { verdict: string; stats: Stats }[] };
    const c = j.cells[0]!;
    const row: Row = { cell, workers, verdict: c.verdict, states: c.stats.statesStored, executions: c.stats.executions, cpuS: t.cpuS, wallS: t.wallS, maxRssMb: t.maxRssMb, load: [load0, loadavg()[0]!] };
    if (c.stats.parallel) {
      row.workerCpuS = c.stats.parallel.workers.map((w) => w.cpuMs / 1000);
      row.workerRunqS = c.stats.parallel.workers.map((w) => w.runqMs / 1000);
      row.workerIdleS = c.stats.parallel.workers.map((w) => w.idleMs / 1000);
      row.phasesMs = c.stats.parallel.phasesMs;
      row.phasesCpuMs = c.stats.parallel.phasesCpuMs;
    }
    return row;
  }
  throw new Error(`bench/workers: unknown cell '${cell}' (race-fixed:NxM or scaling:NAME)`);
}

const round = (x: number): number => Math.round(x * 100) / 100;

function main(argv: string[]): void {
  const at = (k: string): string | undefined => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (at("--child") !== undefined) {
    process.stdout.write(`${JSON.stringify(child(JSON.parse(at("--child")!) as { model: RaceModel; n: number; m: number; workers: number }))}\n`);
    process.exit(0);
  }
  const cell = at("--cell") ?? "race-fixed:3x9";
  const counts = (at("--workers") ?? "1,2").split(",").map(Number);
  const runs = Number(at("--runs") ?? "1");
  const rows: Row[] = [];
  for (let k = 0; k < runs; k++)
    for (const w of counts) {
      const row = run(cell, w);
      rows.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  const one = rows.filter((r) => r.workers === 1);
  const cpu1 = one.length > 0 ? one.reduce((a, r) => a + r.cpuS, 0) / one.length : NaN;
  for (const r of rows) process.stdout.write(`${r.cell} workers=${r.workers} ${r.verdict} states=${r.states} cpu=${r.cpuS.toFixed(2)}s (${(r.cpuS / cpu1).toFixed(3)}x) wall=${r.wallS.toFixed(2)}s predicted-quiet-wall=${r.predictedQuietWallS ?? "-"}s load=${r.load.map((x) => x.toFixed(2)).join("/")}\n`);
  const out = at("--out");
  if (out !== undefined) writeFileSync(out, `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, rows }, null, 1)}\n`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === HERE) main(process.argv.slice(2));
