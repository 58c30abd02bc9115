// Simulator benchmark (issue 14): simulated steps per CPU second on one core, and the time to
// simulate a TD boot. Run: npm run build && node dist/bench/sim.js [--out FILE] (part of npm run bench;
// writes bench/sim-results.json unless --out says otherwise).
// Times are CPU time of this process (process.cpuUsage: user + system), recorded with the load
// average, the commit and the Node version; the machine may be shared.
import { execSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { defaults } from "../src/sim/costs.js";
import { simulate, simulatePoint } from "../src/sim/run.js";

function cpu<T>(f: () => T): { r: T; s: number } {
  const a = process.cpuUsage();
  const r = f();
  const u = process.cpuUsage(a);
  return { r, s: (u.user + u.system) / 1e6 };
}

const costs = defaults();
const stormCosts = { ...costs, prob: { ...costs.prob, "inject-busy": 0.3 } };
// Warm up the JIT on a short run of each kind.
simulate({ kind: "boot", vcpus: 4, pages: 25 }, { preset: "upstream-6.19", costs, seed: 99 });

const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
// 1. Long run: the zero-step storm on module 1.5.16 (8 vCPUs), a livelock (docs/simulate.md), run
//    without a stall budget and cut at 3 M steps: a long steady state of the model's fault path;
//    three times (the machine is shared: the spread shows how much the load moves it).
const longRuns = [1, 2, 3].map((seed) =>
  cpu(() =>
    simulate({ kind: "faults", vcpus: 8, pages: 25 }, { preset: "upstream-6.19", overrides: { "local-retry": "off" }, costs: stormCosts, seed, module: "1.5.16", zeroStepThreshold: 1, maxSteps: 3_000_000 }),
  ),
);
const rates = longRuns.map((x) => Math.round(x.r.steps / x.s)).sort((a, b) => a - b);
// 2. Many short runs: lazy-accept boots, 14 vCPUs x 25 pages, seeds 1..200 (program built per run).
const short = cpu(() => {
  let steps = 0;
  for (let seed = 1; seed <= 200; seed++) steps += simulate({ kind: "boot", vcpus: 14, pages: 25 }, { preset: "upstream-6.19", costs, seed }).steps;
  return steps;
});
// 3. TD boot of a 1 GiB TD (262 144 4K pages) with 16 vCPUs (the figure), simulated at
//    size: the kernel's geometry (512 x 512), mirror tables from a pool (docs/simulate.md, Size).
//    CPU time includes building the program (2.1 M World objects).
const literal = cpu(() => simulate({ kind: "boot", vcpus: 16, pages: 262_144 }, { preset: "upstream-7.2", costs, seed: 1, literal: true, maxSteps: 100_000_000 }));
// 4. The same point sampled at 9..25 pages (3 seeds each) and extrapolated, as the sweeps do past
//    the model-sized TD: the comparison says how far the extrapolation is from the literal run.
const boot = cpu(() => simulatePoint({ kind: "boot", vcpus: 16, pages: 262_144 }, { preset: "upstream-7.2", costs, seed: 1 }));

const commit = (() => {
  try {
    return execSync("git rev-parse --short HEAD", { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
})();
const result = {
  commit,
  node: process.version,
  loadavgBefore: loadBefore,
  loadavgAfter: loadavg().map((x) => Number(x.toFixed(2))),
  cpu: "process.cpuUsage() user + system of this process; one core (the simulator is single-threaded)",
  longRun: {
    what: "zero-step storm, module 1.5.16, 8 vCPUs, every safety check on, cut at the step budget; seeds 1-3",
    stepsEach: longRuns[0]!.r.steps,
    cpuSeconds: longRuns.map((x) => Number(x.s.toFixed(3))),
    stepsPerCpuSecond: { min: rates[0], median: rates[1], max: rates[2] },
  },
  shortRuns: { what: "200 lazy-accept boots, 14 vCPUs x 25 pages, program built per run", steps: short.r, cpuSeconds: Number(short.s.toFixed(3)), stepsPerCpuSecond: Math.round(short.r / short.s) },
  boot1GiB: {
    what: "TD boot, 16 vCPUs, 1 GiB (262144 pages), upstream-7.2, simulated at size (not extrapolated): geometry 2 levels x 512, pool-mode mirror tables, every safety check on; CPU includes building the program",
    cli: "tdxmc simulate --workload boot --vcpus 16 --gib 1 --protocol upstream-7.2 --literal",
    vcpus: 16,
    pages: 262_144,
    end: literal.r.end,
    extrapolated: literal.r.extrapolated,
    findings: literal.r.findings.length,
    simulatedSteps: literal.r.steps,
    cpuSeconds: Number(literal.s.toFixed(3)),
    stepsPerCpuSecond: Math.round(literal.r.steps / literal.s),
    simulatedTimeSeconds: Number((literal.r.timeNs / 1e9).toFixed(4)),
    faults: literal.r.faults,
    retries: literal.r.retries,
  },
  boot1GiBSampled: {
    what: "the same point SAMPLED from 9- to 25-page simulations (15 runs) and EXTRAPOLATED, as sweeps do past the model-sized TD",
    vcpus: 16,
    pages: 262_144,
    extrapolated: boot.r.extrapolated,
    simulatedSteps: boot.r.steps,
    cpuSeconds: Number(boot.s.toFixed(3)),
    simulatedTimeSeconds: Number((boot.r.timeNs / 1e9).toFixed(4)),
  },
};
process.stdout.write(JSON.stringify(result, null, 2) + "\n");
const outAt = process.argv.indexOf("--out");
const out = outAt >= 0 ? process.argv[outAt + 1]! : join(import.meta.dirname, "..", "..", "bench", "sim-results.json");
writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
process.stderr.write(`wrote ${out}\n`);
