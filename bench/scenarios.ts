// Benchmark of the KVM model: every built-in scenario under every preset, and the main job.
// Writes bench/results-scenarios.json (fields documented in docs/bench.md).
//
//   node dist/bench/scenarios.js [--out FILE] [--cap SECONDS]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PRESETS, SCENARIOS, checkScenario } from "../src/kvm/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), dirname(fileURLToPath(import.meta.url)).includes("dist") ? "../.." : "..");

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const out = arg("--out") ?? join(root, "bench", "results-scenarios.json");
const capS = Number(arg("--cap") ?? "60");

const loadAvgStart = loadavg().map((x) => Math.round(x * 100) / 100);
const rows = [];
const t0 = Date.now();
for (const [name, scenario] of Object.entries(SCENARIOS)) {
  for (const preset of Object.keys(PRESETS)) {
    const r = checkScenario(scenario, preset, { timeLimitMs: capS * 1000, minimize: false });
    const s = r.result.stats;
    const row = {
      scenario: name,
      preset,
      strategy: s.strategy,
      verdict: r.verdict,
      expected: r.expected ?? null,
      ok: r.ok ?? null,
      executions: s.executions,
      statesStored: s.statesStored,
      steps: s.steps,
      replaySteps: s.replaySteps,
      wallMs: s.wallMs,
      stopReason: r.result.stopReason ?? null,
      missingWitnesses: r.missingWitnesses,
    };
    rows.push(row);
    process.stderr.write(`${name.padEnd(28)} ${preset.padEnd(20)} ${row.verdict.padEnd(34)} ${String(row.executions).padStart(8)} execs ${String(row.wallMs).padStart(7)} ms\n`);
  }
}
const matrixWallMs = Date.now() - t0;

// The main job as a user runs it (after the build), timed from outside: one warm-up run (the
// issue's target is the warm main job), then five timed runs, each with the 1-minute load average
// read just before it and the child's CPU (user + sys) from /usr/bin/time where it is installed.
const mainJobArgs = [join(root, "bin", "tdxmc.js"), "check"];
const hasTime = spawnSync("/usr/bin/time", ["-f", "%U", "true"], { stdio: "ignore" }).status === 0;
function runMainJob(): { exitCode: number; wallMs: number; cpuMs: number | null; loadAvg1: number } {
  const loadAvg1 = Math.round(loadavg()[0]! * 100) / 100;
  const tmp = mkdtempSync(join(tmpdir(), "tdxmc-mainjob-"));
  const timeOut = join(tmp, "time");
  const m0 = Date.now();
  const r = hasTime
    ? spawnSync("/usr/bin/time", ["-f", "%U %S", "-o", timeOut, process.execPath, ...mainJobArgs], { stdio: "ignore", cwd: root })
    : spawnSync(process.execPath, mainJobArgs, { stdio: "ignore", cwd: root });
  const wallMs = Date.now() - m0;
  let cpuMs: number | null = null;
  if (hasTime) {
    const [u, sy] = readFileSync(timeOut, "utf8").trim().split(/\s+/).slice(-2).map(Number);
    cpuMs = Math.round((u! + sy!) * 1000);
  }
  rmSync(tmp, { recursive: true, force: true });
  return { exitCode: r.status ?? -1, wallMs, cpuMs, loadAvg1 };
}
runMainJob();
const mainJobRuns = Array.from({ length: 5 }, runMainJob);
const mainJobExit = mainJobRuns.find((r) => r.exitCode !== 0)?.exitCode ?? 0;
const mainJobWallMs = [...mainJobRuns.map((r) => r.wallMs)].sort((a, b) => a - b)[2]!;

let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root }).toString().trim();
} catch {
  // not a git checkout
}

writeFileSync(
  out,
  JSON.stringify(
    {
      schema: "tdxmc-bench-scenarios/1",
      generatedAt: new Date().toISOString(),
      source: { commit },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "?", totalMemGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAvgStart, loadAvgEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
      capSeconds: capS,
      matrixWallMs,
      mainJob: { command: "tdxmc check", exitCode: mainJobExit, wallMs: mainJobWallMs, wallMsIs: "median of the five timed runs after one warm-up", runs: mainJobRuns },
      scenarios: rows,
    },
    null,
    2,
  ) + "\n",
);
process.stderr.write(`wrote ${out}: ${rows.length} cells in ${(matrixWallMs / 1000).toFixed(1)} s; main job median ${(mainJobWallMs / 1000).toFixed(1)} s wall over ${mainJobRuns.map((r) => (r.wallMs / 1000).toFixed(1)).join(", ")} (exit ${mainJobExit})\n`);
