// Benchmark of the KVM model: every built-in scenario under every preset, and the main job.
// Writes bench/results-scenarios.json (fields documented in docs/bench.md).
//
//   node dist/bench/scenarios.js [--out FILE] [--cap SECONDS]
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
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

// The main job as a user runs it (after the build), timed from outside.
const m0 = Date.now();
let mainJobExit = 0;
try {
  execFileSync(process.execPath, [join(root, "bin", "tdxmc.js"), "check"], { stdio: "ignore", cwd: root });
} catch (e) {
  mainJobExit = (e as { status?: number }).status ?? -1;
}
const mainJobWallMs = Date.now() - m0;

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
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "?", totalMemGb: Math.round(totalmem() / 2 ** 30), node: process.version },
      capSeconds: capS,
      matrixWallMs,
      mainJob: { command: "tdxmc check", exitCode: mainJobExit, wallMs: mainJobWallMs },
      scenarios: rows,
    },
    null,
    2,
  ) + "\n",
);
process.stderr.write(`wrote ${out}: ${rows.length} cells in ${(matrixWallMs / 1000).toFixed(1)} s; main job ${(mainJobWallMs / 1000).toFixed(1)} s (exit ${mainJobExit})\n`);
