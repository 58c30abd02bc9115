// Scaling series of issue 11 (committed scenario files in bench/scaling/): k vCPUs, vCPU i faulting
// GFN i, against (zap) one thread zapping GFNs 0..7, or (convert) userspace converting GFNs
// 0..k-1 to shared; k = 1..4, upstream-6.19, the default strategy (cache). Each run is the CLI as a
// user runs it (`tdxmc check FILE --json`), in its own process, with fusion and (for the small
// sizes) without; CPU time (user+sys of the child, from /usr/bin/time) is what counts on this
// shared machine, and the load average is recorded beside it. Writes bench/results-scaling.json.
//
//   node dist/bench/scaling.js [--out FILE] [--cap SECONDS] [--only zap-k3] [--no-fusion-up-to K]
import { spawnSync, execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, here.includes("dist") ? "../.." : "..");

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const out = arg("--out") ?? join(root, "bench", "results-scaling.json");
const capS = Number(arg("--cap") ?? "120");
const only = arg("--only");
const offUpTo = Number(arg("--no-fusion-up-to") ?? "2");

/** Counted budgets far above what a run within the cap reaches: only the time cap stops a run. */
const BUDGETS = ["--max-executions", "1000000000", "--max-states", "100000000", "--max-graph-edges", "200000000", "--max-steps", "100000", "--max-memory", "6000"];

interface Row {
  series: string;
  k: number;
  file: string;
  fusion: boolean;
  verdict: string;
  stopReason: string | null;
  statesStored: number;
  executions: number;
  steps: number;
  fusedSteps: number;
  schedulingSteps: number;
  replaySteps: number;
  /** The metric: values re-fed while going back ≤ fresh (model) steps. */
  refedAtMostFresh: boolean;
  refedPerStep: number;
  cpuS: number;
  cpuPerStateUs: number;
  wallS: number;
  loadAvg1Before: number;
}

function run(file: string, fusion: boolean): Omit<Row, "series" | "k" | "file"> {
  const dir = mkdtempSync(join(tmpdir(), "tdxmc-scaling-"));
  const timeOut = join(dir, "time");
  const args = ["-f", "%U %S %e", "-o", timeOut, process.execPath, join(root, "bin", "tdxmc.js"), "check", file, "--json", "--time-limit", String(capS), ...BUDGETS, ...(fusion ? [] : ["--no-fusion"])];
  const load = loadavg()[0]!;
  const r = spawnSync("/usr/bin/time", args, { cwd: root, encoding: "utf8", maxBuffer: 1 << 28 });
  const [u, s, e] = readFileSync(timeOut, "utf8").trim().split(/\s+/).slice(-3).map(Number) as [number, number, number];
  rmSync(dir, { recursive: true, force: true });
  const txt = r.stdout;
  const j = JSON.parse(txt.slice(txt.indexOf("{"), txt.lastIndexOf("}") + 1)) as { cells: { verdict: string; stopReason?: string; stats: Record<string, number> }[] };
  const c = j.cells[0]!;
  const st = c.stats;
  const cpuS = u + s;
  return {
    fusion,
    verdict: c.verdict,
    stopReason: c.stopReason ?? null,
    statesStored: st.statesStored!,
    executions: st.executions!,
    steps: st.steps!,
    fusedSteps: st.fusedSteps ?? 0,
    schedulingSteps: st.steps! - (st.fusedSteps ?? 0),
    replaySteps: st.replaySteps!,
    refedAtMostFresh: st.replaySteps! <= st.steps!,
    refedPerStep: Math.round((st.replaySteps! / Math.max(1, st.steps!)) * 10) / 10,
    cpuS: Math.round(cpuS * 100) / 100,
    cpuPerStateUs: Math.round((cpuS * 1e6) / Math.max(1, st.statesStored!)),
    wallS: e,
    loadAvg1Before: Math.round(load * 100) / 100,
  };
}

const rows: Row[] = [];
const t0 = Date.now();
const loadStart = loadavg();
for (const series of ["zap", "convert"]) {
  for (let k = 1; k <= 4; k++) {
    const name = `${series}-k${k}`;
    if (only && only !== name) continue;
    const file = join("bench", "scaling", `${name}.yaml`);
    if (!existsSync(join(root, file))) throw new Error(`missing ${file}`);
    for (const fusion of k <= offUpTo ? [true, false] : [true]) {
      const r = { series, k, file, ...run(file, fusion) };
      rows.push(r);
      process.stderr.write(`${name.padEnd(11)} fusion=${String(fusion).padEnd(5)} ${r.verdict.padEnd(12)} states ${String(r.statesStored).padStart(9)} exec ${String(r.executions).padStart(9)} cpu ${r.cpuS.toFixed(1).padStart(6)} s  ${String(r.cpuPerStateUs).padStart(5)} us/state  re-fed/step ${r.refedPerStep}  load ${r.loadAvg1Before}\n`);
    }
  }
}
let commit = "unknown";
let dirtySrc = false;
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  dirtySrc = execFileSync("git", ["status", "--porcelain", "src"], { cwd: root, encoding: "utf8" }).trim() !== "";
} catch {
  /* not a git checkout */
}
const doc = {
  schema: "tdxmc-bench-scaling/1",
  generatedAt: new Date().toISOString(),
  source: { commit, dirtySrc },
  capSeconds: capS,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "?", totalMemGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAvgStart: loadStart, loadAvgEnd: loadavg() },
  note: "CPU time (user+sys of the child process) is the figure to compare: the machine is shared and loaded; wall time is recorded but not comparable across runs",
  totalWallMs: Date.now() - t0,
  rows,
};
// Keep what other benches added to this file (e.g. the dpor-vs-cache table): a rerun replaces only the rows above.
if (existsSync(out)) {
  try {
    const old = JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>;
    for (const [k, v] of Object.entries(old)) if (!(k in doc)) (doc as Record<string, unknown>)[k] = v;
  } catch {
    /* an unreadable old file is replaced */
  }
}
writeFileSync(out, JSON.stringify(doc, null, 2) + "\n");
process.stderr.write(`wrote ${out}\n`);
